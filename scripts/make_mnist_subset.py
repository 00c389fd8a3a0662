"""Build the MNIST subset bundled in the package for offline use: backprop_lab/datasets/data/mnist_subset.npz.

Takes, with a fixed seed, 1,000 training and 200 test images of each digit from the full MNIST set
(``../shared/data/mnist.npz``: uint8 arrays xtr, ytr, xte, yte in the official order), keeps them in
their official order, and stores them as uint8 with the indices they had in the official files::

    python scripts/make_mnist_subset.py [--data ../shared/data/mnist.npz] [--seed 0]

The result is deterministic: running it again gives the same arrays. MNIST is by Yann LeCun, Corinna
Cortes and Christopher J. C. Burges, under CC BY-SA 3.0.
"""
import argparse
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.join(HERE, "..", "..", "shared", "data", "mnist.npz")
OUT = os.path.join(HERE, "..", "backprop_lab", "datasets", "data", "mnist_subset.npz")


def balanced_indices(labels, per_class, rng):
    """``per_class`` indices of each label 0..9, drawn without replacement, returned sorted."""
    chosen = [rng.choice(np.flatnonzero(labels == digit), per_class, replace=False) for digit in range(10)]
    return np.sort(np.concatenate(chosen))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA, help="the full MNIST npz (xtr, ytr, xte, yte)")
    parser.add_argument("--out", default=OUT)
    parser.add_argument("--train-per-class", type=int, default=1000)
    parser.add_argument("--test-per-class", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    with np.load(args.data) as full:
        xtr, ytr, xte, yte = (full[k] for k in ("xtr", "ytr", "xte", "yte"))
    train = balanced_indices(ytr, args.train_per_class, rng)
    test = balanced_indices(yte, args.test_per_class, rng)
    np.savez_compressed(args.out, x_train=xtr[train], y_train=ytr[train], x_test=xte[test], y_test=yte[test],
                        train_index=train.astype(np.int32), test_index=test.astype(np.int32))
    print(f"wrote {args.out}: {len(train):,} train + {len(test):,} test images, "
          f"{os.path.getsize(args.out) / 2**20:.2f} MiB")


if __name__ == "__main__":
    main()
