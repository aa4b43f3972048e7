"""What-if experiments: experiment files (:mod:`~cjsim.experiment.config`), the replication
runner (:mod:`~cjsim.experiment.runner`), paired statistics (:mod:`~cjsim.experiment.stats`),
response curves and budget allocation (:mod:`~cjsim.experiment.optimize`)."""

from __future__ import annotations

from cjsim.experiment.optimize import Allocation, ResponseCurve, allocate_budget, fit_response

__all__ = ["Allocation", "ResponseCurve", "allocate_budget", "fit_response"]
