r"""The budget move each method's ROAS ranking recommends, valued with the truth.

Over the paid channels with a true marginal ROAS :math:`\mu_c`, a method's attributed
ROAS ranking moves a small amount of spend from its lowest-ROAS channel to its highest.
One unit moved gains :math:`g_{rm} = \mu_{to} - \mu_{from}`; the truth's own move gains
:math:`g^* = \max_c \mu_c - \min_c \mu_c`, and the method's regret is :math:`g^* -
g_{rm}`. A method's move *gains* when the gain's interval lies above 0 and *loses* when it
lies below; otherwise it is *unclear*. The truth's noise enters through draws of the
marginal ROAS (independent normals with their standard errors, the truth's best move
chosen anew in each draw; :mod:`cjsim.scoring.noise`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cjsim.scoring.noise import TRUTH_DRAWS, cube, draw_var, interval, labels, quiet, truth_draws

DECISION_COLUMNS = [
    "method", "move_from", "move_to", "move_agreement", "gain", "gain_low", "gain_high",
    "regret", "regret_low", "regret_high", "verdict",
]  # fmt: skip


def decide(
    absolute: pd.DataFrame,
    marginal: pd.DataFrame,
    level: float = 0.95,
    *,
    rng: int | np.random.Generator | None = 0,
    draws: int = TRUTH_DRAWS,
) -> pd.DataFrame:
    """The budget move each method's ROAS ranking recommends, valued with the truth.

    Parameters
    ----------
    absolute : DataFrame
        :func:`score_absolute` rows of every replication, plus ``replication``.
    marginal : DataFrame
        True marginal ROAS per paid channel (index: channel): ``roas, roas_se``.
    level : float
    rng : int or Generator, optional
        Seed of the truth draws.
    draws : int

    Returns
    -------
    DataFrame
        :data:`DECISION_COLUMNS`; the first row (``method`` "truth") is the truth's own
        best move. ``move_from``/``move_to`` is the move most replications recommend and
        ``move_agreement`` the fraction of replications that recommend it (both missing when
        the ROAS are all equal: no move); ``gain`` is value per unit of spend moved. Empty
        with fewer than two paid channels.
    """
    mu_all = marginal["roas"].astype(float)
    paid = [c for c in mu_all.index if np.isfinite(mu_all[c])]
    if len(paid) < 2:
        return pd.DataFrame(columns=DECISION_COLUMNS)
    mu = mu_all[paid].to_numpy()
    mu_se = marginal.loc[paid, "roas_se"].astype(float).fillna(0.0).to_numpy()
    methods, reps, _ = labels(absolute)
    rho = cube(absolute, "roas", methods, reps, paid)  # (M, R, P)
    usable = np.isfinite(rho).sum(axis=2) >= 2  # a ranking needs two channels with a ROAS
    src = np.argmin(np.where(np.isfinite(rho), rho, np.inf), axis=2)
    dst = np.argmax(np.where(np.isfinite(rho), rho, -np.inf), axis=2)
    gain = np.where(usable, mu[dst] - mu[src], np.nan)  # (M, R)
    best_from, best_to = int(np.argmin(mu)), int(np.argmax(mu))
    best = mu[best_to] - mu[best_from]
    if np.any(mu_se > 0):
        mu_d = truth_draws(mu, mu_se, draws, rng)  # (D, P)
    else:
        mu_d = mu[None]
    with quiet():
        gain_d = np.nanmean(np.where(usable, mu_d[:, dst] - mu_d[:, src], np.nan), axis=2)
    best_d = mu_d.max(axis=1) - mu_d.min(axis=1)
    gain_var, regret_var = draw_var(gain_d), draw_var(best_d[:, None] - gain_d)

    def verdict(lo: float, hi: float, moves: bool) -> str:
        if not moves:
            return "no move"
        return "gains" if lo > 0 else "loses" if hi < 0 else "unclear"

    def move(s: int, d: int) -> tuple[str | None, str | None]:
        return (paid[s], paid[d]) if s != d else (None, None)  # equal ROAS: nothing to move

    z_half = _normal_half(level) * float(np.hypot(mu_se[best_to], mu_se[best_from]))
    lo, hi = best - z_half, best + z_half
    rows = [("truth", *move(best_from, best_to), 1.0, best, lo, hi, 0.0, 0.0, 0.0,
             verdict(lo, hi, best_to != best_from))]  # fmt: skip
    for i, method in enumerate(methods):
        ok = usable[i]
        if not ok.any():
            rows.append((method, None, None, 0.0, *[np.nan] * 6, "no move"))
            continue
        moves = pd.Series([f"{s}>{d}" for s, d in zip(src[i][ok], dst[i][ok], strict=True)])
        modal = moves.value_counts(sort=True).index[0]
        s, d = (int(x) for x in modal.split(">"))
        g = interval(gain[i], level, gain_var[i])
        r = interval(best - gain[i], level, regret_var[i])
        moved = bool(np.any(src[i][ok] != dst[i][ok]))
        rows.append((method, *move(s, d), float((moves == modal).mean()), *g, *r,
                     verdict(g[1], g[2], moved)))  # fmt: skip
    return pd.DataFrame(rows, columns=DECISION_COLUMNS)


def _normal_half(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf((1 + level) / 2))
