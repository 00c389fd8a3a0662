"""Checks for notebook 07, layers, losses and optimizers (the exercises are in solutions/07_*.md).

Each ``compare`` first recomputes the classic wrong answers for the case (the sum instead of the
mean, the naive softmax, the sign of the step, Adam without bias correction, ...) and names the one
the learner's answer matches; only then does it fall back to the generic diagnosis. Right answers
come from the notebook's own solutions (``backprop_lab.references.nb07``).
"""
from __future__ import annotations

import numpy as np

from . import hints
from .framework import Exercise, Mismatch, run_watching
from .nb06 import FORWARD_ON_ARRAYS, call_watching, saved_unpack_hint


def _array(x):
    return hints._to_array(x)


def _close(got, want, rtol=1e-6, atol=1e-10) -> bool:
    return hints.close(got, want, rtol=rtol, atol=atol)


def _match(got, variants):
    """The hint of the first wrong variant that ``got`` equals (all components of a tuple), else None."""
    return hints.matching_hint(got, variants, rtol=1e-6, atol=1e-10)


def _tuple(got, names):
    return hints.expect_tuple(got, names, TUPLE_HINT)


def _all_zero(got) -> bool:
    """True when every number in the answer (a number, an array or a tuple of them) is 0."""
    parts = got if isinstance(got, (tuple, list)) else (got,)
    arrays = [_array(g) for g in parts]
    return all(a is not None and a.dtype != object and a.size > 0 and not np.any(a) for a in arrays)


STEP_ZEROS = ("You returned zeros. An optimizer step returns the UPDATED parameter, the old one minus the step, "
              "and the updated state for the next step.")


def _as_number(x):
    """A one-element answer (float, 0-d array, one-element Tensor) as a float; anything else unchanged."""
    arr = _array(x)
    if arr is not None and arr.size == 1 and arr.ndim <= 1:
        return float(arr.reshape(()))
    return x if arr is None else arr


def _is_real(x) -> bool:
    """True for a plain number (Python or NumPy float or int), the type a loss is returned as."""
    return isinstance(x, (float, int, np.floating, np.integer)) and not isinstance(x, bool)


def _kind(x) -> str:
    """How a value that is not a plain number is described in a message (its type, and shape if any)."""
    shape = getattr(x, "shape", None)
    return f"a {type(x).__name__}" + (f" of shape {tuple(shape)}" if shape is not None else "")


NOT_A_FLOAT = ("The loss must be returned as a plain number (a float); yours is {kind}. The code that uses the loss "
               "formats, compares and averages it as a number, and a Tensor or an array would break it there.")
NOT_AN_ARRAY = ("A gradient must be returned as a NumPy array of its tensor's shape; yours is {kind}.")
TUPLE_HINT = "Return {n} values, in this order: `return {listed}`."
STEP_TYPES = ("An optimizer step returns NumPy arrays of the parameter's shape (the caller does array arithmetic "
              "with them, in place too); yours returned {kinds}.")
DTYPE = ("Your {what} float64 for float32 inputs: results keep the dtype of the arrays they come from (notebook 08 "
         "trains in float32). In NumPy 2 a NumPy float64 SCALAR (from np.power, np.sqrt or np.float64 of plain "
         "numbers) turns a float32 array float64, where a plain Python float does not.")


def _float32(rng, case, keys):
    """``case`` with its arrays ``keys`` as float32 (the dtype notebook 08 trains in)."""
    return dict(case, **{k: np.asarray(case[k], dtype=np.float32) for k in keys}, dtype="float32")


def _step_output(out, changed, case):
    """What ``run`` returns for an optimizer step: the tuple of new arrays, or a dict naming what is wrong."""
    if changed:
        return {"mutated": changed, "p": case["p"]}
    if not isinstance(out, (tuple, list)):
        return out
    if not all(isinstance(o, np.ndarray) for o in out):
        return {"kinds": [_kind(o) for o in out], "p": case["p"]}
    dtypes = [str(o.dtype) for o in out]
    if case.get("dtype") and any(d != case["dtype"] for d in dtypes):
        return {"dtypes": dtypes, "p": case["p"]}
    return tuple(out)


def _step_problem(got):
    """A Mismatch for an optimizer step's output of the wrong kind (mutation, not arrays, dtype), else None."""
    if not isinstance(got, dict):
        return None
    if got.get("mutated"):
        return _mutation(got)
    if "kinds" in got:
        return Mismatch(f"expected NumPy arrays, received {', '.join(got['kinds'])}",
                        STEP_TYPES.format(kinds=", ".join(got["kinds"])))
    if "dtypes" in got:
        return Mismatch(f"the inputs were float32; your step returned {', '.join(got['dtypes'])}",
                        DTYPE.format(what="step returned"))
    return None

MUTATED = ("Your function changed its argument {names} in place. It returns new values, and its caller still holds "
           "the arrays it passed (the engine's parameters and gradients, the logits of a batch): leave them as they "
           "were and compute into new arrays.")


NUMPY_ONLY = ("Your function computed the loss with the engine ({names}): this exercise is the loss written in "
              "NumPy, on plain arrays, and the engine's version is what your answer is compared with. Compute it "
              "from the arrays themselves.")


def _call_numpy_only(obj, arrays, *args):
    """``call_watching``, and the engine's operations (any Tensor operation goes through Function.apply) it used."""
    from ..tensor import Function

    (out, changed), engine = run_watching([Function.apply.__func__], lambda: call_watching(obj, arrays, *args))
    return out, changed, engine


def _mutation(got):
    """A Mismatch when ``run`` found the learner's function changing its arguments (or, for a loss written in
    NumPy, using the engine), else None."""
    if isinstance(got, dict) and got.get("engine"):
        return Mismatch(f"your function used the engine ({got['engine']})", NUMPY_ONLY.format(names=got["engine"]))
    if isinstance(got, dict) and got.get("mutated"):
        names = " and ".join(got["mutated"])
        return Mismatch(f"after the call, {names} no longer held the values it was given", MUTATED.format(names=names))
    return None


# ----------------------------------------------------------------------------- 07.1 Linear as a Function

LINEAR_HINTS = {
    "no_bias": "The forward output lacks the bias: y = x @ W + b.",
    "forward": "The forward pass is wrong: y = x @ W + b, with x of shape (N, in), W (in, out), b (out,).",
    "dW_T": ("dW has the values (or the shape) of W transposed: a gradient has exactly the shape of its tensor, "
             "(in, out) for W. Of x (N, in) and g (N, out), which one goes first in the product, and transposed how?"),
    "dx": ("dx is wrong. It must have x's shape (N, in): which product of g (N, out) and W (in, out) has that "
           "shape? (Dimensional analysis, notebook 04.)"),
    "db_mean": ("Your db is the MEAN of g over the batch; the bias was COPIED to every row, so it receives the SUM of "
                "the rows' gradients."),
    "db_axis": ("db has one entry per example: you reduced over the features. The bias has one entry per output "
                "feature and was copied along the batch axis, the axis to add up."),
    "none": ("The gradient of {name} is None: backward must return three gradients, one per input of forward, in "
             "the same order as forward's inputs."),
    "class_state": ("The gradients of the first use were computed from the inputs of the SECOND use: keep what "
                    "backward needs on the ctx that forward receives, not on the class or in globals."),
    "not_function": ("Give the class itself, a subclass of bl.Function with @staticmethods forward(ctx, x, W, b) and "
                     "backward(ctx, g): check(\"07.1\", LinearFn)."),
    "matmul": ("The factors of a matrix product do not fit: a transpose is missing or extra. Each gradient has the "
               "shape of its input, dx (N, in) and dW (in, out): write the shapes of the factors next to each "
               "product."),
    "order": ("You returned the gradients in another order: backward returns one gradient per input, in the order "
              "of forward's inputs, (dx, dW, db)."),
    "dW_over_N": ("dW is divided by the batch size N = {n}: a layer does not average. Each example adds its own "
                  "share to dW, so dW is their plain SUM; the 1/N of a mean loss is already inside g."),
    "tensor_forward": FORWARD_ON_ARRAYS.format(ops="@ and +"),
    "dtype": ("Your forward returned {got} for {want} inputs: an operation keeps the dtype of its inputs. A float32 "
              "result keeps only about 7 significant digits (so the gradients then differ from the {want} ones in "
              "the 7th digit), and notebook 08 trains in float32, where a float64 result doubles the memory. Do not "
              "convert the result."),
    "input_mutated": ("Your {when} changed the input {names} in place: the inputs (and what forward saves of them) "
                      "are the data of the Tensors the caller passed (the layer's own parameters, the batch), which it "
                      "still holds. Compute into new arrays and leave them as they were."),
    "db_row": ("db is the gradient of ONE row of the batch: b was copied to every row, so its gradient is the SUM of "
               "all the rows' gradients (with a batch of one example the two agree, which is why it can look "
               "right)."),
    "g_mutated": ("Your backward changed the upstream gradient g in place: g is the output's .grad, which the engine "
                  "keeps (and a rule like Add hands one g to two inputs). Compute the gradients into new arrays."),
}


class LinearFunction(Exercise):

    def cases(self, rng):
        fixed = [{"x": np.array([[1.0, 2.0], [3.0, 4.0]]), "W": np.array([[0.1, 0.2], [0.3, 0.4]]),
                  "b": np.array([0.5, 0.6]), "g": np.array([[0.1, 0.3], [0.5, 0.9]])}]   # section 2's worked example
        rand = []
        for n, i, o in [(4, 3, 2), (5, 2, 3), (3, 3, 3), (1, 4, 2)]:
            rand.append({"x": rng.normal(size=(n, i)), "W": rng.normal(size=(i, o)), "b": rng.normal(size=o),
                         "g": rng.normal(size=(n, o))})
        return fixed + rand + [_float32(rng, rand[1], ("x", "W", "b", "g"))]   # notebook 08 trains in float32

    def run(self, obj, case):
        from ..tensor import Function, Tensor

        if not (isinstance(obj, type) and issubclass(obj, Function)):
            return {"problem": "not_function", "x": case["x"]}
        ts = {k: Tensor(np.array(case[k]), requires_grad=True) for k in ("x", "W", "b")}   # float32 stays float32
        y = obj.apply(ts["x"], ts["W"], ts["b"])
        if isinstance(y.data, Tensor) or getattr(y.data, "dtype", None) == object:
            return {"problem": "tensor_forward", "x": case["x"]}
        changed = [k for k in ("x", "W", "b") if not np.array_equal(ts[k].data, case[k])]
        if changed:
            return {"problem": "input_mutated", "names": changed, "x": case["x"]}
        obj.apply(Tensor(case["x"] + 1.0, requires_grad=True), Tensor(case["W"] - 1.0, requires_grad=True),
                  Tensor(case["b"], requires_grad=True))   # a second use before backward: state must be on ctx
        out = {"y": np.array(y.data), "y_dtype": str(np.asarray(y.data).dtype)}
        if y.shape != case["g"].shape:
            return out
        y.backward(np.array(case["g"]))
        if not np.array_equal(y.grad, np.asarray(case["g"], dtype=y.grad.dtype)):
            return {"problem": "g_mutated", "x": case["x"]}
        changed = [k for k in ("x", "W", "b") if not np.array_equal(ts[k].data, case[k])]
        if changed:    # what forward saved is the caller's data: backward must not write into it either
            return {"problem": "input_mutated", "names": changed, "when": "backward", "x": case["x"]}
        for k, name in (("x", "dx"), ("W", "dW"), ("b", "db")):   # (the engine gives each .grad its tensor's dtype)
            out[name] = None if ts[k].grad is None else np.array(ts[k].grad)
        return out

    def describe(self, case):
        return ", ".join(f"{k} = {hints.short_repr(case[k], 70)}" for k in ("x", "W", "b", "g"))

    def error_hint(self, exc):
        text = str(exc)
        if "matmul" in text and ("mismatch" in text or "differ" in text) or "not aligned" in text:
            return LINEAR_HINTS["matmul"]
        return saved_unpack_hint(exc) or super().error_hint(exc)

    def compare(self, got, want, case):
        if not isinstance(got, dict) or got.get("problem") == "not_function":
            return Mismatch("the answer is not a subclass of bl.Function", LINEAR_HINTS["not_function"])
        problem = got.get("problem")
        if problem == "tensor_forward":
            return Mismatch("forward returned a Tensor, expected a NumPy array", LINEAR_HINTS["tensor_forward"])
        if problem == "input_mutated":
            names = " and ".join(got["names"])
            when = got.get("when", "forward")
            return Mismatch(f"after {when}, {names} no longer held its values",
                            LINEAR_HINTS["input_mutated"].format(names=names, when=when))
        if problem == "g_mutated":
            return Mismatch("after backward, the upstream gradient g no longer held its values", LINEAR_HINTS[problem])
        x, W, b, g = case["x"], case["W"], case["b"], case["g"]
        want_dtype = str(np.asarray(case["x"]).dtype)
        if got.get("y_dtype", want_dtype) != want_dtype:
            return Mismatch(f"forward returned {got['y_dtype']} for {want_dtype} inputs",
                            LINEAR_HINTS["dtype"].format(got=got["y_dtype"], want=want_dtype))
        m = hints.compare_values(got["y"], want["y"], where="forward output y")
        if m is not None:
            return Mismatch(m.message, LINEAR_HINTS["no_bias"] if _close(got["y"], x @ W) else LINEAR_HINTS["forward"])
        for name in ("dx", "dW", "db"):
            if got.get(name) is None:
                return Mismatch(f"{name} is None after backward", LINEAR_HINTS["none"].format(name=name[1:]))
        names = ("dx", "dW", "db")
        moved = [n for n in names if not (np.shape(got[n]) == np.shape(want[n]) and _close(got[n], want[n])) and any(
            o != n and np.shape(got[n]) == np.shape(want[o]) and _close(got[n], want[o]) for o in names)]
        if moved:      # a right gradient in another input's place: (db, dW, dx), (dW, dx, db), ...
            return Mismatch(f"{moved[0]}: received {hints.short_repr(got[moved[0]])}, the gradient of another input",
                            LINEAR_HINTS["order"])
        if case.get("dtype") == "float32":
            return hints.compare_values({k: got[k] for k in ("dx", "dW", "db")},
                                        {k: want[k] for k in ("dx", "dW", "db")}, rtol=1e-5, atol=1e-6)
        x2, W2 = x + 1.0, W - 1.0
        checks = [("dx", [(LINEAR_HINTS["class_state"], g @ W2.T), (LINEAR_HINTS["order"], x.T @ g)],
                   LINEAR_HINTS["dx"]),
                  ("dW", [(LINEAR_HINTS["class_state"], x2.T @ g), (LINEAR_HINTS["dW_T"], g.T @ x),
                          (LINEAR_HINTS["dW_over_N"].format(n=len(x)), x.T @ g / len(x))], LINEAR_HINTS["dW_T"]),
                  ("db", [(LINEAR_HINTS["db_mean"], g.mean(axis=0)), (LINEAR_HINTS["db_axis"], g.sum(axis=1)),
                          (LINEAR_HINTS["db_row"], g[0]), (LINEAR_HINTS["db_row"], g[-1])], "")]
        for name, suspects, fallback in checks:
            m = hints.compare_values(got[name], want[name], where=name, suspects=suspects)
            if m is not None:
                specific = _match(got[name], suspects)
                if specific:
                    return Mismatch(m.message, specific)
                if name == "dW" and np.shape(got[name]) == W.shape[::-1] and W.shape[0] != W.shape[1]:
                    return Mismatch(m.message, LINEAR_HINTS["dW_T"])
                if name == "db" and np.shape(got[name]) == (x.shape[0],) and x.shape[0] != b.shape[0]:
                    return Mismatch(m.message, LINEAR_HINTS["db_axis"])
                if m.hint in ("", hints.CLOSE, hints.TRANSPOSE) and fallback:   # (the generic transpose hint
                    return Mismatch(m.message, fallback)                           # is notebook 04's product)
                return m
        return None


# ----------------------------------------------------------------------------- 07.2 MSE forward and backward

MSE_HINTS = {
    "sum": ("You summed the squared errors: the MEAN squared error divides by n = {n}, the number of entries "
            "(every entry of pred, not just the rows). Your {what} is exactly {n} times too big."),
    "rows": ("You divided by {rows}, {axis}, only; pred has {n} entries, and the mean is over all of them."),
    "half": ("Your loss is half the mean of the squares: this exercise's L has no factor 1/2 (some texts put one "
             "there so that the 2 of the derivative cancels; here the 2 stays in the gradient)."),
    "rmse": ("Your loss is the square root of the mean of the squares (the RMSE): the mean squared error is the "
             "mean itself, with no root."),
    "n_twice": ("Your gradient is divided by n = {n} twice: the mean puts one 1/n in front of the whole sum, so "
                "each entry's derivative carries 1/n once."),
    "generic": ("Derive dL/dpred_i on paper first: one term of the mean depends on pred_i, and the chain rule goes "
                "through the square and through the 1/n of the mean."),
    "no_two": "The gradient is missing the factor 2 that the square contributes (d(u²)/du = 2u).",
    "sign": ("The gradient has the wrong sign: the loss grows when pred moves away from target, so its gradient "
             "points from target towards pred."),
    "grad_not_mean": "The gradient also lacks the 1/n of the mean (n = {n} entries).",
    "grad_no_n": ("Your loss is right, but your gradient is exactly n = {n} times too big: it lacks the 1/n of the "
                  "mean. Each entry's square enters the loss divided by n, and so does its derivative."),
    "no_square": "The loss must square each difference before averaging.",
    "loss_shape": "The loss is one number (a float), the mean over all entries, not an array.",
    "swapped": "You returned (gradient, loss); the order is (loss, gradient).",
    "zero_loss": ("Your loss is 0 although pred and target differ: compute it from them, and return it together "
                  "with the gradient."),
}


class MSEForwardBackward(Exercise):

    def cases(self, rng):
        fixed = [{"pred": np.array([[1.2, 1.6], [2.0, 2.8]]), "target": np.ones((2, 2))},   # section 2's y
                 {"pred": np.array([0.5, -1.0, 2.0]), "target": np.array([0.0, 1.0, 2.5])}]
        return fixed + [{"pred": rng.normal(size=s), "target": rng.normal(size=s)} for s in [(4, 3), (5,), (2, 6)]]

    def run(self, obj, case):
        out, changed, engine = _call_numpy_only(obj, {"pred": case["pred"], "target": case["target"]})
        if engine:
            return {"engine": "Tensor operations", "pred": case["pred"]}
        if changed:   # (with the inputs: a mistake, not an answer hard-coded for every case)
            return {"mutated": changed, "pred": case["pred"]}
        if isinstance(out, (tuple, list)) and len(out) == 2:
            loss, grad = out
            loss = float(loss) if _is_real(loss) else {"not_a_float": _kind(loss), "value": _as_number(loss)}
            grad = np.array(grad) if isinstance(grad, np.ndarray) else {"not_an_array": _kind(grad),
                                                                         "value": _array(grad)}
            return (loss, grad)
        return out

    def compare(self, got, want, case):
        bad = _mutation(got) or _tuple(got, ["loss", "dpred"])
        if bad:
            return bad
        d = case["pred"] - case["target"]
        n = d.size
        loss, grad = got
        if isinstance(loss, dict) and isinstance(grad, dict) and _close(grad.get("value"), want[0]) \
                and _close(loss.get("value"), want[1]):
            return Mismatch("the loss and the gradient are in each other's place", MSE_HINTS["swapped"])
        if isinstance(loss, dict):
            value = loss.get("value")
            if isinstance(value, float):
                return Mismatch(f"loss: expected a float, received {loss['not_a_float']}",
                                NOT_A_FLOAT.format(kind=loss["not_a_float"]))
            return Mismatch(f"loss: expected one number, received {loss['not_a_float']}", MSE_HINTS["loss_shape"])
        m = hints.compare_values(loss, want[0], where="loss")
        if m is not None:
            variants = [(MSE_HINTS["zero_loss"], 0.0),
                        (MSE_HINTS["sum"].format(n=n, what="loss"), float(np.sum(d ** 2))),
                        (MSE_HINTS["no_square"], float(np.mean(d))), (MSE_HINTS["no_square"], float(np.mean(-d))),
                        (MSE_HINTS["half"], float(np.mean(d ** 2)) / 2),
                        (MSE_HINTS["rmse"], float(np.sqrt(np.mean(d ** 2))))]
            for k, size in enumerate(d.shape if d.ndim == 2 else ()):
                variants.insert(1, (MSE_HINTS["rows"].format(n=n, rows=size, axis=_axis_name(d, k)),
                                    float(np.sum(d ** 2) / size)))
            return Mismatch(m.message, _match(loss, variants) or hints.plain_value_hint(m.hint, MSE_HINTS["generic"]))
        if isinstance(grad, dict):
            return Mismatch(f"dpred: expected a NumPy array, received {grad['not_an_array']}",
                            NOT_AN_ARRAY.format(kind=grad["not_an_array"]))
        m = hints.compare_values(grad, want[1], where="dpred")
        if m is None:
            return None
        variants = [(MSE_HINTS["grad_no_n"].format(n=n), 2 * d),
                    (MSE_HINTS["no_two"], d / n), (MSE_HINTS["sign"], -2 * d / n),
                    (MSE_HINTS["no_two"] + " " + MSE_HINTS["grad_not_mean"].format(n=n), d),
                    (MSE_HINTS["n_twice"].format(n=n), 2 * d / n ** 2)]
        for k, size in enumerate(d.shape if d.ndim == 2 else ()):
            variants.insert(1, (MSE_HINTS["rows"].format(n=n, rows=size, axis=_axis_name(d, k)), 2 * d / size))
        return Mismatch(m.message, _match(grad, variants) or hints.plain_value_hint(m.hint, MSE_HINTS["generic"]))


def _axis_name(d, k):
    """'the number of rows' (k = 0) or of columns (k = 1); when both are equal, either."""
    if d.shape[0] == d.shape[1]:
        return "the length of one axis (rows or columns)"
    return "the number of rows" if k == 0 else "the number of columns"


# ----------------------------------------------------------------------------- 07.3 stable cross-entropy

CE_HINTS = {
    "overflow": ("Your loss is {value} for logits as large as {big:g} in size: np.exp overflowed (it is inf in float64 "
                 "above about 709.78) or underflowed to 0 before a log. Shifting a row's logits by a constant changes "
                 "no probability: choose, for EACH ROW (rows differ in scale), the shift that keeps every exponent "
                 "at most 0, and take the log before exponentiating anything large."),
    "sum": "You summed the per-example losses; return their MEAN over the batch (N = {n} examples).",
    "per_example": ("Return one number, the mean over the batch; you returned one loss per example."),
    "unshifted_label": ("You shifted the logits inside the log-sum-exp but took the label's logit from the UNSHIFTED "
                        "logits (or the other way round): the shift cancels only when both parts get the same one."),
    "pick": ("Pick ONE logit per example, the one of its own label; indexing every row with the whole labels array "
             "picks every label for every row (an (N, N) array)."),
    "sign": "The loss is -log p[label] (positive); yours has the wrong sign.",
    "zero": ("Your loss is 0: cross-entropy is 0 only when the label gets probability 1. Compute it from the "
             "logits."),
    "whole_batch": ("You normalised over the whole batch: a sum of exponentials without an axis adds those of EVERY "
                    "example. Each example has its own softmax, normalised over its own row."),
    "softmax_prob": ("You returned the probability of the label (or its mean); the cross-entropy is MINUS the LOG "
                     "of it."),
    "column_shift": ("You shifted each COLUMN by its maximum (axis=0): that subtracts different constants from the "
                     "entries of one row, which changes that row's softmax. The shift that changes nothing is one "
                     "constant per ROW: a maximum over each example's own logits."),
    "all_entries": ("Your loss is exactly C = {c} times too small: you averaged over all N * C = {nc} entries (of a "
                    "one-hot product, say). The loss is the mean over the N = {n} examples, one term per example."),
    "clipped": ("Your loss is too small where a label's probability is tiny: it looks clipped (np.clip, or a small "
                "number added) before the log, so no example can cost more than -log of that small number. The "
                "true loss is large here, and finite: take the log without ever forming a probability that must be "
                "clipped or can round to 0."),
    "large_finite": ("Your loss is finite but wrong for logits as large as {big:g} in size. A clip of the logits (or "
                     "of the exponentials, or of a probability before the log) keeps the numbers finite by changing "
                     "the function: every logit above the clip counts as the clip. Shifting a row's logits by a "
                     "constant changes no probability: choose, for EACH ROW, the shift that keeps every exponent at "
                     "most 0, and take the log before exponentiating anything large."),
    "keepdims": ("A per-row maximum or sum over axis=1 has shape (N,), which does not line up with the (N, C) logits: "
                 "broadcasting aligns shapes from the RIGHT, so (N,) meets the C columns. Keep the reduced axis "
                 "(keepdims=True) so that each row is combined with its own number."),
}


class StableCrossEntropy(Exercise):

    def cases(self, rng):
        fixed = [{"logits": np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), "labels": np.array([0, 2])},
                 {"logits": np.array([[1000.0, 1001.0, 1002.0], [-3.0, 0.0, 3.0]]), "labels": np.array([1, 2])},
                 {"logits": np.array([[1e4, -1e4, 5e3, 0.0], [-1e4, -1e4 + 1, -1e4 + 3, -1e4 + 2]]),
                  "labels": np.array([2, 3])}]
        rand = []
        for n, c, scale in [(5, 4, 1.0), (3, 10, 3.0), (6, 3, 1e4), (4, 4, 2.0)]:   # (4, 4): N = C, where a
            rand.append({"logits": rng.normal(size=(n, c)) * scale,               # reduction without keepdims
                         "labels": rng.integers(0, c, size=n)})                    # broadcasts instead of failing
        return fixed + rand

    def error_hint(self, exc):
        if "could not be broadcast" in str(exc):
            return CE_HINTS["keepdims"]
        return super().error_hint(exc)

    def run(self, obj, case):
        with np.errstate(all="ignore"):  # the naive version overflows: the compare explains it, no warning spam
            out, changed, engine = _call_numpy_only(obj, {"logits": case["logits"]}, case["labels"].copy())
        if engine:
            return {"engine": "Tensor operations", "logits": case["logits"]}
        if changed:
            return {"mutated": changed, "logits": case["logits"]}
        if _is_real(out):
            return float(out)
        return {"not_a_float": _kind(out), "value": _as_number(out)}

    def describe(self, case):
        return f"logits = {hints.short_repr(case['logits'], 160)}, labels = {hints.short_repr(case['labels'])}"

    def compare(self, got, want, case):
        bad = _mutation(got)
        if bad:
            return bad
        z, labels = case["logits"], case["labels"]
        n = len(labels)
        if isinstance(got, dict):      # not a plain number: say so, after naming a wrong value if there is one
            value = got.get("value")
            wrong_value = hints.compare_values(value, want) if isinstance(value, float) else None
            if isinstance(value, float) and wrong_value is None:
                return Mismatch(f"expected a float, received {got['not_a_float']}",
                                NOT_A_FLOAT.format(kind=got["not_a_float"]))
            got = value
        arr = _array(got)
        if arr is not None and arr.shape == (n,) and n > 1:
            return Mismatch(f"expected one number, received {hints.short_repr(arr)}", CE_HINTS["per_example"])
        m = hints.compare_values(got, want, where="loss")
        if m is None:
            return None
        if arr is not None and arr.size == 1 and not np.isfinite(arr).all():
            return Mismatch(m.message, CE_HINTS["overflow"].format(value=float(arr.reshape(())),
                                                                   big=float(np.abs(z).max())))
        with np.errstate(all="ignore"):
            unshift = float((np.log(np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1))
                             - z[np.arange(n), labels]).mean())
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            picks = z[:, labels]
            lse = z.max(axis=1) + np.log(np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1))
            s_row, s_all = z - z.max(axis=1, keepdims=True), z - z.max()
            whole = [float((np.log(np.exp(s).sum()) - s[np.arange(n), labels]).mean()) for s in (s_row, s_all)]

            def ce_of_shifted(s):      # the right formula applied to logits shifted some other way
                return float((np.log(np.exp(s).sum(axis=1)) - s[np.arange(n), labels]).mean())

            by_column = ce_of_shifted(z - z.max(axis=0, keepdims=True))
            no_keepdims = ce_of_shifted(z - z.max(axis=1)) if z.shape[0] == z.shape[1] else None
        variants = [(CE_HINTS["zero"], 0.0), (CE_HINTS["sum"].format(n=n), float(want) * n),
                    (CE_HINTS["unshifted_label"], unshift),
                    (CE_HINTS["pick"], float((lse[:, None] - picks).mean())),
                    (CE_HINTS["sign"], -float(want)),
                    (CE_HINTS["softmax_prob"], float(p[np.arange(n), labels].mean())),
                    (CE_HINTS["whole_batch"], whole[0]), (CE_HINTS["whole_batch"], whole[1]),
                    (CE_HINTS["column_shift"], by_column),
                    (CE_HINTS["all_entries"].format(c=z.shape[1], nc=z.size, n=n), float(want) / z.shape[1])]
        if no_keepdims is not None:
            variants.append((CE_HINTS["keepdims"], no_keepdims))
        variants += [(CE_HINTS["clipped"], v) for v in clipped_losses(lse - z[np.arange(n), labels])]
        hint = _match(got, variants)
        if hint is None and np.abs(z).max() > EXP_OVERFLOW:
            hint = CE_HINTS["large_finite"].format(big=float(np.abs(z).max()))
        return Mismatch(m.message, hint or m.hint)


EXP_OVERFLOW = float(np.log(np.finfo(np.float64).max))    # np.exp(z) is inf above this, in float64
CLIPS = (1e-7, 1e-8, 1e-9, 1e-10, 1e-12, 1e-15, 1e-16, 1e-20, 1e-30, float(np.finfo(np.float64).eps),
         float(np.finfo(np.float32).eps), float(np.finfo(np.float64).tiny))


def clipped_losses(per_example):
    """The mean cross-entropy a learner gets by clipping each probability at c (or adding c) before the log."""
    per_example = np.asarray(per_example, dtype=np.float64)
    out = []
    with np.errstate(all="ignore"):
        for c in CLIPS:
            if np.any(per_example > -np.log(c)):       # only then does the clip change anything
                out.append(float(np.minimum(per_example, -np.log(c)).mean()))
                out.append(float(-np.log(np.exp(-per_example) + c).mean()))
    return out


# ----------------------------------------------------------------------------- 07.4 momentum

MOMENTUM_HINTS = {
    "sign": ("Your step goes UP the gradient: gradient descent moves the parameter against the velocity."),
    "no_momentum": ("Your velocity ignores the old velocity: without the momentum term this is plain SGD."),
    "old_v": ("You moved p with the OLD velocity. The velocity is updated first, and the new one moves p."),
    "dampened": ("Your velocity is an average of the old velocity and the gradient (that is Adam's first moment). "
                 "Heavy-ball momentum, as in bl.optim.SGD and PyTorch, adds the full gradient to the decayed "
                 "velocity."),
    "convention": ("You used the other convention, with the learning rate inside the velocity (v = momentum * v - "
                   "lr * grad, p = p + v, or the same with both signs flipped). This exercise, bl.optim.SGD and "
                   "PyTorch keep the learning rate outside the velocity: the velocity is made of gradients only."),
    "v_unused": ("Your new velocity is right, but p moved by the gradient alone (a plain SGD step): with momentum the "
                 "parameter moves along the velocity, which carries the past gradients."),
    "nesterov": ("That is Nesterov's variant, whose step looks ahead (gradient plus momentum times the new velocity). "
                 "This exercise is heavy-ball momentum as defined in section 6: the step is along the new velocity."),
    "lr_in_v": ("The learning rate is applied twice: once inside the velocity and once in the step. It belongs in "
                "the step only."),
    "order": "Return (p_new, v_new) in that order.",
    "generic": ("Compare your step with the definition in section 6, one term at a time: the new velocity first, "
                "then the parameter moved by the learning rate times the new velocity."),
}


class MomentumStep(Exercise):

    def cases(self, rng):
        fixed = [{"p": np.array([1.0, 2.0]), "grad": np.array([0.5, -1.0]), "v": np.array([0.1, 0.2]),
                  "lr": 0.05, "momentum": 0.9}]
        rand = [{"p": rng.normal(size=s), "grad": rng.normal(size=s), "v": rng.normal(size=s),
                 "lr": float(rng.choice([0.01, 0.05, 0.3])), "momentum": float(rng.choice([0.5, 0.8, 0.95]))}
                for s in [(3,), (2, 3), (4,)]]
        return fixed + rand + [_float32(rng, rand[1], ("p", "grad", "v"))]   # notebook 08's parameters are float32

    def run(self, obj, case):
        out, changed = call_watching(obj, {k: case[k] for k in ("p", "grad", "v")}, case["lr"], case["momentum"])
        return _step_output(out, changed, case)

    def compare(self, got, want, case):
        bad = _step_problem(got) or _tuple(got, ["p_new", "v_new"])
        if bad:
            return bad
        rtol, atol = (1e-5, 1e-6) if case.get("dtype") == "float32" else (self.rtol, self.atol)
        m = hints.compare_values(got, want, where="(p_new, v_new)", rtol=rtol, atol=atol)
        if m is None:
            return None
        if _all_zero(got):
            return Mismatch(m.message, STEP_ZEROS)
        p, g, v0, lr, mu = case["p"], case["grad"], case["v"], case["lr"], case["momentum"]
        v = mu * v0 + g
        variants = [(MOMENTUM_HINTS["order"], (v, p - lr * v)),
                    (MOMENTUM_HINTS["sign"], (p + lr * v, v)),
                    (MOMENTUM_HINTS["no_momentum"], (p - lr * g, g)),
                    (MOMENTUM_HINTS["old_v"], (p - lr * v0, v)),
                    (MOMENTUM_HINTS["dampened"], (p - lr * (mu * v0 + (1 - mu) * g), mu * v0 + (1 - mu) * g)),
                    (MOMENTUM_HINTS["convention"], (p + mu * v0 - lr * g, mu * v0 - lr * g)),
                    (MOMENTUM_HINTS["convention"], (p - mu * v0 - lr * g, mu * v0 + lr * g)),
                    (MOMENTUM_HINTS["v_unused"], (p - lr * g, v)),
                    (MOMENTUM_HINTS["nesterov"], (p - lr * (g + mu * v), v)),
                    (MOMENTUM_HINTS["lr_in_v"], (p - lr * (mu * v0 + lr * g), mu * v0 + lr * g))]
        return Mismatch(m.message, _match(got, variants) or hints.plain_value_hint(m.hint, MOMENTUM_HINTS["generic"]))


# ----------------------------------------------------------------------------- 07.5 Adam

ADAM_HINTS = {
    "no_correction": ("No bias correction: m and v start at 0, so early on they are far too small (after step 1, "
                      "m = (1 - beta1) g = 0.1 g). Algorithm 1 of Kingma & Ba divides each moment by one minus its "
                      "beta to the power t before the update."),
    "t_off": ("The bias correction uses the wrong step number: t counts the updates including this one (t = 1 on "
              "the first step); use the t you are given."),
    "eps_inside": "epsilon belongs OUTSIDE the square root: it is added to the root of v_hat, not to v_hat.",
    "eps_added": ("epsilon is added to the step (or the parameter) instead of the denominator: it belongs next to the "
                  "root of v_hat, where it keeps the division safe when v_hat is tiny."),
    "eps_hat": ("That is the paper's faster rearrangement (the bias corrections folded into the learning rate), "
                "whose epsilon sits next to sqrt(v) instead of sqrt(v_hat), so the step differs where v is tiny. "
                "This exercise, bl.optim.Adam and PyTorch use Algorithm 1 as section 6 writes it: epsilon added to "
                "the root of the corrected v_hat."),
    "no_sqrt": "The step divides by the square ROOT of v_hat, not by v_hat itself.",
    "v_not_squared": "The second moment averages the SQUARED gradient, not the gradient.",
    "betas_swapped": ("The weights of the moving averages are swapped: each new moment keeps MOST of the old one "
                      "(beta1 = 0.9 of m) and adds a little of the new gradient."),
    "sign": "Your step goes UP the gradient: Adam moves the parameter against m_hat.",
    "corrected_state": ("Return the raw moments m and v (the optimizer's state for the next step), not the "
                        "bias-corrected m_hat and v_hat: the correction is applied afresh at every step."),
    "order": "Return (p_new, m_new, v_new) in that order.",
    "only_m_corrected": ("Only m is bias-corrected: v starts at 0 as well, so it is just as biased towards 0 early "
                         "on, and the step divides by its root. Each moment gets its own correction."),
    "v_with_beta1": ("v is corrected with beta1: each moment is corrected with ITS OWN beta, the one its moving "
                     "average uses (beta2 for v)."),
    "power_outside": ("The bias correction divides by one minus beta to the power t, 1 - beta**t; yours divides "
                      "by (1 - beta)**t, the power of the difference."),
    "defaults": ("Your step is what the default hyperparameters give, but this case passes {given}: use the "
                 "arguments lr, beta1, beta2 and eps in the formula, not the numbers of their defaults."),
    "generic": ("Compare your step with Algorithm 1 in section 6, one line at a time: the two moments, their bias "
                "corrections with this step's t, then the parameter's update (check m_new and v_new first: they "
                "are returned, so the check tells which part differs)."),
}


class AdamStep(Exercise):
    rtol, atol = 1e-7, 1e-12

    def cases(self, rng):
        base = {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
        fixed = [dict(base, p=np.array([1.0, -2.0, 0.5]), grad=np.array([0.2, -0.5, 1.0]), m=np.zeros(3),
                      v=np.zeros(3), t=1),
                 dict(base, p=np.array([1.0, -2.0]), grad=np.array([0.3, 0.1]), m=np.array([0.05, -0.02]),
                      v=np.array([0.01, 0.004]), t=3),
                 dict(base, p=np.array([0.5, 0.5]), grad=np.array([3e-7, -5e-7]), m=np.zeros(2), v=np.zeros(2),
                      t=1, lr=0.01)]   # tiny gradients: where eps sits matters
        rand = []
        for s, t in [((4,), 2), ((2, 3), 10), ((3,), 50)]:
            rand.append({"p": rng.normal(size=s), "grad": rng.normal(size=s), "m": rng.normal(size=s) * 0.1,
                         "v": rng.uniform(0.001, 0.1, size=s), "t": t, "lr": float(rng.choice([0.001, 0.01, 0.1])),
                         "beta1": float(rng.choice([0.9, 0.8])), "beta2": float(rng.choice([0.999, 0.99])),
                         "eps": 1e-8})
        return fixed + rand + [_float32(rng, rand[1], ("p", "grad", "m", "v"))]   # notebook 08 trains in float32

    def run(self, obj, case):
        out, changed = call_watching(
            lambda p, grad, m, v: obj(p, grad, m, v, case["t"], lr=case["lr"], beta1=case["beta1"],
                                      beta2=case["beta2"], eps=case["eps"]),
            {k: case[k] for k in ("p", "grad", "m", "v")})
        return _step_output(out, changed, case)

    def compare(self, got, want, case):
        bad = _step_problem(got) or _tuple(got, ["p_new", "m_new", "v_new"])
        if bad:
            return bad
        rtol, atol = (1e-5, 1e-6) if case.get("dtype") == "float32" else (self.rtol, self.atol)
        m_ = hints.compare_values(got, want, where="(p_new, m_new, v_new)", rtol=rtol, atol=atol)
        if m_ is None:
            return None
        for i, name in ((1, "m_new"), (2, "v_new")):    # the state first: the step is built from it
            state = hints.compare_values(got[i], want[i], where=name, rtol=rtol, atol=atol)
            if state is not None:
                m_ = Mismatch(state.message, m_.hint)
                break
        if _all_zero(got):
            return Mismatch(m_.message, STEP_ZEROS)
        p, g, m0, v0, t = case["p"], case["grad"], case["m"], case["v"], case["t"]
        lr, b1, b2, eps = case["lr"], case["beta1"], case["beta2"], case["eps"]
        m = b1 * m0 + (1 - b1) * g
        v = b2 * v0 + (1 - b2) * g * g
        mh, vh = m / (1 - b1 ** t), v / (1 - b2 ** t)
        with np.errstate(all="ignore"):
            def step(m_hat, v_hat, root=np.sqrt):
                return p - lr * m_hat / (root(v_hat) + eps)

            variants = [(ADAM_HINTS["order"], (m, v, step(mh, vh))),
                        (ADAM_HINTS["no_correction"], (step(m, v), m, v)),
                        (ADAM_HINTS["t_off"], (step(m / (1 - b1 ** (t + 1)), v / (1 - b2 ** (t + 1))), m, v)),
                        (ADAM_HINTS["t_off"], (step(m / (1 - b1 ** (t - 1)), v / (1 - b2 ** (t - 1))), m, v)),
                        (ADAM_HINTS["eps_inside"], (p - lr * mh / np.sqrt(vh + eps), m, v)),
                        (ADAM_HINTS["eps_added"], (p - lr * mh / np.sqrt(vh) + eps, m, v)),
                        (ADAM_HINTS["eps_added"], (p - lr * mh / np.sqrt(vh) - eps, m, v)),
                        (ADAM_HINTS["eps_hat"], (p - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps),
                                                 m, v)),
                        (ADAM_HINTS["no_sqrt"], (step(mh, vh, root=lambda a: a), m, v)),
                        (ADAM_HINTS["sign"], (2 * p - step(mh, vh), m, v)),
                        (ADAM_HINTS["corrected_state"], (step(mh, vh), mh, vh)),
                        (ADAM_HINTS["only_m_corrected"], (step(mh, v), m, v)),
                        (ADAM_HINTS["v_with_beta1"], (step(mh, v / (1 - b1 ** t)), m, v))]
            vb = b2 * v0 + (1 - b2) * g
            vbh = vb / (1 - b2 ** t)
            variants.append((ADAM_HINTS["v_not_squared"], (step(mh, vbh), m, vb)))
            ms = b1 * g + (1 - b1) * m0
            vs = b2 * g * g + (1 - b2) * v0
            variants.append((ADAM_HINTS["betas_swapped"], (step(ms / (1 - b1 ** t), vs / (1 - b2 ** t)), ms, vs)))
            variants.append((ADAM_HINTS["power_outside"], (step(m / (1 - b1) ** t, v / (1 - b2) ** t), m, v)))
            defaults = {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
            for fixed in (("lr", "beta1", "beta2", "eps"), ("beta1", "beta2")):   # numbers written in for these
                given = [f"{k}={case[k]:g}" for k in fixed if case[k] != defaults[k]]
                if given:
                    hp = {k: defaults[k] if k in fixed else case[k] for k in defaults}
                    md = hp["beta1"] * m0 + (1 - hp["beta1"]) * g
                    vd = hp["beta2"] * v0 + (1 - hp["beta2"]) * g * g
                    pd = p - hp["lr"] * (md / (1 - hp["beta1"] ** t)) / (np.sqrt(vd / (1 - hp["beta2"] ** t))
                                                                         + hp["eps"])
                    variants.append((ADAM_HINTS["defaults"].format(given=", ".join(given)), (pd, md, vd)))
        hint = None
        for h, wrong in variants:
            if isinstance(got, (tuple, list)) and all(_close(a, b, rtol=1e-7, atol=1e-12) for a, b in zip(got, wrong)):
                hint = h
                break
        p_got = hints._to_array(got[0]) if isinstance(got, (tuple, list)) and got else None
        if hint is None and t == 1 and p_got is not None and p_got.dtype != object and not np.isfinite(p_got).all() \
                and _close(got[1], m) and _close(got[2], v):
            hint = ADAM_HINTS["t_off"]          # t - 1 = 0 on the first step: 1 - beta**0 = 0, a division by zero
        if hint is None and isinstance(got, (tuple, list)):
            # the moments right, the step wrong: name the part of the step that differs
            if _close(got[1], m) and _close(got[2], v):
                for h, wrong in variants:
                    if _close(got[0], wrong[0], rtol=1e-7, atol=1e-12):
                        hint = h
                        break
            elif not _close(got[2], v) and _close(got[2], vb):
                hint = ADAM_HINTS["v_not_squared"]
        return Mismatch(m_.message, hint or hints.plain_value_hint(m_.hint, ADAM_HINTS["generic"]))



# ----------------------------------------------------------------------------- 07.6 capstone: a whole backward pass

BACKWARD_ORDER = ("logits", "W2", "b2", "h", "z1", "W1", "b1", "X")   # from the loss back to the input
LABEL_KEYS = ("labels", "y", "onehot", "one_hot")    # keys under which a learner may hand in a labels "gradient"
INPUTS = ("X", "W1", "b1", "W2", "b2")

TWO_LAYER_HINTS = {
    "structure": ("Return a pair (loss, grads): the loss as a float and a dict with one gradient per tensor, under "
                  "the keys " + ", ".join(f'"{k}"' for k in BACKWARD_ORDER) + "."),
    "labels": ("grads holds a gradient for the labels (\"{key}\"). The labels are integer class ids: they pick which "
               "log-probability each example pays, and no small change of a class id exists, so there is no "
               "gradient to give (the engine's cross_entropy returns none for them). Return the gradients of the "
               "tensors of the forward pass only."),
    "missing": ("grads has no {keys}: it must hold the gradient of EVERY tensor of the forward pass, the "
                "intermediate ones (logits, h, z1) included, under exactly these names."),
    "engine": ("Your function used the engine to compute gradients. This exercise is the backward pass by hand, in "
               "NumPy: the engine is what your answer is checked against, so the check runs without it."),
    "nan_loss": ("Your loss is {value} although the logits of this batch are moderate (largest {big:.3g}): a log of "
                 "0 or of a negative number. A classic cause: the gradient of the logits was made from the "
                 "softmax probabilities IN PLACE (subtracting 1 at the labels), and the loss was computed from "
                 "the same, now changed, array afterwards."),
    "overflow": ("Your loss is {value} for logits as large as {big:.3g}: np.exp overflowed. Compute the "
                 "cross-entropy the stable way of exercise 07.3 (a per-row shift that keeps every exponent at most "
                 "0)."),
    "loss_sum": ("Your loss is exactly N = {n} times too big: the loss is the MEAN over the batch's examples, not "
                 "their sum."),
    "loss_sign": "The loss is -log p[label], a positive number; yours has the wrong sign.",
    "logits_no_mean": ("d logits is exactly N = {n} times too big: the loss is the MEAN over the batch, so each "
                       "example's gradient carries a factor 1/N."),
    "logits_entries": ("d logits is divided by the number of ENTRIES of the logits (N * C = {nc}); the mean of the "
                       "loss is over the N = {n} examples only (that is the MSE's n, not the cross-entropy's)."),
    "logits_no_onehot": ("d logits is the softmax alone: the label's own logit also appears in the loss, with a "
                         "minus sign, so its entry gets 1 taken off (softmax minus one-hot)."),
    "logits_sign": ("d logits has the wrong sign: raising a wrong class's logit raises the loss, so its gradient is "
                    "positive; the label's is negative."),
    "logits_probs": ("d logits is the gradient with respect to the PROBABILITIES (-1/p at the label). The logits "
                     "reach the loss through the softmax too; differentiate -log softmax(z)[y] with respect to z."),
    "logits_batch_softmax": ("Your softmax was normalised over the whole batch: each example's probabilities are "
                             "normalised over its own row only."),
    "W2_T": ("dW2 must have W2's shape (H, C) = {shape}; yours is its transpose. A weight's gradient pairs the "
             "layer's INPUT, transposed, with the gradient of its output: which side does each go on?"),
    "W2_z1": ("dW2 was built from z1, the input of the tanh. W2 multiplies h, the tanh's OUTPUT, so h is what "
              "its gradient pairs with d logits."),
    "W2_twice": ("dW2 is N = {n} times too small: the 1/N of the mean is already inside d logits; dividing again "
                 "counts it twice."),
    "b_rows": ("d{name} has one row per example: {name} was added to EVERY row of the batch (broadcast), so its "
               "gradient is the SUM of the rows' gradients."),
    "b_mean": ("d{name} is the MEAN of the rows' gradients; the bias was copied to every row, so it gets their SUM "
               "(the 1/N of the loss is already inside the upstream gradient)."),
    "b_axis": ("d{name} has one entry per example: you added up over the wrong axis. The bias has one entry per "
               "unit and was copied along the batch axis, the axis to add up."),
    "h_from_z1": ("d h already includes the tanh's derivative: that is the gradient of z1. The gradient of h is the "
                  "upstream gradient times W2 transposed, nothing more."),
    "z1_from_z1": ("d z1 uses 1 - z1**2, the derivative written in the tanh's INPUT. tanh's derivative is "
                   "1 - tanh(z1)**2: a function of its OUTPUT h, which the forward pass has already computed."),
    "z1_no_square": "d z1 uses 1 - h: tanh's derivative is 1 - tanh(z1)**2, with a square.",
    "z1_sigmoid": "d z1 uses h * (1 - h), the SIGMOID's derivative. tanh's derivative is 1 - tanh(z1)**2.",
    "z1_square_outside": ("d z1 uses (1 - h)**2: the square belongs to h alone. tanh's derivative is one minus the "
                          "square of tanh, 1 - tanh(z1)**2."),
    "z1_tanh_twice": ("d z1 applies tanh to h again: h already IS tanh(z1). Written through the output, tanh's "
                      "derivative uses h itself, not tanh(h)."),
    "z1_local_only": ("d z1 is the tanh's local derivative alone: the chain rule multiplies it by the upstream "
                      "gradient, d h, entry by entry."),
    "z1_skipped": ("d z1 equals d h: the tanh's derivative is missing. Going back through h = tanh(z1) multiplies "
                   "the gradient by the tanh's derivative, entry by entry."),
    "W1_T": ("dW1 must have W1's shape (D, H) = {shape}; yours is its transpose. Of X (N, D) and d z1 (N, H), which "
             "one goes first in the product, and transposed how?"),
    "after_dh": ("d{name} was built from d h, the gradient BEFORE the tanh. The first layer's gradients start from "
                 "d z1, the gradient after going back through the tanh."),
    "zeros": ("d{name} is all zeros: it was never computed from its upstream gradient (or was overwritten). Each "
              "gradient is the upstream gradient carried back through one local rule."),
    "shape": ("d{name} has shape {got}, but {name} has shape {want}: a gradient has exactly the shape of its tensor. "
              "Work out each product's shape from its factors (dimensional analysis, notebook 04)."),
    "transpose_shape": ("d{name} has shape {got}, the transpose of {name}'s shape {want}: a transpose is missing or "
                        "extra in its product. A gradient has exactly the shape of its tensor."),
    "matmul_error": ("Two arrays in a matrix product do not fit: a transpose is missing or extra. Each gradient has "
                     "its tensor's shape; write the shapes of both factors next to the product."),
    "mutated": ("Your function changed its argument {names} in place (an in-place operation like `-=` or `*=` on an "
                "argument, or on an array that shares its memory). Leave the arguments as they were: the caller "
                "still holds them, and the same weights are used again for the next batch."),
}


def _two_layer_forward(case):
    """z1, h, logits and the softmax of the case's batch (float64), to build the known-wrong answers from."""
    z1 = case["X"] @ case["W1"] + case["b1"]
    h = np.tanh(z1)
    logits = h @ case["W2"] + case["b2"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    return z1, h, logits, p


class TwoLayerBackward(Exercise):
    """Checks a hand-written backward pass tensor by tensor against the engine, in backward order."""

    @staticmethod
    def _case(rng, n, d, h, c, scale=1.0):
        return {"X": rng.normal(size=(n, d)).round(2), "labels": rng.integers(0, c, size=n),
                "W1": rng.normal(size=(d, h)).round(2), "b1": rng.normal(size=h).round(2),
                "W2": (rng.normal(size=(h, c)) * scale).round(2), "b2": rng.normal(size=c).round(2)}

    def cases(self, rng):
        # every size different (N, D, H, C), so that a missing transpose or a sum over the wrong axis cannot fit
        fixed = [{"X": np.array([[0.5, -1.0, 0.3], [1.2, 0.4, -0.7], [-0.3, 0.8, 1.1], [0.9, -0.2, 0.0]]),
                  "labels": np.array([1, 0, 1, 1]),
                  "W1": np.array([[0.2, -0.5, 0.1, 0.7, -0.3], [0.4, 0.3, -0.6, 0.2, 0.5],
                                  [-0.1, 0.6, 0.3, -0.4, 0.2]]),
                  "b1": np.array([0.1, -0.2, 0.0, 0.3, -0.1]),
                  "W2": np.array([[0.5, -0.4], [-0.3, 0.8], [0.6, 0.1], [-0.2, -0.5], [0.4, 0.3]]),
                  "b2": np.array([0.05, -0.05])}]
        rand = [self._case(rng, 7, 2, 3, 4), self._case(rng, 1, 3, 4, 2),          # one example: N = 1
                self._case(rng, 5, 4, 6, 3, scale=400.0),                          # logits in the thousands
                self._case(rng, 6, 5, 2, 3)]
        return fixed + rand

    def describe(self, case):
        n, d = case["X"].shape
        h, c = case["W2"].shape
        big = float(np.abs(_two_layer_forward(case)[2]).max())
        return (f"a batch of N = {n} examples, D = {d} inputs, H = {h} hidden units, C = {c} classes; labels "
                f"{hints.short_repr(case['labels'])}; largest |logit| {big:.3g}")

    def run(self, obj, case):
        from ..autograd import no_grad

        with no_grad(), np.errstate(all="ignore"):    # by hand: no graph is recorded, so the engine cannot help
            copies = {k: np.array(case[k], dtype=np.float64) for k in INPUTS}
            out = obj(copies["X"], case["labels"].copy(), copies["W1"], copies["b1"], copies["W2"], copies["b2"])
        changed = [k for k in INPUTS if not np.array_equal(copies[k], case[k], equal_nan=True)]
        if changed:
            return {"mutated": changed, "X": case["X"]}
        if not (isinstance(out, (tuple, list)) and len(out) == 2 and isinstance(out[1], dict)):
            return {"structure": _kind(out) if not isinstance(out, (tuple, list)) else
                    f"a {type(out).__name__} of {len(out)} items"}
        loss, grads = out
        result = {"loss": float(loss) if _is_real(loss) else {"not_a_float": _kind(loss), "value": _as_number(loss)},
                  "grads": {}, "labels_grad": next((k for k in LABEL_KEYS if k in grads), None)}
        for k in BACKWARD_ORDER:
            if k not in grads:
                continue
            g = grads[k]
            result["grads"][k] = np.array(g, dtype=np.float64) if isinstance(g, np.ndarray) else \
                {"not_an_array": _kind(g), "value": _array(g)}
        return result

    def expected(self, case):
        """The engine's gradients, tensor by tensor: each stage run backward from the right upstream gradient."""
        from .. import nn
        from ..tensor import Tensor

        def leaf(a):
            return Tensor(np.array(a, dtype=np.float64), requires_grad=True)

        z1, h, logits, _ = _two_layer_forward(case)
        lg = leaf(logits)
        loss = nn.cross_entropy(lg, case["labels"])
        loss.backward()
        grads = {"logits": lg.grad}
        ht, W2, b2 = leaf(h), leaf(case["W2"]), leaf(case["b2"])
        (ht @ W2 + b2).backward(grads["logits"])
        grads.update(h=ht.grad, W2=W2.grad, b2=b2.grad)
        z1t = leaf(z1)
        z1t.tanh().backward(grads["h"])
        grads["z1"] = z1t.grad
        Xt, W1, b1 = leaf(case["X"]), leaf(case["W1"]), leaf(case["b1"])
        (Xt @ W1 + b1).backward(grads["z1"])
        grads.update(W1=W1.grad, b1=b1.grad, X=Xt.grad)
        return {"loss": loss.item(), "grads": {k: grads[k] for k in BACKWARD_ORDER}}

    def error_hint(self, exc):
        text = str(exc)
        if "does not require a gradient" in text or "no_grad" in text:
            return TWO_LAYER_HINTS["engine"]
        if "matmul" in text and ("mismatch" in text or "differ" in text) or "not aligned" in text:
            return TWO_LAYER_HINTS["matmul_error"]
        return super().error_hint(exc)

    def _suspects(self, name, case, want):
        """Known-wrong answers for the gradient ``name``, each built on the RIGHT upstream gradients."""
        X, W1, W2, labels = case["X"], case["W1"], case["W2"], case["labels"]
        n, c = len(labels), W2.shape[1]
        z1, h, logits, p = _two_layer_forward(case)
        onehot = np.eye(c)[labels]
        g = want["grads"]
        H = TWO_LAYER_HINTS
        if name == "logits":
            whole = np.exp(logits - logits.max())
            whole /= whole.sum()
            with np.errstate(divide="ignore"):      # a probability that underflowed to 0: -inf, a variant like any
                dlogp = -onehot / np.where(onehot > 0, p, 1.0) / n
            return [(H["logits_no_mean"].format(n=n), p - onehot), (H["logits_entries"].format(n=n, nc=n * c),
                                                                   (p - onehot) / (n * c)),
                    (H["logits_no_onehot"], p / n), (H["logits_sign"], (onehot - p) / n),
                    (H["logits_probs"], dlogp),
                    (H["logits_batch_softmax"], (whole - onehot) / n)]
        if name == "W2":
            return [(H["W2_z1"], z1.T @ g["logits"]), (H["W2_twice"].format(n=n), h.T @ g["logits"] / n)]
        if name in ("b2", "b1"):
            up = g["logits"] if name == "b2" else g["z1"]
            wrong = [(H["b_mean"].format(name=name), up.mean(axis=0))]
            if name == "b1":
                wrong.append((H["after_dh"].format(name=name), g["h"].sum(axis=0)))
            return wrong
        if name == "h":
            return [(H["h_from_z1"], g["z1"])]
        if name == "z1":
            dh = g["h"]
            return [(H["z1_from_z1"], dh * (1 - z1 ** 2)), (H["z1_no_square"], dh * (1 - h)),
                    (H["z1_sigmoid"], dh * h * (1 - h)), (H["z1_tanh_twice"], dh * (1 - np.tanh(h) ** 2)),
                    (H["z1_square_outside"], dh * (1 - h) ** 2),
                    (H["z1_local_only"], 1 - h ** 2), (H["z1_skipped"], dh)]
        if name == "W1":
            return [(H["after_dh"].format(name=name), X.T @ g["h"])]
        if name == "X":
            return [(H["after_dh"].format(name=name), g["h"] @ W1.T)]
        return []

    def _shape_hint(self, name, got_shape, want_shape, n):
        if len(got_shape) == 2 and got_shape == tuple(reversed(want_shape)):
            if name == "W2":
                return TWO_LAYER_HINTS["W2_T"].format(shape=want_shape)
            if name == "W1":
                return TWO_LAYER_HINTS["W1_T"].format(shape=want_shape)
            return TWO_LAYER_HINTS["transpose_shape"].format(name=name, got=got_shape, want=want_shape)
        if name in ("b1", "b2"):
            if len(got_shape) == 2 and got_shape[0] == n and got_shape[1:] == want_shape:
                return TWO_LAYER_HINTS["b_rows"].format(name=name)
            if got_shape == (n,) and want_shape != (n,):
                return TWO_LAYER_HINTS["b_axis"].format(name=name)
        return TWO_LAYER_HINTS["shape"].format(name=name, got=got_shape, want=want_shape)

    def compare(self, got, want, case):
        H = TWO_LAYER_HINTS
        if got.get("mutated"):
            names = " and ".join(got["mutated"])
            return Mismatch(f"after the call, {names} no longer held the values it was given",
                            H["mutated"].format(names=names))
        if "structure" in got:
            return Mismatch(f"expected (loss, grads) with grads a dict, received {got['structure']}", H["structure"])
        n = len(case["labels"])
        big = float(np.abs(_two_layer_forward(case)[2]).max())
        loss = got["loss"]
        if isinstance(loss, dict):
            value = loss.get("value")
            if not isinstance(value, float) or hints.compare_values(value, want["loss"]) is None:
                return Mismatch(f"loss: expected a float, received {loss['not_a_float']}",
                                NOT_A_FLOAT.format(kind=loss["not_a_float"]))
            loss = value
        m = hints.compare_values(loss, want["loss"], where="loss")
        if m is not None:
            if not np.isfinite(loss):
                hint = H["overflow" if big > 700 else "nan_loss"].format(value=loss, big=big)
            else:
                z, labels = _two_layer_forward(case)[2], case["labels"]
                top = z.max(axis=1)
                per_example = top + np.log(np.exp(z - top[:, None]).sum(axis=1)) - z[np.arange(n), labels]
                hint = _match(loss, [(H["loss_sum"].format(n=n), want["loss"] * n),
                                     (H["loss_sign"], -want["loss"])]
                              + [(CE_HINTS["clipped"], v) for v in clipped_losses(per_example)]) or m.hint
            return Mismatch(m.message, hint)
        missing = [k for k in BACKWARD_ORDER if k not in got["grads"]]
        if missing:
            return Mismatch(f"grads lacks the keys {missing}",
                            H["missing"].format(keys=", ".join(f'"{k}"' for k in missing)))
        if got.get("labels_grad"):
            key = got["labels_grad"]
            return Mismatch(f"grads has a key {key!r}", H["labels"].format(key=key))
        right = ["loss"]
        for name in BACKWARD_ORDER:
            mine, expected = got["grads"][name], want["grads"][name]
            where = f"dL/d{name}"
            so_far = f" (right so far: {', '.join(right)})"
            if isinstance(mine, dict):
                return Mismatch(f"{where}: expected a NumPy array, received {mine['not_an_array']}{so_far}",
                                NOT_AN_ARRAY.format(kind=mine["not_an_array"]))
            if mine.shape != expected.shape:
                return Mismatch(f"{where} has shape {mine.shape}, but {name} has shape {expected.shape}{so_far}",
                                self._shape_hint(name, mine.shape, expected.shape, n))
            m = hints.compare_values(mine, expected, where=where)
            if m is not None:
                hint = _match(mine, self._suspects(name, case, want))
                if hint is None and not np.any(mine) and np.any(expected):
                    hint = H["zeros"].format(name=name)
                if hint is None and name in ("W1", "W2") and expected.shape[0] == expected.shape[1] \
                        and _close(mine, expected.T):
                    hint = H[f"{name}_T"].format(shape=expected.shape)
                return Mismatch(m.message + so_far, hint or m.hint)
            right.append(f"d{name}")
        return None
