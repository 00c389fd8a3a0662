"""The jail a grading worker puts itself in before any student code runs (Linux).

``enter(limits)`` is called by the worker on itself, after its imports and before the first cell, so
that a pool of pre-started workers (issue 19) can apply it after a fork just the same. Two levels:

* ``"root"`` (the grader runs as root: a container, CI, a grading server): new mount, PID, network,
  IPC, UTS and cgroup namespaces; the worker then drops to the unprivileged uid/gid 65534 with every
  capability gone, so nothing below can be undone.
* ``"user"`` (an instructor's own account, where the kernel allows unprivileged user namespaces):
  the same namespaces inside a new user namespace that maps only the instructor's own uid; every
  capability is dropped once the mounts are made.

Either way the worker then sees a new root file system built from an allow-list, not the host's:

* read-only: the Python installation (``sys.prefix``, ``sys.base_prefix``, the site-packages
  folders), the ``backprop_lab`` package folder alone (an editable install does not expose the
  repository around it), ``/usr``, ``/lib*``, ``/bin``, ``/sbin`` and a few files of ``/etc``;
* hidden under empty read-only mounts, wherever they lie inside what is visible: the package's
  reference code (``package_secrets``) and the paths the grader lists (``limits["hide"]``: solutions,
  private tests, results, submissions);
* writable: only its own folder, a size-limited tmpfs (also at ``/tmp``), and a small ``/dev/shm``;
* a fresh ``/proc`` of its own PID namespace with ``/proc/sys`` read-only; ``/sys`` read-only and
  empty but for ``/sys/devices/system/cpu``; ``/dev`` with null, zero, full, random and urandom only;
* no network (a new network namespace with not even loopback up), so no socket outside, Unix or TCP.

A process that creates a user namespace of its own inside the jail cannot take any of this apart:
the kernel locks mounts (and their read-only flags) that come from a more privileged mount namespace
(mount_namespaces(7), "restrictions on mount namespaces").
"""
from __future__ import annotations

import ctypes
import errno
import os
import signal
import sys

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC, MS_PRIVATE, MS_RELATIME = 1024, 2048, 4096, 16384, 1 << 18, 1 << 21
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
NOBODY = 65534
# statvfs's f_flag bits -> the mount flags a remount must repeat (the kernel refuses to clear locked ones)
_KEEP = {os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC,
         os.ST_NOATIME: MS_NOATIME, os.ST_NODIRATIME: MS_NODIRATIME, os.ST_RELATIME: MS_RELATIME} \
    if sys.platform == "linux" else {}
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "alternatives", "nsswitch.conf",
       "passwd", "group", "hosts", "mime.types", "fonts")
DEVICES = ("null", "zero", "full", "random", "urandom")
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217, "armv7l": 218}


class JailError(OSError):
    """The jail could not be set up here (the grader then says so and falls back or stops)."""


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    libc.unshare.argtypes = [ctypes.c_int]
    return libc


def _check(ok: bool, what: str) -> None:
    if not ok:
        err = ctypes.get_errno()
        raise JailError(err, f"{what}: {os.strerror(err)}")


def mount(src: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _check(_libc().mount(enc(src), enc(target), enc(fstype), flags, enc(data)) == 0, f"mount {target}")


# ----------------------------------------------------------------------------- what the worker may see

def visible_paths(package_dir: str) -> list[str]:
    """The host trees bound read-only into the jail: the Python installation and the package, nothing else.

    A ``sys.path`` entry is included only when it is inside one of the interpreter's prefixes or is a
    ``site-packages``/``dist-packages`` folder, so a course repository on ``PYTHONPATH`` (or as the
    root of an editable install) is never visible; the package folder itself always is.
    """
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix)}
    out = set(prefixes) | {os.path.realpath(package_dir)}
    for entry in sys.path:
        if not entry or not os.path.isabs(entry) or not os.path.isdir(entry):
            continue
        real = os.path.realpath(entry)
        if os.path.basename(real) in ("site-packages", "dist-packages") or any(_inside(real, p) for p in prefixes):
            out.add(real)
    exe = os.path.realpath(sys.executable)
    out.add(os.path.dirname(exe))
    return sorted(p for p in out if not any(q != p and _inside(p, q) for q in out))


def package_secrets(package_dir: str) -> list[str]:
    """What of the package a worker must not read, hidden by the jail whatever the grader lists: the
    reference solutions ``references/``, and the checks' files (``exercises/nbNN.py``, the notebooks'
    hidden checks ``exercises/hidden/``, their byte code), which know right answers too (the worker has
    loaded what it needs of them before the jail hides them)."""
    import glob

    exercises = os.path.join(package_dir, "exercises")
    return [os.path.join(package_dir, "references"), os.path.join(exercises, "hidden"),
            os.path.join(exercises, "__pycache__")] + sorted(glob.glob(os.path.join(exercises, "nb*.py")))


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _makedirs(path: str) -> None:
    os.makedirs(path, mode=0o755, exist_ok=True)


def _bind(new: str, host: str, recursive: bool = True) -> None:
    """Bind ``host`` at the same path under ``new`` (symlinks are copied as symlinks)."""
    target = new + host
    if os.path.islink(host):
        _makedirs(os.path.dirname(target))
        if not os.path.lexists(target):
            os.symlink(os.readlink(host), target)
        return
    if not os.path.exists(host):
        return
    if os.path.isdir(host):
        _makedirs(target)
    else:
        _makedirs(os.path.dirname(target))
        if not os.path.exists(target):
            open(target, "w").close()
    mount(host, target, None, MS_BIND | (MS_REC if recursive else 0))


def _mountinfo() -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4].encode().decode("unicode_escape") for line in f]


def _remount_readonly(point: str) -> None:
    """Make one mount read-only, repeating the flags it has (a user namespace may not clear them)."""
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV
    have = os.statvfs(point).f_flag
    for st, ms in _KEEP.items():
        if have & st:
            flags |= ms
    mount(None, point, None, flags)


# ----------------------------------------------------------------------------- entering

def enter(limits: dict) -> None:
    """Jail the calling process (see the module docstring); returns in the jailed child, in ``workdir``.

    ``limits``: ``jail`` ("root" or "user"), ``workdir`` (an empty host folder: the mount point of the
    new root, and the path of the worker's own folder inside it), ``disk_mb``, ``hide`` (host paths),
    ``cgroups`` (folders whose ``cgroup.procs`` the worker joins first; root only), ``package_dir``.
    Raises ``JailError`` (before any student code ran) when the kernel refuses a step.
    """
    level = limits["jail"]
    libc = _libc()
    if level == "user" and _threads() > 1:      # unshare(CLONE_NEWUSER) refuses a threaded process
        raise JailError(errno.EINVAL, f"the worker runs {_threads()} threads: a user namespace needs one "
                                      "(a library started threads at import; set its *_NUM_THREADS to 1)")
    uid, gid = os.getuid(), os.getgid()
    visible = visible_paths(limits["package_dir"])
    if level == "root":
        os.setgroups([])
        for cg in limits.get("cgroups") or []:
            with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP
    if level == "user":
        flags |= CLONE_NEWUSER
    _check(libc.unshare(flags) == 0, "unshare")
    if level == "user":
        for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    child = os.fork()           # the new PID namespace holds this process's children, not itself
    if child:
        _stand_by(child)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _build_root(limits, visible, libc)
    _drop_privileges(level, libc)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)   # a change of credentials cleared it
    os.chdir(limits["workdir"])


def _stand_by(child: int) -> None:
    """The process left outside the PID namespace: wait for the jailed one, exit as it did. Never returns."""
    os.closerange(0, 1 << 16)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(70)
    os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))


def _build_root(limits: dict, visible: list[str], libc) -> None:
    workdir = os.path.realpath(limits["workdir"])
    new = workdir                            # the empty host folder becomes the mount point of the new root
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "size=8m,mode=0755")
    # the worker's own folder, in a size-limited tmpfs at /tmp (its disk quota); first, so that a visible
    # tree under /tmp (a package installed there) is bound on top of it, not covered by it
    owner = NOBODY if limits["jail"] == "root" else 0
    tmp = new + "/tmp"
    _makedirs(tmp)
    mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(limits.get('disk_mb', 512))}m,mode=0700,"
          f"uid={owner},gid={owner}")
    if _inside(workdir, "/tmp"):
        os.makedirs(new + workdir, mode=0o700)
        path = new + workdir
        while path != tmp:
            os.chown(path, owner, owner)
            path = os.path.dirname(path)
    else:
        _makedirs(new + workdir)
        mount(tmp, new + workdir, None, MS_BIND)
    for path in SYSTEM:
        _bind(new, path)
    _makedirs(new + "/etc")
    for name in ETC:
        _bind(new, "/etc/" + name)
    for path in visible:
        _bind(new, path)
    # /dev: only harmless devices, bound from the host (a user namespace may not create device nodes)
    _makedirs(new + "/dev")
    mount("tmpfs", new + "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755")
    for name in DEVICES:
        _bind(new, "/dev/" + name, recursive=False)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{new}/dev/{name}")
    _makedirs(new + "/dev/shm")
    mount("tmpfs", new + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
          f"size={int(limits.get('shm_mb', 64))}m,mode=1777")
    # /proc of this PID namespace, /proc/sys read-only; /sys empty but for the CPU list, read-only
    _makedirs(new + "/proc")
    mount("proc", new + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount(new + "/proc/sys", new + "/proc/sys", None, MS_BIND | MS_REC)
    _makedirs(new + "/sys")
    mount("tmpfs", new + "/sys", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0755")
    _bind(new, "/sys/devices/system/cpu", recursive=False)
    _hide(new, list(limits.get("hide") or []) + package_secrets(limits["package_dir"]))
    writable = {new + workdir, tmp, new + "/dev/shm", new + "/proc", new}
    for point in _mountinfo():
        if _inside(point, new) and point not in writable and not _inside(point, new + "/proc/") \
                or point == new + "/proc/sys":
            try:
                _remount_readonly(point)
            except OSError as exc:
                if exc.errno not in (errno.ENOENT, errno.EACCES):   # a mount we cannot see or reach
                    raise
    os.chdir(new)
    nr = PIVOT_ROOT.get(os.uname().machine)
    if nr is None:
        raise JailError(errno.ENOSYS, f"pivot_root: unknown syscall number on {os.uname().machine}")
    _check(libc.syscall(nr, b".", b".") == 0, "pivot_root")
    _check(libc.umount2(b".", MNT_DETACH) == 0, "umount the host root")
    os.chdir("/")
    mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    libc.sethostname(b"grader", 6)


def _hide(new: str, paths: list[str]) -> None:
    """Cover every listed host path that is visible under ``new`` with an empty read-only mount."""
    empty = new + "/.empty"
    open(empty, "w").close()
    os.chmod(empty, 0o444)
    for host in sorted({os.path.realpath(p) for p in paths}):
        target = new + host
        if not os.path.lexists(target) or os.path.islink(target):
            continue        # not visible in the jail at all: nothing to hide
        if os.path.isdir(target):
            mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "size=4k,mode=0555")
        else:
            mount(empty, target, None, MS_BIND)


def _drop_privileges(level: str, libc) -> None:
    for cap in range(64):               # the bounding set first: it needs CAP_SETPCAP
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    if level == "root":
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)    # leaving uid 0 clears every capability
    else:
        _clear_capabilities(libc)
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "no_new_privs")


def _clear_capabilities(libc) -> None:
    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    header = Header(0x20080522, 0)   # _LINUX_CAPABILITY_VERSION_3
    _check(libc.capset(ctypes.byref(header), (Data * 2)()) == 0, "capset")


# ----------------------------------------------------------------------------- limits (every level)

def limit_resources(limits: dict) -> None:
    """Resource limits of the worker and all it starts: address space per process, CPU seconds, file
    size, no core files, and (where no cgroup counts processes) the number of processes."""
    import resource

    def limit(which, value):
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass

    if limits.get("memory_mb"):
        limit(resource.RLIMIT_AS, int(limits["memory_mb"]) * 2**20)
    limit(resource.RLIMIT_CPU, int(limits.get("cpu_seconds", 600)))
    limit(resource.RLIMIT_FSIZE, int(limits.get("file_mb", 256)) * 2**20)
    limit(resource.RLIMIT_CORE, 0)
    if limits.get("nproc"):
        limit(resource.RLIMIT_NPROC, int(limits["nproc"]))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a too-large write fails with an error instead


def processes_of(uid: int) -> int:
    """How many processes ``uid`` runs now (RLIMIT_NPROC counts them all, not only the worker's)."""
    count = 0
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else []:
        try:
            count += pid.isdigit() and os.stat(f"/proc/{pid}").st_uid == uid
        except OSError:
            pass
    return count


def _threads() -> int:
    try:
        with open("/proc/self/status") as f:
            return int(next(line.split()[1] for line in f if line.startswith("Threads:")))
    except (OSError, StopIteration, ValueError):
        return 1


# ----------------------------------------------------------------------------- the probe

def _probe_main(level: str, workdir: str) -> None:
    """``python -m backprop_lab.grading.jail LEVEL WORKDIR``: enter the jail, print "ok" from inside."""
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        enter({"jail": level, "workdir": workdir, "disk_mb": 1, "hide": [], "package_dir": package_dir})
    except OSError as exc:
        print(f"{exc}", file=sys.stderr)
        sys.exit(1)
    expected_uid = NOBODY if level == "root" else 0
    ok = os.path.isdir(package_dir) and os.getuid() == expected_uid and os.getpid() == 1
    print("ok" if ok else "the jail started but was not as expected", flush=True)


if __name__ == "__main__":
    _probe_main(sys.argv[1], sys.argv[2])
