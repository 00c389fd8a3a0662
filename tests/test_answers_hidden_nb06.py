"""Notebook 06 shows no exercise's answer before the learner has tried (issue 15, section 1).

The key expressions of each solution, as regular expressions on text without whitespace (tests/answer_scan.py),
appear neither before the exercise's check (in a cell, or in what a cell prints: engine source that implements
the exercise), nor in its task, nor in any hint; 06.5's culprit is named by no cell of the released notebook.
"""
import copy
import re

import nbformat
import pytest

from answer_scan import (exercises, hint_strings, leaks, notebook, printed_before_check, printed_by_cell, squash,
                         task_leaks)
from backprop_lab.exercises import get, hints, nb06
from backprop_lab.exercises.framework import solution_text

KEY_EXPRESSIONS = {
    "06.1": [r"g/\(2", r"1/\(2\*?y", r"\\frac\{1\}\{2y\}", r"\\frac\{g\}\{2y\}", r"0\.5\*g", r"x\^\{-1/2\}"],
    "06.2": [r"g\*\(?x>=?y", r"g\*~", r"g\*\[x>=?y\]", r"\\cdot\[x[<>]", r"getsource\(rules\.Maximum",
             r"rules\.__doc__"],
    "06.3": [r"put_along_axis\(mask", r"expand_dims\(g", r"expand_dims\(np\.argmax", r"operatorname\{argmax\}",
             r"mask\[np\.argmax", r"getsource\(rules\.Max\b", r"rules\.__doc__"],
    "06.4": [r"node\._fn\.backward\(node\._ctx,node\.grad\)", r"reversed\(order\)", r"unbroadcast\(g,parent\.shape\)",
             r"parent\.grad\+g", r"root\.grad=np\.ones_like", r"root\.grad=1", r"getsource\(bl\.Tensor\.backward",
             r"getsource\(bl\.Tensor\._backward", r"getsource\(bl\.autograd"],
    "06.5": [r"(?i)softplus", r"check_graph\(loss_m\)"],
}
# what the executed notebook must not print before a check: the rules' table and engine source that implement it
def re_search(rx, text):
    return re.search(rx, squash(text))


PRINTED = {
    "06.2": [r"g\*\[x>=y\]", r"g\*x_wins"],
    "06.3": [r"dx=gatthefirstmaximalentry", r"xp\.argmax\(moved"],
    "06.4": [r"defbackward\(self,grad=None", r"def_backward\(self\)", r"fornodeinreversed\(order\)"],
}


def test_every_exercise_has_key_expressions():
    assert set(exercises(notebook("06"))) == set(KEY_EXPRESSIONS)


def test_no_answer_before_the_check_in_the_task_or_in_a_hint():
    assert leaks(notebook("06"), KEY_EXPRESSIONS, hint_strings(nb06, hints)) == []


def test_no_engine_source_of_an_exercise_printed_before_its_check():
    assert printed_before_check(notebook("06", folder="solutions"), PRINTED) == []


def test_the_culprit_of_06_5_is_named_by_no_cell():
    """No cell of the released notebook, before or after the check, names the buggy op or finds it for the learner
    (the one that shows a rule shows the rule of the op the learner named)."""
    found = [i for i, cell in enumerate(notebook("06").cells)
             for rx in KEY_EXPRESSIONS["06.5"] if re_search(rx, cell.source)]
    assert found == []


@pytest.mark.parametrize("exercise_id", KEY_EXPRESSIONS)
def test_the_key_expressions_find_the_solution(exercise_id):
    """The patterns are live: each set finds the course's own solution of its exercise."""
    solution = solution_text(get(exercise_id))
    assert [rx for rx in KEY_EXPRESSIONS[exercise_id] if re_search(rx, solution)]


def test_the_scan_finds_the_old_task_of_06_4_and_the_engine_driver_printed_above_it():
    old = "topological order, seed root.grad = 1, then in reverse: rule, unbroadcast, accumulate"
    assert task_leaks(notebook("06"), "06.4", old, KEY_EXPRESSIONS)
    nb = copy.deepcopy(notebook("06", folder="solutions"))
    _, check_at, _ = exercises(nb)["06.4"]
    engine = next(c for c in nb.cells[check_at:] if 'show_source_after("06.4"' in c.source)
    nb.cells.insert(check_at - 1, copy.deepcopy(engine))          # where it was before issue 15
    assert printed_before_check(nb, {"06.4": PRINTED["06.4"]})
    assert leaks(nb, {"06.4": KEY_EXPRESSIONS["06.4"]}, [])


def test_the_scan_finds_a_cell_that_names_the_culprit():
    nb = copy.deepcopy(notebook("06"))
    nb.cells.append(nbformat.v4.new_code_cell("print(bl.check_graph(loss_m).first_bad.op)"))
    assert any(re_search(rx, nb.cells[-1].source) for rx in KEY_EXPRESSIONS["06.5"])


def test_the_rules_table_hides_the_rows_of_06_2_and_06_3_until_they_pass(tmp_path, monkeypatch):
    """Section 4 prints the rules' table; its maximum/minimum and max/min rows are 06.2's and 06.3's answers."""
    import backprop_lab as bl
    from backprop_lab import rules
    from backprop_lab.exercises import check
    from backprop_lab.references import nb06 as reference

    monkeypatch.setenv("BACKPROP_LAB_PROGRESS", str(tmp_path / "progress.json"))
    fresh = printed_by_cell(notebook("06"), "exercise_of", {"bl": bl, "rules": rules})
    assert not [rx for k in ("06.2", "06.3") for rx in PRINTED[k] if re_search(rx, fresh)]
    assert "MatMul" in fresh and fresh.count("hidden until your") == 4
    check("06.2", reference.maximum_backward)
    check("06.3", reference.max_backward)
    passed = printed_by_cell(notebook("06"), "exercise_of", {"bl": bl, "rules": rules})
    assert all([rx for rx in PRINTED[k] if re_search(rx, passed)] for k in ("06.2", "06.3"))
