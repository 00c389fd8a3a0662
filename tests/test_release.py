"""The release step of `backprop-lab build` (solutions/ -> course/), on the demo pair in tests/fixtures/."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from backprop_lab import release
from backprop_lab.release import ReleaseError

FIXTURES = Path(__file__).parent / "fixtures"
DEMO = "99_demo.ipynb"


def cells_of(data: bytes):
    return nbformat.reads(data.decode("utf-8"), as_version=4).cells


def make_notebook(path: Path, *sources, cell_type="code", meta=None):
    cells = []
    for i, src in enumerate(sources):
        cell = nbformat.v4.new_code_cell(src) if cell_type == "code" else nbformat.v4.new_markdown_cell(src)
        default = {"backprop_lab": {"id": "99.1", "points": 1, "task": "do it"}}
        cell.metadata.update(meta if meta is not None else default)
        cell["id"] = f"c{i}"
        cells.append(cell)
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    return path


@pytest.fixture
def demo_source(tmp_path):
    src = tmp_path / "solutions"
    src.mkdir()
    shutil.copy(FIXTURES / "solutions" / DEMO, src / DEMO)
    return src


def test_demo_release_matches_the_golden_file():
    """The checked-in fixtures/course is exactly what release makes of fixtures/solutions."""
    out = release.build(FIXTURES / "solutions")
    assert list(out) == [DEMO]
    assert out[DEMO] == (FIXTURES / "course" / DEMO).read_bytes()


def test_release_is_byte_identical_on_rerun(demo_source, tmp_path):
    dest = tmp_path / "course"
    first = release.release(demo_source, dest)
    data = (dest / DEMO).read_bytes()
    second = release.release(demo_source, dest)
    assert (dest / DEMO).read_bytes() == data
    assert first[str(dest)]["written"] == [DEMO]
    assert second[str(dest)]["written"] == []  # nothing rewritten: mtimes stay
    assert sorted(p.name for p in dest.iterdir()) == [DEMO]  # no temporary files left behind
    assert data.endswith(b"}\n") and json.loads(data)  # nbformat's JSON plus a final newline


def test_student_notebook_content():
    cells = cells_of(release.build(FIXTURES / "solutions")[DEMO])
    src = nbformat.read(str(FIXTURES / "solutions" / DEMO), as_version=4)
    # no banner for learners ("generated, changes are overwritten" is for course authors: CONTRIBUTING.md)
    assert "generated" not in cells[0].source.lower()
    by_id = {c.id: c for c in cells}
    # ids come from the source cells
    assert [c.id for c in cells] == [c.id for c in src.cells if "HIDDEN" not in c.source]

    func = by_id["demo-2"]
    assert func.source.splitlines() == [
        "def mul_backward(a, b, grad_out):",
        '    """Return (grad_a, grad_b) for out = a * b."""',
        '    raise NotImplementedError("Exercise 99.1: return the gradients of a and b")',
    ]
    assert func.metadata == {"backprop_lab": {"id": "99.1", "points": 2, "task": "return the gradients of a and b"},
                             "tags": ["exercise"]}  # instructor-only "note" dropped; no raises-exception tag

    value = by_id["demo-4"]   # a column-0 region: a quiet comment, so Run All shows no traceback
    assert value.source.splitlines() == ["learning_rate = None", "# Exercise 99.2: set learning_rate",
                                         "# (your code here)"]
    assert value.metadata["tags"] == ["exercise"]

    free_text = by_id["demo-6"]
    assert "chain rule adds" not in free_text.source and release.ANSWER_PROMPT in free_text.source
    assert "Why does a value used twice" in free_text.source

    everything = "\n".join(c.source for c in cells)
    assert "BEGIN" not in everything and "END SOLUTION" not in everything
    assert "assert mul_backward" not in everything  # the hidden-tests cell is gone
    assert "grad_out * b" not in everything and "learning_rate = 0.1" not in everything

    for c in cells:
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None
            assert set(c.metadata) <= {"tags", "backprop_lab", "editable", "deletable", "jupyter"}
    assert by_id["demo-1"].metadata == {}  # collapsed, scrolled, ExecuteTime dropped
    nb = nbformat.reads(release.build(FIXTURES / "solutions")[DEMO].decode(), as_version=4)
    assert set(nb.metadata) == {"kernelspec", "language_info", "backprop_lab"}  # widget state dropped
    assert nb.metadata["backprop_lab"] == {"generated_from": "solutions/99_demo.ipynb"}
    nbformat.validate(nb)


def test_student_notebook_runs_top_to_bottom(monkeypatch, tmp_path):
    """The course version runs in a fresh kernel without an error, and every check says 'not done yet'."""
    from nbclient import NotebookClient

    monkeypatch.setenv("BACKPROP_LAB_PROGRESS", str(tmp_path / "progress.json"))
    nb = nbformat.read(str(FIXTURES / "course" / DEMO), as_version=4)
    NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    by_id = {c.id: c for c in nb.cells}
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    for cid in ("demo-3", "demo-5"):
        text = by_id[cid].outputs[0]["data"]["text/plain"]
        assert "not done yet" in text
    progress = json.loads((tmp_path / "progress.json").read_text())
    assert {k: v["status"] for k, v in progress["exercises"].items()} == {"99.1": "todo", "99.2": "todo"}


@pytest.mark.parametrize("source, line, words", [
    ("x = 1\n### BEGIN SOLUTION\nx = 2\n", 2, "never closed"),
    ("x = 1\n### END SOLUTION\n", 2, "without a matching BEGIN"),
    ("### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n### END SOLUTION", 2, "nested"),
    ("### BEGIN SOLUTION\nx = 2\n### END HIDDEN TESTS", 3, "closes the solution region"),
    ("x = 1\n\n### BEGIN SOLUTIONS\nx = 2\n### END SOLUTIONS", 3, "unknown marker"),
    ("    # begin solution\n", 1, "unknown marker"),
    ("## BEGIN SOLUTION\nx = 2\n## END SOLUTION", 1, "unknown marker"),
])
def test_bad_markers_name_notebook_cell_and_line(tmp_path, source, line, words):
    src = tmp_path / "solutions"
    src.mkdir()
    make_notebook(src / "01_ok.ipynb", "x = 1")
    make_notebook(src / "02_bad.ipynb", "y = 0", source)
    dest = tmp_path / "course"
    with pytest.raises(ReleaseError) as info:
        release.release(src, dest)
    msg = str(info.value)
    assert "solutions/02_bad.ipynb" in msg and "cell 1" in msg and f"line {line}" in msg and words in msg
    assert not dest.exists()  # nothing written, not even the good notebook


def test_solution_region_needs_an_exercise_id(tmp_path):
    src = tmp_path / "solutions"
    src.mkdir()
    make_notebook(src / "01_x.ipynb", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION", meta={})
    with pytest.raises(ReleaseError, match=r"01_x.ipynb, cell 0, line 1: a solution region .* exercise id"):
        release.build(src)


def test_markers_inside_strings_of_other_cells_are_plain_text(tmp_path):
    """Only whole-line markers count; a mention inside prose or code is left alone."""
    src = tmp_path / "solutions"
    src.mkdir()
    source = 'print("use ### BEGIN SOLUTION markers")\n# End of the example\n### Begin here'
    make_notebook(src / "01_x.ipynb", source, meta={})
    cells = cells_of(release.build(src)["01_x.ipynb"])
    assert cells[0].source == source


def test_missing_or_duplicate_cell_ids_get_stable_ones(tmp_path):
    src = tmp_path / "solutions"
    src.mkdir()
    path = make_notebook(src / "01_x.ipynb", "a = 1", "b = 2", "c = 3", meta={})
    raw = json.loads(path.read_text())
    raw["cells"][1]["id"] = "c0"          # duplicate
    del raw["cells"][2]["id"]             # missing (nbformat 4.4 style)
    raw["nbformat_minor"] = 4
    path.write_text(json.dumps(raw))
    first = release.build(src)["01_x.ipynb"]
    assert first == release.build(src)["01_x.ipynb"]
    ids = [c.id for c in cells_of(first)]
    assert len(set(ids)) == len(ids) and ids[0] == "c0"


def test_stale_generated_notebooks_are_removed_and_other_files_kept(demo_source, tmp_path):
    dest = tmp_path / "course"
    release.release(demo_source, dest)
    shutil.copy(dest / DEMO, dest / "98_old.ipynb")          # generated from a source that is gone
    make_notebook(dest / "my_scratch.ipynb", "x = 1", meta={})  # the user's own notebook
    summary = release.release(demo_source, dest)
    assert summary[str(dest)]["removed"] == ["98_old.ipynb"]
    assert sorted(p.name for p in dest.iterdir()) == [DEMO, "my_scratch.ipynb"]


def test_release_errors_name_the_notebook_and_change_nothing(demo_source, tmp_path):
    dest = tmp_path / "course"
    release.release(demo_source, dest)
    before = (dest / DEMO).read_bytes()
    make_notebook(demo_source / "03_bad.ipynb", "### BEGIN SOLUTION")
    with pytest.raises(ReleaseError, match=r"03_bad.ipynb, cell 0, line 1"):
        release.release(demo_source, dest)
    assert (dest / DEMO).read_bytes() == before and not (dest / "03_bad.ipynb").exists()
    with pytest.raises(ReleaseError, match="no such folder"):
        release.build(tmp_path / "nowhere")


def test_write_is_atomic(tmp_path, monkeypatch):
    """A failure while writing leaves the old file intact and no temporary file behind."""
    target = tmp_path / "a.ipynb"
    target.write_bytes(b"old")

    def boom(src, dst):
        raise OSError("disk full")

    from backprop_lab import atomic

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(OSError):
        atomic.write_atomic(target, b"new")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["a.ipynb"]


def test_nbval_sanitize_file_masks_addresses_sizes_and_timings():
    """The sanitize file the suite passes to nbval (pyproject addopts) parses and leaves numbers alone."""
    import re

    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((Path(__file__).parent / "nbval_sanitize.cfg").read_text())
    text = ("<Figure size 640x480 with 1 Axes> <Value at 0x7f00ab12cd> /tmp/ipykernel_12/345.py "
            "0.52 s per epoch, done in 3.2 s, 9.1it/s; grad 0.25, relative error 1.3e-10")
    for regex, replace in patterns:
        text = re.sub(regex, replace, text)
    assert text == ("<Figure> <Value at 0xADDRESS> <cell> TIME per epoch, done in TIME s, [PROGRESS]; "
                    "grad 0.25, relative error 1.3e-10")


def test_suite_settings_run_the_demo_pair_under_nbval(tmp_path):
    """With the suite's own pytest settings, both demo notebooks pass nbval, and a changed number in a
    cell tagged nbval-check-output fails it (so the tag is live under --nbval-lax)."""
    import re
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    broken = tmp_path / DEMO
    broken.write_text((FIXTURES / "solutions" / DEMO).read_text().replace('"0.5\\n"', '"0.6\\n"'))
    assert broken.read_text() != (FIXTURES / "solutions" / DEMO).read_text()

    cmd = [sys.executable, "-m", "pytest", "-c", str(root / "pyproject.toml"), "--rootdir", str(root), "-n0",
           "-p", "no:randomly", "-rf", FIXTURES / "solutions" / DEMO, FIXTURES / "course" / DEMO, broken]
    run = subprocess.run(list(map(str, cmd)), cwd=root, capture_output=True, text=True, timeout=240)
    failed = [line for line in run.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and "Cell 6" in failed[0] and "fixtures" not in failed[0], run.stdout[-3000:]
    assert "Cell outputs differ" in run.stdout
    assert re.search(r"1 failed, 19 passed", run.stdout), run.stdout[-3000:]  # 7 + 6 + 7 code cells
