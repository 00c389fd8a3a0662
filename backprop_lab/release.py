"""``backprop-lab release [SOURCE] [DEST]``: make the student notebooks from the instructor ones.

``solutions/NN_name.ipynb`` is the only notebook anyone edits; ``course/NN_name.ipynb`` is
generated from it (the conventions are in CONTRIBUTING.md, "Notebook conventions"):

- in code cells, each ``### BEGIN SOLUTION`` … ``### END SOLUTION`` region becomes
  ``raise NotImplementedError("Exercise NN.K: <task>")`` at the marker's indentation (the
  signature and docstring above it stay); a region at column 0 makes the cell raise, so the
  cell is tagged ``raises-exception`` for nbval;
- in markdown cells, a solution region becomes an answer prompt;
- ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` regions are removed (a cell left empty goes);
- outputs and execution counts are cleared; cell metadata keeps only what students and the
  grader need (tags, ``backprop_lab`` id/points/task, JupyterLab's editable/deletable/jupyter);
- a first cell says the notebook is generated and from which source file.

The output is deterministic: the same sources give byte-identical files (nbformat's sorted-key
JSON, cell ids copied from the sources). Every notebook is transformed before any is written,
and each is written atomically, so an error never leaves a half-released course. A marker that
is unknown, nested or unbalanced stops the release with an error naming the notebook, the
cell and the line.

When DEST is the repository's ``course/`` folder, the same notebooks are also written to
``backprop_lab/course_notebooks/`` so that a wheel ships them (``backprop-lab start`` copies
them from there); ``--no-package-copy`` turns that off.
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
MARKERS = {BEGIN_SOLUTION: ("begin", "solution"), END_SOLUTION: ("end", "solution"),
           BEGIN_HIDDEN: ("begin", "hidden"), END_HIDDEN: ("end", "hidden")}
# anything that looks like a marker (any number of #, any case) must be an exact one; "# end of loop" is not
MARKER_LIKE = re.compile(r"^\s*#+\s*(BEGIN|END)\s+(SOLUTION|HIDDEN|TEST)", re.IGNORECASE)

ANSWER_PROMPT = "**Your answer:** _double-click this cell and write your answer here._"
RAISES_TAG = "raises-exception"
HEADER_ID = "backprop-lab-generated"
KEEP_CELL_METADATA = ("tags", "editable", "deletable", "jupyter")
KEEP_EXERCISE_METADATA = ("id", "points", "task")
KEEP_NOTEBOOK_METADATA = ("kernelspec", "language_info")
PROGRESS_FILE = ".backprop_lab_progress.json"


class ReleaseError(ValueError):
    """A source notebook breaks the conventions; the message names the notebook, cell and line."""


@dataclass
class Region:
    kind: str          # "solution" | "hidden"
    indent: str        # the BEGIN marker's indentation
    begin_line: int    # 1-based line numbers in the cell
    end_line: int


# ----------------------------------------------------------------------------- one cell

def find_regions(source: str, where: str) -> list[Region]:
    """The marked regions of a cell's source, checked: known markers only, balanced, not nested."""
    regions, open_region = [], None
    for n, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if not MARKER_LIKE.match(line):
            continue
        if stripped not in MARKERS:
            raise ReleaseError(f"{where}, line {n}: unknown marker {stripped!r}; the markers are "
                               f"{', '.join(repr(m) for m in MARKERS)} (exactly so, upper case)")
        edge, kind = MARKERS[stripped]
        if edge == "begin":
            if open_region is not None:
                raise ReleaseError(f"{where}, line {n}: {stripped!r} inside the region opened on line "
                                   f"{open_region.begin_line}; regions cannot be nested (close it first)")
            open_region = Region(kind, line[: len(line) - len(line.lstrip())], n, 0)
        else:
            if open_region is None:
                raise ReleaseError(f"{where}, line {n}: {stripped!r} without a matching BEGIN marker above it")
            if open_region.kind != kind:
                raise ReleaseError(f"{where}, line {n}: {stripped!r} closes the {open_region.kind} region "
                                   f"opened on line {open_region.begin_line} (use the matching END marker)")
            open_region.end_line = n
            regions.append(open_region)
            open_region = None
    if open_region is not None:
        raise ReleaseError(f"{where}, line {open_region.begin_line}: this BEGIN marker is never closed "
                           f"(add the matching END marker)")
    return regions


def stub(indent: str, exercise_id: str, task: str) -> str:
    text = f"Exercise {exercise_id}: {task}" if task else f"Exercise {exercise_id}: write your code here"
    text = " ".join(text.split())  # one line, whatever the metadata held
    quoted = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{indent}raise NotImplementedError({quoted})"


def transform_source(source: str, regions: list[Region], cell_type: str, exercise_id: str | None,
                     task: str) -> tuple[str, bool]:
    """The student version of a cell's source, and whether it raises (a solution region at column 0)."""
    lines = source.splitlines()
    out, raises, i = [], False, 0
    for r in regions:
        out.extend(lines[i: r.begin_line - 1])
        if r.kind == "solution":
            if cell_type == "code":
                out.append(stub(r.indent, exercise_id or "?", task))
                raises = raises or r.indent == ""
            else:
                out.append(ANSWER_PROMPT)
        i = r.end_line
    out.extend(lines[i:])
    text = "\n".join(out)
    return (text.strip("\n") if regions else text), raises


def student_cell(cell, index: int, where_nb: str):
    """The student version of one cell, or None when nothing of it is left."""
    import nbformat

    where = f"{where_nb}, cell {index}"
    source = cell.get("source", "")
    regions = find_regions(source, where)
    meta = cell.get("metadata", {})
    ex_meta = meta.get("backprop_lab") or {}
    exercise_id = ex_meta.get("id")
    if any(r.kind == "solution" for r in regions) and cell.cell_type == "code" and not exercise_id:
        raise ReleaseError(f"{where}, line {regions[0].begin_line}: a solution region in a cell without an "
                           'exercise id; add cell metadata {"backprop_lab": {"id": "NN.K", "points": 1, '
                           '"task": "..."}} (JupyterLab: Property Inspector → Advanced Tools)')
    new_source, raises = transform_source(source, regions, cell.cell_type, exercise_id, ex_meta.get("task", ""))
    if regions and not new_source.strip():
        return None  # e.g. a cell that held only hidden tests

    new_meta = {k: meta[k] for k in KEEP_CELL_METADATA if k in meta}
    kept = {k: ex_meta[k] for k in KEEP_EXERCISE_METADATA if k in ex_meta}
    if kept:
        new_meta["backprop_lab"] = kept
    if raises:
        tags = list(new_meta.get("tags", []))
        if RAISES_TAG not in tags:
            tags.append(RAISES_TAG)
        new_meta["tags"] = tags
    if cell.cell_type == "code":
        new = nbformat.v4.new_code_cell(new_source, metadata=new_meta)
    elif cell.cell_type == "markdown":
        new = nbformat.v4.new_markdown_cell(new_source, metadata=new_meta)
        if "attachments" in cell:
            new["attachments"] = cell["attachments"]
    else:
        new = nbformat.v4.new_raw_cell(new_source, metadata=new_meta)
    new["id"] = cell.get("id")
    return new


# ----------------------------------------------------------------------------- one notebook

VALID_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def header_cell(source_label: str):
    import nbformat

    text = (f"> **Generated notebook.** `backprop-lab release` made this student notebook from the instructor "
            f"notebook `{source_label}`. Learners: work here as usual, it is yours. Course authors: edit the "
            f"source and run `backprop-lab release` again; changes made here are overwritten.")
    cell = nbformat.v4.new_markdown_cell(text)
    cell["id"] = HEADER_ID
    return cell


def release_notebook(nb, source_label: str):
    """The student version of the notebook node ``nb`` (not modified); ``source_label`` names the source."""
    import nbformat

    cells = [header_cell(source_label)]
    for i, cell in enumerate(nb.cells):
        new = student_cell(cell, i, source_label)
        if new is not None:
            cells.append(new)
    seen = {HEADER_ID}
    for i, cell in enumerate(cells[1:], start=1):  # ids copied from the source; made valid and unique
        cid = cell.get("id")
        if not cid or not VALID_ID.match(str(cid)) or cid in seen:
            cid = "cell-" + hashlib.sha1(f"{source_label}:{i}:{cell.source}".encode()).hexdigest()[:12]
        seen.add(cid)
        cell["id"] = cid
    out = nbformat.v4.new_notebook()
    out.nbformat, out.nbformat_minor = 4, max(5, int(nb.get("nbformat_minor", 5)))
    out.metadata = {k: nb.metadata[k] for k in KEEP_NOTEBOOK_METADATA if k in nb.metadata}
    out.metadata["backprop_lab"] = {"generated_from": source_label}
    out.cells = cells
    nbformat.validate(out)
    return out


def render(nb) -> bytes:
    """The exact bytes written for a notebook: nbformat's JSON (sorted keys, indent 1) and a final newline."""
    import nbformat

    return (nbformat.writes(nb, version=4) + "\n").encode("utf-8")


def release_file(path: Path, source_label: str) -> bytes:
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:
        raise ReleaseError(f"{source_label}: cannot read the notebook ({type(exc).__name__}: {exc})") from None
    return render(release_notebook(nb, source_label))


# ----------------------------------------------------------------------------- a folder

def source_notebooks(source: Path) -> list[Path]:
    """The notebooks of a source folder (top level, sorted, no checkpoints)."""
    return sorted(p for p in source.glob("*.ipynb") if p.is_file() and not p.name.startswith("."))


def build(source: Path) -> dict[str, bytes]:
    """File name -> bytes of every student notebook; raises ``ReleaseError`` before anything is written."""
    source = Path(source)
    if not source.is_dir():
        raise ReleaseError(f"{source}: no such folder (the instructor notebooks, e.g. solutions/)")
    return {p.name: release_file(p, f"{source.name}/{p.name}") for p in source_notebooks(source)}


def write_atomic(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace``; False if it was already so."""
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return True


def stale_notebooks(dest: Path, names: set[str]) -> list[Path]:
    """Generated notebooks in ``dest`` whose source is gone (only files release itself made)."""
    import nbformat

    stale = []
    for p in sorted(Path(dest).glob("*.ipynb")) if Path(dest).is_dir() else []:
        if p.name in names:
            continue
        try:
            nb = nbformat.read(str(p), as_version=4)
        except Exception:
            continue
        if nb.metadata.get("backprop_lab", {}).get("generated_from"):
            stale.append(p)
    return stale


def write(outputs: dict[str, bytes], dest: Path) -> tuple[list[str], list[str]]:
    """Write the notebooks into ``dest``; remove generated ones whose source is gone. (written, removed)"""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    written = [name for name, data in outputs.items() if write_atomic(dest / name, data)]
    removed = []
    for p in stale_notebooks(dest, set(outputs)):
        p.unlink()
        removed.append(p.name)
    return written, removed


def differences(outputs: dict[str, bytes], dest: Path) -> list[str]:
    """What differs between ``dest`` and what release would write (empty when up to date)."""
    problems = []
    for name, data in outputs.items():
        p = Path(dest) / name
        if not p.exists():
            problems.append(f"{p}: missing")
        elif p.read_bytes() != data:
            problems.append(f"{p}: differs from what release makes of its source")
    problems += [f"{p}: its source is gone" for p in stale_notebooks(Path(dest), set(outputs))]
    return problems


def package_copy_dir() -> Path:
    return Path(__file__).resolve().parent / "course_notebooks"


def default_package_copy(dest: Path) -> Path | None:
    """``backprop_lab/course_notebooks`` when ``dest`` is the repository's course/ folder, else None."""
    repo_course = Path(__file__).resolve().parent.parent / "course"
    try:
        return package_copy_dir() if Path(dest).resolve() == repo_course else None
    except OSError:
        return None


def release(source="solutions", dest="course", package_copy: bool | None = None) -> dict:
    """Release ``source`` into ``dest`` (and the package copy, see the module doc). Returns a summary."""
    outputs = build(Path(source))
    if not outputs:
        raise ReleaseError(f"{source}: no notebooks (*.ipynb) to release")
    targets = [Path(dest)]
    pkg = default_package_copy(Path(dest)) if package_copy in (None, True) else None
    if pkg is not None:
        targets.append(pkg)
    summary = {}
    for target in targets:
        written, removed = write(outputs, target)
        summary[str(target)] = {"notebooks": sorted(outputs), "written": written, "removed": removed}
    return summary


# ----------------------------------------------------------------------------- the command

def add_arguments(parser) -> None:
    parser.add_argument("source", nargs="?", default="solutions", metavar="SOURCE",
                        help="folder of instructor notebooks (default: solutions)")
    parser.add_argument("dest", nargs="?", default="course", metavar="DEST",
                        help="folder for the student notebooks (default: course)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if DEST is not exactly what release would write")
    parser.add_argument("--no-package-copy", action="store_true",
                        help="do not also write backprop_lab/course_notebooks/ (only done when DEST is the "
                             "repository's course/ folder)")


def run(args) -> int:
    try:
        if args.check:
            outputs = build(Path(args.source))
            dests = [Path(args.dest)]
            pkg = None if args.no_package_copy else default_package_copy(Path(args.dest))
            if pkg is not None:
                dests.append(pkg)
            problems = [p for d in dests for p in differences(outputs, d)]
            for p in problems:
                print(p)
            if problems:
                print(f"{len(problems)} notebook(s) out of date: run `backprop-lab release {args.source} "
                      f"{args.dest}`", file=sys.stderr)
                return 1
            print(f"{args.dest} is up to date with {args.source} ({len(outputs)} notebooks)")
            return 0
        summary = release(args.source, args.dest, package_copy=not args.no_package_copy)
    except ReleaseError as exc:
        print(f"backprop-lab release: {exc}", file=sys.stderr)
        return 1
    for target, s in summary.items():
        changed = ", ".join(s["written"]) or "none changed"
        print(f"{target}: {len(s['notebooks'])} notebooks ({changed})")
        for name in s["removed"]:
            print(f"{target}: removed {name} (its source is gone)")
    return 0
