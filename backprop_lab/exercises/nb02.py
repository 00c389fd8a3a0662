"""Checks for notebook 02, the scalar chain rule (the exercises themselves are in solutions/02_*.md).

The node exercises (02.2-02.5) hand the learner's function probe nodes (``Node``): plain objects
with ``data``, ``grad``, ``_prev``, ``_op``, ``label`` and ``_backward``, and no arithmetic, so only
what the function does to ``.data`` and ``.grad`` counts. Each case sets an upstream gradient other
than 1 and, after the first cases, a gradient the inputs already had (from another use), so that a
``_backward`` that forgets ``out.grad`` or overwrites with ``=`` cannot pass. Each check recognises
the classic wrong versions of its rule and names the one it sees. Right answers come from the
notebook's own solutions (``backprop_lab.references.nb02``), and for the whole class from the engine's
``Value``.
"""
from __future__ import annotations

import math
import re

import numpy as np

from . import hints
from .framework import Exercise, Mismatch, run_watching


class Node:
    """A probe node for the checks: the graph interface of a Value, and nothing else (no arithmetic)."""

    def __init__(self, data, label="", grad=0.0):
        self.data = float(data)
        self.grad = float(grad)
        self._prev = ()
        self._op = ""
        self.label = label
        self._backward = lambda: None

    def __repr__(self):
        return f"Node({self.label}={self.data:g}, grad={self.grad:g})"


def _close(got, want, rtol=1e-7, atol=1e-10) -> bool:
    return hints.close(got, want, rtol=rtol, atol=atol)


def _recognise(got, variants) -> str | None:
    """The hint of the first known wrong answer that ``got`` reproduces, else None."""
    for value, hint in variants:
        if value is not None and _close(got, value):
            return hint
    return None


def _number(x):
    """A learner's number (float, int, numpy scalar, or a Value's .data) as a float; None if it is not one."""
    if hasattr(x, "data") and not isinstance(x, (np.ndarray, np.generic)):
        x = x.data
    if isinstance(x, (str, bytes, bool)):
        return None
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return float(arr) if arr.shape == () else None


def _plain_number(x) -> bool:
    """A number the notebook can compute with as it is: int, float, NumPy scalar, or a 0-d array of one (what
    np.array(...) or a NumPy reduction of a computation gives); not a bool, a Value, a list or a longer array."""
    if isinstance(x, np.ndarray) and x.shape == ():
        return x.dtype.kind in "iuf"
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


# ----------------------------------------------------------------------------- 02.1 by hand

HAND_HINTS = {
    "no_upstream": (
        "These are the local gradients only (dz/dw and dz/dx). The chain rule multiplies each by the upstream "
        "gradient, dL/dz, which the squaring step hands back."),
    "no_two": (
        "Exactly half the expected values: d(z²)/dz = 2z, not z. The factor 2 is missing."),
    "swapped": (
        "dL/dw and dL/dx are swapped: a multiply gate swaps its inputs, so the gradient of w carries x "
        "(dz/dw = x) and the gradient of x carries w (dz/dx = w)."),
    "sign": "The sign is wrong: compute the forward value z first; its sign carries into dL/dz.",
    "forward": "That is a forward value (z or L), not a derivative: the question asks for dL/dw and dL/dx.",
    "no_upstream_one": (
        "{name} is a local gradient only ({local}): the chain rule multiplies it by the upstream gradient dL/dz, "
        "which the squaring step hands back."),
    "no_two_one": "{name} is missing a factor from the squaring step: d(z²)/dz = 2z, not z.",
    "sign_one": "{name} has the wrong sign: compute the forward value z first; its sign carries into dL/dz.",
    "swapped_one": (
        "{name} carries the wrong input: a multiply gate swaps, so the gradient of w carries x (dz/dw = x) and "
        "the gradient of x carries w (dz/dx = w)."),
    "upstream_only": (
        "{name} is the upstream gradient dL/dz alone: multiply it by the local gradient of {var}, dz/d{var}."),
    "upstream_only_both": (
        "Both numbers are the upstream gradient dL/dz alone: the chain rule multiplies it by each input's own "
        "local gradient, dz/dw for w and dz/dx for x."),
    "pair": ("Give two numbers, dL_dw and dL_dx, as plain Python numbers (e.g. dL_dw = 4.5), not strings, lists "
             "or Values."),
    "other": ("Work it again one step at a time, writing each number down: the forward value z, the upstream "
              "gradient dL/dz, the local gradients dz/dw and dz/dx, and the products along each path."),
}

HAND_CASE = {"w": -3.0, "x": 2.0, "b": 1.0}


class ChainRuleByHand(Exercise):
    rtol, atol = 1e-9, 1e-12
    show_expected = False    # the expected numbers ARE the answer: a wrong try must not be shown them

    def cases(self, rng):
        return [dict(HAND_CASE)]

    def run(self, obj, case):
        if not isinstance(obj, (tuple, list)) or len(obj) != 2:
            return {"problem": "pair", "got": hints.short_repr(obj)}
        missing = [name for name, v in zip(("dL_dw", "dL_dx"), obj) if v is None or v is Ellipsis]
        if missing:
            raise NotImplementedError(f"Exercise 02.1 is not done yet: {' and '.join(missing)} "
                                      f"{'is' if len(missing) == 1 else 'are'} still None; set both to numbers.")
        values = [_number(v) for v in obj]
        plain = all(_plain_number(v) for v in obj)
        if None in values or not plain:  # a Value, a 1-element array ...: the notebook needs plain numbers
            return {"problem": "pair", "got": hints.short_repr(obj)}
        return values

    def compare(self, got, want, case):
        if isinstance(got, dict):
            return Mismatch(f"expected two numbers (dL_dw, dL_dx), received {got['got']}", HAND_HINTS["pair"])
        if _close(got, want):
            return None
        w, x, b = case["w"], case["x"], case["b"]
        z = w * x + b
        hint = _recognise(got, [
            ([x, w], HAND_HINTS["no_upstream"]),
            ([z * x, z * w], HAND_HINTS["no_two"]),
            ([2 * z * w, 2 * z * x], HAND_HINTS["swapped"]),
            ([-2 * z * x, -2 * z * w], HAND_HINTS["sign"]),
            ([2 * z, 2 * z], HAND_HINTS["upstream_only_both"]),
        ])
        if hint is None and any(_close(v, f) for v in got for f in (z, z * z)):
            hint = HAND_HINTS["forward"]
        wrong = [name for name, g, v in zip(("dL_dw", "dL_dx"), got, want) if not _close(g, v)]
        if hint is None and len(wrong) == 1:   # one number right, the other with a slip of its own
            k = 0 if wrong[0] == "dL_dw" else 1
            local, other = (x, w)[k], (w, x)[k]
            hint = _recognise(got[k], [
                (local, HAND_HINTS["no_upstream_one"].format(name=wrong[0], local=f"dz/d{'wx'[k]}")),
                (z * local, HAND_HINTS["no_two_one"].format(name=wrong[0])),
                (-2 * z * local, HAND_HINTS["sign_one"].format(name=wrong[0])),
                (2 * z * other, HAND_HINTS["swapped_one"].format(name=wrong[0])),
                (2 * z, HAND_HINTS["upstream_only"].format(name=wrong[0], var="wx"[k])),
            ])
        # the expected numbers are the answer: the message says which is wrong, not what it should be
        message = (f"received dL_dw = {got[0]:g}, dL_dx = {got[1]:g}: "
                   f"{' and '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} not right")
        generic = hints.diagnose(np.array(got), np.array(want))
        return Mismatch(message, hint or hints.plain_value_hint(generic, HAND_HINTS["other"]))

    def describe(self, case):
        return "L = (w*x + b)**2 with w = -3, x = 2, b = 1"


# ----------------------------------------------------------------------------- node exercises 02.2-02.5

NODE_HINTS = {
    "none": "Your function returned None: it must `return out`, the new node.",
    "not_value": ("Your function returned a {type}, not a node: build the result as MyValue(data, (a, b), op) "
                  "so it remembers its inputs, and return it."),
    "data": "The forward value out.data is wrong: {detail}",
    "data_from_inputs": "compute it from the inputs' .data.",
    "data_given": "the forward value is given: keep div's first line as it is.",
    "prev": ("out._prev should hold exactly the nodes the result was computed from, {want}; it holds {got}. "
             "They are the second argument of MyValue, a tuple of nodes. backward() follows _prev to find every "
             "node.{extra}"),
    "prev_number": " A number such as the exponent k is not a node: it has no gradient and stays out of _prev.",
    "op": ("out._op is {got!r}: name the operation that made the node ({want}), the third argument of MyValue; "
           "draw_graph and step_through show it in every picture of the graph."),
    "not_tuple": ("The children of a node are a TUPLE of nodes, and (a) is not a tuple: brackets around one value "
                  "only group it. A tuple of one element needs a comma."),
    "early_upstream": ("Your _backward never looks at out when it runs: it uses a value of out.grad read when the "
                       "node was built, and that is 0 (the backward pass sets out.grad later). Read out.grad inside "
                       "_backward, at the moment the backward pass calls it."),
    "no_backward": "out._backward is not a function: define `def _backward(): ...` and assign `out._backward = _backward`.",
    "arithmetic": ("Your code did arithmetic on a node, or passed one to `math`, where a number belongs: the "
                   "inputs are nodes, and their numbers are in `.data` (the gradient flowing in, in `out.grad`)."),
    "untouched": ("Your _backward did not change any input's .grad. Did you define `_backward` but forget "
                  "`out._backward = _backward`, or only compute the gradient without adding it to `.grad`? Or is "
                  "the share you add 0 here (an int() that rounds the exponent, say)?"),
    "zeros": ("The inputs' .grad are all zero after your _backward: the gradient was reset or never written, or "
              "what you multiplied by was 0 (an input's .grad, say, where its number, .data, belongs). Each input "
              "must receive its share, local gradient times upstream gradient (section 3), and the function must "
              "attach its _backward to out."),
    "overwrite": ("The input already had a gradient ({before}) from another use, and your _backward replaced it: "
                  "`=` where `+=` is needed. A value used in several places gets one share from each use, and "
                  "the shares add up; `+=` keeps the earlier ones."),
    "overwrite_fork": ("For {expr} (the same node is both inputs) the gradient must count both uses: your "
                       "_backward kept only one of the two shares (it overwrote the first with the second, or "
                       "skipped one because both inputs are the same node). Add both, with `+=`, never `=`."),
    "no_upstream": ("Your gradient is the local gradient alone: the chain rule multiplies it by the upstream "
                    "gradient, out.grad (here {g:g}, not 1)."),
    "sign": "Right size, wrong sign: the local gradient here is {local}; check for a minus too many or too few.",
    "seeded": ("Right gradients, but your function gives the new node a gradient when it builds it (out.grad = "
               "{seeded:g}). A new node's gradient starts at 0: it is filled in by the backward pass alone, which "
               "sets the root's to 1 and adds every share that arrives, so a gradient set in the forward pass is "
               "counted on top of them."),
    "upstream_changed": ("Your _backward changed out.grad, the node's own gradient: after the backward pass every "
                         "node must still hold d output / d node (draw_graph and step_through show it), and a node's "
                         "_backward only hands shares on to its INPUTS."),
    "unknown": ("The gradients are wrong. Derive the local gradient d out / d input of each input on paper, check "
                "it with central differences, and remember the rule of section 3: local times upstream, added "
                "to what the input already holds."),
}


def _node_problem(out, inputs):
    """What is structurally wrong with a learner's result node, as (key, details), or None."""
    if out is None:
        return "none", {}
    if not hasattr(out, "data") or not hasattr(out, "grad"):
        return "not_value", {"type": type(out).__name__}
    if _number(out.data) is None:
        return "not_value", {"type": f"node whose .data is a {type(out.data).__name__}"}
    prev = getattr(out, "_prev", None)
    try:
        prev_ids = {id(p) for p in prev}
    except TypeError:
        prev_ids = None
    want_ids = {id(n) for n in inputs}
    if prev_ids != want_ids:
        def names(nodes):
            shown = [getattr(p, "label", "?") or "?" if isinstance(p, Node) else hints.short_repr(p, 20)
                     for p in nodes]
            return "(" + ", ".join(shown) + ("," if len(shown) == 1 else "") + ")"
        got = names(prev) if prev_ids is not None else repr(prev)
        numbers = prev_ids is not None and any(isinstance(p, (int, float)) for p in prev)
        return "prev", {"want": names(inputs), "got": got, "extra": NODE_HINTS["prev_number"] if numbers else ""}
    if not callable(getattr(out, "_backward", None)):
        return "no_backward", {}
    return None


def _reads_out_later(out) -> bool:
    """False when ``out._backward`` is a closure that does not hold ``out``: it cannot read out.grad when called.

    (A _backward that is not a closure -- the default, a bound method, a partial -- is not judged: True.)
    """
    cells = getattr(out._backward, "__closure__", None)
    if not cells:
        return True
    held = []
    for cell in cells:
        try:
            held.append(cell.cell_contents)
        except ValueError:      # an empty cell
            continue
    return any(v is out for v in held)


class _NodeOp(Exercise):
    """Shared by 02.2-02.5. Subclasses set ``arity`` and define ``forward`` and ``locals_`` (d out/d input)."""

    arity = 2
    rtol, atol = 1e-7, 1e-10
    symbol = "?"

    def op_test(self, case):
        """How ``out._op`` is judged: (accepts, what it should name). By default any non-empty name that is not
        another operation's symbol (the '+' of add, copied with its code, labels a product wrongly)."""
        others = {"+", "-", "*", "/", "**", "tanh"} - {self.symbol}
        return (lambda op: bool(op.strip()) and op.strip() not in others), f"'{self.symbol}'"

    # ---- the maths, from the notebook's own solution (``backprop_lab.references.nb02``)
    def reference_pass(self, xs, case, upstream):
        """The reference operation on fresh probe nodes holding ``xs``: (out.data, the nodes' .grad after one
        ``_backward`` with ``out.grad = upstream``, starting from 0)."""
        nodes = [Node(x, label) for x, label in zip(xs, "ab")]
        out = self.call(self.reference, nodes, case)
        out.grad = upstream
        out._backward()
        return out.data, [n.grad for n in nodes]

    def forward(self, xs, case):
        return self.reference_pass(xs, case, 0.0)[0]

    def locals_(self, xs, case):
        """The local gradients d out / d input, one per argument position."""
        return self.reference_pass(xs, case, 1.0)[1]

    def wrong_locals(self, xs, case) -> list[tuple[list, str]]:
        """Known wrong local gradients with their hints (accumulated with += and multiplied by upstream)."""
        return []

    def call(self, obj, nodes, case):
        return obj(*nodes)

    def expr(self, case) -> str:
        names = ["a", "a"] if case.get("same") else ["a", "b"]
        return f"{names[0]} {self.symbol} {names[1]}"

    # ---- the check
    def run(self, obj, case):
        xs, g0 = case["inputs"], case["grads0"]
        unique = [Node(x, label, grad) for x, label, grad in zip(xs, "ab", g0)]
        args = [unique[0]] * self.arity if case.get("same") else unique
        out = self.call(obj, args, case)
        problem = _node_problem(out, unique)
        if problem is not None:
            return {"problem": problem[0], "at": self.describe(case), **problem[1]}
        data = _number(out.data)
        early = not _reads_out_later(out)
        op = getattr(out, "_op", None)
        op_ok = isinstance(op, str) and self.op_test(case)[0](op)
        seeded = _number(out.grad)
        out.grad = case["upstream"]
        out._backward()
        grads = [_number(n.grad) for n in unique]
        if None in grads:
            return {"problem": "not_value", "at": self.describe(case), "type": "gradient that is not a number"}
        result = {"data": data, "grads": grads}
        if early:   # these keys only when there is something to report, so a right answer equals the expected one
            result["early_upstream"] = True
        if _number(out.grad) != case["upstream"]:
            result["upstream_after"] = _number(out.grad) if _number(out.grad) is not None else repr(out.grad)
        if seeded != 0:
            result["seeded"] = seeded if seeded is not None else repr(out.grad)
        if not op_ok:   # plain data only (the grader carries it between processes)
            result["bad_op"] = op if isinstance(op, str) or op is None else hints.short_repr(op, 40)
        return result

    def _args(self, case):
        xs = case["inputs"]
        return [xs[0]] * self.arity if case.get("same") else list(xs)

    def _grads(self, case, local, *, overwrite=False, upstream=None):
        """Input gradients after one _backward with these local gradients (accumulated, or overwritten with =)."""
        g = case["upstream"] if upstream is None else upstream
        grads = list(case["grads0"])
        positions = [0] * self.arity if case.get("same") else list(range(self.arity))
        for pos, lg in zip(positions, local):
            grads[pos] = lg * g if overwrite else grads[pos] + lg * g
        return grads

    def compare(self, got, want, case):
        if "problem" in got:
            key = got.pop("problem")
            return Mismatch(f"{self.expr(case)}: the result node is not usable", NODE_HINTS[key].format(**got))
        if not _close(got["data"], want["data"]):
            return Mismatch(f"{self.expr(case)}: forward value expected {want['data']:.6g}, received "
                            f"{got['data']:.6g}", NODE_HINTS["data"].format(detail=self.data_hint(case, got["data"])))
        if _close(got["grads"], want["grads"], self.rtol, self.atol):
            if "seeded" in got:
                return Mismatch(f"{self.expr(case)}: right gradients for the inputs, but the new node's gradient was "
                                f"{got['seeded']} before the backward pass", NODE_HINTS["seeded"].format(**got))
            if "upstream_after" in got:
                return Mismatch(f"{self.expr(case)}: right gradients for the inputs, but out.grad went from "
                                f"{case['upstream']:g} to {got['upstream_after']} during _backward",
                                NODE_HINTS["upstream_changed"])
            if "bad_op" in got:   # the maths is right: only the node's name for pictures is missing
                return Mismatch(f"{self.expr(case)}: right value and gradients, but out._op is {got['bad_op']!r}",
                                NODE_HINTS["op"].format(got=got["bad_op"], want=self.op_test(case)[1]))
            return None
        args, g = self._args(case), case["upstream"]
        local = self.locals_(args, case)
        names = "ab"[: len(case["grads0"])]
        message = (f"{self.expr(case)} with upstream out.grad = {g:g} and inputs' grad before = "
                   f"{_fmt(case['grads0'])}: expected grads after {_fmt(want['grads'])}, received {_fmt(got['grads'])} "
                   f"(for {', '.join(names)})")
        had = any(v != 0 for v in case["grads0"])
        variants = [([0.0] * len(names), NODE_HINTS["zeros"]), (list(case["grads0"]), NODE_HINTS["untouched"])]
        overwrite = self._grads(case, local, overwrite=True)
        if case.get("same") and not had:
            hint = NODE_HINTS["overwrite_fork"].format(expr=self.expr(case))
            variants.append((overwrite, hint))
            # the lines in the other order: the first input's share written last, with `=`
            variants.append((self._grads(case, local[::-1], overwrite=True), hint))
        elif had:
            variants.append((overwrite, NODE_HINTS["overwrite"].format(before=_fmt(case["grads0"]))))
        variants.append((self._grads(case, local, upstream=1.0), NODE_HINTS["no_upstream"].format(g=g)))
        variants.append((self._grads(case, [-v for v in local]), NODE_HINTS["sign"].format(
            local=", ".join(f"{v:.4g}" for v in local))))
        for wrong, hint in self.wrong_locals(args, case):
            variants.append((self._grads(case, wrong), hint))
            variants.append((self._grads(case, wrong, overwrite=True), hint))
        hint = self.extra_hint(case, got) or _recognise(got["grads"], variants) or NODE_HINTS["unknown"]
        if got.get("early_upstream") and hint in (NODE_HINTS["zeros"], NODE_HINTS["unknown"]):
            hint = NODE_HINTS["early_upstream"]
        return Mismatch(message, hint)

    def data_hint(self, case, data) -> str:
        return NODE_HINTS["data_from_inputs"]

    def error_hint(self, exc):
        if isinstance(exc, TypeError) and "object is not iterable" in str(exc) and "Node" in str(exc):
            return NODE_HINTS["not_tuple"]     # MyValue(data, a, op) or MyValue(data, (a), op)
        if isinstance(exc, TypeError) and "Node" in str(exc):
            return NODE_HINTS["arithmetic"]
        return super().error_hint(exc)

    def extra_hint(self, case, got) -> str | None:
        return None

    def describe(self, case):
        names = "ab"
        xs = ", ".join(f"{n}.data = {x:g}" for n, x in zip(names, case["inputs"]))
        return f"{self.expr(case)} with {xs}"


def _fmt(values, spec=".6g") -> str:
    """``[1.5, -3]``: the numbers with 6 significant digits, or every digit (repr) with ``spec="r"``."""
    return "[" + ", ".join(repr(float(v)) if spec == "r" else f"{v:{spec}}" for v in values) + "]"


def _random_inputs(rng, n, low=0.4, high=2.5):
    return [float(np.round(rng.uniform(low, high) * rng.choice([-1.0, 1.0]), 3)) for _ in range(n)]


def _node_cases(rng, n_inputs, *, fork=True, positive=False):
    """Readable fixed cases first (no earlier gradient; a fork), then random ones with earlier gradients."""
    first = [2.0, -3.0][:n_inputs]
    cases = [{"inputs": first, "grads0": [0.0] * n_inputs, "upstream": 1.5, "same": False}]
    if fork:
        cases.append({"inputs": [1.5], "grads0": [0.0], "upstream": 2.0, "same": True})
    cases.append({"inputs": [-0.5, 4.0][:n_inputs], "grads0": [0.25, -1.0][:n_inputs], "upstream": -0.75,
                  "same": False})
    for k in range(3):
        same = bool(fork and k == 1)
        n = 1 if same else n_inputs
        xs = _random_inputs(rng, n)
        if positive:
            xs = [abs(x) for x in xs]
        cases.append({"inputs": xs, "grads0": [float(np.round(rng.normal(), 3)) for _ in range(n)],
                      "upstream": float(np.round(rng.uniform(0.5, 2.0) * rng.choice([-1.0, 1.0]), 3)),
                      "same": same})
    return cases


class Mul(_NodeOp):
    arity, symbol = 2, "*"

    def cases(self, rng):
        cases = _node_cases(rng, 2)
        # an input of 0 (a ReLU's output, say): a local gradient recovered as out.data / a.data divides by zero
        cases.insert(3, {"inputs": [0.0, 2.5], "grads0": [0.5, -0.25], "upstream": 1.25, "same": False})
        return cases

    def wrong_locals(self, xs, case):
        a, b = xs
        return [([a, b], MUL_HINTS["own_value"]), ([1.0, 1.0], MUL_HINTS["add_rule"])]


MUL_HINTS = {
    "own_value": ("A multiply gate swaps (section 4): each input's local gradient is the value of the OTHER "
                  "input. You gave each input its own value."),
    "add_rule": ("That is the add gate's rule (local gradient 1). How much does a * b move when a moves by a "
                 "little? That depends on b (section 4's gate table)."),
}


def _tanh_cases(rng):
    cases = [{"inputs": [0.5], "grads0": [0.0], "upstream": 1.5},
             {"inputs": [-1.2], "grads0": [0.0], "upstream": -2.0},
             {"inputs": [0.8], "grads0": [0.5], "upstream": 1.25},
             # a saturated neuron: tanh is exactly -1 here, but e^x and cosh(x) overflow a float beyond x = 709.78
             {"inputs": [-750.0], "grads0": [0.25], "upstream": 1.5}]
    for _ in range(3):
        cases.append({"inputs": _random_inputs(rng, 1, 0.2, 1.8), "grads0": [float(np.round(rng.normal(), 3))],
                      "upstream": float(np.round(rng.uniform(0.5, 2.0) * rng.choice([-1.0, 1.0]), 3))})
    return cases


TANH_HINTS = {
    "input": ("You used the input x where the output t = tanh(x) belongs: the derivative of section 6 is written "
              "with tanh's OUTPUT, 1 - x² is a different function."),
    "no_square": "Your local gradient is 1 - t, without the square that section 6's derivation gives.",
    "t_only": "The local gradient of tanh is not t (or t²): look at section 6's derivation again.",
    "data": "out.data must be the tanh of the input's number (math.tanh computes it).",
    "overflow": ("For a large input (a saturated neuron) your tanh overflows: e^x and cosh(x) exceed the largest "
                 "float beyond x = 709.78, long before tanh(x) stops being ±1. math.tanh computes tanh safely for "
                 "every input, and the local gradient of section 6 needs only its output t."),
}


class Tanh(_NodeOp):
    arity, symbol = 1, "tanh"

    def cases(self, rng):
        return _tanh_cases(rng)

    def expr(self, case):
        return "tanh(a)"

    def wrong_locals(self, xs, case):
        x, t = xs[0], math.tanh(xs[0])
        return [([1.0 - x * x], TANH_HINTS["input"]), ([1.0 - t], TANH_HINTS["no_square"]),
                ([t], TANH_HINTS["t_only"]), ([t * t], TANH_HINTS["t_only"])]

    def data_hint(self, case, data):
        return TANH_HINTS["data"] if math.isfinite(data) else TANH_HINTS["overflow"]

    def error_hint(self, exc):
        if isinstance(exc, OverflowError):
            return TANH_HINTS["overflow"]
        return super().error_hint(exc)

    def extra_hint(self, case, got):
        if not all(math.isfinite(g) for g in got["grads"]):      # NumPy's overflow: inf and nan, no error
            return TANH_HINTS["overflow"]
        return None


POW_HINTS = {
    "k_number": ("k is a plain number, the exponent, not a node: it has no .data (and no gradient); use k as it is. "
                 "Only a is a node."),
    "k_not_k_minus_1": "The power rule lowers the exponent by one: d(x^k)/dx = k x^(k-1), not k x^k.",
    "no_k": "The power rule brings the exponent down as a factor: d(x^k)/dx = k x^(k-1); the factor k is missing.",
    "k_minus_1": "The factor in front is k, not k - 1: d(x^k)/dx = k x^(k-1).",
    "data": "out.data must be the input's number raised to the power k.",
    "abs_base": ("Right for positive a, wrong for a negative one: your local gradient has lost a's sign (an abs(), or "
                 "a logarithm, which needs a positive number). The power rule holds for negative a too, with a itself "
                 "in the formula."),
    "zero_base": ("Your local gradient divides by a (out.data / a.data, say), and a is 0 here, where a ** k and its "
                  "derivative are perfectly fine for k ≥ 1. Compute the power rule's formula itself."),
}


class Power(_NodeOp):
    arity, symbol = 1, "**"

    def cases(self, rng):
        fixed = [{"inputs": [1.5], "k": 3, "grads0": [0.0], "upstream": 2.5},
                 {"inputs": [2.0], "k": -1, "grads0": [0.0], "upstream": 2.0},
                 {"inputs": [1.5], "k": 2, "grads0": [0.5], "upstream": -1.0},
                 {"inputs": [4.0], "k": 0.5, "grads0": [-0.25], "upstream": 0.75},
                 # a negative base (a difference pred - y, squared) and 0 (a prediction right on target)
                 {"inputs": [-1.5], "k": 2, "grads0": [0.0], "upstream": 1.0},
                 {"inputs": [0.0], "k": 2, "grads0": [0.25], "upstream": 1.5}]
        rand = []
        for _ in range(2):
            rand.append({"inputs": [float(np.round(rng.uniform(0.5, 2.5), 3))],
                         "k": float(rng.choice([2, 3, -2, 1.5])), "grads0": [float(np.round(rng.normal(), 3))],
                         "upstream": float(np.round(rng.uniform(0.5, 2.0) * rng.choice([-1.0, 1.0]), 3))})
        return fixed + rand

    def call(self, obj, nodes, case):
        return obj(nodes[0], case["k"])

    def op_test(self, case):
        k = case["k"]
        shown = {f"{k:g}", str(k), str(float(k))} | ({str(int(k))} if float(k).is_integer() else set())
        return (lambda op: "**" in op and any(s in op for s in shown)), f"'**' with the exponent, '**{k:g}'"

    def expr(self, case):
        return f"a ** {case['k']:g}"

    def wrong_locals(self, xs, case):
        x, k = xs[0], case["k"]
        out = [([k * x ** k], POW_HINTS["k_not_k_minus_1"]), ([x ** (k - 1)], POW_HINTS["no_k"])]
        if k != 1:
            out.append(([(k - 1) * x ** (k - 1)], POW_HINTS["k_minus_1"]))
        return out

    def extra_hint(self, case, got):
        x, k = case["inputs"][0], case["k"]
        if x < 0 and _close(got["grads"], self._grads(case, [k * abs(x) ** (k - 1)]), self.rtol, self.atol):
            return POW_HINTS["abs_base"]       # before the sign hint, which this wrong answer also matches
        if x == 0 and not all(math.isfinite(g) for g in got["grads"]):
            return POW_HINTS["zero_base"]      # a division by a.data in NumPy: nan or inf, and no error
        return None

    def data_hint(self, case, data):
        return POW_HINTS["data"]

    def error_hint(self, exc):
        text = str(exc)
        if isinstance(exc, AttributeError) and "'data'" in text and ("'int' object" in text or "'float' object" in text):
            return POW_HINTS["k_number"]          # k.data: the exponent taken for a node
        if isinstance(exc, ZeroDivisionError):
            return POW_HINTS["zero_base"]
        if isinstance(exc, ValueError) and "math domain error" in str(exc):
            return POW_HINTS["abs_base"]          # math.log of 0 or of a negative number
        return super().error_hint(exc)


DIV_HINTS = {
    "original": ("That is still the original bug: b's line overwrites the gradient b already had ({had}) instead "
                 "of adding its own share to it."),
    "had_fork": "for a / a, the share the same node just got as the numerator",
    "had_before": "here {before}, a share from another use of b",
    "overwrite_a": ("a's line now overwrites the gradient a already had ({had}) instead of adding its own share "
                    "to it. Both lines must add."),
    "had_fork_a": "for a / a, the share the same node just got as the denominator",
    "fork_one_share": ("For a / a the one node gets two shares, one as the numerator and one as the denominator, "
                       "and only the numerator's arrived: a line that overwrites with `=`, or a share skipped "
                       "because a and b are the same node, loses the other. Both lines must add, always."),
    "b_sign": ("The gradient of b has the wrong sign: d(a/b)/db = -a / b², negative for positive a and b. "
               "(Dividing by a bigger b makes a/b smaller.)"),
    "b_local": "d(a/b)/db = -a / b² (b squared): check the local gradient of b.",
    "a_local": "d(a/b)/da = 1 / b: check the local gradient of a.",
}


class DivFanOut(_NodeOp):
    arity, symbol = 2, "/"

    def cases(self, rng):
        return _node_cases(rng, 2)  # inputs are at least 0.4 away from zero

    def wrong_locals(self, xs, case):
        a, b = xs
        return [([1.0 / b, a / b ** 2], DIV_HINTS["b_sign"]), ([1.0 / b, -a / b], DIV_HINTS["b_local"]),
                ([1.0 / b, -1.0 / b ** 2], DIV_HINTS["b_local"]), ([-a / b ** 2, 1.0 / b], DIV_HINTS["a_local"])]

    def extra_hint(self, case, got):
        """The bug the notebook shows: a's line right, b's line with `=`."""
        local_a, local_b = self.locals_(self._args(case), case)
        g, g0 = case["upstream"], list(case["grads0"])
        if case.get("same"):
            buggy = [local_b * g]
        else:
            buggy = [g0[0] + local_a * g, local_b * g]
        if _close(got["grads"], buggy):
            had = DIV_HINTS["had_fork"] if case.get("same") else DIV_HINTS["had_before"].format(before=f"{g0[1]:g}")
            return DIV_HINTS["original"].format(had=had)
        if case.get("same"):
            a_last = [local_a * g]            # the lines swapped, a's with `=`: b's share is lost
        else:
            a_last = [local_a * g, g0[1] + local_b * g]
        if not _close(got["grads"], a_last):
            return None
        if case.get("same"):
            return DIV_HINTS["fork_one_share"]
        return DIV_HINTS["overwrite_a"].format(had=f"here {g0[0]:g}, a share from another use of a")

    def data_hint(self, case, data):
        return NODE_HINTS["data_given"]


# ----------------------------------------------------------------------------- 02.6 topological sort

TOPO_HINTS = {
    "not_list": "topo_sort must return a list of the graph's nodes; received {type}.",
    "engine": ("Your topo_sort called the engine's own {name}: in this exercise you write that sort, walking each "
               "node's _prev yourself, so that you know what backward() relies on."),
    "foreign": ("Your list holds things that are not nodes of this graph ({what}): the list holds the nodes "
                "themselves, not their .data or labels."),
    "empty": "Your list is empty: every node the root depends on, the root included, belongs in it.",
    "duplicates": ("Node {name} appears {count} times: a node reached along two paths (or used twice, as in "
                   "a * a) must be listed once, so your sort must remember which nodes it has already placed."),
    "missing": ("{nodes} missing: the list holds every node the root depends on through any number of "
                "steps, not only its direct inputs."),
    "missing_root": ("The root itself, {name}, is missing: the list holds every node the root depends on AND the "
                     "root, last, since it depends on everything."),
    "same_data": ("{nodes} missing, though holding the same number as a node you did list: two different nodes "
                  "can hold equal .data, so remember the nodes themselves, not their values."),
    "stale": ("Your list holds nodes of an EARLIER graph ({what}): your topo_sort keeps what it found from one call "
              "to the next. {why} Every call must start with nothing placed and nothing seen."),
    "stale_default": ("A default argument such as `seen=set()` or `order=[]` is made once, when the function is "
                      "defined, and every later call shares that same object."),
    "stale_global": "A list or set defined outside the function is shared by every call.",
    "stale_state": ("A list or set defined outside the function, or a mark left on the nodes themselves (an attribute "
                    "such as node.visited), outlives the call."),
    "second_call": ("Called a second time on the same graph, your topo_sort returned {second} instead of the {first} "
                    "nodes of the first call: it keeps what it saw from one call to the next. {why} backward() sorts "
                    "the graph every time it runs, so every call must start with nothing placed and nothing seen."),
    "preorder": ("Your sort writes a node down before its inputs (the root comes first): a node may be placed only "
                 "once every node in its _prev has been placed, so the root, which depends on everything, comes "
                 "last."),
    "reversed": ("Your order is reversed (the root comes first): each node must come after all of its inputs, "
                 "so the root, which depends on everything, comes last."),
    "order": ("Node {child} comes before its input {parent}: a node may be placed only once every node in its "
              "_prev has been placed."),
    "paths": ("Your sort walks into a node's inputs again every time it reaches the node along another path. This "
              "graph has {nodes} nodes, each used twice by the next (x_k = x_(k-1) * x_(k-1)), so there are "
              "2^{steps} = {paths:,} paths from the root to x0: the check stopped your sort before it walked them all. A "
              "sort must do its work once per NODE: a node already reached is not walked into again."),
}


class _PathWalk(Exception):
    """Raised by a probe node when a sort has read inputs far more often than a graph this size needs."""


class _CountingNode(Node):
    """A probe node that counts how often a sort reads its ``_prev``: once a node is enough, a few times is fine,
    and a sort that walks every PATH (exponentially many on a chain of squares) is stopped at the budget."""

    def __init__(self, data, label, reads):
        super().__init__(data, label)
        self._reads = reads                    # {"count": n, "budget": m}, shared by the graph's nodes

    @property
    def _prev(self):
        self._reads["count"] += 1
        if self._reads["count"] > self._reads["budget"]:
            raise _PathWalk(f"the sort read the inputs of this graph's {self._reads['nodes']} nodes "
                            f"{self._reads['budget']} times")
        return self._parents

    @_prev.setter
    def _prev(self, parents):
        self._parents = parents


def _graph(case):
    data = case.get("data") or [float(i) for i in range(len(case["labels"]))]
    n = len(case["labels"])
    # a sort that scans every node again and again reads n² inputs; one that walks every path of the squares case
    # reads 2^39: the budget lets the first finish and stops the second
    reads = {"count": 0, "budget": 5 * n * n + 100, "nodes": n}
    nodes = [_CountingNode(x, label, reads) for x, label in zip(data, case["labels"])]
    for node, parents in zip(nodes, case["parents"]):
        node._prev = tuple(nodes[i] for i in parents)
        node._op = "op" if parents else ""
    return nodes


def _reachable(case):
    seen, stack = set(), [case["root"]]
    while stack:
        i = stack.pop()
        if i not in seen:
            seen.add(i)
            stack.extend(case["parents"][i])
    return seen


def _chain_case(n):
    return {"labels": [f"x{i}" for i in range(n)], "parents": [[]] + [[i] for i in range(n - 1)], "root": n - 1}


def _squares_case(n):
    """x_k = x_{k-1} * x_{k-1}: n nodes, but 2^(n-1) paths from the root to x0."""
    return {"labels": [f"x{i}" for i in range(n)], "parents": [[]] + [[i, i] for i in range(n - 1)], "root": n - 1,
            "squares": True}


class TopoSort(Exercise):

    def cases(self, rng):
        fixed = [
            # f = (a*b) * (a+b): a and b feed two nodes each
            {"labels": ["a", "b", "d", "e", "f"], "parents": [[], [], [0, 1], [0, 1], [2, 3]], "root": 4},
            # y = a*a + a: one node used three times; c is not part of y's graph
            {"labels": ["a", "c", "s", "y"], "parents": [[], [], [0, 0], [2, 0]], "root": 3},
            # y = a + tanh(tanh(a)): a is reached by a short and by a long path
            {"labels": ["a", "t1", "t2", "y"], "parents": [[], [0], [1], [0, 2]], "root": 3},
            # u = a*b used twice, at different depths: y = (u + tanh(u)) * b; a and b hold the same number
            {"labels": ["a", "b", "u", "t", "s", "y"], "parents": [[], [], [0, 1], [2], [2, 3], [4, 1]], "root": 5,
             "data": [2.0, 2.0, 4.0, 0.999, 4.999, 9.998]},
            _chain_case(30),
            # every node used twice by the next: a sort that walks every path does 2^39 steps here
            _squares_case(40),
        ]
        rand = []
        for n in (8, 12):
            parents = [[]] * 3 + [sorted(int(j) for j in rng.choice(i, size=min(i, int(rng.integers(1, 3))),
                                                                   replace=False)) for i in range(3, n)]
            rand.append({"labels": [f"n{i}" for i in range(n)], "parents": parents, "root": n - 1})
        return fixed + rand

    def run(self, obj, case):
        from ..autograd import topo_sort

        nodes = _graph(case)
        try:
            order, engine = run_watching([topo_sort], lambda: obj(nodes[case["root"]]))
        except _PathWalk:
            return {"problem": "paths", "nodes": len(nodes)}
        if engine:
            return {"problem": "engine", "name": engine[0], "nodes": len(nodes)}
        if not isinstance(order, (list, tuple)):
            return {"problem": "not_list", "type": type(order).__name__, "nodes": len(nodes)}
        if len(order) == 0:
            return {"problem": "empty", "nodes": len(nodes)}
        index = {id(n): i for i, n in enumerate(nodes)}
        out = []
        for item in order:
            if id(item) not in index:
                if isinstance(item, Node):    # a probe node of another case: state kept between calls
                    mutable = [d for d in (getattr(obj, "__defaults__", None) or ()) if isinstance(d, (list, set, dict))]
                    why = TOPO_HINTS["stale_default" if mutable else "stale_global"]
                    return {"problem": "stale", "what": hints.short_repr(item, 60), "why": why, "nodes": len(nodes)}
                return {"problem": "foreign", "what": hints.short_repr(item, 60), "nodes": len(nodes)}
            out.append(index[id(item)])
        nodes[0]._reads["count"] = 0           # the same graph again: a sort must not remember the first call
        again = obj(nodes[case["root"]])
        try:
            again_ids = [index.get(id(item)) for item in again]
        except TypeError:
            again_ids = None
        if again_ids != out:
            mutable = [d for d in (getattr(obj, "__defaults__", None) or ()) if isinstance(d, (list, set, dict))]
            second = f"{len(again_ids)} node{'s' * (len(again_ids) != 1)}" if again_ids is not None else \
                f"a {type(again).__name__}"
            return {"problem": "second_call", "first": len(out), "second": second, "nodes": len(nodes),
                    "why": TOPO_HINTS["stale_default" if mutable else "stale_state"]}
        return out

    def expected(self, case):
        return sorted(_reachable(case))  # the set of nodes; compare checks the order

    def compare(self, got, want, case):
        if isinstance(got, dict):
            key = got.pop("problem")
            if key == "paths":
                return Mismatch("topo_sort stopped: it read the nodes' inputs far more often than there are nodes",
                                TOPO_HINTS["paths"].format(nodes=got["nodes"], steps=got["nodes"] - 1,
                                                                   paths=2 ** (got["nodes"] - 1)))
            if key == "second_call":
                return Mismatch(f"topo_sort called twice on the same graph: {got['first']} nodes the first time, "
                                f"{got['second']} the second", TOPO_HINTS[key].format(**got))
            return Mismatch("topo_sort returned something unusable", TOPO_HINTS[key].format(**got))
        labels = case["labels"]
        message = f"expected the {len(want)} nodes in an order with inputs first; received {[labels[i] for i in got]}"
        if not got:
            return Mismatch(message, TOPO_HINTS["empty"])
        counts = {i: got.count(i) for i in set(got)}
        dup = [i for i, c in counts.items() if c > 1]
        if dup:
            return Mismatch(message, TOPO_HINTS["duplicates"].format(name=labels[dup[0]], count=counts[dup[0]]))
        missing = sorted(set(want) - set(got))
        if missing:
            data = case.get("data")
            names = ", ".join(labels[i] for i in missing)
            nodes = f"Node {names} is" if len(missing) == 1 else f"Nodes {names} are"
            if missing == [case["root"]]:
                return Mismatch(message, TOPO_HINTS["missing_root"].format(name=labels[case["root"]]))
            if data and all(any(data[i] == data[j] for j in got) for i in missing):
                return Mismatch(message, TOPO_HINTS["same_data"].format(nodes=nodes))
            return Mismatch(message, TOPO_HINTS["missing"].format(nodes=nodes))
        pos = {i: k for k, i in enumerate(got)}
        if got[0] == case["root"] and len(got) > 1:
            backwards = {i: k for k, i in enumerate(reversed(got))}
            is_reversed = all(backwards[p] < backwards[c] for c in got for p in case["parents"][c])
            return Mismatch(message, TOPO_HINTS["reversed" if is_reversed else "preorder"])
        for child in got:
            for parent in case["parents"][child]:
                if pos[parent] > pos[child]:
                    return Mismatch(message, TOPO_HINTS["order"].format(child=labels[child], parent=labels[parent]))
        return None

    def describe(self, case):
        labels = case["labels"]
        if case.get("squares"):
            return f"a chain of {len(labels)} squares, x_k = x_(k-1) * x_(k-1), root {labels[case['root']]}"
        if len(labels) > 12:
            return f"a chain of {len(labels)} nodes, root {labels[case['root']]}"
        edges = "; ".join(f"{labels[i]} <- ({', '.join(labels[p] for p in ps)})"
                          for i, ps in enumerate(case["parents"]) if ps)
        return f"graph {edges}; root {labels[case['root']]}"


# ----------------------------------------------------------------------------- 02.7 the whole class

# Expressions built with the learner's class: leaves are cls(x); the rest are its operators.
def _twice(a):
    b = a + a
    return b + b


def _uneven(a, b):
    u, v = a * b, a + b
    return (u + u.tanh()) * (v.tanh() + v)


EXPRESSIONS = {
    "seed": ("(a*b) * (a+b)", lambda a, b: (a * b) * (a + b)),
    # a computed node used twice: a backward without a topological order hands b's gradient on twice
    "twice": ("b = a + a; c = b + b", _twice),
    # computed nodes used twice at different depths (u, v), their users in either order: a breadth-first or
    # "hand on, then recurse into the inputs" backward passes some node on before it received all of its gradient
    "uneven": ("u = a*b; v = a+b; (u + tanh(u)) * (tanh(v) + v)", _uneven),
    "neuron": ("tanh(w1*x1 + w2*x2 + b)", lambda w1, x1, w2, x2, b: (w1 * x1 + w2 * x2 + b).tanh()),
    "fork": ("a*a + a*b + a", lambda a, b: a * a + a * b + a),
    "numbers": ("2*a + 1 - a/4 + b**2", lambda a, b: 2 * a + 1 - a / 4 + b ** 2),
    # numbers on the left, and sum(), which starts from 0: the reversed operators of the class
    "reversed": ("1 - a + 2/b + sum([a*b, b])", lambda a, b: 1 - a + 2 / b + sum([a * b, b])),
    "quotient": ("(a**3 - b) / (a*a + 1)", lambda a, b: (a ** 3 - b) / (a * a + 1)),
    "chain": ("tanh applied 40 times to 0.9*x + 0.1", None),
}


def _chain(x):
    for _ in range(40):
        x = (0.9 * x + 0.1).tanh()
    return x


CLASS_HINTS = {
    "zeros": ("Every gradient is zero, and each operation is right on its own, so look at backward(root): the "
              "backward pass never got going. Every share is a product with an upstream gradient, and it all "
              "starts at the root: what is d root / d root, and is it in place before the first node hands its "
              "gradient on? And does every node hand on its gradient only after it has received it (section 9)?"),
    "order": ("Only part of the gradient arrived: some node handed on its gradient before it had received all of "
              "it. In {expr} a computed node is used more than once, and your backward reached it before its "
              "last user had given it its share. Every node must come after ALL of the nodes that use it "
              "(section 9), and every node of the graph must be visited."),
    "restarted": ("Every input's gradient is exactly 1: the chain rule was started afresh at other nodes (calling "
                  "backward() on a node's inputs runs backward(root) for them, which sets THEIR gradient as if "
                  "each were the output). backward(root) must start the chain rule once, at root."),
    "repeated": ("Some gradients are too large: in {expr} a computed node used more than once handed its gradient "
                 "on once per use, each time with everything it had received so far. Each node must hand on its "
                 "gradient exactly once, after it has received all of it (section 9). If your backward walks the "
                 "list of your topo_sort, does that list hold each node once (check('02.6', topo_sort))?"),
    "bad_ops": ("Run on its own (inputs that already hold a gradient, upstream gradient 2), {ops} gives the wrong "
                "gradients or value, so the whole graph cannot be right. Fix it first: {checks}."),
    "ops": ("The gradients are wrong, though each operation is right on its own and backward() is not one of the "
            "usual slips: look at backward(root) and your topo_sort (check('02.6', topo_sort)), and at the "
            "operations this class builds from others (-, reversed operators)."),
    "data": ("The forward value is wrong ({expr}): one of your operations computes the wrong .data. "
             "Run the checks of 02.2-02.5 to find which, and read the operations the class builds from them "
             "(-, negation, the reversed operators such as 1 - a or 2 / b)."),
    "reversed_missing": ("A number stood on the LEFT of one of your values ({what}): Python then asks your class for "
                         "its reversed operator (__radd__, __rsub__, __rmul__, __rtruediv__), and that one is missing "
                         "or broken. sum() of your values needs __radd__ too: it starts from the number 0. Keep the "
                         "class cell's reversed operators, and check that each one returns a node."),
    "not_value": "The expression did not give a node with .data and .grad (received {type}).",
    "inner": ("After backward(root) EVERY node that root depends on must hold d root / d node in its .grad, the "
              "nodes computed in between included (draw_graph and step_through show them all); yours leaves some of "
              "them with another number. Does your backward reset a node's .grad after the node has handed it on?"),
}


# Each operation alone, built with the learner's class: (name, exercise, how to build it, local gradients).
# The inputs already hold a gradient (a share from another use) and the upstream gradient is 2, so a
# _backward that overwrites with = or forgets out.grad shows up here, whatever backward() does.
_OP_INPUTS = (1.5, -0.8)
_OP_GRADS0 = (0.25, -0.5)
_OP_UPSTREAM = 2.0
_OP_PROBES = [   # (operation, where its own check is, how to apply it to nodes a and b: (out, inputs))
    ("add", "the add function given in the notebook", lambda a, b: (a + b, [a, b])),
    ("mul", "check('02.2', mul)", lambda a, b: (a * b, [a, b])),
    ("tanh", "check('02.3', tanh)", lambda a, b: (a.tanh(), [a])),
    ("power", "check('02.4', power)", lambda a, b: (a ** 3, [a])),
    ("div", "check('02.5', div)", lambda a, b: (a / b, [a, b])),
]


def _op_probe(cls) -> dict:
    """Each operation of ``cls`` run alone: {name: [out.data, input grads...]}, or None where it failed.

    Only raw results: which of them are wrong is decided by comparing with the same probe of the
    reference class (in ``compare``, which the grader runs in its own process).
    """
    from ..autograd import topo_sort

    found = {}
    x, y = _OP_INPUTS
    for name, _, build in _OP_PROBES:
        try:
            a, b = cls(x), cls(y)
            out, inputs = build(a, b)
            # the course's own sort, not the learner's: this tests the operations, not backward()
            order = topo_sort(out)
            for node in order:
                node.grad = 0.0
            a.grad, b.grad = _OP_GRADS0
            out.grad = _OP_UPSTREAM
            for node in reversed(order):    # one node for the learner's operations; more for composites
                node._backward()
            got = [_number(out.data)] + [_number(v.grad) for v in inputs] + [_number(out.grad)]   # out.grad kept
        except Exception:  # noqa: BLE001 - an operation that fails alone is a wrong operation
            got = None
        found[name] = None if got is None or None in got else got
    return found


def _wrong_operations(got_probe: dict, want_probe: dict) -> list[str]:
    return [name for name, want in want_probe.items()
            if got_probe.get(name) is None or not _close(got_probe[name], want)]


def _op_report(cls) -> list[str]:
    """Names of the operations of ``cls`` that give a wrong value or wrong gradients when run alone."""
    from ..value import Value

    return _wrong_operations(_op_probe(cls), _op_probe(Value))


# expressions of +, * and tanh only: every class with Value's interface builds the same graph for them (one node per
# operation), so the gradients of the nodes in between can be compared too. (-, / and ** may be composites.)
ONE_NODE_PER_OPERATION = {"seed", "twice", "uneven", "neuron", "fork", "chain"}


def _all_grads(root) -> list:
    """The .grad of every node ``root`` depends on, intermediate ones included, sorted (the learner's class may list
    a node's inputs in another order, so the nodes are compared as a collection of numbers)."""
    from ..autograd import topo_sort

    try:
        grads = [_number(n.grad) for n in topo_sort(root)]
    except Exception:  # noqa: BLE001 - a graph the course's sort cannot walk: the leaves' gradients still decide
        return None
    return sorted(grads) if None not in grads else grads


def _build(V, case):
    xs = [V(x) for x in case["inputs"]]
    if case["expr"] == "chain":
        return _chain(xs[0]), xs
    return EXPRESSIONS[case["expr"]][1](*xs), xs


def _pass_on_then_recurse(node, seen=None, reverse=False):
    """micrograd's famous slip: hand the gradient on, then recurse into the inputs (``seen``: once each)."""
    if seen is not None:
        if node in seen:
            return
        seen.add(node)
    node._backward()
    for parent in (reversed(node._prev) if reverse else node._prev):
        _pass_on_then_recurse(parent, seen, reverse)


def _breadth_first(root):
    seen, queue = set(), [root]
    while queue:
        node = queue.pop(0)
        if node not in seen:
            seen.add(node)
            node._backward()
            queue.extend(node._prev)


# backwards that visit the graph in an order other than reversed topological order: (name, hint key, how)
WRONG_ORDERS = [
    ("forward_order", "order", lambda root, order: [n._backward() for n in order]),
    ("root_only", "order", lambda root, order: root._backward()),
    ("recursive", "repeated", lambda root, order: _pass_on_then_recurse(root)),
    ("recursive_once", "order", lambda root, order: _pass_on_then_recurse(root, set())),
    ("recursive_once_reversed", "order", lambda root, order: _pass_on_then_recurse(root, set(), reverse=True)),
    ("breadth_first", "order", lambda root, order: _breadth_first(root)),
]


def _reference_pass(case, variant="right"):
    """Gradients of the case's inputs computed with the engine's Value, or with a known wrong backward."""
    from ..autograd import topo_sort as sort
    from ..value import Value

    out, xs = _build(Value, case)
    if variant == "right":
        out.backward()
    else:
        order = sort(out)
        for n in order:
            n.grad = 0.0
        out.grad = 1.0
        dict((name, how) for name, _, how in WRONG_ORDERS)[variant](out, order)
    return out.data, [x.grad for x in xs]


class WholeValue(Exercise):
    rtol, atol = 1e-7, 1e-10

    def cases(self, rng):
        fixed = [{"expr": "seed", "inputs": [-2.0, 3.0]},
                 {"expr": "twice", "inputs": [1.5]},
                 {"expr": "uneven", "inputs": [0.5, -0.75]},
                 {"expr": "neuron", "inputs": [0.5, 1.5, -1.0, 0.5, 0.25]},
                 {"expr": "fork", "inputs": [1.5, -2.0]},
                 {"expr": "numbers", "inputs": [2.0, -0.5]},
                 {"expr": "reversed", "inputs": [0.8, -1.25]},
                 {"expr": "quotient", "inputs": [1.2, 0.7]},
                 {"expr": "chain", "inputs": [0.3]}]
        rand = [{"expr": name, "inputs": _random_inputs(rng, n)}
                for name, n in (("seed", 2), ("neuron", 5), ("quotient", 2))]
        return fixed + rand

    def run(self, obj, case):
        try:
            out, xs = _build(obj, case)
        except TypeError as exc:
            # `0 + a` (sum) or `1 - a` with a reversed operator gone or set to None: raised by Python itself, in no
            # line of the learner's, so it is named here
            text = str(exc)
            if re.search(r"for [-+*/]+: '(int|float)' and ", text) or "'NoneType' object is not callable" in text:
                return {"problem": "reversed_missing", "what": text.split(": ", 1)[-1]}
            raise
        if not hasattr(out, "data") or not hasattr(out, "backward"):
            return {"problem": "not_value", "type": type(out).__name__}
        out.backward()
        return {"data": _number(out.data), "grads": [_number(x.grad) for x in xs], "operations": _op_probe(obj),
                "all_grads": _all_grads(out)}

    def expected(self, case):
        from ..value import Value

        data, grads = _reference_pass(case)
        inner = None
        if case["expr"] in ONE_NODE_PER_OPERATION:
            out, _ = _build(Value, case)
            out.backward()
            inner = _all_grads(out)
        return {"data": data, "grads": grads, "operations": _op_probe(Value), "all_grads": inner}

    @staticmethod
    def _bad_ops_hint(bad_ops):
        checks = {name: check for name, check, _ in _OP_PROBES}
        names = " and ".join(f"`{n}`" for n in bad_ops)
        return CLASS_HINTS["bad_ops"].format(ops=names, checks=", ".join(checks[n] for n in bad_ops))

    def compare(self, got, want, case):
        expr = "x -> tanh(0.9x + 0.1), 40 times" if case["expr"] == "chain" else EXPRESSIONS[case["expr"]][0]
        if "problem" in got:
            key = got.pop("problem")
            return Mismatch(f"{expr}: no usable result", CLASS_HINTS[key].format(**got))
        bad_ops = _wrong_operations(got.get("operations") or {}, want["operations"])
        if got["data"] is None or not _close(got["data"], want["data"]):
            return Mismatch(f"{expr}: forward value expected {want['data']:.6g}, received {got['data']}",
                            self._bad_ops_hint(bad_ops) if bad_ops else CLASS_HINTS["data"].format(expr=expr))
        if None not in got["grads"] and _close(got["grads"], want["grads"], self.rtol, self.atol):
            if bad_ops:
                return Mismatch(f"{expr}: right here, but an operation is wrong when run on its own",
                                self._bad_ops_hint(bad_ops))
            inner, want_inner = got.get("all_grads") or [], want["all_grads"]
            if want_inner is not None and len(inner) == len(want_inner) and None not in inner and \
                    not _close(inner, want_inner, self.rtol, self.atol):
                return Mismatch(f"{expr}: the inputs' gradients are right, but not those of the nodes computed "
                                "in between", CLASS_HINTS["inner"])
            return None
        shown_want, shown_got = _fmt(want["grads"]), got["grads"] if None in got["grads"] else _fmt(got["grads"])
        if shown_want == shown_got:     # a difference in digits the short form rounds away: show them all
            shown_want, shown_got = _fmt(want["grads"], "r"), _fmt(got["grads"], "r")
        message = (f"{expr} with inputs {_fmt(case['inputs'])}: expected gradients {shown_want}, "
                   f"received {shown_got}")
        if None in got["grads"]:
            return Mismatch(message, hints.TYPE_HINT)
        if bad_ops:
            return Mismatch(message, self._bad_ops_hint(bad_ops))
        hint = _recognise(got["grads"], [([0.0] * len(want["grads"]), CLASS_HINTS["zeros"]),
                                         ([1.0] * len(want["grads"]), CLASS_HINTS["restarted"])] + [
            (_reference_pass(case, name)[1], CLASS_HINTS[key].format(expr=expr)) for name, key, _ in WRONG_ORDERS])
        if hint is None:
            ratio = hints.diagnose(np.array(got["grads"]), np.array(want["grads"]))
            hint = ratio if "added more than once" in ratio else CLASS_HINTS["ops"]
        return Mismatch(message, hint)

    def describe(self, case):
        expr = "x -> tanh(0.9x + 0.1), 40 times" if case["expr"] == "chain" else EXPRESSIONS[case["expr"]][0]
        return f"{expr} with inputs {_fmt(case['inputs'])}"

