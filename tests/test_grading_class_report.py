"""The class report (``results/report.html``, ``results/class_report.csv``): what the class got wrong.

A small class with known wrong answers is graded; the report counts each diagnosed mistake, blank and
crashing exercise exactly. Every hint template of the course names one mistake, whatever it is filled in with.
"""
from __future__ import annotations

import csv
import importlib
import os
import re
import string
import sys

import pytest

from backprop_lab.grading import grade, mistakes

sys.path.insert(0, os.path.dirname(__file__))
from grading_fixtures import notebooks as N  # noqa: E402

PRIVATE = os.path.join(os.path.dirname(__file__), "grading_fixtures", "private_tests")
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the grader's workers need Linux here")

SIGN = "def square(x):\n    return -(x * x)\n"
TWICE = "def square(x):\n    return 2 * x * x\n"                        # "exactly 2 times": a filled-in template
ZEROS = "import numpy as np\ndef mul_backward(a, b, g):\n    return np.zeros_like(a), np.zeros_like(b)\n"  # hard-coded
CRASH = "import os\ndef mul_backward(a, b, g):\n    os._exit(3)\n"
STEP = "step_size = 5.0\n"                                                # the check's own inline hint
CLASS = {
    "ann": N.solved(),
    "bob": N.solved({"90.1": SIGN, "90.3": STEP}),
    "cat": N.solved({"90.1": SIGN, "90.2": ZEROS}),
    "dan": N.solved({"90.1": TWICE, "90.2": CRASH}),
    "eve": N.released(),                                                  # handed back blank
    "fay": N.solved({"90.1": SIGN, "90.3": STEP}),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    subs, course = N.write_class(root, CLASS)
    (root / "subs" / "gus").mkdir()        # handed in nothing: counts for no exercise
    (root / "subs" / "gus" / "notes.txt").write_text("sorry")
    out = root / "out"
    grade(subs, str(out), course_dir=course, tests_dir=PRIVATE, jobs=2, progress=False)
    return out


def _rows(out):
    return list(csv.DictReader(open(out / "class_report.csv", encoding="utf-8")))


def test_each_diagnosed_mistake_is_counted_exactly(graded):
    got = {(r["exercise"], r["name"]): (int(r["count"]), int(r["of"])) for r in _rows(graded) if r["kind"] == "mistake"}
    step = next(k for x, k in got if x == "90.3")
    assert step.startswith("unnamed:")      # the fixture's check writes its hint inline: named by its text
    assert got == {("90.1", "hints.SIGN"): (3, 6), ("90.1", "hints.MULTIPLE"): (1, 6),
                   ("90.2", "hints.HARDCODED"): (1, 6), ("90.3", step): (2, 6)}, got
    labels = {r["name"]: r["label"] for r in _rows(graded) if r["kind"] == "mistake"}
    assert labels["hints.MULTIPLE"].startswith("Your answer is exactly … times the expected one")
    assert labels[step] == "Too large a step diverges; too small never arrives."


def test_outcomes_and_scores_per_exercise(graded):
    rows = _rows(graded)
    outcomes = {(r["exercise"], r["name"]): int(r["count"]) for r in rows if r["kind"] == "outcome"}
    assert {k: v for k, v in outcomes.items() if v} == {
        ("90.1", "right"): 1, ("90.1", "wrong"): 4, ("90.1", "blank"): 1,
        ("90.2", "right"): 3, ("90.2", "wrong"): 1, ("90.2", "crashed"): 1, ("90.2", "blank"): 1,
        ("90.3", "right"): 3, ("90.3", "wrong"): 2, ("90.3", "blank"): 1}, outcomes
    scores = {(r["exercise"], r["name"]): int(r["count"]) for r in rows if r["kind"] == "score"}
    assert scores[("90.1", "full")] == 1 and scores[("90.1", "0")] == 5
    assert scores[("90.2", "full")] == 3 and scores[("90.2", "0")] == 3
    assert all(int(r["of"]) == 6 for r in rows)        # gus handed in nothing: in no denominator


def test_the_html_says_it_in_words_and_bars(graded):
    page = (graded / "report.html").read_text(encoding="utf-8")
    first = page.index("Diagnosed mistakes")
    assert re.search(r"<b>90\.1</b></td><td class='n'>3 of 6 \(50%\)", page[first:]), page[first:first + 600]
    assert "the wrong sign" in page and "color-scheme:light dark" in page
    blank = page[page.index("Most often left blank"):page.index("Most often crashed")]
    assert "<b>90.1</b>: 1 of 6 (17%)" in blank
    crashed = page[page.index("Most often crashed"):page.index("Most often raised")]
    assert "<b>90.2</b>: 1 of 6 (17%)" in crashed and "90.1" not in crashed
    assert page.count("<svg") >= 3 * 2 + 4 and "<script" not in page


def test_a_name_that_looks_like_a_formula_is_neutralised(tmp_path):
    from backprop_lab.grading import class_report

    res = [{"student": "s", "notebook": "=cmd.ipynb", "status": "ok", "exercises": [
        {"id": "+1", "task": "t", "points": 0, "max_points": 1, "status": "fail",
         "detail": {"hint": "@SUM(1)", "mistake": "-x", "mistake_label": "=HYPERLINK()"}}]}]
    class_report.write(str(tmp_path), res)
    row = [r for r in _rows(tmp_path) if r["kind"] == "mistake"][0]
    assert (row["notebook"], row["exercise"], row["name"], row["label"]) == ("'=cmd.ipynb", "'+1", "'-x", "'=HYPERLINK()")
    assert "&lt;" not in row["label"] and "=HYPERLINK()" in (tmp_path / "report.html").read_text()


def _course_modules():
    from backprop_lab.exercises import hints

    return [hints] + [importlib.import_module(f"backprop_lab.exercises.nb{i:02d}") for i in range(10)]


class _Blank:
    """Fills any field of a template, whatever its format spec."""

    def __format__(self, spec):
        return "(3, 4)"

    def __getitem__(self, key):
        return self

    def __getattr__(self, name):
        return self


def test_every_hint_template_of_the_course_names_one_mistake_whatever_it_is_filled_with():
    seen = 0
    for mod in _course_modules():
        for key, template in mistakes._templates(mod):
            p = mistakes._Pattern(key, template)
            if p.literal < mistakes.MIN_LITERAL:
                continue
            filled = template.format(*[_Blank()] * 9, **{f: _Blank() for _, f, _, _ in
                                                        string.Formatter().parse(template) if f})
            got, label = mistakes.identify(filled, [mod])
            # the same text may be named twice (re-exported, or an alias): then it is the same mistake
            assert label == p.label or mistakes._Pattern(got, template).label == p.label, (key, got, filled)
            seen += 1
    assert seen > 100, seen


def test_no_hint_no_mistake_and_unknown_text_is_stable():
    assert mistakes.identify("") == ("", "")
    a, b = mistakes.identify("A hint no module has."), mistakes.identify("A hint no module has.")
    assert a == b and a[0].startswith("unnamed:") and a[1] == "A hint no module has."
