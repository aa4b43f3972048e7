"""cjsim: simulate customer journeys and attribute conversions against a known ground truth.

The model says what the world is (:mod:`cjsim.model`), an engine says how it unfolds
(:mod:`cjsim.simulate`), and the event log (:mod:`cjsim.events`) is the only thing that flows
from simulation to analysis. A notebook needs no deeper import than this one::

    import cjsim

    model = cjsim.load_model("ecommerce")
    run = cjsim.simulate(model, 50_000, rng=1, keep_events=True)
    paths, _ = cjsim.paths_from_events(run.events)
    result = cjsim.attribute(paths, ci=0.95, rng=1)       # channels x methods
    truth = cjsim.ground_truth(model, 50_000, rng=1)      # what each channel caused
    result.summary()                                      # a notebook shows these tables
    truth.shares("incremental")

=====================  ==============================================================
``load_model``         read a model file or a shipped model by name
``simulate``           run either engine -> :class:`~cjsim.simulate.Simulation`
``funnel``             the analytic funnel of a model's stage chain
``paths_from_events``  event log -> path table (and journey counts)
``read_path_table``    a ChannelAttribution-format path table from CSV
``attribute``          every standard attribution method side by side
``ground_truth``       incremental and Shapley truth by counterfactual runs
``evaluate``           every method scored against the truth over replications
``load_experiment``    read an experiment file
``run_experiment``     scenarios x replications, paired, resumable
``optimise``           response curves by simulation and the best budget split
``report``             one self-contained HTML report of a log, result or folder
=====================  ==============================================================

Names are imported on first use, so ``import cjsim`` (and every command that does not
need them) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cjsim.errors import CjsimError, EventLogError, ModelError, OptionError

if TYPE_CHECKING:
    from cjsim.attribution import attribute
    from cjsim.experiment.config import load_experiment
    from cjsim.experiment.optimise import optimise_model as optimise
    from cjsim.experiment.runner import run_experiment
    from cjsim.model import JourneyModel, load_model
    from cjsim.model.funnel import funnel
    from cjsim.paths import paths_from_events, read_path_table
    from cjsim.simulate.truth import ground_truth

__version__ = "0.1.0"

#: name -> (module, attribute; None: the module itself, which can be called).
_LAZY: dict[str, tuple[str, str | None]] = {
    "JourneyModel": ("cjsim.model", "JourneyModel"),
    "load_model": ("cjsim.model", "load_model"),
    "simulate": ("cjsim.simulate", None),
    "funnel": ("cjsim.model.funnel", "funnel"),
    "paths_from_events": ("cjsim.paths", "paths_from_events"),
    "read_path_table": ("cjsim.paths", "read_path_table"),
    "attribute": ("cjsim.attribution", "attribute"),
    "ground_truth": ("cjsim.simulate.truth", "ground_truth"),
    "evaluate": ("cjsim.evaluate", None),
    "load_experiment": ("cjsim.experiment.config", "load_experiment"),
    "run_experiment": ("cjsim.experiment.runner", "run_experiment"),
    "optimise": ("cjsim.experiment.optimise", "optimise_model"),
    "report": ("cjsim.report", None),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        value = importlib.import_module(module)
        if attribute is not None:
            value = getattr(value, attribute)
            globals()[name] = value
        return value
    raise AttributeError(f"module 'cjsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "CjsimError",
    "EventLogError",
    "JourneyModel",
    "ModelError",
    "OptionError",
    "__version__",
    "attribute",
    "evaluate",
    "funnel",
    "ground_truth",
    "load_experiment",
    "load_model",
    "optimise",
    "paths_from_events",
    "read_path_table",
    "report",
    "run_experiment",
    "simulate",
]
