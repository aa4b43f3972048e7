"""The event log: the one thing that flows from simulation to analysis.

One row per event, sorted by time within a customer:

============  ===================================  ==========================================
column        type                                 meaning
============  ===================================  ==========================================
customer_id   int64 (or string in real exports)    who
time          float64 days since start (or a       when; non-decreasing within a customer
              timestamp in real exports)
event         category: touch, stage, conversion   what happened
channel       category, empty unless ``touch``     the touchpoint's channel
stage         category, empty unless ``stage``     the stage entered
value         float64, 0 unless ``conversion``     revenue of the conversion
segment       category (optional)                  the customer's segment
============  ===================================  ==========================================

Parquet is the default format (categories are stored as dictionaries, the model hash and
seed in the file's metadata); CSV is written with the same columns. Files are written
atomically: a failed or interrupted run leaves no partial file behind.

The package in modules: :mod:`~cjsim.events.schema` (kinds, columns, formats),
:mod:`~cjsim.events.writing`, :mod:`~cjsim.events.reading` and
:mod:`~cjsim.events.checks` (the rules a log must keep, one check each).
"""

from cjsim.events.checks import validate_events
from cjsim.events.reading import (
    QUOTE_HINT,
    read_events,
    read_metadata,
    too_many_fields,
)
from cjsim.events.schema import (
    COLUMNS,
    CONVERSION,
    EVENT_KINDS,
    FORMATS,
    METADATA_KEY,
    REQUIRED,
    STAGE,
    TOUCH,
    arrow_schema,
    event_format,
    label_codes,
    rows_labelled,
)
from cjsim.events.writing import EventWriter, arrays_to_table, write_events

__all__ = [
    "COLUMNS",
    "CONVERSION",
    "EVENT_KINDS",
    "FORMATS",
    "METADATA_KEY",
    "QUOTE_HINT",
    "REQUIRED",
    "STAGE",
    "TOUCH",
    "EventWriter",
    "arrays_to_table",
    "arrow_schema",
    "event_format",
    "label_codes",
    "read_events",
    "read_metadata",
    "rows_labelled",
    "too_many_fields",
    "validate_events",
    "write_events",
]
