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

**Marginal ROAS** of each paid channel: extra value per extra unit of spend when its
budget rises by a small fraction, paired with the all-on run.

Y counts converting customers (a customer's first conversion, the journey that attribution
credits by default) or every conversion with ``multi_conversion=True``. Customers are
simulated in blocks of 1,024 with a random stream each; a paired difference is summed over
blocks and its standard error is :math:`\sqrt{B \,\mathrm{Var}(d_b)}`. The standard error
two *independent* runs would have, :math:`\sqrt{B(\mathrm{Var}(y^{on}_b) +
\mathrm{Var}(y^{off}_b))}`, is reported beside it: their ratio is what CRN buys.

References
----------
Chan, D., Ge, R., Gershony, O., Hesterberg, T. & Lambert, D. (2010). Evaluating online ad
campaigns in a pipeline: causal models at scale. *KDD '10* (counterfactual evaluation).
Shapley, L. S. (1953). A value for n-person games.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cjsim._pool import pool_map
from cjsim.errors import OptionError
from cjsim.events import CONVERSION
from cjsim.model import JourneyModel
from cjsim.simulate.markov import BLOCK, iter_event_chunks, resolve_entropy

log = logging.getLogger(__name__)

#: Up to this many channels the true Shapley values use all 2^K coalitions.
MAX_EXACT_CHANNELS = 8

#: A scenario: the channels switched off, and budget multipliers (channel, factor).
Scenario = tuple[frozenset[str], tuple[tuple[str, float], ...]]


def _event_chunks(
    model: JourneyModel, customers: int, entropy: int, engine: str
) -> Iterator[dict[str, np.ndarray]]:
    if engine == "agents":
        from cjsim.simulate.agents import agent_event_arrays

        yield agent_event_arrays(model, customers, rng=entropy)
    else:
        for arrays, _ in iter_event_chunks(model, customers, rng=entropy):
            yield arrays


def _outcome(
    model: JourneyModel,
    customers: int,
    entropy: int,
    scenario: Scenario,
    multi: bool,
    engine: str = "markov",
) -> np.ndarray:
    """Per block of customers: (conversions, value), shape (B, 2)."""
    off, budgets = scenario
    scaled = {c: (model.channels[c].daily_budget or 0.0) * f for c, f in budgets}
    world = model.with_overrides(channels_off=sorted(off), budgets=scaled)
    n_blocks = -(-customers // BLOCK)
    out = np.zeros((n_blocks, 2))
    for arrays in _event_chunks(world, customers, entropy, engine):
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


def _paired(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum of a - b over blocks, its CRN standard error, and the independent-runs one."""
    B = len(a)
    diff = (a - b).sum(axis=0)
    se = np.sqrt(B * (a - b).var(axis=0, ddof=1)) if B > 1 else np.full(2, np.nan)
    indep = np.sqrt(B * (a.var(axis=0, ddof=1) + b.var(axis=0, ddof=1))) if B > 1 else se
    return diff, se, indep


@dataclass
class GroundTruth:
    """Counterfactual truth for one model, budget and number of customers.

    Attributes
    ----------
    incremental : DataFrame
        Per channel: ``conversions, conversions_se, conversions_se_independent, value,
        value_se`` (all on minus channel off, CRN).
    shapley : DataFrame
        Per channel: ``conversions, conversions_se, value, value_se`` of the counterfactual
        game. The standard error covers the simulation noise (over blocks of customers)
        and, when orders are sampled, the sampling of orders.
    marginal_roas : DataFrame
        Per paid channel: ``spend_step, value_gain, roas, roas_se``.
    totals : dict
        Conversions and value with all channels on and with all off (baseline).
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

    def shares(self, kind: str = "shapley") -> pd.Series:
        """Each channel's share of the conversions marketing caused (sums to 1)."""
        frame = self.shapley if kind == "shapley" else self.incremental
        c = frame["conversions"].clip(lower=0)
        return c / c.sum() if c.sum() > 0 else c * 0

    def to_frame(self) -> pd.DataFrame:
        """One row per channel: increments, Shapley values, their shares and marginal ROAS."""
        inc = self.incremental.add_prefix("incremental_")
        shp = self.shapley.add_prefix("shapley_")
        frame = pd.concat([inc, shp], axis=1)
        frame["shapley_share"] = self.shares("shapley")
        frame["incremental_share"] = self.shares("incremental")
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
    entropy = resolve_entropy(rng)
    workers = workers or os.cpu_count() or 1
    K = len(players)
    exact = K <= MAX_EXACT_CHANNELS if exact is None else exact
    all_on: Scenario = (frozenset(), ())
    everyone = frozenset(players)

    def only(coalition: Iterable[str]) -> Scenario:
        return (everyone - frozenset(coalition), ())

    scenarios: list[Scenario] = [all_on, only(())]
    scenarios += [(frozenset([c]), ()) for c in players]
    paid = [c for c in players if model.channels[c].type == "paid"] if marginal_roas else []
    scenarios += [(frozenset(), ((c, 1.0 + budget_step),)) for c in paid]
    if not shapley:
        coalitions, orders = [], None
    elif exact:
        coalitions = [
            frozenset(s) for r in range(K + 1) for s in itertools.combinations(players, r)
        ]
        orders = None
    else:
        gen = np.random.default_rng(np.random.SeedSequence(entropy).spawn(1)[0])
        half = max(1, n_permutations // 2)
        perms = [list(gen.permutation(K)) for _ in range(half)]
        orders = perms + [p[::-1] for p in perms]
        coalitions = [
            frozenset(players[i] for i in order[:j]) for order in orders for j in range(K + 1)
        ]
    scenarios += [only(s) for s in coalitions]
    runs = _run_all(model, customers, entropy, scenarios, multi_conversion, workers, engine)
    log.info("ground truth of %s: %d runs of %d customers", model.name, len(runs), customers)

    on = runs[all_on]
    inc_rows = []
    for c in players:
        d, se, indep = _paired(on, runs[(frozenset([c]), ())])
        inc_rows.append((d[0], se[0], indep[0], d[1], se[1]))
    incremental = pd.DataFrame(
        inc_rows,
        index=pd.Index(players, name="channel"),
        columns=["conversions", "conversions_se", "conversions_se_independent", "value",
                 "value_se"],
    )  # fmt: skip

    # per block of customers, so the simulation noise of the values can be measured too
    value = {s: runs[only(s)] for s in coalitions}
    B = len(on)
    if not shapley:
        phi_b, perm_var = np.full((K, B, 2), np.nan), np.full((K, 2), np.nan)
    elif exact:
        phi_b = np.zeros((K, B, 2))
        for i, c in enumerate(players):
            for s in coalitions:
                if c in s:
                    continue
                w = math.factorial(len(s)) * math.factorial(K - len(s) - 1) / math.factorial(K)
                phi_b[i] += w * (value[s | {c}] - value[s])
        perm_var = np.zeros((K, 2))
    else:
        assert orders is not None
        credits = np.zeros((len(orders), K, B, 2))
        for r, order in enumerate(orders):
            prefix: frozenset[str] = frozenset()
            for i in order:
                nxt = prefix | {players[i]}
                credits[r, i] = value[nxt] - value[prefix]
                prefix = nxt
        half = len(orders) // 2
        totals_r = credits.sum(axis=2)  # (R, K, 2)
        pairs = (totals_r[:half] + totals_r[half:]) / 2
        perm_var = pairs.var(axis=0, ddof=1) / half if half > 1 else np.full((K, 2), np.nan)
        phi_b = credits.mean(axis=0)
    phi = phi_b.sum(axis=1)
    sim_var = B * phi_b.var(axis=1, ddof=1) if B > 1 else np.zeros((K, 2))
    se = np.sqrt(sim_var + perm_var)
    shapley_table = pd.DataFrame(
        {"conversions": phi[:, 0], "conversions_se": se[:, 0], "value": phi[:, 1],
         "value_se": se[:, 1]},
        index=pd.Index(players, name="channel"),
    )  # fmt: skip

    roas_rows = []
    steps = model.steps
    for c in paid:
        budget = model.channels[c].daily_budget or 0.0
        spend = budget * model.step_days * steps * customers
        spend_step = spend * budget_step / model.population
        d, se, _ = _paired(runs[(frozenset(), ((c, 1.0 + budget_step),))], on)
        roas_rows.append(
            (c, spend_step, d[1], d[1] / spend_step if spend_step > 0 else np.nan,
             se[1] / spend_step if spend_step > 0 else np.nan)
        )  # fmt: skip
    marginal = pd.DataFrame(
        roas_rows, columns=["channel", "spend_step", "value_gain", "roas", "roas_se"]
    ).set_index("channel")
    off = runs[only(())].sum(axis=0)
    # what the increments count twice (complements) or miss (substitutes): their sum minus
    # what all channels together caused, per block for its standard error
    gap_b = sum(on - runs[(frozenset([c]), ())] for c in players) - (on - runs[only(())])
    gap_se = float(np.sqrt(B * gap_b[:, 0].var(ddof=1))) if B > 1 else float("nan")
    totals = {
        "increments_minus_caused": float(gap_b[:, 0].sum()),
        "increments_minus_caused_se": gap_se,
        "conversions_all_on": float(on[:, 0].sum()),
        "value_all_on": float(on[:, 1].sum()),
        "conversions_all_off": float(off[0]),
        "value_all_off": float(off[1]),
    }
    settings = {
        "engine": engine,
        "shapley": shapley,
        "exact_shapley": exact,
        "n_permutations": 0 if exact else len(orders or []),
        "runs": len(runs),
        "multi_conversion": multi_conversion,
        "budget_step": budget_step,
        "model_hash": model.content_hash(),
    }
    return GroundTruth(
        model.name, customers, int(entropy), players, incremental, shapley_table, marginal,
        totals,
        settings,
    )  # fmt: skip
