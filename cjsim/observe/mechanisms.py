r"""The true event log as a tracking system records it.

:func:`observe` applies a :class:`~cjsim.observe.profile.Profile` to a simulated event
log. Every mechanism is a draw with a stated probability, so each loss rate measured in
the output can be checked against its parameter:

* **consent**: a customer refuses tracking with probability ``consent.opt_out`` (or the
  rate of their segment); none of their touches or stages are recorded, their
  conversions only if ``keep_conversions`` (server-side order records, under an id that
  has no touches);
* **devices**: each event happens on the customer's main device with probability
  ``primary_device_share``, else on one of the other ``devices - 1``, uniformly;
* **cookies**: on each device the id is renewed when the gap since the device's previous
  event exceeds ``cookie_lifetime_days`` (an expired cookie) or when the customer cleared
  cookies in between (a Poisson process of rate ``cookie_deletion_per_day``, so a gap of
  :math:`\Delta` days renews with probability :math:`1 - e^{-r\Delta}`);
* **login**: a share ``logged_in`` of customers is recognised everywhere: one id on every
  device and cookie;
* **channels**: a touch of a channel with ``in_paths = false`` is never recorded; else it
  is a click with probability ``click_share``, and a view is recorded only if
  ``views_tracked``; a customer with an ad blocker (probability ``ad_blockers.share``)
  has no touches recorded of a channel ``blocked_by_ad_blockers``;
* **conversions**: a conversion's tag fires with probability ``conversions.tracked``;
* **stages** are recorded if ``stages`` (and the customer consented).

Ids: each recorded (customer, device, cookie) is one observed id -- (customer) alone for a
logged-in customer. A customer's earliest id keeps the customer's number; later ones get
new numbers above the log's largest, in order of customer and first event. The output
has the event-log schema (rows grouped by id, in time order within an id), so every
command reads it; a profile that loses nothing returns the log unchanged.

Random numbers: the same fixed set of uniforms is drawn for every profile (three per
customer, five per event, whatever the profile uses), so two profiles that differ in one
rate, observed with one seed, lose nested sets of events: a sweep over a loss level is
smooth, not noisy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cjsim.errors import EventLogError
from cjsim.events import label_codes, rows_labelled, validate_events
from cjsim.observe.profile import Profile


@dataclass(frozen=True)
class Observation:
    """An observed event log and how it came about.

    Attributes
    ----------
    events : DataFrame
        The observed log (event-log schema).
    links : DataFrame
        One row per observed id: ``observed_id, customer_id, device, cookie, events``.
    customers : DataFrame
        One row per true customer: ``customer_id, segment, opted_out, logged_in,
        ad_blocker, observed_ids`` (ids with at least one recorded event).
    profile : Profile
        The profile applied.
    seed : int
        The seed of the draws.
    """

    events: pd.DataFrame
    links: pd.DataFrame
    customers: pd.DataFrame
    profile: Profile
    seed: int

    def metadata(self) -> dict[str, Any]:
        """What to add to the log's file metadata under ``observed``."""
        return {
            "profile": self.profile.name,
            "profile_hash": self.profile.content_hash(),
            "seed": self.seed,
        }

    def summary(self, true_events: pd.DataFrame) -> dict[str, Any]:
        """Counts of the true and the observed log, for a report or the terminal."""

        def counts(frame: pd.DataFrame) -> dict[str, int]:
            return {k: int(rows_labelled(frame["event"], k).sum())
                    for k in ("touch", "stage", "conversion")}  # fmt: skip

        return {
            "customers": int(self.customers.shape[0]),
            "observed_ids": int(self.links.shape[0]),
            "true": counts(true_events),
            "observed": counts(self.events),
            "opted_out": int(self.customers["opted_out"].sum()),
        }

    def channel_table(self, true_events: pd.DataFrame) -> pd.DataFrame:
        """Per channel: touches in the true log, touches recorded, and the share recorded."""

        def touches(frame: pd.DataFrame) -> pd.Series:
            rows = rows_labelled(frame["event"], "touch")
            return frame.loc[rows, "channel"].astype(str).value_counts()

        true, seen = touches(true_events), touches(self.events)
        table = pd.DataFrame({"true": true, "recorded": seen.reindex(true.index, fill_value=0)})
        table["share"] = table["recorded"] / table["true"]
        table.index.name = "channel"
        return table.sort_index().reset_index()


@dataclass(frozen=True)
class _Draws:
    """The uniforms of one observation: per customer and per event."""

    consent: np.ndarray
    login: np.ndarray
    blocker: np.ndarray
    device: np.ndarray
    other_device: np.ndarray
    click: np.ndarray
    conversion: np.ndarray
    cookie: np.ndarray

    @classmethod
    def draw(cls, customers: int, events: int, seed: int) -> _Draws:
        rng = np.random.default_rng(seed)
        per_customer = rng.random((3, customers))
        per_event = rng.random((5, events))
        return cls(*per_customer, *per_event)


def observe(
    events: pd.DataFrame,
    profile: Profile,
    *,
    seed: int = 0,
    source: str | None = None,
    validate: bool = True,
) -> Observation:
    """Apply an observation profile to a simulated event log.

    Parameters
    ----------
    events : DataFrame
        A simulated event log (integer ``customer_id``, times in days), rows grouped by
        customer in time order.
    profile : Profile
        What the tracking system records (:func:`~cjsim.observe.load_profile`).
    seed : int, default 0
        Seed of the draws (consent, devices, cookies, clicks, tags).
    source : str, optional
        The log's file name, for error messages.
    validate : bool, default True
        Check the log first (:func:`~cjsim.events.validate_events`); a log just read
        with :func:`~cjsim.events.read_events` or simulated has been checked already.

    Returns
    -------
    Observation
        The observed log, its ids and the per-customer draws.
    """
    if validate:
        validate_events(events, source=source)
    if not pd.api.types.is_integer_dtype(events["customer_id"]):
        raise EventLogError(
            f"customer_id has type {events['customer_id'].dtype}; expected integer ids of a "
            "simulated log (an observed log cannot be observed again)",
            source=source,
        )
    if not pd.api.types.is_numeric_dtype(events["time"]):
        raise EventLogError(
            f"time has type {events['time'].dtype}; expected days since the start (a "
            "simulated log)",
            source=source,
        )
    ids = events["customer_id"].to_numpy(np.int64)
    cust, uniq = pd.factorize(ids, sort=True)
    time = events["time"].to_numpy(np.float64)
    draws = _Draws.draw(uniq.size, ids.size, seed)
    customers = _customer_draws(events, cust, uniq, profile, draws)
    kept = _recorded(events, cust, customers, profile, draws)
    device, cookie = _identities(cust, time, customers["logged_in"].to_numpy(), profile, draws)
    return _assemble(events, kept, cust, uniq, device, cookie, customers, profile, seed)


def clicks(events: pd.DataFrame, profile: Profile, *, seed: int = 0) -> np.ndarray:
    """Which touches are clicks (a boolean per row): of a channel in paths, those whose
    click draw is below its ``click_share`` -- the same draws :func:`observe` makes with
    this seed, so a panel's clicks are the clicks of the observed log. A channel without
    path data (TV) has none. Ad platforms count clicks whatever the site's consent and
    ad blockers do to its own tracking, so neither applies here."""
    ids = events["customer_id"].to_numpy(np.int64)
    draws = _Draws.draw(np.unique(ids).size, ids.size, seed)
    touch = rows_labelled(events["event"], "touch")
    codes, names = label_codes(events["channel"])
    out = np.zeros(touch.size, dtype=bool)
    for code in np.unique(codes[touch & (codes >= 0)]):
        rule = profile.rule(names[code])
        if rule.in_paths:
            out |= touch & (codes == code) & (draws.click < rule.click_share)
    return out


def _customer_draws(
    events: pd.DataFrame, cust: np.ndarray, uniq: np.ndarray, profile: Profile, draws: _Draws
) -> pd.DataFrame:
    """Per true customer: segment, and whether they opt out, log in, block ads."""
    if "segment" in events.columns:
        _, first = np.unique(cust, return_index=True)  # each customer's first row
        segment = events["segment"].iloc[first].astype(object).to_numpy()
        segment = np.where(pd.isna(segment), "", segment).astype(str)
    else:
        segment = np.full(uniq.size, "", dtype=object).astype(str)
    names, which = np.unique(segment, return_inverse=True)
    opt_out_rate = np.array([profile.consent.rate(s or None) for s in names])[which]
    return pd.DataFrame(
        {
            "customer_id": uniq,
            "segment": segment,
            "opted_out": draws.consent < opt_out_rate,
            "logged_in": draws.login < profile.ids.logged_in,
            "ad_blocker": draws.blocker < profile.ad_blockers.share,
        }
    )


def _recorded(
    events: pd.DataFrame,
    cust: np.ndarray,
    customers: pd.DataFrame,
    profile: Profile,
    draws: _Draws,
) -> np.ndarray:
    """Which events the tracking system records (a boolean per row)."""
    consented = ~customers["opted_out"].to_numpy()[cust]
    blocker = customers["ad_blocker"].to_numpy()[cust]
    touch = rows_labelled(events["event"], "touch")
    codes, names = label_codes(events["channel"])
    kept = np.zeros(touch.size, dtype=bool)
    for code in np.unique(codes[touch & (codes >= 0)]):
        rule = profile.rule(names[code])
        if not rule.in_paths:
            continue
        rows = touch & (codes == code)
        seen = np.ones(touch.size, dtype=bool) if rule.views_tracked else (
            draws.click < rule.click_share)  # fmt: skip
        if rule.blocked_by_ad_blockers:
            seen &= ~blocker
        kept |= rows & seen & consented
    if profile.stages:
        kept |= rows_labelled(events["event"], "stage") & consented
    conversion = rows_labelled(events["event"], "conversion")
    conversion &= draws.conversion < profile.conversions.tracked
    if not profile.consent.keep_conversions:
        conversion &= consented
    return kept | conversion


def _identities(
    cust: np.ndarray, time: np.ndarray, logged_in: np.ndarray, profile: Profile, draws: _Draws
) -> tuple[np.ndarray, np.ndarray]:
    """The device and the cookie number (within customer and device) of every event."""
    spec = profile.ids
    device = np.zeros(cust.size, np.int64)
    if spec.devices > 1:
        other = 1 + np.minimum(
            (draws.other_device * (spec.devices - 1)).astype(np.int64), spec.devices - 2
        )
        device = np.where(draws.device < spec.primary_device_share, 0, other)
    device[logged_in[cust]] = 0
    # rows in (customer, device, time) order: a stable sort keeps time order
    order = np.lexsort((device, cust)) if spec.devices > 1 else np.arange(cust.size)
    c, d, t = cust[order], device[order], time[order]
    new_group = np.ones(cust.size, dtype=bool)
    new_group[1:] = (c[1:] != c[:-1]) | (d[1:] != d[:-1])
    gap = np.zeros(cust.size)
    gap[1:] = t[1:] - t[:-1]
    renew = gap > spec.cookie_lifetime_days
    if spec.cookie_deletion_per_day > 0:
        renew |= draws.cookie[order] < -np.expm1(-spec.cookie_deletion_per_day * gap)
    renew &= ~new_group & ~logged_in[c]
    starts = np.flatnonzero(new_group)
    counts = np.cumsum(renew)
    group_of_row = np.cumsum(new_group) - 1
    cookie_sorted = counts - counts[starts][group_of_row]
    cookie = np.empty_like(cookie_sorted)
    cookie[order] = cookie_sorted
    return device, cookie


def _assemble(
    events: pd.DataFrame,
    kept: np.ndarray,
    cust: np.ndarray,
    uniq: np.ndarray,
    device: np.ndarray,
    cookie: np.ndarray,
    customers: pd.DataFrame,
    profile: Profile,
    seed: int,
) -> Observation:
    """Number the observed ids and cut the log to the recorded rows."""
    rows = np.flatnonzero(kept)
    key = pd.DataFrame({"c": cust[rows], "d": device[rows], "k": cookie[rows], "row": rows})
    first = key.groupby(["c", "d", "k"], sort=False)["row"].agg(["min", "size"]).reset_index()
    first = first.sort_values(["c", "min"], kind="stable").reset_index(drop=True)
    earliest = np.ones(len(first), dtype=bool)
    earliest[1:] = first["c"].to_numpy()[1:] != first["c"].to_numpy()[:-1]
    observed_id = uniq[first["c"].to_numpy()].copy()
    later = np.flatnonzero(~earliest)
    start = int(uniq.max()) + 1 if uniq.size else 0
    observed_id[later] = start + np.arange(later.size)
    first["observed_id"] = observed_id
    row_id = key.merge(first[["c", "d", "k", "observed_id"]], on=["c", "d", "k"], how="left")
    new_ids = row_id["observed_id"].to_numpy(np.int64)
    out = events.iloc[rows].copy()
    out["customer_id"] = new_ids.astype(events["customer_id"].dtype)
    if new_ids.size and np.any(new_ids[1:] < new_ids[:-1]):
        out = out.iloc[np.argsort(new_ids, kind="stable")]
    out = out.reset_index(drop=True)
    links = pd.DataFrame(
        {
            "observed_id": observed_id,
            "customer_id": uniq[first["c"].to_numpy()],
            "device": first["d"].to_numpy(),
            "cookie": first["k"].to_numpy(),
            "events": first["size"].to_numpy(),
        }
    ).sort_values("observed_id", kind="stable", ignore_index=True)
    per_customer = np.bincount(first["c"].to_numpy(), minlength=uniq.size)
    customers = customers.assign(observed_ids=per_customer)
    return Observation(out, links, customers, profile, seed)
