"""Rule-based attribution: first, last, last non-direct, linear, time decay, position-based.

Each rule says which share of a converting path's credit each of its touches receives; the
shares of a path sum to 1, so attributed conversions (and value) sum to the totals. Repeated
touches of one channel each receive their own share, as in ChannelAttribution's
``heuristic_models`` (Altomare & Loris) and Google Analytics' rule-based models.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from cjsim.attribution.base import Attribution, path_ends, position_in_path
from cjsim.errors import OptionError
from cjsim.paths import PathTable

#: Channels treated as direct/organic by ``last_non_direct`` unless told otherwise.
DEFAULT_DIRECT = ("direct", "organic", "organic_search", "seo", "word_of_mouth", "referral")


def _one_per_path(paths: PathTable, index: np.ndarray) -> np.ndarray:
    shares = np.zeros(len(paths.codes))
    shares[index] = 1.0
    return shares


class FirstTouch(Attribution):
    """All credit to the first touch of the path."""

    name = "first"

    def touch_shares(self, paths: PathTable) -> np.ndarray:
        return _one_per_path(paths, path_ends(paths)[0])


class LastTouch(Attribution):
    """All credit to the last touch of the path."""

    name = "last"

    def touch_shares(self, paths: PathTable) -> np.ndarray:
        return _one_per_path(paths, path_ends(paths)[1])


class LastNonDirect(Attribution):
    """All credit to the last touch that is not a direct/organic channel.

    A path made only of direct channels keeps its credit on its last touch.

    Parameters
    ----------
    direct : iterable of str
        Channel names that count as direct (compared case-insensitively).
    """

    name = "last_non_direct"

    def __init__(self, direct: Iterable[str] = DEFAULT_DIRECT) -> None:
        self.direct = tuple(direct)

    def touch_shares(self, paths: PathTable) -> np.ndarray:
        lowered = {d.lower() for d in self.direct}
        is_direct = np.array([c.lower() in lowered for c in paths.channels], dtype=bool)
        if len(paths.codes) == 0:
            return np.zeros(0)
        pos = np.arange(len(paths.codes))
        candidate = np.where(is_direct[paths.codes], -1, pos)
        last_non_direct = np.maximum.reduceat(candidate, paths.offsets[:-1])
        last = path_ends(paths)[1]
        return _one_per_path(paths, np.where(last_non_direct >= 0, last_non_direct, last))


class Linear(Attribution):
    """Equal credit ``1/L`` to each of a path's ``L`` touches."""

    name = "linear"

    def touch_shares(self, paths: PathTable) -> np.ndarray:
        return 1.0 / np.repeat(paths.lengths, paths.lengths).astype(np.float64)


class PositionBased(Attribution):
    """U-shaped credit: ``first`` to the first touch, ``last`` to the last, the rest shared.

    The middle touches share ``1 - first - last`` equally. A path of one touch gives it all
    the credit; a path of two splits it in the ratio ``first : last``.

    Parameters
    ----------
    first, last : float
        Shares of the first and last touch (default 0.4 each: 40/20/40).
    """

    name = "position"

    def __init__(self, first: float = 0.4, last: float = 0.4) -> None:
        if not (0 <= first and 0 <= last and first + last <= 1):
            raise OptionError(
                f"position weights are first={first!r}, last={last!r}; "
                "expected non-negative shares with first + last <= 1"
            )
        self.first = first
        self.last = last

    def touch_shares(self, paths: PathTable) -> np.ndarray:
        L = np.repeat(paths.lengths, paths.lengths).astype(np.float64)
        pos = position_in_path(paths)
        is_first, is_last = pos == 0, pos == L - 1
        middle = (1.0 - self.first - self.last) / np.maximum(L - 2, 1)
        shares = np.where(is_first, self.first, np.where(is_last, self.last, middle))
        ends = self.first + self.last
        two_first = self.first / ends if ends > 0 else 0.5
        shares = np.where(L == 2, np.where(is_first, two_first, 1.0 - two_first), shares)
        return np.where(L == 1, 1.0, shares)


class TimeDecay(Attribution):
    r"""Credit that halves with every ``half_life`` of distance from the conversion.

    .. math:: w_j \propto 2^{-a_j / h}

    where :math:`a_j` is the age of touch *j* at the end of the journey. A path table read
    from an event log carries each touch's age in days (``PathTable.touch_age``, averaged
    over the journeys of the path) and ``half_life`` is in days (default 7, as in Google
    Analytics). A table without times (a ChannelAttribution export) falls back to positions:
    the age of a touch is the number of touches after it and ``half_life_touches`` applies.

    Parameters
    ----------
    half_life : float
        Half-life in days, used when touch ages are known.
    half_life_touches : float
        Half-life in touches, used otherwise.
    """

    name = "time_decay"

    def __init__(self, half_life: float = 7.0, half_life_touches: float = 1.0) -> None:
        for label, h in (("half_life", half_life), ("half_life_touches", half_life_touches)):
            if not h > 0:
                raise OptionError(f"{label} is {h!r}; expected a number > 0")
        self.half_life = half_life
        self.half_life_touches = half_life_touches

    def touch_shares(self, paths: PathTable) -> np.ndarray:
        if paths.touch_age is not None:
            age, h = paths.touch_age, self.half_life
        else:
            L = np.repeat(paths.lengths, paths.lengths)
            age, h = (L - 1 - position_in_path(paths)).astype(np.float64), self.half_life_touches
        # subtract each path's smallest age first, so long journeys do not underflow to 0
        start = paths.offsets[:-1]
        youngest = np.minimum.reduceat(age, start) if len(age) else age
        w = np.exp2(-(age - np.repeat(youngest, paths.lengths)) / h)
        total = np.add.reduceat(w, start) if len(w) else w
        return w / np.repeat(total, paths.lengths)
