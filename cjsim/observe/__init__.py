"""What a tracking system records of the true journeys: ids, consent, blockers, tags.

:func:`observe` turns a simulated event log into the log an analytics tool would hold
under a :class:`Profile` (cookie lifetime and deletion, cross-device journeys, consent
opt-out, ad blockers, channels that never reach paths, untracked views and conversion
tags). The profiles ``perfect``, ``typical_web_2026`` and ``strict_privacy`` ship with
the package (:func:`shipped_profiles`); ``cjsim observe`` runs it from the command line.
"""

from cjsim.observe.mechanisms import Observation, clicks, observe
from cjsim.observe.profile import (
    AdBlockers,
    ChannelRule,
    Consent,
    Conversions,
    Ids,
    Profile,
    load_profile,
    shipped_profiles,
    validate_profile,
)

__all__ = [
    "AdBlockers",
    "ChannelRule",
    "Consent",
    "Conversions",
    "Ids",
    "Observation",
    "Profile",
    "clicks",
    "load_profile",
    "observe",
    "shipped_profiles",
    "validate_profile",
]
