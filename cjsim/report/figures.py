"""Figures people expect from an evaluation or an experiment (matplotlib, no display).

One import for every figure: each function returns a :class:`matplotlib.figure.Figure`;
:func:`save_figure` writes one atomically as PNG, SVG or PDF (by the file's suffix).
Channels keep one colour from the colour-blind-safe Okabe-Ito palette across figures
(:func:`channel_colors`), and every text is drawn as written, never as mathtext or LaTeX
(:func:`literal_text`; the figure functions are wrapped in :func:`literal`).

The figures live by what they show: :mod:`cjsim.report.figures_journey` (an event log and
its journeys), :mod:`cjsim.report.figures_attribution` (credit, the Markov chain, credit
against the truth), :mod:`cjsim.report.figures_experiment` (scenarios and budget splits),
all drawn on :mod:`cjsim.report.figures_canvas`.
"""

from __future__ import annotations

from cjsim.report.figures_attribution import (
    attribution_chart,
    attribution_errors,
    error_heatmap,
    share_bars,
    transition_heatmap,
    truth_chart,
)
from cjsim.report.figures_canvas import (
    FIGURE_FORMATS,
    LITERAL_TEXT,
    OKABE_ITO,
    channel_colors,
    literal,
    literal_rc,
    literal_text,
    records,
    save_figure,
)
from cjsim.report.figures_experiment import allocation_chart, response_curves, scenario_differences
from cjsim.report.figures_journey import (
    funnel_chart,
    journey_flows,
    journey_map_figure,
    path_length_chart,
    spend_chart,
    time_to_conversion_chart,
    top_paths_chart,
)

__all__ = [
    "FIGURE_FORMATS",
    "LITERAL_TEXT",
    "OKABE_ITO",
    "allocation_chart",
    "attribution_chart",
    "attribution_errors",
    "channel_colors",
    "error_heatmap",
    "funnel_chart",
    "journey_flows",
    "journey_map_figure",
    "literal",
    "literal_rc",
    "literal_text",
    "path_length_chart",
    "records",
    "response_curves",
    "save_figure",
    "scenario_differences",
    "share_bars",
    "spend_chart",
    "time_to_conversion_chart",
    "top_paths_chart",
    "transition_heatmap",
    "truth_chart",
]
