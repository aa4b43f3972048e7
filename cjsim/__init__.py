"""cjsim: simulate customer journeys and attribute conversions against a known ground truth.

The model says what the world is (:mod:`cjsim.model`), an engine says how it unfolds
(:mod:`cjsim.simulate`), and the event log (:mod:`cjsim.events`) is the only thing that flows
from simulation to analysis.
"""

from __future__ import annotations

from cjsim.errors import CjsimError, EventLogError, ModelError
from cjsim.model import JourneyModel, load_model

__version__ = "0.1.0"

__all__ = ["CjsimError", "EventLogError", "JourneyModel", "ModelError", "__version__", "load_model"]
