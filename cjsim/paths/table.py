"""The path table: distinct channel paths with their counts, CSR-coded.

What every attribution method reads (see :mod:`cjsim.paths` for the format), and how it is
written back as a ChannelAttribution-format CSV.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cjsim._io import write_text_atomic
from cjsim.errors import EventLogError

if TYPE_CHECKING:
    import pandas as pd

#: Separator between channels in the ChannelAttribution path format.
SEPARATOR = ">"
PATH_COLUMNS = ("path", "total_conversions", "total_null", "total_conversion_value")


class PathTableError(EventLogError):
    """A path table with missing columns, bad counts or malformed paths."""


@dataclass(frozen=True)
class PathTable:
    """Distinct channel paths with their conversion and null counts (CSR-coded).

    Attributes
    ----------
    channels : tuple of str
        Channel names; ``codes`` index into it.
    offsets : ndarray of int64, shape (P + 1,)
        Path ``p`` is ``codes[offsets[p]:offsets[p + 1]]``.
    codes : ndarray of int32
        Channel codes of all paths, concatenated.
    conversions, nulls, value : ndarray of float64, shape (P,)
        Converting journeys, non-converting journeys and conversion value per path.
    touch_age : ndarray of float64, optional
        Aligned with ``codes``: days from each touch to its conversion, averaged over the
        path's converting journeys (0 on a path without conversions, which time decay
        never credits). Known only for tables built from an event log.
    """

    channels: tuple[str, ...]
    offsets: np.ndarray
    codes: np.ndarray
    conversions: np.ndarray
    nulls: np.ndarray
    value: np.ndarray
    touch_age: np.ndarray | None = None

    @property
    def n_paths(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def path_index(self) -> np.ndarray:
        """For every entry of ``codes``, the path it belongs to."""
        return np.repeat(np.arange(self.n_paths), self.lengths)

    def with_counts(
        self, conversions: np.ndarray, nulls: np.ndarray, value: np.ndarray
    ) -> PathTable:
        """The same paths with other counts (a bootstrap resample, a subset)."""
        return dataclasses.replace(self, conversions=conversions, nulls=nulls, value=value)

    def totals(self) -> dict[str, float]:
        """Journeys, conversions, nulls and value over the whole table."""
        return {
            "paths": float(self.n_paths),
            "journeys": float(self.conversions.sum() + self.nulls.sum()),
            "conversions": float(self.conversions.sum()),
            "nulls": float(self.nulls.sum()),
            "value": float(self.value.sum()),
        }

    def path_strings(self, separator: str = " > ") -> list[str]:
        """Each path as text, ``a > b > c``."""
        if self.n_paths == 0:
            return []
        names = np.asarray(self.channels, dtype=object)[self.codes]
        return [separator.join(p) for p in np.split(names, self.offsets[1:-1])]

    def to_frame(self) -> pd.DataFrame:
        """The ChannelAttribution-format table."""
        import pandas as pd

        return pd.DataFrame(
            {
                "path": self.path_strings(),
                "total_conversions": self.conversions,
                "total_null": self.nulls,
                "total_conversion_value": self.value,
            }
        )

    def write_csv(self, path: str | Path, delimiter: str = ",") -> None:
        """Write the ChannelAttribution format, atomically."""
        bad = [c for c in self.channels if SEPARATOR in c or delimiter in c]
        if bad:
            raise PathTableError(
                f"channel name {bad[0]!r} contains '{SEPARATOR}' or '{delimiter}'; "
                "it cannot be written in the path format",
                source=str(path),
            )
        write_text_atomic(path, self.to_frame().to_csv(index=False, sep=delimiter))
