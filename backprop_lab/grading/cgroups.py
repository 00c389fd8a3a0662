"""One control group per grading slot: memory, processes and CPU for a worker's whole process tree.

Used when the grader runs as root on Linux. A worker joins its slot's group before it starts its
jail (``jail.enter``), so every process it or the submission starts is counted together:

* ``memory``: the worker's whole tree (every fork, and the files it writes to its tmpfs) may use at most
  ``--memory`` MB, without swap; past it the kernel's OOM killer ends a process of that tree only;
* ``pids``: at most ``PIDS_MAX`` processes and threads (a fork bomb stops there);
* ``cpu``: at most one CPU's worth of time (``CPU_QUOTA_US``), however many processes it forks, so a
  submission that burns CPU cannot slow the notebooks graded beside it; the run as a whole weighs as
  much as its slots would as separate processes, so confining it does not cost it CPU on a shared machine.

Both cgroup v2 (one unified hierarchy, ``/sys/fs/cgroup/cgroup.controllers``) and the v1 hierarchies
(``/sys/fs/cgroup/{memory,pids,cpu}``) are supported; the groups are made inside the grader's own
group, so a limit the grader itself runs under still applies around them. ``Slot.kill`` ends every
process in the group, wherever it moved in the process tree (a ``setsid`` does not escape it).
"""
from __future__ import annotations

import errno
import os
import signal
import time

ROOT = "/sys/fs/cgroup"
PIDS_MAX = 64
CPU_PERIOD_US = 100_000
CPU_QUOTA_US = 100_000          # one CPU
V1_CONTROLLERS = ("memory", "pids", "cpu")


class Unavailable(OSError):
    """No usable cgroup here (not root, no controllers, a v2 group that may not have children...)."""


def _own_paths() -> dict[str, str]:
    """``{hierarchy: path}`` from /proc/self/cgroup: ``""`` for v2, the controller names for v1."""
    out = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, names, path = line.rstrip("\n").split(":", 2)
            for name in names.split(",") if names else [""]:
                out[name] = path
    return out


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


class Slot:
    """The group(s) of one grading slot: ``dirs`` are joined by the worker (their ``cgroup.procs``)."""

    def __init__(self, dirs: list[str], v2: bool):
        self.dirs, self.v2 = dirs, v2

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer has ended in this group so far."""
        text = _read(os.path.join(self.dirs[0], "memory.events")) if self.v2 else \
            _read(os.path.join(next((d for d in self.dirs if "/memory/" in d), self.dirs[0]), "memory.oom_control"))
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
        return 0

    def pids(self) -> list[int]:
        out = set()
        for d in self.dirs:
            out.update(int(p) for p in _read(os.path.join(d, "cgroup.procs")).split() if p.isdigit())
        return sorted(out)

    def kill(self) -> None:
        """SIGKILL every process in the group until it is empty (or 2 s have passed)."""
        if self.v2 and os.path.exists(os.path.join(self.dirs[0], "cgroup.kill")):
            try:
                _write(os.path.join(self.dirs[0], "cgroup.kill"), "1")
            except OSError:
                pass
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        self.kill()
        for d in self.dirs:
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


class Groups:
    """The grader's groups: one folder per run, one ``Slot`` per worker slot inside it."""

    def __init__(self, memory_mb: int, pids_max: int = PIDS_MAX, slots: int = 1, companions=()):
        """``companions``: processes of the grader's that live in its group (the warm pool's servers, ``pool.pids``)
        and move with it into a leaf where cgroup v2 requires one."""
        if os.geteuid() != 0:
            raise Unavailable(errno.EPERM, "cgroups need root")
        self.memory_mb, self.pids_max = memory_mb, pids_max
        self.slots: dict[str, Slot] = {}
        own = _own_paths()
        self.v2 = os.path.exists(os.path.join(ROOT, "cgroup.controllers"))
        name = f"backprop-lab-grade-{os.getpid()}"
        if self.v2:
            self.bases = [self._v2_base(os.path.join(ROOT, own.get("", "/").lstrip("/")), name, companions)]
        else:
            missing = [c for c in V1_CONTROLLERS if c not in own or not os.path.isdir(os.path.join(ROOT, c))]
            if missing:
                raise Unavailable(errno.ENOENT, f"no cgroup v1 hierarchy for {', '.join(missing)}")
            self.bases = []
            for c in V1_CONTROLLERS:
                base = os.path.join(ROOT, c, own[c].lstrip("/"), name)
                os.makedirs(base, exist_ok=True)
                self.bases.append(base)
        # The run's group competes for CPU with the machine's other processes as one entity: give it the
        # weight of ``slots`` processes, which is what as many unconfined workers would have had.
        share = ("cpu.weight", str(min(10000, 100 * max(1, slots)))) if self.v2 else \
            ("cpu.shares", str(1024 * max(1, slots)))
        _write(os.path.join(self.bases[0] if self.v2 else self.bases[2], share[0]), share[1])

    @staticmethod
    def _v2_base(own: str, name: str, companions=()) -> str:
        """A child of the grader's own group with memory, pids and cpu enabled for its children."""
        wanted = {"memory", "pids", "cpu"}
        if not wanted <= set(_read(os.path.join(own, "cgroup.controllers")).split()):
            raise Unavailable(errno.ENOENT, f"the cgroup {own} does not offer {', '.join(sorted(wanted))}")
        control = os.path.join(own, "cgroup.subtree_control")
        try:
            _write(control, " ".join("+" + c for c in sorted(wanted)))
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                raise Unavailable(exc.errno, f"cannot enable controllers in {own}: {exc.strerror}") from None
            # "no internal processes": the grader's group holds processes. Move the grader into a leaf
            # of its own group (its other processes stay); that frees the group when the grader was alone.
            leaf = os.path.join(own, "backprop-lab-grader")
            os.makedirs(leaf, exist_ok=True)
            for pid in [os.getpid(), *companions]:
                try:
                    _write(os.path.join(leaf, "cgroup.procs"), str(pid))
                except OSError:
                    pass        # a companion that has exited meanwhile
            try:
                _write(control, " ".join("+" + c for c in sorted(wanted)))
            except OSError as exc2:
                raise Unavailable(exc2.errno, f"cannot enable controllers in {own} (other processes live "
                                              f"there): {exc2.strerror}") from None
        base = os.path.join(own, name)
        os.makedirs(base, exist_ok=True)
        _write(os.path.join(base, "cgroup.subtree_control"), " ".join("+" + c for c in sorted(wanted)))
        return base

    def slot(self, slot: str) -> Slot:
        """The group of ``slot`` (made, with its limits, on first use)."""
        if slot in self.slots:
            return self.slots[slot]
        dirs = [os.path.join(b, f"w{slot}") for b in self.bases]
        for d in dirs:
            os.makedirs(d, exist_ok=True)
        mem = str(self.memory_mb * 2**20) if self.memory_mb else None
        if self.v2:
            d = dirs[0]
            if mem:
                _write(os.path.join(d, "memory.max"), mem)
                _write(os.path.join(d, "memory.swap.max"), "0")
            _write(os.path.join(d, "pids.max"), str(self.pids_max))
            _write(os.path.join(d, "cpu.max"), f"{CPU_QUOTA_US} {CPU_PERIOD_US}")
        else:
            memory, pids, cpu = dirs
            if mem:
                _write(os.path.join(memory, "memory.limit_in_bytes"), mem)
                if os.path.exists(os.path.join(memory, "memory.memsw.limit_in_bytes")):
                    _write(os.path.join(memory, "memory.memsw.limit_in_bytes"), mem)
            _write(os.path.join(pids, "pids.max"), str(self.pids_max))
            _write(os.path.join(cpu, "cpu.cfs_period_us"), str(CPU_PERIOD_US))
            _write(os.path.join(cpu, "cpu.cfs_quota_us"), str(CPU_QUOTA_US))
        self.slots[slot] = Slot(dirs, self.v2)
        return self.slots[slot]

    def remove(self) -> None:
        for s in self.slots.values():
            s.remove()
        for b in self.bases:
            try:
                os.rmdir(b)
            except OSError:
                pass
