"""Budget allocation against closed-form optima, and response-curve fitting."""

from __future__ import annotations

import numpy as np
import pytest

from cjsim.errors import OptionError
from cjsim.experiment import ResponseCurve, allocate_budget, fit_response

# two Michaelis-Menten channels: f_i(x) = a_i x / (x + k_i)
A1, K1, A2, K2 = 1000.0, 200.0, 600.0, 50.0


def curves():
    return {"tv": ResponseCurve(A1, K1), "search": ResponseCurve(A2, K2)}


def test_fixed_budget_equalises_marginal_returns_by_hand():
    """f_i'(x) = a_i k_i / (x + k_i)^2. Equal marginals: (x_i + k_i) = r_i t with
    r_i = sqrt(a_i k_i); x_1 + x_2 = B gives t = (B + k_1 + k_2) / (r_1 + r_2)."""
    B = 500.0
    r1, r2 = np.sqrt(A1 * K1), np.sqrt(A2 * K2)
    t = (B + K1 + K2) / (r1 + r2)
    x1, x2 = r1 * t - K1, r2 * t - K2
    alloc = allocate_budget(curves(), B)
    got = alloc.table.set_index("channel").spend
    assert got["tv"] == pytest.approx(x1, rel=1e-6)
    assert got["search"] == pytest.approx(x2, rel=1e-6)
    assert alloc.total_spend == pytest.approx(B)
    m = alloc.table.marginal.to_numpy()
    assert m[0] == pytest.approx(m[1], rel=1e-6) and alloc.marginal == pytest.approx(m[0])


def test_bounds_are_respected():
    alloc = allocate_budget(curves(), 500.0, bounds={"search": (0.0, 100.0)})
    got = alloc.table.set_index("channel")
    assert got.spend["search"] == pytest.approx(100.0)
    assert got.spend["tv"] == pytest.approx(400.0)
    assert got.at_bound["search"] and not got.at_bound["tv"]
    with pytest.raises(OptionError, match="outside what the bounds allow"):
        allocate_budget(curves(), 500.0, bounds={"search": (0, 10), "tv": (0, 10)})


def test_flexible_budget_stops_at_the_target_marginal_return():
    """f'(x) = a k / (x + k)^2 = target -> x = sqrt(a k / target) - k."""
    alloc = allocate_budget(curves(), target_marginal=0.5)
    got = alloc.table.set_index("channel").spend
    assert got["tv"] == pytest.approx(np.sqrt(A1 * K1 / 0.5) - K1, rel=1e-6)
    assert got["search"] == pytest.approx(np.sqrt(A2 * K2 / 0.5) - K2, rel=1e-6)
    assert np.allclose(alloc.table.marginal, 0.5)


def test_s_shaped_curves_use_the_numerical_optimiser():
    cs = {"a": ResponseCurve(100.0, 50.0, 2.5), "b": ResponseCurve(80.0, 30.0, 2.0)}
    alloc = allocate_budget(cs, 120.0)
    assert alloc.total_spend == pytest.approx(120.0, rel=1e-6)
    # no split on a grid does better
    grid = np.linspace(0, 120, 241)
    best = max(float(cs["a"](x) + cs["b"](120 - x)) for x in grid)
    assert alloc.total_response >= best - 1e-3


def test_fit_recovers_known_parameters_with_a_band():
    rng = np.random.default_rng(0)
    x = np.repeat(np.linspace(0, 1000, 11), 20)
    truth = ResponseCurve(500.0, 150.0)
    y = truth(x) + rng.normal(0, 5, x.size)
    fit = fit_response(x, y)
    assert fit.top == pytest.approx(500, rel=0.03) and fit.half == pytest.approx(150, rel=0.05)
    lo, hi = fit.band(np.array([100.0, 800.0]))
    assert (lo < truth(np.array([100.0, 800.0]))).all() and (hi > truth([100.0, 800.0])).all()
    hill = fit_response(x, ResponseCurve(500.0, 150.0, 2.0)(x) + rng.normal(0, 5, x.size),
                        kind="hill")  # fmt: skip
    assert hill.slope == pytest.approx(2.0, rel=0.1)


def test_bad_allocation_input():
    with pytest.raises(OptionError, match="either a budget"):
        allocate_budget(curves())
    with pytest.raises(OptionError, match="budget is -1"):
        allocate_budget(curves(), -1.0)
    with pytest.raises(OptionError, match="unknown channel"):
        allocate_budget(curves(), 10.0, bounds={"radio": (0, 5)})


@pytest.mark.slow
def test_optimise_a_model_moves_money_from_a_useless_channel():
    """trap_null_channel: banner has no effect, so its money goes to video and search,
    the unbounded channels end with equal marginal returns per unit of spend, and the
    validation (paired replications) shows more conversions for about the same spend."""
    from cjsim.experiment.optimise import optimise_model
    from tests.helpers.models import shipped

    opt = optimise_model(shipped("trap_null_channel"), 6000, replications=3, rng=2, workers=1)
    table = opt.table().set_index("channel")
    assert table.proposed_budget["banner"] == pytest.approx(0.0, abs=1e-6)
    # the money spent is split anew (a budget is set so that it spends its share)
    assert table.proposed_spend.sum() == pytest.approx(table.current_spend.sum())
    assert ((table.spent_share > 0.05) & (table.spent_share <= 1.0 + 1e-9)).all()
    # KKT: the channels inside their bounds share one marginal return; one at its upper
    # bound returns at least that, one at zero at most that
    alloc = opt.allocation.table.set_index("channel")
    inside = alloc[~alloc.at_bound]
    assert len(inside) >= 1
    lam = inside.marginal.iloc[0]
    assert np.allclose(inside.marginal, lam, rtol=1e-4)
    top = alloc[alloc.at_bound & (alloc.spend > 0)]
    assert (top.marginal >= lam * (1 - 1e-4)).all()
    assert alloc.marginal["banner"] <= lam
    v = opt.validation.set_index("metric")
    assert v.loc["conversions", "diff_low"] > 0
    assert abs(v.loc["spend", "diff"]) < 0.05 * v.loc["spend", "current"]


def test_cli_optimise(tmp_path):
    from typer.testing import CliRunner

    from cjsim.cli import app

    out = tmp_path / "split.csv"
    res = CliRunner().invoke(
        app, ["optimise", "trap_null_channel", "--customers", "3000", "--replications", "2",
              "--workers", "1", "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "validated on 2 paired replications" in res.output
    assert set(__import__("pandas").read_csv(out).channel) == {"video", "search", "banner"}


def test_max_change_keeps_each_channel_near_its_budget():
    from cjsim.experiment.optimise import optimise_model
    from tests.helpers.models import shipped

    opt = optimise_model(shipped("trap_null_channel"), 4000, replications=2, rng=3,
                         max_change=0.25, workers=1)  # fmt: skip
    t = opt.table()
    assert (t.proposed_budget >= 0.75 * t.current_budget - 1e-6).all()
    assert (t.proposed_budget <= 1.25 * t.current_budget + 1e-6).all()
    # banner gives what the others may take: they end at +25%, banner as low as it can go
    t = t.set_index("channel")
    assert t.proposed_budget["video"] == pytest.approx(1.25 * t.current_budget["video"])
    assert t.proposed_budget["search"] == pytest.approx(1.25 * t.current_budget["search"])
    assert t.proposed_spend.sum() == pytest.approx(t.current_spend.sum())
    assert t.proposed_budget["banner"] < t.current_budget["banner"]


@pytest.mark.slow
def test_flexible_total_and_the_response_curve_figure(tmp_path):
    """--target-roas: each channel not at a bound ends at that marginal ROAS, none past
    its largest simulated budget; --figure draws one panel per paid channel."""
    from typer.testing import CliRunner

    from cjsim.cli import app

    out, fig, rep = tmp_path / "split.csv", tmp_path / "curves.svg", tmp_path / "opt.html"
    res = CliRunner().invoke(
        app, ["optimise", "trap_null_channel", "--customers", "3000", "--replications", "2",
              "--workers", "1", "--target-roas", "0.5", "--out", str(out),
              "--figure", str(fig), "--report", str(rep)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "flexible total" in said and "marginal ROAS is 0.5" in said
    t = __import__("pandas").read_csv(out).set_index("channel")
    assert (t.proposed_budget <= 3.0 * t.current_budget + 1e-6).all()
    inside = t[(t.proposed_budget > 1e-6) & (t.proposed_budget < 3.0 * t.current_budget - 1e-6)]
    for r in inside.itertuples():
        assert r.marginal_proposed == pytest.approx(0.5, rel=1e-3)
    assert t.proposed_budget["banner"] == pytest.approx(0.0, abs=1e-6)
    html = rep.read_text()
    assert "Where should the budget go?" in html and html.count("data:image/png") == 2
    text = fig.read_text()
    assert text.startswith("<?xml") and all(c in text for c in ("video", "search", "banner"))
    res = CliRunner().invoke(app, ["optimise", "trap_null_channel", "--target-roas", "1",
                                   "--budget", "100"])  # fmt: skip
    assert res.exit_code == 2 and "give at most one" in res.output
