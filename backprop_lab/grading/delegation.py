"""Flag an exercise answer that hands the work to the reference engine instead of doing it.

A static check of the student's exercise cell (``ast``, nothing runs): every reference to the engine
(``bl.rules.Mul``, ``backprop_lab.Tensor.backward``, ``from backprop_lab.gradcheck import ...``, however
it was imported anywhere in the notebook) is collected and compared with the references the released
cell already had (a scaffold may subclass ``bl.Function``). What the student added is flagged unless the
exercise lists it in an optional ``allowed_references`` attribute (canonical dotted prefixes such as
``"backprop_lab.Tensor"``). Dynamic imports (``__import__``, ``importlib``, ``exec``, ``eval``) and strings
naming the package are flagged too, and so is a call to a helper the student defined in an added cell
that itself uses the engine.

It is a guard against the obvious shortcut, not a proof: whoever writes obfuscated code to reach the
reference is visible to an instructor reading the flagged cell; the feedback names what was found.
"""
from __future__ import annotations

import ast
import re

PACKAGE = "backprop_lab"
ALWAYS_ALLOWED = ("backprop_lab.exercises.check",)
DYNAMIC = {"__import__", "exec", "eval", "compile", "importlib", "import_module", "__builtins__", "globals"}
_MAGIC = re.compile(r"^\s*[%!].*$", re.MULTILINE)


def parse(source: str) -> ast.Module | None:
    """Parse a cell, with IPython magics and shell lines blanked out; None on a syntax error."""
    try:
        return ast.parse(_MAGIC.sub("", source))
    except (SyntaxError, ValueError):
        return None


def aliases(sources: list[str]) -> dict[str, str]:
    """``{local name: canonical dotted name}`` for every engine import in the notebook's cells."""
    out = {PACKAGE: PACKAGE}
    for src in sources:
        tree = parse(src)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name == PACKAGE or a.name.startswith(PACKAGE + "."):
                        out[a.asname or a.name.split(".")[0]] = a.name if a.asname else PACKAGE
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and (
                    node.module == PACKAGE or node.module.startswith(PACKAGE + ".")):
                for a in node.names:
                    out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def references(source: str, names: dict[str, str]) -> set[str]:
    """Canonical engine references, dynamic-import calls and package-naming strings in one cell."""
    tree = parse(source)
    if tree is None:
        return set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            chain, base = [], node
            while isinstance(base, ast.Attribute):
                chain.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id in names:
                found.add(".".join([names[base.id]] + chain[::-1]))
        elif isinstance(node, ast.Name) and node.id in names:
            found.add(names[node.id])
        elif isinstance(node, ast.Name) and node.id in DYNAMIC:
            found.add(f"dynamic code: {node.id}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for m in mods:
                if m.split(".")[0] in (PACKAGE, "importlib"):
                    found.add(m if m.startswith(PACKAGE) else "dynamic code: importlib")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and PACKAGE in node.value:
            found.add(f"a string naming {PACKAGE}")
    # drop prefixes of longer references: bl.rules.Mul also walks bl.rules and bl
    return {r for r in found if not any(o != r and o.startswith(r + ".") for o in found)}


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
    """What the student's exercise cell uses from the engine beyond the released cell; [] when clean."""
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
                used = sorted(r for r in references(ast.unparse(node), names)
                              if not r.startswith(PACKAGE + ".exercises") and not allowed_ref(r))
                if used:
                    flagged.append(f"helper {node.name} (defined in an added cell) which uses {', '.join(used[:3])}")
    return flagged
