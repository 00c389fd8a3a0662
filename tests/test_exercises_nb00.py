"""The warm-up checks of notebook 00 accept the reference and reject each classic mistake with its hint."""
import numpy as np
import pytest

from backprop_lab.exercises.nb00 import BROADCAST_HINT, COUNT_HINTS, MSE_HINTS, STANDARDIZE_HINTS
from backprop_lab.references.nb00 import count_parameters as count_parameters_reference


from exercise_helpers import assert_rejected, lenient, run_check  # noqa: F401  (lenient: autouse fixture)


# ----------------------------------------------------------------------------- 00.1 mse

def mse(pred, target):
    return np.mean((pred - target) ** 2)


@pytest.mark.parametrize("seed", [None, 0, 1])
def test_mse_reference_passes(seed):
    assert run_check("00.1", mse, seed=seed).passed


MSE_WRONG = {
    "zeros": (lambda p, t: 0.0, "all zeros"),
    "sum": (lambda p, t: np.sum((p - t) ** 2), MSE_HINTS["sum"]),
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

def standardize(X):
    return (X - X.mean(axis=0)) / X.std(axis=0)


@pytest.mark.parametrize("seed", [None, 0, 1])
def test_standardize_reference_passes(seed):
    assert run_check("00.2", standardize, seed=seed).passed


STANDARDIZE_WRONG = {
    "zeros": (lambda X: np.zeros_like(X), "all zeros"),
    "rows": (lambda X: (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True),
             STANDARDIZE_HINTS["rows"]),
    "global": (lambda X: (X - X.mean()) / X.std(), STANDARDIZE_HINTS["global"]),
    "center_only": (lambda X: X - X.mean(axis=0), STANDARDIZE_HINTS["center_only"]),
    "scale_only": (lambda X: X / X.std(axis=0), STANDARDIZE_HINTS["scale_only"]),
    "ddof": (lambda X: (X - X.mean(axis=0)) / X.std(axis=0, ddof=1), STANDARDIZE_HINTS["ddof"]),
    "variance": (lambda X: (X - X.mean(axis=0)) / X.var(axis=0), STANDARDIZE_HINTS["variance"]),
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

def count_parameters(sizes):
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


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
    "zeros": (lambda s: 0, "all zeros"),
    "no_bias": (lambda s: sum(i * o for i, o in zip(s[:-1], s[1:])), COUNT_HINTS["no_bias"]),
    "only_bias": (lambda s: sum(s[1:]), COUNT_HINTS["only_bias"]),
    "add_not_mul": (lambda s: sum(i + o + o for i, o in zip(s[:-1], s[1:])), COUNT_HINTS["add_not_mul"]),
    "all_biases": (lambda s: count_parameters(s) + s[0], COUNT_HINTS["all_biases"]),
    "float": (lambda s: float(count_parameters(s)), COUNT_HINTS["not_int"]),
    "hardcoded": (lambda s: 13, "hard-coded"),
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
