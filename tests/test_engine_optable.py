"""The operation table, in the spirit of PyTorch's OpInfo: every public operation of the engine, on inputs drawn
by hypothesis (broadcasting, axes of size 0 and 1, 0-d tensors, negative axes), in float64 and float32.

For every drawn case: the forward pass against NumPy; in float64 the backward pass against central
differences (``bl.gradcheck``, every entry of every input); in float32 the result and gradients keep float32
and agree with float64; and, when PyTorch is installed, forward and gradients against PyTorch (skipped
cleanly otherwise). ``test_every_public_operation_is_in_the_table`` keeps the table complete.

Hypothesis runs derandomized: the same cases every run, so a failure reproduces and nothing flakes.
"""
from __future__ import annotations

import inspect
import math
import string
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import backprop_lab as bl

try:
    import torch
except ImportError:  # PyTorch is an optional oracle
    torch = None

EXAMPLES = 10  # hypothesis cases per operation and dtype
MAX_SIDE = 3


# ------------------------------------------------------------------------------------------------ the cases

@dataclass
class Case:
    arrays: list            # float64 input arrays (differentiable inputs first)
    params: dict = field(default_factory=dict)
    n_diff: int | None = None  # how many leading arrays are differentiable (default: all float ones)


def rng_of(data):
    return np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1), label="seed"))


def shape_st(min_dims=0, max_dims=3, min_side=0):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=MAX_SIDE)


def values(rng, shape, domain):
    """Inputs in the op's domain, kept away from kinks and singular points by more than the finite-difference step."""
    if domain == "real":
        return rng.normal(size=shape) * 1.5
    if domain == "positive":
        return rng.uniform(0.5, 2.0, size=shape)
    if domain == "unit":
        return rng.uniform(-0.9, 0.9, size=shape)
    if domain == "away":  # |x| >= 0.1: kinks at 0 (relu, abs, leaky_relu) are out of reach
        return rng.uniform(0.1, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    if domain == "distinct":  # no ties inside a tensor (max, min, prod's zeros are tested elsewhere)
        n = math.prod(shape)
        return (rng.permutation(n) * 0.37 - 0.2 * n + rng.uniform(0.01, 0.05, size=n)).reshape(shape)
    if domain == "prob":
        return rng.uniform(0.05, 0.95, size=shape)
    raise ValueError(domain)


def unary(domain="real", min_side=0):
    def draw(data):
        return Case([values(rng_of(data), data.draw(shape_st(min_side=min_side)), domain)])
    return draw


def binary(domain_a="real", domain_b="real", separated=False, swap=True):
    def draw(data):
        shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=MAX_SIDE))
        rng = rng_of(data)
        a, b = values(rng, shapes.input_shapes[0], domain_a), values(rng, shapes.input_shapes[1], domain_b)
        if separated:  # maximum/minimum: no pair within finite-difference reach of a tie
            assume(not np.any(np.abs(np.subtract(a, b)) < 1e-3))
        if swap and data.draw(st.booleans(), label="swap"):
            a, b = b, a
        return Case([a, b])
    return draw


def axis_st(ndim, allow_tuple=True, allow_none=True):
    options = [st.none()] if allow_none else []
    if ndim == 0:
        return st.one_of(*options, st.sampled_from([0, -1]))
    options.append(st.integers(-ndim, ndim - 1))
    if allow_tuple:
        options.append(st.lists(st.integers(0, ndim - 1), min_size=0, max_size=ndim, unique=True).flatmap(
            lambda axes: st.tuples(*[st.sampled_from([a, a - ndim]) for a in axes])))
    return st.one_of(*options)


def reduced_count(shape, axis):
    if axis is None:
        return math.prod(shape)
    if not shape:
        return 1
    return math.prod(shape[a] for a in np.atleast_1d(axis).tolist())


def reduction(domain="real", nonempty=False, tuple_axes=True, ddof=False, singular_ok=True):
    def draw(data):
        shape = data.draw(shape_st())
        axis = data.draw(axis_st(len(shape), allow_tuple=tuple_axes), label="axis")
        params = {"axis": axis, "keepdims": data.draw(st.booleans(), label="keepdims")}
        if ddof:
            params["ddof"] = data.draw(st.sampled_from([0, 1]), label="ddof")
        if nonempty or ddof:
            assume(reduced_count(shape, axis) > params.get("ddof", 0))
        if not singular_ok:  # std of a single entry: the constant 0, where sqrt'(0) gives nan (as in PyTorch)
            assume(reduced_count(shape, axis) >= 2)
        return Case([values(rng_of(data), shape, domain)], params)
    return draw


def along_axis(domain="real", nonempty=True):
    def draw(data):
        shape = data.draw(shape_st(min_dims=1))
        axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
        if nonempty:
            assume(shape[axis] > 0)
        return Case([values(rng_of(data), shape, domain)], {"axis": axis})
    return draw


def numpy_axis(axis):
    return axis if not isinstance(axis, tuple) else tuple(axis)


# ------------------------------------------------------------------------------------------------ the table

@dataclass
class Op:
    name: str                   # "Tensor.exp", "bl.where", "nn.cross_entropy", ...
    engine: Callable            # (*Tensors, **params) -> Tensor
    numpy: Callable             # (*float64 arrays, **params) -> array
    draw: Callable              # hypothesis data -> Case
    torch: Callable | None = None  # (*torch tensors, **params) -> torch tensor
    grad: bool = True           # False: the result is a constant (comparisons, argmax, creation)
    tol32: float = 2e-5         # relative tolerance of float32 against the float64 reference
    out_dtype: type | None = None  # a fixed result dtype (casts), else that of the inputs
    gradcheck_kw: dict = field(default_factory=dict)


def softplus_np(x, beta=1.0):
    return np.logaddexp(0, beta * x) / beta


def erf_np(x):
    return np.vectorize(math.erf, otypes=[float])(x) if np.size(x) else np.zeros(np.shape(x))


def logsumexp_np(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis if axis is not None else tuple(range(x.ndim)))


def log_softmax_np(x, axis):
    return x - logsumexp_np(x, axis=axis, keepdims=True)


def F():
    return torch.nn.functional


OPS: list[Op] = []


def op(name, engine, numpy, draw, torch_fn=None, **kw):
    OPS.append(Op(name, engine, numpy, draw, torch_fn, **kw))


# -- arithmetic
op("Tensor.__add__", lambda a, b: a + b, np.add, binary(), lambda a, b: a + b)
op("Tensor.__radd__", lambda a: 2.5 + a, lambda a: 2.5 + a, unary(), lambda a: 2.5 + a)
op("Tensor.__sub__", lambda a, b: a - b, np.subtract, binary(), lambda a, b: a - b)
op("Tensor.__rsub__", lambda a: 2.5 - a, lambda a: 2.5 - a, unary(), lambda a: 2.5 - a)
op("Tensor.__mul__", lambda a, b: a * b, np.multiply, binary(), lambda a, b: a * b)
op("Tensor.__rmul__", lambda a: 3.0 * a, lambda a: 3.0 * a, unary(), lambda a: 3.0 * a)
op("Tensor.__truediv__", lambda a, b: a / b, np.divide, binary("real", "away"), lambda a, b: a / b)
op("Tensor.__rtruediv__", lambda a: 2.0 / a, lambda a: 2.0 / a, unary("away"), lambda a: 2.0 / a)
op("Tensor.__neg__", lambda a: -a, np.negative, unary(), lambda a: -a)
op("Tensor.__pos__", lambda a: +a, np.positive, unary(), lambda a: +a)
op("Tensor.__pow__", lambda a, b: a ** b, np.power, binary("positive", "real", swap=False), lambda a, b: a ** b)


def pow_scalar(data):
    case = unary("away")(data)
    case.params["p"] = data.draw(st.sampled_from([0, 1, 2, 3, -1, -2]), label="p")
    return case


op("Tensor.__pow__(int)", lambda a, p: a ** p, lambda a, p: np.power(a, float(p)),
   pow_scalar, lambda a, p: a ** p)
op("Tensor.__rpow__", lambda a: 1.5 ** a, lambda a: 1.5 ** a, unary(), lambda a: 1.5 ** a)


def matmul_case(data):
    kind = data.draw(st.sampled_from(["vv", "mv", "vm", "mm", "bmm", "bm", "mb"]), label="kind")
    n, k, m, b = (data.draw(st.integers(0 if i < 2 else 1, MAX_SIDE)) for i in range(4))
    shapes = {"vv": ((k,), (k,)), "mv": ((n, k), (k,)), "vm": ((k,), (k, m)), "mm": ((n, k), (k, m)),
              "bmm": ((b, n, k), (b, k, m)), "bm": ((b, n, k), (k, m)), "mb": ((n, k), (b, k, m))}[kind]
    rng = rng_of(data)
    return Case([values(rng, s, "real") for s in shapes])


op("Tensor.__matmul__", lambda a, b: a @ b, np.matmul, matmul_case, lambda a, b: a @ b)
def rows(b):
    return b.shape[-2] if b.ndim > 1 else b.shape[0]


op("Tensor.__rmatmul__", lambda b: np.arange(rows(b) * 2.0).reshape(2, rows(b)) @ b,
   lambda b: np.arange(rows(b) * 2.0).reshape(2, rows(b)) @ b,
   lambda data: Case([values(rng_of(data), data.draw(shape_st(min_dims=1)), "real")]), None)
op("Tensor.abs", lambda a: a.abs(), np.abs, unary("away"), torch.abs if torch else None)
op("Tensor.__abs__", lambda a: abs(a), np.abs, unary("away"), torch.abs if torch else None)

# -- comparisons and logic (constants)
for dunder, ufunc in [("__eq__", np.equal), ("__ne__", np.not_equal), ("__lt__", np.less), ("__le__", np.less_equal),
                      ("__gt__", np.greater), ("__ge__", np.greater_equal)]:
    op(f"Tensor.{dunder}", (lambda d: lambda a, b: getattr(a, d)(b))(dunder), ufunc,
       lambda data: _rounded(binary()(data)), (lambda d: lambda a, b: getattr(a, d)(b))(dunder), grad=False)


def _rounded(case):  # equal entries happen on a coarse grid
    case.arrays = [np.round(a) for a in case.arrays]
    return case


def bools(data):
    case = binary()(data)
    case.arrays = [a > 0 for a in case.arrays]
    return case


op("Tensor.__and__", lambda a, b: a & b, np.logical_and, bools, lambda a, b: a & b, grad=False)
op("Tensor.__or__", lambda a, b: a | b, np.logical_or, bools, lambda a, b: a | b, grad=False)
op("Tensor.__xor__", lambda a, b: a ^ b, np.logical_xor, bools, lambda a, b: a ^ b, grad=False)
op("Tensor.__invert__", lambda a: ~(a > 0), lambda a: ~(a > 0), unary(), lambda a: ~(a > 0), grad=False)
for name in ("isnan", "isinf", "isfinite"):
    op(f"Tensor.{name}", (lambda n: lambda a: getattr(a / a, n)())(name), (lambda n: lambda a: getattr(np, n)(a / a))(name),
       lambda data: _with_zeros(unary()(data)), (lambda n: lambda a: getattr(torch, n)(a / a))(name), grad=False)


def _with_zeros(case):  # 0/0 = nan somewhere
    case.arrays = [np.where(np.abs(a) < 0.7, 0.0, a) for a in case.arrays]
    return case


# -- element-wise functions
ELEMENTWISE = [
    ("exp", np.exp, "real", "exp"), ("log", np.log, "positive", "log"), ("log2", np.log2, "positive", "log2"),
    ("log1p", np.log1p, "unit", "log1p"), ("expm1", np.expm1, "real", "expm1"), ("tanh", np.tanh, "real", "tanh"),
    ("relu", lambda x: np.maximum(x, 0), "away", "relu"), ("sigmoid", lambda x: 1 / (1 + np.exp(-x)), "real", "sigmoid"),
    ("sin", np.sin, "real", "sin"), ("cos", np.cos, "real", "cos"), ("erf", erf_np, "real", "erf"),
    ("sqrt", np.sqrt, "positive", "sqrt"), ("log_sigmoid", lambda x: -np.logaddexp(0, -x), "real", "logsigmoid"),
    ("logsigmoid", lambda x: -np.logaddexp(0, -x), "real", "logsigmoid"),
    ("silu", lambda x: x / (1 + np.exp(-x)), "real", "silu"),
]
for name, ref, domain, tname in ELEMENTWISE:
    op(f"Tensor.{name}", (lambda n: lambda a: getattr(a, n)())(name), ref, unary(domain),
       (lambda n: lambda a: getattr(torch, n)(a) if hasattr(torch, n) else getattr(F(), n)(a))(tname) if torch else None)
op("Tensor.sign", lambda a: a.sign(), np.sign, unary("away"), torch.sign if torch else None, grad=False)


def beta_case(data):
    case = unary()(data)
    case.params["beta"] = data.draw(st.sampled_from([1.0, 3.0, 1 / 3]), label="beta")
    return case


op("Tensor.softplus", lambda a, beta: a.softplus(beta), softplus_np, beta_case,
   lambda a, beta: F().softplus(a, beta=beta, threshold=1e9) if torch else None)
op("Tensor.leaky_relu", lambda a: a.leaky_relu(0.1), lambda a: np.where(a > 0, a, 0.1 * a), unary("away"),
   lambda a: F().leaky_relu(a, 0.1))


def gelu_case(data):
    case = unary()(data)
    case.params["approximate"] = data.draw(st.sampled_from(["none", "tanh"]), label="approximate")
    return case


def gelu_np(x, approximate):
    if approximate == "none":
        return 0.5 * x * (1 + erf_np(x / math.sqrt(2)))
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


op("Tensor.gelu", lambda a, approximate: a.gelu(approximate), gelu_np, gelu_case,
   lambda a, approximate: F().gelu(a, approximate=approximate))


def clip_case(data):
    case = unary()(data)
    lo, hi = sorted(data.draw(st.lists(st.sampled_from([-1.3, -0.4, 0.3, 1.1, None]), min_size=2, max_size=2),
                              label="bounds"), key=lambda v: -9 if v is None else v)
    assume(lo is not None or hi is not None)
    case.params = {"lo": lo, "hi": hi}
    assume(not any(np.any(np.abs(case.arrays[0] - b) < 1e-3) for b in (lo, hi) if b is not None))
    return case


for name in ("clip", "clamp"):
    op(f"Tensor.{name}", (lambda n: lambda a, lo, hi: getattr(a, n)(lo, hi))(name),
       lambda a, lo, hi: np.clip(a, lo, hi), clip_case, lambda a, lo, hi: torch.clamp(a, lo, hi))


def masked_case(data):
    case = unary()(data)
    rng = rng_of(data)
    case.params["mask"] = rng.random(case.arrays[0].shape) < 0.4
    return case


op("Tensor.masked_fill", lambda a, mask: a.masked_fill(mask, -2.0), lambda a, mask: np.where(mask, -2.0, a),
   masked_case, lambda a, mask: a.masked_fill(torch.from_numpy(np.asarray(mask)), -2.0))

# -- reductions
def on_axis(fn):
    """NumPy's reductions, except that a 0-d array accepts axis 0 and -1, as the engine and PyTorch do
    (np.sum does already; np.mean and np.var raise)."""
    return lambda a, axis=None, **kw: fn(a, axis=None if a.ndim == 0 and axis is not None else axis, **kw)


op("Tensor.sum", lambda a, axis, keepdims: a.sum(axis, keepdims), np.sum, reduction(),
   lambda a, axis, keepdims: a.sum(dim=axis, keepdim=keepdims) if axis != () else a * 1)
op("Tensor.prod", lambda a, axis, keepdims: a.prod(axis, keepdims), np.prod, reduction("real", tuple_axes=False),
   lambda a, axis, keepdims: a.prod(dim=axis, keepdim=keepdims) if axis is not None else
   a.prod().reshape([1] * a.ndim if keepdims else []))
op("Tensor.mean", lambda a, axis, keepdims: a.mean(axis, keepdims), on_axis(np.mean), reduction(nonempty=True),
   lambda a, axis, keepdims: a.mean(dim=axis, keepdim=keepdims) if axis != () else a * 1)
for name in ("max", "min"):
    op(f"Tensor.{name}", (lambda n: lambda a, axis, keepdims: getattr(a, n)(axis, keepdims))(name),
       on_axis(getattr(np, name)), reduction("distinct", nonempty=True),
       (lambda n: lambda a, axis, keepdims: a * 1 if axis == () else getattr(torch, "amax" if n == "max" else "amin")(
           a, dim=() if axis is None else axis, keepdim=keepdims))(name))
for name in ("var", "std"):
    op(f"Tensor.{name}", (lambda n: lambda a, axis, keepdims, ddof: getattr(a, n)(axis, keepdims, ddof=ddof))(name),
       on_axis(getattr(np, name)), reduction(ddof=True, singular_ok=name == "var"),
       (lambda n: lambda a, axis, keepdims, ddof: a * 0 if axis == () else getattr(a, n)(
           dim=axis, correction=ddof, keepdim=keepdims))(name))
op("Tensor.logsumexp", lambda a, axis, keepdims: a.logsumexp(axis, keepdims), logsumexp_np,
   reduction(nonempty=True), lambda a, axis, keepdims: torch.logsumexp(
       a, dim=tuple(range(a.ndim)) if axis is None else axis, keepdim=keepdims) if axis != () else a * 1)
op("Tensor.cumsum", lambda a, axis: a.cumsum(axis), np.cumsum, along_axis(nonempty=False),
   lambda a, axis: torch.cumsum(a, dim=axis))
op("Tensor.softmax", lambda a, axis: a.softmax(axis), lambda a, axis: np.exp(log_softmax_np(a, axis)), along_axis(),
   lambda a, axis: torch.softmax(a, dim=axis))
op("Tensor.log_softmax", lambda a, axis: a.log_softmax(axis), log_softmax_np, along_axis(),
   lambda a, axis: torch.log_softmax(a, dim=axis))


def arg_case(data):
    shape = data.draw(shape_st(min_dims=1, min_side=1))
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)), label="axis")
    return Case([values(rng_of(data), shape, "distinct")], {"axis": axis, "keepdims": data.draw(st.booleans())})


for name in ("argmax", "argmin"):
    op(f"Tensor.{name}", (lambda n: lambda a, axis, keepdims: getattr(a, n)(axis, keepdims))(name),
       (lambda n: lambda a, axis, keepdims: getattr(np, n)(a, axis=axis, keepdims=keepdims and axis is not None))(name),
       arg_case, (lambda n: lambda a, axis, keepdims: getattr(torch, n)(a) if axis is None else getattr(torch, n)(
           a, dim=axis, keepdim=keepdims))(name),
       grad=False)
for name in ("any", "all"):
    op(f"Tensor.{name}", (lambda n: lambda a, axis, keepdims: getattr(a > 0, n)(axis, keepdims))(name),
       (lambda n: lambda a, axis, keepdims: getattr(np, n)(a > 0, axis=axis, keepdims=keepdims))(name),
       reduction(), None, grad=False)

# -- shapes


def reshape_case(data):
    shape = data.draw(shape_st())
    n = math.prod(shape)
    factors = [d for d in range(1, n + 1) if n % d == 0] or [0]
    first = data.draw(st.sampled_from(factors), label="first")
    new = data.draw(st.sampled_from([(first, -1) if n else (0, 5), (n,), (1, n, 1), (-1,)]), label="shape")
    return Case([values(rng_of(data), shape, "real")], {"shape": new})


for name in ("reshape", "view"):
    op(f"Tensor.{name}", (lambda nm: lambda a, shape: getattr(a, nm)(shape))(name), lambda a, shape: np.reshape(a, shape),
       reshape_case, lambda a, shape: a.reshape(shape))


def perm_case(data):
    shape = data.draw(shape_st())
    perm = data.draw(st.permutations(range(len(shape))), label="perm")
    perm = tuple(p - len(shape) if data.draw(st.booleans()) else p for p in perm)  # negative axes too
    return Case([values(rng_of(data), shape, "real")], {"axes": perm})


op("Tensor.permute", lambda a, axes: a.permute(axes), lambda a, axes: np.transpose(a, axes), perm_case,
   lambda a, axes: a.permute(axes))


def two_axes_case(data):
    shape = data.draw(shape_st(min_dims=1))
    n = len(shape)
    d0, d1 = (data.draw(st.integers(-n, n - 1)) for _ in range(2))
    return Case([values(rng_of(data), shape, "real")], {"d0": d0, "d1": d1})


op("Tensor.transpose", lambda a, d0, d1: a.transpose(d0, d1), lambda a, d0, d1: np.swapaxes(a, d0, d1),
   two_axes_case, lambda a, d0, d1: a.transpose(d0, d1))
op("Tensor.swapaxes", lambda a, d0, d1: a.swapaxes(d0, d1), lambda a, d0, d1: np.swapaxes(a, d0, d1),
   two_axes_case, lambda a, d0, d1: a.transpose(d0, d1))
op("Tensor.transpose(perm)", lambda a, axes: a.transpose(*axes) if len(axes) != 2 else a.transpose(axes[0], axes[1]),
   lambda a, axes: np.transpose(a, axes) if len(axes) != 2 else np.swapaxes(a, *axes), perm_case, None)
op("Tensor.T", lambda a: a.T, lambda a: a.T, unary(), lambda a: a.permute(tuple(reversed(range(a.ndim)))))


def broadcast_case(data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=1, min_dims=0, max_dims=3, max_side=MAX_SIDE))
    return Case([values(rng_of(data), shapes.input_shapes[0], "real")], {"shape": shapes.result_shape})


op("Tensor.broadcast_to", lambda a, shape: a.broadcast_to(shape), np.broadcast_to, broadcast_case,
   lambda a, shape: a.broadcast_to(shape))
op("Tensor.expand", lambda a, shape: a.expand(*shape), np.broadcast_to, broadcast_case, lambda a, shape: a.expand(shape))


def flatten_case(data):
    shape = data.draw(shape_st(min_dims=1))
    n = len(shape)
    start, end = sorted(data.draw(st.integers(0, n - 1)) for _ in range(2))
    neg = data.draw(st.booleans())
    return Case([values(rng_of(data), shape, "real")], {"start": start - n if neg else start, "end": end})


def flatten_np(a, start, end):
    start %= a.ndim
    return a.reshape(a.shape[:start] + (math.prod(a.shape[start:end + 1]),) + a.shape[end + 1:])


op("Tensor.flatten", lambda a, start, end: a.flatten(start, end), flatten_np, flatten_case,
   lambda a, start, end: a.flatten(start, end))


def squeeze_case(data):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=2))
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1) if shape else st.sampled_from([0, -1])))
    return Case([values(rng_of(data), shape, "real")], {"axis": axis})


def squeeze_np(a, axis):
    if axis is None:
        return np.squeeze(a)
    return np.squeeze(a, axis) if a.ndim and a.shape[axis] == 1 else a


op("Tensor.squeeze", lambda a, axis: a.squeeze(axis), squeeze_np, squeeze_case,
   lambda a, axis: a.squeeze() if axis is None else a.squeeze(axis))


def unsqueeze_case(data):
    shape = data.draw(shape_st())
    return Case([values(rng_of(data), shape, "real")], {"axis": data.draw(st.integers(-len(shape) - 1, len(shape)))})


op("Tensor.unsqueeze", lambda a, axis: a.unsqueeze(axis), np.expand_dims, unsqueeze_case,
   lambda a, axis: a.unsqueeze(axis))


def flip_case(data):
    shape = data.draw(shape_st())
    axes = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=len(shape)) if shape else st.just([]))
    return Case([values(rng_of(data), shape, "real")], {"axis": tuple(axes)})


op("Tensor.flip", lambda a, axis: a.flip(axis), lambda a, axis: np.flip(a, axis), flip_case,
   lambda a, axis: torch.flip(a, axis))


def pad_case(data):
    shape = data.draw(shape_st())
    widths = tuple((data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))) for _ in shape)
    return Case([values(rng_of(data), shape, "real")], {"widths": widths, "value": data.draw(st.sampled_from([0.0, 1.5]))})


op("Tensor.pad", lambda a, widths, value: a.pad(widths, value),
   lambda a, widths, value: np.pad(a, widths, constant_values=value) if a.ndim else a, pad_case,
   lambda a, widths, value: a * 1 if a.ndim == 0 else F().pad(a, [w for pair in reversed(widths) for w in pair],
                                                                 value=value))


def reps_case(data):
    shape = data.draw(shape_st(max_dims=2))
    reps = tuple(data.draw(st.lists(st.integers(0, 2), min_size=len(shape), max_size=len(shape) + 1)))
    return Case([values(rng_of(data), shape, "real")], {"reps": reps})


op("Tensor.repeat", lambda a, reps: a.repeat(*reps), np.tile, reps_case,
   lambda a, reps: a.repeat(*reps) if reps else a * 1)
op("Tensor.tile", lambda a, reps: a.tile(reps), np.tile, reps_case, lambda a, reps: a.tile(reps))


def interleave_case(data):
    shape = data.draw(shape_st())
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)) if shape else st.none())
    return Case([values(rng_of(data), shape, "real")], {"repeats": data.draw(st.integers(0, 3)), "axis": axis})


op("Tensor.repeat_interleave", lambda a, repeats, axis: a.repeat_interleave(repeats, axis),
   lambda a, repeats, axis: np.repeat(a, repeats, axis), interleave_case,
   lambda a, repeats, axis: a.repeat_interleave(repeats, dim=axis))


def split_case(data):
    case = along_axis(nonempty=False)(data)
    n = case.arrays[0].shape[case.params["axis"]]
    case.params["size"] = data.draw(st.integers(1, max(n, 1)))
    return case


def pieces_np(a, size, axis):
    n = a.shape[axis]
    bounds = list(range(size, n, size))
    return np.concatenate([p.reshape(-1) for p in np.split(a, bounds, axis=axis)])


def chunks_np(a, size, axis):
    n = a.shape[axis]
    return pieces_np(a, max(1, -(-n // size)), axis)


op("Tensor.split", lambda a, size, axis: bl.cat([p.flatten() for p in a.split(size, axis)]), pieces_np, split_case,
   lambda a, size, axis: torch.cat([p.flatten() for p in a.split(size, axis)]))
op("Tensor.chunk", lambda a, size, axis: bl.cat([p.flatten() for p in a.chunk(size, axis)]), chunks_np, split_case,
   lambda a, size, axis: a.flatten() * 1 if a.shape[axis] == 0 else torch.cat([p.flatten() for p in a.chunk(size, axis)]))


def index_case(data):
    shape = data.draw(shape_st(min_dims=1))
    rng = rng_of(data)
    parts = []
    for n in shape:
        kind = data.draw(st.sampled_from(["slice", "int", "array", "none", "full"] + (["mask"] if not parts else [])))
        if kind == "slice":
            step = data.draw(st.sampled_from([1, 2, -1]))
            parts.append(slice(data.draw(st.integers(-n - 1, n)), data.draw(st.integers(-n - 1, n)), step))
        elif kind == "int" and n:
            parts.append(int(data.draw(st.integers(-n, n - 1))))
        elif kind == "array" and n:
            parts.append(rng.integers(-n, n, size=data.draw(st.integers(0, 4))))  # repeats accumulate
        elif kind == "mask":
            parts.append(rng.random(n) < 0.5)
        elif kind == "none":
            parts.extend([None, slice(None)])
        else:
            parts.append(slice(None))
    if len([p for p in parts if isinstance(p, np.ndarray)]) > 1:  # keep one advanced index (NumPy's mixed rules)
        first = next(i for i, p in enumerate(parts) if isinstance(p, np.ndarray))
        parts = [p if i == first or not isinstance(p, np.ndarray) else slice(None) for i, p in enumerate(parts)]
    if data.draw(st.booleans()) and len(parts) > 1:
        parts = parts[:1] + [Ellipsis]
    return Case([values(rng, shape, "real")], {"index": tuple(parts)})


op("Tensor.__getitem__", lambda a, index: a[index], lambda a, index: a[index], index_case, None)
op("Tensor.astype", lambda a: a.astype(np.float64), lambda a: a, unary(), lambda a: a.double(), out_dtype=np.float64)
op("Tensor.double", lambda a: a.double(), lambda a: a, unary(), lambda a: a.double(), out_dtype=np.float64)
# float32 round-off (about 6e-8) swamps a central difference with eps = 1e-6: a bigger step for the cast
op("Tensor.float", lambda a: a.float(), lambda a: a.astype(np.float32), unary(), lambda a: a.float(),
   out_dtype=np.float32, gradcheck_kw={"eps": 1e-3, "atol": 1e-4, "rtol": 1e-3})

# -- module-level functions
op("bl.maximum", bl.maximum, np.maximum, binary(separated=True), torch.maximum if torch else None)
op("bl.minimum", bl.minimum, np.minimum, binary(separated=True), torch.minimum if torch else None)


def where_case(data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=MAX_SIDE))
    rng = rng_of(data)
    a, b = (values(rng, s, "real") for s in shapes.input_shapes[:2])
    return Case([a, b], {"cond": rng.random(shapes.input_shapes[2]) < 0.5})


op("bl.where", lambda a, b, cond: bl.where(cond, a, b), lambda a, b, cond: np.where(cond, a, b), where_case,
   lambda a, b, cond: torch.where(torch.from_numpy(np.asarray(cond)), a, b))


def cat_case(data):
    shape = list(data.draw(shape_st(min_dims=1)))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    rng = rng_of(data)
    arrays = []
    for _ in range(data.draw(st.integers(1, 3))):
        shape[axis] = data.draw(st.integers(0, MAX_SIDE))
        arrays.append(values(rng, tuple(shape), "real"))
    return Case(arrays, {"axis": axis})


def stack_case(data):
    shape = data.draw(shape_st())
    rng = rng_of(data)
    arrays = [values(rng, shape, "real") for _ in range(data.draw(st.integers(1, 3)))]
    return Case(arrays, {"axis": data.draw(st.integers(-len(shape) - 1, len(shape)))})


for name in ("cat", "concatenate"):
    op(f"bl.{name}", (lambda n: lambda *xs, axis: getattr(bl, n)(list(xs), axis=axis))(name),
       lambda *xs, axis: np.concatenate(xs, axis=axis), cat_case, lambda *xs, axis: torch.cat(xs, dim=axis))
op("bl.stack", lambda *xs, axis: bl.stack(list(xs), axis=axis), lambda *xs, axis: np.stack(xs, axis=axis), stack_case,
   lambda *xs, axis: torch.stack(xs, dim=axis))


@st.composite
def einsum_spec(draw):
    """A random einsum NumPy accepts: 1-3 operands, repeated letters, letters of size 1 broadcast, ellipses,
    implicit or explicit output, string or sublist form."""
    letters = "abcd"
    size = {c: draw(st.integers(1, 3)) for c in letters}
    n_ops = draw(st.integers(1, 3))
    ell = draw(st.integers(0, 2)) if draw(st.booleans()) else None
    subs, shapes = [], []
    for _ in range(n_ops):
        term = draw(st.lists(st.sampled_from(letters), max_size=3))
        ones = {c for c in set(term) if draw(st.integers(0, 3)) == 0}  # broadcast this letter from size 1
        shape = [1 if c in ones else size[c] for c in term]
        if ell is not None and draw(st.booleans()):
            k = draw(st.integers(0, ell))
            shape = [draw(st.sampled_from([1, 2])) for _ in range(k)] + shape
            term = ["..."] + term
        subs.append(term)
        shapes.append(tuple(shape))
    used = sorted({c for t in subs for c in t if c != "..."})
    explicit = draw(st.booleans())
    out = draw(st.permutations(used)).__getitem__(slice(0, draw(st.integers(0, len(used))))) if explicit else None
    has_ell = any("..." in t for t in subs)
    if explicit and has_ell and draw(st.booleans()):
        out = ["..."] + list(out)
    spec = ",".join("".join(t) for t in subs) + ("->" + "".join(out) if explicit else "")
    sublist = draw(st.booleans())
    return spec, shapes, subs, (list(out) if explicit else None), sublist


def einsum_case(data):
    spec, shapes, subs, out, sublist = data.draw(einsum_spec(), label="einsum")
    rng = rng_of(data)
    arrays = [values(rng, s, "real") for s in shapes]
    try:
        np.einsum(spec, *arrays)
    except ValueError:
        assume(False)  # e.g. "...ii" with mismatched ellipsis broadcasting: NumPy rejects it too
    return Case(arrays, {"spec": spec, "subs": subs, "out": out, "sublist": sublist})


def _sublist(term):
    return [Ellipsis if c == "..." else string.ascii_letters.index(c) for c in term]


def einsum_engine(*xs, spec, subs, out, sublist):
    if not sublist:
        return bl.einsum(spec, *xs)
    args = [a for x, t in zip(xs, subs) for a in (x, _sublist(t))]
    return bl.einsum(*args, *([_sublist(out)] if out is not None else []))


op("bl.einsum", einsum_engine, lambda *xs, spec, subs, out, sublist: np.einsum(spec, *xs), einsum_case,
   lambda *xs, spec, subs, out, sublist: torch.einsum(spec, *xs))

# -- nn: losses


def loss_case(kind):
    def draw(data):
        rng = rng_of(data)
        n, c = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
        extra = data.draw(st.sampled_from([(), (), (2,)]))
        reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
        logits = values(rng, (n, c) + extra, "real")
        if kind == "probabilities":
            target = rng.dirichlet(np.ones(c), size=(n,) + extra)
            target = np.moveaxis(target, -1, 1)
            smoothing = data.draw(st.sampled_from([0.0, 0.25]))
            return Case([logits], {"target": target, "reduction": reduction, "smoothing": smoothing,
                                   "ignore": -100})
        labels = rng.integers(0, c, size=(n,) + extra)
        ignore = -100
        if data.draw(st.booleans()) and labels.size > 1:
            ignore = int(labels.flat[0])
            assume(np.any(labels != ignore))
        smoothing = data.draw(st.sampled_from([0.0, 0.25])) if kind == "ce" else 0.0
        return Case([logits], {"target": labels, "reduction": reduction, "smoothing": smoothing, "ignore": ignore})
    return draw


def ce_np(x, target, reduction, smoothing, ignore):
    log_p = log_softmax_np(x, 1)
    c = x.shape[1]
    if target.dtype.kind == "f":
        t = target * (1 - smoothing) + smoothing / c
        losses = -(t * log_p).sum(1)
        return {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]
    valid = target != ignore
    onehot = np.moveaxis(np.eye(c)[np.where(valid, target, 0)], -1, 1)
    t = onehot * (1 - smoothing) + smoothing / c
    losses = -(t * log_p).sum(1) * valid
    return {"mean": losses.sum() / valid.sum(), "sum": losses.sum(), "none": losses}[reduction]


op("nn.cross_entropy", lambda x, target, reduction, smoothing, ignore: bl.nn.cross_entropy(
    x, target, reduction=reduction, ignore_index=ignore, label_smoothing=smoothing), ce_np, loss_case("ce"),
   lambda x, target, reduction, smoothing, ignore: F().cross_entropy(
       x, torch.from_numpy(target), reduction=reduction, ignore_index=ignore, label_smoothing=smoothing))
op("nn.cross_entropy(probabilities)", lambda x, target, reduction, smoothing, ignore: bl.nn.cross_entropy(
    x, target, reduction=reduction, label_smoothing=smoothing), ce_np, loss_case("probabilities"),
   lambda x, target, reduction, smoothing, ignore: F().cross_entropy(
       x, torch.from_numpy(target).to(x.dtype), reduction=reduction, label_smoothing=smoothing))


def nll_np(x, target, reduction, smoothing, ignore):
    valid = target != ignore
    picked = np.take_along_axis(x, np.expand_dims(np.where(valid, target, 0), 1), 1).squeeze(1)
    losses = -picked * valid
    return {"mean": losses.sum() / valid.sum(), "sum": losses.sum(), "none": losses}[reduction]


op("nn.nll_loss", lambda x, target, reduction, smoothing, ignore: bl.nn.nll_loss(
    x, target, reduction=reduction, ignore_index=ignore), nll_np, loss_case("nll"),
   lambda x, target, reduction, smoothing, ignore: F().nll_loss(
       x, torch.from_numpy(target), reduction=reduction, ignore_index=ignore))


def binary_loss_case(domain):
    def draw(data):
        rng = rng_of(data)
        shape = data.draw(shape_st(min_side=1))
        params = {"target": rng.uniform(0, 1, size=shape), "reduction": data.draw(st.sampled_from(["mean", "sum", "none"]))}
        return Case([values(rng, shape, domain)], params)
    return draw


def reduce_np(losses, reduction):
    return {"mean": np.mean(losses), "sum": np.sum(losses), "none": losses}[reduction]


op("nn.binary_cross_entropy", lambda p, target, reduction: bl.nn.binary_cross_entropy(p, target, reduction),
   lambda p, target, reduction: reduce_np(-(target * np.log(p) + (1 - target) * np.log(1 - p)), reduction),
   binary_loss_case("prob"), lambda p, target, reduction: F().binary_cross_entropy(
       p, torch.from_numpy(target).to(p.dtype), reduction=reduction))
op("nn.binary_cross_entropy_with_logits",
   lambda x, target, reduction: bl.nn.binary_cross_entropy_with_logits(x, target, reduction),
   lambda x, target, reduction: reduce_np((1 - target) * x + np.logaddexp(0, -x), reduction),
   binary_loss_case("real"), lambda x, target, reduction: F().binary_cross_entropy_with_logits(
       x, torch.from_numpy(target).to(x.dtype), reduction=reduction))
op("nn.mse_loss", lambda a, b: bl.nn.mse_loss(a, b), lambda a, b: np.mean((a - b) ** 2),
   lambda data: _same_shape(data), lambda a, b: F().mse_loss(a, b))


def _same_shape(data):
    shape = data.draw(shape_st(min_side=1))
    rng = rng_of(data)
    return Case([values(rng, shape, "real"), values(rng, shape, "real")])


def one_hot_case(data):
    rng = rng_of(data)
    c = data.draw(st.integers(1, 4))
    return Case([rng.integers(0, c, size=data.draw(shape_st()))], {"c": c}, n_diff=0)


op("nn.one_hot", lambda y, c: bl.nn.one_hot(y, c), lambda y, c: np.eye(c, dtype=np.int64)[y], one_hot_case,
   lambda y, c: F().one_hot(y.long(), c), grad=False)

# -- nn: modules as operations on their input and parameters


def linear_case(data):
    rng = rng_of(data)
    n, i, o = (data.draw(st.integers(1, 3)) for _ in range(3))
    lead = data.draw(st.sampled_from([(), (2,)]))
    return Case([values(rng, lead + (n, i), "real"), values(rng, (i, o), "real"), values(rng, (o,), "real")])


def linear_engine(x, W, b):
    layer = bl.nn.Linear(*W.shape)
    layer.W, layer.b = W, b
    return layer(x)


op("nn.Linear", linear_engine, lambda x, W, b: x @ W + b, linear_case, lambda x, W, b: x @ W + b)


def layer_norm_case(data):
    rng = rng_of(data)
    shape = data.draw(shape_st(min_dims=1, min_side=2))
    k = data.draw(st.integers(1, len(shape)))
    norm = shape[len(shape) - k:]
    return Case([values(rng, shape, "real"), values(rng, norm, "real"), values(rng, norm, "real")])


def layer_norm_engine(x, w, b):
    layer = bl.nn.LayerNorm(w.shape)
    layer.weight, layer.bias = w, b
    return layer(x)


def layer_norm_np(x, w, b):
    axes = tuple(range(x.ndim - w.ndim, x.ndim))
    centred = x - x.mean(axis=axes, keepdims=True)
    return centred / np.sqrt((centred ** 2).mean(axis=axes, keepdims=True) + 1e-5) * w + b


op("nn.LayerNorm", layer_norm_engine, layer_norm_np, layer_norm_case,
   lambda x, w, b: F().layer_norm(x, tuple(w.shape), w, b), tol32=1e-4)


def embedding_case(data):
    rng = rng_of(data)
    n, d = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 3))
    return Case([values(rng, (n, d), "real")], {"ids": rng.integers(0, n, size=data.draw(shape_st()))})


def embedding_engine(w, ids):
    emb = bl.nn.Embedding(*w.shape)
    emb.weight = w
    return emb(ids)


op("nn.Embedding", embedding_engine, lambda w, ids: w[ids], embedding_case,
   lambda w, ids: F().embedding(torch.from_numpy(np.asarray(ids)), w))


def dropout_case(data):
    case = unary()(data)
    case.params = {"p": data.draw(st.sampled_from([0.0, 0.3, 1.0])), "seed": data.draw(st.integers(0, 99)),
                   "train": data.draw(st.booleans())}
    return case


def dropout_engine(x, p, seed, train):
    return bl.nn.Dropout(p, rng=seed).train(train)(x)


def dropout_np(x, p, seed, train):
    if not train or p == 0:
        return x
    if p == 1:
        return x * 0
    return x * ((np.random.default_rng(seed).random(x.shape) >= p) / (1 - p))


op("nn.Dropout", dropout_engine, dropout_np, dropout_case, None)

# -- creation (constants)


def creation_case(data):
    return Case([], {"shape": data.draw(shape_st()), "seed": data.draw(st.integers(0, 99))}, n_diff=0)


CREATION = {
    "zeros": (lambda shape, seed: bl.zeros(shape), lambda shape, seed: np.zeros(shape),
              lambda shape, seed: torch.zeros(shape, dtype=torch.float64)),
    "ones": (lambda shape, seed: bl.ones(*shape), lambda shape, seed: np.ones(shape),
             lambda shape, seed: torch.ones(shape, dtype=torch.float64)),
    "full": (lambda shape, seed: bl.full(shape, 2.5), lambda shape, seed: np.full(shape, 2.5),
             lambda shape, seed: torch.full(shape, 2.5, dtype=torch.float64)),
    "rand": (lambda shape, seed: bl.rand(shape, rng=seed), lambda shape, seed: np.random.default_rng(seed).random(shape),
             None),
    "randn": (lambda shape, seed: bl.randn(*shape, rng=np.random.default_rng(seed)),
              lambda shape, seed: np.random.default_rng(seed).standard_normal(shape), None),
    "zeros_like": (lambda shape, seed: bl.zeros_like(np.ones(shape)), lambda shape, seed: np.zeros(shape), None),
    "ones_like": (lambda shape, seed: bl.ones_like(bl.Tensor(np.ones(shape))), lambda shape, seed: np.ones(shape), None),
    "full_like": (lambda shape, seed: bl.full_like(np.ones(shape), -1.0), lambda shape, seed: np.full(shape, -1.0), None),
    "rand_like": (lambda shape, seed: bl.rand_like(np.ones(shape), rng=seed),
                  lambda shape, seed: np.random.default_rng(seed).random(shape), None),
    "randn_like": (lambda shape, seed: bl.randn_like(np.ones(shape), rng=seed),
                   lambda shape, seed: np.random.default_rng(seed).standard_normal(shape), None),
    "arange": (lambda shape, seed: bl.arange(seed % 7, 10, 1 + seed % 3), lambda shape, seed: np.arange(seed % 7, 10, 1 + seed % 3),
               lambda shape, seed: torch.arange(seed % 7, 10, 1 + seed % 3)),
    "eye": (lambda shape, seed: bl.eye(seed % 4, (seed // 4) % 4), lambda shape, seed: np.eye(seed % 4, (seed // 4) % 4),
            lambda shape, seed: torch.eye(seed % 4, (seed // 4) % 4, dtype=torch.float64)),
}
for name, (eng, ref, tor) in CREATION.items():
    op(f"bl.{name}", eng, ref, creation_case, tor if torch else None, grad=False)

OP_BY_NAME = {o.name: o for o in OPS}
assert len(OP_BY_NAME) == len(OPS), "duplicate names in the op table"


# ------------------------------------------------------------------------------------------------ the checks

def as_tensor(a, dtype, requires_grad):
    if a.dtype.kind == "f":
        return bl.Tensor(a.astype(dtype), requires_grad=requires_grad)
    return bl.Tensor(a)


def n_diff(case):
    return sum(a.dtype.kind == "f" for a in case.arrays) if case.n_diff is None else case.n_diff


def run_engine(o, case, dtype, requires_grad=True):
    k = n_diff(case)
    tensors = [as_tensor(a, dtype, requires_grad and i < k and o.grad) for i, a in enumerate(case.arrays)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 in the isnan cases, as in NumPy
        return tensors, o.engine(*tensors, **case.params)


def reference(o, case):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(o.numpy(*case.arrays, **case.params))


def check_forward(o, case, dtype):
    _, out = run_engine(o, case, dtype, requires_grad=False)
    ref = reference(o, case)
    assert out.shape == ref.shape, f"{o.name}: shape {out.shape}, NumPy {ref.shape}"
    if ref.dtype.kind == "f":
        floats = any(a.dtype.kind == "f" for a in case.arrays)
        expected_dtype = o.out_dtype or (np.float32 if dtype == np.float32 and floats else np.float64)
        assert out.dtype == expected_dtype, f"{o.name}: {dtype.__name__} inputs gave {out.dtype}"
        rtol, atol = (1e-9, 1e-12) if out.dtype == np.float64 and dtype == np.float64 else (o.tol32, 1e-5)
        np.testing.assert_allclose(out.numpy(), ref, rtol=rtol, atol=atol, err_msg=f"{o.name} forward")
    else:
        np.testing.assert_array_equal(out.numpy(), ref, err_msg=f"{o.name} forward")
    return out


def check_backward64(o, case):
    k = n_diff(case)
    if not o.grad or k == 0:
        return
    rest = case.arrays[k:]

    def f(*xs):
        return o.engine(*xs, *[bl.Tensor(a) for a in rest], **case.params)

    assert bl.gradcheck(f, *[a.copy() for a in case.arrays[:k]], **o.gradcheck_kw)
    tensors, out = run_engine(o, case, np.float64)
    out.backward(np.ones(out.shape))
    for t in tensors[:k]:
        assert t.grad is None or (t.grad.shape == t.shape and t.grad.dtype == t.dtype), o.name


def check_backward32(o, case):
    k = n_diff(case)
    if not o.grad or k == 0:
        return
    g = np.random.default_rng(0).normal(size=reference(o, case).shape)
    grads = {}
    for dtype in (np.float64, np.float32):
        tensors, out = run_engine(o, case, dtype)
        if out.requires_grad:
            out.backward(g.astype(out.dtype))
        grads[dtype] = [t.grad for t in tensors[:k]]
    for g64, g32, t in zip(grads[np.float64], grads[np.float32], case.arrays):
        if g64 is None:
            assert g32 is None
            continue
        assert g32.dtype == np.float32 and g32.shape == t.shape, f"{o.name}: float32 gradient {g32.dtype} {g32.shape}"
        scale = max(1.0, float(np.max(np.abs(g64), initial=0)))
        np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-4 * scale, err_msg=f"{o.name} float32 backward")


def to_torch(a, dtype, requires_grad):
    t = torch.from_numpy(np.asarray(a.astype(dtype) if a.dtype.kind == "f" else a))
    return t.requires_grad_(requires_grad) if a.dtype.kind == "f" else t


def check_torch(o, case, dtype):
    if torch is None or o.torch is None:
        return
    k = n_diff(case)
    tts = [to_torch(a, dtype, o.grad and i < k) for i, a in enumerate(case.arrays)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PyTorch's note on std's degrees of freedom for 0-d input
        expected = o.torch(*tts, **case.params)
    tensors, out = run_engine(o, case, dtype)
    if out.dtype.kind != "f":
        np.testing.assert_array_equal(out.numpy(), expected.numpy(), err_msg=f"{o.name} forward against PyTorch")
        return
    rtol, atol = (1e-9, 1e-12) if out.dtype == np.float64 and dtype == np.float64 else (o.tol32, 1e-5)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=rtol, atol=atol,
                               err_msg=f"{o.name} forward against PyTorch")
    if not o.grad or k == 0 or not expected.requires_grad:
        return
    g = np.random.default_rng(1).normal(size=out.shape)
    torch_grads = torch.autograd.grad(expected, tts[:k], torch.from_numpy(g.astype(dtype)), allow_unused=True)
    if out.requires_grad:
        out.backward(g.astype(out.dtype))
    rtol, atol = (1e-7, 1e-10) if dtype == np.float64 else (1e-3, 1e-4)
    for i, (t, tg) in enumerate(zip(tensors[:k], torch_grads)):
        mine = t.grad if t.grad is not None else np.zeros(t.shape, dtype)
        theirs = tg.numpy() if tg is not None else np.zeros(t.shape, dtype)
        np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=atol, err_msg=f"{o.name} gradient {i} against PyTorch")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", sorted(OP_BY_NAME))
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=st.data())
def test_operation(name, dtype, data):
    o = OP_BY_NAME[name]
    case = o.draw(data)
    check_forward(o, case, dtype)
    if dtype == np.float64:
        check_backward64(o, case)
    else:
        check_backward32(o, case)
    check_torch(o, case, dtype)


# ------------------------------------------------------------------------------------------------ completeness

NOT_OPERATIONS = {  # public members that compute nothing differentiable
    "Tensor.backward", "Tensor.item", "Tensor.tolist", "Tensor.numpy", "Tensor.detach", "Tensor.to",
    "Tensor.shape", "Tensor.ndim", "Tensor.dtype", "Tensor.size", "Tensor.device", "Tensor.is_leaf",
    "Tensor.data", "Tensor.grad", "Tensor.requires_grad", "Tensor.label", "bl.unbroadcast", "nn.Module",
}
COVERED_ELSEWHERE = {"Tensor.__rand__", "Tensor.__ror__", "Tensor.__rxor__"}  # the same functions as & | ^


def public_operations():
    names = set()
    for attr in dir(bl.Tensor):
        if attr.startswith("__") and attr.endswith("__"):
            if callable(bl.Tensor.__dict__.get(attr)) and attr not in ("__init__", "__repr__", "__len__", "__bool__",
                                                                        "__hash__"):
                names.add(f"Tensor.{attr}")
        elif not attr.startswith("_"):
            names.add(f"Tensor.{attr}")
    for attr in bl.__all__:
        if attr not in vars(bl):  # loaded lazily (datasets, viz, doctor, ...): not engine operations
            continue
        obj = getattr(bl, attr)
        if inspect.isfunction(obj) and obj.__module__ in ("backprop_lab.tensor", "backprop_lab.creation",
                                                          "backprop_lab.einsum"):
            names.add(f"bl.{attr}")
    for attr in dir(bl.nn):
        obj = getattr(bl.nn, attr)
        if not attr.startswith("_") and getattr(obj, "__module__", "") == "backprop_lab.nn" and (
                inspect.isfunction(obj) or (inspect.isclass(obj) and obj.__dict__.get("forward"))):
            names.add(f"nn.{attr}")
    return names


def test_every_public_operation_is_in_the_table():
    table = {name.split("(")[0] for name in OP_BY_NAME}
    missing = public_operations() - table - NOT_OPERATIONS - COVERED_ELSEWHERE
    missing -= {"nn.ReLU", "nn.Tanh", "nn.Sigmoid", "nn.Sequential", "nn.MLP"}  # wrap Tensor.relu/tanh/sigmoid, Linear
    missing -= {"Tensor.clip", "Tensor.clamp"} & table
    assert not missing, f"public operations without a row in the op table: {sorted(missing)}"


def test_table_size_is_reported():
    """The size the issue asks to report: operations x dtypes x hypothesis cases."""
    assert len(OPS) >= 100
    print(f"op table: {len(OPS)} operations x 2 dtypes x {EXAMPLES} cases = {len(OPS) * 2 * EXAMPLES} checks")
