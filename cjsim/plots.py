"""Figures people expect from an evaluation or an experiment (matplotlib, no display).

Each function returns a :class:`matplotlib.figure.Figure`; :func:`save_figure` writes one
atomically as PNG, SVG or PDF (by the file's suffix). Channels keep one colour from the
colour-blind-safe Okabe-Ito palette across figures (:func:`channel_colors`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure


#: Okabe & Ito (2008), distinguishable with every common colour-vision deficiency.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
             "#999999", "#000000")  # fmt: skip
FIGURE_FORMATS = ("png", "svg", "pdf")


def channel_colors(channels: Any) -> dict[str, str]:
    """One colour per channel, in the order given (cycling past nine channels)."""
    return {str(c): OKABE_ITO[i % len(OKABE_ITO)] for i, c in enumerate(channels)}


def save_figure(fig: Figure, path: str | Path, dpi: int = 130) -> Path:
    """Write a figure atomically; the format follows the suffix (png, svg or pdf)."""
    from cjsim._io import atomic_path
    from cjsim.errors import OptionError

    p = Path(path)
    fmt = p.suffix.lower().lstrip(".")
    if fmt not in FIGURE_FORMATS:
        raise OptionError(
            f"unknown figure format '{p.suffix}'; expected one of: "
            + ", ".join(f".{f}" for f in FIGURE_FORMATS),
            source=str(p),
        )
    with atomic_path(p) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight")
    return p


def _figure(width: float, height: float) -> tuple[Figure, Any]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot()


def error_heatmap(bias: pd.DataFrame, summary: pd.DataFrame) -> Figure:
    """Methods (rows, best first) x channels: mean error of the credit share."""
    order = list(summary["method"])
    channels = list(dict.fromkeys(bias["channel"]))
    table = bias.pivot(index="method", columns="channel", values="bias").reindex(
        index=order, columns=channels
    )
    fig, ax = _figure(1.1 + 0.75 * table.shape[1], 1.2 + 0.42 * table.shape[0])
    limit = float(np.nanmax(np.abs(table.to_numpy()))) or 1.0
    im = ax.imshow(table.to_numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(table.shape[1]), table.columns, rotation=45, ha="right")
    ax.set_yticks(range(table.shape[0]), table.index)
    for (i, j), v in np.ndenumerate(table.to_numpy()):
        ax.text(j, i, f"{v:+.2f}", ha="center", va="center", fontsize=7)
    ax.set_title("Credit share minus true share (red: over-credited)")
    fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


def share_bars(bias: pd.DataFrame, truth: Any, summary: pd.DataFrame, top: int = 5) -> Figure:
    """Per channel: the true share (with its interval) and the shares of the best and
    worst methods (with intervals over replications)."""
    methods = list(summary["method"])
    shown = methods[: max(1, top - 2)] + [m for m in methods[-2:] if m not in methods[:top]]
    channels = list(truth.channels)
    share = truth.shares("shapley")
    total = truth.shapley["conversions"].clip(lower=0).sum() or 1.0
    se = truth.shapley["conversions_se"] / total
    fig, ax = _figure(1.5 + 0.9 * len(channels), 4.0)
    width = 0.8 / (len(shown) + 1)
    x = np.arange(len(channels))
    ax.bar(x, share.reindex(channels), width, yerr=1.96 * se.reindex(channels), color="black",
           label="truth (Shapley of counterfactuals)", capsize=2)  # fmt: skip
    for k, m in enumerate(shown, start=1):
        rows = bias[bias["method"] == m].set_index("channel").reindex(channels)
        err = np.vstack([rows["share"] - (rows["bias_low"] + rows["truth"]),
                         (rows["bias_high"] + rows["truth"]) - rows["share"]])  # fmt: skip
        ax.bar(x + k * width, rows["share"], width, yerr=np.nan_to_num(err.clip(min=0)),
               label=m, capsize=2)  # fmt: skip
    ax.set_xticks(x + width * len(shown) / 2, channels, rotation=45, ha="right")
    ax.set_ylabel("share of credited conversions")
    ax.legend(fontsize=7, ncols=2)
    ax.set_title("Credit share by channel: truth vs methods (best first, 95% intervals)")
    return fig


def scenario_differences(summary: pd.DataFrame, baseline: str) -> Figure:
    """Per metric, each scenario's paired difference to the baseline with its interval
    (a forest plot; a dotted line at zero)."""
    rows = summary[summary["scenario"] != baseline]
    metrics = list(dict.fromkeys(rows["metric"]))
    scenarios = list(dict.fromkeys(rows["scenario"]))
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.2 * max(1, len(metrics)), 1.2 + 0.45 * max(1, len(scenarios))),
                 layout="constrained")  # fmt: skip
    axes = fig.subplots(1, max(1, len(metrics)), sharey=True, squeeze=False)[0]
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
    axes[0].set_yticks(y, scenarios)
    fig.suptitle("Scenarios against the baseline: mean paired difference, 95% intervals",
                 fontsize=10)  # fmt: skip
    return fig


def attribution_errors(attribution: pd.DataFrame) -> Figure:
    """Scenarios (columns) x methods (rows): mean absolute error of the credit shares
    against the true shares, with the best method of each scenario boxed."""
    table = attribution.pivot(index="method", columns="scenario", values="mae")
    table = table.reindex(columns=list(dict.fromkeys(attribution["scenario"])))
    table = table.loc[table.mean(axis=1).sort_values().index]
    fig, ax = _figure(1.8 + 1.0 * table.shape[1], 1.2 + 0.42 * table.shape[0])
    values = table.to_numpy()
    im = ax.imshow(values, cmap="viridis_r", vmin=0.0, aspect="auto")
    ax.set_xticks(range(table.shape[1]), table.columns, rotation=30, ha="right")
    ax.set_yticks(range(table.shape[0]), table.index)
    best = np.nanargmin(np.where(np.isnan(values), np.inf, values), axis=0)
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                fontweight="bold" if best[j] == i else "normal",
                color="white" if v > 0.6 * np.nanmax(values) else "black")  # fmt: skip
    ax.set_title("Mean absolute error of credit shares vs the truth (lower is better)",
                 fontsize=9)  # fmt: skip
    fig.colorbar(im, ax=ax, shrink=0.8, label="MAE of shares")
    return fig


def response_curves(opt: Any) -> Figure:
    """Per paid channel: simulated gains (mean and interval per budget), the fitted curve
    with its 95% band, and the current and proposed daily budgets."""
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
        agg = pts.groupby("daily_budget")["gain"].agg(["mean", "std", "count"])
        half = 1.96 * agg["std"].fillna(0) / np.sqrt(agg["count"])
        top = max(float(agg.index.max()), float(proposed[c]), 1e-9) * 1.1
        x = np.linspace(0.0, top, 200)
        lo, hi = curve.band(x)
        ax.fill_between(x, lo, hi, color=colors[c], alpha=0.25, linewidth=0)
        ax.plot(x, curve(x), color=colors[c], label="fitted curve, 95% band")
        ax.errorbar(agg.index, agg["mean"], yerr=half, fmt="o", color="black", markersize=3,
                    capsize=2, label="simulated (mean, 95%)")  # fmt: skip
        for spend, marker, label in ((opt.current[c], "s", "current"),
                                     (float(proposed[c]), "*", "proposed")):  # fmt: skip
            face = "none" if marker == "s" else OKABE_ITO[5]
            ax.plot([spend], [float(curve(spend))], marker, color=OKABE_ITO[5], markersize=9,
                    markerfacecolor=face, label=label)  # fmt: skip
        ax.set_title(c, fontsize=9)
        ax.set_xlabel("daily budget", fontsize=8)
        ax.set_ylabel(f"gain in {opt.metric}", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[len(channels) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize=6)
    fig.suptitle("Response curves per paid channel (gain over the channel switched off)",
                 fontsize=10)  # fmt: skip
    return fig
