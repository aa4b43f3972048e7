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

import json
from pathlib import Path
from typing import Any

import pandas as pd

from cjsim._io import read_json_file
from cjsim.errors import OptionError
from cjsim.report import data
from cjsim.report import figures as F
from cjsim.report.figures import records
from cjsim.report.html import Report, Section

#: Plain-language explanations of the attribution methods, shown beside their numbers.
METHOD_TEXT = {
    "first": "First touch gives each conversion to the first channel of the journey.",
    "last": "Last touch gives each conversion to the last channel before it.",
    "last_non_direct": "Last non-direct touch skips direct visits at the end of a journey.",
    "linear": "Linear splits each conversion equally over the touches of its journey.",
    "time_decay": "Time decay gives touches closer to the conversion more of the credit.",
    "position": "Position-based (U-shaped) gives 40% to the first and 40% to the last "
    "touch and spreads 20% over the touches between.",
    "markov": "Markov removal effect fits a chain of touches and asks how many conversions "
    "would be lost if a channel were removed from every path; the effects are scaled to the "
    "conversions (solved exactly, not simulated).",
    "shapley": "Shapley value treats channels as players in a game whose payoff is the "
    "conversions of journeys made of those channels, and gives each its average marginal "
    "contribution over every order the channels could join in.",
    "shapley_rate": "Shapley (rate) uses the conversion rate of a set of channels as payoff.",
    "shapley_ordered": "Ordered Shapley also credits a channel by its position in the path.",
    "markov_shapley": "Markov-Shapley uses the fitted Markov chain's conversion "
    "probability as the game's payoff.",
}

TRUTH_TEXT = (
    "The truth is known because the simulator knows the cause: each channel's true share "
    "is its Shapley share of the conversions marketing caused, from counterfactual runs of "
    "the same customers with channels switched off (common random numbers)."
)


def method_text(method: str) -> str:
    base = method.split("_")[0] if method.startswith("markov_") and method[7:].isdigit() else method
    text = METHOD_TEXT.get(base, "")
    if base != method and base == "markov":
        text = f"{text} Order {method[7:]}: the chain remembers that many previous touches."
    return text


# -- event logs and paths ----------------------------------------------------------------


def journey_sections(
    events: pd.DataFrame, stages: list[str] | None = None, lost: str | None = "lost"
) -> list[Section]:
    """The funnel, flows, journey map, path lengths and time to conversion of a log."""
    customers = events["customer_id"].nunique()
    kinds = events["event"].astype(str).value_counts()
    converters = events.loc[events["event"] == "conversion", "customer_id"].nunique()
    headline = pd.DataFrame(
        {
            "customers": [customers],
            "touches": [int(kinds.get("touch", 0))],
            "conversions": [int(kinds.get("conversion", 0))],
            "converting customers": [converters],
            "conversion rate": [f"{converters / customers:.2%}" if customers else ""],
            "revenue": [float(events.loc[events["event"] == "conversion", "value"].sum())],
        }
    )
    out = [
        Section(
            "Headline",
            text=[
                f"{customers:,} customers were followed; {converters:,} of them converted. "
                "A touch is a contact with a channel (an ad seen, a search, a review read); a "
                "conversion is the purchase the journey leads to."
            ],
            tables=[("The event log in numbers", headline)],
        )
    ]
    journey = Section(
        "The journey",
        text=[
            "Customers move through stages, from not knowing the brand to buying and "
            "beyond. The funnel shows how many ever reach each stage; the flow diagram "
            "shows the order in which they move; the journey map shows which channels "
            "they meet in each stage."
        ],
    )
    has_stages = (events["event"] == "stage").any()
    if has_stages:
        reach = data.stage_reach(events, stages)
        reach = reach[reach["stage"] != lost]
        journey.figures.append(
            ("Stage funnel: share of customers who ever reach each stage, and of the stage "
             "above (stages in the model's order)", F.funnel_chart(reach))
        )  # fmt: skip
        flows = data.stage_flows(events)
        if len(flows):
            journey.figures.append(
                ("Journey flows: each customer's first five stages in order; band width "
                 "is the number of customers", F.journey_flows(flows, stages))
            )  # fmt: skip
    else:
        journey.notes.append("This log has no stage events (a real export?): no funnel.")
    if (events["event"] == "touch").any() and has_stages:
        jm = data.journey_map(events, stages)
        journey.figures.append(
            ("Customer journey map: for each stage, each channel's share of the touches "
             "customers met while in it", F.journey_map_figure(jm))
        )  # fmt: skip
    out.append(journey)
    return out


def agent_sections(log_path: str | Path) -> list[Section]:
    """Queues, word of mouth, caps and spend of an agent-engine run, from the statistics
    file written beside its log (``NAME.agents.json``); nothing for other logs."""
    from cjsim.simulate.agents import stats_path

    p = stats_path(log_path)
    if not p.is_file():
        return []
    try:
        stats = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        stats = None
    if not _agent_stats_shape(stats):
        return [Section("Capacity and word of mouth", notes=[f"{p.name} cannot be read."])]
    s = Section(
        "Capacity and word of mouth",
        text=[
            "The agent engine simulates what a Markov chain cannot: customers queue for "
            "limited servers (and some give up), tell their contacts, and campaigns run on "
            "schedules and budgets. 'timed_out' counts customers who waited longer than "
            "their patience."
        ],
    )
    if stats.get("resources"):
        s.tables.append(("Limited resources", pd.DataFrame(stats["resources"])))
    wom = stats.get("word_of_mouth") or {}
    caps = stats.get("caps") or {}
    if wom or caps:
        rows = [(f"word of mouth: {k.replace('_', ' ')}", v) for k, v in wom.items()]
        rows += [(f"touches held back by the {k} cap", v) for k, v in caps.items()]
        s.tables.append(("Referrals and caps", pd.DataFrame(rows, columns=["what", "count"])))
    spend = stats.get("spend_per_day") or {}
    if any(any(v) for v in spend.values()):
        s.figures.append(("Spend per day and channel", F.spend_chart(spend)))
    return [s]


def _agent_stats_shape(stats: Any) -> bool:
    """Whether an agent run's statistics have the shape the engine writes."""
    if not isinstance(stats, dict):
        return False
    resources = stats.get("resources") or []
    counts = [stats.get("word_of_mouth") or {}, stats.get("caps") or {}]
    spend = stats.get("spend_per_day") or {}
    return (
        isinstance(resources, list) and all(isinstance(r, dict) for r in resources)
        and all(isinstance(c, dict) for c in counts)
        and isinstance(spend, dict)
        and all(isinstance(v, list) and all(isinstance(x, int | float) for x in v)
                for v in spend.values())
    )  # fmt: skip


def path_sections(paths: Any, events: pd.DataFrame | None = None) -> list[Section]:
    """Path lengths, time to conversion and the most common paths."""
    s = Section(
        "Paths",
        text=[
            "A path is the sequence of channels a customer met before converting (or before "
            "the observation ended). Attribution works on these paths."
        ],
    )
    s.figures.append(
        ("Touches per journey, converting and not (each as a share of its group)",
         F.path_length_chart(data.path_lengths(paths)))
    )  # fmt: skip
    if events is not None:
        days = data.time_to_conversion(events)
        if len(days):
            s.figures.append(
                ("Days from the first touch to the conversion", F.time_to_conversion_chart(days))
            )
    top = data.top_paths(paths)
    s.figures.append(("The ten most common paths", F.top_paths_chart(top)))
    return [s]


def attribution_sections(result: Any) -> list[Section]:
    """Credit by method (table and figure with intervals), the Markov chain, the methods."""
    frame = result.to_frame() if hasattr(result, "to_frame") else result
    methods = list(dict.fromkeys(frame["method"]))
    wide = frame.pivot(index="channel", columns="method", values="conversions")[methods]
    share = (wide / wide.sum(axis=0)).rename_axis(columns=None).reset_index()
    s = Section(
        "Attribution",
        text=[
            "Each method shares out the same conversions among the channels by a different "
            "rule; where they disagree, the rule matters more than the data. The table "
            "gives each channel's share of the credited conversions."
        ],
        tables=[("Share of credited conversions by channel and method", share)],
    )
    s.figures.append(("Credited conversions per channel by method", F.attribution_chart(frame)))
    models = getattr(result, "models", {})
    if "markov" in models:
        s.figures.append(
            (f"The fitted Markov chain (order {models['markov'].order}): probability of the "
             "next touch, or of the journey ending in a conversion or without one",
             F.transition_heatmap(models["markov"].transition_matrix()))
        )  # fmt: skip
    s.text += [t for t in (method_text(m) for m in methods) if t]
    return [s]


def truth_sections(scores: pd.DataFrame, explanation: str = TRUTH_TEXT) -> list[Section]:
    """Credit shares against the true shares (``evaluate.score`` output)."""
    table = scores.pivot(index="channel", columns="method", values="share")
    truth = scores.groupby("channel", sort=False)["truth"].first()
    table.insert(0, "truth", truth)
    table = table.rename_axis(columns=None).reset_index()
    mae = scores.assign(abs_error=scores["error"].abs()).groupby("method")["abs_error"].mean()
    s = Section(
        "Against the truth",
        text=[
            explanation,
            "Mean absolute error of the shares: "
            + ", ".join(f"{m} {v:.3f}" for m, v in mae.sort_values().items()),
        ],
        tables=[("True share and each method's share of the credit", table)],
    )
    s.figures.append(("Credit shares against the truth", F.truth_chart(scores)))
    return [s]


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
    from cjsim.experiment.runner import (
        TRUTH,
        read_tasks,
        score_scenarios,
        task_list,
        task_path,
    )
    from cjsim.experiment.stats import summarise_runs

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
        attribution, _ = score_scenarios(found.credit, found.truth)
        if not attribution.empty:
            table = attribution.pivot(index="method", columns="scenario", values="mae")
            report.sections.append(
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
            )
    return report


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


def optimisation_sections(opt: Any, model_name: str) -> list[Section]:
    """Response curves, the proposed split and its validation (``optimise_model``)."""
    table = opt.table()
    per = "revenue" if opt.metric == "revenue" else "conversions"
    s = Section(
        "Where should the budget go?",
        text=[
            f"Each paid channel of {model_name} was simulated at several daily budgets, the "
            "others unchanged, on the same customers and random numbers; a saturating curve "
            "(Michaelis-Menten) was fitted to the gain over the channel switched off, with a "
            "95% band. The budget is split where one more unit of money returns the same "
            f"{per} in every channel that is not at a limit.",
            "The proposal is then simulated against the current split on paired "
            "replications: the validation table says whether it is really better.",
        ],
        tables=[
            (f"Daily budgets and the marginal {per} per unit of spend", table.round(3)),
            (
                "Validation: current against proposed split (95% interval of the difference)",
                opt.validation.round(2),
            ),
        ],
        figures=[
            (
                "Response curves with 95% bands; squares: current budgets, stars: proposed",
                F.response_curves(opt),
            ),
            ("Daily budget per channel: current and proposed", F.allocation_chart(table)),
        ],
    )
    return [s]
