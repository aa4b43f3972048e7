"""Aggregate panels: what a marketing-mix model (MMM) is fitted on, from an event log.

:func:`build_panel` counts an event log per period (day, week or 28-day month) and,
optionally, per geo (a column of the log such as ``segment``): per channel the spend
(delivered touches times what a touch costs,
:attr:`~cjsim.model.compiled.CompiledModel.touch_cost`: the spend the simulation reports)
and the impressions (touches), then conversions and revenue, and three controls:
``trend`` (the period's index), ``new_customers`` (customers whose first event falls in
the period: with ``[arrivals]``, the period's arrivals) and ``in_market`` (customers in
the market on an average day of the period: arrived and not yet in a stage they never
leave -- the demand a real MMM approximates with category search volume, and the
control it needs when demand is seasonal, since spend follows the people it can reach).
Periods with no events are rows of zeros: a panel has no gaps. Its totals are the log's
totals. Clicks come from an observation profile (``clicks``: a boolean per row,
:func:`cjsim.observe.clicks`): the touches the profile's ``click_share`` makes clicks,
the same ones ``cjsim observe`` does with the same seed.

:meth:`Panel.to_frame` writes the panel in the column layout each MMM tool's examples
use, and :meth:`Panel.roles` says which column plays which part (pass them to the tool):

=========  ==============================================================================
format     columns
=========  ==============================================================================
cjsim      ``period, date, days, [geo], spend_<ch>, impressions_<ch>, [clicks_<ch>],
           conversions, revenue, trend, new_customers, in_market`` (every channel, organic ones
           without spend; clicks when a profile says which touches are clicks)
pymc       PyMC-Marketing's ``MMM``: ``date, y`` (the target: revenue or conversions),
           one spend column per paid channel named as the channel, ``trend,
           new_customers, in_market`` as ``control_columns``
meridian   Meridian's ``CsvDataLoader``: ``time, geo, population, conversions,
           revenue_per_conversion, <ch>_impression, <ch>_spend`` (paid channels),
           ``Organic_<ch>_impression`` (organic ones), controls ``trend,
           new_customers, in_market``
robyn      Robyn's ``robyn_inputs``: ``DATE, revenue, conversions, <ch>_S`` (spend),
           ``<ch>_I`` (impressions) per paid channel, organic channels' touches as
           ``organic_vars`` (named as the channel), ``trend, new_customers,
           in_market`` as ``context_vars``
=========  ==============================================================================

Build panels from the true log, not an observed one: spend and impressions come from
the ad platforms' own reports and conversions from the order system, which tracking
loss does not touch (``cjsim panel`` says so when given an observed log).

The three tools want whole periods: their formats leave out a last period shorter than
the others (the native one keeps it, with its ``days``). None of the tools is needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from cjsim.errors import EventLogError, OptionError
from cjsim.events import label_codes, rows_labelled
from cjsim.model import JourneyModel
from cjsim.model.compiled import CompiledModel, compile_model

#: Days per period of each ``freq``.
FREQUENCIES = {"day": 1, "week": 7, "month": 28}
FORMATS = ("cjsim", "pymc", "meridian", "robyn")
CONTROLS = ("trend", "new_customers", "in_market")
#: The first day of the simulated horizon, when no other is given (a Monday).
DEFAULT_START = date(2026, 1, 5)


@dataclass(frozen=True)
class Panel:
    """Spend, impressions, conversions and revenue per period (and geo).

    Attributes
    ----------
    frame : DataFrame
        The native layout (see the module docstring).
    paid, organic : tuple of str
        The model's paid and organic channels.
    freq : str
    geo : str or None
        The log's column the geos come from (None: one national panel).
    population : dict
        Customers per geo (each in the geo of their first event).
    """

    frame: pd.DataFrame
    paid: tuple[str, ...]
    organic: tuple[str, ...]
    freq: str
    geo: str | None
    population: dict[str, int]

    def totals(self) -> dict[str, float]:
        """Sums over the whole panel: spend and impressions per channel, conversions, revenue."""
        cols = [c for c in self.frame.columns
                if c.startswith(("spend_", "impressions_", "clicks_"))]  # fmt: skip
        return {c: float(self.frame[c].sum()) for c in [*cols, "conversions", "revenue"]}

    def whole_periods(self) -> pd.DataFrame:
        """The native frame without a last period shorter than the others."""
        days = FREQUENCIES[self.freq]
        return self.frame[self.frame["days"] == days].reset_index(drop=True)

    def to_frame(self, fmt: str = "cjsim", target: str = "revenue") -> pd.DataFrame:
        """The panel in a tool's layout (``cjsim``, ``pymc``, ``meridian`` or ``robyn``)."""
        if fmt not in FORMATS:
            raise OptionError(f"panel format {fmt!r}; expected one of: {', '.join(FORMATS)}")
        if target not in ("revenue", "conversions"):
            raise OptionError(f"target {target!r}; expected 'revenue' or 'conversions'")
        if fmt == "cjsim":
            return self.frame.copy()
        return _LAYOUTS[fmt](self, self.whole_periods(), target)

    def roles(self, fmt: str = "cjsim", target: str = "revenue") -> dict[str, Any]:
        """Which column plays which part in a format (the arguments a tool is given)."""
        paid, organic = list(self.paid), list(self.organic)
        if fmt == "pymc":
            return {"date_column": "date", "target_column": "y", "target": target,
                    "channel_columns": paid, "control_columns": list(CONTROLS)}  # fmt: skip
        if fmt == "meridian":
            return {
                "time": "time", "geo": "geo", "population": "population",
                "kpi": "conversions", "revenue_per_kpi": "revenue_per_conversion",
                "media": [f"{c}_impression" for c in paid],
                "media_spend": [f"{c}_spend" for c in paid],
                "organic_media": [f"Organic_{c}_impression" for c in organic],
                "controls": list(CONTROLS),
            }  # fmt: skip
        if fmt == "robyn":
            return {
                "date_var": "DATE", "dep_var": target,
                "dep_var_type": "revenue" if target == "revenue" else "conversion",
                "paid_media_spends": [f"{c}_S" for c in paid],
                "paid_media_vars": [f"{c}_I" for c in paid],
                "organic_vars": organic, "context_vars": list(CONTROLS),
            }  # fmt: skip
        return {
            "period": "period", "date": "date", "geo": "geo" if self.geo else None,
            "spend": [f"spend_{c}" for c in paid],
            "impressions": [f"impressions_{c}" for c in (*paid, *organic)],
            "clicks": [c for c in self.frame.columns if c.startswith("clicks_")],
            "conversions": "conversions", "revenue": "revenue", "controls": list(CONTROLS),
        }  # fmt: skip


def build_panel(
    events: pd.DataFrame,
    model: JourneyModel,
    freq: str = "week",
    *,
    geo: str | None = None,
    start: date = DEFAULT_START,
    source: str | None = None,
    clicks: np.ndarray | None = None,
) -> Panel:
    """Count an event log per period (and geo) into a panel.

    Parameters
    ----------
    events : DataFrame
        An event log with times in days since the start (simulated or observed).
    model : JourneyModel
        The model of the log: its channels, their costs and the horizon.
    freq : {"day", "week", "month"}
        Period length: 1, 7 or 28 days.
    geo : str, optional
        A column of the log whose values are the geos (``segment``, say).
    start : date
        The calendar date of day 0.
    """
    days, periods, period = _periods(events, model, freq, geo, source)
    geos, geo_names = _geo_codes(events, geo)
    keys = pd.MultiIndex.from_product([range(periods), geo_names], names=["p", "g"])
    cell = period * len(geo_names) + geos  # the (period, geo) row of each event
    frame = pd.DataFrame(index=keys)
    touch = rows_labelled(events["event"], "touch")
    channel_codes, channel_names = label_codes(events["channel"])
    compiled = compile_model(model)
    cost = dict(zip(compiled.channels, compiled.touch_cost.tolist(), strict=True))
    paid = tuple(n for n, c in model.channels.items() if c.type == "paid")
    organic = tuple(n for n, c in model.channels.items() if c.type != "paid")

    def count(rows: np.ndarray, weights: np.ndarray | None = None) -> pd.Series:
        w = None if weights is None else weights[rows]
        sums = np.bincount(cell[rows], weights=w, minlength=len(keys)).astype(np.float64)
        return pd.Series(sums, index=keys)

    geo_cost = _geo_costs(model, events, compiled)
    event_steps = compiled.step_of(events["time"].to_numpy(float)) if geo_cost else None
    for name in (*paid, *organic):
        code = channel_names.index(name) if name in channel_names else -2
        rows = np.flatnonzero(touch & (channel_codes == code))
        touches = count(rows)
        if name in paid and geo_cost is not None:  # a touch costs what it costs in its geo
            table, geo_rows = geo_cost  # (and on its day, when the budget is flighted)
            c = compiled.channels.index(name)
            frame[f"spend_{name}"] = count(rows, table[geo_rows, c, event_steps])
        elif name in paid:
            frame[f"spend_{name}"] = touches * cost[name]
        frame[f"impressions_{name}"] = touches.astype(np.int64)
        if clicks is not None:
            frame[f"clicks_{name}"] = count(rows[clicks[rows]]).astype(np.int64)
    conversions = np.flatnonzero(rows_labelled(events["event"], "conversion"))
    frame["conversions"] = count(conversions).astype(np.int64)
    frame["revenue"] = count(conversions, events["value"].to_numpy(float))
    frame["trend"] = keys.get_level_values("p")
    ids = events["customer_id"].to_numpy()
    _, first = np.unique(ids, return_index=True)
    frame["new_customers"] = count(first).astype(np.int64)
    frame["in_market"] = _in_market(events, compiled, first, geos, len(geo_names), days, periods)
    frame = frame.reset_index()
    dates = [(start + timedelta(days=int(p) * days)).isoformat() for p in frame["p"]]
    frame.insert(1, "date", dates)
    ends = np.minimum((frame["p"] + 1) * days, model.horizon_days)
    frame.insert(2, "days", (ends - frame["p"] * days).to_numpy(float))
    frame = frame.rename(columns={"p": "period", "g": "geo"})
    if geo is None:
        frame = frame.drop(columns="geo")
    return Panel(frame, paid, organic, freq, geo, _population(geos, geo_names, first))


def _in_market(events: pd.DataFrame, compiled: CompiledModel, first: np.ndarray, geos: np.ndarray,
               n_geos: int, days: int, periods: int) -> np.ndarray:  # fmt: skip
    """Customers in the market on an average day of each (period, geo): from their first
    event to their entry into a stage they never leave (or the horizon), counted at each
    day's start. ``first`` holds each customer's first row."""
    horizon = periods * days
    time = events["time"].to_numpy(np.float64)
    ids = events["customer_id"].to_numpy()
    codes, names = label_codes(events["stage"])
    final = {s for s, a in zip(compiled.stages, compiled.absorbing, strict=True) if a}
    done = np.isin(codes, [i for i, n in enumerate(names) if n in final])
    done &= rows_labelled(events["event"], "stage")
    end = np.full(first.size, float(horizon))
    ended, at = np.unique(ids[done], return_index=True)
    end[np.searchsorted(ids[first], ended)] = time[np.flatnonzero(done)[at]]
    lo = np.ceil(time[first] - 1e-9).astype(np.int64)  # the first day start in the market
    hi = np.ceil(np.minimum(end, horizon) - 1e-9).astype(np.int64)
    g = geos[first]
    diff = np.zeros((n_geos, horizon + 1))
    np.add.at(diff, (g, np.minimum(lo, horizon)), 1.0)
    np.add.at(diff, (g, np.minimum(np.maximum(hi, lo), horizon)), -1.0)
    daily = np.cumsum(diff, axis=1)[:, :horizon]  # (G, days): in the market at day d's start
    per = daily.reshape(n_geos, periods, days).mean(axis=2)  # (G, periods)
    return per.T.ravel()


def _periods(events: pd.DataFrame, model: JourneyModel, freq: str, geo: str | None,
             source: str | None) -> tuple[int, int, np.ndarray]:  # fmt: skip
    """Days per period, the number of periods, and each event's period (checked)."""
    if freq not in FREQUENCIES:
        raise OptionError(f"--freq {freq!r}: expected one of: {', '.join(FREQUENCIES)}")
    if not pd.api.types.is_numeric_dtype(events["time"]):
        raise EventLogError("time must be days since the start (a simulated log)", source=source)
    if geo is not None and geo not in events.columns:
        columns = ", ".join(c for c in events.columns if c not in ("time", "value"))
        raise OptionError(f"--geo {geo!r}: the log has no such column; columns: {columns}")
    days = FREQUENCIES[freq]
    periods = max(1, math.ceil(model.horizon_days / days - 1e-9))
    period = np.floor(events["time"].to_numpy(float) / days).astype(np.int64)
    if period.size and (period.min() < 0 or period.max() >= periods):
        raise EventLogError(
            f"an event at day {float(events['time'].max()):g} lies outside the model's "
            f"horizon of {model.horizon_days:g} days; expected the log of this model",
            source=source,
        )
    return days, periods, period


def _geo_costs(model: JourneyModel, events: pd.DataFrame, compiled: CompiledModel
               ) -> tuple[np.ndarray, np.ndarray] | None:  # fmt: skip
    """What a touch of each channel costs in each geo and step, (geos + 1, C, steps), and
    each row's geo index into it; None when every touch costs its channel's one
    :attr:`~cjsim.model.compiled.CompiledModel.touch_cost` (no geos, no flighting)."""
    geos = bool(model.geos) and "geo" in events.columns
    if not geos and not compiled.step_exposure:
        return None
    if not geos:
        return compiled.step_touch_cost[None], np.zeros(len(events), np.int64)
    from cjsim.model.geos import geo_world

    codes, names = label_codes(events["geo"])
    table = np.zeros((len(names) + 1, *compiled.step_touch_cost.shape))  # last: costs nothing
    for i, name in enumerate(names):
        if name in model.geos:
            table[i] = compile_model(geo_world(model, name)).step_touch_cost
    return table, codes  # codes of -1 index the last row


def _geo_codes(events: pd.DataFrame, geo: str | None) -> tuple[np.ndarray, list[str]]:
    """Each row's geo as a code into the sorted geo names (one geo, ``national``, without a
    geo column; ``(none)`` for rows without a value)."""
    if geo is None:
        return np.zeros(len(events), dtype=np.int64), ["national"]
    codes, names = label_codes(events[geo])
    labels = [*names, "(none)"] if (codes < 0).any() else list(names)
    codes = np.where(codes < 0, len(names), codes)
    order = sorted(range(len(labels)), key=labels.__getitem__)
    rank = np.empty(len(labels), dtype=np.int64)
    rank[order] = np.arange(len(labels))
    return rank[codes], [labels[i] for i in order]


def _population(geos: np.ndarray, names: list[str], first: np.ndarray) -> dict[str, int]:
    """Customers per geo (each counted in the geo of their first event)."""
    counts = np.bincount(geos[first], minlength=len(names))
    return {n: int(c) for n, c in zip(names, counts, strict=True) if c}


def _pymc(panel: Panel, whole: pd.DataFrame, target: str) -> pd.DataFrame:
    if panel.geo is not None:
        raise OptionError("the pymc format is national; expected no --geo (or --format meridian)")
    out = pd.DataFrame({"date": whole["date"], "y": whole[target]})
    for c in panel.paid:
        out[c] = whole[f"spend_{c}"]
    return out.assign(**{c: whole[c] for c in CONTROLS})


def _meridian(panel: Panel, whole: pd.DataFrame, target: str) -> pd.DataFrame:
    geo = whole["geo"] if panel.geo is not None else pd.Series("national", index=whole.index)
    out = pd.DataFrame({"time": whole["date"], "geo": geo,
                        "population": geo.map(panel.population).fillna(0).astype(np.int64),
                        "conversions": whole["conversions"]})  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):
        out["revenue_per_conversion"] = np.where(
            whole["conversions"] > 0, whole["revenue"] / whole["conversions"], 0.0
        )
    for c in panel.paid:
        out[f"{c}_impression"] = whole[f"impressions_{c}"]
        out[f"{c}_spend"] = whole[f"spend_{c}"]
    for c in panel.organic:
        out[f"Organic_{c}_impression"] = whole[f"impressions_{c}"]
    return out.assign(**{c: whole[c] for c in CONTROLS})


def _robyn(panel: Panel, whole: pd.DataFrame, target: str) -> pd.DataFrame:
    if panel.geo is not None:
        raise OptionError("the robyn format is national; expected no --geo (or --format meridian)")
    out = pd.DataFrame({"DATE": whole["date"], "revenue": whole["revenue"],
                        "conversions": whole["conversions"]})  # fmt: skip
    for c in panel.paid:
        out[f"{c}_S"] = whole[f"spend_{c}"]
        out[f"{c}_I"] = whole[f"impressions_{c}"]
    for c in panel.organic:
        out[c] = whole[f"impressions_{c}"]
    return out.assign(**{c: whole[c] for c in CONTROLS})


_LAYOUTS = {"pymc": _pymc, "meridian": _meridian, "robyn": _robyn}
