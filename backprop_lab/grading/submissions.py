"""Find, read and inspect submissions: student folders or zips, notebooks, cells against the release.

Nothing here runs student code. A file that cannot be read as a notebook raises ``Malformed`` with a
message that says what is wrong; the structure of a readable one is compared with the released
``course/`` notebook: provided cells edited, deleted or moved, cells added, exercise cells missing.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from dataclasses import dataclass, field

MAX_NOTEBOOK_BYTES = 100 * 1024 * 1024
NB_NAME = re.compile(r"^(\d\d)_[\w\-]+?(?:[ _\-]*(?:\(\d+\)|-?copy\d*))?\.ipynb$", re.IGNORECASE)


TOO_LARGE = b"\x00backprop-lab: too large\x00"


class Malformed(Exception):
    """A submitted file that is not a gradable notebook; the message says why."""


@dataclass
class ExerciseInfo:
    id: str
    points: float
    task: str = ""
    target: str = ""


@dataclass
class Released:
    """What the grader knows about one notebook as it was handed out."""

    name: str                                   # "01_finite_differences.ipynb"
    exercises: list[ExerciseInfo]
    provided: list[tuple[str, str]] = field(default_factory=list)   # (cell id, hash) of provided code cells
    exercise_sources: dict[str, str] = field(default_factory=dict)  # id -> released source of its cell

    @property
    def number(self) -> str:
        return self.name[:2]


def cell_hash(source: str) -> str:
    text = "\n".join(line.rstrip() for line in source.strip().splitlines())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def exercise_meta(cell) -> dict | None:
    meta = cell.get("metadata", {}).get("backprop_lab")
    return meta if isinstance(meta, dict) and meta.get("id") else None


class Node(dict):
    """A notebook or a cell read from JSON: a dict whose keys are also attributes (as in nbformat's NotebookNode)."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key, value):
        self[key] = value


def _plain_v4(raw: dict) -> Node | None:
    """A well-formed nbformat 4 notebook as ``Node``s, without nbformat; None for anything else.

    Importing nbformat costs 1-3 s (its JSON-schema validator), more than grading a small notebook, so
    the common case is read here; old formats and anything unusual still go through nbformat.
    """
    if type(raw.get("nbformat")) is not int or raw["nbformat"] != 4 or not isinstance(raw.get("metadata"), dict):
        return None
    cells = raw.get("cells")
    if not isinstance(cells, list):
        return None
    out = []
    for cell in cells:
        if not (isinstance(cell, dict) and cell.get("cell_type") in ("code", "markdown", "raw")
                and isinstance(cell.get("metadata"), dict)):
            return None
        source = cell.get("source")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            return None
        out.append(Node(cell, source=source))
    return Node(raw, cells=out)


def read_notebook(data: bytes, what: str = "the file"):
    """Parse a notebook (any nbformat nbformat can convert) into v4 with outputs dropped; or raise Malformed."""
    if not data.strip():
        raise Malformed(f"{what} is empty (0 bytes of notebook): was it saved before it was submitted?")
    if len(data) > MAX_NOTEBOOK_BYTES or data == TOO_LARGE:
        raise Malformed(f"{what} is {len(data) // 2**20} MB, over the {MAX_NOTEBOOK_BYTES // 2**20} MB limit "
                        "(clear the outputs with Edit → Clear Outputs of All Cells and submit again)")
    try:
        raw = json.loads(data.decode("utf-8", errors="replace"))
    except ValueError as exc:
        raise Malformed(f"{what} is not a notebook: it is not valid JSON ({exc})") from None
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise Malformed(f"{what} is JSON but not a Jupyter notebook (no 'nbformat' field)")
    old = raw.get("nbformat")
    for cell in raw.get("cells", []) if isinstance(raw.get("cells"), list) else []:
        if isinstance(cell, dict):
            cell["outputs"] = []
    for ws in raw.get("worksheets", []) if isinstance(raw.get("worksheets"), list) else []:
        for cell in ws.get("cells", []) if isinstance(ws, dict) else []:
            if isinstance(cell, dict):
                cell["outputs"] = []
    nb = _plain_v4(raw)
    if nb is not None:
        return nb, []
    import nbformat

    try:
        nb = nbformat.reads(json.dumps(raw), as_version=4)
    except Exception as exc:
        raise Malformed(f"{what} is not a notebook nbformat can read (nbformat {old!r}): {exc}") from None
    notes = []
    if old != 4:
        notes.append(f"converted from the old notebook format {old} to 4")
    for cell in nb.cells:
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
    return nb, notes


def released_from_notebook(name: str, nb) -> Released:
    exercises, provided, sources = [], [], {}
    for cell in nb.cells:
        meta = exercise_meta(cell)
        if meta:
            exercises.append(ExerciseInfo(str(meta["id"]), float(meta.get("points", 1)), str(meta.get("task", ""))))
            sources[str(meta["id"])] = cell.source
        elif cell.cell_type == "code":
            provided.append((cell.get("id", ""), cell_hash(cell.source)))
    return Released(name, exercises, provided, sources)


def load_course(course_dir: str | None) -> dict[str, Released]:
    """The released notebooks of ``course_dir`` (``{file name: Released}``), or {} without one."""
    out = {}
    if course_dir and os.path.isdir(course_dir):
        for name in sorted(os.listdir(course_dir)):
            if NB_NAME.match(name):
                with open(os.path.join(course_dir, name), "rb") as f:
                    nb, _ = read_notebook(f.read(), name)
                out[name] = released_from_notebook(name, nb)
    return out


@dataclass
class Submission:
    """One student's files: ``student`` is the id used in every output (unique in a run)."""

    student: str
    entry: str                                  # the folder or zip it came from ("bob/", "bob.zip")
    files: dict[str, bytes]                     # path inside the submission -> bytes
    notes: list[str] = field(default_factory=list)


def discover(root: str) -> tuple[list[Submission], list[str]]:
    """The submissions in ``root`` (one folder or ``<student>.zip`` each), and what was not graded.

    Only ``*.ipynb`` files are read (from any depth). A zip's members are read with a size limit,
    never extracted, so a zip bomb or a ``../`` path cannot do harm. Nothing is skipped silently: hidden
    entries (a leading dot) and files that are neither a folder nor a zip at the top are listed in the
    second value; hidden notebooks inside a submission go into its notes. Two entries that name the
    same student (``bob/`` and ``bob.zip``; ``alice smith`` and ``alice_smith``) are graded
    separately, under distinct ids, and each gets a note naming the other.
    """
    problems: list[str] = []
    found: list[Submission] = []
    for entry in sorted(os.listdir(root)):
        path = os.path.join(root, entry)
        if entry.startswith("."):
            problems.append(f"hidden entry {entry!r} in {root} was not graded (rename it without the leading dot "
                            "to grade it)")
            continue
        if os.path.isdir(path):
            files, hidden = _read_folder(path)
            found.append(Submission(_student_name(entry), entry + "/", files))
        elif entry.lower().endswith(".zip"):
            files, hidden, problem = _read_zip(path)
            found.append(Submission(_student_name(entry[:-4]), entry, files, [problem] if problem else []))
        else:
            problems.append(f"{entry!r} in {root} is neither a folder nor a .zip: not graded")
            continue
        if hidden:
            found[-1].notes.append(f"hidden notebook{'s' if len(hidden) > 1 else ''} not graded: "
                                   f"{', '.join(sorted(hidden)[:5])}")
    _unique_ids(found)
    return found, problems


def _unique_ids(found: list[Submission]) -> None:
    by_id: dict[str, list[Submission]] = {}
    for sub in found:
        by_id.setdefault(sub.student, []).append(sub)
    taken = set(by_id)
    for sid, subs in by_id.items():
        if len(subs) < 2:
            continue
        for n, sub in enumerate(subs):
            if n:
                alt = _student_name(sub.entry.rstrip("/"))
                k = 2
                while alt in taken:
                    alt, k = f"{sid}-{k}", k + 1
                taken.add(alt)
                sub.student = alt
        entries = " and ".join(repr(s.entry) for s in subs)
        ids = " and ".join(repr(s.student) for s in subs)
        for sub in subs:
            sub.notes.append(f"the submissions {entries} both name student {sid!r}: they were graded separately, "
                             f"as {ids}; check which is the right one")


def _read_folder(path: str) -> tuple[dict[str, bytes], list[str]]:
    files, hidden = {}, []
    for dirpath, dirnames, filenames in os.walk(path):
        rel_dir = os.path.relpath(dirpath, path)
        for d in sorted(dirnames):
            if d.startswith("."):
                hidden += [os.path.normpath(os.path.join(rel_dir, d, f))
                           for _, _, fs in os.walk(os.path.join(dirpath, d)) for f in fs if f.endswith(".ipynb")]
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            rel = os.path.normpath(os.path.join(rel_dir, fn))
            if fn.endswith(".ipynb") and fn.startswith("."):
                hidden.append(rel)
            elif fn.endswith(".ipynb"):
                full = os.path.join(dirpath, fn)
                size = os.path.getsize(full)
                with open(full, "rb") as f:
                    files[rel] = f.read(MAX_NOTEBOOK_BYTES + 1) if size else b""
    return files, hidden


def _read_zip(path: str) -> tuple[dict[str, bytes], list[str], str]:
    files, hidden = {}, []
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                name = info.filename.replace("\\", "/")
                if info.is_dir() or not name.endswith(".ipynb"):
                    continue
                parts = [p for p in name.split("/") if p not in ("", ".", "..")]
                rel = "/".join(parts)
                if any(p.startswith(".") for p in parts) or parts[0] == "__MACOSX":
                    hidden.append(rel)
                elif rel not in files:
                    files[rel] = TOO_LARGE if info.file_size > MAX_NOTEBOOK_BYTES else zf.read(info)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return files, hidden, f"{os.path.basename(path)} could not be read as a zip ({exc}): nothing in it was graded"
    return files, hidden, ""


def _student_name(name: str) -> str:
    return re.sub(r"[^\w.\-@+]", "_", name).strip("._") or "student"


def match_files(files: dict[str, bytes], notebooks: list[str]) -> tuple[dict[str, list[tuple[str, bytes]]], list[str]]:
    """For each expected notebook, every file that may be it, the best guess first; and the files that match none.

    A file matches by exact name, else by its ``NN_`` prefix (JupyterLab's "-Copy1" and a browser's
    " (1)" renames still match). Several candidates are all graded (the caller keeps the best and says so).
    """
    out: dict[str, list[tuple[str, bytes]]] = {}
    used = set()
    for nb in notebooks:
        exact = sorted(p for p in files if os.path.basename(p) == nb)
        near = sorted(p for p in files if p not in exact and os.path.basename(p)[:3] == nb[:3]
                      and NB_NAME.match(os.path.basename(p)))
        if exact or near:
            out[nb] = [(p, files[p]) for p in exact + near]
            used.update(exact + near)
    return out, sorted(set(files) - used)


@dataclass
class Structure:
    """How a submitted notebook differs from the released one."""

    exercise_cells: dict[str, list[int]]        # id -> indices of the cells carrying it
    notes: list[str]
    wrong_notebook: str = ""


def inspect_structure(nb, released: Released | None, name: str) -> Structure:
    cells = nb.cells
    ex_cells: dict[str, list[int]] = {}
    for i, cell in enumerate(cells):
        meta = exercise_meta(cell)
        if meta and cell.cell_type == "code":
            ex_cells.setdefault(str(meta["id"]), []).append(i)
    notes = []
    number = name[:2]
    foreign = sorted({x.split(".")[0] for x in ex_cells} - {number})
    mine = [x for x in ex_cells if x.split(".")[0] == number]
    wrong = ""
    if foreign and not mine:
        wrong = (f"this file holds the exercises of notebook {', '.join(foreign)}, not of notebook {number}: "
                 "the wrong notebook was submitted under this name")
    for xid, idx in ex_cells.items():
        if len(idx) > 1:
            notes.append(f"exercise {xid} appears in {len(idx)} cells (cells {', '.join(str(i + 1) for i in idx)}); "
                         "whatever the notebook defines last is graded")
    if released is None:
        return Structure(ex_cells, notes, wrong)
    by_id = {c.get("id"): i for i, c in enumerate(cells) if c.get("id")}
    by_hash: dict[str, list[int]] = {}
    for i, c in enumerate(cells):
        if c.cell_type == "code":
            by_hash.setdefault(cell_hash(c.source), []).append(i)
    edited, deleted, positions = [], [], []
    matched = set()
    for k, (cid, h) in enumerate(released.provided):
        if h in by_hash and by_hash[h]:
            i = by_hash[h].pop(0)
            positions.append(i)
            matched.add(i)
        elif cid and cid in by_id and cells[by_id[cid]].cell_type == "code":
            edited.append(by_id[cid])
            matched.add(by_id[cid])
            positions.append(by_id[cid])
        else:
            deleted.append(k + 1)
    if edited:
        notes.append(f"provided cell{'s' if len(edited) > 1 else ''} "
                     f"{', '.join(str(i + 1) for i in sorted(edited))} edited (the grade does not depend on them)")
    if deleted:
        notes.append(f"{len(deleted)} provided code cell{'s' if len(deleted) > 1 else ''} deleted or rewritten")
    if positions != sorted(positions):
        notes.append("provided cells re-ordered")
    ex_idx = {i for idx in ex_cells.values() for i in idx}
    added = [i for i, c in enumerate(cells)
             if c.cell_type == "code" and i not in matched and i not in ex_idx and c.source.strip()]
    if added:
        notes.append(f"{len(added)} code cell{'s' if len(added) > 1 else ''} added by the student "
                     f"(cell{'s' if len(added) > 1 else ''} {', '.join(str(i + 1) for i in added[:10])}); they were run")
    return Structure(ex_cells, notes, wrong)
