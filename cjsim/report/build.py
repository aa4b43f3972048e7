"""Reports of a simulation (its event log), an attribution, an evaluation or an experiment.

:func:`build_report` looks at what it is given and tells that story:

* an **event log** (``.parquet`` or ``.csv``): who the customers were, the funnel, how
  they moved between stages, which channels they met in each stage (the journey map),
  path lengths, time to conversion, the most common paths, and the attribution of their
  conversions by every standard method with bootstrap intervals;
* a **path table** (ChannelAttribution format): the paths and their attribution;
* an **attribution result** (``cjsim attribute --out result.csv``): its credits;
* an **experiment folder** (``cjsim run``): each scenario against the baseline, and with
  attribution the methods against the truth; missing or unreadable tasks are listed;
* an **evaluation folder** (``cjsim evaluate``): the methods scored against the truth.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cjsim._io import read_json_file
from cjsim.errors import OptionError
from cjsim.report import figures as F
from cjsim.report.figures import records
from cjsim.report.html import Report, Section
from cjsim.report.sections import (
    TRUTH_TEXT,
    agent_sections,
    attribution_sections,
    journey_sections,
    method_text,
    path_sections,
)

# -- event logs and paths ----------------------------------------------------------------


def events_report(
    path: str | Path,
    methods: tuple[str, ...] | None = None,
    ci: float = 0.95,
    resamples: int = 100,
    seed: int = 0,
) -> Report:
    """The report of an event log (see the module's description)."""
    from cjsim.attribution import STANDARD_METHODS, attribute
    from cjsim.events import read_events, read_metadata
    from cjsim.paths import paths_from_events

    events = read_events(path)
    meta = read_metadata(path)
    stages = None
    lost: str | None = "lost"
    if meta.get("model"):
        try:
            from cjsim.model import load_model, resolve_model

            m = load_model(resolve_model(str(meta["model"])))
            if m.content_hash() == meta.get("model_hash"):
                stages, lost = list(m.stages), m.lost
        except Exception:  # a log of a model this installation does not ship
            stages = None
    report = Report(
        f"Customer journeys: {meta.get('model', Path(path).name)}",
        subtitle=f"A report of the event log {Path(path).name}",
        meta={"event log": str(path), **{k: meta[k] for k in sorted(meta)}},
    )
    report.sections += journey_sections(events, stages, lost)
    report.sections += agent_sections(path)
    paths, _ = paths_from_events(events)
    if paths.n_paths:
        report.sections += path_sections(paths, events)
        result = attribute(paths, methods or STANDARD_METHODS, ci=ci or None,
                           n_resamples=resamples, rng=seed)  # fmt: skip
        report.sections += attribution_sections(result)
    return report


def attribution_report(path: str | Path, ci: float = 0.95, resamples: int = 100) -> Report:
    """The report of a path table (attributed here) or of an attribution result file."""
    from cjsim.inputs import is_path_table

    p = Path(path)
    report = Report(f"Attribution: {p.name}", meta={"input": str(p)})
    if is_path_table(p):
        from cjsim.attribution import STANDARD_METHODS, attribute
        from cjsim.paths import read_path_table

        paths = read_path_table(p)
        report.sections += path_sections(paths)
        result = attribute(paths, STANDARD_METHODS, ci=ci or None, n_resamples=resamples)
        report.sections += attribution_sections(result)
        return report
    frame = _read_result(p)
    report.subtitle = "Credits as written by cjsim attribute"
    report.sections += attribution_sections(frame)
    return report


def _read_result(p: Path) -> pd.DataFrame:
    from cjsim.report.inputs import read_result

    return read_result(p)


# -- experiments and evaluations -----------------------------------------------------------


def experiment_report(folder: str | Path) -> Report:
    """The report of an experiment folder, complete or not."""
    from cjsim.experiment.config import METRICS
    from cjsim.experiment.folder import read_tasks, task_list, task_path
    from cjsim.experiment.stats import summarise_runs
    from cjsim.experiment.tasks import TRUTH

    folder = Path(folder)
    from cjsim.report.inputs import check_manifest, check_task_files

    path = folder / "manifest.json"
    manifest = check_manifest(read_json_file(path, "an experiment folder's manifest"), path)
    scenarios: list[str] = list(manifest.get("scenarios", []))
    reps = int(manifest.get("replications", 0))
    baseline = manifest.get("baseline") or (scenarios[0] if scenarios else "")
    report = Report(
        f"Experiment: {manifest.get('experiment', folder.name)}",
        subtitle=manifest.get("description", ""),
        meta={k: manifest[k] for k in ("experiment", "hash", "source", "model", "engine",
                                       "customers", "replications", "seed") if k in manifest},
    )  # fmt: skip
    wanted = task_list(scenarios, reps, bool(manifest.get("truth")))
    check_task_files(folder, wanted, TRUTH, list(manifest.get("metrics") or METRICS))
    found = read_tasks(folder, wanted)

    def name(task: tuple[str, int]) -> str:
        return f"{task[0]}/{'truth' if task[1] == TRUTH else task[1]}"

    missing = [name(t) for t in found.missing]
    broken = [str(task_path(folder, *t).relative_to(folder)) for t in found.broken]
    overview = Section(
        "Scenarios against the baseline",
        text=[
            f"Every scenario was simulated {reps} times on the same customers with the same "
            f"random numbers as the baseline '{baseline}' (paired replications), so each "
            "difference is measured on matched pairs and far more precisely than the levels. "
            "Intervals are 95% t-intervals over replications; p-values are Holm-corrected "
            "over all comparisons."
        ],
    )
    if missing or broken:
        overview.notes.append(
            f"This experiment is incomplete: {len(missing)} of {len(wanted)} tasks have no "
            f"result" + (f" ({', '.join(missing[:8])}{', ...' if len(missing) > 8 else ''})"
                         if missing else "")
            + (f"; {len(broken)} task file(s) cannot be read ({', '.join(broken[:4])})"
               if broken else "")
            + ". The figures use the finished replications only; run the same `cjsim run` "
            "command again to complete it."
        )  # fmt: skip
    report.sections.append(overview)
    runs = found.runs
    if runs.empty:
        overview.notes.append("No replication has finished yet: nothing to show.")
        return report
    metrics = [m for m in manifest.get("metrics", METRICS) if m in runs.columns]
    if baseline not in set(runs["scenario"]):
        overview.notes.append(f"The baseline '{baseline}' has no finished replication.")
        return report
    summary = summarise_runs(runs, metrics, baseline)
    overview.tables.append(("Mean per scenario and paired difference to the baseline",
                            _experiment_table(summary, baseline)))  # fmt: skip
    if runs["scenario"].nunique() > 1:
        overview.figures.append(
            ("Paired differences to the baseline with 95% intervals",
             F.scenario_differences(summary, baseline))
        )  # fmt: skip
    if not found.credit.empty and not found.truth.empty:
        report.sections += _methods_against_truth(found.credit, found.truth)
    return report


def _methods_against_truth(credit: pd.DataFrame, truth: pd.DataFrame) -> list[Section]:
    """The attribution methods' error against the truth, per world (empty: none scored)."""
    from cjsim.experiment.runner import score_scenarios

    attribution, _ = score_scenarios(credit, truth)
    if not attribution.empty:
        table = attribution.pivot(index="method", columns="scenario", values="mae")
        return [
            Section(
                "Attribution methods against the truth",
                text=[
                    TRUTH_TEXT,
                    "Each cell is the mean absolute error of a method's "
                    "credit shares over the channels of a world (lower is better).",
                ],
                tables=[
                    (
                        "Mean absolute error of credit shares",
                        table.rename_axis(columns=None).reset_index(),
                    )
                ],
                figures=[
                    (
                        "Methods x worlds: error against the truth",
                        F.attribution_errors(attribution),
                    )
                ],
            )
        ]
    return []


def _experiment_table(summary: pd.DataFrame, baseline: str) -> pd.DataFrame:
    def num(x: float) -> str:
        if x != x:
            return ""
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"

    def interval(lo: float, hi: float) -> str:
        return "" if lo != lo else f"[{num(lo)}, {num(hi)}]"  # one replication: none

    rows = []
    for r in records(summary):
        base = r.scenario == baseline
        rows.append({
            "scenario": r.scenario, "metric": r.metric, "mean": num(r.mean),
            "95% interval": interval(r.low, r.high),
            "vs baseline": "" if base else num(r.diff),
            "95% interval of the difference": "" if base else interval(r.diff_low, r.diff_high),
            "p (Holm)": "" if base or r.p_holm != r.p_holm else f"{r.p_holm:.3g}",
        })  # fmt: skip
    return pd.DataFrame(rows)


def evaluation_report(folder: str | Path) -> Report:
    """The report of a ``cjsim evaluate`` folder."""
    folder = Path(folder)
    from cjsim.report.inputs import ReportInputError, check_unique, read_table

    meta = read_json_file(folder / "evaluation.json", "an evaluation's settings")
    settings = meta.get("settings", {}) if isinstance(meta, dict) else None
    if not isinstance(settings, dict):
        raise ReportInputError("expected an evaluation's settings (a JSON object with "
                               "'settings')", source=str(folder / "evaluation.json"))  # fmt: skip
    what = "a file of a cjsim evaluate folder"
    summary = read_table(folder / "summary.csv", what, text=["method"], optional_numbers=[
        "mae", "mae_low", "mae_high", "rank_corr"])  # fmt: skip
    bias = read_table(folder / "bias.csv", what, text=["method", "channel"], numbers=["bias"],
                      optional_numbers=["share", "truth", "bias_low", "bias_high"])  # fmt: skip
    check_unique(summary, ["method"], str(folder / "summary.csv"), "one row per method")
    check_unique(bias, ["method", "channel"], str(folder / "bias.csv"),
                 "one row per method and channel")  # fmt: skip
    report = Report(
        f"Which attribution method recovers the truth? {settings.get('model', '')}",
        meta={k: v for k, v in settings.items() if not isinstance(v, list)},
    )
    shares = [c for c in ("method", "mae", "mae_low", "mae_high", "tied_with_best",
                          "rank_corr", "worst_channel") if c in summary]  # fmt: skip
    s = Section(
        "Methods against the truth",
        text=[TRUTH_TEXT, "MAE is the mean absolute error of a method's credit shares over the "
              "channels; rank correlation compares the order of the channels.",
              EVALUATION_NOISE_TEXT],
        tables=[("Methods, best first (95% intervals over replications, incl. the truth's "
                 "noise)", summary[shares])],
        figures=[("Credit share minus true share, per method and channel",
                  F.error_heatmap(bias, summary))],
    )  # fmt: skip
    s.text += [t for t in (method_text(m) for m in summary["method"]) if t]
    report.sections.append(s)
    if (folder / "absolute.csv").exists():
        report.sections.append(_absolute_section(folder, summary))
    return report


#: How the evaluation's intervals treat the truth's own noise.
EVALUATION_NOISE_TEXT = (
    "The truth is itself an estimate, shared by every replication: every interval adds its "
    "standard error to the spread over replications. 'tied_with_best' says whether a "
    "method's MAE cannot be told apart from the best method's at 95% (paired over the "
    "same replications and the same draws of the truth)."
)


def _absolute_section(folder: Path, summary: pd.DataFrame) -> Section:
    """Credited conversions against what marketing caused, ROAS, and the budget move."""
    absolute = pd.read_csv(folder / "absolute.csv")
    cols = [c for c in ("method", "conversions", "caused", "over_credit", "over_credit_low",
                        "over_credit_high", "roas_mae", "roas_mae_low", "roas_mae_high")
            if c in summary]  # fmt: skip
    per_channel = absolute.pivot(index="method", columns="channel", values="conversions")
    truth = absolute.groupby("channel", sort=False)["truth_conversions"].first()
    channels = list(truth.index)
    per_channel = per_channel.reindex(index=list(summary["method"]), columns=channels)
    per_channel = pd.concat([truth.to_frame("caused (truth)").T, per_channel])
    per_channel = per_channel.rename_axis("method").rename_axis(columns=None).reset_index()
    s = Section(
        "Credit against what marketing caused",
        text=[
            "A method shares out every conversion that has a path; most of them would have "
            "happened without marketing. Over-credit is the conversions a method credits "
            "over the conversions marketing caused (the truth's Shapley total, scaled to a "
            "replication's customers); per channel, absolute.csv gives the excess (credited "
            "minus caused) and the ratio with intervals.",
            "ROAS error is the attributed value over the channel's spend minus the true "
            "incremental ROAS (what switching the channel off loses, per unit of its "
            "spend), averaged in absolute value over the paid channels.",
        ],
        tables=[
            ("Conversions credited and caused, over-credit and ROAS error per method",
             summary[cols]),
            ("Conversions credited per channel (mean over replications) and caused",
             per_channel),
        ],
    )  # fmt: skip
    decisions = folder / "decisions.csv"
    if decisions.exists() and decisions.stat().st_size > 0:
        moves = pd.read_csv(decisions)
        if not moves.empty:
            s.text.append(
                "A budget move: each method's ROAS ranking moves a little spend from its "
                "lowest- to its highest-ROAS paid channel; the gain per unit moved is the "
                "true marginal ROAS of the receiving channel minus that of the giving one. "
                "The first row is the truth's own best move; regret is what a method's move "
                "gains less than it."
            )
            s.tables.append(("Budget moves by ROAS ranking, valued with the truth", moves))
    return s


def build_report(target: str | Path) -> Report:
    """The report of whatever ``target`` is (see the module's description)."""
    p = Path(target)
    if not p.exists():
        raise OptionError("not found; expected an event log, a path table, an attribution "
                          "result or a cjsim results folder", source=str(p))  # fmt: skip
    if p.is_dir():
        if (p / "manifest.json").exists():
            return experiment_report(p)
        if (p / "evaluation.json").exists():
            return evaluation_report(p)
        raise OptionError("the folder holds neither an experiment (manifest.json) nor an "
                          "evaluation (evaluation.json)", source=str(p))  # fmt: skip
    from cjsim.inputs import is_path_table

    if p.suffix.lower() == ".json" or is_path_table(p):
        return attribution_report(p)
    if p.suffix.lower() == ".csv":
        header = p.open(encoding="utf-8", errors="replace").readline()
        if "method" in header.split(","):
            return attribution_report(p)
    return events_report(p)
