"""The course's exercises, read from the one place that owns them: the exercise cells' metadata.

An exercise is a code cell of an instructor notebook (``solutions/NN_name.md``) with the tag
``exercise`` and this cell metadata::

    backprop_lab: {id: "04.1", points: 2, task: "...", check: MatmulBackward}

``id``, ``points`` and ``task`` are written there and nowhere else; ``check`` names the class that holds
the exercise's check logic (in ``backprop_lab/exercises/nbNN.py``, or in a ``### BEGIN HIDDEN TESTS``
region of the notebook itself). The learner's object is found by its name in the notebook, the
``target``: the name(s) the cell defines outside its solution region (``def matmul_backward``,
``dL_dw, dL_dx = None, None``), unless the metadata gives ``target`` explicitly.

``load()`` reads the released notebooks that ship with the package (``course_notebooks/``), which
``backprop-lab build`` writes from the sources, so the learner's ``check``, ``use`` and the progress
table see exactly the exercises of the course they were given.
"""
from __future__ import annotations

import ast
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

PACKAGE_COPY = Path(__file__).resolve().parent.parent / "course_notebooks"
ID_PATTERN = re.compile(r"^(\d{2})\.(\d+)$")
_CACHE: dict = {}


@dataclass(frozen=True)
class Entry:
    """What the course says about one exercise."""

    id: str              # "04.1"
    notebook: str        # "04_dimensional_analysis"
    points: float
    task: str            # what to do, shown in the stub and the check's heading
    check: str           # the check class's name
    target: str          # the learner's name(s) in the notebook: "matmul_backward" or "(dL_dw, dL_dx)"

    @property
    def number(self) -> str:
        return self.id.split(".")[0]

    @property
    def names(self) -> tuple[str, ...]:
        """The target as a tuple of names ("(a, b)" -> ("a", "b"))."""
        return tuple(n.strip() for n in self.target.strip("()").split(",") if n.strip())


def exercise_meta(cell) -> dict | None:
    """The ``backprop_lab`` metadata of an exercise cell, or None for any other cell."""
    meta = (cell.get("metadata") or {}).get("backprop_lab")
    return meta if isinstance(meta, dict) and meta.get("id") else None


def defined_names(source: str) -> list[str]:
    """The names a cell binds at top level outside its solution regions, in order (imports excepted)."""
    from ..release import strip_regions

    try:
        tree = ast.parse(_without_magics(strip_regions(source)))
    except SyntaxError:
        return []
    names: list[str] = []

    def add(node):
        if isinstance(node, ast.Name):
            names.append(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                add(elt)

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                add(t)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            add(node.target)
    return list(dict.fromkeys(names))


def target_of(cell) -> str:
    """The exercise's target: the metadata's ``target``, else the names the cell defines outside its solution."""
    meta = exercise_meta(cell) or {}
    if meta.get("target"):
        return str(meta["target"])
    source = cell.get("source", "")
    names = defined_names("".join(source) if isinstance(source, list) else source)
    if len(names) == 1:
        return names[0]
    return "(" + ", ".join(names) + ")" if names else ""


def entries_of(nb, notebook: str) -> list[Entry]:
    """The exercises of one notebook node, in cell order."""
    out = []
    for cell in nb.get("cells", []):
        meta = exercise_meta(cell)
        if meta is None or cell.get("cell_type") != "code":
            continue
        out.append(Entry(id=str(meta["id"]), notebook=notebook, points=float(meta.get("points", 1)),
                         task=str(meta.get("task", "")), check=str(meta.get("check", "")), target=target_of(cell)))
    return out


def load(folder: str | os.PathLike | None = None) -> dict[str, Entry]:
    """Every exercise of the notebooks in ``folder`` (default: the package's released course), by id.

    Cached until a notebook in the folder changes.
    """
    folder = Path(folder or os.environ.get("BACKPROP_LAB_COURSE") or PACKAGE_COPY)
    paths = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
    cached = _CACHE.get(str(folder))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    found: dict[str, Entry] = {}
    for p in paths:
        try:
            nb = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for e in entries_of(nb, p.stem):
            found.setdefault(e.id, e)
    result = dict(sorted(found.items(), key=lambda kv: sort_key(kv[0])))
    _CACHE[str(folder)] = (stamp, result)
    return result


def sort_key(exercise_id: str):
    m = ID_PATTERN.match(exercise_id)
    return (int(m.group(1)), int(m.group(2))) if m else (999, exercise_id)


def _without_magics(source: str) -> str:
    return re.sub(r"^\s*[%!].*$", "", source, flags=re.MULTILINE)
