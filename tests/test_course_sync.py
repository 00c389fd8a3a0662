"""Everything made from the instructor notebooks is up to date, and the exercise conventions hold.

If a test here fails after editing a notebook in solutions/ (its .md or its .ipynb), run
`backprop-lab build` and commit what it changed. Never edit course/ or the generated modules by hand.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from backprop_lab import build, release
from backprop_lab.exercises import catalog, get

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
COURSE = ROOT / "course"

SOURCES = sorted(SOLUTIONS.glob("[0-9][0-9]_*.md"))
pytestmark = pytest.mark.skipif(not SOURCES, reason="no instructor notebooks in solutions/ yet")


def exercise_cells(path: Path):
    """(index, cell, notebook, exercise id) of each code cell with a solution region."""
    nb = nbformat.read(str(path), as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and release.BEGIN_SOLUTION in cell.source:
            yield i, cell, nb, (cell.metadata.get("backprop_lab") or {}).get("id")


def test_everything_built_from_the_sources_is_up_to_date():
    """The .md/.ipynb pairs agree, course/, the package's copy and the generated modules are what the build
    makes of them, and every notebook was executed after its last edit."""
    problems = build.out_of_date(ROOT)
    assert not problems, "run `backprop-lab build`:\n" + "\n".join(problems)


def test_course_has_only_generated_notebooks():
    names = {p.name for p in COURSE.glob("*.ipynb")}
    assert names == {p.with_suffix(".ipynb").name for p in SOURCES}


def test_no_course_cell_raises_before_the_learner_has_done_anything():
    """Run All on a fresh course notebook shows no traceback: value exercises get a comment, not a raise, and
    raises-exception is only where the author put it (a cell whose error is the point)."""
    for path in sorted(COURSE.glob("*.ipynb")):
        source = nbformat.read(str(SOLUTIONS / path.name), as_version=4)
        authored = {c.get("id") for c in source.cells if "raises-exception" in c.metadata.get("tags", [])}
        for i, cell in enumerate(nbformat.read(str(path), as_version=4).cells):
            if cell.cell_type == "code":
                assert not re.search(r"^raise ", cell.source, re.MULTILINE), f"{path.name}, cell {i}: raises"
            if "raises-exception" in cell.metadata.get("tags", []):
                assert cell.get("id") in authored, f"{path.name}, cell {i}: raises-exception not set by the author"


def test_every_exercise_has_its_facts_once_and_a_check():
    """id, points, task in the cell's metadata; the check class it names exists; the catalog reads the same."""
    entries = catalog.load()
    seen = {}
    for path in SOURCES:
        for i, cell, _, ex_id in exercise_cells(path.with_suffix(".ipynb")):
            where = f"{path.name}, cell {i}"
            assert ex_id, f"{where}: exercise cell without backprop_lab.id metadata"
            assert ex_id not in seen, f"{where}: exercise id {ex_id} already used in {seen[ex_id]}"
            seen[ex_id] = where
            meta = cell.metadata["backprop_lab"]
            entry = entries[ex_id]
            assert (entry.points, entry.task, entry.check) == (meta["points"], meta["task"], meta["check"]), where
            ex = get(ex_id)
            assert (ex.id, ex.points, ex.task, ex.target) == (ex_id, entry.points, entry.task, entry.target)
            for attr in ("id", "points", "task", "title", "target"):
                assert attr not in type(ex).__dict__, f"{type(ex).__name__} repeats '{attr}': the metadata owns it"
    assert set(seen) == set(entries)


def test_every_exercise_is_followed_by_its_check():
    for path in SOURCES:
        for i, cell, nb, ex_id in exercise_cells(path.with_suffix(".ipynb")):
            following = next((c for c in nb.cells[i + 1:] if c.cell_type == "code"), None)
            assert following is not None and re.search(rf"check\(\s*['\"]{re.escape(str(ex_id))}['\"]",
                                                       following.source), (
                f"{path.name}, cell {i}: the next code cell should call check({ex_id!r}, ...)")
