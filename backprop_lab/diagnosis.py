"""``backprop-lab doctor`` (and ``bl.doctor()`` in a notebook): is everything the course needs here?

Each check says what it found and, when something is wrong, exactly what to do.
Optional pieces (PyTorch, CuPy, a downloaded MNIST) are reported as notes, never as problems.
"""
from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

OK, PROBLEM, NOTE = "ok", "problem", "note"
SYMBOL = {OK: "✓", PROBLEM: "✗", NOTE: "·"}


@dataclass
class Finding:
    name: str
    status: str
    detail: str
    fix: str = ""


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.status != PROBLEM for f in self.findings)

    def __repr__(self) -> str:
        lines = []
        for f in self.findings:
            lines.append(f"{SYMBOL[f.status]} {f.name:<22} {f.detail}")
            if f.fix:
                lines.append(f"  {'':<22} → {f.fix}")
        verdict = "Everything the course needs is in place." if self.ok else \
            "Some problems need fixing (see → above)."
        return "\n".join(lines + ["", verdict])

    def _repr_html_(self) -> str:
        import html

        from . import theme

        kinds = {OK: "pass", PROBLEM: "fail", NOTE: "todo"}   # badges: white on a dark colour, in both themes
        rows = "".join(
            f'<tr style="{theme.ROW}"><td>{theme.badge(kinds[f.status], SYMBOL[f.status])}</td>'
            f"<td><b>{html.escape(f.name)}</b></td>"
            f"<td>{html.escape(f.detail)}{'<br>→ ' + html.escape(f.fix) if f.fix else ''}</td></tr>"
            for f in self.findings)
        return f'<table style="color:inherit">{rows}</table>'


def _version(module: str):
    try:
        mod = importlib.import_module(module)
    except Exception:
        return None
    return getattr(mod, "__version__", "installed")


def _major(version: str) -> int:
    try:
        return int(str(version).split(".")[0])
    except ValueError:
        return 0


def check_python() -> Finding:
    v = sys.version_info
    text = f"{v.major}.{v.minor}.{v.micro}"
    if v < (3, 10):
        return Finding("Python", PROBLEM, text, "install Python 3.10 or newer")
    return Finding("Python", OK, text)


def check_required(name: str, module: str, min_major: int, pip_name: str) -> Finding:
    version = _version(module)
    if version is None:
        return Finding(name, PROBLEM, "not installed", f"pip install '{pip_name}>={min_major}'")
    if _major(version) < min_major:
        return Finding(name, PROBLEM, f"{version} (need {min_major} or newer)", f"pip install -U '{pip_name}>={min_major}'")
    return Finding(name, OK, str(version))


def check_widgets_extension() -> Finding:
    """ipywidgets 8 ships its JupyterLab extension prebuilt in the jupyterlab_widgets package."""
    version = _version("jupyterlab_widgets")
    if version is None:
        return Finding("widgets extension", PROBLEM, "jupyterlab_widgets is not installed: sliders will not show",
                       "pip install 'jupyterlab_widgets>=3' (it comes with ipywidgets 8)")
    candidates = [Path(p) / "share" / "jupyter" / "labextensions" / "@jupyter-widgets" / "jupyterlab-manager"
                  for p in {sys.prefix, sys.base_prefix, os.path.expanduser("~/.local")}]
    if not any(c.is_dir() for c in candidates):
        return Finding("widgets extension", PROBLEM, f"jupyterlab_widgets {version}, but its lab extension files "
                       "are not where JupyterLab looks", "pip install --force-reinstall jupyterlab_widgets, "
                       "then restart JupyterLab")
    return Finding("widgets extension", OK, f"jupyterlab_widgets {version}, prebuilt extension found")


def check_matplotlib() -> Finding:
    version = _version("matplotlib")
    if version is None:
        return Finding("matplotlib", PROBLEM, "not installed", "pip install matplotlib")
    import matplotlib

    backend = matplotlib.get_backend()
    in_kernel = "ipykernel" in sys.modules
    detail = f"{version}, backend {backend}"
    if in_kernel and "inline" not in backend.lower() and "agg" in backend.lower():
        return Finding("matplotlib", NOTE, detail + " (plots are saved, not shown)",
                       "run %matplotlib inline, or unset MPLBACKEND")
    return Finding("matplotlib", OK, detail)


def check_mnist() -> Finding:
    try:
        from .datasets import mnist
    except Exception as exc:  # reported, not raised
        return Finding("MNIST", PROBLEM, f"the dataset module failed to import: {exc}", "reinstall backprop-lab")
    folder = mnist.default_cache_dir()
    names = [res.filename for pair in mnist.RESOURCES.values() for res in pair]
    missing = [n for n in names if not (folder / n).exists()]
    if not missing:
        return Finding("MNIST", OK, f"full data set cached in {folder}")
    return Finding("MNIST", NOTE, f"full set not downloaded yet (cache: {folder}); the bundled subset works offline",
                   "it downloads on first use in notebook 08, or set BACKPROP_LAB_DATA to a folder holding "
                   "mnist/ with the four *-ubyte.gz files")


def check_optional(name: str, module: str, purpose: str) -> Finding:
    version = _version(module)
    if version is None:
        return Finding(name, NOTE, f"not installed (optional: {purpose})")
    return Finding(name, OK, f"{version} ({purpose})")


def check_gpu() -> Finding:
    from . import backend

    if _version("cupy") is None:
        return Finding("CuPy / GPU", NOTE, "CuPy not installed (optional: device='cuda')",
                       "pip install 'backprop-lab[gpu]' on a machine with an NVIDIA GPU")
    if not backend.cuda_available():
        return Finding("CuPy / GPU", NOTE, "CuPy installed but no usable GPU found")
    return Finding("CuPy / GPU", OK, "a GPU is available: bl.Tensor(x, device='cuda')")


def doctor() -> Report:
    """Run every check and return the report (shown as a table in Jupyter, as text elsewhere)."""
    report = Report([
        check_python(),
        check_required("numpy", "numpy", 2, "numpy"),
        check_required("JupyterLab", "jupyterlab", 4, "jupyterlab"),
        check_required("ipywidgets", "ipywidgets", 8, "ipywidgets"),
        check_widgets_extension(),
        check_matplotlib(),
        check_mnist(),
        check_optional("PyTorch", "torch", "comparisons in notebooks 06 and 08"),
        check_gpu(),
    ])
    return report


def add_arguments(parser):
    pass


def run(args) -> int:
    report = doctor()
    print(repr(report))
    return 0 if report.ok else 1
