"""Write the four official MNIST IDX files (gzip-compressed) from an npz, to fill a cache without network.

    python scripts/mnist_idx_from_npz.py                      # into load_mnist's default cache folder
    python scripts/mnist_idx_from_npz.py --out /tmp/mnist     # then load_mnist(cache_dir="/tmp/mnist")
    python scripts/mnist_idx_from_npz.py --split test --level 1   # only the two test files, fast
    BACKPROP_LAB_DATA=/tmp/bl python scripts/mnist_idx_from_npz.py   # into /tmp/bl/mnist

The npz (default ``../shared/data/mnist.npz``) holds uint8 arrays xtr (60000, 784), ytr, xte (10000, 784),
yte in the official order. The uncompressed IDX content written here is byte-identical to the official
files (the script checks each against the published MD5 and stops if one differs), so ``load_mnist``
accepts them; only the gzip wrapping differs from the files on the mirrors.
"""
import argparse
import hashlib
import os
import sys

import numpy as np

from backprop_lab.datasets import idx, mnist

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.join(HERE, "..", "..", "shared", "data", "mnist.npz")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA, help="npz with xtr, ytr, xte, yte (uint8)")
    parser.add_argument("--out", default=None, help="folder for the *-ubyte.gz files (default: the MNIST cache)")
    parser.add_argument("--level", type=int, default=6, help="gzip level, 1 (fast) to 9 (small)")
    parser.add_argument("--split", choices=["train", "test", "both"], default="both", help="which files to write")
    args = parser.parse_args()
    out = args.out or str(mnist.default_cache_dir())
    os.makedirs(out, exist_ok=True)

    keys = {"train": ("xtr", "ytr"), "test": ("xte", "yte")}
    splits = list(keys) if args.split == "both" else [args.split]
    with np.load(args.data) as data:
        arrays = {split: (data[keys[split][0]].reshape(-1, 28, 28), data[keys[split][1]]) for split in splits}
    for split in splits:
        for res, array in zip(mnist.RESOURCES[split], arrays[split]):
            content = idx.idx_bytes(array.astype(np.uint8))
            got = hashlib.md5(content).hexdigest()
            if got != res.idx_md5:
                sys.exit(f"{args.data}: the {split} {res.filename} content has MD5 {got}, not the official "
                         f"{res.idx_md5}: this npz is not the official MNIST data")
            path = os.path.join(out, res.filename)
            idx.write_idx(path, array.astype(np.uint8), compresslevel=args.level)
            print(f"wrote {path} ({os.path.getsize(path):,} bytes)")


if __name__ == "__main__":
    main()
