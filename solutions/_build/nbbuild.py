"""What every ``build_NN.py`` shares: collect the cells, build the notebook, write it, and run it.

A build script makes one ``Notebook`` and adds its cells in order::

    notebook = Notebook("01", "01_finite_differences.ipynb")
    md, code, exercise = notebook.md, notebook.code, notebook.exercise

    md(r'''# 01 · Finite differences''')
    code(r'''import numpy as np''', tags=CHECKED)
    ...

    if __name__ == "__main__":
        notebook.main(sys.argv[1:])

``python solutions/_build/build_NN.py`` writes the notebook without outputs; ``--execute`` then runs it in a
fresh kernel (cwd solutions/) and saves it with its outputs. Cell ids are fixed ("c01-007"), so a rebuild
changes only what was edited.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SOLUTIONS = Path(__file__).resolve().parent.parent
PROGRESS_FILE = ".backprop_lab_progress.json"

CHECKED = ["nbval-check-output"]   # tag for cells whose saved output nbval compares


class Notebook:
    """The cells of one instructor notebook ``solutions/<filename>``, numbered ``number`` ("00".."09")."""

    def __init__(self, number: str, filename: str):
        self.number = number
        self.target = SOLUTIONS / filename
        self.cells = []

    def md(self, text, **meta):
        self.cells.append(new_markdown_cell(text.strip("\n"), metadata=meta))

    def code(self, text, tags=(), **meta):
        if tags:
            meta["tags"] = list(tags)
        self.cells.append(new_code_cell(text.strip("\n"), metadata=meta))

    def exercise(self, text, ex_id, points, task):
        self.code(text, tags=["exercise"], backprop_lab={"id": ex_id, "points": points, "task": task})

    def build(self) -> nbformat.NotebookNode:
        nb = new_notebook(cells=self.cells, metadata={
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        })
        for i, cell in enumerate(nb.cells):
            cell.id = f"c{self.number}-{i:03d}"
        nbformat.validate(nb)
        return nb

    def write(self) -> Path:
        nbformat.write(self.build(), self.target)
        return self.target

    def execute(self, timeout: int = 120, env: dict | None = None, progress: str = "scratch") -> float:
        """Run the written notebook in a fresh kernel (cwd solutions/) and save it with its outputs; return seconds.

        ``env``: environment variables for the run, unless already set (e.g. ``BACKPROP_LAB_OFFLINE``).
        ``progress``: where the notebook's ``check`` records go. ``"scratch"``: a throw-away file, never
        beside the instructor notebook. ``"beside"``: ``.backprop_lab_progress.json`` beside the notebook, as
        a learner's would, starting from none (an existing one is set aside and put back afterwards), so that
        a progress table in the notebook shows exactly this notebook's checks, whatever ran before.
        """
        from nbclient import NotebookClient

        if progress not in ("scratch", "beside"):
            raise ValueError(f"progress must be 'scratch' or 'beside', not {progress!r}")
        nb = nbformat.read(self.target, as_version=4)
        run_env = {key: value for key, value in (env or {}).items() if key not in os.environ}
        scratch = Path(tempfile.mkdtemp())
        if progress == "scratch":
            run_env["BACKPROP_LAB_PROGRESS"] = str(scratch / PROGRESS_FILE)
            context = _environ(run_env)
        else:
            run_env["BACKPROP_LAB_PROGRESS"] = None
            context = _set_aside(self.target.parent / PROGRESS_FILE, scratch, run_env)
        with context:
            start = time.perf_counter()
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(self.target.parent)}},
                           store_widget_state=True, record_timing=False).execute()
            seconds = time.perf_counter() - start
        shutil.rmtree(scratch, ignore_errors=True)
        nbformat.write(nb, self.target)
        return seconds

    def main(self, argv: list[str], **execute_options) -> None:
        """Write the notebook; with ``--execute`` in ``argv``, run it too (``execute_options`` go to ``execute``)."""
        print(f"wrote {self.write()}")
        if "--execute" in argv:
            print(f"executed and saved with outputs in {self.execute(**execute_options):.1f} s")


@contextmanager
def _environ(changes: dict):
    """Set (or, for None, unset) environment variables for the duration of the block, then restore them."""
    saved = {key: os.environ.get(key) for key in changes}
    try:
        for key, value in changes.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def _set_aside(progress: Path, scratch: Path, changes: dict):
    """Run the block with no ``progress`` file (an existing one waits in ``scratch``) and ``changes`` applied."""
    aside = scratch / progress.name
    if progress.exists():
        shutil.move(progress, aside)
    try:
        with _environ(changes):
            yield
    finally:
        progress.unlink(missing_ok=True)
        if aside.exists():
            shutil.move(aside, progress)
