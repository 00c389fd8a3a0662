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

import importlib
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
        return hints.compare_values(got, want, rtol=self.rtol, atol=self.atol)

    def describe(self, case: dict) -> str:
        """How a case is shown to the learner (override for a friendlier text)."""
        return hints.short_repr(case)


@dataclass
class Mismatch:
    """Why a learner's answer is wrong: the message shown in red, and a hint naming the likely mistake."""

    message: str
    hint: str = ""


def register(cls: type[Exercise]) -> type[Exercise]:
    """Class decorator: add an exercise to the registry under its ``id``."""
    ex = cls()
    if not ex.id or ex.id in REGISTRY:
        raise ValueError(f"exercise id {ex.id!r} of {cls.__name__} is empty or already registered")
    REGISTRY[ex.id] = ex
    return cls


def get(exercise_id: str) -> Exercise:
    """Return the exercise ``"NN.K"``, importing ``backprop_lab.exercises.nbNN`` on first use."""
    if exercise_id not in REGISTRY:
        nb = str(exercise_id).split(".")[0]
        try:
            importlib.import_module(f"backprop_lab.exercises.nb{nb}")
        except ModuleNotFoundError:
            pass
    if exercise_id not in REGISTRY:
        known = ", ".join(sorted(REGISTRY)) or "none loaded"
        raise KeyError(f"no exercise {exercise_id!r}: exercise ids look like '02.3' (notebook 02, exercise 3); known: {known}")
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
    """Run the learner's object on one case: ('ok', value) or ('todo'|'error', text). Never raises."""
    if obj is None or obj is Ellipsis:
        return "todo", f"Exercise {ex.id} is not done yet: the answer is still {obj!r}."
    try:
        return "ok", ex.run(obj, case)
    except NotImplementedError as exc:
        return "todo", str(exc) or f"Exercise {ex.id} is not implemented yet."
    except Exception as exc:  # the learner's code raised: report it with the learner's frames
        return "error", learner_traceback(exc)


def judge(ex: Exercise, case: dict, kind: str, value: Any) -> CaseOutcome:
    """Turn what ``run_case`` returned into an outcome, comparing against the reference."""
    if kind != "ok":
        return CaseOutcome("todo" if kind == "todo" else "error", case, error=value)
    want = ex.expected(case)
    try:
        mismatch = ex.compare(value, want, case)
    except Exception as exc:  # a malformed answer (wrong type, ragged list) is a wrong answer, not a crash
        mismatch = Mismatch(f"could not compare the answer with the expected one ({type(exc).__name__}: {exc})",
                            hints.TYPE_HINT)
    return CaseOutcome("pass" if mismatch is None else "fail", case, value, want, mismatch)


def hardcoded(outcomes: list[CaseOutcome]) -> bool:
    """True when the learner returned the same answer for cases whose expected answers differ."""
    done = [o for o in outcomes if o.status in ("pass", "fail")]
    if len(done) < 2 or all(o.status == "pass" for o in done):
        return False
    same_got = all(hints.same(done[0].got, o.got) for o in done[1:])
    same_want = all(hints.same(done[0].want, o.want) for o in done[1:])
    return same_got and not same_want


def learner_traceback(exc: BaseException) -> str:
    """The traceback of an exception raised in learner code, without the checker's own frames."""
    frames = traceback.extract_tb(exc.__traceback__)
    here = os.path.dirname(os.path.abspath(__file__))
    kept = [f for f in frames if not os.path.abspath(f.filename).startswith(here)]
    lines = traceback.format_list(kept) + traceback.format_exception_only(type(exc), exc)
    return "".join(lines).rstrip()


# ----------------------------------------------------------------------------- check()

@dataclass
class CheckResult:
    """What ``check`` returns: shown as rich HTML in Jupyter and as plain text elsewhere."""

    exercise: Exercise
    status: str                       # 'pass' | 'fail' | 'error' | 'todo'
    outcomes: list[CaseOutcome] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def first_problem(self) -> CaseOutcome | None:
        return next((o for o in self.outcomes if o.status != "pass"), None)

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
    Records pass/fail in the progress file beside the notebook unless ``record=False``.
    """
    ex = get(exercise_id)
    rng = np.random.default_rng(seed if seed is not None else _default_seed(exercise_id))
    outcomes: list[CaseOutcome] = []
    try:
        cases = ex.cases(rng)
    except Exception as exc:  # a bug in the checker itself must still read as a clear message
        raise RuntimeError(f"the checker for exercise {exercise_id} could not build its cases: {exc!r}") from exc
    for case in cases:
        kind, value = run_case(ex, obj, case)
        outcome = judge(ex, case, kind, value)
        outcomes.append(outcome)
        if outcome.status != "pass":
            break
    if len(outcomes) >= 2 and outcomes[-1].status == "fail" and hardcoded(outcomes):
        outcomes[-1].mismatch = Mismatch(outcomes[-1].mismatch.message, hints.HARDCODED)
    status = next((o.status for o in outcomes if o.status != "pass"), "pass")
    result = CheckResult(ex, status, outcomes)
    if record:
        from .progress import record_result

        record_result(ex, status)
    if status in ("fail", "error") and os.environ.get("BACKPROP_LAB_STRICT") == "1":
        raise CheckFailed(repr(result))
    return result


def _default_seed(exercise_id: str) -> int:
    return int(exercise_id.replace(".", "")) + 1234


# ----------------------------------------------------------------------------- switch

def use(mine: Callable | type | None, reference: Any, exercise: str, *, mode: str | None = None) -> Any:
    """Pick the learner's implementation or the engine's reference for the rest of a notebook.

    ``mode`` is "mine" or "reference" (default: the ``BACKPROP_LAB_USE`` environment variable,
    else "reference"). "mine" is honoured only when ``mine`` passes ``check(exercise)``; otherwise
    the reference is used and the reason printed, so later cells always run.
    """
    mode = (mode or os.environ.get("BACKPROP_LAB_USE", "reference")).lower()
    if mode not in ("mine", "reference"):
        raise ValueError(f"use(..., mode={mode!r}): mode must be 'mine' or 'reference'")
    if mode == "reference" or mine is None:
        print(f"Using the reference implementation for exercise {exercise}.")
        return reference
    result = check(exercise, mine, record=False)
    if result.passed:
        print(f"Using YOUR implementation from exercise {exercise} (it passes the check).")
        return mine
    print(f"Your implementation for exercise {exercise} does not pass its check yet ({result.status}); "
          "using the reference so the notebook keeps working.", file=sys.stderr)
    return reference
