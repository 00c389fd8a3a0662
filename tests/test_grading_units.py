"""Units of the grader: the safe wire format, the delegation check, the notebook reader, kills, the jail fallback."""
import os

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
    import os
    import time

    from backprop_lab.grading import sandbox

    cell = ("import os, time\npid = os.fork()\nif pid == 0:\n    time.sleep(60)\n    os._exit(0)\n"
            "open('child.pid', 'w').write(str(pid))\n")
    job = {"cells": [{"index": 0, "source": cell}], "exercises": [], "modules": [], "cell_timeout": 30,
           "exercise_timeout": 30, "max_message": 1 << 20, "limits": {"memory_mb": 0, "jail": False, "hide": []}}
    w = sandbox.Worker(job, str(tmp_path), "unit")
    events = []
    while not events or events[-1] in ("eof", "timeout") or events[-1].get("ev") != "done":
        events.append(w.next_event(time.monotonic() + 60, 1 << 20))
        assert events[-1] not in ("eof", "timeout"), events
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


def test_a_jail_that_cannot_start_is_switched_off_once(monkeypatch, capsys):
    """The jail is not probed in advance: the first jailed worker that dies before it is ready triggers
    one probe; when that fails too, the run goes on without the jail and the notebook is graded."""
    import subprocess
    import sys

    sys.path.insert(0, os.path.dirname(__file__))
    from grading_fixtures import notebooks as N

    from backprop_lab.grading import grader, sandbox, submissions

    real = subprocess.Popen
    started = []

    def popen(cmd, *a, **k):
        started.append(cmd[0])
        return real(["false"] if cmd[0] == "unshare" else cmd, *a, **k)

    monkeypatch.setattr(sandbox.subprocess, "Popen", popen)
    settings = grader.prepare(grader.Settings(timeout=10, notebook_timeout=60, memory_mb=0, tests_dir=PRIVATE,
                                              course={N.NAME: submissions.released_from_notebook(N.NAME, N.released())}))
    settings.jail = True
    res = grader.grade_notebook("s", N.NAME, N.NAME, N.dumps(N.solved()).encode(), settings)
    assert [x["status"] for x in res["exercises"]] == ["pass"] * 3, res
    assert settings.jail is False and settings.jail_checked
    assert started == ["unshare", "unshare", sys.executable]    # the notebook, the probe, then unjailed
    assert "could not start here" in capsys.readouterr().err
    assert not any("grading process" in n for n in res["notes"]), res["notes"]
