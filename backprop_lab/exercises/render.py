"""How a ``CheckResult`` looks: a coloured box in Jupyter (``as_html``), plain text elsewhere (``as_text``).

Green: passed, naming what was verified. Red: a wrong answer, with the first failing case's
inputs, the expected and the received answer, and the hint. Red too: the learner's code raised,
with the learner's traceback. Grey: not done yet. Everything shown is escaped. The colours are a
tint and a border (``backprop_lab.theme``): the text keeps the theme's colour, light or dark.
"""
from __future__ import annotations

from html import escape

from .. import theme
from .hints import short_repr

ICONS = {"pass": "✔", "fail": "✘", "error": "✘", "invalid": "⚠", "todo": "…"}


def _name(result) -> str:
    ex = result.exercise
    if ex is None:
        return f"Exercise {result.exercise_id}"
    return f"Exercise {ex.id}" + (f" ({ex.title})" if ex.title else "")


def headline(result) -> str:
    """One sentence saying what happened."""
    name = _name(result)
    n = len(result.outcomes)
    if result.status == "pass":
        return f"{name}: passed — verified on {n} case{'s' if n != 1 else ''}."
    if result.status == "todo":
        return f"{name}: not done yet."
    if result.status == "error":
        return f"{name}: your code raised an error on case {n}."
    if result.status == "fail":
        return f"{name}: wrong answer on case {n} of the check."
    return f"{name}: could not be checked."


def verified(result, limit: int = 2, width: int = 160) -> list[str]:
    """What a pass verified: the first few cases, described (each at most ``width`` characters)."""
    ex = result.exercise
    out = [_clip(_describe(ex, o.case), width) for o in result.outcomes[:limit]]
    if len(result.outcomes) > limit:
        out.append(f"… and {len(result.outcomes) - limit} more (random inputs)")
    return out


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _describe(ex, case) -> str:
    try:
        return ex.describe(case)
    except Exception:  # a describe() that fails must not hide the result
        return short_repr(case)


def details(result) -> list[tuple[str, str]]:
    """(label, text) rows for a failed, erroring or unfinished check."""
    p = result.first_problem
    if result.status == "invalid":
        return [("Problem", result.message)]
    if p is None:
        return []
    rows = []
    if result.status == "todo":
        status = p.error or "not implemented yet"
        return [("Status", status),
                ("Next", "Replace the `raise NotImplementedError(...)` (or the None) with your code, "
                         "run the cell, then run this check again.")]
    rows.append(("Inputs", _describe(result.exercise, p.case)))
    if result.status == "error":
        rows.append(("Your code raised", p.error))
        return rows
    if p.want is not None:
        if getattr(result.exercise, "show_expected", True):   # False where the expected value IS the answer
            rows.append(("Expected", short_repr(p.want)))
        rows.append(("Received", short_repr(p.got)))
    if p.mismatch is not None:
        rows.append(("What differs", p.mismatch.message))
        if p.mismatch.hint:
            rows.append(("Hint", p.mismatch.hint))
    return rows


def extras(result) -> list[tuple[str, str]]:
    """The offer of the solution after several failed attempts, and the solution itself when asked for."""
    rows = []
    if result.stuck and not result.solution and result.exercise is not None:
        target = result.exercise.target or "..."
        rows.append(("Stuck?", f'Read the hint again, then try once more. To see the course\'s solution, run '
                               f'check("{result.exercise.id}", {target}, reveal=True).'))
    if result.solution:
        rows.append(("Solution", result.solution))
    return rows


def as_text(result) -> str:
    """Plain text (terminals, the grader's log, strict-mode exceptions)."""
    lines = [f"{ICONS.get(result.status, '')} {headline(result)}"]
    if result.status == "pass":
        lines += [f"  - {v}" for v in verified(result)]
    for label, text in details(result) + extras(result):
        body = text.replace("\n", "\n    ")
        sep = "\n    " if "\n" in text else " "
        lines.append(f"  {label}:{sep}{body}")
    return "\n".join(lines)


def as_html(result) -> str:
    """A self-contained coloured box (inline styles only, every text escaped)."""
    status = result.status if result.status in theme.ACCENTS else "invalid"
    parts = [
        f'<div class="backprop-lab-check backprop-lab-{escape(result.status)}" style="{theme.box_style(status)};'
        'font-family:var(--jp-ui-font-family, sans-serif);line-height:1.4">',
        f'<div style="font-weight:600">{ICONS.get(result.status, "")} {escape(headline(result))}</div>',
    ]
    if result.status == "pass":
        items = "".join(f"<li><code>{escape(v)}</code></li>" for v in verified(result))
        parts.append(f'<div>Verified on:</div><ul style="margin:2px 0 0 0">{items}</ul>')
    rows = details(result) + extras(result)
    if rows:
        parts.append('<table style="border-collapse:collapse;margin:4px 0 0 0;color:inherit;background:transparent">')
        for label, text in rows:
            if label in ("Your code raised", "Solution"):
                cell = (f'<pre style="margin:0;white-space:pre-wrap;word-break:normal;overflow-wrap:anywhere;'
                        f'color:inherit;background:transparent">{escape(text)}</pre>')
            elif label in ("Inputs", "Expected", "Received"):
                cell = f'<code style="white-space:pre-wrap;color:inherit;background:transparent">{escape(text)}</code>'
            else:
                cell = _inline_code(text)
            weight = "font-weight:600;" if label == "Hint" else ""
            parts.append(f'<tr style="{theme.ROW}"><td style="vertical-align:top;padding:2px 12px 2px 0;'
                         f'font-weight:600;text-align:left;white-space:nowrap;{theme.ROW}">{escape(label)}</td>'
                         f'<td style="text-align:left;padding:2px 0;{weight}{theme.ROW}">{cell}</td></tr>')
        parts.append("</table>")
    parts.append("</div>")
    return "".join(parts)


def _inline_code(text: str) -> str:
    """Escape ``text``, showing its `backticked` parts as code (as Markdown would)."""
    pieces = text.split("`")
    if len(pieces) % 2 == 0:  # an odd number of backticks: show them as typed
        return escape(text)
    return "".join(escape(p) if i % 2 == 0 else f'<code style="color:inherit">{escape(p)}</code>'
                   for i, p in enumerate(pieces))
