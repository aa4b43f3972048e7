"""Journeys and path tables: the input of every attribution method.

A **journey** is the ordered list of a customer's touchpoints up to and including their
first conversion (or all of them, for a customer who never converts: a *null* journey).
With ``multi_conversion=True`` every conversion closes a journey and the next one starts
after it. A **path table** aggregates journeys with the same channel sequence:

=====================  ============================================================
column                 meaning
=====================  ============================================================
path                   ``search > email > direct`` (the ChannelAttribution format)
total_conversions      journeys on this path that ended in a conversion
total_null             journeys on this path that did not
total_conversion_value total value of those conversions
=====================  ============================================================

In memory a path table is integer-coded in CSR form (``offsets``, ``codes``) with float
counts (fractional counts from other tools are kept, never truncated). Attribution code
works on this table only, never on simulation internals, so it treats a simulated log and
a real export alike.

The package in modules: :mod:`~cjsim.paths.table` (the table and its CSV form),
:mod:`~cjsim.paths.aggregate` (merging journeys into paths), :mod:`~cjsim.paths.journeys`
(the paths of an event log) and :mod:`~cjsim.paths.reading` (the paths of a CSV file).
"""

from cjsim.paths.aggregate import aggregate_paths
from cjsim.paths.journeys import JourneyStats, paths_from_events
from cjsim.paths.reading import path_table_from_frame, read_path_table
from cjsim.paths.table import PATH_COLUMNS, SEPARATOR, PathTable, PathTableError

__all__ = [
    "PATH_COLUMNS",
    "SEPARATOR",
    "JourneyStats",
    "PathTable",
    "PathTableError",
    "aggregate_paths",
    "path_table_from_frame",
    "paths_from_events",
    "read_path_table",
]
