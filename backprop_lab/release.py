"""The release step of ``backprop-lab build``: the student notebook made from an instructor notebook.

``solutions/NN_name.md`` (with its paired ``.ipynb``) is the source; ``course/NN_name.ipynb`` and the
package's copy ``backprop_lab/course_notebooks/`` are generated from it by ``backprop-lab build`` (the
conventions are in CONTRIBUTING.md, "Notebook conventions"):

- in code cells, each ``### BEGIN SOLUTION`` … ``### END SOLUTION`` region becomes a stub at the
  marker's indentation: inside a function, ``raise NotImplementedError("Exercise NN.K: <task>")`` (the
  signature and docstring above it stay); at column 0 (a value exercise), a comment, so that the
  cell runs quietly and ``check`` says "not done yet";
- in markdown cells, a solution region becomes an answer prompt;
- ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` regions are removed (a cell left empty goes);
  ``backprop-lab build`` turns them into the notebook's checks (``backprop_lab/exercises/hidden/``);
- outputs and execution counts are cleared; cell metadata keeps only what students and the
  grader need (tags, the ``backprop_lab`` exercise facts, JupyterLab's editable/deletable/jupyter);
  the notebook's metadata records its source (``backprop_lab.generated_from``).

The output is deterministic: the same sources give byte-identical files (nbformat's sorted-key
JSON, cell ids copied from the sources). Every notebook is transformed before any is written,
and each is written atomically, so an error never leaves a half-released course. A marker that
is unknown, nested or unbalanced stops the release with an error naming the notebook, the
cell and the line.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from .atomic import write_atomic

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
MARKERS = {BEGIN_SOLUTION: ("begin", "solution"), END_SOLUTION: ("end", "solution"),
           BEGIN_HIDDEN: ("begin", "hidden"), END_HIDDEN: ("end", "hidden")}
# anything that looks like a marker (any number of #, any case) must be an exact one; "# end of loop" is not
MARKER_LIKE = re.compile(r"^\s*#+\s*(BEGIN|END)\s+(SOLUTION|HIDDEN|TEST)", re.IGNORECASE)

ANSWER_PROMPT = "**Your answer:** _double-click this cell and write your answer here._"
KEEP_CELL_METADATA = ("tags", "editable", "deletable", "jupyter")
KEEP_EXERCISE_METADATA = ("id", "points", "task", "check", "target")
KEEP_NOTEBOOK_METADATA = ("kernelspec", "language_info")


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
    """What replaces a solution region in a code cell.

    Inside a function or method (an indented region) the stub raises ``NotImplementedError`` with the
    task, so calling the unfinished function says what to do. At column 0 (a value exercise such as
    ``dL_dw, dL_dx = None, None`` followed by the region) it is a comment: the names keep their ``None``
    defaults, so *Run All* shows no traceback and ``check`` reports the exercise as not done yet.
    """
    text = f"Exercise {exercise_id}: {task}" if task else f"Exercise {exercise_id}: write your code here"
    text = " ".join(text.split())  # one line, whatever the metadata held
    if not indent:
        return f"# {text}\n# (your code here)"
    quoted = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{indent}raise NotImplementedError({quoted})"


def strip_regions(source: str) -> str:
    """``source`` with every marked region (solution and hidden tests, markers included) left out.

    An indented region becomes ``pass``, so that what is left still parses (for reading its names).
    """
    try:
        regions = find_regions(source, "cell")
    except ReleaseError:
        return source
    lines, out, i = source.splitlines(), [], 0
    for r in regions:
        out.extend(lines[i: r.begin_line - 1])
        if r.indent:
            out.append(r.indent + "pass")
        i = r.end_line
    out.extend(lines[i:])
    return "\n".join(out)


def region_text(source: str, kind: str) -> str:
    """The lines inside the regions of ``kind`` ("solution" or "hidden"), markers left out, joined."""
    lines = source.splitlines()
    return "\n".join("\n".join(lines[r.begin_line: r.end_line - 1])
                     for r in find_regions(source, "cell") if r.kind == kind)


def transform_source(source: str, regions: list[Region], cell_type: str, exercise_id: str | None,
                     task: str) -> str:
    """The student version of a cell's source."""
    lines = source.splitlines()
    out, i = [], 0
    for r in regions:
        out.extend(lines[i: r.begin_line - 1])
        if r.kind == "solution":
            if cell_type == "code":
                out.append(stub(r.indent, exercise_id or "?", task))
            else:
                out.append(ANSWER_PROMPT)
        i = r.end_line
    out.extend(lines[i:])
    text = "\n".join(out)
    return text.strip("\n") if regions else text


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
    new_source = transform_source(source, regions, cell.cell_type, exercise_id, ex_meta.get("task", ""))
    if regions and not new_source.strip():
        return None  # e.g. a cell that held only hidden tests

    new_meta = {k: meta[k] for k in KEEP_CELL_METADATA if k in meta}
    kept = {k: ex_meta[k] for k in KEEP_EXERCISE_METADATA if k in ex_meta}
    if kept:
        new_meta["backprop_lab"] = kept
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


def release_notebook(nb, source_label: str):
    """The student version of the notebook node ``nb`` (not modified); ``source_label`` names the source."""
    import nbformat

    cells = []
    for i, cell in enumerate(nb.cells):
        new = student_cell(cell, i, source_label)
        if new is not None:
            cells.append(new)
    seen = set()
    for i, cell in enumerate(cells):  # ids copied from the source; made valid and unique
        cid = cell.get("id")
        if not cid or not VALID_ID.match(str(cid)) or cid in seen:
            cid = "cell-" + hashlib.sha1(f"{source_label}:{i}:{cell.source}".encode()).hexdigest()[:12]
        seen.add(cid)
        cell["id"] = cid
    out = nbformat.v4.new_notebook()
    out.nbformat, out.nbformat_minor = 4, max(5, int(nb.get("nbformat_minor", 5)))
    out.metadata = {k: nb.metadata[k] for k in KEEP_NOTEBOOK_METADATA if k in nb.metadata}
    # the language's name, not the instructor's Python version that the kernel recorded when it ran
    out.metadata["language_info"] = {"name": (nb.metadata.get("language_info") or {}).get("name", "python")}
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



def release(source="solutions", dest="course") -> dict:
    """Release every notebook of the folder ``source`` into ``dest``; returns {dest: {notebooks, written, removed}}.

    (``backprop-lab build`` does this for the repository's solutions/, course/ and the package's copy.)
    """
    outputs = build(Path(source))
    if not outputs:
        raise ReleaseError(f"{source}: no notebooks (*.ipynb) to release")
    written, removed = write(outputs, Path(dest))
    return {str(dest): {"notebooks": sorted(outputs), "written": written, "removed": removed}}
