"""Lift tests with known truth: a user-level holdout, replicated and scored.

:func:`holdout_test` runs the ghost-ads design on a model: of ``customers`` customers a
random share ``holdout`` never sees ``channel`` (they are simulated as a market of their
own with the channel off), the others see everything; the difference in means of their
conversions and revenue estimates the channel's lift per customer
(:mod:`cjsim.scoring.lift`). Each replication draws new customers. The truth is the
channel's incremental effect per customer from the counterfactual runs of
:func:`~cjsim.simulate.truth.ground_truth` (everyone with the channel on against everyone
with it off, common random numbers), so each replication's interval can be checked
against it: over replications the share of intervals that hold the truth is the design's
coverage, the share that exclude zero its power.

What the design does not see, the truth does: the holdout is its own market, so word of
mouth from exposed customers never reaches it, and the exposed group's per-customer
budget is that of the whole market (a holdout in a real campaign frees budget for the
exposed). Where such spillovers matter (``trap_word_of_mouth``) coverage falls below the
level: the test is then biased, not unlucky.

:meth:`LiftStudy.calibration` writes the result in the forms MMM tools take for
calibration: PyMC-Marketing's lift-test table (``channel, x, delta_x, delta_y, sigma``),
Robyn's ``calibration_input`` (``channel, liftStartDate, liftEndDate, liftAbs, spend,
confidence, metric, calibration_scope``) and a log-normal ROI prior for Meridian
(``roi_mu, roi_sigma``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cjsim._io import write_text_atomic
from cjsim._pool import pool_map
from cjsim.errors import OptionError
from cjsim.model import JourneyModel
from cjsim.scoring.lift import (
    LiftEstimate,
    difference_in_means,
    minimum_detectable_lift,
    power,
    roi_prior,
)
from cjsim.scoring.noise import interval
from cjsim.simulate.run import simulate
from cjsim.simulate.truth import ground_truth

#: Columns of a lift study's table: one row per replication.
LIFT_COLUMNS = (
    "replication", "n_exposed", "n_holdout", "spend", "conversions_lift", "conversions_se",
    "conversions_low", "conversions_high", "value_lift", "value_se", "value_low",
    "value_high", "iroas", "iroas_low", "iroas_high", "covers_conversions", "covers_value",
    "significant",
)  # fmt: skip


def customer_outcomes(model: JourneyModel, customers: int, seed: Any) -> tuple[np.ndarray, ...]:
    """Per customer: converted (0/1, the first conversion) and its value; and the spend
    per channel (model order) of the run."""
    run = simulate(model, customers, rng=seed, keep_events=True)
    assert run.events is not None
    events = run.events
    conv = events[events["event"] == "conversion"]
    first = conv.drop_duplicates("customer_id")
    converted = np.zeros(customers)
    value = np.zeros(customers)
    ids = first["customer_id"].to_numpy(np.int64)
    converted[ids] = 1.0
    value[ids] = first["value"].to_numpy(np.float64)
    return converted, value, np.asarray(run.summary.spend, float)


def _replication(
    model: JourneyModel, channel: str, n_exposed: int, n_holdout: int,
    seed: np.random.SeedSequence, level: float,
) -> dict[str, float]:  # fmt: skip
    """One lift test: exposed and holdout groups drawn anew, estimated."""
    exposed_seed, holdout_seed = seed.spawn(2)
    dark = model.with_overrides(channels_off=[channel])
    conv_t, value_t, spend = customer_outcomes(model, n_exposed, exposed_seed)
    conv_h, value_h, _ = customer_outcomes(dark, n_holdout, holdout_seed)
    spend_c = float(spend[list(model.channels).index(channel)])
    conversions = difference_in_means(conv_t, conv_h, level)
    value = difference_in_means(value_t, value_h, level)
    per_customer_spend = spend_c / n_exposed
    roas = value.scaled(1 / per_customer_spend) if per_customer_spend > 0 else None
    return {
        "n_exposed": n_exposed, "n_holdout": n_holdout, "spend": spend_c,
        **_columns("conversions", conversions), **_columns("value", value),
        "iroas": roas.lift if roas else math.nan,
        "iroas_low": roas.low if roas else math.nan,
        "iroas_high": roas.high if roas else math.nan,
    }  # fmt: skip


def _columns(name: str, est: LiftEstimate) -> dict[str, float]:
    return {f"{name}_lift": est.lift, f"{name}_se": est.se, f"{name}_low": est.low,
            f"{name}_high": est.high}  # fmt: skip


@dataclass
class LiftStudy:
    """Replicated lift tests of one channel and the truth they estimate.

    Attributes
    ----------
    table : DataFrame
        One row per replication (:data:`LIFT_COLUMNS`; lifts per customer).
    truth : dict
        The channel's true lift per customer (``conversions``, ``value`` and their
        ``*_se``) and its true incremental ROAS (``iroas``, ``iroas_se``).
    summary : dict
        Mean estimates with intervals over replications, ``coverage`` of the intervals
        (with a binomial interval), ``power`` (share significant), ``expected_power`` and
        the ``mdl`` (minimum detectable lift at 80% power) of the design.
    settings : dict
    """

    table: pd.DataFrame
    truth: dict[str, float]
    summary: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)

    def calibration(self, fmt: str, *, days: float, start: date) -> pd.DataFrame:
        """The study's result as a calibration input of ``pymc``, ``robyn`` or
        ``meridian``: the replications pooled (as one test of ``replications x
        customers`` customers would measure), for the market of one test (``customers``)
        over the model's ``days``."""
        s, channel = self.summary, self.settings["channel"]
        market = self.settings["customers"]
        spend = s["spend"] * market / self.settings["n_exposed"]  # the market's spend
        lift, se = s["value_lift"] * market, s["value_se"] * market
        if fmt == "pymc":
            return pd.DataFrame([{"channel": channel, "x": spend, "delta_x": -spend,
                                  "delta_y": -lift, "sigma": se}])  # fmt: skip
        if fmt == "robyn":
            end = start + timedelta(days=max(0, math.ceil(days) - 1))
            level = self.settings["level"]
            return pd.DataFrame([{"channel": channel, "liftStartDate": start.isoformat(),
                                  "liftEndDate": end.isoformat(), "liftAbs": lift,
                                  "spend": spend, "confidence": level, "metric": "revenue",
                                  "calibration_scope": "immediate"}])  # fmt: skip
        if fmt == "meridian":
            roi, roi_se = s["iroas"], s["iroas_se"]
            if not roi > 0:
                raise OptionError(
                    f"the measured ROAS of {channel} is {roi:.3g}; a log-normal ROI prior "
                    "needs a positive one"
                )
            mu, sigma = roi_prior(roi, roi_se)
            return pd.DataFrame([{"channel": channel, "roi_mu": mu, "roi_sigma": sigma,
                                  "roi": roi, "roi_se": roi_se}])  # fmt: skip
        raise OptionError(f"calibration format {fmt!r}; expected pymc, robyn or meridian")

    def write(self, folder: str | Path, *, days: float, start: date) -> list[Path]:
        """Write ``lift.csv``, ``lift.json`` (truth, summary, settings) and the calibration
        inputs ``calibration_<tool>.csv``, each atomically; returns the paths written."""
        out = Path(folder)
        out.mkdir(exist_ok=True)
        written = [out / "lift.csv", out / "lift.json"]
        write_text_atomic(written[0], self.table.to_csv(index=False))
        meta = {"settings": self.settings, "truth": self.truth, "summary": self.summary}
        write_text_atomic(written[1], json.dumps(meta, indent=2, default=float) + "\n")
        for fmt in ("pymc", "robyn", "meridian"):
            with contextlib.suppress(OptionError):  # no ROI prior from a ROAS <= 0
                frame = self.calibration(fmt, days=days, start=start)
                write_text_atomic(out / f"calibration_{fmt}.csv", frame.to_csv(index=False))
                written.append(out / f"calibration_{fmt}.csv")
        return written


def holdout_test(
    model: JourneyModel,
    channel: str,
    customers: int = 100_000,
    *,
    holdout: float = 0.1,
    replications: int = 20,
    rng: int | None = None,
    truth_customers: int | None = None,
    level: float = 0.95,
    workers: int | None = None,
) -> LiftStudy:
    """Replicate a user-level holdout test of ``channel`` and score it against the truth.

    Parameters
    ----------
    model : JourneyModel
    channel : str
        The paid channel tested.
    customers : int
        Customers in each test (exposed and holdout together).
    holdout : float
        Share of them who never see the channel.
    replications : int
        Independent tests (new customers each).
    truth_customers : int, optional
        Customers per counterfactual run of the truth (default: ``10 * customers``).
    level : float
        Confidence level of each test's interval.
    """
    if channel not in model.channels or model.channels[channel].type != "paid":
        paid = ", ".join(n for n, c in model.channels.items() if c.type == "paid")
        raise OptionError(f"channel {channel!r}: expected a paid channel of the model ({paid})")
    if not 0 < holdout < 1:
        raise OptionError(f"holdout {holdout!r}: expected a share between 0 and 1, e.g. 0.1")
    n_holdout = round(customers * holdout)
    if n_holdout < 2 or customers - n_holdout < 2:
        raise OptionError(
            f"customers {customers} with holdout {holdout}: expected at least 2 customers in "
            "each group"
        )
    if replications < 2:
        raise OptionError(f"replications {replications!r}: expected at least 2")
    root = np.random.SeedSequence(rng)
    truth_seed, *seeds = root.spawn(replications + 1)
    workers = workers or os.cpu_count() or 1
    truth = _truth(model, channel, truth_customers or 10 * customers, truth_seed, workers)
    args = [(model, channel, customers - n_holdout, n_holdout, s, level) for s in seeds]
    if workers > 1:
        rows = pool_map(_replication, *zip(*args, strict=True), workers=min(workers, len(args)))
    else:
        rows = [_replication(*a) for a in args]
    table = pd.DataFrame(rows).assign(replication=range(replications))
    table["covers_conversions"] = (table["conversions_low"] <= truth["conversions"]) & (
        truth["conversions"] <= table["conversions_high"]
    )
    table["covers_value"] = (table["value_low"] <= truth["value"]) & (
        truth["value"] <= table["value_high"]
    )
    table["significant"] = (table["conversions_low"] > 0) | (table["conversions_high"] < 0)
    table = table[list(LIFT_COLUMNS)]
    settings = {"model": model.name, "model_hash": model.content_hash(), "channel": channel,
                "customers": customers, "n_exposed": customers - n_holdout,
                "n_holdout": n_holdout, "holdout": holdout, "replications": replications,
                "truth_customers": truth_customers or 10 * customers, "level": level,
                "seed": int(root.entropy) if isinstance(root.entropy, int) else None}  # fmt: skip
    return LiftStudy(table, truth, _summary(table, truth, level), settings)


def _truth(
    model: JourneyModel, channel: str, customers: int, seed: np.random.SeedSequence, workers: int
) -> dict[str, float]:
    """The channel's true lift per customer and incremental ROAS."""
    truth = ground_truth(
        model, customers, rng=int(seed.generate_state(1)[0]), channels=[channel],
        shapley=False, marginal_roas=False, workers=workers,
    )  # fmt: skip
    inc = truth.incremental.loc[channel]
    spend = truth.spend.loc[channel] if channel in truth.spend.index else None
    return {
        "conversions": float(inc["conversions"]) / customers,
        "conversions_se": float(inc["conversions_se"]) / customers,
        "value": float(inc["value"]) / customers,
        "value_se": float(inc["value_se"]) / customers,
        "iroas": float(spend["roas"]) if spend is not None else math.nan,
        "iroas_se": float(spend["roas_se"]) if spend is not None else math.nan,
    }


def _summary(table: pd.DataFrame, truth: dict[str, float], level: float) -> dict[str, Any]:
    """Means over replications with intervals, coverage, power and the design's MDL."""
    from scipy.stats import beta

    out: dict[str, Any] = {}
    for col in ("conversions_lift", "value_lift", "iroas", "spend"):
        mean, low, high = interval(table[col].to_numpy(), level)
        out[col] = mean
        out[f"{col}_low"], out[f"{col}_high"] = low, high
    out["value_se"] = float(np.sqrt(np.mean(table["value_se"] ** 2)) / math.sqrt(len(table)))
    out["iroas_se"] = float(table["iroas"].std(ddof=1) / math.sqrt(len(table)))
    for name, col in (("coverage", "covers_conversions"), ("coverage_value", "covers_value"),
                      ("power", "significant")):  # fmt: skip
        k, n = int(table[col].sum()), len(table)
        out[name] = k / n
        # Clopper-Pearson interval of a share of replications
        out[f"{name}_low"] = float(beta.ppf((1 - level) / 2, k, n - k + 1)) if k else 0.0
        out[f"{name}_high"] = float(beta.ppf((1 + level) / 2, k + 1, n - k)) if k < n else 1.0
    se = float(np.sqrt(np.mean(table["conversions_se"] ** 2)))
    out["expected_power"] = power(truth["conversions"], se, level)
    out["mdl"] = minimum_detectable_lift(se, level)
    out["bias"] = out["conversions_lift"] - truth["conversions"]
    return out
