"""The grader against a class of adversarial submissions: every fault has its expected points and status.

One grading run (module fixture) over the fixture notebook ``90_fixture.ipynb`` (exercises in
``grading_fixtures/private_tests/exercises_fixture.py``, loaded with ``tests_dir``), then assertions per
student. Every test of this module reads that one run (xdist's ``--dist loadscope`` keeps the module on
one worker, so it is graded once); only the re-run test grades again, and it regrades one notebook.
The limits are small (2 s per cell, 1 s of grace for code that ignores the timer) to keep it quick.
"""
from __future__ import annotations

import csv
import json
import os
import sys
import zipfile

import nbformat
import pytest

from backprop_lab.grading import grade, sandbox

sys.path.insert(0, os.path.dirname(__file__))
from grading_fixtures import notebooks as N  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "grading_fixtures", "private_tests")
SETTINGS = dict(jobs=2, timeout=2.0, grace=1.0, notebook_timeout=60, memory_mb=1536, tests_dir=FIXTURES,
                progress=False)
FULL = {"90.1": 2, "90.2": 3, "90.3": 1}
LEVEL = sandbox.jail_level()[0]
JAIL = LEVEL != "off"
# a fork bomb is only safe to run where something caps it: the pids cgroup (root) or RLIMIT_NPROC
FORK_CONTAINED = JAIL or os.geteuid() != 0


def _with(answers=None, **edits):
    nb = N.solved(answers)
    for key, fn in edits.items():
        fn(nb)
    return nb


def _insert(i, source):
    return lambda nb: nb.cells.insert(i, nbformat.v4.new_code_cell(source))


def build_class(root: str, outside: str) -> dict[str, object]:
    """{student: notebook or bytes}; ``outside`` is a path no submission may write."""
    loop_fn = "def square(x):\n    while True:\n        pass\n"
    subs: dict[str, object] = {
        "perfect": N.solved(),
        "fresh": N.released(),
        "wrong": N.solved({"90.1": "def square(x):\n    return x * 2\n",
                           "90.2": "def mul_backward(a, b, g):\n    return g * a, g * b\n",
                           "90.3": "step_size = 5.0\n"}),
        "partial": N.solved({"90.1": "def square(x):\n    return x * abs(x) if x[0] == 1 else -x\n"}),
        "hardcoded": N.solved({"90.1": "import numpy as np\ndef square(x):\n    return np.array([1.0, 4.0, 9.0])\n"}),
        "cheater": _with({"90.1": "def square(x):\n    return x * 2\n"}, a=_insert(
            1, "import numpy as np, numpy.testing\nnp.allclose = lambda *a, **k: True\n"
               "np.array_equal = lambda *a, **k: True\nnumpy.testing.assert_allclose = lambda *a, **k: None\n"
               "import backprop_lab.exercises as E\nE.check = lambda *a, **k: True\n")),
        "delegator": N.solved({"90.2": "def mul_backward(a, b, g):\n"
                                       "    A, B = bl.Tensor(a, requires_grad=True), bl.Tensor(b, requires_grad=True)\n"
                                       "    (A * B * bl.Tensor(g)).sum().backward()\n    return A.grad, B.grad\n"}),
        "loop_in_function": N.solved({"90.1": loop_fn}),
        "loop_in_cell": _with(a=_insert(3, "while True:\n    pass\n")),
        "loop_ignoring_alarm": _with(a=_insert(3, "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                                                  "while True:\n    pass\n")),
        "memory_cell": _with(a=_insert(3, "big = bytearray(50 * 2**30)\n")),
        "memory_function": N.solved({"90.1": "def square(x):\n    return bytearray(50 * 2**30)\n"}),
        "exit_cell": _with(a=_insert(3, "import os\nos._exit(3)\n")),
        "sysexit_cell": _with(a=_insert(3, "import sys\nsys.exit(1)\n")),
        "exit_function": N.solved({"90.2": "import os\ndef mul_backward(a, b, g):\n    os._exit(0)\n"}),
        "segfault": _with(a=_insert(3, "import ctypes\nctypes.string_at(0)\n")),
        "syntax": N.solved({"90.1": "def square(x)\n    return x * x\n"}),
        "deleted": _with(a=lambda nb: nb.cells.pop(N.exercise_index(nb, "90.2"))),
        "edited": _with(a=lambda nb: setattr(nb.cells[3], "source", "x = np.arange(4.0)  # changed"),
                        b=lambda nb: nb.cells.insert(7, nb.cells.pop(1)),
                        c=_insert(8, "print('my own cell')")),
        "noisy": _with(a=_insert(3, "import sys, warnings\nwarnings.warn('careful')\n"
                                    "for i in range(200000):\n    print('spam', i)\n    print('err', file=sys.stderr)\n")),
        "writer": _with(a=_insert(3, f"for p in [{os.path.join(outside, 'pwned')!r}, {os.path.join(root, 'out', 'pwned')!r}]:\n"
                                     "    try:\n        open(p, 'w').write('x')\n    except OSError:\n        pass\n")),
        "not_json": b"this is not a notebook {",
        "empty": b"",
        "wrong_notebook": nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
            "def f(x):\n    return x\n", metadata={"backprop_lab": {"id": "91.1", "points": 1}})]),
        "huge_output": _with(a=lambda nb: nb.cells[3].update(outputs=[nbformat.v4.new_output(
            "stream", name="stdout", text="x" * (30 * 2**20))])),
        "old_format": "v3",
    }
    if FORK_CONTAINED:
        subs["fork_bomb"] = _with(a=_insert(3, "import os\nwhile True:\n    os.fork()\n"))
    for student, nb in subs.items():
        folder = os.path.join(root, "subs", student)
        os.makedirs(folder)
        path = os.path.join(folder, N.NAME)
        if isinstance(nb, bytes):
            open(path, "wb").write(nb)
        elif nb == "v3":
            v3 = nbformat.v3.new_notebook(worksheets=[nbformat.v3.new_worksheet(cells=[
                nbformat.v3.new_code_cell(c.source, metadata=dict(c.metadata))
                for c in N.solved().cells if c.cell_type == "code"])])
            open(path, "w").write(nbformat.v3.writes_json(v3))
        else:
            open(path, "w").write(N.dumps(nb))
    with zipfile.ZipFile(os.path.join(root, "subs", "zipped.zip"), "w") as zf:
        zf.writestr(f"zipped/{N.NAME}", N.dumps(N.solved()))
        zf.writestr("../../evil.ipynb", "{}")
    return subs


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("grading"))
    outside = str(tmp_path_factory.mktemp("outside"))
    os.makedirs(os.path.join(root, "course"))
    open(os.path.join(root, "course", N.NAME), "w").write(N.dumps(N.released()))
    build_class(root, outside)
    summary = grade(os.path.join(root, "subs"), os.path.join(root, "out"), course_dir=os.path.join(root, "course"),
                    **SETTINGS)
    rows = list(csv.DictReader(open(os.path.join(root, "out", "grades.csv"))))
    return {"root": root, "outside": outside, "summary": summary, "rows": rows}


def rows_of(graded, student):
    ex = {r["exercise"]: r for r in graded["rows"] if r["student"] == student}
    return ex


# student: {exercise: (points, status)}; "*" = every exercise
EXPECTED = {
    "perfect": {x: (p, "pass") for x, p in FULL.items()},
    "zipped": {x: (p, "pass") for x, p in FULL.items()},
    "fresh": {x: (0, "todo") for x in FULL},
    "wrong": {x: (0, "fail") for x in FULL},
    "partial": {"90.1": (0.5, "partial"), "90.2": (3, "pass")},
    "hardcoded": {"90.1": (0.5, "partial"), "90.2": (3, "pass")},
    "cheater": {"90.1": (0, "fail"), "90.2": (3, "pass")},
    "delegator": {"90.1": (2, "pass"), "90.2": (3, "review"), "90.3": (1, "pass")},
    "loop_in_function": {"90.1": (0, "timeout"), "90.2": (3, "pass"), "90.3": (1, "pass")},
    "loop_in_cell": {x: (p, "pass") for x, p in FULL.items()},
    "loop_ignoring_alarm": {x: (p, "pass") for x, p in FULL.items()},
    "memory_cell": {x: (p, "pass") for x, p in FULL.items()},
    "memory_function": {"90.1": (0, "memory"), "90.2": (3, "pass")},
    "exit_cell": {x: (p, "pass") for x, p in FULL.items()},
    "sysexit_cell": {x: (p, "pass") for x, p in FULL.items()},
    "exit_function": {"90.1": (2, "pass"), "90.2": (0, "crash"), "90.3": (1, "pass")},
    "segfault": {x: (p, "pass") for x, p in FULL.items()},
    "syntax": {"90.1": (0, "syntax-error"), "90.2": (3, "pass"), "90.3": (1, "pass")},
    "deleted": {"90.1": (2, "pass"), "90.2": (0, "missing"), "90.3": (1, "pass")},
    "edited": {x: (p, "pass") for x, p in FULL.items()},
    "noisy": {x: (p, "pass") for x, p in FULL.items()},
    "writer": {x: (p, "pass") for x, p in FULL.items()},
    "not_json": {x: (0, "malformed") for x in FULL},
    "empty": {x: (0, "malformed") for x in FULL},
    "wrong_notebook": {x: (0, "wrong-notebook") for x in FULL},
    "huge_output": {x: (p, "pass") for x, p in FULL.items()},
    "old_format": {x: (p, "pass") for x, p in FULL.items()},
    "fork_bomb": {x: (p, "pass") for x, p in FULL.items()},
}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_points_and_status(graded, student):
    if student == "fork_bomb" and not FORK_CONTAINED:
        pytest.skip("no pids cgroup or RLIMIT_NPROC to contain a fork bomb here (root without the jail)")
    got = rows_of(graded, student)
    assert got, f"no rows for {student}"
    for xid, (points, status) in EXPECTED[student].items():
        assert (float(got[xid]["points"]), got[xid]["status"]) == (points, status), (student, xid, got[xid])
        assert float(got[xid]["max_points"]) == FULL[xid]


def test_messages_explain(graded):
    msg = {s: rows_of(graded, s) for s in ("deleted", "delegator", "hardcoded", "not_json", "empty", "syntax",
                                            "loop_in_function", "exit_function", "wrong_notebook")}
    assert "missing" in msg["deleted"]["90.2"]["message"]
    assert "for the instructor's review" in msg["delegator"]["90.2"]["message"]
    assert "backprop_lab.Tensor" in msg["delegator"]["90.2"]["message"]
    assert "not valid JSON" in msg["not_json"]["90.1"]["message"]
    assert "empty" in msg["empty"]["90.1"]["message"]
    assert "91" in msg["wrong_notebook"]["90.1"]["message"]
    assert "limit" in msg["loop_in_function"]["90.1"]["message"]
    assert "ended the Python process" in msg["exit_function"]["90.2"]["message"]


def test_notebook_notes(graded):
    nbrow = {r["student"]: r for r in graded["rows"] if r["exercise"] == "(notebook)"}
    notes = nbrow["edited"]["message"]
    assert nbrow["edited"]["status"] == "edited"
    assert "edited" in notes and "re-ordered" in notes and "added by the student" in notes
    assert "run again without it" in nbrow["segfault"]["message"] and "SIGSEGV" in nbrow["segfault"]["message"]
    assert "run again without it" in nbrow["loop_ignoring_alarm"]["message"]
    assert "run again without it" in nbrow["exit_cell"]["message"]
    assert "converted" in nbrow["old_format"]["message"]
    assert nbrow["perfect"]["status"] == "ok" and nbrow["perfect"]["message"] == ""


def test_writes_outside_never_land(graded):
    assert not os.path.exists(os.path.join(graded["root"], "out", "pwned"))
    if JAIL:
        assert not os.path.exists(os.path.join(graded["outside"], "pwned"))
    assert not os.path.exists(os.path.join(graded["root"], "evil.ipynb"))


def test_gradebook(graded):
    book = list(csv.DictReader(open(os.path.join(graded["root"], "out", "gradebook.csv"))))
    by = {r["student"]: r for r in book}
    assert set(by) == set(EXPECTED) - ({"fork_bomb"} if not FORK_CONTAINED else set())
    assert list(book[0])[:4] == ["student", "90.1", "90.2", "90.3"]
    assert by["perfect"]["total"] == "6" and by["perfect"]["max_total"] == "6" and by["perfect"]["percent"] == "100.0"
    assert by["delegator"]["90.2"] == "3" and "90.2" in by["delegator"]["notes"]
    assert by["partial"]["total"] == "4.5" and by["fresh"]["total"] == "0"


def test_feedback(graded):
    fb = os.path.join(graded["root"], "out", "feedback")
    text = open(os.path.join(fb, "hardcoded", "90_fixture.html")).read()
    assert "1 of 4 checks passed" in text and "hard-coded" in text
    assert "2 / 2" in open(os.path.join(fb, "perfect", "90_fixture.html")).read()
    wrong = open(os.path.join(fb, "wrong", "90_fixture.html")).read()
    assert "outside [0.01, 0.5]" in wrong and "Hint:" in wrong
    # no check source: the fixture's code never appears in the feedback
    for student in os.listdir(fb):
        html = open(os.path.join(fb, student, "90_fixture.html")).read()
        assert "def cases" not in html and "def expected" not in html and "rng.normal" not in html


def test_results_json_and_seconds(graded):
    data = json.load(open(os.path.join(graded["root"], "out", "results.json")))
    assert data["grace"] == SETTINGS["grace"] and data["timeout"] == SETTINGS["timeout"]
    assert {r["student"] for r in data["results"]} == set(graded["summary"]["student_seconds"])
    assert all(s > 0 for st, s in data["student_seconds"].items() if st not in ("not_json", "empty", "wrong_notebook"))


def test_rerun_is_idempotent_and_reuses(graded):
    out = os.path.join(graded["root"], "out")
    before = {f: open(os.path.join(out, f)).read() for f in ("grades.csv", "gradebook.csv", "results.json")}
    os.remove(os.path.join(out, ".partial", "perfect", N.NAME + ".json"))      # as if interrupted there
    summary = grade(os.path.join(graded["root"], "subs"), out, course_dir=os.path.join(graded["root"], "course"),
                    **SETTINGS)
    assert summary["reused"] == summary["notebooks"] - 1
    after = {f: open(os.path.join(out, f)).read() for f in before}
    assert after["gradebook.csv"] == before["gradebook.csv"]
    strip = lambda t: [r[:6] for r in csv.reader(t.splitlines())]  # noqa: E731 (seconds differ for the regraded one)
    assert strip(after["grades.csv"]) == strip(before["grades.csv"])
