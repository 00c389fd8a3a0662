"""Checks for notebook 09, debugging gradients: each exercise is a broken function the learner fixes.

The broken originals are kept here (``BROKEN``) so the tests can prove that every check rejects
the very code the notebook hands out, with the hint that names its bug.
"""
from __future__ import annotations

import numpy as np

from . import hints
from ..autograd import topo_sort
from ..tensor import Function, Tensor
from ._core import Exercise, Mismatch

# ----------------------------------------------------------------------------- 09.1 topological sort


class Node:
    """A bare graph node for the checks: a name and the tuple of its parents, like Value and Tensor."""

    __slots__ = ("name", "_prev")

    def __init__(self, name, parents=()):
        self.name, self._prev = name, tuple(parents)

    def __repr__(self):
        return f"Node({self.name})"


def build_graph(parents):
    """Nodes 0..n-1 where node i's parents are ``parents[i]`` (all smaller numbers); returns the list."""
    nodes = []
    for i, ps in enumerate(parents):
        nodes.append(Node(i, [nodes[p] for p in ps]))
    return nodes


TOPO_HINTS = {
    "recursion": ("RecursionError on a chain of {n} nodes: each nested call of visit() takes a Python frame, and "
                  "Python allows only sys.getrecursionlimit() of them (1000 by default, 3000 in Jupyter). Keep "
                  "your own stack (a list) of nodes still to process instead of recursing."),
    "duplicate": ("Node {node} appears {count} times: it is reachable along two paths. Keep a set of visited "
                  "nodes and skip a node you have seen."),
    "missing": ("Node {node} is missing from the order, although the root depends on it: every ancestor of the root "
                "must be listed, once."),
    "extra": "Your order contains {what}, which is not an ancestor of the root.",
    "reversed": ("Your order is reversed: the root came first. topo_sort lists inputs first and the root last; "
                 "backward() then walks it in reverse."),
    "parent_after": ("Node {node} comes before its parent {parent}: a node may be emitted only after all of its "
                     "parents (emit it when you come back to it, not when you first reach it)."),
}


def broken_topo_sort(root):
    """The notebook's starting point: correct, but recursive."""
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            for parent in node._prev:
                visit(parent)
            order.append(node)

    visit(root)
    return order


def _ancestors(parents, root):
    seen, stack = set(), [root]
    while stack:
        i = stack.pop()
        if i not in seen:
            seen.add(i)
            stack.extend(parents[i])
    return seen


class TopoSort(Exercise):

    def cases(self, rng):
        diamond = [[], [0], [0], [1, 2], [3, 0]]                   # 0 feeds 1 and 2, both feed 3; 4 = f(3, 0)
        fixed = [{"parents": diamond, "root": 4}]
        dag = [[]]
        for i in range(1, 30):
            k = int(rng.integers(1, min(i, 3) + 1))
            dag.append(sorted(int(p) for p in rng.choice(i, size=k, replace=False)))
        fixed.append({"parents": dag, "root": 29})
        n = 5000
        chain = [[]] + [[i - 1] for i in range(1, n)]
        chain[n - 1] = [n - 2, 0]                                  # the input is used again at the end
        fixed.append({"parents": chain, "root": n - 1})
        return fixed

    def run(self, obj, case):
        nodes = build_graph(case["parents"])
        try:
            order = obj(nodes[case["root"]])
        except RecursionError:
            return {"recursion_error": True}
        return {"order": [getattr(node, "name", node) for node in order]}

    def expected(self, case):
        return {"order": [node.name for node in topo_sort(build_graph(case["parents"])[case["root"]])]}

    def describe(self, case):
        n = len(case["parents"])
        if n <= 6:
            edges = ", ".join(f"{i} <- {ps}" for i, ps in enumerate(case["parents"]) if ps)
            return f"graph with {n} nodes (node <- its parents): {edges}; root {case['root']}"
        return f"graph with {n} nodes, root {case['root']} (depth up to {n})"

    def compare(self, got, want, case):
        parents, root = case["parents"], case["root"]
        if not isinstance(got, dict):
            return Mismatch(f"expected a list of nodes, received {hints.short_repr(got)}", hints.TYPE_HINT)
        if got.get("recursion_error"):
            return Mismatch(f"RecursionError on a graph {len(parents)} nodes deep",
                            TOPO_HINTS["recursion"].format(n=len(parents)))
        order = got["order"]
        needed = _ancestors(parents, root)
        shown = hints.short_repr(order, 120)
        if not order:
            return Mismatch(f"received an empty order, expected {len(needed)} nodes",
                            "Your order is empty: nothing was visited. " + TOPO_HINTS["missing"].format(node=root))
        counts = {}
        for name in order:
            counts[name] = counts.get(name, 0) + 1
        extra = [name for name in counts if name not in needed]
        if extra:
            return Mismatch(f"order {shown}", TOPO_HINTS["extra"].format(what=hints.short_repr(extra[0])))
        dup = next((name for name, c in counts.items() if c > 1), None)
        if dup is not None:
            return Mismatch(f"order {shown}", TOPO_HINTS["duplicate"].format(node=dup, count=counts[dup]))
        missing = sorted(needed - set(counts))
        if missing:
            return Mismatch(f"order {shown}", TOPO_HINTS["missing"].format(node=missing[0]))
        position = {name: i for i, name in enumerate(order)}
        late = next(((name, p) for name in order for p in parents[name] if position[p] > position[name]), None)
        if late is None:
            return None
        backwards = {name: len(order) - 1 - i for name, i in position.items()}
        if order[0] == root and all(backwards[p] < backwards[name] for name in order for p in parents[name]):
            return Mismatch(f"order {shown}", TOPO_HINTS["reversed"])
        return Mismatch(f"order {shown}", TOPO_HINTS["parent_after"].format(node=late[0], parent=late[1]))


# ----------------------------------------------------------------------------- 09.2 fan-out: += not =

FANOUT_HINTS = {
    "assign": ("You overwrote .grad with `=`: when the same value is used twice (x * x, or x feeding two ops) the "
               "second share replaced the first. Accumulate: a.grad += b.data * out.grad."),
    "swapped": ("Each input's gradient is the *other* input times out.grad: d(a*b)/da = b, so "
                "a.grad += b.data * out.grad (you used a.data)."),
    "no_upstream": ("You left out out.grad: the chain rule multiplies the local derivative (b for a) by the "
                    "upstream gradient out.grad."),
}


def broken_mul_backward(a, b, out):
    """The notebook's starting point: right for a single use, wrong at a fork."""
    a.grad = b.data * out.grad
    b.grad = a.data * out.grad


class Scalar:
    """A plain holder of ``data`` and ``grad`` for the checks (what a Value looks like to mul_backward)."""

    __slots__ = ("data", "grad")

    def __init__(self, data, grad=0.0):
        self.data, self.grad = float(data), float(grad)

    def __repr__(self):
        return f"Scalar(data={self.data:g}, grad={self.grad:g})"


class MulBackward(Exercise):

    def cases(self, rng):
        fixed = [{"a": 2.0, "b": 3.0, "g": 1.0, "a_grad": 0.0, "b_grad": 0.0, "same": False},
                 {"a": 3.0, "b": 3.0, "g": 1.0, "a_grad": 0.0, "b_grad": 0.0, "same": True},
                 {"a": -1.5, "b": 4.0, "g": 2.0, "a_grad": 0.5, "b_grad": -1.0, "same": False}]
        for _ in range(2):
            a, b, g, ga, gb = (float(v) for v in np.round(rng.normal(size=5) * 2, 3))
            fixed.append({"a": a, "b": b, "g": g, "a_grad": ga, "b_grad": gb, "same": False})
        a, g = (float(v) for v in np.round(rng.normal(size=2) * 2, 3))
        fixed.append({"a": a, "b": a, "g": g, "a_grad": 0.0, "b_grad": 0.0, "same": True})
        return fixed

    def _holders(self, case):
        a = Scalar(case["a"], case["a_grad"])
        b = a if case["same"] else Scalar(case["b"], case["b_grad"])
        out = Scalar(case["a"] * case["b"], case["g"])
        return a, b, out

    def run(self, obj, case):
        a, b, out = self._holders(case)
        obj(a, b, out)
        return [float(a.grad), float(b.grad)]

    def describe(self, case):
        if case["same"]:
            return f"out = x * x with x.data = {case['a']:g} (the same Value twice), out.grad = {case['g']:g}"
        return (f"a.data = {case['a']:g}, b.data = {case['b']:g}, out.grad = {case['g']:g}; before: a.grad = "
                f"{case['a_grad']:g}, b.grad = {case['b_grad']:g} (shares from other uses)")

    def suspects(self, case):
        out = []
        for name, fn in (("assign", broken_mul_backward), ("swapped", _mul_swapped), ("no_upstream", _mul_no_g)):
            a, b, o = self._holders(case)
            fn(a, b, o)
            out.append((FANOUT_HINTS[name], [a.grad, b.grad]))
        return out


def _mul_swapped(a, b, out):
    a.grad += a.data * out.grad
    b.grad += b.data * out.grad


def _mul_no_g(a, b, out):
    a.grad += b.data
    b.grad += a.data


# ----------------------------------------------------------------------------- 09.3 a forgotten unbroadcast

AFFINE_HINTS = {
    "first_axis_only": ("x has shape {shape}: gamma and beta were copied along every axis but the last, {lead}, and "
                        "you summed over axis 0 only. Sum over all of them: axis=tuple(range(x.ndim - 1))."),
    "mean": ("You averaged the {n} copies (mean) instead of adding them: each copy of gamma (and beta) receives its "
             "own full share of the gradient, and the shares add up. Use .sum(axis=...)."),
    "dx_no_gamma": ("dx is missing the factor gamma: y = x * gamma + beta, so dy/dx = gamma and "
                    "dx = grad_out * gamma."),
    "dx_times_x": ("dx is grad_out * x, the formula of dgamma: the derivative of x * gamma with respect to x is gamma, "
                   "so dx = grad_out * gamma."),
}


def broken_affine_backward(x, gamma, beta, grad_out):
    """The notebook's starting point: y = x * gamma + beta, with gamma and beta broadcast along the rows."""
    dx = grad_out * gamma
    dgamma = grad_out * x
    dbeta = grad_out
    return dx, dgamma, dbeta


class AffineBackward(Exercise):

    def cases(self, rng):
        cases = []
        for shape in [(2, 3), (5, 4), (2, 3, 4), (int(rng.integers(3, 9)), int(rng.integers(2, 7)))]:
            d = shape[-1]
            cases.append({"x": np.round(rng.normal(size=shape), 3), "gamma": np.round(rng.normal(size=d), 3),
                          "beta": np.round(rng.normal(size=d), 3), "grad_out": np.round(rng.normal(size=shape), 3)})
        return cases

    def run(self, obj, case):
        out = obj(case["x"], case["gamma"], case["beta"], case["grad_out"])
        return tuple(np.asarray(getattr(v, "data", v)) if v is not None else None for v in out)

    def describe(self, case):
        return (f"x {case['x'].shape}, gamma {case['gamma'].shape}, beta {case['beta'].shape}, "
                f"grad_out {case['grad_out'].shape}")

    def suspects(self, case):
        x, gamma, g = case["x"], case["gamma"], case["grad_out"]
        lead = tuple(range(x.ndim - 1))
        dx, dgamma, dbeta = g * gamma, (g * x).sum(axis=lead), g.sum(axis=lead)
        out = []
        if x.ndim >= 3:
            out.append((AFFINE_HINTS["first_axis_only"].format(shape=x.shape, lead=lead),
                        (dx, (g * x).sum(axis=0), g.sum(axis=0))))
        n = int(np.prod([x.shape[a] for a in lead]))
        out.append((AFFINE_HINTS["mean"].format(n=n), (dx, dgamma / n, dbeta / n)))
        out.append((AFFINE_HINTS["dx_no_gamma"], (g, dgamma, dbeta)))
        out.append((AFFINE_HINTS["dx_times_x"], (g * x, dgamma, dbeta)))
        return out


# ----------------------------------------------------------------------------- 09.4 in place after the forward pass

INPLACE_HINTS = {
    "input_changed": ("Your forward changed its input in place (np.tanh(x, out=x), x *= ..., x[...] = ...): the "
                      "caller's tensor now holds different numbers, and the array you saved for backward was "
                      "overwritten too. Compute into a new array (y = np.tanh(x)) and save what backward needs."),
    "grad_of_input": ("The gradient is g * (1 - x²) with x the *input*: the derivative of tanh is 1 - tanh(x)², so "
                      "square the output y = tanh(x) (save y in forward), not the input."),
    "output": "The forward value is wrong: Tanh.forward must return np.tanh(x).",
    "no_upstream": ("backward returned the local derivative 1 - y² alone: multiply it by the upstream gradient g "
                    "(chain rule), return g * (1 - y * y)."),
}


class BrokenTanh(Function):
    """The notebook's starting point: saves memory by computing tanh in place. Its gradients are wrong."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.tanh(x, out=x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * (1 - np.tanh(x) ** 2)


class TanhFunction(Exercise):

    def cases(self, rng):
        fixed = [{"x": np.array([-1.0, 0.0, 0.5, 2.0]), "g": np.ones(4)}]
        return fixed + [{"x": rng.normal(size=shape) * 1.5, "g": rng.normal(size=shape)} for shape in [(3, 4), (5,)]]

    def run(self, obj, case):
        x = Tensor(case["x"].copy(), requires_grad=True)
        y = obj.apply(x)
        output = np.array(y.data, dtype=np.float64)   # copied now: a later in-place change must not hide this
        y.backward(case["g"])
        return {"input_after": np.array(x.data), "output": output, "grad": np.array(x.grad)}

    def describe(self, case):
        return f"x = {hints.short_repr(case['x'])}, upstream g = {hints.short_repr(case['g'])}"

    def compare(self, got, want, case):
        if not isinstance(got, dict):
            return Mismatch(f"received {hints.short_repr(got)}", hints.TYPE_HINT)
        if got["input_after"].shape != want["input_after"].shape or not np.allclose(got["input_after"], want["input_after"]):
            return Mismatch(f"after forward, the input x holds {hints.short_repr(got['input_after'])} instead of "
                            f"{hints.short_repr(want['input_after'])}", INPLACE_HINTS["input_changed"])
        m = hints.compare_values(got["output"], want["output"], where="forward output")
        if m is not None:
            return Mismatch(m.message, INPLACE_HINTS["output"])
        suspects = [(INPLACE_HINTS["grad_of_input"], case["g"] * (1 - case["x"] ** 2)),
                    (INPLACE_HINTS["no_upstream"], 1 - np.tanh(case["x"]) ** 2)]
        return hints.compare_values(got["grad"], want["grad"], where="gradient of x", suspects=suspects)


# ----------------------------------------------------------------------------- 09.5 a stable log-softmax

SOFTMAX_HINTS = {
    "unstable": ("NaN or inf for large logits: np.exp(1000) overflows to inf, and inf / inf is NaN. Subtract each "
                 "row's maximum first, z - z.max(axis=1, keepdims=True); the result is the same mathematically."),
    "global_max": ("You shifted by the maximum of the whole array: a row far below it underflows (exp(-2000) = 0) "
                   "and its log is -inf. Shift each row by its own maximum: z.max(axis=1, keepdims=True)."),
    "softmax": "You returned the softmax probabilities: log_softmax is their logarithm (z - max - log Σ exp).",
    "no_keepdims": ("The maximum or the sum was taken without keepdims=True, so it broadcast along the wrong axis: "
                    "use z.max(axis=1, keepdims=True) and .sum(axis=1, keepdims=True)."),
    "no_shift_back": ("You subtracted the maximum but forgot it inside the log-sum-exp (or vice versa): "
                      "log_softmax(z) = (z - m) - log Σ exp(z - m), with the same m in both places."),
    "log_of_softmax": ("-inf where a logit is far below its row's maximum: you took the log of the softmax, and "
                       "exp(z - m) underflowed to 0 before the log (log 0 = -inf). Don't divide and then take the "
                       "log; use the identity log_softmax(z) = (z - m) - log Σ exp(z - m)."),
    "axis0": ("You normalised each column (axis=0): each row is one example, so take the max and the sum along "
              "axis=1 (with keepdims=True)."),
}


def broken_log_softmax(z):
    """The notebook's starting point: the textbook formula, NaN for large logits."""
    e = np.exp(z)
    return np.log(e / e.sum(axis=1, keepdims=True))


class LogSoftmax(Exercise):

    def cases(self, rng):
        return [
            {"z": np.array([[1.0, 2.0, 3.0], [0.5, 0.5, -1.0]])},
            {"z": np.array([[1000.0, 1001.0, 1002.0], [-5.0, 0.0, 5.0]])},
            {"z": np.array([[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -1003.0], [-400.0, 400.0, 0.0]])},
            {"z": rng.normal(size=(4, 4)) * 300},
            {"z": rng.normal(size=(5, 7)) * 3},
        ]

    def run(self, obj, case):
        with np.errstate(all="ignore"):
            out = obj(case["z"].copy())
        return np.asarray(getattr(out, "data", out), dtype=np.float64)

    def describe(self, case):
        return f"z = {hints.short_repr(case['z'])}"

    def compare(self, got, want, case):
        z = case["z"]
        with np.errstate(all="ignore"):
            m = z.max(axis=1, keepdims=True)
            wrong = {
                "global_max": (z - z.max()) - np.log(np.exp(z - z.max()).sum(axis=1, keepdims=True)),
                "softmax": np.exp(want),
                "no_shift_back": (z - m) - np.log(np.exp(z).sum(axis=1, keepdims=True)),
                "log_of_softmax": np.log(np.exp(z - m) / np.exp(z - m).sum(axis=1, keepdims=True)),
                "axis0": self.reference(z.T).T,
            }
            if z.shape[0] == z.shape[1]:   # without keepdims, (n,) broadcasts along the rows: runs only when square
                wrong["no_keepdims"] = (z - z.max(axis=1)) - np.log(np.exp(z - z.max(axis=1)).sum(axis=1))
        if got.shape == want.shape and np.allclose(got, want, rtol=1e-9, atol=1e-9):
            return None
        message = f"expected {hints.short_repr(want)}, received {hints.short_repr(got)}"
        for name, w in wrong.items():
            if name == "log_of_softmax" and np.all(np.isfinite(w)):
                continue                   # no underflow in this case: the same numbers as the right answer
            if w.shape == got.shape and np.allclose(got, w, rtol=1e-9, atol=1e-9, equal_nan=True):
                return Mismatch(message, SOFTMAX_HINTS[name])
        if got.shape == want.shape and not np.all(np.isfinite(got)):
            return Mismatch(message, SOFTMAX_HINTS["unstable"])
        return hints.compare_values(got, want, rtol=1e-9, atol=1e-9)


# ----------------------------------------------------------------------------- 09.6 initialisation

INIT_HINTS = {
    "standard": ("Your weights have standard deviation {std:.3g}, rng.normal's default scale: with {n_in} inputs "
                 "each pre-activation then has a spread of about sqrt({n_in}) = {root:.3g}, so activations explode "
                 "(or tanh saturates) layer after layer. Scale them: {rule}."),
    "he_for_tanh": ("Your weights have He's scale, sqrt(2 / n_in), but this layer uses {act}: use Glorot's, "
                    "variance 2 / (n_in + n_out), e.g. uniform(-a, a) with a = sqrt(6 / (n_in + n_out))."),
    "glorot_for_relu": ("Your weights have Glorot's scale but this layer uses ReLU, which zeroes half of its inputs: "
                        "use He's, normal with standard deviation sqrt(2 / n_in)."),
    "no_sqrt": ("Your standard deviation is {std:.3g}, the *variance* the rule asks for: take the square root, "
                "e.g. std = np.sqrt(2 / n_in)."),
    "zeros": ("Your weights are all equal (zero): every unit of the layer computes the same thing and gets the same "
              "gradient, so they never become different. Draw them at random with the scale {rule}."),
    "shape": "The weights must have shape (n_in, n_out) = {want} (y = x @ W); received {got}.",
    "rng": ("Two calls with generators of the same seed gave different weights: draw from the rng argument "
            "(rng.normal(...)), not from np.random or a new generator."),
    "scale": "Your weights have standard deviation {std:.3g}, expected about {want:.3g} ({rule}).",
    "mean": "Your weights have mean {mean:.3g}: draw them centred on 0.",
    "uniform_bound": ("Your weights have standard deviation {std:.3g}, 1/sqrt(3) of Glorot's: uniform(-a, a) has "
                      "variance a²/3, not a², so for variance 2 / (n_in + n_out) the bound is "
                      "a = sqrt(6 / (n_in + n_out))."),
}

RULES = {"relu": "He: normal with std sqrt(2 / n_in)",
         "tanh": "Glorot: variance 2 / (n_in + n_out), e.g. uniform(-a, a), a = sqrt(6 / (n_in + n_out))",
         "sigmoid": "Glorot: variance 2 / (n_in + n_out), e.g. uniform(-a, a), a = sqrt(6 / (n_in + n_out))"}


def target_std(n_in, n_out, activation):
    return np.sqrt(2.0 / n_in) if activation == "relu" else np.sqrt(2.0 / (n_in + n_out))


def broken_init_weights(n_in, n_out, activation, rng):
    """The notebook's starting point: standard normal weights, whatever the layer."""
    return rng.normal(0.0, 1.0, size=(n_in, n_out))


class InitWeights(Exercise):

    def cases(self, rng):
        return [{"n_in": 784, "n_out": 256, "activation": "relu", "seed": 0},
                {"n_in": 256, "n_out": 64, "activation": "tanh", "seed": 1},
                {"n_in": 400, "n_out": 100, "activation": "sigmoid", "seed": int(rng.integers(1 << 30))},
                {"n_in": 128, "n_out": 512, "activation": "relu", "seed": int(rng.integers(1 << 30))}]

    def run(self, obj, case):
        args = case["n_in"], case["n_out"], case["activation"]
        w = np.asarray(obj(*args, np.random.default_rng(case["seed"])), dtype=np.float64)
        again = np.asarray(obj(*args, np.random.default_rng(case["seed"])), dtype=np.float64)
        return {"shape": list(w.shape), "std": float(w.std()), "mean": float(w.mean()),
                "seeded": bool(w.shape == again.shape and np.array_equal(w, again))}

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
                hint = hints.TRANSPOSE.split(":")[0] + ". " + hint
            return Mismatch(f"expected shape {tuple(want['shape'])}, received {tuple(got['shape'])}", hint)
        std, target = got["std"], want["std"]
        message = f"standard deviation {std:.4g}, expected {target:.4g} (within 5%)"
        if std == 0:
            return Mismatch(message, INIT_HINTS["zeros"].format(rule=rule))
        if abs(std / target - 1) > 0.05:
            he, glorot = np.sqrt(2 / n_in), np.sqrt(2 / (n_in + n_out))
            if abs(std - 1) < 0.05:
                hint = INIT_HINTS["standard"].format(std=std, n_in=n_in, root=np.sqrt(n_in), rule=rule)
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
        return None


# ----------------------------------------------------------------------------- broken originals

BROKEN = {"09.1": broken_topo_sort, "09.2": broken_mul_backward, "09.3": broken_affine_backward,
          "09.4": BrokenTanh, "09.5": broken_log_softmax, "09.6": broken_init_weights}


