"""Notebook 03 trains on the learner's own MyValue, from the my_value.py that notebook 02 writes.

A learner whose answers pass gets a notebook that runs on their code end to end (issue 15 §3). The
instructor notebook's exercise cells are passing answers, so running it beside a my_value.py plays
exactly that learner: every ``use`` must pick the learner's object, and every cell must run.
"""
import inspect
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_notebook(path: Path, cwd: Path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}},
                   allow_errors=True).execute()
    return nb


def outputs(nb):
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            yield i, out


@pytest.mark.timeout(600)
def test_notebook_03_trains_on_the_learners_my_value(tmp_path, monkeypatch):
    from backprop_lab.references import nb02

    # my_value.py as notebook 02's last section writes it: the class cell and the learner's functions
    (tmp_path / "my_value.py").write_text(inspect.getsource(nb02), encoding="utf-8")
    source = ROOT / "solutions" / "03_scalar_neural_net.ipynb"
    shutil.copy(source, tmp_path / source.name)
    monkeypatch.setenv("BACKPROP_LAB_PROGRESS", str(tmp_path / ".backprop_lab_progress.json"))
    monkeypatch.delenv("BACKPROP_LAB_USE", raising=False)
    nb = run_notebook(tmp_path / source.name, tmp_path)

    errors = [f"cell {i}: {out['ename']}: {out['evalue']}" for i, out in outputs(nb) if out["output_type"] == "error"]
    assert errors == []
    text = "".join(out.get("text", "") for _, out in outputs(nb) if out["output_type"] == "stream")
    assert "Using your MyValue (exercise 02.7 passes its check)." in text
    for name, exercise in [("neuron_forward", "03.1"), ("collect_parameters", "03.2"), ("train_step", "03.3"),
                           ("lr_one_step, lr_diverge", "03.4")]:
        assert f"Using your {name} (exercise {exercise} passes its check)." in text
    assert "80 steps with MyValues" in text               # the training ran on the learner's class
    assert "one training step, scalar MyValues" in text    # and so did the timing
    assert "Using the course's" not in text

