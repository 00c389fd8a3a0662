"""Numerical gradient checking: is backpropagation computing the right numbers, and if not, where not?

``gradcheck(f, *inputs)`` compares the engine's gradients of ``f`` with central
differences, (f(x + ε) - f(x - ε)) / 2ε, in float64. ``check_graph(output)`` goes
further: it checks every operation of a graph *on its own*, so a wrong backward
is named, not just detected.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .autograd import no_grad, topo_sort
from .tensor import Context, Tensor, unbroadcast


class GradcheckError(AssertionError):
    """Raised by ``gradcheck`` when an analytic gradient disagrees with the numerical one."""


def _close(analytic, numeric, atol, rtol):
    return abs(analytic - numeric) <= atol + rtol * abs(numeric)


def _rel_error(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


def gradcheck(f, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check the gradients of ``f(*inputs)`` against central differences; True, or ``GradcheckError``.

    ``inputs`` are Tensors (those with ``requires_grad=True`` are checked) or arrays
    (all checked). A non-scalar output is reduced to sum(output * R) with a fixed random
    R, which tests the vector-Jacobian product the engine computes. Every element of
    every checked input is perturbed, so keep inputs small. Inputs are copied to float64;
    float32 inputs trigger a warning, since their round-off swamps ε.
    """
    tensors = []
    for i, x in enumerate(inputs):
        t = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
        if t.dtype == np.float32:
            warnings.warn(f"gradcheck: input {i} is float32; checking a float64 copy (float32 round-off is "
                          "about 1e-7, too coarse for finite differences with eps=1e-6)", stacklevel=2)
        tensors.append(t)
    checked = [Tensor(t.numpy().astype(np.float64), requires_grad=t.requires_grad) for t in tensors]
    if not any(t.requires_grad for t in checked):
        raise ValueError("gradcheck: no input requires a gradient; pass Tensors with requires_grad=True")

    out = f(*checked)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: f must return a Tensor, got {type(out).__name__}")
    weights = np.random.default_rng(seed).standard_normal(out.shape) if out.size != 1 else None

    def scalar(output):
        return float(output.data.sum() if weights is None else (output.data * weights).sum())

    loss = out.sum() if weights is None else (out * weights).sum()
    loss.backward()
    for i, t in enumerate(checked):
        if not t.requires_grad:
            continue
        analytic = t.grad if t.grad is not None else np.zeros_like(t.data)
        data = t.data
        for index in np.ndindex(*data.shape):
            original = data[index]
            data[index] = original + eps
            with no_grad():
                plus = scalar(f(*checked))
            data[index] = original - eps
            with no_grad():
                minus = scalar(f(*checked))
            data[index] = original
            numeric = (plus - minus) / (2 * eps)
            a = float(analytic[index])
            if not _close(a, numeric, atol, rtol):
                raise GradcheckError(
                    f"gradcheck failed for input {i} (shape {data.shape}) at index {index}: analytic gradient "
                    f"{a:.6g}, numerical {numeric:.6g}, relative error {_rel_error(a, numeric):.2e} "
                    f"(allowed: |a - n| <= {atol:g} + {rtol:g}|n|)")
    return True


# ------------------------------------------------------------------------------ check_graph

@dataclass
class BadOp:
    """The first operation whose backward disagrees with finite differences of that operation alone."""

    op: str
    node: Tensor
    input_index: int
    index: tuple
    analytic: float
    numeric: float
    rel_error: float

    def __str__(self):
        # short lines: JupyterLab breaks a printed line that is too long anywhere, even inside a word
        label = f" (output label {self.node.label!r})" if self.node.label else ""
        return (f"op '{self.op}'{label}:\n"
                f"  gradient for its input {self.input_index} at index {self.index} is {self.analytic:.6g},\n"
                f"  but finite differences of this op alone give {self.numeric:.6g} "
                f"(relative error {self.rel_error:.2e})")


@dataclass
class GraphReport:
    """What ``check_graph`` found: ``ok``, ``first_bad`` (a ``BadOp`` or None), and how many ops it checked."""

    ok: bool
    first_bad: BadOp | None
    checked_ops: int

    def __repr__(self):
        if self.ok:
            return f"check_graph: all {self.checked_ops} operations have correct backward rules"
        return f"check_graph: the first wrong backward is {self.first_bad}"

    def _repr_html_(self):
        import html

        from .theme import CODE_FONT, box_style

        return (f'<div style="{box_style("pass" if self.ok else "fail")};font-family:{CODE_FONT};'
                f'white-space:pre-wrap;overflow-wrap:break-word">{html.escape(repr(self))}</div>')


def check_graph(output, eps=1e-6, atol=1e-5, rtol=1e-3, max_entries=20, seed=0):
    """Check each operation of ``output``'s graph on its own; report the first one whose backward is wrong.

    For every node made by a ``Function``, in forward order, re-run that Function's forward
    on float64 copies of its inputs, pull a random upstream gradient g back through its
    backward, and compare with central differences of sum(forward(inputs) * g) — at up to
    ``max_entries`` entries of each input. Call it before ``backward()`` frees the graph
    (or after ``backward(retain_graph=True)``).
    """
    rng = np.random.default_rng(seed)
    checked = 0
    for node in topo_sort(output):
        if node._fn is None:
            continue
        if node._ctx is None or node._ctx.saved is None:
            raise RuntimeError("check_graph: the graph was freed by backward(); call check_graph first, or "
                               "use backward(retain_graph=True)")
        fn, kwargs = node._fn, node._ctx.kwargs
        arrays = [np.array(p.numpy(), dtype=np.float64) if p.dtype.kind == "f" else p.numpy()
                  for p in node._prev]
        needs = tuple(p.requires_grad and p.dtype.kind == "f" for p in node._prev)
        ctx = Context(needs, kwargs)
        out = np.asarray(fn.forward(ctx, *arrays, **kwargs), dtype=np.float64)
        g = rng.standard_normal(out.shape)
        grads = fn.backward(ctx, g)
        grads = grads if isinstance(grads, tuple) else (grads,)
        checked += 1
        for i, (x, need) in enumerate(zip(arrays, needs)):
            if not need:
                continue
            analytic = np.zeros_like(x) if grads[i] is None else unbroadcast(np.asarray(grads[i]), x.shape)
            if analytic.shape != x.shape:
                return GraphReport(False, BadOp(fn.__name__, node, i, (), float("nan"), float("nan"), float("inf")),
                                   checked)
            flat = list(np.ndindex(*x.shape))
            picks = flat if len(flat) <= max_entries else [flat[k] for k in
                                                             rng.choice(len(flat), max_entries, replace=False)]
            for index in picks:
                original = x[index]
                x[index] = original + eps
                plus = float((fn.forward(Context(needs, kwargs), *arrays, **kwargs) * g).sum())
                x[index] = original - eps
                minus = float((fn.forward(Context(needs, kwargs), *arrays, **kwargs) * g).sum())
                x[index] = original
                numeric = (plus - minus) / (2 * eps)
                a = float(analytic[index])
                if not _close(a, numeric, atol, rtol):
                    return GraphReport(False, BadOp(fn.__name__, node, i, index, a, numeric,
                                                    _rel_error(a, numeric)), checked)
    return GraphReport(True, None, checked)
