"""course/ (and the package's copy) is exactly what `backprop-lab release` makes of solutions/.

If a test here fails after editing a notebook in solutions/, run `backprop-lab release` and
commit course/ and backprop_lab/course_notebooks/ with it. Never edit course/ by hand.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

from backprop_lab import release
from backprop_lab.exercises import all_exercises

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
COURSE = ROOT / "course"
PACKAGE_COPY = ROOT / "backprop_lab" / "course_notebooks"

SOURCES = release.source_notebooks(SOLUTIONS) if SOLUTIONS.is_dir() else []
pytestmark = pytest.mark.skipif(not SOURCES, reason="no instructor notebooks in solutions/ yet")


def exercise_cells(path: Path):
    """(index, cell, exercise id) of each code cell with a solution region."""
    nb = nbformat.read(str(path), as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and release.BEGIN_SOLUTION in cell.source:
            yield i, cell, nb, (cell.metadata.get("backprop_lab") or {}).get("id")


@pytest.mark.parametrize("dest", [COURSE, PACKAGE_COPY], ids=["course", "package-copy"])
def test_generated_notebooks_are_up_to_date(dest):
    problems = release.differences(release.build(SOLUTIONS), dest)
    assert not problems, "run `backprop-lab release`:\n" + "\n".join(problems)


def test_course_has_only_generated_notebooks():
    names = {p.name for p in COURSE.glob("*.ipynb")}
    assert names == {p.name for p in SOURCES}


def test_raises_exception_tags_sit_exactly_on_cells_that_raise():
    """nbval ignores a raises-exception cell that does not raise, so check the tags statically: every
    top-level stub is tagged, and any other tagged cell was tagged by the author in solutions/ (a cell whose
    error is the point, e.g. a demonstration of a failing check)."""
    stub = re.compile(r'^raise NotImplementedError\("Exercise \d+\.\d+: ', re.MULTILINE)
    for path in sorted(COURSE.glob("*.ipynb")):
        source = nbformat.read(str(SOLUTIONS / path.name), as_version=4)
        authored = {c.get("id") for c in source.cells if "raises-exception" in c.metadata.get("tags", [])}
        for i, cell in enumerate(nbformat.read(str(path), as_version=4).cells):
            tagged = "raises-exception" in cell.metadata.get("tags", [])
            raises = cell.cell_type == "code" and bool(stub.search(cell.source))
            assert tagged == (raises or cell.get("id") in authored), \
                f"{path.name}, cell {i}: raises-exception tag {tagged}, top-level stub {raises}"


def test_every_exercise_cell_has_a_registered_check_with_the_same_points():
    registry = all_exercises()
    seen = {}
    for path in SOURCES:
        for i, cell, _, ex_id in exercise_cells(path):
            where = f"{path.name}, cell {i}"
            assert ex_id, f"{where}: exercise cell without backprop_lab.id metadata"
            assert ex_id not in seen, f"{where}: exercise id {ex_id} already used in {seen[ex_id]}"
            seen[ex_id] = where
            assert path.name.startswith(ex_id.split(".")[0] + "_"), f"{where}: id {ex_id} is not this notebook's"
            assert ex_id in registry, f"{where}: no check registered for exercise {ex_id}"
            points = cell.metadata["backprop_lab"].get("points")
            assert points == registry[ex_id].points, (
                f"{where}: metadata says {points} points, the check {registry[ex_id].points}")
            assert cell.metadata["backprop_lab"].get("task"), f"{where}: no 'task' for the stub's message"


def test_every_exercise_is_followed_by_its_check():
    for path in SOURCES:
        for i, cell, nb, ex_id in exercise_cells(path):
            following = next((c for c in nb.cells[i + 1:] if c.cell_type == "code"), None)
            assert following is not None and re.search(rf"check\(\s*['\"]{re.escape(str(ex_id))}['\"]",
                                                       following.source), (
                f"{path.name}, cell {i}: the next code cell should call check({ex_id!r}, ...)")


@pytest.mark.parametrize("script", sorted((SOLUTIONS / "_build").glob("build_*.py")), ids=lambda p: p.stem)
def test_solutions_notebook_matches_its_build_script(script):
    """solutions/NN_*.ipynb is written by solutions/_build/build_NN.py: edit the script, then rebuild."""
    spec = importlib.util.spec_from_file_location(script.stem, script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    saved = nbformat.read(module.TARGET, as_version=4)

    def essence(nb):
        return [(c.id, c.cell_type, c.source, c.metadata.get("tags", []), c.metadata.get("backprop_lab"))
                for c in nb.cells]

    assert essence(module.build()) == essence(saved), f"rebuild with: python {script.relative_to(ROOT)} --execute"
