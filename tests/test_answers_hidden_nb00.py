"""Notebook 00 shows no exercise's answer before the learner has tried (issue 15, section 1).

The key expressions of each solution, as regular expressions on text without whitespace (tests/answer_scan.py):
none may appear before the exercise's check, in its task, or in any hint.
"""
import copy

import nbformat
import pytest

from answer_scan import exercises, hint_strings, leaks, notebook
from backprop_lab.exercises import hints, nb00

KEY_EXPRESSIONS = {
    "00.1": [r"\(pred-target\)\*\*2", r"\(target-pred\)\*\*2", r"np\.mean\(\(pred"],
    "00.2": [r"\.mean\(axis=0\)", r"\.std\(axis=0\)", r"mean\(0\)", r"std\(0\)"],
    "00.3": [r"n_in\*n_out\+n_out", r"zip\(sizes\[:-1\],sizes\[1:\]\)", r"zip\(sizes,sizes\[1:\]\)"],
}


def test_every_exercise_has_key_expressions():
    assert set(exercises(notebook("00"))) == set(KEY_EXPRESSIONS)


def test_no_answer_before_the_check_in_the_task_or_in_a_hint():
    assert leaks(notebook("00"), KEY_EXPRESSIONS, hint_strings(nb00, hints)) == []


@pytest.mark.parametrize("where", ["prose", "task", "hint"])
def test_the_scan_finds_an_answer_put_back(where):
    """The scan is not vacuous: the answer of 00.1, put back where it used to be, is found."""
    nb = copy.deepcopy(notebook("00"))
    strings = hint_strings(nb00, hints)
    index, _, _ = exercises(nb)["00.1"]
    if where == "prose":
        nb.cells.insert(index, nbformat.v4.new_markdown_cell("Use `np.mean((pred - target) ** 2)`."))
    elif where == "task":
        nb.cells[index].metadata["backprop_lab"]["task"] = "return np.mean((pred - target) ** 2)"
    else:
        strings = strings + [("a hint", "Compute np.mean((pred - target)**2).")]
    found = leaks(nb, KEY_EXPRESSIONS, strings)
    assert found and all(f.startswith("00.1") for f in found), found
