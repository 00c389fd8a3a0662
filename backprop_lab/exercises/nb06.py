"""Checks for notebook 06, the Tensor engine (the exercises themselves are in solutions/06_*.md).

Right answers come from the notebook's own solutions (``backprop_lab.references.nb06``), and, for the
backward driver and the planted bug, from the engine itself (``Tensor.backward``, ``check_graph``).
The driver's check runs the learner's driver on real engine graphs whose nodes are watched: a node asked for its
backward before all of its uses have handed it their gradient, twice, or with a gradient of the
wrong shape stops the run with a message that names the node and the fix.
"""
from __future__ import annotations

import numpy as np

from . import hints
from .framework import Exercise, Mismatch, run_watching


def _array(x):
    return hints._to_array(x)


def _close(got, want, rtol=1e-6, atol=1e-8) -> bool:
    return hints.close(got, want, rtol=rtol, atol=atol)


def _match(got, variants):
    """The hint of the first wrong variant that ``got`` equals (every component), else None."""
    return hints.matching_hint(got, variants, rtol=1e-6, atol=1e-8)


TUPLE_HINT = "Return one gradient per input, in order: `return {listed}`."


def _pair(got, names):
    return hints.expect_tuple(got, names, TUPLE_HINT)


MUTATED = ("Your function changed its input {names} in place. A backward rule's inputs are arrays the engine "
           "still holds (saved by forward, or the gradient other rules read too): compute the gradients into new "
           "arrays and leave the inputs as they were.")


def call_watching(fn, arrays: dict, *args):
    """``fn(*copies of arrays, *args)``, and the names of the arrays it changed in place (a sorted list)."""
    copies = {k: np.array(v, copy=True) for k, v in arrays.items()}      # same dtype, own memory
    out = fn(*copies.values(), *args)
    changed = sorted(k for k, v in copies.items() if not np.array_equal(v, arrays[k], equal_nan=True))
    return out, changed


def mutation_mismatch(got):
    """A Mismatch when ``run`` found the learner's function changing its inputs, else None."""
    if isinstance(got, dict) and got.get("mutated"):
        names = " and ".join(got["mutated"])
        return Mismatch(f"after the call, {names} no longer held the values it was given", MUTATED.format(names=names))
    return None


# ----------------------------------------------------------------------------- 06.1 Sqrt as a Function

FORWARD_ON_ARRAYS = ("Your forward returned a Tensor (or built its output from Tensor operations). forward and "
                     "backward work on plain NumPy arrays: forward receives arrays and returns an array, and apply "
                     "wraps that in a Tensor and records the graph. Use NumPy ({ops}), not Tensors, inside a "
                     "Function.")

SQRT_HINTS = {
    "class_state": ("The gradient of the first use of Sqrt was computed from the values of the SECOND use: backward "
                    "read values stored on the class (or in a global), which the second forward overwrote. Each "
                    "application of a Function gets its own context: keep what backward needs on ctx."),
    "no_g": ("Your backward returns the local derivative of sqrt but ignores the upstream gradient g: the chain rule "
             "multiplies the two."),
    "no_half": ("Your gradient is exactly 2 times too big: the power rule brings down the exponent of x^(1/2) as a "
                "factor, and that factor is missing."),
    "power": ("Power rule slip: differentiating x^(1/2) lowers the exponent by one, to -1/2, so the derivative "
              "divides by sqrt(x) (the saved output y) rather than multiplying by it."),
    "forward": "The forward pass is wrong: forward(ctx, x) must return the square root of x, an array of x's shape.",
    "forward_none": ("Your forward returned None: is its `return` missing? forward(ctx, x) must return y, the "
                     "square root of x, as well as save what backward needs."),
    "not_function": ("Give the class itself, a subclass of bl.Function with two @staticmethods, forward(ctx, x) and "
                     "backward(ctx, g): check(\"06.1\", Sqrt), not Sqrt() or Sqrt.apply."),
    "none": ("Your backward returned None (or a None gradient): is its `return` missing? It must return the "
             "gradient for x, an array of x's shape."),
    "assigned": ("Your forward ASSIGNED to ctx.save_for_backward, which replaces the method and saves nothing. It is "
                 "a method: call it with the arrays to keep."),
    "saved_array": ("Your forward set ctx.saved to an array; ctx.saved is the tuple of everything forward saved, "
                    "filled by calling ctx.save_for_backward(...)."),
    "raw_shape": ("Your backward returned an array of shape {raw} for an input of shape {shape}; it must return dx "
                  "with x's shape (the engine's driver summed the extra axes away, which hid the mistake and gave "
                  "these numbers). A common cause: ctx.saved is a TUPLE of the saved arrays, (y,), and arithmetic "
                  "on the tuple itself is not arithmetic on y: unpack it first."),
    "inverted": ("Your local derivative is the reciprocal of the right one: the power rule's exponent, -1/2, puts "
                 "sqrt(x), and the factor with it, in the DENOMINATOR."),
    "over_x": ("Your gradient divides by x (y squared) where the power rule's x^(-1/2) divides by the square ROOT "
               "of x."),
    "empty_saved": ("ctx.saved is empty when your backward reads it: your forward saved nothing on its context. "
                    "What backward needs must be saved in forward, on the ctx it receives."),
    "unpack_count": ("Your backward unpacks a different number of values than your forward saved: ctx.saved holds "
                     "exactly what forward passed to ctx.save_for_backward, in that order."),
    "root_of_y": ("Your backward takes the square root of the saved output y: y already IS sqrt(x), so a derivative "
                  "written in x, with y put in x's place, is a derivative of the wrong function. Write the local "
                  "derivative through y itself."),
    "tensor_forward": FORWARD_ON_ARRAYS.format(ops="np.sqrt"),
    "dtype": ("Your forward returned {dtype} for a float64 input: an operation keeps the dtype of its input (a "
              "float32 result keeps only about 7 significant digits, and the engine gives every gradient its "
              "tensor's dtype). Do not convert the result."),
    "input_mutated": ("Your forward changed its input x in place (an `out=x`, or `x **=`, `x *=` on it): x is the data "
                      "of the Tensor the caller passed, which it and other operations still hold. Compute the output "
                      "into a new array and leave x as it was."),
    "saved_mutated": ("Your backward changed a saved array in place (`y *= ...` on what ctx.saved holds): the saved y "
                      "IS the output Tensor's data, so the output itself changed after the fact. Compute the gradient "
                      "into a new array."),
    "g_mutated": ("Your backward changed the upstream gradient g in place (`g /= ...`, `g *= ...`): g is the output's "
                  ".grad, which the engine keeps, and a rule like Add hands one and the same g to two inputs. Return "
                  "a new array and leave g as it was."),
}


def saved_unpack_hint(exc):
    """A hint for unpacking ``ctx.saved`` wrongly (nothing saved, or not as many values as saved), else ""."""
    text = str(exc)
    if isinstance(exc, ValueError) and "values to unpack" in text:
        return SQRT_HINTS["empty_saved"] if "got 0" in text else SQRT_HINTS["unpack_count"]
    return ""


def run_function(fn_class, x, g, other=None):
    """Apply ``fn_class`` to x (and, before backward, to ``other``), backpropagate g; return y and dx."""
    from ..tensor import Function, Tensor

    if not (isinstance(fn_class, type) and issubclass(fn_class, Function)):
        return {"problem": "not_function", "x": x}  # x: so that cases differ (this is no hard-coded answer)
    xt = Tensor(np.array(x, dtype=np.float64), requires_grad=True)
    y = fn_class.apply(xt)
    if isinstance(y.data, Tensor) or getattr(y.data, "dtype", None) == object:
        return {"problem": "tensor_forward", "x": x}
    if not np.array_equal(xt.data, x):
        return {"problem": "input_mutated", "x": x}
    y_forward = np.array(y.data, copy=True) if isinstance(y.data, np.ndarray) else None
    ctx = y._ctx
    if ctx is not None and "save_for_backward" in vars(ctx):
        return {"problem": "assigned", "x": x}
    if ctx is not None and not isinstance(ctx.saved, tuple):
        return {"problem": "saved_array", "x": x}
    if other is not None:  # a second use of the same Function in the same graph, before backward
        fn_class.apply(Tensor(np.array(other, dtype=np.float64), requires_grad=True))
    if not isinstance(y.data, np.ndarray) or y.data.shape != xt.shape:
        return {"problem": "forward", "y": y.data, "x": x}   # x: so that the cases differ (not hard-coded)
    if y.data.dtype != xt.dtype:
        return {"problem": "dtype", "dtype": str(y.data.dtype), "x": x}
    y.backward(np.array(g, dtype=np.float64))
    if not np.array_equal(y.data, y_forward):
        return {"problem": "saved_mutated", "x": x}
    if not np.array_equal(y.grad, np.asarray(g, dtype=y.grad.dtype)):
        return {"problem": "g_mutated", "x": x}
    return {"y": np.array(y.data), "dx": None if xt.grad is None else np.array(xt.grad),
            "raw_shape": _raw_backward_shape(fn_class, x, g)}


def _raw_backward_shape(fn_class, x, g):
    """The shape of what the rule's backward itself returns for x (before the driver un-broadcasts it)."""
    from ..tensor import Context

    try:
        ctx = Context((True,))
        fn_class.forward(ctx, np.array(x, dtype=np.float64))
        raw = fn_class.backward(ctx, np.array(g, dtype=np.float64))
    except Exception:  # the engine pass above already ran this code; its errors are reported from there
        return None
    raw = raw[0] if isinstance(raw, tuple) and len(raw) == 1 else raw
    return tuple(raw.shape) if isinstance(raw, np.ndarray) else None


class SqrtFunction(Exercise):

    def cases(self, rng):
        fixed = [{"x": np.array([[0.25, 1.0], [4.0, 9.0]]), "g": np.array([[1.0, 2.0], [-1.0, 0.5]]),
                  "other": np.array([[16.0, 25.0], [0.01, 2.0]])}]
        return fixed + [{"x": rng.uniform(0.2, 5.0, size=s), "g": rng.normal(size=s),
                         "other": rng.uniform(0.2, 5.0, size=s)} for s in [(3,), (2, 3), (4, 1)]]

    def run(self, obj, case):
        return run_function(obj, case["x"], case["g"], case["other"])

    def describe(self, case):
        return (f"x = {hints.short_repr(case['x'], 90)}, upstream g = {hints.short_repr(case['g'], 90)} "
                f"(and Sqrt also applied to {hints.short_repr(case['other'], 60)} before backward)")

    def error_hint(self, exc):
        return saved_unpack_hint(exc) or super().error_hint(exc)

    def compare(self, got, want, case):
        if not isinstance(got, dict):
            return Mismatch(f"could not run your Function: {hints.short_repr(got)}", SQRT_HINTS["not_function"])
        problem = got.get("problem")
        if problem == "not_function":
            return Mismatch("the answer is not a subclass of bl.Function", SQRT_HINTS["not_function"])
        if problem in ("assigned", "saved_array"):
            return Mismatch("backward cannot read what forward saved", SQRT_HINTS[problem])
        if problem in ("input_mutated", "saved_mutated", "g_mutated"):
            what = {"input_mutated": "after forward, the input x", "saved_mutated": "after backward, the output y",
                    "g_mutated": "after backward, the upstream gradient g"}[problem]
            return Mismatch(f"{what} no longer held its values", SQRT_HINTS[problem])
        if problem == "dtype":
            return Mismatch(f"forward returned {got['dtype']} for float64 input",
                            SQRT_HINTS["dtype"].format(dtype=got["dtype"]))
        if problem == "tensor_forward":
            return Mismatch("forward returned a Tensor, expected a NumPy array", SQRT_HINTS["tensor_forward"])
        if problem == "forward":
            return Mismatch(f"forward returned {hints.short_repr(got.get('y'))}, expected an array of shape "
                            f"{case['x'].shape}", SQRT_HINTS["forward_none" if got.get("y") is None else "forward"])
        m = hints.compare_values(got["y"], want["y"], where="forward output y")
        if m is not None:
            return Mismatch(m.message, SQRT_HINTS["forward"])
        if got["dx"] is None:
            return Mismatch("x.grad is None after backward", SQRT_HINTS["none"])
        x, g, other = case["x"], case["g"], case["other"]
        suspects = [(SQRT_HINTS["class_state"], g / (2 * np.sqrt(other))),
                    (SQRT_HINTS["no_g"], 1 / (2 * np.sqrt(x))),
                    (SQRT_HINTS["no_half"], g / np.sqrt(x)),
                    (SQRT_HINTS["power"], g * 0.5 * np.sqrt(x)),
                    (SQRT_HINTS["inverted"], g * 2 * np.sqrt(x)),
                    (SQRT_HINTS["over_x"], g / (2 * x)),
                    (SQRT_HINTS["root_of_y"], g / (2 * np.sqrt(np.sqrt(x)))),
                    (SQRT_HINTS["root_of_y"], g / 2 * np.sqrt(np.sqrt(x)))]
        m = hints.compare_values(got["dx"], want["dx"], where="gradient x.grad", suspects=suspects)
        raw = got.get("raw_shape")
        if m is not None and raw is not None and tuple(raw) != x.shape:
            return Mismatch(m.message, SQRT_HINTS["raw_shape"].format(raw=tuple(raw), shape=x.shape))
        return m


# ----------------------------------------------------------------------------- 06.2 maximum backward

MAXIMUM_HINTS = {
    "both": ("At a tie (x == y) you sent g to BOTH inputs, so that entry passes on 2g in total. The output moved by "
             "g, not 2g: at a tie all of g goes to one input only, x (the engine's rule: x >= y -> x)."),
    "neither": ("At a tie (x == y) you sent g to NEITHER input, so that entry's gradient is lost. The output still "
                "moves with its inputs there: all of g goes to one of them, x (the engine's rule: x >= y -> x)."),
    "to_y": ("At a tie (x == y) you sent g to y. The engine's tie rule is x >= y -> x: a tie counts as x "
             "winning, so g goes to x and nothing to y."),
    "split": ("At a tie you split g evenly between x and y (torch.maximum does that). This engine's rule sends all "
              "of g to x when x >= y, none to y."),
    "no_g": ("Your gradients are the 0/1 masks themselves: the chain rule multiplies each local derivative by the "
             "upstream gradient g."),
    "swapped": "You returned (dy, dx): the order is (dx, dy), one gradient per input in the order of the inputs.",
    "values": ("Your gradients carry the VALUES of x and y. maximum's local derivatives are 0 or 1: near any point "
               "away from a tie, z moves one-for-one with the input that wins and not at all with the other, so "
               "each input gets either g or nothing."),
}


ROUTING_HINTS = {
    "engine": ("Your function ran the engine's {names}, whose rule is this exercise's answer (the notebook shows it "
               "once yours has passed): work out which entries receive g from x, y (or x and the axis) yourself, "
               "with NumPy."),
}


def _routing_rules():
    from .. import rules

    return [rules.Maximum.backward, rules.Minimum.backward, rules.Max.backward, rules.Min.backward]


def _engine_mismatch(got):
    """A Mismatch when the learner's routing function ran the engine's own Maximum/Max rule, else None."""
    if isinstance(got, dict) and got.get("engine"):
        names = " and ".join(got["engine"])
        return Mismatch(f"your function ran the engine's {names}", ROUTING_HINTS["engine"].format(names=names))
    return None


class MaximumBackward(Exercise):

    def cases(self, rng):
        fixed = [{"x": np.array([1.0, 2.0, 3.0, 2.0]), "y": np.array([2.0, 2.0, 1.0, 5.0]),
                  "g": np.array([1.0, 2.0, 3.0, 4.0])}]
        # small integers make ties frequent; the masks then differ between the tie rules
        rand = [{"x": rng.integers(0, 3, size=s).astype(float), "y": rng.integers(0, 3, size=s).astype(float),
                 "g": rng.normal(size=s)} for s in [(3, 4), (5,), (2, 2, 3), (4, 1)]]
        return fixed + rand

    def run(self, obj, case):
        (out, changed), engine = run_watching(
            _routing_rules(), lambda: call_watching(obj, {"x": case["x"], "y": case["y"], "g": case["g"]}))
        if engine:      # (with the case's input: the same dict for every case would read as hard-coded)
            return {"engine": engine, "x": case["x"]}
        out = tuple(out) if isinstance(out, (tuple, list)) else out
        return {"mutated": changed, "out": out} if changed else out

    def compare(self, got, want, case):
        bad = _engine_mismatch(got) or mutation_mismatch(got) or _pair(got, ["dx", "dy"])
        if bad:
            return bad
        x, y, g = case["x"], case["y"], case["g"]
        tie = x == y
        variants = [(MAXIMUM_HINTS["swapped"], (want[1], want[0])),
                    (MAXIMUM_HINTS["both"], (g * (x >= y), g * (y >= x))),
                    (MAXIMUM_HINTS["neither"], (g * (x > y), g * (x < y))),
                    (MAXIMUM_HINTS["to_y"], (g * (x > y), g * (y >= x))),
                    (MAXIMUM_HINTS["split"], (g * ((x > y) + 0.5 * tie), g * ((x < y) + 0.5 * tie))),
                    (MAXIMUM_HINTS["no_g"], (1.0 * (x >= y), 1.0 * (x < y))),
                    (MAXIMUM_HINTS["values"], (g * np.maximum(x, y), g * np.maximum(x, y))),
                    (MAXIMUM_HINTS["values"], (g * x * (x >= y), g * y * (x < y)))]
        m = hints.compare_values(got, want, where="(dx, dy)")
        if m is None:
            return None
        hint = _match(got, variants)
        if hint is None:
            ints = [(n, a.dtype) for n, a in zip(("dx", "dy"), got)
                    if isinstance(a, np.ndarray) and a.dtype.kind in "biu"]
            if ints:
                hint = MAX_HINTS["int_dtype"].format(name=ints[0][0], dtype=ints[0][1])
        return Mismatch(m.message, hint) if hint else m


# ----------------------------------------------------------------------------- 06.3 max over an axis backward

MAX_HINTS = {
    "all_ties": ("Every maximal entry of a slice got g. When several entries tie for the maximum, only ONE of them "
                 "is the max that was returned: the engine sends g to the FIRST one (lowest index along the axis), "
                 "the tie rule x >= y -> x applied left to right; that is the index np.argmax reports."),
    "split": ("You split g evenly among the tied maxima (torch.amax does that). This engine sends all of g to the "
              "FIRST maximal entry (lowest index along the axis)."),
    "last": ("You sent g to the LAST maximal entry of each slice. The engine's tie rule picks the FIRST (lowest "
             "index along the axis)."),
    "no_g": ("Your answer is the 0/1 mask of where the maxima are: the chain rule multiplies it by the upstream "
             "gradient g, each slice's g going to that slice's maximum."),
    "axis": ("The gradient went to the right places but the values of g are misaligned: g lacks the reduced axis, "
             "and broadcasting lines axes up from the right, so g must get the reduced axis back at that axis's own "
             "position before it lines up with x."),
    "none_case": ("Your function returned None for axis=None, the maximum over ALL entries (g is then a single "
                  "number): that case needs handling of its own, and every path through the function must return "
                  "dx."),
    "g_shape_error": ("g has the shape of the result, WITHOUT the reduced axis; broadcasting lines axes up from the "
                      "right, so g only lines up with x (or with anything indexed along that axis) once the reduced "
                      "axis is back at its own position."),
    "flat_argmax": ("Only one entry of the whole array got a gradient: np.argmax without an axis returns ONE index "
                    "into the flattened array, the first maximum of all of x. Every slice along the axis has its own "
                    "maximum, which np.argmax finds when it is given the axis."),
    "int_dtype": ("Your {name} is an array of {dtype}: writing g into it (or g converted to it) rounded g to whole "
                  "numbers (or to True/False). A gradient is a float array, like g."),
    "none_all_ties": ("With axis=None the maximum is ONE number, taken over all entries, so only one entry of x is "
                      "the max that was returned: g goes to the first maximal entry (in x's flattened, row by row "
                      "order, the index np.argmax reports), none to the others that tie with it."),
    "none_as_axis": ("With axis=None the maximum is taken over ALL entries at once, not along an axis: it is one "
                     "number, and g (a single number too) goes to one entry of the whole array, the first maximal "
                     "one in x's flattened order."),
    "none_flat": ("Your dx is flat, shape {got}: with axis=None an index into the flattened x picks the entry, but "
                  "dx must have x's own shape {want}."),
    "none_axis_error": ("axis is None here: the maximum over ALL entries, with g a single number. A NumPy function "
                        "that needs an axis index cannot take None: handle axis=None as a case of its own."),
}


def _first_max_mask(x, axis):
    """1 at the first maximal entry of every slice along ``axis`` (all of x when None), 0 elsewhere."""
    if axis is None:
        mask = np.zeros(x.size)
        mask[np.argmax(x)] = 1.0
        return mask.reshape(x.shape)
    idx = np.expand_dims(np.argmax(x, axis=axis), axis)
    mask = np.zeros_like(x)
    np.put_along_axis(mask, idx, 1.0, axis=axis)
    return mask


class MaxBackward(Exercise):

    def cases(self, rng):
        fixed = [{"x": np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]]), "axis": 1, "g": np.array([10.0, 20.0])},
                 {"x": np.array([[4.0, 1.0], [4.0, 5.0]]), "axis": 0, "g": np.array([1.0, 2.0])},
                 {"x": np.array([[2.0, 7.0], [7.0, 1.0]]), "axis": None, "g": np.array(3.0)},
                 {"x": np.array([2.0, 5.0, 5.0, 1.0]), "axis": 0, "g": np.array(-2.0)}]   # 1-D: g is one number
        rand = []
        for shape, axis in [((3, 3), 0), ((4, 5), 1), ((2, 3, 4), 1), ((3, 4), -1), ((2, 3), None), ((4, 1), 1),
                            ((1, 5), 0)]:
            x = rng.integers(0, 3, size=shape).astype(float)
            gshape = () if axis is None else tuple(n for i, n in enumerate(shape) if i != axis % len(shape))
            rand.append({"x": x, "axis": axis, "g": rng.normal(size=gshape)})
        return fixed + rand

    def run(self, obj, case):
        (out, changed), engine = run_watching(
            _routing_rules(), lambda: call_watching(obj, {"x": case["x"], "g": np.asarray(case["g"])}, case["axis"]))
        if engine:      # (with the case's input: the same dict for every case would read as hard-coded)
            return {"engine": engine, "x": case["x"]}
        return {"mutated": changed, "out": out} if changed else out

    def describe(self, case):
        return f"x = {hints.short_repr(case['x'], 120)}, axis = {case['axis']}, g = {hints.short_repr(case['g'], 80)}"

    def error_hint(self, exc):
        if "'NoneType' object cannot be interpreted as an integer" in str(exc) or (
                "axis" in str(exc) and "None" in str(exc)):
            return MAX_HINTS["none_axis_error"]
        if "could not be broadcast" in str(exc) or "shape mismatch" in str(exc):
            return MAX_HINTS["g_shape_error"]
        return super().error_hint(exc)

    def compare(self, got, want, case):
        bad = _engine_mismatch(got) or mutation_mismatch(got)
        if bad:
            return bad
        x, axis = case["x"], case["axis"]
        if got is None:
            return Mismatch("your function returned None",
                            MAX_HINTS["none_case"] if axis is None else hints.NONE_HINT)
        if isinstance(got, np.ndarray) and got.dtype.kind in "biu":
            return Mismatch(f"dx has dtype {got.dtype}, expected a float array like x's ({x.dtype})",
                            MAX_HINTS["int_dtype"].format(name="dx", dtype=got.dtype))
        if axis is None and x.ndim > 1 and np.shape(got) == (x.size,):
            return Mismatch(f"dx has shape {np.shape(got)}, x has shape {x.shape}",
                            MAX_HINTS["none_flat"].format(got=np.shape(got), want=x.shape))
        g = np.asarray(case["g"], dtype=np.float64)
        ge = g if axis is None else np.expand_dims(g, axis)
        m = x.max() if axis is None else x.max(axis=axis, keepdims=True)
        ties = (x == m).astype(float)
        last = np.flip(_first_max_mask(np.flip(x, axis=axis), axis), axis=axis)
        variants = [(MAX_HINTS["none_all_ties"] if axis is None else MAX_HINTS["all_ties"], ge * ties),
                    (MAX_HINTS["split"], ge * ties / ties.sum(axis=axis, keepdims=axis is not None)),
                    (MAX_HINTS["last"], ge * last),
                    (MAX_HINTS["no_g"], _first_max_mask(x, axis)),
                    (MAX_HINTS["no_g"], ties)]
        if axis is not None:
            variants.append((MAX_HINTS["flat_argmax"], ge * _first_max_mask(x, None)))
        else:   # axis=None handled as if it were an axis: g at each slice's first maximum
            variants += [(MAX_HINTS["none_as_axis"], g * _first_max_mask(x, k)) for k in range(x.ndim)]
        if axis is not None and x.ndim == 2 and x.shape[0] == x.shape[1]:
            wrong = np.expand_dims(g, 1 - axis % 2)  # g re-inserted at the other axis of a square matrix
            variants.append((MAX_HINTS["axis"], wrong * _first_max_mask(x, axis)))
        mismatch = hints.compare_values(got, want)
        if mismatch is None:
            return None
        hint = _match(got, variants)
        return Mismatch(mismatch.message, hint) if hint else mismatch


# ----------------------------------------------------------------------------- 06.4 the backward driver

def _graph_fanout(t):
    x = t["x"]
    return (x * x + x).sum()


def _graph_diamond(t):
    a = t["x"].tanh()
    return (a * a + a.exp()).sum()


def _graph_linear(t):
    return (t["x"] @ t["W"] + t["b"]).tanh().mean()


def _graph_shift(t):
    x = t["x"]
    return (x - x.max(axis=1, keepdims=True)).exp().sum(axis=1).log().sum()


def _graph_shared(t):
    W = t["W"]
    return ((t["x"] @ W).relu() @ W).sum()


def _graph_constant(t):
    return (t["x"] * t["c"] + 2.0).sum()


def _graph_uneven(t):
    a = t["x"].tanh()
    return (a + a.exp().tanh()).sum()


def _graph_alias(t):
    x = t["x"]
    return (x.exp() + (x + t["y"]).tanh()).sum()


GRAPHS = {
    # name: (builder, description, {input: (shape, requires_grad)})
    "fan-out": (_graph_fanout, "(x * x + x).sum()", {"x": ((3,), True)}),
    "diamond": (_graph_diamond, "a = x.tanh(); (a * a + a.exp()).sum()", {"x": ((2, 3), True)}),
    "linear": (_graph_linear, "(x @ W + b).tanh().mean()  (b is broadcast over the rows)",
               {"x": ((4, 3), True), "W": ((3, 2), True), "b": ((2,), True)}),
    "shift": (_graph_shift, "(x - x.max(axis=1, keepdims=True)).exp().sum(axis=1).log().sum()",
              {"x": ((3, 4), True)}),
    "shared": (_graph_shared, "((x @ W).relu() @ W).sum()  (W used twice)", {"x": ((2, 3), True), "W": ((3, 3), True)}),
    "constant": (_graph_constant, "(x * c + 2.0).sum()  (c is a constant: requires_grad=False)",
                 {"x": ((2, 2), True), "c": ((2, 2), False)}),
    "uneven": (_graph_uneven, "a = x.tanh(); (a + a.exp().tanh()).sum()  (two paths of different lengths to a)",
               {"x": ((4,), True)}),
    "alias": (_graph_alias, "(x.exp() + (x + y).tanh()).sum()  (Add hands one array to both x and y)",
              {"x": ((3,), True), "y": ((3,), True)}),
}

DRIVER_HINTS = {
    "order": ("Node '{op}' was asked for its backward before every node that uses it had handed it its gradient "
              "(still missing: {missing}). A node's gradient is complete only once ALL of its users have run: visit "
              "the nodes in reverse topological order, root first. (A node reached along two paths must be listed "
              "once, or its first copy comes too early.)"),
    "uncalled": ("Node '{op}' received a gradient, but its rule never ran, so nothing reached the nodes before it. "
                 "Every node made by an operation must run once its gradient is complete, which reverse topological "
                 "order (root first) guarantees."),
    "twice": ("Node '{op}' was asked for its backward twice. Each node appears once in the topological order: "
              "remember which nodes you have already visited, so a node reached along two paths is listed once."),
    "seed": ("The root's gradient is None when its rule runs: the pass starts from dL/dL = 1, which must be in "
             "root.grad (an array of the root's shape and dtype) before the first rule runs."),
    "shape": ("'{op}' received a gradient of shape {got} but its data has shape {want}: broadcasting in the "
              "forward pass was not undone. Every gradient a rule returns must be un-broadcast to its input's "
              "shape (bl.unbroadcast) before it is added to that input's .grad."),
    "bare": ("'{op}' received a gradient of shape {got} but its data has shape {want}. It came from '{user}', a rule "
             "with ONE input, which returns a bare array, not a tuple: pairing the inputs with what the rule "
             "returned then walked over the array itself and handed its first entry (or row) to the input."),
    "engine": ("Your driver called the engine's own {name}. In this exercise you write that part: ask each node's "
               "rule for its inputs' gradients, and hand each one on to its input yourself."),
    "none": ("{name}.grad is still None after your backward: no gradient reached it. Every gradient a rule returns "
             "goes on to the matching input; only None gradients (inputs that need none) are skipped."),
    "accumulate": ("{name} already held a gradient from an earlier pass before your backward ran, and afterwards "
                   "holds only the new one: your driver threw the old one away. Leaf gradients accumulate across "
                   "passes (as with Tensor.backward and in PyTorch): the new gradient is added to what is there."),
    "stale": ("Node '{op}', made by an operation, already held a gradient from an earlier pass when your driver "
              "began (a pass with retain_graph=True leaves one), and your driver added this pass's shares to it: the "
              "old gradient flowed on into the leaves. Only leaves accumulate across passes; the .grad of a tensor "
              "made by an operation must hold this pass's gradient alone."),
    "dtype": ("{name}.grad is {got} but {name} holds {want} data: a gradient has the dtype of its tensor. Every "
              "gradient descends from the one the pass starts with and from any array you make to hold them: "
              "give them the tensor's dtype."),
    "aliased": ("{a}.grad and {b}.grad are the SAME array: a rule handed one array to both (Add does), your driver "
                "stored it as it was, and a later share added in place (`+=`) into one changed the other too. A "
                "stored gradient must not be written into in place unless it is that tensor's own array."),
    "readonly": ("Your driver wrote in place (`+=`) into an array it does not own: the first share you stored in a "
                 ".grad is the very array a rule returned, and rules may return read-only views (Sum's gradient is "
                 "a broadcast view) or one array for two inputs (Add). Adding into a stored gradient must make a new "
                 "array, unless that tensor owns its array."),
    "seed_shape": ("The root's gradient has shape {got}, but the root has shape {want}: the pass starts from "
                   "dL/dL = 1 as an array of the ROOT's own shape (and dtype); every other gradient descends from "
                   "it."),
    "none_share": ("A None reached a place where an array was expected. A rule returns None for an input that needs "
                   "no gradient (a constant, requires_grad=False), and a .grad stays None until a share reaches it: "
                   "a None share is skipped, never un-broadcast, converted or added."),
    "leaf_rule": ("Your driver asked a LEAF for its rule: a tensor you made has no recipe (its _fn is None), so there "
                  "is no backward to run. Only nodes made by an operation pass their gradient on."),
    "topo": ("Your driver called the engine's topological sort. The order is part of this exercise: write it "
             "yourself, as notebook 02 did for Values: every node listed after all the nodes it depends on."),
    "constant": ("{Name} does not require a gradient (requires_grad=False), yet your driver wrote a .grad into it. "
                 "Some rules hand a share to every input whatever it is (Add gives g to both): like "
                 "root.backward(), a driver skips the inputs that need no gradient."),
    "none_add": ("A .grad is None until its first share arrives, and None cannot be added to: the first share is "
                 "stored, later ones are added to it."),
}


class DriverError(RuntimeError):
    """Raised inside the learner's driver when it does something a correct driver never does."""


def _leaves(case):
    """The case's leaf tensors, with their dtype and any gradient left from an earlier pass."""
    from ..tensor import Tensor

    _, _, spec = GRAPHS[case["graph"]]
    dtype = np.dtype(case.get("dtype", "float64"))
    leaves = {k: Tensor(np.array(case[k], dtype=dtype), requires_grad=rg, label=k) for k, (_, rg) in spec.items()}
    for k, g in (case.get("preset") or {}).items():
        leaves[k].grad = np.array(g, dtype=dtype)
    return leaves


def _watched_graph(case, log):
    """Build the case's graph with nodes that refuse shortcuts and check the order of backward calls."""
    from ..autograd import topo_sort
    from ..tensor import Tensor

    class Watched(Tensor):
        __slots__ = ()

        def _backward(self):
            raise DriverError(DRIVER_HINTS["engine"].format(name="node._backward()"))

        def backward(self, *args, **kwargs):
            raise DriverError(DRIVER_HINTS["engine"].format(name="Tensor.backward()"))

    builder, _, spec = GRAPHS[case["graph"]]
    leaves = _leaves(case)
    root = builder(leaves)
    nodes = topo_sort(root)
    _leave_stale_gradient(case, nodes)
    consumers = {id(n): [] for n in nodes}
    for n in nodes:
        for p in n._prev:
            consumers[id(p)].append(n)
    called = set()
    bare = {}  # id(node) -> op, for one-input nodes whose rule returned a bare array (the driver must wrap it)

    def shape_hint(node, op, got):
        users = [bare[id(c)] for c in consumers[id(node)] if id(c) in bare]
        if users:
            return DRIVER_HINTS["bare"].format(op=op, got=got, want=node.shape, user=users[0])
        return DRIVER_HINTS["shape"].format(op=op, got=got, want=node.shape)

    def watch(node, fn):
        def backward(ctx, grad):
            op = fn.__name__
            if id(node) in called:
                raise DriverError(DRIVER_HINTS["twice"].format(op=op))
            missing = [c._op for c in consumers[id(node)] if id(c) not in called]
            if missing:
                raise DriverError(DRIVER_HINTS["order"].format(op=op, missing=", ".join(f"'{m}'" for m in missing)))
            if grad is None:
                raise DriverError(DRIVER_HINTS["seed"] if node is root else DRIVER_HINTS["none"].format(name=op))
            if np.shape(grad) != node.shape:
                if node is root:
                    raise DriverError(DRIVER_HINTS["seed_shape"].format(got=np.shape(grad), want=node.shape))
                raise DriverError(shape_hint(node, op, np.shape(grad)))
            called.add(id(node))
            log.append(op)
            result = fn.backward(ctx, grad)
            if len(node._prev) == 1 and not isinstance(result, tuple):
                bare[id(node)] = op
            return result

        return type(fn.__name__, (fn,), {"backward": staticmethod(backward)})

    for n in nodes:
        if n._fn is not None:
            n._fn = watch(n, n._fn)
        n.__class__ = Watched

    def uncalled():  # nodes holding a (non-zero) gradient they never passed on
        return [n._op for n in nodes if n._fn is not None and n.grad is not None and id(n) not in called
                and np.any(np.asarray(n.grad) != 0)]

    def leaf_shape_hints():  # for each leaf whose gradient has the wrong shape, the hint naming the likely cause
        return {k: shape_hint(t, k, np.shape(t.grad)) for k, t in leaves.items()
                if t.requires_grad and t.grad is not None and np.shape(t.grad) != t.shape}

    def aliased():  # pairs of leaves whose gradients are one and the same memory
        named = [(k, t.grad) for k, t in leaves.items() if isinstance(t.grad, np.ndarray)]
        return [(a, b) for i, (a, ga) in enumerate(named) for b, gb in named[i + 1:] if np.shares_memory(ga, gb)]

    def constants():  # tensors that need no gradient (requires_grad=False) but got a .grad
        return [n.label or ("the constant " + (f"{float(n.data):g}" if n.data.size == 1 else f"of shape {n.shape}"))
                for n in nodes if not n.requires_grad and n.grad is not None and np.any(np.asarray(n.grad) != 0)]

    return root, leaves, uncalled, leaf_shape_hints, aliased, constants


def _leave_stale_gradient(case, nodes):
    """Give the case's intermediate node the gradient an earlier pass (retain_graph=True) left; return the node."""
    stale = case.get("stale")
    if not stale:
        return None
    node = next(n for n in nodes if n._op == stale["op"])
    node.grad = np.full(node.shape, stale["value"], dtype=node.data.dtype)
    return node


class BackwardDriver(Exercise):
    allowed_references = ("backprop_lab.unbroadcast",)   # the exercise text tells the learner to use it

    def cases(self, rng):
        cases = [{"graph": "fan-out", "x": np.array([1.0, -2.0, 0.5])}]
        for name in ["uneven", "diamond", "linear", "shift", "shared", "constant", "alias", "fan-out", "linear",
                     "fan-out"]:
            case = {"graph": name}
            for k, (shape, _) in GRAPHS[name][2].items():
                case[k] = rng.normal(size=shape).round(3)
            cases.append(case)
        cases[8]["preset"] = {"x": rng.normal(size=3).round(3)}      # a gradient left from an earlier pass
        cases[9]["dtype"] = "float32"
        cases.append({"graph": "diamond", "x": rng.normal(size=(2, 3)).round(3),
                      "stale": {"op": "Tanh", "value": 0.5}})    # an intermediate left with an earlier gradient
        return cases

    def run(self, obj, case):
        from ..autograd import topo_sort

        log = []
        root, leaves, uncalled, leaf_shape_hints, aliased, constants = _watched_graph(case, log)
        _, engine = run_watching([topo_sort], lambda: obj(root))
        if engine:
            return {"engine": engine[0], "graph": case["graph"]}
        spec = GRAPHS[case["graph"]][2]
        grads = {k: (None if leaves[k].grad is None else np.array(leaves[k].grad, dtype=np.float64))
                 for k, (_, rg) in spec.items() if rg}
        dtypes = {k: str(np.asarray(leaves[k].grad).dtype) for k in grads if grads[k] is not None}
        return {"grads": grads, "uncalled": uncalled(), "shape_hints": leaf_shape_hints(), "dtypes": dtypes,
                "aliased": aliased(), "constants": constants(),
                "graph": case["graph"]}   # the graph: a missing gradient is no hard-coded one

    def expected(self, case):
        from ..autograd import topo_sort

        builder, _, spec = GRAPHS[case["graph"]]
        leaves = _leaves(case)
        root = builder(leaves)
        _leave_stale_gradient(case, topo_sort(root))
        root.backward()
        want = {"grads": {k: leaves[k].grad for k, (_, rg) in spec.items() if rg}}
        if case.get("stale"):      # what a driver that adds to the stale gradient gives, to name that mistake
            leaves = _leaves(case)
            node = _leave_stale_gradient(case, topo_sort(builder(leaves)))
            node.backward(np.full(node.shape, case["stale"]["value"]))
            want["with_stale"] = {k: want["grads"][k] + leaves[k].grad for k in want["grads"]}
        return want

    def describe(self, case):
        _, text, spec = GRAPHS[case["graph"]]
        inputs = ", ".join(f"{k} = {hints.short_repr(case[k], 80)}" for k in spec)
        extra = ""
        if case.get("preset"):
            extra += "; " + ", ".join(f"{k}.grad already holds {hints.short_repr(v, 60)} from an earlier pass"
                                      for k, v in case["preset"].items())
        if case.get("dtype"):
            extra += f"; all data {case['dtype']}"
        if case.get("stale"):
            extra += (f"; the {case['stale']['op']} node's .grad already holds {case['stale']['value']} everywhere, "
                      "from an earlier pass with retain_graph=True")
        return f"graph: {text}; {inputs}{extra}"

    def error_hint(self, exc):
        text = str(exc)
        if "read-only" in text:
            return DRIVER_HINTS["readonly"]
        if "'NoneType' object has no attribute 'backward'" in text:
            return DRIVER_HINTS["leaf_rule"]
        if "unsupported operand" in text and "and 'NoneType'" in text or "dtype('O')" in text \
                or "'NoneType' object has no attribute" in text:
            return DRIVER_HINTS["none_share"]      # a None share (a constant's) used as an array
        if "'NoneType'" in text and ("+" in text or "unsupported operand" in text):
            return DRIVER_HINTS["none_add"]         # None + share: a .grad that is still None added to
        return super().error_hint(exc)

    def compare(self, got, want, case):
        if isinstance(got, dict) and "engine" in got:
            return Mismatch(f"your driver called the engine's {got['engine']}", DRIVER_HINTS["topo"])
        if not isinstance(got, dict) or "grads" not in got:
            return Mismatch("could not read the leaves' gradients", hints.TYPE_HINT)
        if got["uncalled"]:
            return Mismatch(f"after your backward, node '{got['uncalled'][0]}' holds a gradient it never passed on",
                            DRIVER_HINTS["uncalled"].format(op=got["uncalled"][0]))
        grads, with_stale, want = got["grads"], want.get("with_stale"), want["grads"]
        data_dtype = case.get("dtype", "float64")
        for k in want:
            if grads.get(k) is None:
                return Mismatch(f"{k}.grad is None after your backward(root)", DRIVER_HINTS["none"].format(name=k))
            if np.shape(grads[k]) != want[k].shape:
                hint = got.get("shape_hints", {}).get(k) or DRIVER_HINTS["shape"].format(
                    op=k, got=np.shape(grads[k]), want=want[k].shape)
                return Mismatch(f"{k}.grad has shape {np.shape(grads[k])}, but {k} has shape {want[k].shape}", hint)
            if got.get("dtypes", {}).get(k, data_dtype) != data_dtype:
                return Mismatch(f"{k}.grad has dtype {got['dtypes'][k]}, but {k} has dtype {data_dtype}",
                                DRIVER_HINTS["dtype"].format(name=k, got=got["dtypes"][k], want=data_dtype))
        if got.get("constants"):
            name = got["constants"][0]
            return Mismatch(f"{name} needs no gradient (requires_grad=False), yet holds a .grad after your backward",
                            DRIVER_HINTS["constant"].format(Name=name[0].upper() + name[1:]))
        rtol = 1e-5 if data_dtype == "float32" else 1e-6
        m = hints.compare_values(grads, want, where="leaf gradients", rtol=rtol, atol=1e-6 if rtol > 1e-6 else 1e-8)
        if m is None:
            return None
        for k, old in (case.get("preset") or {}).items():
            if hints.close(grads[k], np.asarray(want[k]) - old, rtol=1e-6, atol=1e-8):
                return Mismatch(m.message, DRIVER_HINTS["accumulate"].format(name=k))
        if with_stale and all(hints.close(grads[k], with_stale[k], rtol=rtol, atol=1e-8) for k in want):
            return Mismatch(m.message, DRIVER_HINTS["stale"].format(op=case["stale"]["op"]))
        if got.get("aliased"):
            a, b = got["aliased"][0]
            return Mismatch(m.message, DRIVER_HINTS["aliased"].format(a=a, b=b))
        return m


# ----------------------------------------------------------------------------- 06.5 find the buggy op

def _mystery_functions():
    """Three custom Functions for the mystery graph of exercise 06.5 (one of them is wrong)."""
    from ..tensor import Function

    class Square(Function):
        """$y = x^2$: dx = 2 x g."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved
            return 2 * x * g

    class Softplus(Function):
        """$y = \\log(1 + e^x)$: dx = g * sigmoid(x)."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.logaddexp(0.0, x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved
            return g / (1.0 + np.exp(x))

    class LogCosh(Function):
        """$y = \\log \\cosh x$: dx = g * tanh(x)."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.logaddexp(x, -x) - np.log(2.0)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved
            return g * np.tanh(x)

    return Square, Softplus, LogCosh


def mystery_graph(seed=0):
    """A small network built from engine ops and three custom Functions, one with a wrong backward.

    Returns ``(loss, params)``: loss = mean(Square(LogCosh(Softplus(x @ W1) @ W2 - t))).
    """
    from ..tensor import Tensor

    Square, Softplus, LogCosh = _mystery_functions()
    rng = np.random.default_rng(seed)
    x = Tensor(rng.normal(size=(4, 3)), label="x")
    t = Tensor(rng.normal(size=(4, 2)), label="t")
    W1 = Tensor(rng.normal(size=(3, 5)), requires_grad=True, label="W1")
    W2 = Tensor(rng.normal(size=(5, 2)), requires_grad=True, label="W2")
    h = Softplus.apply(x @ W1)
    loss = Square.apply(LogCosh.apply(h @ W2 - t)).mean()
    return loss, [W1, W2]


ENGINE_OPS_IN_MYSTERY = ("MatMul", "Add", "Neg", "Sum", "Mul")


def mystery_ops() -> list[str]:
    """Every op name of the mystery graph (the custom Functions' names come from the classes themselves)."""
    return [fn.__name__ for fn in _mystery_functions()] + list(ENGINE_OPS_IN_MYSTERY)


# names the notebook itself uses from this module (course material, not answers): the grading worker keeps
# them while it stubs out everything else here (backprop_lab.grading.worker_checks)
PROVIDED = ("mystery_graph",)


def _normalise_op(answer):
    text = str(answer).strip().strip("'\"").strip()
    for prefix in ("bl.", "rules.", "nb06."):
        if text.startswith(prefix):
            text = text[len(prefix):]
    if text.endswith("()"):
        text = text[:-2]
    return text.lower()

FIND_THE_BUG_HINTS = {
    "how": ("check_graph tests each op of the graph on its own against finite differences and reports the first one "
            "whose backward disagrees: that op's name is the answer."),
    "a_class": "You gave a class; the answer is the op's NAME, a string, as check_graph prints it.",
    "report": ("You gave the whole report (or its first_bad); the answer is the op's name, a string, which the report "
               "holds too."),
    "not_a_string": "Answer with the name of the op as a string, as check_graph prints it (e.g. \"Mul\"). {how}",
    "innocent": ("The backward of {op!r} agrees with finite differences of that op alone, so it is not the culprit. "
                 "{how}"),
    "unknown": "Name one op, as check_graph reports it (a Function's class name, e.g. \"Mul\"). {how}",
}


class FindTheBug(Exercise):
    # the point of this exercise is to use the checking tools
    allowed_references = ("backprop_lab.check_graph", "backprop_lab.gradcheck", "backprop_lab.GradcheckError",
                          "backprop_lab.autograd.topo_sort")
    show_expected = False   # the expected answer IS the answer: a wrong guess must not be shown it

    def cases(self, rng):
        return [{"graph": "mystery_graph(seed=0)"}]

    def run(self, obj, case):
        if isinstance(obj, str):
            return obj
        if isinstance(obj, type):
            return {"not_a_string": f"the class {obj.__name__}", "a_class": True}
        op = getattr(obj, "op", None) or getattr(getattr(obj, "first_bad", None), "op", None)
        return {"not_a_string": obj if isinstance(obj, (int, float)) else f"a {type(obj).__name__} object",
                "has_op": isinstance(op, str)}

    def expected(self, case):
        from ..gradcheck import check_graph

        loss, _ = mystery_graph(0)
        return check_graph(loss).first_bad.op

    def compare(self, got, want, case):
        hint, how = FIND_THE_BUG_HINTS, FIND_THE_BUG_HINTS["how"]
        if not isinstance(got, str):
            value = got.get("not_a_string") if isinstance(got, dict) else got
            received = value if isinstance(value, str) else hints.short_repr(value)
            if isinstance(got, dict) and got.get("a_class"):
                return Mismatch(f"expected the op's name as a string, received {received}",
                                hint["a_class"])
            if isinstance(got, dict) and got.get("has_op"):
                return Mismatch(f"expected the op's name as a string, received {received}",
                                hint["report"])
            return Mismatch(f"expected the op's name as a string, received {received}",
                            hint["not_a_string"].format(how=how))
        if _normalise_op(got) == want.lower():
            return None
        named = [op for op in mystery_ops() if op.lower() == _normalise_op(got)]
        if named:       # quote the op as check_graph prints it, whatever the learner's spelling ("mul", "bl.Mul")
            return Mismatch(f"you named {got!r}", hint["innocent"].format(op=named[0], how=how))
        return Mismatch(f"{got!r} is not the name of an op in the mystery graph",
                        hint["unknown"].format(how=how))
