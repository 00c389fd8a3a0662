"""``backprop-lab grade``: grade a folder of submissions into a gradebook and per-student feedback.

    backprop-lab grade SUBMISSIONS --out RESULTS [-j N] [--timeout S] [--grace S] [--memory MB] [--disk MB]
                       [--tests DIR] [--jail auto|root|user|off]

The pieces: ``submissions`` (find and read notebooks, compare with the release), ``delegation``
(evidence of answers that use the engine, for review), ``sandbox``, ``jail``, ``cgroups`` and
``worker`` (run a notebook in isolation; ``worker_checks``: what of the checks a worker holds),
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
                        jail="off" if args.no_jail else args.jail, warm=not args.fresh_workers)
    except (JailUnavailable, ValueError, FileNotFoundError) as exc:
        print(f"backprop-lab grade: {exc}", file=sys.stderr)
        return 2
    secs = sorted(summary["student_seconds"].items(), key=lambda kv: -kv[1])
    print(f"Graded {summary['notebooks']} notebooks of {summary['students']} students in "
          f"{summary['seconds']:.1f} s ({summary['reused']} reused from an earlier run) with -j {args.jobs}.")
    print(f"Sandbox: {summary['jail_text']}")
    print(f"Workers: {summary['workers']}")
    if secs:
        per = [s for _, s in secs]
        print(f"Seconds per student: median {per[len(per) // 2]:.1f}, slowest {secs[0][0]} {secs[0][1]:.1f}.")
    print(f"Wrote {os.path.join(args.out, 'gradebook.csv')}, grades.csv, review.csv, results.json and feedback/.")
    if summary["attention"]:
        print(f"\nNeeds a look ({len(summary['attention'])}):", file=sys.stderr)
        for line in summary["attention"]:
            print(f"  - {line}", file=sys.stderr)
        return NEEDS_A_LOOK
    return 0


class JailUnavailable(RuntimeError):
    """The sandbox level asked for (``--jail root`` or ``user``) cannot be used here."""


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
    from .report import atomic_write

    value = secrets.token_hex(16)
    atomic_write(path, value + "\n")
    os.chmod(path, 0o600)
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
          jail: str | bool | None = "auto", progress: bool = True, warm: bool = True) -> dict:
    """Grade every student's notebooks; write the results into ``out``; return a summary dict.

    ``grace`` is how long past ``timeout`` a cell or exercise that defeats the worker's own timer
    (it ignores SIGALRM) runs before its process group is killed; ``startup`` is how long a worker may
    take to start. ``jail``: "auto" (the strongest level that works here), "root", "user" (that level
    or ``JailUnavailable``), "off" or False. ``warm``: fork workers from a warm server (``pool``), else
    start a fresh Python for each. ``summary["attention"]`` lists what needs a look.
    """
    from tqdm import tqdm

    from . import cgroups, grader, pool, report, sandbox, submissions

    t0 = time.monotonic()
    out = os.path.abspath(out)
    os.makedirs(out, exist_ok=True)
    course_dir = course_dir or default_course_dir()
    course = submissions.load_course(course_dir)
    level, why_not = sandbox.jail_level(jail)
    if jail in ("root", "user") and level != jail:
        raise JailUnavailable(f"--jail {jail} cannot be used here: {why_not}")
    attention: list[str] = []
    jail_text = JAIL_WORDS[level] + (f" [stronger levels unavailable: {why_not}]" if why_not and level != "off"
                                     or level == "off" and jail not in (False, "off") else "")
    if level == "off" and jail not in (False, "off"):
        attention.append(f"the sandbox could not be used here ({why_not}): submissions ran unconfined")
    groups = None
    launcher = pool.launcher(pool.course_imports(course_dir), warm=warm)
    if level == "root":
        try:
            groups = cgroups.Groups(memory_mb, slots=jobs, companions=pool.pids())
        except OSError as exc:
            attention.append(f"no cgroup for the workers ({exc}): memory is limited per process, processes by "
                             "RLIMIT_NPROC, and CPU not at all")
    settings = grader.prepare(grader.Settings(
        timeout=timeout, notebook_timeout=notebook_timeout, grace=grace, startup=startup, memory_mb=memory_mb,
        tests_dir=tests_dir, course=course, secret=_secret(out), jail=level, groups=groups, launcher=launcher,
        disk_mb=disk_mb,
        hide=sandbox.hidden_paths(submissions=submissions_dir, out=out, tests=tests_dir, course=course_dir)))

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

    slots = list(range(max(1, jobs)))
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool, \
                tqdm(total=len(jobs_list), desc="grading", unit="notebook", disable=not progress or None,
                     file=sys.stderr) as bar:
            def task(item, slot_box=slots):
                slot = slot_box.pop()
                try:
                    return _grade_one(item, settings, str(slot), out)
                finally:
                    slot_box.append(slot)

            futures = [pool.submit(task, item) for item in jobs_list]
            for fut in as_completed(futures):
                res, fp = fut.result()          # _grade_one never raises
                if res["status"] != "grader-error":
                    _save_partial(out, res, fp)
                results.append(res)
                bar.update(1)
    finally:
        if groups is not None:
            groups.remove()
    results.sort(key=lambda r: (r["student"], r["notebook"]))
    for r in results:       # what concerns the student as a whole: on the first notebook, and in the notes column
        notes, student_attention = about.get(r["student"], ([], []))
        if names and r["notebook"] == names[0]:
            r["notes"] = notes + r["notes"]
        r["attention"] = student_attention + r.get("attention", [])
    attention += list(dict.fromkeys(f"{r['student']}: {a}" for r in results for a in r["attention"]))
    student_seconds: dict[str, float] = {}
    for r in results:
        student_seconds[r["student"]] = round(student_seconds.get(r["student"], 0.0) + r["seconds"], 3)
    meta = {"grader_version": grader.GRADER_VERSION, "timeout": timeout, "notebook_timeout": notebook_timeout,
            "grace": grace, "memory_mb": memory_mb, "disk_mb": disk_mb, "notebooks": names, "jail": level,
            "jail_text": jail_text, "cgroups": groups is not None, "student_seconds": student_seconds,
            "attention": attention}
    report.write_all(out, results, meta)
    return {"students": len(found), "notebooks": len(jobs_list) + reused, "reused": reused,
            "seconds": time.monotonic() - t0, "student_seconds": student_seconds, "results": results,
            "attention": attention, "jail": level, "jail_text": jail_text, "workers": launcher.describe()}


def _grade_one(item, settings, slot: str, out: str) -> tuple[dict, str]:
    """Grade every candidate file of one (student, notebook); keep the best; never raises."""
    from . import grader, report

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
        report.log(out, f"grader error on {student} / {nb}\n{traceback.format_exc()}")
        best = _grader_error(student, nb, settings, exc)
    return best, fp


def _points(r: dict) -> str:
    got = sum(x["points"] for x in r["exercises"])
    return f"{got:g} of {sum(x['max_points'] for x in r['exercises']):g} points"


def _grader_error(student: str, nb: str, settings, exc: BaseException) -> dict:
    from . import grader

    msg = (f"the grader failed on this notebook ({type(exc).__name__}: {str(exc)[:300]}); it is not the "
           "student's doing: the traceback is in grader.log, and a re-run grades it again")
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
    from .report import atomic_write

    atomic_write(_partial_path(out, result["student"], result["notebook"]),
                 json.dumps({"fingerprint": fp, "result": result}, default=str))
