"""Tables behind the report's figures, computed from an event log or a path table.

Each function takes the event log as a DataFrame (the columns of :mod:`cjsim.events`) and
returns a small table; the figures in :mod:`cjsim.report.figures` draw them. Keeping the
two apart lets the tests check the numbers, not only that a picture was drawn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cjsim.paths import PathTable


def _stage_order(events: pd.DataFrame, stages: list[str] | None) -> list[str]:
    if stages is not None:
        return list(stages)
    col = events["stage"]
    if isinstance(col.dtype, pd.CategoricalDtype):
        return [str(s) for s in col.cat.categories if str(s)]
    seen = events.loc[events["event"] == "stage", "stage"]
    return [str(s) for s in dict.fromkeys(seen) if str(s)]


def stage_reach(events: pd.DataFrame, stages: list[str] | None = None) -> pd.DataFrame:
    """Per stage: customers who ever entered it and their share of all customers.

    Columns ``stage, customers, share, of_previous`` (share of the previous stage's
    customers, in the order given or the log's stage order).
    """
    order = _stage_order(events, stages)
    total = events["customer_id"].nunique()
    entered = events[events["event"] == "stage"]
    counts = entered.groupby(entered["stage"].astype(str))["customer_id"].nunique()
    table = pd.DataFrame({"stage": order})
    table["customers"] = table["stage"].map(counts).fillna(0).astype(np.int64)
    table["share"] = table["customers"] / total if total else 0.0
    prev = table["customers"].shift(1)
    table["of_previous"] = (table["customers"] / prev.where(prev > 0)).astype(np.float64)
    return table


def stage_sequences(events: pd.DataFrame, steps: int = 5) -> pd.DataFrame:
    """Each customer's first ``steps`` stages in the order entered (repeats collapsed).

    One row per customer, columns ``0 .. steps-1`` (empty where the journey ended).
    """
    st = events.loc[events["event"] == "stage", ["customer_id", "time", "stage"]]
    st = st.assign(stage=st["stage"].astype(str)).sort_values(
        ["customer_id", "time"], kind="stable"
    )
    same = (st["customer_id"].to_numpy()[1:] == st["customer_id"].to_numpy()[:-1]) & (
        st["stage"].to_numpy()[1:] == st["stage"].to_numpy()[:-1]
    )
    st = st[~np.r_[False, same]]
    st = st.assign(step=st.groupby("customer_id").cumcount())
    st = st[st["step"] < steps]
    wide = st.pivot(index="customer_id", columns="step", values="stage")
    return wide.reindex(columns=range(steps)).astype(object).fillna("")


def stage_flows(events: pd.DataFrame, steps: int = 5) -> pd.DataFrame:
    """Customers moving from one stage to the next, step by step (an alluvial's bands).

    Columns ``step, source, target, customers``: at ``step`` the customers were in
    ``source`` and their next stage was ``target``; journeys that end at ``step`` are not
    counted onward.
    """
    seq = stage_sequences(events, steps)
    rows = []
    for k in range(steps - 1):
        pair = seq[[k, k + 1]]
        pair = pair[(pair[k] != "") & (pair[k + 1] != "")]
        counts = pair.groupby([k, k + 1]).size().reset_index(name="n")
        rows += [(k, str(a), str(b), int(n)) for a, b, n in counts.to_numpy()]
    return pd.DataFrame(rows, columns=["step", "source", "target", "customers"])


def journey_map(events: pd.DataFrame, stages: list[str] | None = None) -> pd.DataFrame:
    """Touches per stage and channel: the stage is the one the customer was in when touched.

    Rows: stages (in order, only those with touches); columns: channels; values: touches.
    """
    ev = events.sort_values(["customer_id", "time"], kind="stable")
    current = ev["stage"].astype(object).where(ev["event"] == "stage")
    current = current.groupby(ev["customer_id"]).ffill()
    touches = ev["event"] == "touch"
    table = pd.crosstab(
        current[touches].fillna("(before any stage)").astype(str),
        ev.loc[touches, "channel"].astype(str),
    )
    order = [s for s in _stage_order(events, stages) if s in table.index]
    extra = [s for s in table.index if s not in order]
    channels = list(table.sum(axis=0).sort_values(ascending=False).index)
    return table.reindex(index=order + extra, columns=channels).fillna(0).astype(np.int64)


def time_to_conversion(events: pd.DataFrame) -> np.ndarray:
    """Days from each converting customer's first touch to their first conversion."""
    first_touch = events[events["event"] == "touch"].groupby("customer_id")["time"].min()
    first_conv = events[events["event"] == "conversion"].groupby("customer_id")["time"].min()
    both = pd.concat([first_touch, first_conv], axis=1, keys=["touch", "conv"]).dropna()
    delta = both["conv"] - both["touch"]
    if pd.api.types.is_timedelta64_dtype(delta):
        delta = delta.dt.total_seconds() / 86_400.0
    days = delta.to_numpy(np.float64)
    return days[days >= 0]


def path_lengths(paths: PathTable, longest: int = 15) -> pd.DataFrame:
    """Journeys per path length (longer ones pooled in the last row), converting or not.

    Columns ``length, converting, not_converting`` (``length`` is text: ``"15+"``).
    """
    length = np.minimum(paths.lengths, longest)
    conv = np.bincount(length, weights=paths.conversions, minlength=longest + 1)
    nulls = np.bincount(length, weights=paths.nulls, minlength=longest + 1)
    labels = [str(k) for k in range(longest)] + [f"{longest}+"]
    table = pd.DataFrame({"length": labels, "converting": conv, "not_converting": nulls})
    return table.iloc[1:].reset_index(drop=True)  # a path has at least one touch


def top_paths(paths: PathTable, n: int = 10) -> pd.DataFrame:
    """The ``n`` most common paths: ``path, journeys, conversions, conversion_rate``."""
    journeys = paths.conversions + paths.nulls
    order = np.argsort(-journeys, kind="stable")[:n]
    names = paths.path_strings()
    return pd.DataFrame({
        "path": [names[i] for i in order],
        "journeys": journeys[order],
        "conversions": paths.conversions[order],
        "conversion_rate": paths.conversions[order] / np.maximum(journeys[order], 1e-300),
    })  # fmt: skip


def funnel_reach(table: pd.DataFrame, leave_out: tuple[str | None, ...] = ()) -> pd.DataFrame:
    """The analytic funnel (:func:`cjsim.model.funnel.funnel`'s table) in the form of
    :func:`stage_reach`: ``stage, share, of_previous`` (``customers`` left empty)."""
    rows = table[~table["stage"].isin([s for s in leave_out if s])]
    out = pd.DataFrame({"stage": rows["stage"].to_numpy(), "share": rows["p_reach"].to_numpy()})
    out["customers"] = np.nan
    prev = out["share"].shift(1)
    out["of_previous"] = out["share"] / prev.where(prev > 0)
    return out
