"""Figures people expect from an attribution evaluation (matplotlib, no display needed).

Each function returns a :class:`matplotlib.figure.Figure`; callers save it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure


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
