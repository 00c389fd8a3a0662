"""Start a grading worker in isolation, watch it, and kill it with everything it started.

What isolates a worker, from always-on to root-only (the README's instructor section says the same):

* always: a fresh temporary folder as cwd, HOME and TMPDIR; its own session and process group;
  resource limits the worker sets on itself before any student code runs (address space per process,
  CPU seconds, file size, no core files); stdout/stderr discarded; and the checks cut down to their
  ``run`` methods (``worker_checks``), so no answer is in the worker's memory;
* the jail (``jail.enter``), on Linux as root or, without root, where the kernel allows unprivileged
  user namespaces: namespaces, an allow-list root file system with the references, solutions, private
  tests, results and submissions hidden, a size-limited tmpfs as the only writable place, no network,
  an unprivileged uid (root) or no capabilities (user namespace);
* as root, a cgroup per slot (``cgroups``): memory for the worker's whole process tree, a process
  count, one CPU's worth of time.

``jail_level`` finds out once per grading run which level works here (a probe process enters it).
"""
from __future__ import annotations

import functools
import os
import select
import signal
import subprocess
import sys
import time

from . import protocol

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # backprop_lab/
PIDS_MAX = 64


def worker_env(workdir: str) -> dict:
    """A worker's whole environment: a few variables of the grader's, and the worker's own settings."""
    env = {k: v for k, v in os.environ.items()
           if k in ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "CONDA_PREFIX", "SYSTEMROOT")}
    env.update(workdir_env(workdir), MPLBACKEND="Agg", BACKPROP_LAB_OFFLINE="1", BACKPROP_LAB_GRADING="1",
               PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1", JUPYTER_PLATFORM_DIRS="1")
    return env


def workdir_env(workdir: str) -> dict:
    """The variables that point into the worker's own folder (a forked worker sets them after the fork)."""
    return {"HOME": workdir, "TMPDIR": workdir, "IPYTHONDIR": os.path.join(workdir, ".ipython"),
            "MPLCONFIGDIR": os.path.join(workdir, ".matplotlib"), "XDG_CACHE_HOME": os.path.join(workdir, ".cache")}


def hidden_paths(*, submissions: str | None = None, out: str | None = None, tests: str | None = None,
                 course: str | None = None) -> list[str]:
    """What a jailed worker must not see, wherever it lies inside what the jail makes visible.

    The submissions, the results, the private tests; any ``solutions/`` folder and git repository
    beside the course, the working directory or the package (an editable install); and, added by the
    jail itself whatever this list says, the package's reference code (``jail.package_secrets``).
    """
    from .jail import package_secrets

    out_list = [os.path.abspath(p) for p in (submissions, out, tests) if p]
    bases = {os.getcwd(), os.path.dirname(PACKAGE_DIR)}
    if course:
        bases |= {os.path.abspath(course), os.path.dirname(os.path.abspath(course))}
    for base in sorted(bases):
        out_list += [os.path.join(base, "solutions"), os.path.join(base, ".git")]
    return out_list + package_secrets(PACKAGE_DIR)


@functools.lru_cache(maxsize=None)
def font_cache() -> str | None:
    """matplotlib's font list, built once per grading process (None without matplotlib).

    Every worker starts with an empty ``MPLCONFIGDIR``, and building the list costs about 0.3 s of CPU
    per notebook; the worker copies this one in instead (``worker.main``). Made by the grader's own
    subprocess, never by student code."""
    import atexit
    import glob
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="bl-grade-fonts-")
    atexit.register(shutil.rmtree, folder, True)
    try:
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=worker_env(folder),
                       cwd=folder, capture_output=True, timeout=120, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    found = sorted(glob.glob(os.path.join(folder, ".matplotlib", "fontlist-*.json")))
    return found[-1] if found else None


@functools.lru_cache(maxsize=None)
def _probe(level: str) -> str:
    """'' when a worker can enter the jail at ``level`` here, else why not (asked of a fresh process)."""
    import tempfile

    if sys.platform != "linux":
        return f"namespaces are Linux-only (this is {sys.platform})"
    if level == "root" and os.geteuid() != 0:
        return "the grader does not run as root"
    workdir = tempfile.mkdtemp(prefix="bl-grade-probe-")
    try:
        done = subprocess.run([sys.executable, "-m", "backprop_lab.grading.jail", level, workdir],
                              env=worker_env(workdir), capture_output=True, text=True, timeout=120, cwd=workdir)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the probe did not run ({exc})"
    finally:
        os.rmdir(workdir)
    if done.stdout.strip() == "ok":
        return ""
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[-1] if lines else f"the probe exited with status {done.returncode}"


def jail_level(requested: str | bool | None = None) -> tuple[str, str]:
    """``(level, why)``: "root", "user" or "off", and the reasons the stronger levels are not used.

    ``requested``: None or "auto" (the strongest that works), "root", "user", "off" (or False).
    """
    if requested in (False, "off"):
        return "off", "the jail was switched off (--no-jail)"
    wanted = ["root", "user"] if requested in (None, True, "auto") else [requested]
    reasons = []
    for level in wanted:
        why = _probe(level)
        if not why:
            return level, "; ".join(reasons)
        reasons.append(f"{level}: {why}")
    return "off", "; ".join(reasons)


class Worker:
    """One running worker: feed it a job, read its events with deadlines, kill it.

    ``launcher`` starts the process (``pool``): forked from this process's warm server by default, or a
    fresh Python (``pool.Spawn``); either way the worker jails itself before any student code runs.
    """

    def __init__(self, job: dict, workdir: str, group=None, launcher=None):
        from . import pool

        launcher = launcher or pool.launcher()
        self.group = group                  # cgroups.Slot or None
        self.oom_before = group.oom_kills() if group else 0
        self.bad = ""                       # why the last message was refused
        job["limits"]["workdir"] = workdir
        job["limits"]["cgroups"] = group.dirs if group else []
        job["limits"]["package_dir"] = PACKAGE_DIR
        job["fonts"] = launcher.fonts()     # matplotlib's font list, for a fresh worker
        r, w = os.pipe()
        job_r, job_w = os.pipe()
        try:
            self.proc = launcher.start(job_r, w, workdir)
        except BaseException:
            for fd in (r, job_w):
                os.close(fd)
            raise
        finally:
            os.close(w)
            os.close(job_r)
        self.fd = r
        self.buffer = bytearray()
        self.scanned = 0                    # the buffer holds no newline before this offset
        self.received = 0
        data = memoryview(protocol.dumps(job))
        try:
            while data:
                data = data[os.write(job_w, data):]
        except OSError:  # the worker died before reading its job
            pass
        finally:
            os.close(job_w)

    def next_event(self, deadline: float, max_bytes: int, max_line: int = 80 * 2**20) -> dict | str:
        """The next event (checked by ``protocol.event``), or 'timeout' past ``deadline``, 'eof' when the
        worker is gone, 'flood' past ``max_bytes`` in all or a line longer than ``max_line``, 'garbage'
        for a message that breaks the protocol (``self.bad`` says how)."""
        while True:
            end = self.buffer.find(b"\n", self.scanned)
            if end >= 0:
                break
            self.scanned = len(self.buffer)
            if self.scanned > max_line:
                return "flood"
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            ready, _, _ = select.select([self.fd], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                return "eof"
            self.received += len(chunk)
            self.buffer += chunk
            if self.received > max_bytes:
                return "flood"
        line = bytes(self.buffer[:end])
        del self.buffer[:end + 1]
        self.scanned = 0
        try:
            return protocol.event(line)
        except protocol.ProtocolError as exc:
            self.bad = str(exc)
            return "garbage"

    def exit_description(self) -> str:
        """Why the worker ended, in words (after ``kill`` or EOF)."""
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "did not exit"
        if self.group and self.group.oom_kills() > self.oom_before:
            return "ran out of memory (its processes together used more than the memory limit)"
        if code is None or code == 0:
            return "exited"
        if code < 0 or code > 128:
            sig = -code if code < 0 else code - 128
            name = {signal.SIGSEGV: "a segmentation fault (SIGSEGV)", signal.SIGKILL: "SIGKILL",
                    signal.SIGABRT: "an abort (SIGABRT)", signal.SIGBUS: "a bus error (SIGBUS)",
                    signal.SIGXCPU: "the CPU-time limit (SIGXCPU)",
                    signal.SIGXFSZ: "the file-size limit (SIGXFSZ)"}.get(sig, f"signal {sig}")
            return f"was killed by {name}"
        return f"exited with status {code}"

    def kill(self, ended: bool = False) -> None:
        """Kill everything the worker started; never raises. ``ended``: the worker closed its pipe (it
        exited or is exiting), so give it a moment to exit by itself and keep the reason it gives.

        In this order: the worker's children (the jailed process is PID 1 of its namespace, whose death
        kills every process inside), its process group, again until only the leader's corpse is left
        (it keeps the group id from being reused meanwhile), and its cgroup (which nothing escapes);
        then the leader is reaped.
        """
        if ended:
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        for pid in _children(self.proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for _ in range(20):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                break
            if not _group_alive(self.proc.pid):
                break
            time.sleep(0.01)
        if self.group:
            self.group.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.close(self.fd)
        except OSError:
            pass


def _stat_fields(pid: str) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _children(ppid: int) -> list[int]:
    """The living children of ``ppid`` (from /proc; [] where there is none)."""
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []
    return [int(p) for p in pids if (f := _stat_fields(p)) and len(f) > 1 and int(f[1]) == ppid]


def _group_alive(pgid: int) -> bool:
    """True while a process of group ``pgid`` is still running (zombies do not count).

    Reads /proc; where there is none, answers True, so the caller keeps killing for its whole budget.
    """
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return True
    for pid in pids:
        fields = _stat_fields(pid)
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            return True
    return False
