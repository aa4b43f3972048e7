"""cjsim: simulate customer journeys and attribute conversions against a known ground truth.

The model says what the world is (:mod:`cjsim.model`), an engine says how it unfolds
(:mod:`cjsim.simulate`), and the event log (:mod:`cjsim.events`) is the only thing that flows
from simulation to analysis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cjsim.errors import CjsimError, EventLogError, ModelError

if TYPE_CHECKING:
    from cjsim.model import JourneyModel, load_model

__version__ = "0.1.0"

#: Names imported on first use, so that ``import cjsim`` (and every command that does not
#: read a model) does not pay for pydantic's schema building.
_LAZY = {"JourneyModel": "cjsim.model", "load_model": "cjsim.model"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cjsim' has no attribute {name!r}")


__all__ = ["CjsimError", "EventLogError", "JourneyModel", "ModelError", "__version__", "load_model"]
