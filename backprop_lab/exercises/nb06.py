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
from ._core import Exercise, Mismatch


def _array(x):
    return hints._to_array(x)


def _close(got, want, rtol=1e-6, atol=1e-8) -> bool:
    return hints.close(got, want, rtol=rtol, atol=atol)


def _match(got, variants):
    """The hint of the first wrong variant that ``got`` equals (every component), else None."""
    return hints.matching_hint(got, variants, rtol=1e-6, atol=1e-8)


def _pair(got, names):
    return hints.expect_tuple(got, names, "Return one gradient per input, in order: `return {listed}`.")


# ----------------------------------------------------------------------------- 06.1 Sqrt as a Function

SQRT_HINTS = {
    "class_state": ("The gradient of the first use of Sqrt was computed from the input of the SECOND use: backward "
                    "read values stored on the class (or a global), which the second forward overwrote. Store what "
                    "backward needs on the context: ctx.save_for_backward(y) in forward, (y,) = ctx.saved in backward. "
                    "Each application gets its own ctx."),
    "no_g": ("Your backward returns the local derivative 1/(2 sqrt x) but ignores the upstream gradient g: the chain "
             "rule multiplies them, dx = g / (2 sqrt x)."),
    "no_half": ("Your gradient is exactly 2 times too big: d sqrt(x)/dx = 1 / (2 sqrt x). The 1/2 comes from the power "
                "rule, x^(1/2) -> (1/2) x^(-1/2)."),
    "power": ("Power rule slip: d x^(1/2)/dx = (1/2) x^(-1/2), not (1/2) x^(1/2). Divide by sqrt(x) (the saved "
              "output y), do not multiply."),
    "forward": "The forward pass is wrong: forward(ctx, x) must return np.sqrt(x), an array of x's shape.",
    "not_function": ("Give the class itself, a subclass of bl.Function with two @staticmethods, forward(ctx, x) and "
                     "backward(ctx, g): check(\"06.1\", Sqrt), not Sqrt() or Sqrt.apply."),
    "none": ("Your backward returned None (or a None gradient): it must return the gradient for x, an array of x's "
             "shape."),
    "assigned": ("Your forward ASSIGNED to ctx.save_for_backward (ctx.save_for_backward = y), which replaces the "
                 "method and saves nothing. Call it: ctx.save_for_backward(y); then (y,) = ctx.saved in backward."),
    "saved_array": ("Your forward set ctx.saved to an array; ctx.saved is a tuple of saved arrays. Save with "
                    "ctx.save_for_backward(y), read with (y,) = ctx.saved."),
    "raw_shape": ("Your backward returned an array of shape {raw} for an input of shape {shape}; it must return dx "
                  "with x's shape (the engine's driver summed the extra axes away, which hid the mistake and gave "
                  "these numbers). A common cause: `y = ctx.saved` keeps the TUPLE (y,), and 2 * (y,) is not 2 y. "
                  "Unpack it: `(y,) = ctx.saved`."),
}


def run_function(fn_class, x, g, other=None):
    """Apply ``fn_class`` to x (and, before backward, to ``other``), backpropagate g; return y and dx."""
    from ..tensor import Function, Tensor

    if not (isinstance(fn_class, type) and issubclass(fn_class, Function)):
        return {"problem": "not_function", "x": x}  # x: so that cases differ (this is no hard-coded answer)
    xt = Tensor(np.array(x, dtype=np.float64), requires_grad=True)
    y = fn_class.apply(xt)
    ctx = y._ctx
    if ctx is not None and "save_for_backward" in vars(ctx):
        return {"problem": "assigned", "x": x}
    if ctx is not None and not isinstance(ctx.saved, tuple):
        return {"problem": "saved_array", "x": x}
    if other is not None:  # a second use of the same Function in the same graph, before backward
        fn_class.apply(Tensor(np.array(other, dtype=np.float64), requires_grad=True))
    if not isinstance(y.data, np.ndarray) or y.data.shape != xt.shape:
        return {"problem": "forward", "y": y.data}
    y.backward(np.asarray(g, dtype=np.float64))
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

    def compare(self, got, want, case):
        if not isinstance(got, dict):
            return Mismatch(f"could not run your Function: {hints.short_repr(got)}", SQRT_HINTS["not_function"])
        problem = got.get("problem")
        if problem == "not_function":
            return Mismatch("the answer is not a subclass of bl.Function", SQRT_HINTS["not_function"])
        if problem in ("assigned", "saved_array"):
            return Mismatch("backward cannot read what forward saved", SQRT_HINTS[problem])
        if problem == "forward":
            return Mismatch(f"forward returned {hints.short_repr(got.get('y'))}, expected an array of shape "
                            f"{case['x'].shape}", SQRT_HINTS["forward"])
        m = hints.compare_values(got["y"], want["y"], where="forward output y")
        if m is not None:
            return Mismatch(m.message, SQRT_HINTS["forward"])
        if got["dx"] is None:
            return Mismatch("x.grad is None after backward", SQRT_HINTS["none"])
        x, g, other = case["x"], case["g"], case["other"]
        suspects = [(SQRT_HINTS["class_state"], g / (2 * np.sqrt(other))),
                    (SQRT_HINTS["no_g"], 1 / (2 * np.sqrt(x))),
                    (SQRT_HINTS["no_half"], g / np.sqrt(x)),
                    (SQRT_HINTS["power"], g * 0.5 * np.sqrt(x))]
        m = hints.compare_values(got["dx"], want["dx"], where="gradient x.grad", suspects=suspects)
        raw = got.get("raw_shape")
        if m is not None and raw is not None and tuple(raw) != x.shape:
            return Mismatch(m.message, SQRT_HINTS["raw_shape"].format(raw=tuple(raw), shape=x.shape))
        return m


# ----------------------------------------------------------------------------- 06.2 maximum backward

MAXIMUM_HINTS = {
    "both": ("At a tie (x == y) you sent g to BOTH inputs, so that entry passes on 2g in total. The output moved by "
             "g, not 2g: send it to one input only, x (seed 001's rule: x >= y -> x)."),
    "neither": ("At a tie (x == y) you sent g to NEITHER input, so that entry's gradient is lost. The output still "
                "moves with its inputs there; send all of g to one of them, x (seed 001's rule x >= y -> x): "
                "dx = g * (x >= y), dy = g * (x < y)."),
    "to_y": ("At a tie (x == y) you sent g to y. The engine follows seed 001's tie rule, x >= y -> x: use the mask "
             "x >= y for dx and its complement x < y for dy."),
    "split": ("At a tie you split g evenly between x and y (torch.maximum does that). This engine follows seed 001: "
              "all of g goes to x when x >= y, none to y."),
    "no_g": ("Your gradients are the 0/1 masks themselves: multiply them by the upstream gradient g (chain rule), "
             "dx = g * (x >= y)."),
    "swapped": "You returned (dy, dx): the order is (dx, dy), one gradient per input in the order of the inputs.",
}


class MaximumBackward(Exercise):

    def cases(self, rng):
        fixed = [{"x": np.array([1.0, 2.0, 3.0, 2.0]), "y": np.array([2.0, 2.0, 1.0, 5.0]),
                  "g": np.array([1.0, 2.0, 3.0, 4.0])}]
        # small integers make ties frequent; the masks then differ between the tie rules
        rand = [{"x": rng.integers(0, 3, size=s).astype(float), "y": rng.integers(0, 3, size=s).astype(float),
                 "g": rng.normal(size=s)} for s in [(3, 4), (5,), (2, 2, 3)]]
        return fixed + rand

    def run(self, obj, case):
        out = obj(case["x"].copy(), case["y"].copy(), case["g"].copy())
        return tuple(out) if isinstance(out, (tuple, list)) else out

    def compare(self, got, want, case):
        bad = _pair(got, ["dx", "dy"])
        if bad:
            return bad
        x, y, g = case["x"], case["y"], case["g"]
        tie = x == y
        variants = [(MAXIMUM_HINTS["swapped"], (want[1], want[0])),
                    (MAXIMUM_HINTS["both"], (g * (x >= y), g * (y >= x))),
                    (MAXIMUM_HINTS["neither"], (g * (x > y), g * (x < y))),
                    (MAXIMUM_HINTS["to_y"], (g * (x > y), g * (y >= x))),
                    (MAXIMUM_HINTS["split"], (g * ((x > y) + 0.5 * tie), g * ((x < y) + 0.5 * tie))),
                    (MAXIMUM_HINTS["no_g"], (1.0 * (x >= y), 1.0 * (x < y)))]
        m = hints.compare_values(got, want, where="(dx, dy)")
        if m is None:
            return None
        hint = _match(got, variants)
        return Mismatch(m.message, hint) if hint else m


# ----------------------------------------------------------------------------- 06.3 max over an axis backward

MAX_HINTS = {
    "all_ties": ("Every maximal entry of a slice got g. When several entries tie for the maximum, only ONE of them "
                 "is the max that was returned: the engine sends g to the FIRST one (lowest index along the axis), "
                 "seed 001's x >= y -> x applied left to right. np.argmax returns exactly that index."),
    "split": ("You split g evenly among the tied maxima (torch.amax does that). This engine sends all of g to the "
              "FIRST maximal entry (lowest index along the axis), as np.argmax picks it."),
    "last": ("You sent g to the LAST maximal entry of each slice. The engine's tie rule picks the FIRST (lowest "
             "index along the axis), which is what np.argmax returns."),
    "no_g": ("Your answer is the 0/1 mask of where the maxima are: multiply by the upstream gradient g, after "
             "re-inserting the reduced axis (np.expand_dims(g, axis)) so it lines up with x."),
    "axis": ("The gradient went to the right places but the values of g are misaligned: re-insert the reduced axis "
             "at its own position, np.expand_dims(g, axis), before broadcasting g against the mask."),
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
                 {"x": np.array([[2.0, 7.0], [7.0, 1.0]]), "axis": None, "g": np.array(3.0)}]
        rand = []
        for shape, axis in [((3, 3), 0), ((4, 5), 1), ((2, 3, 4), 1), ((3, 4), -1), ((2, 3), None)]:
            x = rng.integers(0, 3, size=shape).astype(float)
            gshape = () if axis is None else tuple(n for i, n in enumerate(shape) if i != axis % len(shape))
            rand.append({"x": x, "axis": axis, "g": rng.normal(size=gshape)})
        return fixed + rand

    def run(self, obj, case):
        return obj(case["x"].copy(), np.array(case["g"]), case["axis"])

    def describe(self, case):
        return f"x = {hints.short_repr(case['x'], 120)}, axis = {case['axis']}, g = {hints.short_repr(case['g'], 80)}"

    def compare(self, got, want, case):
        x, axis = case["x"], case["axis"]
        g = np.asarray(case["g"], dtype=np.float64)
        ge = g if axis is None else np.expand_dims(g, axis)
        m = x.max() if axis is None else x.max(axis=axis, keepdims=True)
        ties = (x == m).astype(float)
        last = np.flip(_first_max_mask(np.flip(x, axis=axis), axis), axis=axis)
        variants = [(MAX_HINTS["all_ties"], ge * ties),
                    (MAX_HINTS["split"], ge * ties / ties.sum(axis=axis, keepdims=axis is not None)),
                    (MAX_HINTS["last"], ge * last),
                    (MAX_HINTS["no_g"], _first_max_mask(x, axis)),
                    (MAX_HINTS["no_g"], ties)]
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
}

DRIVER_HINTS = {
    "order": ("Node '{op}' was asked for its backward before every node that uses it had handed it its gradient "
              "(still missing: {missing}). Visit the nodes in REVERSE topological order, root first: build the "
              "order inputs-first, then loop over reversed(order). (If your sort has no `seen` set, a node reached "
              "along two paths appears twice, and its first copy comes too early.)"),
    "uncalled": ("Node '{op}' received a gradient, but its rule never ran, so nothing reached the nodes before it. "
                 "Visit the nodes in REVERSE topological order, root first (a node's gradient is complete only after "
                 "every node that uses it has run): build the order inputs-first, then loop over reversed(order)."),
    "twice": ("Node '{op}' was asked for its backward twice. Each node must appear once in the topological order: "
              "keep a `seen` set so a node reached along two paths is visited only the first time."),
    "seed": ("The root's gradient is None when its rule runs: start the pass with root.grad = np.ones_like(root.data) "
             "(dL/dL = 1)."),
    "shape": ("'{op}' received a gradient of shape {got} but its data has shape {want}: broadcasting in the "
              "forward pass was not undone. Pass every gradient a rule returns through bl.unbroadcast(g, "
              "parent.shape) before adding it to parent.grad."),
    "bare": ("'{op}' received a gradient of shape {got} but its data has shape {want}. It came from '{user}', a rule "
             "with ONE input, which returns a bare array, not a tuple: zip(node._prev, grads) then walks over the "
             "array itself and hands its first entry (or row) to the input. Wrap a bare array first: "
             "if not isinstance(grads, tuple): grads = (grads,)"),
    "engine": ("Your driver called the engine's own {name}. In this exercise you write that part: for each node call "
               "its rule, node._fn.backward(node._ctx, node.grad), then unbroadcast and add each returned gradient "
               "into the parent's .grad."),
    "none": ("{name}.grad is still None after your backward: no gradient reached it. Hand every gradient a rule "
             "returns to the matching parent (zip(node._prev, grads)); skip only None gradients."),
}


class DriverError(RuntimeError):
    """Raised inside the learner's driver when it does something a correct driver never does."""


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
    leaves = {k: Tensor(np.array(case[k], dtype=np.float64), requires_grad=rg, label=k) for k, (_, rg) in spec.items()}
    root = builder(leaves)
    nodes = topo_sort(root)
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

    return root, leaves, uncalled, leaf_shape_hints


class BackwardDriver(Exercise):
    allowed_references = ("backprop_lab.unbroadcast",)   # the exercise text tells the learner to use it

    def cases(self, rng):
        cases = [{"graph": "fan-out", "x": np.array([1.0, -2.0, 0.5])}]
        for name in ["diamond", "linear", "shift", "shared", "constant", "fan-out"]:
            case = {"graph": name}
            for k, (shape, _) in GRAPHS[name][2].items():
                case[k] = rng.normal(size=shape).round(3)
            cases.append(case)
        return cases

    def run(self, obj, case):
        log = []
        root, leaves, uncalled, leaf_shape_hints = _watched_graph(case, log)
        obj(root)
        spec = GRAPHS[case["graph"]][2]
        grads = {k: (None if leaves[k].grad is None else np.array(leaves[k].grad, dtype=np.float64))
                 for k, (_, rg) in spec.items() if rg}
        return {"grads": grads, "uncalled": uncalled(), "shape_hints": leaf_shape_hints()}

    def expected(self, case):
        from ..tensor import Tensor

        builder, _, spec = GRAPHS[case["graph"]]
        leaves = {k: Tensor(np.array(case[k], dtype=np.float64), requires_grad=rg) for k, (_, rg) in spec.items()}
        builder(leaves).backward()
        return {"grads": {k: leaves[k].grad for k, (_, rg) in spec.items() if rg}}

    def describe(self, case):
        _, text, spec = GRAPHS[case["graph"]]
        inputs = ", ".join(f"{k} = {hints.short_repr(case[k], 80)}" for k in spec)
        return f"graph: {text}; {inputs}"

    def compare(self, got, want, case):
        if not isinstance(got, dict) or "grads" not in got:
            return Mismatch("could not read the leaves' gradients", hints.TYPE_HINT)
        if got["uncalled"]:
            return Mismatch(f"after your backward, node '{got['uncalled'][0]}' holds a gradient it never passed on",
                            DRIVER_HINTS["uncalled"].format(op=got["uncalled"][0]))
        grads, want = got["grads"], want["grads"]
        for k in want:
            if grads.get(k) is None:
                return Mismatch(f"{k}.grad is None after your backward(root)", DRIVER_HINTS["none"].format(name=k))
            if np.shape(grads[k]) != want[k].shape:
                hint = got.get("shape_hints", {}).get(k) or DRIVER_HINTS["shape"].format(
                    op=k, got=np.shape(grads[k]), want=want[k].shape)
                return Mismatch(f"{k}.grad has shape {np.shape(grads[k])}, but {k} has shape {want[k].shape}", hint)
        return hints.compare_values(grads, want, where="leaf gradients")


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


MYSTERY_OPS = ("Square", "Softplus", "LogCosh", "MatMul", "Add", "Neg", "Sum", "Mul")


def _normalise_op(answer):
    text = str(answer).strip().strip("'\"").strip()
    for prefix in ("bl.", "rules.", "nb06."):
        if text.startswith(prefix):
            text = text[len(prefix):]
    if text.endswith("()"):
        text = text[:-2]
    return text.lower()


class FindTheBug(Exercise):
    # the point of this exercise is to use the checking tools
    allowed_references = ("backprop_lab.check_graph", "backprop_lab.gradcheck", "backprop_lab.GradcheckError",
                          "backprop_lab.autograd.topo_sort")

    def cases(self, rng):
        return [{"graph": "mystery_graph(seed=0)"}]

    def run(self, obj, case):
        if isinstance(obj, str):
            return obj
        op = getattr(obj, "op", None) or getattr(getattr(obj, "first_bad", None), "op", None)
        return {"not_a_string": obj if isinstance(obj, (int, float)) else f"a {type(obj).__name__} object",
                "has_op": isinstance(op, str)}

    def expected(self, case):
        from ..gradcheck import check_graph

        loss, _ = mystery_graph(0)
        return check_graph(loss).first_bad.op

    def compare(self, got, want, case):
        how = ("Run report = bl.check_graph(loss) on the mystery graph and read report.first_bad.op: check_graph "
               "tests each op on its own against finite differences and names the first wrong one.")
        if not isinstance(got, str):
            value = got.get("not_a_string") if isinstance(got, dict) else got
            received = value if isinstance(value, str) else hints.short_repr(value)
            if isinstance(got, dict) and got.get("has_op"):
                return Mismatch(f"expected the op's name as a string, received {received}",
                                "You gave the whole report (or its first_bad); the answer is the op's name, the "
                                "string in its .op: buggy_op = report.first_bad.op.")
            return Mismatch(f"expected the op's name as a string, received {received}",
                            "Answer with the name of the op as a string, e.g. buggy_op = \"Mul\". " + how)
        if _normalise_op(got) == want.lower():
            return None
        if _normalise_op(got) in [op.lower() for op in MYSTERY_OPS]:
            return Mismatch(f"you named {got!r}", f"The backward of {got!r} agrees with finite differences of that op "
                                                  f"alone, so it is not the culprit. " + how)
        return Mismatch(f"{got!r} is not the name of an op in the mystery graph",
                        "Name one op, as check_graph reports it (a Function's class name, e.g. \"Mul\"). " + how)

