"""Grading on a Dask cluster: ``backprop-lab grade ... --scheduler tcp://host:8786`` or ``--dask local:N``.

    pip install "backprop-lab[distributed]"

The ``grade`` process is Dask's client and does everything it does in a local run: it finds the
submissions, reuses saved results, saves each result the moment it arrives (``RESULTS/.partial/``: an
interrupted run loses nothing it received, and running again resumes) and writes the gradebook and
feedback at the end, with the same code, so the files are those of a local run. What moves to the
cluster is the grading of one notebook: one Dask task each (``grade_task``), which a Dask worker runs
as the local grader does (``grader.grade_notebook``: cases from the grader's seed, a sandboxed
worker process forked from the warm pool, judging), with the sandbox of its own machine:

* the jail level ``--jail`` asks for: "auto" uses the strongest that works on that machine; "root" or
  "user" demand it, and a worker that cannot have it grades nothing (the notebook is a grader error
  that says why), so nothing is graded unconfined behind the instructor's back;
* as root, a cgroup per Dask thread (memory, processes, one CPU's worth of time), as in a local run;
* the hidden paths of that machine (``sandbox.hidden_paths``), the Dask worker's own folder, and the paths
  the grading machine hides (the submissions, results and ``--tests`` folders, and the ``solutions/``
  and ``.git`` beside the course): on a worker that is the grading machine (``--dask local:N``) or shares
  its file system, they are the same files.

Each result says which machine graded it and with which sandbox (``result["sandbox"]``); the summary
lists every machine whose sandbox was weaker than asked.

A task has no side effect and its result is plain data, so a Dask worker that dies mid-task costs no
result: the scheduler runs the task again on another worker. A Dask worker whose ``backprop_lab``
differs from the client's (``package_digest``: other checks or references grade differently) grades
nothing and says so. Whoever can reach the scheduler can run code on the workers (that is what Dask
is for): keep it on a private network, or use Dask's TLS.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import os
import socket
import threading
import traceback
import uuid

PLUGIN = "backprop-lab-grading"
CONNECT_TIMEOUT = "30s"
INSTALL = 'pip install "backprop-lab[distributed]"'


def dask():
    """The ``distributed`` module, or ``ClusterUnavailable`` saying how to install it."""
    try:
        import distributed
    except ImportError as exc:
        from . import ClusterUnavailable

        raise ClusterUnavailable(f"grading on a Dask cluster needs Dask's distributed scheduler, which is not "
                                 f"installed here ({exc}): {INSTALL}") from None
    return distributed


def local_workers(spec: str) -> int:
    """N of ``local:N`` (``ValueError`` naming the form otherwise)."""
    head, _, count = spec.partition(":")
    if head != "local" or not count.isdigit() or int(count) < 1:
        raise ValueError(f"--dask {spec!r}: give local:N, with N the number of Dask worker processes to start on "
                         "this machine (local:2); for a cluster of your own, give --scheduler tcp://HOST:8786")
    return int(count)


@functools.lru_cache(maxsize=None)
def package_digest() -> str:
    """A digest of this ``backprop_lab`` (its code, checks, references and catalog): equal on client and workers
    when they grade alike."""
    from .sandbox import PACKAGE_DIR

    h = hashlib.sha256()
    for root, dirs, files in os.walk(PACKAGE_DIR):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(f for f in files if f.endswith((".py", ".ipynb"))):
            path = os.path.join(root, name)
            h.update(os.path.relpath(path, PACKAGE_DIR).encode() + b"\0")
            with open(path, "rb") as f:
                h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("backprop-lab")
    except Exception:  # noqa: BLE001 - a checkout that is not installed
        return "unknown"


# ----------------------------------------------------------------------------- the client

class Engine:
    """Grading on a Dask cluster, as ``grade`` drives it (the same interface as ``grading.Local``)."""

    def __init__(self, cluster: str, settings, *, jail, warm: bool, course_dir: str | None):
        from . import ClusterUnavailable, pool

        dd = dask()
        self.settings = settings
        self.requested = "off" if jail in (False, "off") else (jail or "auto")
        self.attention: list[str] = []
        self.level, self.jail_text, self.cgroups, self.workers = "unknown", "", None, ""
        self._cluster = None
        address = cluster
        if not cluster.startswith(("tcp://", "tls://", "ucx://", "inproc://", "ws://", "wss://")):
            n = local_workers(cluster)
            self._cluster = dd.LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                            dashboard_address=":0", silence_logs=logging.ERROR)
            address = self._cluster.scheduler_address
        try:
            self.client = dd.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            self._close_cluster()
            raise ClusterUnavailable(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        self.address = address
        self.client.register_plugin(Plugin(), name=PLUGIN)
        self.run_id = uuid.uuid4().hex[:12]
        self.payload = {"run": self.run_id, "digest": package_digest(), "version": _version(),
                        "jail": self.requested, "warm": warm, "preload": pool.course_imports(course_dir),
                        "settings": {k: getattr(settings, k) for k in PAYLOAD_SETTINGS},
                        "hide": list(settings.hide or [])}

    def results(self, items: list):
        """``(result, fingerprint)`` of every item, as the tasks finish (a failed task: a grader error)."""
        from . import grader_error

        dd = dask()
        if not items:
            return
        payload = self.client.submit(_same, self.payload, key=f"backprop-lab-settings-{self.run_id}", pure=False)
        futures, of = [], {}
        for i, item in enumerate(items):
            fut = self.client.submit(grade_task, payload, item, key=f"backprop-lab-grade-{self.run_id}-{i}",
                                     pure=False)
            futures.append(fut)
            of[fut.key] = item
        done = set()
        try:
            for fut in dd.as_completed(futures, loop=self.client.loop):
                item = of[fut.key]
                try:
                    res, fp = fut.result()
                except Exception as exc:  # noqa: BLE001 - the task itself never raises: Dask gave up on it
                    res, fp = grader_error(item[0], item[1], self.settings, f"the Dask task failed: "
                                                                             f"{type(exc).__name__}: {exc}"), item[3]
                    res["grader_log"] = (f"Dask task of {item[0]} / {item[1]} failed\n"
                                         + "".join(traceback.format_exception(exc)))
                done.add(fut.key)
                fut.release()
                yield res, fp
        finally:
            left = [f for f in futures if f.key not in done]
            if left:
                self.client.cancel(left)
            payload.release()

    def finish(self, results: list) -> list[str]:
        """The sandbox of every machine that graded, in words; what was weaker than asked."""
        from . import JAIL_WORDS

        seen: dict[tuple, int] = {}
        for r in results:
            sb = r.get("sandbox")
            if isinstance(sb, dict) and sb.get("jail") in JAIL_WORDS:
                key = (sb.get("host", "?"), sb["jail"], bool(sb.get("cgroups")), sb.get("why", ""),
                       sb.get("workers", ""))
                seen[key] = seen.get(key, 0) + 1
        levels = sorted({k[1] for k in seen})
        self.level = levels[0] if len(levels) == 1 else ("mixed: " + ", ".join(levels) if levels else "unknown")
        self.cgroups = all(k[2] for k in seen) if seen and levels == ["root"] else False
        self.jail_text = "; ".join(f"{host}: {JAIL_WORDS[level]} ({n} notebooks)" for (host, level, _, _, _), n
                                   in sorted(seen.items())) or "no notebook was graded on the cluster in this run"
        self.workers = f"Dask scheduler {self.address}; " + "; ".join(sorted({f"{k[0]}: {k[4]}" for k in seen}))
        out = []
        for (host, level, groups, why, _), n in sorted(seen.items()):
            if level == "off" and self.requested != "off":
                out.append(f"{n} notebooks were graded unconfined on {host} (the sandbox could not be used there: "
                           f"{why})")
            elif level == "root" and not groups:
                out.append(f"{n} notebooks were graded on {host} without a cgroup ({why}): memory is limited per "
                           "process there, and CPU not at all")
        return out

    def close(self) -> None:
        try:
            self.client.run(release, self.run_id)
        except Exception:  # noqa: BLE001 - workers that are gone have nothing to release
            pass
        self.client.close()
        self._close_cluster()

    def _close_cluster(self) -> None:
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


PAYLOAD_SETTINGS = ("timeout", "notebook_timeout", "grace", "startup", "memory_mb", "disk_mb", "course", "secret",
                    "private_sources", "max_answer_bytes")


def _same(x):
    """The run's settings as a task result: Dask computes it again if the worker that held it dies."""
    return x


# ----------------------------------------------------------------------------- on a Dask worker

class _Run:
    """What a Dask worker keeps for one grading run: settings, sandbox level, cgroups, launcher, free slots."""

    def __init__(self, payload: dict):
        from . import cgroups, grader, jail_text, pool, sandbox

        from distributed import get_worker

        worker = get_worker()
        self.host = socket.gethostname()
        self.sources = payload["settings"]["private_sources"]
        self.refusal = ""
        self.groups = None
        if payload["digest"] != package_digest():
            self.refusal = (f"the Dask worker {worker.address} on {self.host} has another backprop_lab "
                            f"({_version()}) than the grader ({payload['version']}): other checks grade otherwise. "
                            "Install the same version of the package on every worker")
        level, why = sandbox.jail_level(payload["jail"])
        if payload["jail"] in ("root", "user") and level != payload["jail"]:
            self.refusal = self.refusal or f"--jail {payload['jail']} cannot be used on {self.host}: {why}"
        nthreads = getattr(worker, "nthreads", None) or worker.state.nthreads
        launcher = pool.launcher(payload["preload"], warm=payload["warm"])
        if level == "root" and not self.refusal:
            try:
                self.groups = cgroups.Groups(payload["settings"]["memory_mb"], slots=nthreads,
                                             companions=pool.pids())
            except OSError as exc:
                why = f"no cgroup: {exc}"
        settings = grader.Settings(**payload["settings"], jail=level, groups=self.groups, launcher=launcher,
                                   hide=list(dict.fromkeys([*payload.get("hide", []), *sandbox.hidden_paths(),
                                                            worker.local_directory])))
        self.settings = grader.prepare(settings)
        self.slots = [str(i) for i in range(nthreads)]
        self.lock = threading.Lock()
        self.about = {"host": self.host, "worker": worker.address, "jail": level, "why": why,
                      "cgroups": self.groups is not None, "workers": launcher.describe(),
                      "text": jail_text(level, why, payload["jail"])}

    def take(self) -> str:
        with self.lock:
            return self.slots.pop() if self.slots else f"extra-{threading.get_ident()}"

    def give(self, slot: str) -> None:
        with self.lock:
            self.slots.append(slot)

    def release(self) -> None:
        if self.groups is not None:
            self.groups.remove()
            self.groups = None


_RUNS: dict[str, _Run] = {}
_RUNS_LOCK = threading.Lock()


def _run_of(payload: dict) -> _Run:
    with _RUNS_LOCK:
        run = _RUNS.get(payload["run"])
        if run is None:
            if any(r.sources != payload["settings"]["private_sources"] for r in _RUNS.values()):
                raise RuntimeError("another grading run with other private tests (--tests) is using this Dask worker "
                                   "now: grade one class at a time on a cluster, or give each its own workers")
            run = _RUNS[payload["run"]] = _Run(payload)
        return run


def grade_task(payload: dict, item: tuple) -> tuple[dict, str]:
    """One Dask task: grade one (student, notebook) as a local run would; never raises."""
    from . import _grade_one, grader, grader_error

    student, nb, _, fp = item
    try:
        run = _run_of(payload)
    except Exception as exc:  # noqa: BLE001 - this worker cannot grade: the notebook says why
        res = grader_error(student, nb, grader.Settings(course=payload["settings"]["course"]), exc)
        res["grader_log"] = f"Dask worker on {socket.gethostname()}: {student} / {nb}\n{traceback.format_exc()}"
        return res, fp
    if run.refusal:
        res = grader_error(student, nb, run.settings, run.refusal)
        res["grader_log"] = f"{student} / {nb} not graded on {run.host}: {run.refusal}"
    else:
        slot = run.take()
        try:
            res, fp = _grade_one(item, run.settings, slot)
        finally:
            run.give(slot)
    res["sandbox"] = dict(run.about)
    return res, fp


def release(run_id: str) -> None:
    """At the end of a run, on every worker: remove the run's cgroups, forget its settings (``client.run``)."""
    with _RUNS_LOCK:
        run = _RUNS.pop(run_id, None)
    if run is not None:
        run.release()


try:
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPlugin
except ImportError:         # no Dask here: the module still imports (``dask()`` says what to install)
    _WorkerPlugin = object


class Plugin(_WorkerPlugin):
    """Registered by the client on every worker: when the worker closes, its runs' cgroups are removed and its
    warm servers closed (their workers killed)."""

    name = PLUGIN

    def teardown(self, worker) -> None:
        from . import pool

        with _RUNS_LOCK:
            runs = list(_RUNS.values())
            _RUNS.clear()
        for run in runs:
            run.release()
        pool.close_all()
