"""The contact network word of mouth travels on (``[network] degree``)."""

from __future__ import annotations

import numpy as np

from cjsim.simulate.agents.sorting import stable_order


class ContactNetwork:
    """A random multigraph of about ``degree`` contacts per customer, as adjacency lists.

    ``customers * degree / 2`` edges between two customers drawn uniformly (self-loops
    dropped), from the run's seed on a stream of its own (numpy's, spawn key 7).

    Parameters
    ----------
    customers : int
        How many customers.
    degree : float
        The mean number of contacts per customer.
    seed : int
        The run's seed.

    Attributes
    ----------
    contacts : numpy.ndarray
        Everyone's contacts, grouped by customer, each group in drawing order.
    degree : numpy.ndarray
        How many contacts each customer has.
    offset : numpy.ndarray
        Customer ``i``'s contacts are ``contacts[offset[i]:offset[i + 1]]``.
    """

    def __init__(self, customers: int, degree: float, seed: int) -> None:
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(7,)))
        edges = round(customers * degree / 2)
        a, b = rng.integers(0, customers, edges), rng.integers(0, customers, edges)
        keep = a != b
        a, b = a[keep], b[keep]
        src, dst = np.concatenate([a, b]), np.concatenate([b, a])
        self.contacts = dst[stable_order(src)]  # a stable radix sort: drawing order kept
        self.degree = np.bincount(src, minlength=customers)
        self.offset = np.concatenate(([0], np.cumsum(self.degree)))
