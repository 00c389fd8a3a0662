"""What a learner sees of an exercise before its check: for the tests that no answer is on screen too early.

A learner reads the released notebook (``course/NN_*.ipynb``) from the top; when they run it, each cell shows
what the instructor notebook's same cell (same id) printed. Before an exercise's check cell they see the
sources and outputs of every earlier cell and the exercise cell's stub (its docstring and task); when a check
fails they see the hints of its check class. ``learner_view`` collects those texts, and ``leaks`` searches them
for the expressions that would give the answer away (regular expressions matched with all whitespace removed,
so that ``x.T @ g`` and ``x.T@g`` are the same).
"""
from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import nbformat

from backprop_lab.exercises import get

ROOT = Path(__file__).resolve().parent.parent


def _text(cell_source) -> str:
    return cell_source if isinstance(cell_source, str) else "".join(cell_source)


def _outputs(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if "text" in out:
            parts.append(_text(out["text"]))
        for kind in ("text/plain", "text/html", "text/markdown"):
            if kind in out.get("data", {}):
                parts.append(_text(out["data"][kind]))
    return "\n".join(parts)


def check_cell_index(cells, exercise_id: str) -> int:
    """The index of the cell that calls ``check("NN.K", ...)``."""
    pattern = re.compile(r"""check\(\s*["']%s["']""" % re.escape(exercise_id))
    for i, cell in enumerate(cells):
        if cell.cell_type == "code" and pattern.search(_text(cell.source)):
            return i
    raise AssertionError(f"no check({exercise_id!r}, ...) cell")


def learner_view(stem: str, exercise_id: str) -> dict[str, list[tuple[str, str]]]:
    """What the learner sees of exercise ``exercise_id`` of notebook ``stem`` before and after its check.

    ``{"before": [(where, text), ...], "after": [...], "task": [...], "hints": [...]}``: the course cells' sources
    and the instructor cells' outputs before the check cell (the exercise cell included), the same after it, the
    exercise's task, and every message its check class can show.
    """
    course = nbformat.read(str(ROOT / "course" / f"{stem}.ipynb"), as_version=4).cells
    outputs = {c.get("id"): _outputs(c) for c in
               nbformat.read(str(ROOT / "solutions" / f"{stem}.ipynb"), as_version=4).cells}
    at = check_cell_index(course, exercise_id)
    view = {"before": [], "after": []}
    for i, cell in enumerate(course):
        side = "before" if i < at else "after"
        view[side].append((f"{stem} cell {i} source", _text(cell.source)))
        if cell.cell_type == "code" and outputs.get(cell.get("id")):
            view[side].append((f"{stem} cell {i} output", outputs[cell.get("id")]))
    ex = get(exercise_id)
    view["task"] = [(f"task of {exercise_id}", ex.task)]
    view["hints"] = [(f"a message of {type(ex).__name__}", text) for text in messages(type(ex))]
    return view


def messages(check_class) -> list[str]:
    """Every string a check class can show: its module's *_HINTS tables and message constants, and the strings
    written in the class's own methods (f-strings included), docstrings excepted."""
    module = inspect.getmodule(check_class)
    tree = ast.parse(inspect.getsource(module))
    found: list[str] = []

    def strings(node):
        docstrings = {id(n.body[0].value) for n in ast.walk(node)
                      if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Module)) and n.body
                      and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        return [n.value for n in ast.walk(node)
                if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]

    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and (t.id.endswith("HINTS") or t.id.isupper())
                                                and isinstance(node.value, (ast.Dict, ast.Constant, ast.JoinedStr,
                                                                            ast.BinOp))
                                                for t in node.targets):
            found += strings(node.value)
        if isinstance(node, ast.ClassDef) and node.name == check_class.__name__:
            found += strings(node)
    return found


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def leaks(texts: list[tuple[str, str]], patterns: list[str]) -> list[str]:
    """``where: pattern`` for every text that matches one of the patterns (whitespace removed from both)."""
    found = []
    for where, text in texts:
        flat = _squeeze(text)
        for pattern in patterns:
            if re.search(pattern, flat):
                found.append(f"{where}: {pattern}")
    return found
