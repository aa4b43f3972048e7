"""Bootstrap intervals over journeys for every attribution method.

A path table is a sample of journeys; resampling journeys with replacement resamples each
path's counts. With **Poisson** weights (the default; Hanley & MacGibbon 2006) each path's
conversions and nulls are redrawn independently as Poisson counts with the observed means,
which works for fractional counts too and needs no loop over journeys. **Multinomial**
weights redraw exactly the observed number of journeys over the (path, outcome) cells, the
classic bootstrap. Value follows conversions (each path keeps its value per conversion).

All B resamples are drawn at once as a (P, B) matrix; linear methods then credit them in
one sparse product, Markov solves all resamples' chains together (they share one state
structure; see :mod:`cjsim.attribution.batched_chains`), the others refit once per resample
on the same path structure.
"""

from __future__ import annotations

import numpy as np

from cjsim.attribution.base import Attribution
from cjsim.errors import OptionError
from cjsim.paths import PathTable


def resample_counts(
    paths: PathTable,
    n_resamples: int,
    *,
    scheme: str = "poisson",
    rng: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """B resampled (conversions, nulls, value), each of shape (P, B)."""
    rng = np.random.default_rng(rng)
    P = paths.n_paths
    if scheme == "poisson":
        conv = _poisson(rng, paths.conversions, n_resamples)
        nulls = _poisson(rng, paths.nulls, n_resamples)
    elif scheme == "multinomial":
        cells = np.concatenate([paths.conversions, paths.nulls])
        n = round(cells.sum())
        draws = rng.multinomial(n, cells / cells.sum(), size=n_resamples).T
        conv, nulls = draws[:P], draws[P:]
    else:
        raise OptionError(f"scheme is {scheme!r}; expected 'poisson' or 'multinomial'")
    per_conv = np.divide(
        paths.value, paths.conversions, out=np.zeros(P), where=paths.conversions > 0
    )
    conv = conv.astype(np.float64, copy=False)
    return conv, nulls.astype(np.float64, copy=False), conv * per_conv[:, None]


def _poisson(rng: np.random.Generator, means: np.ndarray, n_resamples: int) -> np.ndarray:
    """(P, B) Poisson draws, row by row, as ``rng.poisson`` of the repeated means.

    A zero mean gives 0 without consuming a random number, so drawing only the rows with
    a positive mean (most paths of a large table never convert) is the same stream and
    the same numbers, in a fraction of the time.
    """
    out = np.zeros((len(means), n_resamples))
    has = means > 0
    out[has] = rng.poisson(means[has, None], size=(int(has.sum()), n_resamples))
    return out


def bootstrap(
    method: Attribution,
    paths: PathTable,
    *,
    n_resamples: int = 200,
    scheme: str = "poisson",
    rng: int | np.random.Generator | None = None,
    resamples: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Attributed conversions and value of ``method`` on B resamples, shape (K, B) each.

    Pass ``resamples`` (from :func:`resample_counts`) to evaluate several methods on the
    same resampled tables, which keeps their intervals comparable.
    """
    if n_resamples < 2:
        raise OptionError(f"n_resamples is {n_resamples!r}; expected >= 2")
    conv, nulls, value = resamples or resample_counts(paths, n_resamples, scheme=scheme, rng=rng)
    return method.fit_counts(paths, conv, nulls, value)


def percentile_interval(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of each row of ``draws`` at confidence ``level``."""
    if not 0 < level < 1:
        raise OptionError(f"confidence level is {level!r}; expected a number in (0, 1)")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail], axis=1)
    return low, high
