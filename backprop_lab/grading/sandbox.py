"""Start a grading worker in isolation, watch it, and kill it with everything it started.

Layers, from always-on to best-effort:

* always: a fresh temporary folder as cwd, HOME and TMPDIR; its own session and process group
  (``start_new_session``), killed as a whole with ``os.killpg``; resource limits set by the worker on
  itself before any student code runs: address space (``--memory``), CPU seconds, file size, no core
  files; stdout/stderr discarded; the grader's expected answers never enter the worker.
* when the grader runs as root on Linux with ``unshare`` (a container, CI): the worker runs in new
  mount and PID namespaces, remounts every filesystem read-only except its own folder, hides the
  submissions, results, private tests and solutions folders under empty mounts, joins a ``pids``
  cgroup (a fork bomb stops at ``PIDS_MAX`` processes; ``RLIMIT_NPROC`` does not bind root), and
  drops every capability, so it cannot undo any of this or raise its limits. Killing the namespace's
  first process kills every process inside it.
* otherwise (an instructor's own account): ``RLIMIT_NPROC`` caps the number of processes, and the
  process group is killed at each limit; a submission still runs with the instructor's permissions.
"""
from __future__ import annotations

import ctypes
import os
import select
import shutil
import signal
import subprocess
import sys
import time

PIDS_MAX = 64
CGROUP_ROOT = "/sys/fs/cgroup/pids"


def jail_available() -> bool:
    """True where the namespace/read-only/capability jail can be used."""
    return sys.platform == "linux" and os.geteuid() == 0 and shutil.which("unshare") is not None


def _cgroup_dir(slot: str) -> str | None:
    base = os.path.join(CGROUP_ROOT, f"backprop-lab-grade-{os.getpid()}")
    try:
        os.makedirs(os.path.join(base, slot), exist_ok=True)
        with open(os.path.join(base, slot, "pids.max"), "w") as f:
            f.write(str(PIDS_MAX))
        return os.path.join(base, slot)
    except OSError:
        return None


def remove_cgroups() -> None:
    base = os.path.join(CGROUP_ROOT, f"backprop-lab-grade-{os.getpid()}")
    if not os.path.isdir(base):
        return
    for name in os.listdir(base):
        path = os.path.join(base, name)
        if os.path.isdir(path):
            _kill_cgroup(path)
            try:
                os.rmdir(path)
            except OSError:
                pass
    try:
        os.rmdir(base)
    except OSError:
        pass


def _kill_cgroup(path: str) -> None:
    for _ in range(50):
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                pids = [int(p) for p in f.read().split()]
        except OSError:
            return
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)


def worker_env(workdir: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k in ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "CONDA_PREFIX", "SYSTEMROOT")}
    env.update(HOME=workdir, TMPDIR=workdir, IPYTHONDIR=os.path.join(workdir, ".ipython"),
               MPLCONFIGDIR=os.path.join(workdir, ".matplotlib"), MPLBACKEND="Agg",
               BACKPROP_LAB_OFFLINE="1", PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", JUPYTER_PLATFORM_DIRS="1")
    return env


class Worker:
    """One running worker: feed it a job, read its events with deadlines, kill it."""

    def __init__(self, job: dict, workdir: str, slot: str):
        self.jailed = bool(job["limits"].get("jail"))
        self.cgroup = _cgroup_dir(slot) if self.jailed else None
        job["limits"]["cgroup"] = self.cgroup
        job["limits"]["workdir"] = workdir
        r, w = os.pipe()
        cmd = [sys.executable, "-m", "backprop_lab.grading.worker", str(w)]
        if self.jailed:
            cmd = ["unshare", "--mount", "--pid", "--net", "--ipc", "--uts", "--fork", "--kill-child", "--mount-proc",
                   "--propagation", "private", "--"] + cmd
        import json

        self.proc = subprocess.Popen(cmd, cwd=workdir, env=worker_env(workdir), stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     pass_fds=(w,), start_new_session=True)
        os.close(w)
        self.fd = r
        self.buffer = b""
        self.received = 0
        try:
            self.proc.stdin.write(json.dumps(job).encode())
            self.proc.stdin.close()
        except OSError:  # the worker died before reading its job
            pass

    def next_event(self, deadline: float, max_bytes: int) -> dict | str:
        """The next event, or 'timeout' past ``deadline``, or 'eof' when the worker is gone."""
        import json

        while b"\n" not in self.buffer:
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
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            msg = json.loads(line)
        except ValueError:
            return {"ev": "garbage"}
        return msg if isinstance(msg, dict) else {"ev": "garbage"}

    def exit_description(self) -> str:
        """Why the worker ended, in words (after ``kill`` or EOF)."""
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "did not exit"
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

    def kill(self) -> None:
        """Kill the worker's whole process group (and its cgroup when jailed); never raises.

        The group is killed again until nothing but the leader's unreaped corpse is left in it (the
        corpse keeps the group id from being reused meanwhile), so a process forked just before the
        first kill dies too; then the leader is reaped.
        """
        for _ in range(20):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                break
            if not _group_alive(self.proc.pid):
                break
            time.sleep(0.01)
        if self.cgroup:
            _kill_cgroup(self.cgroup)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.close(self.fd)
        except OSError:
            pass


def _group_alive(pgid: int) -> bool:
    """True while a process of group ``pgid`` is still running (zombies do not count).

    Reads /proc; where there is none, answers True, so the caller keeps killing for its whole budget.
    """
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return True
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            return True
    return False


# ----------------------------------------------------------------------------- inside the worker

def lock_down(limits: dict, keep_fd: int) -> None:
    """Called by the worker on itself, before any student code: limits, then (when asked) the jail."""
    import resource

    def limit(which, value):
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass

    if limits.get("jail"):
        _jail(limits)
    mb = limits.get("memory_mb")
    if mb:
        limit(resource.RLIMIT_AS, int(mb) * 1024 * 1024)
    limit(resource.RLIMIT_CPU, int(limits.get("cpu_seconds", 600)))
    limit(resource.RLIMIT_FSIZE, int(limits.get("file_mb", 256)) * 1024 * 1024)
    limit(resource.RLIMIT_CORE, 0)
    if os.geteuid() != 0:
        mine = sum(1 for p in os.listdir("/proc") if p.isdigit() and _owner(p) == os.geteuid()) \
            if os.path.isdir("/proc") else 0
        limit(resource.RLIMIT_NPROC, mine + PIDS_MAX)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a too-large write fails with an error instead
    if limits.get("jail"):
        _drop_capabilities()


def _owner(pid: str) -> int:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return -1


MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
_FLAG_NAMES = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}


def _jail(limits: dict) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_void_p]

    def mount(src, target, fstype, flags, data=None):
        if libc.mount(src and src.encode(), target.encode(), fstype and fstype.encode(), flags, data) != 0:
            raise OSError(ctypes.get_errno(), f"mount {target}: {os.strerror(ctypes.get_errno())}")

    if limits.get("cgroup"):
        with open(os.path.join(limits["cgroup"], "cgroup.procs"), "w") as f:
            f.write("0")
    workdir = limits["workdir"]
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    for path in limits.get("hide", []):
        if os.path.isdir(path) and not workdir.startswith(os.path.join(path, "")):
            mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, b"size=4k,mode=0555")
    mount(workdir, workdir, None, MS_BIND | MS_REC)
    _fresh_dev(mount)
    mount("/proc/sys", "/proc/sys", None, MS_BIND)
    mount(None, "/proc/sys", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    with open("/proc/self/mountinfo") as f:
        mounts = [(line.split()[4], line.split()[5]) for line in f]
    for point, options in mounts:
        point = point.encode().decode("unicode_escape")
        if point == workdir or point.startswith(("/proc", "/dev")) or point in ("/sys",):
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NODEV
        for opt in options.split(","):
            flags |= _FLAG_NAMES.get(opt, 0)
        try:
            mount(None, point, None, flags)
        except OSError:
            pass  # a mount we cannot remount (gone, or not ours) stays as it was


def _fresh_dev(mount) -> None:
    """Replace /dev by a tmpfs holding only the harmless devices (no disks, no /dev/mem)."""
    mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, b"size=1m,mode=0755")
    for name, minor in (("null", 3), ("zero", 5), ("full", 7), ("random", 8), ("urandom", 9)):
        os.mknod(f"/dev/{name}", 0o20666, os.makedev(1, minor))
        os.chmod(f"/dev/{name}", 0o666)
    os.mkdir("/dev/shm", 0o1777)
    mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, b"size=64m,mode=1777")
    os.symlink("/proc/self/fd", "/dev/fd")
    for i, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{i}", f"/dev/{name}")


def _drop_capabilities() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP = 38, 24
    for cap in range(64):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    header = Header(0x20080522, 0)   # _LINUX_CAPABILITY_VERSION_3
    data = (Data * 2)()
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "could not drop capabilities")
