"""Find an exercise's answer where a learner sees it before trying (issue 15, "no answer on screen").

What a learner sees before an exercise's check: every cell of the released course notebook up to the
cell that calls ``check("NN.K", ...)`` (the exercise's stub, docstring included), the exercise's task
(it becomes the stub's message and the "not done yet" line), and the hints its check gives to wrong
answers. ``leaks`` looks for an exercise's key solution expressions in such text, after ``normalise``
has removed what does not change the meaning (case, spaces, LaTeX spacing), so that ``dD @ x.T`` is
found as ``dd@x.T`` and ``dD\\,x^\\top`` as ``ddx^\\top``.

Used by the catalogue tests of notebooks 03-05 (tests/test_exercises_nb03.py ...), each of which also
checks that the scan finds an answer planted in a copy of its notebook, so a scan that cannot fail
fails.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from backprop_lab.exercises import check

ROOT = Path(__file__).resolve().parent.parent
LATEX_SPACING = re.compile(r"\\[,;:! ]|\\quad|\\qquad|\\left|\\right|[{}$]")


def normalise(text: str) -> str:
    """Lower case, without whitespace, LaTeX spacing commands, braces or dollar signs."""
    return re.sub(r"\s+", "", LATEX_SPACING.sub("", text)).lower()


def leaks(text: str, fragments) -> list[str]:
    """The fragments (answer expressions) that occur in ``text``, compared after ``normalise``."""
    flat = normalise(text)
    return [f for f in fragments if normalise(f) in flat]


def course_notebook(number: str) -> dict:
    (path,) = (ROOT / "course").glob(f"{number}_*.ipynb")
    return json.loads(path.read_text(encoding="utf-8"))


def check_cell_index(nb: dict, exercise_id: str) -> int:
    call = re.compile(r"""\bcheck\(\s*["']""" + re.escape(exercise_id) + r"""["']""")
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code" and call.search("".join(cell["source"])):
            return i
    raise AssertionError(f"no cell calls check({exercise_id!r}, ...)")


def seen_before_check(nb: dict, exercise_id: str) -> str:
    """All cell sources before the exercise's check cell, and the exercise's task, as one text."""
    end = check_cell_index(nb, exercise_id)
    parts = ["".join(cell["source"]) for cell in nb["cells"][:end]]
    for cell in nb["cells"][:end]:
        meta = cell.get("metadata", {}).get("backprop_lab") or {}
        if meta.get("id") == exercise_id:
            parts.append(meta.get("task", ""))
    return "\n".join(parts)


def shown_for(exercise_id: str, answer) -> str:
    """What the learner reads under a failed check of ``answer``: the hint, or the error text and its hint."""
    result = check(exercise_id, answer, record=False)
    problem = result.first_problem
    if problem is None:
        return ""
    if problem.mismatch is not None:
        return problem.mismatch.hint
    # an error: the traceback quotes the learner's own code; what the course wrote starts at the first "Hint:"
    return problem.error[problem.error.find("Hint:"):] if "Hint:" in problem.error else ""


def plant(nb: dict, exercise_id: str, text: str, where: str) -> dict:
    """A copy of ``nb`` with ``text`` added to the exercise's ``task`` or to the ``source`` of the cell before it."""
    nb = json.loads(json.dumps(nb))
    for i, cell in enumerate(nb["cells"]):
        meta = cell.get("metadata", {}).get("backprop_lab") or {}
        if meta.get("id") == exercise_id:
            if where == "task":
                meta["task"] = meta.get("task", "") + " " + text
            else:
                before = nb["cells"][i - 1]
                before["source"] = "".join(before["source"]) + "\n" + text
            return nb
    raise AssertionError(f"no exercise cell {exercise_id} in the notebook")


# ----------------------------------------------------------------------------- the three checks each notebook runs

def assert_no_answer_before_check(number: str, exercise_id: str, fragments) -> None:
    """Nothing a learner sees before the check of ``exercise_id`` (cells, stub, task) holds one of ``fragments``."""
    found = leaks(seen_before_check(course_notebook(number), exercise_id), fragments)
    assert found == [], f"the answer of {exercise_id} is on screen before its check: {found}"


def assert_no_answer_in_hints(exercise_id: str, wrong_answers, fragments) -> None:
    """Each wrong answer gets a hint (never none), and no hint holds one of ``fragments``."""
    texts = [shown_for(exercise_id, wrong) for wrong in wrong_answers]
    assert all(texts), f"a wrong answer to {exercise_id} got no hint"
    assert [t for t in texts if leaks(t, fragments)] == []


def assert_scan_finds(number: str, exercise_id: str, planted: str, fragments, where: str) -> None:
    """The scan finds ``planted`` (an answer fragment) once it is put into the task or the cell before the exercise."""
    nb = plant(course_notebook(number), exercise_id, planted, where)
    assert leaks(seen_before_check(nb, exercise_id), fragments) != []
