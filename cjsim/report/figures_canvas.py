"""The canvas of every cjsim figure: a blank Agg figure, one palette, literal texts, saving.

Each figure function returns a :class:`matplotlib.figure.Figure` made by
:func:`blank_figure` (no display needed); :func:`save_figure` writes one atomically as PNG,
SVG or PDF (by the file's suffix). Channels keep one colour from the colour-blind-safe
Okabe-Ito palette across figures (:func:`channel_colors`).

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


def blank_figure(width: float, height: float) -> tuple[Figure, Any]:
    """A figure of ``width`` x ``height`` inches with one axes, drawn without a display."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot()
