"""The curated notebook API: everything the demo does, from `import cjsim` alone."""

from __future__ import annotations

import subprocess
import sys

import cjsim


def test_every_listed_name_is_there_and_documented():
    for name in cjsim.__all__:
        value = getattr(cjsim, name)
        if callable(value) and not isinstance(value, type):
            assert (value.__doc__ or "").strip(), name
    assert set(cjsim._LAZY) <= set(dir(cjsim))


def test_callable_packages_stay_callable_after_their_modules_are_imported():
    code = (
        "import cjsim.simulate.markov, cjsim.report.build, cjsim.evaluate, cjsim\n"
        "m = cjsim.load_model('dentist')\n"
        "run = cjsim.simulate(m, 200, rng=1, keep_events=True)\n"
        "print(type(run).__name__, len(run.events) > 0, callable(cjsim.report),"
        " callable(cjsim.evaluate), cjsim.simulate.markov.__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)  # fmt: skip
    assert done.stdout.split() == ["Simulation", "True", "True", "True", "cjsim.simulate.markov"]


def test_a_notebook_does_what_the_demo_does(tmp_path):
    model = cjsim.load_model("ecommerce")
    assert cjsim.funnel(model).p_conversion > 0
    run = cjsim.simulate(model, 3000, rng=2, keep_events=True, out=tmp_path / "e.parquet")
    paths, _ = cjsim.paths_from_events(run.events)
    result = cjsim.attribute(paths, ("last", "markov", "shapley"), rng=2)
    truth = cjsim.ground_truth(model, 3000, rng=2, shapley=False, marginal_roas=False)
    assert set(truth.shares("incremental").index) == set(model.channels)
    assert set(result.methods) == {"last", "markov", "shapley"}
    path = cjsim.report(tmp_path / "e.parquet", tmp_path / "r.html")
    assert path == tmp_path / "r.html" and path.stat().st_size > 0
    experiment = cjsim.load_experiment("budget_shift").with_settings(customers=1000,
                                                                      replications=2)  # fmt: skip
    out = cjsim.run_experiment(experiment, tmp_path / "run", workers=1)
    assert not out.summary.empty
