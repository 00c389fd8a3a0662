"""The checks as a grading worker holds them: each exercise's ``run``, and nothing that knows an answer.

A check has two sides (``exercises.framework``): ``run`` calls the learner's object and must execute in
the worker, beside student code; ``cases``, ``expected``, ``compare``, ``suspects`` and the reference
implementations know the answers and stay in the grader. Before the first cell runs, ``seal``:

* cuts every check module the worker loaded down to what the ``run`` methods it needs can reach
  (and the names it lists in ``PROVIDED``: course material the notebook itself uses),
  computed from their bytecode (the global and attribute names their code objects use, followed
  through the functions and classes of check modules they name); everything else is deleted from the
  module and from the exercise classes (``expected``, ``compare``, ``cases``, hint helpers that
  compute right answers...) and collected, so no object in the worker's
  memory holds it any more;
* turns every other check module (``backprop_lab.exercises.nbNN``, the notebooks' own hidden checks
  ``backprop_lab.exercises.hidden.nbNN``) and the reference solutions ``backprop_lab.references``
  into stubs: importing them works, so a notebook's import cell still runs, but every name they hold
  is a ``Placeholder`` that raises ``NotAvailableWhileGrading`` when used (so does a check's
  ``reference`` and, through it, its default ``expected``);
* empties the checks' caches and makes ``check()`` a no-op that says the grader checks this.

One exception, by construction too: a check whose ``run`` needs reference code (09.4 runs the
learner's training loop with the course's backward pass and layers, the solutions of 09.1 and 09.2)
is graded in a worker of its own (``references_of``, ``grader``), which loads (``load``, before the
jail) the reference modules it names, cut down like a check module and never holding the solution of
an exercise graded there; the exercises whose solutions it holds are graded in another worker.

Together with the jail, which masks the files of the check modules and of the reference package
(so they cannot be read or imported again from disk), this makes the grader's answers unreachable
from the worker by construction. Private tests (``--tests``) reach the worker only as the source of
their ``run`` (and of the methods it calls) and their imports: their cases are generated, and their
answers computed and compared, in the grader.
"""
from __future__ import annotations

import gc
import importlib.abc
import importlib.machinery
import linecache
import sys
import types

CHECK_MODULES = ("backprop_lab.exercises.nb", "backprop_lab.exercises.hidden", "backprop_lab.references",
                 "backprop_lab_private_tests")
REFERENCES = "backprop_lab.references"
ANSWER_SIDE = {"cases", "expected", "compare", "suspects"}      # never kept, whatever ``run`` names
KEPT_ATTRIBUTES = {"id", "target", "points", "title", "run"}


class NotAvailableWhileGrading(RuntimeError):
    """Raised by a placeholder: the course's reference implementation is not available while grading."""


class Placeholder:
    """Stands for a name of a check module or of the reference package while grading."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)

    def _refuse(self, *args, **kwargs):
        raise NotAvailableWhileGrading(
            f"{self._name} is part of the course's reference implementation or its checks: it is not available "
            "while grading, so the notebook runs on your own code here (the grader checks each exercise itself)")

    __call__ = __iter__ = __len__ = __bool__ = __float__ = __int__ = __index__ = _refuse
    __getitem__ = __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = _refuse
    __rtruediv__ = __pow__ = __neg__ = __lt__ = __le__ = __gt__ = __ge__ = __contains__ = _refuse

    def __getattr__(self, attr: str):
        if attr.startswith("_"):        # dunders, and the hooks IPython probes for (_repr_html_, ...)
            raise AttributeError(attr)
        return Placeholder(f"{self._name}.{attr}")

    def __mro_entries__(self, bases):
        self._refuse()

    def __repr__(self) -> str:
        return f"<{self._name}: not available while grading>"


def stub_module(name: str) -> types.ModuleType:
    """A module whose every public name is a ``Placeholder``; also a package, so submodules import."""
    module = types.ModuleType(name, "Not available while grading (backprop-lab grade).")
    module.__path__ = []

    def __getattr__(attr: str):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        return Placeholder(f"{name}.{attr}")

    module.__getattr__ = __getattr__
    return module


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports of check modules not loaded for grading, and of the reference package, give stubs."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.startswith(CHECK_MODULES[:3]):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        return stub_module(spec.name)

    def exec_module(self, module):
        pass


# ----------------------------------------------------------------------------- what ``run`` needs

def _is_check(obj) -> bool:
    name = obj.__name__ if isinstance(obj, types.ModuleType) else getattr(obj, "__module__", None)
    return isinstance(name, str) and name.startswith(CHECK_MODULES)


def _functions(obj) -> list[types.FunctionType]:
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        return [f for f in (obj.fget, obj.fset, obj.fdel) if isinstance(f, types.FunctionType)]
    return [obj] if isinstance(obj, types.FunctionType) else []


def _code_names(code: types.CodeType, out: set) -> set:
    out.update(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code_names(const, out)
    return out


class Needs:
    """The closure of what some ``run`` methods need, over the objects of check modules.

    ``classes[cls]``: the attributes kept of an exercise class (and its check-module bases);
    ``modules[name]``: the globals kept of a check module; ``whole``: functions and classes of check
    modules reached as a whole (a helper ``run`` calls, a ``Node`` class it builds). Every name any
    kept code of the same module uses (``names``) keeps the attribute of that name of the exercise
    classes there (and of their bases), but never one of ``ANSWER_SIDE``. ``references``: the reference
    modules (``backprop_lab.references.nbNN``) the kept code names, as a module or as a string to import;
    ``protected``: objects never kept (the solutions of the exercises being graded).
    """

    def __init__(self, protected=()):
        self.protected = {id(p) for p in protected}
        self.references: set[str] = set()
        self.names: set[str] = set()
        self.names_by_module: dict[str, set[str]] = {}
        self.classes: dict[type, set[str]] = {}
        self.modules: dict[str, set[str]] = {}
        self.module_objects: dict[str, types.ModuleType] = {}
        self.whole: dict[int, object] = {}
        self._done: set[int] = set()

    def add(self, ex) -> "Needs":
        for klass in type(ex).__mro__:
            if _is_check(klass):
                self.classes.setdefault(klass, set()).update(KEPT_ATTRIBUTES & set(vars(klass)))
                self.modules.setdefault(klass.__module__, set()).add(klass.__name__)
                module = sys.modules.get(klass.__module__)
                for name in getattr(module, "PROVIDED", ()):     # course material the notebook uses
                    self.modules[klass.__module__].add(name)
                    self._reach(getattr(module, name))
        return self

    def _reach(self, value) -> None:
        if id(value) in self.protected:
            return
        if isinstance(value, types.ModuleType):
            if _is_check(value):
                self.module_objects[value.__name__] = value
                if value.__name__.startswith(REFERENCES):
                    self.references.add(value.__name__)
        elif isinstance(value, (type, types.FunctionType)) and _is_check(value) and value not in self.classes:
            self.whole.setdefault(id(value), value)

    def solve(self) -> "Needs":
        """Follow the names used by the kept code until nothing new is reached."""
        while True:
            funcs = []
            for klass, keep in self.classes.items():
                near = set().union(*(self.names_by_module.get(sub.__module__, set())
                                     for sub in self.classes if klass in sub.__mro__))
                for attr, value in vars(klass).items():
                    if attr not in keep and attr in near and attr not in ANSWER_SIDE:
                        keep.add(attr)
                    if attr in keep:
                        funcs += _functions(value)
                        self._reach(value)
            for name, module in list(self.module_objects.items()):
                for attr, value in vars(module).items():
                    if attr in self.names and id(value) not in self.protected:
                        self.modules.setdefault(name, set()).add(attr)
                        self._reach(value)
            for obj in list(self.whole.values()):
                if isinstance(obj, type):
                    for value in vars(obj).values():
                        funcs += _functions(value)
                        self._reach(value)
                    for base in obj.__mro__[1:]:
                        self._reach(base)
                else:
                    funcs.append(obj)
            new = [f for f in funcs if id(f) not in self._done]
            if not new:
                return self
            for f in new:
                self._done.add(id(f))
                used = _code_names(f.__code__, set())
                self.names |= used
                module = f.__globals__.get("__name__")
                self.names_by_module.setdefault(str(module), set()).update(used)
                for n in used & set(f.__globals__):
                    if isinstance(module, str) and module.startswith(CHECK_MODULES):
                        self.modules.setdefault(module, set()).add(n)
                    self._reach(f.__globals__[n])
                cells = [c.cell_contents for c in f.__closure__ or () if _cell_full(c)]
                for value in list(f.__defaults__ or ()) + cells:
                    self._reach(value)
                for text in _code_strings(f.__code__):      # importlib.import_module("backprop_lab.references.nb09")
                    if text.startswith(REFERENCES + "."):
                        self.references.add(text)
                        if text in sys.modules:
                            self._reach(sys.modules[text])


def _code_strings(code: types.CodeType) -> list[str]:
    out = [c for c in code.co_consts if isinstance(c, str)]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out += _code_strings(const)
    return out


def references_of(ex) -> set[str]:
    """The reference modules an exercise's ``run`` needs (the grader grades such an exercise in a worker of
    its own, where the other exercises' results cannot be touched)."""
    return Needs().add(ex).solve().references


def load(exercises: list) -> None:
    """Before the jail hides their files: import the reference modules the ``run`` methods need."""
    import importlib

    needs = Needs()
    for ex in exercises:
        needs.add(ex)
    for name in sorted(needs.solve().references):
        importlib.import_module(name)


def _cell_full(cell) -> bool:
    try:
        cell.cell_contents
        return True
    except ValueError:
        return False


# ----------------------------------------------------------------------------- sealing

def seal(exercises: list) -> None:
    """Cut the loaded checks down to what ``exercises``' ``run`` methods need; stub the rest (see above)."""
    from backprop_lab.exercises import framework

    needs = Needs(protected=_solutions(exercises))
    for ex in exercises:
        needs.add(ex)
    _prune(needs.solve())
    sys.meta_path.insert(0, _StubFinder())
    if "backprop_lab.references" not in sys.modules:
        sys.modules["backprop_lab.references"] = stub_module("backprop_lab.references")
    framework.REGISTRY.clear()
    framework._INSTANCES.clear()
    import backprop_lab.exercises as package

    package.check = framework.check = grading_check
    linecache.clearcache()
    gc.collect()        # what was cut off lives in reference cycles (classes): free it now


def _solutions(exercises: list) -> list:
    """The reference solutions of ``exercises`` among the loaded reference modules: never kept."""
    out = []
    for ex in exercises:
        module = sys.modules.get(f"{REFERENCES}.nb{str(getattr(ex, 'id', '')).split('.')[0]}")
        for name in str(getattr(ex, "target", "")).strip("()").split(","):
            value = getattr(module, name.strip(), None) if module is not None and name.strip() else None
            if value is not None:
                out.append(value)
    return out


def _prune(needs: Needs) -> None:
    for klass, keep in needs.classes.items():
        for attr in [a for a in vars(klass) if not _dunder(a) and a not in keep]:
            delattr(klass, attr)
    for name in [n for n in sys.modules if n.startswith(CHECK_MODULES)]:
        module = sys.modules[name]
        keep = needs.modules.get(name)
        if keep is None:
            sys.modules[name] = stub_module(name)
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                setattr(sys.modules[parent], child, sys.modules[name])
            continue
        for attr in [a for a, v in vars(module).items() if not _dunder(a) and (a not in keep or id(v) in
                                                                               needs.protected) and not (
                isinstance(v, types.ModuleType) and not _is_check(v))]:
            delattr(module, attr)
        module.__getattr__ = stub_module(name).__getattr__


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def grading_check(exercise_id, obj=None, *args, **kwargs):
    """``check()`` while grading: checks nothing here (the grader checks every exercise itself)."""
    from backprop_lab.exercises.framework import CheckResult

    return CheckResult(None, "invalid", message=f"check({exercise_id!r}, ...) does nothing while grading: "
                                                "the grader checks every exercise itself", exercise_id=str(exercise_id))


# ----------------------------------------------------------------------------- private tests in the worker

def private_runner(spec: dict):
    """A private test's runner from what the grader sent: the source of its ``run`` (and the methods
    ``run`` calls) and its module's imports, on top of the course exercise it extends (if any)."""
    from backprop_lab.exercises import framework

    base = type(framework.get(spec["base"])) if spec.get("base") else framework.Exercise
    if not spec.get("source"):
        return base()
    namespace = {"__name__": f"backprop_lab_private_tests.{spec['module']}", "_PrivateBase": base}
    exec(compile(spec["source"], f"<private test {spec['module']}>", "exec"), namespace)
    cls = namespace[spec["class"]]
    for key, value in spec.get("attributes", {}).items():
        setattr(cls, key, value)
    return cls()
