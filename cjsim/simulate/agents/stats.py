"""What an agent run saw besides its event log: queues, word of mouth, spend, caps."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cjsim._io import write_text_atomic


@dataclass
class AgentRunStats:
    """What the agent engine saw besides the event log.

    Attributes
    ----------
    resources : pandas.DataFrame
        Per server pool: servers, served, gave up, mean and max wait, mean queue,
        utilisation.
    word_of_mouth_touches, word_of_mouth_contacts : int
        Touches made by conversations, and the conversations that happened.
    converted_after_word_of_mouth : int
        Customers who converted and had a word-of-mouth touch.
    spend_per_day : pandas.DataFrame
        Spend by day (rows) and paid channel (columns), scaled to the population.
    capped_by_budget, capped_by_frequency : int
        Touches held back by the daily budgets and by the frequency caps.
    simpy_events : int
        Events simpy scheduled.
    """

    resources: pd.DataFrame = field(default_factory=pd.DataFrame)
    word_of_mouth_touches: int = 0
    word_of_mouth_contacts: int = 0
    converted_after_word_of_mouth: int = 0
    spend_per_day: pd.DataFrame = field(default_factory=pd.DataFrame)
    capped_by_budget: int = 0
    capped_by_frequency: int = 0
    simpy_events: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON-ready values (spend per day by channel)."""
        return {
            "resources": self.resources.to_dict(orient="records"),
            "word_of_mouth": {
                "conversations": self.word_of_mouth_contacts,
                "touches": self.word_of_mouth_touches,
                "customers_converted_after_a_touch": self.converted_after_word_of_mouth,
            },
            "caps": {"budget": self.capped_by_budget, "frequency": self.capped_by_frequency},
            "spend_per_day": {c: v.tolist() for c, v in self.spend_per_day.items()},
            "simpy_events": self.simpy_events,
        }

    def write(self, path: str | Path) -> None:
        """Write :meth:`to_dict` as JSON, atomically."""
        write_text_atomic(path, json.dumps(self.to_dict(), indent=2) + "\n")

    def summary(self) -> str:
        """A few lines for people: each resource's queue, and word of mouth if any."""
        lines = []
        for r in self.resources.itertuples(index=False):
            lines.append(
                f"{r.resource}: {r.served:,} served, {r.timed_out:,} gave up, mean wait "
                f"{r.mean_wait_days:.2f} days, mean queue {r.mean_queue:.2f}, utilisation "
                f"{r.utilisation:.0%}"
            )
        if self.word_of_mouth_contacts:
            lines.append(
                f"word of mouth: {self.word_of_mouth_contacts:,} conversations, "
                f"{self.word_of_mouth_touches:,} touches, {self.converted_after_word_of_mouth:,}"
                " customers converted after one"
            )
        return "\n".join(lines)
