r"""Which attribution method recovers the truth? Simulate, attribute, score.

For a model, :func:`evaluate` computes the ground truth once (counterfactual runs with
common random numbers on ``truth_customers`` customers, :mod:`cjsim.simulate.truth`), then
for each replication simulates an event log of ``customers`` customers with its own seed,
builds the path table and attributes it with every method. Each method is scored three
ways (formulas in :mod:`cjsim.scoring`):

* **shares**: credit share minus the channel's true share (its Shapley share of the
  conversions marketing caused); mean absolute error over channels and Spearman rank
  correlation per replication and method; ``bias`` per method and channel;
* **absolute**: attributed conversions against what each channel caused, the truth
  scaled by ``customers / truth_customers``; the over-credit ratio (everything a method
  credits over what marketing caused, and per channel), and attributed ROAS (attributed
  value over the replication's own spend) against the true incremental ROAS;
* **decisions**: the budget move a method's ROAS ranking recommends (lowest to highest
  ROAS paid channel), valued with the true marginal ROAS, against the truth's own move.

Every interval includes the truth's own noise (it is one estimate shared by every
replication), and each method is compared with the best one (``tied_with_best``).
The scoring functions take attribution results and truth tables only; this module
orchestrates, so attribution still never imports simulation code.
"""

from cjsim._callable import make_callable
from cjsim.evaluate.losses import LOSS_LEVELS, LossSweep, evaluate_losses
from cjsim.evaluate.scores import (
    EVALUATED_METHODS,
    TRUTH_DEFINITION,
    Evaluation,
    score_replications,
    truth_table,
)
from cjsim.evaluate.study import Study, attribute_log, evaluate, simulate_log
from cjsim.scoring import score, summarise

__all__ = [
    "EVALUATED_METHODS", "LOSS_LEVELS", "TRUTH_DEFINITION", "Evaluation", "LossSweep",
    "Study", "attribute_log", "evaluate", "evaluate_losses", "score", "score_replications",
    "simulate_log", "summarise", "truth_table",
]  # fmt: skip

make_callable(__name__, lambda: evaluate)  # cjsim.evaluate(model, ...) in a notebook
