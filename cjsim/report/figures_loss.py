"""The figure of a loss sweep: each method's error as tracking loses more."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cjsim.report.figures import OKABE_ITO, literal

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@literal
def loss_sweep_chart(table: pd.DataFrame, profile: str, top: int = 6) -> Figure:
    """Mean absolute share error (with its interval) against the loss level, a line per
    method; the ``top`` methods best on the perfect log and the worst one are drawn."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    first = table[table["level"] == table["level"].min()].sort_values("mae")
    methods = list(first["method"])
    shown = methods[:top] + [m for m in methods[-1:] if m not in methods[:top]]
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot()
    for i, method in enumerate(shown):
        rows = table[table["method"] == method].sort_values("level")
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        x = rows["level"].to_numpy(float)
        ax.plot(x, rows["mae"], marker="o", color=colour, label=method)
        ax.fill_between(x, rows["mae_low"], rows["mae_high"], color=colour, alpha=0.15)
    ax.set_xlabel(f"loss level (0: everything recorded, 1: {profile})")
    ax.set_ylabel("mean absolute error of credit shares")
    ax.set_ylim(bottom=0)
    ax.set_xticks(np.unique(table["level"].to_numpy(float)))
    ax.set_title("How attribution error grows as tracking loses more")
    ax.legend(fontsize=8, frameon=False)
    return fig
