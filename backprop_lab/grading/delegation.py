"""Evidence for the instructor's review: an exercise answer that uses the engine instead of doing the work.

What makes delegation impossible is elsewhere and by construction: while grading, the reference
implementations and the checks' answers are not in the worker at all (``worker_checks``, the jail),
and ``use()`` returns the learner's own object. What remains possible is calling the *engine* where
the engine is the answer (``bl.unbroadcast`` for exercise 04.3, ``autograd.topo_sort`` for 09.1):
the engine must be importable, since every notebook builds on it. This module finds such uses with a
static look at the cells (``ast``, nothing runs) and reports them as evidence for review; it never
costs points by itself, because a static check cannot tell every honest answer from a dishonest one.

Every reference to the engine in the exercise cell (``bl.rules.Mul``, ``from backprop_lab.gradcheck
import ...``), resolved through the notebook's own imports and Python's scoping rules (a parameter or
a local variable named ``bl``, ``reference`` or ``shapes`` is not the module of that name; a
docstring is text), is compared with what the released cell already had; what the student added is
reported unless the exercise lists it in ``allowed_references``. So are dynamic code (``exec``,
``eval``, ``__import__``, ``importlib``) and helpers from added cells that use the engine.

``ast.parse`` is not thread-safe in CPython 3.11/3.12 (python/cpython gh-106905: "AST constructor
recursion depth mismatch" when threads parse at once), and the grader grades notebooks in threads:
every parse here goes through one lock, and its result is cached.
"""
from __future__ import annotations

import ast
import functools
import re
import threading

PACKAGE = "backprop_lab"
ALWAYS_ALLOWED = ("backprop_lab.exercises", "backprop_lab.references")   # stubs while grading
DYNAMIC = {"__import__", "exec", "eval", "compile", "importlib", "import_module", "__builtins__", "globals"}
# a line's own indentation only ([^\S\n], not \s): with \s the match could start on any blank line before it and
# run over all of them, which is quadratic in the blank lines a submitted cell holds (hours for a megabyte)
_MAGIC = re.compile(r"^[^\S\n]*[%!].*$", re.MULTILINE)
_PARSE_LOCK = threading.Lock()


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> ast.Module | None:
    with _PARSE_LOCK:
        try:
            return ast.parse(text)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return None


def parse(source: str) -> ast.Module | None:
    """Parse a cell, with IPython magics and shell lines blanked out; None on a syntax error.

    The tree is shared (cached): callers must not change it.
    """
    return _parse(_MAGIC.sub("", source))


def aliases(sources: list[str]) -> dict[str, str]:
    """``{local name: canonical dotted name}`` for every engine import in the notebook's cells (a new dict)."""
    return dict(_aliases(tuple(sources)))


@functools.lru_cache(maxsize=64)
def _aliases(sources: tuple[str, ...]) -> dict[str, str]:
    """``aliases``, once per notebook (each of its exercises asks; callers get a copy)."""
    out = {PACKAGE: PACKAGE}
    for src in sources:
        tree = parse(src)
        if tree is None:
            continue
        for node in ast.walk(tree):
            out.update(_engine_imports(node))
    return out


def _engine_imports(node) -> dict[str, str]:
    out = {}
    if isinstance(node, ast.Import):
        for a in node.names:
            if a.name == PACKAGE or a.name.startswith(PACKAGE + "."):
                out[a.asname or a.name.split(".")[0]] = a.name if a.asname else PACKAGE
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and (
            node.module == PACKAGE or node.module.startswith(PACKAGE + ".")):
        for a in node.names:
            out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp,
           ast.DictComp, ast.GeneratorExp)


def _local_names(body_nodes, args: ast.arguments | None = None) -> set[str]:
    """Names a scope binds itself (parameters, assignments, loop targets, defs, imports that are not
    the engine's), without looking into nested scopes; ``global``/``nonlocal`` names excluded."""
    bound, declared = set(), set()
    if args is not None:
        for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
            if a is not None:
                bound.add(a.arg)
    todo = list(body_nodes)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            todo += node.decorator_list
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            engine = _engine_imports(node)
            bound.update((a.asname or a.name.split(".")[0]) for a in node.names
                         if (a.asname or a.name.split(".")[0]) not in engine)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        elif isinstance(node, ast.MatchAs) and node.name or isinstance(node, ast.MatchStar) and node.name:
            bound.add(node.name)
        todo += list(ast.iter_child_nodes(node))
    return bound - declared


def references(source: str, names: dict[str, str]) -> set[str]:
    """Canonical engine references and dynamic-code names in one cell, honouring Python's scopes."""
    tree = parse(source)
    if tree is None:
        return set()
    found: set[str] = set()

    def visit(node, shadowed: frozenset):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for d in getattr(node, "decorator_list", []) + node.args.defaults + \
                    [d for d in node.args.kw_defaults if d is not None]:
                visit(d, shadowed)
            body = node.body if isinstance(node.body, list) else [node.body]
            inner = shadowed | _local_names(body, node.args)
            for child in body:
                visit(child, inner)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            targets = {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
            for child in ast.iter_child_nodes(node):
                visit(child, shadowed | targets)
            return
        if isinstance(node, ast.Attribute):
            chain, base = [], node
            while isinstance(base, ast.Attribute):
                chain.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id in names and base.id not in shadowed:
                found.add(".".join([names[base.id]] + chain[::-1]))
                return
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in shadowed:
            if node.id in names:
                found.add(names[node.id])
            elif node.id in DYNAMIC:
                found.add(f"dynamic code: {node.id}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for m in mods:
                if m.split(".")[0] in (PACKAGE, "importlib"):
                    found.add(m if m.startswith(PACKAGE) else "dynamic code: importlib")
        for child in ast.iter_child_nodes(node):
            visit(child, shadowed)

    visit(tree, frozenset(_local_names(tree.body) - set(_cell_imports(tree))))
    # drop prefixes of longer references: bl.rules.Mul also walks bl.rules and bl
    return {r for r in found if not any(o != r and o.startswith(r + ".") for o in found)}


def _cell_imports(tree: ast.Module) -> dict[str, str]:
    out = {}
    for node in tree.body:
        out.update(_engine_imports(node))
    return out


def defined_names(source: str) -> set[str]:
    tree = parse(source)
    out = set()
    if tree is None:
        return out
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.Assign):
            out.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return out


def used_names(source: str) -> set[str]:
    tree = parse(source)
    return set() if tree is None else {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def check_cell(student: str, released: str | None, all_sources: list[str], added: list[str],
               allowed: tuple[str, ...] = ()) -> list[str]:
    """What the student's exercise cell uses from the engine beyond the released cell; [] when nothing.

    Code nested too deeply for the scan's recursion (Python compiles and runs an expression of 1,000-2,500
    nested operators, which the scan cannot walk) is itself the evidence: it is flagged, never a grader error."""
    try:
        return _check_cell(student, released, all_sources, added, allowed)
    except RecursionError:
        return ["code nested too deeply for the grader to scan for engine use"]


def _check_cell(student: str, released: str | None, all_sources: list[str], added: list[str],
                allowed: tuple[str, ...]) -> list[str]:
    names = aliases(all_sources)
    if names.get("bl") is None:
        names["bl"] = PACKAGE
    mine = references(student, names)
    base = references(released, names) if released is not None else set()
    ok = tuple(allowed) + ALWAYS_ALLOWED

    def allowed_ref(ref: str) -> bool:
        return any(ref == p or ref.startswith(p + ".") for p in ok) or any(
            ref == b or ref.startswith(b + ".") or b.startswith(ref + ".") for b in base)

    flagged = sorted(r for r in mine - base if not allowed_ref(r))
    own = defined_names(student)
    wanted = used_names(student) - own
    for src in added:
        tree = parse(src)
        for node in tree.body if tree is not None else []:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in wanted:
                used = sorted(r for r in references(ast.unparse(node), names) if not allowed_ref(r))
                if used:
                    flagged.append(f"helper {node.name} (defined in an added cell) which uses {', '.join(used[:3])}")
    return flagged
