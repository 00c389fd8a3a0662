"""Rules that exist for speed (or stability) against the composites they replace.

rules.py keeps composites as composites unless a measured speed-up justifies a rule; this measures the
ones that are rules for that reason. For each: the number of operations the autograd graph records,
and the time of forward + backward on a float32 batch (128 x 64, the MNIST MLP's hidden layer), the
rule and the composite alternating, best of --repeats rounds.

    python benchmarks/bench_rules.py [sigmoid|cross_entropy ...] [--repeats 7]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import backprop_lab as bl
from backprop_lab.autograd import topo_sort


def sigmoid_composite(x):
    """The stable composite: exp(log_sigmoid(x)) = exp(-softplus(-x)), finite in float32 for every x."""
    return (-(-x).softplus()).exp()


def cross_entropy_composite(logits, labels):
    return -logits.log_softmax(axis=1)[np.arange(len(labels)), labels].mean()


def cases(rng):
    x = rng.normal(size=(128, 64)).astype(np.float32) * 4
    logits, labels = rng.normal(size=(128, 10)).astype(np.float32), rng.integers(0, 10, 128)
    return {
        "sigmoid": (lambda t: t.sigmoid(), sigmoid_composite, (x,)),
        "cross_entropy": (lambda t: bl.nn.cross_entropy(t, labels), lambda t: cross_entropy_composite(t, labels),
                          (logits,)),
    }


def step(fn, arrays):
    ts = [bl.Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    (out.sum() if out.size != 1 else out).backward()
    return ts[0].grad


def best_time(fn, arrays, number=200):
    t = time.perf_counter()
    for _ in range(number):
        step(fn, arrays)
    return (time.perf_counter() - t) / number


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    table = cases(np.random.default_rng(0))
    for name in args.names or table:
        rule, composite, arrays = table[name]
        np.testing.assert_allclose(step(rule, arrays), step(composite, arrays), rtol=1e-4, atol=1e-6)
        counts = [sum(n._fn is not None for n in topo_sort(f(*[bl.Tensor(a, requires_grad=True) for a in arrays])))
                  for f in (rule, composite)]
        times = {"rule": [], "composite": []}
        for r in range(args.repeats):  # alternate which goes first
            for which in (("rule", "composite") if r % 2 == 0 else ("composite", "rule")):
                times[which].append(best_time(rule if which == "rule" else composite, arrays))
        t_rule, t_comp = min(times["rule"]), min(times["composite"])
        print(f"{name:14}: rule {t_rule * 1e6:7.1f} us ({counts[0]} recorded ops), composite {t_comp * 1e6:7.1f} us "
              f"({counts[1]} recorded ops): the rule is {t_comp / t_rule:.1f}x faster (same gradient)")


if __name__ == "__main__":
    main()
