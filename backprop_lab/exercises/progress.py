"""The progress file: which exercises a learner has done, and ``backprop-lab progress``.

Every ``check`` records its result in ``.backprop_lab_progress.json`` in the current
directory (Jupyter runs a notebook's kernel in the notebook's folder, so the file sits
beside the notebooks). The file is small JSON, rewritten atomically (a temporary file in
the same folder, then ``os.replace``), so an interrupted kernel never leaves half a file::

    {"version": 1,
     "exercises": {"02.3": {"status": "pass", "passed": true, "attempts": 4,
                            "points": 2, "title": "...", "updated": "2026-01-01T12:00:00+00:00"}}}

``status`` is the latest result; ``passed`` stays true once the exercise has passed.
``BACKPROP_LAB_PROGRESS`` overrides the file's path (``off`` turns recording off; the
test suite points it at a temporary file).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import sys
from pathlib import Path

from ..atomic import write_atomic

FILENAME = ".backprop_lab_progress.json"
VERSION = 1


def progress_path(directory: str | os.PathLike | None = None) -> Path | None:
    """Where the progress file is: ``directory`` (default: the current one), or ``$BACKPROP_LAB_PROGRESS``."""
    env = os.environ.get("BACKPROP_LAB_PROGRESS", "")
    if directory is None and env:
        return None if env.lower() in ("off", "0", "none", "false") else Path(env)
    return Path(directory if directory is not None else os.getcwd()) / FILENAME


def load(path: str | os.PathLike | None = None) -> dict:
    """The progress data ({"version": 1, "exercises": {...}}); empty if the file is missing or unreadable."""
    path = Path(path) if path is not None else progress_path()
    empty = {"version": VERSION, "exercises": {}}
    if path is None:
        return empty
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return empty
    except (OSError, ValueError) as exc:
        print(f"backprop-lab: ignoring unreadable progress file {path} ({exc})", file=sys.stderr)
        return empty
    if not isinstance(data, dict) or not isinstance(data.get("exercises"), dict):
        return empty
    return data


def save(data: dict, path: str | os.PathLike) -> None:
    """Write ``data`` to ``path`` atomically (``backprop_lab.atomic``)."""
    text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    write_atomic(path, text)


def record_result(ex, status: str, path: str | os.PathLike | None = None, source: str | None = None) -> dict | None:
    """Record that exercise ``ex`` (an ``Exercise``) was checked with ``status``; return its entry.

    ``source``: the code of a passing answer, kept for later notebooks (``exercises.carried``).

    Does nothing (returns None) when recording is off. Raises ``OSError`` when the folder is not
    writable; ``check`` catches that and says so.
    """
    path = Path(path) if path is not None else progress_path()
    if path is None:
        return None
    data = load(path)
    entry = data["exercises"].get(ex.id) or {}
    entry.update(
        status=status,
        passed=bool(entry.get("passed")) or status == "pass",
        attempts=int(entry.get("attempts", 0)) + 1,
        points=getattr(ex, "points", 1),
        title=getattr(ex, "title", ""),
        updated=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )
    if source:
        entry["source"] = source
    data["version"] = VERSION
    data["exercises"][ex.id] = entry
    save(data, path)
    return entry


# ----------------------------------------------------------------------------- the table

def table(directory: str | os.PathLike | None = None, path: str | os.PathLike | None = None
          ) -> tuple[list[list[str]], dict]:
    """Rows (notebook, done, points, still to do) for every notebook with exercises, and the totals.

    ``directory`` holds the notebooks (default: the current folder) and, unless ``path`` names the
    progress file, the file too. With neither, the file is the one ``check`` records into
    (``progress_path()``, which honours ``$BACKPROP_LAB_PROGRESS``).
    """
    if path is None:
        path = progress_path(directory)
    return rows_for(load(path)["exercises"] if path is not None else {}, directory)


def rows_for(done: dict, directory: str | os.PathLike | None = None) -> tuple[list[list[str]], dict]:
    """The rows and totals of ``table`` for ``done`` (the progress file's "exercises")."""
    from .framework import all_exercises

    exercises = all_exercises()
    names = _notebook_names(Path(directory) if directory is not None else Path.cwd())
    by_nb: dict[str, list] = {}
    for ex_id, ex in exercises.items():
        by_nb.setdefault(ex_id.split(".")[0], []).append(ex)
    for ex_id in done:  # exercises recorded but unknown to this version of the package
        if ex_id not in exercises:
            by_nb.setdefault(ex_id.split(".")[0], [])
    rows = []
    totals = {"done": 0, "exercises": 0, "points": 0, "max_points": 0}
    for nb in sorted(by_nb):
        exs = sorted(by_nb[nb], key=lambda e: _sort_key(e.id))
        passed = [e for e in exs if done.get(e.id, {}).get("passed")]
        todo = [e.id for e in exs if not done.get(e.id, {}).get("passed")]
        pts = sum(e.points for e in passed)
        max_pts = sum(e.points for e in exs)
        rows.append([names.get(nb, f"notebook {nb}"), f"{len(passed)}/{len(exs)}", f"{pts}/{max_pts}",
                     ", ".join(todo) if todo else "all done"])
        totals["done"] += len(passed)
        totals["exercises"] += len(exs)
        totals["points"] += pts
        totals["max_points"] += max_pts
    return rows, totals


def _sort_key(ex_id: str):
    return tuple(int(p) if p.isdigit() else p for p in ex_id.split("."))


def _notebook_names(directory: Path) -> dict[str, str]:
    """'02' -> '02_chain_rule.ipynb' for the notebooks in ``directory``."""
    names = {}
    try:
        for p in sorted(directory.glob("*.ipynb")):
            prefix = p.name.split("_")[0]
            if prefix.isdigit():
                names.setdefault(prefix, p.name)
    except OSError:
        pass
    return names


def format_table(rows: list[list[str]], totals: dict) -> str:
    header = ["notebook", "done", "points", "still to do"]
    body = rows + [["total", f"{totals['done']}/{totals['exercises']}",
                    f"{totals['points']}/{totals['max_points']}", ""]]
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]

    def line(r):
        return "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule] + [line(r) for r in rows] + [rule, line(body[-1])])


# ----------------------------------------------------------------------------- the command

def add_arguments(parser) -> None:
    parser.add_argument("directory", nargs="?", default=None, metavar="DIR",
                        help="the folder with your notebooks and its progress file (default: $BACKPROP_LAB_PROGRESS "
                             "if set, else the current folder, or the course folder 'backprop-lab start' made in it)")
    parser.add_argument("--json", action="store_true", help="print the raw progress file instead of a table")


def locate(directory: str | None) -> tuple[Path, Path | None, str]:
    """(notebook folder, progress file or None when recording is off, a note saying where they came from).

    DIR if given; else ``$BACKPROP_LAB_PROGRESS`` (as ``check`` uses it); else the current folder if it has
    notebooks or a progress file; else the folder ``backprop-lab start`` makes here (``backprop-lab-course``).
    """
    from ..launch import DEFAULT_DIR, MANIFEST

    if directory is not None:
        folder = Path(directory)
        return folder, folder / FILENAME, ""
    here = Path.cwd()
    if os.environ.get("BACKPROP_LAB_PROGRESS", ""):
        path = progress_path()
        note = ("Progress recording is off (BACKPROP_LAB_PROGRESS=off)." if path is None
                else f"Reading {path} (from BACKPROP_LAB_PROGRESS).")
        return here, path, note
    started = here / DEFAULT_DIR
    if (not (here / FILENAME).exists() and not any(here.glob("[0-9][0-9]_*.ipynb"))
            and (started / MANIFEST).exists()):
        return started, started / FILENAME, f"Reading {started}, the course folder 'backprop-lab start' made here."
    return here, here / FILENAME, ""


def run(args) -> int:
    directory, path, note = locate(args.directory)
    if not directory.is_dir():
        print(f"backprop-lab progress: {directory} is not a folder", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(load(path) if path is not None else {"version": VERSION, "exercises": {}},
                         indent=1, sort_keys=True))
        return 0
    if note:
        print(note)
    if path is not None and not path.exists():
        print(f"No progress recorded in {path.resolve()} yet: run a check(...) cell in a notebook "
              f"(it writes {path.name}).")
    rows, totals = rows_for(load(path)["exercises"] if path is not None else {}, directory)
    print(format_table(rows, totals))
    return 0
