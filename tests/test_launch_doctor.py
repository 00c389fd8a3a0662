"""`backprop-lab start` never overwrites a learner's work; `backprop-lab doctor` reports and advises."""
import json
import subprocess
import sys

import nbformat
import pytest

import backprop_lab as bl
from backprop_lab.launch import MANIFEST, copy_course


def make_release(folder, text):
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("00_start_here.ipynb", "01_finite_differences.ipynb"):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"{name}: {text}")])
        nbformat.write(nb, folder / name)
    return folder


def test_start_copies_then_never_overwrites(tmp_path):
    release1 = make_release(tmp_path / "r1", "first release")
    dest = tmp_path / "course"
    report = copy_course(dest, release1, version="0.1.0")
    assert [line.split()[0] for line in report] == ["added", "added"]
    manifest = json.loads((dest / MANIFEST).read_text())
    assert set(manifest) == {"00_start_here.ipynb", "01_finite_differences.ipynb"}

    # the learner works in notebook 01
    mine = dest / "01_finite_differences.ipynb"
    mine.write_text(mine.read_text().replace("first release", "MY WORK"))
    # same release again: nothing changes
    report = copy_course(dest, release1, version="0.1.0")
    assert all(line.startswith("kept") for line in report)
    assert "MY WORK" in mine.read_text()

    # a newer release: new notebooks go beside the old ones, clearly named; the learner's stay as they are
    release2 = make_release(tmp_path / "r2", "second release")
    report = copy_course(dest, release2, version="0.2.0")
    assert "MY WORK" in mine.read_text()
    assert (dest / "01_finite_differences.v0.2.0.ipynb").exists()
    assert (dest / "00_start_here.v0.2.0.ipynb").exists()
    assert any("newer release of 01_finite_differences.ipynb" in line for line in report)
    # and running it again adds nothing more
    report = copy_course(dest, release2, version="0.2.0")
    assert all(line.startswith("kept") for line in report)


def test_start_cli_without_lab(tmp_path, monkeypatch):
    from backprop_lab import launch
    from backprop_lab.cli import main

    release = make_release(tmp_path / "r", "x")
    monkeypatch.setattr(launch, "notebooks_source", lambda: release)
    dest = tmp_path / "mine"
    assert main(["start", str(dest), "--no-lab"]) == 0
    assert (dest / "00_start_here.ipynb").exists()


def test_doctor_reports_every_check_with_fixes():
    report = bl.doctor()
    names = [f.name for f in report.findings]
    for expected in ("Python", "numpy", "JupyterLab", "ipywidgets", "widgets extension", "matplotlib", "MNIST",
                     "PyTorch", "CuPy / GPU"):
        assert expected in names
    assert report.ok, repr(report)
    text = repr(report)
    assert "✓ Python" in text and "Everything the course needs is in place." in text
    assert report._repr_html_().startswith("<table") and "✓</span>" in report._repr_html_()


def test_doctor_names_missing_package_and_fix(monkeypatch):
    from backprop_lab import diagnosis as doctor

    monkeypatch.setattr(doctor, "_version", lambda module: None if module == "ipywidgets" else "9.0")
    finding = doctor.check_required("ipywidgets", "ipywidgets", 8, "ipywidgets")
    assert finding.status == doctor.PROBLEM and "pip install 'ipywidgets>=8'" in finding.fix
    old = doctor.check_required("numpy", "numpy", 10, "numpy")
    assert old.status == doctor.PROBLEM and "need 10 or newer" in old.detail


def test_doctor_cli_exit_code():
    out = subprocess.run([sys.executable, "-m", "backprop_lab.cli", "doctor"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "numpy" in out.stdout


def test_cli_help_lists_subcommands():
    out = subprocess.run([sys.executable, "-m", "backprop_lab.cli", "--help"], capture_output=True, text=True)
    for cmd in ("start", "doctor", "progress", "build", "grade"):
        assert cmd in out.stdout


@pytest.mark.parametrize("device", ["tpu", "gpu0", "metal"])
def test_unknown_device_names(device):
    with pytest.raises(ValueError, match="unknown device"):
        bl.backend.normalize_device(device)


def test_bl_doctor_is_the_function_however_often_it_is_used():
    """The package's lazy ``bl.doctor`` is the function, also after the command's module was imported."""
    import importlib

    import backprop_lab as bl

    importlib.import_module("backprop_lab.diagnosis")
    assert callable(bl.doctor) and bl.doctor.__name__ == "doctor"
    assert bl.doctor is bl.doctor


def test_start_no_lab_prints_a_command_that_starts_jupyterlab(tmp_path, monkeypatch, capsys):
    """The printed next step is start's own command: with --allow-root as root, the first notebook by its full path."""
    import os
    import shlex
    import socket
    import time
    import urllib.request

    from backprop_lab import launch
    from backprop_lab.cli import main

    monkeypatch.setattr(launch, "notebooks_source", lambda: make_release(tmp_path / "r", "x"))
    dest = tmp_path / "mine"
    monkeypatch.chdir(tmp_path)
    assert main(["start", str(dest), "--no-lab"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("Start JupyterLab"))
    args = shlex.split(line.split(":", 1)[1])
    assert args[:2] == ["jupyter", "lab"] and str(dest / "00_start_here.ipynb") in args
    assert ("--allow-root" in args) == (os.geteuid() == 0)
    # run it (as `python -m jupyter lab ...`, from another folder) until the server answers
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"), JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "set"))
    proc = subprocess.Popen([sys.executable, "-m", "jupyter", *args[1:], "--no-browser", f"--port={port}",
                             "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=t"],
                            cwd=tmp_path / "r", env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 180   # a busy machine; it answers in 5-20 s on a quiet one
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token=t", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
                assert time.time() < deadline, "JupyterLab did not answer within 180 s"
                time.sleep(0.3)
    finally:
        proc.terminate()
        proc.wait(10)
