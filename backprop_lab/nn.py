"""Layers and losses built on ``Tensor``: ``Module``, ``Linear``, ``MLP``, activations, losses."""
from __future__ import annotations

import numpy as np

from .tensor import Tensor


class Module:
    """Base class of layers and models: finds its parameters, zeroes their gradients, is callable.

    Subclasses set Tensors with ``requires_grad=True`` (parameters) and other Modules as
    attributes, and define ``forward``.
    """

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def parameters(self):
        """Every Tensor that requires a gradient in this module and its sub-modules, once each, in order."""
        params, seen = [], set()

        def collect(obj):
            if isinstance(obj, Tensor):
                if obj.requires_grad and id(obj) not in seen:
                    seen.add(id(obj))
                    params.append(obj)
            elif isinstance(obj, Module):
                for value in vars(obj).values():
                    collect(value)
            elif isinstance(obj, (list, tuple)):
                for item in obj:
                    collect(item)

        collect(self)
        return params

    def zero_grad(self):
        """Forget the gradients of all parameters (set ``.grad`` to None)."""
        for p in self.parameters():
            p.grad = None

    def to(self, device):
        """Move every parameter to ``device`` ("cpu" or "cuda") in place; returns the module."""
        from . import backend

        for p in self.parameters():
            p.data = backend.move(p.data, device)
            p.grad = None
        return self

    def __repr__(self):
        inner = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if isinstance(v, Module))
        return f"{type(self).__name__}({inner})"


class Linear(Module):
    """``y = x @ W + b`` with W of shape (in_features, out_features) and b of shape (out_features,).

    ``init="he"`` (default; for ReLU networks) draws W ~ N(0, 2/in); ``init="glorot"``
    (for tanh/sigmoid) draws W ~ U(-a, a) with a = sqrt(6 / (in + out)). b starts at 0.
    ``rng`` is a ``np.random.Generator`` (or a seed) for reproducible weights.
    """

    def __init__(self, in_features, out_features, bias=True, rng=None, init="he", dtype=np.float64):
        rng = np.random.default_rng(rng)
        if init == "he":
            w = rng.normal(0.0, np.sqrt(2.0 / in_features), size=(in_features, out_features))
        elif init == "glorot":
            a = np.sqrt(6.0 / (in_features + out_features))
            w = rng.uniform(-a, a, size=(in_features, out_features))
        else:
            raise ValueError(f"Linear(init={init!r}): use 'he' (ReLU networks) or 'glorot' (tanh, sigmoid)")
        self.in_features, self.out_features = in_features, out_features
        self.W = Tensor(w.astype(dtype), requires_grad=True, label="W")
        self.b = Tensor(np.zeros(out_features, dtype=dtype), requires_grad=True, label="b") if bias else None

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x, dtype=self.W.dtype)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}): input has shape {x.shape}, its last "
                             f"axis must be {self.in_features} (one row per example, one column per feature)")
        y = x @ self.W
        return y + self.b if self.b is not None else y

    def __repr__(self):
        return f"Linear({self.in_features}, {self.out_features}, bias={self.b is not None})"


class ReLU(Module):
    def forward(self, x):
        return x.relu()


class Tanh(Module):
    def forward(self, x):
        return x.tanh()


class Sigmoid(Module):
    def forward(self, x):
        return x.sigmoid()


class Sequential(Module):
    """Apply modules one after the other."""

    def __init__(self, *layers):
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        return "Sequential(" + ", ".join(map(repr, self.layers)) + ")"


class MLP(Sequential):
    """A multi-layer perceptron: ``MLP([784, 64, 64, 10])`` is Linear-act-Linear-act-Linear.

    The activation class goes between layers, not after the last (which gives logits).
    Weights use He initialisation for ReLU and Glorot otherwise.
    """

    def __init__(self, sizes, activation=ReLU, rng=None, dtype=np.float64):
        if len(sizes) < 2:
            raise ValueError(f"MLP(sizes={sizes}): give at least the input and output sizes, e.g. [784, 64, 10]")
        rng = np.random.default_rng(rng)
        init = "he" if activation is ReLU else "glorot"
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(n_in, n_out, rng=rng, init=init, dtype=dtype))
            if i < len(sizes) - 2:
                layers.append(activation())
        super().__init__(*layers)
        self.sizes = list(sizes)


def mse_loss(pred, target):
    """Mean squared error: mean((pred - target)²) over every element."""
    target = target if isinstance(target, Tensor) else pred._lift(target)
    if pred.shape != target.shape:
        raise ValueError(f"mse_loss: pred has shape {pred.shape} and target {target.shape}; they must match "
                         "(reshape the target, e.g. y.reshape(-1, 1))")
    diff = pred - target
    return (diff * diff).mean()


def cross_entropy(logits, labels):
    """Mean over the batch of -log softmax(logits)[label], with the max shift (finite for any logits).

    ``logits``: (N, C) Tensor; ``labels``: (N,) integer class ids in [0, C).
    """
    labels = labels.data if isinstance(labels, Tensor) else labels
    labels = labels if hasattr(labels, "dtype") else np.asarray(labels)
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must have shape (N, C), got {logits.shape}")
    n, c = logits.shape
    if labels.dtype.kind not in "iu":
        hint = " — these look like one-hot rows: pass labels.argmax(axis=1)" if labels.ndim == 2 else ""
        raise TypeError(f"cross_entropy: labels must be integer class ids of shape ({n},), got dtype "
                        f"{labels.dtype} and shape {labels.shape}{hint}")
    if labels.shape != (n,):
        raise ValueError(f"cross_entropy: labels must have shape ({n},) to match logits {logits.shape}, "
                         f"got {labels.shape}")
    if n and (labels.min() < 0 or labels.max() >= c):
        raise ValueError(f"cross_entropy: labels must lie in [0, {c}), found {labels.min()}..{labels.max()}")
    from .rules import SoftmaxCrossEntropy  # fused for speed; same value as -log_softmax[range(N), y].mean()

    return SoftmaxCrossEntropy.apply(logits, labels=labels)
