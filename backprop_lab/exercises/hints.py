"""Compare a learner's answer with the expected one and name the likely mistake.

``compare_values(got, want)`` returns ``None`` when they agree, else a ``Mismatch``
whose hint comes from ``diagnose``: the classic backprop mistakes each leave a
recognisable fingerprint on the numbers.

==========================  =============================================================
mistake                     fingerprint
==========================  =============================================================
missing/extra transpose     shape reversed, or (square) the values equal ``want.T``
sign error                  ``got == -want``
gradient never written      all zeros where the answer is not
``=`` instead of ``+=``     a fraction of the answer (everywhere, or on some entries)
added twice / not reset     a whole multiple of the answer
broadcasting not undone     extra leading axes, or size > 1 where the answer has size 1
wrong reduction axis        same rank, other sizes; or the values of another axis
hard-coded answer           the same answer for cases whose answers differ (see ``framework``)
==========================  =============================================================

An exercise can add its own fingerprints with ``Exercise.suspects(case)``: a list of
``(hint, wrong_answer)`` pairs computed from the case (for example the sum over the
other axis); ``compare_values`` names the first one the learner's answer matches.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

TRANSPOSE = ("Your answer is the transpose of the expected one: a transpose is missing or extra. "
             "Check the shapes by dimensional analysis: a gradient has the shape of its variable, and usually only "
             "one product of the arrays at hand has it.")
SIGN = ("Every value has the right size but the wrong sign: look for a missing minus (or one too many), "
        "e.g. d(-x)/dx = -1, d(1/x)/dx = -1/x², or a - b where b - a was meant.")
ZEROS = ("Your answer is all zeros: the gradient was never written (or was reset after it was). "
         "Make sure each node adds its share to its inputs' .grad.")
FANOUT = ("Your answer is {ratio} of the expected one{where}: a value used more than once gets a gradient "
          "from each use, and they add up. Accumulate with `+=` instead of overwriting with `=`.")
MULTIPLE = ("Your answer is exactly {ratio} times the expected one: a share was added more than once, "
            "`.grad` was not reset to zero before backward ran again, or a constant factor is extra "
            "(a missing 1/N of a mean?).")
FACTOR = ("Your answer is exactly {ratio} times the expected one: a constant factor is missing or extra "
          "(the 2 in d(x²)/dx = 2x? the 1/N of a mean?).")
UNBROADCAST = ("Your answer has shape {got} but the input it is the gradient of has shape {want}: "
               "broadcasting in the forward pass copied the input along axis {axes}, so the backward pass "
               "must add those copies up: {code}.")
AXIS = ("Your answer has shape {got} but should have shape {want}: check which axis you reduce over "
        "(axis={axis}?) and whether keepdims=True is needed.")
KEEPDIMS = ("Your answer has shape {got} but should have shape {want}: the same numbers with a size-1 axis "
            "{which}. Use keepdims={keep} in the reduction (or reshape).")
ALL_AXES = ("Your answer is a single number but should have shape {want}: you reduced over every axis. "
            "Sum over the broadcast axes only (axis=...).")
SHAPE = ("Your answer has shape {got} but should have shape {want}: a gradient always has exactly the "
         "shape of the thing it is the gradient of.")
HARDCODED = ("Your answer is the same for every input, while the expected answers differ: it looks hard-coded. "
             "Compute it from the inputs.")
TYPE_HINT = "The answer has the wrong type or structure: return exactly what the exercise asks for."
NONE_HINT = "Your code returned None: is a `return` statement missing?"
NAN = "Your answer contains NaN or inf: look for an overflow (exp of a large number) or a division by zero."
CLOSE = ("Close, but not within tolerance: look for an off-by-one, a step size h that is too large, "
         "a slightly wrong constant, or float32 where float64 was needed.")



PLAIN_ZEROS = ("Your answer is all zeros where the expected one is not: is the result computed but never "
               "returned, or is a placeholder left in?")


def plain_value_hint(generic: str, fallback: str) -> str:
    """``diagnose``'s hint for an exercise whose answer is a plain value, not a gradient in a graph.

    ``diagnose`` speaks of gradients (`+=` at forks, ``.grad``, "exactly r times" -- and any two single numbers
    have *some* ratio). For a plain formula that misleads, so such a hint is replaced by the exercise's own
    ``fallback`` (all zeros by ``PLAIN_ZEROS``); shape, sign, NaN and "hard-coded" hints stay.
    """
    if generic == ZEROS:
        return PLAIN_ZEROS
    if not generic or generic == CLOSE or "`+=`" in generic or "times the expected" in generic or ".grad" in generic:
        return fallback
    return generic


def is_specific(hint: str) -> bool:
    """True for hints that already name a concrete mistake a "hard-coded" verdict must not replace."""
    concrete = (ZEROS, PLAIN_ZEROS, NAN, NONE_HINT, TRANSPOSE, TYPE_HINT, ALL_AXES)
    return any(hint.startswith(h[:40]) for h in concrete) or "has shape" in hint


def short_repr(x: Any, limit: int = 300) -> str:
    """A readable, bounded repr of case data and answers (engine objects shown by their data)."""
    if isinstance(x, dict):
        text = "{" + ", ".join(f"{k}={short_repr(v, 120)}" for k, v in x.items()) + "}"
    elif isinstance(x, np.ndarray):
        # fixed-point with 4 decimals unless that would show a small non-zero entry as 0 (a gradient of 4e-5)
        with np.errstate(invalid="ignore"):
            tiny = x.dtype.kind in "fc" and bool(np.any((np.abs(x) < 5e-5) & (x != 0)))
        with np.printoptions(precision=4, suppress=not tiny, threshold=20, edgeitems=2):
            body = np.array2string(x, separator=", ").replace("\n", "")
        text = body if x.ndim == 0 else f"array{x.shape}: {body}"
    elif isinstance(x, (float, np.floating)):
        text = f"{float(x):.6g}"
    elif isinstance(x, (list, tuple)) and not _numeric_seq(x):
        inner = ", ".join(short_repr(v, 120) for v in x)
        text = f"[{inner}]" if isinstance(x, list) else f"({inner}{',' if len(x) == 1 else ''})"
    elif callable(x) and hasattr(x, "__name__"):
        text = x.__name__
    else:
        try:
            text = repr(x)
        except Exception as exc:  # a learner object whose __repr__ raises must not crash the checker
            text = f"<{type(x).__name__} (repr failed: {type(exc).__name__})>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def same(a: Any, b: Any) -> bool:
    """Exact structural equality of plain data (numbers, arrays, nested containers)."""
    try:
        if isinstance(a, dict) or isinstance(b, dict):
            return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(
                same(a[k], b[k]) for k in a)
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and not _numeric_seq(a):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        x, y = _to_array(a), _to_array(b)
        if x is None or y is None:
            return a is b
        return x.shape == y.shape and bool(np.array_equal(x, y, equal_nan=True))
    except Exception:
        return False


def _numeric_seq(a) -> bool:
    """True for a list/tuple of plain numbers (or nested lists of them): compared as one array.

    A sequence holding arrays or engine objects is a structure, compared item by item.
    """
    return all(isinstance(v, (int, float, np.number)) or (isinstance(v, list) and _numeric_seq(v)) for v in a)


def _to_array(x: Any) -> np.ndarray | None:
    """Numbers, arrays and engine objects (anything with ``.data``) as float arrays; None if not numeric."""
    if x is None:
        return None
    if hasattr(x, "data") and not isinstance(x, (np.ndarray, np.generic, memoryview)):
        x = x.data
    if hasattr(x, "get") and type(x).__module__.startswith("cupy"):
        x = x.get()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr


def compare_values(got: Any, want: Any, *, rtol: float = 1e-6, atol: float = 1e-8, where: str = "answer",
                   suspects: Iterable[tuple[str, Any]] = ()):
    """None if ``got`` matches ``want`` (recursively), else a ``Mismatch`` with a diagnosis.

    ``suspects`` are ``(hint, wrong_answer)`` pairs: if ``got`` matches a wrong answer, its hint is used.
    """
    from .framework import Mismatch

    if isinstance(want, dict):
        if not isinstance(got, dict):
            return Mismatch(f"{where}: expected a dict with keys {sorted(want)}, received "
                            f"{type(got).__name__}: {short_repr(got)}", NONE_HINT if got is None else TYPE_HINT)
        missing = sorted(set(want) - set(got), key=str)
        if missing:
            return Mismatch(f"{where}: missing keys {missing}", TYPE_HINT)
        for k in want:
            m = compare_values(got[k], want[k], rtol=rtol, atol=atol, where=f"{where}[{k!r}]",
                               suspects=[(h, s[k]) for h, s in suspects if isinstance(s, dict) and k in s])
            if m is not None:
                return m
        return None
    if isinstance(want, (list, tuple)) and not _numeric_seq(want):
        if not isinstance(got, (list, tuple)) or len(got) != len(want):
            what = "tuple" if isinstance(want, tuple) else "list"
            return Mismatch(f"{where}: expected a {what} of {len(want)} items, received {short_repr(got)}",
                            NONE_HINT if got is None else TYPE_HINT)
        for i, (g, w) in enumerate(zip(got, want)):
            m = compare_values(g, w, rtol=rtol, atol=atol, where=f"{where}[{i}]",
                               suspects=[(h, s[i]) for h, s in suspects
                                         if isinstance(s, (list, tuple)) and len(s) == len(want)])
            if m is not None:
                return m
        return None
    w = _to_array(want)
    if w is None:  # non-numeric expected value (a string, a bool flag, ...): exact equality
        if got == want:
            return None
        return Mismatch(f"{where}: expected {short_repr(want)}, received {short_repr(got)}", TYPE_HINT)
    g = _to_array(got)
    if g is None or g.dtype == object:
        return Mismatch(f"{where}: expected a number or array, received {type(got).__name__}: {short_repr(got)}",
                        NONE_HINT if got is None else TYPE_HINT)
    if g.shape == w.shape and np.allclose(g, w, rtol=rtol, atol=atol):
        return None
    hint = _match_suspects(g, suspects, rtol=rtol, atol=atol) or diagnose(g, w)
    if g.shape != w.shape:
        return Mismatch(f"{where}: expected shape {w.shape}, received shape {g.shape}: {short_repr(g)}", hint)
    shown_w, shown_g = short_repr(w), short_repr(g)
    if shown_w == shown_g and w.size == 1:      # a difference in digits the short form rounds away
        shown_w, shown_g = repr(float(w.reshape(()))), repr(float(g.reshape(())))
    return Mismatch(f"{where}: expected {shown_w}, received {shown_g}{_worst(g, w)}", hint)


def _match_suspects(g: np.ndarray, suspects, *, rtol: float, atol: float) -> str:
    return matching_hint(g, suspects, rtol=rtol, atol=atol) or ""


def close(got: Any, want: Any, *, rtol: float = 1e-7, atol: float = 1e-12, equal_nan: bool = False) -> bool:
    """True when ``got`` equals ``want`` in shape and value; False when either is not numeric."""
    g, w = _to_array(got), _to_array(want)
    if g is None or w is None or g.shape != w.shape:
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.allclose(g, w, rtol=rtol, atol=atol, equal_nan=equal_nan))


def matching_hint(got: Any, variants: Iterable[tuple[str, Any]], *, rtol: float = 1e-6,
                  atol: float = 1e-8) -> str | None:
    """The hint of the first known-wrong answer in ``variants`` that ``got`` equals, else None.

    ``variants`` are ``(hint, wrong_answer)`` pairs; a tuple wrong answer must match ``got`` entry by entry.
    """
    for hint, wrong in variants:
        if isinstance(wrong, tuple):
            if isinstance(got, (tuple, list)) and len(got) == len(wrong) and all(
                    close(g, w, rtol=rtol, atol=atol) for g, w in zip(got, wrong)):
                return hint
        elif close(got, wrong, rtol=rtol, atol=atol):
            return hint
    return None


def expect_tuple(got: Any, names: Iterable[str], hint: str):
    """None when ``got`` is a tuple or list with one entry per name, else a Mismatch saying what to return."""
    from .framework import Mismatch

    names = list(names)
    if isinstance(got, (tuple, list)) and len(got) == len(names):
        return None
    listed = ", ".join(names)
    return Mismatch(f"expected a tuple ({listed}), received {short_repr(got)}",
                    NONE_HINT if got is None else hint.format(n=len(names), listed=listed))


def _worst(g: np.ndarray, w: np.ndarray) -> str:
    """Where the answers differ most, for arrays (", largest difference at index (1, 2): ...")."""
    if w.ndim == 0 or w.size < 2:
        return ""
    with np.errstate(invalid="ignore"):
        diff = np.abs(g - w)
    diff = np.where(np.isnan(diff), np.inf, diff)
    idx = np.unravel_index(int(np.argmax(diff)), w.shape)
    idx = tuple(int(i) for i in idx)
    shown_w, shown_g = f"{float(w[idx]):.6g}", f"{float(g[idx]):.6g}"
    if shown_w == shown_g:                      # every digit that differs, not two equal-looking numbers
        shown_w, shown_g = repr(float(w[idx])), repr(float(g[idx]))
    return f"; largest difference at index {idx[0] if len(idx) == 1 else idx}: expected {shown_w}, received {shown_g}"


def _simple_ratio(r: float) -> tuple[int, int] | None:
    """(p, q) with r = p/q for small whole numbers p and q (a missing 2, an extra 1/N), else None."""
    for q in (1, 2, 3, 4, 5, 6, 8, 10):
        p = round(r * q)
        if p >= 1 and abs(r * q - p) < 1e-6:
            return p, q
    return None


def diagnose(got: np.ndarray, want: np.ndarray) -> str:
    """Name the likely mistake behind a wrong answer, from the fingerprint it leaves on the numbers.

    Returns a hint (one of the messages above, filled in) or "" when nothing is recognised.
    """
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return _diagnose_shape(got, want)
    if not np.all(np.isfinite(got)):
        return NAN
    if np.all(got == 0) and np.any(want != 0):
        return ZEROS
    scale = float(np.max(np.abs(want))) or 1.0
    tiny = 1e-9 * scale
    if np.any(want != 0) and np.allclose(got, -want, rtol=1e-6, atol=tiny):
        return SIGN
    if want.ndim >= 2 and want.shape[-1] == want.shape[-2] and np.allclose(
            got, np.swapaxes(want, -1, -2), rtol=1e-6, atol=tiny):
        return TRANSPOSE
    nz = np.abs(want) > 1e-12 * scale
    # a ratio says something only across several entries: any two single numbers have one
    if np.count_nonzero(nz) >= 2:
        ratio = got[nz] / want[nz]
        r = float(np.median(ratio))
        simple = _simple_ratio(r) if r > 0 else None
        if simple and abs(r - 1) > 1e-2 and np.allclose(got, r * want, rtol=1e-6, atol=tiny):
            p, q = simple
            if p == 1:
                return FANOUT.format(ratio=f"exactly 1/{q}", where="")
            if q == 1:
                return MULTIPLE.format(ratio=f"{p}")
            return FACTOR.format(ratio=f"{r:.4g}")
        # every wrong entry a fraction of the right value (one share of several): `=` at a fork
        right = np.isclose(got, want, rtol=1e-6, atol=tiny)
        wrong = ~right & nz
        if wrong.any() and not np.any(~right & ~nz):
            part = got[wrong] / want[wrong]
            if np.all((part > -1e-12) & (part < 1 - 1e-3)):  # clearly a share, not a rounding error
                where = f" in {int(wrong.sum())} of {want.size} entries" if right.any() else ""
                return FANOUT.format(ratio="a fraction", where=where)
    return CLOSE if np.allclose(got, want, rtol=1e-2, atol=1e-6 * scale) else ""


def _diagnose_shape(got: np.ndarray, want: np.ndarray) -> str:
    gs, ws = got.shape, want.shape
    fmt = {"got": gs, "want": ws}
    if got.ndim == want.ndim and got.ndim >= 2 and gs == ws[::-1]:
        return TRANSPOSE
    if got.ndim == want.ndim and got.ndim >= 2 and gs[:-2] == ws[:-2] and gs[-2:] == ws[-2:][::-1]:
        return TRANSPOSE
    if got.size == want.size and got.size > 0:
        squeezed_g = tuple(n for n in gs if n != 1)
        squeezed_w = tuple(n for n in ws if n != 1)
        if squeezed_g == squeezed_w:
            keep = got.ndim < want.ndim
            which = "missing" if keep else "extra"
            return KEEPDIMS.format(which=which, keep=keep, **fmt)
    if got.ndim == 0 and want.ndim > 0 and want.size > 1:
        return ALL_AXES.format(want=ws)
    extra = _unbroadcast_axes(gs, ws)
    if extra is not None:
        code = _unbroadcast_code(got.ndim - want.ndim, extra)
        return UNBROADCAST.format(axes=", ".join(map(str, extra)), code=code, **fmt)
    if got.ndim == want.ndim or abs(got.ndim - want.ndim) == 1:
        return AXIS.format(axis=_guess_axis(gs, ws), **fmt)
    return SHAPE.format(**fmt)


def _unbroadcast_code(lead: int, axes: list[int]) -> str:
    """The NumPy expression that undoes the broadcasting: leading axes summed away, stretched ones kept."""
    def arg(a):
        return str(a[0]) if len(a) == 1 else str(tuple(a))

    added = [a for a in axes if a < lead]
    stretched = [a - lead for a in axes if a >= lead]
    code = "grad"
    if added:
        code += f".sum(axis={arg(added)})"
    if stretched:
        code += f".sum(axis={arg(stretched)}, keepdims=True)"
    return code


def _guess_axis(gs: tuple, ws: tuple) -> str:
    """Which axis the learner probably should have reduced over, when it can be told from the shapes."""
    if len(gs) == len(ws):
        diff = [i for i, (a, b) in enumerate(zip(gs, ws)) if a != b]
        return str(diff[0]) if len(diff) == 1 else "?"
    return "?"


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


EXCEPTION_HINTS = {     # ``error_hint``'s hints, by the error they explain
    "broadcast": ("two arrays' shapes do not fit together: print their .shape just before the failing line. A "
                  "gradient always has the shape of the thing it is the gradient of."),
    "matmul": ("the inner dimensions of a matrix product differ: a transpose is probably missing or extra (dimensional "
               "analysis: a gradient has the shape of its variable; which product of the arrays at hand has it?)."),
    "none": "something is None where a value was expected: is a `return` missing from a function?",
    "recursion": "the recursion went too deep: a long graph needs an iterative loop with an explicit stack.",
}


def error_hint(exc: BaseException) -> str:
    """A hint for the classic errors in learner code, from the exception's message ("" if none fits)."""
    text = str(exc)
    if "could not be broadcast" in text:
        return EXCEPTION_HINTS["broadcast"]
    if "matmul" in text and ("mismatch" in text or "differ" in text) or "not aligned" in text:
        return EXCEPTION_HINTS["matmul"]
    if "'NoneType'" in text:
        return EXCEPTION_HINTS["none"]
    if isinstance(exc, RecursionError):
        return EXCEPTION_HINTS["recursion"]
    return ""

