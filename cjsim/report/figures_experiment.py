"""Figures of experiments and budget splits: scenario differences, response curves, budgets.

An experiment's paired differences to its baseline (a forest plot), and a budget split's
response curves and its current and proposed budgets
(:class:`cjsim.experiment.optimise.Optimisation`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cjsim.report.figures_canvas import OKABE_ITO, blank_figure, channel_colors, literal

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@literal
def scenario_differences(summary: pd.DataFrame, baseline: str) -> Figure:
    """Per metric, each scenario's paired difference to the baseline with its interval
    (a forest plot; a dotted line at zero)."""
    rows = summary[summary["scenario"] != baseline]
    metrics = list(dict.fromkeys(rows["metric"]))
    scenarios = list(dict.fromkeys(rows["scenario"]))
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    cols = min(3, max(1, len(metrics)))
    nrows = -(-max(1, len(metrics)) // cols)
    fig = Figure(figsize=(3.4 * cols, nrows * (1.0 + 0.4 * max(1, len(scenarios)))),
                 layout="constrained")  # fmt: skip
    grid = fig.subplots(nrows, cols, sharey=True, squeeze=False)
    axes = grid.ravel()
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    y = np.arange(len(scenarios))[::-1]
    for ax, metric in zip(axes, metrics, strict=False):
        g = rows[rows["metric"] == metric].set_index("scenario").reindex(scenarios)
        err = np.vstack([g["diff"] - g["diff_low"], g["diff_high"] - g["diff"]])
        ax.errorbar(g["diff"], y, xerr=np.nan_to_num(err.clip(min=0)), fmt="o",
                    color=OKABE_ITO[4], capsize=3)  # fmt: skip
        ax.axvline(0.0, color="grey", linestyle=":", linewidth=1)
        ax.set_title(metric, fontsize=9)
        ax.set_xlabel(f"difference to '{baseline}'", fontsize=8)
        ax.tick_params(labelsize=8)
    for row in grid:
        row[0].set_yticks(y, scenarios)
    fig.suptitle("Scenarios against the baseline: mean paired difference, 95% intervals",
                 fontsize=10)  # fmt: skip
    return fig


@literal
def response_curves(opt: Any) -> Figure:
    """Per paid channel: simulated gains (mean and interval per budget) against the daily
    spend they measured, the fitted curve with its 95% band, and the current and proposed
    daily spend."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    channels = list(opt.curves)
    colors = channel_colors(channels)
    cols = min(3, len(channels))
    nrows = -(-len(channels) // cols)
    fig = Figure(figsize=(3.6 * cols, 2.9 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, cols, squeeze=False)).ravel()
    proposed = opt.allocation.table.set_index("channel")["spend"]
    for ax, c in zip(axes, channels, strict=False):
        curve = opt.curves[c]
        pts = opt.points[opt.points["channel"] == c]
        agg = pts.groupby("scale")["gain"].agg(["mean", "std", "count"])
        agg.index = pts.groupby("scale")["daily_spend"].mean().to_numpy()
        half = 1.96 * agg["std"].fillna(0) / np.sqrt(agg["count"])
        top = max(float(agg.index.max()), float(proposed[c]), 1e-9) * 1.1
        x = np.linspace(0.0, top, 200)
        lo, hi = curve.band(x)
        ax.fill_between(x, lo, hi, color=colors[c], alpha=0.25, linewidth=0)
        ax.plot(x, curve(x), color=colors[c], label="fitted curve, 95% band")
        ax.errorbar(agg.index, agg["mean"], yerr=half, fmt="o", color="black", markersize=3,
                    capsize=2, label="simulated (mean, 95%)")  # fmt: skip
        now = opt.current[c] * getattr(opt, "spent", {}).get(c, 1.0)
        for spend, marker, label in ((now, "s", "current"),
                                     (float(proposed[c]), "*", "proposed")):  # fmt: skip
            face = "none" if marker == "s" else OKABE_ITO[5]
            ax.plot([spend], [float(curve(spend))], marker, color=OKABE_ITO[5], markersize=9,
                    markerfacecolor=face, label=label)  # fmt: skip
        if float(np.nanmax(np.abs(hi))) < 1e-6 * max(1.0, float(np.abs(agg["mean"]).max())):
            ax.set_ylim(-1.0, 1.0)  # no gain at all: no axis scaled to rounding noise
        ax.set_title(c, fontsize=9)
        ax.set_xlabel("daily spend", fontsize=8)
        ax.set_ylabel(f"gain in {opt.metric}", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[len(channels) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize=6)
    fig.suptitle("Response curves per paid channel (gain over the channel switched off)",
                 fontsize=10)  # fmt: skip
    return fig


@literal
def allocation_chart(table: pd.DataFrame) -> Figure:
    """Daily budget per channel now and as proposed (``channel, current_budget,
    proposed_budget``, as :meth:`cjsim.experiment.optimise.Optimisation.table` gives)."""
    fig, ax = blank_figure(1.8 + 1.0 * len(table), 3.6)
    x = np.arange(len(table))
    colors = channel_colors(table["channel"])
    c = [colors[str(ch)] for ch in table["channel"]]
    ax.bar(x - 0.2, table["current_budget"], 0.4, color=c, alpha=0.45, label="current",
           edgecolor="black", linewidth=0.5)  # fmt: skip
    ax.bar(x + 0.2, table["proposed_budget"], 0.4, color=c, label="proposed",
           edgecolor="black", linewidth=0.5)  # fmt: skip
    ax.set_xticks(x, table["channel"], rotation=30, ha="right")
    ax.set_ylabel("daily budget")
    ax.legend(fontsize=8)
    ax.set_title("Budget split: current (light) and proposed (dark)", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    return fig
