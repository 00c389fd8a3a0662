"""The checks of notebook 03 accept the reference and reject each classic mistake with its own hint."""
import inspect
import math
import re

import numpy as np
import pytest

import backprop_lab as bl
from backprop_lab.exercises.nb03 import LR_HINTS, NEURON_HINTS, PARAM_HINTS, STEP_HINTS, ProbeMLP
from backprop_lab.references import nb03 as reference


from exercise_helpers import assert_rejected, lenient, run_check  # noqa: F401  (lenient: autouse fixture)


@pytest.mark.parametrize("exercise_id, obj", [
    ("03.1", reference.neuron_forward), ("03.2", reference.collect_parameters), ("03.3", reference.train_step),
    ("03.4", (reference.lr_one_step, reference.lr_diverge)), ("03.4", (0.2, 0.4)),
])
@pytest.mark.parametrize("seed", [None, 3])
def test_reference_passes(exercise_id, obj, seed):
    result = run_check(exercise_id, obj, seed=seed)
    assert result.passed, repr(result)


def test_not_done_is_todo():
    assert run_check("03.4", (None, None)).status == "todo"

    def neuron_forward(w, b, x):
        raise NotImplementedError("Exercise 03.1: return tanh(...)")
    assert run_check("03.1", neuron_forward).status == "todo"
    assert run_check("03.2", None).status == "todo"
    result = run_check("03.4", (0.2, None))
    assert result.status == "todo" and "lr_diverge is still None" in result.first_problem.error


# ----------------------------------------------------------------------------- 03.1 neuron forward

def weighted_sum(w, b, x):
    z = b
    for wi, xi in zip(w, x):
        z = z + wi * xi
    return z


NEURON_WRONG = {
    "zeros": (lambda w, b, x: bl.Value(0.0), NEURON_HINTS["zero"]),
    "no_bias": (lambda w, b, x: weighted_sum(w, bl.Value(0.0), x).tanh(), NEURON_HINTS["no_bias"]),
    "no_tanh": (weighted_sum, NEURON_HINTS["no_tanh"]),
    "relu": (lambda w, b, x: weighted_sum(w, b, x).relu(), "ReLU"),
    "tanh_inside": (lambda w, b, x: weighted_sum(w, bl.Value(0.0), x).tanh() + b, NEURON_HINTS["tanh_inside"]),
    "math_tanh_float": (lambda w, b, x: math.tanh(weighted_sum(w, b, x).data), "plain number"),
    "detached": (lambda w, b, x: bl.Value(math.tanh(weighted_sum(w, b, x).data)), NEURON_HINTS["detached"][:50]),
    "first_only": (lambda w, b, x: (w[0] * x[0] + b).tanh(), NEURON_HINTS["first_only"]),
    "last_only": (lambda w, b, x: (w[-1] * x[-1] + b).tanh(), NEURON_HINTS["last_only"]),
    "none": (lambda w, b, x: None, "return"),
    "two inputs hard-coded": (lambda w, b, x: (w[0] * x[0] + w[1] * x[1] + b).tanh(), "Only the first 2 of the 3"),
    "one output per input": (lambda w, b, x: [(wi * xi + b).tanh() for wi, xi in zip(w, x)],
                             "You returned a list, not a Value: a neuron has ONE output"),   # was "a plain number"
}


@pytest.mark.parametrize("name", sorted(NEURON_WRONG))
def test_neuron_rejects(name):
    impl, hint = NEURON_WRONG[name]
    assert_rejected(run_check("03.1", impl), hint)


def test_neuron_float_with_wrong_value_names_the_slip():
    """A plain number that is also the wrong formula: the formula's hint comes first."""
    result = run_check("03.1", lambda w, b, x: weighted_sum(w, b, x).data)
    assert result.status == "fail" and result.hint == NEURON_HINTS["no_tanh"]


def neuron_appending_bias(w, b, x):
    w.append(b)                                   # changes the model's own weight list
    return weighted_sum(w[:-1], w[-1], x).tanh()


def neuron_calling_backward(w, b, x):
    out = weighted_sum(w, b, x).tanh()
    out.backward()
    return out


@pytest.mark.parametrize("impl, fragment", [
    (neuron_appending_bias, "changed its inputs (the weight list w now has"),
    (lambda w, b, x: x.append(1.0) or weighted_sum(w, b, x[:-1]).tanh(), "x was"),
    (neuron_calling_backward, "did your function call backward()"),
])
def test_neuron_traps(impl, fragment):
    assert_rejected(run_check("03.1", impl), fragment)


NEURON_WITH_VALUE = """
def neuron_forward(w, b, x):
    z = Value(0.0)                      # the notebook's Value: the learner's MyValue once 02.7 passes
    for wi, xi in zip(w, x):
        z = z + wi * xi
    return (z + b).tanh()
"""


def learner_function(source, **names):
    namespace = dict(names)
    exec(source, namespace)
    return namespace["neuron_forward"]


def test_neuron_is_checked_with_the_notebooks_value_class():
    """Notebook 03 trains with the learner's MyValue: code that builds `Value(0.0)` must pass with that class."""
    from backprop_lab.references.nb02 import MyValue
    from backprop_lab.exercises.nb03 import value_class

    mine = learner_function(NEURON_WITH_VALUE, Value=MyValue)
    assert value_class(mine) is MyValue
    assert run_check("03.1", mine).passed
    assert run_check("03.1", learner_function(NEURON_WITH_VALUE, Value=bl.Value)).passed


def test_neuron_mixing_value_classes_is_named():
    """The engine's Value built inside, the notebook's MyValue given: the notebook would crash, so the check fails."""
    from backprop_lab.references.nb02 import MyValue

    mixed = learner_function(NEURON_WITH_VALUE.replace("Value(0.0)", "bl.Value(0.0)"), Value=MyValue, bl=bl)
    assert_rejected(run_check("03.1", mixed), "mixes two Value classes")


def test_a_broken_value_class_in_the_notebook_is_not_used():
    """A `Value` name that does not work like a Value (a stub, a typo) leaves the check on the engine's class."""
    from backprop_lab.exercises.nb03 import value_class

    class Broken:
        def __init__(self, data, label=""):
            self.data = data

    assert value_class(learner_function(NEURON_WITH_VALUE, Value=Broken)) is bl.Value
    assert value_class(learner_function(NEURON_WITH_VALUE, Value=42)) is bl.Value


# ----------------------------------------------------------------------------- 03.2 collect parameters

def weights_only(model):
    return [p for la in model.layers for n in la.neurons for p in n.w]


PARAM_WRONG = {
    "empty": (lambda model: [], PARAM_HINTS["empty"]),
    "no_bias": (weights_only, PARAM_HINTS["no_bias"]),
    "only_bias": (lambda model: [n.b for la in model.layers for n in la.neurons], PARAM_HINTS["only_bias"]),
    "first_layer": (lambda model: [p for n in model.layers[0].neurons for p in n.w + [n.b]],
                    PARAM_HINTS["first_layer"]),
    "nested": (lambda model: [n.w + [n.b] for la in model.layers for n in la.neurons], "ONE flat list"),
    "floats": (lambda model: [p.data for p in reference.collect_parameters(model)], "not the Value objects"),
    "duplicates": (lambda model: reference.collect_parameters(model) + [model.layers[0].neurons[0].b],
                   "more than once"),
    "generator": (lambda model: (p for p in reference.collect_parameters(model)), "walked through only once"),
    "set": (lambda model: set(reference.collect_parameters(model)), "a set promises no order"),
    "copies": (lambda model: [bl.Value(p.data) for p in reference.collect_parameters(model)], "not one of the model's"),
    "appends the bias to w": (lambda model: [p for la in model.layers for n in la.neurons
                                             for p in (n.w.append(n.b) or n.w)], "Your function changed the model"),
}


@pytest.mark.parametrize("name", sorted(PARAM_WRONG))
def test_parameters_rejects(name):
    impl, hint = PARAM_WRONG[name]
    assert_rejected(run_check("03.2", impl), hint)


def params_adding_the_bias_to_the_list(model):
    params = []
    for layer in model.layers:
        for neuron in layer.neurons:
            params += neuron.w + neuron.b        # list + Value
    return params


def test_parameters_list_plus_value_error_gets_a_hint():
    assert_rejected(run_check("03.2", params_adding_the_bias_to_the_list), "A list and a Value met", status="error")


def test_parameters_calling_model_parameters_gets_a_hint():
    """Walkthrough 2: `return model.parameters()` (the MLP has that method, which calls this very function) raised
    an AttributeError on the probe model with no hint."""
    assert_rejected(run_check("03.2", lambda model: model.parameters()), "what this exercise builds", status="error")


def test_parameters_any_order_passes():
    assert run_check("03.2", lambda model: reference.collect_parameters(model)[::-1]).passed


def test_probe_mlp_counts_like_the_formula():
    assert len(ProbeMLP([2, 4, 1]).all_params()) == 2 * 4 + 4 + 4 * 1 + 1


# ----------------------------------------------------------------------------- 03.3 one training step

def step(zero=True, sign=-1.0, use_lr=True, update_first=False, loss_after=False, only_first=False, rate=None):
    def train_step(params, loss_fn, lr):
        moved = params[:1] if only_first else params      # only_first: a `return` inside the update loop
        if rate is not None:                               # rate: a learning rate of its own, not lr
            lr = rate
        if zero:
            for p in params:
                p.grad = 0.0
        if update_first:
            for p in moved:
                p.data += sign * (lr if use_lr else 1.0) * p.grad
        loss = loss_fn()
        loss.backward()
        if not update_first:
            for p in moved:
                p.data += sign * (lr if use_lr else 1.0) * p.grad
        return loss_fn().data if loss_after else loss.data
    return train_step


def step_rebinds(params, loss_fn, lr):
    for p in params:
        p.grad = 0.0
    loss = loss_fn()
    loss.backward()
    for p in params:
        p = p - lr * p.grad      # rebinds the name only  # noqa: F841
    return loss.data


def step_zeroing_at_the_end(params, loss_fn, lr):
    loss = loss_fn()
    loss.backward()
    for p in params:
        p.data -= lr * p.grad
        p.grad = 0.0           # "clean for the next step": but this step found gradients left from before
    return loss.data


def step_backward_twice(params, loss_fn, lr):
    for p in params:
        p.grad = 0.0
    loss = loss_fn()
    loss.backward()
    loss.backward()
    for p in params:
        p.data -= lr * p.grad
    return loss.data


def step_zeros(params, loss_fn, lr):
    for p in params:
        p.grad = 0.0
    return 0.0


STEP_WRONG = {
    "zeros": (step_zeros, STEP_HINTS["unchanged"][:50]),
    "no_zero_grad": (step(zero=False), STEP_HINTS["no_zero"][:50]),
    "ascent": (step(sign=+1.0), STEP_HINTS["ascent"]),
    "no_lr": (step(use_lr=False), STEP_HINTS["no_lr"]),
    "update_before_backward": (step(update_first=True), STEP_HINTS["unchanged"][:50]),
    "rebinds": (step_rebinds, STEP_HINTS["unchanged"][:50]),
    "loss_after_update": (step(loss_after=True), STEP_HINTS["loss_after"][:50]),
    "returns_none": (lambda params, loss_fn, lr: None, "return"),
    "zeroes_at_the_end": (step_zeroing_at_the_end, "clears the gradients AFTER the update"),
    "backward_twice": (step_backward_twice, STEP_HINTS["twice"][:60]),
}


@pytest.mark.parametrize("name", sorted(STEP_WRONG))
def test_step_rejects(name):
    impl, hint = STEP_WRONG[name]
    assert_rejected(run_check("03.3", impl), hint)


def test_step_stale_update_is_named():
    """No zeroing and the update before backward: moved by the previous step's gradients."""
    from backprop_lab.exercises import get
    from backprop_lab.exercises.framework import judge, run_case

    ex = get("03.3")
    case = ex.cases(np.random.default_rng(0))[1]      # a case with gradients left from before
    outcome = judge(ex, case, *run_case(ex, step(zero=False, update_first=True), case))
    assert outcome.status == "fail" and outcome.mismatch.hint == STEP_HINTS["stale_update"]


def step_returning(what):
    """The course's train_step, returning what(loss) for the loss Value instead of its number."""
    def train_step(params, loss_fn, lr):
        losses = []
        reference.train_step(params, lambda: losses.append(loss_fn()) or losses[-1], lr)
        return what(losses[0])
    return train_step


def test_step_returning_the_loss_value_is_rejected():
    """Notebook 03 formats and plots the losses: a Value passed here would crash it later (issue 15)."""
    assert_rejected(run_check("03.3", step_returning(lambda loss: loss)), "You returned the loss Value itself")


@pytest.mark.parametrize("what, fragment", [
    (lambda loss: bl.Tensor(loss.data), "You returned the loss Tensor itself"),
    (lambda loss: np.array(loss.data), "Return the loss as a number"),
    (lambda loss: [loss.data], "Return the loss as a number"),
    (lambda loss: str(loss.data), "Return the loss as a number"),
])
def test_step_returning_other_than_a_number_is_rejected(what, fragment):
    assert_rejected(run_check("03.3", step_returning(what)), fragment)


def test_step_returning_a_numpy_float_passes():
    assert run_check("03.3", step_returning(lambda loss: np.float64(loss.data))).passed


step_first_only = step(only_first=True)


def test_step_updating_only_some_parameters_is_named():
    assert_rejected(run_check("03.3", step_first_only), "Only 1 of the 2 parameters moved")


def resetting_my_value():
    """The course's MyValue (notebook 02), with a backward() that sets every .grad to 0 before the pass: it passes
    check 02.7 (its gradients are right), but a training step that forgets the old gradients goes unnoticed with it."""
    from backprop_lab.references import nb02

    namespace = {}
    exec(compile(inspect.getsource(nb02), "my_value.py", "exec"), namespace)
    course_backward = namespace["backward"]

    def backward(root):
        for node in namespace["topo_sort"](root):
            node.grad = 0.0
        course_backward(root)

    namespace["backward"] = backward           # MyValue.backward looks it up when it runs
    return namespace["MyValue"]


def on_class(step_fn, cls):
    """``step_fn`` as a learner's notebook defines it, where `Value` is ``cls`` (the check reads that name)."""
    namespace = {"Value": cls, "__builtins__": __builtins__}
    return type(step_fn)(step_fn.__code__, namespace, step_fn.__name__, step_fn.__defaults__, step_fn.__closure__)


def test_a_step_that_counts_on_a_resetting_backward_is_caught():
    """Found by a learner's walkthrough: with their own MyValue whose backward() resets the gradients, a step without
    zeroing passed 03.3. The check now runs such a step with bl.Value too, whose backward() adds."""
    from backprop_lab.exercises.nb03 import _accumulates, value_class

    mine = resetting_my_value()
    assert run_check("02.7", mine).passed and not _accumulates(mine) and _accumulates(bl.Value)
    assert value_class(on_class(step(zero=False), mine)) is mine
    assert_rejected(run_check("03.3", on_class(step(zero=False), mine)), "because your backward() sets every .grad")
    assert_rejected(run_check("03.3", on_class(step_backward_twice, mine)), "the second run went unnoticed")
    assert run_check("03.3", on_class(reference.train_step, mine)).passed


# ----------------------------------------------------------------------------- 03.4 learning rate (c = 2.5)

LR_WRONG = {
    "zeros": ((0.0, 0.0), "factor"),
    "no_two": ((0.4, 0.8), LR_HINTS["no_two"]),
    "swapped": ((0.4, 0.2), LR_HINTS["swapped"]),
    "one_step_wrong": ((0.1, 0.4), LR_HINTS["one_step"][:40]),
    "diverge_at_one_step": ((0.2, 0.2), LR_HINTS["diverge_double"][:40]),
    "diverge_wrong": ((0.2, 1.0), LR_HINTS["diverge"][:40]),
    "one_number": (0.2, LR_HINTS["pair"]),
}


@pytest.mark.parametrize("name", sorted(LR_WRONG))
def test_lr_rejects(name):
    answer, hint = LR_WRONG[name]
    assert_rejected(run_check("03.4", answer), hint)


def test_lr_wrong_answer_is_not_shown_the_right_pair():
    """Found by a learner's walkthrough: a wrong pair was answered with "Expected: [0.2, 0.4]"."""
    result = run_check("03.4", (0.3, 0.5))
    text = repr(result)
    assert result.status == "fail" and "Expected" not in text and "Expected" not in result._repr_html_()
    assert not re.search(r"(?<![\d.])0\.[24](?![\d])", text), text


# ----------------------------------------------------------------------------- the training widget

def test_training_playground_trains_and_retrains(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    from backprop_lab.widgets.training import accuracy, grid_for, training_playground

    x = np.array([[0.0, 1.0], [1.0, 0.0], [-1.0, 0.5], [0.5, -1.0]])
    y = np.array([1.0, -1.0, 1.0, -1.0])
    calls = []

    def fit(hidden, lr, steps):
        calls.append((hidden, lr, steps))
        return [1.0 / (k + 1) for k in range(steps)], lambda pts: pts[:, 1] - pts[:, 0]

    box = training_playground(fit, x, y, lr=0.1, hidden=3, steps=20)
    assert calls == [(3, 0.1, 20)] and box.history[0][4] == 1.0        # trained once when built, all right
    box.children[0].children[1].value = 5                               # the hidden-size slider
    box.train()
    assert calls[-1][0] == 5 and len(box.history) == 2
    assert accuracy(lambda pts: -pts[:, 1], x, y) == 0.25     # only the second point right
    xx, yy, pts = grid_for(x, n=7)
    assert xx.shape == (7, 7) and pts.shape == (49, 2)


def test_training_playground_shows_an_initial_model_without_training(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    from backprop_lab.widgets.training import training_playground

    x = np.array([[0.0, 1.0], [1.0, 0.0], [-1.0, 0.5], [0.5, -1.0]])
    y = np.array([1.0, -1.0, 1.0, -1.0])
    calls = []

    def fit(hidden, lr, steps):
        calls.append((hidden, lr, steps))
        return [1.0, 0.5], lambda pts: -pts[:, 1]

    box = training_playground(fit, x, y, lr=0.7, hidden=8, steps=80,
                              initial=([1.0, 0.2], lambda pts: pts[:, 1] - pts[:, 0]))
    assert calls == [] and box.history[0][:4] == (0.7, 8, 80, 0.2) and box.history[0][4] == 1.0
    lr_slider = box.children[0].children[0]
    assert 0.7 in [v for _, v in lr_slider.options] and lr_slider.value == 0.7
    lr_slider.value = 3.0
    box.train()
    assert calls == [(8, 3.0, 80)] and box.history[-1][4] == 0.25     # the retrained model, only one point right


# ----------------------------------------------------------------------------- no answer before the check

CATALOGUES = {"03.1": [impl for impl, _ in NEURON_WRONG.values()],
              "03.2": [impl for impl, _ in PARAM_WRONG.values()],
              "03.3": [impl for impl, _ in STEP_WRONG.values()] + [step_first_only, step_returning(lambda v: v),
                                                                   on_class(step(zero=False), resetting_my_value())],
              "03.4": [answer for answer, _ in LR_WRONG.values()]}


def test_no_hint_gives_the_answer():
    """Every known-wrong answer gets a hint, and none of them, built from its case, holds a key expression."""
    from answer_scan import hint_leaks
    from test_answers_hidden_nb03 import KEY_EXPRESSIONS

    assert [f for xid, wrong in CATALOGUES.items() for f in hint_leaks(xid, wrong, KEY_EXPRESSIONS[xid])] == []


def test_neuron_with_the_bias_added_as_a_number_names_the_bias():
    """Walkthrough 2: `... + b.data` (the bias cut off the graph) got "wrong type or structure"."""
    def neuron_forward(w, b, x):
        return (sum(wi * xi for wi, xi in zip(w, x)) + b.data).tanh()
    assert_rejected(run_check("03.1", neuron_forward), "but b got no gradient")


# ----------------------------------------------------------------------------- walkthrough 3

_COLLECTED = {}


def collect_once(model):
    """The list of the first model it saw, kept for every later call: was told 'a new Value with the same number'."""
    if "params" not in _COLLECTED:
        _COLLECTED["params"] = [p for la in model.layers for n in la.neurons for p in n.w + [n.b]]
    return list(_COLLECTED["params"])


def neuron_overwriting_w(w, b, x):
    """w[i] = w[i] * x[i]: was told 'w now has 2 entries, not the 2 weights it was given'."""
    for i in range(len(w)):
        w[i] = w[i] * x[i]
    return (sum(w) + b).tanh()


def test_collect_parameters_that_keeps_an_earlier_models_list_is_named():
    _COLLECTED.clear()
    assert_rejected(run_check("03.2", collect_once), PARAM_HINTS["stale"].split("{")[0])


def test_neuron_that_overwrites_its_weight_list_is_told_so_in_words_that_add_up():
    result = run_check("03.1", neuron_overwriting_w)
    assert_rejected(result, "holds other objects than the weights it was given")


def test_learning_rates_may_be_0_d_arrays():
    """Walkthrough 3: np.array(0.2) was refused as 'expected two numbers, received (0.2, 0.4)'."""
    right = (reference.lr_one_step, reference.lr_diverge)
    assert run_check("03.4", tuple(np.array(v) for v in right)).passed
    assert_rejected(run_check("03.4", (np.array([right[0]]), right[1])), LR_HINTS["pair"])


def test_a_learning_rate_typed_in_is_not_told_backward_ran_twice():
    """Walkthrough 3: lr = 0.1 typed in passed case 1 (lr 0.1) and was told 'backward() ran twice' on case 2."""
    assert_rejected(run_check("03.3", step(rate=0.1)), "used a learning rate of its own")
