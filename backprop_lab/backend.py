"""Where arrays live: NumPy on the CPU, CuPy on an NVIDIA GPU (optional).

Rules call ``array_module(x)`` for the few functions that are not methods or
ufuncs, so one rule serves both devices. CuPy is imported only when a GPU
tensor is asked for.
"""
from __future__ import annotations

import numpy as np

_cupy = None  # the cupy module once imported, False if unavailable


def _import_cupy():
    global _cupy
    if _cupy is None:
        try:
            import cupy

            cupy.cuda.runtime.getDeviceCount()
            _cupy = cupy
        except Exception:  # not installed, no driver, no device
            _cupy = False
    return _cupy


def cuda_available() -> bool:
    """True when CuPy is installed and can see a GPU."""
    return bool(_import_cupy())


def array_module(*arrays):
    """``numpy``, or ``cupy`` if any of the arrays is a CuPy array."""
    if _cupy:
        for a in arrays:
            if isinstance(a, _cupy.ndarray):
                return _cupy
    return np


def normalize_device(device) -> str:
    name = str(device).lower()
    if name in ("cpu", "numpy"):
        return "cpu"
    if name in ("cuda", "gpu") or name.startswith("cuda:"):
        return "cuda"
    raise ValueError(f"unknown device {device!r}: use 'cpu' or 'cuda'")


def module_for_device(device):
    """The array module for ``device``; a clear error if 'cuda' is asked for without CuPy and a GPU."""
    if normalize_device(device) == "cpu":
        return np
    cupy = _import_cupy()
    if not cupy:
        raise RuntimeError("device='cuda' needs CuPy and an NVIDIA GPU: install the extra with "
                           "pip install 'backprop-lab[gpu]' (CuPy for CUDA 12), or use device='cpu'")
    return cupy


def device_of(array) -> str:
    return "cuda" if array_module(array) is not np else "cpu"


def move(array, device):
    """Copy ``array`` to ``device``."""
    if normalize_device(device) == "cpu":
        return to_numpy(array)
    return module_for_device(device).asarray(array)


def to_numpy(array):
    """A NumPy array with the same values (copied from the GPU when needed)."""
    if _cupy and isinstance(array, _cupy.ndarray):
        return array.get()
    return np.asarray(array)
