"""What-if experiments: response curves and budget allocation (runner and experiment
files come next)."""

from __future__ import annotations

from cjsim.experiment.optimize import Allocation, ResponseCurve, allocate_budget, fit_response

__all__ = ["Allocation", "ResponseCurve", "allocate_budget", "fit_response"]
