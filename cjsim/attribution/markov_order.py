r"""Choosing the order of a Markov model by ChannelAttribution's penalised ROC-AUC.

A higher order remembers more touches and fits the paths better, at the price of more
states. For each order, every path's last state predicts its conversion by the fitted
one-step probability of converting from that state; the AUC of this prediction is
penalised for the number of possible states (:func:`choose_order`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cjsim.attribution.markov_chain import FittedChain
from cjsim.attribution.markov_states import edge_weights, walk_structure
from cjsim.errors import OptionError
from cjsim.paths import PathTable

if TYPE_CHECKING:
    import pandas as pd


def choose_order(paths: PathTable, max_order: int = 5) -> pd.DataFrame:
    """Compare orders 1..max_order by ChannelAttribution's penalised ROC-AUC criterion.

    For each order, every path's last state predicts its conversion by the fitted one-step
    probability of converting from that state; the AUC of this prediction over converting
    vs non-converting journeys (computed exactly, ties counted half) is penalised for the
    number of possible states, :math:`1 - (1 - \\mathrm{AUC})(n - 1)/(n - s - 1)` with n
    journeys and :math:`s = \\binom{K + k - 1}{k}`. The suggested order maximises it.

    Returns
    -------
    DataFrame
        ``order, states, auc, penalized_auc, suggested`` (one row per order).
    """
    from math import comb

    import pandas as pd

    if paths.nulls.sum() <= 0 or paths.conversions.sum() <= 0:
        raise OptionError(
            "choosing an order needs converting and non-converting journeys (total_null)"
        )
    K = len(paths.channels)
    n_journeys = paths.conversions.sum() + paths.nulls.sum()
    rows = []
    for k in range(1, max_order + 1):
        walks = walk_structure(paths, k, False)
        chain = FittedChain.build(
            walks, edge_weights(walks, paths.conversions, paths.nulls),
            np.zeros(walks.n_states + 1),
        )  # fmt: skip
        direct = np.zeros(walks.n_states + 1)
        to_conv = chain.to == walks.n_states + 1
        direct[chain.frm[to_conv]] = chain.prob[to_conv]
        auc = weighted_auc(direct[walks.last_state], paths.conversions, paths.nulls)
        nodes = comb(K + k - 1, k)
        penalised = 1 - (1 - auc) * (n_journeys - 1) / (n_journeys - nodes - 1)
        if not 0 <= penalised <= 1:
            penalised = 0.0
        rows.append((k, walks.n_states, auc, penalised))
    frame = pd.DataFrame(rows, columns=["order", "states", "auc", "penalized_auc"])
    frame["suggested"] = frame["penalized_auc"] == frame["penalized_auc"].max()
    return frame


def weighted_auc(score: np.ndarray, positives: np.ndarray, negatives: np.ndarray) -> float:
    """ROC-AUC with per-item positive and negative weights (ties count one half)."""
    order = np.argsort(score, kind="stable")
    s, pos, neg = score[order], positives[order], negatives[order]
    uniq, group = np.unique(s, return_inverse=True)
    pos_g = np.bincount(group, pos, minlength=len(uniq))
    neg_g = np.bincount(group, neg, minlength=len(uniq))
    neg_below = np.cumsum(neg_g) - neg_g
    total = pos_g.sum() * neg_g.sum()
    return float(((pos_g * (neg_below + 0.5 * neg_g)).sum()) / total) if total > 0 else 0.5
