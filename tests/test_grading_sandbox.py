"""The grading sandbox seen from the inside: each guarantee the README states, tested at each jail level.

Every test runs cells in a real grading worker (``grading_fixtures.worker_probe``) at every jail level
that works on this machine: "root" (the grader runs as root) and "user" (an unprivileged user
namespace; tested here as root too, which is the same code path: same namespaces, same mounts, no
cgroups, capabilities dropped). Where a guarantee needs the jail, a control run with the jail off
shows that the probe would have caught its absence. The cgroup tests (memory for the whole process
tree, one CPU's worth of time) need root.
"""
from __future__ import annotations

import os
import re
import socket
import sys
import tempfile
import threading
import time

import pytest

from backprop_lab.grading import cgroups, sandbox

sys.path.insert(0, os.path.dirname(__file__))
from grading_fixtures.worker_probe import levels, run_cells  # noqa: E402

LEVELS = levels()
each_level = pytest.mark.parametrize("level", LEVELS or [pytest.param("none", marks=pytest.mark.skip(
    reason="no jail works here: it needs Linux, as root or with unprivileged user namespaces"))])
ROOT_JAIL = pytest.mark.skipif("root" not in LEVELS, reason="cgroups need the grader to run as root (on Linux)")


@pytest.fixture
def cgroup_slot():
    """``cgroup_slot(memory_mb)``: a worker slot's cgroup of a fresh ``Groups`` (removed after the test)."""
    made = []

    def make(memory_mb: int = 1024):
        made.append(cgroups.Groups(memory_mb=memory_mb))
        return made[-1].slot("test")

    yield make
    for groups in made:
        groups.remove()


@each_level
def test_the_worker_sees_an_allow_list_not_the_host(level):
    """Only the Python installation and the package folder are visible: not the repository around an
    editable install (solutions/, tests/, .git), not the check modules' sources, not the home folder."""
    cell = (
        "import os, backprop_lab, backprop_lab.exercises as E\n"
        "pkg = os.path.dirname(backprop_lab.__file__)\n"
        "repo = os.path.dirname(pkg)\n"
        "probe = {'repo': sorted(os.listdir(repo)), 'root': sorted(os.listdir('/')),\n"
        "         'nb01': open(os.path.join(os.path.dirname(E.__file__), 'nb01.py')).read(),\n"
        "         'status': {l.split(':')[0]: l.split(':')[1].strip() for l in open('/proc/self/status')\n"
        "                    if l.startswith(('CapEff', 'CapBnd', 'NoNewPrivs'))},\n"
        "         'uid': os.getuid(), 'pid': os.getpid()}\n")
    r = run_cells([cell], jail=level)
    probe = r["probe"]
    assert isinstance(probe, dict), r
    assert not {"solutions", "tests", ".git", "course", "README.md"} & set(probe["repo"]), probe["repo"]
    assert "backprop_lab" in probe["repo"]
    assert not {"home", "var", "run", "srv", "opt", "mnt"} & set(probe["root"]) - _prefix_tops(), probe["root"]
    assert probe["nb01"] == ""                              # the checks' source: masked
    assert probe["status"] == {"CapEff": "0" * 16, "CapBnd": "0" * 16, "NoNewPrivs": "1"}
    assert probe["pid"] == 1                                # its own PID namespace
    assert probe["uid"] == (65534 if level == "root" else 0)


def _prefix_tops() -> set[str]:
    """Top-level folders that hold the Python installation (visible on purpose)."""
    return {p.split("/")[1] for p in (sys.prefix, sys.base_prefix) if p.count("/") >= 1}


@each_level
def test_listed_paths_are_hidden_wherever_they_are(level, tmp_path):
    """The hide list (the reference package, solutions/, private tests...) is applied generically: a
    fake reference package made inside a visible tree (the venv) is an empty folder in the jail, a
    listed file is empty; the defaults cover backprop_lab/references/ and solutions/ beside the package."""
    if not os.access(sys.prefix, os.W_OK):
        pytest.skip(f"the test makes its fake package in the Python installation ({sys.prefix}), not writable here")
    fake = tempfile.mkdtemp(prefix="bl-fake-references-", dir=sys.prefix)
    try:
        with open(os.path.join(fake, "nb01.py"), "w") as f:
            f.write("def central_difference(f, x, h):\n    return 'SECRET-REFERENCE'\n")
        secret_file = os.path.join(sys.prefix, os.path.basename(fake) + ".txt")
        with open(secret_file, "w") as f:
            f.write("SECRET-FILE")
        cell = (f"import os\nprobe = {{'dir': os.listdir({fake!r}), 'file': open({secret_file!r}).read()}}\n"
                f"try:\n    open({os.path.join(fake, 'x')!r}, 'w')\n    probe['wrote'] = True\n"
                "except OSError as exc:\n    probe['wrote'] = exc.strerror\n")
        r = run_cells([cell], jail=level, hide=[fake, secret_file])
        assert r["probe"]["dir"] == [] and r["probe"]["file"] == "", r
        assert r["probe"]["wrote"] is not True
        control = run_cells([cell], jail="off", hide=[fake, secret_file])
        assert control["probe"]["dir"] == ["nb01.py"] and control["probe"]["file"] == "SECRET-FILE"
    finally:
        for p in (os.path.join(fake, "nb01.py"), os.path.join(fake, "x"), secret_file):
            if os.path.exists(p):
                os.remove(p)
        os.rmdir(fake)
    defaults = sandbox.hidden_paths(course=str(tmp_path))
    assert os.path.join(sandbox.PACKAGE_DIR, "references") in defaults
    assert os.path.join(os.path.dirname(sandbox.PACKAGE_DIR), "solutions") in defaults
    assert os.path.join(str(tmp_path.parent), "solutions") in defaults


WRITES = ["/sys/kernel/mm/transparent_hugepage/enabled", "/proc/sys/vm/swappiness", "/proc/sys/kernel/domainname",
          "/proc/sysrq-trigger", "/etc/passwd", "/usr/bl-probe"]


@each_level
def test_sys_proc_sys_and_the_system_are_read_only(level):
    before = {p: _read(p) for p in WRITES}
    cell = ("import os\nprobe = {}\n"
            f"for p in {WRITES!r}:\n"
            "    try:\n        with open(p, 'w') as f:\n            f.write('never')\n        probe[p] = 'written'\n"
            "    except OSError as exc:\n        probe[p] = exc.strerror\n")
    r = run_cells([cell], jail=level)
    assert all(v != "written" for v in r["probe"].values()), r["probe"]
    assert {p: _read(p) for p in WRITES} == before


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


@each_level
def test_sockets_outside_are_unreachable(level, tmp_path):
    """A Unix socket file of the host, an abstract one, and TCP on the host's loopback: none connects."""
    path = str(tmp_path / "host.sock")
    abstract = f"\0bl-test-{os.getpid()}-{level}"
    servers = []
    for family, address in ((socket.AF_UNIX, path), (socket.AF_UNIX, abstract), (socket.AF_INET, ("127.0.0.1", 0))):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.bind(address)
        s.listen(5)
        servers.append(s)
    port = servers[2].getsockname()[1]
    cell = ("import socket\nprobe = {}\n"
            f"for name, fam, addr in [('file', socket.AF_UNIX, {path!r}), ('abstract', socket.AF_UNIX, {abstract!r}),\n"
            f"                        ('tcp', socket.AF_INET, ('127.0.0.1', {port}))]:\n"
            "    s = socket.socket(fam, socket.SOCK_STREAM)\n    s.settimeout(2)\n"
            "    try:\n        s.connect(addr)\n        probe[name] = 'connected'\n"
            "    except OSError as exc:\n        probe[name] = type(exc).__name__\n")
    try:
        r = run_cells([cell], jail=level)
        assert "connected" not in r["probe"].values(), r["probe"]
        control = run_cells([cell], jail="off")
        assert control["probe"] == {"file": "connected", "abstract": "connected", "tcp": "connected"}
    finally:
        for s in servers:
            s.close()


@each_level
def test_disk_is_a_size_limited_tmpfs(level):
    """Writes land in the worker's own tmpfs (relative paths work) and stop at --disk MB."""
    cell = ("import errno\nprobe = {'written': 0}\nblock = b'x' * 2**20\n"
            "try:\n    for i in range(200):\n        with open(f'file{i}.bin', 'wb') as f:\n            f.write(block)\n"
            "        probe['written'] += 1\nexcept OSError as exc:\n    probe['error'] = errno.errorcode[exc.errno]\n"
            "with open('notes.txt', 'w') as f:\n    f.write('relative paths work')\n")
    r = run_cells([cell, "probe['after'] = 'written' in probe"], jail=level, disk_mb=16)
    assert r["probe"]["error"] == "ENOSPC" and r["probe"]["written"] <= 16, r["probe"]


@each_level
def test_other_workers_folders_are_invisible(level):
    """Two workers at once: the second cannot see or open what the first writes in its own folder."""
    first: dict = {}

    def writer():
        first.update(run_cells(["import os, time\nopen('secret.txt', 'w').write('SECRET OF A')\n"
                                "open('/tmp/where.txt', 'w').write(os.getcwd())\ntime.sleep(4)\nprobe = os.getcwd()"],
                               jail=level))

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(1.5)
    cell = ("import glob, os\nprobe = {'tmp': sorted(os.listdir('/tmp')), 'found': []}\n"
            "for p in glob.glob('/tmp/bl-grade-*/secret.txt') + glob.glob('/tmp/*/secret.txt'):\n"
            "    probe['found'].append(open(p).read())\n")
    second = run_cells([cell], jail=level)
    t.join()
    assert second["probe"]["found"] == [], second["probe"]
    assert all(not n.startswith("bl-grade-") or n == os.path.basename(second["workdir"]) for n in
               second["probe"]["tmp"]), second["probe"]


@each_level
def test_mounts_cannot_be_undone_from_a_nested_user_namespace(level):
    """The kernel locks mounts inherited by a less privileged mount namespace: a submission that makes
    its own user namespace can neither unmount a mask nor make the file system writable."""
    cell = (
        "import ctypes, os, backprop_lab.exercises as E\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "nb01 = os.path.join(os.path.dirname(E.__file__), 'nb01.py')\n"
        "probe = {'unshare': libc.unshare(0x10000000 | 0x00020000)}\n"
        "probe['umount'] = libc.umount2(nb01.encode(), 2)\n"
        "probe['remount'] = libc.mount(None, b'/', None, 32 | 4096, None)\n"
        "probe['nb01'] = open(nb01).read()\n")
    r = run_cells([cell], jail=level)
    assert r["probe"]["umount"] == -1 and r["probe"]["remount"] == -1 and r["probe"]["nb01"] == "", r["probe"]


@each_level
def test_a_detached_process_dies_with_its_notebook(level):
    """A submission's process that leaves the session (setsid, double fork) does not outlive the notebook
    (it would steal CPU from the next one): the PID namespace ends with its first process."""
    token = f"blhog{os.getpid() % 10000}{LEVELS.index(level)}"
    cell = ("import ctypes, os\n"
            "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            f"        ctypes.CDLL(None).prctl(15, {token.encode()!r}, 0, 0, 0)\n"
            "        while True:\n            pass\n    os._exit(0)\n"
            "probe = 'forked'")
    r = run_cells([cell], jail=level)
    assert r["probe"] == "forked"
    time.sleep(0.3)
    assert not _comm_processes(token), "a detached process outlived its notebook"


def _comm_processes(token: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() == token:
                    found.append(int(pid))
        except OSError:
            pass
    return found


@ROOT_JAIL
def test_memory_limit_holds_for_the_whole_process_tree(cgroup_slot):
    """Four forks x 200 MB under a 512 MB limit: the tree never holds more than the limit; the kernel
    ends processes of that tree only (the worker reports what happened to its children)."""
    slot = cgroup_slot(512)
    cell = ("import os\nkids = []\n"
            "for _ in range(4):\n    pid = os.fork()\n    if pid == 0:\n"
            "        b = bytearray(200 * 2**20)\n        for i in range(0, len(b), 4096):\n            b[i] = 1\n"
            "        import time; time.sleep(2)\n        os._exit(0)\n    kids.append(pid)\n"
            "probe = sorted(os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in kids)")
    r = run_cells([cell], jail="root", group=slot, memory_mb=512)
    peak = _peak_bytes(slot)
    assert -9 in r["probe"], r                          # at least one child was OOM-killed
    assert peak is None or peak <= 512 * 2**20 * 1.02, peak


def _peak_bytes(slot) -> int | None:
    for d in slot.dirs:
        for name in ("memory.peak", "memory.max_usage_in_bytes"):
            try:
                with open(os.path.join(d, name)) as f:
                    return int(f.read().split()[0])
            except (OSError, ValueError):
                continue
    return None


@ROOT_JAIL
def test_cpu_use_is_capped_at_one_cpu_however_many_processes(cgroup_slot):
    """Three processes spinning for 1.5 s get at most one CPU's worth of time between them, so a hog
    cannot slow the notebook graded beside it (the measure is an upper bound: a busy machine only
    lowers it)."""
    slot = cgroup_slot()
    cell = ("import os, time\nkids = []\nt0 = time.monotonic()\n"
            "for _ in range(3):\n    pid = os.fork()\n    if pid == 0:\n"
            "        while time.monotonic() - t0 < 1.5:\n            pass\n        os._exit(0)\n    kids.append(pid)\n"
            "for p in kids:\n    os.waitpid(p, 0)\n"
            "t = os.times()\nprobe = {'cpu': t.children_user + t.children_system, 'wall': time.monotonic() - t0}")
    r = run_cells([cell], jail="root", group=slot)
    quota = " ".join(_read(os.path.join(d, n)) or "" for d in slot.dirs for n in ("cpu.max", "cpu.cfs_quota_us"))
    assert re.search(r"\b100000\b", quota), quota
    assert r["probe"]["cpu"] <= 1.0 * r["probe"]["wall"] + 0.3, r["probe"]


@each_level
def test_the_number_of_processes_is_capped(level, cgroup_slot):
    """A fork bomb stops at 64 processes: the pids cgroup as root, RLIMIT_NPROC (counted inside the worker's
    user namespace) without root."""
    if level == "user" and os.geteuid() == 0:
        pytest.skip("the kernel exempts uid 0 from RLIMIT_NPROC: this runs when the tests run as another user")
    cell = ("import os, signal, time\nkids = []\n"
            "try:\n    for _ in range(300):\n        pid = os.fork()\n        if pid == 0:\n"
            "            time.sleep(30)\n            os._exit(0)\n        kids.append(pid)\nexcept OSError:\n    pass\n"
            "for pid in kids:\n    os.kill(pid, signal.SIGKILL)\n    os.waitpid(pid, 0)\nprobe = len(kids)")
    r = run_cells([cell], jail=level, group=cgroup_slot() if level == "root" else None)
    assert 0 < r["probe"] < sandbox.PIDS_MAX, r
