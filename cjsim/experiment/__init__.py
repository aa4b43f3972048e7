"""What-if experiments: experiment files (:mod:`~cjsim.experiment.config`), the replication
runner (:mod:`~cjsim.experiment.runner`), paired statistics (:mod:`~cjsim.experiment.stats`),
response curves (:mod:`~cjsim.experiment.response`), budget allocation
(:mod:`~cjsim.experiment.allocation`) and a model's best budget split
(:mod:`~cjsim.experiment.optimise`)."""

from __future__ import annotations

from cjsim.experiment.allocation import Allocation, allocate_budget
from cjsim.experiment.response import ResponseCurve, fit_response

__all__ = ["Allocation", "ResponseCurve", "allocate_budget", "fit_response"]
