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
simulated in blocks of 1,024 with a random stream each, and every number gets the
standard error of its sum over blocks (:mod:`cjsim.simulate.counterfactual`, which runs
the scenarios; :mod:`cjsim.simulate.truth_tables` makes the tables of their outcomes).

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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cjsim.errors import OptionError
from cjsim.games import with_reversed
from cjsim.model import JourneyModel
from cjsim.simulate.counterfactual import ALL_ON, Scenario, block_sizes, only, run_scenarios
from cjsim.simulate.summary import resolve_entropy
from cjsim.simulate.truth_tables import (
    caused_totals,
    coalition_game,
    incremental_table,
    marginal_roas_table,
    shapley_table,
    spend_table,
)

__all__ = ["MAX_EXACT_CHANNELS", "GroundTruth", "Scenario", "ground_truth"]

log = logging.getLogger(__name__)

#: Up to this many channels the true Shapley values use all 2^K coalitions.
MAX_EXACT_CHANNELS = 8


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
    exact = len(players) <= MAX_EXACT_CHANNELS if exact is None else exact
    paid = [c for c in players if model.channels[c].type == "paid"] if marginal_roas else []
    coalitions, orders = _shapley_design(players, entropy, shapley, exact, n_permutations)
    scenarios: list[Scenario] = [ALL_ON, only(players, ())]
    scenarios += [(frozenset([c]), ()) for c in players]
    scenarios += [(frozenset(), ((c, 1.0 + budget_step),)) for c in paid]
    scenarios += [only(players, s) for s in coalitions]
    runs = run_scenarios(model, customers, entropy, scenarios, multi_conversion, workers, engine)
    log.info("ground truth of %s: %d runs of %d customers", model.name, len(runs), customers)

    on = runs[ALL_ON]
    sizes = block_sizes(customers)
    incremental, inc_b = incremental_table(players, runs, sizes)
    game = coalition_game(players, runs, coalitions)
    shapley_frame = shapley_table(players, game, len(on), sizes, shapley, orders)
    chan = {c: i for i, c in enumerate(model.channels)}
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
        model.name, customers, int(entropy), players, incremental, shapley_frame,
        marginal_roas_table(paid, runs, on, chan, sizes, budget_step),
        caused_totals(on, runs[only(players, ())], inc_b, sizes), settings,
        spend_table(players, on, inc_b, chan, sizes),
    )  # fmt: skip


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
