r"""Ground truth: what each channel really caused, by counterfactual runs.

The simulator knows the causal structure, so the effect of a channel is measured the way
an experiment would, without its noise: simulate the same customers with the channel on
and with it off, drawing the same random numbers for everything the channel does not touch
(common random numbers, CRN). Three quantities:

**Incremental conversions** of channel c (and value):

.. math:: \Delta_c = E[Y \mid \text{all on}] - E[Y \mid c \text{ off}]

**True Shapley values** of the counterfactual game :math:`v(S) = E[Y \mid \text{only } S
\text{ on}]`: exact over all :math:`2^K` coalitions for K <= :data:`MAX_EXACT_CHANNELS`,
otherwise by sampled channel orders (antithetic pairs), with a standard error. They sum to
:math:`v(N) - v(\emptyset)`, the conversions marketing caused; unlike the increments, which
miss or double count what channels do together, they share interactions out.

**Incremental ROAS** of each paid channel: its incremental value over what it spent in
the all-on world, :math:`\\Delta^{value}_c / \\text{spend}_c`; **marginal ROAS**: the
extra value over the extra spend when its budget rises by a small fraction, paired with
the all-on run. Spend is measured in every run as the delivered touches times their cost
(the cost model of :mod:`cjsim.simulate.markov`), not read off the budget: a budget that
finds nobody to touch is not spent.

Y counts converting customers (a customer's first conversion, the journey that attribution
credits by default) or every conversion with ``multi_conversion=True``. Customers are
simulated in blocks of 1,024 with a random stream each; a paired difference is summed over
blocks and its standard error is :math:`\sqrt{N \hat\sigma^2}` with the per-customer
variance :math:`\hat\sigma^2 = \sum_b (d_b - n_b \bar d)^2 / n_b / (B - 1)` (``n_b``
customers in block b; for equal blocks this is :math:`\sqrt{B\,\mathrm{Var}(d_b)}`, and a
short last block gets its due weight). The standard error two *independent* runs would
have is reported beside it: their ratio is what CRN buys. Ratios (ROAS, shares) get the
standard error of a ratio estimator, from the same per-block residuals.

References
----------
Chan, D., Ge, R., Gershony, O., Hesterberg, T. & Lambert, D. (2010). Evaluating online ad
campaigns in a pipeline: causal models at scale. *KDD '10* (counterfactual evaluation).
Shapley, L. S. (1953). A value for n-person games.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cjsim._pool import pool_map
from cjsim.errors import OptionError
from cjsim.events import CONVERSION, TOUCH
from cjsim.games import order_credits, shapley_from_game, with_reversed
from cjsim.model import JourneyModel
from cjsim.model.compiled import compile_model
from cjsim.simulate.markov import BLOCK
from cjsim.simulate.run import event_arrays
from cjsim.simulate.summary import resolve_entropy

log = logging.getLogger(__name__)

#: Up to this many channels the true Shapley values use all 2^K coalitions.
MAX_EXACT_CHANNELS = 8

#: A scenario: the channels switched off, and budget multipliers (channel, factor).
Scenario = tuple[frozenset[str], tuple[tuple[str, float], ...]]


def _outcome(
    model: JourneyModel,
    customers: int,
    entropy: int,
    scenario: Scenario,
    multi: bool,
    engine: str = "markov",
) -> np.ndarray:
    """Per block of customers: conversions, value and each channel's spend, shape (B, 2 + C)."""
    off, budgets = scenario
    scaled = {c: (model.channels[c].daily_budget or 0.0) * f for c, f in budgets}
    world = model.with_overrides(channels_off=sorted(off), budgets=scaled)
    cost = compile_model(world).touch_cost
    C = cost.size
    n_blocks = -(-customers // BLOCK)
    out = np.zeros((n_blocks, 2 + C))
    for arrays in event_arrays(world, customers, engine=engine, rng=entropy):
        touch = arrays["event"] == TOUCH
        tb = arrays["customer_id"][touch].astype(np.int64) // BLOCK
        tc = arrays["channel"][touch].astype(np.int64)
        counts = np.bincount(tb * C + tc, minlength=n_blocks * C).reshape(n_blocks, C)
        out[:, 2:] += counts * cost
        conv = arrays["event"] == CONVERSION
        cid = arrays["customer_id"][conv].astype(np.int64)
        val = arrays["value"][conv].astype(np.float64)
        if not multi:
            # rows are by customer and time: keep each customer's first conversion
            first = np.r_[True, cid[1:] != cid[:-1]] if cid.size else np.zeros(0, bool)
            cid, val = cid[first], val[first]
        block = cid // BLOCK
        out[:, 0] += np.bincount(block, minlength=n_blocks)
        out[:, 1] += np.bincount(block, val, minlength=n_blocks)
    return out


def _run_all(
    model: JourneyModel,
    customers: int,
    entropy: int,
    scenarios: Sequence[Scenario],
    multi: bool,
    workers: int,
    engine: str = "markov",
) -> dict[Scenario, np.ndarray]:
    todo = list(dict.fromkeys(scenarios))
    if workers <= 1 or len(todo) <= 1:
        results = [_outcome(model, customers, entropy, s, multi, engine) for s in todo]
    else:
        results = pool_map(
            _outcome,
            itertools.repeat(model),
            itertools.repeat(customers),
            itertools.repeat(entropy),
            todo,
            itertools.repeat(multi),
            itertools.repeat(engine),
            workers=workers,
        )
    return dict(zip(todo, results, strict=True))


def _block_sizes(customers: int) -> np.ndarray:
    """Customers per block of :data:`BLOCK` (the last one may be short)."""
    sizes = np.full(-(-customers // BLOCK), BLOCK, np.float64)
    sizes[-1] = customers - BLOCK * (sizes.size - 1)
    return sizes


def _total_se(d: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Standard error of the sum over blocks of ``d`` (rows: blocks), blocks of ``sizes``
    customers: :math:`\\sqrt{N \\hat\\sigma^2}` with the per-customer variance."""
    B = len(d)
    if B < 2:
        return np.full(d.shape[1:], np.nan)
    w = sizes.reshape((B,) + (1,) * (d.ndim - 1))
    mean = d.sum(axis=0) / sizes.sum()
    sigma2 = ((d - w * mean) ** 2 / w).sum(axis=0) / (B - 1)
    return np.sqrt(sigma2 * sizes.sum())


def _ratio(num: np.ndarray, den: np.ndarray, sizes: np.ndarray) -> tuple[float, float]:
    """Ratio of two block sums and its standard error (a ratio estimator: the residuals
    ``num_b - r den_b`` carry the noise of both)."""
    total = float(den.sum())
    if total == 0:
        return float("nan"), float("nan")
    r = float(num.sum()) / total
    return r, float(_total_se((num - r * den)[:, None], sizes)[0]) / abs(total)


def _paired(
    a: np.ndarray, b: np.ndarray, sizes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum of a - b over blocks, its CRN standard error, and the independent-runs one."""
    diff = (a - b).sum(axis=0)
    se = _total_se(a - b, sizes)
    indep = np.sqrt(_total_se(a, sizes) ** 2 + _total_se(b, sizes) ** 2)
    return diff, se, indep


@dataclass
class GroundTruth:
    """Counterfactual truth for one model, budget and number of customers.

    Attributes
    ----------
    incremental : DataFrame
        Per channel: ``conversions, conversions_se, conversions_se_independent, value,
        value_se, share, share_se`` (all on minus channel off, CRN; the share is of the
        increments' sum).
    shapley : DataFrame
        Per channel: ``conversions, conversions_se, value, value_se, share, share_se`` of
        the counterfactual game (the share is of what marketing caused, v(N) - v({})). The
        standard errors cover the simulation noise (over blocks of customers) and, when
        orders are sampled, the sampling of orders.
    marginal_roas : DataFrame
        Per paid channel: ``spend_step`` (the extra spend of the budget step, measured),
        ``value_gain``, ``roas`` (their ratio), ``roas_se``.
    spend : DataFrame
        Per channel: ``spend, spend_se`` in the all-on world (delivered touches times their
        cost; 0 for organic channels) and the incremental ROAS ``roas, roas_se``
        (incremental value over that spend; NaN without spend).
    totals : dict
        Conversions, value and spend with all channels on, conversions and value with all
        off (baseline).
    """

    model_name: str
    customers: int
    seed: int
    channels: tuple[str, ...]
    incremental: pd.DataFrame
    shapley: pd.DataFrame
    marginal_roas: pd.DataFrame
    totals: dict[str, float]
    settings: dict[str, Any] = field(default_factory=dict)
    spend: pd.DataFrame = field(default_factory=pd.DataFrame)

    def shares(self, kind: str = "shapley") -> pd.Series:
        """Each channel's share of the conversions marketing caused (sums to 1).

        A channel that costs conversions has a negative share, kept as it is: the others'
        shares then add up to more than 1. All zeros when marketing caused nothing.
        """
        frame = self.shapley if kind == "shapley" else self.incremental
        c = frame["conversions"]
        return c / c.sum() if c.sum() > 0 else c * 0

    def share_se(self, kind: str = "shapley") -> pd.Series:
        """Standard errors of :meth:`shares` (simulation noise and, when sampled, orders)."""
        frame = self.shapley if kind == "shapley" else self.incremental
        if "share_se" not in frame:
            return frame["conversions"] * np.nan
        return frame["share_se"]

    def to_frame(self) -> pd.DataFrame:
        """One row per channel: increments, Shapley values, their shares and marginal ROAS."""
        inc = self.incremental.add_prefix("incremental_")
        shp = self.shapley.add_prefix("shapley_")
        frame = pd.concat([inc, shp], axis=1)
        frame["shapley_share"] = self.shares("shapley")
        frame["incremental_share"] = self.shares("incremental")
        if not self.spend.empty:
            frame = frame.join(self.spend[["spend", "spend_se"]])
            frame = frame.join(self.spend[["roas", "roas_se"]].add_prefix("incremental_"))
        frame = frame.join(self.marginal_roas[["roas", "roas_se"]].add_prefix("marginal_"))
        return frame.rename_axis("channel").reset_index()

    def summary(self) -> str:
        f = self.to_frame().set_index("channel")
        lines = [
            f"Ground truth of '{self.model_name}' ({self.customers:,} customers, seed "
            f"{self.seed}): {self.totals['conversions_all_on']:,.0f} conversions with all "
            f"channels on, {self.totals['conversions_all_off']:,.0f} with all off",
            f[["incremental_conversions", "incremental_conversions_se",
               "shapley_conversions", "shapley_conversions_se", "shapley_share"]]
            .to_string(float_format=lambda x: f"{x:,.2f}"),
        ]  # fmt: skip
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<p>{self.summary().splitlines()[0]}</p>" + self.to_frame().to_html(index=False)


def ground_truth(
    model: JourneyModel,
    customers: int = 100_000,
    *,
    rng: int | None = None,
    channels: Iterable[str] | None = None,
    multi_conversion: bool = False,
    n_permutations: int = 16,
    budget_step: float = 0.1,
    exact: bool | None = None,
    shapley: bool = True,
    marginal_roas: bool = True,
    workers: int | None = None,
    engine: str = "markov",
) -> GroundTruth:
    """Incremental conversions, true Shapley values and marginal ROAS of each channel.

    Parameters
    ----------
    model : JourneyModel
    customers : int
        Customers per counterfactual run (the same customers in every run).
    rng : int, optional
        Seed shared by all runs (common random numbers).
    channels : iterable of str, optional
        The players (default: every channel of the model); the others stay on.
    n_permutations : int
        Channel orders sampled for Shapley when K > :data:`MAX_EXACT_CHANNELS`.
    budget_step : float
        Relative budget increase for the marginal ROAS.
    exact : bool, optional
        Force (True) or forbid (False) the exact 2^K Shapley computation.
    shapley, marginal_roas : bool
        Skip the Shapley values (and their many runs) or the marginal ROAS runs; the
        skipped table is empty.
    workers : int, optional
        Processes for the runs (default: all cores).
    engine : {"markov", "agents"}
        The engine of every counterfactual run (both keep common random numbers).
    """
    players = _players(model, channels, customers, engine)
    entropy = resolve_entropy(rng)
    workers = workers or os.cpu_count() or 1
    K = len(players)
    exact = K <= MAX_EXACT_CHANNELS if exact is None else exact
    everyone = frozenset(players)

    def only(coalition: Iterable[str]) -> Scenario:
        return (everyone - frozenset(coalition), ())

    paid = [c for c in players if model.channels[c].type == "paid"] if marginal_roas else []
    coalitions, orders = _shapley_design(players, entropy, shapley, exact, n_permutations)
    scenarios: list[Scenario] = [_ALL_ON, only(())]
    scenarios += [(frozenset([c]), ()) for c in players]
    scenarios += [(frozenset(), ((c, 1.0 + budget_step),)) for c in paid]
    scenarios += [only(s) for s in coalitions]
    runs = _run_all(model, customers, entropy, scenarios, multi_conversion, workers, engine)
    log.info("ground truth of %s: %d runs of %d customers", model.name, len(runs), customers)

    on = runs[_ALL_ON]
    sizes = _block_sizes(customers)
    incremental, inc_b = _incremental(players, runs, sizes)
    # per block of customers, so the simulation noise of the values can be measured too
    bit = {c: 1 << i for i, c in enumerate(players)}
    value = {sum(bit[c] for c in s): runs[only(s)][:, :2] for s in coalitions}  # by bitmask
    shapley_table, phi_b, perm_var = _shapley(players, value, len(on), sizes, shapley, orders)
    # shares of what the channels caused, and their standard errors (ratio estimators;
    # a harmful channel's share is negative and stays so)
    for frame, per_block in ((incremental, inc_b), (shapley_table, phi_b)):
        whole = per_block[:, :, 0].sum(axis=0)  # (B,)
        ratio = [_ratio(per_block[i, :, 0], whole, sizes) for i in range(K)]
        frame["share"] = [r for r, _ in ratio]
        frame["share_se"] = [e for _, e in ratio]
    if not exact and shapley:
        # the orders' noise too (the shares' denominator is exact: efficiency)
        total = float(phi_b.sum(axis=1)[:, 0].sum())  # as the table's column was summed
        if total:
            shapley_table["share_se"] = np.sqrt(
                shapley_table["share_se"] ** 2 + perm_var[:, 0] / total**2
            )
    chan = {c: i for i, c in enumerate(model.channels)}
    spend_table = _spend(players, on, inc_b, chan, sizes)
    marginal = _marginal_roas(paid, runs, on, chan, sizes, budget_step)
    totals = _totals(on, runs[only(())], inc_b, sizes)
    settings = {
        "engine": engine,
        "shapley": shapley,
        "exact_shapley": exact,
        "n_permutations": 0 if exact or orders is None else len(orders),
        "runs": len(runs),
        "multi_conversion": multi_conversion,
        "budget_step": budget_step,
        "model_hash": model.content_hash(),
    }
    return GroundTruth(
        model.name, customers, int(entropy), players, incremental, shapley_table, marginal,
        totals, settings, spend_table,
    )  # fmt: skip


#: The run with every channel on as planned.
_ALL_ON: Scenario = (frozenset(), ())


def _players(
    model: JourneyModel, channels: Iterable[str] | None, customers: int, engine: str
) -> tuple[str, ...]:
    """The truth's players after checking the arguments."""
    if engine not in ("markov", "agents"):
        raise OptionError(f"engine is {engine!r}; expected 'markov' or 'agents'")
    if customers < 1:
        raise OptionError(f"customers is {customers!r}; expected at least 1")
    players = tuple(channels) if channels is not None else tuple(model.channels)
    if not players:
        raise OptionError(f"model '{model.name}' has no channels; nothing to evaluate")
    for c in players:
        if c not in model.channels:
            raise OptionError(
                f"unknown channel '{c}'; expected one of: {', '.join(model.channels)}"
            )
    return players


def _shapley_design(
    players: tuple[str, ...], entropy: int, shapley: bool, exact: bool, n_permutations: int
) -> tuple[list[frozenset[str]], np.ndarray | None]:
    """The coalitions whose runs the Shapley values need, and the sampled orders (None
    when every coalition is run: exact, or no Shapley at all)."""
    K = len(players)
    if not shapley:
        return [], None
    if exact:
        every = [frozenset(s) for r in range(K + 1) for s in itertools.combinations(players, r)]
        return every, None
    gen = np.random.default_rng(np.random.SeedSequence(entropy).spawn(1)[0])
    half = max(1, n_permutations // 2)
    orders = with_reversed(np.array([gen.permutation(K) for _ in range(half)]))
    coalitions = [
        frozenset(players[i] for i in order[:j]) for order in orders for j in range(K + 1)
    ]
    return coalitions, orders


def _incremental(
    players: tuple[str, ...], runs: dict[Scenario, np.ndarray], sizes: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray]:
    """All on minus each channel off: the table, and per block (K, B, 2)."""
    on = runs[_ALL_ON]
    inc_rows = []
    for c in players:
        d, se, indep = _paired(on[:, :2], runs[(frozenset([c]), ())][:, :2], sizes)
        inc_rows.append((d[0], se[0], indep[0], d[1], se[1]))
    incremental = pd.DataFrame(
        inc_rows,
        index=pd.Index(players, name="channel"),
        columns=["conversions", "conversions_se", "conversions_se_independent", "value",
                 "value_se"],
    )  # fmt: skip
    inc_b = np.stack([on[:, :2] - runs[(frozenset([c]), ())][:, :2] for c in players])
    return incremental, inc_b


def _shapley(
    players: tuple[str, ...],
    value: dict[int, np.ndarray],
    B: int,
    sizes: np.ndarray,
    shapley: bool,
    orders: np.ndarray | None,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The Shapley table of the game VALUE (coalition bitmask -> per-block counts), its
    per-block values (K, B, 2) and the variance the sampled orders add (K, 2)."""
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
        pairs = (totals_r[:half] + totals_r[half:]) / 2
        perm_var = pairs.var(axis=0, ddof=1) / half if half > 1 else np.full((K, 2), np.nan)
        phi_b = credits.mean(axis=0)
    phi = phi_b.sum(axis=1)
    sim_var = _total_se(np.moveaxis(phi_b, 1, 0), sizes) ** 2 if B > 1 else np.zeros((K, 2))
    se = np.sqrt(sim_var + perm_var)
    table = pd.DataFrame(
        {"conversions": phi[:, 0], "conversions_se": se[:, 0], "value": phi[:, 1],
         "value_se": se[:, 1]},
        index=pd.Index(players, name="channel"),
    )  # fmt: skip
    return table, phi_b, perm_var


def _spend(
    players: tuple[str, ...], on: np.ndarray, inc_b: np.ndarray, chan: dict[str, int],
    sizes: np.ndarray,
) -> pd.DataFrame:  # fmt: skip
    """What each channel spent, and the value it returned per unit of spend."""
    spend_rows = []
    for c in players:
        s_b = on[:, 2 + chan[c]]
        spend_se = float(_total_se(s_b[:, None], sizes)[0])
        roas, roas_se = _ratio(inc_b[players.index(c), :, 1], s_b, sizes)
        spend_rows.append((c, float(s_b.sum()), spend_se, roas, roas_se))
    return pd.DataFrame(
        spend_rows, columns=["channel", "spend", "spend_se", "roas", "roas_se"]
    ).set_index("channel")


def _marginal_roas(
    paid: list[str], runs: dict[Scenario, np.ndarray], on: np.ndarray, chan: dict[str, int],
    sizes: np.ndarray, budget_step: float,
) -> pd.DataFrame:  # fmt: skip
    """The value of each paid channel's next unit of spend (its budget raised a step)."""
    roas_rows = []
    for c in paid:
        more = runs[(frozenset(), ((c, 1.0 + budget_step),))]
        d_value = more[:, 1] - on[:, 1]
        d_spend = more[:, 2 + chan[c]] - on[:, 2 + chan[c]]
        roas, roas_se = _ratio(d_value, d_spend, sizes)
        roas_rows.append((c, float(d_spend.sum()), float(d_value.sum()), roas, roas_se))
    return pd.DataFrame(
        roas_rows, columns=["channel", "spend_step", "value_gain", "roas", "roas_se"]
    ).set_index("channel")


def _totals(
    on: np.ndarray, all_off: np.ndarray, inc_b: np.ndarray, sizes: np.ndarray
) -> dict[str, float]:
    """What all channels together caused, and what the increments count twice or miss."""
    B = len(on)
    off = all_off.sum(axis=0)
    # what the increments count twice (complements) or miss (substitutes): their sum minus
    # what all channels together caused, per block for its standard error
    gap_b = inc_b.sum(axis=0) - (on[:, :2] - all_off[:, :2])
    gap_se = float(_total_se(gap_b[:, :1], sizes)[0]) if B > 1 else float("nan")
    caused_b = on[:, :2] - all_off[:, :2]  # what all channels together caused
    caused_se = float(_total_se(caused_b[:, :1], sizes)[0]) if B > 1 else float("nan")
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
