"""Notebook 04 shows no exercise's answer before the learner has tried (issue 15, section 1).

The key expressions of each solution, as regular expressions on text without whitespace (tests/answer_scan.py):
none may appear before the exercise's check, in its task, or in any hint. Printing the engine's rule for an
exercise (`MatMul`, `unbroadcast`, `Sum`) is an answer too, and so is the table of candidate products.
"""
import pytest

import copy

from answer_scan import exercises, hint_strings, leaks, notebook, printed_before_check, task_leaks
from backprop_lab.exercises import hints, nb04

KEY_EXPRESSIONS = {
    "04.1": [r"dD@x\.T", r"W\.T@dD", r"dD\\?,?x\^\\top", r"W\^\\top\\?,?dD", r"dDx\^T", r"W\^TdD",
             r"getsource\(rules\.MatMul\)", r"matmul_shapes\(", r"shapes_widget\("],
    "04.2": [r"dy@W\.T", r"x\.T@dy", r"dy\.sum\(axis=0\)", r"x\^\\top\\?,?dy", r"dy\\?,?W\^\\top",
             r"\\sum_\{?n\}?dy_\{?nj", r"\\sum_\\text\{batch\}dy", r"getsource\(rules\.MatMul\)"],
    "04.3": [r"grad\.ndim-len\(shape\)", r"getsource\(bl\.unbroadcast\)", r"sumawaytheleadingaxes,thensumwith",
             r"axis2withkeepdims"],
    "04.4": [r"expand_dims\(g,axis\)", r"broadcast_to\(g,x_shape\)", r"getsource\(rules\.Sum\)",
             r"expand_dims\(unless"],
    "04.5": [r"sum_backward\(g,x_shape,axis=axis,keepdims=keepdims\)/", r"np\.prod\(\[x_shape\[a\]",
             r"sum_backwarddividedbyn"],
    "04.6": [r"s\*\(g-\(g\*s\)\.sum\(axis=-1", r"s\\odot\(g-\\langleg,s\\rangle\)", r"s_j\\?,?\(g_j-\\langleg,s",
             r"s\*\(g-<g,s>\)", r"\(g\*s\)\.sum\(axis=-1"],
}


def test_every_exercise_has_key_expressions():
    assert set(exercises(notebook("04"))) == set(KEY_EXPRESSIONS)


def test_no_answer_before_the_check_in_the_task_or_in_a_hint():
    assert leaks(notebook("04"), KEY_EXPRESSIONS, hint_strings(nb04, hints)) == []


@pytest.mark.parametrize("where", ["task", "hint"])
def test_the_scan_finds_an_answer_put_back(where):
    """The scan is not vacuous: the old task of 04.1 and the old generic hint are found."""
    if where == "task":
        assert task_leaks(notebook("04"), "04.1", "return dW = dD @ x.T and dx = W.T @ dD", KEY_EXPRESSIONS)
    else:
        old = "(dimensional analysis: dW = dD @ x.T, dx = W.T @ dD)."
        found = leaks(notebook("04"), KEY_EXPRESSIONS, [("hints.py", old)])
        assert found and all(f.startswith("04.1") for f in found)


# what the executed notebook must not print before a check: the engine's MatMul rule is 04.2's dx and dW for
# Z = XY (dX = G Y^T, dY = X^T G), so it comes after 04.2's check
PRINTED = {"04.2": [r"dX=GY\^T", r"g@y\.swapaxes\(-1,-2\)", r"x\.swapaxes\(-1,-2\)@g"]}


def test_no_engine_source_of_an_exercise_printed_before_its_check():
    assert printed_before_check(notebook("04", folder="solutions"), PRINTED) == []


def test_the_scan_finds_the_matmul_rule_printed_before_04_2():
    """Where it was before a learner's walkthrough found it: right after 04.1's check, above exercise 04.2."""
    nb = copy.deepcopy(notebook("04", folder="solutions"))
    spans = exercises(nb)
    engine = next(c for c in nb.cells if 'show_source_after("04.2"' in c.source)
    nb.cells.insert(spans["04.1"][1] + 1, copy.deepcopy(engine))
    assert printed_before_check(nb, PRINTED)
    assert leaks(nb, {"04.2": KEY_EXPRESSIONS["04.2"]}, [])
