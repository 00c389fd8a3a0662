"""Checks for notebook 03, a scalar neural network (the exercises themselves are in solutions/03_*.md).

The checks build their inputs with the ``Value`` class the learner's notebook trains with (their own
``MyValue`` once it passes check 02.7, else the engine's ``bl.Value``; see ``value_class``) and plain
probe objects (a model is ``model.layers[i].neurons[j].w`` / ``.b``, as in the notebook), so the
learner's function is called exactly as the notebook calls it. Each knows the classic wrong versions
and names the one it sees. Right answers come from the notebook's own solutions
(``backprop_lab.references.nb03``).
"""
from __future__ import annotations

import math
import re

import numpy as np

from . import hints
from .framework import Exercise, Mismatch
from .nb02 import _close, _fmt, _number, _plain_number, _recognise


def _engine_value():
    from ..value import Value

    return Value


def _value(x, label="", cls=None):
    """A Value of class ``cls`` (default: the engine's) holding the number ``x``."""
    cls = cls or _engine_value()
    try:
        return cls(x, label=label)
    except TypeError:          # a class without a label argument
        return cls(x)


def _works(cls) -> bool:
    """True when ``cls`` builds and backpropagates a small neuron like the engine's Value does."""
    try:
        w, b = cls(0.5), cls(-0.25)
        out = (w * 2.0 + b - 0.5).tanh() ** 2 * (1.0 / 2)
        out.backward()
        t = math.tanh(0.5 * 2.0 - 0.25 - 0.5)
        return (math.isclose(out.data, t * t / 2, rel_tol=1e-9)
                and math.isclose(w.grad, t * (1 - t * t) * 2.0, rel_tol=1e-9)
                and math.isclose(b.grad, t * (1 - t * t), rel_tol=1e-9))
    except Exception:  # noqa: BLE001 - anything that does not work like a Value is not used
        return False


def value_class(obj):
    """The ``Value`` class the learner's notebook trains with, if ``obj`` was defined there; else ``bl.Value``.

    Notebook 03 sets ``Value = bl.exercises.use("02.7", MyValue)``: the learner's own class once it passes.
    A learner's function may build Values of that class (``Value(0.0)``), so the check gives it inputs of
    the same class; mixing two classes in one expression fails, in the check as it would in the notebook.
    """
    cls = getattr(obj, "__globals__", {}).get("Value")
    engine = _engine_value()
    if cls is None or cls is engine or not isinstance(cls, type):
        return engine
    return cls if _works(cls) else engine


# ----------------------------------------------------------------------------- 03.1 neuron forward

NEURON_HINTS = {
    "none": hints.NONE_HINT,
    "float": ("You returned a plain number ({type}), not a Value: a number has no graph, so backward() cannot reach "
              "w and b. Every step, the activation included, must be an operation on Values (math.tanh works on "
              "numbers only)."),
    "not_value": ("You returned a {type}, not a Value: a neuron has ONE output, a single Value that the weighted sum "
                  "of ALL its inputs, the bias and the activation went into, so that backward() from it reaches "
                  "every weight."),
    "partly_detached": ("The value is right but {names} got no gradient: the result is not connected to it. A "
                        "number taken out of a Value (its .data) carries no graph; use the Value itself in the "
                        "computation."),
    "detached": ("The value is right but w and b got no gradient: the result is not connected to them. A Value made "
                 "from a number (from .data) starts a new graph; build the result from w and b themselves."),
    "no_bias": "The bias is missing: the neuron adds b to the weighted sum before the activation.",
    "zero": ("Your output is 0 where the neuron's is not: a ReLU (max(0, z)) where tanh belongs, or a fresh Value(0) "
             "returned instead of the result?"),
    "no_tanh": "The activation is missing: the neuron squashes the weighted sum plus bias with tanh.",
    "relu": "That is a ReLU neuron: this neuron's activation is tanh.",
    "tanh_inside": "The bias ended up outside the activation: tanh applies to the weighted sum AND the bias together.",
    "sum_w": ("Each weight multiplies its own input (w[0] with x[0], w[1] with x[1], ...); yours multiplies sums, or "
              "leaves x out."),
    "first_only": "Only the first product counts in your sum: every w[i] * x[i] belongs in it.",
    "prefix": ("Only the first {k} of the {n} products count in your sum: every w[i] * x[i] belongs in it, and a "
               "neuron has as many as w has entries (the check uses neurons with 1 to 4 inputs)."),
    "last_only": ("Only the last product counts in your sum: each pass of the loop replaced the running sum instead of "
                  "adding to it."),
    "mutated": ("Your function changed its inputs ({what}). neuron_forward is given the model's own weight list and "
                "the data: read them, never modify them, or the model changes every time it runs."),
    "backward_inside": ("Every gradient is twice the expected one: did your function call backward()? neuron_forward "
                        "only builds the forward pass; the caller runs backward once, on the loss."),
    "mixed": ("Your function mixes two Value classes ({error}). The check gives it w and b of the class your notebook "
              "trains with ({cls}); build the result from w and b themselves rather than from a Value class named "
              "in your code."),
    "other": "Compare with section 1's formula: every weight times its input, the bias, then the activation.",
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
    ] + [(math.tanh(sum(wi * xi for wi, xi in zip(w[:k], x[:k])) + b), NEURON_HINTS["prefix"].format(k=k, n=len(w)))
         for k in range(2, len(w))]


class NeuronForward(Exercise):
    rtol, atol = 1e-9, 1e-12

    def cases(self, rng):
        fixed = [{"w": [0.5, -1.0], "b": 0.25, "x": [-2.0, 0.8]},
                 {"w": [1.5, 0.5, -0.5], "b": -0.5, "x": [0.2, -1.0, 0.6]},
                 {"w": [0.75], "b": 0.5, "x": [-1.5]}]                     # one input: a loop of length 1
        rand = []
        for n in (2, 3, 4):
            rand.append({"w": [float(v) for v in np.round(rng.uniform(-1, 1, n), 3)],
                         "b": float(np.round(rng.uniform(-0.5, 0.5), 3)),
                         "x": [float(v) for v in np.round(rng.normal(size=n), 3)]})
        return fixed + rand

    def run(self, obj, case):
        cls = value_class(obj)
        w = [_value(v, f"w{i}", cls) for i, v in enumerate(case["w"])]
        b = _value(case["b"], "b", cls)
        w_list, x = list(w), list(case["x"])
        try:
            out = obj(w_list, b, x)
        except TypeError as exc:
            if "Value" in str(exc) and "float()" in str(exc):
                return {"problem": "mixed", "error": f"TypeError: {exc}", "cls": cls.__name__,
                        "at": self.describe(case)}
            raise
        changed = self._mutation(w, b, w_list, x, case)
        if changed:
            return {"problem": "mutated", "what": changed, "at": self.describe(case)}
        if out is None:
            return {"problem": "none", "at": self.describe(case)}
        if not hasattr(out, "backward") or not hasattr(out, "grad"):
            data = _number(out)
            return {"problem": "float" if data is not None else "not_value", "type": type(out).__name__, "data": data,
                    "at": self.describe(case)}
        out.backward()
        return {"data": _number(out.data), "grads": [_number(p.grad) for p in w + [b]]}

    @staticmethod
    def _mutation(w, b, w_list, x, case):
        if len(w_list) != len(w) or any(a is not c for a, c in zip(w_list, w)):
            if len(w_list) != len(w):
                return f"the weight list w now has {len(w_list)} entries instead of its {len(w)} weights"
            return "the weight list w now holds other objects than the weights it was given (an assignment w[i] = ...)"
        if x != case["x"]:
            return f"x was {case['x']} and is now {x}"
        if [_number(p.data) for p in w + [b]] != [float(v) for v in case["w"] + [case["b"]]]:
            return "the .data of a weight or of the bias"
        return ""

    def compare(self, got, want, case):
        if "problem" in got:
            data = got.get("data")
            if data is not None and not _close(data, want["data"]):  # a number, and the wrong one: name the slip
                hint = _recognise(data, _neuron_variants(case["w"], case["b"], case["x"]))
                if hint:
                    return Mismatch(f"expected a Value with data {want['data']:.6g}, received {data:.6g}", hint)
            if got["problem"] in ("mutated", "mixed"):
                return Mismatch(f"{got['at']}: the inputs could not be used as given",
                                NEURON_HINTS[got["problem"]].format(**got))
            return Mismatch(f"expected a Value with data {want['data']:.6g}, received a {got.get('type', 'None')}",
                            NEURON_HINTS[got["problem"]].format(**got))
        if got["data"] is None or not _close(got["data"], want["data"]):
            hint = NEURON_HINTS["zero"] if got["data"] == 0 else _recognise(
                got["data"], _neuron_variants(case["w"], case["b"], case["x"]))
            received = "None" if got["data"] is None else f"{got['data']:.6g}"
            return Mismatch(f"output expected {want['data']:.6g}, received {received}",
                            hint or NEURON_HINTS["other"])
        if None in got["grads"] or not _close(got["grads"], want["grads"]):
            detached = None not in got["grads"] and all(g == 0 for g in got["grads"])
            doubled = None not in got["grads"] and _close(got["grads"], [2 * g for g in want["grads"]])
            cut = [] if None in got["grads"] else [
                name for name, g, wg in zip([f"w[{i}]" for i in range(len(case["w"]))] + ["b"], got["grads"],
                                            want["grads"]) if g == 0 and wg != 0]
            hint = (NEURON_HINTS["detached"] if detached else NEURON_HINTS["backward_inside"] if doubled
                    else NEURON_HINTS["partly_detached"].format(names=" and ".join(cut)) if cut
                    else hints.TYPE_HINT)
            return Mismatch(f"right output, but gradients (w..., b) expected {_fmt(want['grads'])}, received "
                            f"{got['grads']}", hint)
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
    "not_list": "Return a list of the parameters (the Value objects); received {type}.{why}",
    "nested": "Your list holds lists: the optimizer needs ONE flat list whose items are the Values themselves.",
    "floats": ("Your list holds numbers, not the Value objects: a training step changes each parameter's .data in "
               "place, which only works on the model's own Values, so return the objects themselves."),
    "foreign": ("Your list holds {what}, which is not one of the model's parameters: a new Value with the same "
                "number is a different object, and updating it would not change the model."),
    "stale": ("Your list holds {what}, a parameter of ANOTHER model, one your function was given in an earlier call: "
              "it keeps what it collected from one call to the next (a list outside the function, a default "
              "argument, a cache). Every call must collect the parameters of the model it is given: the notebook "
              "builds a new model for every training run."),
    "empty": "Your list is empty: the model has parameters in every neuron of every layer.",
    "no_bias": "The biases are missing: each neuron has its weights neuron.w AND a bias neuron.b.",
    "only_bias": "Only the biases are there: each neuron's weights neuron.w are parameters too.",
    "first_layer": "Only the first layer's parameters are there: every layer of model.layers has parameters.",
    "last_layer": "Only the last layer's parameters are there: every layer of model.layers has parameters.",
    "duplicates": ("{count} parameters appear more than once: each must be listed once, or the optimizer updates "
                   "it twice per step."),
    "missing": "{count} of the {total} parameters are missing.",
    "mutated": ("Your function changed the model: {what}. Collect the parameters into a NEW list; the model's own "
                "lists must stay as they are (the notebook calls model.parameters() more than once, and the "
                "neurons read neuron.w at every forward pass)."),
}


NOT_LIST_WHY = {
    "generator": (" (A generator can be walked through only once, and the notebook walks the list at every training "
                  "step.)"),
    "set": (" (A list keeps the parameters in the order you collected them, the same at every call; a set "
            "promises no order at all.)"),
    "dict": " (A dict walks through its keys; the notebook needs the Values themselves, in a list.)",
}


def _structure(model):
    """What collecting the parameters must leave untouched: every list of the model, and what each holds."""
    return [(id(layer.neurons), len(layer.neurons),
             [(id(n.w), tuple(id(p) for p in n.w), id(n.b)) for n in layer.neurons]) for layer in model.layers]


def _what_changed(before, after):
    for k, (b_layer, a_layer) in enumerate(zip(before, after)):
        if b_layer[:2] != a_layer[:2]:
            return f"the neuron list of layer {k} changed"
        for j, (bn, an) in enumerate(zip(b_layer[2], a_layer[2])):
            if bn != an:
                return (f"neuron {j} of layer {k} now has {len(an[1])} weights in its list w, not {len(bn[1])}"
                        if len(an[1]) != len(bn[1]) else f"the weights or bias of neuron {j} of layer {k} changed")
    return "the list of layers changed"


COLLECT_ERROR_HINTS = {
    "parameters": ("model.parameters() is what this exercise builds: the notebook's MLP.parameters calls your "
                   "collect_parameters. Walk the model yourself: model.layers, each layer's neurons, each neuron's w "
                   "and b."),
    "list_and_value": ("A list and a Value met in one operation: neuron.w is a list of Values, neuron.b a single "
                       "Value, and `+` joins a list only to another list."),
}


class CollectParameters(Exercise):

    def error_hint(self, exc):
        if isinstance(exc, AttributeError) and "'parameters'" in str(exc):
            return COLLECT_ERROR_HINTS["parameters"]
        if "'list'" in str(exc) or "list" in str(exc) and "Value" in str(exc):
            return COLLECT_ERROR_HINTS["list_and_value"]
        return hints.error_hint(exc)

    def cases(self, rng):
        fixed = [{"sizes": [2, 3, 1], "seed": 0}, {"sizes": [3, 4, 4, 2], "seed": 1}]
        rand = [{"sizes": [int(v) for v in rng.integers(1, 6, size=n)], "seed": int(rng.integers(1000))}
                for n in (2, 3, 4)]
        return fixed + rand

    def run(self, obj, case):
        model = ProbeMLP(case["sizes"], case["seed"])
        params = model.all_params()
        before = (id(model.layers), len(model.layers), _structure(model))
        out = obj(model)
        after = (id(model.layers), len(model.layers), _structure(model))
        if after != before:
            return {"problem": "mutated", "what": _what_changed(before[2], after[2]) if before[:2] == after[:2]
                    else "the list of layers changed", "at": case["sizes"]}
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
                if re.fullmatch(r"L\d+\.n\d+\.(w\d+|b)", str(getattr(p, "label", ""))):   # a probe model's
                    return {"problem": "stale", "what": hints.short_repr(p, 60), "at": case["sizes"]}
                return {"problem": "foreign", "what": hints.short_repr(p, 60), "at": case["sizes"]}
            got.append(index[id(p)])
        return got

    def compare(self, got, want, case):
        if isinstance(got, dict):
            key = got.pop("problem")
            return Mismatch(f"sizes {case['sizes']}: the answer is not a flat list of the model's Values",
                            PARAM_HINTS[key].format(why=NOT_LIST_WHY.get(got.get("type"), ""), **got))
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

def _loss_builder(case, params, cls=None):
    """The case's loss as a function of the parameter Values (built fresh on every call, like a forward pass)."""
    if case["kind"] == "quadratic":
        c, t = case["c"], case["t"]

        def loss_fn():
            total = _value(0.0, cls=cls)
            for ci, p, ti in zip(c, params, t):
                total = total + ci * (p - ti) ** 2
            return total
    else:  # a tanh neuron with two weights and a bias, mean squared error over a few points
        xs, ys = case["xs"], case["ys"]

        def loss_fn():
            w1, w2, b = params
            total = _value(0.0, cls=cls)
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
                "were still there when backward() ran, and backward() ADDS to .grad. Each step must start from "
                "gradients of zero."),
    "ascent": ("The parameters moved uphill: each moved along its gradient instead of against it. Gradient "
               "DEscent lowers the loss (section 5: the step is minus the learning rate times the gradient)."),
    "no_lr": "Each parameter moved by its whole gradient: the learning rate lr sets the size of the step.",
    "unchanged": ("The parameters did not change. Either the update never reached the model's Values (a name "
                  "rebound to a new Value, `p = ...`, leaves the object in the list as it was; change p.data), or "
                  "the gradients were zero when the update ran (zeroed after backward, or updated before it, or a loss "
                  "kept from an earlier call, whose graph holds other parameters, was the one differentiated)."),
    "partial": ("Only {moved} of the {total} parameters moved (the others kept their values): every parameter in "
                "params takes a step. A `return` inside the loop?"),
    "zero_after": ("The parameters moved by lr × (old gradient + new gradient), and your step leaves every .grad at 0: "
                   "it clears the gradients AFTER the update, counting on every earlier backward pass to have been "
                   "followed by such a step. Here the parameters arrive holding gradients from before (any backward "
                   "pass over the model leaves some, as section 4's check of one weight did), and backward() ADDS "
                   "to them. Each step must start from gradients of zero."),
    "resets": ("With your {cls} this step moves the parameters right, because your backward() sets every .grad to 0 "
               "before adding to it. With the course's bl.Value, whose backward() only ADDS (as micrograd's and "
               "PyTorch's do, so that several backward passes can be summed), the same step moved them by "
               "lr × (old gradient + new gradient). A training step must not count on backward() to clear what an "
               "earlier pass left: each step must start from gradients of zero."),
    "twice": ("Each parameter moved by twice this step's gradient: backward() ran twice on this step's loss (each "
              "run ADDS its gradient to .grad), or the update was applied twice."),
    "stale_update": ("The parameters moved by the OLD gradients, the ones they held before this step: the update "
                     "must use this step's gradient, so it comes after the backward pass."),
    "loss_after": ("The parameters are right, but the loss you returned is the loss AFTER the update: return the "
                   "loss of this step's forward pass."),
    "loss_type": ("Return the loss as a number (a float); received {type}. The notebook keeps every step's loss in "
                  "a list, prints and plots it: a number is what it needs."),
    "loss_value": ("You returned the loss {type} itself; return its number (a float). The notebook keeps every "
                   "step's loss in a list and formats and plots them as numbers, and a list of Values would also "
                   "keep every step's whole graph alive."),
    "none": hints.NONE_HINT,
    "twice_resets": ("{twice} Your {cls}'s backward() sets every .grad to 0 first, so the second run went unnoticed "
                     "with it; the course's bl.Value, like PyTorch, adds."),
    "engine_adds": ("With your {cls} the step is right, but with the course's bl.Value, whose backward() adds to .grad "
                    "instead of resetting it first, it is not: a step must not depend on what backward() does with the "
                    "gradients it finds."),
    "other": "Each parameter should move by -lr times this step's gradient of the loss.",
    "lr_other": ("Each parameter moved by {r:.4g} × this step's gradient, not by lr × it (lr = {lr:g} here): your step "
                 "used a learning rate of its own, a number typed in or one kept from an earlier call, instead of "
                 "the lr it was given."),
    "loss_before": "Return the loss of this step's forward pass, loss_fn() evaluated before the update.",
}


def _accumulates(cls) -> bool:
    """True when ``cls``'s backward() adds to a gradient already held, like the engine's Value; False when it resets it."""
    try:
        a = cls(2.0)
        a.grad = 5.0
        (a * a).backward()
        return not math.isclose(_number(a.grad), 4.0)
    except Exception:  # noqa: BLE001 - cannot tell: take the class as it is
        return True


def _is_number(x) -> bool:
    """A plain number (int, float or NumPy scalar), not a bool, an array, or an object that holds one."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


class TrainStep(Exercise):
    rtol, atol = 1e-9, 1e-12

    def cases(self, rng):
        fixed = [
            {"kind": "quadratic", "c": [1.0, 2.0], "t": [3.0, -1.0], "p0": [0.5, 0.5], "stale": [0.0, 0.0], "lr": 0.1},
            {"kind": "quadratic", "c": [1.0, 0.5, 2.0], "t": [1.0, 2.0, 0.0], "p0": [2.0, -1.0, 0.5],
             "stale": [0.7, -0.3, 1.1], "lr": 0.04},     # not half of case 1's: a typed-in 0.1 is no "twice"
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
        cls = value_class(obj)
        got = self._step(obj, case, cls)
        engine = _engine_value()
        if "problem" not in got and cls is not engine and not _accumulates(cls):
            # the learner's backward() resets every gradient first, so a step that forgets them passes with it:
            # the same step must also work with a backward() that adds, the engine's
            try:
                on_engine = self._step(obj, case, engine)
            except Exception:  # noqa: BLE001 - a step that only runs on the learner's class is judged on it
                on_engine = {}
            if "params" in on_engine:
                got["engine_params"] = on_engine["params"]
                got["cls"] = cls.__name__
        return got

    @staticmethod
    def _step(obj, case, cls):
        params = [_value(v, f"p{i}", cls) for i, v in enumerate(case["p0"])]
        for p, g in zip(params, case["stale"]):
            p.grad = g            # left over from a previous step
        loss = obj(list(params), _loss_builder(case, params, cls), case["lr"])
        if loss is None:
            return {"problem": "none", "at": case["p0"]}
        if not _is_number(loss):
            key = "loss_value" if hasattr(loss, "backward") and _number(loss) is not None else "loss_type"
            return {"problem": key, "type": type(loss).__name__, "at": case["p0"]}
        return {"loss": float(loss), "params": [_number(p.data) for p in params],
                "grads_zeroed": all(_number(p.grad) == 0 for p in params)}

    def compare(self, got, want, case):
        if "problem" in got:
            key = got.pop("problem")
            return Mismatch(f"p0 = {case['p0']}: no usable loss returned", STEP_HINTS[key].format(**got))
        p0, lr, stale = case["p0"], case["lr"], case["stale"]
        grads = _grads_at(case, p0)
        if "engine_params" in got and _close(got["params"], want["params"], self.rtol, self.atol) and not _close(
                got["engine_params"], want["params"], self.rtol, self.atol):
            hint = _recognise(got["engine_params"], [
                ([p - lr * (g + s) for p, g, s in zip(p0, grads, stale)], STEP_HINTS["resets"].format(cls=got["cls"])),
                ([p - 2 * lr * g for p, g in zip(p0, grads)],
                 STEP_HINTS["twice_resets"].format(twice=STEP_HINTS["twice"], cls=got["cls"]))])
            hint = hint or STEP_HINTS["engine_adds"].format(cls=got["cls"])
            return Mismatch(f"with bl.Value the parameters after the step were {_fmt(got['engine_params'])}, expected "
                            f"{_fmt(want['params'])} (before: {_fmt(p0)}, lr = {lr:g}, gradients left from before: "
                            f"{_fmt(stale)})", hint)
        if not _close(got["params"], want["params"], self.rtol, self.atol):
            message = (f"parameters after the step expected {_fmt(want['params'])}, received {_fmt(got['params'])} "
                       f"(before: {_fmt(p0)}, lr = {lr:g})")
            no_zero = STEP_HINTS["zero_after"] if got.get("grads_zeroed") else STEP_HINTS["no_zero"]
            variants = [
                ([p - lr * (g + s) for p, g, s in zip(p0, grads, stale)], no_zero),
                ([p - 2 * lr * g for p, g in zip(p0, grads)], STEP_HINTS["twice"]),
                ([p + lr * g for p, g in zip(p0, grads)], STEP_HINTS["ascent"]),
                ([p - g for p, g in zip(p0, grads)], STEP_HINTS["no_lr"]),
                (list(p0), STEP_HINTS["unchanged"]),
                ([p - lr * s for p, s in zip(p0, stale)], STEP_HINTS["stale_update"]),
                ([p + lr * (g + s) for p, g, s in zip(p0, grads, stale)], STEP_HINTS["ascent"]),
            ]
            hint = _recognise(got["params"], variants) or self._own_rate(got["params"], p0, grads, lr)
            moved = [not _close(g, p) for g, p in zip(got["params"], p0)]
            right = [_close(g, w) for g, w in zip(got["params"], want["params"])]
            if hint is None and any(right) and all(r or not m for r, m in zip(right, moved)):
                hint = STEP_HINTS["partial"].format(moved=sum(right), total=len(p0))
            return Mismatch(message, hint or STEP_HINTS["other"])
        if not _close(got["loss"], want["loss"], self.rtol, self.atol):
            after = _loss_at(case, want["params"])
            hint = STEP_HINTS["loss_after"] if _close(got["loss"], after) else STEP_HINTS["loss_before"]
            return Mismatch(f"returned loss expected {want['loss']:.6g}, received {got['loss']:.6g}", hint)
        return None

    @staticmethod
    def _own_rate(params, p0, grads, lr):
        """The hint for a step of -r × this step's gradient with one r > 0 other than lr, else None."""
        rates = [(p - q) / g for p, q, g in zip(p0, params, grads) if abs(g) > 1e-9]
        if rates and rates[0] > 0 and not _close(rates[0], lr) and _close(rates, [rates[0]] * len(rates), 1e-7, 1e-12):
            return STEP_HINTS["lr_other"].format(r=rates[0], lr=lr)
        return None

    def describe(self, case):
        what = "a quadratic bowl" if case["kind"] == "quadratic" else "a tanh neuron's mean squared error"
        return f"{what}, params {case['p0']}, gradients left from before {case['stale']}, lr = {case['lr']:g}"


# ----------------------------------------------------------------------------- 03.4 the learning rate

LR_CASE = {"c": 2.5, "w_star": 3.0}

LR_HINTS = {
    "pair": "Give two numbers: (lr_one_step, lr_diverge).",
    "no_two": ("Both are twice the right ones: the derivative of the square c (w - w*)² brings down a factor 2, "
               "and your answers leave it out."),
    "swapped": "The two answers are swapped: the one-step rate is the smaller one.",
    "one_step": ("lr_one_step is off (your lr_diverge is right). One step must land on w* from ANY starting point: "
                 "in w_new - w* = (…)(w - w*), the factor in brackets must then be exactly 0."),
    "diverge": ("lr_diverge is off (your lr_one_step is right). Each step multiplies the distance to w* by the same "
                "factor; the iterates move away from w* once that factor's absolute value is larger than 1. Which lr "
                "makes it -1?"),
    "diverge_double": ("lr_diverge equals your one-step rate, where the factor in brackets is 0 and the iterates "
                       "land on w*. Past it the factor turns negative and they jump across w*, still closing in: they "
                       "move away only once the factor is below -1."),
    "other": "Work out L'(w), write one step as w_new - w* = (…)(w - w*), and read both answers off the factor in brackets.",
}


class LearningRate(Exercise):
    rtol, atol = 1e-6, 1e-9
    show_expected = False   # the expected pair IS the answer: a wrong guess must not be shown it

    def cases(self, rng):
        return [dict(LR_CASE)]

    def run(self, obj, case):
        if not isinstance(obj, (tuple, list)) or len(obj) != 2:
            return {"problem": "pair", "got": hints.short_repr(obj)}
        missing = [name for name, v in zip(("lr_one_step", "lr_diverge"), obj) if v is None or v is Ellipsis]
        if missing:
            raise NotImplementedError(f"Exercise 03.4 is not done yet: {' and '.join(missing)} "
                                      f"{'is' if len(missing) == 1 else 'are'} still None; set both to numbers.")
        values = [float(v) if _plain_number(v) else None for v in obj]   # numbers: the notebook computes with them
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
        return Mismatch(message, hint or LR_HINTS["other"])

    def describe(self, case):
        return "L(w) = 2.5 (w - 3)², gradient descent w ← w - lr · dL/dw"

