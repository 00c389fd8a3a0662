"""Layers and losses built on ``Tensor``, named as in PyTorch's ``torch.nn`` and ``torch.nn.functional``.

Modules: ``Module`` (parameters, ``train``/``eval``, ``state_dict``/``load_state_dict``), ``Linear``,
``Sequential``, ``MLP``, ``ReLU``, ``Tanh``, ``Sigmoid``, ``Dropout``, ``LayerNorm``, ``Embedding``.
Losses: ``mse_loss``, ``cross_entropy``, ``nll_loss``, ``binary_cross_entropy``,
``binary_cross_entropy_with_logits``; and ``one_hot``. All are composites of the rules, except
``cross_entropy``'s common case (the fused ``SoftmaxCrossEntropy``).
"""
from __future__ import annotations

import math

import numpy as np

from .tensor import Tensor, maximum


class Module:
    """Base class of layers and models: finds its parameters, zeroes their gradients, is callable.

    Subclasses set Tensors with ``requires_grad=True`` (parameters) and other Modules as
    attributes, and define ``forward``. ``train()``/``eval()`` switch ``training`` (read by
    ``Dropout``) in the module and every sub-module.
    """

    training = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def named_parameters(self):
        """(dotted name, Tensor) for every parameter, once each, in order: ``layers.0.W``, ..."""
        named, seen = [], set()

        def collect(obj, prefix):
            if isinstance(obj, Tensor):
                if obj.requires_grad and id(obj) not in seen:
                    seen.add(id(obj))
                    named.append((prefix, obj))
            elif isinstance(obj, Module):
                for key, value in vars(obj).items():
                    collect(value, f"{prefix}.{key}" if prefix else key)
            elif isinstance(obj, (list, tuple)):
                for i, item in enumerate(obj):
                    collect(item, f"{prefix}.{i}" if prefix else str(i))

        collect(self, "")
        return named

    def parameters(self):
        """Every Tensor that requires a gradient in this module and its sub-modules, once each, in order."""
        return [p for _, p in self.named_parameters()]

    def modules(self):
        """This module and every sub-module, depth first."""
        found = [self]
        for value in vars(self).values():
            for item in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(item, Module):
                    found.extend(item.modules())
        return found

    def train(self, mode=True):
        """Training mode (``Dropout`` drops) for this module and its sub-modules; returns the module."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self):
        """Evaluation mode (``Dropout`` passes everything through); returns the module."""
        return self.train(False)

    def state_dict(self):
        """{name: a NumPy copy of the parameter's data} for every parameter (see ``named_parameters``).

        Copies, unlike PyTorch's (which share storage): training on cannot change a saved state.
        ``np.savez(path, **model.state_dict())`` writes it to disk.
        """
        return {name: np.array(p.numpy(), copy=True) for name, p in self.named_parameters()}

    def load_state_dict(self, state, strict=True):
        """Copy the arrays of ``state`` (as made by ``state_dict``, or an ``np.load`` of it) into the parameters.

        Each array keeps the parameter's dtype and device. With ``strict`` (the default), every
        parameter must be in ``state`` and nothing else; shapes must always match. Nothing is
        changed unless everything fits.
        """
        params = dict(self.named_parameters())
        state = dict(state)
        missing = [k for k in params if k not in state]
        unexpected = [k for k in state if k not in params]
        problems = []
        if strict and (missing or unexpected):
            problems.append(f"missing keys {missing}, unexpected keys {unexpected}")
        for name in params.keys() & state.keys():
            if np.shape(state[name]) != params[name].shape:
                problems.append(f"'{name}' has shape {np.shape(state[name])} in the state but {params[name].shape} "
                                "in the model")
        if problems:
            raise ValueError(f"load_state_dict into {type(self).__name__}: " + "; ".join(problems) +
                             ". Build the model with the same sizes as the one that was saved.")
        from . import backend

        for name in params.keys() & state.keys():
            p = params[name]
            value = backend.move(np.asarray(backend.to_numpy(state[name]), dtype=p.dtype), p.device)
            p.data = value
            p.grad = None
        return self

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


class Dropout(Module):
    """In training mode, zero each entry with probability ``p`` and scale the others by 1/(1 - p),
    so the expected output equals the input; in ``eval()`` mode, the identity.

    ``rng``: a ``np.random.Generator`` or seed for reproducible masks.
    """

    def __init__(self, p=0.5, rng=None):
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout(p={p}): p is a probability, in [0, 1]")
        self.p = p
        self.rng = np.random.default_rng(rng)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x * 0.0
        keep = self.rng.random(x.shape) >= self.p
        return x * x._lift(keep / (1 - self.p))

    def __repr__(self):
        return f"Dropout(p={self.p})"


class LayerNorm(Module):
    """Normalise over the last axes (``normalized_shape``) to mean 0 and variance 1, then scale and shift.

    y = (x - mean) / sqrt(var + eps) * weight + bias, with var the population variance (ddof=0),
    as in PyTorch; weight starts at 1 and bias at 0.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, dtype=np.float64):
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        self.weight = Tensor(np.ones(shape, dtype), requires_grad=True, label="weight") if elementwise_affine else None
        self.bias = Tensor(np.zeros(shape, dtype), requires_grad=True, label="bias") if elementwise_affine else None

    def forward(self, x):
        k = len(self.normalized_shape)
        if x.shape[x.ndim - k:] != self.normalized_shape:
            raise ValueError(f"LayerNorm({self.normalized_shape}): input has shape {x.shape}; its last {k} axes "
                             f"must be {self.normalized_shape}")
        axes = tuple(range(x.ndim - k, x.ndim))
        centred = x - x.mean(axis=axes, keepdims=True)
        y = centred / ((centred * centred).mean(axis=axes, keepdims=True) + self.eps).sqrt()
        return y * self.weight + self.bias if self.weight is not None else y

    def __repr__(self):
        return f"LayerNorm({self.normalized_shape}, eps={self.eps})"


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``; ``emb(ids)`` looks rows up.

    Rows start N(0, 1) as in PyTorch; the gradient of a row used several times adds up.
    """

    def __init__(self, num_embeddings, embedding_dim, rng=None, dtype=np.float64):
        rng = np.random.default_rng(rng)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Tensor(rng.standard_normal((num_embeddings, embedding_dim)).astype(dtype), requires_grad=True,
                             label="weight")

    def forward(self, ids):
        ids = np.asarray(ids.data if isinstance(ids, Tensor) else ids)
        if ids.dtype.kind not in "iu":
            raise TypeError(f"Embedding: ids must be integers, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            raise IndexError(f"Embedding({self.num_embeddings}, {self.embedding_dim}): ids must lie in "
                             f"[0, {self.num_embeddings}), found {ids.min()}..{ids.max()}")
        return self.weight[ids]

    def __repr__(self):
        return f"Embedding({self.num_embeddings}, {self.embedding_dim})"


# ---------------------------------------------------------------------------------- losses

REDUCTIONS = ("mean", "sum", "none")


def _reduce(losses, reduction, name, count=None):
    """Apply ``reduction``; ``count`` replaces the number of entries for the mean (ignored targets)."""
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    if reduction == "mean":
        return losses.mean() if count is None else losses.sum() * (1.0 / count if count else math.nan)
    raise ValueError(f"{name}(reduction={reduction!r}): use one of {REDUCTIONS}")


def mse_loss(pred, target, reduction="mean"):
    """Mean squared error: mean((pred - target)²) over every element (or their sum, or each, by ``reduction``)."""
    target = target if isinstance(target, Tensor) else pred._lift(target)
    if pred.shape != target.shape:
        raise ValueError(f"mse_loss: pred has shape {pred.shape} and target {target.shape}; they must match "
                         "(reshape the target, e.g. y.reshape(-1, 1))")
    diff = pred - target
    return _reduce(diff * diff, reduction, "mse_loss")


def _class_ids(labels):
    labels = labels.data if isinstance(labels, Tensor) else labels
    return labels if hasattr(labels, "dtype") else np.asarray(labels)


def cross_entropy(logits, labels, reduction="mean", ignore_index=-100, label_smoothing=0.0):
    """Mean over the batch of -log softmax(logits)[label], with the max shift (finite for any logits).

    ``logits``: (N, C) Tensor (also (C,), or (N, C, d1, ...) with the classes on axis 1, as PyTorch);
    ``labels``: (N,) integer class ids in [0, C) (or ``ignore_index``, which then adds nothing and is
    not counted in the mean), or class probabilities of the logits' shape. ``label_smoothing`` ε mixes
    the target with the uniform distribution: (1 - ε) onehot + ε / C. ``reduction``: "mean", "sum" or
    "none" (one loss per example).
    """
    shape = logits.data.shape
    if not shape:
        raise ValueError("cross_entropy: logits must have shape (N, C) (or (C,)), got a 0-d tensor")
    targets = _class_ids(labels)
    if targets.dtype.kind == "f" and targets.shape == shape:
        # class probabilities (a Tensor of them gets its gradient too, as in PyTorch)
        return _soft_cross_entropy(logits, logits._lift(labels), reduction, label_smoothing)
    labels = targets
    c_axis = 1 if len(shape) > 1 else 0
    n_classes = shape[c_axis]
    want = shape[:c_axis] + shape[c_axis + 1:]
    if labels.dtype.kind not in "iu":
        hint = " — or give class probabilities with the logits' shape" if labels.ndim == logits.ndim else ""
        raise TypeError(f"cross_entropy: labels must be integer class ids of shape {want}, got dtype "
                        f"{labels.dtype} and shape {labels.shape}{hint}")
    if labels.shape != want:
        raise ValueError(f"cross_entropy: labels must have shape {want} to match logits {logits.shape}, "
                         f"got {labels.shape}")
    ignored = _check_class_ids(labels, n_classes, ignore_index, "cross_entropy")
    if len(shape) == 2 and reduction == "mean" and not label_smoothing and not ignored and len(labels):
        from .rules import SoftmaxCrossEntropy  # fused for speed; same value as -log_softmax[range(N), y].mean()

        return SoftmaxCrossEntropy.apply(logits, labels=labels)
    valid = labels != ignore_index
    log_p = logits.log_softmax(axis=c_axis)
    losses = nll_loss(log_p, labels, reduction="none", ignore_index=ignore_index)
    if label_smoothing:
        uniform = -log_p.sum(axis=c_axis) * (1.0 / n_classes) * logits._lift(valid)
        losses = losses * (1.0 - label_smoothing) + uniform * label_smoothing
    return _reduce(losses, reduction, "cross_entropy", count=int(valid.sum()))


def _check_class_ids(labels, n_classes, ignore_index, name):
    """Raise unless every label is in [0, n_classes) or equal to ignore_index; True if some are ignored."""
    if not labels.size:
        return False
    low, high = labels.min(), labels.max()
    ignored = bool(low <= ignore_index <= high) and bool((labels == ignore_index).any())
    if ignored:
        kept = labels[labels != ignore_index]
        low, high = (kept.min(), kept.max()) if kept.size else (0, 0)
    if low < 0 or high >= n_classes:
        raise ValueError(f"{name}: labels must lie in [0, {n_classes}) (or equal ignore_index={ignore_index}), "
                         f"found {low}..{high}")
    return ignored


def _soft_cross_entropy(logits, target, reduction, label_smoothing):
    c_axis = 1 if logits.ndim > 1 else 0
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + label_smoothing / logits.shape[c_axis]
    losses = -(target * logits.log_softmax(axis=c_axis)).sum(axis=c_axis)
    return _reduce(losses, reduction, "cross_entropy")


def nll_loss(log_probs, labels, reduction="mean", ignore_index=-100):
    """Negative log-likelihood: -log_probs[n, labels[n]], reduced (pass ``log_softmax`` output).

    Shapes as ``cross_entropy``; entries whose label is ``ignore_index`` add nothing and are not
    counted by the mean.
    """
    labels = _class_ids(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: labels must be integer class ids, got dtype {labels.dtype}")
    c_axis = 1 if log_probs.ndim > 1 else 0
    want = log_probs.shape[:c_axis] + log_probs.shape[c_axis + 1:]
    if labels.shape != want:
        raise ValueError(f"nll_loss: labels must have shape {want} to match {log_probs.shape}, got {labels.shape}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"nll_loss(reduction={reduction!r}): use one of {REDUCTIONS}")
    _check_class_ids(labels, log_probs.shape[c_axis], ignore_index, "nll_loss")
    valid = labels != ignore_index
    safe = np.where(valid, labels, 0)
    index = tuple(np.indices(want, sparse=True))
    picked = log_probs[index[:c_axis] + (safe,) + index[c_axis:]]
    losses = -picked * log_probs._lift(valid)
    return _reduce(losses, reduction, "nll_loss", count=int(valid.sum()))


def binary_cross_entropy(probs, target, reduction="mean"):
    """-(y log p + (1 - y) log(1 - p)), each log clamped at -100 as PyTorch does (so p = 0 or 1 is finite).

    Prefer ``binary_cross_entropy_with_logits`` on the logits: it is exact where p rounds to 0 or 1.
    """
    target = target if isinstance(target, Tensor) else probs._lift(target)
    if probs.shape != target.shape:
        raise ValueError(f"binary_cross_entropy: probs {probs.shape} and target {target.shape} must have one shape")
    log_p = maximum(probs.log(), -100.0)
    log_not_p = maximum((1.0 - probs).log(), -100.0)
    return _reduce(-(target * log_p + (1.0 - target) * log_not_p), reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(logits, target, reduction="mean", pos_weight=None):
    """binary_cross_entropy(sigmoid(x), y) computed stably: (1 - y) x + softplus(-x) (or, with
    ``pos_weight`` w, (1 - y) x + (1 + (w - 1) y) softplus(-x), as PyTorch)."""
    target = target if isinstance(target, Tensor) else logits._lift(target)
    if logits.shape != target.shape:
        raise ValueError(f"binary_cross_entropy_with_logits: logits {logits.shape} and target {target.shape} "
                         "must have one shape")
    weight = 1.0 if pos_weight is None else 1.0 + (logits._lift(pos_weight) - 1.0) * target
    losses = (1.0 - target) * logits + (-logits).softplus() * weight
    return _reduce(losses, reduction, "binary_cross_entropy_with_logits")


def one_hot(labels, num_classes=None):
    """Integer labels -> rows with a 1 at each label (an int64 Tensor with one more axis, as PyTorch).

    ``num_classes`` defaults to max(labels) + 1.
    """
    labels = _class_ids(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers, got dtype {labels.dtype}")
    if num_classes is None or num_classes == -1:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"one_hot: labels must lie in [0, {num_classes}), found {labels.min()}..{labels.max()}")
    return Tensor((labels[..., None] == np.arange(num_classes)).astype(np.int64))
