"""Checks for notebook 04, dimensional analysis: gradients of matrices by making the shapes fit.

Every exercise here returns arrays whose shape is dictated by a variable (a gradient
has the shape of what it is the gradient of), so every ``compare`` first explains a
wrong *shape*: which two shapes were swapped, which axis to sum, where keepdims is
missing. The generic ``hints.diagnose`` handles the wrong *values* that remain. Right answers come
from the notebook's own solutions (``backprop_lab.references.nb04``).
"""
from __future__ import annotations

import numpy as np

from . import hints
from .framework import Exercise, Mismatch, run_watching

SUM_NOT_MEAN = ("Your answer is the expected one divided by {n}: you averaged the copies. A value that "
                "broadcasting copied {n} times receives the gradient of every copy: SUM them, do not average.")


def _add_hint(exc: BaseException, hint: str) -> None:
    """Append a hint to the message of an exception raised in the learner's code (shown under its traceback).

    An exception whose message is not its first argument (NumPy's AxisError builds it from the axis and the
    number of dimensions) keeps the hint beside it instead, for ``error_hint``.
    """
    if exc.args and isinstance(exc.args[0], str) and "Hint:" not in exc.args[0] and str(exc) == exc.args[0]:
        exc.args = (f"{exc.args[0]}\nHint: {hint}",) + tuple(exc.args[1:])
    elif "Hint:" not in str(exc):
        exc._backprop_lab_hint = hint


MUTATED = ("Your function changed its input {names} in place (an augmented assignment such as `-=` or `*=` on "
           "an argument, or an assignment into it): the caller still needs its arrays as they were, so compute "
           "the result into a new array.")


FLOAT32 = ("Right values, but the result is {got} while the input was float32. The engine keeps every gradient in its "
           "array's dtype (float32 halves the memory, and is what GPUs run fastest), so the result must keep the "
           "input's dtype: a new array from np.zeros or np.ones, a Python float mixed in, or a division by a NumPy "
           "integer (np.prod and np.size give int64, and float32 / int64 is float64) makes float64 unless told "
           "otherwise.")


ENGINE = ("Your function called the engine's {name}: here you derive that gradient yourself and write it with NumPy "
          "operations, as the task says (making the shapes fit is the point of this notebook). The engine is what "
          "your answer is compared with afterwards.")

NOT_ARRAY = ("Return {arrays}: {what}. The notebook computes with your answer afterwards (.shape, comparisons with "
             "the engine's arrays), which a {kind} cannot do; NumPy's operations already give arrays, so return them "
             "as they are, without .tolist() or [...] around them.")


# Hints appended to an error raised in the learner's code (``run``, with the case's shapes; ``_add_hint``).
RUN_HINTS = {
    "matmul": ("the shapes do not fit this matrix product. Here W is {W}, x is {x} and dD is {dD}; dW must have "
               "W's shape {W} and dx x's shape {x}. Which product of dD and x (either one transposed, in either "
               "order) has shape {W}? Which of W and dD has shape {x}?"),
    "linear": ("the shapes do not fit this matrix product. Here x is {x} (N, in), W is {W} (in, out) and dy is {dy} "
               "(N, out); dx must be {x} and dW {W}. Each is a product of two of these arrays, one of them "
               "transposed, whose inner sizes agree."),
    "unbroadcast": ("this case goes from {grad_shape} to {shape}. Undoing broadcasting ADDS the copies up (a reshape "
                    "cannot drop entries). The copies lie along the leading axes that broadcasting prepended to the "
                    "target, and along the target's size-1 axes that it stretched: sum over those, and keep the "
                    "size-1 axes."),
    "reduction": "this case has x_shape={shape}, axis={axis!r}, keepdims={keep}, and g has shape {g}. {how}; {keep_how}.",
    "axis_none": "axis=None means every axis was reduced: use axes = tuple(range(len(x_shape)))",
    "axis_tuple": "axis can be a tuple, here {axis}: np.expand_dims accepts the tuple as it is",
    "axis_int": "axis is the int {axis}{negative}",
    "axis_negative": " (negative: counted from the end)",
    "keepdims": "keepdims=True, so g already has the reduced axes with size 1: do not expand_dims it again",
    "no_keepdims": ("keepdims=False, so the reduced axes are missing from g and must come back (as size-1 axes) "
                    "before g can be broadcast"),
    "mean_n": (". For the mean, n is the number of entries averaged into each output entry: the product of "
               "x_shape[a] over every reduced axis a"),
    "softmax": ("s and g have shape {shape} here: the last axis holds the softmax, the others are a batch. <g, s> is "
                "one number per row, kept as a size-1 last axis so that it broadcasts back over its row; np.dot or @ "
                "of two such arrays is a matrix product, not that."),
}


class _ShapeExercise(Exercise):
    """The checks of this notebook: inputs must come back unchanged, and a hint written for the case comes first."""

    ANSWERS: tuple = ()       # the names of the gradients a tuple answer holds ("dW", "dx"); () for one array

    def call(self, obj, case, names, *more, **kwargs):
        """``obj`` called on copies of ``case[name]`` for each name (then ``more``), or {"__mutated__": [names]}
        when it changed one of them in place, or {"__not_array__": [...]} when a gradient is a list or tuple."""
        from ..tensor import Tensor, unbroadcast

        args = [np.array(case[n], copy=True) for n in names]
        out, engine = run_watching([Tensor.backward, unbroadcast], lambda: obj(*args, *more, **kwargs))
        if engine:
            return {"__engine__": engine[0], "at": self.describe(case)}
        changed = [n for n, a in zip(names, args)
                   if a.shape != np.shape(case[n]) or not np.array_equal(a, case[n], equal_nan=True)]
        if changed:
            return {"__mutated__": changed, "at": self.describe(case)}   # "at": one answer per case
        if self.ANSWERS and isinstance(out, (tuple, list)) and len(out) == len(self.ANSWERS):
            items = list(zip(self.ANSWERS, out))
        else:
            items = [] if self.ANSWERS else [("the answer", out)]
        lists = [(name, type(v).__name__) for name, v in items if isinstance(v, (list, tuple))]   # (name, kind)
        return {"__not_array__": lists, "at": self.describe(case)} if lists else out

    def compare(self, got, want, case):
        if isinstance(got, dict) and "__mutated__" in got:
            names = " and ".join(got["__mutated__"])
            return Mismatch(f"after the call, {names} no longer held the values it was given", MUTATED.format(names=names))
        if isinstance(got, dict) and "__engine__" in got:
            name = got["__engine__"]
            return Mismatch(f"your function called the engine's {name}", ENGINE.format(name=name))
        if isinstance(got, dict) and "__not_array__" in got:
            what = ", ".join(f"{'your answer' if name == 'the answer' else name} is a {kind}"
                             for name, kind in got["__not_array__"])
            return Mismatch(f"expected NumPy arrays, received: {what}",
                            NOT_ARRAY.format(arrays="NumPy arrays" if self.ANSWERS else "a NumPy array", what=what,
                                             kind=got["__not_array__"][0][1]))
        mismatch = self.compare_answer(got, want, case)
        if mismatch is None and getattr(want, "dtype", None) == np.float32 and getattr(got, "dtype", None) != np.float32:
            return Mismatch(f"right values, but of dtype {getattr(got, 'dtype', type(got).__name__)} from a float32 "
                            "input", FLOAT32.format(got=getattr(got, "dtype", type(got).__name__)))
        return mismatch

    def compare_answer(self, got, want, case):
        raise NotImplementedError

    def error_hint(self, exc: BaseException) -> str:
        if "Hint:" in str(exc):           # this check already explained the error with the case's shapes
            return ""
        return getattr(exc, "_backprop_lab_hint", "") or hints.error_hint(exc)


def _is_product_error(exc: BaseException) -> bool:
    text = str(exc)
    return isinstance(exc, ValueError) and ("matmul" in text or "not aligned" in text or "core dimension" in text)


def _array(x):
    """The learner's answer as a float array, or None when it is not numeric."""
    return hints._to_array(x)


GRAD_HINTS = {
    "tuple": "Return all {n} gradients, in this order: `return {listed}`.",
    "swapped": ("The shapes are swapped: {got} is {var}'s shape {want} transposed, so a transpose is missing or "
                "extra (or the factors are in the wrong order). {rule}"),
    "shape": "A gradient always has the shape of its variable: {name} must be {want}. {rule}",
    "derive": "Derive it from the shapes. {rule}",
    # the dimensional-analysis question for one gradient, with the case's shapes (never its answer)
    "fit": ("Which product of {a} {a_shape} and {b} {b_shape}, either one transposed or not, in either order, has "
            "{var}'s shape {var_shape}{extra}?"),
    "order": "You returned (dx, dW): the order is (dW, dx).",
    "scaled": ("Your {name} has the right shape, but every entry is {r:.4g} times the expected one: a constant factor "
               "crept in (a division by a size, a mean where a sum belongs, a stray 2). The chain rule multiplies "
               "the upstream gradient by the local gradient and adds the contributions up: nothing is averaged or "
               "rescaled."),
    "averaged": ("Your dW is the expected one divided by N = {n}: you averaged over the batch. Every example "
                 "contributes to dW, and the contributions add up; a mean in the loss is already inside dy (its 1/N), "
                 "so the backward pass of y = xW + b divides by nothing."),
}


def _pair_or_triple(got, names):
    """A Mismatch unless ``got`` is a tuple/list with one entry per name."""
    return hints.expect_tuple(got, names, GRAD_HINTS["tuple"])


def grad_mismatch(name, var, got, want, rule):
    """Compare one gradient ``got`` with ``want``; the hint names the shapes and the dimensional-analysis ``rule``.

    ``name`` is the gradient ("dW"), ``var`` the variable it belongs to ("W"), ``rule`` a question that
    points to dimensional analysis without answering it (``fit_question``).
    """
    g, w = _array(got), np.asarray(want, dtype=np.float64)
    if g is None or g.dtype == object:
        return Mismatch(f"{name}: expected an array of shape {w.shape}, received {type(got).__name__}",
                        hints.TYPE_HINT)
    if g.shape != w.shape:
        msg = f"{name} has shape {g.shape}, but {var} has shape {w.shape}"
        if g.ndim == w.ndim == 2 and g.shape == w.shape[::-1]:
            return Mismatch(msg, GRAD_HINTS["swapped"].format(got=g.shape, var=var, want=w.shape, rule=rule))
        return Mismatch(msg, GRAD_HINTS["shape"].format(name=name, want=w.shape, rule=rule))
    if np.allclose(g, w, rtol=1e-6, atol=1e-8):
        return None
    hint = hints.plain_value_hint(hints.diagnose(g, w), "")
    r = _constant_ratio(g, w)
    if hint in ("", hints.CLOSE) and r is not None and r != -1:
        hint = GRAD_HINTS["scaled"].format(name=name, r=r)
    if hint in ("", hints.CLOSE, hints.TRANSPOSE):
        hint = (hint + " " if hint else "") + GRAD_HINTS["derive"].format(rule=rule)
    return Mismatch(f"{name}: expected {hints.short_repr(w)}, received {hints.short_repr(g)}", hint)


def fit_question(a, a_shape, b, b_shape, var, var_shape, extra=""):
    """The dimensional-analysis question for one gradient, with this case's shapes (never its answer)."""
    return GRAD_HINTS["fit"].format(a=a, a_shape=a_shape, b=b, b_shape=b_shape, var=var, var_shape=var_shape,
                                    extra=extra)


# ----------------------------------------------------------------------------- 04.1 matmul backward

class MatmulBackward(_ShapeExercise):
    ANSWERS = ("dW", "dx")

    def cases(self, rng):
        fixed = [{"W": rng.normal(size=(5, 10)).round(2), "x": rng.normal(size=(10, 3)).round(2),
                  "dD": rng.normal(size=(5, 3)).round(2)}]          # the notebook's shapes
        shapes = [(2, 4, 3), (6, 2, 5), (3, 7, 1), (4, 4, 4)]       # the square one catches a transpose of equal shape
        return fixed + [{"W": rng.normal(size=(m, n)), "x": rng.normal(size=(n, p)), "dD": rng.normal(size=(m, p))}
                        for m, n, p in shapes]

    def run(self, obj, case):
        try:
            out = self.call(obj, case, ["W", "x", "dD"])
        except ValueError as exc:
            if _is_product_error(exc):
                W, x, dD = case["W"].shape, case["x"].shape, case["dD"].shape
                _add_hint(exc, RUN_HINTS["matmul"].format(W=W, x=x, dD=dD))
            raise
        return tuple(out) if isinstance(out, (tuple, list)) else out

    def compare_answer(self, got, want, case):
        bad = _pair_or_triple(got, ["dW", "dx"])
        if bad:
            return bad
        W, x, dD = case["W"].shape, case["x"].shape, case["dD"].shape
        shapes = [np.shape(g) for g in got]
        if shapes == [x, W] and W != x:
            return Mismatch(f"the first answer has x's shape {x} and the second W's shape {W}",
                            GRAD_HINTS["order"])
        return (grad_mismatch("dW", "W", got[0], want[0], fit_question("dD", dD, "x", x, "W", W))
                or grad_mismatch("dx", "x", got[1], want[1], fit_question("W", W, "dD", dD, "x", x)))

    def describe(self, case):
        return (f"W shape {case['W'].shape}, x shape {case['x'].shape}, dD shape {case['dD'].shape}; "
                f"W={hints.short_repr(case['W'], 90)}")


# ----------------------------------------------------------------------------- 04.2 linear backward

BIAS_HINTS = {
    "rule": ("The bias b {shape} was copied into each of the N = {n} rows of y (broadcasting), so it is used N times, "
             "and its gradient adds up the contributions of all N uses"),
    "kept_axis": ("You summed over the right axis but kept it: b is 1-D, and its gradient must have its shape, "
                  "without the summed axis."),
    "not_undone": "Broadcasting not undone: your db has one row per example, like dy. {rule}.",
    "features": "You summed over axis 1, the features; b's copies lie along the batch axis. {rule}.",
    "one_row": "Your db is one row of dy, the gradient of one copy of b. {rule}: every row counts.",
    "constant": ("Your db is the same number for every entry, whatever dy holds: the local gradient of y = xW + b "
                 "with respect to b is 1, and the chain rule multiplies it by the upstream gradient dy of each use. "
                 "{rule}."),
}


class LinearBackward(_ShapeExercise):
    ANSWERS = ("dx", "dW", "db")

    def cases(self, rng):
        fixed = [{"x": np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 1.0], [1.0, 1.0]]),
                  "W": np.array([[1.0, 0.5, -1.0], [2.0, 0.0, 1.0]]), "b": np.array([0.1, -0.2, 0.3]),
                  "dy": np.array([[1.0, 0.0, 2.0], [2.0, -1.0, 0.0], [0.0, 1.0, 1.0], [-1.0, 0.0, 1.0]])}]
        shapes = [(4, 3, 2), (5, 2, 3), (1, 4, 3), (3, 3, 3)]
        return fixed + [{"x": rng.normal(size=(n, i)), "W": rng.normal(size=(i, o)), "b": rng.normal(size=o),
                         "dy": rng.normal(size=(n, o))} for n, i, o in shapes]

    def run(self, obj, case):
        try:
            out = self.call(obj, case, ["x", "W", "b", "dy"])
        except ValueError as exc:
            if _is_product_error(exc):
                x, W, dy = case["x"].shape, case["W"].shape, case["dy"].shape
                _add_hint(exc, RUN_HINTS["linear"].format(x=x, W=W, dy=dy))
            raise
        return tuple(out) if isinstance(out, (tuple, list)) else out

    def compare_answer(self, got, want, case):
        bad = _pair_or_triple(got, ["dx", "dW", "db"])
        if bad:
            return bad
        x, W, dy = case["x"].shape, case["W"].shape, case["dy"].shape
        m = (grad_mismatch("dx", "x", got[0], want[0], fit_question("dy", dy, "W", W, "x", x))
             or grad_mismatch("dW", "W", got[1], want[1],
                              fit_question("x", x, "dy", dy, "W", W, f", with the batch size N = {x[0]} summed away")))
        n = x[0]
        dW = _array(got[1])
        if m is not None and m.message.startswith("dW:") and n > 1 and dW is not None and dW.shape == W and \
                np.allclose(dW * n, want[1], rtol=1e-6, atol=1e-8):
            m.hint = GRAD_HINTS["averaged"].format(n=n)
        return m or self._bias(got[2], want[2], case)

    @staticmethod
    def _bias(got, want, case):
        dy = case["dy"]
        n, o = dy.shape
        g = _array(got)
        rule = BIAS_HINTS["rule"].format(shape=want.shape, n=n)
        if g is None or g.dtype == object:
            return Mismatch(f"db: expected an array of shape {want.shape}, received {type(got).__name__}",
                            hints.TYPE_HINT)
        if g.shape != want.shape:
            msg = f"db has shape {g.shape}, but b has shape {want.shape}"
            if g.shape == (1, o):
                return Mismatch(msg, BIAS_HINTS["kept_axis"])
            if g.shape == dy.shape:
                return Mismatch(msg, BIAS_HINTS["not_undone"].format(rule=rule))
            if g.shape == (n,) and n != o:
                return Mismatch(msg, BIAS_HINTS["features"].format(rule=rule))
            return Mismatch(msg, rule + ".")
        if np.allclose(g, want, rtol=1e-6, atol=1e-8):
            return None
        if n > 1 and np.allclose(g * n, want, rtol=1e-6, atol=1e-8):
            return Mismatch(f"db: expected {hints.short_repr(want)}, received {hints.short_repr(g)}",
                            SUM_NOT_MEAN.format(n=n))
        msg = f"db: expected {hints.short_repr(want)}, received {hints.short_repr(g)}"
        if n == o and np.allclose(g, dy.sum(axis=1), rtol=1e-6, atol=1e-8):
            return Mismatch(msg, BIAS_HINTS["features"].format(rule=rule))
        if n > 1 and any(np.allclose(g, row, rtol=1e-6, atol=1e-8) for row in dy):
            return Mismatch(msg, BIAS_HINTS["one_row"].format(rule=rule))
        if np.ptp(g) == 0 and np.ptp(want) > 0:
            return Mismatch(msg, BIAS_HINTS["constant"].format(rule=rule))
        hint = hints.plain_value_hint(hints.diagnose(g, want), "")
        return Mismatch(msg, hint if hint not in ("", hints.CLOSE) else rule + ".")


# ----------------------------------------------------------------------------- 04.3 unbroadcast

def undo_steps(grad_shape, shape):
    """The two steps that undo broadcasting from ``grad_shape`` back to ``shape``: (leading axes, size-1 axes)."""
    lead = tuple(range(len(grad_shape) - len(shape)))
    ones = tuple(i for i, (s, gsz) in enumerate(zip(shape, grad_shape[len(lead):])) if s == 1 and gsz != 1)
    return lead, ones


UNBROADCAST_HINTS = {
    # what undoing the broadcasting means for this case: "recipe" with "prepended" (or "none_prepended") and
    # "stretched" (or nothing) filled in
    "recipe": ("From {gshape} to {shape}: {prepended}{stretched}. Broadcasting aligns shapes from the right, so the "
               "added axes are the leading ones"),
    "prepended": "broadcasting prepended the leading axes {lead}",
    "none_prepended": "no axes were prepended",
    "stretched": ", and stretched axes {ones} of the target, where it has size 1",
    "leading_axis_kept": "The leading axis is still there. {recipe}.",
    "leading_axes_kept": "The {n} leading axes are still there. {recipe}.",
    "dropped": "You summed over axes {ones} but dropped them: the target keeps them, with size 1 (keepdims). {recipe}.",
    "stretched_kept": ("Axes {ones} of the target have size 1 and were stretched by broadcasting: their copies must "
                       "be added up too. {recipe}."),
    "one_copy": ("You kept one copy (the first slice) of the gradient; every copy contributed to the loss, so all of "
                 "them count. {recipe}."),
}


class Unbroadcast(_ShapeExercise):

    FIXED = [((3, 4), (4,)), ((3, 4), (3, 1)), ((3, 4), (1, 4)), ((2, 3, 4), (3, 1)), ((2, 3), ()),
             ((3, 4), (3, 4)), ((2, 4, 5, 3), (4, 1, 3))]

    def cases(self, rng):
        cases = [{"grad": rng.integers(-3, 4, size=g).astype(float), "shape": s} for g, s in self.FIXED]
        cases.append({"grad": rng.normal(size=(2, 3, 4)).astype(np.float32), "shape": (1, 4)})   # keeps float32
        for _ in range(4):
            shape = tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(1, 4)))
            shape = tuple(1 if rng.random() < 0.4 else n for n in shape)
            full = tuple(int(n) for n in rng.integers(2, 4, size=rng.integers(0, 3))) + tuple(
                int(rng.integers(2, 4)) if n == 1 else n for n in shape)
            cases.append({"grad": rng.normal(size=full), "shape": shape})
        return cases

    def run(self, obj, case):
        try:
            return self.call(obj, case, ["grad"], tuple(case["shape"]))
        except (ValueError, TypeError, IndexError) as exc:  # np.exceptions.AxisError is both
            grad_shape, shape = case["grad"].shape, tuple(case["shape"])
            _add_hint(exc, RUN_HINTS["unbroadcast"].format(grad_shape=grad_shape, shape=shape))
            raise

    def describe(self, case):
        return f"grad of shape {case['grad'].shape} -> shape {tuple(case['shape'])}; grad={hints.short_repr(case['grad'], 120)}"

    def compare_answer(self, got, want, case):
        g, want = _array(got), np.asarray(want, dtype=np.float64)
        gshape, shape = case["grad"].shape, tuple(case["shape"])
        lead, ones = undo_steps(gshape, shape)
        recipe = UNBROADCAST_HINTS["recipe"].format(
            gshape=gshape, shape=shape,
            prepended=UNBROADCAST_HINTS["prepended"].format(lead=lead) if lead else UNBROADCAST_HINTS["none_prepended"],
            stretched=UNBROADCAST_HINTS["stretched"].format(ones=ones) if ones else "")
        if g is None or g.dtype == object:
            return Mismatch(f"expected an array of shape {shape}, received {type(got).__name__}", hints.TYPE_HINT)
        if g.shape != shape:
            msg = f"expected shape {shape}, received shape {g.shape}"
            if lead and g.ndim == len(gshape):
                kept = UNBROADCAST_HINTS["leading_axis_kept" if len(lead) == 1 else "leading_axes_kept"]
                return Mismatch(msg, kept.format(n=len(lead), recipe=recipe))
            dropped = tuple(n for i, n in enumerate(shape) if i not in ones)
            if ones and g.shape == dropped:
                return Mismatch(msg, UNBROADCAST_HINTS["dropped"].format(ones=ones, recipe=recipe))
            if ones and g.ndim == len(shape):
                return Mismatch(msg, UNBROADCAST_HINTS["stretched_kept"].format(ones=ones, recipe=recipe))
            return Mismatch(msg, recipe + ".")
        if np.allclose(g, want, rtol=1e-6, atol=1e-8):
            return None
        n = int(np.prod(gshape)) // max(int(np.prod(shape)), 1)
        if n > 1 and np.allclose(g * n, want, rtol=1e-6, atol=1e-8):
            return Mismatch(f"expected {hints.short_repr(want)}, received {hints.short_repr(g)}",
                            SUM_NOT_MEAN.format(n=n))
        first = case["grad"][(0,) * len(lead)] if lead else case["grad"]
        first = first[tuple(slice(0, 1) if i in ones else slice(None) for i in range(len(shape)))]
        if n > 1 and first.shape == g.shape and np.allclose(g, first):
            return Mismatch(f"expected {hints.short_repr(want)}, received {hints.short_repr(g)}",
                            UNBROADCAST_HINTS["one_copy"].format(recipe=recipe))
        hint = hints.diagnose(g, want)
        return Mismatch(f"expected {hints.short_repr(want)}, received {hints.short_repr(g)}",
                        hint if hint not in ("", hints.CLOSE) else recipe + ".")


# ----------------------------------------------------------------------------- 04.4 / 04.5 sum and mean backward

def _axes(axis, ndim):
    return tuple(range(ndim)) if axis is None else tuple(sorted(int(a) % ndim for a in np.atleast_1d(axis)))


REDUCTION_HINTS = {
    # how g comes back to x's shape in this case ({reinsert} of the hints below)
    "reinsert_keepdims": "g already has the reduced axes (size 1, keepdims=True), so it broadcasts to x's shape as it is",
    "reinsert_all": "every axis was reduced, so every entry of x gets the one number g",
    "reinsert_axes": ("the reduction removed axes {axes}: g needs them back, as size-1 axes, before it can be "
                      "broadcast to x's shape"),
    "shape": "The gradient must have x's shape {shape}: {reinsert}.",
    "wrong_axis": ("g was copied along the wrong axis: without keepdims, g has lost axis {axes}, and broadcasting "
                   "aligns shapes from the right, so it spread g along another axis. Re-insert the reduced axis "
                   "first: {reinsert}."),
    "every_entry": "Every reduced entry gets g: {reinsert}.",
    "sum_factor": ("Your answer is {r:.4g} times the expected one. Each entry of x enters the sum once, with "
                   "coefficient 1, so it receives the upstream gradient of its output entry unchanged: no factor."),
    "mean_n_times": ("Your answer is {n} times too large: the mean divides the sum by n, the number of entries "
                     "averaged into each output entry (here n = {n})."),
    "mean_x_size": ("You divided by x.size = {x_size}; the mean divides by the number of entries averaged into EACH "
                    "output entry, those of the reduced axes only (here n = {n})."),
    "mean_g_size": ("You divided by g.size = {g_size}, the number of entries of the mean's OUTPUT; the mean divides by "
                    "the number of entries averaged into each output entry, those of the reduced axes (here n = {n})."),
    "mean_floor": ("Your values are the right ones rounded down: `//` is floor division, which drops the fraction; "
                   "the mean divides with `/`."),
    "mean_factor": ("Your answer is {r:.4g} times the expected one: a mean's gradient is its sum's divided by n, the "
                    "number of entries averaged into each output entry (here n = {n})."),
}


class _ReductionBackward(_ShapeExercise):
    """Shared cases and diagnosis of sum_backward and mean_backward."""

    FIXED = [((3, 3), 1, False), ((2, 3, 4), 0, False), ((2, 3, 4), (0, 2), False), ((4, 5), -1, True),
             ((3, 2), None, False), ((2, 3, 4), 1, True),
             ((2, 3, 4), -2, False)]     # a negative axis that g has lost: counted from the end of x's shape

    def cases(self, rng):
        cases = []
        for shape, axis, keep in self.FIXED + [((2, 4, 3), int(rng.integers(0, 3)), bool(rng.integers(0, 2))),
                                               ((5, 2), int(rng.integers(0, 2)), False)]:
            out_shape = np.sum(np.zeros(shape), axis=axis, keepdims=keep).shape
            cases.append({"g": rng.integers(-4, 5, size=out_shape).astype(float) + rng.normal(size=out_shape).round(1),
                          "x_shape": shape, "axis": axis, "keepdims": keep})
        cases.insert(len(self.FIXED), {"g": rng.normal(size=(3,)).astype(np.float32), "x_shape": (3, 4), "axis": 1,
                                       "keepdims": False})                          # keeps float32
        return cases

    def run(self, obj, case):
        try:
            return self.call(obj, case, ["g"], tuple(case["x_shape"]), axis=case["axis"],
                       keepdims=case["keepdims"])
        except (ValueError, TypeError, IndexError) as exc:  # np.exceptions.AxisError is both
            shape, axis, keep = tuple(case["x_shape"]), case["axis"], case["keepdims"]
            if axis is None:
                how = RUN_HINTS["axis_none"]
            elif isinstance(axis, tuple):
                how = RUN_HINTS["axis_tuple"].format(axis=axis)
            else:
                how = RUN_HINTS["axis_int"].format(axis=axis, negative=RUN_HINTS["axis_negative"] if axis < 0 else "")
            keep_how = RUN_HINTS["keepdims" if keep else "no_keepdims"]
            if self.id == "04.5":
                keep_how += RUN_HINTS["mean_n"]
            _add_hint(exc, RUN_HINTS["reduction"].format(shape=shape, axis=axis, keep=keep, g=np.shape(case["g"]),
                                                         how=how, keep_how=keep_how))
            raise

    def describe(self, case):
        return (f"x shape {tuple(case['x_shape'])}, axis={case['axis']}, keepdims={case['keepdims']}, "
                f"g shape {np.shape(case['g'])}: g={hints.short_repr(np.asarray(case['g']), 120)}")

    def n_reduced(self, case):
        shape = tuple(case["x_shape"])
        return int(np.prod([shape[a] for a in _axes(case["axis"], len(shape))]))

    def compare_answer(self, got, want, case):
        g, want = _array(got), np.asarray(want, dtype=np.float64)
        shape, axis, keep = tuple(case["x_shape"]), case["axis"], case["keepdims"]
        axes = _axes(axis, len(shape))
        reinsert = (REDUCTION_HINTS["reinsert_keepdims"] if keep else REDUCTION_HINTS["reinsert_all"]
                    if axis is None else REDUCTION_HINTS["reinsert_axes"].format(axes=axes))
        if g is None or g.dtype == object:
            return Mismatch(f"expected an array of shape {shape}, received {type(got).__name__}", hints.TYPE_HINT)
        if g.shape != shape:
            return Mismatch(f"expected shape {shape} (x's shape), received shape {g.shape}",
                            REDUCTION_HINTS["shape"].format(shape=shape, reinsert=reinsert))
        if np.allclose(g, want, rtol=1e-6, atol=1e-8):
            return None
        msg = f"expected {hints.short_repr(want)}, received {hints.short_repr(g)}"
        n = self.n_reduced(case)
        if not keep and axis is not None:
            # g spread along the wrong axis: broadcasting aligned it from the right instead of at `axis`
            try:
                spread = np.broadcast_to(np.asarray(case["g"], dtype=np.float64), shape)
            except ValueError:
                spread = None
            if spread is not None and (np.allclose(g, spread) or np.allclose(g, spread / n)):
                return Mismatch(msg, REDUCTION_HINTS["wrong_axis"].format(axes=axes, reinsert=reinsert))
        return self.value_hint(g, want, msg, n, reinsert, case)

    def value_hint(self, g, want, msg, n, reinsert, case):
        hint = hints.plain_value_hint(hints.diagnose(g, want), "")
        return Mismatch(msg, hint if hint not in ("", hints.CLOSE) else
                        REDUCTION_HINTS["every_entry"].format(reinsert=reinsert))


def _constant_ratio(g, want):
    """r when g == r * want entry by entry (r != 1), else None."""
    nz = np.abs(want) > 1e-12
    if not nz.any():
        return None
    r = float(np.median(g[nz] / want[nz]))
    return r if abs(r - 1) > 1e-6 and np.allclose(g, r * want, rtol=1e-6, atol=1e-8) else None


class SumBackward(_ReductionBackward):

    def value_hint(self, g, want, msg, n, reinsert, case):
        r = _constant_ratio(g, want)
        if r is not None and r > 0:
            return Mismatch(msg, REDUCTION_HINTS["sum_factor"].format(r=r))
        return super().value_hint(g, want, msg, n, reinsert, case)


class MeanBackward(_ReductionBackward):

    def value_hint(self, g, want, msg, n, reinsert, case):
        x_size, g_size = want.size, int(np.size(case["g"]))
        if n > 1 and np.allclose(g, want * n, rtol=1e-6, atol=1e-8):
            return Mismatch(msg, REDUCTION_HINTS["mean_n_times"].format(n=n))
        if x_size != n and np.allclose(g * x_size, want * n, rtol=1e-6, atol=1e-8):
            return Mismatch(msg, REDUCTION_HINTS["mean_x_size"].format(x_size=x_size, n=n))
        if g_size != n and np.allclose(g * g_size, want * n, rtol=1e-6, atol=1e-8):
            return Mismatch(msg, REDUCTION_HINTS["mean_g_size"].format(g_size=g_size, n=n))
        if np.array_equal(g, np.floor(want)):
            return Mismatch(msg, REDUCTION_HINTS["mean_floor"])
        r = _constant_ratio(g, want)
        if r is not None and r > 0:
            return Mismatch(msg, REDUCTION_HINTS["mean_factor"].format(r=r, n=n))
        return super().value_hint(g, want, msg, n, reinsert, case)


# ----------------------------------------------------------------------------- 04.6 softmax backward

def softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


JACOBIAN = ("Right values, but your function needed {mb:.0f} MB of memory for s and g of shape {shape} ({kb:.0f} kB "
            "each): it builds an n × n array for each row (n = {n} here, {row_mb:.0f} MB a row), the Jacobian or a "
            "part of it such as the outer product of s with itself. The exercise asks for the vector-Jacobian "
            "product without it: work the sum Σ_i g_i s_i(δ_ij - s_j) out by hand first; what is left needs only s, "
            "g and one number per row.")


def peak_memory(fn):
    """``fn()`` and the peak of the memory it allocated, in bytes (NumPy reports its arrays to tracemalloc)."""
    import tracemalloc

    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1] - start
    finally:
        if not tracing:
            tracemalloc.stop()


SOFTMAX_HINTS = {
    "shape": ("dz has the shape of z. The inner product <g, s> is one number per row, and it must keep a size-1 last "
              "axis to broadcast back over its row."),
    "diagonal": ("You kept only the diagonal of the Jacobian, ds_i/dz_i = s_i(1 - s_i). Softmax couples every output "
                 "to every input: ds_i/dz_j = s_i(δ_ij - s_j), off-diagonal entries included."),
    "whole_array": ("You summed <g, s> over the whole array; it is one number per row, since each row is its own "
                    "softmax."),
    "no_factor": "A factor s is missing: every entry of the Jacobian, s_i(δ_ij - s_j), carries one.",
    "plain_sum": "The number subtracted is the inner product of g with s, not the plain sum of g.",
    "batch_axis": "You summed <g, s> over axis 0, the batch. Each softmax runs along the LAST axis.",
    "extra_factor": ("A factor s too many: every entry of the Jacobian, s_i(δ_ij - s_j), carries one factor s_i, not "
                     "two."),
    "axis_1": ("You summed <g, s> over axis 1, which is the last axis only when s is 2-D; here s has shape {shape}. "
               "Each softmax runs along the LAST axis, whatever the number of batch axes in front of it."),
    "derive": "Derive it from ds_i/dz_j = s_i(δ_ij - s_j): dz_j = Σ_i g_i s_i(δ_ij - s_j), and simplify the sum.",
    "swapped": ("In your answer s and g have swapped roles: every entry of the Jacobian, s_i(δ_ij - s_j), is made of "
                "s alone, and the upstream gradient g enters only through the sum over i. Work that sum out again, "
                "keeping track of which letter is which."),
    "zeros": ("Your answer is all zeros where the expected one is not. A placeholder left in, a result computed but "
              "never returned, or an answer in which s and g have swapped roles (here g is 1 in one entry and 0 "
              "elsewhere, which makes that one 0): every entry of the Jacobian, s_i(δ_ij - s_j), is made of s "
              "alone, and g enters only through the sum over i."),
}


class SoftmaxBackward(_ShapeExercise):
    ROWS, N = 2, 1000          # the memory cases: an n × n Jacobian is 8 MB a row, the answer needs a few kB

    def cases(self, rng):
        fixed = [{"s": softmax(np.array([1.0, 2.0, 0.0, -1.0])), "g": np.array([1.0, 0.0, 0.0, 0.0])}]
        # a batch, and a single row: a Jacobian built only for 1-D inputs (where it looks harmless) is caught too
        memory = [{"s": softmax(rng.normal(size=shape)), "g": rng.normal(size=shape), "memory": True}
                  for shape in [(self.ROWS, self.N), (self.N,)]]
        return fixed + [{"s": softmax(rng.normal(size=shape) * 2), "g": rng.normal(size=shape)}
                        for shape in [(5,), (3, 5), (2, 3, 4), (4, 4)]] + memory

    def run(self, obj, case):
        try:
            if not case.get("memory"):
                return self.call(obj, case, ["s", "g"])
            out, peak = peak_memory(lambda: self.call(obj, case, ["s", "g"]))
            # a Jacobian of one row alone is n times the size of that row: a tenth of it is far above any VJP's needs
            n = case["s"].shape[-1]
            big = peak > case["s"].nbytes / (case["s"].size // n) * n / 10
            return {"dz": out, "memory": f"{peak / 1e6:.0f} MB", "bytes": peak} if big else out
        except ValueError as exc:
            _add_hint(exc, RUN_HINTS["softmax"].format(shape=case["s"].shape))
            raise

    def compare(self, got, want, case):
        if isinstance(got, dict) and "memory" in got:
            wrong = super().compare(got["dz"], want, case)
            if wrong is not None:
                return wrong
            shape, n = case["s"].shape, case["s"].shape[-1]
            return Mismatch(f"right values, but {got['memory']} of memory used for inputs of shape {shape}",
                            JACOBIAN.format(mb=got["bytes"] / 1e6, shape=shape, kb=case["s"].nbytes / 1e3, n=n,
                                            row_mb=n * n * 8 / 1e6))
        return super().compare(got, want, case)

    def describe(self, case):
        if case.get("memory"):
            return f"s and g of shape {case['s'].shape}, and the memory your function uses"
        return super().describe(case)

    def compare_answer(self, got, want, case):
        s, g_up = case["s"], case["g"]
        g, want = _array(got), np.asarray(want, dtype=np.float64)
        if g is None or g.dtype == object:
            return Mismatch(f"expected an array of shape {want.shape}, received {type(got).__name__}", hints.TYPE_HINT)
        if g.shape != want.shape:
            return Mismatch(f"expected shape {want.shape} (the shape of z and s), received shape {g.shape}",
                            SOFTMAX_HINTS["shape"])
        if np.allclose(g, want, rtol=1e-6, atol=1e-8):
            return None
        msg = f"expected {hints.short_repr(want)}, received {hints.short_repr(g)}"
        if np.allclose(g, 0) and np.allclose(g_up * (s - (g_up * s).sum(axis=-1, keepdims=True)), 0):
            return Mismatch(msg, SOFTMAX_HINTS["zeros"])
        alternatives = [
            (s * (1 - s) * g_up, SOFTMAX_HINTS["diagonal"]),
            (s * (g_up - (g_up * s).sum()), SOFTMAX_HINTS["whole_array"]),
            (g_up - (g_up * s).sum(axis=-1, keepdims=True), SOFTMAX_HINTS["no_factor"]),
            (s * (g_up - g_up.sum(axis=-1, keepdims=True)), SOFTMAX_HINTS["plain_sum"]),
            (s * (g_up - (g_up * s).sum(axis=0, keepdims=True)), SOFTMAX_HINTS["batch_axis"]),
            (s * s * (g_up - (g_up * s).sum(axis=-1, keepdims=True)), SOFTMAX_HINTS["extra_factor"]),
            (g_up * (s - (g_up * s).sum(axis=-1, keepdims=True)), SOFTMAX_HINTS["swapped"]),
        ]
        if s.ndim >= 3:
            alternatives.append((s * (g_up - (g_up * s).sum(axis=1, keepdims=True)),
                                 SOFTMAX_HINTS["axis_1"].format(shape=s.shape)))
        for alt, hint in alternatives:
            if alt.shape == g.shape and np.allclose(g, alt, rtol=1e-6, atol=1e-8):
                return Mismatch(msg, hint)
        # a plain formula, not a graph: diagnose's words about .grad and `+=` would mislead here
        return Mismatch(msg, hints.plain_value_hint(hints.diagnose(g, want), SOFTMAX_HINTS["derive"]))

