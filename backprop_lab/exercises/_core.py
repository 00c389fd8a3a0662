"""The exercise framework: a registry of checks, and ``check(id, obj)``.

An exercise is a small class with four methods, so that the same definition
serves a learner in a notebook (``check``) and the instructor's grader, which
runs ``run`` inside the student's kernel and ``expected``/``compare`` in its own
process where the submission cannot reach them:

    cases(rng)            -> list of cases (dicts of plain data: numbers, lists, ndarrays)
    run(obj, case)        -> what the learner's object produces for one case (plain data)
    expected(case)        -> the reference answer for that case (plain data)
    compare(got, want, case) -> None when right, else a ``Mismatch`` saying what and why

The first cases are fixed and small (easy to read in a failure message); the
rest come from ``rng`` so that a hard-coded answer cannot pass.
"""
from __future__ import annotations

import copy
import importlib
import inspect
import os
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from . import hints

REGISTRY: dict[str, "Exercise"] = {}


class Exercise:
    """Base class of every exercise check. Subclass, set the attributes, register with ``@register``."""

    id: str = ""            # "NN.K": notebook NN, exercise K
    title: str = ""         # what the learner implements, e.g. "Value.__mul__ with its backward"
    points: int = 1         # points in the gradebook
    target: str = ""        # the name the learner's object has in the notebook (the grader looks it up)
    rtol: float = 1e-6
    atol: float = 1e-8

    def cases(self, rng: np.random.Generator) -> list[dict]:
        raise NotImplementedError

    def run(self, obj: Any, case: dict) -> Any:
        raise NotImplementedError

    def expected(self, case: dict) -> Any:
        raise NotImplementedError

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


def register(cls: type[Exercise]) -> type[Exercise]:
    """Class decorator: add an exercise to the registry under its ``id``.

    Registering the same class again (a reloaded module) replaces it; two different
    classes with one id is an error.
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


def get(exercise_id: str) -> Exercise:
    """Return the exercise ``"NN.K"``, importing ``backprop_lab.exercises.nbNN`` on first use."""
    if exercise_id not in REGISTRY:
        nb = str(exercise_id).split(".")[0]
        module = f"backprop_lab.exercises.nb{nb}"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # the checks exist but need something missing: say so, not "no exercise"
                raise
    if exercise_id not in REGISTRY:
        known = ", ".join(sorted(REGISTRY)) or "none loaded"
        raise KeyError(f"no exercise {exercise_id!r}: exercise ids look like '02.3' (notebook 02, exercise 3); "
                       f"known: {known}")
    return REGISTRY[exercise_id]


def all_exercises() -> dict[str, Exercise]:
    """Import every ``nbNN`` module and return the whole registry."""
    import pkgutil

    from .. import exercises

    for info in pkgutil.iter_modules(exercises.__path__):
        if info.name.startswith("nb"):
            importlib.import_module(f"backprop_lab.exercises.{info.name}")
    return dict(sorted(REGISTRY.items()))


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
        return "todo", str(exc) or f"Exercise {ex.id} is not implemented yet."
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


def learner_traceback(exc: BaseException, ex: Exercise | None = None) -> str | None:
    """The traceback of an exception raised in learner code, without the checker's own frames.

    Checker frames are those in this package and in the file that defines ``ex``'s class.
    None when every frame is the checker's: then the exception came from handling the answer.
    """
    checker_file = _source_file(type(ex)) if ex is not None else None
    frames = traceback.extract_tb(exc.__traceback__)
    kept = [f for f in frames
            if not os.path.abspath(f.filename).startswith(_HERE) and f.filename != checker_file]
    if not kept:
        return None
    lines = ["Traceback (most recent call last):\n"] + traceback.format_list(kept)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines).rstrip()


_HERE = os.path.dirname(os.path.abspath(__file__)) + os.sep


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


def check(exercise_id: str, obj: Any, *, seed: int | None = None, record: bool = True) -> CheckResult:
    """Check the learner's ``obj`` for exercise ``exercise_id`` ("NN.K") and show the result.

    Runs fixed cases first, then random ones; stops at the first failing case and shows its
    inputs, the expected and the received answer, and a hint naming the likely mistake.
    Records the result in the progress file beside the notebook unless ``record=False``.
    Never raises, except in strict mode (``BACKPROP_LAB_STRICT=1``) where a wrong answer, an
    error or an unknown exercise raises ``CheckFailed``.
    """
    result = _check(str(exercise_id), obj, seed)
    if record and result.exercise is not None:
        try:
            from .progress import record_result

            record_result(result.exercise, result.status)
        except Exception as exc:  # the progress file is a convenience: never let it break a check
            print(f"(could not record progress: {exc})", file=sys.stderr)
    if result.status in ("fail", "error", "invalid") and os.environ.get("BACKPROP_LAB_STRICT") == "1":
        raise CheckFailed(repr(result))
    return result


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

def use(mine: Callable | type | None, reference: Any, exercise: str, *, mode: str | None = None) -> Any:
    """Pick the learner's implementation or the engine's reference for the rest of a notebook.

    ``mode`` is "mine" or "reference" (default: the ``BACKPROP_LAB_USE`` environment variable,
    else "reference"). "mine" is honoured only when ``mine`` passes ``check(exercise)``; otherwise
    the reference is used and the reason printed, so later cells always run. While a notebook is
    graded (``BACKPROP_LAB_GRADING=1``) it returns ``mine``, whatever it is.
    """
    # ---- grading mode (issue 16; set by backprop_lab.grading's worker): graded code never gets the reference.
    # The grader checks each exercise itself, so the rest of the notebook runs on the learner's own objects.
    if os.environ.get("BACKPROP_LAB_GRADING") == "1":
        return mine
    # ---- end of grading mode
    mode = (mode or os.environ.get("BACKPROP_LAB_USE", "reference")).lower()
    if mode not in ("mine", "reference"):
        raise ValueError(f"use(..., mode={mode!r}): mode must be 'mine' or 'reference'")
    if mode == "reference" or mine is None:
        print(f"Using the reference implementation for exercise {exercise}.")
        return reference
    result = _check(str(exercise), mine, None)  # never raises, even in strict mode: falling back is the point
    if result.passed:
        print(f"Using YOUR implementation from exercise {exercise} (it passes the check).")
        return mine
    why = {"todo": "is not done yet", "fail": "gives a wrong answer", "error": "raises an error"}.get(
        result.status, "could not be checked")
    print(f"Your implementation for exercise {exercise} {why} (run check(\"{exercise}\", ...) to see why); "
          "using the reference so the notebook keeps working.", file=sys.stderr)
    return reference
