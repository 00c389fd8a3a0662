"""The red-team catalogue: attacks on the grader (and honest answers it must not punish), each with its outcome.

One grading run, through the command line, over a class of crafted submissions (module fixture): the
course's notebook 01 (blank as released, or solved as in solutions/) and the grader's fixture notebook
90. Each entry of ``CATALOGUE`` below is one student: what the submission does, and what the grader
must make of it. Every attack of issue 16 is here; "zero" means every exercise of the notebook earns 0
points, "full" every exercise its full points. Attacks that read files from disk rely on the jail and
are marked ``jail``: without one they are skipped (README: what the sandbox guarantees where).
"""
from __future__ import annotations

import base64
import contextlib
import csv
import io
import json
import os
import shutil
import sys
import zipfile
from dataclasses import dataclass, field

import nbformat
import pytest

from backprop_lab.cli import main as cli
from backprop_lab.grading import sandbox

sys.path.insert(0, os.path.dirname(__file__))
from grading_fixtures import notebooks as N  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NB01 = "01_finite_differences.ipynb"
PRIVATE = os.path.join(os.path.dirname(__file__), "grading_fixtures", "private_tests")
JAILED = sandbox.jail_level()[0] != "off"
EX01 = {"01.1": ("forward_difference", "f, x, h"), "01.2": ("central_difference", "f, x, h"),
        "01.3": ("numerical_gradient", "f, x, h=1e-5"), "01.4": ("relative_error", "a, b")}
MAX01 = {"01.1": 1, "01.2": 2, "01.3": 3, "01.4": 1}


def _lean(nb):
    """Notebook 01 without its plots, widgets and timing tables (seconds of grading each): the import cell,
    the exercises, their checks and the use() cells stay (the grader notes the deleted cells)."""
    keep = lambda c: c.cell_type != "code" or c.get("metadata", {}).get("backprop_lab") or any(  # noqa: E731
        k in c.source for k in ("from backprop_lab.exercises", "check(", "bl.exercises.use("))
    nb.cells = [c for c in nb.cells if keep(c)]
    return nb


def blank():
    return _lean(nbformat.read(os.path.join(ROOT, "course", NB01), as_version=4))


def solved():
    return _lean(nbformat.read(os.path.join(ROOT, "solutions", NB01), as_version=4))


def _index(nb, xid):
    return next(i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("backprop_lab", {}).get("id") == xid)


def answer(nb, xid, source):
    nb.cells[_index(nb, xid)].source = source
    return nb


def added(nb, source, *, after_imports=True):
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first_code + 1 if after_imports else len(nb.cells), nbformat.v4.new_code_cell(source))
    return nb


def via(reach: str, nb=None):
    """Every exercise of notebook 01 answered by calling the reference reached through ``reach``."""
    nb = nb or blank()
    for xid, (name, args) in EX01.items():
        call = ", ".join(a.split("=")[0] for a in args.split(", "))
        answer(nb, xid, f"def {name}({args}):\n    return ({reach}).{name}({call})\n")
    return nb


USE_NAMES = {"01.1": "forward", "01.2": "central", "01.3": "gradient", "01.4": "rel_error"}   # the use() cells'


def every(template: str, nb=None):
    """Every exercise of notebook 01 answered by ``template``: ``{name}``, ``{args}``, ``{call}``, ``{xid}``
    and ``{use_name}`` (the name the notebook's later use() cell gives it) filled in."""
    nb = nb or blank()
    for xid, (name, args) in EX01.items():
        call = ", ".join(a.split("=")[0] for a in args.split(", "))
        answer(nb, xid, template.format(name=name, args=args, call=call, xid=repr(xid), use_name=USE_NAMES[xid]))
    return nb


FORGE_FROM_CELL = """
import gc, json, os, sys
from backprop_lab.exercises import framework
from backprop_lab.grading import protocol
fd = int(sys.argv[1])
job = next((o for o in gc.get_objects() if isinstance(o, dict) and "exercises" in o and "cells" in o), {})
lines = []
for task in job.get("exercises", []):
    lines.append({"ev": "ex", "id": task["id"], "phase": "start"})
    for k, (key, case) in enumerate(task["cases"]):
        try:
            value = protocol.encode(framework.get(task["id"]).expected(protocol.decode(case)))
        except Exception:
            value = 0.0
        lines.append({"ev": "case", "id": task["id"], "k": k, "kind": "ok", "value": value, "error": "", "sec": 0.0})
    lines.append({"ev": "ex", "id": task["id"], "phase": "end", "found": True})
lines.append({"ev": "done"})
os.write(fd, "".join(json.dumps(m) + "\\n" for m in lines).encode())
os._exit(0)
"""

FRAME_WALK = """def {name}({args}):
    import sys
    frame = sys._getframe(1)
    while frame is not None and "self" not in frame.f_locals:
        frame = frame.f_back
    runner = frame.f_locals["self"]
    return runner.expected(frame.f_locals["case"])
"""

REPLACE_RUN = """
import gc
from backprop_lab.exercises import framework
for o in gc.get_objects():
    if isinstance(o, framework.Exercise):
        type(o).run = lambda self, obj, case: type(self).expected(self, case)
"""

READ_SOURCE = """
import os, backprop_lab
NS = {"__name__": "stolen"}
exec(open(os.path.join(os.path.dirname(backprop_lab.__file__), "references", "nb01.py")).read(), NS)
class REF:
    pass
REF = REF()
REF.__dict__.update(NS)
"""

SPEC_FROM_FILE = """
import importlib.util, os, backprop_lab
path = os.path.join(os.path.dirname(backprop_lab.__file__), "references", "nb01.py")
spec = importlib.util.spec_from_file_location("stolen", path)
REF = importlib.util.module_from_spec(spec)
spec.loader.exec_module(REF)
"""

PYCACHE = """
import glob, marshal, os, types, backprop_lab
REF = types.SimpleNamespace()
for path in glob.glob(os.path.join(os.path.dirname(backprop_lab.__file__), "references", "__pycache__", "nb01*.pyc")):
    NS = {"__name__": "stolen"}
    exec(marshal.loads(open(path, "rb").read()[16:]), NS)
    REF.__dict__.update(NS)
"""

GC_SCAN = """
import gc, types
FOUND = {}
for o in gc.get_objects():
    if isinstance(o, types.FunctionType) and (o.__module__ or "").startswith("backprop_lab.references"):
        FOUND[o.__name__] = o
class REF:
    def __getattr__(self, name):
        return FOUND[name]
REF = REF()
"""

GETSOURCE = """
import inspect, types
import backprop_lab.references.nb01 as M
NS = {}
exec(inspect.getsource(M), NS)
REF = types.SimpleNamespace(**NS)
"""

REVEAL = """
import types
NS = {"np": __import__("numpy")}
for xid in ("01.1", "01.2", "01.3", "01.4"):
    exec(bl.exercises.check(xid, None, reveal=True).solution, NS)
REF = types.SimpleNamespace(**NS)
"""

B64 = base64.b64encode(b"from backprop_lab.references import nb01 as HIDDEN").decode()

MALFORMED = """def central_difference(f, x, h):
    import json, os, sys
    os.write(int(sys.argv[1]), (json.dumps({message}) + "\\n").encode())
    return (f(x + h) - f(x - h)) / (2 * h)
"""

FLOOD = "import os, sys\nfor _ in range(100):\n    os.write(int(sys.argv[1]), b'x' * 2**20)\n"

PATHS: dict = {}        # filled in by the fixture: where the secrets of this run are on disk

EXFILTRATE = """def square(x):
    found = []
    for path in {paths!r}:
        try:
            found.append(open(path).read()[:300])
        except OSError as exc:
            found.append(type(exc).__name__)
    raise RuntimeError(" | ".join(found))
"""


@dataclass
class Case:
    name: str
    attack: str
    build: object                        # () -> {file name: notebook, or bytes}; or a zip/str for odd entries
    expect: dict                         # {notebook: "zero" | "full" | {exercise: (points, status)}}
    jail: bool = False                   # the outcome relies on the jail (it reads files from disk)
    extra: dict = field(default_factory=dict)
    student: str = ""                    # the id the grader gives this folder (default: its name)

    @property
    def id(self) -> str:
        return self.student or self.name


CATALOGUE = [
    # ---- forged results: the answers are not in the worker, so there is nothing to forge with
    Case("forge_protocol_messages", "an added cell finds the job (cases and all) in memory, asks each check for its "
         "expected value and writes 'perfect' protocol messages to the result pipe, then exits",
         lambda: {NB01: added(blank(), FORGE_FROM_CELL, after_imports=False)}, {NB01: "zero"}),
    Case("frame_walk_to_expected", "each exercise function walks up the stack to the check that calls it and "
         "returns check.expected(case)", lambda: {NB01: every(FRAME_WALK)}, {NB01: "zero"}),
    Case("replace_run_with_expected", "an added cell replaces every check's run with its expected",
         lambda: {NB01: added(blank(), REPLACE_RUN)}, {NB01: "zero"}),
    Case("exec_reference_source", "an added cell reads the reference solutions' file from disk and executes it",
         lambda: {NB01: via("REF", added(blank(), READ_SOURCE))}, {NB01: "zero"}, jail=True),
    Case("import_reference_file", "an added cell imports the reference file anew (importlib spec_from_file_location)",
         lambda: {NB01: via("REF", added(blank(), SPEC_FROM_FILE))}, {NB01: "zero"}, jail=True),
    Case("load_reference_bytecode", "an added cell loads the reference solutions' byte code from __pycache__ "
         "(the fixture makes sure it is there)",
         lambda: {NB01: via("REF", added(blank(), PYCACHE))}, {NB01: "zero"}, jail=True, extra={"bytecode": True}),
    Case("gc_scan_for_reference", "an added cell scans every object in memory for the reference functions",
         lambda: {NB01: via("REF", added(blank(), GC_SCAN))}, {NB01: "zero"}),
    Case("getsource_exec", "inspect.getsource(backprop_lab.references.nb01) + exec",
         lambda: {NB01: via("REF", added(blank(), GETSOURCE))}, {NB01: "zero"}),
    Case("reveal_solution", "check(..., reveal=True).solution, executed",
         lambda: {NB01: via("REF", added(blank(), REVEAL))}, {NB01: "zero"}),
    # ---- delegation through names: no reference is reachable while grading
    Case("alias_in_added_cell", "from backprop_lab.references import nb01 as R in an added cell; the exercises call R",
         lambda: {NB01: via("R", added(blank(), "from backprop_lab.references import nb01 as R"))}, {NB01: "zero"}),
    Case("check_reference_attribute", "each exercise calls its own check's .reference (bl.exercises.get(id))",
         lambda: {NB01: every("def {name}({args}):\n    return bl.exercises.get({xid}).reference({call})\n")},
         {NB01: "zero"}),
    Case("sys_modules", "sys.modules['backprop_lab.references.nb01'], imported in an added cell",
         lambda: {NB01: via("__import__('sys').modules['backprop_lab.references.nb01']",
                            added(blank(), "import backprop_lab.references.nb01"))}, {NB01: "zero"}),
    Case("built_strings", "getattr(__import__('backprop_lab.refer' + 'ences.nb01'), ...)",
         lambda: {NB01: via("__import__('backprop_lab.refer' + 'ences.nb' + '01', fromlist=['x'])")}, {NB01: "zero"}),
    Case("vars_builtins", "vars(builtins)['__import__'] to import the reference",
         lambda: {NB01: via("vars(__import__('builtins'))['__import__']('backprop_lab.references.nb01', "
                            "fromlist=['x'])")}, {NB01: "zero"}),
    Case("base64_exec", "exec(base64.b64decode(...)) of an import of the reference",
         lambda: {NB01: via("HIDDEN", added(blank(), f"import base64\nexec(base64.b64decode({B64!r}).decode())"))},
         {NB01: "zero"}),
    Case("later_use_cell", "the exercises call the names that later use() cells define (forward, central, ...): "
         "in grading use() returns the learner's own function",
         lambda: {NB01: every("def {name}({args}):\n    return {use_name}({call})\n")}, {NB01: "zero"}),
    Case("check_module_reference", "the check module's own namespace (backprop_lab.exercises.nb01.reference)",
         lambda: {NB01: via("__import__('backprop_lab.exercises.nb01', fromlist=['x']).reference")}, {NB01: "zero"}),
    Case("reload_reference_module", "importlib.reload of the reference module, then its functions",
         lambda: {NB01: via("REF", added(blank(), "import importlib\nimport backprop_lab.references.nb01 as M\n"
                                               "try:\n    REF = importlib.reload(M)\nexcept Exception:\n    REF = M"))},
         {NB01: "zero"}),
    Case("grading_flag_flipped", "os.environ['BACKPROP_LAB_GRADING'] = '0', then use(..., mode='reference')",
         lambda: {NB01: every("def {name}({args}):\n    return bl.exercises.use({xid}, None, mode='reference')({call})\n",
                              added(blank(), "import os\nos.environ['BACKPROP_LAB_GRADING'] = '0'"))}, {NB01: "zero"}),
    # ---- the result channel: a bad message costs only that notebook (here: only that exercise)
    Case("malformed_value", "an exercise writes a case message whose value is {'__dict__': []} to the pipe",
         lambda: {NB01: answer(solved(), "01.2", MALFORMED.format(message=_msg(value={"__dict__": []})))},
         {NB01: {"01.1": (1, "pass"), "01.2": (0, "crash"), "01.3": (3, "pass"), "01.4": (1, "pass")}}),
    Case("list_as_id", "an exercise writes a case message whose id is a list",
         lambda: {NB01: answer(solved(), "01.2", MALFORMED.format(message=_msg(id=["01.2"])))},
         {NB01: {"01.1": (1, "pass"), "01.2": (0, "crash"), "01.3": (3, "pass"), "01.4": (1, "pass")}}),
    Case("string_as_seconds", "an exercise writes a case message whose seconds are a string",
         lambda: {NB01: answer(solved(), "01.2", MALFORMED.format(message=_msg(sec="soon")))},
         {NB01: {"01.1": (1, "pass"), "01.2": (0, "crash"), "01.3": (3, "pass"), "01.4": (1, "pass")}}),
    Case("flood_the_pipe", "an added cell writes 100 MB without a line break to the result pipe",
         lambda: {NB01: added(solved(), FLOOD, after_imports=False)}, {NB01: "full"}),
    # ---- what remains possible (the engine is the answer): graded, and flagged for review with evidence
    Case("engine_delegation_obfuscated", "exercise 90.2 computes the gradient with the engine's Tensor, imported "
         "through a built string", lambda: {N.NAME: N.solved({"90.2": (
             "def mul_backward(a, b, g):\n    eng = __import__('backprop' + '_lab')\n"
             "    A, B = eng.Tensor(a, requires_grad=True), eng.Tensor(b, requires_grad=True)\n"
             "    (A * B * eng.Tensor(g)).sum().backward()\n    return A.grad, B.grad\n")})},
         {N.NAME: {"90.1": (2, "pass"), "90.2": (3, "review"), "90.3": (1, "pass")}}),
    # ---- honest answers that a name match used to zero
    Case("docstring_names_the_package", "a docstring that mentions backprop_lab",
         lambda: {NB01: answer(solved(), "01.1", 'def forward_difference(f, x, h):\n    """Like backprop_lab\'s '
                                                 'reference, but mine."""\n    return (f(x + h) - f(x)) / h\n')},
         {NB01: "full"}, extra={"no_review": True}),
    Case("local_named_reference_bl_shapes", "local variables named reference, bl and shapes (an engine module's "
         "name once imported)", lambda: {NB01: _locals_like_aliases()}, {NB01: "full"}, extra={"no_review": True}),
    Case("relative_path_write", "an added cell writes a module with a relative path and imports it (as notebook 02 "
         "does with my_value.py); an exercise uses it", lambda: {NB01: _relative_module()}, {NB01: "full"}),
    Case("exfiltrate_via_traceback", "an exercise raises an error whose message holds the private tests' source, the "
         "solutions, another student's notebook and the results' secret, for the feedback to show",
         lambda: {N.NAME: N.solved({"90.1": EXFILTRATE.format(paths=sorted(PATHS.values()))})},
         {N.NAME: {"90.1": (0, "error"), "90.2": (3, "pass")}}, jail=True),
    Case("perfect", "the solutions notebook as it is", lambda: {NB01: solved(), N.NAME: N.solved()},
         {NB01: "full", N.NAME: "full"}),
    Case("blank", "the released notebook as it is", lambda: {NB01: blank()}, {NB01: "zero"}),
    # ---- names: neutralised in the CSVs, never merged, never silently resolved
    Case("+1+1", "a student named +1+1 (a formula to a spreadsheet)", lambda: {NB01: solved()}, {NB01: "full"}),
    Case("-2+3", "a student named -2+3", lambda: {NB01: solved()}, {NB01: "full"}),
    Case("@SUM(1+1)", "a student named @SUM(1+1)", lambda: {NB01: solved()}, {NB01: "full"}, student="@SUM_1+1"),
    Case("bob", "bob/ (blank) next to bob.zip (solved): two students, each told of the other",
         lambda: {NB01: blank()}, {NB01: "zero"}, extra={"zip": {NB01: solved()}}),
    Case("alice smith", "'alice smith' next to 'alice_smith': two students", lambda: {NB01: blank()}, {NB01: "zero"},
         student="alice_smith"),
    Case("alice_smith", "'alice_smith' next to 'alice smith'", lambda: {NB01: solved()}, {NB01: "full"},
         student="alice_smith-2"),
    Case("carol", "a blank original next to a solved -Copy1: the solved one is graded, and both are named",
         lambda: {NB01: blank(), NB01.replace(".ipynb", "-Copy1.ipynb"): solved()}, {NB01: "full"}),
    Case("erin", "a hidden checkpoint beside the notebook: reported, not graded",
         lambda: {NB01: solved(), ".ipynb_checkpoints/" + NB01.replace(".ipynb", "-checkpoint.ipynb"): blank()},
         {NB01: "full"}),
]
HIDDEN_ENTRY = ".dave"          # a hidden student folder: not graded, but reported


def _bytecode() -> str:
    import importlib.util

    return importlib.util.cache_from_source(os.path.join(ROOT, "backprop_lab", "references", "nb01.py"))


def _msg(**fields):
    base = {"ev": "case", "id": "01.2", "k": 0, "kind": "ok", "value": 0.5, "error": "", "sec": 0.0}
    return repr(dict(base, **fields))


def _locals_like_aliases():
    nb = added(solved(), "from backprop_lab.widgets import shapes   # an engine module named like a local below")
    answer(nb, "01.1", "def forward_difference(f, x, h):\n    reference = f(x)\n    bl = f(x + h)\n"
                       "    return (bl - reference) / h\n")
    answer(nb, "01.3", "def numerical_gradient(f, x, h=1e-5):\n    shapes = np.shape(x)\n"
                       "    x = np.array(x, dtype=np.float64)\n    grad = np.zeros(shapes)\n"
                       "    for idx in np.ndindex(shapes):\n        old = x[idx]\n        x[idx] = old + h\n"
                       "        up = f(x)\n        x[idx] = old - h\n        down = f(x)\n        x[idx] = old\n"
                       "        grad[idx] = (up - down) / (2 * h)\n    return grad\n")
    return nb


def _relative_module():
    nb = added(solved(), "with open('my_slope.py', 'w') as f:\n"
                         "    f.write('def slope(f, a, b):\\n    return (f(b) - f(a)) / (b - a)\\n')\n"
                         "import importlib, sys\nsys.path.insert(0, '.')\nimportlib.invalidate_caches()\n")
    return answer(nb, "01.1", "def forward_difference(f, x, h):\n    from my_slope import slope\n"
                              "    return slope(f, x, x + h)\n")


def _write(folder: str, files: dict) -> None:
    for name, nb in files.items():
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(nbformat.writes(nb) if not isinstance(nb, dict) or "cells" in nb else json.dumps(nb))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("redteam")
    course = root / "course"
    course.mkdir()
    shutil.copy(os.path.join(ROOT, "course", NB01), course / NB01)
    (course / N.NAME).write_text(N.dumps(N.released()))
    import importlib.util
    import py_compile

    import backprop_lab.references.nb01 as ref01
    try:                                # for the byte-code attack: there must be byte code to steal
        py_compile.compile(ref01.__file__, cfile=importlib.util.cache_from_source(ref01.__file__), doraise=True)
    except (OSError, py_compile.PyCompileError):
        pass
    subs = root / "subs"
    PATHS.update(private=os.path.join(PRIVATE, "exercises_fixture.py"), solutions=os.path.join(ROOT, "solutions", NB01),
                 other=str(subs / "perfect" / NB01), secret=str(root / "out" / ".secret"))
    for case in CATALOGUE:
        _write(str(subs / case.name), case.build())
        if "zip" in case.extra:
            with zipfile.ZipFile(subs / f"{case.name}.zip", "w") as zf:
                for name, nb in case.extra["zip"].items():
                    zf.writestr(name, nbformat.writes(nb))
    _write(str(subs / HIDDEN_ENTRY), {NB01: solved()})
    (subs / "notes.txt").write_text("not a submission")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli(["grade", str(subs), "--out", str(root / "out"), "--course", str(course), "--tests", PRIVATE,
                    "-j", "2", "--timeout", "20"])
    rows = list(csv.DictReader(open(root / "out" / "grades.csv")))
    book = list(csv.DictReader(open(root / "out" / "gradebook.csv")))
    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue(), "rows": rows, "book": book,
            "out": root / "out", "results": json.load(open(root / "out" / "results.json"))}


def _rows(graded, student, notebook):
    return {r["exercise"]: r for r in graded["rows"] if r["student"] in (student, "'" + student)
            and r["notebook"] == notebook and r["exercise"] != "(notebook)"}


@pytest.mark.parametrize("case", CATALOGUE, ids=[c.name for c in CATALOGUE])
def test_catalogue(graded, case):
    if case.jail and not JAILED:
        pytest.skip("this attack reads the checks from disk: only the jail hides them (see README)")
    if case.extra.get("bytecode") and not os.path.exists(_bytecode()):
        pytest.skip("no byte code of the reference solutions here to steal (the package folder is not writable)")
    for notebook, want in case.expect.items():
        got = _rows(graded, case.id, notebook)
        assert got, f"{case.name}: no rows for {notebook}"
        summary = {x: (float(r["points"]), r["status"], r["message"][:160]) for x, r in got.items()}
        if want == "zero":
            assert all(p == 0 for p, _, _ in summary.values()), (case.attack, summary)
            assert not any(s in ("pass", "partial", "review") for _, s, _ in summary.values()), summary
        elif want == "full":
            assert all(s == "pass" and p == float(got[x]["max_points"]) for x, (p, s, _) in summary.items()), \
                (case.attack, summary)
        else:
            assert {x: v[:2] for x, v in summary.items() if x in want} == {x: (float(p), s) for x, (p, s) in
                                                                           want.items()}, (case.attack, summary)
    if case.extra.get("no_review"):
        assert case.name not in open(graded["out"] / "review.csv").read()


def test_the_class_is_graded_and_the_exit_status_asks_for_a_look(graded):
    assert graded["code"] == 3, graded["stderr"][-3000:]
    graded_students = {r["student"] for r in graded["rows"]}
    assert len(graded_students) == len(CATALOGUE) + 1        # + bob.zip; the hidden entry is not graded
    err = graded["stderr"]
    assert "Needs a look" in err and HIDDEN_ENTRY in err and "notes.txt" in err
    assert "review" in err and "engine_delegation_obfuscated" in err


def test_formulas_in_names_are_neutralised(graded):
    text = open(graded["out"] / "gradebook.csv").read() + open(graded["out"] / "grades.csv").read()
    for name in ("+1+1", "-2+3", "@SUM_1+1"):
        assert f"'{name}" in text
        assert not any(line.startswith(name) for line in text.splitlines()), name
    for row in csv.reader(io.StringIO(text)):
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row if cell and not _number(cell)), row


def _number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def test_colliding_names_are_graded_apart_and_reported(graded):
    students = {r["student"] for r in graded["book"]}
    assert {"bob", "bob.zip", "alice_smith", "alice_smith-2"} <= students, students
    by = {r["student"]: r for r in graded["book"]}
    assert float(by["bob"]["total"]) == 0 and float(by["bob.zip"]["total"]) == 7
    for s in ("bob", "bob.zip", "alice_smith", "alice_smith-2"):
        assert "graded separately" in by[s]["notes"], by[s]
        assert s in graded["stderr"]


def test_ambiguous_and_hidden_files_are_named(graded):
    by = {r["student"]: r for r in graded["book"]}
    assert "-Copy1" in by["carol"]["notes"] and "the one with the most points" in by["carol"]["notes"]
    assert "checkpoint" in by["erin"]["notes"]
    nbrow = {r["student"]: r for r in graded["rows"] if r["exercise"] == "(notebook)" and r["notebook"] == NB01}
    assert "-Copy1" in nbrow["carol"]["message"] and "hidden notebook" in nbrow["erin"]["message"]


def test_review_lists_engine_use_with_evidence(graded):
    review = list(csv.DictReader(open(graded["out"] / "review.csv")))
    mine = [r for r in review if r["student"] == "engine_delegation_obfuscated"]
    assert mine and "dynamic code: __import__" in mine[0]["evidence"], review


def test_nothing_read_from_outside_comes_back(graded):
    """No feedback holds text of the checks' source, the solutions, another student's work or the
    results' secret (the exfiltrating student's error shows only that nothing could be opened)."""
    if not JAILED:
        pytest.skip("without the jail a submission reads whatever the instructor can (see README)")
    secret = open(graded["out"] / ".secret").read().strip()
    fb = graded["out"] / "feedback"
    for html in fb.rglob("*.html"):
        text = html.read_text()
        assert "BEGIN SOLUTION" not in text and "def expected" not in text and "np.maximum(np.maximum" not in text
        assert secret not in text and "nbformat" not in text, html
    mine = (fb / "exfiltrate_via_traceback" / "90_fixture.html").read_text()
    assert "FileNotFoundError | FileNotFoundError | FileNotFoundError | FileNotFoundError" in mine


# ---- the grader's own work on what a worker sent: bounded whatever the submission sent

def _upstream_only_pieces() -> tuple[str, str]:
    """Two fixed texts of a hint template that begins with a blank (nb02's HAND_HINTS['upstream_only']): text made of
    them, repeated, is where matching hints with one backtracking lazy group per blank took cubic time."""
    import string

    from backprop_lab.exercises import nb02

    texts = [text for text, *_ in string.Formatter().parse(nb02.HAND_HINTS["upstream_only"])]
    assert texts[0] == "" and len(texts) >= 4, texts
    return texts[1], texts[2]


NODE_TARGET = "02.2"
FORGED_HINT = """
def {target}(*args, **kwargs):
    import gc, json, os, sys
    fd = int(sys.argv[1])
    S = ({a!r} + {b!r}) * {reps} + "!"
    job = next(o for o in gc.get_objects() if isinstance(o, dict) and "exercises" in o and "cells" in o)
    lines, started = [], False
    for task in job["exercises"]:
        if task["id"] < {first!r}:
            continue
        if started:
            lines.append({{"ev": "ex", "id": task["id"], "phase": "start"}})
        started = True
        for k, _ in enumerate(task["cases"]):
            lines.append({{"ev": "case", "id": task["id"], "k": k, "kind": "ok", "error": "", "sec": 0.0,
                          "value": {{"__dict__": {{"problem": "data", "detail": S}}}}}})
        lines.append({{"ev": "ex", "id": task["id"], "phase": "end", "found": True}})
    lines.append({{"ev": "done"}})
    os.write(fd, "".join(json.dumps(m) + "\\n" for m in lines).encode())
    os._exit(0)
"""


@pytest.mark.timeout(60)
def test_naming_a_mistake_is_linear_in_what_fills_the_hint():
    """A check fills a hint template with what the worker sent (nb02: ``NODE_HINTS[key].format(**got)``): 250 kB of
    another template's fixed texts in a blank took the regular expressions of ``mistakes`` hours (cubic); the
    mistake is named at once, as before."""
    from backprop_lab.exercises import nb02
    from backprop_lab.grading import mistakes

    a, b = _upstream_only_pieces()
    hint = nb02.NODE_HINTS["data"].format(detail=(a + b) * 3000 + "!")
    assert mistakes.identify(hint, ["backprop_lab.exercises.nb02"])[0] == "nb02.NODE_HINTS[data]"
    assert mistakes.identify(hint[:-1], ["backprop_lab.exercises.nb02"])[0] == "nb02.NODE_HINTS[data]"


@pytest.mark.timeout(240)
def test_a_forged_hint_of_megabytes_costs_only_its_notebook(tmp_path):
    """Exercise 02.2's function writes forged results for 02.2-02.7 whose every value makes the check build a hint
    around 250 kB of text chosen to make naming the mistake backtrack: the class is graded (it hung for hours), the
    forged exercises earn nothing, and the feedback keeps a hint of at most a few thousand characters."""
    from backprop_lab.exercises import catalog
    from backprop_lab.grading import protocol

    nb02_file = "02_scalar_chain_rule.ipynb"
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(os.path.join(ROOT, "course", nb02_file), course / nb02_file)
    shutil.copy(os.path.join(ROOT, "course", NB01), course / NB01)
    a, b = _upstream_only_pieces()
    nb = nbformat.read(os.path.join(ROOT, "course", nb02_file), as_version=4)
    nb.cells[_index(nb, NODE_TARGET)].source = FORGED_HINT.format(
        target=catalog.load()[NODE_TARGET].target, a=a, b=b, reps=3000, first=NODE_TARGET)
    _write(str(tmp_path / "subs" / "forger"), {nb02_file: nb})
    _write(str(tmp_path / "subs" / "honest"), {NB01: solved()})
    code, _, err = N.run_cli(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--course", str(course),
                              "-j", "2", "--timeout", "20"])
    assert code in (0, 3), err
    results = json.load(open(tmp_path / "out" / "results.json"))["results"]
    forged = {x["id"]: x for r in results if r["student"] == "forger" and r["notebook"] == nb02_file
              for x in r["exercises"]}
    assert forged and all(x["points"] == 0 for x in forged.values()), forged
    assert forged["02.3"]["status"] == "fail" and forged["02.3"]["detail"]["mistake"] == "nb02.NODE_HINTS[data]"
    assert all(len(x.get("detail", {}).get("hint", "")) <= protocol.MAX_TEXT for x in forged.values())
    honest = [x for r in results if r["student"] == "honest" and r["notebook"] == NB01 for x in r["exercises"]]
    assert honest and all(x["status"] == "pass" for x in honest), honest


def test_code_too_deep_to_scan_is_flagged_not_a_grader_error():
    """An exercise cell that uses the engine beside an expression nested deeper than the scan for engine use can
    walk (Python compiles 1,000-2,500 nested operators; the scan's recursion stops at about 1,000, earlier in a
    grader thread): the scan raised RecursionError, which made the whole notebook a grader error (every exercise 0,
    'a re-run grades it again', and again). It is flagged for review instead, as engine use is."""
    from backprop_lab.grading import delegation

    src = ("def mul_backward(a, b, g):\n    eng = __import__('backprop' + '_lab')\n"
           f"    _ = {'-' * 2000}0\n    return eng.Tensor(a), eng.Tensor(b)\n")
    compile(src, "<cell>", "exec")          # Python itself runs it
    flagged = delegation.check_cell(src, None, [src], [])
    assert flagged and "nested too deeply" in flagged[0], flagged


@pytest.mark.timeout(60)
def test_a_cell_of_blank_lines_is_read_in_linear_time():
    """The grader blanks IPython magics out of every cell before reading it; a pattern whose leading ``\\s*`` ran
    over newlines was quadratic in a cell's blank lines: 60,000 of them (60 kB in a notebook of up to 100 MB) held
    the grader for 97 s, a megabyte for hours. Magics are still blanked out, indented or not."""
    from backprop_lab.grading import delegation

    source = "x = 1\n" + "\n" * 300_000 + "  %time y = 2\n!ls\nz = 3\n" + " \n" * 100_000
    tree = delegation.parse(source)
    assert tree is not None and delegation.defined_names(source) >= {"x", "z"}
    assert "y" not in delegation.used_names(source) | delegation.defined_names(source)
