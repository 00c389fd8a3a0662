"""Authoring: one hand-edited source per notebook, `backprop-lab build`, and an instructor's own exercise.

Each test works on a copy of the repository in a temporary folder (the package, solutions/, course/), so
that the real sources are never touched; builds run in a subprocess with that copy first on the path.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent

TINY = textwrap.dedent('''\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      display_name: Python 3 (ipykernel)
      language: python
      name: python3
    ---

    # 98 · A tiny notebook

    Some prose.

    ```{code-cell} ipython3
    x = 1
    ```

    ```{code-cell} ipython3
    y = x + 1
    ```
    ''')

NEW_EXERCISE = textwrap.dedent('''
    ### Exercise {nn}.9: a cube

    Write `cube(x)`.

    ```{{code-cell}} ipython3
    ---
    backprop_lab:
      check: CubeCheck
      id: '{nn}.9'
      points: 2
      task: return x cubed
    tags: [exercise]
    ---
    def cube(x):
        """x to the power 3."""
        ### BEGIN SOLUTION
        return x * x * x
        ### END SOLUTION
    ```

    ```{{code-cell}} ipython3
    ### BEGIN HIDDEN TESTS
    from backprop_lab.exercises import Exercise, Mismatch


    class CubeCheck(Exercise):
        def cases(self, rng):
            return [{{"x": 2.0}}] + [{{"x": float(rng.normal())}} for _ in range(3)]

        def run(self, obj, case):
            return float(obj(case["x"]))

        def compare(self, got, want, case):
            if abs(got - want) < 1e-9:
                return None
            if abs(got - case["x"] ** 2) < 1e-9:
                return Mismatch(f"expected {{want}}, received {{got}}", "You squared x: a cube multiplies x three times.")
            return Mismatch(f"expected {{want}}, received {{got}}", "That is not x cubed.")
    ### END HIDDEN TESTS
    ```

    ```{{code-cell}} ipython3
    check("{nn}.9", cube)
    ```
    ''')


def copy_repo(dest: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    for name in ("backprop_lab", "solutions", "course"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def run_in(repo: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """``python -m backprop_lab.cli ARGS`` (or ``python -c CODE`` for args[0] == "-c") with the copy first on the path."""
    env = dict(os.environ, PYTHONPATH=str(repo), PYTHONDONTWRITEBYTECODE="1")
    env.pop("BACKPROP_LAB_STRICT", None)
    cmd = [sys.executable, *args] if args[0] == "-c" else [sys.executable, "-m", "backprop_lab.cli", *args]
    return subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)


def snapshot(repo: Path) -> dict[str, str]:
    return {str(p.relative_to(repo)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(repo.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture
def tiny_repo(tmp_path):
    """A copy of the package with one small notebook in solutions/ (nothing else)."""
    repo = copy_repo(tmp_path / "repo")
    shutil.rmtree(repo / "solutions")
    shutil.rmtree(repo / "course")
    (repo / "solutions").mkdir()
    shutil.copy(ROOT / "solutions" / "jupytext.toml", repo / "solutions" / "jupytext.toml")
    (repo / "solutions" / "98_tiny.md").write_text(TINY)
    for p in (repo / "backprop_lab" / "course_notebooks").glob("*.ipynb"):
        p.unlink()
    for p in (repo / "backprop_lab" / "references").glob("nb*.py"):
        p.unlink()
    return repo


def built(repo: Path, *args: str) -> subprocess.CompletedProcess:
    run = run_in(repo, "build", *args)
    assert run.returncode == 0, run.stdout + run.stderr
    return run


def test_build_twice_in_a_row_changes_nothing(tiny_repo):
    built(tiny_repo)
    first = snapshot(tiny_repo)
    assert (tiny_repo / "solutions" / "98_tiny.ipynb").exists() and (tiny_repo / "course" / "98_tiny.ipynb").exists()
    built(tiny_repo)
    assert snapshot(tiny_repo) == first
    assert "everything was up to date" in run_in(tiny_repo, "build").stdout
    assert run_in(tiny_repo, "build", "--check").returncode == 0


def test_an_edit_of_either_form_survives_the_build(tiny_repo):
    built(tiny_repo)
    md, ipynb = tiny_repo / "solutions" / "98_tiny.md", tiny_repo / "solutions" / "98_tiny.ipynb"
    # the text form, as in an editor
    md.write_text(md.read_text().replace("y = x + 1", "y = x + 2"))
    assert run_in(tiny_repo, "build", "--check").returncode == 1
    built(tiny_repo)
    assert "y = x + 2" in [c.source for c in nbformat.read(str(ipynb), as_version=4).cells][-1]
    # the notebook form, as JupyterLab without the jupytext extension saves it
    nb = nbformat.read(str(ipynb), as_version=4)
    nb.cells[-1].source = "y = x + 3"
    nbformat.write(nb, str(ipynb))
    built(tiny_repo)
    assert "y = x + 3" in md.read_text() and "y = x + 2" not in md.read_text()
    assert "y = x + 3" in nbformat.read(str(tiny_repo / "course" / "98_tiny.ipynb"), as_version=4).cells[-1].source


def test_both_forms_edited_stops_the_build_and_loses_nothing(tiny_repo):
    built(tiny_repo)
    md, ipynb = tiny_repo / "solutions" / "98_tiny.md", tiny_repo / "solutions" / "98_tiny.ipynb"
    md.write_text(md.read_text().replace("y = x + 1", "y = 'from the md'"))
    nb = nbformat.read(str(ipynb), as_version=4)
    nb.cells[-1].source = "y = 'from the ipynb'"
    nbformat.write(nb, str(ipynb))
    before = snapshot(tiny_repo)
    run = run_in(tiny_repo, "build")
    assert run.returncode == 1 and "both edited" in run.stderr and "--take" in run.stderr
    assert snapshot(tiny_repo) == before
    built(tiny_repo, "--take", "ipynb")
    assert "from the ipynb" in md.read_text()


def test_cell_ids_are_stable_when_a_cell_is_inserted(tiny_repo):
    built(tiny_repo)
    ipynb = tiny_repo / "solutions" / "98_tiny.ipynb"
    before = [(c.id, c.source) for c in nbformat.read(str(ipynb), as_version=4).cells]
    md = tiny_repo / "solutions" / "98_tiny.md"
    md.write_text(md.read_text().replace("Some prose.\n", "Some prose.\n\n```{code-cell} ipython3\nz = 0\n```\n"))
    built(tiny_repo)
    after = [(c.id, c.source) for c in nbformat.read(str(ipynb), as_version=4).cells]
    assert len(after) == len(before) + 1
    assert [a for a in after if a[1] != "z = 0"] == before


def test_a_bad_exercise_stops_the_build_with_its_cell(tiny_repo):
    built(tiny_repo)
    md = tiny_repo / "solutions" / "98_tiny.md"
    md.write_text(md.read_text() + "\n```{code-cell} ipython3\nv = None\n### BEGIN SOLUTION\nv = 3\n### END SOLUTION\n```\n")
    run = run_in(tiny_repo, "build")
    assert run.returncode == 1 and "98_tiny.md, cell" in run.stderr and "not an exercise" in run.stderr


@pytest.mark.timeout(600)
def test_an_instructor_adds_an_exercise_and_grades_it(tmp_path):
    """A new exercise and its check, written in the notebook's source; build; the learner's check() accepts the
    solution and names the mistake of a wrong answer; the grader gives full marks and zero."""
    repo = copy_repo(tmp_path / "repo")
    md = repo / "solutions" / "00_start_here.md"
    md.write_text(md.read_text() + NEW_EXERCISE.format(nn="00"))
    run = built(repo, "00")
    assert "00_start_here: executed" in run.stdout

    hidden = (repo / "backprop_lab" / "exercises" / "hidden" / "nb00.py").read_text()
    assert "class CubeCheck" in hidden and "Do not edit" in hidden
    assert "return x * x * x" in (repo / "backprop_lab" / "references" / "nb00.py").read_text()
    course = nbformat.read(str(repo / "course" / "00_start_here.ipynb"), as_version=4)
    student = "\n".join(c.source for c in course.cells)
    assert "CubeCheck" not in student and "x * x * x" not in student
    assert 'raise NotImplementedError("Exercise 00.9: return x cubed")' in student

    code = textwrap.dedent('''
        from backprop_lab.exercises import check
        right = check("00.9", lambda x: x ** 3, record=False)
        wrong = check("00.9", lambda x: x ** 2, record=False)
        print(right.status, wrong.status, "|", wrong.hint)
        ''')
    run = run_in(repo, "-c", code)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "pass fail | You squared x: a cube multiplies x three times."

    subs = tmp_path / "submissions"
    for student_name, body in [("alice", "    return x ** 3"), ("bob", "    return x ** 2")]:
        nb = nbformat.read(str(repo / "course" / "00_start_here.ipynb"), as_version=4)
        cell = next(c for c in nb.cells if c.get("id") == "ex-00-9")
        cell.source = cell.source.replace('    raise NotImplementedError("Exercise 00.9: return x cubed")', body)
        (subs / student_name).mkdir(parents=True)
        nbformat.write(nb, str(subs / student_name / "00_start_here.ipynb"))
    run = run_in(repo, "grade", str(subs), "--out", str(tmp_path / "results"), "--course", str(repo / "course"),
                 "-j", "2", timeout=400)
    assert run.returncode == 0, run.stdout + run.stderr
    rows = json.loads((tmp_path / "results" / "results.json").read_text())
    points = {(r["student"], x["id"]): x["points"] for r in rows["results"] for x in r["exercises"]}
    assert points[("alice", "00.9")] == 2 and points[("bob", "00.9")] == 0
