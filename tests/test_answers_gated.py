"""Engine source that answers an exercise is printed only once that exercise has passed (issue 15, section 1).

Every course cell that shows such source goes through ``bl.exercises.show_source_after("NN.K", ...)``; this file
finds each one in the released notebooks and runs it twice: on a fresh progress file (Run All before trying:
one line, no code) and after the exercise's own reference has passed its check (the source appears).
"""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

import backprop_lab as bl
from backprop_lab import rules
from backprop_lab.einsum import operand_grad
from backprop_lab.exercises import check, get
from answer_scan import printed_by_cell

COURSE = Path(__file__).resolve().parent.parent / "course"
GATE = re.compile(r'show_source_after\("(\d\d\.\d+)"')


def gated_cells():
    found = []
    for path in sorted(COURSE.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                found += [(path.stem, m.group(1), nb) for m in GATE.finditer(cell.source)]
    return found


GATED = gated_cells()


def test_the_course_gates_engine_source_that_answers_an_exercise():
    assert {xid for _, xid, _ in GATED} >= {"02.2", "02.3", "02.6", "04.2", "04.3", "04.4", "05.4", "06.4"}


@pytest.mark.parametrize("name, exercise_id, nb", GATED, ids=[f"{n[:2]}-{x}" for n, x, _ in GATED])
def test_engine_source_appears_only_after_the_exercise_passes(name, exercise_id, nb, tmp_path, monkeypatch):
    monkeypatch.setenv("BACKPROP_LAB_PROGRESS", str(tmp_path / "progress.json"))
    names = {"bl": bl, "rules": rules, "inspect": inspect, "operand_grad": operand_grad, "np": np}
    marker = f'show_source_after("{exercise_id}"'
    fresh = printed_by_cell(nb, marker, dict(names))
    assert f"passes check {exercise_id}" in fresh and "def " not in fresh and "class " not in fresh, fresh
    ex = get(exercise_id)
    result = check(exercise_id, ex.reference, record=True)
    assert result.passed, repr(result)
    shown = printed_by_cell(nb, marker, dict(names))
    assert "def " in shown or "class " in shown, shown
