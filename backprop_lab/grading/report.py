"""Write the grading results: grades.csv, gradebook.csv, review.csv, feedback/<student>/<notebook>.html,
results.json, the class report (report.html and class_report.csv: ``class_report``), and the instructor's
log grader.log.

Every file but the log is written to a temporary name in the same folder and renamed into place, so a
reader (or an interrupted run) sees the old file or the new one, never half of one. Only the grader's
own process writes here, from results it holds in memory. Every text cell of a CSV that a spreadsheet
would read as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return: a
student named ``+1+1`` or ``@SUM(1+1)``) is written with a leading ``'``, as OWASP recommends
against CSV injection; numbers are written as numbers.
"""
from __future__ import annotations

import csv
import html
import io
import json
import os
import threading
import time

from ..atomic import write_atomic

LONG_COLUMNS = ["student", "notebook", "exercise", "points", "max_points", "status", "seconds", "message"]
NOTEBOOK_ROW = "(notebook)"


def _csv(rows: list[list]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text(value) -> str:
    """A text cell that no spreadsheet runs as a formula."""
    value = str(value)
    return "'" + value if value.startswith(FORMULA_START) else value


_LOG_LOCK = threading.Lock()


def log(out: str, message: str) -> None:
    """Append to the instructor's log ``out/grader.log`` (tracebacks of the grader's own failures)."""
    with _LOG_LOCK:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "grader.log"), "a", encoding="utf-8") as f:
            f.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {message.rstrip()}\n")


def _num(x: float) -> str:
    return f"{x:g}"


def long_rows(results: list[dict]) -> list[list]:
    """One row per (student, notebook, exercise), then one ``(notebook)`` row per notebook.

    The ``(notebook)`` row carries the notebook's status, seconds and notes; its points are left empty
    so that summing the points column never counts anything twice.
    """
    rows = [LONG_COLUMNS]
    for r in results:
        for x in r["exercises"]:
            rows.append([text(r["student"]), text(r["notebook"]), text(x["id"]), _num(x["points"]),
                         _num(x["max_points"]), text(x["status"]), f"{x['seconds']:.3f}", text(x["message"])])
        rows.append([text(r["student"]), text(r["notebook"]), NOTEBOOK_ROW, "", "", text(r["status"]),
                     f"{r['seconds']:.3f}", text("; ".join(r["notes"]))])
    return rows


def review_rows(results: list[dict]) -> list[list]:
    """One row per answer that earned points with evidence of using the engine: the instructor decides."""
    rows = [["student", "notebook", "exercise", "points", "max_points", "evidence"]]
    for r in results:
        for x in r["exercises"]:
            if x["status"] == "review":
                rows.append([text(r["student"]), text(r["notebook"]), text(x["id"]), _num(x["points"]),
                             _num(x["max_points"]), text("; ".join((x.get("detail") or {}).get("review", [])))])
    return rows


def gradebook_rows(results: list[dict]) -> list[list]:
    """Wide: one row per student; a column per exercise, per notebook total, then total, max, percent and
    ``notes``: what needs the instructor's look for that student (name collisions, several files for one
    notebook, hidden files, answers for review, grader errors)."""
    exercises: dict[str, float] = {}
    notebooks: dict[str, float] = {}
    students: dict[str, dict] = {}
    for r in results:
        for x in r["exercises"]:
            exercises[x["id"]] = x["max_points"]
            notebooks[r["notebook"]] = notebooks.get(r["notebook"], 0.0)
            students.setdefault(r["student"], {})[x["id"]] = x["points"]
    for r in results:
        notebooks[r["notebook"]] = sum(x["max_points"] for x in r["exercises"])
    ex_ids = sorted(exercises, key=_id_key)
    nbs = sorted(notebooks)
    header = ["student"] + [text(x) for x in ex_ids] + \
        [text(f"{nb[:-6] if nb.endswith('.ipynb') else nb} total") for nb in nbs] + ["total", "max_total", "percent",
                                                                                      "notes"]
    rows = [header]
    max_total = sum(exercises.values())
    for student in sorted(students):
        pts = students[student]
        per_nb = [sum(pts.get(x["id"], 0.0) for r in results if r["student"] == student and r["notebook"] == nb
                      for x in r["exercises"]) for nb in nbs]
        total = sum(pts.values())
        notes = "; ".join(dict.fromkeys(n for r in results if r["student"] == student for n in r.get("attention", [])))
        rows.append([text(student)] + [_num(pts.get(x, 0.0)) for x in ex_ids] + [_num(v) for v in per_nb] +
                    [_num(round(total, 2)), _num(max_total), f"{100 * total / max_total:.1f}" if max_total else "0",
                     text(notes)])
    return rows


def _id_key(xid: str):
    return tuple(int(p) if p.isdigit() else p for p in xid.split("."))


STATUS_WORDS = {
    "pass": "all checks passed", "partial": "some checks passed", "fail": "wrong answer", "error": "your code raised an error",
    "todo": "not done yet", "timeout": "too slow (stopped)", "crash": "crashed the grader's Python process",
    "memory": "used too much memory", "missing": "missing", "syntax-error": "syntax error",
    "malformed": "the file could not be read",
    "wrong-notebook": "wrong notebook", "not-submitted": "not submitted", "ungraded": "not graded",
    "review": "passed; the instructor reviews whether it is your own work",
    "grader-error": "not graded yet: the grader failed on this notebook (not your fault); your instructor will look",
}

CSS = """body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}
.pass{color:#17692c}.partial{color:#8a5a00}.bad{color:#a11}pre{white-space:pre-wrap;background:#f6f6f6;padding:.5rem}
.notes{background:#fff8e0;padding:.5rem 1rem}"""


def feedback_html(r: dict) -> str:
    """The learner's feedback for one notebook: points, what passed, the hint for what failed.

    It shows the inputs of the first failing check and the hint, never the source of a check.
    """
    e = html.escape
    total = sum(x["points"] for x in r["exercises"])
    max_total = sum(x["max_points"] for x in r["exercises"])
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(r['notebook'])}: feedback for "
             f"{e(r['student'])}</title><style>{CSS}</style></head><body>",
             f"<h1>{e(r['notebook'])}</h1><p>Feedback for <b>{e(r['student'])}</b>: "
             f"<b>{_num(round(total, 2))} / {_num(max_total)}</b> points.</p>"]
    if r["notes"]:
        parts.append("<div class='notes'><p>About the notebook as a whole:</p><ul>" +
                     "".join(f"<li>{e(n)}</li>" for n in r["notes"]) + "</ul></div>")
    parts.append("<table><tr><th>exercise</th><th>points</th><th>result</th></tr>")
    for x in r["exercises"]:
        cls = "pass" if x["status"] == "pass" else "partial" if x["points"] > 0 else "bad"
        words = STATUS_WORDS.get(x["status"], x["status"])
        body = [f"<b class='{cls}'>{e(words)}</b>"]
        if x["total"]:
            body.append(f"<br>{x['passed']} of {x['total']} checks passed.")
        d = x.get("detail") or {}
        if x["status"] != "pass":
            if d.get("input"):
                body.append(f"<p>First failing check, for the input <code>{e(d['input'])}</code>:</p>")
            problem = d.get("problem") or ("" if x["total"] else x["message"])
            if problem:
                body.append(f"<pre>{e(problem)}</pre>")
            if d.get("hint"):
                body.append(f"<p><b>Hint:</b> {e(d['hint'])}</p>")
            if d.get("review"):
                body.append(f"<p>For your instructor's review: the answer uses {e('; '.join(d['review'][:4]))}.</p>")
        task = f"<br><small>{e(x['task'])}</small>" if x.get("task") else ""
        parts.append(f"<tr><td><b>{e(x['id'])}</b>{task}</td><td>{_num(x['points'])} / {_num(x['max_points'])}</td>"
                     f"<td>{''.join(body)}</td></tr>")
    parts.append("</table></body></html>\n")
    return "".join(parts)


def write_all(out: str, results: list[dict], meta: dict) -> None:
    results = sorted(results, key=lambda r: (r["student"], r["notebook"]))
    for r in results:
        name = r["notebook"][:-6] if r["notebook"].endswith(".ipynb") else r["notebook"]
        write_atomic(os.path.join(out, "feedback", r["student"], f"{name}.html"), feedback_html(r))
    write_atomic(os.path.join(out, "grades.csv"), _csv(long_rows(results)))
    write_atomic(os.path.join(out, "gradebook.csv"), _csv(gradebook_rows(results)))
    write_atomic(os.path.join(out, "review.csv"), _csv(review_rows(results)))
    write_atomic(os.path.join(out, "results.json"),
                 json.dumps({**meta, "results": results}, indent=1, sort_keys=True, default=str) + "\n")
    from . import class_report

    class_report.write(out, results)
