"""``backprop-lab grade``: grade a folder of submissions into a gradebook and per-student feedback.

    backprop-lab grade SUBMISSIONS --out RESULTS [-j N] [--timeout S] [--grace S] [--memory MB] [--tests DIR]

The pieces: ``submissions`` (find and read notebooks, compare with the release), ``delegation`` (flag
answers that call the reference engine), ``sandbox`` and ``worker`` (run a notebook in isolation),
``grader`` (cases, seeds, judging, restarts), ``report`` (the output files), ``private_tests`` (``--tests``).

Each finished notebook is saved at once in ``RESULTS/.partial/``; a re-run reuses those whose
submission and settings are unchanged (``--force`` regrades everything), so an interrupted run loses
nothing it finished and a repeated run gives the same files.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed


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
    parser.add_argument("--memory", type=int, default=2048, help="address-space limit per notebook in MB (default 2048)")
    parser.add_argument("--tests", default=None, help="folder of private tests (*.py with Exercise classes)")
    parser.add_argument("--course", default=None,
                        help="the released notebooks (default: ./course, else the package's copy)")
    parser.add_argument("--force", action="store_true", help="regrade everything, ignoring saved partial results")
    parser.add_argument("--no-jail", action="store_true",
                        help="do not use the namespace/read-only jail even where it is available")


def run(args: argparse.Namespace) -> int:
    if not os.path.isdir(args.submissions):
        print(f"backprop-lab grade: {args.submissions} is not a folder. Give the folder that holds one "
              "folder (or .zip) per student.", file=sys.stderr)
        return 2
    summary = grade(args.submissions, args.out, jobs=args.jobs, timeout=args.timeout,
                    notebook_timeout=args.notebook_timeout, grace=args.grace, memory_mb=args.memory,
                    tests_dir=args.tests, course_dir=args.course, force=args.force, jail=None if not args.no_jail else False)
    secs = sorted(summary["student_seconds"].items(), key=lambda kv: -kv[1])
    print(f"Graded {summary['notebooks']} notebooks of {summary['students']} students in "
          f"{summary['seconds']:.1f} s ({summary['reused']} reused from an earlier run) with -j {args.jobs}.")
    if secs:
        per = [s for _, s in secs]
        print(f"Seconds per student: median {per[len(per) // 2]:.1f}, slowest {secs[0][0]} {secs[0][1]:.1f}.")
    print(f"Wrote {os.path.join(args.out, 'gradebook.csv')}, grades.csv, results.json and feedback/.")
    return 0


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


def grade(submissions_dir: str, out: str, *, jobs: int = 1, timeout: float = 30.0, notebook_timeout: float = 600.0,
          grace: float = 3.0, startup: float = 60.0, memory_mb: int = 2048, tests_dir: str | None = None,
          course_dir: str | None = None, force: bool = False, jail: bool | None = None,
          progress: bool = True) -> dict:
    """Grade every student's notebooks; write the results into ``out``; return a summary dict.

    ``grace`` is how long past ``timeout`` a cell or exercise that defeats the worker's own timer
    (it ignores SIGALRM) runs before its process group is killed; ``startup`` is how long a worker may
    take to start. ``jail=None`` uses the namespace jail where ``sandbox.jail_available()``; a jail
    that turns out not to work here is switched off on the first failed start (see ``grader.jail_failed``).
    """
    from tqdm import tqdm

    from . import grader, report, sandbox, submissions

    t0 = time.monotonic()
    out = os.path.abspath(out)
    os.makedirs(out, exist_ok=True)
    course_dir = course_dir or default_course_dir()
    course = submissions.load_course(course_dir)
    hide = [os.path.abspath(p) for p in (submissions_dir, out, tests_dir) if p]
    for base in filter(None, [course_dir and os.path.dirname(os.path.abspath(course_dir)), os.getcwd()]):
        if os.path.isdir(os.path.join(base, "solutions")):
            hide.append(os.path.join(base, "solutions"))
    settings = grader.prepare(grader.Settings(
        timeout=timeout, notebook_timeout=notebook_timeout, grace=grace, startup=startup, memory_mb=memory_mb,
        tests_dir=tests_dir, course=course, secret=_secret(out), hide=hide))
    settings.jail = sandbox.jail_available() if jail is None else jail

    found = submissions.discover(submissions_dir)
    names = sorted(set(course) | {fn for files in found.values() for fn in files
                                  if submissions.NB_NAME.match(fn) and fn[:3] not in {c[:3] for c in course}})
    names = _dedupe_by_number(names)
    signature = settings.signature()
    jobs_list, results, reused = [], [], 0
    extra_notes: dict[str, list[str]] = {}
    for student, files in found.items():
        matched, unexpected = submissions.match_files(files, names)
        if unexpected:
            extra_notes[student] = [f"files not graded (no such notebook in the course): {', '.join(unexpected)}"]
        for nb in names:
            if nb not in matched:
                results.append(_not_submitted(student, nb, settings))
                continue
            fn, data = matched[nb]
            fp = hashlib.sha256(data + signature.encode() + student.encode()).hexdigest()
            saved = _load_partial(out, student, nb, fp) if not force else None
            if saved is not None:
                results.append(saved)
                reused += 1
            else:
                jobs_list.append((student, nb, fn, data, fp))

    slots = list(range(max(1, jobs)))
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool, \
                tqdm(total=len(jobs_list), desc="grading", unit="notebook", disable=not progress or None,
                     file=sys.stderr) as bar:
            def task(item, slot_box=slots):
                slot = slot_box.pop()
                try:
                    return item, grader.grade_notebook(item[0], item[1], item[2], item[3], settings, str(slot))
                finally:
                    slot_box.append(slot)

            futures = [pool.submit(task, item) for item in jobs_list]
            for fut in as_completed(futures):
                (student, nb, fn, data, fp), res = fut.result()
                _save_partial(out, res, fp)
                results.append(res)
                bar.update(1)
    finally:
        sandbox.remove_cgroups()
    for r in results:
        if r["student"] in extra_notes and r["notebook"] == names[0]:
            r["notes"] = r["notes"] + [n for n in extra_notes[r["student"]] if n not in r["notes"]]
    student_seconds: dict[str, float] = {}
    for r in results:
        student_seconds[r["student"]] = round(student_seconds.get(r["student"], 0.0) + r["seconds"], 3)
    meta = {"grader_version": grader.GRADER_VERSION, "timeout": timeout, "notebook_timeout": notebook_timeout,
            "grace": grace, "memory_mb": memory_mb, "notebooks": names, "jail": settings.jail,
            "student_seconds": student_seconds}
    report.write_all(out, results, meta)
    return {"students": len(found), "notebooks": len(jobs_list) + reused, "reused": reused,
            "seconds": time.monotonic() - t0, "student_seconds": student_seconds, "results": results}


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
            "seconds": 0.0, "exercises": [grader._row(i, "not-submitted", msg) for i in infos]}


def _partial_path(out: str, student: str, nb: str) -> str:
    return os.path.join(out, ".partial", student, nb + ".json")


def _load_partial(out: str, student: str, nb: str, fp: str) -> dict | None:
    try:
        with open(_partial_path(out, student, nb)) as f:
            saved = json.load(f)
    except (OSError, ValueError):
        return None
    return saved["result"] if saved.get("fingerprint") == fp else None


def _save_partial(out: str, result: dict, fp: str) -> None:
    from .report import atomic_write

    atomic_write(_partial_path(out, result["student"], result["notebook"]),
                 json.dumps({"fingerprint": fp, "result": result}, default=str))
