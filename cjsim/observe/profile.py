"""Observation profiles: what a tracking system records of the true journeys.

A profile is a TOML file of five tables and a list of channel rules; every key has a
default that loses nothing, so an empty file is the ``perfect`` profile::

    name = "typical_web_2026"
    description = "..."
    stages = true                 # funnel stages reach the analytics tool

    [ids]                         # who is who
    devices = 2                   # devices per customer
    primary_device_share = 0.7    # touches, stages and conversions on the main device
    logged_in = 0.15              # customers always logged in: one id on every device
    cookie_lifetime_days = 7      # a cookie not seen for this long has expired (ITP)
    cookie_deletion_per_day = 0.01  # per device: rate of cookies being cleared

    [consent]
    opt_out = 0.3                 # customers who refuse tracking
    segments = { premium = 0.45 } # per-segment rates (others use opt_out)
    keep_conversions = true       # server-side order records keep refusers' orders

    [ad_blockers]
    share = 0.25                  # customers with an ad blocker

    [conversions]
    tracked = 0.95                # conversions whose tag fires

    [[channels]]                  # the first rule whose pattern matches a channel wins
    pattern = "tv"                # glob: "tv", "*video*", "*"
    in_paths = false              # never in any path (TV, walled gardens)
    click_share = 0.02            # share of its touches that are clicks
    views_tracked = false         # view-through impressions are not recorded
    blocked_by_ad_blockers = true

A channel no rule matches is recorded fully (in paths, views tracked, not blocked).
Each mechanism's exact meaning is in :mod:`cjsim.observe.mechanisms`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cjsim import _toml
from cjsim.errors import ProfileError
from cjsim.model.loading import resolve_shipped, shipped_files
from cjsim.model.validation import pydantic_error

_FOLDER = "observe/profiles"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ids(_Strict):
    """How the true customer is split into the ids an analytics tool sees."""

    devices: int = Field(default=1, ge=1, le=10, description="devices per customer")
    primary_device_share: float = Field(
        default=1.0, ge=0, le=1, description="probability an event happens on the main device"
    )
    logged_in: float = Field(
        default=0.0, ge=0, le=1, description="share of customers logged in everywhere (one id)"
    )
    cookie_lifetime_days: float = Field(
        default=math.inf, gt=0, description="a device's id expires after this many days unseen"
    )
    cookie_deletion_per_day: float = Field(
        default=0.0, ge=0, le=10, description="Poisson rate per device of cookies being cleared"
    )


class Consent(_Strict):
    """Customers who refuse tracking: none of their touches or stages are recorded."""

    opt_out: float = Field(default=0.0, ge=0, le=1)
    segments: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)
    keep_conversions: bool = Field(
        default=False, description="refusers' conversions are recorded, under an id with no touches"
    )

    def rate(self, segment: str | None) -> float:
        """The opt-out rate of a segment (the default rate if the segment is not listed)."""
        return self.segments.get(segment, self.opt_out) if segment else self.opt_out


class AdBlockers(_Strict):
    """Customers whose ad blocker stops the tags of the channels that say so."""

    share: float = Field(default=0.0, ge=0, le=1)


class Conversions(_Strict):
    """Conversion tracking: a share of the tags fire."""

    tracked: float = Field(default=1.0, ge=0, le=1)


class ChannelRule(_Strict):
    """What is recorded of the touches of the channels a glob pattern matches."""

    pattern: str = Field(min_length=1)
    in_paths: bool = True
    click_share: float = Field(default=1.0, ge=0, le=1)
    views_tracked: bool = True
    blocked_by_ad_blockers: bool = False


#: The rule of a channel no pattern matches: everything recorded.
RECORD_ALL = ChannelRule(pattern="*")


class Profile(_Strict):
    """What a tracking system records: the profile's name, whether stages reach it, and
    its tables (see the module docstring for a whole file)."""

    name: str = "custom"
    description: str = ""
    stages: bool = True
    ids: Ids = Field(default_factory=Ids)
    consent: Consent = Field(default_factory=Consent)
    ad_blockers: AdBlockers = Field(default_factory=AdBlockers)
    conversions: Conversions = Field(default_factory=Conversions)
    channels: list[ChannelRule] = Field(default_factory=list)

    def rule(self, channel: str) -> ChannelRule:
        """The first rule whose pattern matches ``channel`` (case-sensitive glob)."""
        for rule in self.channels:
            if fnmatch.fnmatchcase(channel, rule.pattern):
                return rule
        return RECORD_ALL

    def loses_nothing(self) -> bool:
        """True if the profile records every event under the customer's own id."""
        rules_lose = any(
            not r.in_paths or (r.click_share < 1 and not r.views_tracked) for r in self.channels
        )
        blockers_lose = self.ad_blockers.share > 0 and any(
            r.blocked_by_ad_blockers for r in self.channels
        )
        ids = self.ids
        return not (
            rules_lose
            or blockers_lose
            or not self.stages
            or (ids.devices > 1 and ids.primary_device_share < 1 and ids.logged_in < 1)
            or (ids.logged_in < 1 and math.isfinite(ids.cookie_lifetime_days))
            or (ids.logged_in < 1 and ids.cookie_deletion_per_day > 0)
            or self.consent.opt_out > 0
            or any(rate > 0 for rate in self.consent.segments.values())
            or self.conversions.tracked < 1
        )

    def at_level(self, level: float) -> Profile:
        """The profile with every loss scaled by ``level``: 0 loses nothing, 1 is this one.

        Each mechanism's loss probability is multiplied by ``level``: opt-out and ad
        blocker shares, the share of conversion tags that do not fire, the share of a
        channel's touches that are not recorded (a channel never in paths loses all of
        them; one whose views are untracked loses its views), the share of customers not
        logged in and of events off the main device; cookie deletion rates are multiplied
        and lifetimes divided by it. Stages stay as the profile says, except at level 0.
        """
        if not 0 <= level <= 1:
            raise ProfileError(f"loss level {level!r}; expected a number between 0 and 1")
        if level == 1:
            return self

        def kept(share: float) -> float:  # a share recorded, moved towards 1
            return 1 - level * (1 - share)

        ids = self.ids.model_copy(
            update={
                "primary_device_share": kept(self.ids.primary_device_share),
                "logged_in": kept(self.ids.logged_in),
                "cookie_lifetime_days": self.ids.cookie_lifetime_days / level
                if level
                else math.inf,
                "cookie_deletion_per_day": self.ids.cookie_deletion_per_day * level,
            }
        )
        consent = self.consent.model_copy(
            update={
                "opt_out": self.consent.opt_out * level,
                "segments": {k: v * level for k, v in self.consent.segments.items()},
            }
        )
        channels = []
        for rule in self.channels:
            if not rule.in_paths:
                rule = rule.model_copy(update={"in_paths": True, "click_share": 0.0})
                rule = rule.model_copy(update={"views_tracked": False})
            if not rule.views_tracked:
                rule = rule.model_copy(
                    update={"click_share": kept(rule.click_share), "views_tracked": level == 0}
                )
            channels.append(rule)
        return self.model_copy(
            update={
                "name": f"{self.name}@{level:g}",
                "stages": self.stages or level == 0,
                "ids": ids,
                "consent": consent,
                "ad_blockers": AdBlockers(share=self.ad_blockers.share * level),
                "conversions": Conversions(tracked=kept(self.conversions.tracked)),
                "channels": channels,
            }
        )

    def content_hash(self) -> str:
        """A short hash of the profile's settings (name and description excluded)."""
        settings = self.model_dump(mode="json", exclude={"name", "description"})
        text = json.dumps(settings, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def shipped_profiles() -> dict[str, Path]:
    """Profiles shipped inside the package: name -> path."""
    return shipped_files(_FOLDER)


def validate_profile(data: dict[str, Any], *, source: str | None = None) -> Profile:
    """A profile from a mapping (the parsed TOML); errors name the file and key."""
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        raise pydantic_error(Profile, exc, source, ProfileError) from None
    ids = profile.ids
    if ids.devices == 1 and ids.primary_device_share != 1.0:
        raise ProfileError(
            f"{ids.primary_device_share:g} needs ids.devices >= 2 (with one device every "
            "event is on it); expected 1 or more devices",
            source=source,
            key="ids.primary_device_share",
        )
    for index, rule in enumerate(profile.channels):
        later = [r.pattern for r in profile.channels[index + 1 :]]
        if rule.pattern in later:
            raise ProfileError(
                f"pattern {rule.pattern!r} is given twice; expected each pattern once (the "
                "first rule that matches a channel wins)",
                source=source,
                key=f"channels.{index}.pattern",
            )
    return profile


def load_profile(arg: str | Path) -> Profile:
    """Read a profile file, or a shipped one by name (``perfect``, ``typical_web_2026``...)."""
    path = resolve_shipped(str(arg), _FOLDER, "profile")
    source = str(arg)
    what = "an observation profile (TOML)"
    if not path.exists():
        raise ProfileError(f"no such file; expected {what}", source=source)
    data = _toml.loads(_toml.read_text(path, source, ProfileError, what), source, ProfileError)
    profile = validate_profile(data, source=source)
    if "name" not in data:
        profile = profile.model_copy(update={"name": path.stem})
    return profile
