"""Make ``../shared/data/mnist.npz`` (the full MNIST set the MNIST tests and benchmarks compare with) online.

    python scripts/mnist_npz_from_download.py                 # downloads once, into load_mnist's cache
    python scripts/mnist_npz_from_download.py --out mnist.npz --cache-dir /tmp/mnist

Fetches the four official files with ``load_mnist(source="full")`` (each checked against its published MD5,
kept in the cache) and writes them as the npz that ``scripts/mnist_idx_from_npz.py`` reads: uint8 arrays xtr
(60000, 784), ytr, xte (10000, 784), yte, in the official order. The inverse of that script.
"""
import argparse
import os
import sys

import numpy as np

from backprop_lab.datasets import load_mnist

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "..", "shared", "data", "mnist.npz")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="the npz to write (default: ../shared/data/mnist.npz)")
    parser.add_argument("--cache-dir", default=None, help="where the downloaded files are kept (default: the MNIST cache)")
    args = parser.parse_args(argv)
    arrays = {}
    for split, (xs, ys) in {"train": ("xtr", "ytr"), "test": ("xte", "yte")}.items():
        x, y = load_mnist(split, source="full", cache_dir=args.cache_dir)   # raises, saying why, if not available
        arrays[xs] = np.rint(x * 255).astype(np.uint8)   # load_mnist divided the official bytes by 255
        arrays[ys] = y.astype(np.uint8)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out}: " + ", ".join(f"{k} {v.shape}" for k, v in arrays.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
