"""The progress file beside the notebooks, and `backprop-lab progress`."""
from __future__ import annotations

import json

import pytest

from backprop_lab import cli
from backprop_lab.exercises import Exercise, framework, check, progress, register


class Double(Exercise):
    id, points, title = "99.7", 3, "double a number"

    def cases(self, rng):
        return [{"x": 1.0}, {"x": float(rng.normal())}]

    def run(self, obj, case):
        return obj(case["x"])

    def expected(self, case):
        return 2 * case["x"]


class Half(Exercise):
    id, points, title = "99.8", 1, "halve a number"

    def cases(self, rng):
        return [{"x": 1.0}]

    def run(self, obj, case):
        return obj(case["x"])

    def expected(self, case):
        return case["x"] / 2


@pytest.fixture(autouse=True)
def exercises(monkeypatch):
    register(Double)
    register(Half)
    monkeypatch.delenv("BACKPROP_LAB_STRICT", raising=False)
    yield
    framework.REGISTRY.pop("99.7", None)
    framework.REGISTRY.pop("99.8", None)


def test_check_writes_the_progress_file_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("BACKPROP_LAB_PROGRESS", raising=False)
    monkeypatch.chdir(tmp_path)
    check("99.7", lambda x: x)            # wrong
    check("99.7", lambda x: 2 * x)        # right
    check("99.7", lambda x: 3 * x)        # wrong again: 'passed' stays true
    data = json.loads((tmp_path / progress.FILENAME).read_text())
    entry = data["exercises"]["99.7"]
    assert data["version"] == 1
    assert entry["status"] == "fail" and entry["passed"] is True and entry["attempts"] == 3
    assert entry["points"] == 3 and entry["title"] == "double a number"
    assert sorted(p.name for p in tmp_path.iterdir()) == [progress.FILENAME]  # no temporary files left
    assert (tmp_path / progress.FILENAME).stat().st_mode & 0o777 == 0o644


def test_record_false_and_off_write_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BACKPROP_LAB_PROGRESS", raising=False)
    check("99.7", lambda x: 2 * x, record=False)
    monkeypatch.setenv("BACKPROP_LAB_PROGRESS", "off")
    check("99.7", lambda x: 2 * x)
    assert list(tmp_path.iterdir()) == []


def test_env_variable_redirects_the_file(tmp_path, monkeypatch):
    target = tmp_path / "elsewhere.json"
    monkeypatch.setenv("BACKPROP_LAB_PROGRESS", str(target))
    check("99.8", lambda x: x / 2)
    assert json.loads(target.read_text())["exercises"]["99.8"]["passed"] is True


def test_corrupt_file_is_ignored_and_replaced(tmp_path, capsys):
    path = tmp_path / progress.FILENAME
    path.write_text("{not json")
    assert progress.load(path)["exercises"] == {}
    assert "ignoring unreadable progress file" in capsys.readouterr().err
    progress.record_result(Double(), "pass", path)
    assert json.loads(path.read_text())["exercises"]["99.7"]["passed"]


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / progress.FILENAME
    progress.record_result(Double(), "pass", path)
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(progress.os, "replace", boom)
    with pytest.raises(OSError):
        progress.record_result(Half(), "pass", path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [progress.FILENAME]


def test_unwritable_folder_does_not_break_check(tmp_path, monkeypatch, capsys):
    (tmp_path / "a-file").write_text("")   # a file where the folder should be: no one can write there, not even root
    monkeypatch.setenv("BACKPROP_LAB_PROGRESS", str(tmp_path / "a-file" / "p.json"))
    result = check("99.7", lambda x: 2 * x)
    assert result.passed and "could not record progress" in capsys.readouterr().err


def test_progress_command_prints_a_table(tmp_path, monkeypatch, capsys):
    (tmp_path / "99_demo.ipynb").write_text("{}")
    path = tmp_path / progress.FILENAME
    progress.record_result(Double(), "pass", path)
    progress.record_result(Half(), "fail", path)
    monkeypatch.setattr(framework, "all_exercises", lambda: {"99.7": Double(), "99.8": Half()})
    assert cli.main(["progress", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("99_demo.ipynb"))
    assert row.split()[1:4] == ["1/2", "3/4", "99.8"]
    assert "total" in out
    assert cli.main(["progress", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["exercises"]["99.7"]["passed"] is True


def test_progress_command_without_a_file_or_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(framework, "all_exercises", lambda: {"99.7": Double()})
    assert cli.main(["progress", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "No progress recorded" in out and "notebook 99" in out and "0/1" in out
    assert cli.main(["progress", str(tmp_path / "nope")]) == 2


def progress_rows(out):
    return {line.split()[0]: line.split()[1:4] for line in out.splitlines() if line.startswith(("99_", "notebook 99"))}


def test_progress_command_honours_the_environment_variable(tmp_path, monkeypatch, capsys):
    """The same file check() records into: $BACKPROP_LAB_PROGRESS when set (issue 18)."""
    path = tmp_path / "elsewhere.json"
    progress.record_result(Double(), "pass", path)
    monkeypatch.setattr(framework, "all_exercises", lambda: {"99.7": Double(), "99.8": Half()})
    monkeypatch.setenv("BACKPROP_LAB_PROGRESS", str(path))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["progress"]) == 0
    out = capsys.readouterr().out
    assert f"Reading {path} (from BACKPROP_LAB_PROGRESS)" in out and "1/2" in out and "3/4" in out
    assert cli.main(["progress", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["exercises"]["99.7"]["passed"] is True
    monkeypatch.setenv("BACKPROP_LAB_PROGRESS", "off")
    assert cli.main(["progress"]) == 0
    assert "recording is off" in capsys.readouterr().out


def test_progress_command_finds_the_folder_start_made(tmp_path, monkeypatch, capsys):
    from backprop_lab import launch

    course = tmp_path / launch.DEFAULT_DIR
    course.mkdir()
    (course / launch.MANIFEST).write_text("{}")
    (course / "99_demo.ipynb").write_text("{}")
    progress.record_result(Double(), "pass", course / progress.FILENAME)
    monkeypatch.setattr(framework, "all_exercises", lambda: {"99.7": Double(), "99.8": Half()})
    monkeypatch.delenv("BACKPROP_LAB_PROGRESS", raising=False)
    monkeypatch.chdir(tmp_path)   # where `backprop-lab start` was run
    assert cli.main(["progress"]) == 0
    out = capsys.readouterr().out
    assert f"Reading {course}, the course folder 'backprop-lab start' made here." in out
    assert progress_rows(out)["99_demo.ipynb"] == ["1/2", "3/4", "99.8"]
