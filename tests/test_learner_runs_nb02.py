"""Notebook 02 runs on a learner's code whose answers pass but differ from the course's (issue 15, section 3).

The instructor notebook is run by nbval with the course's own answers. Here its topological sort is replaced
by an iterative one (the engine's), a right answer to 02.6 that never raises RecursionError: the section that
measures where recursion gives up must then say so and measure the course's recursive sort instead.
"""
import inspect

import nbformat
import pytest

import backprop_lab as bl
from answer_scan import exercises, notebook


@pytest.mark.timeout(300)
def test_notebook_02_runs_on_an_iterative_topo_sort(tmp_path):
    pytest.importorskip("nbclient")
    from nbclient import NotebookClient

    nb = notebook("02", folder="solutions")
    index, _, _ = exercises(nb)["02.6"]
    nb.cells[index].source = inspect.getsource(bl.autograd.topo_sort)   # `def topo_sort(root) -> list:`
    NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "Using your topo_sort (exercise 02.6 passes its check)." in printed
    assert "it does not recurse." in printed and "Using the course's topo_sort (mode='reference')." in printed
    assert "the recursive sort fails from a chain of" in printed
    assert not any(o.get("output_type") == "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
