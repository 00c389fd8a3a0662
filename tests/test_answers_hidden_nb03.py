"""Notebook 03 shows no exercise's answer before the learner has tried (issue 15, section 1).

The key expressions of each solution, as regular expressions on text without whitespace (tests/answer_scan.py):
none may appear before the exercise's check, in its task, or in any hint; 03.4's two numbers are not printed after
it, and its worked answer stays inside a collapsed <details> block.
"""
import copy

import pytest

from answer_scan import exercises, hint_strings, leaks, notebook, shown_values, task_leaks
from backprop_lab.exercises import hints, nb03

KEY_EXPRESSIONS = {
    "03.1": [r"z=z\+w\w*(\[i\])?\*x", r"\+=w\w*(\[i\])?\*x", r"sum\(wi\*xi", r"sum\(w\[i\]\*x\[i\]", r"\(z\+b\)\.tanh\(\)",
             r"z\.tanh\(\)", r"\+b\)\.tanh\(\)", r"sum_of_products"],
    "03.2": [r"\.extend\(neuron\.w\)", r"neuron\.w\+\[neuron\.b\]", r"forneuroninlayer\.neurons",
             r"forlayerinmodel\.layers"],
    "03.3": [r"p\.data-=lr\*p\.grad", r"p\.data=p\.data-lr\*p\.grad", r"p\.grad=0", r"returnloss\.data",
             r"zeroeveryp\.grad", r"zerothegradients"],
    "03.4": [r"1/\(2c\)", r"1/\(2\*c\)", r"1-2c", r"1-2\*c", r"lr_one_step=0\.2", r"lr_diverge=0\.4", r"2c\\?,?\(w-w",
             r"lr>1/c", r"lr·2c=1"],
}
# 03.4's answers, 0.2 and 0.4, as printed numbers
ANSWER_03_4 = [r"(?<![\d.])0\.2(?:0*)(?![\d])", r"(?<![\d.])0\.4(?:0*)(?![\d])"]


def test_every_exercise_has_key_expressions():
    assert set(exercises(notebook("03"))) == set(KEY_EXPRESSIONS)


def test_no_answer_before_the_check_in_the_task_or_in_a_hint():
    assert leaks(notebook("03"), KEY_EXPRESSIONS, hint_strings(nb03, hints)) == []


def test_the_learning_rates_of_03_4_are_not_shown_after_it():
    """The executed instructor notebook prints neither 0.2 nor 0.4 after 03.4; the worked answer is collapsed."""
    assert shown_values(notebook("03", folder="solutions"), "03.4", ANSWER_03_4) == []


@pytest.mark.parametrize("where", ["task", "hint"])
def test_the_scan_finds_an_answer_put_back(where):
    """The scan is not vacuous: the old task of 03.3, and its recipe in a hint, are found."""
    old = "zero every p.grad, loss = loss_fn(), loss.backward(), p.data -= lr * p.grad; return loss.data"
    if where == "task":
        assert task_leaks(notebook("03"), "03.3", old, KEY_EXPRESSIONS)
    else:
        found = leaks(copy.deepcopy(notebook("03")), KEY_EXPRESSIONS, [("a hint", old)])
        assert found and all(f.startswith("03.3") for f in found)
