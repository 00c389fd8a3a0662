"""Every hint a check gives is a named template, so the class report counts each mistake under one name.

The class report (``backprop_lab.grading.class_report``) names a mistake by the template its hint came from
(``backprop_lab.grading.mistakes.identify``). A hint written inline in a check has no name: it is counted
under ``unnamed:<digest of its text>``, and a hint filled with a case's shapes gets a new digest for every
case, splitting one mistake into as many rows as there are shapes. These tests run the known-wrong answers
of every notebook's catalogue (tests/test_exercises_nbNN.py) on every case of their check and look the hints
up; a last one reads the checks' source for hints written inline.
"""
import ast
import copy
import importlib
import re
from pathlib import Path

import numpy as np
import pytest

from backprop_lab.exercises import framework, get
from backprop_lab.grading import mistakes

from exercise_helpers import lenient  # noqa: F401  (lenient: autouse fixture)

NOTEBOOKS = [f"{i:02d}" for i in range(10)]
CHECKS = Path(framework.__file__).parent


def catalogue_answers(nb: str) -> list[tuple[str, str, object]]:
    """``(exercise id, name, wrong answer)`` for every entry of the catalogues of tests/test_exercises_nb{nb}.py.

    A catalogue is a module-level dict named ``..._WRONG`` (or ``..._ERRORS``) whose entries hold the wrong answer
    first; its exercise is the one id its parametrised test checks, or the id its keys start with ("04.1 ...").
    """
    module = importlib.import_module(f"test_exercises_nb{nb}")
    source = Path(module.__file__).read_text()
    found = []
    for name, table in vars(module).items():
        if not (name.endswith("_WRONG") or name.endswith("_ERRORS")) or not isinstance(table, dict):
            continue
        ids = set()
        for test in re.finditer(r"\ndef test_\w+\(.*?\):\n((?:    .*\n|\n)+)", source):
            if f"{name}[" in test.group(1):
                ids |= set(re.findall(r"[\"'](\d\d\.\d+)[\"']", test.group(1)))
        for key, entry in table.items():
            answer = entry[0] if isinstance(entry, tuple) else entry
            own = re.match(r"(\d\d\.\d+)\b", str(key))
            exercise = own.group(1) if own else (next(iter(ids)) if len(ids) == 1 else None)
            if exercise is not None and exercise.startswith(nb + "."):
                found.append((exercise, f"{name}[{key!r}]", answer))
    return found


def hints_per_case(exercise: str, answer, seed: int = 0) -> list[tuple[str, str]]:
    """``(kind, hint)`` of every case of ``exercise`` the wrong ``answer`` fails: kind "fail" for the hint of a wrong
    answer (what the class report counts), "error" for the hint under the traceback of an error it raised."""
    ex = get(exercise)
    out = []
    for case in ex.cases(np.random.default_rng(seed)):
        outcome = framework.judge(ex, case, *framework.run_case(ex, copy.deepcopy(answer), case))
        if outcome.status == "fail" and outcome.mismatch is not None and outcome.mismatch.hint:
            out.append(("fail", outcome.mismatch.hint))
        elif outcome.status == "error" and "Hint: " in outcome.error:
            out.append(("error", outcome.error.rsplit("Hint: ", 1)[1].strip()))
    return out


def _masked(text: str) -> str:
    """The hint with its case's numbers and shapes masked: equal for the same mistake on two cases."""
    return re.sub(r"\d+(\.\d+)?(e-?\d+)?", "#", text)


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_every_hint_of_a_known_wrong_answer_has_a_name_the_same_on_every_case(nb):
    answers = catalogue_answers(nb)
    assert len(answers) >= 10, f"notebook {nb}: only {len(answers)} catalogued wrong answers found"
    unnamed, split, seen, varied = [], [], 0, 0
    for exercise, name, answer in answers:
        module = type(get(exercise)).__module__
        keys: dict[str, set] = {}
        texts: dict[str, set] = {}
        for kind, hint in hints_per_case(exercise, answer):
            key, _ = mistakes.identify(hint, [module])
            seen += 1
            if key.startswith("unnamed:"):
                unnamed.append(f"{exercise} {name} ({kind}): {hint}")
            keys.setdefault(_masked(hint), set()).add(key)
            texts.setdefault(_masked(hint), set()).add(hint)
        for masked, found in keys.items():
            varied += len(texts[masked]) > 1
            if len(found) > 1:
                split.append(f"{exercise} {name}: {sorted(found)} for {sorted(texts[masked])}")
    assert seen >= 10, f"notebook {nb}: only {seen} hints seen"
    assert not unnamed, "hints with no template (counted as unnamed:<digest>):\n" + "\n".join(unnamed)
    assert not split, "one mistake named differently on different cases:\n" + "\n".join(split)
    if nb in ("04", "05"):     # the notebooks whose hints quote the case's shapes: the property is not vacuous there
        assert varied >= 3, f"notebook {nb}: only {varied} mistakes seen with case-dependent text"


def test_a_hint_filled_with_two_cases_shapes_is_one_mistake():
    """The example of the task: unbroadcast that keeps the leading axes, on two cases of different shapes."""
    def keeps_leading_axes(grad, shape):
        return grad.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True) if shape else grad

    found = {}
    for kind, hint in hints_per_case("04.3", keeps_leading_axes):
        if "leading ax" in hint:
            found[hint] = mistakes.identify(hint, ["backprop_lab.exercises.nb04"])[0]
    assert len(found) >= 2, found      # two different texts ...
    assert {k.split("[")[0] for k in found.values()} == {"nb04.UNBROADCAST_HINTS"}, found
    plural = {h: k for h, k in found.items() if "leading axes are" in h}
    assert len(plural) >= 1 and all(k == "nb04.UNBROADCAST_HINTS[leading_axes_kept]" for k in plural.values()), found


# ----------------------------------------------------------------------------- the source: no hint written inline

HINT_ARGUMENT = {"Mismatch": (1, "hint"), "_add_hint": (1, "hint"), "expect_tuple": (2, "hint"),
                 "plain_value_hint": (1, "fallback"), "DriverError": (0, None)}


def _inline_text(node: ast.AST) -> bool:
    """True when ``node`` writes hint text itself: a string literal or f-string with words in it (not a key such as
    "by_256"), maybe joined to others."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and " " in node.value.strip() and sum(c.isalpha() for c in node.value) >= 4
    if isinstance(node, ast.JoinedStr):
        return any(_inline_text(v) for v in node.values)
    if isinstance(node, ast.BinOp):
        return _inline_text(node.left) or _inline_text(node.right)
    if isinstance(node, (ast.IfExp, ast.BoolOp)):
        return any(_inline_text(v) for v in ([node.body, node.orelse] if isinstance(node, ast.IfExp) else node.values))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _inline_text(node.func.value)
    return False


def _call_name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def inline_hints(source: str) -> list[int]:
    """Lines where a check writes a hint inline: the hint argument of ``Mismatch``, ``_add_hint``, ``expect_tuple``,
    ``plain_value_hint`` or ``DriverError``; a value returned by ``error_hint``; a ``hint`` variable or attribute
    given text; the first item of a ``(hint, wrong answer)`` pair of suspects."""
    lines = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _call_name(node) in HINT_ARGUMENT:
            pos, kw = HINT_ARGUMENT[_call_name(node)]
            args = node.args[pos:pos + 1] + [k.value for k in node.keywords if k.arg == kw]
            lines.update(a.lineno for a in args if _inline_text(a))
        elif isinstance(node, ast.FunctionDef) and node.name.endswith("_hint"):
            lines.update(r.lineno for r in ast.walk(node) if isinstance(r, ast.Return) and r.value is not None
                         and _inline_text(r.value))
        elif isinstance(node, ast.Assign) and _inline_text(node.value) and any(
                (t.id if isinstance(t, ast.Name) else t.attr if isinstance(t, ast.Attribute) else "") in ("hint", "how")
                for t in node.targets):
            lines.add(node.lineno)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id.endswith(("suspects", "variants",
                                                                                             "alternatives"))
                                                  for t in node.targets):
            for pair in ast.walk(node.value):
                if isinstance(pair, ast.Tuple) and len(pair.elts) == 2 and any(_inline_text(e) for e in pair.elts):
                    lines.add(pair.lineno)
    return sorted(lines)


def test_the_checks_write_no_hint_inline():
    found = {}
    for path in [CHECKS / "hints.py"] + sorted(CHECKS.glob("nb0*.py")):
        lines = inline_hints(path.read_text())
        if lines:
            found[path.name] = lines
    assert not found, (f"hints written inline (give each a name: an upper-case constant or an entry of the module's "
                       f"hint table, filled with .format): {found}")


def test_the_source_scan_sees_an_inline_hint():
    source = '''
def compare(self, got, want, case):
    if got is None:
        return Mismatch("no answer", f"The {len(case)} leading axes are still there.")
    hint = hint or "Each parameter should move by -lr times the gradient."
    suspects = [(f"{twice}. Your dx is only the first term.", A @ x)]
    return Mismatch(msg, HINTS["named"].format(n=3))
'''
    assert inline_hints(source) == [4, 5, 6]
