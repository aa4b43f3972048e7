"""Crediting conversions to touchpoints: heuristics, exact Markov, Shapley, intervals.

Attribution works on a :class:`~cjsim.paths.PathTable` only: it never imports simulation
code, so a simulated log and a real export are treated alike. :func:`attribute` runs
several methods on one table, with bootstrap intervals, and returns one
:class:`AttributionResult`; each method is also an estimator of its own
(``MarkovAttribution(order=2).fit(paths)``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from cjsim.attribution.base import Attribution
from cjsim.attribution.bootstrap import bootstrap, percentile_interval, resample_counts
from cjsim.attribution.heuristics import (
    DEFAULT_DIRECT,
    FirstTouch,
    LastNonDirect,
    LastTouch,
    Linear,
    PositionBased,
    TimeDecay,
)
from cjsim.attribution.markov import MarkovAttribution, choose_order
from cjsim.attribution.result import COLUMNS, AttributionResult
from cjsim.attribution.shapley import (
    MarkovShapley,
    OrderedShapley,
    SampledShapley,
    ShapleyAttribution,
)
from cjsim.errors import OptionError
from cjsim.paths import PathTable

#: The methods run when none are named, in the order they are shown.
STANDARD_METHODS = (
    "first", "last", "last_non_direct", "linear", "time_decay", "position", "markov", "shapley",
)  # fmt: skip
#: Every method name :func:`attribute` understands.
METHODS = (*STANDARD_METHODS, "shapley_ordered", "shapley_sampled", "shapley_rate",
           "markov_shapley")  # fmt: skip


def make_method(
    name: str,
    *,
    order: int = 1,
    self_loops: bool = False,
    use_nulls: bool = True,
    direct: Iterable[str] = DEFAULT_DIRECT,
    half_life: float = 7.0,
    position_weights: tuple[float, float] = (0.4, 0.4),
    n_permutations: int = 1000,
    rng: int | np.random.Generator | None = None,
) -> Attribution:
    """The estimator behind a method name, with its options."""
    factories: dict[str, Any] = {
        "first": FirstTouch,
        "last": LastTouch,
        "last_non_direct": lambda: LastNonDirect(direct),
        "linear": Linear,
        "time_decay": lambda: TimeDecay(half_life),
        "position": lambda: PositionBased(*position_weights),
        "markov": lambda: MarkovAttribution(order, self_loops=self_loops, use_nulls=use_nulls),
        "shapley": ShapleyAttribution,
        "shapley_ordered": OrderedShapley,
        "shapley_sampled": lambda: SampledShapley("conversions", n_permutations, rng),
        "shapley_rate": lambda: _named(ShapleyAttribution("rate"), "shapley_rate"),
        "markov_shapley": lambda: MarkovShapley(order),
    }
    higher = re.fullmatch(r"markov_([1-9])", name)
    if higher:  # markov_2, markov_3, ...: a Markov model of that order
        return _named(MarkovAttribution(int(higher[1]), self_loops=self_loops,
                                        use_nulls=use_nulls), name)  # fmt: skip
    if name not in factories:
        raise OptionError(
            f"method is {name!r}; expected one of {', '.join(METHODS)} (or markov_K for "
            "a Markov model of order K from 1 to 9; --order for higher)"
        )
    method: Attribution = factories[name]()
    return method


def _named(method: Attribution, name: str) -> Attribution:
    method.name = name
    return method


def table_hash(paths: PathTable) -> str:
    """SHA-256 (first 16 hex digits) of a path table's channels, paths and counts."""
    h = hashlib.sha256("\x1f".join(paths.channels).encode())
    for arr in (paths.offsets, paths.codes, paths.conversions, paths.nulls, paths.value):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()[:16]


def attribute(
    paths: PathTable,
    methods: Sequence[str] | None = None,
    *,
    order: int = 1,
    ci: float | None = None,
    n_resamples: int = 200,
    scheme: str = "poisson",
    rng: int | np.random.Generator | None = None,
    **options: Any,
) -> AttributionResult:
    """Run attribution methods on a path table, with optional bootstrap intervals.

    Parameters
    ----------
    paths : PathTable
    methods : sequence of str, optional
        Method names (:data:`METHODS`); default :data:`STANDARD_METHODS`.
    order : int
        Markov order.
    ci : float, optional
        Confidence level of bootstrap intervals (e.g. 0.95); none if not given.
    n_resamples, scheme :
        Bootstrap resamples and weights (``poisson`` or ``multinomial``).
    rng : int, Generator or None
        Seed of the bootstrap and of sampled Shapley.
    **options :
        Passed to :func:`make_method` (``direct``, ``half_life``, ``position_weights``,
        ``self_loops``, ``use_nulls``, ``n_permutations``).
    """
    names = list(dict.fromkeys(methods or STANDARD_METHODS))
    if paths.n_paths == 0:
        raise OptionError("the path table has no paths; nothing to attribute")
    rng = np.random.default_rng(rng)
    method_rng, boot_rng = rng.spawn(2)
    estimators = [make_method(n, order=order, rng=method_rng, **options) for n in names]
    resamples = resample_counts(paths, n_resamples, scheme=scheme, rng=boot_rng) if ci else None
    parts: dict[str, list[np.ndarray]] = {c: [] for c in COLUMNS}
    models = {}
    K = len(paths.channels)
    missing = np.full(K, np.nan)
    for name, est in zip(names, estimators, strict=True):
        est.fit(paths)
        models[name] = est
        cols: dict[str, np.ndarray] = {
            "method": np.full(K, name, dtype=object),
            "channel": np.array(paths.channels, dtype=object),
            "conversions": np.asarray(est.conversions_, np.float64),
            "value": np.asarray(est.value_, np.float64),
            "removal_effect": np.asarray(getattr(est, "removal_effects_", missing), np.float64),
            "standard_error": np.asarray(getattr(est, "standard_errors_", missing), np.float64),
        }
        if ci:
            conv_draws, value_draws = bootstrap(est, paths, resamples=resamples)
            cols["ci_low"], cols["ci_high"] = percentile_interval(conv_draws, ci)
            cols["value_ci_low"], cols["value_ci_high"] = percentile_interval(value_draws, ci)
        for c in COLUMNS:
            parts[c].append(cols.get(c, missing))
    columns = {c: np.concatenate(parts[c]) for c in COLUMNS}
    settings = {
        "methods": names,
        "order": order,
        "ci": ci,
        "n_resamples": n_resamples if ci else 0,
        "scheme": scheme if ci else None,
        "input_hash": table_hash(paths),
    }
    return AttributionResult(columns, paths.totals(), settings, models)


__all__ = [
    "METHODS",
    "STANDARD_METHODS",
    "Attribution",
    "AttributionResult",
    "FirstTouch",
    "LastNonDirect",
    "LastTouch",
    "Linear",
    "MarkovAttribution",
    "MarkovShapley",
    "OrderedShapley",
    "PositionBased",
    "SampledShapley",
    "ShapleyAttribution",
    "TimeDecay",
    "attribute",
    "bootstrap",
    "choose_order",
    "make_method",
    "table_hash",
]
