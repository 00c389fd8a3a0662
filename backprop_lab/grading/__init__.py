"""``backprop-lab grade``: grade a folder of submissions into a gradebook and per-student feedback.

    backprop-lab grade SUBMISSIONS --out RESULTS [-j N] [--timeout S] [--grace S] [--memory MB] [--disk MB]
                       [--tests DIR] [--jail auto|root|user|off] [--scheduler ADDRESS | --dask local:N]

The pieces: ``submissions`` (find and read notebooks, compare with the release), ``delegation``
(evidence of answers that use the engine, for review), ``sandbox``, ``jail``, ``cgroups`` and
``worker`` (run a notebook in isolation; ``worker_checks``: what of the checks a worker holds;
``pool``: workers forked from a warm server), ``distributed`` (the same on a Dask cluster),
``grader`` (cases, seeds, judging, restarts), ``report`` (the output files), ``private_tests``
(``--tests``).

Nothing one notebook does, and nothing that goes wrong while grading it, stops the class: an
unexpected error becomes that notebook's ``grader-error`` status, with the traceback in
``RESULTS/grader.log``, and the others are graded. The exit status is 0 when all is well, 3 when
something needs the instructor's look (grader errors, answers for review, name collisions, several
files for one notebook, hidden or unreadable entries: all listed at the end), 2 for bad arguments.

Each finished notebook is saved at once in ``RESULTS/.partial/``; a re-run reuses those whose
submission and settings are unchanged (``--force`` regrades everything, a grader error is never
reused), so an interrupted run loses nothing it finished and a repeated run gives the same files.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed

from ..atomic import write_atomic

NEEDS_A_LOOK = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submissions", help="folder with one sub-folder (or one .zip) per student")
    parser.add_argument("--out", required=True, help="folder for grades.csv, gradebook.csv, feedback/, results.json")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                        help="notebooks graded at the same time (default: the number of CPU cores)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds allowed per cell and per exercise's checks (default 30)")
    parser.add_argument("--notebook-timeout", type=float, default=600.0,
                        help="seconds allowed for a whole notebook, restarts included (default 600)")
    parser.add_argument("--grace", type=float, default=3.0,
                        help="seconds to wait past --timeout before killing code that ignores the timer (default 3)")
    parser.add_argument("--memory", type=int, default=2048,
                        help="memory per notebook in MB: per process everywhere, for all its processes together "
                             "as root on Linux (default 2048)")
    parser.add_argument("--disk", type=int, default=512,
                        help="MB a notebook may write, in the jail (default 512)")
    parser.add_argument("--tests", default=None, help="folder of private tests (*.py with Exercise classes)")
    parser.add_argument("--course", default=None,
                        help="the released notebooks (default: ./course, else the package's copy)")
    parser.add_argument("--force", action="store_true", help="regrade everything, ignoring saved partial results")
    parser.add_argument("--jail", choices=("auto", "root", "user", "off"), default="auto",
                        help="the sandbox: 'root' or 'user' require that level (or stop); 'auto' (default) uses the "
                             "strongest that works here and says which; 'off' runs submissions unconfined")
    parser.add_argument("--no-jail", action="store_true", help="the same as --jail off")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="grade on a Dask cluster: its scheduler's address, e.g. tcp://host:8786 (one task per "
                            "notebook; pip install \"backprop-lab[distributed]\"; -j is then the workers' business)")
    where.add_argument("--dask", metavar="local:N", default=None,
                       help="grade on a Dask cluster of N worker processes started on this machine (local:N)")
    parser.add_argument("--fresh-workers", action="store_true",
                        help="start a new Python for every notebook instead of forking workers from a warm server "
                             "(slower; the sandbox is the same)")


def run(args: argparse.Namespace) -> int:
    if not os.path.isdir(args.submissions):
        print(f"backprop-lab grade: {args.submissions} is not a folder. Give the folder that holds one "
              "folder (or .zip) per student.", file=sys.stderr)
        return 2
    try:
        summary = grade(args.submissions, args.out, jobs=args.jobs, timeout=args.timeout,
                        notebook_timeout=args.notebook_timeout, grace=args.grace, memory_mb=args.memory,
                        disk_mb=args.disk, tests_dir=args.tests, course_dir=args.course, force=args.force,
                        jail="off" if args.no_jail else args.jail, warm=not args.fresh_workers,
                        cluster=args.scheduler or args.dask)
    except (JailUnavailable, ClusterUnavailable, ValueError, FileNotFoundError) as exc:
        print(f"backprop-lab grade: {exc}", file=sys.stderr)
        return 2
    secs = sorted(summary["student_seconds"].items(), key=lambda kv: -kv[1])
    where = f"on the Dask cluster {args.scheduler or args.dask}" if args.scheduler or args.dask else f"with -j {args.jobs}"
    print(f"Graded {summary['notebooks']} notebooks of {summary['students']} students in "
          f"{summary['seconds']:.1f} s ({summary['reused']} reused from an earlier run) {where}.")
    print(f"Sandbox: {summary['jail_text']}")
    print(f"Workers: {summary['workers']}")
    if secs:
        per = [s for _, s in secs]
        print(f"Seconds per student: median {per[len(per) // 2]:.1f}, slowest {secs[0][0]} {secs[0][1]:.1f}.")
    print(f"Wrote {os.path.join(args.out, 'gradebook.csv')}, grades.csv, review.csv, results.json and feedback/.")
    print(f"What the class got wrong: {os.path.join(args.out, 'report.html')} (figures in class_report.csv).")
    if summary["attention"]:
        print(f"\nNeeds a look ({len(summary['attention'])}):", file=sys.stderr)
        for line in summary["attention"]:
            print(f"  - {line}", file=sys.stderr)
        return NEEDS_A_LOOK
    return 0


class JailUnavailable(RuntimeError):
    """The sandbox level asked for (``--jail root`` or ``user``) cannot be used here."""


class ClusterUnavailable(RuntimeError):
    """``--scheduler`` / ``--dask``: Dask is not installed, or the cluster cannot be reached (the message says which)."""


def default_course_dir() -> str | None:
    here = os.path.join(os.getcwd(), "course")
    if os.path.isdir(here):
        return here
    pkg = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "course_notebooks")
    return pkg if os.path.isdir(pkg) else None


def _secret(out: str) -> str:
    path = os.path.join(out, ".secret")
    if os.path.exists(path):
        with open(path) as f:
            return f.read().strip()

    value = secrets.token_hex(16)
    write_atomic(path, value + "\n", mode=0o600)     # private from the moment it has its name
    return value


JAIL_WORDS = {
    "root": "jailed as root: namespaces, allow-list file system, uid 65534, no network",
    "user": "jailed in a user namespace: namespaces, allow-list file system, no capabilities, no network "
            "(no cgroups: memory and CPU are limited per process only)",
    "off": "OFF: submissions run with your permissions (they can read your files and use the network)",
}


def grade(submissions_dir: str, out: str, *, jobs: int = 1, timeout: float = 30.0, notebook_timeout: float = 600.0,
          grace: float = 3.0, startup: float = 60.0, memory_mb: int = 2048, disk_mb: int = 512,
          tests_dir: str | None = None, course_dir: str | None = None, force: bool = False,
          jail: str | bool | None = "auto", progress: bool = True, warm: bool = True,
          cluster: str | None = None) -> dict:
    """Grade every student's notebooks; write the results into ``out``; return a summary dict.

    ``grace`` is how long past ``timeout`` a cell or exercise that defeats the worker's own timer
    (it ignores SIGALRM) runs before its process group is killed; ``startup`` is how long a worker may
    take to start. ``jail``: "auto" (the strongest level that works here), "root", "user" (that level
    or ``JailUnavailable``), "off" or False. ``warm``: fork workers from a warm server (``pool``), else
    start a fresh Python for each. ``cluster``: None grades on this machine (``jobs`` at a time); a
    Dask scheduler's address ("tcp://host:8786") or "local:N" grades on Dask workers (``distributed``),
    each applying ``jail`` on its own machine. ``summary["attention"]`` lists what needs a look.
    """
    from tqdm import tqdm

    from . import grader, report, sandbox, submissions

    t0 = time.monotonic()
    out = os.path.abspath(out)
    os.makedirs(out, exist_ok=True)
    course_dir = course_dir or default_course_dir()
    course = submissions.load_course(course_dir)
    attention: list[str] = []
    settings = grader.prepare(grader.Settings(
        timeout=timeout, notebook_timeout=notebook_timeout, grace=grace, startup=startup, memory_mb=memory_mb,
        tests_dir=tests_dir, course=course, secret=_secret(out), disk_mb=disk_mb,
        hide=sandbox.hidden_paths(submissions=submissions_dir, out=out, tests=tests_dir, course=course_dir)))
    if cluster is None:
        engine = Local(settings, jobs=jobs, jail=jail, warm=warm, course_dir=course_dir)
    else:
        from . import distributed

        engine = distributed.Engine(cluster, settings, jail=jail, warm=warm, course_dir=course_dir)
    attention += engine.attention

    found, problems = submissions.discover(submissions_dir)
    attention += problems
    numbers = {c[:3] for c in course}
    names = sorted(set(course) | {os.path.basename(p) for sub in found for p in sub.files
                                  if submissions.NB_NAME.match(os.path.basename(p))
                                  and os.path.basename(p)[:3] not in numbers})
    names = _dedupe_by_number(names)
    signature = settings.signature()
    jobs_list, results, reused = [], [], 0
    about: dict[str, tuple[list[str], list[str]]] = {}      # student -> (notes for the first notebook, attention)
    for sub in found:
        matched, unexpected = submissions.match_files(sub.files, names)
        notes = list(sub.notes)
        if unexpected:
            notes.append(f"files not graded (no such notebook in the course): {', '.join(unexpected[:10])}")
        about[sub.student] = (notes, list(sub.notes))
        for nb in names:
            if nb not in matched:
                results.append(_not_submitted(sub.student, nb, settings))
                continue
            candidates = matched[nb]
            fp = hashlib.sha256(b"".join(p.encode() + b"\0" + d for p, d in candidates) + signature.encode()
                                + sub.student.encode()).hexdigest()
            saved = _load_partial(out, sub.student, nb, fp) if not force else None
            if saved is not None:
                results.append(saved)
                reused += 1
            else:
                jobs_list.append((sub.student, nb, candidates, fp))

    try:
        with tqdm(total=len(jobs_list), desc="grading", unit="notebook", disable=not progress or None,
                  file=sys.stderr) as bar:
            for res, fp in engine.results(jobs_list):       # as each notebook is done, wherever it was graded
                log = res.pop("grader_log", None)
                if log:
                    report.log(out, log)
                if res["status"] != "grader-error":
                    _save_partial(out, res, fp)
                results.append(res)
                bar.update(1)
    finally:
        engine.close()
    results.sort(key=lambda r: (r["student"], r["notebook"]))
    for r in results:       # what concerns the student as a whole: on the first notebook, and in the notes column
        notes, student_attention = about.get(r["student"], ([], []))
        if names and r["notebook"] == names[0]:
            r["notes"] = notes + r["notes"]
        r["attention"] = student_attention + r.get("attention", [])
    attention += engine.finish(results)
    attention += list(dict.fromkeys(f"{r['student']}: {a}" for r in results for a in r["attention"]))
    student_seconds: dict[str, float] = {}
    for r in results:
        student_seconds[r["student"]] = round(student_seconds.get(r["student"], 0.0) + r["seconds"], 3)
    meta = {"grader_version": grader.GRADER_VERSION, "timeout": timeout, "notebook_timeout": notebook_timeout,
            "grace": grace, "memory_mb": memory_mb, "disk_mb": disk_mb, "notebooks": names, "jail": engine.level,
            "jail_text": engine.jail_text, "cgroups": engine.cgroups, "workers": engine.workers,
            "student_seconds": student_seconds, "attention": attention}
    report.write_all(out, results, meta)
    return {"students": len(found), "notebooks": len(jobs_list) + reused, "reused": reused,
            "seconds": time.monotonic() - t0, "student_seconds": student_seconds, "results": results,
            "attention": attention, "jail": engine.level, "jail_text": engine.jail_text, "workers": engine.workers}


def jail_text(level: str, why_not: str, requested) -> str:
    """The sandbox in words, with why the stronger levels were not used (where that matters)."""
    return JAIL_WORDS[level] + (f" [stronger levels unavailable: {why_not}]" if why_not and level != "off"
                                or level == "off" and requested not in (False, "off") else "")


class Local:
    """Grading on this machine: ``jobs`` notebooks at a time, each in a worker of its own (``sandbox``)."""

    def __init__(self, settings, *, jobs: int, jail, warm: bool, course_dir: str | None):
        from . import cgroups, pool, sandbox

        self.settings, self.jobs = settings, max(1, jobs)
        self.level, why_not = sandbox.jail_level(jail)
        if jail in ("root", "user") and self.level != jail:
            raise JailUnavailable(f"--jail {jail} cannot be used here: {why_not}")
        self.attention: list[str] = []
        self.jail_text = jail_text(self.level, why_not, jail)
        if self.level == "off" and jail not in (False, "off"):
            self.attention.append(f"the sandbox could not be used here ({why_not}): submissions ran unconfined")
        launcher = pool.launcher(pool.course_imports(course_dir), warm=warm)
        self.workers = launcher.describe()
        groups = None
        if self.level == "root":
            try:
                groups = cgroups.Groups(settings.memory_mb, slots=self.jobs, companions=pool.pids())
            except OSError as exc:
                self.attention.append(f"no cgroup for the workers ({exc}): memory is limited per process, processes "
                                      "by RLIMIT_NPROC, and CPU not at all")
        self.cgroups = groups is not None
        settings.jail, settings.groups, settings.launcher = self.level, groups, launcher

    def results(self, items: list):
        """``(result, fingerprint)`` of every item, in the order they finish."""
        slots = list(range(self.jobs))

        def task(item):
            slot = slots.pop()
            try:
                return _grade_one(item, self.settings, str(slot))
            finally:
                slots.append(slot)

        with ThreadPoolExecutor(max_workers=self.jobs) as executor:
            futures = [executor.submit(task, item) for item in items]
            for fut in as_completed(futures):
                yield fut.result()          # _grade_one never raises

    def finish(self, results: list) -> list[str]:
        return []

    def close(self) -> None:
        if self.settings.groups is not None:
            self.settings.groups.remove()


def _grade_one(item, settings, slot: str) -> tuple[dict, str]:
    """Grade every candidate file of one (student, notebook); keep the best; never raises. A grader error
    carries its traceback in ``grader_log`` (the caller writes it to the instructor's log)."""
    from . import grader

    student, nb, candidates, fp = item
    try:
        graded = [grader.grade_notebook(student, nb, path, data, settings, slot) for path, data in candidates]
        best = max(graded, key=lambda r: (sum(x["points"] for x in r["exercises"]), -graded.index(r)))
        best["attention"] = [f"{nb} {x['id']}: {x['message']}" for x in best["exercises"] if x["status"] == "review"]
        if len(graded) > 1:
            scores = ", ".join(f"{r['file']!r} ({_points(r)})" for r in graded)
            note = (f"{len(graded)} files could be {nb}: {scores}; the one with the most points, {best['file']!r}, "
                    "was graded: check it is the one meant")
            best["notes"].insert(0, note)
            best["attention"].insert(0, note)
    except Exception as exc:  # a bug or a broken environment on the grader's side: this notebook only
        best = grader_error(student, nb, settings, exc)
        best["grader_log"] = f"grader error on {student} / {nb}\n{traceback.format_exc()}"
    return best, fp


def _points(r: dict) -> str:
    got = sum(x["points"] for x in r["exercises"])
    return f"{got:g} of {sum(x['max_points'] for x in r['exercises']):g} points"


def grader_error(student: str, nb: str, settings, exc: BaseException | str) -> dict:
    from . import grader

    what = exc if isinstance(exc, str) else f"{type(exc).__name__}: {str(exc)[:300]}"
    msg = (f"the grader failed on this notebook ({what}); it is not the student's doing: the traceback is in "
           "grader.log, and a re-run grades it again")
    try:
        infos = grader.expected_exercises(nb, settings)
    except Exception:  # noqa: BLE001 - the error row must not fail too
        infos = []
    return {"student": student, "notebook": nb, "file": "", "status": "grader-error", "notes": [msg],
            "seconds": 0.0, "exercises": [grader._row(i, "grader-error", msg) for i in infos],
            "attention": [f"{nb}: {msg}"]}


def _dedupe_by_number(names: list[str]) -> list[str]:
    seen, out = set(), []
    for n in names:
        if n[:3] not in seen:
            seen.add(n[:3])
            out.append(n)
    return out


def _not_submitted(student: str, nb: str, settings) -> dict:
    from . import grader

    infos = grader.expected_exercises(nb, settings)
    msg = f"no notebook {nb} was found in this student's submission"
    return {"student": student, "notebook": nb, "file": "", "status": "not-submitted", "notes": [msg],
            "seconds": 0.0, "exercises": [grader._row(i, "not-submitted", msg) for i in infos], "attention": []}


def _partial_path(out: str, student: str, nb: str) -> str:
    return os.path.join(out, ".partial", student, nb + ".json")


def _load_partial(out: str, student: str, nb: str, fp: str) -> dict | None:
    try:
        with open(_partial_path(out, student, nb)) as f:
            saved = json.load(f)
    except (OSError, ValueError):
        return None
    return saved["result"] if isinstance(saved, dict) and saved.get("fingerprint") == fp else None


def _save_partial(out: str, result: dict, fp: str) -> None:

    write_atomic(_partial_path(out, result["student"], result["notebook"]),
                 json.dumps({"fingerprint": fp, "result": result}, default=str))
