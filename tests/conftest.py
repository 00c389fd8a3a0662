"""Test-suite settings, applied before any notebook kernel starts.

pyproject.toml loads this file as a plugin (``-p tests.conftest``) as well as pytest finding it
here, so that ``python -m pytest course/02_x.ipynb`` gets the same environment as the full run.
Kernels started by nbval inherit these variables:

- ``BACKPROP_LAB_STRICT=1``: ``check()`` raises on a wrong answer, so a broken solution fails its cell;
- ``MPLBACKEND=Agg``: plots render without a display;
- ``BACKPROP_LAB_OFFLINE=1``: datasets come from the bundled subset, never the network;
- ``BACKPROP_LAB_PROGRESS``: checks record progress in a temporary file, not beside the notebooks;
- ``JUPYTER_DATA_DIR``: a temporary folder, so that a kernel named ``python3`` is this environment's Python. A
  ``python3`` kernelspec in the user's data folder (``~/.local/share/jupyter/kernels``, e.g. left there by
  another project's ``ipykernel install --user``) would otherwise win, and every notebook that JupyterLab,
  nbclient or the build starts would run that other Python, and import that other checkout's package.
"""
import atexit
import os
import shutil
import tempfile

os.environ["BACKPROP_LAB_STRICT"] = "1"
os.environ["MPLBACKEND"] = "Agg"
os.environ["BACKPROP_LAB_OFFLINE"] = "1"
# two xdist workers on two cores: one BLAS thread each, or kernels oversubscribe the cores and training
# cells run many times slower
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiet the kernels' debugger warning
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")

if "BACKPROP_LAB_PROGRESS" not in os.environ:  # once per process, even if this module is imported twice
    _progress_dir = tempfile.mkdtemp(prefix="backprop-lab-progress-")
    atexit.register(shutil.rmtree, _progress_dir, True)
    os.environ["BACKPROP_LAB_PROGRESS"] = os.path.join(_progress_dir, ".backprop_lab_progress.json")

_jupyter_data = tempfile.mkdtemp(prefix="backprop-lab-jupyter-data-")
atexit.register(shutil.rmtree, _jupyter_data, True)
os.environ["JUPYTER_DATA_DIR"] = _jupyter_data
