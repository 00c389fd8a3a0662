"""Grading on a Dask cluster (``--scheduler`` / ``--dask local:N``): a real scheduler and two worker
processes on 127.0.0.1, started with ``dask scheduler`` / ``dask worker`` as an instructor would.

The same class graded locally and on the cluster gives the same grades and gradebook; a worker killed
while it grades loses no result; an interrupted run keeps what it received and resumes; a worker
with another ``backprop_lab`` grades nothing and says so; no Dask (or no scheduler) is a clear message,
and a local run does not need Dask at all. The scheduler picks a free port and writes its address to a
file; every wait is bounded; the processes are killed whatever happens.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest

from backprop_lab.grading import grade

sys.path.insert(0, os.path.dirname(__file__))
from grading_fixtures import notebooks as N  # noqa: E402

distributed = pytest.importorskip("distributed", reason="Dask is not installed: pip install \"backprop-lab[distributed]\"")
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the grader's workers need Linux here")

PRIVATE = os.path.join(os.path.dirname(__file__), "grading_fixtures", "private_tests")
WAIT = 90       # seconds: the longest any step here may take on a busy machine


def _dask(*args, log):
    return subprocess.Popen([sys.executable, "-m", "dask", *map(str, args)], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two single-thread workers (no nanny: a worker is one process, as a crash would leave it)."""
    root = tmp_path_factory.mktemp("dask")
    info = root / "scheduler.json"
    log = open(root / "dask.log", "ab")
    procs: dict[str, subprocess.Popen] = {}

    def add_worker(name):
        procs[name] = _dask("worker", "--scheduler-file", info, "--host", "127.0.0.1", "--nthreads", 1, "--no-nanny",
                            "--no-dashboard", "--name", name, "--local-directory", root / name, log=log)

    try:
        procs["scheduler"] = _dask("scheduler", "--host", "127.0.0.1", "--port", 0, "--no-dashboard",
                                   "--scheduler-file", info, log=log)
        deadline = time.monotonic() + WAIT
        while not info.exists() and procs["scheduler"].poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert info.exists(), (root / "dask.log").read_text()[-3000:]
        address = json.loads(info.read_text())["address"]
        add_worker("w1")
        add_worker("w2")
        client = distributed.Client(address, timeout=f"{WAIT}s", set_as_default=False)
        client.wait_for_workers(2, timeout=WAIT)
        yield SimpleNamespace(address=address, client=client, procs=procs, add_worker=add_worker, root=root)
        client.close()
    finally:
        for p in procs.values():
            with contextlib.suppress(OSError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        log.close()


_class = N.write_class
_cli = N.run_cli


def _grades(out):
    """grades.csv and gradebook.csv without the seconds (which differ from run to run)."""
    rows = [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(open(os.path.join(out, "grades.csv")))]
    return rows, open(os.path.join(out, "gradebook.csv")).read()


VARIED = {"right": N.solved(), "blank": N.released(),
          "wrong": N.solved({"90.1": "def square(x):\n    return x * 2\n"}),
          "crash": N.solved({"90.2": "import os\ndef mul_backward(a, b, g):\n    os._exit(3)\n"})}


def test_same_grades_as_a_local_run_and_a_rerun_reuses_everything(cluster, tmp_path):
    subs, course = _class(tmp_path, VARIED)
    common = ["grade", subs, "--course", course, "--tests", PRIVATE, "--timeout", "10"]
    code_local, _, _ = _cli(common + ["--out", str(tmp_path / "local"), "-j", "2"])
    code, out, err = _cli(common + ["--out", str(tmp_path / "dask"), "--scheduler", cluster.address])
    assert code == code_local == 0, err
    assert f"on the Dask cluster {cluster.address}" in out
    assert _grades(tmp_path / "dask") == _grades(tmp_path / "local")
    results = json.load(open(tmp_path / "dask" / "results.json"))
    hosts = {r["sandbox"]["worker"] for r in results["results"] if r["status"] != "not-submitted"}
    assert hosts and hosts <= set(cluster.client.scheduler_info()["workers"]), hosts
    local = json.load(open(tmp_path / "local" / "results.json"))
    # every notebook was graded in the sandbox a local run uses here (the same jail, applied on the worker)
    assert {r["sandbox"]["jail"] for r in results["results"]} == {local["jail"]} and results["jail"] == local["jail"]
    code, out, _ = _cli(common + ["--out", str(tmp_path / "dask"), "--scheduler", cluster.address])
    assert code == 0 and f"({len(VARIED)} reused from an earlier run)" in out, out


def test_a_worker_killed_mid_run_loses_no_result(cluster, tmp_path):
    """Each notebook sleeps 1.5 s in a cell; once the first result is saved, the worker that is grading one is
    killed (SIGKILL). The scheduler runs its task again on the other worker: every notebook is graded."""
    slow = N.solved()
    slow.cells.insert(1, N.nbformat.v4.new_code_cell("import time\ntime.sleep(1.5)"))
    subs, course = _class(tmp_path, {f"s{i}": slow for i in range(6)})
    out = tmp_path / "out"
    box: dict = {}
    run = threading.Thread(target=lambda: box.update(summary=grade(
        subs, str(out), course_dir=course, tests_dir=PRIVATE, timeout=20, progress=False, cluster=cluster.address)))
    run.start()
    killed = None
    deadline = time.monotonic() + WAIT
    while killed is None and run.is_alive() and time.monotonic() < deadline:
        if (out / ".partial").exists() and any((out / ".partial").rglob("*.json")):
            busy = {a: keys for a, keys in cluster.client.processing().items() if keys}
            names = {a: w["name"] for a, w in cluster.client.scheduler_info()["workers"].items()}
            victim = next((names[a] for a in busy if names.get(a) in cluster.procs), None)
            if victim:
                cluster.procs[victim].send_signal(signal.SIGKILL)
                killed = victim
        time.sleep(0.05)
    run.join(WAIT)
    try:
        assert killed, "no worker was busy after the first result: nothing was killed mid-run"
        assert not run.is_alive(), "grading did not finish after a worker was killed"
        summary = box["summary"]
        rows = list(csv.DictReader(open(out / "grades.csv")))
        got = {(r["student"], r["exercise"]): r["status"] for r in rows if r["exercise"] != "(notebook)"}
        assert got == {(f"s{i}", x): "pass" for i in range(6) for x in N.MAX_POINTS}, got
        assert summary["notebooks"] == 6 and not any("grader" in a for a in summary["attention"]), summary["attention"]
    finally:
        cluster.procs[killed or "w-none"].wait() if killed else None
        cluster.add_worker(f"{killed}-again" if killed else "w-spare")
        cluster.client.wait_for_workers(2, timeout=WAIT)


def test_an_interrupted_run_keeps_what_it_received_and_resumes(cluster, tmp_path, monkeypatch):
    import backprop_lab.grading as grading

    subs, course = _class(tmp_path, {f"s{i}": N.solved() for i in range(4)})
    real, saved = grading._save_partial, []

    def save_then_interrupt(out, result, fp):
        real(out, result, fp)
        saved.append(result["student"])
        if len(saved) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(grading, "_save_partial", save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        grade(subs, str(tmp_path / "out"), course_dir=course, tests_dir=PRIVATE, progress=False,
              cluster=cluster.address)
    monkeypatch.setattr(grading, "_save_partial", real)
    summary = grade(subs, str(tmp_path / "out"), course_dir=course, tests_dir=PRIVATE, progress=False,
                    cluster=cluster.address)
    assert summary["reused"] == 2 and summary["notebooks"] == 4
    rows = list(csv.DictReader(open(tmp_path / "out" / "grades.csv")))
    assert {r["status"] for r in rows if r["exercise"] != "(notebook)"} == {"pass"}


def test_a_worker_with_another_backprop_lab_grades_nothing(cluster):
    from backprop_lab.grading import distributed as dist, grader, submissions

    settings = grader.prepare(grader.Settings(course={N.NAME: submissions.released_from_notebook(N.NAME, N.released())},
                                              tests_dir=PRIVATE))
    payload = {"run": "other-package", "digest": "not this one", "version": "0.0.0", "jail": "auto", "warm": True,
               "preload": [], "settings": {k: getattr(settings, k) for k in dist.PAYLOAD_SETTINGS}}
    item = ("s", N.NAME, [(N.NAME, N.dumps(N.solved()).encode())], "fp")
    res, fp = cluster.client.submit(dist.grade_task, payload, item, pure=False).result(timeout=WAIT)
    assert res["status"] == "grader-error" and fp == "fp"
    assert "another backprop_lab" in res["notes"][0] and "Install the same version" in res["notes"][0], res["notes"]
    assert {x["status"] for x in res["exercises"]} == {"grader-error"}


def test_dask_local_n_starts_its_own_cluster(tmp_path):
    subs, course = _class(tmp_path, {"right": N.solved(), "blank": N.released()})
    summary = grade(subs, str(tmp_path / "out"), course_dir=course, tests_dir=PRIVATE, progress=False,
                    cluster="local:1")
    statuses = {(r["student"], x["status"]) for r in summary["results"] for x in r["exercises"]}
    assert statuses == {("right", "pass"), ("blank", "todo")}, statuses
    assert summary["workers"].startswith("Dask scheduler tcp://127.0.0.1:")


def test_without_dask_the_message_says_what_to_install_and_local_grading_still_works(tmp_path, monkeypatch):
    subs, course = _class(tmp_path, {"right": N.solved()})
    monkeypatch.setitem(sys.modules, "distributed", None)       # `import distributed` now fails, as without Dask
    for where in (["--scheduler", "tcp://127.0.0.1:8786"], ["--dask", "local:2"]):
        code, _, err = _cli(["grade", subs, "--out", str(tmp_path / "out"), "--course", course, "--tests", PRIVATE,
                             *where])
        assert code == 2 and 'pip install "backprop-lab[distributed]"' in err, err
    code, _, err = _cli(["grade", subs, "--out", str(tmp_path / "out"), "--course", course, "--tests", PRIVATE])
    assert code == 0, err


def test_bad_cluster_arguments_are_clear(tmp_path, monkeypatch):
    from backprop_lab.grading import distributed as dist

    subs, course = _class(tmp_path, {"right": N.solved()})
    code, _, err = _cli(["grade", subs, "--out", str(tmp_path / "out"), "--course", course, "--dask", "four"])
    assert code == 2 and "give local:N" in err, err
    monkeypatch.setattr(dist, "CONNECT_TIMEOUT", "1s")
    with contextlib.closing(__import__("socket").socket()) as s:     # a port where no scheduler listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _, err = _cli(["grade", subs, "--out", str(tmp_path / "out"), "--course", course,
                         "--scheduler", f"tcp://127.0.0.1:{port}"])
    assert code == 2 and "cannot reach the Dask scheduler" in err, err




@pytest.mark.skipif(__import__("backprop_lab.grading.sandbox", fromlist=["x"]).jail_level()[0] == "off",
                    reason="only the jail hides files (README: what the sandbox guarantees where)")
def test_a_worker_hides_the_submissions_and_results_as_a_local_run_does(cluster):
    """The submissions and the results folder inside what the jail shows (here: inside the Python installation,
    sys.prefix): a local run hides them, and so does a Dask worker on the same machine (it hid only its own
    paths: another student's notebook could be read, and shown in the thief's feedback)."""
    import shutil
    import tempfile

    from test_grading_redteam import EXFILTRATE     # the red team's thief: raises what it read, for its feedback

    try:
        root = tempfile.mkdtemp(prefix="bl-redteam-", dir=sys.prefix)
    except OSError:
        pytest.skip("the Python installation is not writable here")
    try:
        from pathlib import Path

        root = Path(root)
        root.chmod(0o755)           # readable to the jail's uid, as a shared folder would be: only the jail hides it
        victim = root / "subs" / "victim" / N.NAME
        paths = [str(victim)]
        subs, course = _class(root, {"victim": N.solved(), "thief": N.solved({"90.1": EXFILTRATE.format(paths=paths)})})
        summary = grade(subs, str(root / "out"), course_dir=course, tests_dir=PRIVATE, progress=False,
                        cluster=cluster.address)
        thief = next(x for r in summary["results"] if r["student"] == "thief" for x in r["exercises"]
                     if x["id"] == "90.1")
        assert thief["status"] == "error", thief
        shown = json.dumps(thief)
        assert "Fixture notebook" not in shown and "FileNotFoundError" in shown, shown
    finally:
        shutil.rmtree(root, ignore_errors=True)
