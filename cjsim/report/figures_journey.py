"""Figures of one event log and its journeys: stages, channels met, paths, time, spend.

The tables they draw come from :mod:`cjsim.report.data` (stage reach and flows, the
journey map, path lengths, top paths); spend per day is an agent-engine run's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cjsim.report.figures_canvas import OKABE_ITO, blank_figure, channel_colors, literal, records

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@literal
def funnel_chart(reach: pd.DataFrame, title: str = "Stage funnel") -> Figure:
    """Horizontal bars: share of customers who ever reach each stage, with the share of the
    previous stage's customers beside each bar (:func:`cjsim.report.data.stage_reach`)."""
    rows = reach.reset_index(drop=True)
    fig, ax = blank_figure(7.0, 0.9 + 0.42 * len(rows))
    y = np.arange(len(rows))[::-1]
    ax.barh(y, rows["share"], color=OKABE_ITO[4], height=0.65)
    for yi, r in zip(y, records(rows), strict=True):
        label = f"{r.share:.1%}"
        if r.of_previous == r.of_previous and yi != y[0] and r.of_previous <= 1.0:
            label += f"   ({r.of_previous:.0%} of the stage above)"
        ax.text(r.share, yi, "  " + label, va="center", fontsize=8)
    ax.set_yticks(y, rows["stage"])
    ax.set_xlim(0, 1.45 * max(float(rows["share"].max()), 1e-9))
    ax.set_xlabel("share of customers who ever reach the stage")
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


@literal
def journey_flows(flows: pd.DataFrame, stages: list[str] | None = None) -> Figure:
    """An alluvial diagram: customers' first stages, step by step, as bands between stage
    boxes (:func:`cjsim.report.data.stage_flows`); band width is proportional to customers."""
    from matplotlib.patches import Rectangle

    steps = int(flows["step"].max()) + 2 if len(flows) else 1
    order = list(stages) if stages else list(dict.fromkeys([*flows["source"], *flows["target"]]))
    colors = {s: OKABE_ITO[i % len(OKABE_ITO)] for i, s in enumerate(order)}
    # customers per (step, stage): what leaves a column, or for the last what arrives
    size: dict[tuple[int, str], float] = {}
    for r in records(flows):
        size[(r.step, r.source)] = size.get((r.step, r.source), 0.0) + r.customers
    for r in records(flows[flows["step"] == steps - 2]):
        size[(r.step + 1, r.target)] = size.get((r.step + 1, r.target), 0.0) + r.customers
    inflow: dict[tuple[int, str], float] = {}
    for r in records(flows):
        inflow[(r.step + 1, r.target)] = inflow.get((r.step + 1, r.target), 0.0) + r.customers
    for key, n in inflow.items():
        size[key] = max(size.get(key, 0.0), n)
    total = max((sum(v for (k, _), v in size.items() if k == col) for col in range(steps)),
                default=1.0)  # fmt: skip
    gap = 0.02 * total
    fig, ax = blank_figure(2.2 * steps + 1.5, 5.0)
    width = 0.12
    top: dict[tuple[int, str], float] = {}
    for col in range(steps):
        y = 0.0
        for s in reversed(order):
            n = size.get((col, s), 0.0)
            if n <= 0:
                continue
            top[(col, s)] = y + n
            ax.add_patch(Rectangle((col - width / 2, y), width, n, color=colors[s], zorder=3))
            if n > 0.03 * total:
                ax.text(col + width / 2 + 0.03, y + n / 2, f"{s}\n{n:,.0f}", va="center",
                        fontsize=7, zorder=4)  # fmt: skip
            y += n + gap
    out_used: dict[tuple[int, str], float] = {}
    in_used: dict[tuple[int, str], float] = {}
    t = np.linspace(0.0, 1.0, 40)
    ease = t * t * (3 - 2 * t)
    rank = {s: i for i, s in enumerate(order)}
    ordered = flows.assign(_a=flows["source"].map(rank), _b=flows["target"].map(rank))
    for r in records(ordered.sort_values(["step", "_a", "_b"])):
        a, b = (r.step, r.source), (r.step + 1, r.target)
        if a not in top or b not in top:
            continue
        y0 = top[a] - out_used.get(a, 0.0)
        y1 = top[b] - in_used.get(b, 0.0)
        out_used[a] = out_used.get(a, 0.0) + r.customers
        in_used[b] = in_used.get(b, 0.0) + r.customers
        x = r.step + width / 2 + (1 - width) * t
        upper = y0 + (y1 - y0) * ease
        ax.fill_between(x, upper - r.customers, upper, color=colors[r.target], alpha=0.35,
                        linewidth=0, zorder=2)  # fmt: skip
    ax.set_xlim(-0.4, steps - 0.4)
    ax.set_ylim(0, total * 1.08 + gap * len(order))
    ax.set_xticks(range(steps), ["start"] + [f"stage {k + 1}" for k in range(1, steps)])
    ax.set_yticks([])
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.set_title("How customers move: the first stages of those who moved, in order "
                 "(band width = customers)", fontsize=10)  # fmt: skip
    return fig


@literal
def journey_map_figure(table: pd.DataFrame) -> Figure:
    """The customer journey map: for each stage (rows), each channel's share of the touches
    customers met while in it (:func:`cjsim.report.data.journey_map`)."""
    shares = table.div(table.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    fig, ax = blank_figure(1.8 + 0.8 * shares.shape[1], 1.2 + 0.45 * shares.shape[0])
    im = ax.imshow(shares.to_numpy(), cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(shares.shape[1]), shares.columns, rotation=40, ha="right")
    ax.set_yticks(range(shares.shape[0]),
                  [f"{s} ({n:,} touches)" for s, n in table.sum(axis=1).items()])  # fmt: skip
    for (i, j), v in np.ndenumerate(shares.to_numpy()):
        if v >= 0.005:
            ax.text(j, i, f"{v:.0%}", ha="center", va="center", fontsize=7,
                    color="white" if v > 0.6 else "black")  # fmt: skip
    ax.set_title("Customer journey map: which channels people meet in each stage", fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.8, label="share of the stage's touches")
    return fig


@literal
def path_length_chart(lengths: pd.DataFrame) -> Figure:
    """Journeys by number of touches, converting and not, each as a share of its group."""
    fig, ax = blank_figure(7.0, 3.2)
    x = np.arange(len(lengths))
    conv = lengths["converting"] / max(float(lengths["converting"].sum()), 1e-300)
    null = lengths["not_converting"] / max(float(lengths["not_converting"].sum()), 1e-300)
    ax.bar(x - 0.2, conv, 0.4, color=OKABE_ITO[2], label="converting journeys")
    ax.bar(x + 0.2, null, 0.4, color=OKABE_ITO[7], label="journeys without conversion")
    ax.set_xticks(x, lengths["length"])
    ax.set_xlabel("touches in the journey")
    ax.set_ylabel("share of journeys")
    ax.legend(fontsize=8)
    ax.set_title("Path length: touches per journey, converting and not", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


@literal
def time_to_conversion_chart(days: np.ndarray) -> Figure:
    """Histogram of days from the first touch to the conversion, with the median."""
    fig, ax = blank_figure(7.0, 3.2)
    if len(days):
        hi = float(np.quantile(days, 0.99)) or 1.0
        ax.hist(np.minimum(days, hi), bins=40, color=OKABE_ITO[1], edgecolor="white")
        med = float(np.median(days))
        ax.axvline(med, color=OKABE_ITO[5], linestyle="--")
        ax.text(med, ax.get_ylim()[1] * 0.92, f"  median {med:.1f} days", color=OKABE_ITO[5],
                fontsize=8)  # fmt: skip
    ax.set_xlabel("days from the first touch to the conversion")
    ax.set_ylabel("converting customers")
    ax.set_title("Time to conversion", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


@literal
def top_paths_chart(table: pd.DataFrame) -> Figure:
    """The most common paths (bars: journeys) with their conversion rates."""
    fig, ax = blank_figure(8.0, 0.9 + 0.36 * len(table))
    y = np.arange(len(table))[::-1]
    ax.barh(y, table["journeys"], color=OKABE_ITO[4], height=0.65)
    for yi, r in zip(y, records(table), strict=True):
        ax.text(r.journeys, yi, f"  {r.journeys:,.0f} journeys, {r.conversion_rate:.1%} convert",
                va="center", fontsize=7)  # fmt: skip
    short = [p if len(p) <= 48 else p[:45] + "..." for p in table["path"]]
    ax.set_yticks(y, short, fontsize=7)
    ax.set_xlim(0, 1.6 * max(float(table["journeys"].max()), 1.0) if len(table) else 1.0)
    ax.set_xlabel("journeys")
    ax.set_title("Most common paths", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


@literal
def spend_chart(spend_per_day: dict[str, list[float]]) -> Figure:
    """Spend per day and channel (an agent-engine run: schedules and budget caps show)."""
    channels = [c for c, v in spend_per_day.items() if any(v)]
    colors = channel_colors(spend_per_day)
    fig, ax = blank_figure(7.5, 3.2)
    for c in channels:
        ax.plot(np.arange(len(spend_per_day[c])), spend_per_day[c], color=colors[c], label=c,
                linewidth=1.2)  # fmt: skip
    ax.set_xlabel("day")
    ax.set_ylabel("spend per day")
    if channels:
        ax.legend(fontsize=7)
    ax.set_title("Spend per day by channel (flighting, weekdays and budget caps show)",
                 fontsize=10)  # fmt: skip
    ax.spines[["top", "right"]].set_visible(False)
    return fig
