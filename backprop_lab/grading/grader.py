"""Grade one submitted notebook, and a whole class in parallel.

For one notebook: read it (``submissions``), compare its structure with the release, collect evidence
of delegation for the instructor's review (``delegation``), build every exercise's cases here with a
seed only the grader knows, run the notebook and the cases in a worker (``sandbox``, ``worker``), and
judge the plain answers here with the exercise's ``expected`` and ``compare``. Every message from the
worker is checked (``protocol.event``) and must come in the order the worker's program sends them; a
message that breaks the protocol counts as a crash of whatever was running. A worker that dies or
hangs is killed with everything it started; the notebook is then run again without the cell (or the
exercise) that killed it, so one fault costs only what it touched.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from . import delegation, mistakes, protocol, sandbox, submissions, worker_checks
from .private_tests import extra_cases_for, is_private, load_sources, read_dir, worker_spec

GRADER_VERSION = "3"        # 3: an exercise's result names its mistake (detail["mistake"])
GRACE = 3.0            # default seconds the parent waits beyond a worker's own soft limit before killing it
STARTUP = 60.0         # default seconds a worker may take to start (imports), on top of the notebook limit
MAX_RESTARTS = 4


class GraderError(RuntimeError):
    """Something went wrong on the grader's side (not the submission's): the notebook needs a look."""


@dataclass
class Settings:
    timeout: float = 30.0                 # per cell and per exercise (all its cases), seconds
    notebook_timeout: float = 600.0       # the whole notebook, all its runs together
    grace: float = GRACE                  # extra wait for a worker that ignores its own soft limit
    startup: float = STARTUP              # time a worker may take to start
    memory_mb: int = 2048
    tests_dir: str | None = None
    course: dict = field(default_factory=dict)           # {name: submissions.Released}
    secret: str = "backprop-lab"
    jail: str = "off"                     # "root", "user" or "off": see sandbox.jail_level
    groups: object = None                 # cgroups.Groups (root) or None
    launcher: object = None               # pool.Server or pool.Spawn; None: pool.launcher()
    disk_mb: int = 512                    # the worker's writable tmpfs (jail only)
    hide: list = field(default_factory=list)
    max_answer_bytes: int = 64 * 2**20
    private_sources: list = field(default_factory=list)
    private: dict = field(default_factory=dict)           # key -> instance adding cases to a course exercise
    private_specs: dict = field(default_factory=dict)     # key or "new:ID" -> what the worker gets of it

    def signature(self) -> str:
        course = {k: [v.exercises.__repr__(), v.provided, v.exercise_sources] for k, v in self.course.items()}
        text = json.dumps([GRADER_VERSION, self.timeout, self.notebook_timeout, self.grace, self.memory_mb,
                           self.secret, self.private_sources, course], default=str, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def prepare(settings: Settings) -> Settings:
    from backprop_lab.exercises import framework

    if settings.tests_dir or not settings.private_sources:      # a Dask worker gets the sources, not the folder
        settings.private_sources = read_dir(settings.tests_dir)
    settings.private = load_sources(settings.private_sources)
    settings.private_specs = {key: worker_spec(type(ex), settings.private_sources)
                              for key, ex in settings.private.items()}
    for xid, ex in list(framework.REGISTRY.items()):
        if is_private(ex):
            settings.private_specs["new:" + xid] = worker_spec(type(ex), settings.private_sources)
    return settings


def seed_for(settings: Settings, student: str, exercise: str, key: str = "") -> int:
    digest = hashlib.sha256(f"{settings.secret}|{student}|{exercise}|{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def expected_exercises(name: str, settings: Settings) -> list[submissions.ExerciseInfo]:
    """The exercises of notebook ``name``: from the release when known, else from the course's catalog."""
    from backprop_lab.exercises import framework

    rel = settings.course.get(name)
    if rel is not None:
        infos = [submissions.ExerciseInfo(x.id, x.points, x.task) for x in rel.exercises]
    else:
        infos = [submissions.ExerciseInfo(xid, float(x.points), x.title)
                 for xid, x in framework.all_exercises().items() if xid.split(".")[0] == name[:2]]
    for info in infos:
        try:
            info.target = framework.get(info.id).target
        except (KeyError, LookupError):
            info.target = ""
    return infos


def _row(info, status, message="", points=0.0, seconds=0.0, passed=0, total=0, detail=None) -> dict:
    return {"id": info.id, "task": info.task, "points": round(float(points), 2), "max_points": info.points,
            "status": status, "seconds": round(seconds, 3), "message": message, "passed": passed,
            "total": total, "detail": detail or {}}


def grade_notebook(student: str, name: str, file_name: str, data: bytes, settings: Settings,
                   slot: str = "0") -> dict:
    """Grade one submitted notebook; never raises for anything the submission does."""
    start = time.monotonic()
    infos = expected_exercises(name, settings)
    result = {"student": student, "notebook": name, "file": file_name, "status": "ok", "notes": [],
              "exercises": [], "seconds": 0.0}
    try:
        nb, notes = submissions.read_notebook(data, f"'{file_name}'")
    except submissions.Malformed as exc:
        result.update(status="malformed", notes=[str(exc)])
        result["exercises"] = [_row(i, "malformed", str(exc)) for i in infos]
        result["seconds"] = round(time.monotonic() - start, 3)
        return result
    result["notes"] += notes
    released = settings.course.get(name)
    struct = submissions.inspect_structure(nb, released, name)
    result["notes"] += struct.notes
    if struct.wrong_notebook:
        result.update(status="wrong-notebook")
        result["exercises"] = [_row(i, "wrong-notebook", struct.wrong_notebook) for i in infos]
        result["seconds"] = round(time.monotonic() - start, 3)
        return result
    if any("edited" in n or "deleted" in n or "re-ordered" in n for n in struct.notes):
        result["status"] = "edited"

    code_cells = [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    all_sources = [s for _, s in code_cells]
    ex_idx = {i for idx in struct.exercise_cells.values() for i in idx}
    provided = {h for _, h in released.provided} if released else set()
    added = [s for i, s in code_cells if i not in ex_idx and submissions.cell_hash(s) not in provided] \
        if released else []

    from backprop_lab.exercises import framework

    rows: dict[str, dict] = {}
    tasks, plans, evidence, private = [], {}, {}, {}
    for info in infos:
        cells = struct.exercise_cells.get(info.id, [])
        if not cells:
            rows[info.id] = _row(info, "missing", f"the exercise cell of {info.id} is missing (deleted, or its "
                                 "metadata was lost): copy the cell back from the handed-out notebook, answer in it")
            continue
        try:
            ex = framework.get(info.id)
        except (KeyError, LookupError):
            rows[info.id] = _row(info, "ungraded", f"the grader has no check for exercise {info.id}")
            continue
        sources = [nb.cells[i].source for i in cells]
        if any(delegation.parse(s) is None for s in sources):
            rows[info.id] = _row(info, "syntax-error", "the exercise cell has a syntax error (see the cell's "
                                 "error in Jupyter), so it could not run")
            # the cell still runs in the worker: a later cell may define the target
        flagged = []
        for src in sources:
            flagged += delegation.check_cell(src, released.exercise_sources.get(info.id) if released else None,
                                             all_sources, added, tuple(getattr(ex, "allowed_references", ())))
        if flagged:
            evidence[info.id] = sorted(set(flagged))
        cases = [("", c) for c in ex.cases(np.random.default_rng(seed_for(settings, student, info.id)))]
        for key, extra in extra_cases_for(settings.private, info.id):
            cases += [(key, c) for c in extra.cases(np.random.default_rng(seed_for(settings, student, info.id, key)))]
        plans[info.id] = (ex, cases)
        tasks.append({"id": info.id, "target": ex.target or info.target,
                      "cases": [[k, protocol.encode(c)] for k, c in cases]})
        for key in {k for k, _ in cases} | ({"new:" + info.id} if is_private(ex) else set()):
            if key:
                private[key] = settings.private_specs[key]

    owner = {i: xid for xid, idx in struct.exercise_cells.items() for i in idx}
    # an exercise whose check runs reference code (09.4 runs the learner's loop with the course's backward pass)
    # is graded by a worker of its own: the solutions it holds must not be in the worker that grades them
    late = [t for t in tasks if worker_checks.references_of(plans[t["id"]][0])]
    early = [t for t in tasks if t not in late]
    runs = None
    for group in ([early] if early or not late else []) + [[t] for t in late]:
        more = _run_worker(code_cells, group, private, settings, slot, start, owner)
        if runs is None:
            runs = more
            continue
        for key in ("cases", "found", "ex_fault"):
            runs[key].update(more[key])
        runs["notes"] += [n for n in more["notes"] if n not in runs["notes"]]
        runs["notebook_timeout"] |= more["notebook_timeout"]
    result["notes"] += runs["notes"]
    if runs["notebook_timeout"]:
        result["status"] = "timeout"

    for info in infos:
        if info.id in rows and rows[info.id]["status"] != "syntax-error":
            continue
        if info.id not in plans:
            continue
        ex, cases = plans[info.id]
        rows[info.id] = _judge(info, ex, cases, runs, struct.exercise_cells.get(info.id, []), settings,
                               rows.get(info.id))
        if info.id in evidence:
            _for_review(rows[info.id], evidence[info.id])
    result["exercises"] = [rows[i.id] for i in infos]
    result["seconds"] = round(time.monotonic() - start, 3)
    return result


def _run_worker(code_cells, tasks, private, settings: Settings, slot: str, start: float, owner: dict) -> dict:
    """Run the notebook and the cases, restarting past whatever kills the worker. Collects all events.

    ``owner`` maps a cell index to the exercise id it holds: the worker grades the object the exercise
    cell defined, as it was right after that cell ran (a later ``use(...)`` may rebind the name).
    Raises ``GraderError`` when the worker could not even start (the jail failed, say).
    """
    out = {"cells": {}, "cases": {}, "found": {}, "ex_fault": {}, "notes": [], "notebook_timeout": False}
    skip_cells: set[int] = set()
    todo = list(tasks)
    deadline = start + settings.notebook_timeout
    restarts = 0
    group = settings.groups.slot(slot) if settings.groups is not None else None
    while True:
        workdir = tempfile.mkdtemp(prefix="bl-grade-")
        job = {"cells": [{"index": i, "source": s, "exercise": owner.get(i)} for i, s in code_cells
                         if i not in skip_cells],
               "exercises": todo, "private": private,
               "cell_timeout": settings.timeout, "exercise_timeout": settings.timeout,
               "max_message": settings.max_answer_bytes,
               "limits": {"memory_mb": settings.memory_mb, "cpu_seconds": int(settings.notebook_timeout + 30),
                          "jail": settings.jail, "hide": settings.hide, "disk_mb": settings.disk_mb,
                          "nproc": None if group is not None else sandbox.PIDS_MAX}}
        worker = sandbox.Worker(job, workdir, group, settings.launcher)
        state = _Sequence(job)
        phase_deadline = min(deadline, time.monotonic() + settings.startup) if restarts == 0 else deadline
        end = None
        try:
            while True:
                ev = worker.next_event(min(phase_deadline, deadline + (settings.startup if state.phase == "start"
                                                                       else 0)), settings.max_answer_bytes * 4,
                                       max_line=settings.max_answer_bytes + 2**20)
                if isinstance(ev, str):
                    end = ev
                    break
                why = state.accept(ev)
                if why:
                    worker.bad, end = why, "garbage"
                    break
                kind = ev["ev"]
                if kind == "jail-failed":
                    raise GraderError(f"the grading worker could not enter its jail: {ev['error']}")
                if kind == "ready":
                    phase_deadline = deadline
                elif kind == "cell" and ev["phase"] == "start":
                    phase_deadline = min(deadline, time.monotonic() + settings.timeout + settings.grace)
                elif kind == "cell":
                    out["cells"][ev["i"]] = (ev["status"], ev["error"][:2000])
                    phase_deadline = deadline
                elif kind == "ex" and ev["phase"] == "start":
                    phase_deadline = min(deadline, time.monotonic() + settings.timeout + settings.grace)
                elif kind == "case":
                    out["cases"].setdefault(ev["id"], {})[ev["k"]] = ev
                elif kind == "ex":
                    out["found"][ev["id"]] = ev["found"]
                    phase_deadline = deadline
                elif kind == "done":
                    end = "done"
                    break
        finally:
            worker.kill(ended=end in ("eof", "done"))
            why = worker.exit_description()
            shutil.rmtree(workdir, ignore_errors=True)
        if end == "done":
            return out
        phase, where = state.phase, state.where
        if phase == "start" and end == "eof":
            raise GraderError(f"the grading worker ended before it was ready (it {why})")
        timed_out = end == "timeout"
        over = time.monotonic() >= deadline
        if end == "flood":
            what = "sent more output than the grader accepts"
        elif end == "garbage":
            what = f"sent a message the grader does not accept ({worker.bad[:200]})"
        elif timed_out:
            what = f"ran past its {settings.timeout:g} s limit and was stopped (its whole process group killed)"
        else:
            what = f"ended the Python process (it {why})"
        if over:
            what = f"reached the notebook's {settings.notebook_timeout:g} s limit; everything was stopped"
            out["notebook_timeout"] = True
        if phase == "cell" and where is not None:
            out["cells"][where] = ("timeout" if timed_out else "crash", what)
            out["notes"].append(f"cell {where + 1} {what}; the notebook was run again without it")
            skip_cells.add(where)
        elif phase == "ex" and where is not None:
            out["ex_fault"][where] = ("timeout" if timed_out else "crash", what)
        else:
            out["notes"].append(f"the grading process {what} ({phase})")
        done_ids = set(out["found"]) | set(out["ex_fault"])
        todo = [t for t in todo if t["id"] not in done_ids]
        restarts += 1
        if over or restarts > MAX_RESTARTS or (not todo and phase != "cell"):
            for t in todo:
                out["ex_fault"].setdefault(t["id"], ("timeout" if over else "crash",
                                                     "was not graded: " + what))
            return out
        if not todo and phase == "cell":
            return out


class _Sequence:
    """The order the worker's own program sends its events in; anything else is refused.

    ``phase`` is "start" (before "ready"), "between", "cell" or "ex"; ``where`` the cell index or the
    exercise id being run.
    """

    def __init__(self, job: dict):
        self.cells = [c["index"] for c in job["cells"]]
        self.cases = {t["id"]: len(t["cases"]) for t in job["exercises"]}
        self.phase, self.where = "start", None
        self.next_cell = 0
        self.exercises_done: set[str] = set()
        self.seen: set[int] = set()

    def accept(self, ev: dict) -> str:
        """'' when ``ev`` may come now (and the state moves on), else why not."""
        kind, phase = ev["ev"], ev.get("phase")
        if kind in ("jail-failed", "ready"):
            if self.phase != "start":
                return f"'{kind}' after the start"
            self.phase = "between"
            return ""
        if self.phase == "start":
            return f"'{kind}' before the worker was ready"
        if kind == "cell" and phase == "start":
            if self.phase != "between" or self.next_cell >= len(self.cells) or ev["i"] != self.cells[self.next_cell]:
                return f"cell {ev['i']} started out of order"
            self.phase, self.where = "cell", ev["i"]
            self.next_cell += 1
        elif kind == "cell":
            if self.phase != "cell" or ev["i"] != self.where:
                return f"cell {ev['i']} ended out of order"
            self.phase, self.where = "between", None
        elif kind == "ex" and phase == "start":
            if self.phase != "between" or ev["id"] not in self.cases or ev["id"] in self.exercises_done:
                return f"exercise {ev['id'][:20]!r} started out of order"
            self.phase, self.where, self.seen = "ex", ev["id"], set()
        elif kind == "case":
            if self.phase != "ex" or ev["id"] != self.where or not 0 <= ev["k"] < self.cases[self.where] \
                    or ev["k"] in self.seen:
                return f"a result for case {ev['k']} of {ev['id'][:20]!r} out of order"
            self.seen.add(ev["k"])
        elif kind == "ex":
            if self.phase != "ex" or ev["id"] != self.where:
                return f"exercise {ev['id'][:20]!r} ended out of order"
            self.exercises_done.add(self.where)
            self.phase, self.where = "between", None
        elif kind == "done" and self.phase != "between":
            return "'done' in the middle of a cell or an exercise"
        return ""


def _for_review(row: dict, evidence: list[str]) -> None:
    """Mark an answer that earned points but uses the engine where the exercise asks for own code."""
    row["detail"] = dict(row.get("detail") or {}, review=evidence)
    if row["points"] > 0:
        row["status"] = "review"
        row["message"] = (f"{row['message']}; for the instructor's review: the answer uses "
                          f"{'; '.join(evidence[:4])}, where the exercise asks for your own code")


def _judge(info, ex, cases, runs, cells, settings, prior) -> dict:
    from backprop_lab.exercises import framework

    got = runs["cases"].get(info.id, {})
    fault = runs["ex_fault"].get(info.id)
    cell_status = [runs["cells"].get(i, ("not-run", "")) for i in cells]
    seconds = sum(float(e.get("sec", 0) or 0) for e in got.values())
    if not runs["found"].get(info.id, False) and not got:
        status, msg = _why_missing(info, ex, cell_status, fault, prior)
        return _row(info, status, msg, seconds=seconds, total=len(cases))
    outcomes, statuses = [], []
    for k, (key, case) in enumerate(cases):
        ev = got.get(k)
        judge_ex = settings.private.get(key, ex) if key else ex
        if ev is None:
            outcomes.append(None)
            statuses.append(fault[0] if fault else "timeout")
            continue
        kind = ev.get("kind")
        if kind == "ok":
            try:
                value = protocol.decode(ev.get("value"))
            except (ValueError, KeyError, TypeError) as exc:
                kind, value = "error", f"the answer could not be read: {exc}"
        else:
            value = str(ev.get("error", ""))
        o = framework.judge(judge_ex, case, "ok" if kind == "ok" else ("todo" if kind == "todo" else "error"), value)
        outcomes.append((key, o))
        statuses.append(o.status if kind in ("ok", "todo", "error") else kind)
    passed = statuses.count("pass")
    points = info.points * passed / len(cases) if cases else 0.0
    judged = [o for _, o in filter(None, outcomes)]
    if judged and framework.hardcoded(judged):
        first_fail = next(o for o in judged if o.status == "fail")
        first_fail.mismatch = framework.Mismatch(first_fail.mismatch.message, framework.hints.HARDCODED)
    if passed == len(cases):
        status = "pass"
    elif fault or "timeout" in statuses or "crash" in statuses:
        status = fault[0] if fault else ("timeout" if "timeout" in statuses else "crash")
    elif "memory" in statuses:
        status = "memory"
    elif passed:
        status = "partial"
    elif all(s == "todo" for s in statuses):
        status = "todo"
    elif "fail" in statuses:
        status = "fail"
    else:
        status = "error"
    detail, message = {}, f"{passed} of {len(cases)} checks passed"
    first = next(((i, p) for i, p in enumerate(outcomes) if p is None or p[1].status != "pass"), None)
    if first is not None:
        i, p = first
        if p is None:
            detail = {"problem": f"exercise {fault[1] if fault else 'was stopped'}"}
        else:
            key, o = p
            private = bool(key)
            detail = {"private": private,
                      "input": "" if private else judge_ex_describe(ex, o.case),
                      "problem": _capped(o.mismatch.message if o.mismatch and not private else
                                         ("a private test failed" if private and o.status == "fail" else o.error)),
                      "hint": _capped(o.mismatch.hint if o.mismatch else "")}
            if detail["hint"]:      # the mistake's name, for the class report (``mistakes``)
                judge_ex = settings.private.get(key, ex) if key else ex
                detail["mistake"], detail["mistake_label"] = mistakes.identify(
                    detail["hint"], [type(ex).__module__, type(judge_ex).__module__])
            if statuses[i] in ("timeout", "memory", "too-large"):
                detail["problem"] = o.error
        message += ": " + (detail.get("problem") or "").splitlines()[-1][:300] if detail.get("problem") else ""
        if fault:
            message += f" (exercise {fault[1]})"
    return _row(info, status, message, points, seconds, passed, len(cases), detail)


def _capped(text, limit: int = protocol.MAX_TEXT) -> str:
    """A problem or hint as the feedback and the reports keep it: a check fills its templates with what the
    worker sent, which can be megabytes (a forged answer), and a hint is at most a few hundred characters."""
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def judge_ex_describe(ex, case) -> str:
    try:
        return ex.describe(case)
    except Exception:
        return ""


def _why_missing(info, ex, cell_status, fault, prior) -> tuple[str, str]:
    target = ex.target or info.target
    if fault:
        return fault[0], f"exercise {info.id} {fault[1]}"
    for status, error in cell_status:
        if status == "todo":
            return "todo", f"not done yet: the exercise cell still raises NotImplementedError ({error[:200]})"
        if status == "syntax-error":
            return "syntax-error", f"the exercise cell has a syntax error, so `{target}` was never defined: {error[-300:]}"
        if status in ("timeout", "crash"):
            return status, f"the exercise cell {error}; `{target}` was never defined"
        if status == "memory":
            return "memory", f"the exercise cell ran out of memory; `{target}` was never defined"
        if status == "error":
            last = error.strip().splitlines()[-1] if error.strip() else "an error"
            return "error", f"the exercise cell raised {last}, so `{target}` was never defined"
    if prior:
        return prior["status"], prior["message"]
    return "missing", f"the notebook does not define `{target}` (was it renamed?): the grader looks for that name"
