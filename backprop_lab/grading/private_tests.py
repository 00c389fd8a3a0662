"""``--tests DIR``: the instructor's own private tests, as extra ``Exercise`` classes.

Every ``*.py`` file in DIR is loaded in the grader. Each ``Exercise`` subclass defined there with an ``id``:

* adds its ``cases(rng)`` to the exercise with that id when the course already has one (subclass the
  course's class to reuse its ``run``/``expected``/``compare``, or override them); the cases join the
  exercise's own, so the exercise's points are shared over all of them;
* or defines a new exercise when no course exercise has that id (a notebook's cell then needs
  ``backprop_lab: {id: ...}`` metadata; ``points`` and ``target`` come from the class).

As with every check, ``cases``, ``expected`` and ``compare`` run only in the grader; the worker, which
runs student code, gets only what it must execute: the source of the class's ``run`` (with the
methods ``run`` calls on ``self``), the file's ``import`` lines and the class's plain attributes; or
nothing at all when ``run`` is the course's own. So ``run`` may use only what the file imports and
its own methods (a file-level helper is refused when the tests are loaded, saying which). The
sources are shown to nobody.

Example, ``DIR/tests_01.py``::

    from backprop_lab.exercises.nb01 import CentralDifference

    class CentralDifferenceLargeX(CentralDifference):
        def cases(self, rng):
            return [{"f": "cube", "x": float(x), "h": 1e-4} for x in rng.uniform(50, 100, size=3)]
"""
from __future__ import annotations

import ast
import builtins
import dis
import os
import sys
import textwrap
import types

from .delegation import parse

PREFIX = "backprop_lab_private_tests."
ANSWER_SIDE = {"cases", "expected", "compare", "suspects"}


def read_dir(path: str | None) -> list[dict]:
    """The sources of DIR's ``*.py`` files, sorted by name: ``[{"name", "source"}]``."""
    if not path:
        return []
    if not os.path.isdir(path):
        raise FileNotFoundError(f"--tests {path}: no such folder")
    out = []
    for name in sorted(os.listdir(path)):
        if name.endswith(".py") and not name.startswith("_"):
            with open(os.path.join(path, name), encoding="utf-8") as f:
                out.append({"name": name[:-3], "source": f.read()})
    return out


def load_sources(sources: list[dict]) -> dict:
    """Execute the sources as modules; return ``{key: exercise instance}`` for every Exercise class
    that adds cases to a course exercise. Classes whose id the course does not have are registered
    as new exercises."""
    from backprop_lab.exercises import framework

    for xid in [x for x, ex in framework.REGISTRY.items() if is_private(ex)]:
        del framework.REGISTRY[xid]         # an earlier run's private exercises (same process) are not this run's
    found = {}
    for src in sources:
        modname = PREFIX + src["name"]
        module = types.ModuleType(modname)
        module.__file__ = f"<private tests {src['name']}.py>"
        sys.modules[modname] = module
        exec(compile(src["source"], module.__file__, "exec"), module.__dict__)
        for attr, value in list(module.__dict__.items()):
            if (isinstance(value, type) and issubclass(value, framework.Exercise) and value.__module__ == modname
                    and getattr(value, "id", "")):
                found[f"{src['name']}:{attr}"] = value
    instances = {}
    for key, cls in found.items():
        worker_spec(cls, sources)           # refuse now, once, what could not run in the worker
        try:
            known = framework.get(cls.id)
        except (KeyError, LookupError):
            known = None
        if known is None:
            framework.register(cls)
            continue
        if type(known) is cls:
            continue                    # the file registered it itself with @register
        extra = cls()
        for fact in ("points", "task", "target", "notebook"):   # what the course's exercise cell says
            if not vars(cls).get(fact):
                setattr(extra, fact, getattr(known, fact))
        instances[key] = extra
    return instances


def extra_cases_for(instances: dict, exercise_id: str) -> list[tuple[str, object]]:
    """The private classes that add cases to ``exercise_id``: ``[(key, instance)]``."""
    return [(k, ex) for k, ex in sorted(instances.items()) if ex.id == exercise_id]


def is_private(ex) -> bool:
    return type(ex).__module__.startswith(PREFIX)


def worker_spec(cls: type, sources: list[dict]) -> dict:
    """What the worker gets of a private class (see the module docstring); raises ValueError for a
    ``run`` that needs something it would not get."""
    extends = any(k.__module__.startswith(("backprop_lab.exercises.nb", "backprop_lab.exercises.hidden"))
                  for k in cls.__mro__)
    spec = {"base": cls.id if extends else None, "class": cls.__name__, "source": None,
            "module": cls.__module__[len(PREFIX):], "attributes": {}}
    owner = next((k for k in cls.__mro__ if "run" in vars(k)), None)
    if owner is None or not owner.__module__.startswith(PREFIX):
        return spec                     # the course's own run (or none): nothing of the file is needed
    text = next(s["source"] for s in sources if PREFIX + s["name"] == owner.__module__)
    tree = parse(text)
    imports = [ast.get_source_segment(text, n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    privates = [k for k in cls.__mro__ if k.__module__.startswith(PREFIX)]
    methods, wanted = {}, ["run"]
    while wanted:
        name = wanted.pop()
        holder = next((k for k in privates if name in vars(k)), None)
        if name in methods or name in ANSWER_SIDE or holder is None:
            continue
        value = vars(holder)[name]
        func = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
        if not isinstance(func, types.FunctionType):
            continue
        methods[name] = _method_source(text, holder.__name__, name, value)
        wanted += list(_code_names(func.__code__))
    spec["source"] = "\n".join(imports) + f"\n\nclass {cls.__name__}(_PrivateBase):\n" + \
        "\n".join(textwrap.indent(m, "    ") for m in methods.values()) + "\n"
    for k in reversed(privates):
        for name, value in vars(k).items():
            if not name.startswith("__") and name not in methods and _plain(value):
                spec["attributes"][name] = value
    _refuse_globals(cls, spec, text)
    return spec


def _method_source(text: str, class_name: str, name: str, value) -> str:
    tree = parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == name:
                    lines = text.splitlines()[(item.decorator_list[0] if item.decorator_list else item).lineno - 1:
                                              item.end_lineno]
                    return textwrap.dedent("\n".join(lines))
    raise ValueError(f"private tests: the source of {class_name}.{name} was not found")


def _code_names(code: types.CodeType) -> set[str]:
    out = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out |= _code_names(const)
    return out


def _plain(value) -> bool:
    if type(value) in (bool, int, float, str, type(None)):
        return True
    return type(value) in (tuple, list) and all(_plain(v) for v in value)


def _globals_loaded(code: types.CodeType) -> set[str]:
    out = {i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out |= _globals_loaded(const)
    return out


def _refuse_globals(cls: type, spec: dict, text: str) -> None:
    """A helper of the file that ``run`` uses would be missing in the worker: say so now."""
    namespace: dict = {"_PrivateBase": object, "__name__": "check"}
    exec(compile(spec["source"], "<check>", "exec"), namespace)
    built = namespace[cls.__name__]
    for name, value in vars(built).items():
        func = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
        if not isinstance(func, types.FunctionType):
            continue
        missing = sorted(n for n in _globals_loaded(func.__code__)
                         if n not in namespace and not hasattr(builtins, n) and n != "__class__")
        if missing:
            raise ValueError(
                f"--tests {spec['module']}.py: {cls.__name__}.{name} uses {', '.join(missing)}, defined in the file. "
                "Only run() and the methods it calls, the file's imports and the class's plain attributes reach "
                "the grading worker (never cases, expected or compare): make it a method, or import it.")
