"""Scoring marketing-mix models against the truth: true ROAS per channel over a panel.

:func:`mmm_truth` measures each paid channel's incremental ROAS (what it caused over
what it spent, the quantity an MMM's contribution over spend estimates) and marginal ROAS
over the model's horizon by counterfactual runs with common random numbers
(:func:`~cjsim.simulate.truth.ground_truth`); :func:`response_curves` the true response
of each paid channel to its budget: the value it adds over the channel off at each budget
multiple, on the same customers. :func:`evaluate_mmm` simulates a log,
builds its panel, fits the baseline MMM (:mod:`cjsim.mmm`) and scores it -- and any
estimates a user brings (a CSV of ``channel, roas[, roas_low, roas_high]`` from
PyMC-Marketing, Meridian, Robyn...) -- against that truth.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cjsim._io import write_text_atomic
from cjsim.errors import OptionError
from cjsim.mmm import fit_mmm
from cjsim.model import JourneyModel
from cjsim.panel import build_panel
from cjsim.simulate.run import simulate
from cjsim.simulate.truth import ground_truth

#: Columns of an MMM evaluation, one row per source of estimates and channel.
MMM_COLUMNS = (
    "source", "channel", "true_roas", "true_roas_se", "true_marginal_roas", "roas",
    "roas_low", "roas_high", "error", "covered",
)  # fmt: skip


def mmm_truth(model: JourneyModel, customers: int, *, rng: int, workers: int | None = None
              ) -> pd.DataFrame:  # fmt: skip
    """Per paid channel: ``spend, incremental_value, roas, roas_se, marginal_roas,
    marginal_roas_se`` over the model's horizon (counterfactual runs, CRN)."""
    paid = [n for n, c in model.channels.items() if c.type == "paid"]
    truth = ground_truth(model, customers, rng=rng, channels=paid, shapley=False, workers=workers)
    spend = truth.spend.reindex(paid)
    table = pd.DataFrame(
        {
            "spend": spend["spend"],
            "incremental_value": truth.incremental["value"].reindex(paid),
            "roas": spend["roas"],
            "roas_se": spend["roas_se"],
            "marginal_roas": truth.marginal_roas["roas"].reindex(paid),
            "marginal_roas_se": truth.marginal_roas["roas_se"].reindex(paid),
        },
        index=pd.Index(paid, name="channel"),
    )
    return table.reset_index()


#: Budget multiples of a true response curve (0: the channel off).
CURVE_MULTIPLES = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0)


def response_curves(
    model: JourneyModel,
    customers: int,
    *,
    rng: int,
    multiples: tuple[float, ...] = CURVE_MULTIPLES,
    workers: int | None = None,
) -> pd.DataFrame:
    """Per paid channel and budget multiple: the channel's ``spend``, the ``value`` and
    ``conversions`` it adds over the channel off (with CRN standard errors ``*_se``) and
    their ratio ``roas``, every other channel at its budget."""
    from cjsim.simulate.counterfactual import block_sizes, paired, run_scenarios

    paid = [n for n, c in model.channels.items() if c.type == "paid"]
    index = {n: i for i, n in enumerate(model.channels)}

    def scenario(
        channel: str, multiple: float
    ) -> tuple[frozenset[str], tuple[tuple[str, float], ...]]:
        if multiple == 0:
            return (frozenset([channel]), ())
        return (frozenset(), ((channel, float(multiple)),) if multiple != 1 else ())

    todo = [scenario(c, m) for c in paid for m in (0.0, *multiples)]
    runs = run_scenarios(model, customers, rng, todo, False, workers or os.cpu_count() or 1)
    sizes = block_sizes(customers)
    rows = []
    for c in paid:
        off = runs[scenario(c, 0.0)]
        for m in multiples:
            on = runs[scenario(c, m)]
            diff, se, _ = paired(on[:, :2], off[:, :2], sizes)
            spend = float(on[:, 2 + index[c]].sum())
            rows.append({"channel": c, "multiple": m, "spend": spend,
                         "conversions": float(diff[0]), "conversions_se": float(se[0]),
                         "value": float(diff[1]), "value_se": float(se[1]),
                         "roas": float(diff[1]) / spend if spend > 0 else np.nan})  # fmt: skip
    return pd.DataFrame(rows)


def read_estimates(path: str | Path) -> pd.DataFrame:
    """A user's MMM estimates: a CSV with ``channel`` and ``roas`` (and optional
    ``roas_low``, ``roas_high``)."""
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise OptionError(f"cannot be read as CSV ({exc})", source=str(path)) from None
    missing = [c for c in ("channel", "roas") if c not in frame.columns]
    if missing:
        raise OptionError(
            f"has no column {', '.join(missing)}; expected channel, roas[, roas_low, roas_high]",
            source=str(path),
        )
    bad = pd.to_numeric(frame["roas"], errors="coerce").isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2  # the header is line 1
        raise OptionError(
            f"line {row}: roas {frame['roas'].iloc[row - 2]!r}; expected a number",
            source=str(path),
        )
    return frame


@dataclass
class MMMEvaluation:
    """MMM estimates scored against the true ROAS (see :data:`MMM_COLUMNS`)."""

    table: pd.DataFrame
    truth: pd.DataFrame
    panel: pd.DataFrame
    summary: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def write(self, folder: str | Path) -> list[Path]:
        """Write ``mmm.csv``, ``mmm_summary.csv``, ``mmm_truth.csv``, ``panel.csv`` and
        ``mmm.json`` (the settings), each atomically."""
        out = Path(folder)
        out.mkdir(exist_ok=True)
        files = {"mmm.csv": self.table, "mmm_summary.csv": self.summary,
                 "mmm_truth.csv": self.truth, "panel.csv": self.panel}  # fmt: skip
        for name, frame in files.items():
            write_text_atomic(out / name, frame.to_csv(index=False))
        write_text_atomic(out / "mmm.json", json.dumps(self.settings, indent=2) + "\n")
        return [out / n for n in (*files, "mmm.json")]


def score_estimates(source: str, estimates: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """One source's ROAS per channel against the truth's (channels the truth lacks are
    left out; a channel the source lacks is NaN)."""
    est = estimates.set_index("channel")
    rows = []
    for rec in truth.itertuples(index=False):
        got = est.loc[rec.channel] if rec.channel in est.index else None
        roas = float(got["roas"]) if got is not None else np.nan
        low = float(got["roas_low"]) if got is not None and "roas_low" in est else np.nan
        high = float(got["roas_high"]) if got is not None and "roas_high" in est else np.nan
        covered = bool(low <= rec.roas <= high) if np.isfinite(low) else None
        rows.append({"source": source, "channel": rec.channel, "true_roas": rec.roas,
                     "true_roas_se": rec.roas_se, "true_marginal_roas": rec.marginal_roas,
                     "roas": roas, "roas_low": low, "roas_high": high,
                     "error": roas - rec.roas, "covered": covered})  # fmt: skip
    return pd.DataFrame(rows, columns=list(MMM_COLUMNS))


def evaluate_mmm(
    model: JourneyModel,
    customers: int = 100_000,
    *,
    freq: str = "day",
    rng: int | None = None,
    truth_customers: int | None = None,
    estimates: dict[str, pd.DataFrame] | None = None,
    bootstrap: int = 100,
    workers: int | None = None,
    controls: tuple[str, ...] = (),
) -> MMMEvaluation:
    """Simulate a log, fit the baseline MMM on its panel (with the panel's ``controls``
    beside intercept and trend, e.g. ``("in_market",)``) and score it (and ``estimates``:
    source name -> DataFrame of ``channel, roas[, roas_low, roas_high]``) against the
    true ROAS of each paid channel."""
    from cjsim.panel import CONTROLS

    unknown = [c for c in controls if c not in CONTROLS]
    if unknown:
        raise OptionError(
            f"MMM control {', '.join(map(repr, unknown))}; expected any of: {', '.join(CONTROLS)}"
        )
    root = np.random.SeedSequence(rng)
    log_seed, truth_seed, fit_seed = root.spawn(3)
    workers = workers or os.cpu_count() or 1
    run = simulate(model, customers, rng=log_seed, keep_events=True)
    assert run.events is not None
    panel = build_panel(run.events, model, freq)
    truth_n = truth_customers or customers
    truth = mmm_truth(model, truth_n, rng=int(truth_seed.generate_state(1)[0]), workers=workers)
    scale = customers / truth_n  # the truth's spend and value, at the log's size
    truth["spend"] *= scale
    truth["incremental_value"] *= scale
    paid = list(truth["channel"])
    fit = fit_mmm(panel.frame, paid, bootstrap=bootstrap, controls=controls,
                  rng=int(fit_seed.generate_state(1)[0]))  # fmt: skip
    sources = {"baseline_mmm": fit.table, **(estimates or {})}
    table = pd.concat(
        [score_estimates(name, est, truth) for name, est in sources.items()], ignore_index=True
    )
    summary = (
        table.assign(abs_error=table["error"].abs())
        .groupby("source", sort=False)
        .agg(roas_mae=("abs_error", "mean"), coverage=("covered", "mean"))
        .reset_index()
    )
    settings = {"model": model.name, "model_hash": model.content_hash(), "customers": customers,
                "truth_customers": truth_n, "freq": freq, "periods": len(panel.frame),
                "seed": int(root.entropy) if isinstance(root.entropy, int) else None,
                "bootstrap": bootstrap, "r2": fit.r2, "sources": list(sources),
                "controls": list(controls)}  # fmt: skip
    return MMMEvaluation(table, truth, panel.frame, summary, settings)
