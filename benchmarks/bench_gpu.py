"""GPU speed: backprop_lab on CuPy against PyTorch on CUDA, same network, same batches, one process.

Two networks (issue 11): seed 001's MNIST MLP (784-64-64-10, batch 128) and a wide one
(784-4096-4096-10, batch 1024), float32, SGD lr 0.1, random MNIST-shaped data, --steps
training steps after a warm-up, synchronising the device before each clock read.
Prints both times and the ratio. Target: backprop_lab / PyTorch <= 1.5 for the wide network.

    pip install ".[gpu]" torch        # on a machine with an NVIDIA GPU
    python benchmarks/bench_gpu.py [--steps 200]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import backprop_lab as bl

NETWORKS = {"mnist": ([784, 64, 64, 10], 128), "wide": ([784, 4096, 4096, 10], 1024)}


def weights(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.normal(0, np.sqrt(2 / a), (a, b)).astype(np.float32), np.zeros(b, np.float32))
            for a, b in zip(sizes[:-1], sizes[1:])]


def time_backprop_lab(sizes, batch, steps, x, y):
    import cupy

    model = bl.nn.MLP(sizes, dtype=np.float32)
    for layer, (W, b) in zip(model.layers[::2], weights(sizes)):
        layer.W.data, layer.b.data = W, b
    model.to("cuda")
    opt = bl.optim.SGD(model.parameters(), lr=0.1)
    xg, yg = cupy.asarray(x), cupy.asarray(y)

    def step(i):
        idx = slice((i * batch) % (len(x) - batch), (i * batch) % (len(x) - batch) + batch)
        opt.zero_grad()
        bl.nn.cross_entropy(model(bl.Tensor(xg[idx])), yg[idx]).backward()
        opt.step()

    for i in range(10):
        step(i)
    cupy.cuda.Device().synchronize()
    t = time.perf_counter()
    for i in range(steps):
        step(i)
    cupy.cuda.Device().synchronize()
    return time.perf_counter() - t


def time_torch(sizes, batch, steps, x, y):
    import torch

    layers = []
    for i, (W, b) in enumerate(weights(sizes)):
        lin = torch.nn.Linear(*W.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        layers += [lin] + ([torch.nn.ReLU()] if i < len(sizes) - 2 else [])
    model = torch.nn.Sequential(*layers).cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    xg, yg = torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda()

    def step(i):
        start = (i * batch) % (len(x) - batch)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xg[start:start + batch]), yg[start:start + batch]).backward()
        opt.step()

    for i in range(10):
        step(i)
    torch.cuda.synchronize()
    t = time.perf_counter()
    for i in range(steps):
        step(i)
    torch.cuda.synchronize()
    return time.perf_counter() - t


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    if not bl.backend.cuda_available():
        print("no GPU: CuPy is not installed or sees no device; nothing to measure")
        return
    rng = np.random.default_rng(0)
    x = rng.random((60000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 60000)
    for name, (sizes, batch) in NETWORKS.items():
        ours = time_backprop_lab(sizes, batch, args.steps, x, y)
        line = f"{name:6s} {sizes} batch {batch}: backprop_lab+CuPy {ours / args.steps * 1e3:.2f} ms/step"
        try:
            theirs = time_torch(sizes, batch, args.steps, x, y)
            line += f", PyTorch CUDA {theirs / args.steps * 1e3:.2f} ms/step, ratio {ours / theirs:.2f}"
        except ImportError:
            line += ", PyTorch not installed"
        print(line)


if __name__ == "__main__":
    main()
