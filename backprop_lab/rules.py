"""Math in one page: every primitive, its forward and its backward side by side.

Each rule is a ``Function`` with ``forward(ctx, *arrays)`` and ``backward(ctx, g)``,
where ``g`` is dL/d(output), the *upstream* gradient, and backward returns
dL/d(input) for each input: the vector-Jacobian product, never the Jacobian.
Rules never undo broadcasting: the driver (``tensor.unbroadcast``) does, once.
Everything else (sub, div, mean, var, std, sqrt, abs, softplus, softmax,
log_softmax, logsumexp, clip, the shape helpers, the losses) is a composite of these.

| forward                 | backward (g = dL/dout)                                | rule               |
|-------------------------|-------------------------------------------------------|--------------------|
| z = x + y               | dx = g,            dy = g                             | Add                |
| z = x * y               | dx = g * y,        dy = g * x                         | Mul                |
| y = -x                  | dx = -g                                               | Neg                |
| y = 1 / x               | dx = -g / x²                                          | Reciprocal         |
| z = x ** p              | dx = g * p x^(p-1), dp = g * z * log x                | Pow                |
| y = exp(x)              | dx = g * y                                            | Exp                |
| y = log(x)              | dx = g / x                                            | Log                |
| y = tanh(x)             | dx = g * (1 - y²)                                     | Tanh               |
| y = relu(x)             | dx = g * [x > 0]                                      | ReLU               |
| z = maximum(x, y)       | dx = g * [x >= y], dy = g * [x < y]                   | Maximum            |
| s = sum(x, axis)        | dx = g with the summed axes re-inserted, broadcast    | Sum                |
| m = max(x, axis)        | dx = g at the first maximal entry, 0 elsewhere        | Max                |
| y = reshape(x)          | dx = reshape(g, x.shape)                              | Reshape            |
| y = transpose(x, axes)  | dx = transpose(g, inverse(axes))                      | Transpose          |
| y = broadcast_to(x)     | dx = g (the driver sums it back to x.shape)           | BroadcastTo        |
| Z = X @ Y               | dX = g @ Yᵀ,       dY = Xᵀ @ g                        | MatMul             |
| y = x[index]            | dx = zeros with g added at index (repeats accumulate) | GetItem            |
| z = minimum(x, y)       | dx = g * [x <= y], dy = g * [x > y]                   | Minimum            |
| m = min(x, axis)        | dx = g at the first minimal entry, 0 elsewhere        | Min                |
| p = prod(x, axis)       | dx = g * (product of the other entries)               | Prod               |
| y = cumsum(x, axis)     | dx = reversed cumsum of g along axis                  | Cumsum             |
| y = sigmoid(x)          | dx = g * y (1 - y)                                    | Sigmoid            |
| y = sin(x)              | dx = g * cos x                                        | Sin                |
| y = cos(x)              | dx = -g * sin x                                       | Cos                |
| y = log(1 + x)          | dx = g / (1 + x)                                      | Log1p              |
| y = exp(x) - 1          | dx = g * (y + 1)                                      | Expm1              |
| y = erf(x)              | dx = g * 2/√π exp(-x²)                                | Erf                |
| z = where(c, x, y)      | dx = g * [c],      dy = g * [not c]                   | Where              |
| y = concatenate(xs)     | dxᵢ = the slice of g where xᵢ went                    | Concatenate        |
| y = pad(x, widths)      | dx = g without the padding                            | Pad                |
| y = x.astype(dtype)     | dx = g.astype(x.dtype)                                | Cast               |
| L = cross_entropy(x, y) | dx = (softmax(x) - onehot(y)) * g / N  (fused, speed) | SoftmaxCrossEntropy|
| z = einsum(spec, xs)    | dxᵢ = einsum(g, the other xs -> xᵢ's subscripts)      | Einsum (einsum.py) |
"""
from __future__ import annotations

import math

import numpy as np

from .backend import array_module
from .tensor import Function


class Add(Function):
    """$z = x + y$: the gradient passes through unchanged to both inputs (add distributes)."""

    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def backward(ctx, g):
        return g, g


class Mul(Function):
    """$z = x y$: each input's gradient is g times the *other* input (mul swaps)."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved
        dx = g * y if ctx.needs_input_grad[0] else None
        dy = g * x if ctx.needs_input_grad[1] else None
        return dx, dy


class Neg(Function):
    """$y = -x$"""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


class Reciprocal(Function):
    """$y = 1/x$, so $dy/dx = -1/x^2 = -y^2$."""

    @staticmethod
    def forward(ctx, x):
        y = 1.0 / x
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        return -g * y * y


class Pow(Function):
    """$z = x^p$: $dz/dx = p x^{p-1}$, $dz/dp = z \\log x$ (only computed when p needs a gradient).

    At x = 0 the two limits PyTorch also takes: d/dx x^0 = 0 (x^0 is the constant 1), and the
    exponent's gradient is 0 for p >= 0 (z is 0 or 1 there whatever p does) and -inf for p < 0.
    """

    @staticmethod
    def forward(ctx, x, p):
        z = x ** p
        ctx.save_for_backward(x, p, z)
        return z

    @staticmethod
    def backward(ctx, g):
        x, p, z = ctx.saved
        xp = array_module(x)
        dx = dp = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if ctx.needs_input_grad[0]:
                dx = g * xp.where(p == 0, 0, p * x ** (p - 1))
            if ctx.needs_input_grad[1]:
                dp = g * xp.where((x == 0) & (p >= 0), 0, z * xp.log(x))
        return dx, dp


class Exp(Function):
    """$y = e^x$, its own derivative: dx = g y."""

    @staticmethod
    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        return g * y


class Log(Function):
    """$y = \\log x$: dx = g / x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g / x


class Tanh(Function):
    """$y = \\tanh x$: $dy/dx = 1 - \\tanh^2 x = 1 - y^2$ (uses the output, not the input)."""

    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        return g * (1 - y * y)


class ReLU(Function):
    """$y = \\max(x, 0)$: the gradient passes where x > 0 and stops elsewhere."""

    @staticmethod
    def forward(ctx, x):
        y = np.maximum(x, 0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        return g * (y > 0)


class Sigmoid(Function):
    """$y = \\sigma(x) = 1/(1 + e^{-x})$: $dy/dx = y (1 - y)$, a function of the output (like tanh's).

    A rule rather than the composite 1/(1 + exp(-x)) for two reasons. Stability: in float32 exp(-x)
    overflows below x = -88, and the composite's backward then computes 0 * inf = NaN; here the forward
    uses exp(-|x|) <= 1 only, and the backward never sees an inf. Speed: the stable composite
    exp(-softplus(-x)) records 8 operations, this rule one, and forward + backward on a 128 x 64 float32
    batch take 84 us against 646 us (7.7x; 7.7-11.5x over three runs on the shared 2-core machine:
    ``python benchmarks/bench_rules.py sigmoid``).
    """

    @staticmethod
    def forward(ctx, x):
        e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
        y = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        return g * y * (1 - y)


class Sin(Function):
    """$y = \\sin x$: dx = g cos x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * np.cos(x)


class Cos(Function):
    """$y = \\cos x$: dx = -g sin x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return -g * np.sin(x)


class Log1p(Function):
    """$y = \\log(1 + x)$: dx = g / (1 + x). A rule (not log(1 + x)) for accuracy: 1 + x rounds away a tiny x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g / (1 + x)


class Expm1(Function):
    """$y = e^x - 1$: dx = g (y + 1). A rule (not exp(x) - 1) for accuracy near x = 0."""

    @staticmethod
    def forward(ctx, x):
        y = np.expm1(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        return g * (y + 1)


class Erf(Function):
    """$y = \\mathrm{erf}(x) = \\frac{2}{\\sqrt\\pi}\\int_0^x e^{-t^2} dt$: dx = g 2/√π exp(-x²)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * (2 / math.sqrt(math.pi)) * np.exp(-x * x)


def _erf(x):
    """erf element-wise: NumPy has none, so math.erf per entry (CuPy: cupyx.scipy.special.erf)."""
    xp = array_module(x)
    if xp is not np:
        from cupyx.scipy.special import erf

        return erf(x)
    return np.asarray(np.frompyfunc(math.erf, 1, 1)(x), dtype=x.dtype)


class Maximum(Function):
    """$z = \\max(x, y)$ element-wise: the gradient is routed to the larger input (ties: x >= y goes to x)."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x >= y)
        return np.maximum(x, y)

    @staticmethod
    def backward(ctx, g):
        (x_wins,) = ctx.saved
        return g * x_wins, g * ~x_wins


class Minimum(Function):
    """$z = \\min(x, y)$ element-wise: the gradient is routed to the smaller input (ties: x <= y goes to x)."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x <= y)
        return np.minimum(x, y)

    @staticmethod
    def backward(ctx, g):
        (x_wins,) = ctx.saved
        return g * x_wins, g * ~x_wins


class Sum(Function):
    """$s = \\sum_{axis} x$: every summed entry gets g; re-insert the reduced axes, then broadcast."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.save_for_backward(x.shape)
        return x.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        (shape,) = ctx.saved
        axis, keepdims = ctx.kwargs.get("axis"), ctx.kwargs.get("keepdims", False)
        xp = array_module(g)
        if not keepdims and axis is not None and len(shape):  # (a 0-d x has no axis to re-insert)
            g = xp.expand_dims(g, axis)
        return xp.broadcast_to(g, shape)


class Max(Function):
    """$m = \\max_{axis} x$: g goes to the first maximal entry (seed 001's tie rule: the earlier wins), 0 elsewhere."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.save_for_backward(x)
        return x.max(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return _route_to_first(g, x, ctx.kwargs, array_module(x).argmax)


class Min(Function):
    """$m = \\min_{axis} x$: g goes to the first minimal entry, 0 elsewhere (as ``Max``)."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.save_for_backward(x)
        return x.min(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return _route_to_first(g, x, ctx.kwargs, array_module(x).argmin)


def _reduced_axes(axis, ndim):
    """The reduced axes as a tuple of non-negative ints (a 0-d array has none)."""
    if axis is None:
        return tuple(range(ndim))
    return tuple(sorted({int(a) % ndim for a in np.atleast_1d(axis).tolist()})) if ndim else ()


def _reduced_last(x, axis):
    """x with the reduced axes moved to the end and flattened into one, and how to undo that."""
    axes = _reduced_axes(axis, x.ndim)
    kept = tuple(a for a in range(x.ndim) if a not in axes)
    moved = x.transpose(kept + axes).reshape([x.shape[a] for a in kept] + [math.prod(x.shape[a] for a in axes)])
    return moved, kept, axes


def _restore(moved, x, kept, axes):
    """Undo ``_reduced_last``: back to x's shape and axis order."""
    return moved.reshape([x.shape[a] for a in kept + axes]).transpose(np.argsort(kept + axes))


def _route_to_first(g, x, kwargs, arg):
    """Max/Min's backward: g at the first extreme entry along the reduced axes (``arg`` finds it), 0 elsewhere."""
    xp = array_module(x)
    moved, kept, axes = _reduced_last(x, kwargs.get("axis"))
    first = arg(moved, axis=-1)[..., None]
    mask = _restore(xp.arange(moved.shape[-1]) == first, x, kept, axes)
    if not kwargs.get("keepdims", False):
        g = xp.expand_dims(g, axes)
    return g * mask


class Prod(Function):
    """$p = \\prod_{axis} x$: each entry gets g times the product of the *other* entries.

    Computed as (product of the entries before it) x (product of those after it), two running
    products, never as p / x, so zeros are fine.
    """

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.save_for_backward(x)
        return x.prod(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        xp = array_module(x)
        moved, kept, axes = _reduced_last(x, ctx.kwargs.get("axis"))
        ones = xp.ones(moved.shape[:-1] + (1,), dtype=x.dtype)
        before = xp.concatenate([ones, xp.cumprod(moved, axis=-1)[..., :-1]], axis=-1)
        after = xp.concatenate([xp.cumprod(moved[..., ::-1], axis=-1)[..., -2::-1], ones], axis=-1)
        others = _restore((before * after)[..., :moved.shape[-1]], x, kept, axes)
        if not ctx.kwargs.get("keepdims", False):
            g = xp.expand_dims(g, axes)
        return g * others


class Cumsum(Function):
    """$y_i = \\sum_{j \\le i} x_j$ along an axis: x_j reaches every y_i with i >= j, so dx = reversed running sum of g."""

    @staticmethod
    def forward(ctx, x, axis):
        return array_module(x).cumsum(x, axis=axis)

    @staticmethod
    def backward(ctx, g):
        xp, axis = array_module(g), ctx.kwargs["axis"]
        return xp.flip(xp.cumsum(xp.flip(g, axis), axis=axis), axis)


class Reshape(Function):
    """$y = \\mathrm{reshape}(x)$: reshape the gradient back to x's shape."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.save_for_backward(x.shape)
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        (shape,) = ctx.saved
        return g.reshape(shape)


class Transpose(Function):
    """$y = x^{axes}$ (a permutation of axes): apply the inverse permutation to the gradient.

    The result is a view of x's data, and the gradient still reaches x: that is the
    fix for seed 000's transpose bug, where a transposed copy lost its way back.
    """

    @staticmethod
    def forward(ctx, x, axes=None):
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        axes = ctx.kwargs.get("axes")
        return g.transpose(None if axes is None else np.argsort([a % g.ndim for a in axes]))


class BroadcastTo(Function):
    """$y = \\mathrm{broadcast\\_to}(x, shape)$: copies along axes; the driver's unbroadcast sums them back."""

    @staticmethod
    def forward(ctx, x, shape):
        return array_module(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return g


class MatMul(Function):
    """$Z = X Y$ (1-D, 2-D and batched): $dX = G Y^T$, $dY = X^T G$ — the only way the shapes fit."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        try:
            return x @ y
        except ValueError:
            check_matmul_shapes(x.shape, y.shape)  # raises an error that names both shapes and the likely fix
            raise

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved
        if x.ndim == 1 or y.ndim == 1:
            return _vector_matmul_backward(ctx, g, x, y)
        dx = g @ y.swapaxes(-1, -2) if ctx.needs_input_grad[0] else None
        dy = x.swapaxes(-1, -2) @ g if ctx.needs_input_grad[1] else None
        return dx, dy


def _vector_matmul_backward(ctx, g, x, y):
    """MatMul's backward when an operand is 1-D: a row (left) or a column (right) vector."""
    if x.ndim == 1 and y.ndim == 1:  # a dot product
        return g * y, g * x
    x2 = x[None, :] if x.ndim == 1 else x
    y2 = y[:, None] if y.ndim == 1 else y
    g2 = g[..., None, :] if x.ndim == 1 else g[..., :, None]
    dx = dy = None
    if ctx.needs_input_grad[0]:
        dx = g2 @ y2.swapaxes(-1, -2)
        dx = dx[..., 0, :] if x.ndim == 1 else dx
    if ctx.needs_input_grad[1]:
        dy = x2.swapaxes(-1, -2) @ g2
        dy = dy[..., :, 0] if y.ndim == 1 else dy
    return dx, dy


def check_matmul_shapes(a, b):
    """Raise a ValueError that names both shapes and the likely fix when ``a @ b`` cannot work."""
    if len(a) == 0 or len(b) == 0:
        raise ValueError(f"matmul: {a} @ {b}: both operands need at least one dimension (use * for scalars)")
    k_left = a[-1]
    k_right = b[-2] if len(b) >= 2 else b[0]
    if k_left == k_right:
        return
    if len(b) >= 2 and a[-1] == b[-1]:
        fix = " — did you mean a @ b.T?"
    elif len(a) >= 2 and a[-2] == k_right:
        fix = " — did you mean a.T @ b?"
    elif len(a) >= 2 and len(b) >= 2 and a[-2] == b[-1]:
        fix = " — did you mean b @ a?"
    else:
        fix = " — the last axis of the left operand must match the first (or second-to-last) axis of the right one"
    raise ValueError(f"matmul: {a} @ {b}: inner dimensions {k_left} and {k_right} differ{fix}")


class GetItem(Function):
    """$y = x[\\mathrm{index}]$: scatter g back into zeros of x's shape; repeated indices accumulate."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.save_for_backward(x.shape, x.dtype)
        return x[index]

    @staticmethod
    def backward(ctx, g):
        shape, dtype = ctx.saved
        index = ctx.kwargs["index"]
        xp = array_module(g)
        dx = xp.zeros(shape, dtype=dtype)
        if _is_basic_index(index):
            dx[index] += g  # basic slicing selects each element at most once
        else:
            xp.add.at(dx, index, g)  # integer arrays may repeat an index: add every share
        return dx


def _is_basic_index(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer)) for i in items)


class Where(Function):
    """$z = \\mathrm{where}(c, x, y)$: each entry's gradient goes to the input it came from; c gets none."""

    @staticmethod
    def forward(ctx, condition, x, y):
        ctx.save_for_backward(condition)
        return np.where(condition, x, y)

    @staticmethod
    def backward(ctx, g):
        (c,) = ctx.saved
        return None, np.where(c, g, 0), np.where(c, 0, g)


class Concatenate(Function):
    """$y = [x_1, x_2, \\dots]$ along an axis: each input gets back its own slice of g."""

    @staticmethod
    def forward(ctx, *xs, axis):
        ctx.save_for_backward(np.cumsum([x.shape[axis] for x in xs])[:-1].tolist())  # where each input starts
        return array_module(*xs).concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx, g):
        (bounds,) = ctx.saved
        return tuple(array_module(g).split(g, bounds, axis=ctx.kwargs["axis"]))


class Pad(Function):
    """$y = \\mathrm{pad}(x)$ with a constant: the padding is constant, so dx = g with the padding cut off."""

    @staticmethod
    def forward(ctx, x, pad_width, value=0.0):
        return array_module(x).pad(x, pad_width, constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return g[tuple(slice(before, n - after) for (before, after), n in zip(ctx.kwargs["pad_width"], g.shape))]


class Cast(Function):
    """$y = x$ stored as another float dtype: the gradient is converted back to x's dtype."""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.save_for_backward(x.dtype)
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        (dtype,) = ctx.saved
        return g.astype(dtype)


class SoftmaxCrossEntropy(Function):
    """$L = \\frac{1}{N}\\sum_n -\\log \\mathrm{softmax}(x_n)_{y_n}$, with $dL/dx = (\\mathrm{softmax}(x) - \\mathrm{onehot}(y)) / N$.

    A fused rule for speed, not for new math: the composite ``-x.log_softmax()[range(N), y].mean()``
    gives the same gradient through about a dozen recorded operations; this single rule records one, and its
    backward is the p − y derived in notebook 07 (which times the two on the reader's machine). The forward shifts by the row maximum (log-sum-exp), so huge logits stay finite.
    """

    @staticmethod
    def forward(ctx, x, labels):
        xp = array_module(x)
        labels = xp.asarray(labels)  # on the GPU when x is
        rows = xp.arange(len(labels))
        shifted = x - x.max(axis=1, keepdims=True)
        p = np.exp(shifted)
        s = p.sum(axis=1, keepdims=True)
        p /= s  # softmax, in place
        ctx.save_for_backward(p, rows, labels)
        return (np.log(s).sum() - shifted[rows, labels].sum()) / len(labels)

    @staticmethod
    def backward(ctx, g):
        p, rows, labels = ctx.saved
        scale = g.item() / len(labels)  # g is one number
        d = p * scale
        d[rows, labels] -= scale
        return d


