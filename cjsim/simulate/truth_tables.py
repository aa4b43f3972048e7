"""The tables of the ground truth, from its counterfactual runs summed per block.

Each table is computed per block of customers first (:mod:`cjsim.simulate.counterfactual`),
so every number comes with the standard error of its simulation noise: the increments
(all on minus one channel off), the Shapley values of the counterfactual game and the
shares of both, each channel's spend and incremental ROAS, the marginal ROAS of a budget
step, and the totals.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cjsim.games import order_credits, pair_means, shapley_from_game
from cjsim.simulate.counterfactual import ALL_ON, Scenario, only, paired, ratio, total_se


def incremental_table(
    players: tuple[str, ...], runs: dict[Scenario, np.ndarray], sizes: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray]:
    """All on minus each channel off: the table with its shares, and per block (K, B, 2)."""
    on = runs[ALL_ON]
    inc_rows = []
    for c in players:
        d, se, indep = paired(on[:, :2], runs[(frozenset([c]), ())][:, :2], sizes)
        inc_rows.append((d[0], se[0], indep[0], d[1], se[1]))
    incremental = pd.DataFrame(
        inc_rows,
        index=pd.Index(players, name="channel"),
        columns=["conversions", "conversions_se", "conversions_se_independent", "value",
                 "value_se"],
    )  # fmt: skip
    inc_b = np.stack([on[:, :2] - runs[(frozenset([c]), ())][:, :2] for c in players])
    _add_shares(incremental, inc_b, sizes)
    return incremental, inc_b


def coalition_game(
    players: tuple[str, ...],
    runs: dict[Scenario, np.ndarray],
    coalitions: Sequence[frozenset[str]],
) -> dict[int, np.ndarray]:
    """The counterfactual game: each coalition's (bitmask) conversions and value per block,
    with only its channels on (per block, so the values' simulation noise is measured)."""
    bit = {c: 1 << i for i, c in enumerate(players)}
    return {sum(bit[c] for c in s): runs[only(players, s)][:, :2] for s in coalitions}


def shapley_table(
    players: tuple[str, ...],
    value: dict[int, np.ndarray],
    B: int,
    sizes: np.ndarray,
    shapley: bool,
    orders: np.ndarray | None,
) -> pd.DataFrame:
    """The Shapley table of the game VALUE (coalition bitmask -> per-block counts), with
    the shares of the values.

    The values are computed per block (K, B, 2) for their simulation noise; with sampled
    ``orders`` the standard errors cover the sampling of orders too.
    """
    K = len(players)
    if not shapley:
        phi_b, perm_var = np.full((K, B, 2), np.nan), np.full((K, 2), np.nan)
    elif orders is None:
        phi_b = shapley_from_game(np.stack([value[mask] for mask in range(1 << K)]))
        perm_var = np.zeros((K, 2))
    else:
        credits = order_credits(orders, value)
        half = len(orders) // 2
        totals_r = credits.sum(axis=2)  # (R, K, 2)
        perm_var = (
            pair_means(totals_r).var(axis=0, ddof=1) / half if half > 1 else np.full((K, 2), np.nan)
        )
        phi_b = credits.mean(axis=0)
    phi = phi_b.sum(axis=1)
    sim_var = total_se(np.moveaxis(phi_b, 1, 0), sizes) ** 2 if B > 1 else np.zeros((K, 2))
    se = np.sqrt(sim_var + perm_var)
    table = pd.DataFrame(
        {"conversions": phi[:, 0], "conversions_se": se[:, 0], "value": phi[:, 1],
         "value_se": se[:, 1]},
        index=pd.Index(players, name="channel"),
    )  # fmt: skip
    sampled = shapley and orders is not None
    _add_shares(table, phi_b, sizes, perm_var if sampled else None)
    return table


def _add_shares(
    frame: pd.DataFrame,
    per_block: np.ndarray,
    sizes: np.ndarray,
    order_var: np.ndarray | None = None,
) -> None:
    """Add each channel's share of what the channels caused and its standard error.

    The shares are ratio estimators over the per-block values (K, B, 2); a harmful
    channel's share is negative and stays so. ``order_var``, the variance that sampled
    orders add to the values, widens the error (the denominator is exact: efficiency).
    """
    whole = per_block[:, :, 0].sum(axis=0)  # (B,)
    shares = [ratio(per_block[i, :, 0], whole, sizes) for i in range(len(per_block))]
    frame["share"] = [r for r, _ in shares]
    frame["share_se"] = [e for _, e in shares]
    if order_var is not None:
        total = float(per_block.sum(axis=1)[:, 0].sum())  # as the table's column was summed
        if total:
            frame["share_se"] = np.sqrt(frame["share_se"] ** 2 + order_var[:, 0] / total**2)


def spend_table(
    players: tuple[str, ...], on: np.ndarray, inc_b: np.ndarray, chan: dict[str, int],
    sizes: np.ndarray,
) -> pd.DataFrame:  # fmt: skip
    """What each channel spent, and the value it returned per unit of spend."""
    spend_rows = []
    for c in players:
        s_b = on[:, 2 + chan[c]]
        spend_se = float(total_se(s_b[:, None], sizes)[0])
        roas, roas_se = ratio(inc_b[players.index(c), :, 1], s_b, sizes)
        spend_rows.append((c, float(s_b.sum()), spend_se, roas, roas_se))
    return pd.DataFrame(
        spend_rows, columns=["channel", "spend", "spend_se", "roas", "roas_se"]
    ).set_index("channel")


def marginal_roas_table(
    paid: list[str], runs: dict[Scenario, np.ndarray], on: np.ndarray, chan: dict[str, int],
    sizes: np.ndarray, budget_step: float,
) -> pd.DataFrame:  # fmt: skip
    """The value of each paid channel's next unit of spend (its budget raised a step)."""
    roas_rows = []
    for c in paid:
        more = runs[(frozenset(), ((c, 1.0 + budget_step),))]
        d_value = more[:, 1] - on[:, 1]
        d_spend = more[:, 2 + chan[c]] - on[:, 2 + chan[c]]
        roas, roas_se = ratio(d_value, d_spend, sizes)
        roas_rows.append((c, float(d_spend.sum()), float(d_value.sum()), roas, roas_se))
    return pd.DataFrame(
        roas_rows, columns=["channel", "spend_step", "value_gain", "roas", "roas_se"]
    ).set_index("channel")


def caused_totals(
    on: np.ndarray, all_off: np.ndarray, inc_b: np.ndarray, sizes: np.ndarray
) -> dict[str, float]:
    """What all channels together caused, and what the increments count twice or miss."""
    B = len(on)
    off = all_off.sum(axis=0)
    # what the increments count twice (complements) or miss (substitutes): their sum minus
    # what all channels together caused, per block for its standard error
    gap_b = inc_b.sum(axis=0) - (on[:, :2] - all_off[:, :2])
    gap_se = float(total_se(gap_b[:, :1], sizes)[0]) if B > 1 else float("nan")
    caused_b = on[:, :2] - all_off[:, :2]  # what all channels together caused
    caused_se = float(total_se(caused_b[:, :1], sizes)[0]) if B > 1 else float("nan")
    return {
        "caused": float(caused_b[:, 0].sum()),
        "caused_se": caused_se,
        "increments_minus_caused": float(gap_b[:, 0].sum()),
        "increments_minus_caused_se": gap_se,
        "conversions_all_on": float(on[:, 0].sum()),
        "value_all_on": float(on[:, 1].sum()),
        "spend_all_on": float(on[:, 2:].sum()),
        "conversions_all_off": float(off[0]),
        "value_all_off": float(off[1]),
    }
