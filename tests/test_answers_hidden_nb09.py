"""Notebook 09, the debugging lab, shows neither its bugs nor their fixes before the learner has tried (issue 15,
sections 1 and 5).

The lab's code carries no comment that could point at a bug; no cell before a part's check, no task and no hint
holds the code that fixes it (tests/answer_scan.py); what each bug was is told only in collapsed <details> blocks.
"""
import re

from answer_scan import exercises, hint_strings, leaks, notebook, squash, task_leaks
from backprop_lab.exercises import hints, nb09

KEY_EXPRESSIONS = {
    "09.1": [r"unbroadcast\(g", r"parent\.grad\+g", r"topo_sort\(loss\)", r"parent\.grad\+=g"],
    "09.2": [r"1-y\*y", r"y=np\.tanh\(z\)", r"logits-logits\.max\(axis=1,keepdims=True\)", r"z-z\.max\(axis=1"],
    "09.3": [r"np\.sqrt\(2\.0/n_in\)", r"np\.sqrt\(6\.0/\(n_in\+n_out\)\)", r"sqrt\(6/\(n_in\+n_out\)\)",
             r"sqrt\(2/n_in\)"],
    "09.4": [r"p\.grad=None", r"\.zero_grad\(\)forx", r"forpinnet\.parameters\(\):p\.grad"],
}
# what the bugs are, in words: said only inside <details>, after the last check
BUG_WORDS = [r"tanh`?wroteitsresultintoitsinput", r"onlytheshareh?andedoverlastsurvived", r"recursion\.\*\*`visit`",
             r"nothingclearedthegradientsbetweensteps", r"exponentiatedrawlogits", r"standardnormalweights,whatever"]


def test_every_exercise_has_key_expressions():
    assert set(exercises(notebook("09"))) == set(KEY_EXPRESSIONS)


def test_the_key_expressions_are_the_solutions():
    solved = notebook("09", folder="solutions")
    for xid, (index, _, _) in exercises(solved).items():
        assert any(re.search(rx, squash(solved.cells[index].source)) for rx in KEY_EXPRESSIONS[xid]), xid


def test_no_fix_before_the_check_in_the_task_or_in_a_hint():
    assert leaks(notebook("09"), KEY_EXPRESSIONS, hint_strings(nb09, hints)) == []


def test_the_lab_code_has_no_comments():
    """A comment in the lab is where a label would go ("# saves memory", "# bug?"): there is none."""
    lab = [c.source for c in notebook("09").cells if "lab" in c.metadata.get("tags", [])]
    assert len(lab) == 5
    for source in lab:
        assert not re.search(r"(^|\s)#", source), source[:200]


def test_the_bugs_are_explained_only_in_collapsed_blocks_after_the_checks():
    nb = notebook("09")
    last_check = max(check_at for _, check_at, _ in exercises(nb).values())
    details = re.compile(r"<details>.*?</details>", re.S)
    for i, cell in enumerate(nb.cells):
        text = squash(details.sub("", cell.source)).lower()
        for rx in BUG_WORDS:
            assert not re.search(rx.lower(), text), (i, rx)
    explained = squash("".join(c.source for c in nb.cells[last_check:] if c.cell_type == "markdown")).lower()
    assert all(re.search(rx.lower(), explained) for rx in BUG_WORDS)


def test_the_scan_finds_a_labelling_task():
    labelled = "add each input's share to its .grad with +=, instead of overwriting it: parent.grad + g"
    assert task_leaks(notebook("09"), "09.1", labelled, KEY_EXPRESSIONS)
