"""The checks of notebook 01 accept the reference and reject each classic mistake with its own hint."""
import numpy as np
import pytest

from backprop_lab.exercises import CheckFailed, check, get, hints
from backprop_lab.exercises.nb01 import (ERROR_HINTS, GRADIENT_HINTS, PYTHON_MAX_HINT, SCALAR_FUNCTIONS,
                                         SCALAR_HINTS, VECTOR_FUNCTIONS, numerical_gradient_variants)
from backprop_lab.references import nb01 as reference


from exercise_helpers import assert_rejected, lenient, run_check  # noqa: F401  (lenient: autouse fixture)


# ----------------------------------------------------------------------------- 01.1 forward difference

def test_forward_reference_passes():
    result = run_check("01.1", reference.forward_difference)
    assert result.passed and len(result.outcomes) >= 5


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_forward_reference_passes_any_seed(seed):
    assert run_check("01.1", reference.forward_difference, seed=seed).passed


FORWARD_WRONG = {
    "zeros": (lambda f, x, h: 0.0, hints.PLAIN_ZEROS),   # a 0 left in: said before "hard-coded"
    "central": (lambda f, x, h: (f(x + h) - f(x - h)) / (2 * h), SCALAR_HINTS["forward_is_central"]),
    "backward": (lambda f, x, h: (f(x) - f(x - h)) / h, SCALAR_HINTS["backward"]),
    "no_division": (lambda f, x, h: f(x + h) - f(x), SCALAR_HINTS["no_division"]),
    "times_h": (lambda f, x, h: (f(x + h) - f(x)) * h, SCALAR_HINTS["times_h"]),
    "precedence": (lambda f, x, h: f(x + h) - f(x) / h, SCALAR_HINTS["precedence_forward"]),
    "sign": (lambda f, x, h: (f(x) - f(x + h)) / h, SCALAR_HINTS["sign_forward"]),
    "hardcoded": (lambda f, x, h: 0.5 * (np.sin(1.1) - np.sin(1.0)) / 0.05, "hard-coded"),
}


@pytest.mark.parametrize("name", sorted(FORWARD_WRONG))
def test_forward_rejects(name):
    impl, hint = FORWARD_WRONG[name]
    assert_rejected(run_check("01.1", impl), hint)


def test_forward_learner_exception_is_reported_with_its_frame():
    def forward_difference(f, x, h):
        return (f(x + h) - f(x)) / undefined_name  # noqa: F821

    result = run_check("01.1", forward_difference)
    assert result.status == "error"
    assert "undefined_name" in result.first_problem.error and "forward_difference" in result.first_problem.error


def test_forward_not_implemented_is_todo():
    def forward_difference(f, x, h):
        raise NotImplementedError("Exercise 01.1: return the slope of the secant")

    assert run_check("01.1", forward_difference).status == "todo"
    assert run_check("01.1", None).status == "todo"


def test_strict_mode_raises_on_a_wrong_answer(monkeypatch):
    monkeypatch.setenv("BACKPROP_LAB_STRICT", "1")
    with pytest.raises(CheckFailed, match="central difference"):
        check("01.1", FORWARD_WRONG["central"][0], record=False)


# ----------------------------------------------------------------------------- 01.2 central difference

@pytest.mark.parametrize("seed", [None, 0, 1, 2])
def test_central_reference_passes(seed):
    assert run_check("01.2", reference.central_difference, seed=seed).passed


def test_central_accepts_an_equivalent_formula():
    def average_of_one_sided(f, x, h):
        return 0.5 * ((f(x + h) - f(x)) / h + (f(x) - f(x - h)) / h)

    assert run_check("01.2", average_of_one_sided).passed


CENTRAL_WRONG = {
    "zeros": (lambda f, x, h: 0.0, hints.PLAIN_ZEROS),
    "forward": (lambda f, x, h: (f(x + h) - f(x)) / h, "that is the forward difference"),
    "backward": (lambda f, x, h: (f(x) - f(x - h)) / h, SCALAR_HINTS["central_is_backward"]),
    "h_not_2h": (lambda f, x, h: (f(x + h) - f(x - h)) / h, SCALAR_HINTS["h_not_2h"]),
    "precedence": (lambda f, x, h: (f(x + h) - f(x - h)) / 2 * h, SCALAR_HINTS["precedence_central"]),
    "only_2": (lambda f, x, h: (f(x + h) - f(x - h)) / 2, SCALAR_HINTS["only_2"]),
    "sign": (lambda f, x, h: (f(x - h) - f(x + h)) / (2 * h), SCALAR_HINTS["sign_central"]),
    # a one-sided difference the checker does not know by name: recognised by the size of its error
    "one_sided_2h": (lambda f, x, h: (f(x + 2 * h) - f(x)) / (2 * h), SCALAR_HINTS["one_sided"]),
}


@pytest.mark.parametrize("name", sorted(CENTRAL_WRONG))
def test_central_rejects(name):
    impl, hint = CENTRAL_WRONG[name]
    result = run_check("01.2", impl)
    assert result.status == "fail", repr(result)
    assert hint.lower() in result.first_problem.mismatch.hint.lower(), repr(result)


@pytest.mark.parametrize("seed", range(6))
def test_scalar_variants_are_distinguishable_for_every_seed(seed):
    """The hints rely on the wrong formulas giving different numbers from the right one on every case."""
    ex = get("01.2")
    for case in ex.cases(np.random.default_rng(seed)):
        right = ex.expected(case)
        for name, (impl, _) in CENTRAL_WRONG.items():
            wrong = impl(SCALAR_FUNCTIONS[case["f"]], case["x"], case["h"])
            assert ex.compare(float(wrong), right, case) is not None, (name, case)


# ----------------------------------------------------------------------------- 01.3 numerical gradient

def test_gradient_reference_passes():
    result = run_check("01.3", reference.numerical_gradient)
    assert result.passed and len(result.outcomes) == 7


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_reference_passes_any_seed(seed):
    assert run_check("01.3", reference.numerical_gradient, seed=seed).passed


def test_gradient_accepts_the_in_place_nudge_and_restore_style():
    def numerical_gradient(f, x, h=1e-5):
        x_given, x = x, np.array(x, dtype=np.float64)      # float64 (a float32 x is checked too)
        grad = np.zeros_like(x)
        it = np.nditer(x, flags=["multi_index"])
        while not it.finished:
            i = it.multi_index
            x[i] += h
            fp = f(x)
            x[i] -= 2 * h
            fm = f(x)
            x[i] += h
            grad[i] = (fp - fm) / (2 * h)
            it.iternext()
        if x_given.dtype == np.float64:
            x_given[...] = x                                  # the caller's array, nudged and restored
        return grad

    assert run_check("01.3", numerical_gradient).passed


def _ng_loop(f, x, h, nudge):
    """Build wrong numerical gradients from a per-entry formula ``nudge(f, x, idx, h)``."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        grad[idx] = nudge(f, x, idx, h)
    return grad


def _e(x, idx, step):
    y = x.copy()
    y[idx] += step
    return y


def _not_restored(f, x, h):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        x[idx] += h
        fp = f(x)
        x[idx] -= 2 * h
        fm = f(x)
        grad[idx] = (fp - fm) / (2 * h)      # forgot to add h back: x drifts by -h per entry
    return grad


def _not_restored_but_right(f, x, h):
    grad = reference.numerical_gradient(f, x, h)
    x += 1.0                                 # right answer, but the caller's array is changed
    return grad


GRADIENT_WRONG = {
    "zeros": (lambda f, x, h: np.zeros_like(x), hints.PLAIN_ZEROS),
    "forward": (lambda f, x, h: _ng_loop(f, x, h, lambda f, x, i, h: (f(_e(x, i, h)) - f(x)) / h),
                GRADIENT_HINTS["forward"]),
    "h_not_2h": (lambda f, x, h: _ng_loop(f, x, h, lambda f, x, i, h: (f(_e(x, i, h)) - f(_e(x, i, -h))) / h),
                 GRADIENT_HINTS["h_not_2h"]),
    "all_at_once": (lambda f, x, h: _ng_loop(f, x, h, lambda f, x, i, h: (f(x + h) - f(x - h)) / (2 * h)),
                    GRADIENT_HINTS["all_at_once"]),
    "first_only": (lambda f, x, h: _ng_loop(
        f, x, h, lambda f, x, i, h: (f(_e(x, (0,) * x.ndim, h)) - f(_e(x, (0,) * x.ndim, -h))) / (2 * h)),
        GRADIENT_HINTS["first_only"]),
    "h_on_output": (lambda f, x, h: _ng_loop(f, x, h, lambda f, x, i, h: ((f(x) + h) - (f(x) - h)) / (2 * h)),
                    GRADIENT_HINTS["h_on_output"]),
    "half_forward": (lambda f, x, h: _ng_loop(f, x, h, lambda f, x, i, h: (f(_e(x, i, h)) - f(x)) / (2 * h)),
                     GRADIENT_HINTS["half_forward"]),
    "sign": (lambda f, x, h: -reference.numerical_gradient(f, x, h), GRADIENT_HINTS["sign"]),
    "flattened": (lambda f, x, h: reference.numerical_gradient(f, x, h).ravel(),
                  "return an array of x's shape"),
    "scalar": (lambda f, x, h: float(reference.numerical_gradient(f, x, h).sum()), "You returned one number"),
    "not_restored": (_not_restored, "changed the array x it was given"),
    "changes_input": (_not_restored_but_right, "changed the array x it was given"),
}


@pytest.mark.parametrize("name", sorted(GRADIENT_WRONG))
def test_gradient_rejects(name):
    impl, hint = GRADIENT_WRONG[name]
    result = run_check("01.3", impl)
    assert_rejected(result, hint)
    if name == "flattened":  # the flattened shape is only wrong for an x with 2 or more dimensions
        assert result.first_problem.case["x"].ndim >= 2


def test_gradient_variants_are_all_different_from_the_reference():
    ex = get("01.3")
    for seed in range(5):
        for case in ex.cases(np.random.default_rng(seed)):
            f, x, h = VECTOR_FUNCTIONS[case["f"]], np.asarray(case["x"]), case["h"]
            v = numerical_gradient_variants(f, x, h, reference.numerical_gradient(f, x, h))
            v["right"] = reference.numerical_gradient(f, x, h)
            names = sorted(v)
            for i, name in enumerate(names):  # each wrong formula is told apart from the right one and the others
                for other in names[i + 1:]:
                    assert not np.allclose(v[name], v[other], rtol=1e-6, atol=1e-9), (name, other, case)


# ----------------------------------------------------------------------------- 01.4 relative error

@pytest.mark.parametrize("seed", [None, 0, 1])
def test_relative_error_reference_passes(seed):
    assert run_check("01.4", reference.relative_error, seed=seed).passed


def test_relative_error_reference_properties():
    assert reference.relative_error(0.0, 0.0) == 0.0
    assert reference.relative_error(1000.0, 1001.0) == pytest.approx(reference.relative_error(1e-3, 1.001e-3))
    assert reference.relative_error(2.0, -1.0) == reference.relative_error(-1.0, 2.0) == 1.5


def _ew(formula):
    def relative_error(a, b):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return formula(a, b)
    return relative_error


def _python_max(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


RELATIVE_WRONG = {
    "zeros": (lambda a, b: np.zeros_like(np.asarray(a, dtype=float)), "all zeros"),
    "no_abs": (_ew(lambda a, b: (a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12)),
               ERROR_HINTS["no_abs"]),
    "no_abs_in_max": (_ew(lambda a, b: np.abs(a - b) / np.maximum(np.maximum(a, b), 1e-12)),
                      ERROR_HINTS["no_abs_denominator"]),
    "absolute": (_ew(lambda a, b: np.abs(a - b)), ERROR_HINTS["absolute"]),
    "by_b": (_ew(lambda a, b: np.abs(a - b) / np.maximum(np.abs(b), 1e-12)), ERROR_HINTS["by_b"]),
    "by_min": (_ew(lambda a, b: np.abs(a - b) / np.maximum(np.minimum(np.abs(a), np.abs(b)), 1e-12)),
               ERROR_HINTS["by_min"]),
    "by_sum": (_ew(lambda a, b: np.abs(a - b) / (np.abs(a) + np.abs(b) + 1e-12)), ERROR_HINTS["by_sum"]),
    "no_tiny": (_ew(lambda a, b: np.abs(a - b) / np.maximum(np.abs(a), np.abs(b))), ERROR_HINTS["nan"]),
    "reduced": (_ew(lambda a, b: float(np.max(reference.relative_error(a, b)))), ERROR_HINTS["reduced"]),
}


@pytest.mark.parametrize("name", sorted(RELATIVE_WRONG))
def test_relative_error_rejects(name):
    impl, hint = RELATIVE_WRONG[name]
    assert_rejected(run_check("01.4", impl), hint)


def test_relative_error_python_max_on_arrays_gets_an_elementwise_hint():
    result = run_check("01.4", _python_max)
    assert result.status == "error"
    assert PYTHON_MAX_HINT in result.first_problem.error and "_python_max" in result.first_problem.error


# ----------------------------------------------------------------------------- the widget

def test_widget_estimates_and_predicted_steps():
    from backprop_lab.widgets import finite_differences as fd

    assert fd.estimate("x³", 0.1, "central", x0=1.5) == pytest.approx(3 * 1.5 ** 2 + 0.1 ** 2, rel=1e-12)
    assert fd.estimate("x³", 0.1, "forward", x0=1.5) == pytest.approx(3 * 1.5 ** 2 + 3 * 1.5 * 0.1 + 0.01, rel=1e-12)
    eps64, eps32 = np.finfo(np.float64).eps, np.finfo(np.float32).eps
    assert fd.predicted_best_h("exp(x)", "forward", "float64") == pytest.approx(np.sqrt(2 * eps64))
    assert fd.predicted_best_h("exp(x)", "central", "float32") == pytest.approx(np.cbrt(3 * eps32))
    with pytest.raises(ValueError, match="method"):
        fd.estimate("sin(x)", 0.1, "backward")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("method", ["forward", "central"])
def test_widget_error_curve_is_a_v_with_its_bottom_near_the_prediction(method, dtype):
    from backprop_lab.widgets import finite_differences as fd

    hs = np.logspace(-14, 0, 57)
    xs = np.linspace(0.5, 1.5, 41)                  # average over points: the round-off arm is noisy
    err = np.mean([fd.error_curve("sin(x)", hs, method, dtype, x0=x) for x in xs], axis=0)
    best = hs[np.argmin(err)]
    assert 0 < np.argmin(err) < len(hs) - 1          # a V, not a slope
    assert err[-1] > 100 * err.min() and err[0] > 100 * err.min()
    predicted = fd.predicted_best_h("sin(x)", method, dtype)
    assert predicted / 30 < best < predicted * 30


def test_widget_redraws_when_the_slider_moves():
    import matplotlib

    matplotlib.use("Agg")
    from backprop_lab.widgets import finite_differences as fd

    box = fd.secant_explorer()
    slider = box.children[0].children[0]
    assert box.state["h"] == pytest.approx(0.1) and box.state["error"] > 1e-2
    slider.value = 1e-8
    assert box.state["h"] == pytest.approx(1e-8) and box.state["error"] < 1e-6
    box.children[1].children[1].value = "float32"   # float32: h = 1e-8 is below the bottom of the V
    assert box.state["dtype"] == "float32" and box.state["error"] > 1e-2
    assert "float32" in box.children[2].value


# ----------------------------------------------------------------------------- learner slips found in review

from backprop_lab.exercises.nb01 import NP_MAX_HINT  # noqa: E402


def _forward_without_return(f, x, h):
    (f(x + h) - f(x)) / h


def _gradient_by_rows(f, x, h=1e-5):
    x, grad = np.array(x, dtype=float), np.zeros_like(np.asarray(x, dtype=float))
    for i in range(len(x)):                      # x[i] is a whole row when x is 2-D
        old = x[i].copy()
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def _gradient_precedence(f, x, h=1e-5):
    return reference.numerical_gradient(f, x, h) * h * h      # `/ 2 * h` instead of `/ (2 * h)`


REVIEW_WRONG = {
    "01.1 missing return": (_forward_without_return, "returned None"),
    "01.1 slightly off": (lambda f, x, h: (f(x + h) - f(x)) / (1.0001 * h), SCALAR_HINTS["other_forward"]),
    "01.2 plus a constant": (lambda f, x, h: (f(x + h) - f(x - h)) / (2 * h) + 1e-3, SCALAR_HINTS["other_central"]),
    "01.3 rows nudged at once": (_gradient_by_rows, GRADIENT_HINTS["rows"]),
    "01.3 precedence": (_gradient_precedence, GRADIENT_HINTS["precedence"]),
    "01.4 one global scale": (lambda a, b: np.abs(a - b) / max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-12),
                              ERROR_HINTS["global_max"]),
}


@pytest.mark.parametrize("name", sorted(REVIEW_WRONG))
def test_review_slips_get_their_own_hint(name):
    impl, hint = REVIEW_WRONG[name]
    result = run_check(name.split()[0], impl)
    assert_rejected(result, hint)
    text = result.first_problem.mismatch.hint
    assert "Accumulate with" not in text and ".grad" not in text, text   # no graph hints for plain formulas


@pytest.mark.parametrize("impl", [lambda a, b: np.abs(a - b) / np.max(np.abs(a), np.abs(b)),
                                  lambda a, b: np.abs(a - b) / np.max([np.abs(a), np.abs(b), 1e-12])])
def test_relative_error_np_max_on_arrays_gets_an_elementwise_hint(impl):
    result = run_check("01.4", impl)
    assert result.status == "error"
    assert NP_MAX_HINT in result.first_problem.error


# ----------------------------------------------------------------------------- 01.3 in float32

def _gradient_in_the_input_dtype(f, x, h=1e-5):
    """The course's formula, but every nudged point rounded to x's own type: float32 keeps only a few digits."""
    return reference.numerical_gradient(lambda v: f(v.astype(x.dtype)), x, h)


def test_gradient_in_float32_gets_the_float32_hint():
    result = run_check("01.3", _gradient_in_the_input_dtype)
    assert_rejected(result, GRADIENT_HINTS["float32"])
    assert result.first_problem.case.get("dtype") == "float32"


def _gradient_with_own_step(f, x, h=1e-5):
    return reference.numerical_gradient(f, x, 1e-6)            # h ignored


def _gradient_one_entry_short(f, x, h=1e-5):
    grad = reference.numerical_gradient(f, x, h)
    grad.reshape(-1)[-1] = 0.0               # what a loop over range(x.size - 1) leaves in the last entry
    return grad


@pytest.mark.parametrize("impl, fragment", [(_gradient_with_own_step, "you used a step of your own"),
                                            (_gradient_one_entry_short, "your loop stops short")])
def test_gradient_own_step_and_loop_one_short_are_named(impl, fragment):
    """Walkthrough 2: a gradient that ignores h passed (every case had h = 1e-3, where the central difference is
    accurate to ~1e-7); `range(x.size - 1)` got the generic hint."""
    assert_rejected(run_check("01.3", impl), fragment)


def test_gradient_float64_copy_of_a_float32_input_passes():
    def numerical_gradient(f, x, h=1e-5):
        return reference.numerical_gradient(f, x, h).astype(x.dtype)      # float64 inside, float32 out
    assert run_check("01.3", numerical_gradient).passed


@pytest.mark.parametrize("exercise_id, method", [("01.1", "forward"), ("01.2", "central")])
def test_an_answer_that_ignores_h_is_told_so(exercise_id, method):
    own_step = (lambda f, x, h: (f(x + 1e-6) - f(x - 1e-6)) / 2e-6)
    assert_rejected(run_check(exercise_id, own_step), SCALAR_HINTS["ignores_h"].format(method=method))


@pytest.mark.parametrize("exercise_id, impl", [
    ("01.3", lambda f, x, h=1e-5: reference.numerical_gradient(f, x, h).tolist()),
    ("01.4", lambda a, b: np.atleast_1d(reference.relative_error(a, b)).tolist()),
])
def test_a_list_where_the_notebooks_need_an_array_is_rejected(exercise_id, impl):
    """Later cells call .max() and .round() on these answers: a list would pass the numbers and crash there."""
    from backprop_lab.exercises.nb01 import ARRAY_TYPE_HINT
    assert_rejected(run_check(exercise_id, impl), ARRAY_TYPE_HINT.format(type="list"))


# ----------------------------------------------------------------------------- slips found by a learner's walkthrough

from backprop_lab.exercises.nb01 import NP_MAXIMUM_3_HINT, SCALAR_INPUT_HINT  # noqa: E402


def _gradient_two_names_for_one_array(f, x, h=1e-5):
    x, grad = np.array(x, dtype=float), np.zeros(np.shape(x))
    for idx in np.ndindex(x.shape):
        x_plus = x                                 # not a copy: x_plus and x_minus are the same array
        x_minus = x
        x_plus[idx] += h
        x_minus[idx] -= h
        grad[idx] = (f(x_plus) - f(x_minus)) / (2 * h)
    return grad


def _relative_error_by_index(a, b):
    out = np.zeros(a.shape)                        # a plain number has no .shape
    for i in np.ndindex(a.shape):
        out[i] = abs(a[i] - b[i]) / max(abs(a[i]), abs(b[i]), 1e-12)
    return out


def _relative_error_max_of_three(a, b):
    return np.abs(a - b) / np.maximum(np.abs(a), np.abs(b), 1e-12)   # the third argument is `out`


WALK_WRONG = {
    "01.1 over 2h": (lambda f, x, h: (f(x + h) - f(x)) / (2 * h), SCALAR_HINTS["forward_2h"]),
    "01.1 an array of one": (lambda f, x, h: np.array([(f(x + h) - f(x)) / h]), SCALAR_HINTS["one_number"]),
    "01.2 an array of one": (lambda f, x, h: np.atleast_1d((f(x + h) - f(x - h)) / (2 * h)),
                             SCALAR_HINTS["one_number"]),
    "01.3 two names for one array": (_gradient_two_names_for_one_array, "`xp = x` does not copy"),
    "01.4 floor too large": (_ew(lambda a, b: np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-8)),
                             ERROR_HINTS["floor"]),
    "01.4 floor added": (_ew(lambda a, b: np.abs(a - b) / (np.maximum(np.abs(a), np.abs(b)) + 1e-12)),
                         ERROR_HINTS["floor"]),
}


@pytest.mark.parametrize("name", sorted(WALK_WRONG))
def test_walkthrough_slips_get_their_own_hint(name):
    impl, hint = WALK_WRONG[name]
    assert_rejected(run_check(name.split()[0], impl), hint)


def test_a_zero_gradient_without_evaluating_f_is_still_a_placeholder():
    """The aliasing hint needs f to have been evaluated; a bare np.zeros_like(x) keeps the placeholder hint."""
    assert_rejected(run_check("01.3", lambda f, x, h=1e-5: np.zeros_like(x)), hints.PLAIN_ZEROS)


@pytest.mark.filterwarnings("ignore:Passing more than 2 positional arguments:DeprecationWarning")
@pytest.mark.parametrize("impl, hint, case", [(_relative_error_max_of_three, NP_MAXIMUM_3_HINT, 1),
                                              (_relative_error_by_index, SCALAR_INPUT_HINT, 2)])
def test_relative_error_errors_get_a_hint(impl, hint, case):
    result = run_check("01.4", impl)
    assert result.status == "error" and len(result.outcomes) == case, repr(result)
    assert hint in result.first_problem.error, repr(result)


def test_relative_error_inputs_show_the_digits_that_differ():
    """1 + 1e-7 must not be shown as 1., nor 1e-11 as 0.: the learner has to see why the answers differ."""
    ex = get("01.4")
    shown = [ex.describe(c) for c in ex.cases(np.random.default_rng(0))]
    assert any("1.0000001" in text for text in shown), shown
    assert any("3.e-11" in text and "1.e-11" in text for text in shown), shown


def test_relative_error_loop_over_len_is_told_about_plain_numbers():
    """Walkthrough 2: a loop over range(len(a)) crashed on the case of two plain numbers with no hint."""
    def relative_error(a, b):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        out = np.zeros_like(a)
        for i in range(len(a)):
            out[i] = abs(a[i] - b[i]) / max(abs(a[i]), abs(b[i]), 1e-12)
        return out
    result = run_check("01.4", relative_error)
    assert result.status == "error" and "plain numbers" in result.first_problem.error


def test_relative_error_that_floors_only_exact_zeros_is_rejected():
    """Walkthrough 2: np.where(max == 0, 0, d / max) (the floor for 0/0 only) passed: no case had entries below it."""
    def relative_error(a, b):
        scale = np.maximum(np.abs(a), np.abs(b))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(scale == 0, 0.0, np.abs(a - b) / scale)
    assert_rejected(run_check("01.4", relative_error), "not only an exact 0")


# ----------------------------------------------------------------------------- walkthrough 3

def _zero_below_the_floor(a, b):
    """Entries whose numbers are both below tiny declared equal: the floor taken for a threshold."""
    scale = np.maximum(np.abs(a), np.abs(b))
    return np.where(scale > 1e-12, np.abs(a - b) / np.where(scale > 0, scale, 1.0), 0.0)


def _one_entry_for_numbers(a, b):
    a, b = np.atleast_1d(a), np.atleast_1d(b)
    return np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12)


@pytest.mark.parametrize("impl, hint", [
    # was told "That is the absolute error |a - b|", whose entries are as tiny as the floor there
    (_zero_below_the_floor, ERROR_HINTS["zero_below_floor"]),
    # was told to use keepdims=False in a reduction it never made
    (_one_entry_for_numbers, ERROR_HINTS["one_entry"]),
])
def test_relative_error_walkthrough_3_slips_get_their_own_hint(impl, hint):
    assert_rejected(run_check("01.4", impl), hint)


def _forward_in_float32(f, x, h):
    x = np.float32(x)
    return (f(x + h) - f(x)) / h


@pytest.mark.parametrize("exercise_id, impl, hint", [
    ("01.1", _forward_in_float32, SCALAR_HINTS["float32"]),
    ("01.2", lambda f, x, h: (f(np.float32(x) + h) - f(np.float32(x) - h)) / (2 * h), SCALAR_HINTS["float32"]),
    ("01.1", lambda f, x, h: (f(x + h) - f(x - h)) / h, SCALAR_HINTS["forward_two_sided"]),
])
def test_scalar_difference_walkthrough_3_slips_get_their_own_hint(exercise_id, impl, hint):
    assert_rejected(run_check(exercise_id, impl), hint)


def test_a_float32_answer_is_shown_with_the_digits_that_differ():
    """Walkthrough 3: "expected 0.4974, received 0.4974" showed two equal numbers for a wrong answer."""
    message = run_check("01.1", _forward_in_float32).first_problem.mismatch.message
    expected, received = message.split("expected ")[1].split(", received ")
    assert expected.strip() != received.strip(), message
