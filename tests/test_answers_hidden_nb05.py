"""Notebook 05 shows no exercise's answer before the learner has tried (issue 15, section 1).

The key expressions of each solution, as regular expressions on text without whitespace (tests/answer_scan.py):
none may appear before the exercise's check, in its task, or in any hint; 05.2's second spec is not shown after
it (section 4 reads only the first one off the rule).
"""
import re

import pytest

from answer_scan import exercises, hint_strings, leaks, notebook, printed_by_cell, shown_values, task_leaks
from backprop_lab.exercises import hints, nb05

KEY_EXPRESSIONS = {
    "05.1": [r"ij,jk->ik", r"nij,njk->nik", r"['\"]ij->ji", r"['\"]ii->['\"]", r"['\"]i,j->ij", r"i,ij,j->['\"]",
             r"ntd,nsd->nts"],
    "05.2": [r"ij,ik->jk", r"ik,ij->jk"],
    "05.3": [r"\(A\+A\^\\top\)x", r"\(A\+Aᵀ\)", r"A\+A\.T", r"np\.outer\(x,x\)", r"A_\{kj\}x_j\+x_iA_\{ik\}",
             r"Σ_jA_kjx_j\+Σ_ix_iA_ik", r"einsum\('i,j->ij',x,x\)"],
    "05.4": [r"\",\"\.join\(\[output\]\+others\)", r"np\.broadcast_to\(g\.reshape\(shape\)", r"available=set\(output\)"],
    "05.5": [r"np\.eye\(sizes\[c\]\)", r"fresh=iter\(", r"importstring", r"einsum\('i,iI->iI',g,np\.eye\(n\)\)",
             r"getsource\(operand_grad\)"],
}


def test_every_exercise_has_key_expressions():
    assert set(exercises(notebook("05"))) == set(KEY_EXPRESSIONS)


def learner_facing_strings():
    """The module's strings, less the specs of the 05.4/05.5 cases (a bare spec such as 'ij,jk->ik' is an input
    those checks use, shown with its case after 05.1 is done, not a hint)."""
    bare_spec = re.compile(r"^[a-zA-Z,]*->[a-zA-Z]*$")
    return [(where, text) for where, text in hint_strings(nb05, hints) if not bare_spec.match(text)]


def test_no_answer_before_the_check_in_the_task_or_in_a_hint():
    assert leaks(notebook("05"), KEY_EXPRESSIONS, learner_facing_strings()) == []


def test_the_second_spec_of_05_2_is_not_shown_after_it():
    assert shown_values(notebook("05", folder="solutions"), "05.2", KEY_EXPRESSIONS["05.2"]) == []


@pytest.mark.parametrize("where", ["task", "hint"])
def test_the_scan_finds_an_answer_put_back(where):
    """The scan is not vacuous: the old task of 05.3, and a hint that spells out 05.1's transpose, are found."""
    if where == "task":
        assert task_leaks(notebook("05"), "05.3", "dA = np.outer(x, x); dx = (A + A.T) @ x", KEY_EXPRESSIONS)
    else:
        found = leaks(notebook("05"), KEY_EXPRESSIONS, [("nb05.py", "Say where each index goes: 'ij->ji'.")])
        assert found and all(f.startswith("05.1") for f in found)
