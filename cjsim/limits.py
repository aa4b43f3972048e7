"""Upper bounds on what cjsim accepts, checked before any work is done.

A typo (``--customers 10000000000``, ``horizon_days = 9e9``) or a hostile file
(``cjsim validate /dev/zero``, a model with 40,000 channels) should stop at once with a
message that names the option or key and the bound, not run for hours, fill the memory or
overflow an integer code. Every bound is far above real use; each is given with the
reason it is where it is.

===========================  ============  ==================================================
bound                        value         why
===========================  ============  ==================================================
``MAX_CUSTOMERS``            100,000,000   customers of one run (``--customers``,
                                           ``--truth-customers``, experiment ``customers``):
                                           hours of simulation; more precision comes from
                                           replications
``MAX_HORIZON_DAYS``         36,500        ``horizon_days``, ``--days``, ``horizon_steps``:
                                           100 years, a customer's lifetime
``MAX_STEPS``                100,000       steps of a horizon (``horizon_days / step_days``):
                                           hourly steps for 11 years
``MAX_STAGES``               32            stages of a model: the Markov engine keeps the
                                           stages a customer visited as a 32-bit mask
``MAX_CHANNELS``             1,000         channels of a model (event logs code them as
                                           16-bit integers; exact Shapley is exponential)
``MAX_SEGMENTS``             100           segments of a model (the Markov engine codes a
                                           customer's segment in 8 bits)
``MAX_NETWORK_DEGREE``       1,000         ``[network] degree``: contacts per person
                                           (Dunbar's number is 150); the agent engine keeps
                                           customers x degree edges in memory
``MAX_RESAMPLES``            100,000       bootstrap resamples (``--resamples``): the
                                           interval's Monte Carlo error is long negligible
``MAX_REPLICATIONS``         10,000        replications (``--replications``, experiment
                                           ``replications``)
``MAX_FILE_BYTES``           4 MiB         size of a model or experiment file; at most this
                                           much (plus one byte) is read. The shipped models
                                           are under 10 kB
``MAX_MARKOV_CELLS``         100,000,000   states x (channels + 1) of a Markov attribution:
                                           one removal solve per channel over every state
                                           (a 200,000-channel log asked for 37 GiB)
``MAX_NESTING``              32            tables and lists nested in a model or experiment
                                           file (the deepest real key has 6 levels)
``MAX_NAME_LENGTH``          100           characters of an experiment or scenario name
                                           (names become folder names)
===========================  ============  ==================================================

The same table is in ``docs/reference/limits.md``, generated from :data:`LIMITS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from cjsim.errors import OptionError

MAX_CUSTOMERS = 100_000_000
MAX_HORIZON_DAYS = 36_500
MAX_STEPS = 100_000
MAX_STAGES = 32
MAX_CHANNELS = 1_000
MAX_SEGMENTS = 100
MAX_NETWORK_DEGREE = 1_000
MAX_RESAMPLES = 100_000
MAX_REPLICATIONS = 10_000
MAX_FILE_BYTES = 4 * 2**20
MAX_NESTING = 32
MAX_MARKOV_CELLS = 100_000_000
MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class Limit:
    """One bound: its constant's name, value, what it bounds and why it is there."""

    name: str
    value: int
    applies_to: str
    why: str


LIMITS: tuple[Limit, ...] = (
    Limit("MAX_CUSTOMERS", MAX_CUSTOMERS,
          "`--customers`, `--truth-customers`, experiment `customers` and `truth_customers`",
          "hours of simulation; more precision comes from replications"),
    Limit("MAX_HORIZON_DAYS", MAX_HORIZON_DAYS,
          "`horizon_days`, `--days`, scenario `horizon_days`, `chain.horizon_steps`",
          "100 years: a customer's lifetime"),
    Limit("MAX_STEPS", MAX_STEPS, "steps of a horizon, `horizon_days / step_days`",
          "hourly steps for 11 years"),
    Limit("MAX_STAGES", MAX_STAGES, "stages of a model",
          "the Markov engine keeps the stages a customer visited as a 32-bit mask"),
    Limit("MAX_CHANNELS", MAX_CHANNELS, "channels of a model",
          "event logs code channels as 16-bit integers; exact Shapley values are "
          "exponential in the channels"),
    Limit("MAX_SEGMENTS", MAX_SEGMENTS, "segments of a model",
          "the Markov engine codes a customer's segment in 8 bits"),
    Limit("MAX_NETWORK_DEGREE", MAX_NETWORK_DEGREE, "`[network] degree`",
          "contacts per person (Dunbar's number is 150); the agent engine keeps "
          "customers x degree edges in memory"),
    Limit("MAX_RESAMPLES", MAX_RESAMPLES, "`--resamples` (bootstrap)",
          "the Monte Carlo error of an interval is negligible long before"),
    Limit("MAX_REPLICATIONS", MAX_REPLICATIONS,
          "`--replications`, experiment `replications`",
          "the standard error over 10,000 replications is 1% of one replication's spread"),
    Limit("MAX_FILE_BYTES", MAX_FILE_BYTES,
          "size of a model or experiment file (at most this plus one byte is read)",
          "the shipped models are under 10 kB; a generated model with 1,000 channels fits"),
    Limit("MAX_MARKOV_CELLS", MAX_MARKOV_CELLS,
          "states x (channels + 1) of a Markov attribution (`--method markov`, `--order`)",
          "one removal solve per channel over every state, kept in memory together (a "
          "200,000-channel log asked for 37 GiB); fewer channels or a lower order fit"),
    Limit("MAX_NESTING", MAX_NESTING, "tables and lists nested in a model or experiment file",
          "the deepest real key has 6 levels; deeper nesting overflows parsers"),
    Limit("MAX_NAME_LENGTH", MAX_NAME_LENGTH, "characters of an experiment or scenario name",
          "names become folder names"),
)  # fmt: skip


def check_at_most(option: str, value: float | None, bound: float, unit: str = "") -> None:
    """Refuse a command-line value above its bound, naming the option and the bound."""
    if value is not None and value > bound:
        raise OptionError(f"{option} {value:,}: expected at most {bound:,}{unit} (cjsim.limits)")


def page() -> str:
    """The reference page of the limits (``docs/reference/limits.md``), as Markdown."""
    lines = [
        "# Limits",
        "",
        "Upper bounds on what cjsim accepts, checked before any work is done (an option "
        "or key above its bound stops with a message naming it; exit code 2). They are "
        "the constants of `cjsim/limits.py`, far above real use; this page is generated "
        "from them (`python docs/make_reference.py`).",
        "",
        "| constant | value | bounds | why |",
        "|---|---|---|---|",
    ]
    for lim in LIMITS:
        lines.append(f"| `{lim.name}` | {lim.value:,} | {lim.applies_to} | {lim.why} |")
    lines += [
        "",
        "Names of experiments and scenarios become folder names, so they must be plain: "
        "letters, digits, `_` and `-`, starting with a letter, a digit or `_`.",
        "",
    ]
    return "\n".join(lines)
