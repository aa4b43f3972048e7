"""Figures people expect from an evaluation or an experiment (matplotlib, no display).

Each function returns a :class:`matplotlib.figure.Figure`; :func:`save_figure` writes one
atomically as PNG, SVG or PDF (by the file's suffix). Channels keep one colour from the
colour-blind-safe Okabe-Ito palette across figures (:func:`channel_colors`).

Names in a figure come from users' data, and a channel may be called ``$x^2$``: every
text is drawn as written, never as mathtext or LaTeX (:func:`literal_text`; the figure
functions are wrapped in :func:`literal`).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure


#: Okabe & Ito (2008), distinguishable with every common colour-vision deficiency.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
             "#999999", "#000000")  # fmt: skip
FIGURE_FORMATS = ("png", "svg", "pdf")
#: matplotlib settings under which texts are drawn as written (no mathtext, no LaTeX).
LITERAL_TEXT: dict[Any, Any] = {"text.parse_math": False, "text.usetex": False}

F = TypeVar("F", bound=Callable[..., Any])


@contextlib.contextmanager
def literal_rc() -> Iterator[None]:
    """Texts made (or ticks added while drawing) in this block are drawn as written."""
    import matplotlib

    with matplotlib.rc_context(LITERAL_TEXT):
        yield


def literal_text(fig: Figure) -> Figure:
    """Draw every text of ``fig`` as written: ``$x^2$`` stays those five characters.

    matplotlib reads text between dollar signs as mathtext (and, with ``text.usetex``
    in the user's matplotlibrc, everything as LaTeX); :meth:`Text.set_parse_math` and
    :meth:`Text.set_usetex` turn both off for each text. Returns ``fig``.
    """
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        text.set_parse_math(False)
        text.set_usetex(False)
    return fig


def literal(fn: F) -> F:
    """A figure function whose figure draws its texts as written (:func:`literal_text`)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with literal_rc():
            return literal_text(fn(*args, **kwargs))

    wrapper.literal_text = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def records(frame: pd.DataFrame) -> list[Any]:
    """The rows of a frame as named tuples (typed loosely: columns vary by table)."""
    return list(frame.itertuples(index=False))


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
    with atomic_path(p) as tmp, literal_rc():
        literal_text(fig).savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight")
    return p


def _figure(width: float, height: float) -> tuple[Figure, Any]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot()


@literal
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


# -- the journey -------------------------------------------------------------------------


@literal
def funnel_chart(reach: pd.DataFrame, title: str = "Stage funnel") -> Figure:
    """Horizontal bars: share of customers who ever reach each stage, with the share of the
    previous stage's customers beside each bar (:func:`cjsim.report.data.stage_reach`)."""
    rows = reach.reset_index(drop=True)
    fig, ax = _figure(7.0, 0.9 + 0.42 * len(rows))
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
    fig, ax = _figure(2.2 * steps + 1.5, 5.0)
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
    fig, ax = _figure(1.8 + 0.8 * shares.shape[1], 1.2 + 0.45 * shares.shape[0])
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
    fig, ax = _figure(1.8 + 0.62 * t.shape[1], 1.2 + 0.42 * t.shape[0])
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
def path_length_chart(lengths: pd.DataFrame) -> Figure:
    """Journeys by number of touches, converting and not, each as a share of its group."""
    fig, ax = _figure(7.0, 3.2)
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
    fig, ax = _figure(7.0, 3.2)
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
    fig, ax = _figure(8.0, 0.9 + 0.36 * len(table))
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


# -- attribution ---------------------------------------------------------------------------


@literal
def attribution_chart(frame: pd.DataFrame, value: str = "conversions") -> Figure:
    """Credited conversions per channel, methods side by side, with their intervals
    (``ci_low``/``ci_high`` of an attribution result, when present)."""
    methods = list(dict.fromkeys(frame["method"]))
    wide = frame.pivot(index="channel", columns="method", values=value)[methods]
    wide = wide.loc[wide.mean(axis=1).sort_values(ascending=False).index]
    low_col, high_col = ("ci_low", "ci_high") if value == "conversions" else (
        "value_ci_low", "value_ci_high")  # fmt: skip
    fig, ax = _figure(1.6 + 0.75 * len(wide) * max(1, len(methods)) / 3, 4.0)
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
def allocation_chart(table: pd.DataFrame) -> Figure:
    """Daily budget per channel now and as proposed (``channel, current_budget,
    proposed_budget``, as :meth:`cjsim.experiment.optimize.Optimisation.table` gives)."""
    fig, ax = _figure(1.8 + 1.0 * len(table), 3.6)
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


@literal
def truth_chart(scores: pd.DataFrame) -> Figure:
    """Per channel: the true share (black) and each method's share of the credit
    (``method, channel, share, truth`` as :func:`cjsim.evaluate.score` gives)."""
    methods = list(dict.fromkeys(scores["method"]))
    truth = scores.groupby("channel", sort=False)["truth"].first().sort_values(ascending=False)
    shares = scores.pivot(index="channel", columns="method", values="share")
    shares = shares.reindex(index=truth.index, columns=methods)
    fig, ax = _figure(1.6 + 0.5 * len(truth) * (len(methods) + 1) / 3, 4.0)
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
def spend_chart(spend_per_day: dict[str, list[float]]) -> Figure:
    """Spend per day and channel (an agent-engine run: schedules and budget caps show)."""
    channels = [c for c, v in spend_per_day.items() if any(v)]
    colors = channel_colors(spend_per_day)
    fig, ax = _figure(7.5, 3.2)
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
