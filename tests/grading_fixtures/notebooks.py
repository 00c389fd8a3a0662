"""Build the grader's test notebook (``90_fixture.ipynb``) as released, as solved, and as submitted.

``submission(edit)`` starts from the released notebook and lets a test change cells by position or
exercise id, so each adversarial submission below is a few lines.
"""
from __future__ import annotations

import contextlib
import copy
import io

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NAME = "90_fixture.ipynb"
MAX_POINTS = {"90.1": 2, "90.2": 3, "90.3": 1}

STUBS = {
    "90.1": 'def square(x):\n    """Return x squared, elementwise."""\n'
            '    raise NotImplementedError("Exercise 90.1: square x")\n',
    "90.2": 'def mul_backward(a, b, g):\n    """Return (grad_a, grad_b) for out = a * b."""\n'
            '    raise NotImplementedError("Exercise 90.2: propagate g to both inputs")\n',
    "90.3": 'step_size = None\nraise NotImplementedError("Exercise 90.3: pick a step size")\n',
}
ANSWERS = {
    "90.1": 'def square(x):\n    """Return x squared, elementwise."""\n    return x * x\n',
    "90.2": 'def mul_backward(a, b, g):\n    """Return (grad_a, grad_b) for out = a * b."""\n    return g * b, g * a\n',
    "90.3": "step_size = 0.1\n",
}
TASKS = {"90.1": "square x", "90.2": "propagate g to both inputs", "90.3": "pick a step size"}


def _exercise(xid: str, source: str):
    cell = new_code_cell(source, metadata={"tags": ["exercise"],
                                           "backprop_lab": {"id": xid, "points": MAX_POINTS[xid], "task": TASKS[xid]}})
    return cell


def released():
    cells = [
        new_markdown_cell("# Fixture notebook\nThree tiny exercises for the grader's tests."),
        new_code_cell("import numpy as np\nimport backprop_lab as bl"),
        _exercise("90.1", STUBS["90.1"]),
        new_code_cell("x = np.arange(3.0)\nprint(x)"),
        _exercise("90.2", STUBS["90.2"]),
        new_markdown_cell("Pick a step size."),
        _exercise("90.3", STUBS["90.3"]),
        new_code_cell("print('the end')"),
    ]
    for i, c in enumerate(cells):
        c["id"] = f"cell-{i}"
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})


def solved(answers: dict | None = None):
    nb = released()
    answers = {**ANSWERS, **(answers or {})}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("backprop_lab")
        if meta and meta["id"] in answers:
            cell.source = answers[meta["id"]]
    return nb


def exercise_index(nb, xid: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("backprop_lab", {}).get("id") == xid)


def dumps(nb) -> str:
    return nbformat.writes(copy.deepcopy(nb))


def write_class(root, students: dict) -> tuple[str, str]:
    """``root/course/`` with the released notebook and ``root/subs/<name>/`` with each student's; returns both."""
    course = root / "course"
    course.mkdir(exist_ok=True)
    (course / NAME).write_text(dumps(released()))
    for name, nb in students.items():
        (root / "subs" / name).mkdir(parents=True, exist_ok=True)
        (root / "subs" / name / NAME).write_text(dumps(nb))
    return str(root / "subs"), str(course)


def run_cli(args: list[str]) -> tuple[int, str, str]:
    """``backprop-lab ARGS`` in this process: exit status, stdout, stderr."""
    from backprop_lab.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()
