"""Notebook 02 shows no exercise's answer before the learner has tried (issue 15, section 1).

Code patterns of each solution (tests/answer_scan.py) must not appear before the check, in the task or in a
hint; exercise 02.1's numbers must not be printed after it, nor stated outside a collapsed <details> block.
"""
from answer_scan import exercises, hint_strings, leaks, notebook, shown_values, task_leaks
from backprop_lab.exercises import hints, nb02

KEY_EXPRESSIONS = {
    "02.1": [r"dL_dw=-20", r"dL_dx=30", r"dL/dw=-20", r"dL/dx=30"],
    "02.2": [r"b\.data\*out\.grad", r"a\.data\*out\.grad", r"agetsb", r"bgetsa"],
    "02.3": [r"1-t\*\*2\)\*out\.grad", r"1-t\*t\)\*out\.grad", r"1-t\*\*2\)", r"localgradient1-t"],
    "02.4": [r"k\*a\.data\*\*\(k-1\)", r"k\*a\*\*\(k-1\)", r"localgradientk\*"],
    "02.5": [r"b\.grad\+=\(?-", r"bothwith\+=", r"addedwith\+="],
    "02.6": [r"forparentinnode\._prev:visit\(parent\)", r"foreachparentinnode\._prev", r"visited\.add\(node\)"],
    "02.7": [r"reversed\(topo_sort\(root\)\)", r"root\.grad=1", r"fornodeinreversed\(", r"reversedtopologicalorder"],
}

# 02.1's answer, dL/dw = -20 and dL/dx = 30, as printed numbers
ANSWER_02_1 = [r"(?<![\d.e])-20(?:\.0*)?(?![\d.])", r"(?<![\d.e-])30(?:\.0*)?(?![\d.])"]


def test_every_exercise_has_key_expressions():
    assert set(exercises(notebook("02"))) == set(KEY_EXPRESSIONS)


def test_no_answer_before_the_check_in_the_task_or_in_a_hint():
    assert leaks(notebook("02"), KEY_EXPRESSIONS, hint_strings(nb02, hints)) == []


def test_the_numbers_of_02_1_are_not_shown_after_it():
    """The executed instructor notebook (the exercise solved) prints no -20 or 30 between 02.1 and 02.2."""
    assert shown_values(notebook("02", folder="solutions"), "02.1", ANSWER_02_1) == []


def test_the_scan_finds_the_old_printout_of_02_1():
    import nbformat

    nb = notebook("02", folder="solutions")
    index, check_at, _ = exercises(nb)["02.1"]
    old = nbformat.v4.new_code_cell("print(w.grad)")
    old.outputs = [nbformat.v4.new_output("stream", text="engine:              dL/dw = -20, dL/dx = 30\n")]
    nb.cells.insert(check_at + 1, old)
    assert len(shown_values(nb, "02.1", ANSWER_02_1)) == 2


def test_the_scan_finds_the_old_task_of_02_7():
    old = "set root.grad = 1.0, then call _backward on every node in reversed(topo_sort(root))"
    assert task_leaks(notebook("02"), "02.7", old, KEY_EXPRESSIONS)
