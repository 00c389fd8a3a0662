"""Compare a learner's answer with the expected one and name the likely mistake.

``compare_values(got, want)`` returns ``None`` when they agree, else a ``Mismatch``
whose hint comes from ``diagnose``: the classic backprop mistakes each leave a
recognisable fingerprint on the numbers.
"""
from __future__ import annotations

from typing import Any

import numpy as np

TRANSPOSE = ("The shape is the transpose of the expected one: a transpose is missing or extra "
             "(compare with the dimensional-analysis rule dW = dD @ x.T, dx = W.T @ dD).")
SIGN = "Every value has the right size but the wrong sign: look for a missing minus (or a minus too many)."
ZEROS = ("Your answer is all zeros: the gradient was never written (or was reset after it was). "
         "A correct check never accepts zeros.")
FANOUT = ("Your answer is a fraction of the expected one: a value used twice gets a gradient from each use. "
          "Accumulate with `+=` instead of overwriting with `=`.")
DOUBLE = ("Your answer is a whole multiple of the expected one: a gradient was added twice, or `.grad` was "
          "not reset to zero before backward ran again.")
UNBROADCAST = ("The shape has extra entries along axis {axes}: broadcasting in the forward pass must be undone "
               "in the backward pass by summing over {axes_word} (keepdims where the input had size 1).")
AXIS = "The shape is wrong: check which axis you reduce over (axis={axis}?) and whether keepdims is needed."
SHAPE = "The shape is wrong: a gradient always has exactly the shape of the thing it is the gradient of."
HARDCODED = ("Your answer is the same for every input, while the expected answers differ: it looks hard-coded. "
             "Compute it from the inputs.")
TYPE_HINT = "The answer has the wrong type or structure: return exactly what the exercise asks for."
NAN = "Your answer contains NaN or inf: look for an overflow (exp of a large number) or a division by zero."
CLOSE = "Close, but not within tolerance: look for an off-by-one, a wrong constant, or float32 where float64 was needed."


def short_repr(x: Any, limit: int = 300) -> str:
    """A readable, bounded repr of case data and answers."""
    if isinstance(x, dict):
        text = "{" + ", ".join(f"{k}={short_repr(v, 120)}" for k, v in x.items()) + "}"
    elif isinstance(x, np.ndarray):
        with np.printoptions(precision=4, suppress=True, threshold=20, edgeitems=2):
            text = f"array{x.shape}: " + np.array2string(x, separator=", ").replace("\n", "")
    elif isinstance(x, (float, np.floating)):
        text = f"{float(x):.6g}"
    else:
        text = repr(x)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def same(a: Any, b: Any) -> bool:
    """Exact structural equality of plain data (numbers, arrays, nested containers)."""
    try:
        if isinstance(a, dict) or isinstance(b, dict):
            return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(
                same(a[k], b[k]) for k in a)
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and not _numeric_seq(a):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        x, y = np.asarray(a), np.asarray(b)
        return x.shape == y.shape and bool(np.array_equal(x, y, equal_nan=True))
    except Exception:
        return False


def _numeric_seq(a) -> bool:
    try:
        return np.asarray(a).dtype.kind in "biuf"
    except Exception:
        return False


def _to_array(x: Any) -> np.ndarray | None:
    """Numbers, arrays and engine objects (anything with ``.data``) as float arrays; None if not numeric."""
    if hasattr(x, "data") and not isinstance(x, np.ndarray):
        x = x.data
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr


def compare_values(got: Any, want: Any, *, rtol: float = 1e-6, atol: float = 1e-8, where: str = "answer"):
    """None if ``got`` matches ``want`` (recursively), else a Mismatch with a diagnosis."""
    from ._core import Mismatch

    if isinstance(want, dict):
        if not isinstance(got, dict):
            return Mismatch(f"{where}: expected a dict with keys {sorted(want)}, received {type(got).__name__}",
                            TYPE_HINT)
        missing = sorted(set(want) - set(got))
        if missing:
            return Mismatch(f"{where}: missing keys {missing}", TYPE_HINT)
        for k in want:
            m = compare_values(got[k], want[k], rtol=rtol, atol=atol, where=f"{where}[{k!r}]")
            if m is not None:
                return m
        return None
    if isinstance(want, (list, tuple)) and not _numeric_seq(want):
        if not isinstance(got, (list, tuple)) or len(got) != len(want):
            return Mismatch(f"{where}: expected a sequence of {len(want)} items, received {short_repr(got)}",
                            TYPE_HINT)
        for i, (g, w) in enumerate(zip(got, want)):
            m = compare_values(g, w, rtol=rtol, atol=atol, where=f"{where}[{i}]")
            if m is not None:
                return m
        return None
    w = _to_array(want)
    g = _to_array(got)
    if g is None or g.dtype == object:
        return Mismatch(f"{where}: expected a number or array, received {type(got).__name__}: {short_repr(got)}",
                        TYPE_HINT)
    if g.shape != w.shape:
        return Mismatch(f"{where}: expected shape {w.shape}, received shape {g.shape}", diagnose(g, w))
    if np.allclose(g, w, rtol=rtol, atol=atol):
        return None
    return Mismatch(f"{where}: expected {short_repr(w)}, received {short_repr(g)}", diagnose(g, w))


def diagnose(got: np.ndarray, want: np.ndarray) -> str:
    """Name the likely mistake behind a wrong answer, from the fingerprint it leaves on the numbers."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        if got.ndim == want.ndim == 2 and got.shape == want.shape[::-1] and want.shape[0] != want.shape[1]:
            return TRANSPOSE
        extra = _unbroadcast_axes(got.shape, want.shape)
        if extra is not None:
            axes = ", ".join(map(str, extra))
            return UNBROADCAST.format(axes=axes, axes_word="that axis" if len(extra) == 1 else "those axes")
        if got.size and want.size and got.ndim != want.ndim:
            return AXIS.format(axis="?")
        return SHAPE
    if not np.all(np.isfinite(got)):
        return NAN
    if np.all(got == 0) and np.any(want != 0):
        return ZEROS
    scale = np.max(np.abs(want)) or 1.0
    if np.allclose(got, -want, rtol=1e-6, atol=1e-8 * scale) and np.any(want != 0):
        return SIGN
    nz = np.abs(want) > 1e-12 * scale
    if np.any(nz):
        ratio = got[nz] / want[nz]
        r = float(np.median(ratio))
        if np.allclose(ratio, r, rtol=1e-6) or np.allclose(got, r * want, rtol=1e-6, atol=1e-9 * scale):
            if 0 < r < 1:
                return FANOUT
            if r > 1 and abs(r - round(r)) < 1e-6:
                return DOUBLE
        # some entries right, some a fraction of the right value: a fan-out `=` on part of the graph
        right = np.isclose(got, want, rtol=1e-6, atol=1e-9 * scale)
        if right.any() and not right.all() and np.all((ratio[~right[nz]] > 0) & (ratio[~right[nz]] < 1)):
            return FANOUT
    if want.ndim == 2 and want.shape[0] == want.shape[1] and np.allclose(got, want.T, rtol=1e-6):
        return TRANSPOSE
    return CLOSE if np.allclose(got, want, rtol=1e-2, atol=1e-6 * scale) else ""


def _unbroadcast_axes(got_shape: tuple, want_shape: tuple) -> list[int] | None:
    """Axes of ``got_shape`` that broadcasting added or stretched relative to ``want_shape``, or None."""
    if len(got_shape) < len(want_shape):
        return None
    lead = len(got_shape) - len(want_shape)
    axes = list(range(lead))
    for i, (g, w) in enumerate(zip(got_shape[lead:], want_shape)):
        if g == w:
            continue
        if w == 1:
            axes.append(lead + i)
        else:
            return None
    return axes or None
