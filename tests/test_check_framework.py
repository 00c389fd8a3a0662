"""The check framework: toy exercises fed known-wrong implementations must get the right hint.

The toy exercises use ids 99.x (no notebook has them) and are registered for the module only.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

import backprop_lab as bl
from backprop_lab.exercises import CheckFailed, Exercise, check, get, hints, register, use
from backprop_lab.exercises import framework, render


# ----------------------------------------------------------------------------- toy exercises

class LinearBackward(Exercise):
    """dx, dW, db of D = x @ W + b (x: (N, I), W: (I, O), b: (O,))."""

    id, points, target = "99.1", 3, "linear_backward"
    title = "the backward of D = x @ W + b"

    def cases(self, rng):
        fixed = [{"x": np.arange(6.0).reshape(2, 3) - 2, "W": np.arange(12.0).reshape(3, 4) / 10 - 0.5,
                  "grad": np.ones((2, 4))}]
        return fixed + [{"x": rng.normal(size=(5, 3)), "W": rng.normal(size=(3, 4)), "grad": rng.normal(size=(5, 4))}
                        for _ in range(3)]

    def run(self, obj, case):
        b = np.zeros(case["W"].shape[1])
        return tuple(np.asarray(g) for g in obj(case["x"], case["W"], b, case["grad"]))

    def expected(self, case):
        x, W, g = case["x"], case["W"], case["grad"]
        return (g @ W.T, x.T @ g, g.sum(axis=0))


class GraphBackward(Exercise):
    """The learner's ``backward(root)`` over backprop_lab.Value graphs; returns the leaves' grads."""

    id, points, target = "99.2", 2, "backward"
    title = "backward(root) through a Value graph"

    def cases(self, rng):
        return [{"x": 3.0, "y": -2.0}] + [{"x": float(rng.normal()), "y": float(rng.normal())} for _ in range(2)]

    @staticmethod
    def graph(case):
        x, y = bl.Value(case["x"], label="x"), bl.Value(case["y"], label="y")
        return x, y, x * x * y + x * y  # x and y each feed more than one operation

    def run(self, obj, case):
        x, y, f = self.graph(case)
        obj(f)
        return [x.grad, y.grad]

    def expected(self, case):
        x, y, f = self.graph(case)
        f.backward()
        return [x.grad, y.grad]


class RowSums(Exercise):
    """Row sums of a square matrix: the wrong axis has the right shape, so it needs a suspect."""

    id, points, target = "99.3", 1, "row_sums"
    title = "row sums of a square matrix"
    AXIS_HINT = "You summed the columns (axis=0); row sums reduce over axis=1."

    def cases(self, rng):
        return [{"A": np.arange(9.0).reshape(3, 3)}] + [{"A": rng.normal(size=(4, 4))} for _ in range(2)]

    def run(self, obj, case):
        return obj(case["A"])

    def expected(self, case):
        return case["A"].sum(axis=1)

    def suspects(self, case):
        return [(self.AXIS_HINT, case["A"].sum(axis=0))]


class BrokenChecker(Exercise):
    id, title = "99.4", "a checker whose reference crashes"

    def cases(self, rng):
        return [{"x": 1.0}]

    def run(self, obj, case):
        return obj(case["x"])

    def expected(self, case):
        return 1 / 0


TOYS = (LinearBackward, GraphBackward, RowSums, BrokenChecker)


@pytest.fixture(autouse=True)
def toys(monkeypatch, tmp_path):
    for cls in TOYS:
        register(cls)
    monkeypatch.setenv("BACKPROP_LAB_PROGRESS", str(tmp_path / "progress.json"))
    yield
    for cls in TOYS:
        framework.REGISTRY.pop(cls.id, None)


@pytest.fixture
def lenient(monkeypatch):
    monkeypatch.delenv("BACKPROP_LAB_STRICT", raising=False)


def hint_of(exercise_id, obj):
    result = check(exercise_id, obj)
    assert result.status == "fail", repr(result)
    return result.hint


# ----------------------------------------------------------------------------- reference answers pass

def linear_backward(x, W, b, grad):
    return grad @ W.T, x.T @ grad, grad.sum(axis=0)


def backward(root):
    order = bl.autograd.topo_sort(root)
    for node in order:
        node.grad = 0.0
    root.grad = 1.0
    for node in reversed(order):
        for parent, local in zip(node._prev, node._local_grads):
            parent.grad += local * node.grad


def test_correct_answers_pass_and_say_what_was_verified(tmp_path):
    for ex_id, obj in (("99.1", linear_backward), ("99.2", backward), ("99.3", lambda A: A.sum(axis=1))):
        result = check(ex_id, obj)
        assert result.passed and bool(result)
        text, html = repr(result), result._repr_html_()
        assert "passed" in text and "verified on" in text and framework.get(ex_id).title in text
        assert "#1e8e3e" in html and "Verified on" in html
    progress = json.loads((tmp_path / "progress.json").read_text())["exercises"]
    assert all(progress[i]["passed"] for i in ("99.1", "99.2", "99.3"))


# ----------------------------------------------------------------------------- the mutation catalogue

def missing_transpose(x, W, b, grad):
    return grad @ W.T, grad.T @ x, grad.sum(axis=0)            # dW as (O, I)


def sign_flip(x, W, b, grad):
    return -(grad @ W.T), -(x.T @ grad), -grad.sum(axis=0)


def zeros(x, W, b, grad):
    return np.zeros_like(x), np.zeros_like(W), np.zeros_like(b)


def no_unbroadcast(x, W, b, grad):
    return grad @ W.T, x.T @ grad, grad                         # db keeps the batch axis


def wrong_axis(x, W, b, grad):
    return grad @ W.T, x.T @ grad, grad.sum(axis=1)             # sums over outputs, not the batch


def kept_dims(x, W, b, grad):
    return grad @ W.T, x.T @ grad, grad.sum(axis=0, keepdims=True)


_FIRST = LinearBackward().cases(np.random.default_rng(0))[0]
_ANSWER = LinearBackward().expected(_FIRST)


def hard_coded(x, W, b, grad):
    return tuple(a.copy() for a in _ANSWER)                      # right for the first case only


def hard_coded_wrong(x, W, b, grad):
    return np.ones((2, 3)), np.full((3, 4), 0.5), np.ones(4)    # the same every time, never right


def assign_instead_of_accumulate(root):
    order = bl.autograd.topo_sort(root)
    for node in order:
        node.grad = 0.0
    root.grad = 1.0
    for node in reversed(order):
        for parent, local in zip(node._prev, node._local_grads):
            parent.grad = local * node.grad                     # `=`: the last use wins


def graph_sign(root):
    backward(root)
    for node in bl.autograd.topo_sort(root):
        node.grad = -node.grad


def graph_zeros(root):
    for node in bl.autograd.topo_sort(root):
        node.grad = 0.0


@pytest.mark.parametrize("wrong, words", [
    (missing_transpose, "transpose"),
    (sign_flip, "wrong sign"),
    (zeros, "all zeros"),
    (no_unbroadcast, "grad.sum(axis=0)"),
    (wrong_axis, "axis=0?"),
    (kept_dims, "keepdims=False"),
    (hard_coded, "hard-coded"),
    (hard_coded_wrong, "hard-coded"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_linear_backward_mistakes_get_their_hint(lenient, wrong, words):
    assert words in hint_of("99.1", wrong)


@pytest.mark.parametrize("wrong, words", [
    (assign_instead_of_accumulate, "`+=`"),
    (graph_sign, "wrong sign"),
    (graph_zeros, "all zeros"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_graph_backward_mistakes_get_their_hint(lenient, wrong, words):
    assert words in hint_of("99.2", wrong)


def test_unbroadcast_hint_on_a_real_engine_gradient():
    """The hint fires on what the engine itself produces when broadcasting is not undone."""
    x = bl.Tensor(np.ones((4, 3)), requires_grad=True)
    b = bl.Tensor(np.ones((1, 3)), requires_grad=True)
    (x * b).sum().backward()
    not_undone = np.ones((4, 3)) * x.data                      # the gradient before unbroadcast
    m = hints.compare_values(not_undone, b.grad)
    assert "axis 0" in m.hint and "keepdims=True" in m.hint


def test_suspects_name_the_same_shape_wrong_axis(lenient):
    assert hint_of("99.3", lambda A: A.sum(axis=0)) == RowSums.AXIS_HINT


def test_a_zero_answer_never_passes():
    for ex_id, obj in (("99.1", zeros), ("99.2", graph_zeros), ("99.3", lambda A: np.zeros(len(A)))):
        with pytest.raises(CheckFailed):
            check(ex_id, obj)


# ----------------------------------------------------------------------------- never crash, report the learner

LEARNER_CELL = """
def helper(v):
    return 1 // int(v * 0)

def buggy(x, W, b, grad):
    return helper(x[0, 0])
"""


def test_learner_exception_is_reported_with_the_learners_frame(lenient):
    namespace = {}
    exec(compile(LEARNER_CELL, "/tmp/ipykernel_1/cell7.py", "exec"), namespace)  # as a notebook cell would
    result = check("99.1", namespace["buggy"])
    assert result.status == "error"
    tb = result.first_problem.error
    assert tb.startswith("Traceback") and tb.endswith("ZeroDivisionError: integer division or modulo by zero")
    assert "cell7.py\", line 3, in helper" in tb and "cell7.py\", line 6, in buggy" in tb
    assert "framework.py" not in tb and "test_check_framework" not in tb  # no checker frames
    assert "Your code raised" in repr(result)
    assert "<pre" in result._repr_html_()


def test_learner_exception_raises_in_strict_mode():
    def buggy(x, W, b, grad):
        raise RuntimeError("oops <b>")

    with pytest.raises(CheckFailed, match="oops"):
        check("99.1", buggy)


def test_html_escapes_everything(lenient):
    def buggy(x, W, b, grad):
        raise RuntimeError("<script>alert(1)</script>")

    html = check("99.1", buggy)._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize("obj", [None, ..., lambda *a: (_ for _ in ()).throw(NotImplementedError("Exercise 99.1: x"))])
def test_not_done_yet_is_grey_and_never_raises(obj):
    result = check("99.1", obj)  # strict mode is on: 'todo' still does not raise
    assert result.status == "todo"
    assert "not done yet" in repr(result) and "#80868b" in result._repr_html_()


def test_wrong_form_of_answer(lenient):
    assert check("99.1", lambda *a: None).hint == hints.NONE_HINT          # forgot `return`
    assert check("99.1", lambda x, W, b, g: (x,)).hint == hints.TYPE_HINT    # one array instead of three
    result = check("99.1", 42)                                               # not a function at all
    assert result.status == "fail" and "could not be used" in repr(result)
    result = check("99.1", lambda x, W, b, g: ("a", "b", "c"))
    assert result.status == "fail" and "Traceback" not in repr(result)


def test_unknown_exercise_and_checker_bug_are_clear(lenient):
    result = check("77.7", linear_backward)
    assert result.status == "invalid" and "no exercise '77.7'" in repr(result)
    result = check("99.4", lambda x: x)
    assert result.status == "invalid" and "bug in backprop-lab" in repr(result)
    assert "ZeroDivisionError" in repr(result) and "Traceback" not in repr(result)


def test_unknown_exercise_raises_in_strict_mode():
    with pytest.raises(CheckFailed, match="no exercise"):
        check("77.7", linear_backward)


def test_learner_mutating_inputs_cannot_fool_the_check():
    def in_place(x, W, b, grad):
        grad *= 0                                                # destroys its input, then "agrees"
        return grad @ W.T, x.T @ grad, grad.sum(axis=0)

    with pytest.raises(CheckFailed) as info:
        check("99.1", in_place)
    assert "all zeros" in str(info.value)


def test_result_text_names_inputs_expected_received_and_hint(lenient):
    text = repr(check("99.1", sign_flip))
    for label in ("Inputs:", "Expected:", "Received:", "What differs:", "Hint:"):
        assert label in text
    assert "case 1" in text


# ----------------------------------------------------------------------------- registry and switch

def test_register_rejects_a_second_class_with_the_same_id():
    class Other(Exercise):
        id = "99.1"

    with pytest.raises(ValueError, match="already registered"):
        register(Other)
    register(LinearBackward)  # the same class again (a reloaded module) is fine


def central_ok(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


def test_use_runs_the_learners_code_once_it_passes(lenient, capsys, monkeypatch):
    from backprop_lab.references import nb01

    monkeypatch.delenv("BACKPROP_LAB_USE", raising=False)
    assert use("01.2", central_ok) is central_ok
    assert "Using your central_difference" in capsys.readouterr().out
    wrong = lambda f, x, h: (f(x + h) - f(x)) / h  # noqa: E731 - the forward difference
    assert use("01.2", wrong) is nb01.central_difference
    out = capsys.readouterr()
    assert "course's central_difference" in out.out and "does not pass" in out.out and not out.err
    assert use("01.2", None) is nb01.central_difference and "no answer of yours" in capsys.readouterr().out
    assert use("01.2", central_ok, mode="reference") is nb01.central_difference
    monkeypatch.setenv("BACKPROP_LAB_USE", "reference")
    assert use("01.2", central_ok) is nb01.central_difference
    with pytest.raises(ValueError, match="mode must be"):
        use("01.2", central_ok, mode="yours")
    with pytest.raises(ValueError, match="no exercise"):
        use("77.7", central_ok)


def test_use_never_hands_the_reference_to_graded_code(monkeypatch):
    monkeypatch.setenv("BACKPROP_LAB_GRADING", "1")
    wrong = lambda f, x, h: 0.0  # noqa: E731
    assert use("01.2", wrong) is wrong
    missing = use("01.2", None)            # carried() found no answer of notebook 01: no reference either
    assert missing is not None and not isinstance(missing, type(wrong))
    with pytest.raises(RuntimeError, match="exercise 01.2's answer comes from notebook 01, which is graded on its own"):
        missing(math.sin, 1.0, 1e-5)
    with pytest.raises(RuntimeError, match="not available while this notebook is graded"):
        missing.apply(1.0)                  # a carried Function class, used by attribute


def test_render_survives_objects_whose_repr_raises(lenient):
    class Weird:
        def __repr__(self):
            raise RuntimeError("no repr")

    result = check("99.3", lambda A: Weird())
    assert "repr failed" in repr(result) and result.status == "fail"
    assert render.as_html(result)


def test_checks_that_fail_to_import_are_reported_not_raised(lenient, monkeypatch):
    def broken_import(name, *args):
        raise ImportError("cannot import name 'softmax' from 'numpy'")

    monkeypatch.setattr(framework.importlib, "import_module", broken_import)
    framework._INSTANCES.clear()
    result = check("01.2", central_ok)
    assert result.status == "invalid" and "could not be loaded" in repr(result) and "softmax" in repr(result)


def test_use_falls_back_to_the_reference_even_in_strict_mode(monkeypatch, capsys):
    """A wrong implementation means the course's version, never an error, even in strict mode."""
    from backprop_lab.references import nb01

    monkeypatch.setenv("BACKPROP_LAB_STRICT", "1")
    monkeypatch.delenv("BACKPROP_LAB_USE", raising=False)
    assert use("01.2", lambda f, x, h: 0.0) is nb01.central_difference
    assert "does not pass its check" in capsys.readouterr().out


@pytest.mark.parametrize("body,fragment", [
    ("return np.ones((2, 3)) + np.ones((4,))", "shapes do not fit"),
    ("return np.ones((2, 3)) @ np.ones((2, 3))", "transpose is probably missing"),
    ("return None + 1", "is a `return` missing"),
])
def test_an_error_in_learner_code_comes_with_a_hint(body, fragment, monkeypatch):
    monkeypatch.delenv("BACKPROP_LAB_STRICT", raising=False)
    namespace = {"np": np}
    exec(f"def central(f, x, h):\n    {body}\n", namespace)
    result = check("01.2", namespace["central"], record=False)
    assert result.status == "error"
    assert "Traceback" in result.first_problem.error and fragment in result.first_problem.error


# ----------------------------------------------------------------------------- reveal, stuck, carried

def test_the_solution_is_shown_only_on_request(lenient):
    wrong = lambda f, x, h: (f(x + h) - f(x)) / h  # noqa: E731
    plain = check("01.2", wrong, record=False)
    assert plain.solution == "" and "Solution:" not in repr(plain) and "def central_difference" not in repr(plain)
    shown = check("01.2", wrong, record=False, reveal=True)
    assert shown.solution.startswith("def central_difference(f, x, h):") and "(2 * h)" in shown.solution
    assert "BEGIN SOLUTION" not in shown.solution and "Solution:" in repr(shown)
    assert "def central_difference" in render.as_html(shown)


def test_after_a_few_failed_attempts_the_result_offers_the_solution(lenient):
    wrong = lambda f, x, h: 0.0  # noqa: E731
    results = [check("01.2", wrong) for _ in range(framework.STUCK_AFTER)]
    assert not any(r.stuck for r in results[:-1]) and results[-1].stuck
    text = repr(results[-1])
    assert "Stuck?" in text and 'reveal=True' in text and "def central_difference" not in text
    assert check("01.2", central_ok).passed and not check("01.2", wrong).stuck   # passed once: no more offers


def test_a_passing_answer_is_carried_to_a_later_notebook(lenient):
    from backprop_lab.exercises import carried

    assert carried("01.2") is None
    namespace = {}
    exec("def central_difference(f, x, h):\n    return (f(x + h) - f(x - h)) / (2 * h)\n", namespace)
    # a function typed in a notebook: IPython keeps its cell in linecache; here the test stands in for that
    import linecache
    code = "def central_difference(f, x, h):\n    return (f(x + h) - f(x - h)) / (2 * h)\n"
    linecache.cache["<cell-01.2>"] = (len(code), None, code.splitlines(True), "<cell-01.2>")
    exec(compile(code, "<cell-01.2>", "exec"), namespace)
    assert check("01.2", namespace["central_difference"]).passed
    again = carried("01.2")
    assert again is not namespace["central_difference"] and again(lambda x: x ** 2, 3.0, 1e-3) == pytest.approx(6.0)
    assert use("01.2", again) is again


def test_an_answer_that_calls_an_unfinished_earlier_exercise_says_which(lenient):
    def mean_backward(g, x_shape, axis=None, keepdims=False):
        raise NotImplementedError("Exercise 04.4: return the gradient of a sum")
    result = check("04.5", mean_backward, record=False)
    assert result.status == "todo" and "exercise 04.4, which is not done yet" in result.first_problem.error
