"""Notebook 07 shows no exercise's answer before the learner has tried (issue 15, section 1).

The key expressions of each solution, as regular expressions on text without whitespace (tests/answer_scan.py),
appear neither before the exercise's check nor in its task nor in any hint. The definitions the exercises
implement (the MSE, the momentum and Adam updates, as formulas) are the exercises' statements; the patterns are
their code.
"""
import pytest

from answer_scan import exercises, hint_strings, leaks, notebook, squash, task_leaks
from backprop_lab.exercises import get, hints, nb07
from backprop_lab.exercises.framework import solution_text

KEY_EXPRESSIONS = {
    "07.1": [r"g@W\.T", r"x\.T@g", r"g\.sum\(axis=0\)", r"save_for_backward\(x,W\)"],
    "07.2": [r"2\*diff", r"2\*\(pred-target\)", r"2\(pred-target\)", r"\\frac\{2\}\{n\}", r"/diff\.size",
             r"/pred\.size", r"2\(\\haty"],
    "07.3": [r"max\(axis=1,keepdims=True\)", r"max\(axis=-1,keepdims=True\)", r"np\.log\(np\.exp", r"\(z_y-m\)",
             r"c=m=", r"defstable_log_softmax", r"\[np\.arange\(len\(labels\)\),labels\]"],
    "07.4": [r"momentum\*v\+grad", r"p-lr\*v", r"mu\*v\+g\b"],
    "07.5": [r"m/\(1-beta1\*\*t\)", r"np\.sqrt\(v_hat\)\+eps", r"beta1\*m\+\(1-beta1\)\*grad",
             r"beta2\*v\+\(1-beta2\)\*grad\*\*2"],
    "07.6": [r"h\.T@d", r"@W2\.T", r"1\.?0?-h\*\*2", r"X\.T@d", r"@W1\.T", r"labels\]-=1"],
}


def test_every_exercise_has_key_expressions():
    assert set(exercises(notebook("07"))) == set(KEY_EXPRESSIONS)


def test_no_answer_before_the_check_in_the_task_or_in_a_hint():
    assert leaks(notebook("07"), KEY_EXPRESSIONS, hint_strings(nb07, hints)) == []


@pytest.mark.parametrize("exercise_id", KEY_EXPRESSIONS)
def test_the_key_expressions_find_the_solution(exercise_id):
    """The patterns are live: each set finds the course's own solution of its exercise."""
    import re

    solution = squash(solution_text(get(exercise_id)))
    assert [rx for rx in KEY_EXPRESSIONS[exercise_id] if re.search(rx, solution)]


def test_the_scan_finds_the_old_tasks():
    old = {"07.1": "forward x @ W + b (save x and W on ctx); backward (g @ W.T, x.T @ g, g summed over rows)",
           "07.2": "loss = mean(diff**2) with diff = pred - target; gradient 2 * diff / diff.size",
           "07.4": "update the velocity v = momentum * v + grad first, then p = p - lr * v"}
    for exercise_id, task in old.items():
        assert task_leaks(notebook("07"), exercise_id, task, KEY_EXPRESSIONS), exercise_id
