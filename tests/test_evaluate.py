"""Scoring attribution against the truth, and 'cjsim evaluate' end to end at tiny size."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cjsim.cli import app
from cjsim.evaluate import evaluate, score, summarise, truth_table
from tests.helpers.cli import assert_one_line_error, cjsim
from tests.helpers.models import shipped

runner = CliRunner()


def test_score_by_hand():
    attributed = pd.DataFrame(
        {"method": ["last", "last", "first"], "channel": ["a", "b", "a"],
         "conversions": [30.0, 10.0, 8.0]}
    )  # fmt: skip
    truth = pd.Series({"a": 0.5, "b": 0.25, "c": 0.25})
    s = score(attributed, truth).set_index(["method", "channel"])
    # last: a 30/40 = 0.75 (+0.25), b 0.25 (0), c 0 (-0.25); first: a 1.0, b 0, c 0
    assert s.loc[("last", "a"), "error"] == pytest.approx(0.25)
    assert s.loc[("last", "b"), "error"] == pytest.approx(0.0)
    assert s.loc[("last", "c"), "share"] == 0.0
    assert s.loc[("first", "a"), "error"] == pytest.approx(0.5)
    assert s.loc[("first", "c"), "error"] == pytest.approx(-0.25)


def test_summarise_by_hand():
    scores = pd.DataFrame(
        {"replication": [0, 0, 1, 1], "method": ["m"] * 4, "channel": ["a", "b"] * 2,
         "share": [0.6, 0.4, 0.8, 0.2], "truth": [0.5, 0.5] * 2,
         "error": [0.1, -0.1, 0.3, -0.3]}
    )  # fmt: skip
    summary, bias = summarise(scores)
    row = summary.iloc[0]
    # MAE per replication 0.1 and 0.3 -> mean 0.2; t-interval with 1 df: 0.2 +- 12.71 * 0.1
    assert row["mae"] == pytest.approx(0.2)
    assert row["mae_high"] - row["mae"] == pytest.approx(12.706 * 0.1, rel=1e-3)
    b = bias.set_index("channel")
    assert b.loc["a", "bias"] == pytest.approx(0.2) and b.loc["b", "bias"] == pytest.approx(-0.2)


@pytest.mark.slow
def test_evaluation_reproduces_the_brand_search_trap():
    """Brand search is caused by the decision and has no effect; last touch gives it a
    large share at a fixed seed (measured 0.5 at 100k customers; asserted >= 0.3 here)."""
    model = shipped("trap_brand_search")
    ev = evaluate(model, 20_000, replications=2, rng=3, methods=("last", "first", "markov"),
                  workers=1)  # fmt: skip
    bias = ev.bias.set_index(["method", "channel"])
    assert ev.truth.shares()["brand_search"] == 0
    assert bias.loc[("last", "brand_search"), "share"] >= 0.3
    assert bias.loc[("last", "brand_search"), "bias_low"] > 0.2
    assert (
        ev.summary.set_index("method").loc["first", "mae"]
        < ev.summary.set_index("method").loc["last", "mae"]
    )


# its tests share xdist_group("null_channel"): one process computes it once, not one per process
@pytest.fixture(scope="module")
def null_channel():
    """A small evaluation of the null-channel trap, its truth on more customers."""
    return evaluate(shipped("trap_null_channel"), 4_000, replications=3, rng=0,
                    truth_customers=20_000, methods=("last", "first", "markov"),
                    workers=1)  # fmt: skip


@pytest.mark.slow
@pytest.mark.xdist_group("null_channel")
def test_methods_credit_many_times_what_marketing_caused(null_channel):
    """Methods share out every conversion on a path; marketing caused about a tenth of them
    (measured 8.5x at 20,000 customers, seed 0). The banner caused nothing at all."""
    ev = null_channel
    assert ev.truth.incremental.loc["banner", "conversions"] == 0.0
    assert ev.truth.shapley.loc["banner", "conversions"] == 0.0
    s = ev.summary.set_index("method")
    assert (s["over_credit"] > 4).all() and (s["over_credit_low"] > 1).all()
    ab = ev.absolute.set_index(["method", "channel"])
    banner = ab.xs("banner", level="channel")
    assert banner["over_credit"].isna().all()  # caused nothing: no ratio, only the excess
    assert (banner["excess_low"] > 0.3 * s["conversions"].reindex(banner.index)).all()
    assert ab.loc[("last", "banner"), "roas"] > 2  # a banner that returns nothing
    assert ev.truth.spend.loc["banner", "roas"] == 0.0


@pytest.mark.slow
@pytest.mark.xdist_group("null_channel")
def test_truth_noise_widens_the_intervals(null_channel):
    ev = null_channel
    exact, exact_bias = summarise(ev.scores.assign(truth_se=0.0))
    noisy = ev.bias.set_index(["method", "channel"])
    exact_bias = exact_bias.set_index(["method", "channel"])
    width = noisy["bias_high"] - noisy["bias_low"]
    exact_width = exact_bias["bias_high"] - exact_bias["bias_low"]
    se = noisy["truth_se"]
    assert (width[se > 0] > exact_width[se > 0] * 1.01).all()
    assert np.allclose(width[se == 0], exact_width[se == 0])  # the banner's truth is exact
    m = ev.summary.set_index("method")
    e = exact.set_index("method")
    assert ((m["mae_high"] - m["mae_low"]) >= (e["mae_high"] - e["mae_low"]) - 1e-12).all()


@pytest.mark.slow
@pytest.mark.xdist_group("null_channel")
def test_ties_and_decisions_are_reported(null_channel):
    ev = null_channel
    s = ev.summary
    assert s["tied_with_best"].iloc[0] == True  # noqa: E712 (the best is tied with itself)
    assert s["tied_with_best"].dtype == "boolean"
    assert (s["mae_vs_best"].iloc[1:] > 0).all()
    d = ev.decisions.set_index("method")
    assert list(d.index) == ["truth", "last", "first", "markov"]
    # the truth's move goes to the channel with the highest marginal ROAS
    mroas = ev.truth.marginal_roas["roas"]
    assert d.loc["truth", "move_to"] == mroas.idxmax()
    assert d.loc["truth", "gain"] == pytest.approx(mroas.max() - mroas.min())
    assert (d.loc[["last", "first", "markov"], "regret"] >= -1e-12).all()


def test_truth_table_scales_to_the_replication():
    index = pd.Index(["a", "b"], name="channel")
    shapley = pd.DataFrame(
        {"conversions": [10.0, 5.0], "conversions_se": [1.0, 0.5], "value": [100.0, 50.0],
         "value_se": [10.0, 5.0]}, index=index,
    )  # fmt: skip
    spend = pd.DataFrame({"spend": [66.7, 0.0], "spend_se": [1.0, 0.0], "roas": [1.5, np.nan],
                          "roas_se": [0.2, np.nan]}, index=index)  # fmt: skip
    truth = SimpleNamespace(customers=1_000, totals={}, shapley=shapley, incremental=shapley,
                            spend=spend)  # fmt: skip
    table, caused, caused_se = truth_table(truth, 2_000)  # type: ignore[arg-type]
    assert table.loc["a", "conversions"] == 20.0 and table.loc["a", "conversions_se"] == 2.0
    assert table.loc["a", "roas"] == 1.5  # a ratio: not scaled
    assert caused == 30.0 and caused_se == pytest.approx(3.0)  # 2 + 1: an upper bound
    truth.totals = {"caused_se": 0.9}  # a truth that measures it
    assert truth_table(truth, 2_000)[2] == pytest.approx(1.8)  # type: ignore[arg-type]


def test_cli_evaluate_writes_everything(tmp_path):
    out = tmp_path / "results"
    res = runner.invoke(
        app, ["evaluate", "trap_null_channel", "--customers", "4000", "--replications", "2",
              "--method", "last", "--method", "markov", "--workers", "1", "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    names = {p.name for p in out.iterdir()}
    assert names == {"scores.csv", "summary.csv", "bias.csv", "truth.csv", "absolute.csv",
                     "decisions.csv", "evaluation.json", "error_heatmap.png",
                     "shares.png"}  # fmt: skip
    scores = pd.read_csv(out / "scores.csv")
    assert set(scores.method) == {"last", "markov"}
    assert np.allclose(scores.groupby(["replication", "method"]).share.sum(), 1.0)
    assert {"truth_se", "conversions", "truth_conversions", "roas", "truth_roas"} <= set(scores)
    summary = pd.read_csv(out / "summary.csv")
    assert {"tied_with_best", "over_credit", "over_credit_low", "roas_mae", "regret"} <= set(
        summary
    )
    decisions = pd.read_csv(out / "decisions.csv")
    assert list(decisions.method) == ["truth", "last", "markov"]
    text = " ".join(res.output.split())  # the table's caption wraps
    assert "Methods against the truth" in res.output and "banner" in res.output
    assert "truth: each channel's Shapley share of the conversions marketing caused" in text
    assert "incl. the truth's noise" in text and "not distinguishable from the best" in text
    assert "over-credit" in text and "ROAS error" in text and "caused (truth)" in text


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--method", "last_click"], ["last_click", "expected one of"]),
        (["--engine", "steam"], ["--engine", "'markov' or 'agents'"]),
        (["--replications", "0"], ["--replications 0", "at least 1"]),
    ],
)
def test_cli_evaluate_bad_options(tmp_path, args, needles):
    res = cjsim("evaluate", "textbook", "--out", "r", *args, cwd=tmp_path)
    assert_one_line_error(res, *needles)
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_a_harmful_channel_keeps_its_negative_true_share(tmp_path):
    """A banner that puts people off buying: its true share is negative, kept so (not
    clipped to 0) in the truth and the scores, and the CLI says so."""
    from tests.helpers.models import MODELS

    text = (MODELS / "trap_null_channel.toml").read_text(encoding="utf-8")
    text = text.replace('description = "Impressions everywhere, no effect"',
                        'description = "Impressions that put people off"\n'
                        'effects.decision = { lift = -0.2, to = ["purchase"] }')  # fmt: skip
    (tmp_path / "harm.toml").write_text(text, encoding="utf-8")
    res = CliRunner().invoke(app, ["evaluate", str(tmp_path / "harm.toml"), "--customers",
                                   "6000", "--replications", "2", "--out",
                                   str(tmp_path / "ev")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "banner has a negative true share" in " ".join(res.output.split())
    truth = pd.read_csv(tmp_path / "ev" / "truth.csv").set_index("channel")
    assert truth.loc["banner", "shapley_share"] < 0
    bias = pd.read_csv(tmp_path / "ev" / "bias.csv")
    assert (bias[bias.channel == "banner"].truth < 0).all()
