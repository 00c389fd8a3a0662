"""Scalar engine speed: backprop_lab.Value against micrograd's own package, in one process.

Forward + backward of micrograd's demo network MLP(2, [16, 16, 1]) on 100 points with
its SVM max-margin loss and L2 term (as in micrograd's demo.ipynb). Both engines run
*the same* network code (below, micrograd's nn.py shape) so only the engine differs.
Prints the median time of each and the ratio. Target (issue 10): ratio <= 0.5, never > 0.75.

    pip install micrograd==0.1.0     # the 'bench' extra
    python benchmarks/bench_scalar.py [--repeats 7]
"""
from __future__ import annotations

import argparse
import random
import statistics
import time

import numpy as np


def make_mlp(Value, nin, nouts, seed=1337):
    """micrograd's MLP: lists of Neurons with random.uniform(-1, 1) weights, ReLU except the last layer."""
    rnd = random.Random(seed)
    sizes = [nin] + nouts
    layers = []
    for i in range(len(nouts)):
        neurons = [([Value(rnd.uniform(-1, 1)) for _ in range(sizes[i])], Value(0.0), i != len(nouts) - 1)
                   for _ in range(sizes[i + 1])]
        layers.append(neurons)
    return layers


def forward(layers, x):
    for neurons in layers:
        out = []
        for w, b, nonlin in neurons:
            act = sum((wi * xi for wi, xi in zip(w, x)), b)
            out.append(act.relu() if nonlin else act)
        x = out
    return x[0]


def parameters(layers):
    return [p for neurons in layers for w, b, _ in neurons for p in w + [b]]


def step(Value, layers, X, y):
    """One forward + backward over the whole batch: micrograd demo's loss()."""
    for p in parameters(layers):
        p.grad = 0.0
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = [forward(layers, xi) for xi in inputs]
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in parameters(layers))
    total = data_loss + reg_loss
    total.backward()
    return total.data


def time_engine(Value, X, y, repeats):
    layers = make_mlp(Value, 2, [16, 16, 1])
    step(Value, layers, X, y)  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        loss = step(Value, layers, X, y)
        times.append(time.perf_counter() - t)
    return statistics.median(times), loss, [p.grad for p in parameters(layers)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2)).tolist()
    y = [1.0 if a * b > 0 else -1.0 for a, b in X]

    from backprop_lab import Value as BLValue

    ours, loss_ours, grads_ours = time_engine(BLValue, X, y, args.repeats)
    print(f"backprop_lab.Value : {ours * 1e3:8.1f} ms per forward+backward (median of {args.repeats})")
    try:
        from micrograd.engine import Value as MGValue
    except ImportError:
        print("micrograd is not installed (pip install micrograd==0.1.0): no ratio")
        return
    theirs, loss_theirs, grads_theirs = time_engine(MGValue, X, y, args.repeats)
    print(f"micrograd.Value    : {theirs * 1e3:8.1f} ms per forward+backward (median of {args.repeats})")
    same = abs(loss_ours - loss_theirs) < 1e-9 and np.allclose(grads_ours, grads_theirs)
    print(f"same loss and gradients: {same}")
    print(f"ratio backprop_lab / micrograd = {ours / theirs:.2f}  (target <= 0.50, limit 0.75)")


if __name__ == "__main__":
    main()
