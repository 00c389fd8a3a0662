"""The course's own notebooks through the grader: solutions/ earn full marks, fresh course/ earns zero.

The student notebooks are made from solutions/ by the build's release step into a temporary folder (so
the test never depends on course/ being up to date); one student submits every solution, another every
fresh notebook, graded in one run. Parametrised over whatever solutions/ holds (skipped while empty).
"""
from __future__ import annotations

import csv
import os
import shutil

import pytest

from backprop_lab.release import release
from backprop_lab.grading import grade

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOLUTIONS = os.path.join(ROOT, "solutions")
NOTEBOOKS = sorted(n for n in os.listdir(SOLUTIONS) if n.endswith(".ipynb")) if os.path.isdir(SOLUTIONS) else []
PARAMS = NOTEBOOKS or [pytest.param("none", marks=pytest.mark.skip("solutions/ holds no notebook yet"))]


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("course-grading")
    course = tmp / "course"
    release(SOLUTIONS, str(course))
    for student, src in (("solved", SOLUTIONS), ("fresh", str(course))):
        (tmp / "subs" / student).mkdir(parents=True)
        for name in NOTEBOOKS:
            shutil.copy(os.path.join(src, name), tmp / "subs" / student / name)
    grade(str(tmp / "subs"), str(tmp / "out"), jobs=2, timeout=60, notebook_timeout=300,
          course_dir=str(course), progress=False)
    return list(csv.DictReader(open(tmp / "out" / "grades.csv")))


def _of(rows, student, name):
    return [r for r in rows if r["student"] == student and r["notebook"] == name and r["exercise"] != "(notebook)"]


@pytest.mark.parametrize("name", PARAMS)
def test_solutions_get_full_marks(rows, name):
    mine = _of(rows, "solved", name)
    if not mine:
        pytest.skip(f"{name} has no exercise cells")
    bad = [(r["exercise"], r["status"], r["message"]) for r in mine if r["status"] != "pass"]
    assert not bad, bad
    assert all(float(r["points"]) == float(r["max_points"]) > 0 for r in mine)


@pytest.mark.parametrize("name", PARAMS)
def test_fresh_course_gets_zero_without_crash(rows, name):
    mine = _of(rows, "fresh", name)
    assert all(float(r["points"]) == 0 for r in mine), mine
    assert {r["status"] for r in mine} <= {"todo", "fail", "error"}, {(r["exercise"], r["status"]) for r in mine}
