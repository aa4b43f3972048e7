"""The quickstart pipeline behind ``cjsim demo``, as one library call.

:func:`run` simulates the embedded ecommerce model, attributes the simulated log with
five methods and compares their credit shares with the truth the simulator knows (what
switching each channel off loses, on the same customers with the same random numbers),
runs a small what-if experiment (the shipped ``budget_shift``), and writes an HTML report.
A notebook gets the same figures the command prints::

    import cjsim.demo
    result = cjsim.demo.run(customers=50_000, report=None)
    result.truth.shares          # channels x (truth, last, first, linear, markov, shapley)
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cjsim.errors import CjsimError

if TYPE_CHECKING:
    import pandas as pd

    from cjsim.model import JourneyModel
    from cjsim.report.html import Report

#: The embedded model the demo simulates.
DEMO_MODEL = "ecommerce"
#: Customers and replications of the demo's what-if experiment (a few seconds).
DEMO_EXPERIMENT_CUSTOMERS = 20_000
DEMO_EXPERIMENT_REPLICATIONS = 6
#: Customers of the demo's attribution-vs-truth comparison (a few seconds).
DEMO_TRUTH_CUSTOMERS = 50_000
DEMO_METHODS = ("last", "first", "linear", "markov", "shapley")
DEMO_TRUTH_TEXT = (
    "The truth is known because the simulator knows the cause: a channel's true share is "
    "what switching it off loses, simulated on the same customers with the same random "
    "numbers (common random numbers), as a share of the sum over channels."
)

#: ``stage(description)`` returns a context manager around each step (a spinner, a log).
Stage = Callable[[str], contextlib.AbstractContextManager[Any]]


@dataclass(frozen=True)
class DemoTruth:
    """Credit shares of each method against the true shares on one simulated log.

    Attributes
    ----------
    customers, conversions
        Customers simulated; conversions on the log's paths.
    shares
        Channels (rows, the model's order) x ``truth`` and one column per method of
        :data:`DEMO_METHODS`; a method that credits a channel nothing has 0.
    mean_abs_error
        Per method, the mean absolute error of its shares against the truth.
    """

    customers: int
    conversions: float
    shares: pd.DataFrame
    mean_abs_error: dict[str, float]


@dataclass(frozen=True)
class DemoExperiment:
    """The small what-if experiment: its summary (scenario x metric, differences to the
    baseline with 95% intervals) and design."""

    customers: int
    replications: int
    baseline: str
    scenarios: tuple[str, ...]
    summary: pd.DataFrame


@dataclass(frozen=True)
class DemoResult:
    """Everything the demo computed.

    Attributes
    ----------
    model
        The simulated model.
    summary
        The run summary of the main simulation (customers, conversions, revenue, spend).
    truth
        Methods against the truth, or None when no simulated customer was touched.
    experiment
        The what-if experiment.
    report
        The HTML report (written to ``report_path`` when one was given).
    report_path, events_path
        Where the report and the event log were written (None: not written).
    """

    model: JourneyModel
    seed: int
    summary: Any
    truth: DemoTruth | None
    experiment: DemoExperiment
    report: Report
    report_path: Path | None
    events_path: Path | None


@functools.cache
def demo_model() -> JourneyModel:
    """The embedded model the demo runs (:data:`DEMO_MODEL`), read once per process."""
    from cjsim.model import load_model, resolve_model

    return load_model(resolve_model(DEMO_MODEL))


def run(
    customers: int = 200_000,
    seed: int = 42,
    *,
    events: str | Path | None = None,
    report: str | Path | None = "cjsim-demo.html",
    progress: Callable[[int, int], None] | None = None,
    stage: Stage | None = None,
) -> DemoResult:
    """Simulate, attribute against the truth, try a what-if, and write a report.

    Parameters
    ----------
    customers
        Customers of the main simulation (the truth comparison uses at most
        :data:`DEMO_TRUTH_CUSTOMERS`, the experiment at most
        :data:`DEMO_EXPERIMENT_CUSTOMERS`).
    seed
        Random seed of every step.
    events
        Also write the main simulation's event log here (.parquet or .csv).
    report
        The HTML report to write; None keeps it in memory only (``result.report``).
    progress
        Called as ``progress(done, total)`` with the customers simulated so far.
    stage
        Wraps each later step (see :data:`Stage`); e.g. ``rich.console.Console.status``.

    Returns
    -------
    DemoResult
    """
    from cjsim.report.html import Report
    from cjsim.simulate.run import simulate

    if customers < 1:
        raise CjsimError(f"customers={customers}: expected at least 1")
    step = stage or (lambda _text: contextlib.nullcontext())
    model = demo_model()
    events_path = Path(events) if events is not None else None
    summary = simulate(model, customers, rng=seed, out=events_path, progress=progress).summary
    rep = Report(
        f"cjsim demo: {model.name}",
        subtitle=model.description,
        meta={"model": model.name, "model hash": model.content_hash(), "seed": seed,
              "customers simulated": f"{customers:,}"},
    )  # fmt: skip
    truth, sections = _truth(model, min(customers, DEMO_TRUTH_CUSTOMERS), seed, step)
    rep.sections += sections
    experiment, sections = _experiment(min(customers, DEMO_EXPERIMENT_CUSTOMERS), seed, step)
    rep.sections += sections
    report_path = Path(report) if report is not None else None
    if report_path is not None:
        with step("writing the report..."):
            rep.write(report_path)
    return DemoResult(model, seed, summary, truth, experiment, rep, report_path, events_path)


def _truth(
    model: JourneyModel, customers: int, seed: int, step: Stage
) -> tuple[DemoTruth | None, list[Any]]:
    """Attribute a simulated log and compare each method's shares with the true ones;
    with the journey's figures as report sections."""
    from cjsim.attribution import attribute
    from cjsim.evaluate import score
    from cjsim.paths import paths_from_events
    from cjsim.report import sections as build
    from cjsim.simulate.run import simulate
    from cjsim.simulate.truth import ground_truth

    with step("attribution vs ground truth..."):
        events = simulate(model, customers, rng=seed, keep_events=True).events
        assert events is not None
        paths, _ = paths_from_events(events)
        if paths.n_paths == 0:
            return None, []
        result = attribute(paths, DEMO_METHODS, ci=0.95, n_resamples=100, rng=seed)
        truth = ground_truth(model, customers, rng=seed, shapley=False, marginal_roas=False)
    true_shares = truth.shares("incremental")
    scores = score(result.to_frame(), true_shares)
    shares = scores.pivot(index="channel", columns="method", values="share")
    grid = shares.reindex(index=list(truth.channels), columns=list(DEMO_METHODS)).fillna(0.0)
    grid.insert(0, "truth", [true_shares.to_dict()[c] for c in truth.channels])
    errors = scores.assign(abs_error=scores["error"].abs()).groupby("method")["abs_error"]
    mae = errors.mean()
    found = DemoTruth(
        customers=customers,
        conversions=float(paths.conversions.sum()),
        shares=grid,
        mean_abs_error={name: float(mae[name]) for name in DEMO_METHODS},
    )
    with step("drawing the figures..."):
        sections = [
            *build.journey_sections(events, list(model.stages), model.lost),
            *build.path_sections(paths, events),
            *build.attribution_sections(result),
            *build.truth_sections(scores, DEMO_TRUTH_TEXT),
        ]
    return found, sections


def _experiment(customers: int, seed: int, step: Stage) -> tuple[DemoExperiment, list[Any]]:
    """The shipped budget_shift experiment, small: what moving money would change."""
    from cjsim.experiment.config import load_experiment, resolve_experiment
    from cjsim.experiment.runner import run_experiment
    from cjsim.report.build import experiment_report

    small = load_experiment(resolve_experiment("budget_shift")).with_settings(
        customers=customers, replications=DEMO_EXPERIMENT_REPLICATIONS, seed=seed
    )
    spec = small.spec
    with step("what-if experiment..."), tempfile.TemporaryDirectory() as tmp:
        result = run_experiment(small, Path(tmp) / "run")
        sections = experiment_report(Path(tmp) / "run").sections
    found = DemoExperiment(
        customers=customers,
        replications=spec.replications,
        baseline=spec.baseline_name,
        scenarios=tuple(spec.scenarios),
        summary=result.summary,
    )
    return found, sections
