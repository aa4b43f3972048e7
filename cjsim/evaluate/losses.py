"""How each attribution method's error grows as tracking loses more of the journeys.

:func:`evaluate_losses` observes every replication's log under a profile scaled to each
loss level (:meth:`~cjsim.observe.Profile.at_level`: 0 records everything, 1 is the
profile) and scores every method at every level against the one truth. The levels share
the logs, the observation's random numbers and the attribution's, so the curves differ
by the loss alone: at a higher level the same draws lose a superset of events.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cjsim._io import write_text_atomic
from cjsim.errors import OptionError
from cjsim.evaluate.scores import EVALUATED_METHODS, Evaluation
from cjsim.evaluate.study import Study
from cjsim.model import JourneyModel
from cjsim.observe import Profile

#: Loss levels swept by default.
LOSS_LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)

#: Columns of the sweep's table, per level and method.
SWEEP_COLUMNS = (
    "level", "method", "mae", "mae_low", "mae_high", "rank_corr", "over_credit",
    "over_credit_low", "over_credit_high", "roas_mae", "regret",
)  # fmt: skip


@dataclass
class LossSweep:
    """Every method scored at every loss level of one profile.

    Attributes
    ----------
    profile : Profile
        The profile at level 1.
    levels : tuple of float
    table : DataFrame
        Per level and method: :data:`SWEEP_COLUMNS` (as in
        :attr:`~cjsim.evaluate.Evaluation.summary`).
    evaluations : list of Evaluation
        The full evaluation at each level, in the order of ``levels``.
    """

    profile: Profile
    levels: tuple[float, ...]
    table: pd.DataFrame
    evaluations: list[Evaluation]

    def write(self, folder: str | Path) -> list[Path]:
        """Write ``sweep.csv``, ``sweep.json`` and ``sweep.png``, and the evaluation at the
        profile's own level (the highest) as :meth:`Evaluation.write` does."""
        from cjsim.report.figures import save_figure
        from cjsim.report.figures_loss import loss_sweep_chart

        out = Path(folder)
        written = self.evaluations[-1].write(out)
        write_text_atomic(out / "sweep.csv", self.table.to_csv(index=False))
        meta = {"profile": self.profile.name, "profile_hash": self.profile.content_hash(),
                "levels": list(self.levels)}  # fmt: skip
        write_text_atomic(out / "sweep.json", json.dumps(meta, indent=2) + "\n")
        figure = save_figure(loss_sweep_chart(self.table, self.profile.name), out / "sweep.png")
        return [*written, out / "sweep.csv", out / "sweep.json", figure]


def evaluate_losses(
    model: JourneyModel,
    profile: Profile,
    levels: Sequence[float] = LOSS_LEVELS,
    customers: int = 100_000,
    *,
    replications: int = 3,
    rng: int | None = None,
    methods: tuple[str, ...] = EVALUATED_METHODS,
    truth_customers: int | None = None,
    multi_conversion: bool = False,
    level: float = 0.95,
    workers: int | None = None,
    engine: str = "markov",
) -> LossSweep:
    """Score attribution methods at each loss level of an observation profile.

    Parameters are those of :func:`cjsim.evaluate.evaluate`, and:

    profile : Profile
        The losses at level 1 (:func:`cjsim.observe.load_profile`).
    levels : sequence of float
        Loss levels in [0, 1], each at most once; sorted.
    """
    chosen = tuple(sorted(float(x) for x in levels))
    if not chosen or len(set(chosen)) != len(chosen):
        raise OptionError(f"loss levels {list(levels)!r}: expected distinct numbers in [0, 1]")
    views = tuple(profile.at_level(x) for x in chosen)  # levels outside [0, 1] stop here
    study = Study.run(
        model, customers, replications, rng, methods, truth_customers, multi_conversion,
        level, workers, engine, views,
    )  # fmt: skip
    evaluations = [study.evaluation(i) for i in range(len(views))]
    rows: list[dict[str, Any]] = []
    for x, evaluation in zip(chosen, evaluations, strict=True):
        summary = evaluation.summary.assign(level=x)
        rows += summary.reindex(columns=list(SWEEP_COLUMNS)).to_dict("records")
    table = pd.DataFrame(rows, columns=list(SWEEP_COLUMNS))
    return LossSweep(profile, chosen, table, evaluations)
