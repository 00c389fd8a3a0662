"""How long ``backprop-lab grade`` takes for a class: N students x 3 notebooks, with -j 2.

    python benchmarks/bench_grading.py --students 100 [--jobs 2]

The class is synthetic: each student submits the first three solutions/ notebooks (falling back to the
test fixture notebook under three names when solutions/ has fewer), and every third student gets an
exercise answer broken (wrong sign) so that failing checks, hints and feedback are part of the cost.
Prints the total seconds and the seconds per submission and per student.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time

import nbformat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build(tmp: str, students: int) -> tuple[str, str, str | None]:
    solutions = os.path.join(ROOT, "solutions")
    names = sorted(n for n in os.listdir(solutions) if n.endswith(".ipynb"))[:3] if os.path.isdir(solutions) else []
    course = os.path.join(tmp, "course")
    tests = None
    if len(names) == 3:
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
            if s % 3 == 0:      # break one answer: flip the sign of the first `return`
                for cell in nb.cells:
                    if cell.get("metadata", {}).get("backprop_lab"):
                        cell.source = re.sub(r"return (.+)", r"return -(\1)", cell.source, count=1)
                        break
            nbformat.write(nb, os.path.join(folder, n))
    return subs, course, tests


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-grading-")
    try:
        subs, course, tests = build(tmp, args.students)
        from backprop_lab.grading import grade

        t0 = time.perf_counter()
        summary = grade(subs, os.path.join(tmp, "out"), jobs=args.jobs, course_dir=course, tests_dir=tests,
                        progress=False)
        total = time.perf_counter() - t0
        n = summary["notebooks"]
        per_student = sorted(summary["student_seconds"].values())
        print(f"{args.students} students x {n // max(args.students, 1)} notebooks = {n} submissions, -j {args.jobs}, "
              f"{os.cpu_count()} CPUs, jail={'on' if summary['results'] and _jail() else 'off'}")
        print(f"total {total:.1f} s; {total / n:.2f} s per submission (wall); "
              f"{sum(per_student) / len(per_student):.2f} s per student of worker time "
              f"(median {per_student[len(per_student) // 2]:.2f} s, max {per_student[-1]:.2f} s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _jail() -> bool:
    from backprop_lab.grading import sandbox

    return sandbox.jail_available()


if __name__ == "__main__":
    main()
