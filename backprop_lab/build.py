"""``backprop-lab build [NN ...]``: rebuild everything that derives from the instructor notebooks.

Each instructor notebook has one hand-edited source in two interchangeable forms, a pair that
jupytext keeps in step (``solutions/jupytext.toml``):

- ``solutions/NN_name.md``: MyST Markdown, the text form (reviewable diffs, any editor);
- ``solutions/NN_name.ipynb``: the same cells, executed, with the outputs nbval compares.

Edit either (JupyterLab opens both; with jupytext's extension, saving one writes the other). For
each notebook, ``build``:

1. **syncs the pair**: the form that changed since the last build is taken, and the other one
   rewritten from it (jupytext keeps the ``.ipynb``'s outputs for unchanged cells); if *both* changed
   differently, it stops and names them, so that no edit is lost (``--take md|ipynb`` decides);
2. gives every cell a **stable id** (an exercise cell's comes from its exercise id, ``ex-04-1``; other
   cells keep theirs, and a new cell's id comes from its content), so inserting a cell changes
   nothing else;
3. checks the exercise metadata, and **generates** from the notebook, with a "do not edit" header:
   ``backprop_lab/references/nbNN.py`` (the cells tagged ``export`` and the exercise cells with their
   solutions: the reference that ``check`` compares with and ``use`` falls back to) and, if the notebook
   has ``### BEGIN HIDDEN TESTS`` regions, ``backprop_lab/exercises/hidden/nbNN.py`` (their checks);
4. **releases** the student notebook into ``course/`` and the package's ``course_notebooks/``;
5. **executes** the ``.ipynb`` in a fresh kernel (cwd ``solutions/``) when its cells changed since it
   was last executed (or with ``--execute``), and saves the outputs.

Running it twice in a row changes nothing: every output is a function of the sources, and a
notebook whose cells did not change is not executed again.
"""
from __future__ import annotations

import ast
import hashlib
import os
import re
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import write_atomic

FORMAT = "md:myst"
EXPORT_TAG = "export"
EXERCISE_TAG = "exercise"
NAME = re.compile(r"^(\d{2})_[A-Za-z0-9_]+$")
VALID_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
DROP_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled")


class BuildError(ValueError):
    """A source breaks the conventions, or the two forms of a notebook disagree: the message says which."""


@dataclass
class Pair:
    """One instructor notebook: ``NN_name.md`` and ``NN_name.ipynb`` in the solutions folder."""

    folder: Path
    stem: str

    @property
    def number(self) -> str:
        return self.stem[:2]

    @property
    def md(self) -> Path:
        return self.folder / f"{self.stem}.md"

    @property
    def ipynb(self) -> Path:
        return self.folder / f"{self.stem}.ipynb"

    @property
    def label(self) -> str:
        return f"{self.folder.name}/{self.md.name}"


@dataclass
class Layout:
    """Where a build reads and writes (all inside one repository checkout)."""

    root: Path

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    @property
    def course(self) -> Path:
        return self.root / "course"

    @property
    def package(self) -> Path:
        return self.root / "backprop_lab"

    @property
    def references(self) -> Path:
        return self.package / "references"

    @property
    def hidden(self) -> Path:
        return self.package / "exercises" / "hidden"

    @property
    def package_copy(self) -> Path:
        return self.package / "course_notebooks"


@dataclass
class Report:
    """What one build did, for the command's summary."""

    synced: list = field(default_factory=list)          # (stem, "md" | "ipynb" | "new") taken as the source
    written: list = field(default_factory=list)         # paths written
    executed: list = field(default_factory=list)        # (stem, seconds)
    unchanged: list = field(default_factory=list)


# ----------------------------------------------------------------------------- jupytext


def _jupytext():
    try:
        import jupytext
    except ImportError:
        raise BuildError("`backprop-lab build` needs jupytext, for the notebooks' text form: "
                         "pip install \"backprop-lab[authoring]\" (or pip install jupytext)") from None
    return jupytext


def _config(folder: Path):
    _jupytext()
    from jupytext.config import load_jupytext_config

    return load_jupytext_config(str(folder))


def to_text(nb, folder: Path) -> str:
    """The MyST text of a notebook node, as jupytext writes it with the folder's configuration.

    jupytext records the configuration's filters in the notebook's metadata while writing, so the text
    is rendered twice: the second rendering is what the same notebook gives from then on.
    """
    jupytext = _jupytext()
    config = _config(folder)
    jupytext.writes(nb, fmt=FORMAT, config=config)
    return jupytext.writes(nb, fmt=FORMAT, config=config)


def from_text(text: str):
    return _jupytext().reads(text, fmt=FORMAT)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _meta(nb) -> dict:
    return nb.metadata.setdefault("backprop_lab", {})


# ----------------------------------------------------------------------------- 1. sync


def find_pairs(folder: Path, numbers: list[str] | None = None) -> list[Pair]:
    """The instructor notebooks of ``folder`` (either form present), optionally only numbers ``NN``."""
    stems = {p.stem for p in folder.glob("*.md") if NAME.match(p.stem)}
    stems |= {p.stem for p in folder.glob("*.ipynb") if NAME.match(p.stem)}
    pairs = [Pair(folder, s) for s in sorted(stems)]
    if numbers:
        wanted = {n.zfill(2) for n in numbers}
        unknown = wanted - {p.number for p in pairs}
        if unknown:
            raise BuildError(f"no notebook numbered {', '.join(sorted(unknown))} in {folder} "
                             f"(there are: {', '.join(p.stem for p in pairs) or 'none'})")
        pairs = [p for p in pairs if p.number in wanted]
    numbers_seen: dict[str, str] = {}
    for p in pairs:
        if p.number in numbers_seen:
            raise BuildError(f"two notebooks numbered {p.number}: {numbers_seen[p.number]} and {p.stem}")
        numbers_seen[p.number] = p.stem
    return pairs


def sync(pair: Pair, take: str | None = None):
    """Read the pair as one notebook node, inputs from the form that changed; returns (nb, taken).

    ``taken`` is "md", "ipynb", "both" (already equal) or "new" (only one form existed).
    """
    import nbformat

    _jupytext()
    from jupytext.combine import combine_inputs_with_outputs

    has_md, has_nb = pair.md.exists(), pair.ipynb.exists()
    if not has_md and not has_nb:
        raise BuildError(f"{pair.label}: neither {pair.md.name} nor {pair.ipynb.name} exists")
    ipynb = nbformat.read(str(pair.ipynb), as_version=4) if has_nb else None
    if not has_md:
        return ipynb, "new"
    md_text = pair.md.read_text(encoding="utf-8")
    try:
        md_nb = from_text(md_text)
    except Exception as exc:
        raise BuildError(f"{pair.md}: jupytext cannot read it ({type(exc).__name__}: {exc})") from None
    if ipynb is None:
        return md_nb, "new"
    nb_text = to_text(ipynb, pair.folder)
    if nb_text == to_text(md_nb, pair.folder):
        return ipynb, "both"
    last = _meta(ipynb).get("synced")
    md_changed = digest(to_text(md_nb, pair.folder)) != last
    nb_changed = digest(nb_text) != last
    if take is None:
        if md_changed and nb_changed:
            raise BuildError(
                f"{pair.md.name} and {pair.ipynb.name} were both edited since the last build, differently. "
                f"Nothing was written. Keep one with `backprop-lab build {pair.number} --take md` (the text "
                f"form wins) or `--take ipynb` (the notebook wins); compare them first with "
                f"`jupytext --diff {pair.md} {pair.ipynb}`.")
        take = "ipynb" if nb_changed else "md"
    if take == "ipynb":
        return ipynb, "ipynb"
    return combine_inputs_with_outputs(md_nb, ipynb, fmt=FORMAT), "md"


# ----------------------------------------------------------------------------- 2. ids and checks


def assign_ids(nb, pair: Pair) -> None:
    """Stable, unique cell ids: ``ex-NN-K`` for exercise cells; others keep a valid id or get one from content."""
    from .exercises.catalog import exercise_meta

    seen: set[str] = set()
    wanted = {}
    for i, cell in enumerate(nb.cells):
        meta = exercise_meta(cell)
        if meta is not None and cell.cell_type == "code":
            wanted[i] = "ex-" + str(meta["id"]).replace(".", "-")
    seen.update(wanted.values())
    for i, cell in enumerate(nb.cells):
        if i in wanted:
            cell["id"] = wanted[i]
            continue
        cid = cell.get("id")
        if not cid or not VALID_ID.match(str(cid)) or cid in seen or cid.startswith("ex-"):
            base = "c" + hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:8]
            cid, n = base, 1
            while cid in seen:
                n += 1
                cid = f"{base}-{n}"
        cell["id"] = cid
        seen.add(cid)
    for cell in nb.cells:
        for key in DROP_CELL_METADATA:
            cell.metadata.pop(key, None)
    nb.nbformat, nb.nbformat_minor = 4, max(5, int(nb.get("nbformat_minor", 5)))


def validate(nb, pair: Pair) -> None:
    """The exercise conventions (CONTRIBUTING.md); raises ``BuildError`` naming the cell."""
    from . import release
    from .exercises.catalog import ID_PATTERN, exercise_meta, target_of

    ids: dict[str, int] = {}
    for i, cell in enumerate(nb.cells):
        where = f"{pair.label}, cell {i + 1}"
        try:
            regions = release.find_regions(cell.source, where)
        except release.ReleaseError as exc:
            raise BuildError(str(exc)) from None
        meta = exercise_meta(cell)
        has_solution = any(r.kind == "solution" for r in regions)
        if meta is None:
            if has_solution and cell.cell_type == "code":
                raise BuildError(f"{where}: a solution region in a cell that is not an exercise; give it the tag "
                                 f"'exercise' and metadata backprop_lab: {{id: \"{pair.number}.K\", points: 1, "
                                 f"task: \"...\", check: ClassName}}")
            continue
        xid = str(meta["id"])
        m = ID_PATTERN.match(xid)
        if not m or m.group(1) != pair.number:
            raise BuildError(f"{where}: exercise id {xid!r} should be \"{pair.number}.K\" (this notebook's number, "
                             "then the exercise's)")
        if xid in ids:
            raise BuildError(f"{where}: exercise id {xid} is already used by cell {ids[xid] + 1}")
        ids[xid] = i
        if cell.cell_type != "code":
            continue
        if EXERCISE_TAG not in cell.metadata.get("tags", []):
            raise BuildError(f"{where}: exercise {xid} needs the tag 'exercise'")
        if not has_solution:
            raise BuildError(f"{where}: exercise {xid} has no '### BEGIN SOLUTION' region")
        for key in ("points", "task", "check"):
            if meta.get(key) in (None, ""):
                raise BuildError(f"{where}: exercise {xid} has no '{key}' in its backprop_lab metadata")
        if not isinstance(meta["points"], (int, float)) or meta["points"] <= 0:
            raise BuildError(f"{where}: exercise {xid}'s points must be a positive number, not {meta['points']!r}")
        if not target_of(cell):
            raise BuildError(f"{where}: exercise {xid} defines no name outside its solution region; keep the "
                             "`def` line (or `answer = None`) outside the region, or set `target` in the metadata")
        for r in regions:
            if r.kind == "solution" and r.indent == "":
                unbound = _unbound_before(cell.source, r, target_of(cell))
                if unbound:
                    raise BuildError(f"{where}: exercise {xid}'s solution is at column 0, so the student's stub "
                                     f"leaves {', '.join(unbound)} undefined; give it a default before the region "
                                     f"(`{unbound[0]} = None`)")


def _unbound_before(source: str, region, target: str) -> list[str]:
    from .exercises.catalog import defined_names

    before = "\n".join(source.splitlines()[: region.begin_line - 1])
    bound = set(defined_names(before))
    return [n for n in target.strip("()").replace(" ", "").split(",") if n and n not in bound]


# ----------------------------------------------------------------------------- 3. generated modules

PROLOGUE = """
# what every notebook has imported; anything else a solution needs comes from a cell tagged `export`
import math

import numpy as np

import backprop_lab as bl
"""

GENERATED = "generated by `backprop-lab build`"
HEADER = '''"""{what} of notebook {number}, generated by `backprop-lab build` from {label}.

Do not edit: edit the notebook and build again. {why}
"""
'''


def reference_module(nb, pair: Pair) -> str:
    """``backprop_lab/references/nbNN.py``: the notebook's ``export`` cells and its exercise cells, solved."""
    from . import release
    from .exercises.catalog import exercise_meta

    parts = [HEADER.format(what="The reference solutions", number=pair.number, label=pair.label,
                           why="`check` compares answers with these, and `use` falls back to them.") + PROLOGUE]
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        is_exercise = exercise_meta(cell) is not None
        if not is_exercise and EXPORT_TAG not in cell.metadata.get("tags", []):
            continue
        lines = cell.source.splitlines()
        keep, skip_until = [], 0
        for r in release.find_regions(cell.source, f"{pair.label}, cell {i + 1}"):
            keep.extend(lines[skip_until: r.begin_line - 1])
            if r.kind == "solution":
                keep.extend(lines[r.begin_line: r.end_line - 1])
            skip_until = r.end_line
        keep.extend(lines[skip_until:])
        code = "\n".join(keep).strip("\n")
        where = f"{pair.label}, cell {i + 1}"
        try:
            ast.parse(code)
        except SyntaxError as exc:
            raise BuildError(f"{where}: an {'exercise' if is_exercise else 'export'} cell must be plain Python "
                             f"(no magics) to go into the reference module: {exc.msg}, line {exc.lineno}") from None
        meta = exercise_meta(cell)
        label = f"exercise {meta['id']} ({where})" if meta else where
        parts.append(f"# --- {label}\n{code}\n")
    return "\n\n".join(parts)


def hidden_module(nb, pair: Pair) -> str | None:
    """``backprop_lab/exercises/hidden/nbNN.py`` from the notebook's hidden-test regions; None if it has none."""
    from . import release

    chunks = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or release.BEGIN_HIDDEN not in cell.source:
            continue
        code = release.region_text(cell.source, "hidden").strip("\n")
        try:
            ast.parse(code)
        except SyntaxError as exc:
            raise BuildError(f"{pair.label}, cell {i + 1}: the hidden tests must be plain Python: {exc.msg}, "
                             f"line {exc.lineno}") from None
        chunks.append(f"# --- {pair.label}, cell {i + 1}\n{code}\n")
    if not chunks:
        return None
    header = HEADER.format(what="Checks written in the notebook (its ### BEGIN HIDDEN TESTS regions)",
                           number=pair.number, label=pair.label,
                           why="`check` and `backprop-lab grade` find an exercise's check class here when "
                               "its metadata names one that backprop_lab/exercises/nbNN.py does not define.")
    return header + "\n\n" + "\n\n".join(chunks)


# ----------------------------------------------------------------------------- 5. execute


def execute(nb, pair: Pair, timeout: int = 300):
    """Run ``nb`` in a fresh kernel with cwd ``solutions/`` (offline data, a scratch progress file); seconds."""
    from nbclient import NotebookClient

    from .exercises.progress import FILENAME

    scratch = Path(tempfile.mkdtemp(prefix="backprop-lab-build-"))
    env = {"BACKPROP_LAB_PROGRESS": str(scratch / FILENAME), "BACKPROP_LAB_OFFLINE": "1",
           "BACKPROP_LAB_STRICT": "1", "BACKPROP_LAB_USE": None,
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}   # figures are kept in the .ipynb
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):   # unless set otherwise: small
        if var not in os.environ:                                               # arrays run fastest on one thread
            env[var] = "1"
    try:
        with _environ(env):
            start = time.perf_counter()
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(pair.folder)}},
                           store_widget_state=True, record_timing=False).execute()
            return time.perf_counter() - start
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@contextmanager
def _environ(changes: dict):
    saved = {key: os.environ.get(key) for key in changes}
    try:
        for key, value in changes.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# ----------------------------------------------------------------------------- the whole build


def _normalised(nb):
    """``nb`` as it reads back from disk (sorted metadata keys), so that both forms render the same text."""
    import nbformat

    return nbformat.reads(nbformat.writes(nb, version=4), as_version=4)


def _ipynb_bytes(nb) -> bytes:
    import nbformat

    nbformat.validate(nb)
    return (nbformat.writes(nb, version=4) + "\n").encode("utf-8")


def plan(root: str | os.PathLike = ".", numbers: list[str] | None = None, *, take: str | None = None):
    """What a build writes, without writing it: ({path: bytes or None to delete}, prepared, report).

    ``prepared`` is a list of ``(pair, notebook node)``. Every notebook is synced and checked first, so a
    problem anywhere stops the build before any file is touched.
    """
    from . import release

    layout = Layout(Path(root).resolve())
    if not layout.solutions.is_dir():
        raise BuildError(f"{layout.solutions}: no such folder; run `backprop-lab build` in the repository's root "
                         "(the folder that holds solutions/ and backprop_lab/)")
    report = Report()
    all_pairs = find_pairs(layout.solutions)
    pairs = find_pairs(layout.solutions, numbers)
    prepared, files = [], {}
    for pair in pairs:
        nb, taken = sync(pair, take)
        assign_ids(nb, pair)
        nb = _normalised(nb)
        validate(nb, pair)
        ref_code, hidden_code = reference_module(nb, pair), hidden_module(nb, pair)
        _check_class_names(pair, nb, hidden_code)
        to_text(nb, pair.folder)                         # records jupytext's filters in the metadata ...
        nb = _normalised(nb)                             # ... in the order they read back from disk
        text = to_text(nb, pair.folder)
        _meta(nb)["synced"] = digest(text)
        if taken != "both":
            report.synced.append((pair.stem, taken))
        files[pair.md] = text.encode("utf-8")
        files[pair.ipynb] = _ipynb_bytes(nb)
        files[layout.references / f"nb{pair.number}.py"] = ref_code.encode("utf-8")
        hidden_path = layout.hidden / f"nb{pair.number}.py"
        files[hidden_path] = hidden_code.encode("utf-8") if hidden_code is not None else None
        prepared.append((pair, nb))
    for folder in (layout.references, layout.hidden):     # generated modules whose notebook is gone
        for path in folder.glob("nb*.py") if folder.is_dir() else []:
            if path.stem[2:] not in {p.number for p in all_pairs} and GENERATED in path.read_text()[:300]:
                files[path] = None
    # the student notebooks (course/ and the package's copy, which the catalog reads)
    released = {p.ipynb.name: release.render(release.release_notebook(nb, p.label)) for p, nb in prepared}
    for p in all_pairs:
        if p.ipynb.name not in released:                 # a partial build keeps the others' released versions
            released[p.ipynb.name] = release.release_file(p.ipynb, p.label)
    for dest in (layout.course, layout.package_copy):
        for name, data in released.items():
            files[dest / name] = data
        for stale in release.stale_notebooks(dest, set(released)):
            files[stale] = None
    return files, prepared, report


def build(root: str | os.PathLike = ".", numbers: list[str] | None = None, *, execute_mode: str = "changed",
          take: str | None = None, log=print) -> Report:
    """Build the notebooks ``numbers`` (default: all) of the repository at ``root``; see the module doc.

    ``execute_mode``: "changed" (run a notebook whose cells changed since it last ran), "always", "never".
    """
    files, prepared, report = plan(root, numbers, take=take)
    for path, data in files.items():
        if data is None:
            if path.exists():
                path.unlink()
                report.written.append(path)
        elif write_atomic(path, data):
            report.written.append(path)
    verify_references(Path(root).resolve(), [pair.number for pair, _ in prepared])
    for pair, nb in prepared:
        inputs = _meta(nb)["synced"]
        if execute_mode == "never" or (execute_mode == "changed" and _meta(nb).get("executed") == inputs):
            report.unchanged.append(pair.stem)
            continue
        log(f"executing {pair.ipynb.relative_to(Path(root).resolve())} ...")
        try:
            seconds = execute(nb, pair)
        except Exception as exc:
            raise BuildError(f"{pair.ipynb}: a cell failed while executing; the notebook was not saved with "
                             f"outputs.\n{_short_error(exc)}") from None
        _meta(nb)["executed"] = inputs
        write_atomic(pair.ipynb, _ipynb_bytes(nb))
        if pair.ipynb not in report.written:
            report.written.append(pair.ipynb)
        report.executed.append((pair.stem, seconds))
    return report


def verify_references(root: Path, numbers: list[str]) -> None:
    """Import each generated reference module in a fresh Python: it must import without error or output.

    (``check`` imports them in the learner's kernel: a solution that prints, trains or needs a name the
    module lacks would show up there.)
    """
    import subprocess

    code = ("import importlib, sys\n"
            "for n in sys.argv[1:]:\n"
            "    importlib.import_module('backprop_lab.references.nb' + n)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
               MPLBACKEND="Agg", BACKPROP_LAB_OFFLINE="1")
    run = subprocess.run([sys.executable, "-c", code, *numbers], cwd=root, env=env, capture_output=True, text=True,
                         timeout=300)
    if run.returncode != 0 or run.stdout.strip():
        raise BuildError("a generated reference module (backprop_lab/references/) "
                         + ("printed when imported; the cells tagged `export` and the exercise cells must only "
                            f"define things:\n{run.stdout[-2000:]}" if run.returncode == 0 else
                            f"failed to import: a solution needs a name that no `export` cell defines?\n"
                            f"{run.stderr[-3000:]}"))


def out_of_date(root: str | os.PathLike = ".") -> list[str]:
    """What ``build`` would change, and which notebooks were not executed since their last edit ([] if none)."""
    files, prepared, _ = plan(root)
    problems = []
    for path, data in files.items():
        if data is None:
            if path.exists():
                problems.append(f"{path}: would be removed (its notebook is gone)")
        elif not path.exists():
            problems.append(f"{path}: missing")
        elif path.read_bytes() != data:
            problems.append(f"{path}: differs from what the build makes of the sources")
    for pair, nb in prepared:
        if _meta(nb).get("executed") != _meta(nb)["synced"]:
            problems.append(f"{pair.ipynb}: its cells changed since it was last executed")
    return problems


def _check_class_names(pair: Pair, nb, hidden_code: str | None) -> None:
    """Every exercise's ``check`` names a class that exists (in the package or the notebook's hidden tests)."""
    import importlib

    from .exercises.catalog import entries_of

    hidden_names = {n.name for n in ast.parse(hidden_code).body if isinstance(n, ast.ClassDef)} if hidden_code else set()
    try:
        module = importlib.import_module(f"backprop_lab.exercises.nb{pair.number}")
    except ModuleNotFoundError:
        module = None
    for e in entries_of(nb, pair.stem):
        if e.check not in hidden_names and not hasattr(module, e.check):
            raise BuildError(f"{pair.label}: exercise {e.id}'s check class {e.check!r} is neither in "
                             f"backprop_lab/exercises/nb{pair.number}.py nor in a ### BEGIN HIDDEN TESTS region "
                             "of the notebook")


def _short_error(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 3000 else text[:1500] + "\n...\n" + text[-1500:]


# ----------------------------------------------------------------------------- the command


def add_arguments(parser) -> None:
    parser.add_argument("numbers", nargs="*", metavar="NN", help="notebook numbers to build (default: all)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--execute", action="store_true", help="run every built notebook, changed or not")
    group.add_argument("--no-execute", action="store_true", help="do not run the notebooks (outputs kept as they are)")
    parser.add_argument("--take", choices=("md", "ipynb"), default=None,
                        help="when both forms of a notebook were edited since the last build: keep this one")
    parser.add_argument("--root", default=".", help="the repository's root (default: the current folder)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if anything the build makes is out of date")


def run(args) -> int:
    mode = "always" if args.execute else "never" if args.no_execute else "changed"
    try:
        if args.check:
            problems = out_of_date(args.root)
            for p in problems:
                print(p)
            print("out of date: run `backprop-lab build`" if problems else "everything is up to date",
                  file=sys.stderr if problems else sys.stdout)
            return 1 if problems else 0
        report = build(args.root, args.numbers or None, execute_mode=mode, take=args.take)
    except BuildError as exc:
        print(f"backprop-lab build: {exc}", file=sys.stderr)
        return 1
    root = Path(args.root).resolve()
    for stem, taken in report.synced:
        print(f"{stem}: took the {'.' + taken if taken in ('md', 'ipynb') else 'only'} form"
              + ("" if taken == "new" else " (it changed since the last build)"))
    for stem, seconds in report.executed:
        print(f"{stem}: executed in {seconds:.1f} s")
    for path in report.written:
        print(f"wrote {Path(path).relative_to(root) if Path(path).is_absolute() else path}")
    if not report.written:
        print("everything was up to date")
    return 0
