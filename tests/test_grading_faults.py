"""Fault injection: whatever goes wrong while grading one notebook, the class is graded and the exit says so.

An unexpected error on the grader's side (a bug, CPython's thread-unsafe ``ast.parse`` of gh-106905, a
jail that cannot start) becomes that notebook's ``grader-error`` status, with the traceback in
``RESULTS/grader.log``; every other notebook is graded; the command exits with status 3 and names what
needs a look; a re-run grades the failed notebook again and reuses the rest.
"""
from __future__ import annotations

import contextlib
import csv
import io
import os
import sys

import pytest

from backprop_lab.cli import main as cli
from backprop_lab.grading import delegation, grader, sandbox, submissions

sys.path.insert(0, os.path.dirname(__file__))
from grading_fixtures import notebooks as N  # noqa: E402

PRIVATE = os.path.join(os.path.dirname(__file__), "grading_fixtures", "private_tests")
MARKER = "# the notebook the injected fault hits"


def _class(root, students):
    course = root / "course"
    course.mkdir()
    (course / N.NAME).write_text(N.dumps(N.released()))
    for name, nb in students.items():
        (root / "subs" / name).mkdir(parents=True)
        (root / "subs" / name / N.NAME).write_text(N.dumps(nb))
    return ["grade", str(root / "subs"), "--out", str(root / "out"), "--course", str(course), "--tests", PRIVATE,
            "-j", "2", "--timeout", "10"]


def _run(args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli(args)
    return code, out.getvalue(), err.getvalue()


def _statuses(root):
    rows = csv.DictReader(open(root / "out" / "grades.csv"))
    return {(r["student"], r["exercise"]): r["status"] for r in rows if r["exercise"] != "(notebook)"}


def test_an_unexpected_error_costs_only_its_notebook_and_is_graded_on_the_rerun(tmp_path, monkeypatch):
    args = _class(tmp_path, {"alice": N.solved(), "victim": N.solved(), "carol": N.solved()})
    real = grader.grade_notebook

    def faulty(student, *a, **k):
        if student == "victim":
            raise RuntimeError("injected fault")
        return real(student, *a, **k)

    monkeypatch.setattr(grader, "grade_notebook", faulty)
    code, out, err = _run(args)
    assert code == 3
    status = _statuses(tmp_path)
    assert {status["victim", x] for x in N.MAX_POINTS} == {"grader-error"}
    assert {status[s, x] for s in ("alice", "carol") for x in N.MAX_POINTS} == {"pass"}
    assert "victim" in err and "grader.log" in err
    log = (tmp_path / "out" / "grader.log").read_text()
    assert "Traceback" in log and "RuntimeError: injected fault" in log and "victim" in log
    assert not (tmp_path / "out" / ".partial" / "victim").exists()
    monkeypatch.setattr(grader, "grade_notebook", real)
    code, out, err = _run(args)
    assert code == 0, err
    assert "2 reused" in out
    assert {_statuses(tmp_path)["victim", x] for x in N.MAX_POINTS} == {"pass"}


def test_the_thread_unsafe_parse_fault_is_contained(tmp_path, monkeypatch):
    """CPython gh-106905 raised SystemError from ast.parse in a grading thread and aborted the class: the
    same error, injected for one notebook's cell, now costs only that notebook."""
    hit = N.solved({"90.1": "def square(x):\n    " + MARKER + "\n    return x * x\n"})
    args = _class(tmp_path, {"alice": N.solved(), "hit": hit})
    real = delegation.ast.parse

    def racy(text, *a, **k):
        if MARKER in text:
            raise SystemError("AST constructor recursion depth mismatch (before=1, after=2)")
        return real(text, *a, **k)

    monkeypatch.setattr(delegation.ast, "parse", racy)
    delegation._parse.cache_clear()
    code, _, err = _run(args)
    delegation._parse.cache_clear()
    assert code == 3 and "hit" in err
    status = _statuses(tmp_path)
    assert {status["hit", x] for x in N.MAX_POINTS} == {"grader-error"}
    assert {status["alice", x] for x in N.MAX_POINTS} == {"pass"}
    assert "SystemError: AST constructor recursion depth mismatch" in (tmp_path / "out" / "grader.log").read_text()


@pytest.mark.skipif(sandbox.jail_level()[0] == "off", reason="no jail here to fail")
def test_a_jail_that_cannot_start_is_a_grader_error_not_a_silent_fallback():
    """A worker that cannot enter its jail says why before any student code runs; the grader does not
    grade that notebook unconfined behind the instructor's back."""
    settings = grader.prepare(grader.Settings(timeout=10, notebook_timeout=60, tests_dir=PRIVATE, course={
        N.NAME: submissions.released_from_notebook(N.NAME, N.released())}))
    settings.jail, settings.disk_mb = sandbox.jail_level()[0], -5       # a tmpfs of -5 MB: the mount fails
    with pytest.raises(grader.GraderError, match="could not enter its jail"):
        grader.grade_notebook("s", N.NAME, N.NAME, N.dumps(N.solved()).encode(), settings)


def test_asking_for_a_jail_that_is_not_here_stops_before_grading(tmp_path, monkeypatch):
    args = _class(tmp_path, {"alice": N.solved()})
    monkeypatch.setattr(sandbox, "_probe", lambda level: f"no {level} jail in this test")
    code, _, err = _run(args + ["--jail", "user"])
    assert code == 2 and "--jail user cannot be used here: user: no user jail in this test" in err
    assert not (tmp_path / "out" / "grades.csv").exists()
