"""Rule-based methods on hand-solved tables."""

from __future__ import annotations

import numpy as np
import pytest

from cjsim.attribution import (
    FirstTouch,
    LastNonDirect,
    LastTouch,
    Linear,
    PositionBased,
    TimeDecay,
)
from cjsim.errors import OptionError
from tests.helpers.tables import credit, random_table, table

# a > b > c converts 2 times (value 20); b > direct once (value 5); a alone once (value 1);
# c > c null 3 times.
HAND = [("a > b > c", 2, 1, 20), ("b > direct", 1, 0, 5), ("a", 1, 2, 1), ("c > c", 0, 3, 0)]


def test_first_and_last_by_hand():
    t = table(HAND)
    assert credit(FirstTouch().fit(t), t) == {"a": 3.0, "b": 1.0, "c": 0.0, "direct": 0.0}
    assert credit(LastTouch().fit(t), t) == {"a": 1.0, "b": 0.0, "c": 2.0, "direct": 1.0}
    # last non-direct: b > direct credits b; value follows: b gets 5
    lnd = LastNonDirect().fit(t)
    assert credit(lnd, t) == {"a": 1.0, "b": 1.0, "c": 2.0, "direct": 0.0}
    assert dict(zip(t.channels, lnd.value_, strict=True))["b"] == 5.0


def test_last_non_direct_keeps_all_direct_paths_on_the_last_touch():
    t = table([("direct > direct", 2, 0, 0), ("seo > email", 1, 0, 0)])
    lnd = LastNonDirect(direct=["direct", "SEO", "email"]).fit(t)
    assert credit(lnd, t) == {"direct": 2.0, "email": 1.0, "seo": 0.0}


def test_linear_by_hand():
    t = table(HAND)
    # a: 2/3 + 1 = 5/3; b: 2/3 + 1/2 = 7/6; c: 2/3; direct: 1/2
    got = credit(Linear().fit(t), t)
    assert got == pytest.approx({"a": 5 / 3, "b": 7 / 6, "c": 2 / 3, "direct": 0.5})


def test_position_based_by_hand():
    t = table([("a > b > c > d", 10, 0, 0), ("a > b", 1, 0, 0), ("e", 1, 0, 0)])
    got = credit(PositionBased(0.4, 0.4).fit(t), t)
    # 4 touches: 4 / 1 / 1 / 4; two touches split 0.4 : 0.4 = half each; one touch all
    assert got == pytest.approx({"a": 4.5, "b": 1.5, "c": 1.0, "d": 4.0, "e": 1.0})
    got = credit(PositionBased(0.3, 0.5).fit(t), t)
    # 3 / 1 / 1 / 5 on the long path; 0.3 : 0.5 -> 3/8 and 5/8 on the short one
    assert got == pytest.approx({"a": 3 + 3 / 8, "b": 1 + 5 / 8, "c": 1.0, "d": 5.0, "e": 1.0})


def test_time_decay_by_position_without_times():
    t = table([("a > b > c", 7, 0, 0)])
    # half-life one touch: weights 1/4, 1/2, 1 -> shares 1/7, 2/7, 4/7
    got = credit(TimeDecay(half_life_touches=1).fit(t), t)
    assert got == pytest.approx({"a": 1.0, "b": 2.0, "c": 4.0})


def test_time_decay_uses_event_times_when_known():
    import pandas as pd

    from cjsim.paths import paths_from_events

    log = pd.DataFrame(
        [
            (1, 0.0, "touch", "a", 0.0),
            (1, 7.0, "touch", "b", 0.0),
            (1, 14.0, "conversion", "", 9.0),
        ],
        columns=["customer_id", "time", "event", "channel", "value"],
    )
    t, _ = paths_from_events(log)
    # ages 14 and 7 days, half-life 7: weights 1/4 and 1/2 -> 1/3 and 2/3
    got = credit(TimeDecay(half_life=7).fit(t), t)
    assert got == pytest.approx({"a": 1 / 3, "b": 2 / 3})


@pytest.mark.parametrize(
    "method", [FirstTouch, LastTouch, LastNonDirect, Linear, PositionBased, TimeDecay]
)
def test_totals_are_preserved(method):
    t = random_table(seed=3)
    est = method().fit(t)
    assert est.conversions_.sum() == pytest.approx(t.conversions.sum())
    assert est.value_.sum() == pytest.approx(t.value.sum())
    assert (est.conversions_ >= 0).all()


def test_bad_options():
    with pytest.raises(OptionError, match="first \\+ last <= 1"):
        PositionBased(0.7, 0.7)
    with pytest.raises(OptionError, match="half_life"):
        TimeDecay(half_life=0)


def test_row_order_and_row_splits_do_not_matter():
    rows = [("a > b", 4, 2, 40), ("b", 1, 5, 3), ("c > a > b", 2, 0, 8)]
    split = [("a > b", 1, 1, 10), ("b", 1, 5, 3), ("c > a > b", 2, 0, 8), ("a > b", 3, 1, 30)]
    for method in (FirstTouch(), Linear(), PositionBased()):
        a = method.fit(table(rows)).conversions_.copy()
        b = method.fit(table(split[::-1])).conversions_
        np.testing.assert_allclose(a, b)
