"""The event log, in the order things happen, and its integer-coded arrays at the end."""

from __future__ import annotations

import numpy as np

from cjsim.events import CONVERSION, STAGE, TOUCH
from cjsim.simulate.agents.customers import Customers
from cjsim.simulate.agents.keyed_random import VALUE, keyed_uniforms
from cjsim.simulate.agents.sorting import stable_order
from cjsim.simulate.plan import Plan


class EventLog:
    """What happened, appended as it happens (Python lists: cheap to append one by one).

    Every customer's starting stage at time 0 is not recorded: :meth:`arrays` adds it.
    Conversion values are not drawn as conversions happen but in :meth:`arrays`, all at
    once (the k-th conversion of a customer draws the k-th value).

    Parameters
    ----------
    conversion : int
        The conversion stage: entering it is also a conversion event.
    customers : int
        How many customers.
    """

    def __init__(self, conversion: int, customers: int) -> None:
        self.conversion = conversion
        # stage changes: who, when, to which stage (the campaigns read who, to draw anew)
        self.stage_who: list[int] = []
        self.stage_time: list[float] = []
        self.stage_to: list[int] = []
        # conversions: who, when, and how many the customer had before
        self.conversion_who: list[int] = []
        self.conversion_time: list[float] = []
        self.conversion_number: list[int] = []
        self.conversions = np.zeros(customers, np.int64)  # per customer, so far
        # single touches (word of mouth): who, when, which channel
        self.touch_who: list[int] = []
        self.touch_time: list[float] = []
        self.touch_channel: list[int] = []
        # the campaigns' touches, a day at a time: (who, when, channel) arrays
        self.campaign_touches: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def stage_change(self, i: int, now: float, to: int) -> None:
        """Customer ``i`` entered stage ``to`` at ``now`` (a conversion if it converts)."""
        self.stage_who.append(i)
        self.stage_time.append(now)
        self.stage_to.append(to)
        if to == self.conversion:
            self.conversion_who.append(i)
            self.conversion_time.append(now)
            self.conversion_number.append(int(self.conversions[i]))
            self.conversions[i] += 1

    def touch(self, i: int, now: float, channel: int) -> None:
        """A single touch of customer ``i`` by ``channel`` at ``now``."""
        self.touch_who.append(i)
        self.touch_time.append(now)
        self.touch_channel.append(channel)

    def arrays(self, customers: Customers, plan: Plan) -> dict[str, np.ndarray]:
        """The event log as integer-coded arrays, by customer and time.

        Parameters
        ----------
        customers : Customers
            Their keys (for the conversion values), segments and starting stages.
        plan : Plan
            The model's plan (its conversion value distributions).

        Returns
        -------
        dict of str to numpy.ndarray
            The columns of :func:`cjsim.events.arrays_to_table`, sorted stably by customer
            and time: at equal times, in the order things happened.
        """
        n0 = customers.count
        # the starting stages, on the day each customer enters the market
        parts = [(np.arange(n0), customers.arrival * plan.cm.step_days, np.full(n0, -1))]
        parts += self.campaign_touches
        parts.append((np.array(self.touch_who, np.int64), np.array(self.touch_time, np.float64),
                      np.array(self.touch_channel, np.int64)))  # fmt: skip
        touches = sum(p[0].size for p in parts) - n0
        changes, conversions = len(self.stage_who), len(self.conversion_who)
        cust = np.concatenate(
            [*(p[0] for p in parts), np.array(self.stage_who, np.int64),
             np.array(self.conversion_who, np.int64)]
        )  # fmt: skip
        t = np.concatenate(
            [*(p[1] for p in parts), np.array(self.stage_time, np.float64),
             np.array(self.conversion_time, np.float64)]
        )  # fmt: skip
        kind = np.repeat(
            np.array([STAGE, TOUCH, STAGE, CONVERSION], np.int8),
            [n0, touches, changes, conversions],
        )
        channel = np.concatenate(
            [*(p[2] for p in parts), np.full(changes + conversions, -1)]
        ).astype(np.int16)
        stage = np.concatenate(
            [customers.initial_stage, np.full(touches, -1, np.int16),
             np.array(self.stage_to, np.int16), np.full(conversions, -1, np.int16)]
        )  # fmt: skip
        value = np.zeros(t.size)
        if conversions:  # the k-th conversion of a customer draws the k-th value
            who = np.array(self.conversion_who, np.int64)
            u = keyed_uniforms(
                customers.keys[who], VALUE, np.array(self.conversion_number, np.int64)
            )
            value[t.size - conversions :] = plan.values(customers.segment[who], u)
        order = stable_order(cust, np.argsort(t, kind="stable"))
        cust = cust[order]
        return {
            "customer_id": cust,
            "time": t[order],
            "event": kind[order],
            "channel": channel[order],
            "stage": stage[order],
            "value": value[order],
            "segment": customers.segment[cust].astype(np.int16),
        }
