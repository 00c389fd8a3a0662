"""``backprop-lab start [DIR]``: copy the student notebooks into DIR and open JupyterLab there.

A learner's work is never overwritten. DIR keeps a small manifest of the release
each notebook came from; when a newer release brings a changed notebook, it is
written *beside* the old one as ``NN_name.v<version>.ipynb`` and the learner is
told so.
"""
from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from .atomic import write_atomic

MANIFEST = ".backprop_lab_release.json"
DEFAULT_DIR = "backprop-lab-course"


def notebooks_source() -> Path:
    """Where the student notebooks are: inside the installed package (wheel), else ``course/`` of a clone."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "course_notebooks", here.parent / "course"):
        if candidate.is_dir() and any(candidate.glob("[0-9][0-9]_*.ipynb")):
            return candidate
    raise FileNotFoundError("no student notebooks found: reinstall backprop-lab, or from a clone run "
                            "'backprop-lab build' to generate course/ from solutions/")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_course(dest: Path, source: Path | None = None, version: str | None = None) -> list[str]:
    """Copy every student notebook into ``dest`` without overwriting anything; return what was done."""
    from . import __version__

    source = source or notebooks_source()
    version = version or __version__
    dest.mkdir(parents=True, exist_ok=True)
    manifest_path = dest / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    report = []
    for nb in sorted(source.glob("[0-9][0-9]_*.ipynb")):
        digest = _digest(nb)
        target = dest / nb.name
        if not target.exists():
            shutil.copyfile(nb, target)
            manifest[nb.name] = digest
            report.append(f"added    {nb.name}")
        elif manifest.get(nb.name) == digest or _digest(target) == digest:
            manifest[nb.name] = digest
            report.append(f"kept     {nb.name} (your copy; no newer version)")
        else:
            beside = dest / f"{nb.stem}.v{version}.ipynb"
            if not beside.exists():
                shutil.copyfile(nb, beside)
                report.append(f"new      {beside.name}: a newer release of {nb.name}; your {nb.name} is untouched")
            else:
                report.append(f"kept     {nb.name} (the newer release is already beside it as {beside.name})")
    write_atomic(manifest_path, json.dumps(manifest, indent=1, sort_keys=True))
    return report


def lab_command(dest: Path) -> list[str]:
    """The command that opens JupyterLab on ``dest`` at the first notebook: ``python -m jupyterlab ...``."""
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={dest}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # e.g. inside a container; JupyterLab refuses root without it
    first = dest / "00_start_here.ipynb"
    if first.exists():
        cmd.append(str(first))   # absolute: the command works from any folder
    return cmd


def add_arguments(parser):
    parser.add_argument("dir", nargs="?", default=DEFAULT_DIR,
                        help=f"folder for your notebooks (default: ./{DEFAULT_DIR})")
    parser.add_argument("--no-lab", action="store_true", help="copy the notebooks but do not start JupyterLab")


def run(args) -> int:
    dest = Path(args.dir).expanduser().resolve()
    try:
        report = copy_course(dest)
    except (FileNotFoundError, OSError) as exc:
        print(f"backprop-lab start: {exc}", file=sys.stderr)
        return 1
    print(f"Your course folder: {dest}")
    for line in report:
        print("  " + line)
    cmd = lab_command(dest)
    if args.no_lab:
        shown = ["jupyter", "lab", *cmd[3:]]   # the same arguments start would use
        print(f"Start JupyterLab yourself with:  {shlex.join(shown)}")
        return 0
    print("Starting JupyterLab (Ctrl+C to stop)…")
    try:
        return subprocess.call(cmd, cwd=dest)
    except KeyboardInterrupt:
        return 0
