"""Checks for notebook 09, the debugging lab: each exercise is one part of the lab, handed in fixed.

The lab's original (buggy) code lives in the notebook only, once; the right answers come from the
notebook's solution regions (``backprop_lab.references.nb09``). Every check tests what the fixed part
*does*, on small cases built to break code of its kind, never what its source looks like:

* 09.1 ``LabBackward``: the lab's backward pass, on engine graphs with a long chain, a value used twice,
  broadcasting, a size-1 axis, a gradient already present, two operations sharing one gradient array, two
  passes over one graph's leaves, float32; the engine's own ``Tensor.backward`` is switched off while it runs;
* 09.2 ``LabOps``: the lab's three Functions, on float64 and float32 inputs, large logits, rows of very
  different scales, a batch of one; inputs, and what forward saved (a second backward pass must give the same
  gradients), must be left as they were;
* 09.3 ``InitWeights``: the scale of the weights for each activation, measured, and the generator used (the
  same seed gives the same weights, and two draws from one generator differ);
* 09.4 ``LabTrain``: the lab's loop, run on a small network with the course's backward pass and
  operations (counted: the loop must use the ones it is given); parameters after one step, after several, and
  after steps that begin with gradients already held; the losses and their type.

A failed case says what went wrong on which input, and the principle behind it, not the fixed code.
"""
from __future__ import annotations

import importlib
import re
import sys

import numpy as np

from . import hints
from .framework import Exercise, Mismatch
from .nb07 import CE_HINTS, clipped_losses
from .nb08 import TrainingLoopCheck, _count


def _reference():
    return importlib.import_module("backprop_lab.references.nb09")


def _plain(a):
    return None if a is None else np.array(getattr(a, "data", a))


def _ratio(got, want):
    """got / want when got is a constant multiple of want (on the non-zero entries), else None."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return None
    nz = np.abs(want) > 1e-12 * (np.abs(want).max() or 1.0)
    if nz.sum() < 2 or not np.all(np.isfinite(got)):
        return None
    r = float(np.median(got[nz] / want[nz]))
    return r if np.allclose(got, r * want, rtol=1e-6, atol=1e-12) else None


# ----------------------------------------------------------------------------- 09.1 the backward pass

class EngineBackwardOff(RuntimeError):
    """Raised when the learner's backward pass calls the engine's own: the exercise is the lab's."""


def _graph_product(t):
    return (t["x"] * t["w"]).sum()


def _graph_layer(t):
    return ((t["x"] @ t["W"] + t["b"]).tanh() * t["R"]).sum()


def _graph_outer(t):
    return (t["a"] * t["c"] * t["R"]).sum()


def _graph_square(t):
    return (t["x"] * t["x"] * t["r"]).sum()


def _graph_diamond(t):
    u = t["a"].tanh()
    return (u + (u * t["w"]).tanh()).sum()


def _graph_diamond_mirrored(t):
    u = t["a"].tanh()
    return ((u * t["w"]).tanh() + u + t["k"]).sum()


def _graph_shared_first(t):
    return ((t["a"] + t["b"]) * 2.0).sum() + ((t["a"] * t["c"]).tanh() * 3.0).sum()


def _graph_shared_last(t):
    return ((t["a"] * t["c"]).tanh() * 3.0).sum() + ((t["a"] + t["b"]) * 2.0).sum()


def _graph_pair(t):
    return ((t["a"] + t["b"]) * t["R"]).sum()


def _graph_chain(t, depth):
    h = t["x"]
    for _ in range(depth):
        h = h + 0.001
    return (h * h).sum()


# name: (builder, description, {input: (shape, requires_grad)}, what the case is built to expose)
GRAPHS = {
    "product": (_graph_product, "(x * w).sum()", {"x": ((3,), True), "w": ((3,), True)}, "basic"),
    "layer": (_graph_layer, "((x @ W + b).tanh() * R).sum()  (b is added to every row of x @ W)",
              {"x": ((4, 3), True), "W": ((3, 2), True), "b": ((2,), True), "R": ((4, 2), False)}, "broadcast"),
    "outer": (_graph_outer, "(a * c * R).sum() with a of shape (4, 1) and c of shape (1, 3)",
              {"a": ((4, 1), True), "c": ((1, 3), True), "R": ((4, 3), False)}, "broadcast"),
    "square": (_graph_square, "(x * x * r).sum()  (x is both inputs of one multiplication)",
               {"x": ((3,), True), "r": ((3,), False)}, "sharing"),
    "diamond": (_graph_diamond, "u = a.tanh(); (u + (u * w).tanh()).sum()  (u is used by two operations)",
                {"a": ((2, 3), True), "w": ((2, 3), True)}, "order"),
    "diamond-mirrored": (_graph_diamond_mirrored, "u = a.tanh(); ((u * w).tanh() + u + k).sum()  (the same diamond, "
                         "its two paths in the other order; k is a constant: requires_grad=False)",
                         {"a": ((2, 3), True), "w": ((2, 3), True), "k": ((2, 3), False)}, "order"),
    "preset": (_graph_square, "(x * x * r).sum(), where x.grad already holds a gradient from an earlier pass",
               {"x": ((3,), True), "r": ((3,), False)}, "preset"),
    "shared-first": (_graph_shared_first, "((a + b) * 2).sum() + ((a * c).tanh() * 3).sum()",
                     {"a": ((2, 3), True), "b": ((2, 3), True), "c": ((2, 3), True)}, "alias"),
    "shared-last": (_graph_shared_last, "((a * c).tanh() * 3).sum() + ((a + b) * 2).sum()",
                    {"a": ((2, 3), True), "b": ((2, 3), True), "c": ((2, 3), True)}, "alias"),
    "twice": (_graph_pair, "((a + b) * R).sum(), built and backpropagated twice (the second pass adds to the first)",
              {"a": ((2, 3), True), "b": ((2, 3), True), "R": ((2, 3), False)}, "twice"),
    "float32": (_graph_layer, "((x @ W + b).tanh() * R).sum() in float32",
                {"x": ((5, 4), True), "W": ((4, 3), True), "b": ((3,), True), "R": ((5, 3), False)}, "dtype"),
    "chain": (None, "a chain of {depth} additions, x -> x + 0.001 -> (x + 0.001) + 0.001 -> ..., then (h * h).sum()",
              {"x": ((2,), True)}, "depth"),
}
CHAIN_DEPTH = 10_000

ANY_DEPTH = ("A backward pass must handle graphs of any depth: keep the nodes still to visit in a data structure "
             "of your own instead of on Python's call stack.")


def _stack_depth():
    frame, depth = sys._getframe(1), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


BACKWARD_HINTS = {
    "engine": ("The exercise is the lab's own backward pass: fix it rather than hand the work to the engine's "
               "{name} (it is switched off while the check runs). Library helpers such as bl.autograd.topo_sort "
               "and bl.unbroadcast are fine."),
    "recursion": ("RecursionError on a chain of {depth} operations: a function that calls itself once per node "
                  "along the longest path needs one Python frame per node, and Python allows "
                  "sys.getrecursionlimit() nested calls. " + ANY_DEPTH),
    "raised_limit": ("Your backward raised Python's recursion limit (sys.setrecursionlimit): that moves the wall "
                     "instead of removing it. A deeper graph needs a higher limit again, and past what the C stack "
                     "holds the kernel crashes instead of raising an error. " + ANY_DEPTH),
    "none": ("{leaf}.grad is still None after your backward(loss): no gradient reached it, though the loss depends on "
             "{leaf}. Every gradient a rule returns belongs to the matching input."),
    "shape": ("{leaf}.grad has shape {got}, but {leaf} has shape {want}: {leaf} was broadcast in the forward pass "
              "(copied along {axes}), so each copy received a share of the gradient, and {leaf}'s gradient is the "
              "sum of its copies' shares. A rule returns the gradient of what it saw (the copies); bringing it back "
              "to the input's shape is the backward pass's job, done once for every rule."),
    "bad_shape": "{leaf}.grad has shape {got}, but {leaf} has shape {want}: a gradient has the shape of its value.",
    "dtype": ("{leaf}.grad has dtype {got}, but {leaf} is {want}: a gradient has its value's dtype. A backward pass "
              "starts from d(loss)/d(loss) = 1: of the loss's dtype, or float64 creeps into every gradient."),
    "sharing": ("{leaf} is used more than once in this graph ({how}): by the multivariate chain rule its gradient "
                "is the sum of one share per use, and your backward pass kept {part}."),
    "preset": ("{leaf}.grad held {preset} before this backward pass (from an earlier one). Like loss.backward(), "
               "the backward pass must add the new gradient to what .grad holds, not replace it: expected the sum "
               "{want}, received {got}."),
    "order": ("u is used by two operations at different distances from the loss: its gradient is the sum of both "
              "operations' shares, complete only once both have handed theirs over, and only then may u's own rule "
              "pass it on. Both matter: every share must be added, and the nodes must be visited in reverse "
              "topological order, each exactly once."),
    "alias": ("b's gradient is wrong, though b is used only once: Add hands the very same array to both of its "
              "inputs, so a.grad and b.grad started as one array, and adding a's other share into it in place "
              "changed b's too. An array you hand over or store may be shared: never modify it in place."),
    "twice": ("After two backward passes a.grad and b.grad are wrong, though each pass alone is right: after your "
              "first pass a.grad and b.grad were one and the same array (Add hands its upstream gradient to both "
              "inputs), so adding the second pass's gradient into one of them in place changed the other too. "
              "What a leaf's .grad holds must be an array of its own."),
    "two_passes": ("After two backward passes {leaf}.grad is wrong, though each pass alone is right: like "
                   "loss.backward(), a pass adds its gradient to what .grad holds, so after two passes .grad holds "
                   "the sum of both."),
    "number": ("A gradient here is a plain Python number, not an array: every gradient the backward pass hands "
               "around is an array with the shape and dtype of its value, the first one, d(loss)/d(loss) = 1, "
               "included."),
    "read_only": ("A gradient array turned out to be read-only: rules may return views (a broadcast of the upstream "
                  "gradient) or hand one array to several inputs, and the backward pass must never modify such an "
                  "array in place. Store sums as new arrays."),
    "basic": "The gradients of this small graph are wrong: compare your pass, step by step, with section 1.1's tools.",
    "constant": ("{leaf} does not require a gradient (requires_grad=False), yet your backward pass wrote a .grad into "
                 "it: like loss.backward(), a backward pass skips the inputs that need no gradient (the batch of "
                 "images, say), rather than computing and storing a gradient nobody asked for."),
    "engine_off": "the engine's backward pass is switched off in this check; see the message above.",
}


def _build(case, dtype):
    from ..tensor import Tensor

    builder, _, spec, _ = GRAPHS[case["graph"]]
    leaves = {k: Tensor(np.array(case["inputs"][k], dtype=dtype), requires_grad=rg, label=k)
              for k, (_, rg) in spec.items()}
    if case["graph"] == "chain":
        loss = _graph_chain(leaves, case["depth"])
    else:
        loss = builder(leaves)
    for k, value in (case.get("preset") or {}).items():
        leaves[k].grad = np.array(value, dtype=dtype)
    return loss, leaves


class LabBackward(Exercise):
    # bl.autograd.topo_sort and bl.unbroadcast are library functions a fixed backward pass may well use
    allowed_references = ("backprop_lab.autograd.topo_sort", "backprop_lab.unbroadcast",
                          "backprop_lab.tensor.unbroadcast")
    rtol, atol = 1e-7, 1e-10

    def cases(self, rng):
        def inputs(name, fixed=None):
            spec = GRAPHS[name][2]
            return {k: (fixed or {}).get(k, np.round(rng.normal(size=shape), 3)) for k, (shape, _) in spec.items()}

        cases = [{"graph": "product", "inputs": {"x": np.array([1.0, -2.0, 0.5]), "w": np.array([3.0, 0.5, -1.0])}}]
        for name in ("layer", "outer", "square", "diamond", "diamond-mirrored"):
            cases.append({"graph": name, "inputs": inputs(name)})
        cases.append({"graph": "preset", "inputs": {"x": np.array([2.0, -1.0, 0.5]), "r": np.array([1.0, 2.0, -3.0])},
                      "preset": {"x": np.array([10.0, 20.0, 30.0])}})
        for name in ("shared-first", "shared-last"):
            cases.append({"graph": name, "inputs": inputs(name)})
        cases.append({"graph": "twice", "inputs": inputs("twice"), "passes": 2})
        cases.append({"graph": "float32", "inputs": inputs("float32"), "dtype": "float32"})
        cases.append({"graph": "chain", "inputs": {"x": np.array([0.5, -1.0])}, "depth": CHAIN_DEPTH})
        cases.append({"graph": "layer", "inputs": inputs("layer")})
        return cases

    def run(self, obj, case):
        from ..tensor import Tensor

        loss, leaves = _build(case, np.dtype(case.get("dtype", "float64")))
        saved = Tensor.backward, Tensor._backward

        def off(name):
            def refuse(self, *args, **kwargs):
                raise EngineBackwardOff(BACKWARD_HINTS["engine"].format(name=name))
            return refuse

        limit, ours = sys.getrecursionlimit(), None
        if case.get("depth"):   # the deep chain runs with Python's usual room (1000 frames), whatever the kernel's
            ours = _stack_depth() + 1000
            sys.setrecursionlimit(ours)
        Tensor.backward, Tensor._backward = off("loss.backward()"), off("node._backward()")
        too_deep = False
        try:
            obj(loss)
            for _ in range(case.get("passes", 1) - 1):     # the same leaves, a new graph, another pass
                obj(GRAPHS[case["graph"]][0](leaves))
        except RecursionError:
            too_deep = True
        finally:
            Tensor.backward, Tensor._backward = saved
            raised = ours is not None and sys.getrecursionlimit() != ours
            sys.setrecursionlimit(limit)
        if raised:
            return {"raised_limit": True}
        if too_deep:
            return {"recursion_error": True}
        spec = GRAPHS[case["graph"]][2]
        return {"grads": {k: _plain(leaves[k].grad) for k, (_, rg) in spec.items() if rg},
                "constants": [k for k, (_, rg) in spec.items() if not rg and leaves[k].grad is not None]}

    def error_hint(self, exc):
        if isinstance(exc, EngineBackwardOff):
            return BACKWARD_HINTS["engine_off"]
        if "read-only" in str(exc):
            return BACKWARD_HINTS["read_only"]
        if isinstance(exc, AttributeError) and any(f"'{t}' object has no attribute" in str(exc)
                                                   for t in ("float", "int")):
            return BACKWARD_HINTS["number"]
        return super().error_hint(exc)

    def describe(self, case):
        _, text, spec, _ = GRAPHS[case["graph"]]
        text = text.format(depth=case.get("depth"))
        shown = ", ".join(f"{k} = {hints.short_repr(v, 80)}" for k, v in case["inputs"].items())
        preset = "".join(f"; before: {k}.grad = {hints.short_repr(v)}" for k, v in (case.get("preset") or {}).items())
        return f"loss = {text}; {shown}{preset}"

    def compare(self, got, want, case):
        if not isinstance(got, dict):
            return Mismatch(f"could not read the leaves' gradients: {hints.short_repr(got)}", hints.TYPE_HINT)
        if got.get("raised_limit"):
            return Mismatch("your backward raised Python's recursion limit", BACKWARD_HINTS["raised_limit"])
        if got.get("recursion_error"):
            depth = case.get("depth", "many")
            return Mismatch(f"RecursionError on a chain of {depth} operations",
                            BACKWARD_HINTS["recursion"].format(depth=depth))
        trap = GRAPHS[case["graph"]][3]
        dtype = np.dtype(case.get("dtype", "float64"))
        for leaf, w in want["grads"].items():
            g = got["grads"].get(leaf)
            if g is None:
                return Mismatch(f"{leaf}.grad is None", BACKWARD_HINTS["none"].format(leaf=leaf))
            if g.shape != w.shape:
                axes = hints._unbroadcast_axes(g.shape, w.shape)
                key = "shape" if axes is not None else "bad_shape"
                where = f"axis {axes[0]}" if axes and len(axes) == 1 else f"axes {axes}"
                return Mismatch(f"{leaf}.grad has shape {g.shape}, {leaf} has shape {w.shape}",
                                BACKWARD_HINTS[key].format(leaf=leaf, got=g.shape, want=w.shape, axes=where))
            if g.dtype != dtype and g.dtype.kind == "f":
                return Mismatch(f"{leaf}.grad has dtype {g.dtype}",
                                BACKWARD_HINTS["dtype"].format(leaf=leaf, got=g.dtype, want=dtype))
            tol = 1e-5 if dtype == np.float32 else self.rtol
            if not np.allclose(g, w, rtol=tol, atol=self.atol if dtype != np.float32 else 1e-6):
                return self._wrong(leaf, g, w, trap, case)
        if got.get("constants"):
            leaf = got["constants"][0]
            return Mismatch(f"{leaf}.grad is not None after your backward(loss)",
                            BACKWARD_HINTS["constant"].format(leaf=leaf))
        return None

    def _wrong(self, leaf, g, w, trap, case):
        message = (f"{leaf}.grad: expected {hints.short_repr(w)}, received {hints.short_repr(g)}"
                   f"{hints._worst(g.astype(np.float64), w.astype(np.float64))}")
        if trap == "preset":
            preset = np.asarray(case["preset"][leaf])
            if np.allclose(g + preset, w, rtol=1e-7, atol=1e-10):
                return Mismatch(message, BACKWARD_HINTS["preset"].format(
                    leaf=leaf, preset=hints.short_repr(preset), want=hints.short_repr(w), got=hints.short_repr(g)))
            trap = "sharing"
        if trap == "sharing":
            r = _ratio(g, w)
            part = "one of them" if r is not None and abs(r - 0.5) < 1e-6 else "something else"
            return Mismatch(message, BACKWARD_HINTS["sharing"].format(leaf=leaf, how="x * x: both inputs are x",
                                                                      part=part))
        if trap == "twice":
            r = _ratio(g, w)
            key = "twice" if r is not None and abs(r - 1.5) < 1e-6 else "two_passes"
            return Mismatch(message, BACKWARD_HINTS[key].format(leaf=leaf))
        if trap in ("order", "alias"):
            return Mismatch(message, BACKWARD_HINTS[trap])
        return Mismatch(message, hints.diagnose(g, w) or BACKWARD_HINTS["basic"])


# ----------------------------------------------------------------------------- 09.2 the operations

OP_NAMES = ("Linear", "Tanh", "CrossEntropy")

OPS_HINTS = {
    "not_ops": ("Hand in a dict like the lab's ops: {{\"Linear\": ..., \"Tanh\": ..., \"CrossEntropy\": ...}}, each "
                "value a subclass of bl.Function (the class itself, not an instance); {problem}."),
    "input_changed": ("{op}'s forward pass changed its input {name} in place. An operation must leave its inputs as "
                      "they were: they belong to the caller (here the previous operation's output), and when an "
                      "array saved for the backward pass is overwritten, the backward pass computes with the wrong "
                      "numbers, silently."),
    "overflow": ("{op}'s forward pass gave inf or nan on these inputs, whose exact answer is an ordinary number: "
                 "np.exp overflows to inf above about 709 in float64 (88.7 in float32), and inf / inf is nan. "
                 "Rewrite the computation so that no intermediate result can overflow; it must give the same "
                 "value mathematically."),
    "underflow": ("{op}'s forward pass gave inf where the answer is a large but ordinary number: the probability "
                  "of a label whose logit lies far below its row's largest underflowed to 0, and -log 0 = inf. "
                  "Compute the log-probability directly, without forming a probability that can underflow."),
    "global_shift": ("{op}'s forward pass gave inf or nan for a row whose logits lie far below the largest logit of "
                     "the batch: shifting every row by one number (the batch's maximum) makes such a row's "
                     "exponentials underflow to 0, and log 0 = -inf. Each row is a separate softmax."),
    "dtype": ("{op}'s {what} has dtype {got} for {want} inputs: a float32 network must stay float32 (operations on "
              "float32 arrays give float32; a Python float or np.float64 creeps in elsewhere)."),
    "output": "{op}'s forward pass is wrong on these inputs.",
    "tanh_of_input": ("The gradient of Tanh is g times the derivative 1 - tanh(z)², taken at the input z (so "
                      "computed from the saved output y as 1 - y²); yours uses 1 - z²."),
    "no_upstream": ("{op}'s backward returned the local derivative without the upstream gradient g: by the chain rule "
                    "each input's gradient is g times the local derivative."),
    "mean_not_sum": ("The gradient of b is 1/{n} of the right one: b is added to each of the {n} rows, and every "
                     "row's share counts in full; the shares of copies add up, they are not averaged."),
    "batch_sum": ("The gradient is {n} times too large: the loss is the MEAN over the {n} rows of the batch, so each "
                  "row's share carries a factor 1/{n}."),
    "ignores_g": ("The gradient is {r:g} times the right one, for an upstream gradient g = {g}: the backward pass must "
                  "multiply by g (here the loss was scaled by {g})."),
    "grad": "{op}'s gradient for {name} is wrong on these inputs.",
    "transposed": ("{op}'s gradient for {name} has the shape of {name} transposed: a gradient has the shape of its "
                   "value, and dimensional analysis (notebook 04) says on which side of each product a factor goes."),
    "not_array": ("{op}'s forward returned a {what}: forward must return an array (of the inputs' dtype), which "
                  "the engine wraps in a Tensor."),
    "g_changed": ("{op}'s backward changed the upstream gradient g in place (`g *= ...`, `g -= ...`): g is the "
                  "output's .grad, which the engine keeps and may hand to several rules (Add gives one g to both of "
                  "its inputs). Compute the gradients into new arrays and leave g as it was."),
    "saved_changed": ("{op}'s backward gave other gradients when it ran a second time on the same graph (as a "
                      "second backward pass with retain_graph=True, or a gradient check, runs it): it changed an "
                      "array that forward had saved. Like the inputs, what an operation saves must stay as it was: "
                      "compute into new arrays."),
    "missing_grad": "{op}'s backward must return one gradient per input, in order.",
}


def _op_cases(rng):
    def linear(n, i, o, dtype="float64"):
        return {"op": "Linear", "dtype": dtype, "x": np.round(rng.normal(size=(n, i)), 3),
                "W": np.round(rng.normal(size=(i, o)), 3), "b": np.round(rng.normal(size=o), 3),
                "g": np.round(rng.normal(size=(n, o)), 3)}

    cases = [linear(4, 3, 2), linear(1, 5, 3), linear(6, 4, 3, "float32")]
    cases.append({"op": "Tanh", "dtype": "float64", "x": np.array([-3.0, -0.5, 0.0, 0.25, 1.0, 4.0]),
                  "g": np.array([1.0, -1.0, 2.0, 0.5, 1.0, -2.0])})
    cases.append({"op": "Tanh", "dtype": "float32", "x": np.round(rng.normal(size=(3, 4)) * 1.5, 3),
                  "g": np.round(rng.normal(size=(3, 4)), 3)})
    cases.append({"op": "CrossEntropy", "dtype": "float64", "logits": np.array([[1.0, 2.0, 3.0], [0.5, 0.5, -1.0]]),
                  "labels": np.array([2, 0]), "g": 1.0})
    cases.append({"op": "CrossEntropy", "dtype": "float64", "logits": np.round(rng.normal(size=(5, 4)) * 2, 3),
                  "labels": rng.integers(0, 4, size=5), "g": 0.5})
    cases.append({"op": "CrossEntropy", "dtype": "float64",
                  "logits": np.array([[1000.0, 1001.0, 1002.0], [-5.0, 0.0, 5.0]]), "labels": np.array([0, 2]),
                  "g": 1.0})
    cases.append({"op": "CrossEntropy", "dtype": "float64",
                  "logits": np.array([[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -1003.0]]),
                  "labels": np.array([1, 0]), "g": 1.0})
    cases.append({"op": "CrossEntropy", "dtype": "float32",
                  "logits": np.array([[120.0, 100.0, -30.0, 0.0], [0.5, -0.5, 95.0, 3.0], [1.0, 2.0, 3.0, 4.0]]),
                  "labels": np.array([1, 2, 3]), "g": 1.0})
    cases.append({"op": "CrossEntropy", "dtype": "float64", "logits": np.array([[0.0, -800.0, 5.0], [1.0, 2.0, 0.0]]),
                  "labels": np.array([1, 1]), "g": 1.0})
    cases.append({"op": "CrossEntropy", "dtype": "float64", "logits": np.array([[2.0, -1.0]]),
                  "labels": np.array([1]), "g": 1.0})
    return cases


def _ce_variants(case):
    """What the classic unstable cross-entropies give on a case (in its dtype): the textbook formula without a
    shift ("overflow"), a shift by the whole batch's maximum ("global_shift"), the log of shifted probabilities
    ("underflow"). Used to name the mistake behind an inf or nan."""
    z = np.asarray(case["logits"], dtype=case["dtype"])
    rows, labels = np.arange(len(z)), np.asarray(case["labels"])
    with np.errstate(all="ignore"):
        e = np.exp(z)
        naive = -np.log((e / e.sum(axis=1, keepdims=True))[rows, labels]).mean()
        s = z - z.max()
        global_shift = -(s - np.log(np.exp(s).sum(axis=1, keepdims=True)))[rows, labels].mean()
        e = np.exp(z - z.max(axis=1, keepdims=True))
        log_of_p = -np.log((e / e.sum(axis=1, keepdims=True))[rows, labels]).mean()
    return {"global_shift": global_shift, "underflow": log_of_p, "overflow": naive}


class LabOps(Exercise):
    # the lab's operations are Functions: subclassing bl.Function is the exercise, not a hand-off to the engine
    allowed_references = ("backprop_lab.Function", "backprop_lab.tensor.Function")
    rtol, atol = 1e-6, 1e-9

    def cases(self, rng):
        return _op_cases(rng)

    def run(self, obj, case):
        from ..tensor import Function, Tensor

        if not isinstance(obj, dict):
            return {"not_ops": f"received {type(obj).__name__}"}
        missing = [k for k in OP_NAMES if k not in obj]
        if missing:
            return {"not_ops": f"the key {missing[0]!r} is missing"}
        bad = [k for k in OP_NAMES if not (isinstance(obj[k], type) and issubclass(obj[k], Function))]
        if bad:
            return {"not_ops": f"{bad[0]!r} is {hints.short_repr(obj[bad[0]], 60)}"}
        op, dtype = case["op"], np.dtype(case["dtype"])
        if op == "CrossEntropy":
            names = ("logits",)
        elif op == "Linear":
            names = ("x", "W", "b")
        else:
            names = ("x",)
        inputs = {k: Tensor(np.array(case[k], dtype=dtype), requires_grad=True) for k in names}
        before = {k: t.data.copy() for k, t in inputs.items()}
        with np.errstate(all="ignore"):
            if op == "CrossEntropy":
                out = obj[op].apply(inputs["logits"], labels=np.array(case["labels"]))
            else:
                out = obj[op].apply(*inputs.values())
            if not hasattr(out.data, "dtype"):
                return {"not_array": type(out.data).__name__}
            output = np.array(out.data)                 # copied now: a later change in place must not hide this
            changed = [k for k in names if not np.array_equal(inputs[k].data, before[k], equal_nan=True)]
            grad_out = np.asarray(case["g"], dtype=dtype) * np.ones(np.shape(out.data), dtype=dtype)
            seed = grad_out.copy()
            out.backward(grad_out, retain_graph=True)
            g_changed = not np.array_equal(grad_out, seed) or (
                isinstance(out.grad, np.ndarray) and not np.array_equal(out.grad, seed))
            grads = {k: _plain(t.grad) for k, t in inputs.items()}
            for t in inputs.values():
                t.grad = None
            out.backward(grad_out)                      # once more, on what forward saved: it must give the same
            again = {k: _plain(t.grad) for k, t in inputs.items()}
        same = all((grads[k] is None) == (again[k] is None) and (grads[k] is None or (
            grads[k].shape == again[k].shape and np.array_equal(grads[k], again[k], equal_nan=True))) for k in grads)
        return {"output": output, "changed": changed, "grads": grads, "again_same": same, "g_changed": g_changed}

    def describe(self, case):
        shown = {k: v for k, v in case.items() if k not in ("op", "dtype")}
        parts = ", ".join(f"{k} = {hints.short_repr(v, 90)}" for k, v in shown.items())
        return f"{case['op']} in {case['dtype']}: {parts}"

    def compare(self, got, want, case):
        op, dtype = case["op"], np.dtype(case["dtype"])
        if not isinstance(got, dict):
            return Mismatch(f"received {hints.short_repr(got)}", hints.TYPE_HINT)
        if "not_ops" in got:
            return Mismatch(f"lab_ops: {got['not_ops']}", OPS_HINTS["not_ops"].format(problem=got["not_ops"]))
        if "not_array" in got:
            return Mismatch(f"{op}: forward returned a {got['not_array']}",
                            OPS_HINTS["not_array"].format(op=op, what=got["not_array"]))
        if got["changed"]:
            name = got["changed"][0]
            return Mismatch(f"{op}: after the forward pass, the input {name} no longer holds the values it was given",
                            OPS_HINTS["input_changed"].format(op=op, name=name))
        out, want_out = got["output"], want["output"]
        if out.shape != want_out.shape:
            return Mismatch(f"{op}: output of shape {out.shape}, expected {want_out.shape}",
                            OPS_HINTS["output"].format(op=op))
        if not np.all(np.isfinite(out)) and np.all(np.isfinite(want_out)):
            key = "overflow"
            if op == "CrossEntropy":
                key = next((name for name, value in _ce_variants(case).items()
                            if np.allclose(out, value, equal_nan=True)), "overflow")
            return Mismatch(f"{op}: output {hints.short_repr(out)}, expected {hints.short_repr(want_out)}",
                            OPS_HINTS[key].format(op=op))
        if out.dtype != dtype:
            return Mismatch(f"{op}: output of dtype {out.dtype}",
                            OPS_HINTS["dtype"].format(op=op, what="output", got=out.dtype, want=dtype))
        tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=self.rtol, atol=self.atol)
        if not np.allclose(out, want_out, **tol):
            m = hints.compare_values(out, want_out, where=f"{op}'s output", **tol)
            if op == "CrossEntropy":
                z, labels = np.asarray(case["logits"], dtype=np.float64), np.asarray(case["labels"])
                top = z.max(axis=1)
                per_row = top + np.log(np.exp(z - top[:, None]).sum(axis=1)) - z[np.arange(len(z)), labels]
                if any(np.allclose(out, v, **tol) for v in clipped_losses(per_row)):
                    return Mismatch(m.message, CE_HINTS["clipped"])
                big = float(np.abs(z).max())
                if big > np.log(np.finfo(dtype).max):      # np.exp(big) overflows in this dtype
                    return Mismatch(m.message, CE_HINTS["large_finite"].format(big=big))
            return Mismatch(m.message, OPS_HINTS["output"].format(op=op) + (" " + m.hint if m.hint else ""))
        for name, w in want["grads"].items():
            g = got["grads"].get(name)
            if g is None:
                return Mismatch(f"{op}: no gradient reached {name}",
                                OPS_HINTS["missing_grad"].format(op=op))
            if g.shape == w.shape and g.dtype != dtype and g.dtype.kind == "f":
                return Mismatch(f"{op}: the gradient of {name} has dtype {g.dtype}",
                                OPS_HINTS["dtype"].format(op=op, what=f"gradient of {name}", got=g.dtype, want=dtype))
            if g.shape != w.shape or not np.allclose(g, w, **tol):
                return self._wrong_grad(op, name, g, w, case, tol)
        if got.get("g_changed"):
            return Mismatch(f"{op}: after the backward pass, the upstream gradient g no longer held its values",
                            OPS_HINTS["g_changed"].format(op=op))
        if not got.get("again_same", True):
            return Mismatch(f"{op}: a second backward pass through the same graph gave other gradients",
                            OPS_HINTS["saved_changed"].format(op=op))
        return None

    def _wrong_grad(self, op, name, g, w, case, tol):
        if g.ndim == 2 and g.shape == w.shape[::-1] and g.shape != w.shape:
            return Mismatch(f"{op}: the gradient of {name} has shape {g.shape}, {name} has shape {w.shape}",
                            OPS_HINTS["transposed"].format(op=op, name=name))
        m = hints.compare_values(g, w, where=f"{op}: gradient of {name}", **tol)
        message = m.message if m is not None else f"{op}: gradient of {name} is wrong"
        r = _ratio(g, w) if g.shape == w.shape else None
        if op == "Linear" and name == "b" and r is not None and abs(r * len(case["x"]) - 1) < 1e-6 and len(case["x"]) > 1:
            return Mismatch(message, OPS_HINTS["mean_not_sum"].format(n=len(case["x"])))
        if op == "Tanh" and g.shape == w.shape:
            x, gg = np.asarray(case["x"], dtype=np.float64), np.asarray(case["g"], dtype=np.float64)
            if np.allclose(g, gg * (1 - x ** 2), **tol):
                return Mismatch(message, OPS_HINTS["tanh_of_input"])
            if np.allclose(g, 1 - np.tanh(x) ** 2, **tol) and not np.allclose(gg, 1):
                return Mismatch(message, OPS_HINTS["no_upstream"].format(op=op))
        if op == "CrossEntropy" and r is not None:
            n, gv = len(case["labels"]), float(case["g"])
            if abs(r - n) < 1e-6 * n and n > 1:
                return Mismatch(message, OPS_HINTS["batch_sum"].format(n=n))
            if gv != 1.0 and abs(r - 1 / gv) < 1e-6:
                return Mismatch(message, OPS_HINTS["ignores_g"].format(r=r, g=gv))
        diagnosis = hints.diagnose(g, w) if g.shape == w.shape else ""
        return Mismatch(message, OPS_HINTS["grad"].format(op=op, name=name) + (" " + diagnosis if diagnosis else ""))


# ----------------------------------------------------------------------------- 09.3 initialisation

INIT_HINTS = {
    "standard": ("Your weights have standard deviation {std:.3g}, rng.normal's default scale: with {n_in} inputs each "
                 "pre-activation then has a spread of about sqrt({n_in}) = {root:.3g} times its inputs', so tanh "
                 "saturates (or activations explode) layer after layer. The derivation of section 1.3 gives the "
                 "scale for each activation."),
    "he_for_tanh": ("Your weights have the scale of He's rule, which is for ReLU, but this layer uses {act}: it zeroes "
                    "nothing, so the factor 2 of He's rule makes signals grow layer after layer."),
    "glorot_for_relu": ("Your weights have Glorot's scale but this layer uses ReLU, which zeroes half of its inputs and "
                        "so halves the signal's second moment at every layer: the signal fades with depth."),
    "no_sqrt": ("Your standard deviation is {std:.3g}, the *variance* the rule asks for: a standard deviation is the "
                "square root of a variance."),
    "zeros": ("Your weights are all equal (zero): every unit of the layer computes the same thing and gets the same "
              "gradient, so they never become different. Draw them at random."),
    "equal": ("Your weights are all equal ({value:.3g}): every unit of the layer computes the same thing and gets "
              "the same gradient, so they never become different. Draw them at random, centred on 0."),
    "shape": "The weights must have shape (n_in, n_out) = {want} (y = x @ W); received {got}.",
    "rng": ("Two calls with generators of the same seed gave different weights: draw from the rng argument, not from "
            "np.random's global state or a generator made inside the function."),
    "rng_unused": ("Two calls with one generator gave the very same weights: your function does not draw from the rng "
                   "it is given (a generator made inside the function starts from the same seed at every call). "
                   "Then the seed changes nothing, and two layers of one shape start identical."),
    "scale": "Your weights have standard deviation {std:.3g}, expected about {want:.3g} ({rule}).",
    "mean": "Your weights have mean {mean:.3g}: draw them centred on 0.",
    "uniform_bound": ("Your weights have standard deviation {std:.3g}, 1/sqrt(3) of Glorot's: a uniform distribution on "
                      "[-a, a] has variance a²/3, not a²."),
    "transposed": "Your weights are transposed. {shape}",
}

RULES = {"relu": "He's rule: variance 2 / n_in", "tanh": "Glorot's rule: variance 2 / (n_in + n_out)",
         "sigmoid": "Glorot's rule: variance 2 / (n_in + n_out)"}


def target_std(n_in, n_out, activation):
    return np.sqrt(2.0 / n_in) if activation == "relu" else np.sqrt(2.0 / (n_in + n_out))


class InitWeights(Exercise):

    def cases(self, rng):
        return [{"n_in": 784, "n_out": 256, "activation": "tanh", "seed": 0},
                {"n_in": 784, "n_out": 256, "activation": "relu", "seed": 1},
                {"n_in": 400, "n_out": 100, "activation": "sigmoid", "seed": int(rng.integers(1 << 30))},
                {"n_in": 128, "n_out": 512, "activation": "relu", "seed": int(rng.integers(1 << 30))},
                {"n_in": 64, "n_out": 640, "activation": "tanh", "seed": int(rng.integers(1 << 30))}]

    def run(self, obj, case):
        args = case["n_in"], case["n_out"], case["activation"]
        w = np.asarray(_plain(obj(*args, np.random.default_rng(case["seed"]))), dtype=np.float64)
        again = np.asarray(_plain(obj(*args, np.random.default_rng(case["seed"]))), dtype=np.float64)
        one = np.random.default_rng(case["seed"] + 1)       # one generator, two layers: they must differ
        first, second = (np.asarray(_plain(obj(*args, one)), dtype=np.float64) for _ in range(2))
        return {"shape": list(w.shape), "std": float(w.std()), "mean": float(w.mean()),
                "equal": bool(w.size > 1 and np.ptp(w) == 0),
                "seeded": bool(w.shape == again.shape and np.array_equal(w, again)),
                "fresh": not (first.shape == second.shape and np.array_equal(first, second))}

    def expected(self, case):
        return {"shape": [case["n_in"], case["n_out"]],
                "std": float(target_std(case["n_in"], case["n_out"], case["activation"]))}

    def describe(self, case):
        return (f"n_in={case['n_in']}, n_out={case['n_out']}, activation={case['activation']!r}, "
                f"rng=np.random.default_rng({case['seed']})")

    def compare(self, got, want, case):
        n_in, n_out, act = case["n_in"], case["n_out"], case["activation"]
        rule = RULES[act]
        if got["shape"] != want["shape"]:
            hint = INIT_HINTS["shape"].format(want=tuple(want["shape"]), got=tuple(got["shape"]))
            if got["shape"] == want["shape"][::-1]:
                hint = INIT_HINTS["transposed"].format(shape=hint)
            return Mismatch(f"expected shape {tuple(want['shape'])}, received {tuple(got['shape'])}", hint)
        std, target = got["std"], want["std"]
        message = f"standard deviation {std:.4g}, expected {target:.4g} (within 5%)"
        if std == 0 or got.get("equal"):
            if got["mean"] == 0:
                return Mismatch(message, INIT_HINTS["zeros"])
            return Mismatch(f"every weight is {got['mean']:.4g}", INIT_HINTS["equal"].format(value=got["mean"]))
        if abs(got["mean"]) > 0.1 * std:         # off-centre (all positive, say): say so before judging the spread
            return Mismatch(f"mean {got['mean']:.4g}, expected about 0", INIT_HINTS["mean"].format(mean=got["mean"]))
        if abs(std / target - 1) > 0.05:
            he, glorot = np.sqrt(2 / n_in), np.sqrt(2 / (n_in + n_out))
            if abs(std - 1) < 0.05:
                hint = INIT_HINTS["standard"].format(std=std, n_in=n_in, root=np.sqrt(n_in))
            elif act != "relu" and abs(std / he - 1) < 0.05:
                hint = INIT_HINTS["he_for_tanh"].format(act=act)
            elif act == "relu" and abs(std / glorot - 1) < 0.05:
                hint = INIT_HINTS["glorot_for_relu"]
            elif abs(std / target**2 - 1) < 0.05:
                hint = INIT_HINTS["no_sqrt"].format(std=std)
            elif act != "relu" and abs(std * np.sqrt(3) / target - 1) < 0.05:
                hint = INIT_HINTS["uniform_bound"].format(std=std)
            else:
                hint = INIT_HINTS["scale"].format(std=std, want=target, rule=rule)
            return Mismatch(message, hint)
        if abs(got["mean"]) > 0.1 * target:
            return Mismatch(f"mean {got['mean']:.4g}, expected about 0", INIT_HINTS["mean"].format(mean=got["mean"]))
        if not got["seeded"]:
            return Mismatch("two generators seeded alike gave different weights", INIT_HINTS["rng"])
        if not got.get("fresh", True):
            return Mismatch("two calls with one generator gave identical weights", INIT_HINTS["rng_unused"])
        return None


# ----------------------------------------------------------------------------- 09.4 the training loop

TRAIN_HINTS = {
    "not_floats": ("train must return the losses as floats (one per step), received {what}. A Tensor keeps the whole "
                   "graph of its step alive (every activation of the batch), and the code that prints and plots the "
                   "losses needs numbers."),
    "loss_count": "Return one loss per step, in a list: there were {want}, and you returned {got}.",
    "no_update": ("The parameters never changed: each step must update every parameter with the gradient that this "
                  "step's backprop(loss) computed."),
    "carry_over": ("After one step your parameters are right (the previous case passed); after {k} steps they are "
                   "not, so something carries over from one step to the next. backprop adds into .grad (as "
                   "loss.backward() does: a value used twice gets both shares), so whatever .grad held before a "
                   "step's backward pass is still in it when the update reads it."),
    "no_penalty": ("Your parameters are what training without the penalty gives: the loss of each step is the "
                   "cross-entropy plus weight_decay times the sum of the squared weights, and its gradient includes "
                   "the penalty's."),
    "losses": ("The parameters are right but the losses are not: return the loss each step minimised (cross-entropy "
               "plus penalty), computed before that step's update."),
    "grad_none": ("A parameter's .grad was None when the update read it: an update needs this step's gradient, so it "
                  "comes after this step's backward pass, with nothing clearing the gradients in between."),
    "clear_none": ("Your code worked on a .grad that was None: a parameter's .grad is None until a backward pass "
                   "writes it (before the first step, and after the gradients are forgotten), so clearing it in "
                   "place fails there. Clearing means that the next backward pass starts from nothing: it must work "
                   "whether or not .grad holds an array."),
    "one_step": ("After a single step the parameters differ from the course's: check which loss the step "
                 "differentiates (the cross-entropy plus weight_decay times the sum of the squared weights, the "
                 "W's only) and how the update uses lr and the gradient."),
    "steps": ("There were {want} batches, your loop returned {got} and the parameters are not those of {want} "
              "steps: the loop takes one step for every batch of the list, and returns each step's loss."),
    "stale": ("In this case the parameters' .grad already held gradients from an earlier pass when your loop began, "
              "and your first update used them too. backprop adds into .grad, so clear the gradients before each "
              "step's backward pass: then every update uses its own step's gradient and nothing else."),
    "limited": ("Your loop is right where the gradients are small (the earlier cases passed) and wrong in this case, "
                "whose gradients reach {big:.3g}: something in your update limits them (a clip of each entry, or of "
                "the norm). A clip hides an exploding symptom and trains a different model; the lab's update is "
                "plain SGD, the parameter minus lr times its whole gradient. Find the cause instead."),
    "own_backprop": ("Your loop computed its gradients without the backprop it is given (called {n} in {k}): "
                     "the lab's loop must use the backward pass handed to it, so that the lab trains with "
                     "yours once it is fixed. (loss.backward() gives the same numbers in this check only because the "
                     "check hands in the course's backward pass.)"),
    "own_loss": ("Your loop did not use the network's own cross-entropy, net.ops[\"CrossEntropy\"] (called {n} "
                 "in {k}): the lab trains with the operations its network was built with, so that it "
                 "runs on yours once they are fixed."),
}


def _make_net(case, dtype=np.float64, ops=None):
    ref = _reference()
    weights = iter(case["weights"])
    net = ref.Net(case["sizes"], ops or ref.lab_ops, lambda n_in, n_out, activation, rng: next(weights), None,
                  dtype=dtype)
    for b, value in zip(net.b, case["biases"]):
        b.data[...] = value
    return net


def _counted(calls):
    """The course's backward pass and operations, counting how often the loop uses the backward pass and the loss."""
    ref = _reference()

    def backprop(loss):
        calls["backprop"] += 1
        return ref.lab_backward(loss)

    class CrossEntropy(ref.lab_ops["CrossEntropy"]):
        @classmethod
        def apply(cls, *args, **kwargs):
            calls["loss"] += 1
            return super().apply(*args, **kwargs)

    return backprop, dict(ref.lab_ops, CrossEntropy=CrossEntropy)


class LabTrain(TrainingLoopCheck):
    HINTS = TRAIN_HINTS
    rtol, atol = 1e-9, 1e-12

    def cases(self, rng):
        def case(sizes, steps, lr, wd, n=6):
            return {"sizes": sizes, "lr": lr, "weight_decay": wd,
                    "weights": [np.round(rng.normal(0, 1 / np.sqrt(a), size=(a, b)), 4)
                                for a, b in zip(sizes[:-1], sizes[1:])],
                    "biases": [np.round(rng.normal(0, 0.1, size=b), 4) for b in sizes[1:]],
                    "xs": [np.round(rng.normal(size=(n, sizes[0])), 3) for _ in range(steps)],
                    "ys": [rng.integers(0, sizes[-1], size=n) for _ in range(steps)]}

        cases = [case([4, 5, 3], 1, 0.5, 0.01), case([4, 5, 3], 3, 0.5, 0.01), case([6, 7, 7, 4], 4, 0.3, 0.05, n=5),
                 case([5, 6, 3], 3, 0.2, 0.0, n=7)]
        stale = case([4, 5, 3], 2, 0.5, 0.01)
        stale["stale"] = [np.round(rng.normal(size=np.shape(a)), 3) for a in stale["weights"] + stale["biases"]]
        large = case([4, 5, 3], 1, 0.01, 20.0)    # a strong penalty: gradients of tens, where a clip would act
        large["large"] = True
        return cases + [stale, large]

    def run(self, obj, case):
        calls = {"backprop": 0, "loss": 0}
        backprop, ops = _counted(calls)
        net = _make_net(case, ops=ops)
        for p, g in zip(net.parameters(), case.get("stale") or []):  # gradients left over from an earlier pass
            p.grad = np.array(g)
        batches = [(x, y) for x, y in zip(case["xs"], case["ys"])]
        losses = obj(net, batches, case["lr"], case["weight_decay"], backprop)
        return dict(self.result(losses, [np.array(p.data, dtype=np.float64) for p in net.parameters()]), **calls)

    def error_hint(self, exc):
        text = str(exc)
        if re.search(r"for \S+=: 'NoneType'", text) or ("'NoneType' object" in text and (
                "item assignment" in text or "has no attribute" in text)):
            return TRAIN_HINTS["clear_none"]
        if "NoneType" in text:
            return TRAIN_HINTS["grad_none"]
        return super().error_hint(exc)

    def describe(self, case):
        stale = "; the parameters' .grad already hold gradients from an earlier pass" if case.get("stale") else ""
        return (f"a Net of sizes {case['sizes']}, lr={case['lr']}, weight_decay={case['weight_decay']}, "
                f"{len(case['xs'])} batch(es) of {len(case['ys'][0])} random examples{stale}; compares every "
                "parameter after the loop, and the losses")

    def compare(self, got, want, case):
        mismatch = super().compare(got, want, case)
        if mismatch is not None:
            return mismatch
        k = len(case["xs"])
        steps = _count(k, "step", "steps")
        for key, what in (("backprop", "backprop"), ("loss", 'net.ops["CrossEntropy"]')):
            if got.get(key, k) < k:
                n = _count(got[key], "time", "times")
                return Mismatch(f"{what} was called {n} in {steps}",
                                TRAIN_HINTS[f"own_{key}"].format(n=n, k=steps))
        return None

    def initial_params(self, case):
        return [np.array(p.data, dtype=np.float64) for p in _make_net(case).parameters()]

    def variant(self, got, case):
        if case["weight_decay"]:
            plain = self.expected(dict(case, weight_decay=0.0))["params"]
            if all(np.allclose(g, p, rtol=1e-9, atol=1e-12) for g, p in zip(got["params"], plain)):
                return TRAIN_HINTS["no_penalty"]
        if case.get("large"):
            start, want = self.initial_params(case), self.expected(case)["params"]
            big = max(float(np.abs(a - b).max()) for a, b in zip(start, want)) / case["lr"]
            return TRAIN_HINTS["limited"].format(big=big)
        return None
