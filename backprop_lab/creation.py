"""Making tensors: ``zeros``, ``ones``, ``full``, ``arange``, ``eye``, ``rand``, ``randn`` and the ``*_like`` family.

Named and shaped as in PyTorch (``zeros(2, 3)`` and ``zeros((2, 3))`` both work), float64 by
default as everywhere in the engine. Random tensors come from a ``np.random.Generator`` (or a
seed) passed as ``rng``, never from hidden global state, so every draw can be reproduced.

>>> import numpy as np
>>> from backprop_lab import creation as c
>>> c.zeros(2, 3).shape, c.arange(5).dtype, c.eye(2).data
((2, 3), dtype('int64'), array([[1., 0.],
       [0., 1.]]))
>>> c.randn(2, rng=np.random.default_rng(0)).data
array([ 0.12573022, -0.13210486])
"""
from __future__ import annotations

import numbers

import numpy as np

from . import backend
from .tensor import Tensor


def _shape(size, name):
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
    if not all(isinstance(n, numbers.Integral) and n >= 0 for n in shape):
        raise ValueError(f"{name}{shape}: sizes must be non-negative integers")
    return tuple(int(n) for n in shape)


def _made(data, requires_grad, device):
    xp = backend.module_for_device(device) if device is not None else np
    return Tensor(xp.asarray(data), requires_grad=requires_grad)


def zeros(*size, dtype=np.float64, requires_grad=False, device=None):
    """A tensor of zeros of the given shape."""
    return _made(np.zeros(_shape(size, "zeros"), dtype), requires_grad, device)


def ones(*size, dtype=np.float64, requires_grad=False, device=None):
    """A tensor of ones of the given shape."""
    return _made(np.ones(_shape(size, "ones"), dtype), requires_grad, device)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    """A tensor of ``size`` filled with ``fill_value`` (dtype: float64 for a float, int64 for an int, bool)."""
    dtype = dtype or (np.float64 if isinstance(fill_value, float) else np.asarray(fill_value).dtype)
    size = (size,) if isinstance(size, numbers.Integral) else size
    return _made(np.full(_shape((size,), "full"), fill_value, dtype), requires_grad, device)


def arange(start, stop=None, step=1, dtype=None, requires_grad=False, device=None):
    """Evenly spaced values in [start, stop): int64 when every argument is an int, else float64."""
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        ints = all(isinstance(v, numbers.Integral) for v in (start, stop, step))
        dtype = np.int64 if ints else np.float64
    return _made(np.arange(start, stop, step, dtype=dtype), requires_grad, device)


def eye(n, m=None, dtype=np.float64, requires_grad=False, device=None):
    """The n x m identity matrix (m = n by default)."""
    if n < 0 or (m is not None and m < 0):
        raise ValueError(f"eye({n}, {m}): sizes must be non-negative")
    return _made(np.eye(n, m, dtype=dtype), requires_grad, device)


def rand(*size, rng=None, dtype=np.float64, requires_grad=False, device=None):
    """Uniform samples from [0, 1), drawn from ``rng`` (a ``np.random.Generator`` or a seed)."""
    data = np.random.default_rng(rng).random(_shape(size, "rand"))
    return _made(data.astype(dtype), requires_grad, device)


def randn(*size, rng=None, dtype=np.float64, requires_grad=False, device=None):
    """Standard normal samples, drawn from ``rng`` (a ``np.random.Generator`` or a seed)."""
    data = np.random.default_rng(rng).standard_normal(_shape(size, "randn"))
    return _made(data.astype(dtype), requires_grad, device)


def _like(t, dtype):
    t = t if isinstance(t, Tensor) else Tensor(t)
    return t.shape, (dtype or t.dtype), t.device


def zeros_like(t, dtype=None, requires_grad=False):
    """Zeros with the shape, dtype and device of ``t``."""
    shape, dtype, device = _like(t, dtype)
    return zeros(shape, dtype=dtype, requires_grad=requires_grad, device=device)


def ones_like(t, dtype=None, requires_grad=False):
    """Ones with the shape, dtype and device of ``t``."""
    shape, dtype, device = _like(t, dtype)
    return ones(shape, dtype=dtype, requires_grad=requires_grad, device=device)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    """``fill_value`` everywhere, with the shape, dtype and device of ``t``."""
    shape, dtype, device = _like(t, dtype)
    return full(shape, fill_value, dtype=dtype, requires_grad=requires_grad, device=device)


def rand_like(t, rng=None, dtype=None, requires_grad=False):
    """``rand`` with the shape, dtype and device of ``t``."""
    shape, dtype, device = _like(t, dtype)
    return rand(shape, rng=rng, dtype=dtype, requires_grad=requires_grad, device=device)


def randn_like(t, rng=None, dtype=None, requires_grad=False):
    """``randn`` with the shape, dtype and device of ``t``."""
    shape, dtype, device = _like(t, dtype)
    return randn(shape, rng=rng, dtype=dtype, requires_grad=requires_grad, device=device)
