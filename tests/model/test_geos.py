"""Models with geos: validation, each geo's world, and simulations whose parts add up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cjsim.model import validate_model
from cjsim.model.geos import geo_customers, geo_world
from cjsim.panel import build_panel
from cjsim.simulate import simulate
from cjsim.simulate.run import event_arrays
from cjsim.simulate.truth import ground_truth
from tests.helpers.cli import assert_one_line_error, cjsim
from tests.helpers.models import shipped


def test_a_geo_world_is_its_share_of_the_market() -> None:
    model = shipped("geo_retail")
    north = geo_world(model, "north")
    assert north.population == round(model.population * 0.22) and not north.geos
    assert north.channels["tv"].daily_budget == pytest.approx(8000.0 * 0.26)
    row = north.transitions["unaware"]
    assert row["awareness"] == pytest.approx(0.003 * 1.2)
    assert sum(row.values()) == pytest.approx(1.0)
    counts = geo_customers(model, 1_001)
    assert sum(counts.values()) == 1_001 and counts["north"] == 221  # 220.22: the largest remainder


def test_models_without_geos_keep_their_hash() -> None:
    model = shipped("ecommerce")
    data = model.model_dump(mode="python")
    assert validate_model(data).content_hash() == model.content_hash()
    # ecommerce's hash in every log written before geos existed (e.g. at 950153f)
    assert model.content_hash() == "9c7a7f93569c3b00"


def test_a_geo_log_adds_up_and_the_truth_counts_it_the_same_way() -> None:
    model = shipped("geo_retail")
    run = simulate(model, 4_000, rng=3, keep_events=True)
    log, summary = run.events, run.summary
    assert log is not None
    sizes = log.groupby("geo", observed=True)["customer_id"].nunique()
    assert sizes.to_dict() == geo_customers(model, 4_000)
    assert (
        summary.customers == 4_000 and summary.conversions == (log["event"] == "conversion").sum()
    )
    # the truth's path (integer-coded arrays, per geo) sees the same events
    touches = sum(int((a["event"] == 0).sum()) for a in event_arrays(model, 4_000, rng=3))
    assert touches == int((log["event"] == "touch").sum())
    # spend: the summary, the panel (each touch at its geo's cost) and the truth agree
    panel = build_panel(log, model, "week", geo="geo")
    tv = list(summary.channels).index("tv")
    assert panel.totals()["spend_tv"] == pytest.approx(float(summary.spend[tv]), rel=1e-9)
    truth = ground_truth(model, 4_000, rng=3, shapley=False, marginal_roas=False, workers=1)
    assert truth.totals["spend_all_on"] == pytest.approx(float(np.sum(summary.spend)), rel=1e-9)


@pytest.mark.parametrize(
    ("edit", "needles"),
    [
        ("share = 0.06\nbase_rate = 1.0\nbudget_share = 0.05", ("geo shares sum to", "geos")),
        ("base_rate = 1.3", ("geos.coast.base_rate", "at most")),
    ],
)
def test_bad_geos_stop_with_one_line(tmp_path: Path, edit: str, needles: tuple[str, ...]) -> None:
    from tests.helpers.models import MODELS

    source = (MODELS / "geo_retail.toml").read_text(encoding="utf-8")
    if edit.startswith("share"):
        source = source.replace(edit, "share = 0.10\nbase_rate = 1.0\nbudget_share = 0.05")
    else:
        source = source.replace(edit, "base_rate = 400.0")
    (tmp_path / "m.toml").write_text(source, encoding="utf-8")
    res = cjsim("validate", "m.toml", cwd=tmp_path)
    assert_one_line_error(res, "m.toml", *needles)


def test_geo_panels_for_meridian_have_a_population_per_geo() -> None:
    model = shipped("geo_retail")
    log = simulate(model, 2_000, rng=1, keep_events=True).events
    table = build_panel(log, model, "week", geo="geo").to_frame("meridian")
    population = table.groupby("geo")["population"].first()
    assert population.to_dict() == geo_customers(model, 2_000)
    assert isinstance(table, pd.DataFrame) and table["geo"].nunique() == 8
