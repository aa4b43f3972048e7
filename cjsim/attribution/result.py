"""The attribution result: every method's credit per channel, in one long table.

One row per (method, channel) with ``conversions`` and ``value`` attributed and, where they
apply, ``removal_effect`` (Markov), ``standard_error`` (sampled Shapley) and the bootstrap
interval ``ci_low``/``ci_high`` of ``conversions``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

from cjsim._io import write_text_atomic
from cjsim.errors import OptionError

COLUMNS = (
    "method", "channel", "conversions", "value", "removal_effect", "standard_error",
    "ci_low", "ci_high", "value_ci_low", "value_ci_high",
)  # fmt: skip


@dataclass
class AttributionResult:
    """Attributed conversions and value of several methods on one path table.

    Attributes
    ----------
    columns : dict of ndarray
        The long table as arrays, keys :data:`COLUMNS` (NaN where a column does not apply).
    table : DataFrame
        The same as a DataFrame (built on first use: printing a result needs no pandas).
    totals : dict
        Journeys, conversions, nulls and value of the input.
    settings : dict
        Methods, Markov order, interval level and resamples, seed, input hash.
    models : dict
        The fitted estimators by method name (transition matrix, removal effects, ...).
    """

    columns: dict[str, np.ndarray]
    totals: dict[str, float]
    settings: dict[str, Any]
    models: dict[str, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def table(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame({c: self.columns[c] for c in COLUMNS})

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(self.columns["method"].tolist()))

    def to_frame(self) -> pd.DataFrame:
        """The long table (a copy): one row per method x channel."""
        return self.table.copy()

    def wide(self, column: str = "conversions") -> pd.DataFrame:
        """Channels as rows, methods as columns, for one column of the long table."""
        frame = self.table.pivot(index="channel", columns="method", values=column)
        return frame[self.methods]

    def transition_matrix(self) -> pd.DataFrame:
        """The fitted Markov transition matrix (needs the ``markov`` method)."""
        if "markov" not in self.models:
            raise OptionError("no Markov model in this result; include method 'markov'")
        return self.models["markov"].transition_matrix()

    def summary(self) -> str:
        """A plain-text table: attributed conversions per channel and method."""
        wide = self.wide()
        lines = [
            f"Attribution of {self.totals['conversions']:,.6g} conversions "
            f"({self.totals['journeys']:,.6g} journeys, value {self.totals['value']:,.6g})",
            wide.to_string(float_format=lambda x: f"{x:,.2f}"),
        ]
        if self.settings.get("ci"):
            lines.append(f"{self.settings['ci']:.0%} bootstrap intervals in to_frame()")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>Attribution</b> of {self.totals['conversions']:,.6g} conversions "
            f"over {self.totals['journeys']:,.6g} journeys</p>"
        )
        return head + self.wide().to_html(float_format=lambda x: f"{x:,.2f}")

    def to_dict(self) -> dict[str, Any]:
        """Totals, settings, the long table, and per-model details (Markov chain, positions)."""
        records = self.table.replace({np.nan: None}).to_dict(orient="records")
        details: dict[str, Any] = {}
        if "markov" in self.models:
            m = self.models["markov"]
            details["markov"] = {
                "order": m.order,
                "p_conversion": m.p_conversion_,
                "expected_value": m.expected_value_,
                "states": len(m.states_),
                "value_removal_effects": dict(
                    zip(m.channels_, m.value_removal_effects_.tolist(), strict=True)
                ),
                "transition_matrix": m.transition_matrix().to_dict(orient="records"),
            }
        if "shapley_ordered" in self.models:
            o = self.models["shapley_ordered"]
            details["shapley_ordered"] = {
                "positions": {
                    c: row.tolist()
                    for c, row in zip(o.channels_, o.position_conversions_, strict=True)
                }
            }
        return {
            "totals": self.totals,
            "settings": self.settings,
            "results": records,
            "models": details,
        }

    def write(self, path: str | Path) -> None:
        """Write the long table as ``.csv`` or ``.json`` (with totals and settings), atomically."""
        suffix = Path(path).suffix.lower()
        if suffix == ".csv":
            write_text_atomic(path, self.table.to_csv(index=False))
        elif suffix == ".json":
            write_text_atomic(path, json.dumps(self.to_dict(), indent=2) + "\n")
        else:
            raise OptionError(
                f"output file {str(path)!r} has suffix {suffix!r}; expected .csv or .json"
            )
