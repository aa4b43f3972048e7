"""A report as one self-contained HTML file: text, tables and figures, nothing fetched.

Figures are embedded as base64 PNG ``data:`` URIs; the style sheet is inline; there is
no script and no external reference, so the file opens offline, can be mailed, and prints.
"""

from __future__ import annotations

import base64
import html
import io
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from cjsim._io import write_text_atomic

if TYPE_CHECKING:
    from matplotlib.figure import Figure

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #1b1b1b; background: #fff; line-height: 1.45; }
main { max-width: 1080px; margin: 0 auto; padding: 1.5rem 1.25rem 4rem; }
h1 { font-size: 1.7rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.3rem; margin-top: 2.4rem; border-bottom: 2px solid #0072B2;
     padding-bottom: 0.2rem; }
h3 { font-size: 1.05rem; margin-top: 1.6rem; }
.subtitle { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.88rem; }
th, td { border: 1px solid #d0d0d0; padding: 0.25rem 0.55rem; text-align: right; }
th { background: #eef4fa; }
td:first-child, th:first-child { text-align: left; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
figure { margin: 1rem 0 1.6rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e3e3; }
figcaption { font-size: 0.88rem; color: #444; margin-top: 0.3rem; }
.note { background: #fff4e0; border-left: 4px solid #E69F00; padding: 0.5rem 0.8rem; }
.meta td, .meta th { text-align: left; }
nav ol { columns: 2; font-size: 0.92rem; }
footer { margin-top: 3rem; font-size: 0.8rem; color: #666; }
@media print { h2 { break-before: page; } figure { break-inside: avoid; } }
"""


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """A matplotlib figure as PNG bytes, its texts drawn as written (no mathtext)."""
    from cjsim.report.figures import literal_rc, literal_text

    buf = io.BytesIO()
    with literal_rc():
        literal_text(fig).savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


@dataclass
class Section:
    """One part of a report: a heading, plain-language paragraphs, tables and figures."""

    title: str
    text: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[tuple[str, Figure]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def anchor(self) -> str:
        return "".join(c if c.isalnum() else "-" for c in self.title.lower()).strip("-")


@dataclass
class Report:
    """A titled list of sections with a table of what was run."""

    title: str
    subtitle: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)

    def to_html(self) -> str:
        from cjsim import __version__

        e = html.escape
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{e(self.title)}</title><style>{STYLE}</style></head><body><main>",
            f"<h1>{e(self.title)}</h1>",
        ]
        if self.subtitle:
            parts.append(f'<p class="subtitle">{e(self.subtitle)}</p>')
        meta = {
            **self.meta,
            **({} if "cjsim_version" in self.meta else {"cjsim": __version__}),
            "Python": platform.python_version(),
            "report written": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        }
        parts.append('<table class="meta"><caption>What was run</caption>')
        parts += [f"<tr><th>{e(str(k))}</th><td>{e(str(v))}</td></tr>" for k, v in meta.items()]
        parts.append("</table>")
        if len(self.sections) > 2:
            parts.append("<nav><ol>")
            parts += [f'<li><a href="#{s.anchor()}">{e(s.title)}</a></li>' for s in self.sections]
            parts.append("</ol></nav>")
        for s in self.sections:
            parts.append(f'<section id="{s.anchor()}"><h2>{e(s.title)}</h2>')
            parts += [f'<p class="note">{e(n)}</p>' for n in s.notes]
            parts += [f"<p>{e(t)}</p>" for t in s.text]
            for caption, frame in s.tables:
                parts.append(_table(frame, caption))
            for caption, fig in s.figures:
                data = base64.b64encode(figure_png(fig)).decode("ascii")
                parts.append(
                    f'<figure><img src="data:image/png;base64,{data}" alt="{e(caption)}">'
                    f"<figcaption>{e(caption)}</figcaption></figure>"
                )
            parts.append("</section>")
        parts.append(
            "<footer>Written by cjsim, a customer-journey simulator and attribution toolkit. "
            "The file is self-contained: it needs no network.</footer></main></body></html>"
        )
        return "\n".join(parts) + "\n"

    def write(self, path: str | Path) -> Path:
        """Write the report atomically; returns the path."""
        write_text_atomic(path, self.to_html())
        return Path(path)


def _table(frame: pd.DataFrame, caption: str) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            if v != v:
                return ""
            if abs(v) >= 1000:
                return f"{v:,.0f}"
            return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
        return str(v)

    body = frame.to_html(index=False, escape=True, formatters={c: fmt for c in frame.columns},
                         border=0)  # fmt: skip
    return body.replace('<table class="dataframe">', f"<table><caption>{html.escape(caption)}"
                        "</caption>", 1)  # fmt: skip
