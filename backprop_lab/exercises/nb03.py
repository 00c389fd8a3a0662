"""Checks for notebook 03, a scalar neural network (the exercises themselves are in solutions/03_*.md).

The checks build their inputs with the engine's ``bl.Value`` and plain probe objects (a model is
``model.layers[i].neurons[j].w`` / ``.b``, as in the notebook), so the learner's function is called
exactly as the notebook calls it. Each knows the classic wrong versions and names the one it sees.
Right answers come from the notebook's own solutions (``backprop_lab.references.nb03``).
"""
from __future__ import annotations

import math

import numpy as np

from . import hints
from ._core import Exercise, Mismatch
from .nb02 import _close, _fmt, _number, _recognise


def _value(x, label=""):
    from ..value import Value

    return Value(x, label=label)


# ----------------------------------------------------------------------------- 03.1 neuron forward

NEURON_HINTS = {
    "none": hints.NONE_HINT,
    "float": ("You returned a plain number ({type}), not a Value: a number has no graph, so backward() cannot reach "
              "w and b. Keep everything a Value: `(sum_of_products + b).tanh()`, not math.tanh(z.data)."),
    "detached": ("The value is right but w and b got no gradient: the result is not connected to them. Build it "
                 "with Value operations (w[i] * x[i], +, .tanh()), not from .data and a new Value."),
    "no_bias": "The bias is missing: the neuron computes tanh(w · x + b).",
    "zero": ("Your output is 0: a ReLU (max(0, z)) where tanh belongs, or a fresh Value(0)? The neuron computes "
             "(w · x + b).tanh()."),
    "no_tanh": "The activation is missing: the neuron's output is tanh(w · x + b), not w · x + b.",
    "relu": "That is a ReLU neuron: this one uses tanh, `(w · x + b).tanh()`.",
    "tanh_inside": "tanh goes around the whole sum including the bias: tanh(w · x + b), not tanh(w · x) + b.",
    "sum_w": "Multiply each weight by its own input and add the products: sum(w[i] * x[i]) + b.",
    "first_only": "Only the first product counts in your sum: add w[i] * x[i] for EVERY i.",
    "last_only": ("Only the last product counts in your sum: each pass of the loop replaced the sum instead of adding "
                  "to it. Start from z = b and add, z = z + w[i] * x[i], then return z.tanh()."),
}


def _neuron_variants(w, b, x):
    z = sum(wi * xi for wi, xi in zip(w, x))
    return [
        (math.tanh(z), NEURON_HINTS["no_bias"]),
        (z + b, NEURON_HINTS["no_tanh"]),
        (max(0.0, z + b), NEURON_HINTS["relu"]),
        (math.tanh(z) + b, NEURON_HINTS["tanh_inside"]),
        (math.tanh(sum(w) * sum(x) + b), NEURON_HINTS["sum_w"]),
        (math.tanh(sum(w) + b), NEURON_HINTS["sum_w"]),
        (math.tanh(w[0] * x[0] + b), NEURON_HINTS["first_only"]),
        (math.tanh(w[-1] * x[-1] + b), NEURON_HINTS["last_only"]),
    ]


class NeuronForward(Exercise):
    rtol, atol = 1e-9, 1e-12

    def cases(self, rng):
        fixed = [{"w": [0.5, -1.0], "b": 0.25, "x": [-2.0, 0.8]},
                 {"w": [1.5, 0.5, -0.5], "b": -0.5, "x": [0.2, -1.0, 0.4]}]
        rand = []
        for n in (2, 3, 4):
            rand.append({"w": [float(v) for v in np.round(rng.uniform(-1, 1, n), 3)],
                         "b": float(np.round(rng.uniform(-0.5, 0.5), 3)),
                         "x": [float(v) for v in np.round(rng.normal(size=n), 3)]})
        return fixed + rand

    def run(self, obj, case):
        w = [_value(v, f"w{i}") for i, v in enumerate(case["w"])]
        b = _value(case["b"], "b")
        out = obj(w, b, list(case["x"]))
        if out is None:
            return {"problem": "none", "at": self.describe(case)}
        if not hasattr(out, "backward") or not hasattr(out, "grad"):
            return {"problem": "float", "type": type(out).__name__, "data": _number(out), "at": self.describe(case)}
        out.backward()
        return {"data": _number(out.data), "grads": [_number(p.grad) for p in w + [b]]}

    def compare(self, got, want, case):
        if "problem" in got:
            data = got.get("data")
            if data is not None and not _close(data, want["data"]):  # a number, and the wrong one: name the slip
                hint = _recognise(data, _neuron_variants(case["w"], case["b"], case["x"]))
                if hint:
                    return Mismatch(f"expected a Value with data {want['data']:.6g}, received {data:.6g}", hint)
            return Mismatch(f"expected a Value with data {want['data']:.6g}, received a {got.get('type', 'None')}",
                            NEURON_HINTS[got["problem"]].format(**got))
        if got["data"] is None or not _close(got["data"], want["data"]):
            hint = NEURON_HINTS["zero"] if got["data"] == 0 else _recognise(
                got["data"], _neuron_variants(case["w"], case["b"], case["x"]))
            received = "None" if got["data"] is None else f"{got['data']:.6g}"
            return Mismatch(f"output expected {want['data']:.6g}, received {received}",
                            hint or "Compute tanh(w[0]*x[0] + w[1]*x[1] + ... + b).")
        if None in got["grads"] or not _close(got["grads"], want["grads"]):
            detached = None not in got["grads"] and all(g == 0 for g in got["grads"])
            return Mismatch(f"right output, but gradients (w..., b) expected {_fmt(want['grads'])}, received "
                            f"{got['grads']}", NEURON_HINTS["detached"] if detached else hints.TYPE_HINT)
        return None

    def describe(self, case):
        return f"w = {case['w']}, b = {case['b']:g}, x = {case['x']}"


# ----------------------------------------------------------------------------- 03.2 collect parameters

class ProbeNeuron:
    def __init__(self, n_in, rng, tag):
        self.w = [_value(float(rng.uniform(-1, 1)), f"{tag}w{i}") for i in range(n_in)]
        self.b = _value(0.0, f"{tag}b")


class ProbeLayer:
    def __init__(self, n_in, n_out, rng, tag):
        self.neurons = [ProbeNeuron(n_in, rng, f"{tag}n{j}.") for j in range(n_out)]


class ProbeMLP:
    """The structure of the notebook's MLP (``layers`` → ``neurons`` → ``w``, ``b``), without behaviour."""

    def __init__(self, sizes, seed=0):
        rng = np.random.default_rng(seed)
        self.layers = [ProbeLayer(i, o, rng, f"L{k}.") for k, (i, o) in enumerate(zip(sizes[:-1], sizes[1:]))]

    def all_params(self):
        return [p for layer in self.layers for n in layer.neurons for p in n.w + [n.b]]


PARAM_HINTS = {
    "not_list": "Return a list of the parameters (the Value objects); received {type}.",
    "nested": ("Your list holds lists: flatten it. One list of Values, e.g. "
               "`[p for layer in model.layers for neuron in layer.neurons for p in neuron.w + [neuron.b]]`."),
    "floats": ("Your list holds numbers, not the Value objects: the update `p.data -= lr * p.grad` must change "
               "the model's own Values, so return the objects themselves (not p.data)."),
    "foreign": "Your list holds {what}, which is not one of the model's parameters.",
    "empty": "Your list is empty: go through model.layers, each layer's neurons, each neuron's w and b.",
    "no_bias": "The biases are missing: each neuron has the weights neuron.w AND the bias neuron.b.",
    "only_bias": "Only the biases are there: each neuron's weights neuron.w are parameters too.",
    "first_layer": "Only the first layer's parameters are there: loop over all of model.layers.",
    "last_layer": "Only the last layer's parameters are there: loop over all of model.layers.",
    "duplicates": ("{count} parameters appear more than once: each must be listed once, or the optimizer updates "
                   "it twice per step."),
    "missing": "{count} of the {total} parameters are missing.",
}


class CollectParameters(Exercise):

    def cases(self, rng):
        fixed = [{"sizes": [2, 3, 1], "seed": 0}, {"sizes": [3, 4, 4, 2], "seed": 1}]
        rand = [{"sizes": [int(v) for v in rng.integers(1, 6, size=n)], "seed": int(rng.integers(1000))}
                for n in (2, 3, 4)]
        return fixed + rand

    def run(self, obj, case):
        model = ProbeMLP(case["sizes"], case["seed"])
        params = model.all_params()
        out = obj(model)
        if not isinstance(out, (list, tuple)):
            return {"problem": "not_list", "type": type(out).__name__, "at": case["sizes"]}
        if len(out) == 0:
            return {"problem": "empty", "at": case["sizes"]}
        if any(isinstance(p, (list, tuple)) for p in out):
            return {"problem": "nested", "at": case["sizes"]}
        index = {id(p): i for i, p in enumerate(params)}
        got = []
        for p in out:
            if id(p) not in index:
                if _number(p) is not None and not hasattr(p, "grad"):
                    return {"problem": "floats", "at": case["sizes"]}
                return {"problem": "foreign", "what": hints.short_repr(p, 60), "at": case["sizes"]}
            got.append(index[id(p)])
        return got

    def compare(self, got, want, case):
        if isinstance(got, dict):
            key = got.pop("problem")
            return Mismatch(f"sizes {case['sizes']}: the answer is not a flat list of the model's Values",
                            PARAM_HINTS[key].format(**got))
        if sorted(got) == want:
            return None
        model = ProbeMLP(case["sizes"], case["seed"])
        params = model.all_params()
        index = {id(p): i for i, p in enumerate(params)}
        ids = lambda ps: sorted(index[id(p)] for p in ps)  # noqa: E731
        message = (f"sizes {case['sizes']}: expected all {len(want)} parameters once each, received {len(got)} "
                   f"({len(set(got))} different)")
        dups = len(got) - len(set(got))
        if dups:
            return Mismatch(message, PARAM_HINTS["duplicates"].format(count=dups))
        s = sorted(got)
        layers = model.layers
        variants = [
            (ids([p for la in layers for n in la.neurons for p in n.w]), PARAM_HINTS["no_bias"]),
            (ids([n.b for la in layers for n in la.neurons]), PARAM_HINTS["only_bias"]),
            (ids([p for n in layers[0].neurons for p in n.w + [n.b]]), PARAM_HINTS["first_layer"]),
            (ids([p for n in layers[-1].neurons for p in n.w + [n.b]]), PARAM_HINTS["last_layer"]),
        ]
        hint = next((h for v, h in variants if v == s), None)
        return Mismatch(message, hint or PARAM_HINTS["missing"].format(count=len(want) - len(set(got)),
                                                                      total=len(want)))

    def describe(self, case):
        return f"an MLP with layer sizes {case['sizes']}"


# ----------------------------------------------------------------------------- 03.3 one training step

def _loss_builder(case, params):
    """The case's loss as a function of the parameter Values (built fresh on every call, like a forward pass)."""
    if case["kind"] == "quadratic":
        c, t = case["c"], case["t"]

        def loss_fn():
            total = _value(0.0)
            for ci, p, ti in zip(c, params, t):
                total = total + ci * (p - ti) ** 2
            return total
    else:  # a tanh neuron with two weights and a bias, mean squared error over a few points
        xs, ys = case["xs"], case["ys"]

        def loss_fn():
            w1, w2, b = params
            total = _value(0.0)
            for (x1, x2), y in zip(xs, ys):
                total = total + ((w1 * x1 + w2 * x2 + b).tanh() - y) ** 2
            return total * (1.0 / len(xs))
    return loss_fn


def _loss_at(case, values):
    params = [_value(v) for v in values]
    return _loss_builder(case, params)().data


def _grads_at(case, values):
    params = [_value(v) for v in values]
    _loss_builder(case, params)().backward()
    return [p.grad for p in params]


STEP_HINTS = {
    "no_zero": ("The parameters moved by lr × (old gradient + new gradient): the gradients of the previous step "
                "were still there. Zero every p.grad BEFORE the backward pass; backward() adds to .grad."),
    "ascent": "The parameters moved uphill: gradient DEscent subtracts, p.data -= lr * p.grad.",
    "no_lr": "The step is the whole gradient: multiply it by the learning rate, p.data -= lr * p.grad.",
    "unchanged": ("The parameters did not change. After loss.backward(), update each one in place: "
                  "p.data -= lr * p.grad (`p = p - lr * p.grad` only rebinds the loop variable to a new Value; "
                  "and zero the gradients before the backward pass, not between backward and update)."),
    "stale_update": ("The parameters moved by the OLD gradients: update after loss.backward(), so that p.grad holds "
                     "this step's gradient."),
    "loss_after": ("The parameters are right, but the loss you returned is the loss AFTER the update: return the "
                   "loss of this step's forward pass (compute it, keep loss.data, then update)."),
    "loss_type": "Return the loss as a number (loss.data) or the loss Value; received {type}.",
    "none": hints.NONE_HINT,
}


class TrainStep(Exercise):
    rtol, atol = 1e-9, 1e-12

    def cases(self, rng):
        fixed = [
            {"kind": "quadratic", "c": [1.0, 2.0], "t": [3.0, -1.0], "p0": [0.5, 0.5], "stale": [0.0, 0.0], "lr": 0.1},
            {"kind": "quadratic", "c": [1.0, 0.5, 2.0], "t": [1.0, 2.0, 0.0], "p0": [2.0, -1.0, 0.5],
             "stale": [0.7, -0.3, 1.1], "lr": 0.05},
            {"kind": "neuron", "xs": [[1.0, 0.5], [-0.5, 1.0], [0.3, -1.2]], "ys": [1.0, -1.0, 0.5],
             "p0": [0.4, -0.6, 0.1], "stale": [0.25, 0.5, -0.5], "lr": 0.3},
        ]
        rand = []
        for _ in range(2):
            n = 3
            rand.append({"kind": "quadratic", "c": [float(v) for v in np.round(rng.uniform(0.5, 2, n), 3)],
                         "t": [float(v) for v in np.round(rng.normal(size=n), 3)],
                         "p0": [float(v) for v in np.round(rng.normal(size=n), 3)],
                         "stale": [float(v) for v in np.round(rng.normal(size=n), 3)],
                         "lr": float(rng.choice([0.05, 0.1, 0.2]))})
        return fixed + rand

    def run(self, obj, case):
        params = [_value(v, f"p{i}") for i, v in enumerate(case["p0"])]
        for p, g in zip(params, case["stale"]):
            p.grad = g            # left over from a previous step
        loss = obj(params, _loss_builder(case, params), case["lr"])
        if loss is None:
            return {"problem": "none", "at": case["p0"]}
        value = _number(loss)
        if value is None:
            return {"problem": "loss_type", "type": type(loss).__name__, "at": case["p0"]}
        return {"loss": value, "params": [_number(p.data) for p in params]}

    def compare(self, got, want, case):
        if "problem" in got:
            key = got.pop("problem")
            return Mismatch(f"p0 = {case['p0']}: no usable loss returned", STEP_HINTS[key].format(**got))
        p0, lr, stale = case["p0"], case["lr"], case["stale"]
        grads = _grads_at(case, p0)
        if not _close(got["params"], want["params"], self.rtol, self.atol):
            message = (f"parameters after the step expected {_fmt(want['params'])}, received {_fmt(got['params'])} "
                       f"(before: {_fmt(p0)}, lr = {lr:g})")
            variants = [
                ([p - lr * (g + s) for p, g, s in zip(p0, grads, stale)], STEP_HINTS["no_zero"]),
                ([p + lr * g for p, g in zip(p0, grads)], STEP_HINTS["ascent"]),
                ([p - g for p, g in zip(p0, grads)], STEP_HINTS["no_lr"]),
                (list(p0), STEP_HINTS["unchanged"]),
                ([p - lr * s for p, s in zip(p0, stale)], STEP_HINTS["stale_update"]),
                ([p + lr * (g + s) for p, g, s in zip(p0, grads, stale)], STEP_HINTS["ascent"]),
            ]
            return Mismatch(message, _recognise(got["params"], variants) or
                            "Each parameter should move by -lr * (this step's gradient).")
        if not _close(got["loss"], want["loss"], self.rtol, self.atol):
            after = _loss_at(case, want["params"])
            hint = STEP_HINTS["loss_after"] if _close(got["loss"], after) else (
                "Return the loss of this step's forward pass, loss_fn() evaluated before the update.")
            return Mismatch(f"returned loss expected {want['loss']:.6g}, received {got['loss']:.6g}", hint)
        return None

    def describe(self, case):
        what = "a quadratic bowl" if case["kind"] == "quadratic" else "a tanh neuron's mean squared error"
        return f"{what}, params {case['p0']}, gradients left from before {case['stale']}, lr = {case['lr']:g}"


# ----------------------------------------------------------------------------- 03.4 the learning rate

LR_CASE = {"c": 2.5, "w_star": 3.0}

LR_HINTS = {
    "pair": "Give two numbers: (lr_one_step, lr_diverge).",
    "no_two": ("Both are twice the right ones: d/dw [c (w - w*)²] = 2c (w - w*); the factor 2 of the square "
               "is missing."),
    "swapped": "The two answers are swapped: the one-step rate is the smaller one.",
    "one_step": ("lr_one_step: one step w - lr·2c(w - w*) lands exactly on w* when lr·2c = 1. Your diverge answer "
                 "is right."),
    "diverge": ("lr_diverge: the distance to w* is multiplied by (1 - 2c·lr) at each step; it grows once "
                "|1 - 2c·lr| > 1, i.e. lr > 1/c. Your one-step answer is right."),
    "diverge_double": ("lr_diverge: at lr = 1/(2c) the factor (1 - 2c·lr) is 0; the iterates start to grow once it "
                       "passes -1, at twice that rate."),
}


class LearningRate(Exercise):
    rtol, atol = 1e-6, 1e-9

    def cases(self, rng):
        return [dict(LR_CASE)]

    def run(self, obj, case):
        if not isinstance(obj, (tuple, list)) or len(obj) != 2:
            return {"problem": "pair", "got": hints.short_repr(obj)}
        missing = [name for name, v in zip(("lr_one_step", "lr_diverge"), obj) if v is None or v is Ellipsis]
        if missing:
            raise NotImplementedError(f"Exercise 03.4 is not done yet: {' and '.join(missing)} "
                                      f"{'is' if len(missing) == 1 else 'are'} still None; set both to numbers.")
        values = [_number(v) for v in obj]
        return {"problem": "pair", "got": hints.short_repr(obj)} if None in values else values

    def compare(self, got, want, case):
        if isinstance(got, dict):
            return Mismatch(f"expected two numbers, received {got['got']}", LR_HINTS["pair"])
        if _close(got, want, self.rtol, self.atol):
            return None
        c = case["c"]
        message = f"received lr_one_step = {got[0]:g}, lr_diverge = {got[1]:g}"
        hint = _recognise(got, [([1 / c, 2 / c], LR_HINTS["no_two"]), ([1 / c, 1 / (2 * c)], LR_HINTS["swapped"])])
        if hint is None and _close(got[1], want[1]):
            hint = LR_HINTS["one_step"]
        if hint is None and _close(got[0], want[0]):
            hint = LR_HINTS["diverge_double"] if _close(got[1], want[0]) else LR_HINTS["diverge"]
        return Mismatch(message, hint or "Write one step as w_new - w* = (1 - 2c·lr)(w - w*) and read both "
                                         "answers off the factor (1 - 2c·lr).")

    def describe(self, case):
        return "L(w) = 2.5 (w - 3)², gradient descent w ← w - lr · dL/dw"

