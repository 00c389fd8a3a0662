"""Notebook 01 shows no exercise's answer before the learner has tried (issue 15, section 1).

The formulas are derived in LaTeX (the lesson); what must not show before the check is the code that
computes them (tests/answer_scan.py).
"""
from answer_scan import exercises, hint_strings, leaks, notebook, task_leaks
from backprop_lab.exercises import hints, nb01

KEY_EXPRESSIONS = {
    "01.1": [r"\(f\(x\+h\)-f\(x\)\)/h"],
    "01.2": [r"\(f\(x\+h\)-f\(x-h\)\)/\(?2", r"/\(2\*h\)"],
    "01.3": [r"x\[idx\]=old\+h", r"x\[idx\]\+=h", r"\(f_plus-f_minus\)", r"np\.ndindex\(x\.shape\)",
             r"np\.zeros_like\(x\)"],
    "01.4": [r"np\.maximum\(np\.maximum", r"np\.abs\(a-b\)/", r"np\.maximum\(np\.abs\(a\),np\.abs\(b\)\)"],
}


def test_every_exercise_has_key_expressions():
    assert set(exercises(notebook("01"))) == set(KEY_EXPRESSIONS)


def test_no_answer_before_the_check_in_the_task_or_in_a_hint():
    assert leaks(notebook("01"), KEY_EXPRESSIONS, hint_strings(nb01, hints)) == []


def test_the_scan_finds_the_old_task_of_01_4():
    """The task 01.4 had before issue 15 is found."""
    old = "return np.abs(a - b) / max(|a|, |b|, 1e-12), elementwise (np.maximum)"
    assert task_leaks(notebook("01"), "01.4", old, KEY_EXPRESSIONS)
