"""How grading workers are started: forked from a warm server (the default on Linux), or as fresh Pythons.

A fresh worker (``Spawn``) is a new ``python -m backprop_lab.grading.worker``: it imports NumPy,
IPython, matplotlib and the package for every notebook, which costs more CPU than most notebooks'
cells. The warm pool (``Server``) pays that once per grading process: a fork server imports those
modules (``PRELOAD``, and every module the released notebooks import, ``course_imports``), draws one
throw-away figure so that matplotlib's fonts and text layout are loaded, freezes what it holds
(``gc.freeze``, so that forked workers do not copy its pages by collecting them), and then only
forks. Each child becomes a worker exactly as a fresh one would (``worker.main``): it reads its own
job from its own pipe, enters the jail, sets its limits and seals the checks, all after the fork.

What keeps the pool as isolated as fresh processes:

* the server never runs student code and never sees a job: the grader hands it only the two pipe
  ends of a new worker (``SCM_RIGHTS``), and the child reads the job itself, so no child holds
  another student's notebook, cases or results, and no child can learn anything from the server;
* it imports no check module and no reference solution (``CHECK_MODULES``): those are imported by
  the child, before its jail hides their files, and cut down by ``worker_checks.seal`` as before;
* the child starts clean: its own session, stdin the job pipe, stdout/stderr ``/dev/null``, no file
  descriptor but those and its result pipe, the worker's environment with its own folder as HOME,
  TMPDIR and cwd (``sandbox.workdir_env``), ``sys.argv`` and ``sys.path`` as a fresh worker has them,
  NumPy's global random state reseeded from the OS (Python's ``random`` reseeds itself after a fork);
* the server runs with the worker's environment (``sandbox.worker_env``), outside any jail, in its own
  session; when the grader's end of its socket closes (the run ended, or the grader died) it kills
  every worker it forked and exits; a child it forked stays a zombie until the grader has killed the
  child's process group and asks for its status (``reap``), so the group id is never reused meanwhile.

A server whose start fails, or whose imports started a thread (forking a threaded process is unsafe,
and a user namespace refuses one), is not used: ``launcher`` falls back to fresh workers and says why.
"""
from __future__ import annotations

import atexit
import gc
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

# always imported by the server: what every worker imports before the first cell, and what most notebooks use
PRELOAD = ("numpy", "matplotlib", "matplotlib.pyplot", "IPython.core.interactiveshell", "backprop_lab",
           "backprop_lab.exercises", "backprop_lab.exercises.catalog", "backprop_lab.grading.worker",
           "backprop_lab.grading.worker_checks", "backprop_lab.grading.jail", "backprop_lab.grading.protocol")
NEVER = ("backprop_lab.exercises.nb", "backprop_lab.exercises.hidden", "backprop_lab.references",
         "backprop_lab_private_tests", "__future__")           # worker_checks.CHECK_MODULES, and no-modules
MAX_MESSAGE = 1 << 16


class PoolError(OSError):
    """The warm server could not start, or stopped answering."""


# ----------------------------------------------------------------------------- grader side

def course_imports(course_dir: str | None) -> list[str]:
    """The modules the released notebooks' cells import (absolute imports, check modules left out).

    ``from a.b import c`` gives ``a.b`` and ``a.b.c`` (c may be a module); the server imports each that
    exists and ignores the rest. Parsed with ``delegation.parse`` (one lock: ``ast.parse`` is not
    thread-safe in CPython 3.11/3.12)."""
    import ast

    from .delegation import parse
    from .submissions import Malformed, read_notebook

    names: set[str] = set()
    folder = course_dir or ""
    for entry in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if not entry.endswith(".ipynb"):
            continue
        try:
            with open(os.path.join(folder, entry), "rb") as f:
                nb, _ = read_notebook(f.read(), entry)
        except (OSError, Malformed):
            continue
        for cell in nb.cells:
            tree = parse(cell.source) if cell.cell_type == "code" else None
            for node in ast.walk(tree) if tree is not None else ():
                if isinstance(node, ast.Import):
                    names.update(a.name for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module)
                    names.update(f"{node.module}.{a.name}" for a in node.names if a.name != "*")
    return sorted(n for n in names if not n.startswith(NEVER))


class Spawn:
    """Fresh workers: a new Python process for every notebook (where forking is not available or safe)."""

    kind = "fresh"

    def __init__(self, why: str = ""):
        self.why = why

    def start(self, stdin_fd: int, result_fd: int, workdir: str) -> subprocess.Popen:
        from .sandbox import worker_env

        return subprocess.Popen([sys.executable, "-m", "backprop_lab.grading.worker", str(result_fd)], cwd=workdir,
                                env=worker_env(workdir), stdin=stdin_fd, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, pass_fds=(result_fd,), start_new_session=True)

    def fonts(self) -> str | None:
        from .sandbox import font_cache

        return font_cache()

    def describe(self) -> str:
        return "a fresh Python process for every notebook" + (f" ({self.why})" if self.why else "")

    def close(self) -> None:
        pass


class Forked:
    """A worker forked by the server, as the grader sees it: ``pid``, ``returncode``, ``wait`` (like ``Popen``)."""

    def __init__(self, server: "Server", pid: int):
        self.server, self.pid, self.returncode = server, pid, None
        self._reaped = False

    def poll(self) -> int | None:
        if not self._reaped:
            done, code = self.server.reap(self.pid)
            if done:
                self._reaped, self.returncode = True, code
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.002
        while True:
            self.poll()
            if self._reaped:
                return self.returncode
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"grading worker {self.pid}", timeout)
            time.sleep(pause)
            pause = min(pause * 2, 0.05)


class Server:
    """The grader's end of one warm fork server: ``start`` a worker from it, ``close`` it."""

    kind = "warm"

    def __init__(self, preload=(), startup: float = 120.0):
        self.preload = sorted(set(PRELOAD) | {n for n in preload if not n.startswith(NEVER)})
        self.startup = startup
        self.why = ""
        self.info: dict = {}
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._folder = ""
        with self._lock:
            self._start()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def _start(self) -> None:
        from .sandbox import worker_env

        self._folder = tempfile.mkdtemp(prefix="bl-grade-pool-")
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with open(os.path.join(self._folder, "server.log"), "wb") as log:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "backprop_lab.grading.pool", str(theirs.fileno())], cwd=self._folder,
                    env=worker_env(self._folder), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=log, pass_fds=(theirs.fileno(),), start_new_session=True)
        except OSError as exc:
            mine.close()
            raise PoolError(exc.errno, f"the warm server did not start: {exc}") from None
        finally:
            theirs.close()
        self._sock = mine
        mine.settimeout(self.startup)
        try:
            mine.send(json.dumps({"preload": self.preload}).encode())
            reply = self._reply()
        except PoolError:
            err = self._stop()
            raise PoolError(0, f"the warm server did not start: {err or 'no answer'}") from None
        mine.settimeout(30.0)
        self.info = reply
        if reply.get("answers"):
            self._stop()
            raise PoolError(0, f"importing {', '.join(self.preload)} loaded {', '.join(reply['answers'])} in the warm "
                               "server: its workers would inherit the checks or the reference solutions")
        if reply.get("threads", 1) > 1:
            self._stop()
            raise PoolError(0, f"importing {', '.join(self.preload)} started {reply['threads']} threads in the warm "
                               "server: forking it is not safe (set the libraries' *_NUM_THREADS to 1)")

    def _reply(self) -> dict:
        try:
            data = self._sock.recv(MAX_MESSAGE)
        except OSError as exc:
            raise PoolError(getattr(exc, "errno", 0) or 0, f"the warm server stopped answering ({exc})") from None
        if not data:
            raise PoolError(0, "the warm server has exited")
        return json.loads(data)

    def _stop(self) -> str:
        """Close the socket (the server then kills what it forked and exits); its last words, if any."""
        err = ""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        try:
            with open(os.path.join(self._folder, "server.log"), errors="replace") as f:
                err = (f.read().strip().splitlines() or [""])[-1]
        except OSError:
            pass
        shutil.rmtree(self._folder, ignore_errors=True)
        return err

    def start(self, stdin_fd: int, result_fd: int, workdir: str) -> Forked:
        """Fork a worker that reads its job from ``stdin_fd`` and writes events to ``result_fd``.

        A server that has died (killed from outside) is started again, once per call."""
        with self._lock:
            for attempt in (0, 1):
                if self._sock is None or self._proc is None or self._proc.poll() is not None:
                    self._stop()
                    self._start()
                try:
                    socket.send_fds(self._sock, [b'{"op": "fork"}'], [stdin_fd, result_fd])
                    reply = self._reply()
                except OSError as exc:          # PoolError too: the server died meanwhile
                    self._stop()
                    if attempt:
                        raise PoolError(0, f"the warm server stopped answering: {exc}") from None
                    continue
                if "pid" not in reply:
                    raise PoolError(0, f"the warm server could not fork a worker: {reply.get('error')}")
                return Forked(self, int(reply["pid"]))
        raise AssertionError("unreachable")

    def reap(self, pid: int) -> tuple[bool, int | None]:
        """``(True, exit code)`` once worker ``pid`` has ended (reaped now), ``(False, None)`` while it runs.

        With the server gone the worker is nobody's child any more: it counts as ended (code None)
        once ``/proc`` no longer shows it alive."""
        with self._lock:
            if self._sock is not None:
                try:
                    self._sock.send(json.dumps({"op": "reap", "pid": pid}).encode())
                    reply = self._reply()
                    return bool(reply.get("done")), reply.get("code")
                except PoolError:
                    pass
        from .sandbox import _stat_fields

        fields = _stat_fields(str(pid))
        return (not fields or fields[0] in (b"Z", b"X")), None

    def fonts(self) -> None:
        return None             # the server loaded matplotlib's font list already

    def usage(self) -> dict:
        """CPU seconds of the server itself (``"server"``) and of the workers it has reaped (``"workers"``)."""
        with self._lock:
            self._sock.send(b'{"op": "usage"}')
            return self._reply()

    def describe(self) -> str:
        return "forked from a warm server (imports paid once)"

    def close(self) -> None:
        with self._lock:
            self._stop()


_SHARED: dict[tuple, Server] = {}
_SHARED_LOCK = threading.Lock()


def launcher(preload=(), *, warm: bool = True) -> Server | Spawn:
    """The way this process starts workers: this process's warm server for ``preload`` (started on first
    use, closed at exit; never runs student code, so grading runs may share it), else fresh processes."""
    if not warm:
        return Spawn("asked for")
    if sys.platform != "linux":
        return Spawn(f"the warm pool forks, which is used on Linux only (this is {sys.platform})")
    key = tuple(sorted(set(preload)))
    with _SHARED_LOCK:
        server = _SHARED.get(key)
        if server is not None and server.pid is not None:
            return server
        try:
            server = Server(key)
        except PoolError as exc:
            return Spawn(str(exc.strerror or exc))
        if not _SHARED:
            atexit.register(close_all)
        _SHARED[key] = server
        return server


def pids() -> list[int]:
    """The process ids of this process's warm servers (``cgroups`` moves them along with the grader)."""
    return [p for p in (s.pid for s in list(_SHARED.values())) if p is not None]


def close_all() -> None:
    with _SHARED_LOCK:
        for server in _SHARED.values():
            server.close()
        _SHARED.clear()


# ----------------------------------------------------------------------------- the server

def _preload(names: list[str]) -> list[str]:
    import importlib

    failed = []
    for name in names:
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - a module that does not import here is imported (or not) by the worker
            failed.append(name)
    if "matplotlib.pyplot" in sys.modules:
        _warm_matplotlib()
    try:
        from backprop_lab.exercises import catalog

        catalog.load()              # the exercises' metadata (ids, targets, class names): no answers
    except Exception:  # noqa: BLE001 - the worker loads it itself then
        pass
    return failed


def _answers_loaded() -> list[str]:
    """Check or reference modules in this process: every forked worker would inherit them (none should be here;
    a course module that imports one when imported would bring it)."""
    secret = tuple(n for n in NEVER if n.startswith("backprop_lab"))
    return sorted(n for n in sys.modules if n.startswith(secret))


def _warm_matplotlib() -> None:
    """Draw one throw-away figure: fonts, text layout and the mathtext parser are then loaded once for all."""
    import io

    import matplotlib.pyplot as plt

    try:
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.loglog([1e-3, 1.0], [1e-6, 1.0], label="$x^2$")
        ax.set_title("warm-up")
        ax.legend()
        fig.tight_layout()
        fig.savefig(io.BytesIO(), format="png")
        plt.close(fig)
    except Exception:  # noqa: BLE001 - only a speed-up
        plt.close("all")


def serve(fd: int) -> None:
    """``python -m backprop_lab.grading.pool FD``: the server's loop on socket ``FD`` (see the module docstring)."""
    sock = socket.socket(fileno=fd)
    first = sock.recv(MAX_MESSAGE)
    if not first:
        os._exit(0)
    request = json.loads(first)
    failed = _preload(list(request.get("preload", [])))
    from .jail import _threads

    gc.collect()
    gc.freeze()         # forked workers then never touch (copy) these objects' pages in a collection
    sock.send(json.dumps({"ready": True, "failed": failed, "threads": _threads(), "answers": _answers_loaded()})
              .encode())
    children: set[int] = set()
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 2)
        except InterruptedError:
            continue
        except OSError:
            break
        if not data:
            break
        req = json.loads(data)
        if req.get("op") == "fork":
            if len(fds) != 2:
                for f in fds:
                    os.close(f)
                sock.send(json.dumps({"error": f"expected 2 file descriptors, got {len(fds)}"}).encode())
                continue
            try:
                pid = os.fork()
            except OSError as exc:
                for f in fds:
                    os.close(f)
                sock.send(json.dumps({"error": f"fork: {exc}"}).encode())
                continue
            if pid == 0:
                children.clear()
                _become_worker(sock, fds)      # never returns
            for f in fds:
                os.close(f)
            children.add(pid)
            sock.send(json.dumps({"pid": pid}).encode())
        elif req.get("op") == "reap":
            pid = int(req.get("pid", 0))
            done, code = False, None
            try:
                got, status = os.waitpid(pid, os.WNOHANG) if pid in children else (pid, -1)
                if got == pid:
                    done, code = True, (os.waitstatus_to_exitcode(status) if status != -1 else None)
                    children.discard(pid)
            except ChildProcessError:
                done = True
                children.discard(pid)
            sock.send(json.dumps({"done": done, "code": code}).encode())
        elif req.get("op") == "usage":
            import resource

            cpu = [(lambda r: r.ru_utime + r.ru_stime)(resource.getrusage(who))
                   for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
            sock.send(json.dumps({"server": cpu[0], "workers": cpu[1]}).encode())
    _end(children)


def _end(children: set[int]) -> None:
    """The grader is gone or done: kill every worker forked (with its group), reap them, exit."""
    import signal

    for pid in children:
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except OSError:
                pass
    for pid in children:
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass
    os._exit(0)


def _become_worker(sock: socket.socket, fds: list[int]) -> None:
    """In the forked child: start as a fresh worker would (see the module docstring), then run it. Never returns."""
    try:
        job_fd, result_fd = fds
        os.close(sock.detach())
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(job_fd, 0)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.closerange(3, result_fd)
        os.closerange(result_fd + 1, 1 << 20)
        import io

        sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)))
        from . import worker

        sys.argv = [worker.__file__, str(result_fd)]
        worker.main(result_fd, settle=_settle)
    except BaseException:  # noqa: BLE001 - as worker.py's __main__: the grader sees the pipe close
        os._exit(70)
    os._exit(0)


STARTED_IN = os.getcwd() if __name__ == "__main__" else None


def _settle(job: dict) -> None:
    """What a fresh worker gets from ``Popen``: its folder as cwd, HOME, TMPDIR...; ``sys.path[0]`` its cwd."""
    from .sandbox import workdir_env

    workdir = job["limits"]["workdir"]
    os.chdir(workdir)
    os.environ.update(workdir_env(workdir))
    if sys.path and STARTED_IN and sys.path[0] == STARTED_IN:
        sys.path[0] = workdir
        sys.path_importer_cache.pop(STARTED_IN, None)
    tempfile.tempdir = None
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
