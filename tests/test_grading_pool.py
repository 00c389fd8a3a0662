"""The warm pool (``backprop_lab.grading.pool``): forked workers start as clean as fresh ones, and no
process outlives the grader.

Every other grading test (faults, sandbox, red team, the course's notebooks) already runs through the
pool, which is how ``sandbox.Worker`` starts workers by default; the tests here are about what
forking could add: state carried from one student to the next, file descriptors, environment, a
server that dies, a grader that dies. The fresh path (``pool.Spawn``: a new Python per notebook,
used where forking is not) is the control.
"""
from __future__ import annotations

import csv
import os
import secrets
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from backprop_lab.grading import grade, pool, sandbox

sys.path.insert(0, os.path.dirname(__file__))
from grading_fixtures import notebooks as N  # noqa: E402
from grading_fixtures.worker_probe import levels, run_cells  # noqa: E402

LEVELS = ["off"] + levels()
PRIVATE = os.path.join(os.path.dirname(__file__), "grading_fixtures", "private_tests")
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the warm pool forks on Linux only")

START = """import os, sys
import numpy as np
probe = {"fds": sorted(os.listdir("/proc/self/fd")), "argv0": os.path.basename(sys.argv[0]), "argv1": sys.argv[1],
         "cwd": os.getcwd(), "path0": sys.path[0], "env": dict(os.environ), "np": float(np.random.random_sample()),
         "main": type(sys.modules["__main__"]).__name__}
"""


@pytest.mark.parametrize("level", LEVELS)
def test_a_forked_worker_starts_as_a_fresh_one_does(level):
    """Same file descriptors, argv, cwd, sys.path[0] and environment (with its own folder in it) as a fresh
    worker; NumPy's global random state is not shared by two forked workers."""
    warm = [run_cells([START], jail=level) for _ in range(2)]
    fresh = run_cells([START], jail=level, launcher=pool.Spawn())
    seen = []
    for r in warm + [fresh]:
        p = r["probe"]
        assert isinstance(p, dict), r
        here = p["cwd"]
        assert os.path.basename(here) == os.path.basename(r["workdir"]) and p["path0"] == here, p
        assert p["argv0"] == "worker.py" and p["argv1"].isdigit() and p["argv1"] in p["fds"], p
        env = {k: v.replace(here, "WORKDIR") for k, v in p["env"].items()}
        assert env["HOME"] == env["TMPDIR"] == "WORKDIR" and env["MPLCONFIGDIR"] == "WORKDIR/.matplotlib", env
        fds = sorted("result" if fd == p["argv1"] else fd for fd in p["fds"])     # its number varies
        seen.append((fds, env, p["main"]))
    assert seen[0] == seen[1] == seen[2], seen
    assert warm[0]["probe"]["np"] != warm[1]["probe"]["np"]


SCAN = """import ctypes, re
libc = ctypes.CDLL(None)
libc.memmem.restype = ctypes.c_void_p
libc.memmem.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t]
needle = bytearray.fromhex({hex!r})
buf = (ctypes.c_char * len(needle)).from_buffer(needle)
mine = ctypes.addressof(buf)
found = 0
for line in open("/proc/self/maps").read().splitlines():
    fields = line.split()
    if "r" not in fields[1] or (len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]", "[vvar_vclock]")):
        continue
    lo, hi = (int(x, 16) for x in fields[0].split("-"))
    at = lo
    while at < hi:
        hit = libc.memmem(at, hi - at, mine, len(needle))
        if not hit:
            break
        found += hit != mine
        at = hit + 1
probe = found
"""


@pytest.mark.parametrize("level", LEVELS)
def test_no_worker_holds_another_students_notebook(level):
    """A worker scans every readable byte of its own memory for a text that the previous student's notebook
    held: not there (the server never sees a job; each child reads its own). The same scan finds the text
    in the worker of the student whose notebook holds it."""
    secret = "pool-secret-" + secrets.token_hex(12)
    scan = SCAN.format(hex=secret.encode().hex())
    own = run_cells([f"kept = {secret!r}\n", scan], jail=level)
    assert isinstance(own["probe"], int) and own["probe"] >= 1, own
    after = run_cells([scan], jail=level)
    assert after["probe"] == 0, after


def test_a_server_killed_from_outside_is_started_again():
    server = pool.Server()
    try:
        first = run_cells(["probe = 41 + 1"], jail="off", launcher=server)
        old = server.pid
        os.kill(old, signal.SIGKILL)
        time.sleep(0.2)
        again = run_cells(["probe = 43"], jail="off", launcher=server)
        assert (first["probe"], again["probe"]) == (42, 43)
        assert server.pid not in (None, old)
    finally:
        server.close()


DIES = """
import os, sys, tempfile, time
sys.path.insert(0, {tests!r})
from grading_fixtures.worker_probe import job_for
from backprop_lab.grading import pool, sandbox
server = pool.Server()
w = sandbox.Worker(job_for(["import time\\ntime.sleep(600)\\nprobe = 1"], jail={level!r}), tempfile.mkdtemp(), None, server)
while True:
    ev = w.next_event(time.monotonic() + 60, 1 << 20)
    if isinstance(ev, str) or ev["ev"] == "cell" and ev["phase"] == "start":
        break
print(server.pid, w.proc.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("level", LEVELS[-1:])
def test_a_grader_that_dies_leaves_no_process_behind(level):
    """The grader is killed (SIGKILL: nothing of it runs any more) while a worker sleeps in a cell: the
    server sees its socket close, kills the worker and exits."""
    code = DIES.format(tests=os.path.dirname(__file__), level=level)
    grader = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        server_pid, worker_pid = map(int, grader.stdout.readline().split())
        assert _alive(server_pid) and _alive(worker_pid)
    finally:
        grader.kill()
        grader.wait()
    deadline = time.monotonic() + 20
    while (_alive(server_pid) or _alive(worker_pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(server_pid) and not _alive(worker_pid)


def _alive(pid: int) -> bool:
    fields = sandbox._stat_fields(str(pid))
    return bool(fields) and fields[0] not in (b"Z", b"X")


def test_warm_and_fresh_workers_give_the_same_grades(tmp_path):
    """The fixture class (a right, a wrong, a crashing and a blank notebook) graded by each launcher."""
    course = tmp_path / "course"
    course.mkdir()
    (course / N.NAME).write_text(N.dumps(N.released()))
    students = {"right": N.solved(), "blank": N.released(),
                "wrong": N.solved({"90.1": "def square(x):\n    return x * 2\n"}),
                "crash": N.solved({"90.2": "import os\ndef mul_backward(a, b, g):\n    os._exit(3)\n"})}
    for name, nb in students.items():
        (tmp_path / "subs" / name).mkdir(parents=True)
        (tmp_path / "subs" / name / N.NAME).write_text(N.dumps(nb))
    rows = {}
    for warm in (True, False):
        out = tmp_path / f"out-{warm}"
        summary = grade(str(tmp_path / "subs"), str(out), jobs=2, timeout=10, course_dir=str(course),
                        tests_dir=PRIVATE, progress=False, warm=warm)
        assert summary["workers"].startswith("forked" if warm else "a fresh"), summary["workers"]
        rows[warm] = [(r["student"], r["exercise"], r["points"], r["status"], r["message"])
                      for r in csv.DictReader(open(out / "grades.csv")) if r["exercise"] != "(notebook)"]
    assert rows[True] == rows[False]
    assert {(s, st) for s, _, _, st, _ in rows[True]} >= {("right", "pass"), ("wrong", "fail"), ("crash", "crash"),
                                                          ("blank", "todo")}, rows[True]


def test_the_server_imports_no_check_module_and_no_reference():
    """What the server preloads comes from the course's imports, minus the checks and the references, which
    only a worker imports (and cuts down) for itself."""
    course = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "course")
    names = pool.course_imports(course)
    assert "matplotlib.pyplot" in names and "backprop_lab" in names
    assert not [n for n in names if n.startswith(pool.NEVER)]
    server = pool.Server(names + ["backprop_lab.references.nb01", "backprop_lab.exercises.nb01"])
    try:
        assert not [n for n in server.preload if n.startswith(pool.NEVER)]
        r = run_cells([textwrap.dedent("""
            import sys
            probe = sorted(n for n, m in list(sys.modules.items()) if getattr(m, "__file__", None)
                           and n.startswith(("backprop_lab.exercises.nb", "backprop_lab.references")))
            """)], jail="off", launcher=server)
        assert r["probe"] == [], r          # the probe grades no course exercise: no check module (but stubs)
    finally:
        server.close()


def test_a_server_that_loaded_a_check_or_a_reference_is_refused(monkeypatch):
    """If a course module pulled in a check or reference module when imported, every forked worker would inherit
    it: the server says which (``_answers_loaded``) and the grader does not use it (fresh workers instead)."""
    code = ("import backprop_lab.references.nb01\nfrom backprop_lab.grading import pool\n"
            "print(pool._answers_loaded())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert "backprop_lab.references.nb01" in out.stdout
    real = pool.Server._reply

    def reply(self):
        answer = real(self)
        if "ready" in answer:
            answer["answers"] = ["backprop_lab.references.nb01"]
        return answer

    monkeypatch.setattr(pool.Server, "_reply", reply)
    with pytest.raises(pool.PoolError, match="would inherit the checks or the reference solutions"):
        pool.Server(["numpy"])
