"""Tensor engine speed: one epoch of seed 001's MNIST MLP, backprop_lab against hand-written NumPy.

784-64-64-10, ReLU, batch 128, SGD lr 0.1, float32, stable cross-entropy. Three versions start
from the same weights and see the same batches in one process, and identical math must give
identical test accuracy: hand-written NumPy; backprop_lab through ``nn.MLP`` and ``optim.SGD``;
and backprop_lab with plain operations (``h @ W + b``, ``.relu()``, ``cross_entropy``, an update
by hand), which shows the engine's own cost without the module layer. Each run times the three
in a different order (rotating), and the ratios are taken within a run, so a machine that gets
busier or quieter between runs shifts all three alike. PyTorch (CPU) is timed last when installed.
Data: ../shared/data/mnist.npz when present (or --data), else random MNIST-shaped data.

    python benchmarks/bench_mlp.py [--repeats 5] [--threads 1]

``--threads N`` limits the BLAS threads (threadpoolctl, from the bench extra) for all versions;
the BLAS library and its thread count are printed either way. ``--clock cpu`` times with the CPU time
of this process (``time.process_time``) instead of the wall clock: on a machine shared with other
work it counts only this process's own work, so the ratios move less; with more than one BLAS thread
it also counts threads that spin while waiting, so use it with ``--threads 1``.
Targets (issue 17): every run's ratio backprop_lab / NumPy <= 1.35, aimed <= 1.10, for both loops.
"""
from __future__ import annotations

import argparse
import contextlib
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


def plain_params(weights):
    return [bl.Tensor(a, requires_grad=True) for pair in weights for a in pair]


def plain_epoch(params, x, y, order, lr):
    """The same training step in plain operations: no Module, no optimizer object."""
    W1, b1, W2, b2, W3, b3 = params
    for idx in order:
        for p in params:
            p.grad = None
        h1 = (bl.Tensor(x[idx]) @ W1 + b1).relu()
        h2 = (h1 @ W2 + b2).relu()
        loss = bl.nn.cross_entropy(h2 @ W3 + b3, y[idx])
        loss.backward()
        for p in params:
            p.data -= lr * p.grad


def plain_predict(params, x):
    W1, b1, W2, b2, W3, b3 = params
    with bl.no_grad():
        h = (bl.Tensor(x) @ W1 + b1).relu()
        return ((h @ W2 + b2).relu() @ W3 + b3).data.argmax(axis=1)


def bl_predict(model, x):
    with bl.no_grad():
        return model(bl.Tensor(x)).data.argmax(axis=1)


# ---------------------------------------------------------------------------- PyTorch (optional)

def torch_time(weights, x, y, order, lr, threads):
    import torch

    torch.set_num_threads(threads or os.cpu_count() or 1)
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


def blas_limits(threads):
    """Limit BLAS to ``threads`` (threadpoolctl applies the limit at once; leaving the returned context
    restores it), and say which BLAS runs with how many threads."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        if threads:
            raise SystemExit("--threads needs threadpoolctl: pip install '.[bench]'") from None
        return contextlib.nullcontext(), "BLAS: threadpoolctl not installed, thread count unknown"
    limiter = threadpool_limits(threads, user_api="blas") if threads else contextlib.nullcontext()
    info = [f"{i['internal_api']} {i.get('version', '')} ({i.get('architecture', '?')}), {i['num_threads']} "
            "thread(s)" for i in threadpool_info() if i["user_api"] == "blas"]
    return limiter, "BLAS: " + ("; ".join(info) or "none found")


def spread(values):
    return f"{min(values):.3f}-{max(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: the library's own)")
    parser.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                                                       "mnist.npz"))
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall: time.perf_counter; cpu: time.process_time (this process's CPU time)")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    x, y, xte, yte, source = load(args.data)
    limits, blas = blas_limits(args.threads)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    print(f"data: {source}, {len(x)} training images; batch {args.batch}, SGD lr {args.lr}, float32; {blas}; "
          f"{args.clock} clock")
    times = {"numpy": [], "mlp": [], "plain": []}
    t_torch = []
    with limits:
        for r in range(args.repeats):
            order = batches(len(x), args.batch, seed=r)
            w_np = init_weights(r)
            model = bl_model(init_weights(r))
            opt = bl.optim.SGD(model.parameters(), lr=args.lr)
            params = plain_params(init_weights(r))
            runs = {"numpy": lambda: numpy_epoch(w_np, x, y, order, args.lr),
                    "mlp": lambda: bl_epoch(model, opt, x, y, order),
                    "plain": lambda: plain_epoch(params, x, y, order, args.lr)}
            names = list(runs)
            names = names[r % 3:] + names[:r % 3]  # rotate the order, so none always runs first
            for name in names:
                t = clock()
                runs[name]()
                times[name].append(clock() - t)
            acc = {"numpy": (numpy_predict(w_np, xte) == yte).mean(), "mlp": (bl_predict(model, xte) == yte).mean(),
                   "plain": (plain_predict(params, xte) == yte).mean()}
            print(f"run {r} ({' > '.join(names)}): numpy {times['numpy'][-1]:.3f} s, nn.MLP {times['mlp'][-1]:.3f} s "
                  f"(ratio {times['mlp'][-1] / times['numpy'][-1]:.3f}), plain ops {times['plain'][-1]:.3f} s "
                  f"(ratio {times['plain'][-1] / times['numpy'][-1]:.3f}); test accuracy {acc['numpy']:.4f}, "
                  f"identical: {acc['numpy'] == acc['mlp'] == acc['plain']}")
        # PyTorch last: its OpenMP threads keep spinning after each call and would slow whatever runs next
        for r in range(args.repeats):
            try:
                t_torch.append(torch_time(init_weights(r), x, y, batches(len(x), args.batch, seed=r), args.lr,
                                          args.threads))
            except ImportError:
                break
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"hand-written NumPy : {med['numpy']:.3f} s per epoch (median of {args.repeats})")
    for key, name in (("mlp", "nn.MLP + SGD"), ("plain", "plain operations")):
        ratios = [t / n for t, n in zip(times[key], times["numpy"])]
        print(f"backprop_lab, {name:16}: {med[key]:.3f} s per epoch; ratio to NumPy per run {spread(ratios)} "
              f"(median {statistics.median(ratios):.3f}; target <= 1.10, limit 1.35 in every run)")
    steps = len(batches(len(x), args.batch, seed=0))
    for key, name in (("mlp", "nn.MLP + SGD"), ("plain", "plain operations")):
        extra = [(t - n) / steps * 1e6 for t, n in zip(times[key], times["numpy"])]
        print(f"the engine's own cost, {name}: {min(extra):.0f}-{max(extra):.0f} us per training step over the same NumPy work "
              f"({steps} steps an epoch)")
    if t_torch:
        th = statistics.median(t_torch)
        print(f"PyTorch (CPU)      : {th:.3f} s per epoch; ratio backprop_lab (nn.MLP) / PyTorch = {med['mlp'] / th:.3f}")
    else:
        print("PyTorch is not installed: no PyTorch time (pip install torch)")


if __name__ == "__main__":
    main()
