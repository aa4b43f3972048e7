r"""Scoring attribution against a simulated truth: shares, absolute credit, ROAS, budgets.

Every function takes attribution results and truth tables (DataFrames) only, so scoring
never imports simulation code; :mod:`cjsim.evaluate` builds the tables from a
:class:`~cjsim.simulate.truth.GroundTruth` and calls them. Replication r, method m,
channel c; R replications.

* :mod:`~cjsim.scoring.shares`: credit shares against each channel's true share (its
  Shapley share of the conversions marketing caused): error, MAE, rank correlation, bias,
  and which methods cannot be told apart from the best;
* :mod:`~cjsim.scoring.absolute`: credited conversions against what each channel caused
  (the over-credit ratio), attributed ROAS against the true incremental ROAS;
* :mod:`~cjsim.scoring.decisions`: the budget move a method's ROAS ranking recommends,
  valued with the true marginal ROAS;
* :mod:`~cjsim.scoring.noise`: intervals over replications that include the truth's own
  standard error (the truth is one estimate shared by every replication), and draws of
  the truth for the summaries that are not linear in it.
"""

from cjsim.scoring.absolute import ABSOLUTE_COLUMNS, score_absolute, summarise_absolute
from cjsim.scoring.decisions import DECISION_COLUMNS, decide
from cjsim.scoring.noise import TRUTH_DRAWS, interval, truth_draws
from cjsim.scoring.shares import SCORE_COLUMNS, score, summarise

__all__ = [
    "ABSOLUTE_COLUMNS", "DECISION_COLUMNS", "SCORE_COLUMNS", "TRUTH_DRAWS", "decide",
    "interval", "score", "score_absolute", "summarise", "summarise_absolute", "truth_draws",
]  # fmt: skip
