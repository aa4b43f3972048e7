"""Reading reports in tests: embedded images, a small experiment folder."""

from __future__ import annotations

import re
from pathlib import Path


def images(html: str) -> list[bytes]:
    import base64

    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def experiment(tmp_path: Path, text_extra: str = "") -> Path:
    from cjsim.experiment.config import load_experiment
    from cjsim.experiment.runner import run_experiment

    (tmp_path / "e.toml").write_text(
        'name = "tiny"\nmodel = "trap_null_channel"\ncustomers = 1500\nreplications = 3\n'
        'attribution = ["last", "linear"]\ntruth = true\n' + text_extra +
        "[scenarios.base]\n[scenarios.no_banner]\nchannels_off = [\"banner\"]\n"
    )  # fmt: skip
    run_experiment(load_experiment(tmp_path / "e.toml"), tmp_path / "out", workers=1)
    return tmp_path / "out"
