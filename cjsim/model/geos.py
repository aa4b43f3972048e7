"""Geos: the regions of a market, each simulated as a market of its own.

:func:`geo_world` is the model of one geo: its share of the population, every paid
budget times its budget share, and the base chances of leaving the first stage times its
base rate (the stay chance takes up the difference). :func:`geo_customers` splits a number
of customers over the geos by their shares (largest remainders, so the parts add up).
"""

from __future__ import annotations

import numpy as np

from cjsim.errors import OptionError
from cjsim.model.schema import JourneyModel
from cjsim.model.validation import validate_model


def geo_world(model: JourneyModel, name: str) -> JourneyModel:
    """The model of geo ``name``: a market of its own, without geos."""
    if name not in model.geos:
        known = ", ".join(model.geos) or "none"
        raise OptionError(f"geo {name!r}: expected one of the model's geos ({known})")
    geo = model.geos[name]
    data = model.model_dump(mode="python")
    data["geos"] = {}
    data["population"] = max(1, round(model.population * geo.share))
    budget_share = geo.share if geo.budget_share is None else geo.budget_share
    for channel in data["channels"].values():
        if channel.get("daily_budget") is not None:
            channel["daily_budget"] *= budget_share
    first = model.stages[0]
    row = dict(data["transitions"].get(first, {}))
    if row and geo.base_rate != 1.0:
        moves = {t: p * geo.base_rate for t, p in row.items() if t != first}
        moves[first] = max(0.0, 1.0 - sum(moves.values()))
        data["transitions"][first] = moves
    return validate_model(data)


def geo_customers(model: JourneyModel, customers: int) -> dict[str, int]:
    """Customers per geo, proportional to the shares, adding up to ``customers``."""
    names = list(model.geos)
    shares = np.array([model.geos[n].share for n in names])
    exact = customers * shares / shares.sum()
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: customers - int(counts.sum())]] += 1
    return dict(zip(names, counts.tolist(), strict=True))
