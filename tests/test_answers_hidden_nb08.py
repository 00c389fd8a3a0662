"""Notebook 08 shows no exercise's answer before the learner has tried (issue 15, section 1).

Code patterns of each solution (tests/answer_scan.py) must not appear before the check, in the task or in a
hint. 08.4's answer is an order of five calls: the prose may name each tool and what it does, but no cell
before the check may run them as a training step, and no task or hint may list them in order.
"""
import re

from answer_scan import exercises, hint_strings, leaks, notebook, squash, task_leaks
from backprop_lab.exercises import hints, nb08

KEY_EXPRESSIONS = {
    "08.1": [r"reshape\(len\(images\),-1\)", r"np\.divide\(images", r"astype\(np\.float32\)/255", r"/255,dtype="],
    "08.2": [r"rng\.permutation\(n\)", r"range\(0,n,batch_size\)", r"order\[start:start\+batch_size\]",
             r"order\[i:i\+batch_size\]"],
    "08.3": [r"argmax\(axis=1\)", r"\.argmax\(1\)"],
    "08.4": [r"zero_grad\(\)logits=", r"zero_grad\(\)loss=", r"backward\(\)optimizer\.step\(\)", r"zerograd,forward",
             r"zero_grad→forward", r"zerograd→forward"],
}


def test_every_exercise_has_key_expressions():
    assert set(exercises(notebook("08"))) == set(KEY_EXPRESSIONS)


def test_the_key_expressions_are_the_solutions():
    solved = notebook("08", folder="solutions")
    for xid, (index, _, _) in exercises(solved).items():
        assert any(re.search(rx, squash(solved.cells[index].source)) for rx in KEY_EXPRESSIONS[xid]), xid


def test_no_answer_before_the_check_in_the_task_or_in_a_hint():
    assert leaks(notebook("08"), KEY_EXPRESSIONS, hint_strings(nb08, hints)) == []


def test_no_cell_before_08_4_runs_a_training_step():
    nb = notebook("08")
    _, check_at, _ = exercises(nb)["08.4"]
    for cell in nb.cells[:check_at]:
        if cell.cell_type == "code":
            assert not (".backward()" in cell.source and ".step()" in cell.source), cell.source[:200]


def test_the_scan_finds_the_old_tasks():
    """The tasks 08.2 and 08.4 had before issue 15 are found."""
    old_08_2 = "yield index arrays for one epoch: one rng.permutation(n), cut into batches, the short last one kept"
    old_08_4 = "for each (x, y) batch: zero grad, forward, loss, backward, step; return the losses as floats"
    assert task_leaks(notebook("08"), "08.2", old_08_2, KEY_EXPRESSIONS)
    assert task_leaks(notebook("08"), "08.4", old_08_4, KEY_EXPRESSIONS)
