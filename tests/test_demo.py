"""The demo pipeline as a library call: what `cjsim demo` shows, without the terminal."""

from __future__ import annotations

import numpy as np
import pytest

from cjsim.demo import DEMO_METHODS, run
from cjsim.errors import CjsimError


def test_demo_run_returns_what_the_command_prints(tmp_path):
    stages = []

    def stage(text):
        import contextlib

        stages.append(text)
        return contextlib.nullcontext()

    result = run(3000, seed=1, events=tmp_path / "e.parquet", report=None, stage=stage)
    assert result.report_path is None and not list(tmp_path.glob("*.html"))
    assert (tmp_path / "e.parquet").stat().st_size > 0
    assert result.summary.customers == 3000
    truth = result.truth
    assert truth is not None
    assert list(truth.shares.columns) == ["truth", *DEMO_METHODS]
    assert list(truth.shares.index) == list(result.model.channels)
    # each method's shares add up to one (a method crediting no channel would show 0s)
    assert np.allclose(truth.shares[list(DEMO_METHODS)].sum(), 1.0)
    assert set(truth.mean_abs_error) == set(DEMO_METHODS)
    mae = (truth.shares[list(DEMO_METHODS)].sub(truth.shares["truth"], axis=0)).abs().mean()
    assert mae.to_dict() == pytest.approx(truth.mean_abs_error)
    experiment = result.experiment
    assert experiment.baseline in experiment.scenarios
    assert set(experiment.summary["scenario"]) == set(experiment.scenarios)
    assert stages == ["attribution vs ground truth...", "drawing the figures...",
                      "what-if experiment..."]  # fmt: skip
    assert result.report.sections


def test_demo_run_writes_the_report(tmp_path):
    result = run(1500, seed=2, report=tmp_path / "d.html")
    assert result.report_path == tmp_path / "d.html"
    assert "cjsim demo" in (tmp_path / "d.html").read_text(encoding="utf-8")


def test_demo_run_speaks_of_parameters():
    with pytest.raises(CjsimError, match="customers=0"):
        run(0, report=None)
