r"""Response curves: what a channel returns for a spend, fitted with an interval.

A **response curve** says what a channel returns (conversions or revenue) for a spend.
Two saturating shapes from :mod:`cjsim.model.curves` are fitted with ``scipy.optimize.
curve_fit``: Michaelis-Menten :math:`f(x) = v\,x / (k + x)` and Hill
:math:`f(x) = v\,x^s / (x^s + k^s)`; the fit's covariance gives a confidence band by the
delta method.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, stats

from cjsim.errors import OptionError
from cjsim.model.curves import hill_response


@dataclass(frozen=True)
class ResponseCurve:
    """A saturating response to spend: Michaelis-Menten (``slope = 1``) or Hill.

    Attributes
    ----------
    top : float
        The response the channel approaches as spend grows.
    half : float
        The spend at which it returns half of ``top``.
    slope : float
        Hill slope (1 for Michaelis-Menten: concave everywhere).
    covariance : ndarray, optional
        Covariance of the fitted (top, half[, slope]), for the confidence band.
    """

    top: float
    half: float
    slope: float = 1.0
    covariance: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __call__(self, spend: ArrayLike) -> np.ndarray:
        x = np.maximum(np.asarray(spend, dtype=np.float64), 0.0)
        return np.asarray(hill_response(x, self.top, self.half, self.slope))

    def marginal(self, spend: ArrayLike) -> np.ndarray:
        """Derivative of the response: extra return per extra unit of spend."""
        x = np.maximum(np.asarray(spend, dtype=np.float64), 1e-300)
        s, k = self.slope, self.half
        return self.top * s * k**s * x ** (s - 1) / (x**s + k**s) ** 2

    @property
    def concave(self) -> bool:
        return self.slope <= 1.0

    def band(self, spend: ArrayLike, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise confidence band of the fitted curve (delta method)."""
        x = np.asarray(spend, dtype=np.float64)
        if self.covariance is None:
            y = self(x)
            return y, y
        params = [self.top, self.half, self.slope][: self.covariance.shape[0]]
        eps = 1e-6 * np.maximum(np.abs(params), 1e-12)
        grads = []
        for j in range(len(params)):
            p = list(params)
            p[j] += eps[j]
            up = ResponseCurve(p[0], p[1], p[2] if len(p) == 3 else self.slope)
            grads.append((up(x) - self(x)) / eps[j])
        g = np.stack(grads, axis=-1)
        se = np.sqrt(np.einsum("...i,ij,...j->...", g, self.covariance, g))
        z = stats.norm.ppf(0.5 + level / 2)
        return self(x) - z * se, self(x) + z * se


def fit_response(spend: ArrayLike, response: ArrayLike, *, kind: str = "michaelis_menten"
                 ) -> ResponseCurve:  # fmt: skip
    """Fit a response curve to (spend, response) points, e.g. simulated replications.

    ``kind`` is ``michaelis_menten`` (top, half) or ``hill`` (top, half, slope).
    """
    x = np.asarray(spend, dtype=np.float64)
    y = np.asarray(response, dtype=np.float64)
    if x.shape != y.shape or x.size < 3:
        raise OptionError("a response curve needs at least 3 (spend, response) points")
    top0 = max(float(y.max()), 1e-9) * 1.5
    half0 = max(float(np.median(x[x > 0])) if (x > 0).any() else 1.0, 1e-9)
    if kind == "michaelis_menten":

        def f(x: np.ndarray, top: float, half: float) -> np.ndarray:
            return np.asarray(hill_response(x, top, half, 1.0))

        p, cov = optimize.curve_fit(f, x, y, p0=[top0, half0], bounds=([0, 1e-12], np.inf))
        return ResponseCurve(float(p[0]), float(p[1]), 1.0, cov)
    if kind == "hill":

        def g(x: np.ndarray, top: float, half: float, slope: float) -> np.ndarray:
            return ResponseCurve(top, half, slope)(x)

        p, cov = optimize.curve_fit(
            g, x, y, p0=[top0, half0, 1.0], bounds=([0, 1e-12, 0.1], [np.inf, np.inf, 10.0])
        )
        return ResponseCurve(float(p[0]), float(p[1]), float(p[2]), cov)
    raise OptionError(f"kind is {kind!r}; expected 'michaelis_menten' or 'hill'")
