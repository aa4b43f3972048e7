r"""Geo experiments with known truth: a channel's budget changes in some geos, replicated.

:func:`geo_test` runs a geo test on a model with geos (``[geos.*]``): each replication
draws new customers, picks a random half of the geos and, from ``start_day`` on, sets the
channel's budget there to ``multiple`` times its own -- 0 (the default) is a **go-dark**
test, 2 a **heavy-up** (double the budget), anything between a pull-back; the other geos
are the controls. Three estimators of the effect of the budget difference in the treated
geos after ``start_day`` (what the higher budget gained over the lower: for a go-dark test
what the channel was worth, for a heavy-up what the extra money bought), each in
conversions (or revenue) per 1,000 customers over the test period, with an interval:

* **difference in differences** (geo level): per geo the change of its daily outcome per
  customer from before to after the start, :math:`d_g = \bar y_{g,post} - \bar y_{g,pre}`;
  the estimate is :math:`\bar d_{control} - \bar d_{treated}` (a heavy-up: treated minus
  control) with a Welch t-interval over geos;
* **difference in means** of the after-period outcome per customer, controls minus treated
  (Welch over geos; no use of the period before);
* **synthetic control**: non-negative weights on the control geos that sum to 1 and fit the
  treated geos' daily outcome per customer before the start; the estimate is the mean
  after the start of the weighted controls minus the treated, its interval from the
  placebo effects of the control geos (each in turn taken as treated).

The truth of each replication is exact: the treated geos are simulated again at their own
budget, with the same random numbers (each geo has a stream of its own,
:mod:`cjsim.simulate.geos`), and the difference after the start is what the test changed.
Over replications the share of intervals that hold it is each estimator's coverage, the
share that exclude zero its power. The spend the test changed is measured the same way,
each touch at its geo's and its day's cost, so the study also gives the incremental ROAS
the test measures and the calibration inputs of PyMC-Marketing, Robyn and Meridian.

References
----------
Vaver, J. & Koehler, J. (2011). Measuring ad effectiveness using geo experiments. Google.
Abadie, A., Diamond, A. & Hainmueller, J. (2010). Synthetic control methods for
comparative case studies. *JASA* 105(490).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from cjsim._pool import pool_map
from cjsim.errors import OptionError
from cjsim.model import JourneyModel
from cjsim.model.geos import geo_customers, geo_world
from cjsim.scoring.lift import (
    difference_in_means,
    minimum_detectable_lift,
    roi_prior,
    t_quantile,
)
from cjsim.scoring.noise import interval

ESTIMATORS = ("did", "difference_in_means", "synthetic_control")
#: The largest budget multiple of a heavy-up test.
MAX_MULTIPLE = 100.0


def _design_name(multiple: float) -> str:
    return "go-dark" if multiple == 0 else "pull-back" if multiple < 1 else "heavy-up"


def synthetic_weights(treated: np.ndarray, donors: np.ndarray) -> np.ndarray:
    """Non-negative donor weights summing to 1 that fit ``treated`` (T,) by ``donors``
    (T, J) in least squares."""
    from scipy.optimize import minimize

    J = donors.shape[1]

    def loss(w: np.ndarray) -> float:
        r = treated - donors @ w
        return float(r @ r)

    res = minimize(loss, np.full(J, 1 / J), method="SLSQP", bounds=[(0, 1)] * J,
                   constraints=({"type": "eq", "fun": lambda w: w.sum() - 1},))  # fmt: skip
    return np.asarray(res.x)


def _synthetic(y: np.ndarray, treated: np.ndarray, weights: np.ndarray, pre: np.ndarray
               ) -> float:  # fmt: skip
    """Mean after the start of the synthetic control minus the treated aggregate."""
    donors = y[:, ~treated]
    target = (y[:, treated] * weights[treated]).sum(axis=1) / weights[treated].sum()
    w = synthetic_weights(target[pre], donors[pre])
    return float((donors[~pre] @ w - target[~pre]).mean())


def estimate(
    y: np.ndarray, treated: np.ndarray, population: np.ndarray, start: int, level: float
) -> dict[str, float]:
    """The three estimates (and intervals) from daily outcomes per customer ``y`` (T, G)."""
    pre = np.arange(y.shape[0]) < start
    d = y[~pre].mean(axis=0) - y[pre].mean(axis=0)
    out: dict[str, float] = {}
    for name, values in (("did", d), ("difference_in_means", y[~pre].mean(axis=0))):
        est = difference_in_means(values[~treated], values[treated], level, student=True)
        out.update({name: est.lift, f"{name}_se": est.se, f"{name}_low": est.low,
                    f"{name}_high": est.high})  # fmt: skip
    sc = _synthetic(y, treated, population, pre)
    controls = np.flatnonzero(~treated)
    placebos = []
    for g in controls:  # each control geo in turn as the treated one, the others as donors
        mask = np.zeros_like(treated)
        mask[g] = True
        rest = ~treated & ~mask
        if rest.sum() >= 1:
            sub = np.where(rest | mask)[0]
            placebos.append(_synthetic(y[:, sub], mask[sub], population[sub], pre))
    spread = float(np.std(placebos, ddof=1)) if len(placebos) > 1 else math.nan
    half = t_quantile(level, len(placebos) - 1) * spread
    out.update({"synthetic_control": sc, "synthetic_control_se": spread,
                "synthetic_control_low": sc - half,
                "synthetic_control_high": sc + half})  # fmt: skip
    return out


def daily_outcomes(events: pd.DataFrame, geos: list[str], days: int, target: str) -> np.ndarray:
    """Outcome (conversions or revenue) per day and geo, (days, G)."""
    conv = events[events["event"] == "conversion"]
    day = np.minimum(np.floor(conv["time"].to_numpy(float)).astype(np.int64), days - 1)
    g = pd.Categorical(conv["geo"].astype(str), categories=geos).codes
    weight = conv["value"].to_numpy(float) if target == "revenue" else None
    flat = np.bincount(day * len(geos) + g, weights=weight, minlength=days * len(geos))
    return flat.reshape(days, len(geos))


def _replication(
    model: JourneyModel, channel: str, customers: int, start: int, target: str,
    seed: np.random.SeedSequence, level: float, multiple: float = 0.0,
) -> dict[str, Any]:  # fmt: skip
    """One geo test: treated geos drawn, the log simulated with their budgets changed and
    (the truth) at their own."""
    from cjsim.simulate.geos import simulate_geos

    pick_seed, sim_seed = seed.spawn(2)
    geos = list(model.geos)
    G = len(geos)
    treated = np.zeros(G, dtype=bool)
    treated[np.random.default_rng(pick_seed).permutation(G)[: G // 2]] = True
    chosen = [g for g, t in zip(geos, treated, strict=True) if t]
    dark = {g: changed_world(model, g, channel, start, multiple) for g in chosen}
    days = math.ceil(model.horizon_days)
    entropy = int(sim_seed.generate_state(1)[0])
    _, seen = simulate_geos(model, customers, rng=entropy, worlds=dark)
    _, lit = simulate_geos(model, customers, rng=entropy, only=chosen)  # the controls: as seen
    sizes = geo_customers(model, customers)
    population = np.array([sizes[g] for g in geos], dtype=float)
    y_seen = daily_outcomes(seen, geos, days, target) / population
    y_lit = daily_outcomes(lit, geos, days, target) / population
    post = np.arange(days) >= start
    # what the higher budget gained over the lower in the treated geos after the start,
    # per customer and day (go dark: what the channel was worth there)
    sign = 1.0 if multiple < 1 else -1.0
    diff = y_lit - y_seen if sign > 0 else y_seen - y_lit
    truth = float((diff[post][:, treated] * population[treated]).sum()
                  / population[treated].sum() / post.sum())  # fmt: skip
    row: dict[str, Any] = {"treated": ",".join(chosen), "truth": truth}
    row.update(_signed(estimate(y_seen, treated, population, start, level), sign))
    lit_worlds = {g: geo_world(model, g) for g in chosen}
    row["spend_base"] = _spend_after(lit_worlds, lit, channel, start)
    row["spend_test"] = _spend_after(dark, seen, channel, start)  # at the test's costs
    row["treated_customers"] = int(population[treated].sum())
    return row


def _signed(est: dict[str, float], sign: float) -> dict[str, float]:
    """Estimates of controls minus treated as ``sign`` times that (intervals kept in
    order; standard errors unchanged)."""
    if sign > 0:
        return est
    out = dict(est)
    for name in ESTIMATORS:
        out[name] = -est[name]
        out[f"{name}_low"], out[f"{name}_high"] = -est[f"{name}_high"], -est[f"{name}_low"]
    return out


def _spend_after(
    worlds: dict[str, JourneyModel], log: pd.DataFrame, channel: str, start: int
) -> float:
    """What ``channel`` spent after the start in the geos of ``worlds`` (each the world
    the log's geo was simulated in): each touch at its geo's and its day's cost there."""
    from cjsim.model.compiled import compile_model

    rows = (log["event"] == "touch") & (log["channel"] == channel) & (log["time"] >= start)
    geo = log.loc[rows, "geo"].astype(str).to_numpy()
    times = log.loc[rows, "time"].to_numpy(float)
    total = 0.0
    for g, world in worlds.items():
        index = list(world.channels).index(channel)
        at = geo == g
        codes = np.full(int(at.sum()), index, np.int64)
        total += float(compile_model(world).touch_spend(codes, times[at])[index])
    return total


def changed_world(model: JourneyModel, geo: str, channel: str, start: int, multiple: float
               ) -> JourneyModel:  # fmt: skip
    """Geo ``geo``'s world with ``channel``'s budget ``multiple`` times its own from day
    ``start`` on (0: dark, :func:`dark_world`), its flighting plan kept before."""
    if multiple == 0:
        return dark_world(model, geo, channel, start)
    from cjsim.model import validate_model
    from cjsim.model.timing import step_levels

    world = geo_world(model, geo)
    data = world.model_dump(mode="python")
    ch = world.channels[channel]
    levels = step_levels(ch.flighting, world.steps, world.step_days)
    after = np.arange(world.steps) * world.step_days >= start - 1e-9
    levels = np.where(after, levels * multiple, levels)
    data["channels"][channel]["flighting"] = {"period_days": world.step_days,
                                              "levels": levels.tolist()}  # fmt: skip
    return validate_model(data)


def dark_world(model: JourneyModel, geo: str, channel: str, start: int) -> JourneyModel:
    """Geo ``geo``'s world with ``channel`` off from day ``start`` on."""
    from cjsim.model import validate_model

    data = geo_world(model, geo).model_dump(mode="python")
    schedule = dict(data["channels"][channel].get("schedule") or {})
    end = schedule.get("end_day")
    schedule["end_day"] = float(start if end is None else min(end, start))
    data["channels"][channel]["schedule"] = schedule
    return validate_model(data)


@dataclass
class GeoStudy:
    """Replicated geo tests: a row per replication and a summary per estimator."""

    table: pd.DataFrame
    summary: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def calibration(self, fmt: str, *, start: date, estimator: str = "did") -> pd.DataFrame:
        """One row per test in the lift-test form of ``pymc`` (``channel, x, delta_x,
        delta_y, sigma``: the treated geos' spend after the start at their own budget, the
        test's change of it, the change of the outcome and its standard error), ``robyn``
        (``calibration_input``: the effect of the spend the test changed) or ``meridian``
        (a log-normal ROI prior per test, in units of the target per unit of spend)."""
        cfg, t = self.settings, self.table
        per = t["treated_customers"] / 1000  # estimates are per 1,000 customers
        lift = t[estimator] * per  # of the higher budget over the lower
        sigma = t[f"{estimator}_se"] * per
        delta_x = t["spend_test"] - t["spend_base"]
        up = np.sign(delta_x)  # +1 heavy-up: the outcome rose; -1 go dark: it fell
        if fmt == "pymc":
            return pd.DataFrame({"channel": cfg["channel"], "x": t["spend_base"],
                                 "delta_x": delta_x, "delta_y": up * lift,
                                 "sigma": sigma})  # fmt: skip
        if fmt == "robyn":
            first = start + timedelta(days=cfg["start_day"])
            last = start + timedelta(days=cfg["days"] - 1)
            return pd.DataFrame({"channel": cfg["channel"], "liftStartDate": first.isoformat(),
                                 "liftEndDate": last.isoformat(), "liftAbs": lift,
                                 "spend": delta_x.abs(), "confidence": cfg["level"],
                                 "metric": cfg["target"],
                                 "calibration_scope": "immediate"})  # fmt: skip
        if fmt == "meridian":
            roi, roi_se = lift / delta_x.abs(), sigma / delta_x.abs()
            priors = [roi_prior(r, e) for r, e in zip(roi, roi_se, strict=True)]
            return pd.DataFrame({"channel": cfg["channel"],
                                 "roi_mu": [p[0] for p in priors],
                                 "roi_sigma": [p[1] for p in priors], "roi": roi,
                                 "roi_se": roi_se})  # fmt: skip
        raise OptionError(f"calibration format {fmt!r}; expected pymc, robyn or meridian")


def check_geo_design(model: JourneyModel, channel: str, start_day: int | None,
                     replications: int, multiple: float) -> int:  # fmt: skip
    """That a geo test of ``channel`` can run in ``model`` as asked; returns its start day
    (default: mid-horizon)."""
    if len(model.geos) < 4:
        raise OptionError(
            f"model '{model.name}' has {len(model.geos)} geos; a geo test needs at least 4 "
            "([geos.NAME] sections)"
        )
    if channel not in model.channels or model.channels[channel].type != "paid":
        paid = ", ".join(n for n, c in model.channels.items() if c.type == "paid")
        raise OptionError(f"channel {channel!r}: expected a paid channel of the model ({paid})")
    days = math.ceil(model.horizon_days)
    start = days // 2 if start_day is None else int(start_day)
    if not 2 <= start <= days - 2:
        raise OptionError(f"start day {start_day!r}: expected a day between 2 and {days - 2}")
    if replications < 2:
        raise OptionError(f"replications {replications!r}: expected at least 2")
    if not (math.isfinite(multiple) and 0 <= multiple <= MAX_MULTIPLE) or multiple == 1:
        raise OptionError(
            f"budget multiple {multiple!r}: expected 0 (go dark), between 0 and 1 (pull "
            f"back) or above 1 up to {MAX_MULTIPLE:g} (heavy-up); 1 changes nothing"
        )
    return start


def geo_test(
    model: JourneyModel,
    channel: str,
    customers: int = 100_000,
    *,
    start_day: int | None = None,
    replications: int = 20,
    target: str = "conversions",
    rng: int | None = None,
    level: float = 0.95,
    multiple: float = 0.0,
    workers: int | None = None,
) -> GeoStudy:
    """Replicate a geo test of ``channel`` (its budget ``multiple`` times its own in the
    treated geos from ``start_day``: 0 goes dark, 2 is a heavy-up) and score its
    estimators (per 1,000 customers over the test period) against the exact truth of
    each replication."""
    start = check_geo_design(model, channel, start_day, replications, multiple)
    days = math.ceil(model.horizon_days)
    seeds = np.random.SeedSequence(rng).spawn(replications)
    args = [(model, channel, customers, start, target, s, level, multiple) for s in seeds]
    workers = workers or os.cpu_count() or 1
    if workers > 1:
        rows = pool_map(_replication, *zip(*args, strict=True), workers=min(workers, len(args)))
    else:
        rows = [_replication(*a) for a in args]
    post_days = days - start
    table = pd.DataFrame(rows)
    scale = 1000 * post_days  # per 1,000 customers over the test period
    numeric = [c for c in table.columns if c not in ("treated", "spend_base", "spend_test",
                                                     "treated_customers")]  # fmt: skip
    table[numeric] = table[numeric] * scale
    table.insert(0, "replication", range(replications))
    summary = _summary(table, level, len(model.geos))
    settings = {"model": model.name, "model_hash": model.content_hash(), "channel": channel,
                "customers": customers, "start_day": start, "days": days, "target": target,
                "replications": replications, "level": level, "geos": list(model.geos),
                "multiple": multiple, "design": _design_name(multiple),
                "units": f"{target} per 1,000 customers over days {start}-{days}"}  # fmt: skip
    return GeoStudy(table, summary, settings)


def _summary(table: pd.DataFrame, level: float, geos: int) -> pd.DataFrame:
    """Per estimator: mean bias with interval, RMSE, coverage, power, the minimum
    detectable effect of the design (80% power, from the mean standard error, t quantiles
    at ``geos - 2`` degrees of freedom: a guide; the replications' power is the measure)
    and the incremental ROAS estimated and true."""
    rows = []
    # per unit of the spend the test changed (estimates are per 1,000 customers)
    per_spend = (
        table["treated_customers"] / 1000 / (table["spend_test"] - table["spend_base"]).abs()
    )
    for name in ESTIMATORS:
        err = (table[name] - table["truth"]).to_numpy()
        bias, low, high = interval(err, level)
        covered = (table[f"{name}_low"] <= table["truth"]) & (
            table["truth"] <= table[f"{name}_high"]
        )
        significant = (table[f"{name}_low"] > 0) | (table[f"{name}_high"] < 0)
        rows.append({"estimator": name, "mean_estimate": float(table[name].mean()),
                     "mean_truth": float(table["truth"].mean()), "bias": bias,
                     "bias_low": low, "bias_high": high,
                     "rmse": float(np.sqrt(np.mean(err**2))),
                     "coverage": float(covered.mean()),
                     "power": float(significant.mean()),
                     # at 80% power, from the estimator's typical standard error
                     "mde": minimum_detectable_lift(float(table[f"{name}_se"].mean()), level,
                                                    df=geos - 2),
                     "iroas": float((table[name] * per_spend).mean()),
                     "true_iroas": float((table["truth"] * per_spend).mean())})  # fmt: skip
    return pd.DataFrame(rows)
