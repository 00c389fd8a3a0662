"""What the wrong-implementation catalogues (tests/test_exercises_nbNN.py) share."""
import pytest

from backprop_lab.exercises import check


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    """Inspect results instead of raising (the suite runs with BACKPROP_LAB_STRICT=1). Import it to use it."""
    monkeypatch.delenv("BACKPROP_LAB_STRICT", raising=False)


def run_check(exercise_id, obj, seed=None):
    return check(exercise_id, obj, seed=seed, record=False)


def assert_rejected(result, hint_fragment, status="fail"):
    """``result`` has ``status`` and its first problem's hint (or error text) contains ``hint_fragment``."""
    assert result.status == status, repr(result)
    problem = result.first_problem
    text = problem.mismatch.hint if problem.mismatch else problem.error
    assert hint_fragment in text, f"expected a hint containing {hint_fragment!r}, got:\n{repr(result)}"
