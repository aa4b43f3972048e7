"""Carry-over (adstock) and saturation (response) curves.

These are the building blocks of how marketing acts on a customer in cjsim: an exposure
leaves a trace that decays geometrically (carry-over), and the effect of the accumulated
trace flattens out (saturation). The engines use them per customer; the budget optimiser
uses the same functions as response curves over spend. All functions are vectorised over
numpy arrays and broadcast their parameters.

References
----------
Broadbent, S. (1979). One way TV advertisements work. *Journal of the Market Research
Society* 21(3). (geometric adstock)
Jin, Y., Wang, Y., Sun, Y., Chan, D. & Koehler, J. (2017). Bayesian methods for media mix
modeling with carryover and shape effects. Google Inc. (adstock + Hill saturation)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike


def geometric_adstock(
    x: ArrayLike, alpha: float, normalize: bool = False, axis: int = -1
) -> np.ndarray:
    r"""Geometric carry-over of a series of exposures (or spends).

    .. math::

        a_t = x_t + \alpha\, a_{t-1}, \qquad a_{-1} = 0,

    so that :math:`a_t = \sum_{l \ge 0} \alpha^l x_{t-l}`. With ``normalize=True`` the
    weights are scaled by :math:`1-\alpha` (they sum to one over an infinite lag), so a
    constant input :math:`x` has steady state :math:`x` instead of :math:`x/(1-\alpha)`.

    Parameters
    ----------
    x : array_like
        Exposures along ``axis`` (time).
    alpha : float
        Retention rate per step, in :math:`[0, 1)`.
    normalize : bool
        Scale by :math:`1-\alpha`.
    axis : int
        The time axis.

    Returns
    -------
    numpy.ndarray
        Adstocked series, same shape as ``x`` (float64).
    """
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"alpha must be in [0, 1), got {alpha!r}")
    arr = np.moveaxis(np.asarray(x, dtype=np.float64), axis, 0)
    out = np.empty_like(arr)
    carry = np.zeros(arr.shape[1:], dtype=np.float64)
    scale = 1.0 - alpha if normalize else 1.0
    # A loop over time steps (not customers); each step is vectorised over the other axes.
    for t in range(arr.shape[0]):
        carry = scale * arr[t] + alpha * carry
        out[t] = carry
    return np.moveaxis(out, 0, axis)


def hill_response(x: Any, top: Any, half: Any, slope: Any) -> Any:
    r"""The saturating response :math:`v\, x^s / (x^s + k^s)` (top ``v``, half point ``k``,
    slope ``s``), the one formula of cjsim's saturation curves.

    :func:`hill` (``top = 1``), :func:`michaelis_menten` (``slope = 1``), the budget
    optimiser's response curves and the agent engine's per-customer lift evaluate it; on
    numpy arrays or Python floats alike, with no checks (the callers check). The exponent
    1 is exact in IEEE arithmetic, so ``slope = 1`` gives :math:`v x / (x + k)` to the bit.
    :func:`hill_float32` is the same curve in float32, for the Markov engine.
    """
    xs = x**slope
    return top * xs / (xs + half**slope)


def hill(x: ArrayLike, ec: ArrayLike, slope: ArrayLike = 1.0) -> np.ndarray:
    r"""Hill saturation curve, from 0 at :math:`x=0` towards 1.

    .. math::

        h(x) = \frac{x^s}{x^s + ec^s}

    ``ec`` is the half-saturation point (:math:`h(ec) = 1/2`) and ``s`` the slope; ``s > 1``
    gives an S shape, ``s \le 1`` a concave curve.
    """
    x = np.maximum(np.asarray(x, dtype=np.float64), 0.0)
    ec = np.asarray(ec, dtype=np.float64)
    slope = np.asarray(slope, dtype=np.float64)
    if np.any(ec <= 0):
        raise ValueError("ec must be > 0")
    return np.asarray(hill_response(x, 1.0, ec, slope))


def hill_float32(a: np.ndarray, ec: float, slope: float) -> np.ndarray:
    """:func:`hill` of float32 adstock ``a`` in float32 arithmetic, as the engines step
    (half the memory traffic of float64; validation checks it stays finite). The formula of
    :func:`hill_response`, without its two passes for ``top = 1`` and ``slope = 1`` (the
    engine's inner loop)."""
    return a / (a + np.float32(ec)) if slope == 1.0 else a**slope / (a**slope + ec**slope)


def logistic_saturation(x: ArrayLike, lam: ArrayLike) -> np.ndarray:
    r"""Logistic saturation, from 0 at :math:`x=0` towards 1.

    .. math::

        s(x) = \frac{1 - e^{-\lambda x}}{1 + e^{-\lambda x}} = \tanh(\lambda x / 2)
    """
    x = np.maximum(np.asarray(x, dtype=np.float64), 0.0)
    return np.tanh(np.asarray(lam, dtype=np.float64) * x / 2.0)


def michaelis_menten(x: ArrayLike, vmax: ArrayLike, km: ArrayLike) -> np.ndarray:
    r"""Michaelis-Menten response: diminishing returns towards ``vmax``.

    .. math::

        m(x) = \frac{v_{max}\, x}{k_m + x}

    ``km`` is the input at which half of ``vmax`` is reached.
    """
    x = np.maximum(np.asarray(x, dtype=np.float64), 0.0)
    km = np.asarray(km, dtype=np.float64)
    if np.any(km <= 0):
        raise ValueError("km must be > 0")
    return np.asarray(hill_response(x, np.asarray(vmax, dtype=np.float64), km, 1.0))


def poisson_reach(impressions_per_capita: ArrayLike, max_reach: ArrayLike = 1.0) -> np.ndarray:
    r"""Share of an audience reached at least once by randomly placed impressions.

    .. math::

        r(I) = r_{max} \left(1 - e^{-I / r_{max}}\right)

    With impressions placed at random (Poisson) among the :math:`r_{max}` share of people
    who can be reached at all, each extra impression reaches fewer new people: this is the
    saturating reach of a paid channel (more money buys fewer new exposures per unit).
    For small :math:`I`, :math:`r \approx I`.
    """
    imp = np.maximum(np.asarray(impressions_per_capita, dtype=np.float64), 0.0)
    rmax = np.asarray(max_reach, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = rmax * -np.expm1(-imp / np.where(rmax > 0, rmax, 1.0))
    return np.where(rmax > 0, out, 0.0)
