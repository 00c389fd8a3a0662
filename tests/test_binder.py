"""Replay Binder's install from the binder/ files alone, in a fresh virtual environment, and run notebook 00 there.

repo2docker pins Python from binder/runtime.txt, runs `pip install -r binder/requirements.txt`, then
binder/postBuild from the repository root. Tests never download, so the fresh environment sees the packages
of the current one (a .pth file) and pip runs with --no-index: every requirement must then be satisfied
within its declared range, and postBuild must install the package itself from the repository.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
pytestmark = pytest.mark.timeout(300)


def test_runtime_pins_python_and_requirements_have_upper_bounds():
    assert re.fullmatch(r"python-3\.\d+\n?", (BINDER / "runtime.txt").read_text())
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            assert ">=" in line and "<" in line, f"binder/requirements.txt: '{line}' needs a range with an upper bound"
    assert os.access(BINDER / "postBuild", os.X_OK), "binder/postBuild must be executable"


def load_badge_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("binder_badge", ROOT / "scripts" / "binder_badge.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_badge_is_derived_from_the_repository_in_pyproject():
    script = load_badge_script()
    repository = script.repository_url()
    expected = script.badge(repository)
    assert script.readme_badge() == expected, "README's Binder badge: run python scripts/binder_badge.py --write"
    owner_name = repository.removeprefix("https://github.com/")
    assert f"/v2/gh/{owner_name}/main?urlpath=lab/tree/course/00_start_here.ipynb" in expected
    assert (ROOT / "course" / "00_start_here.ipynb").exists()  # the badge opens a notebook that exists


def test_a_fork_fixes_the_badge_with_one_line(tmp_path):
    script = load_badge_script()
    readme = tmp_path / "README.md"
    readme.write_text("# title\n\n" + script.readme_badge() + "\n\ntext\n")
    fork = script.badge("https://github.com/someone/my-fork")
    assert script.write(readme, fork) and not script.write(readme, fork)
    assert readme.read_text() == f"# title\n\n{fork}\n\ntext\n"
    assert "/v2/gh/someone/my-fork/main?" in fork
    with pytest.raises(ValueError, match="GitHub"):
        script.badge("https://gitlab.com/someone/my-fork")


def test_binder_requirements_cover_the_package_dependencies():
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=\[ ]", d)[0].lower() for d in deps}
    binder = {re.split(r"[<>=\[ ]", line)[0].lower() for line in (BINDER / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    assert names <= binder, f"binder/requirements.txt lacks {sorted(names - binder)}"


def test_replay_binder_install_and_run_notebook_00(tmp_path):
    if not (ROOT / "course" / "00_start_here.ipynb").exists():
        pytest.skip("course/00_start_here.ipynb does not exist yet")
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__",
                                                              ".pytest_cache", ".hypothesis", "solutions"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # offline stand-in for PyPI: the packages already installed here (site.addsitedir also runs their .pth files)
    parent = sysconfig.get_paths()["purelib"]
    Path(site, "zz_parent_env.pth").write_text(f"import site; site.addsitedir({parent!r})\n")

    # offline: no index, and no isolated build environment (it would download setuptools); building in the
    # environment itself needs setuptools' bdist_wheel, from `wheel` (a test dependency) on older setuptools
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PATH=f"{venv / 'bin'}:{os.environ['PATH']}")
    env.pop("PYTHONPATH", None)
    req = subprocess.run([str(py), "-m", "pip", "install", "-r", "binder/requirements.txt"], cwd=repo, env=env,
                         capture_output=True, text=True)
    assert req.returncode == 0, f"pip install -r binder/requirements.txt failed:\n{req.stdout}\n{req.stderr}"
    post = subprocess.run(["bash", "binder/postBuild"], cwd=repo, env=env, capture_output=True, text=True)
    assert post.returncode == 0, f"binder/postBuild failed:\n{post.stdout}\n{post.stderr}"

    # the package now comes from the fresh environment, not from this checkout
    where = subprocess.run([str(py), "-c", "import backprop_lab; print(backprop_lab.__file__)"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(site), where
    # the student notebooks travel inside the installed package, for `backprop-lab start`
    source = subprocess.run([str(py), "-c", "from backprop_lab.launch import notebooks_source as s; print(s())"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert source.startswith(site) and len(list(Path(source).glob("0*.ipynb"))) == 10, source

    runner = (
        "import nbformat, nbclient, sys\n"
        "nb = nbformat.read('course/00_start_here.ipynb', as_version=4)\n"
        "nb.cells.append(nbformat.v4.new_code_cell('import backprop_lab, json; print(json.dumps(backprop_lab.__file__))'))\n"
        "nbclient.NotebookClient(nb, timeout=120, kernel_name='python3', allow_errors=False,\n"
        "    resources={'metadata': {'path': 'course'}}).execute()\n"
        "print(nb.cells[-1].outputs[0]['text'])\n")
    run = subprocess.run([str(py), "-c", runner], cwd=repo, env=dict(env, BACKPROP_LAB_OFFLINE="1", MPLBACKEND="Agg"),
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, f"notebook 00 failed in the Binder environment:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert json.loads(run.stdout.strip().splitlines()[-1]).startswith(site)
