"""The journey model: what the world is, read from a model file.

* :mod:`.schema`: the file's sections as frozen objects (:class:`JourneyModel`,
  :class:`Channel`, :class:`Effect`, :class:`Segment`, ...); :mod:`.fields` their value
  types; :mod:`.agent_sections` the sections only the agent-based engine reads;
* :mod:`.validation`: the cross-checks (every error names file, key and what is expected);
* :mod:`.loading`: reading a file (journey form or plain ``[chain]`` form) and the models
  shipped in the package;
* :mod:`.overrides`: what-if copies (budgets, channels off, horizon);
* :mod:`.compiled`: the model as the arrays the engines step with;
* :mod:`.curves`: carry-over (adstock) and saturation (Hill, Poisson reach) curves;
* :mod:`.funnel`: the analytic funnel of the stage chain.
"""

from __future__ import annotations

from cjsim.model.agent_sections import AgentsConfig, Capacity, Network, Schedule
from cjsim.model.loading import (
    embedded_models,
    load_model,
    parse_model,
    resolve_model,
    resolve_shipped,
    shipped_files,
)
from cjsim.model.schema import (
    ChainFile,
    ChainSpec,
    Channel,
    Effect,
    Geo,
    JourneyModel,
    Narrative,
    Segment,
    ValueDistribution,
    WordOfMouth,
)
from cjsim.model.validation import shorten, validate_model

__all__ = [
    "AgentsConfig",
    "Capacity",
    "ChainFile",
    "ChainSpec",
    "Channel",
    "Effect",
    "Geo",
    "JourneyModel",
    "Narrative",
    "Network",
    "Schedule",
    "Segment",
    "ValueDistribution",
    "WordOfMouth",
    "embedded_models",
    "load_model",
    "parse_model",
    "resolve_model",
    "resolve_shipped",
    "shipped_files",
    "shorten",
    "validate_model",
]
