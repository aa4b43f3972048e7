"""Scoring attribution on observed logs: the same truth, the logs as tracking sees them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cjsim.evaluate import evaluate, evaluate_losses
from cjsim.observe import load_profile
from tests.helpers.cli import assert_one_line_error, cjsim
from tests.helpers.models import shipped

METHODS = ("last", "linear", "markov")
SIZE = dict(replications=2, rng=4, methods=METHODS, workers=1)


@pytest.fixture(scope="module")
def sweep():  # type: ignore[no-untyped-def]
    model = shipped("trap_upper_funnel")
    return evaluate_losses(model, load_profile("typical_web_2026"), (0, 0.5, 1), 2_000, **SIZE)


def test_a_perfect_view_and_level_zero_score_as_the_log_itself(sweep) -> None:  # type: ignore[no-untyped-def]
    model = shipped("trap_upper_funnel")
    plain = evaluate(model, 2_000, **SIZE)  # type: ignore[arg-type]
    perfect = evaluate(model, 2_000, observe=load_profile("perfect"), **SIZE)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(plain.scores, perfect.scores, check_exact=True)
    pd.testing.assert_frame_equal(plain.scores, sweep.evaluations[0].scores, check_exact=True)
    assert perfect.settings["observe"]["profile"] == "perfect"
    assert "observe" not in plain.settings


def test_the_sweep_scores_every_method_at_every_level(sweep) -> None:  # type: ignore[no-untyped-def]
    table = sweep.table
    assert len(table) == 3 * len(METHODS)
    assert set(table["level"]) == {0.0, 0.5, 1.0}
    mae = table.pivot(index="method", columns="level", values="mae")
    # TV never reaches a path under the profile: at level 1 it gets no credit at all
    assert (mae[1.0] > mae[0.0]).all()
    credit = sweep.evaluations[-1].scores
    assert credit.loc[credit["channel"] == "tv", "conversions"].fillna(0).eq(0).all()


def test_cli_writes_the_sweep_and_refuses_bad_levels(tmp_path: Path) -> None:
    args = ("evaluate", "trap_upper_funnel", "--customers", "1500", "--replications", "2",
            "-m", "last", "-m", "markov", "--workers", "1")  # fmt: skip
    res = cjsim(*args, "--out", "ev", "--observe", "strict_privacy", "--loss-levels", "0,1",
                cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "strict_privacy records" in res.stdout
    for name in ("sweep.csv", "sweep.png", "sweep.json", "summary.csv"):
        assert (tmp_path / "ev" / name).is_file()
    assert len(pd.read_csv(tmp_path / "ev" / "sweep.csv")) == 4
    for extra, needles in (
        (("--loss-levels", "0,1"), ("--loss-levels", "--observe")),
        (("--observe", "perfect", "--loss-levels", "0,x"), ("--loss-levels", "[0, 1]")),
        (("--observe", "perfect", "--loss-levels", "0,0"), ("distinct",)),
        (("--observe", "nonesuch"), ("nonesuch", "typical_web_2026")),
    ):
        res = cjsim(*args, "--out", "bad", *extra, cwd=tmp_path)
        assert_one_line_error(res, *needles)
        assert not (tmp_path / "bad").exists()
