"""Planning a geo test: the power of each design before anyone runs one.

A geo test's power depends on how long it runs and how much it changes the budget (and on
the market: how many customers, how noisy each geo is). :func:`geo_power` runs the
replicated study of :func:`cjsim.lift_geo.geo_test` for every design in a grid of start
days and budget multiples and tabulates, per design and estimator, the true effect, the
share of tests that find it (power), the minimum detectable effect and the coverage of
the intervals. Every design uses the same seed, so its replications draw the same
customers and the same treated geos: designs differ only in what the test does, and
their powers compare sharply. This is the simulation-based planning GeoLift does from a
market's history, done in a world whose truth is known.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from cjsim.errors import OptionError
from cjsim.lift_geo import check_geo_design, geo_test
from cjsim.model import JourneyModel

#: Columns of a power table, one row per design and estimator.
POWER_COLUMNS = (
    "design", "multiple", "start_day", "test_days", "estimator", "mean_truth",
    "mean_estimate", "power", "mde", "coverage", "rmse", "iroas", "true_iroas",
)  # fmt: skip


def geo_power(
    model: JourneyModel,
    channel: str,
    customers: int,
    *,
    start_days: Sequence[int],
    multiples: Sequence[float],
    replications: int = 20,
    target: str = "conversions",
    rng: int | None = None,
    level: float = 0.95,
    workers: int | None = None,
) -> pd.DataFrame:
    """The power table of every (start day, multiple) design of a geo test of ``channel``
    (effects per 1,000 customers over each design's test period)."""
    if not start_days or not multiples:
        raise OptionError("a power table needs at least one start day and one multiple")
    for multiple in multiples:  # every design checked before any runs
        for start in start_days:
            check_geo_design(model, channel, start, replications, multiple)
    rows = []
    for multiple in multiples:
        for start in start_days:
            study = geo_test(model, channel, customers, start_day=start, multiple=multiple,
                             replications=replications, target=target, rng=rng, level=level,
                             workers=workers)  # fmt: skip
            cfg = study.settings
            frame = study.summary.assign(
                design=cfg["design"], multiple=multiple, start_day=cfg["start_day"],
                test_days=cfg["days"] - cfg["start_day"],
            )  # fmt: skip
            rows.append(frame)
    return pd.concat(rows, ignore_index=True)[list(POWER_COLUMNS)]
