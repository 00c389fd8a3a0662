"""The grading worker: runs one submission's cells, then the grader's cases on the learner's objects.

Started by ``sandbox.Worker``, forked from the warm pool's server (``pool``) or as ``python -m
backprop_lab.grading.worker FD``, in a fresh temporary folder, in its own session. In this order, before any student code runs, it reads one job (JSON) from
stdin; imports what it needs, among them the checks of the job's exercises (their files are masked
inside the jail); enters the jail and sets its resource limits (``jail``); and seals the checks
(``worker_checks.seal``): only their ``run`` methods remain, the reference implementations are
stubs, ``use()`` returns the learner's own object (``BACKPROP_LAB_GRADING=1``). Then it runs every
cell in order in an IPython ``InteractiveShell`` (magics work; a cell that raises does not stop the
next one), looks up each exercise's ``target`` and calls the exercise's ``run`` on every case the
grader sent. It writes events, one JSON line each, to file descriptor FD: the plain outputs only. It
never sees an expected answer and never compares anything; the grader trusts none of what it sends
(``protocol.event``).
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback

from . import protocol

_write = os.write          # bound before any student code runs
_dumps = protocol.dumps
_monotonic = time.monotonic
_getpid = os.getpid
_exit = os._exit


class Timeout(BaseException):
    """Raised by the soft timer inside a cell or an exercise that ran past its limit."""


class Sink:
    """stdout/stderr for student code: keeps nothing, so a huge output costs nothing."""

    encoding = "utf-8"
    errors = "replace"

    def write(self, text):
        return len(text)

    def writelines(self, lines):
        pass

    def flush(self):
        pass

    def isatty(self):
        return False

    def fileno(self):
        raise OSError("no file descriptor")


def _on_alarm(signum, frame):
    raise Timeout()


def _arm(seconds: float) -> None:
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))


def _disarm() -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)


def _learner_traceback(exc: BaseException) -> str:
    from backprop_lab.exercises.framework import learner_traceback   # the one rule for what a learner sees
    text = learner_traceback(exc, limit=6) or "".join(traceback.format_exception_only(type(exc), exc))
    return text.rstrip()[-2000:]


def _no_pictures() -> None:
    """While grading no one looks at a figure, and no check depends on one: drawing figures to pixels is skipped
    (``savefig`` writes nothing, ``tight_layout`` measures no text), which is most of some notebooks' grading
    time (notebook 01's widget renders a PNG for every redraw)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return
    Figure.savefig = lambda self, *args, **kwargs: None
    Figure.tight_layout = lambda self, *args, **kwargs: None


def _lookup(ns: dict, dotted: str):
    """The object named ``dotted`` ("f", "Value.__mul__"), or a tuple for "(a, b)": several names answered together."""
    if dotted.startswith("(") and dotted.endswith(")"):
        return tuple(_lookup(ns, name.strip()) for name in dotted[1:-1].split(",") if name.strip())
    head, *rest = dotted.split(".")
    if head not in ns:
        raise LookupError(head)
    obj = ns[head]
    for part in rest:
        obj = getattr(obj, part)
    return obj


def _runners(job: dict) -> dict:
    """``{(private key or "", exercise id): an object with run()}`` for every case of the job."""
    from backprop_lab.exercises import framework

    from .worker_checks import private_runner

    out = {}
    for task in job["exercises"]:
        for key, _ in task["cases"]:
            if (key, task["id"]) in out:
                continue
            spec = job["private"].get(key or "new:" + task["id"])
            out[key, task["id"]] = private_runner(spec) if spec else framework.get(task["id"])
    return out


def _read(path: str | None) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except (OSError, TypeError):
        return None


def main(fd: int, settle=None) -> None:
    """Run one job (read from stdin); ``settle(job)`` first, in a worker forked by the warm pool (``pool``)."""
    job = json.loads(sys.stdin.buffer.read())
    sys.stdin.close()
    if settle is not None:
        settle(job)
    os.closerange(3, fd)
    me = [_getpid()]

    def send(**msg):
        if _getpid() != me[0]:      # a process the submission forked must not speak for the worker
            _exit(0)
        data = _dumps(msg)
        if len(data) > job["max_message"]:
            data = _dumps({"ev": "case", "id": msg.get("id"), "k": msg.get("k"), "kind": "too-large", "value": None,
                           "sec": msg.get("sec", 0.0),
                           "error": f"the answer is {len(data) // 1_000_000} MB of data: too large to grade"})
        view = memoryview(data)
        while view:
            view = view[_write(fd, view):]

    # imports first: inside the jail the check modules' files are masked
    from IPython.core.interactiveshell import InteractiveShell

    from . import jail, worker_checks

    runners = _runners(job)
    worker_checks.load(list(runners.values()))     # reference code a run needs (only in a worker of its own)
    limits = job["limits"]
    fonts = _read(job.get("fonts"))       # matplotlib's font list, built once by the grader
    # RLIMIT_NPROC counts all the processes of the real uid (uid 65534 for all root-jailed workers), but only
    # those inside its user namespace for a user-jailed worker
    if limits.get("nproc") and limits.get("jail") != "user":
        limits["nproc"] += jail.processes_of(jail.NOBODY if limits.get("jail") == "root" else os.getuid())
    if limits.get("jail") in ("root", "user"):
        try:
            jail.enter(limits)
        except OSError as exc:  # no student code ran yet: say why, so that the grader can tell the instructor
            me[0] = _getpid()   # before or after the jail's fork: this process is the worker
            send(ev="jail-failed", error=f"{type(exc).__name__}: {exc}")
            _exit(71)
        me[0] = _getpid()
    jail.limit_resources(limits)
    if fonts and os.environ.get("MPLCONFIGDIR"):
        os.makedirs(os.environ["MPLCONFIGDIR"], exist_ok=True)
        with open(os.path.join(os.environ["MPLCONFIGDIR"], os.path.basename(job["fonts"])), "wb") as f:
            f.write(fonts)
    worker_checks.seal(list(runners.values()))
    sink = Sink()
    sys.stdout = sys.stderr = sink

    _no_pictures()
    shell = InteractiveShell.instance(colors="nocolor")
    shell.showtraceback = lambda *a, **k: None          # errors are reported as events instead
    shell.showsyntaxerror = lambda *a, **k: None
    targets = {t["id"]: t["target"] for t in job["exercises"]}
    captured = {}       # exercise id -> the learner's object right after its exercise cell ran
    send(ev="ready")

    for cell in job["cells"]:
        i = cell["index"]
        send(ev="cell", i=i, phase="start")
        status, error = "ok", ""
        try:
            _arm(job["cell_timeout"])
            result = shell.run_cell(cell["source"], store_history=False)
            _disarm()
            exc = result.error_before_exec or result.error_in_exec
            if isinstance(exc, Timeout):
                status, error = "timeout", f"the cell ran past the {job['cell_timeout']:g} s limit and was stopped"
            elif isinstance(exc, SyntaxError):
                status, error = "syntax-error", "".join(traceback.format_exception_only(type(exc), exc)).strip()
            elif isinstance(exc, NotImplementedError):
                status, error = "todo", str(exc)[:500]
            elif isinstance(exc, MemoryError):
                status, error = "memory", "the cell ran out of memory (MemoryError)"
            elif exc is not None:
                status, error = "error", _learner_traceback(exc)
        except Timeout:
            status, error = "timeout", f"the cell ran past the {job['cell_timeout']:g} s limit and was stopped"
        finally:
            _disarm()
            sys.stdout = sys.stderr = sink
        xid = cell.get("exercise")
        if xid in targets:      # later cells may rebind the name: grade the object this cell defined
            try:
                captured[xid] = (True, _lookup(shell.user_ns, targets[xid]))
            except Exception:
                captured[xid] = (False, None)
        send(ev="cell", i=i, phase="end", status=status, error=error)

    for task in job["exercises"]:
        xid = task["id"]
        send(ev="ex", id=xid, phase="start")
        found, obj = captured.get(xid, (False, None))
        if not found:
            send(ev="ex", id=xid, phase="end", found=False)
            continue
        deadline = _monotonic() + job["exercise_timeout"]
        for k, (key, enc_case) in enumerate(task["cases"]):
            ex = runners[key, xid]
            case = protocol.decode(enc_case)
            start = _monotonic()
            kind, value, error = "ok", None, ""
            try:
                if obj is None or obj is Ellipsis:
                    kind, error = "todo", f"the answer `{task['target']}` is still {obj!r}: not done yet"
                else:
                    _arm(deadline - start)
                    value = ex.run(obj, case)
                    _disarm()
                    value = protocol.encode(value)
            except Timeout:
                kind, error = "timeout", f"ran past the {job['exercise_timeout']:g} s limit for this exercise"
            except NotImplementedError as exc:
                kind, error = "todo", str(exc)[:500] or "not implemented yet"
            except MemoryError:
                kind, error = "memory", "ran out of memory (MemoryError)"
            except SystemExit as exc:
                kind, error = "error", f"your code called sys.exit({exc.code!r}) while being graded"
            except BaseException as exc:  # the learner's code raised: report it with the learner's frames
                kind, error = "error", _learner_traceback(exc)
            finally:
                _disarm()
                sys.stdout = sys.stderr = sink
            send(ev="case", id=xid, k=k, kind=kind, value=value, error=error, sec=round(_monotonic() - start, 4))
            if kind == "timeout":
                break
        send(ev="ex", id=xid, phase="end", found=True)
    send(ev="done")
    os._exit(0)      # skip atexit handlers a submission may have registered


if __name__ == "__main__":
    try:
        main(int(sys.argv[1]))
    except BaseException:
        traceback.print_exc(file=sys.__stderr__)
        os._exit(70)
