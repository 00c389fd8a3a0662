"""Find an exercise's answer where a learner would see it before trying (issue 15, section 1).

The released course notebook (``course/NN_*.ipynb``) is what a learner reads. For each exercise a test file
lists the *key expressions* of its solution, as regular expressions on text with every whitespace removed
(so ``(pred - target) ** 2`` and ``(pred-target)**2`` are one thing). ``leaks`` reports each place where one
occurs:

- any cell before the exercise's check cell (prose, the stub, its docstring, demonstrations);
- the exercise's ``task`` (it becomes the stub's message and the check's status line);
- any string constant of the module of checks and of ``hints.py`` (every hint the learner can be shown).

``shown_values`` looks for a value exercise's answer in what the executed instructor notebook *prints*
between the exercise and the next one, and in prose there outside a collapsed ``<details>`` block;
``printed_before_check`` for an exercise's key expression in what it prints before the exercise's check
(engine source that implements the exercise, say).

Math in LaTeX does not match code patterns, by design: a notebook derives a formula before the learner codes
it; what it must not show is the code.
"""
from __future__ import annotations

import ast
import html
import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def notebook(number: str, folder: str = "course"):
    (path,) = sorted((ROOT / folder).glob(f"{number}_*.ipynb"))
    return nbformat.read(str(path), as_version=4)


def exercises(nb) -> dict[str, tuple[int, int, str]]:
    """Exercise id -> (index of its cell, index of its check cell, its task)."""
    found = {}
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("backprop_lab") or {}
        if cell.cell_type != "code" or not meta.get("id"):
            continue
        xid = str(meta["id"])
        check_at = next((j for j in range(i + 1, len(nb.cells)) if nb.cells[j].cell_type == "code"
                         and re.search(rf"check\(\s*['\"]{re.escape(xid)}['\"]", nb.cells[j].source)), None)
        assert check_at is not None, f"exercise {xid} has no check cell after it"
        found[xid] = (i, check_at, str(meta.get("task", "")))
    return found


def hint_strings(*modules) -> list[tuple[str, str]]:
    """(where, text) of every string constant in the given modules' source that a learner can be shown: hints
    and messages (docstrings, which only authors read, are left out)."""
    out = []
    for module in modules:
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                out.append((f"{Path(module.__file__).name}:{node.lineno}", node.value))
    return out


def leaks(nb, patterns: dict[str, list[str]], strings: list[tuple[str, str]]) -> list[str]:
    """Every place where an exercise's key expression shows before its check, in its task, or in a hint."""
    found = []
    spans = exercises(nb)
    missing = set(patterns) - set(spans)
    assert not missing, f"no such exercises in the notebook: {sorted(missing)}"
    for xid, regexes in patterns.items():
        _, check_at, task = spans[xid]
        for rx in regexes:
            pattern = re.compile(rx)
            for i in range(check_at):
                if pattern.search(squash(nb.cells[i].source)):
                    found.append(f"{xid}: {rx!r} in cell {i} (before its check, cell {check_at})")
            if pattern.search(squash(task)):
                found.append(f"{xid}: {rx!r} in its task {task!r}")
            for where, text in strings:
                if pattern.search(squash(text)):
                    found.append(f"{xid}: {rx!r} in the string at {where}: {text[:80]!r}")
    return found


TAG = re.compile(r"<[^>]*>")


def printed(output) -> str:
    """The text of one output of an executed cell (a stream, or a result's text forms), as a learner reads it: HTML
    without its tags (a colour such as rgba(30, 142, 62, 0.12) in a style attribute is not something shown)."""
    if output.get("text"):
        return output["text"]
    return "".join(html.unescape(TAG.sub(" ", str(v))) if k == "text/html" else str(v)
                   for k, v in output.get("data", {}).items() if k.startswith("text"))


DETAILS = re.compile(r"<details>.*?</details>", re.S)


def shown_values(solved_nb, exercise_id: str, regexes: list[str]) -> list[str]:
    """Where the executed instructor notebook prints a value exercise's answer, or its prose states it outside
    a ``<details>`` block, from the exercise to the next exercise."""
    spans = exercises(solved_nb)
    start, _, _ = spans[exercise_id]
    later = [i for i, _, _ in spans.values() if i > start]
    end = min(later) if later else len(solved_nb.cells)
    found = []
    for i in range(start + 1, end):
        cell = solved_nb.cells[i]
        if cell.cell_type == "markdown":
            texts = [DETAILS.sub("", cell.source)]
        else:
            texts = [printed(o) for o in cell.get("outputs", [])]
        for text in texts:
            for rx in regexes:
                if re.search(rx, text):
                    found.append(f"{exercise_id}: {rx!r} shown in cell {i}: {text[:120]!r}")
    return found


def printed_before_check(solved_nb, patterns: dict[str, list[str]]) -> list[str]:
    """Where the executed instructor notebook *prints* an exercise's key expression before the exercise's check
    (engine source or a docstring that implements it): what Run All shows above the learner's first attempt."""
    spans = exercises(solved_nb)
    found = []
    for xid, regexes in patterns.items():
        _, check_at, _ = spans[xid]
        for i in range(check_at):
            for o in solved_nb.cells[i].get("outputs", []):
                found += [f"{xid}: {rx!r} printed by cell {i} (before its check, cell {check_at})"
                          for rx in regexes if re.search(rx, squash(printed(o)))]
    return found


def task_leaks(nb, exercise_id: str, task: str, patterns: dict[str, list[str]]) -> list[str]:
    """What ``leaks`` finds in exercise ``exercise_id``'s task if it were ``task`` (to test the scan itself)."""
    index, _, _ = exercises(nb)[exercise_id]
    nb.cells[index].metadata["backprop_lab"]["task"] = task
    return [f for f in leaks(nb, patterns, []) if f.startswith(exercise_id) and "task" in f]


def hint_leaks(exercise_id: str, wrong_answers, patterns: list[str]) -> list[str]:
    """Run each known-wrong answer through ``check`` and report every hint shown that matches a key expression
    (hints built from the case at run time, which ``hint_strings`` cannot see), and every answer given no hint.

    For an exception in the learner's code only the text from "Hint:" on is the course's: the traceback above it
    quotes the learner's own lines.
    """
    from backprop_lab.exercises import check

    found = []
    for k, answer in enumerate(wrong_answers):
        problem = check(exercise_id, answer, record=False).first_problem
        if problem is None:
            found.append(f"{exercise_id}: wrong answer {k} passed")
            continue
        error = problem.error or ""
        text = problem.mismatch.hint if problem.mismatch else error[error.find("Hint:"):] if "Hint:" in error else ""
        if not text.strip():
            found.append(f"{exercise_id}: wrong answer {k} got no hint")
        found += [f"{exercise_id}: {rx!r} in the hint for wrong answer {k}: {text[:80]!r}"
                  for rx in patterns if re.search(rx, squash(text))]
    return found


def printed_by_cell(nb, marker: str, namespace: dict) -> str:
    """What the first cell of ``nb`` whose source contains ``marker`` prints, run in ``namespace``."""
    import contextlib
    import io

    cell = next(c for c in nb.cells if c.cell_type == "code" and marker in c.source)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(cell.source, "<cell>", "exec"), namespace)
    return out.getvalue()
