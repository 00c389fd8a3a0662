"""The exercise framework: ``check(id, obj)``, ``use(id, mine)`` and the check classes' base.

What an exercise *is* (its id, points, task, and the learner's name for it) is written once, in the
exercise cell's metadata in the instructor notebook (see ``catalog``). Its *check* is a small class
with the logic alone, so that the same definition serves a learner in a notebook (``check``) and the
instructor's grader, which runs ``run`` inside the student's kernel and ``expected``/``compare`` in
its own process where the submission cannot reach them:

    cases(rng)            -> list of cases (dicts of plain data: numbers, lists, ndarrays)
    run(obj, case)        -> what the learner's object produces for one case (plain data)
    expected(case)        -> the right answer for that case; by default ``run`` applied to the
                             reference solution, which ``backprop-lab build`` generates from the
                             notebook's solution region (``backprop_lab.references.nbNN``)
    compare(got, want, case) -> None when right, else a ``Mismatch`` saying what and why

The first cases are fixed and small (easy to read in a failure message); the
rest come from ``rng`` so that a hard-coded answer cannot pass.
"""
from __future__ import annotations

import copy
import importlib
import inspect
import os
import re
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import hints

REGISTRY: dict[str, "Exercise"] = {}     # checks registered at run time with an id (the grader's --tests)


class Exercise:
    """Base class of every exercise check: override ``cases`` and ``run`` (and ``compare`` for sharper hints).

    ``id``, ``points``, ``task``, ``target`` and ``notebook`` are filled in from the exercise cell's
    metadata when ``get`` hands the check out; a check class does not repeat them.
    """

    id: str = ""            # "NN.K": notebook NN, exercise K
    points: float = 1.0
    task: str = ""          # what the learner is asked to do
    target: str = ""        # the learner's name(s) in the notebook: "f" or "(a, b)"
    notebook: str = ""      # "04_dimensional_analysis"
    rtol: float = 1e-6
    atol: float = 1e-8
    show_expected: bool = True   # False for a value exercise whose expected value is the answer (06.5's op name)

    @property
    def title(self) -> str:
        return self.task

    @property
    def reference(self) -> Any:
        """The reference solution of this exercise: its ``target`` in ``backprop_lab.references.nbNN``."""
        module = importlib.import_module(f"backprop_lab.references.nb{self.id.split('.')[0]}")
        names = [n.strip() for n in self.target.strip("()").split(",") if n.strip()]
        values = tuple(getattr(module, n) for n in names)
        return values[0] if len(values) == 1 and not self.target.startswith("(") else values

    def cases(self, rng: np.random.Generator) -> list[dict]:
        raise NotImplementedError

    def run(self, obj: Any, case: dict) -> Any:
        raise NotImplementedError

    def expected(self, case: dict) -> Any:
        """The right answer for ``case``: by default, ``run`` applied to the reference solution."""
        return self.run(self.reference, copy.deepcopy(case))

    def compare(self, got: Any, want: Any, case: dict) -> "Mismatch | None":
        """Default comparison: numbers and arrays, nested in tuples/lists/dicts, with a diagnosis."""
        return hints.compare_values(got, want, rtol=self.rtol, atol=self.atol, suspects=self.suspects(case))

    def suspects(self, case: dict) -> list[tuple[str, Any]]:
        """Known wrong answers for ``case``, as ``(hint, wrong_answer)`` pairs (override to add some).

        For example the sum over the other axis, with a hint naming the axis: a learner's answer
        that matches one of them gets that hint.
        """
        return []

    def error_hint(self, exc: BaseException) -> str:
        """A hint for an exception raised by the learner's code ("" for none); override for sharper ones."""
        return hints.error_hint(exc)

    def describe(self, case: dict) -> str:
        """How a case is shown to the learner (override for a friendlier text)."""
        return hints.short_repr(case)


@dataclass
class Mismatch:
    """Why a learner's answer is wrong: the message shown in red, and a hint naming the likely mistake."""

    message: str
    hint: str = ""


def run_watching(functions, call):
    """``(call(), names)``: run ``call()`` and name which of ``functions`` ran meanwhile, in this thread.

    A function is recognised by its code, so a call through any name counts (``from backprop_lab.einsum import
    operand_grad`` as well as ``bl.einsum`` internals). Checks use it where the exercise is to write what the
    engine already does: the check then says so instead of passing the engine's own work.
    """
    codes = {f.__code__: f.__qualname__ for f in functions}
    seen: list[str] = []

    def profile(frame, event, arg):
        if event == "call" and frame.f_code in codes and codes[frame.f_code] not in seen:
            seen.append(codes[frame.f_code])

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        result = call()
    finally:
        sys.setprofile(previous)
    return result, seen


def register(cls: type[Exercise]) -> type[Exercise]:
    """Class decorator for a check that carries its own ``id`` (the grader's private ``--tests``).

    The course's own checks are not registered: the exercise cell's metadata names their class.
    """
    ex = cls()
    if not ex.id or not isinstance(ex.id, str):
        raise ValueError(f"{cls.__name__} has no exercise id: set id = \"NN.K\" (notebook NN, exercise K)")
    old = REGISTRY.get(ex.id)
    if old is not None and (type(old).__module__, type(old).__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(f"exercise id {ex.id!r} of {cls.__module__}.{cls.__name__} is already registered by "
                         f"{type(old).__module__}.{type(old).__name__}")
    REGISTRY[ex.id] = ex
    return cls


_INSTANCES: dict = {}


def get(exercise_id: str) -> Exercise:
    """The check of exercise ``"NN.K"``, with the facts its cell's metadata gives (id, points, task, target).

    The class named by the metadata's ``check`` is looked up in ``backprop_lab.exercises.nbNN``, then in
    the checks the notebook itself defines (``backprop_lab.exercises.hidden.nbNN``, or a cell just run in
    this kernel).
    """
    from . import catalog

    exercise_id = str(exercise_id)
    if exercise_id in REGISTRY:
        return REGISTRY[exercise_id]
    entries = catalog.load()
    entry = entries.get(exercise_id)
    if entry is None:
        known = ", ".join(entries) or "none"
        raise KeyError(f"no exercise {exercise_id!r}: exercise ids look like '02.3' (notebook 02, exercise 3); "
                       f"known: {known}. (Course authors: an exercise just added to a notebook is known after "
                       f"`backprop-lab build {exercise_id.split('.')[0]}`.)")
    cls = _check_class(entry)
    key = (exercise_id, cls, entry)
    ex = _INSTANCES.get(key)
    if ex is None:
        ex = cls()
        ex.id, ex.points, ex.task, ex.target, ex.notebook = (entry.id, entry.points, entry.task, entry.target,
                                                             entry.notebook)
        _INSTANCES[key] = ex
    return ex


def _check_class(entry) -> type[Exercise]:
    places = [f"backprop_lab.exercises.nb{entry.number}", f"backprop_lab.exercises.hidden.nb{entry.number}"]
    for name in places:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        cls = getattr(module, entry.check, None)
        if isinstance(cls, type) and issubclass(cls, Exercise):
            return cls
    main = sys.modules.get("__main__")            # a check class the instructor's notebook has just defined
    cls = getattr(main, entry.check, None)
    if isinstance(cls, type) and issubclass(cls, Exercise):
        return cls
    raise LookupError(f"exercise {entry.id}'s metadata names the check class {entry.check!r}, which is neither in "
                      f"{places[0]} nor in the notebook's hidden tests; run `backprop-lab build {entry.number}`")


def all_exercises() -> dict[str, Exercise]:
    """Every exercise of the course (and any registered at run time), by id, in course order."""
    from . import catalog

    found = {xid: get(xid) for xid in catalog.load()}
    found.update(REGISTRY)
    return dict(sorted(found.items(), key=lambda kv: catalog.sort_key(kv[0])))


# ----------------------------------------------------------------------------- running cases

@dataclass
class CaseOutcome:
    """One case: 'pass', 'fail' (wrong answer), 'error' (the learner's code raised), 'todo' (not implemented)."""

    status: str
    case: dict
    got: Any = None
    want: Any = None
    mismatch: Mismatch | None = None
    error: str = ""


def run_case(ex: Exercise, obj: Any, case: dict) -> tuple[str, Any]:
    """Run the learner's object on one case: ('ok', value), ('todo'|'error', text) or ('fail', Mismatch).

    Never raises (except KeyboardInterrupt). The learner gets a deep copy of the case, so an answer
    that modifies its inputs in place cannot change what the reference computes or what is shown.
    """
    if obj is None or obj is Ellipsis:
        return "todo", f"Exercise {ex.id} is not done yet: the answer is still {obj!r}."
    try:
        return "ok", ex.run(obj, copy.deepcopy(case))
    except NotImplementedError as exc:
        message = str(exc) or f"Exercise {ex.id} is not implemented yet."
        other = re.match(r"Exercise (\d+\.\d+)\b", message)
        if other and other.group(1) != ex.id:   # the answer calls an earlier exercise's unfinished stub
            message = f"Your answer calls your code for exercise {other.group(1)}, which is not done yet ({message})"
        return "todo", message
    except Exception as exc:
        tb = learner_traceback(exc, ex)
        if tb is None:  # raised by the checker while handling the answer: the answer has the wrong form
            hint = hints.NONE_HINT if "NoneType" in str(exc) else hints.TYPE_HINT
            return "fail", Mismatch(f"your answer could not be used: {type(exc).__name__}: {exc}", hint)
        hint = ex.error_hint(exc)
        return "error", f"{tb}\n\nHint: {hint}" if hint else tb


def judge(ex: Exercise, case: dict, kind: str, value: Any) -> CaseOutcome:
    """Turn what ``run_case`` returned into an outcome, comparing against the reference."""
    if kind in ("todo", "error"):
        return CaseOutcome(kind, case, error=value)
    if kind == "fail":
        return CaseOutcome("fail", case, mismatch=value)
    want = ex.expected(case)
    try:
        mismatch = ex.compare(value, want, case)
    except Exception as exc:  # a malformed answer (wrong type, ragged list) is a wrong answer, not a crash
        mismatch = Mismatch(f"could not compare the answer with the expected one ({type(exc).__name__}: {exc})",
                            hints.TYPE_HINT)
    return CaseOutcome("pass" if mismatch is None else "fail", case, value, want, mismatch)


def hardcoded(outcomes: list[CaseOutcome]) -> bool:
    """True when the learner returned the same answer for cases whose expected answers differ."""
    done = [o for o in outcomes if o.status in ("pass", "fail") and o.want is not None]
    if len(done) < 2 or all(o.status == "pass" for o in done):
        return False
    same_got = all(hints.same(done[0].got, o.got) for o in done[1:])
    same_want = all(hints.same(done[0].want, o.want) for o in done[1:])
    return same_got and not same_want


def learner_traceback(exc: BaseException, ex: Exercise | None = None, limit: int | None = None) -> str | None:
    """The traceback of an exception raised in learner code, without the checker's own frames.

    The one place that decides what a learner sees of an error, in a notebook's check and in the grader.
    Checker frames are those in the backprop_lab package (its engine included), in the file that defines ``ex``'s class and in IPython (which
    runs the cells). ``limit`` keeps only the innermost frames. None when every frame is the checker's: then
    the exception came from handling the answer.
    """
    checker_file = _source_file(type(ex)) if ex is not None else None
    frames = traceback.extract_tb(exc.__traceback__)
    kept = [f for f in frames
            if not os.path.abspath(f.filename).startswith(_HERE) and f.filename != checker_file
            and f"{os.sep}IPython{os.sep}" not in f.filename]
    if not kept:
        return None
    lines = ["Traceback (most recent call last):\n"] + traceback.format_list(kept[-limit:] if limit else kept)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines).rstrip()


_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep   # the whole package


def _source_file(cls: type) -> str | None:
    try:
        return inspect.getsourcefile(cls) or inspect.getfile(cls)
    except (TypeError, OSError):
        return None


# ----------------------------------------------------------------------------- check()

@dataclass
class CheckResult:
    """What ``check`` returns: shown as rich HTML in Jupyter and as plain text elsewhere.

    ``status`` is 'pass', 'fail' (a wrong answer), 'error' (the learner's code raised), 'todo'
    (not done yet) or 'invalid' (no such exercise, or the checker itself failed: ``message`` says why).
    """

    exercise: Exercise | None
    status: str
    outcomes: list[CaseOutcome] = field(default_factory=list)
    message: str = ""
    exercise_id: str = ""
    stuck: bool = False          # failed several times: the result says how to see the solution
    solution: str = ""           # the course's solution, when asked for with reveal=True

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def first_problem(self) -> CaseOutcome | None:
        return next((o for o in self.outcomes if o.status != "pass"), None)

    @property
    def hint(self) -> str:
        """The hint for the first failing case ('' when none)."""
        p = self.first_problem
        return p.mismatch.hint if p is not None and p.mismatch is not None else ""

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        from .render import as_text

        return as_text(self)

    def _repr_html_(self) -> str:
        from .render import as_html

        return as_html(self)


class CheckFailed(AssertionError):
    """Raised by ``check`` in strict mode (``BACKPROP_LAB_STRICT=1``, set by the test suite) on a wrong answer."""


STUCK_AFTER = 3      # failed attempts after which the result offers the course's solution


def check(exercise_id: str, obj: Any, *, seed: int | None = None, record: bool = True,
          reveal: bool = False) -> CheckResult:
    """Check the learner's ``obj`` for exercise ``exercise_id`` ("NN.K") and show the result.

    Runs fixed cases first, then random ones; stops at the first failing case and shows its
    inputs, the expected and the received answer, and a hint naming the likely mistake.
    Records the result in the progress file beside the notebook unless ``record=False`` (with the
    source of a passing answer, which ``carried`` hands to later notebooks). After a few failed
    attempts the result says how to see the course's solution; ``reveal=True`` shows it.
    Never raises, except in strict mode (``BACKPROP_LAB_STRICT=1``) where a wrong answer, an
    error or an unknown exercise raises ``CheckFailed``.
    """
    result = _check(str(exercise_id), obj, seed)
    if record and result.exercise is not None:
        try:
            from .progress import record_result

            entry = record_result(result.exercise, result.status, source=source_of(obj) if result.passed else None)
            result.stuck = bool(entry) and not entry.get("passed") and entry.get("attempts", 0) >= STUCK_AFTER
        except Exception as exc:  # the progress file is a convenience: never let it break a check
            print(f"(could not record progress: {exc})", file=sys.stderr)
    if reveal and result.exercise is not None:
        result.solution = solution_text(result.exercise)
    if result.status in ("fail", "error", "invalid") and os.environ.get("BACKPROP_LAB_STRICT") == "1":
        raise CheckFailed(repr(result))
    return result


def solution_text(ex: Exercise) -> str:
    """The course's solution of exercise ``ex``: its cell, as the instructor notebook has it."""
    try:
        module = importlib.import_module(f"backprop_lab.references.nb{ex.id.split('.')[0]}")
        text = inspect.getsource(module)
    except Exception:  # noqa: BLE001 - no reference at hand (e.g. while grading): say so, do not fail
        return "(the course's solution is not available here)"
    start = text.find(f"# --- exercise {ex.id} (")
    if start < 0:
        return "(the course's solution is not available here)"
    body = text[text.index("\n", start) + 1:]
    end = body.find("\n# --- ")
    return (body if end < 0 else body[:end]).strip("\n")


def source_of(obj: Any) -> str | None:
    """The source code of a learner's function or class (a notebook cell's too), or None."""
    if not (inspect.isfunction(obj) or inspect.isclass(obj)):
        return None
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        pass
    import linecache          # a class defined in a notebook: inspect cannot find its cell, its methods can

    for member in vars(obj).values():
        code = getattr(getattr(member, "__func__", member), "__code__", None)
        if code is not None:
            lines = linecache.getlines(code.co_filename)
            if lines:
                return "".join(lines)
    return None


CARRIED = "__backprop_lab_carried__"     # set on what carried() returns: the id of the exercise it answers


def show_source_after(exercise_id: str, *objects: Any) -> None:
    """Print the source of ``objects`` (engine code that answers exercise ``exercise_id``) once that exercise has
    passed its check here, as the progress file records; until then, one line saying when it will appear.

    A notebook that shows the engine's version of an exercise beside the learner's uses this, so that *Run All* on
    a fresh notebook never prints an answer before the learner has tried.
    """
    from .progress import load

    exercise_id = str(exercise_id)
    names = " and ".join(getattr(o, "__qualname__", None) or getattr(o, "__name__", repr(o)) for o in objects)
    if not (load()["exercises"].get(exercise_id) or {}).get("passed"):
        print(f"{names} {'is' if len(objects) == 1 else 'are'} printed here once your answer passes check "
              f"{exercise_id}: {'it is' if len(objects) == 1 else 'they are'} that exercise's answer.")
        return
    for obj in objects:
        print(inspect.getsource(obj))


def carried(exercise_id: str) -> Any:
    """Your passing answer to exercise ``exercise_id`` from an earlier notebook, or None.

    When ``check`` passes it records the answer's source in the progress file; a later notebook in the same
    folder gets it back with ``carried("07.1")``, run afresh in a namespace that has ``math``, ``np`` and ``bl``.
    Pass it to ``use`` (``use("07.1", carried("07.1"))``), which checks it again and falls back to the course's
    version if it is missing or no longer passes.
    """
    from .progress import load

    exercise_id = str(exercise_id)
    entry = load()["exercises"].get(exercise_id) or {}
    source = entry.get("source")
    if not source:
        return None
    try:
        ex = get(exercise_id)
        namespace = {"__name__": f"carried_{exercise_id.replace('.', '_')}"}
        exec("import math\nimport numpy as np\nimport backprop_lab as bl\n", namespace)
        exec(compile(source, f"<your exercise {exercise_id}>", "exec"), namespace)
        names = [n.strip() for n in ex.target.strip("()").split(",") if n.strip()]
        for name in names:      # so that use() can say where a carried answer came from
            try:
                setattr(namespace[name], CARRIED, exercise_id)
            except (AttributeError, TypeError):
                pass
        return namespace[names[0]] if len(names) == 1 else tuple(namespace[n] for n in names)
    except Exception as exc:  # noqa: BLE001 - a saved answer that no longer runs: use() will fall back
        print(f"(your saved answer to exercise {exercise_id} could not be loaded: {type(exc).__name__}: {exc})")
        return None


def _check(exercise_id: str, obj: Any, seed: int | None) -> CheckResult:
    try:
        ex = get(exercise_id)
    except KeyError as exc:
        return CheckResult(None, "invalid", message=str(exc.args[0]), exercise_id=exercise_id)
    except Exception as exc:  # the module with the checks failed to import
        return CheckResult(None, "invalid", exercise_id=exercise_id, message=(
            f"the checks for exercise {exercise_id} could not be loaded ({type(exc).__name__}: {exc}). "
            "Run `backprop-lab doctor`; if it reports nothing, this is a bug in backprop-lab: please report it."))
    try:
        rng = np.random.default_rng(seed if seed is not None else _default_seed(exercise_id))
        cases = list(ex.cases(rng))
    except Exception as exc:
        return _checker_bug(ex, "could not build its cases", exc)
    outcomes: list[CaseOutcome] = []
    try:
        for i, case in enumerate(cases):
            outcome = judge(ex, case, *run_case(ex, obj, case))
            outcomes.append(outcome)
            if outcome.status != "pass":
                # the same answer as for an earlier, different case is hard-coded whatever else it looks like
                repeated = any(o.status == "pass" and hints.same(o.got, outcome.got) for o in outcomes[:-1])
                if outcome.status == "fail" and outcome.mismatch and (
                        repeated or not hints.is_specific(outcome.mismatch.hint)):
                    probes = [judge(ex, c, *run_case(ex, obj, c)) for c in cases[i + 1:i + 3]]
                    if hardcoded(outcomes + probes):
                        outcome.mismatch = Mismatch(outcome.mismatch.message, hints.HARDCODED)
                break
    except Exception as exc:  # the reference or the comparison failed: a bug in the checker, not the learner
        return _checker_bug(ex, "failed", exc)
    status = next((o.status for o in outcomes if o.status != "pass"), "pass")
    return CheckResult(ex, status, outcomes, exercise_id=exercise_id)


def _checker_bug(ex: Exercise, what: str, exc: Exception) -> CheckResult:
    where = traceback.extract_tb(exc.__traceback__)[-1]
    message = (f"The checker for exercise {ex.id} {what} ({type(exc).__name__}: {exc}, at "
               f"{os.path.basename(where.filename)}:{where.lineno}). This is a bug in backprop-lab, not in "
               "your code: please report it.")
    return CheckResult(ex, "invalid", message=message, exercise_id=ex.id)


def _default_seed(exercise_id: str) -> int:
    digits = "".join(ch for ch in exercise_id if ch.isdigit())
    return int(digits or 0) + 1234


# ----------------------------------------------------------------------------- switch

def use(exercise_id: str, mine: Any, *, mode: str | None = None) -> Any:
    """Your implementation for the rest of the notebook when it passes its check, else the course's.

    ``use("04.4", sum_backward)`` returns ``sum_backward`` if ``check("04.4", sum_backward)`` passes,
    and otherwise the reference solution of exercise 04.4, so that later cells run either way; one
    quiet line says which. ``mode`` (default: the ``BACKPROP_LAB_USE`` environment variable, else
    "auto") is "auto" as just described, or "reference" to use the course's version regardless.

    While a notebook is being graded (``BACKPROP_LAB_GRADING=1``) it always returns ``mine``: graded
    code runs on the student's own work, never on the reference.
    """
    exercise_id = str(exercise_id)
    if os.environ.get("BACKPROP_LAB_GRADING") == "1":
        return _NotCarried(exercise_id) if mine is None else mine
    mode = (mode or os.environ.get("BACKPROP_LAB_USE") or "auto").lower()
    if mode == "mine":          # the name this switch had before "auto" became the default
        mode = "auto"
    if mode not in ("auto", "reference"):
        raise ValueError(f"use({exercise_id!r}, ..., mode={mode!r}): mode must be 'auto' (yours when it passes "
                         "its check, else the course's) or 'reference' (always the course's)")
    try:
        ex = get(exercise_id)
    except Exception as exc:
        raise ValueError(f"use({exercise_id!r}, ...): {exc.args[0] if exc.args else exc}") from None
    name = ex.target.strip("()")
    if mode == "auto" and mine is None:
        print(f"Using the course's {name}: no answer of yours to exercise {exercise_id} was found here.")
    elif mode == "auto":
        result = _check(exercise_id, mine, None)   # never raises, even in strict mode: falling back is the point
        if result.passed:
            print(f"Using your {name} (exercise {exercise_id} passes its check).")
            return mine
        why = {"todo": "is not done yet", "fail": "does not pass its check yet",
               "error": "raises an error"}.get(result.status, "could not be checked")
        error = _error_line(result)
        if error:
            why = f"raises {error}"
        whose, note = "yours", ""
        if getattr(mine, CARRIED, None) == exercise_id:
            whose = f"yours from notebook {exercise_id.split('.')[0]}"
            if error.startswith("NameError"):
                note = (" A carried answer runs on its own, with math, np and bl only: keep everything it uses in its "
                        "exercise cell, and run that notebook's check again.")
        print(f"Using the course's {name}: {whose} {why} (exercise {exercise_id}).{note}")
    else:
        print(f"Using the course's {name} (mode='reference').")
    return ex.reference


class _NotCarried:
    """What ``use`` gives while grading when an answer from an earlier notebook was not found (``carried``):
    each notebook is graded on its own, so a cell that calls it says so instead of 'NoneType is not callable'."""

    def __init__(self, exercise_id: str):
        self.exercise_id = exercise_id

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        self()

    def __call__(self, *args, **kwargs):
        raise RuntimeError(f"exercise {self.exercise_id}'s answer comes from notebook {self.exercise_id[:2]}, which is "
                           "graded on its own: it is not available while this notebook is graded (no points depend "
                           "on it)")

    def __repr__(self):
        return f"<exercise {self.exercise_id}'s answer: not available while grading>"


def _error_line(result: CheckResult, limit: int = 160) -> str:
    """The last line of the learner's traceback ("NameError: name 'x' is not defined"), or "" if it did not raise."""
    problem = result.first_problem
    if result.status != "error" or problem is None or not problem.error:
        return ""
    lines = problem.error.split("\n\nHint:")[0].strip().splitlines()
    line = lines[-1].strip() if lines else ""
    return line if len(line) <= limit else line[:limit - 1] + "…"
