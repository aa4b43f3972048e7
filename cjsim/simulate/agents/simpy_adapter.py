"""The only place the engine touches simpy's private fields, and why.

The engine schedules hundreds of thousands of callbacks. simpy's public API would do
each of the three things below with more work per event (a property that checks for a
pending value; ``Event.succeed``, which cannot schedule an event as urgent; no public
count of the events scheduled), so the engine reads and sets simpy's underscore fields
here, and nowhere else:

* :func:`payload`: ``Event._value`` of a triggered timeout (the customer it is for);
* :func:`call_soon`: an event made triggered by hand (``_ok``, ``_value``) and scheduled
  as ``URGENT``: it runs at this instant, before the ordinary events of this instant,
  and after the callbacks now running -- as an interrupt would;
* :func:`events_scheduled`: ``Environment._eid``, the counter simpy numbers its scheduled
  events with; :func:`events_pending`: the length of ``Environment._queue`` (for the
  benchmark's queue profile).

Checked against simpy 4.1.2 (``simpy/events.py``, ``simpy/core.py``; the project asks for
``simpy>=4.1``). If a simpy release renames these fields, this module is what needs to
change (the tests would fail on the first run).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

import simpy
from simpy.events import URGENT

payload: Callable[[simpy.Event], Any] = attrgetter("_value")
"""The value of a triggered event (a C-level getter: no Python frame per wake-up)."""


def call_soon(env: simpy.Environment, callback: Callable[[simpy.Event], None]) -> None:
    """Run ``callback`` at this instant, before the other events of this instant.

    Parameters
    ----------
    env : simpy.Environment
        The clock.
    callback : callable
        Called with the (triggered, valueless) event.
    """
    event = simpy.Event(env)
    event._ok = True
    event._value = None
    event.callbacks.append(callback)
    env.schedule(event, URGENT)


def events_scheduled(env: simpy.Environment) -> int:
    """How many events simpy has scheduled so far (this takes one number of its counter)."""
    return next(env._eid)


def events_pending(env: simpy.Environment) -> int:
    """How many events wait in the clock's queue (``Environment._queue``)."""
    return len(env._queue)  # type: ignore[attr-defined]
