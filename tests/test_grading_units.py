"""Units of the grader: the safe wire format, the delegation evidence, the notebook reader, kills, grading mode."""
import math
import os
import sys
import warnings

import numpy as np
import pytest

from backprop_lab.grading import delegation, protocol

PRIVATE = os.path.join(os.path.dirname(__file__), "grading_fixtures", "private_tests")


@pytest.mark.parametrize("value", [2.5, np.float64(2.5), np.array(3.0), np.zeros((2, 0, 3)),
                                   np.arange(6).reshape(2, 3).T, (1, [2.0, {"a": np.int32(4)}]), None, "s"])
def test_protocol_round_trip_keeps_shape_and_type(value):
    back = protocol.decode(protocol.encode(value))
    assert type(back) is type(value) or isinstance(value, np.generic)
    assert np.shape(back) == np.shape(value) if not isinstance(value, tuple) else back == (1, [2.0, {"a": 4}])


def test_protocol_never_unpickles():
    assert isinstance(protocol.decode(protocol.encode(np.array([object()]))), protocol.Opaque)
    with pytest.raises(ValueError):
        protocol.decode({"__nd__": "object", "shape": [1], "b64": ""})
    with pytest.raises(ValueError):
        protocol.decode({"__pickle__": "gASV"})


NB = ["import numpy as np\nimport backprop_lab as bl\nfrom backprop_lab.rules import Mul as M"]


@pytest.mark.parametrize("cell,flag", [
    ("def f(a, b, g):\n    return g * b, g * a", None),
    ("def f(a, b, g):\n    return M.backward(None, g)", "backprop_lab.rules.Mul.backward"),
    ("def f(a, b, g):\n    return bl.Tensor(a).data", "backprop_lab.Tensor"),
    ("def f(a, b, g):\n    m = __import__('backprop' + '_lab')\n    return m", "dynamic code: __import__"),
    ("def f(a, b, g):\n    import backprop_lab.rules as r\n    return r.Mul", "backprop_lab.rules"),
])
def test_delegation_flags_engine_use_beyond_the_release(cell, flag):
    released = "class Scaffold(bl.Function):\n    pass"
    found = delegation.check_cell(released + "\n" + cell, released, NB + [cell], [])
    assert (flag is None and not found) or any(flag in f for f in found), found


def test_delegation_follows_a_helper_in_an_added_cell():
    helper = "def helper(a):\n    return bl.Tensor(a).exp().data"
    assert delegation.check_cell("def f(a):\n    return helper(a)", "def f(a):\n    raise NotImplementedError",
                                 NB + [helper], [helper])
    assert not delegation.check_cell("def f(a):\n    return np.exp(a)", None, NB, [helper])


def _v4(cells):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=cells)
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i}"
    return nb


def test_read_notebook_without_nbformat_matches_nbformat():
    """The fast reader (plain v4 JSON) gives what nbformat gives: cells, types, sources, metadata, ids."""
    import json

    import nbformat

    from backprop_lab.grading import submissions

    nb = _v4([nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell("x = 1\ny = 2", metadata={
        "backprop_lab": {"id": "90.1", "points": 2}}), nbformat.v4.new_raw_cell("raw")])
    raw = json.loads(nbformat.writes(nb))
    raw["cells"][1]["source"] = ["x = 1\n", "y = 2"]            # as Jupyter saves it: a list of lines
    data = json.dumps(raw).encode()
    fast, notes = submissions.read_notebook(data)
    assert notes == [] and isinstance(fast, submissions.Node)
    slow = nbformat.reads(data.decode(), as_version=4)
    assert [(c.cell_type, c.source if isinstance(c.source, str) else "".join(c.source), dict(c.metadata), c.get("id"))
            for c in slow.cells] == [(c.cell_type, c.source, c["metadata"], c.get("id")) for c in fast.cells]
    assert submissions.exercise_meta(fast.cells[1]) == {"id": "90.1", "points": 2}


@pytest.mark.parametrize("raw,why", [
    ({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code"}]}, "nbformat can read"),
    ({"nbformat": 4, "nbformat_minor": 5, "metadata": {}}, "nbformat can read"),
    ({"nbformat": 5, "cells": []}, "nbformat 5"),
])
def test_read_notebook_odd_files_still_go_through_nbformat(raw, why):
    import json

    from backprop_lab.grading import submissions

    with pytest.raises(submissions.Malformed, match=why):
        submissions.read_notebook(json.dumps(raw).encode())


def test_kill_is_quick_and_takes_forked_children(tmp_path):
    import time

    from backprop_lab.grading import sandbox

    sys.path.insert(0, os.path.dirname(__file__))
    from grading_fixtures.worker_probe import job_for

    cell = ("import os, time\npid = os.fork()\nif pid == 0:\n    time.sleep(60)\n    os._exit(0)\n"
            "open('child.pid', 'w').write(str(pid))\nprobe = 1\n")
    w = sandbox.Worker(job_for([cell], jail="off", memory_mb=0), str(tmp_path))
    events = []
    while not events or events[-1].get("ev") != "done":
        events.append(w.next_event(time.monotonic() + 60, 1 << 20))
        assert not isinstance(events[-1], str), events
    child = int((tmp_path / "child.pid").read_text())
    pgid = w.proc.pid
    assert sandbox._group_alive(pgid)          # the forked child still sleeps in the worker's group
    t0 = time.monotonic()
    w.kill()
    assert time.monotonic() - t0 < 1.0
    assert not sandbox._group_alive(pgid)
    try:
        state = open(f"/proc/{child}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        state = "gone"
    assert state in ("gone", "Z", "X"), state


# ----------------------------------------------------------------------------- every field checked

@pytest.mark.parametrize("value,why", [
    ({"__dict__": []}, "a dict given as list"),
    ({"__nd__": "float64", "shape": [2], "b64": "AAAA"}, "does not fit shape"),
    ({"__nd__": "float64", "shape": ["2"], "b64": ""}, "bad array shape"),
    ({"__nd__": "float64", "shape": [1], "b64": "!!!"}, "not base64"),
    ({"__tuple__": {"a": 1}}, "not a list"),
    ({"__float__": "1e309x"}, "bad special float"),
    ({"__opaque__": ["x"], "text": ""}, "bad opaque"),
    ({"__dict__": {}, "extra": 1}, "unexpected fields"),
    (float("nan"), "non-finite"),
])
def test_protocol_refuses_malformed_values_with_a_reason(value, why):
    with pytest.raises(protocol.ProtocolError, match=why):
        protocol.decode(value)


@pytest.mark.parametrize("line,why", [
    (b'{"ev": "case", "id": ["01.2"], "k": 0, "kind": "ok", "value": 1, "error": "", "sec": 0}', "id must be"),
    (b'{"ev": "case", "id": "01.2", "k": 0, "kind": "ok", "value": 1, "error": "", "sec": "soon"}', "sec must be"),
    (b'{"ev": "case", "id": "01.2", "k": "0", "kind": "ok", "value": 1, "error": "", "sec": 0}', "k must be"),
    (b'{"ev": "case", "id": "01.2", "k": 0, "kind": "pass", "value": 1, "error": "", "sec": 0}', "kind must be"),
    (b'{"ev": "cell", "i": 0, "phase": "end", "status": "ok"}', "unexpected fields"),
    (b'{"ev": "reboot"}', "unknown message"),
    (b'[1, 2]', "not an object"),
    (b'{"ev": "ready"', "not JSON"),
    (b'[' * 100000, "not JSON"),
])
def test_protocol_refuses_malformed_events_with_a_reason(line, why):
    with pytest.raises(protocol.ProtocolError, match=why):
        protocol.event(line)


def test_events_out_of_order_are_refused():
    from backprop_lab.grading.grader import _Sequence

    job = {"cells": [{"index": 0}, {"index": 3}], "exercises": [{"id": "01.1", "cases": [1, 2]}]}
    seq = _Sequence(job)
    ev = lambda **kw: {"ev": kw.pop("e"), **kw}  # noqa: E731
    assert seq.accept(ev(e="cell", phase="start", i=0)) != ""              # before ready
    good = [ev(e="ready"), ev(e="cell", phase="start", i=0), ev(e="cell", phase="end", i=0),
            ev(e="cell", phase="start", i=3), ev(e="cell", phase="end", i=3), ev(e="ex", phase="start", id="01.1"),
            ev(e="case", id="01.1", k=1), ev(e="case", id="01.1", k=0), ev(e="ex", phase="end", id="01.1"),
            ev(e="done")]
    seq = _Sequence(job)
    assert [seq.accept(e) for e in good] == [""] * len(good)
    for bad_at, bad in [(6, ev(e="case", id="01.1", k=2)), (6, ev(e="case", id="01.2", k=0)),
                        (7, ev(e="case", id="01.1", k=1)), (2, ev(e="ex", phase="start", id="01.1")),
                        (1, ev(e="cell", phase="start", i=3)), (2, ev(e="done")), (1, ev(e="ready"))]:
        seq = _Sequence(job)
        for e in good[:bad_at]:
            assert seq.accept(e) == ""
        assert seq.accept(bad) != "", (bad_at, bad)


def test_np_matrix_and_other_array_subclasses_are_judged_by_their_values():
    """A correct np.matrix answer passes (it used to arrive as an "Opaque" and fail)."""
    from backprop_lab.exercises import framework

    ex = framework.get("04.1")
    case = ex.cases(np.random.default_rng(0))[1]
    want = ex.expected(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)    # np.matrix: discouraged, still correct
        sent = protocol.decode(protocol.encode(tuple(np.matrix(w) for w in want)))
    assert type(sent[0]) is np.ndarray
    assert framework.judge(ex, case, "ok", sent).status == "pass"


# ----------------------------------------------------------------------------- delegation evidence

@pytest.mark.parametrize("cell", [
    'def f(a, b, g):\n    """Unlike backprop_lab, I compute it myself."""\n    return g * b, g * a',
    "def f(a, b, g):\n    bl = g * b\n    return bl, g * a",
    "def f(a, b, g, M=None):\n    M = g * a\n    return g * b, M",
    "def f(a, b, g):\n    return [M for M in (g * b, g * a)]",
    "def f(a, b, g):\n    reference = g * b\n    return reference, g * a",
])
def test_honest_code_is_not_evidence_on_a_name_match(cell):
    """A docstring is text; a parameter, a local or a comprehension variable named like an engine
    alias (bl, M here; reference, shapes in the course) is not the engine."""
    names_cell = NB[0] + "\nfrom backprop_lab.exercises.nb01 import reference"
    assert delegation.check_cell(cell, None, [names_cell, cell], []) == []


def test_parsing_is_serialised_across_threads(monkeypatch):
    """ast.parse is not thread-safe in CPython 3.11/3.12 (gh-106905): the grader's threads parse one at a time."""
    import threading
    import time

    inside, most = [0], [0]
    real = delegation.ast.parse

    def slow_parse(text, *a, **k):
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        time.sleep(0.005)
        inside[0] -= 1
        return real(text, *a, **k)

    monkeypatch.setattr(delegation.ast, "parse", slow_parse)
    delegation._parse.cache_clear()
    threads = [threading.Thread(target=lambda i=i: [delegation.parse(f"x{i}_{j} = {j}") for j in range(10)])
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1


# ----------------------------------------------------------------------------- grading mode in the worker

def test_use_returns_the_learners_object_while_grading(monkeypatch):
    from backprop_lab.exercises import use
    from backprop_lab.references import nb01

    def mine(f, x, h):
        raise NotImplementedError

    monkeypatch.setenv("BACKPROP_LAB_GRADING", "1")
    assert use("01.1", mine) is mine
    with pytest.raises(RuntimeError, match="not available while this notebook is graded"):
        use("01.1", None)(math.sin, 1.0, 0.1)       # no carried answer: never the reference
    monkeypatch.delenv("BACKPROP_LAB_GRADING")
    assert use("01.1", mine) is nb01.forward_difference        # outside grading: the course's, as a fallback


def test_sealed_checks_keep_run_and_nothing_that_knows_an_answer():
    """In a fresh process: after ``seal``, no object in memory is a reference implementation or an
    ``expected``/``compare``; the runs still work; the reference package and other check modules are stubs."""
    import subprocess

    code = r"""
import gc, types, numpy as np
from backprop_lab.exercises import framework
from backprop_lab.grading import worker_checks
exs = [framework.get(x) for x in ("02.2", "02.7", "03.3", "06.5")]
import backprop_lab.references.nb02      # imported before sealing: it must go too
case = framework.get("02.2").cases(np.random.default_rng(0))[0]
worker_checks.seal(exs)
left = sorted({o.__qualname__ for o in gc.get_objects() if isinstance(o, (types.FunctionType, type))
               and isinstance(getattr(o, "__module__", None), str) and o.__module__.startswith("backprop_lab.exercises.nb")
               and (o.__name__ in ("expected", "compare", "suspects", "cases", "reference", "RefValue", "locals_")
                    or o.__qualname__.startswith(("reference.", "RefValue.", "_reference")))
               or isinstance(o, types.FunctionType) and (o.__module__ or "").startswith("backprop_lab.references")})
print("LEFT", left)
import backprop_lab.references.nb02 as reference
from backprop_lab.exercises.hidden.nb02 import anything
import backprop_lab.exercises.nb05 as nb05
print("STUBS", repr(reference.mul), repr(anything), repr(nb05.OPERATIONS))
try:
    framework.get("02.2").expected(case)
except worker_checks.NotAvailableWhileGrading as exc:
    print("REFUSED", str(exc)[:40])
from backprop_lab.exercises.nb06 import mystery_graph
print("PROVIDED", type(mystery_graph()[0]).__name__)
class V:
    def __init__(self, data, children=(), op=""):
        self.data, self.grad, self._prev, self._op = data, 0.0, children, op
def mul(a, b):
    out = V(a.data * b.data, (a, b), "*")
    def _backward():
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad
    out._backward = _backward
    return out
print("RUN", exs[0].run(mul, case))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    out = done.stdout
    assert "LEFT []" in out, done.stdout + done.stderr
    assert out.count("not available while grading") == 3 and "REFUSED" in out, out
    assert "PROVIDED Tensor" in out and "RUN {'data'" in out, out + done.stderr


def test_private_tests_reach_the_worker_as_run_only(monkeypatch, tmp_path):
    """The job a worker gets holds a private test's run (and the methods it calls) and imports: never its
    cases, expected or compare; a run that needs a file-level helper is refused when the tests load."""
    import json

    from backprop_lab.grading import grader, sandbox, submissions

    sys.path.insert(0, os.path.dirname(__file__))
    from grading_fixtures import notebooks as N

    jobs = []
    real = sandbox.Worker.__init__

    def record(self, job, *args, **kwargs):
        jobs.append(json.dumps(job))
        real(self, job, *args, **kwargs)

    monkeypatch.setattr(sandbox.Worker, "__init__", record)
    settings = grader.prepare(grader.Settings(timeout=10, notebook_timeout=60, tests_dir=PRIVATE, course={
        N.NAME: submissions.released_from_notebook(N.NAME, N.released())}))
    res = grader.grade_notebook("s", N.NAME, N.NAME, N.dumps(N.solved()).encode(), settings)
    assert [x["status"] for x in res["exercises"]] == ["pass"] * 3, res
    text = open(os.path.join(PRIVATE, "exercises_fixture.py")).read()
    assert jobs and "def run(self, obj, case)" in jobs[0]
    for secret in ("def expected", "def cases", "def compare", "rng.normal", "outside [0.01, 0.5]"):
        assert secret in text and secret not in jobs[0], secret
    (tmp_path / "bad.py").write_text("from backprop_lab.exercises import Exercise\n\ndef helper(x):\n    return x\n\n"
                                     "class Bad(Exercise):\n    id, target = '97.1', 'f'\n\n"
                                     "    def run(self, obj, case):\n        return helper(obj(case['x']))\n")
    with pytest.raises(ValueError, match="Bad.run uses helper"):
        grader.prepare(grader.Settings(tests_dir=str(tmp_path)))


def test_a_check_that_runs_reference_code_is_graded_in_a_worker_of_its_own():
    """09.4 runs the learner's training loop with the course's backward pass and layers, the solutions of 09.1
    and 09.2: its worker holds those (cut down to what its run names) but never 09.4's own solution, and the
    worker that grades 09.1-09.3 holds no reference code at all (fresh processes, as the grader's workers)."""
    import subprocess

    from backprop_lab.exercises import framework, catalog
    from backprop_lab.grading import worker_checks

    late = {xid for xid in catalog.load() if worker_checks.references_of(framework.get(xid))}
    assert late == {"09.4"}
    code = r"""
import gc, sys, types
from backprop_lab.exercises import framework
from backprop_lab.grading import worker_checks
exs = [framework.get(x) for x in sys.argv[1].split(",")]
worker_checks.load(exs)
worker_checks.seal(exs)
print(sorted({o.__qualname__ for o in gc.get_objects() if isinstance(o, (types.FunctionType, type))
              and (getattr(o, "__module__", None) or "") == "backprop_lab.references.nb09"}))
"""
    ids = sorted(x for x in catalog.load() if x.startswith("09."))
    early = subprocess.run([sys.executable, "-c", code, ",".join(x for x in ids if x not in late)],
                           capture_output=True, text=True, timeout=120)
    assert early.stdout.strip() == "[]", early.stdout + early.stderr
    own = subprocess.run([sys.executable, "-c", code, "09.4"], capture_output=True, text=True, timeout=120)
    kept = own.stdout
    assert "'backward'" in kept and "'Linear'" in kept and "'Net'" in kept, kept + own.stderr
    assert "'train'" not in kept and "'init_weights'" not in kept, kept


def test_a_grading_worker_draws_no_figures():
    """No one looks at a figure while grading: savefig writes nothing, tight_layout measures no text."""
    import subprocess

    code = ("import io, matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt\n"
            "from backprop_lab.grading import worker\n"
            "b = io.BytesIO(); plt.figure().savefig(b, format='png'); drawn = len(b.getvalue())\n"
            "worker._no_pictures()\n"
            "b = io.BytesIO(); f = plt.figure(); f.tight_layout(); f.savefig(b, format='png')\n"
            "print(drawn > 0, len(b.getvalue()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["True", "0"]


def test_the_seed_secret_is_private_and_stable(tmp_path):
    """The secret that seeds each student's cases is written with mode 0600 (atomically, never readable by
    others in between) and read back on a re-run."""
    import stat

    from backprop_lab.grading import _secret

    value = _secret(str(tmp_path))
    assert stat.S_IMODE(os.stat(tmp_path / ".secret").st_mode) == 0o600
    assert _secret(str(tmp_path)) == value and len(value) == 32
