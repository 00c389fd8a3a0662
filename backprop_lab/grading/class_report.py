"""What the class got wrong: ``results/report.html`` and ``results/class_report.csv``, written after grading.

For the instructor, in a minute: which diagnosed mistakes the class made, exercise by exercise ("3 of 7
submissions (43%) of 04.1: your answer is the transpose of the expected one"), the exercises most often
left blank or crashing, and per exercise the spread of outcomes and of scores, as bars.

A diagnosed mistake is the hint of an exercise's first failing check, named by the template it was made
from (``mistakes``): every student who made it is counted under one name, whatever their shapes or
numbers. Percentages are of the submissions of that exercise's notebook (a notebook not handed in
counts for none of its exercises). Colours are the Okabe-Ito palette, readable on a light or a dark page;
the plots are plain inline SVG, so the file opens anywhere, offline.
"""
from __future__ import annotations

import html
import os

from ..atomic import write_atomic
from .report import _csv, _id_key, text

# what an exercise's status says about the submission, for an instructor; "not-submitted" counts for nothing
OUTCOMES = {
    "right": ("pass", "review"),
    "partial": ("partial",),
    "wrong": ("fail",),
    "error": ("error", "syntax-error"),
    "blank": ("todo", "missing"),
    "crashed": ("crash", "timeout", "memory", "too-large"),
    "other": ("malformed", "wrong-notebook", "ungraded", "grader-error", "edited"),
}
OUTCOME_WORDS = {"right": "right", "partial": "partly right", "wrong": "wrong answer",
                 "error": "raised an error (or a syntax error)", "blank": "left blank (not done, or the cell deleted)",
                 "crashed": "crashed, too slow or out of memory", "other": "not graded (unreadable file, grader error…)"}
COLOURS = {"right": "#009E73", "partial": "#56B4E9", "wrong": "#D55E00", "error": "#E69F00", "blank": "#999999",
           "crashed": "#CC79A7", "other": "#0072B2"}
SCORE_BINS = ("0", "under half", "half or more", "full")
CSV_COLUMNS = ["notebook", "exercise", "kind", "name", "label", "count", "of", "percent"]


def outcome(status: str) -> str:
    return next((k for k, v in OUTCOMES.items() if status in v), "other")


def _score_bin(points: float, max_points: float) -> str:
    if max_points <= 0 or points <= 0:
        return "0"
    if points >= max_points - 1e-9:
        return "full"
    return "half or more" if points >= max_points / 2 else "under half"


def summarise(results: list[dict]) -> dict:
    """Per exercise (in course order): its notebook, task, submissions, outcome counts, score bins, mean points,
    and its diagnosed mistakes ``{key: [label, count]}`` (most frequent first)."""
    per: dict[str, dict] = {}
    for r in results:
        if r["status"] == "not-submitted":
            continue
        for x in r["exercises"]:
            e = per.setdefault(x["id"], {"notebook": r["notebook"], "task": x.get("task", ""), "n": 0, "points": 0.0,
                                         "max_points": x["max_points"], "outcomes": dict.fromkeys(OUTCOMES, 0),
                                         "scores": dict.fromkeys(SCORE_BINS, 0), "mistakes": {}})
            e["n"] += 1
            e["points"] += x["points"]
            e["outcomes"][outcome(x["status"])] += 1
            e["scores"][_score_bin(x["points"], x["max_points"])] += 1
            d = x.get("detail") or {}
            if d.get("mistake") and x["status"] not in ("pass", "review"):
                m = e["mistakes"].setdefault(d["mistake"], [d.get("mistake_label") or d.get("hint", ""), 0])
                m[1] += 1
    for e in per.values():
        e["mean"] = e["points"] / e["n"] if e["n"] else 0.0
        e["mistakes"] = dict(sorted(e["mistakes"].items(), key=lambda kv: (-kv[1][1], kv[0])))
    return dict(sorted(per.items(), key=lambda kv: _id_key(kv[0])))


def _pct(count: int, of: int) -> str:
    return f"{100 * count / of:.0f}%" if of else "-"


def csv_rows(summary: dict) -> list[list]:
    """One row per (exercise, outcome), (exercise, score bin) and (exercise, diagnosed mistake)."""
    rows = [CSV_COLUMNS]
    for xid, e in summary.items():
        base = [text(e["notebook"]), text(xid)]
        n = e["n"]
        for name, count in e["outcomes"].items():
            rows.append(base + ["outcome", name, text(OUTCOME_WORDS[name]), count, n, f"{100 * count / n:.1f}"])
        for name, count in e["scores"].items():
            rows.append(base + ["score", text(name), text(f"{name} of {e['max_points']:g} points"), count, n,
                                f"{100 * count / n:.1f}"])
        for key, (label, count) in e["mistakes"].items():
            rows.append(base + ["mistake", text(key), text(label), count, n, f"{100 * count / n:.1f}"])
    return rows


def _bar(parts: list[tuple[str, int, str, str]], total: int, width: int = 240, height: int = 14) -> str:
    """A stacked horizontal bar: ``(name, count, colour, words)`` parts, each with a tooltip."""
    if not total:
        return ""
    x, rects = 0.0, []
    for name, count, colour, words in parts:
        if not count:
            continue
        w = width * count / total
        rects.append(f"<rect x='{x:.1f}' y='0' width='{w:.1f}' height='{height}' fill='{colour}'>"
                     f"<title>{html.escape(words)}: {count} of {total}</title></rect>")
        x += w
    return (f"<svg role='img' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
            f"aria-label='{html.escape(', '.join(f'{w}: {c}' for _, c, _, w in parts if c))}'>{''.join(rects)}</svg>")


def _columns(values: list[tuple[str, int]], height: int = 40, bar: int = 22) -> str:
    """Small column chart (score bins), the count above each column and the bin below."""
    top = max((v for _, v in values), default=0) or 1
    width = bar * len(values) * 2
    cols = []
    for i, (name, v) in enumerate(values):
        h = height * v / top
        x = i * bar * 2 + bar / 2
        cols.append(f"<rect x='{x:.0f}' y='{12 + height - h:.1f}' width='{bar}' height='{h:.1f}' fill='#56B4E9'>"
                    f"<title>{html.escape(name)}: {v}</title></rect>"
                    f"<text x='{x + bar / 2:.0f}' y='{10 + height - h:.1f}' font-size='9' text-anchor='middle' "
                    f"fill='currentColor'>{v}</text>")
    return (f"<svg role='img' width='{width}' height='{height + 14}' viewBox='0 0 {width} {height + 14}' "
            f"aria-label='{html.escape(', '.join(f'{n}: {v}' for n, v in values))}'>{''.join(cols)}</svg>")


CSS = """:root{color-scheme:light dark}body{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;
padding:0 1rem;line-height:1.4}table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
td,th{border-bottom:1px solid color-mix(in srgb,currentColor 25%,transparent);padding:.35rem;text-align:left;
vertical-align:middle}td.n{text-align:right;font-variant-numeric:tabular-nums}.key{opacity:.7;font-size:.8em}
.legend span{display:inline-block;margin-right:1rem}.sw{display:inline-block;width:.8em;height:.8em;
margin-right:.3em;vertical-align:middle}"""


def html_report(summary: dict, students: int) -> str:
    e_ = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>What the class got wrong</title>"
             f"<style>{CSS}</style></head><body><h1>What the class got wrong</h1>",
             f"<p>{students} students; {len(summary)} exercises. Percentages are of the submissions of the "
             "exercise's notebook. Hover a bar for its counts; <code>class_report.csv</code> has every figure.</p>"]
    mistakes = sorted(((c, xid, key, label, e["n"]) for xid, e in summary.items()
                       for key, (label, c) in e["mistakes"].items()), key=lambda t: (-t[0] / max(t[4], 1), t[1], t[2]))
    parts.append("<h2>Diagnosed mistakes, most frequent first</h2>")
    if mistakes:
        parts.append("<table><tr><th>exercise</th><th>submissions</th><th></th><th>the mistake (the hint the "
                     "learners got)</th></tr>")
        for c, xid, key, label, n in mistakes:
            parts.append(f"<tr><td><b>{e_(xid)}</b></td><td class='n'>{c} of {n} ({_pct(c, n)})</td>"
                         f"<td>{_bar([('m', c, COLOURS['wrong'], 'made this mistake'), ('r', n - c, '#99999933', 'did not')], n, 120)}</td>"
                         f"<td>{e_(label)} <span class='key'>{e_(key)}</span></td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>No wrong answer the checks recognise.</p>")

    for what, words in (("blank", "left blank"), ("crashed", "crashed, too slow or out of memory"),
                        ("error", "raised an error")):
        top = sorted(((e["outcomes"][what], xid, e["n"]) for xid, e in summary.items() if e["outcomes"][what]),
                     key=lambda t: (-t[0] / max(t[2], 1), _id_key(t[1])))[:5]
        parts.append(f"<h2>Most often {words}</h2>")
        parts.append("<p>" + ("; ".join(f"<b>{e_(xid)}</b>: {c} of {n} ({_pct(c, n)})" for c, xid, n in top)
                              if top else "None.") + "</p>")

    parts.append("<h2>Every exercise</h2><p class='legend'>" + "".join(
        f"<span><i class='sw' style='background:{COLOURS[k]}'></i>{e_(w)}</span>" for k, w in OUTCOME_WORDS.items())
        + "</p><table><tr><th>exercise</th><th>mean points</th><th>outcomes</th><th>scores: 0, under half, half or "
        "more, full</th></tr>")
    for xid, e in summary.items():
        bar = _bar([(k, c, COLOURS[k], OUTCOME_WORDS[k]) for k, c in e["outcomes"].items()], e["n"])
        parts.append(f"<tr><td><b>{e_(xid)}</b><br><small>{e_(e['task'])}</small></td>"
                     f"<td class='n'>{e['mean']:.2f} / {e['max_points']:g}</td><td>{bar}</td>"
                     f"<td>{_columns(list(e['scores'].items()))}</td></tr>")
    parts.append("</table></body></html>\n")
    return "".join(parts)


def write(out: str, results: list[dict]) -> dict:
    """Write ``report.html`` and ``class_report.csv`` into ``out``; return the summary they show."""
    summary = summarise(results)
    students = len({r["student"] for r in results})
    write_atomic(os.path.join(out, "report.html"), html_report(summary, students))
    write_atomic(os.path.join(out, "class_report.csv"), _csv(csv_rows(summary)))
    return summary
