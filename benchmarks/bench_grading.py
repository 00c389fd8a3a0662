"""How long ``backprop-lab grade`` takes per submission: the local warm pool with -j 1 and -j 2, and Dask.

    python benchmarks/bench_grading.py --students 100                      # the class of issue 16, -j 2
    python benchmarks/bench_grading.py --students 20 --notebooks 01 --correct --modes j1,j2,dask1,dask2 --repeats 2
    python benchmarks/bench_grading.py --students 20 --notebooks 01,04 --correct --modes j1,j2,dask1,dask2

The class is synthetic: each student submits the chosen solutions/ notebooks (by default the first three;
the test fixture notebook under three names when solutions/ has fewer). Unless ``--correct``, every third
student gets an exercise answer broken (wrong sign), so that failing checks, hints and feedback are part of
the cost; with ``--correct`` every submission is the solved notebook, as in issue 19's comparison with
nbgrader. Each mode grades the whole class into a fresh results folder (nothing reused), ``--repeats``
times, the modes in rotating order so that a change of load on the machine falls on each in turn:

* ``j1``, ``j2``: this machine, the warm pool (``grade(jobs=N)``), its server started and closed by each run;
* ``j2-fresh``: -j 2 with a fresh Python for every notebook (``--fresh-workers``), the grader before the warm pool;
* ``dask1``, ``dask2``: ``grade(cluster="local:N")``, a Dask LocalCluster of N single-thread worker processes
  started by the run and included in its time (about a second), each worker with its own warm pool.

Prints, per mode, the seconds per submission (wall clock) of each repeat, and the ratio to nbgrader's
autograde figure that issue 19 measured on this machine (4.98 s per submission, 40 identical correct
submissions of notebooks 01 and 04; nbgrader is not installed here, so that figure is quoted, not re-measured).
Also the load average before and after (a busy machine stretches every wall-clock figure), the BLAS
threads of this process (threadpoolctl, if installed), and the CPU seconds per submission of the local
workers (those the grader waited for), which a busy machine changes far less than the wall-clock ones.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import sys
import tempfile
import time

import nbformat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NBGRADER = 4.98     # s per submission: nbgrader autograde, issue 19 (40 identical correct submissions of 01 and 04)
OTTER = 14.7        # s per submission: otter-grader run, the same measurement


def build(tmp: str, students: int, prefixes: list[str] | None = None, correct: bool = False
          ) -> tuple[str, str, str | None]:
    solutions = os.path.join(ROOT, "solutions")
    names = sorted(n for n in os.listdir(solutions) if n.endswith(".ipynb")) if os.path.isdir(solutions) else []
    names = [n for n in names if any(n.startswith(p) for p in prefixes)] if prefixes else names[:3]
    course = os.path.join(tmp, "course")
    tests = None
    if names and (prefixes or len(names) == 3):
        from backprop_lab.release import release

        release(solutions, course)
        sources = {n: nbformat.read(os.path.join(solutions, n), as_version=4) for n in names}
    else:
        sys.path.insert(0, os.path.join(ROOT, "tests"))
        from grading_fixtures import notebooks as N

        tests = os.path.join(ROOT, "tests", "grading_fixtures", "private_tests")
        os.makedirs(course)
        nbformat.write(N.released(), os.path.join(course, N.NAME))
        sources = {N.NAME: N.solved()}
    subs = os.path.join(tmp, "subs")
    for s in range(students):
        folder = os.path.join(subs, f"student{s:03d}")
        os.makedirs(folder)
        for n, nb in sources.items():
            nb = nbformat.from_dict(nb)
            if s % 3 == 0 and not correct:      # break one answer: flip the sign of the first `return`
                for cell in nb.cells:
                    if cell.get("metadata", {}).get("backprop_lab"):
                        cell.source = re.sub(r"return (.+)", r"return -(\1)", cell.source, count=1)
                        break
            nbformat.write(nb, os.path.join(folder, n))
    return subs, course, tests


MODES = {"j1": {"jobs": 1}, "j2": {"jobs": 2}, "dask1": {"cluster": "local:1"}, "dask2": {"cluster": "local:2"},
         "j2-fresh": {"jobs": 2, "warm": False}}


def _blas() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed (pip install \".[bench]\")"
    return ", ".join(f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info()) or "none loaded"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=2, help="the -j of the default mode (when --modes is not given)")
    ap.add_argument("--notebooks", default="", help="comma-separated prefixes of solutions/ notebooks (01,04); "
                                                    "default: the first three")
    ap.add_argument("--correct", action="store_true", help="every submission correct (no broken answer)")
    ap.add_argument("--modes", default="", help=f"comma-separated, of {', '.join(MODES)} (default: j<--jobs>)")
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()] or [f"j{args.jobs}"]
    for m in modes:
        if m not in MODES and not re.fullmatch(r"j\d+", m):
            ap.error(f"--modes: unknown mode {m!r}; give some of {', '.join(MODES)}")
    tmp = tempfile.mkdtemp(prefix="bench-grading-")
    try:
        prefixes = [p.strip() for p in args.notebooks.split(",") if p.strip()] or None
        subs, course, tests = build(tmp, args.students, prefixes, args.correct)
        from backprop_lab.grading import grade, pool

        load0 = os.getloadavg()
        print(f"{args.students} students, notebooks {', '.join(sorted(os.listdir(os.path.join(subs, 'student000'))))}"
              f"{' (all correct)' if args.correct else ' (every third with one wrong answer)'}; {os.cpu_count()} CPUs; "
              f"BLAS here: {_blas()} (the workers: 1 thread, sandbox.worker_env); load average before: {' '.join(f'{x:.2f}' for x in load0)}")
        figures: dict[str, list[float]] = {m: [] for m in modes}
        for rep in range(args.repeats):
            order = modes[rep % len(modes):] + modes[:rep % len(modes)]
            for m in order:
                kw = MODES.get(m) or {"jobs": int(m[1:])}
                out = os.path.join(tmp, f"out-{m}-{rep}")
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                summary = grade(subs, out, course_dir=course, tests_dir=tests, progress=False, **kw)
                pool.close_all()    # each run starts (and pays for) its warm server, as a `backprop-lab grade` does
                total = time.perf_counter() - t0
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                n = summary["notebooks"]
                bad = [a for a in summary["attention"] if "grader" in a]
                per = total / n
                figures[m].append(per)
                cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
                cpu_text = f"{cpu / n:.2f} s worker CPU per submission" if "jobs" in kw else "worker CPU: on Dask's processes"
                print(f"  {m:6s} repeat {rep + 1}: {n} submissions in {total:.1f} s = {per:.2f} s per submission "
                      f"({cpu_text}; sandbox {summary['jail']}){'; GRADER ERRORS: ' + str(bad[:2]) if bad else ''}")
                shutil.rmtree(out, ignore_errors=True)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        same = prefixes is not None and sorted(prefixes) == ["01", "04"] and args.correct
        print(f"{'mode':8s} {'s per submission (range over repeats)':40s} vs nbgrader autograde {NBGRADER} s "
              f"(issue 19, quoted{'' if same else '; measured on correct 01 and 04: compare with --notebooks 01,04 --correct'})")
        for m, v in figures.items():
            lo, hi = min(v), max(v)
            print(f"{m:8s} {f'{lo:.2f}' + (f'-{hi:.2f}' if hi - lo >= 0.005 else ''):40s} "
                  f"{NBGRADER / hi:.1f}-{NBGRADER / lo:.1f}x faster (otter-grader run {OTTER} s: "
                  f"{OTTER / hi:.0f}-{OTTER / lo:.0f}x)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
