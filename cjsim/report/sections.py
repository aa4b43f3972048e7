"""Report sections of one simulated log, its paths and its attribution, and of a budget
split: text, tables and figures that :mod:`cjsim.report.build` and the demo assemble."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from cjsim.report import data
from cjsim.report import figures as F
from cjsim.report.html import Section

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
