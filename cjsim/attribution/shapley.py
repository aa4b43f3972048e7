r"""Shapley-value attribution: exact, simplified, ordered, sampled, and of the Markov game.

Channels are players; a coalition S of channels is worth

.. math:: v(S) = \sum_{T \subseteq S} R(T)

where R(T) is the conversions (or value) of the journeys whose set of distinct channels is
exactly T: the conversions that S could have produced alone (Dalessandro, Perlich,
Stitelman & Provost 2012; Zhao, Mahboobi & Bagheri 2018). The Shapley value

.. math:: \phi_i = \sum_{S \subseteq N \setminus \{i\}}
          \frac{|S|!\,(K - |S| - 1)!}{K!}\,\bigl(v(S \cup \{i\}) - v(S)\bigr)

is computed exactly from the 2^K coalition values, which one subset-sum (zeta) transform
of R gives in O(K 2^K), for K up to :data:`MAX_EXACT` channels. For this game it equals
Zhao et al.'s *simplified* formula: each converting journey's credit is split equally over
its distinct channels, :math:`\phi_i = \sum_{T \ni i} R(T)/|T|` (a test checks both).

The **conversion-rate game** uses non-converting journeys too: v(S) is the conversion
rate of the journeys whose channels all lie in S (0 for the empty coalition). Its values
sum to the overall conversion rate; attributed conversions are the values times the number
of journeys, so they sum to the total conversions. **Ordered Shapley** (Zhao et al. 2018)
splits each channel's simplified-Shapley credit by the position (1, 2, ...) at which the
channel first appears in the journey. **Sampled Shapley** averages marginal contributions
over random channel orders and reports their standard error. The **Markov removal game**
takes v(S) = P(conversion) of a fitted Markov chain with the channels outside S removed.

References
----------
Dalessandro, B., Perlich, C., Stitelman, O. & Provost, F. (2012). Causally motivated
attribution for online advertising. *ADKDD '12*.
Zhao, K., Mahboobi, S. H. & Bagheri, S. R. (2018). Shapley value methods for attribution
modeling in online advertising. arXiv:1804.05327.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cjsim.attribution.base import Attribution, first_occurrence, share_of_total
from cjsim.attribution.markov import MarkovAttribution
from cjsim.errors import OptionError
from cjsim.games import pair_means, shapley_from_game, with_reversed, zeta
from cjsim.paths import PathTable

#: Largest number of channels for the exact 2^K computations (2^20 coalitions: 8 MB each).
MAX_EXACT = 22
#: Largest number of channels for the Markov removal game (one linear solve per coalition).
MAX_MARKOV_GAME = 14


def channel_masks(paths: PathTable) -> np.ndarray:
    """Bitmask of the distinct channels of every path, shape (P,), int64."""
    if len(paths.channels) > 62:
        raise OptionError(f"{len(paths.channels)} channels; set-based Shapley supports at most 62")
    bits = np.left_shift(np.int64(1), paths.codes.astype(np.int64))
    masks = np.zeros(paths.n_paths, np.int64)
    if len(bits):
        np.bitwise_or.at(masks, paths.path_index, bits)
    return masks


class ShapleyAttribution(Attribution):
    """Exact Shapley attribution of conversions (and value) over channel sets.

    Parameters
    ----------
    game : {"conversions", "rate"}
        ``conversions``: v(S) = conversions of journeys whose channels lie in S (equal to
        the simplified formula, computable for any K). ``rate``: v(S) = their conversion
        rate, using non-converting journeys (exact for K <= :data:`MAX_EXACT`).

    Attributes
    ----------
    shapley_values_ : ndarray, shape (K,)
        Shapley values of the game (conversions; for ``rate``, a conversion rate).
    """

    name = "shapley"

    def __init__(self, game: str = "conversions") -> None:
        if game not in ("conversions", "rate"):
            raise OptionError(f"game is {game!r}; expected 'conversions' or 'rate'")
        self.game = game

    def touch_shares(self, paths: PathTable) -> np.ndarray:
        if self.game != "conversions":
            raise NotImplementedError("the rate game is not linear in the counts")
        # simplified formula: 1/d to the first touch of each of the d distinct channels
        first = first_occurrence(paths)
        distinct = (
            np.add.reduceat(first.astype(np.float64), paths.offsets[:-1])
            if len(first)
            else np.zeros(0)
        )
        return np.where(first, 1.0 / np.repeat(distinct, paths.lengths), 0.0)

    @property
    def is_linear(self) -> bool:
        return self.game == "conversions"

    def fit(self, paths: PathTable) -> ShapleyAttribution:
        if self.game == "conversions":
            super().fit(paths)
            self.shapley_values_ = self.conversions_
            return self
        self.channels_ = paths.channels
        phi = rate_shapley(paths)
        journeys = paths.conversions.sum() + paths.nulls.sum()
        self.shapley_values_ = phi[:, 0]
        self.conversions_ = phi[:, 0] * journeys
        self.value_ = phi[:, 1] * journeys
        return self


def coalition_values(paths: PathTable, *, rate: bool = False) -> np.ndarray:
    """v(S) for all 2^K coalitions, columns (conversions, value) — or their rates."""
    K = len(paths.channels)
    if K > MAX_EXACT:
        raise OptionError(
            f"{K} channels; exact Shapley over all 2^K coalitions supports at most "
            f"{MAX_EXACT}: use shapley_sampled"
        )
    masks = channel_masks(paths)
    n = 1 << K
    R = np.zeros((n, 3))
    np.add.at(R, masks, np.c_[paths.conversions, paths.value, paths.conversions + paths.nulls])
    v = zeta(R)
    if not rate:
        return v[:, :2]
    journeys = v[:, 2:3]
    return np.divide(v[:, :2], journeys, out=np.zeros((n, 2)), where=journeys > 0)


def rate_shapley(paths: PathTable) -> np.ndarray:
    """Exact Shapley values of the conversion-rate game, columns (conversions, value)."""
    return shapley_from_game(coalition_values(paths, rate=True))


class OrderedShapley(Attribution):
    """Ordered Shapley (Zhao et al. 2018): simplified Shapley credit split by position.

    A converting journey with d distinct channels gives 1/d of its conversions to each of
    them, booked at the position (1..d) where the channel first appears. The channel totals
    equal :class:`ShapleyAttribution`'s; ``position_conversions_`` has the breakdown.

    Attributes
    ----------
    position_conversions_, position_value_ : ndarray, shape (K, D)
        Credit of channel k at (first-appearance) position d + 1.
    """

    name = "shapley_ordered"

    def touch_shares(self, paths: PathTable) -> np.ndarray:
        return ShapleyAttribution().touch_shares(paths)

    def fit(self, paths: PathTable) -> OrderedShapley:
        self.channels_ = paths.channels
        shares = self.touch_shares(paths)
        first = shares > 0
        # position of each first occurrence among its path's distinct channels (1-based)
        cf = np.cumsum(first)
        before = (cf - first)[paths.offsets[:-1]] if len(first) else np.zeros(0, np.int64)
        rank: np.ndarray = cf - np.repeat(before, paths.lengths)
        D = int(rank.max(initial=1))
        K = len(paths.channels)
        pi = paths.path_index
        flat = paths.codes * D + (rank - 1)
        conv = np.bincount(flat[first], (shares * paths.conversions[pi])[first], minlength=K * D)
        val = np.bincount(flat[first], (shares * paths.value[pi])[first], minlength=K * D)
        self.position_conversions_ = conv.reshape(K, D)
        self.position_value_ = val.reshape(K, D)
        # the channel totals are the positions summed (the shares are computed once)
        self.conversions_ = self.position_conversions_.sum(axis=1)
        self.value_ = self.position_value_.sum(axis=1)
        return self


class SampledShapley(Attribution):
    """Monte Carlo permutation Shapley with standard errors, for any number of channels.

    Each random order of the channels adds channels one by one; a journey's conversions
    (or rate contribution) go to the channel whose arrival completes the journey's set.
    With ``n_permutations`` orders, ``standard_errors_`` is the standard deviation of the
    per-order credits over the square root of their number (antithetic pairs: each order
    is used with its reverse, which lowers the variance). A bootstrap interval keeps the
    orders fixed and resamples the journeys: it measures the data's uncertainty, and
    ``standard_errors_`` the orders'; their variances add for the whole error.

    Parameters
    ----------
    game : {"conversions", "rate"}
    n_permutations : int
    rng : int, Generator or None
    """

    name = "shapley_sampled"

    def __init__(
        self,
        game: str = "conversions",
        n_permutations: int = 1000,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        if game not in ("conversions", "rate"):
            raise OptionError(f"game is {game!r}; expected 'conversions' or 'rate'")
        if n_permutations < 2:
            raise OptionError(f"n_permutations is {n_permutations!r}; expected >= 2")
        self.game = game
        self.n_permutations = int(n_permutations)
        self.rng = rng
        self._orders_seed: int | None = None

    def _seed(self) -> int:
        """One seed for the sampled orders, drawn once: the fit and the bootstrap's
        :meth:`credit_matrix` use the same orders even when ``rng`` is a Generator
        (which would otherwise give new orders at each call)."""
        if self._orders_seed is None:
            if isinstance(self.rng, int | np.integer):
                self._orders_seed = int(self.rng)
            else:
                self._orders_seed = int(np.random.default_rng(self.rng).integers(2**63))
        return self._orders_seed

    @property
    def is_linear(self) -> bool:
        return self.game == "conversions"

    def credit_matrix(self, paths: PathTable) -> sp.csr_matrix:
        """(K, P): share of the orders in which each channel completes each path's set.

        For the conversions game a sampled Shapley value is linear in the counts, so the
        bootstrap reuses the same orders through this matrix.
        """
        inv, perms, step = self._completions(paths)
        K, U = len(paths.channels), step.shape[1]
        completer = np.take_along_axis(perms, step, axis=1)  # (R, U) completing channel
        share = np.zeros((U, K))
        np.add.at(share, (np.tile(np.arange(U), len(perms)), completer.ravel()), 1.0)
        return sp.csr_matrix((share / len(perms))[inv].T)

    def _completions(self, paths: PathTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each path's distinct-set index, the sampled orders, and the completing steps.

        ``step[r, u]`` is the step of order r at which set u is complete (its last channel
        arrives); ``perms[r, j]`` is the channel arriving at step j.
        """
        K = len(paths.channels)
        uniq, inv = np.unique(channel_masks(paths), return_inverse=True)
        bits = ((uniq[:, None] >> np.arange(K)) & 1).astype(bool)  # (U, K)
        rng = np.random.default_rng(self._seed())
        half = (self.n_permutations + 1) // 2
        perms = rng.permuted(np.tile(np.arange(K), (half, 1)), axis=1)
        perms = with_reversed(perms)  # antithetic pairs (r, r + half)
        rank = np.argsort(perms, axis=1)  # rank[r, k]: arrival step of channel k
        step = np.full((len(perms), len(uniq)), -1, np.int64)
        for k in range(K):  # a loop over channels, vectorised over orders and sets
            step = np.maximum(step, np.where(bits[:, k][None, :], rank[:, k][:, None], -1))
        return inv.ravel(), perms, step

    def fit(self, paths: PathTable) -> SampledShapley:
        K = len(paths.channels)
        self.channels_ = paths.channels
        inv, perms, step = self._completions(paths)
        R, U = step.shape
        counts = np.c_[
            np.bincount(inv, paths.conversions, minlength=U),
            np.bincount(inv, paths.value, minlength=U),
        ]
        jour = np.bincount(inv, paths.conversions + paths.nulls, minlength=U)
        credits = np.zeros((R, K, 2))
        flat = (np.arange(R)[:, None] * K + step).ravel()
        gain = np.stack(
            [np.bincount(flat, np.tile(counts[:, i], R), minlength=R * K) for i in (0, 1)],
            axis=1,
        ).reshape(R, K, 2)  # per order, what completes at each step
        if self.game == "rate":
            j = np.bincount(flat, np.tile(jour, R), minlength=R * K).reshape(R, K)
            cum, cum_j = np.cumsum(gain, axis=1), np.cumsum(j, axis=1)[:, :, None]
            rate = np.divide(cum, cum_j, out=np.zeros_like(cum), where=cum_j > 0) * jour.sum()
            gain = np.diff(rate, axis=1, prepend=0.0)
        np.put_along_axis(credits, perms[:, :, None], gain, axis=1)
        half = R // 2
        pairs = pair_means(credits)
        self.conversions_ = credits[:, :, 0].mean(axis=0)
        self.value_ = credits[:, :, 1].mean(axis=0)
        self.standard_errors_ = pairs[:, :, 0].std(axis=0, ddof=1) / np.sqrt(half)
        self.value_standard_errors_ = pairs[:, :, 1].std(axis=0, ddof=1) / np.sqrt(half)
        return self


class MarkovShapley(Attribution):
    """Shapley values of the Markov removal game (small K).

    v(S) = P(conversion) of the fitted k-order chain with every channel outside S removed;
    one exact solve per coalition. Attributed conversions share the total in proportion to
    the Shapley values (which sum to P(conversion)); value likewise with expected value.
    """

    name = "markov_shapley"

    def __init__(self, order: int = 1) -> None:
        self.order = order

    def fit(self, paths: PathTable) -> MarkovShapley:
        K = len(paths.channels)
        if K > MAX_MARKOV_GAME:
            raise OptionError(
                f"{K} channels; the Markov removal game solves 2^K chains and supports at "
                f"most {MAX_MARKOV_GAME}"
            )
        v = MarkovAttribution(order=self.order).fit(paths).game_values()
        self.channels_ = paths.channels
        self.game_values_ = v
        phi = shapley_from_game(v)
        self.shapley_values_ = phi[:, 0]
        self.conversions_ = share_of_total(phi[:, 0], paths.conversions.sum())
        self.value_ = share_of_total(phi[:, 1], paths.value.sum())
        return self
