"""Tensor engine speed: one epoch of seed 001's MNIST MLP, backprop_lab against hand-written NumPy.

784-64-64-10, ReLU, batch 128, SGD lr 0.1, float32, stable cross-entropy. Both versions
start from the same weights and see the same batches in one process; identical math
must give identical test accuracy. PyTorch (CPU) is timed too when it is installed.
Data: ../shared/data/mnist.npz when present (or --data), else random MNIST-shaped data.

    python benchmarks/bench_mlp.py [--repeats 3] [--epochs 1]

Target (issue 10): ratio backprop_lab / NumPy <= 1.15 (never above 1.35), faster than PyTorch.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import backprop_lab as bl

SIZES = (784, 64, 64, 10)


def load(path):
    if path and os.path.exists(path):
        d = np.load(path)
        return (d["xtr"].astype(np.float32) / 255, d["ytr"].astype(np.int64),
                d["xte"].astype(np.float32) / 255, d["yte"].astype(np.int64), "MNIST")
    rng = np.random.default_rng(0)
    return (rng.random((60000, 784), dtype=np.float32), rng.integers(0, 10, 60000),
            rng.random((10000, 784), dtype=np.float32), rng.integers(0, 10, 10000), "random MNIST-shaped data")


def init_weights(seed=0):
    rng = np.random.default_rng(seed)
    weights = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        weights.append((rng.normal(0, np.sqrt(2 / n_in), (n_in, n_out)).astype(np.float32),
                        np.zeros(n_out, np.float32)))
    return weights


def batches(n, batch, seed):
    order = np.random.default_rng(seed).permutation(n)
    return [order[i:i + batch] for i in range(0, n, batch)]


# ---------------------------------------------------------------------------- hand-written NumPy

def numpy_epoch(weights, x, y, order, lr):
    (W1, b1), (W2, b2), (W3, b3) = weights
    for idx in order:
        xb, yb = x[idx], y[idx]
        n = len(idx)
        h1 = np.maximum(xb @ W1 + b1, 0)
        h2 = np.maximum(h1 @ W2 + b2, 0)
        logits = h2 @ W3 + b3
        shifted = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(shifted)
        p /= p.sum(axis=1, keepdims=True)
        d3 = p
        d3[np.arange(n), yb] -= 1
        d3 /= n
        d2 = (d3 @ W3.T) * (h2 > 0)
        d1 = (d2 @ W2.T) * (h1 > 0)
        W3 -= lr * (h2.T @ d3)
        b3 -= lr * d3.sum(axis=0)
        W2 -= lr * (h1.T @ d2)
        b2 -= lr * d2.sum(axis=0)
        W1 -= lr * (xb.T @ d1)
        b1 -= lr * d1.sum(axis=0)


def numpy_predict(weights, x):
    (W1, b1), (W2, b2), (W3, b3) = weights
    return (np.maximum(np.maximum(x @ W1 + b1, 0) @ W2 + b2, 0) @ W3 + b3).argmax(axis=1)


# ---------------------------------------------------------------------------- backprop_lab

def bl_model(weights):
    model = bl.nn.MLP(list(SIZES), dtype=np.float32)
    for layer, (W, b) in zip(model.layers[::2], weights):
        layer.W.data, layer.b.data = W, b
    return model


def bl_epoch(model, opt, x, y, order):
    for idx in order:
        opt.zero_grad()
        loss = bl.nn.cross_entropy(model(bl.Tensor(x[idx])), y[idx])
        loss.backward()
        opt.step()


def bl_predict(model, x):
    with bl.no_grad():
        return model(bl.Tensor(x)).data.argmax(axis=1)


# ---------------------------------------------------------------------------- PyTorch (optional)

def torch_time(weights, x, y, order, lr):
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    layers = []
    for i, (W, b) in enumerate(weights):
        lin = torch.nn.Linear(*W.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        layers += [lin] + ([torch.nn.ReLU()] if i < 2 else [])
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    t = time.perf_counter()
    for idx in order:
        idx = torch.from_numpy(idx)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
        opt.step()
    return time.perf_counter() - t


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                                                       "mnist.npz"))
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    x, y, xte, yte, source = load(args.data)
    print(f"data: {source}, {len(x)} training images; batch {args.batch}, SGD lr {args.lr}, float32")
    t_np, t_bl, t_torch = [], [], []
    for r in range(args.repeats):
        order = batches(len(x), args.batch, seed=r)
        w_np = init_weights(r)
        model = bl_model(init_weights(r))
        opt = bl.optim.SGD(model.parameters(), lr=args.lr)
        # alternate which goes first, so neither always runs on a warmer (or busier) machine
        for name in (("numpy", "bl") if r % 2 == 0 else ("bl", "numpy")):
            t = time.perf_counter()
            if name == "numpy":
                numpy_epoch(w_np, x, y, order, args.lr)
                t_np.append(time.perf_counter() - t)
            else:
                bl_epoch(model, opt, x, y, order)
                t_bl.append(time.perf_counter() - t)
        acc_np = (numpy_predict(w_np, xte) == yte).mean()
        acc_bl = (bl_predict(model, xte) == yte).mean()
        print(f"run {r}: numpy {t_np[-1]:.3f} s, backprop_lab {t_bl[-1]:.3f} s; test accuracy numpy {acc_np:.4f}, "
              f"backprop_lab {acc_bl:.4f} (identical: {acc_np == acc_bl})")
    # PyTorch last: its OpenMP threads keep spinning after each call and would slow whatever runs next
    for r in range(args.repeats):
        try:
            t_torch.append(torch_time(init_weights(r), x, y, batches(len(x), args.batch, seed=r), args.lr))
        except ImportError:
            break
    np_med, bl_med = statistics.median(t_np), statistics.median(t_bl)
    print(f"hand-written NumPy : {np_med:.3f} s per epoch (median of {args.repeats})")
    print(f"backprop_lab       : {bl_med:.3f} s per epoch")
    print(f"ratio backprop_lab / NumPy = {bl_med / np_med:.3f}  (target <= 1.15, limit 1.35)")
    if t_torch:
        th = statistics.median(t_torch)
        print(f"PyTorch (CPU)      : {th:.3f} s per epoch; ratio backprop_lab / PyTorch = {bl_med / th:.3f}")
    else:
        print("PyTorch is not installed: no PyTorch time (pip install torch)")


if __name__ == "__main__":
    main()
