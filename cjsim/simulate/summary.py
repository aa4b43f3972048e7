"""What both engines share: seeds, and the summary of a run.

:class:`SimulationSummary` has the same fields whichever engine ran (``engine`` says which);
:func:`resolve_entropy` turns any seed into the integer recorded in every output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cjsim.model import JourneyModel
from cjsim.model.compiled import CompiledModel

Seed = int | np.random.Generator | np.random.SeedSequence | None


def resolve_entropy(rng: Seed) -> int:
    """The integer entropy behind ``rng`` (recorded in outputs so a run can be repeated).

    An int is used as is; a ``SeedSequence`` gives its entropy; a ``Generator`` gives one
    draw; ``None`` takes fresh entropy from the operating system.
    """
    if isinstance(rng, bool):
        raise TypeError("rng must be an int, a numpy Generator or SeedSequence, or None")
    if isinstance(rng, int | np.integer):
        if rng < 0:
            raise ValueError(f"seed must be >= 0, got {rng}")
        return int(rng)
    if isinstance(rng, np.random.SeedSequence):
        if not rng.spawn_key and isinstance(rng.entropy, int):
            return int(rng.entropy)
        return int(rng.generate_state(2, np.uint64)[0])
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**63 - 1))
    if rng is None:
        return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    raise TypeError("rng must be an int, a numpy Generator or SeedSequence, or None")


@dataclass
class SimulationSummary:
    """What a simulation produced, in numbers (events are streamed elsewhere)."""

    model_name: str
    model_hash: str
    engine: str
    seed: int
    customers: int
    steps: int
    step_days: float
    channels: tuple[str, ...]
    paid: np.ndarray
    stages: tuple[str, ...]
    segments: tuple[str, ...]
    touches: np.ndarray
    reached: np.ndarray  # customers touched at least once, per channel
    spend: np.ndarray  # delivered touches x their cost, per channel
    stage_reach: np.ndarray  # customers who ever entered each stage
    segment_customers: np.ndarray
    conversions: int = 0
    converters: int = 0
    revenue: float = 0.0
    events: int = 0
    elapsed: float = 0.0
    output: str | None = None
    #: touches the budget could not pay for (not delivered), per channel
    undelivered: np.ndarray | None = None
    #: what the budgets allowed over the run for these customers, per channel
    budgets: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        model: JourneyModel,
        cm: CompiledModel,
        engine: str,
        seed: int,
        customers: int,
        out: str | Path | None,
    ) -> SimulationSummary:
        """A summary with every count at zero, for an engine to fill in."""
        C, S = cm.n_channels, cm.n_stages
        return cls(
            model_name=model.name,
            model_hash=model.content_hash(),
            engine=engine,
            seed=seed,
            customers=customers,
            steps=cm.steps,
            step_days=cm.step_days,
            channels=cm.channels,
            paid=cm.paid,
            stages=cm.stages,
            segments=cm.segments,
            touches=np.zeros(C, np.int64),
            reached=np.zeros(C, np.int64),
            spend=np.zeros(C),
            stage_reach=np.zeros(S, np.int64),
            segment_customers=np.zeros(len(cm.segments), np.int64),
            output=str(out) if out is not None else None,
            undelivered=np.zeros(C, np.int64),
            # (the sum of the budget levels: the steps, without flighting)
            budgets=cm.daily_budget
            * cm.step_days
            * cm.budget_level.sum(axis=1)
            * customers
            / model.population,
        )

    @property
    def customer_steps_per_second(self) -> float:
        return self.customers * self.steps / self.elapsed if self.elapsed > 0 else math.inf

    def channel_table(self) -> pd.DataFrame:
        """Per channel: type, touches, customers reached, spend, the budget over the run,
        cost per touch, and the touches the budget could not pay for."""
        spend = self.spend
        with np.errstate(divide="ignore", invalid="ignore"):
            cpt = np.where(self.touches > 0, spend / np.maximum(self.touches, 1), np.nan)
        undelivered = (
            self.undelivered if self.undelivered is not None else np.zeros(len(self.channels))
        )
        return pd.DataFrame(
            {
                "channel": list(self.channels),
                "type": ["paid" if p else "organic" for p in self.paid],
                "touches": self.touches.astype(np.int64),
                "customers_reached": self.reached.astype(np.int64),
                "spend": spend,
                "budget": self.budgets if self.budgets is not None else np.nan,
                "cost_per_touch": np.where(self.paid, cpt, np.nan),
                "over_budget": np.asarray(undelivered, np.int64),
            }
        )

    def stage_table(self) -> pd.DataFrame:
        """Per stage: customers who ever entered it and their share."""
        return pd.DataFrame(
            {
                "stage": list(self.stages),
                "customers": self.stage_reach.astype(np.int64),
                "share": self.stage_reach / max(self.customers, 1),
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """Tidy per-channel table (same as :meth:`channel_table`)."""
        return self.channel_table()

    def summary(self) -> str:
        """The headline figures as plain text."""
        d = self.to_dict()
        roas = "-" if d["roas"] is None else f"{d['roas']:.2f}"
        return (
            f"{d['model']} (model {d['model_hash']}, {d['engine']} engine, seed {d['seed']}): "
            f"{d['customers']:,} customers x {d['days']:g} days, {d['events']:,} events, "
            f"{d['conversions']:,} conversions by {d['converters']:,} customers "
            f"({d['conversion_rate']:.2%}), revenue {d['revenue']:,.2f}, "
            f"spend {d['spend']:,.2f}, ROAS {roas}"
        )

    def _repr_html_(self) -> str:
        return f"<p>{self.summary()}</p>" + self.channel_table().to_html(index=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary of the headline figures."""
        spend = float(self.spend.sum())
        return {
            "model": self.model_name,
            "model_hash": self.model_hash,
            "engine": self.engine,
            "seed": self.seed,
            "customers": self.customers,
            "steps": self.steps,
            "days": self.steps * self.step_days,
            "events": self.events,
            "conversions": self.conversions,
            "converters": self.converters,
            "conversion_rate": self.converters / max(self.customers, 1),
            "revenue": self.revenue,
            "spend": spend,
            "roas": self.revenue / spend if spend > 0 else None,
            "cpa": spend / self.conversions if self.conversions > 0 and spend > 0 else None,
            "touches": dict(zip(self.channels, self.touches.astype(int).tolist(), strict=True)),
            "elapsed_seconds": self.elapsed,
            "output": self.output,
        }


def version() -> str:
    from cjsim import __version__

    return __version__
