r"""Geo experiments with known truth: a channel goes dark in some geos, replicated and scored.

:func:`geo_test` runs a go-dark test on a model with geos (``[geos.*]``): each
replication draws new customers, picks a random half of the geos and switches the
channel off in them from ``start_day`` on; the other geos are the controls. Three
estimators of what the channel was worth in the treated geos after ``start_day``, each in
conversions (or revenue) per 1,000 customers over the test period, with an interval:

* **difference in differences** (geo level): per geo the change of its daily outcome per
  customer from before to after the start, :math:`d_g = \bar y_{g,post} - \bar y_{g,pre}`;
  the estimate is :math:`\bar d_{control} - \bar d_{treated}` with a Welch t-interval over
  geos;
* **difference in means** of the after-period outcome per customer, controls minus treated
  (Welch over geos; no use of the period before);
* **synthetic control**: non-negative weights on the control geos that sum to 1 and fit the
  treated geos' daily outcome per customer before the start; the estimate is the mean
  after the start of the weighted controls minus the treated, its interval from the
  placebo effects of the control geos (each in turn taken as treated).

The truth of each replication is exact: the treated geos are simulated again with the
channel on, with the same random numbers (each geo has a stream of its own,
:mod:`cjsim.simulate.geos`), and the difference after the start is what going dark cost.
Over replications the share of intervals that hold it is each estimator's coverage, the
share that exclude zero its power.

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
from cjsim.scoring.lift import difference_in_means, t_quantile
from cjsim.scoring.noise import interval

ESTIMATORS = ("did", "difference_in_means", "synthetic_control")


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
    seed: np.random.SeedSequence, level: float,
) -> dict[str, Any]:  # fmt: skip
    """One geo test: treated geos drawn, the log simulated dark and (the truth) lit."""
    from cjsim.simulate.geos import simulate_geos

    pick_seed, sim_seed = seed.spawn(2)
    geos = list(model.geos)
    G = len(geos)
    treated = np.zeros(G, dtype=bool)
    treated[np.random.default_rng(pick_seed).permutation(G)[: G // 2]] = True
    chosen = [g for g, t in zip(geos, treated, strict=True) if t]
    dark = {g: dark_world(model, g, channel, start) for g in chosen}
    days = math.ceil(model.horizon_days)
    entropy = int(sim_seed.generate_state(1)[0])
    _, seen = simulate_geos(model, customers, rng=entropy, worlds=dark)
    _, lit = simulate_geos(model, customers, rng=entropy, only=chosen)  # the controls: as seen
    sizes = geo_customers(model, customers)
    population = np.array([sizes[g] for g in geos], dtype=float)
    y_seen = daily_outcomes(seen, geos, days, target) / population
    y_lit = daily_outcomes(lit, geos, days, target) / population
    post = np.arange(days) >= start
    # what going dark cost the treated geos after the start, per customer and day
    truth = float(((y_lit - y_seen)[post][:, treated] * population[treated]).sum()
                  / population[treated].sum() / post.sum())  # fmt: skip
    row: dict[str, Any] = {"treated": ",".join(chosen),
                           "truth": truth}  # fmt: skip
    row.update(estimate(y_seen, treated, population, start, level))
    row["spend_saved"] = _spend_after(model, lit, chosen, channel, start)
    row["treated_customers"] = int(population[treated].sum())
    return row


def _spend_after(
    model: JourneyModel, lit: pd.DataFrame, treated: list[str], channel: str, start: int
) -> float:
    """What ``channel`` spent in the treated geos after the start, with the channel on:
    the spend going dark saved (each touch at its geo's cost)."""
    from cjsim.model.compiled import compile_model

    index = list(model.channels).index(channel)
    rows = (lit["event"] == "touch") & (lit["channel"] == channel) & (lit["time"] >= start)
    touches = lit.loc[rows, "geo"].astype(str).value_counts()
    return float(sum(touches.get(g, 0) * compile_model(geo_world(model, g)).touch_cost[index]
                     for g in treated))  # fmt: skip


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
    """Replicated go-dark tests: a row per replication and a summary per estimator."""

    table: pd.DataFrame
    summary: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def calibration(self, fmt: str, *, start: date, estimator: str = "did") -> pd.DataFrame:
        """One row per test in the lift-test form of ``pymc`` (``channel, x, delta_x,
        delta_y, sigma``: the treated geos' spend after the start, its change, the change
        of the outcome and its standard error) or ``robyn`` (``calibration_input``)."""
        cfg, t = self.settings, self.table
        per = t["treated_customers"] / 1000  # estimates are per 1,000 customers
        lift = t[estimator] * per
        sigma = t[f"{estimator}_se"] * per
        if fmt == "pymc":
            return pd.DataFrame({"channel": cfg["channel"], "x": t["spend_saved"],
                                 "delta_x": -t["spend_saved"], "delta_y": -lift,
                                 "sigma": sigma})  # fmt: skip
        if fmt == "robyn":
            first = start + timedelta(days=cfg["start_day"])
            last = start + timedelta(days=cfg["days"] - 1)
            return pd.DataFrame({"channel": cfg["channel"], "liftStartDate": first.isoformat(),
                                 "liftEndDate": last.isoformat(), "liftAbs": lift,
                                 "spend": t["spend_saved"], "confidence": cfg["level"],
                                 "metric": cfg["target"],
                                 "calibration_scope": "immediate"})  # fmt: skip
        raise OptionError(f"calibration format {fmt!r}; expected pymc or robyn")


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
    workers: int | None = None,
) -> GeoStudy:
    """Replicate a go-dark geo test of ``channel`` and score its estimators (per 1,000
    customers over the test period) against the exact truth of each replication."""
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
    seeds = np.random.SeedSequence(rng).spawn(replications)
    args = [(model, channel, customers, start, target, s, level) for s in seeds]
    workers = workers or os.cpu_count() or 1
    if workers > 1:
        rows = pool_map(_replication, *zip(*args, strict=True), workers=min(workers, len(args)))
    else:
        rows = [_replication(*a) for a in args]
    post_days = days - start
    table = pd.DataFrame(rows)
    scale = 1000 * post_days  # per 1,000 customers over the test period
    numeric = [c for c in table.columns if c not in ("treated", "spend_saved",
                                                     "treated_customers")]  # fmt: skip
    table[numeric] = table[numeric] * scale
    table.insert(0, "replication", range(replications))
    summary = _summary(table, level)
    settings = {"model": model.name, "model_hash": model.content_hash(), "channel": channel,
                "customers": customers, "start_day": start, "days": days, "target": target,
                "replications": replications, "level": level, "geos": list(model.geos),
                "units": f"{target} per 1,000 customers over days {start}-{days}"}  # fmt: skip
    return GeoStudy(table, summary, settings)


def _summary(table: pd.DataFrame, level: float) -> pd.DataFrame:
    """Per estimator: mean bias with interval, RMSE, coverage and power."""
    rows = []
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
                     "power": float(significant.mean())})  # fmt: skip
    return pd.DataFrame(rows)
