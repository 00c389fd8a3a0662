"""The warm-up checks of notebook 00 accept the reference and reject each classic mistake with its hint."""
import numpy as np
import pytest

from backprop_lab.exercises import hints
from backprop_lab.exercises.nb00 import (BROADCAST_HINT, CHANGED_HINT, COUNT_HINTS, INPLACE_CAST_HINT, MSE_HINTS,
                                         STANDARDIZE_HINTS)
from backprop_lab.references import nb00 as reference

mse, standardize, count_parameters = reference.mse, reference.standardize, reference.count_parameters
count_parameters_reference = count_parameters


from exercise_helpers import assert_rejected, lenient, run_check  # noqa: F401  (lenient: autouse fixture)


# ----------------------------------------------------------------------------- 00.1 mse


@pytest.mark.parametrize("seed", [None, 0, 1])
def test_mse_reference_passes(seed):
    assert run_check("00.1", mse, seed=seed).passed


MSE_WRONG = {
    "zeros": (lambda p, t: 0.0, hints.PLAIN_ZEROS),   # a 0 left in: said before "hard-coded"
    "sum": (lambda p, t: np.sum((p - t) ** 2), MSE_HINTS["sum"]),
    # walkthrough 3: np.var of the differences and a one-entry list got the generic hint / "per row or column"
    "variance": (lambda p, t: np.var(p - t), MSE_HINTS["variance"]),
    "one-entry list": (lambda p, t: [np.mean((p - t) ** 2)], MSE_HINTS["one_entry"]),
    "no_square": (lambda p, t: np.mean(p - t), MSE_HINTS["no_square"]),
    "abs": (lambda p, t: np.mean(np.abs(p - t)), MSE_HINTS["abs"]),
    "rmse": (lambda p, t: np.sqrt(np.mean((p - t) ** 2)), MSE_HINTS["rmse"]),
    "half": (lambda p, t: 0.5 * np.mean((p - t) ** 2), MSE_HINTS["half"]),
    "axis": (lambda p, t: np.mean((p - t) ** 2, axis=-1), MSE_HINTS["axis"]),
    "hardcoded": (lambda p, t: 2.75, "hard-coded"),  # right for the first case only
}


@pytest.mark.parametrize("name", sorted(MSE_WRONG))
def test_mse_rejects(name):
    impl, hint = MSE_WRONG[name]
    assert_rejected(run_check("00.1", impl), hint)


# ----------------------------------------------------------------------------- 00.2 standardize


@pytest.mark.parametrize("seed", [None, 0, 1])
def test_standardize_reference_passes(seed):
    assert run_check("00.2", standardize, seed=seed).passed


STANDARDIZE_WRONG = {
    "zeros": (lambda X: np.zeros_like(X), hints.PLAIN_ZEROS),
    "rows": (lambda X: (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True),
             STANDARDIZE_HINTS["rows"]),
    "global": (lambda X: (X - X.mean()) / X.std(), STANDARDIZE_HINTS["global"]),
    "center_only": (lambda X: X - X.mean(axis=0), STANDARDIZE_HINTS["center_only"]),
    "scale_only": (lambda X: X / X.std(axis=0), STANDARDIZE_HINTS["scale_only"]),
    "ddof": (lambda X: (X - X.mean(axis=0)) / X.std(axis=0, ddof=1), STANDARDIZE_HINTS["ddof"]),
    "variance": (lambda X: (X - X.mean(axis=0)) / X.var(axis=0), STANDARDIZE_HINTS["variance"]),
    # walkthrough 2: a transposed result was told "a gradient has the shape of its variable" (no gradient here)
    "transposed": (lambda X: ((X.T - X.mean(axis=0)[:, None]) / X.std(axis=0)[:, None]), "a transpose crept in"),
}


@pytest.mark.parametrize("name", sorted(STANDARDIZE_WRONG))
def test_standardize_rejects(name):
    impl, hint = STANDARDIZE_WRONG[name]
    assert_rejected(run_check("00.2", impl), hint)


def test_standardize_rows_without_keepdims_gets_a_broadcasting_hint():
    def standardize_rows(X):
        return (X - X.mean(axis=1)) / X.std(axis=1)

    result = run_check("00.2", standardize_rows)
    assert result.status == "error"
    assert BROADCAST_HINT in result.first_problem.error and "standardize_rows" in result.first_problem.error


# ----------------------------------------------------------------------------- 00.3 count_parameters


@pytest.mark.parametrize("seed", [None, 0, 1])
def test_count_reference_passes(seed):
    assert run_check("00.3", count_parameters, seed=seed).passed


def test_count_matches_the_engine():
    import backprop_lab as bl

    if not hasattr(bl, "nn"):
        pytest.skip("the engine's nn module is not importable yet")
    model = bl.nn.MLP([2, 16, 16, 1], rng=np.random.default_rng(0))
    assert sum(p.data.size for p in model.parameters()) == count_parameters_reference([2, 16, 16, 1]) == 337


COUNT_WRONG = {
    "zeros": (lambda s: 0, hints.PLAIN_ZEROS),
    "no_bias": (lambda s: sum(i * o for i, o in zip(s[:-1], s[1:])), COUNT_HINTS["no_bias"]),
    "only_bias": (lambda s: sum(s[1:]), COUNT_HINTS["only_bias"]),
    "add_not_mul": (lambda s: sum(i + o + o for i, o in zip(s[:-1], s[1:])), COUNT_HINTS["add_not_mul"]),
    "all_biases": (lambda s: count_parameters(s) + s[0], COUNT_HINTS["all_biases"]),
    "float": (lambda s: float(count_parameters(s)), COUNT_HINTS["not_int"]),
    "hardcoded": (lambda s: 337, "hard-coded"),           # the text's worked example
    "missing_last_layer": (lambda s: count_parameters(s[:-1]), COUNT_HINTS["missing_layer"]),
    "missing_first_layer": (lambda s: count_parameters(s[1:]), COUNT_HINTS["missing_layer"]),
    "range_off_by_one": (lambda s: sum(s[i] * s[i + 1] + s[i + 1] for i in range(len(s) - 2)),
                         COUNT_HINTS["missing_layer"]),
}


@pytest.mark.parametrize("name", sorted(COUNT_WRONG))
def test_count_rejects(name):
    impl, hint = COUNT_WRONG[name]
    assert_rejected(run_check("00.3", impl), hint)


# ----------------------------------------------------------------------------- learner slips found in review

def _mse_without_return(pred, target):
    np.mean((pred - target) ** 2)


REVIEW_WRONG = {
    "00.1 missing return": (_mse_without_return, "returned None"),
    "00.1 square of the mean": (lambda p, t: np.mean(p - t) ** 2, MSE_HINTS["square_of_mean"]),
    "00.1 method not called": (lambda p, t: ((p - t) ** 2).mean, "forget the ()"),
    "00.2 column mean, global std": (lambda X: (X - X.mean(axis=0)) / X.std(), STANDARDIZE_HINTS["mixed"]),
    "00.2 global mean, column std": (lambda X: (X - X.mean()) / X.std(axis=0), STANDARDIZE_HINTS["mixed"]),
    "00.3 a bias per input": (lambda s: sum(i * o + i for i, o in zip(s[:-1], s[1:])), COUNT_HINTS["input_bias"]),
}


@pytest.mark.parametrize("name", sorted(REVIEW_WRONG))
def test_review_slips_get_their_own_hint(name):
    impl, hint = REVIEW_WRONG[name]
    assert_rejected(run_check(name.split()[0], impl), hint)


@pytest.mark.parametrize("exercise_id, impl", [("00.1", lambda p, t: 1.5 * np.mean((p - t) ** 2) + 0.1),
                                               ("00.3", lambda s: count_parameters_reference(s) + 1)])
def test_a_wrong_number_never_gets_a_graph_hint(exercise_id, impl):
    """Any two numbers have a ratio: a plain wrong number must not be told about `+=` or factors of a gradient."""
    result = run_check(exercise_id, impl)
    assert result.status == "fail"
    hint = result.first_problem.mismatch.hint
    assert "+=" not in hint and "times the expected" not in hint and ".grad" not in hint, hint


# ----------------------------------------------------------------------------- inputs changed in place

def _mse_in_place(pred, target):
    pred -= target                     # right value, but the caller's pred is now the differences
    return np.mean(pred ** 2)


def _standardize_in_place(X):
    X -= X.mean(axis=0)                # right values for a float X, returned in the caller's own array
    X /= X.std(axis=0)
    return X


def _standardize_in_place_on_a_float_copy_of_ints(X):
    if X.dtype.kind != "f":
        X = X.astype(float)            # copies an int array, then works in place on float ones
    return _standardize_in_place(X)


def _count_by_popping(sizes):
    total = 0
    while len(sizes) > 1:
        n_in = sizes.pop(0)            # empties the caller's list
        total += n_in * sizes[0] + sizes[0]
    return total


def test_standardize_in_place_on_ints_gets_the_in_place_hint():
    """The text's example has integer entries: `X -= ...` cannot store floats in it and raises in the learner's code."""
    result = run_check("00.2", _standardize_in_place)
    assert result.status == "error", repr(result)
    assert INPLACE_CAST_HINT in result.first_problem.error and "_standardize_in_place" in result.first_problem.error


def _mse_in_place_both(pred, target):
    pred -= target.mean()
    target -= target.mean()
    return np.mean((pred - target) ** 2)


@pytest.mark.parametrize("exercise_id, impl, what", [
    ("00.1", _mse_in_place, "array pred"),             # only the array that changed is named
    ("00.1", _mse_in_place_both, "arrays pred and target"),
    ("00.2", _standardize_in_place_on_a_float_copy_of_ints, "array X"),
    ("00.3", _count_by_popping, "list sizes"),
])
def test_an_answer_that_changes_its_input_is_rejected(exercise_id, impl, what):
    result = run_check(exercise_id, impl)
    assert_rejected(result, CHANGED_HINT.format(what=what))
    assert f"changed the {what} it was given" in result.first_problem.mismatch.message


def test_standardize_square_input_rows_without_keepdims_named():
    """On a square X, row statistics without keepdims broadcast along the wrong axis without an error."""
    from backprop_lab.exercises import get
    from backprop_lab.exercises.framework import judge, run_case

    ex = get("00.2")
    case = next(c for c in ex.cases(np.random.default_rng(0)) if c["X"].shape[0] == c["X"].shape[1])
    outcome = judge(ex, case, *run_case(ex, lambda X: (X - X.mean(axis=1)) / X.std(axis=1), case))
    assert outcome.status == "fail" and outcome.mismatch.hint == STANDARDIZE_HINTS["rows"]


def test_a_plain_value_is_never_told_about_gradients():
    """A zero where a number is expected is a missing result, not "a gradient never written"."""
    result = run_check("00.1", lambda p, t: np.mean((p - t) ** 2) if p.ndim == 1 else 0.0)
    assert_rejected(result, hints.PLAIN_ZEROS)


def test_standardize_returning_a_list_is_rejected():
    """The cell after the check calls Z.mean(axis=0): a list would pass the numbers and crash there."""
    from backprop_lab.exercises.nb00 import ARRAY_TYPE_HINT
    assert_rejected(run_check("00.2", lambda X: standardize(X).tolist()), ARRAY_TYPE_HINT.format(type="list"))


# ----------------------------------------------------------------------------- slips found by a learner's walkthrough

def _standardize_into_empty_like(X):
    Z = np.empty_like(X)               # X's dtype: for the text's integer X, every result is cut to an integer
    for d in range(X.shape[1]):
        Z[:, d] = (X[:, d] - X[:, d].mean()) / X[:, d].std()
    return Z


WALK_WRONG = {
    "00.1 divided by len": (lambda p, t: np.sum((p - t) ** 2) / len(p), MSE_HINTS["rows"]),
    "00.1 no mean": (lambda p, t: (p - t) ** 2, MSE_HINTS["unreduced"]),
    "00.2 precedence": (lambda X: X - X.mean(axis=0) / X.std(axis=0), STANDARDIZE_HINTS["precedence"]),
    "00.2 integer result array": (_standardize_into_empty_like, STANDARDIZE_HINTS["truncated"]),
}


@pytest.mark.parametrize("name", sorted(WALK_WRONG))
def test_walkthrough_slips_get_their_own_hint(name):
    impl, hint = WALK_WRONG[name]
    assert_rejected(run_check(name.split()[0], impl), hint)


def test_the_broadcasting_error_of_00_2_gets_one_hint_only():
    """The exercise's own hint is in the learner's traceback; the generic one (about gradients) is not added."""
    result = run_check("00.2", lambda X: (X - X.mean(axis=1)) / X.std(axis=1))
    assert result.status == "error"
    assert result.first_problem.error.count("Hint:") == 1 and "gradient" not in result.first_problem.error


def test_a_wrong_count_is_shown_as_a_whole_number():
    result = run_check("00.3", COUNT_WRONG["no_bias"][0])
    assert result.first_problem.mismatch.message == "answer: expected 337, received 304"
