"""Figures of attribution: credit per method, the Markov chain, and credit against the truth.

One attribution result (credit per channel and method, the fitted transitions); an
evaluation (credit shares against the true shares, their mean error by method and
channel); an experiment's attribution study (the error of each method in each scenario).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cjsim.report.figures_canvas import OKABE_ITO, blank_figure, literal

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@literal
def attribution_chart(frame: pd.DataFrame, value: str = "conversions") -> Figure:
    """Credited conversions per channel, methods side by side, with their intervals
    (``ci_low``/``ci_high`` of an attribution result, when present)."""
    methods = list(dict.fromkeys(frame["method"]))
    wide = frame.pivot(index="channel", columns="method", values=value)[methods]
    wide = wide.loc[wide.mean(axis=1).sort_values(ascending=False).index]
    low_col, high_col = ("ci_low", "ci_high") if value == "conversions" else (
        "value_ci_low", "value_ci_high")  # fmt: skip
    fig, ax = blank_figure(1.6 + 0.75 * len(wide) * max(1, len(methods)) / 3, 4.0)
    width = 0.8 / max(1, len(methods))
    x = np.arange(len(wide))
    palette = [OKABE_ITO[i % len(OKABE_ITO)] for i in (4, 5, 2, 0, 1, 6, 7, 3, 8)]
    for k, m in enumerate(methods):
        y = wide[m].to_numpy(np.float64)
        err = None
        if low_col in frame and frame[low_col].notna().any():
            rows = frame[frame["method"] == m].set_index("channel").reindex(wide.index)
            err = np.vstack([y - rows[low_col].to_numpy(np.float64),
                             rows[high_col].to_numpy(np.float64) - y])  # fmt: skip
            err = np.nan_to_num(err.clip(min=0))
        ax.bar(x + k * width, y, width, yerr=err, capsize=2, label=m,
               color=palette[k % len(palette)])  # fmt: skip
    ax.set_xticks(x + width * (len(methods) - 1) / 2, wide.index, rotation=40, ha="right")
    ax.set_ylabel(f"credited {value}")
    ax.legend(fontsize=7, ncols=min(4, len(methods)))
    title = "Credit per channel by method"
    if low_col in frame and frame[low_col].notna().any():
        title += " (bars: 95% bootstrap intervals)"
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


@literal
def transition_heatmap(matrix: pd.DataFrame, top: int = 14) -> Figure:
    """The fitted first-order Markov chain: P(next state | state), states by traffic."""
    table = matrix.pivot_table(index="channel_from", columns="channel_to",
                               values="transition_probability", fill_value=0.0)  # fmt: skip
    ends = [c for c in ("(conversion)", "(null)") if c in table.columns]
    inner = [c for c in table.index if c != "(start)"]
    inner = sorted(inner, key=lambda c: -float(table.loc[:, c].sum()) if c in table else 0.0)
    inner = inner[:top]
    rows = [r for r in ["(start)", *inner] if r in table.index]
    cols = [c for c in [*inner, *ends] if c in table.columns]
    t = table.reindex(index=rows, columns=cols).fillna(0.0)
    fig, ax = blank_figure(1.8 + 0.62 * t.shape[1], 1.2 + 0.42 * t.shape[0])
    im = ax.imshow(t.to_numpy(), cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(t.shape[1]), t.columns, rotation=45, ha="right")
    ax.set_yticks(range(t.shape[0]), t.index)
    for (i, j), v in np.ndenumerate(t.to_numpy()):
        if v >= 0.01:
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6,
                    color="black" if v > 0.55 else "white")  # fmt: skip
    ax.set_xlabel("next touch (or the end of the journey)")
    ax.set_ylabel("touch")
    ax.set_title("Markov chain of touches: transition probabilities", fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.8, label="probability")
    return fig


@literal
def truth_chart(scores: pd.DataFrame) -> Figure:
    """Per channel: the true share (black) and each method's share of the credit
    (``method, channel, share, truth`` as :func:`cjsim.evaluate.score` gives)."""
    methods = list(dict.fromkeys(scores["method"]))
    truth = scores.groupby("channel", sort=False)["truth"].first().sort_values(ascending=False)
    shares = scores.pivot(index="channel", columns="method", values="share")
    shares = shares.reindex(index=truth.index, columns=methods)
    fig, ax = blank_figure(1.6 + 0.5 * len(truth) * (len(methods) + 1) / 3, 4.0)
    width = 0.8 / (len(methods) + 1)
    x = np.arange(len(truth))
    ax.bar(x, truth, width, color="black", label="truth")
    palette = [OKABE_ITO[i] for i in (4, 5, 2, 0, 1, 6, 7, 3)]
    for k, m in enumerate(methods, start=1):
        ax.bar(x + k * width, shares[m], width, color=palette[(k - 1) % len(palette)], label=m)
    ax.set_xticks(x + width * len(methods) / 2, truth.index, rotation=40, ha="right")
    ax.set_ylabel("share of the conversions")
    ax.legend(fontsize=7, ncols=min(4, len(methods) + 1))
    ax.set_title("Credit shares against the true shares", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


@literal
def error_heatmap(bias: pd.DataFrame, summary: pd.DataFrame) -> Figure:
    """Methods (rows, best first) x channels: mean error of the credit share."""
    order = list(summary["method"])
    channels = list(dict.fromkeys(bias["channel"]))
    table = bias.pivot(index="method", columns="channel", values="bias").reindex(
        index=order, columns=channels
    )
    fig, ax = blank_figure(1.1 + 0.75 * table.shape[1], 1.2 + 0.42 * table.shape[0])
    limit = float(np.nanmax(np.abs(table.to_numpy()))) or 1.0
    im = ax.imshow(table.to_numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(table.shape[1]), table.columns, rotation=45, ha="right")
    ax.set_yticks(range(table.shape[0]), table.index)
    for (i, j), v in np.ndenumerate(table.to_numpy()):
        ax.text(j, i, f"{v:+.2f}", ha="center", va="center", fontsize=7)
    ax.set_title("Credit share minus true share (red: over-credited)")
    fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


@literal
def share_bars(bias: pd.DataFrame, truth: Any, summary: pd.DataFrame, top: int = 5) -> Figure:
    """Per channel: the true share (with its interval) and the shares of the best and
    worst methods (with intervals over replications)."""
    methods = list(summary["method"])
    shown = methods[: max(1, top - 2)] + [m for m in methods[-2:] if m not in methods[:top]]
    channels = list(truth.channels)
    share = truth.shares("shapley")
    total = truth.shapley["conversions"].clip(lower=0).sum() or 1.0
    se = truth.shapley["conversions_se"] / total
    fig, ax = blank_figure(1.5 + 0.9 * len(channels), 4.0)
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


@literal
def attribution_errors(attribution: pd.DataFrame) -> Figure:
    """Scenarios (columns) x methods (rows): mean absolute error of the credit shares
    against the true shares, with the best method of each scenario boxed."""
    table = attribution.pivot(index="method", columns="scenario", values="mae")
    table = table.reindex(columns=list(dict.fromkeys(attribution["scenario"])))
    table = table.loc[table.mean(axis=1).sort_values().index]
    fig, ax = blank_figure(1.8 + 1.0 * table.shape[1], 1.2 + 0.42 * table.shape[0])
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
