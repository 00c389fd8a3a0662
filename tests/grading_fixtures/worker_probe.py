"""Run a few cells in one grading worker, as the grader would, and read back what they found.

``run_cells(cells, jail=...)`` starts a real ``sandbox.Worker`` (jail, limits, sealed checks and all;
forked from this process's warm server, as the grader's are, unless ``launcher`` says otherwise),
runs the cells in order, and returns the cells' statuses and the value of ``probe`` after the last cell
(through the worker's own result channel: a test-only exercise whose ``run`` returns the object).
The sandbox tests use it to look at the worker's world from the inside.
"""
from __future__ import annotations

import shutil
import tempfile
import time

from backprop_lab.grading import protocol, sandbox

PROBE_RUN = "class Probe(_PrivateBase):\n    def run(self, obj, case):\n        return obj\n"


def job_for(cells: list[str], *, jail: str, memory_mb: int = 1536, disk_mb: int = 64, hide=(),
            timeout: float = 30) -> dict:
    return {"cells": [{"index": i, "source": s, "exercise": "99.1" if i == len(cells) - 1 else None}
                      for i, s in enumerate(cells)],
            "exercises": [{"id": "99.1", "target": "probe", "cases": [["probe", protocol.encode({})]]}],
            "private": {"probe": {"base": None, "class": "Probe", "source": PROBE_RUN, "module": "probe",
                                  "attributes": {"id": "99.1", "target": "probe"}}},
            "cell_timeout": timeout, "exercise_timeout": timeout, "max_message": 1 << 24,
            "limits": {"memory_mb": memory_mb, "cpu_seconds": 120, "jail": jail, "hide": list(hide),
                       "disk_mb": disk_mb, "nproc": None if jail == "root" else sandbox.PIDS_MAX}}


def run_cells(cells: list[str], *, jail: str, group=None, deadline: float = 120, launcher=None, **kw) -> dict:
    """``{"cells": {index: (status, error)}, "probe": value, "events": [...], "end": how it ended}``."""
    workdir = tempfile.mkdtemp(prefix="bl-grade-test-")
    w = sandbox.Worker(job_for(cells, jail=jail, **kw), workdir, group, launcher)
    out = {"cells": {}, "probe": None, "events": [], "end": None, "workdir": workdir}
    stop = time.monotonic() + deadline
    try:
        while True:
            ev = w.next_event(stop, 1 << 26)
            if isinstance(ev, str):
                out["end"] = ev
                break
            out["events"].append(ev)
            if ev["ev"] == "cell" and ev["phase"] == "end":
                out["cells"][ev["i"]] = (ev["status"], ev["error"])
            elif ev["ev"] == "case":
                out["probe"] = protocol.decode(ev["value"]) if ev["kind"] == "ok" else ev["error"]
            elif ev["ev"] in ("done", "jail-failed"):
                out["end"] = ev["ev"]
                break
    finally:
        w.kill(ended=out["end"] in ("done", "eof"))
        out["exit"] = w.exit_description()
        shutil.rmtree(workdir, ignore_errors=True)
    return out


def levels() -> list[str]:
    """The jail levels that work on this machine ("root" only as root)."""
    return [level for level in ("root", "user") if sandbox.jail_level(level)[0] == level]
