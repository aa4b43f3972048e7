"""Figures and self-contained HTML reports of simulations, attributions and experiments.

The package itself can be called as :func:`write`: ``cjsim.report("results/", "r.html")``.
"""

from __future__ import annotations

from pathlib import Path

from cjsim._callable import make_callable


def write(target: str | Path, out: str | Path = "report.html") -> Path:
    """Write the HTML report of TARGET to OUT and return OUT.

    Parameters
    ----------
    target
        An event log, a path table, an attribution result (.csv/.json), or a folder
        written by :func:`cjsim.run_experiment` or :func:`cjsim.evaluate`.
    out
        The report to write (.html); written atomically, figures embedded.
    """
    from cjsim.report.build import build_report

    return build_report(target).write(out)


make_callable(__name__, lambda: write)
