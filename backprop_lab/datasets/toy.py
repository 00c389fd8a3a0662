"""Small seeded data sets for the notebooks: two moons, spirals, blobs, a noisy 1-D curve.

Every generator takes ``rng``: a seed (default 0, so a call with no arguments always gives the same data),
a ``numpy.random.Generator``, or None for fresh randomness. Inputs are float64 (gradient checks need it);
class labels are int64 in 0..k-1; points come shuffled, so any slice is a fair mini-batch.
"""
from __future__ import annotations

import numpy as np

__all__ = ["two_moons", "spirals", "blobs", "regression_1d", "regression_curve"]


def _shuffled(rng, x, y):
    order = rng.permutation(len(x))
    return x[order], y[order]


def _split(n, k):
    """``n`` points shared among ``k`` classes as evenly as possible (the first classes get the extra)."""
    return [n // k + (j < n % k) for j in range(k)]


def two_moons(n: int = 200, *, noise: float = 0.1, rng=0):
    """Two interleaving half circles in the plane: ``(x (n, 2) float64, y (n,) int64)``.

    Class 0 lies on the upper arc (cos t, sin t), class 1 on the lower arc (1 - cos t, 1/2 - sin t),
    t uniform in [0, pi]; Gaussian noise of standard deviation ``noise`` is added to both coordinates.
    No straight line separates them, which is what a hidden layer is for.
    """
    rng = np.random.default_rng(rng)
    n0, n1 = _split(n, 2)
    t0, t1 = rng.uniform(0, np.pi, n0), rng.uniform(0, np.pi, n1)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    x = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))
    y = np.repeat(np.arange(2, dtype=np.int64), [n0, n1])
    return _shuffled(rng, x, y)


def spirals(n_per_class: int = 100, k: int = 3, *, noise: float = 0.2, turns: float = 0.875, rng=0):
    """``k`` spiral arms winding out of the origin: ``(x (k * n_per_class, 2) float64, y int64)``.

    Arm j is the curve r (cos a, sin a) with r from 0 to 1 and a = 2 pi j / k + 2 pi turns r; each point's
    angle gets Gaussian noise of ``noise`` radians. Needs a curved decision boundary for every class.
    """
    if k < 2:
        raise ValueError(f"spirals needs k >= 2 classes, got k={k}")
    rng = np.random.default_rng(rng)
    r = np.tile(np.linspace(0.0, 1.0, n_per_class), k)
    y = np.repeat(np.arange(k, dtype=np.int64), n_per_class)
    angle = 2 * np.pi * (y / k + turns * r) + noise * rng.standard_normal(r.shape)
    x = r[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _shuffled(rng, x, y)


def blobs(n: int = 300, centers=3, *, std: float = 1.0, dim: int = 2, radius: float = 4.0, rng=0):
    """Gaussian clusters around ``centers``: ``(x (n, dim) float64, y (n,) int64)``.

    ``centers`` is either a number k, which places k centers evenly on a circle of ``radius`` in the first
    two coordinates (the others 0), or an array of shape (k, dim). Each class gets n / k points (the
    first classes one more when k does not divide n), spread with standard deviation ``std``.
    """
    rng = np.random.default_rng(rng)
    if np.ndim(centers) == 0:
        k = int(centers)
        if k < 1 or dim < 2:
            raise ValueError(f"blobs needs centers >= 1 and dim >= 2, got centers={k}, dim={dim}; "
                             "pass an array of centers for 1-D data")
        angle = 2 * np.pi * np.arange(k) / k
        centers = np.zeros((k, dim))
        centers[:, 0], centers[:, 1] = radius * np.cos(angle), radius * np.sin(angle)
    centers = np.asarray(centers, dtype=np.float64)
    if centers.ndim != 2:
        raise ValueError(f"centers must be a number or an array of shape (k, dim), got shape {centers.shape}")
    k, dim = centers.shape
    y = np.repeat(np.arange(k, dtype=np.int64), _split(n, k))
    x = centers[y] + std * rng.standard_normal((n, dim))
    return _shuffled(rng, x, y)


def regression_curve(x):
    """The noiseless curve behind ``regression_1d``: sin(2x) + x / 2."""
    return np.sin(2 * np.asarray(x)) + 0.5 * np.asarray(x)


def regression_1d(n: int = 100, *, noise: float = 0.1, x_range=(-3.0, 3.0), rng=0):
    """Noisy samples of a smooth curve: ``(x (n, 1) float64, y (n, 1) float64)``, sorted by x.

    x is uniform on ``x_range``; y = ``regression_curve(x)`` + Gaussian noise of standard deviation
    ``noise``. Columns, not flat vectors, so they go straight into a ``Linear(1, ...)`` layer and an MSE
    loss; sorted, so ``plt.plot(x, model(x))`` draws a line. A straight line underfits it; a small MLP
    does not.
    """
    rng = np.random.default_rng(rng)
    lo, hi = x_range
    x = np.sort(rng.uniform(lo, hi, n))[:, None]
    y = regression_curve(x) + noise * rng.standard_normal((n, 1))
    return x, y
