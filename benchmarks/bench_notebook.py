"""Run one course notebook in a fresh kernel and print its wall time and the kernel's peak memory.

    python benchmarks/bench_notebook.py solutions/08_mnist_mlp.ipynb --full    # full MNIST (issue 10, target 4)
    python benchmarks/bench_notebook.py course/08_mnist_mlp.ipynb              # bundled subset, as in CI

``--full`` writes the four MNIST files from ../shared/data/mnist.npz into a temporary cache
(scripts/mnist_idx_from_npz.py) and points BACKPROP_LAB_DATA at it, so load_mnist() finds the full set
without a network. Peak memory is the kernel's ru_maxrss, read by a cell appended at the end.
Targets: notebook 08 on the full data <= 1.5 GB (mybinder gives about 2 GB); every notebook < 60 s.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("--full", action="store_true", help="use the full MNIST set (from ../shared) instead of the subset")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    args = parser.parse_args()

    import nbclient
    import nbformat

    env_backup = dict(os.environ)
    with tempfile.TemporaryDirectory() as data:
        if args.full:
            os.environ["BACKPROP_LAB_DATA"] = data
            os.environ.pop("BACKPROP_LAB_OFFLINE", None)
            subprocess.run([sys.executable, str(ROOT / "scripts" / "mnist_idx_from_npz.py"), "--level", "1"],
                           check=True, stdout=subprocess.DEVNULL)
        else:
            os.environ["BACKPROP_LAB_OFFLINE"] = "1"
        os.environ.setdefault("MPLBACKEND", "Agg")
        path = Path(args.notebook).resolve()
        nb = nbformat.read(path, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(
            "import resource; print('PEAK_RSS_MB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"))
        client = nbclient.NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                                         resources={"metadata": {"path": str(path.parent)}})
        t = time.perf_counter()
        client.execute()
        wall = time.perf_counter() - t
    os.environ.clear()
    os.environ.update(env_backup)
    peak = float(nb.cells[-1].outputs[0]["text"].split()[1])
    print(f"{path.name} ({'full MNIST' if args.full else 'bundled subset'}): {wall:.1f} s wall including kernel "
          f"start, kernel peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
