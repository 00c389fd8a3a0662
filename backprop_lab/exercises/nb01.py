"""Checks for notebook 01, finite differences (the exercises themselves are in solutions/01_*.md).

Each check knows the classic wrong versions of its formula (the forward difference handed in as the
central one, ``/ h`` where ``/ (2 * h)`` was meant, every coordinate nudged at once, a missing ``abs``...)
and names the one it recognises. Expected answers come from the notebook's own solutions
(``backprop_lab.references.nb01``).
"""
from __future__ import annotations

import traceback

import numpy as np

from . import hints
from .framework import Exercise, Mismatch

# Cases hold plain data only, so the functions they differentiate are named, and looked up here.
SCALAR_FUNCTIONS = {
    "sin": np.sin,
    "exp": np.exp,
    "tanh": np.tanh,
    "cube": lambda x: x ** 3,
}


def _log_norm(x):
    return float(np.log(1.0 + np.sum(x ** 2)))


def _weighted_sin(x):
    weights = np.arange(1, x.size + 1, dtype=np.float64).reshape(x.shape)
    return float(np.sum(weights * np.sin(x)))


def _cubes_coupled(x):
    return float(np.sum(x ** 3) / 3 + np.sum(x) ** 2 / 2)


DERIVATIVES = {  # exact f', to recognise an answer that ignores the step h
    "sin": np.cos,
    "exp": np.exp,
    "tanh": lambda x: 1.0 - np.tanh(x) ** 2,
    "cube": lambda x: 3 * x ** 2,
}

VECTOR_FUNCTIONS = {
    "log_norm": _log_norm,            # log(1 + sum(x**2)): every partial derivative depends on all entries
    "weighted_sin": _weighted_sin,    # sum_k (k+1) sin(x_k): each entry has its own weight
    "cubes_coupled": _cubes_coupled,  # sum(x**3)/3 + sum(x)**2/2
}

TINY = 1e-12


def _close(got, want, rtol=1e-7, atol=1e-12) -> bool:
    """True when ``got`` equals ``want`` in value and shape (used to recognise a known wrong formula)."""
    return hints.close(got, want, rtol=rtol, atol=atol, equal_nan=True)


def _recognise(got, variants) -> str | None:
    """The hint of the first known wrong formula whose value ``got`` reproduces, else None."""
    for value, hint in variants:
        if value is not None and _close(got, value):
            return hint
    return None


def _plain_number(value):
    """The learner's answer as a plain float when it is a number, else as it came (compare reports it)."""
    if value is None:  # a missing `return`: compare says so, instead of seeing NaN
        return None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return value
    return float(arr) if arr.shape == () else arr




# ----------------------------------------------------------------------------- 01.1 and 01.2

SCALAR_HINTS = {
    "forward_two_sided": (
        "You took the two points on both sides of x, x - h and x + h, and divided by h, the step of only one of "
        "them. The forward difference is the secant from x to x + h: two points one step h apart."),
    "float32": (
        "Close, but right to only about 7 significant digits, the precision of float32: a float32 number "
        "(np.float32, or an array of dtype float32) got into your computation. x, h and the values of f are "
        "float64 here; keep them so (section 4 shows what float32 does to a difference quotient)."),
    "forward_is_central": (
        "That is the central difference, which uses the points on both sides of x. This exercise asks for the "
        "forward difference, the secant from x to x + h; the central one is the next exercise."),
    "backward": (
        "That is the backward difference: it steps from x to x - h. The forward difference steps forward, "
        "from x to x + h."),
    "no_division": (
        "You forgot to divide by the step: f(x+h) - f(x) is how much f changed; a slope is a change in f per "
        "unit change of x."),
    "times_h": "You multiplied by h where you should divide by it: a slope is (change in f) per (change in x).",
    "forward_2h": ("Your answer is half the expected one: you divided by 2h, but the forward difference's two "
                   "points, x and x + h, are h apart."),
    "one_number": ("Return one number, not an array holding one number: the notebook prints it with a format "
                   "(f\"{estimate:.10f}\") and computes with it as a number."),
    "precedence_forward": (
        "Operator precedence: `/` binds tighter than `-`, so `a - b / h` divides only b by h. The whole "
        "difference must be divided."),
    "sign_forward": "Wrong sign: the change in f is the value at x + h minus the value at x, not the other way round.",
    "central_is_forward": (
        "That is the forward difference, the secant from x to x + h: its error shrinks only like h. The central "
        "difference is the secant through the points on BOTH sides of x."),
    "central_is_backward": (
        "That is the backward difference, the secant from x - h to x: its error shrinks only like h. The central "
        "difference is the secant through the points on BOTH sides of x."),
    "h_not_2h": (
        "Your answer is twice the expected one: you divided by h, but the points x - h and x + h are 2h apart."),
    "precedence_central": (
        "Operator precedence: `a / 2 * h` means (a / 2) * h, so it divides by 2 and then MULTIPLIES by h. "
        "The denominator must be the whole distance between the two points."),
    "only_2": "You divided by 2 but not by h: the points x - h and x + h are 2h apart.",
    "sign_central": "Wrong sign: it is the value on the right of x minus the value on the left, over their distance.",
    "one_sided": (
        "Your answer is off by about h*f''(x)/2, the size of a one-sided difference's error: a central "
        "difference uses the two points symmetric around x, never f(x) itself."),
    "ignores_h": (
        "Your answer is much closer to the exact derivative than a {method} difference with this step can be: "
        "use the step h you are given (not one of your own, and no calculus), so the estimate keeps the error "
        "that step brings; the notebook studies that error next."),
    "other_forward": (
        "Work the example of the text by hand (sin at x = 1 with h = 0.1 gives 0.497364) and compare: the slope "
        "of the secant from x to x + h, with the step h exactly as given."),
    "other_central": (
        "Work the example of the text by hand (sin at x = 1 with h = 0.1 gives 0.539402) and compare: the slope "
        "of the secant from x - h to x + h, with the step h exactly as given."),
}


def _ignores_h(got, want, case) -> bool:
    """True when ``got`` is far closer to the exact derivative than the estimate with this h can be."""
    if not isinstance(got, float):
        return False
    exact = float(DERIVATIVES[case["f"]](case["x"]))
    return abs(got - exact) < 0.1 * abs(want - exact)


def _scalar_values(case):
    f, x, h = SCALAR_FUNCTIONS[case["f"]], case["x"], case["h"]
    return f, x, h, f(x + h), f(x), f(x - h)


class _ScalarDifference(Exercise):
    """Shared by 01.1 and 01.2: cases, and how the learner's function is called."""

    rtol, atol = 1e-6, 1e-10

    def cases(self, rng):
        fixed = [{"f": "sin", "x": 1.0, "h": 0.1}, {"f": "cube", "x": 2.0, "h": 0.01}]
        names = list(SCALAR_FUNCTIONS)
        rand = []
        for k in range(4):
            x = float(np.round(rng.uniform(0.3, 1.2), 3) * rng.choice([-1.0, 1.0]))
            rand.append({"f": names[k % len(names)], "x": x, "h": float(rng.choice([0.1, 0.03, 0.01]))})
        return fixed + rand

    def run(self, obj, case):
        return _plain_number(obj(SCALAR_FUNCTIONS[case["f"]], case["x"], case["h"]))

    @staticmethod
    def _one_number(got) -> str | None:
        """The hint for an answer that is an array of one entry (np.array([...]), f(np.array([x]))...)."""
        return SCALAR_HINTS["one_number"] if isinstance(got, np.ndarray) and got.size == 1 else None

    @staticmethod
    def _float32(got, want) -> str | None:
        """The hint for an answer off by float32's rounding (a relative error between 1e-6 and 5e-5)."""
        if isinstance(got, (float, np.floating)) and want and 1e-6 < abs(float(got) - want) / abs(want) < 5e-5:
            return SCALAR_HINTS["float32"]
        return None

    def describe(self, case):
        return f"f = {case['f']}, x = {case['x']:g}, h = {case['h']:g}"


class ForwardDifference(_ScalarDifference):

    def compare(self, got, want, case):
        mismatch = hints.compare_values(got, want, rtol=self.rtol, atol=self.atol)
        if mismatch is None:
            return None
        f, x, h, fp, f0, fm = _scalar_values(case)
        hint = _recognise(got, [
            ((fp - fm) / (2 * h), SCALAR_HINTS["forward_is_central"]),
            ((f0 - fm) / h, SCALAR_HINTS["backward"]),
            (fp - f0, SCALAR_HINTS["no_division"]),
            ((fp - f0) * h, SCALAR_HINTS["times_h"]),
            (fp - f0 / h, SCALAR_HINTS["precedence_forward"]),
            ((f0 - fp) / h, SCALAR_HINTS["sign_forward"]),
            ((fp - f0) / (2 * h), SCALAR_HINTS["forward_2h"]),
            ((fp - fm) / h, SCALAR_HINTS["forward_two_sided"]),
        ]) or self._one_number(got) or self._float32(got, want)
        if hint is None and _ignores_h(got, want, case):
            hint = SCALAR_HINTS["ignores_h"].format(method="forward")
        return Mismatch(mismatch.message, hint or hints.plain_value_hint(mismatch.hint, SCALAR_HINTS["other_forward"]))


class CentralDifference(_ScalarDifference):

    def compare(self, got, want, case):
        mismatch = hints.compare_values(got, want, rtol=self.rtol, atol=self.atol)
        if mismatch is None:
            return None
        f, x, h, fp, f0, fm = _scalar_values(case)
        hint = _recognise(got, [
            ((fp - f0) / h, SCALAR_HINTS["central_is_forward"]),
            ((f0 - fm) / h, SCALAR_HINTS["central_is_backward"]),
            ((fp - fm) / h, SCALAR_HINTS["h_not_2h"]),
            ((fp - fm) / 2 * h, SCALAR_HINTS["precedence_central"]),
            ((fp - fm) / 2, SCALAR_HINTS["only_2"]),
            ((fm - fp) / (2 * h), SCALAR_HINTS["sign_central"]),
        ]) or self._one_number(got) or self._float32(got, want)
        if hint is None and _ignores_h(got, want, case):
            hint = SCALAR_HINTS["ignores_h"].format(method="central")
        if hint is None and isinstance(got, float):
            # an unrecognised one-sided formula: off by the order of h*f''/2 rather than h^2*f'''/6
            one_sided_error = abs((fp - f0) / h - want)
            if 0.3 * one_sided_error <= abs(got - want) <= 3 * one_sided_error:
                hint = SCALAR_HINTS["one_sided"]
        return Mismatch(mismatch.message, hint or hints.plain_value_hint(mismatch.hint, SCALAR_HINTS["other_central"]))


# ----------------------------------------------------------------------------- 01.3

GRADIENT_HINTS = {
    "forward": (
        "These are forward differences, one-sided: each entry must be the CENTRAL difference along that entry, "
        "whose error is h^2 instead of h."),
    "h_not_2h": (
        "Every entry is twice the expected one: you divided by h, but x - h e_i and x + h e_i are 2h apart."),
    "all_at_once": (
        "Every entry is the same number: you nudged ALL entries of x at once (x + h). A partial derivative moves "
        "one entry and holds every other entry fixed."),
    "first_only": (
        "Every entry equals the partial derivative with respect to the first entry: the loop never moves on to "
        "the entry it is computing."),
    "h_on_output": (
        "Every entry is 1: you added h to the value of f instead of to its input. The nudge goes into x, "
        "before f is evaluated."),
    "half_forward": (
        "Your two points are x + h e_i and x itself, over a distance of 2h: after stepping up by h you must step "
        "DOWN by h from the original point, not back to it. (Two names for ONE array, as after `xp = x` and "
        "`xm = x`, do exactly this: `=` does not copy.)"),
    "sign": "Wrong sign in every entry: it is the value at x + h e_i minus the value at x - h e_i.",
    "flattened": (
        "Your gradient has the right entries but the shape {got}: return an array of x's shape {want}, one "
        "partial derivative in the place of each entry of x."),
    "scalar": (
        "You returned one number: the gradient of f: R^n -> R has one partial derivative per entry of x, "
        "so it is an array of x's shape {want}."),
    "rows": (
        "Every entry of a row got the same value: for a 2-D x, x[i] is a whole ROW, so nudging x[i] moved all "
        "its entries at once. Nudge one ENTRY at a time, whatever the number of dimensions of x."),
    "precedence": (
        "Every entry is h² times too small: `a / 2 * h` means (a / 2) * h, so it divides by 2 and then "
        "MULTIPLIES by h. The denominator must be the whole distance between the two points."),
    "own_h": (
        "Your gradient is much closer to the exact one than central differences with this step (h = {h:g}) can be: "
        "you used a step of your own. Use the h you are given: the caller picks it (section 4's V), and the estimate "
        "carries the error that step brings."),
    "last_missing": (
        "Every entry is right but the last{k}, still 0: your loop stops short. It must visit every entry of x, "
        "the last one included."),
    "float32": (
        "x is float32 here, and your answer is off by about float32's precision: nudges of h in float32 lose most "
        "of their digits (section 4). Compute in float64 whatever x's type."),
    "same_point": (
        "Every entry is 0 although your function evaluated f {calls} times: the two values of f you subtract came "
        "from one and the same point. Do your two nudged copies share ONE array? `xp = x` does not copy: it gives "
        "the same array a second name, so every nudge through one name shows through the other. Each point needs "
        "its own values when f is evaluated at it."),
    "other": (
        "Check one entry by hand: with every other entry held fixed, move entry i by +h and by -h, and take the "
        "slope between the two values of f. Every entry of x other than i keeps its value."),
    "not_restored": (
        "numerical_gradient changed the array x it was given: after nudging an entry, it did not hold the "
        "original value any more (or you nudged the caller's array itself). Every later entry is then computed "
        "at a point that has drifted away from x, and the caller's x is changed too."),
}


ARRAY_TYPE_HINT = ("Return a NumPy array, not a {type}: the notebooks compute with your answer afterwards "
                   "(.max(), .round(), arithmetic), which a {type} does not support.")


def _basis_step(x, idx, step):
    y = x.copy()
    y[idx] += step
    return y


def numerical_gradient_variants(f, x, h, right):
    """The classic wrong gradients of f at x, for the hints (and the tests); ``right`` is the right one."""
    ref, fwd, first = np.asarray(right, dtype=np.float64), np.zeros_like(x), np.zeros_like(x)
    f0 = f(x)
    first_idx = (0,) * x.ndim
    d_first = (f(_basis_step(x, first_idx, h)) - f(_basis_step(x, first_idx, -h))) / (2 * h)
    for idx in np.ndindex(x.shape):
        fwd[idx] = (f(_basis_step(x, idx, h)) - f0) / h
        first[idx] = d_first
    all_at_once = np.full_like(x, (f(x + h) - f(x - h)) / (2 * h))
    return {
        "forward": fwd,
        "h_not_2h": 2 * ref,
        "all_at_once": all_at_once,
        "first_only": first,
        "h_on_output": np.ones_like(x),
        "half_forward": fwd / 2,
        "sign": -ref,
    }


class NumericalGradient(Exercise):
    rtol, atol = 1e-6, 1e-9

    def cases(self, rng):
        fixed = [
            {"f": "log_norm", "x": np.array([0.5, -1.0, 2.0]), "h": 1e-3},
            {"f": "weighted_sin", "x": np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]), "h": 1e-3},
            # float32: a gradient check in float32 keeps only a few digits (notebook 01, section 4)
            {"f": "log_norm", "x": np.array([[0.75], [-1.25], [0.5]]), "h": 1e-3, "dtype": "float32"},
            # a large step: the central difference's own error (h² times f's third derivative / 6) shows, so a
            # step of one's own instead of h is caught
            {"f": "cubes_coupled", "x": np.array([0.5, -1.5, 1.0]), "h": 0.1},
        ]
        names = list(VECTOR_FUNCTIONS)
        shapes = [(4,), (2, 3), (3, 1, 2)]
        rand = [{"f": names[k % len(names)], "x": np.round(rng.normal(size=shapes[k % len(shapes)]), 3),
                 "h": 1e-3} for k in range(3)]
        return fixed + rand

    def run(self, obj, case):
        x = np.array(case["x"], dtype=case.get("dtype", "float64"))
        given = x.copy()
        f, calls = VECTOR_FUNCTIONS[case["f"]], [0]

        def counted(v):            # how often f is evaluated: a zero gradient from no evaluation is a placeholder
            calls[0] += 1
            return f(v)

        grad = obj(counted, given, case["h"])
        if isinstance(grad, (list, tuple)):
            return {"wrong_type": type(grad).__name__}
        # nudging and restoring an entry in place (+h, -2h, +h) may round in its last digit: that is restored
        tol = 1e-6 if x.dtype == np.float32 else 1e-12
        restored = bool(np.allclose(given, x, rtol=tol, atol=tol * 1e-3))
        return {"grad": _plain_number(grad), "x_restored": restored, "f_calls": calls[0]}

    def compare(self, got, want, case):
        if isinstance(got, dict) and "wrong_type" in got:
            return Mismatch(f"expected a NumPy array, received a {got['wrong_type']}",
                            ARRAY_TYPE_HINT.format(type=got["wrong_type"]))
        if not isinstance(got, dict) or "grad" not in got:
            return Mismatch(f"could not read the answer {hints.short_repr(got)}", hints.TYPE_HINT)
        g, w = got["grad"], want["grad"]
        mismatch = hints.compare_values(g, w, rtol=self.rtol, atol=self.atol, where="gradient")
        if not got["x_restored"]:  # fix this first: a drifting x also spoils the later entries
            message = mismatch.message if mismatch else "the gradient is right, but x was changed"
            return Mismatch(message, GRADIENT_HINTS["not_restored"])
        if mismatch is None:
            return None
        garr = np.asarray(g, dtype=np.float64) if not isinstance(g, np.ndarray) else g
        if g is None:
            return Mismatch(mismatch.message, hints.NONE_HINT)
        if isinstance(g, float) or (isinstance(garr, np.ndarray) and garr.shape == () and w.shape != ()):
            return Mismatch(mismatch.message, GRADIENT_HINTS["scalar"].format(want=w.shape))
        if isinstance(garr, np.ndarray) and garr.dtype.kind in "biuf" and garr.shape != w.shape:
            if garr.size == w.size and np.allclose(garr.reshape(w.shape), w, rtol=self.rtol, atol=self.atol):
                return Mismatch(mismatch.message, GRADIENT_HINTS["flattened"].format(got=garr.shape, want=w.shape))
            return Mismatch(mismatch.message, mismatch.hint or hints.SHAPE)
        if case.get("dtype") == "float32" and hints.close(g, w, rtol=1e-2, atol=1e-6):
            return Mismatch(mismatch.message, GRADIENT_HINTS["float32"])
        if got.get("f_calls", 0) >= 2 and garr.shape == w.shape and not np.any(garr) and np.any(w):
            return Mismatch(mismatch.message, GRADIENT_HINTS["same_point"].format(calls=got["f_calls"]))
        x = np.array(case["x"], dtype=case.get("dtype", "float64")).astype(np.float64)
        f, h = VECTOR_FUNCTIONS[case["f"]], case["h"]
        variants = numerical_gradient_variants(f, x, h, w)
        suspects = [(variants[name], GRADIENT_HINTS[name]) for name in
                    ("forward", "h_not_2h", "all_at_once", "first_only", "h_on_output", "half_forward", "sign")]
        suspects.append((w * h * h, GRADIENT_HINTS["precedence"]))
        if x.ndim >= 2:  # `for i in range(len(x))`: x[i] is a row, nudged all at once
            rows = np.zeros_like(x)
            for i in range(len(x)):
                rows[i] = (f(_basis_step(x, i, h)) - f(_basis_step(x, i, -h))) / (2 * h)
            suspects.append((rows, GRADIENT_HINTS["rows"]))
        hint = _recognise(g, suspects)
        if hint is None and garr.shape == w.shape and h >= 1e-2:      # a step of one's own: right to many digits
            fine = np.zeros_like(x)
            for idx in np.ndindex(x.shape):
                fine[idx] = (f(_basis_step(x, idx, 1e-6)) - f(_basis_step(x, idx, -1e-6))) / 2e-6
            if hints.close(garr, fine, rtol=1e-5, atol=1e-8):
                hint = GRADIENT_HINTS["own_h"].format(h=h)
        if hint is None and garr.shape == w.shape and garr.size > 1:   # `range(x.size - 1)`: the last ones left 0
            flat_g, flat_w = garr.ravel(), np.asarray(w, dtype=np.float64).ravel()
            wrong = ~np.isclose(flat_g, flat_w, rtol=self.rtol, atol=self.atol)
            k = int(wrong.sum())
            if 0 < k < flat_g.size and wrong[-k:].all() and not np.any(flat_g[-k:]):
                hint = GRADIENT_HINTS["last_missing"].format(k="" if k == 1 else f" {k}")
        return Mismatch(mismatch.message, hint or hints.plain_value_hint(mismatch.hint, GRADIENT_HINTS["other"]))

    def describe(self, case):
        dtype = " (float32)" if case.get("dtype") == "float32" else ""
        return f"f = {case['f']}, x = {hints.short_repr(np.asarray(case['x']))}{dtype}, h = {case['h']:g}"


# ----------------------------------------------------------------------------- 01.4

ERROR_HINTS = {
    "no_abs": (
        "Some of your relative errors are negative: a relative error measures a distance, and a distance is "
        "never negative."),
    "no_abs_denominator": (
        "Take absolute values inside the max as well: max(|a|, |b|). With negative numbers, max(a, b) can be "
        "small or negative and the ratio meaningless."),
    "absolute": (
        "That is the absolute error |a - b|. The relative error divides it by the size of the numbers, so that "
        "1001 vs 1000 and 0.001001 vs 0.001 are equally close."),
    "by_b": (
        "You divided by |b| only (or by |a| only). Divide by the larger of the two, so that "
        "relative_error(a, b) == relative_error(b, a) and neither argument has to be 'the true one'."),
    "by_min": "You divided by the smaller of |a| and |b|; the convention is the larger one.",
    "by_sum": "You divided by |a| + |b|; the convention is the larger of the two.",
    "nan": (
        "Your answer is NaN where a and b are both 0: the denominator is 0 there and 0/0 is undefined. "
        "That is what the tiny floor in the max of the formula is for: two zeros have relative error 0."),
    "global_max": (
        "You divided every entry by ONE number, the largest |a| or |b| over the whole array. Each entry has its "
        "own scale: entry i is divided by the larger of |a_i| and |b_i| (and the tiny floor)."),
    "other": ("Work the example of the text by hand ([0.3333, 0.25]) and compare with your function, entry by "
              "entry: |a - b| over the largest of |a|, |b| and 1e-12, all for the same entry."),
    "floor": (
        "For the smallest entries your denominator is larger than max(|a_i|, |b_i|): the floor must be tiny = "
        "1e-12, and only replace a denominator that is smaller than that (the largest of |a_i|, |b_i| and tiny), "
        "not be added to it. A larger floor hides the relative error of small gradients (section 6)."),
    "no_floor": (
        "Where |a_i| and |b_i| are both below tiny = 1e-12 (but not both 0) you divided by their own size: the floor "
        "replaces EVERY denominator smaller than tiny, not only an exact 0. Two gradients of 1e-13, rounding noise "
        "around a true 0, would otherwise look 100% apart."),
    "zero_below_floor": (
        "Where |a_i| and |b_i| are both below tiny = 1e-12 (but not equal) your answer is 0: the floor does not "
        "declare such entries equal, it only replaces their denominator, max(|a_i|, |b_i|), by tiny. Their relative "
        "error is |a_i - b_i| / tiny, the same formula as for every other entry."),
    "one_entry": (
        "For two plain numbers return one number (shape ()), not an array of one entry: np.atleast_1d, np.array([...]) "
        "or a reshape adds an axis the caller did not give. NumPy's elementwise functions keep their input's shape, "
        "that of a plain number included."),
    "reduced": (
        "You returned one number for arrays a and b. Return the relative error of each entry, an array of "
        "their shape; the notebook takes .max() afterwards."),
}

NP_MAX_HINT = ("Hint: np.max(...) reduces ONE array to its largest entry (a second argument is read as an axis, "
               "and a list of arrays and numbers is not one array). You want the larger of two values entry by "
               "entry: NumPy's elementwise maximum is a different function, np.maximum.")

NP_MAXIMUM_3_HINT = ("Hint: np.maximum compares TWO arrays entry by entry; a third positional argument is not a "
                     "third value to compare but the array to write the result into (its `out`). For the largest "
                     "of three values, take the larger of two, then the larger of that and the third.")

SCALAR_INPUT_HINT = ("a and b can also be plain numbers (the second case), which have no .shape or indexing: "
                     "use operations that work on numbers and arrays alike, as NumPy's elementwise functions do.")

PYTHON_MAX_HINT = ("Hint: Python's max() and abs() compare single numbers, and cannot tell which of two arrays "
                   "is 'larger'. For arrays you need NumPy's elementwise versions (np.abs, np.maximum).")


def relative_error_variants(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    d = np.abs(a - b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "no_abs": (a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), TINY),
            "no_abs_denominator": d / np.maximum(np.maximum(a, b), TINY),
            "absolute": d,
            "by_b": d / np.abs(b),
            "by_a": d / np.abs(a),
            "by_min": d / np.minimum(np.abs(a), np.abs(b)),
            "by_sum": d / (np.abs(a) + np.abs(b)),
            "global_max": d / max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), TINY),
        }


class RelativeError(Exercise):
    rtol, atol = 1e-6, 1e-12

    def cases(self, rng):
        fixed = [
            {"a": np.array([1.0, -4.0]), "b": np.array([1.5, -3.0])},
            {"a": 1.0, "b": 1.5},
            {"a": np.array([2.0, -3.0, 1e-3, 5.0]), "b": np.array([-1.0, -3.3, 2e-3, 4.0])},
            {"a": np.array([0.0, 1.0]), "b": np.array([0.0, 1.0 + 1e-7])},
            # gradients far below 1 (but above the floor): a larger floor, or one added, hides their error
            {"a": np.array([3e-11, -4e-10, 0.5]), "b": np.array([1e-11, -5e-10, 0.5])},
            # below the floor (rounding noise of two gradients that should be 0): the floor, not only 0/0, decides
            {"a": np.array([2e-13, 0.0, 1.0]), "b": np.array([-1e-13, 5e-13, 1.0])},
        ]
        rand = []
        for shape in [(3,), (2, 3)]:
            a = np.round(rng.normal(size=shape) * 10.0 ** rng.integers(-3, 3, size=shape), 6)
            rand.append({"a": a, "b": np.round(a * (1 + rng.normal(size=shape) * 0.1) + 0.01, 6)})
        return fixed + rand

    def run(self, obj, case):
        try:
            raw = obj(case["a"], case["b"])
            if isinstance(raw, (list, tuple)):
                return {"wrong_type": type(raw).__name__}
            return _plain_number(raw)
        except (ValueError, TypeError) as exc:  # `max(abs(a), ...)` / `np.max(a, b)` on arrays
            text = str(exc)
            if "ambiguous" in text:
                exc.args = (f"{exc.args[0]}\n{PYTHON_MAX_HINT}",)
            elif "inhomogeneous" in text or "integer scalar arrays" in text or "axis" in text:
                exc.args = (f"{exc.args[0]}\n{NP_MAX_HINT}",)
            elif ("ArrayType" in text or "'out'" in text or "output" in text or "positional" in text) and \
                    "maximum" in "".join(traceback.format_tb(exc.__traceback__)):     # np.maximum(x, y, tiny)
                exc.args = (f"{exc.args[0]}\n{NP_MAXIMUM_3_HINT}",)
            raise

    def error_hint(self, exc):
        text = str(exc)
        if isinstance(exc, (AttributeError, TypeError, IndexError)) and (
                "'float' object" in text or "'int' object" in text or "0-d" in text
                or "unsized object" in text):      # len() of a number, or of np.asarray of one
            return SCALAR_INPUT_HINT
        return super().error_hint(exc)

    def compare(self, got, want, case):
        if isinstance(got, dict) and "wrong_type" in got:
            return Mismatch(f"expected a NumPy array, received a {got['wrong_type']}",
                            ARRAY_TYPE_HINT.format(type=got["wrong_type"]))
        mismatch = hints.compare_values(got, want, rtol=self.rtol, atol=self.atol)
        if mismatch is None:
            return None
        g = np.asarray(got, dtype=np.float64) if isinstance(got, (float, np.ndarray)) else None
        if g is None:
            return mismatch
        w = np.asarray(want, dtype=np.float64)
        if g.shape == () and w.shape != ():
            return Mismatch(mismatch.message, ERROR_HINTS["reduced"])
        if w.shape == () and g.shape == (1,):
            return Mismatch(mismatch.message, ERROR_HINTS["one_entry"])
        if g.shape == w.shape and np.any(np.isnan(g)) and not np.any(np.isnan(w)):
            return Mismatch(mismatch.message, ERROR_HINTS["nan"])
        if g.shape == w.shape:
            # 0 exactly where both numbers are below the floor: the tiny answers of other slips look alike there
            scale = np.maximum(np.abs(np.asarray(case["a"], dtype=np.float64)),
                               np.abs(np.asarray(case["b"], dtype=np.float64)))
            wrong = ~np.isclose(g, w, rtol=self.rtol, atol=self.atol) | ((g == 0) & (w != 0))
            if wrong.any() and np.all(scale[wrong] < TINY) and np.all(g[wrong] == 0):
                return Mismatch(mismatch.message, ERROR_HINTS["zero_below_floor"])
        variants = relative_error_variants(case["a"], case["b"])
        if np.all(np.abs(variants["absolute"]) < 1e-9):
            del variants["absolute"]        # |a - b| too small to tell from 0 (or from any other tiny answer)
        hint = _recognise(g, [
            (variants["no_abs"], ERROR_HINTS["no_abs"]),
            (variants["no_abs_denominator"], ERROR_HINTS["no_abs_denominator"]),
            (variants.get("absolute"), ERROR_HINTS["absolute"]),
            (variants["by_b"], ERROR_HINTS["by_b"]),
            (variants["by_a"], ERROR_HINTS["by_b"]),
            (variants["by_min"], ERROR_HINTS["by_min"]),
            (variants["by_sum"], ERROR_HINTS["by_sum"]),
            (variants["global_max"], ERROR_HINTS["global_max"]),
        ])
        if hint is None and g.shape == w.shape and np.any(g < 0):
            hint = ERROR_HINTS["no_abs"]
        if hint is None and g.shape == w.shape:
            a, b = np.asarray(case["a"], dtype=np.float64), np.asarray(case["b"], dtype=np.float64)
            d, scale = np.abs(a - b), np.maximum(np.abs(a), np.abs(b))
            wrong = ~np.isclose(g, w, rtol=self.rtol, atol=self.atol)
            with np.errstate(divide="ignore", invalid="ignore"):
                implied = d[wrong] / g[wrong]          # the denominator the learner divided by
            # wrong on small entries only, each divided by more than its scale: a floor too large, or added
            if wrong.any() and np.all(scale[wrong] < 1e-6) and np.all(implied > scale[wrong] * (1 + 1e-6)):
                hint = ERROR_HINTS["floor"]
            elif wrong.any() and np.all(scale[wrong] < TINY) and np.allclose(implied, scale[wrong], rtol=1e-6):
                hint = ERROR_HINTS["no_floor"]

        return Mismatch(mismatch.message, hint or hints.plain_value_hint(mismatch.hint, ERROR_HINTS["other"]))

    def describe(self, case):
        return f"a = {_exact(case['a'])}, b = {_exact(case['b'])}"


def _exact(x) -> str:
    """Case data with every digit that matters (1 + 1e-7 and 1e-11 stay visible), as short_repr would show it."""
    if not isinstance(x, np.ndarray):
        return hints.short_repr(x)
    small = np.any((x != 0) & (np.abs(x) < 1e-4))      # suppress=True would print these as 0.
    with np.printoptions(precision=8, floatmode="maxprec", suppress=not small):
        return f"array{x.shape}: " + np.array2string(x, separator=", ").replace("\n", "")

