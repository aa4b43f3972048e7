"""One simulated customer's journey, told in plain words (``cjsim explain``).

The customer is simulated like every other, and their events are read out in order: the stages they
enter, the channels they meet, what they buy. A model's ``[narrative]`` section gives the
words ("gets a toothache", "reads the practice's reviews"); without it, stage and channel
names and the channels' descriptions are used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cjsim.errors import OptionError
from cjsim.model import JourneyModel
from cjsim.report.figures import records

#: Customers simulated to find an interesting one when none is named. The agent engine
#: always simulates at least this many: its capacity and contact network scale with the
#: customers simulated, so a story is told from a run of a fixed size.
SEARCH_CUSTOMERS = 5_000
#: The largest customer number ``explain`` accepts.
MAX_CUSTOMER = 1_000_000


@dataclass
class Story:
    """A customer's journey: their id, segment, and one line per event."""

    customer: int
    segment: str
    lines: list[str]
    converted: bool

    def text(self) -> str:
        return "\n".join(self.lines)

    def _repr_html_(self) -> str:
        import html

        return "<ol>" + "".join(f"<li>{html.escape(x)}</li>" for x in self.lines) + "</ol>"


def _when(start: float, end: float, hours: bool) -> str:
    first, last = int(np.floor(start + 1e-9)), int(np.floor(end + 1e-9))
    if last != first:
        return f"Days {first}-{last}"
    label = f"Day {first}"
    if hours:
        minutes = round((start - first) * 24 * 60)
        label += f", {minutes // 60:02d}:{minutes % 60:02d}"
    return label


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def narrate(model: JourneyModel, events: pd.DataFrame, customer: int, hours: bool) -> Story:
    """The story of one customer from their events (sorted by time)."""
    words = model.narrative
    ev = events[events["customer_id"] == customer]
    segment = ""
    if "segment" in ev.columns and len(ev):
        segment = str(ev["segment"].iloc[0])
    lines: list[str] = []
    intro = f"Customer {customer}"
    if segment and segment != "all":
        seg_text = words.segments.get(segment)
        if seg_text is None and segment in model.segments:
            seg_text = model.segments[segment].description or f"of the segment '{segment}'"
        intro += f" ({segment}: {seg_text})" if seg_text else f" ({segment})"
    lines.append(intro + ".")
    converted = False
    rows = records(ev)
    i = 0
    while i < len(rows):
        r = rows[i]
        t = float(r.time)
        kind = str(r.event)
        repeat = 1
        if kind == "stage":
            stage = str(r.stage)
            if i == 0 and t == 0:
                text = words.start or f"starts in the stage '{stage}'"
                if stage != model.stages[0] and stage in words.stages:
                    text = words.stages[stage]
            else:
                text = words.stages.get(stage, f"moves to the stage '{stage}'")
        elif kind == "touch":
            ch = str(r.channel)
            # the same channel again and again before anything else happens: one line
            while (i + repeat < len(rows) and str(rows[i + repeat].event) == "touch"
                   and str(rows[i + repeat].channel) == ch):  # fmt: skip
                repeat += 1
            if ch in words.touches:
                text = words.touches[ch]
            else:
                desc = model.channels[ch].description if ch in model.channels else ""
                text = f"meets {ch}" + (f" ({desc[:1].lower() + desc[1:]})" if desc else "")
            if repeat > 1:
                text += f" ({repeat} times)"
        else:
            converted = True
            value = float(r.value)
            text = (words.conversion or "converts: a purchase worth {value}").format(
                value=f"{value:,.0f}"
            )
        end = float(rows[i + repeat - 1].time)
        lines.append(f"{_when(t, end, hours)}: {_sentence(text)}")
        i += repeat
    if len(ev):
        end = model.horizon_days
        last = str(ev.loc[ev["event"] == "stage", "stage"].iloc[-1]) if (
            ev["event"] == "stage").any() else ""  # fmt: skip
        if last == model.lost:
            lines.append("The journey ends here: this customer is lost to the brand.")
        else:
            lines.append(f"Day {end:g}: the simulation ends; the customer is in the stage "
                         f"'{last}'.")  # fmt: skip
    return Story(customer, segment, lines, converted)


def explain(
    model: JourneyModel,
    customer: int | None = None,
    seed: int = 0,
    engine: str = "markov",
) -> Story:
    """Simulate and tell one customer's journey.

    With no ``customer``, the first of :data:`SEARCH_CUSTOMERS` who converts after three
    to ten touches is chosen (a story worth telling and short enough to read), or else the
    first who converts, or else customer 0. On the Markov engine customer ``n`` is the
    same person in a run of any size (the draws are per customer); the agent engine's
    queues and contacts depend on who else is simulated, so it always simulates at least
    :data:`SEARCH_CUSTOMERS` customers.
    """
    if customer is not None and not 0 <= customer <= MAX_CUSTOMER:
        raise OptionError(
            f"--customer {customer}: expected a customer number from 0 to {MAX_CUSTOMER:,}"
        )
    from cjsim.simulate.run import check_engine

    check_engine(engine)
    n = (customer + 1) if customer is not None else SEARCH_CUSTOMERS
    if engine == "agents":
        n = max(n, SEARCH_CUSTOMERS)
    from cjsim.simulate.run import simulate

    events = simulate(model, n, engine=engine, rng=seed, keep_events=True).events
    assert events is not None
    if customer is None:
        customer = _interesting(events)
    return narrate(model, events, customer, hours=engine == "agents")


def _interesting(events: pd.DataFrame) -> int:
    conv = events.loc[events["event"] == "conversion", "customer_id"].unique()
    if len(conv) == 0:
        return 0
    touches = events[(events["event"] == "touch") & events["customer_id"].isin(conv)]
    per = touches.groupby("customer_id").size()
    for low, high in ((3, 10), (3, 10_000), (1, 10_000)):
        chosen = per[(per >= low) & (per <= high)].index
        if len(chosen):
            return int(min(chosen))
    return int(min(conv))
