"""The array engine: ``Tensor``, ``Function`` and the backward driver.

A ``Tensor`` wraps an array (``.data``) and, once backpropagated, its gradient
(``.grad``, same shape and dtype). A Tensor made by an operation remembers its
recipe: the ``Function`` that made it (``_fn``), that function's saved context
(``_ctx``) and its inputs (``_prev``). The rules themselves (one ``Function``
per primitive, forward and backward side by side) live in ``rules.py``; every
other operation here is a composite of them.

Broadcasting is undone in exactly one place, ``unbroadcast``, called by the
driver on every gradient a rule returns: no rule ever thinks about it.

Where ``backprop_lab`` differs from PyTorch on purpose (each pinned by a test in
``tests/test_engine_conventions.py``):

- float64 by default (gradient checks need it); dtypes follow NumPy's promotion, and a
  number or array mixed with a float tensor takes that tensor's dtype;
- ties: ``maximum``/``minimum`` send the whole gradient to their first argument and
  ``max``/``min`` to the first extreme entry (seed 001's tie rule; PyTorch splits it);
  ``abs`` is ``maximum(x, -x)``, so abs'(0) = 1 (PyTorch: 0); ``clip`` passes the gradient
  at its bounds, as PyTorch does;
- ``var``/``std`` divide by n (``ddof=0``, NumPy's default; PyTorch's default is n - 1:
  pass ``ddof=1``, or ``correction=1``);
- ``sign``, comparisons, ``argmax``/``argmin`` and ``any``/``all`` return constants with no
  gradient at all (PyTorch returns zero gradients through ``sign``);
- bad arguments raise ``ValueError``/``TypeError``/``IndexError`` where PyTorch raises
  ``RuntimeError``.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from . import backend
from .autograd import is_grad_enabled, topo_sort


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: undo what broadcasting did in the forward pass.

    Broadcasting may (1) prepend axes and (2) stretch axes of size 1. The gradient
    of a value copied along an axis is the sum along that axis, so: sum away the
    leading axes, then sum (keeping the axis) wherever ``shape`` has size 1.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    if grad.shape != shape:  # some axes of size 1 were stretched
        grad = grad.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1), keepdims=True)
    return grad


class Context:
    """What a ``Function``'s forward leaves for its backward (``torch.autograd.Function``'s ctx)."""

    __slots__ = ("saved", "needs_input_grad", "kwargs", "__dict__")

    def __init__(self, needs_input_grad=(), kwargs=None):
        self.saved = ()
        self.needs_input_grad = needs_input_grad  # one bool per input: skip gradients nobody needs
        self.kwargs = kwargs or {}

    def save_for_backward(self, *arrays):
        self.saved = arrays

    def free(self):
        """Drop the saved arrays after backward (``saved`` becomes None); kwargs stay for inspection."""
        self.saved = None
        self.__dict__.clear()


class Function:
    """Base class of every differentiable operation.

    Subclasses define two static methods on plain arrays:

    - ``forward(ctx, *arrays, **kwargs) -> array``
    - ``backward(ctx, grad) -> one gradient per input array`` (a tuple, or a bare
      array when there is one input; ``None`` where no gradient is needed). Return
      new arrays, views, or ``grad`` itself, never an array kept elsewhere (such as
      one saved in ctx): the driver hands new arrays to leaves without copying them.

    and are used through ``apply``, which unwraps Tensors, runs ``forward``, and
    records the graph (unless grad mode is off or no input requires a gradient).
    """

    @staticmethod
    def forward(ctx, *arrays, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **kwargs):
        tensors, arrays, needs = [], [], []
        for x in inputs:
            t = x if isinstance(x, Tensor) else Tensor(x)
            tensors.append(t)
            arrays.append(t.data)
            needs.append(t.requires_grad)
        ctx = Context(tuple(needs), kwargs)
        try:
            data = cls.forward(ctx, *arrays, **kwargs)
        except ValueError as exc:
            if "broadcast" not in str(exc):
                raise
            shapes = " and ".join(str(t.shape) for t in tensors)
            raise ValueError(
                f"{cls.__name__.lower()}: shapes {shapes} cannot be broadcast together. Broadcasting aligns "
                "shapes from the right; each pair of sizes must be equal or one of them 1. Reshape an "
                "operand (e.g. b.reshape(-1, 1)) or transpose it.") from None
        if True in needs and is_grad_enabled():  # record the graph only when someone needs a gradient
            return Tensor._make(data, tuple(tensors), cls, ctx)
        return Tensor._make(data, (), None, None)


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    ``Tensor(data, requires_grad=False, dtype=None)``: float64 by default for float
    and Python data (gradient checks need it), float32 on request; integer and boolean
    data keep their dtype and cannot require a gradient.

    Comparisons (``==``, ``<``, ...) are element-wise and return boolean Tensors with no
    gradient, as in PyTorch; a Tensor hashes by identity, so graphs can keep tensors in
    sets and dicts. ``x in some_list`` compares with ``==``: use a set, or ``is``.

    >>> x = Tensor([[1.0, -2.0], [3.0, 0.5]], requires_grad=True)
    >>> (x * (x > 0)).sum().backward()     # the mask is a constant: no gradient flows into it
    >>> x.grad
    array([[1., 0.],
           [1., 1.]])
    """

    __slots__ = ("data", "grad", "requires_grad", "_prev", "_fn", "_ctx", "label", "__weakref__")
    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operators
    __hash__ = object.__hash__  # by identity: == is element-wise, and graphs keep tensors in sets

    def __init__(self, data, requires_grad=False, dtype=None, device=None, label=""):
        if isinstance(data, Tensor):
            data = data.data
        xp = backend.module_for_device(device) if device is not None else backend.array_module(data)
        if dtype is None and not hasattr(data, "dtype"):
            data = xp.asarray(data)
            if data.dtype.kind not in "biu":
                data = data.astype(np.float64)
        else:
            data = xp.asarray(data, dtype=dtype)
        if data.dtype.kind in "biu":
            if requires_grad:
                raise TypeError(f"Tensor of dtype {data.dtype} cannot require a gradient: only floating-point "
                                "tensors have gradients (pass dtype=np.float64 or np.float32)")
        elif data.dtype.kind != "f":
            raise TypeError(f"Tensor: unsupported dtype {data.dtype}; use float64, float32, an integer type or bool")
        self.data = data
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._prev = ()
        self._fn = None
        self._ctx = None
        self.label = label

    @classmethod
    def _make(cls, data, prev, fn, ctx):
        """Build the result of an operation without re-validating its data (the hot path)."""
        out = object.__new__(cls)
        out.data = data
        out.grad = None
        out.requires_grad = fn is not None
        out._prev = prev
        out._fn = fn
        out._ctx = ctx
        out.label = ""
        return out

    # -- attributes ---------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)
    device = property(lambda self: backend.device_of(self.data))

    @property
    def _op(self):
        """The name of the operation that made this tensor ('' for a leaf)."""
        return self._fn.__name__ if self._fn is not None else ""

    @property
    def is_leaf(self):
        return self._fn is None

    def __repr__(self):
        name = f"{self.label}: " if self.label else ""
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = np.array2string(backend.to_numpy(self.data), separator=", ", precision=4, threshold=20,
                               prefix="Tensor(")
        op = f", op={self._op}" if self._fn is not None else ""
        return f"Tensor({name}{body}{grad}{op})"

    def __len__(self):
        return len(self.data)

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a Tensor with {self.data.size} elements (shape {self.shape}) is ambiguous: "
                "use (t == u).all() or .any(). Comparisons are element-wise; if you were looking a node up "
                "in a list (node in nodes), keep the nodes in a set instead (tensors hash by identity) "
                "or compare with `is`.")
        return bool(self.data)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item(): the tensor has {self.data.size} elements (shape {self.shape}); "
                             "only one-element tensors can be converted to a Python number")
        return self.data.item()

    def tolist(self):
        """The data as (nested) Python lists."""
        return self.numpy().tolist()

    def numpy(self):
        """The data as a NumPy array (copied from the GPU if it lives there)."""
        return backend.to_numpy(self.data)

    def detach(self):
        """A new leaf sharing this tensor's data, cut off from the graph (no gradient flows through)."""
        return Tensor._make(self.data, (), None, None)

    def to(self, device):
        """This tensor on ``device`` ("cpu" or "cuda"): a new leaf if it moves, ``self`` if it is there already."""
        if backend.normalize_device(device) == self.device:
            return self
        t = Tensor(backend.move(self.data, device), requires_grad=self.requires_grad)
        t.label = self.label
        return t

    def astype(self, dtype):
        """This tensor converted to ``dtype``; the gradient flows back converted to the original dtype.

        A conversion to an integer or boolean dtype gives a constant (no gradient), as in PyTorch.
        """
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        if dtype.kind != "f":
            return _constant(self.data.astype(dtype))
        return rules.Cast.apply(self, dtype=dtype)

    def float(self):
        """``astype(float32)``, as PyTorch's ``.float()``."""
        return self.astype(np.float32)

    def double(self):
        """``astype(float64)``, as PyTorch's ``.double()``."""
        return self.astype(np.float64)

    # -- backpropagation --------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Compute d(self)/d(leaf) for every leaf that requires a gradient, into ``leaf.grad``.

        ``grad`` is the upstream gradient; it may be omitted only for a one-element
        output (then it is 1). As in PyTorch: leaf gradients *accumulate* across calls
        (zero them between steps with ``zero_grad``); the graph's saved arrays are freed
        after the pass, so a second ``backward`` through the same graph raises unless the
        first passed ``retain_graph=True``. Intermediate tensors keep the gradient of the
        latest pass, for inspection.
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require a gradient — no input had "
                               "requires_grad=True, or it was computed inside no_grad()")
        xp = backend.array_module(self.data)
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward(): the output has shape {self.shape}, not one element; pass the "
                                   "upstream gradient, e.g. y.backward(np.ones_like(y.data)), or reduce first "
                                   "(y.sum().backward())")
            grad = xp.asarray(1, dtype=self.data.dtype).reshape(self.data.shape)  # d(self)/d(self) = 1
        else:
            grad = xp.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward(grad): grad has shape {grad.shape} but the tensor has shape "
                                 f"{self.shape}; they must match")
        operations = [node for node in topo_sort(self) if node._fn is not None]
        for node in operations:
            if node._ctx.saved is None:
                raise RuntimeError(
                    f"backward(): trying to backpropagate through the graph a second time (through a "
                    f"'{node._op}' node) after its saved arrays were freed. Pass retain_graph=True to the "
                    "first backward() if you need to call it twice, or recompute the forward pass.")
            node.grad = None
        self.grad = grad
        for node in reversed(operations):
            if node.grad is not None:
                node._backward()
                if not retain_graph:
                    node._ctx.free()

    def _backward(self):
        """Hand ``self.grad`` to the inputs: ask the rule for each input's share, undo broadcasting, add."""
        grads = self._fn.backward(self._ctx, self.grad)
        if not isinstance(grads, tuple):
            grads = (grads,)
        handed = []
        for parent, g in zip(self._prev, grads):
            if g is None or not parent.requires_grad:
                continue
            data = parent.data
            if g.shape != data.shape:
                g = unbroadcast(g, data.shape)
            if g.dtype is not data.dtype:  # undo dtype promotion too: a gradient has the dtype of its data
                g = g.astype(data.dtype, copy=False)
            if parent.grad is None:
                # a leaf's .grad is the user's: it gets an array of its own. A new array a rule just made
                # is already one; the upstream gradient itself, a view, or an array already handed to
                # another input could be shared, so those are copied. (Other nodes' grads are ours.)
                if parent._fn is None and (g is self.grad or g.base is not None or any(g is h for h in handed)):
                    g = g.copy()
                parent.grad = g
                handed.append(g)
            else:
                parent.grad = parent.grad + g  # accumulate at forks, never overwrite

    # -- operators ----------------------------------------------------------------------
    def _lift(self, other):
        """Wrap a number or array as a constant Tensor: of this tensor's dtype if it is a float tensor
        (``x32 * 2.0`` stays float32), else of the dtype NumPy's promotion gives."""
        if isinstance(other, Tensor):
            return other
        xp = backend.array_module(self.data)
        if self.dtype.kind == "f":
            return Tensor(xp.asarray(other, dtype=self.dtype))
        if isinstance(other, (bool, numbers.Number)) and not hasattr(other, "dtype"):
            return Tensor(xp.asarray(other, dtype=np.result_type(self.dtype, other)))
        return Tensor(xp.asarray(other))

    def __add__(self, other):
        return rules.Add.apply(self, self._lift(other))

    def __radd__(self, other):
        return rules.Add.apply(self._lift(other), self)

    def __mul__(self, other):
        return rules.Mul.apply(self, self._lift(other))

    def __rmul__(self, other):
        return rules.Mul.apply(self._lift(other), self)

    def __neg__(self):
        return rules.Neg.apply(self)

    def __pos__(self):
        return self

    def __sub__(self, other):
        return self + (-self._lift(other))

    def __rsub__(self, other):
        return self._lift(other) + (-self)

    def __truediv__(self, other):
        return self * rules.Reciprocal.apply(self._lift(other))

    def __rtruediv__(self, other):
        return self._lift(other) * rules.Reciprocal.apply(self)

    def __pow__(self, exponent):
        return rules.Pow.apply(self, self._lift(exponent))

    def __rpow__(self, base):
        return rules.Pow.apply(self._lift(base), self)

    def __matmul__(self, other):
        return rules.MatMul.apply(self, self._lift(other))

    def __rmatmul__(self, other):
        return rules.MatMul.apply(self._lift(other), self)

    def __abs__(self):
        return self.abs()

    def __getitem__(self, index):
        return rules.GetItem.apply(self, index=_plain_index(index))

    # -- comparisons and logic: element-wise, constant results (no gradient) -----------------------------
    def __eq__(self, other):
        return _compare(np.equal, "==", self, other)

    def __ne__(self, other):
        return _compare(np.not_equal, "!=", self, other)

    def __lt__(self, other):
        return _compare(np.less, "<", self, other)

    def __le__(self, other):
        return _compare(np.less_equal, "<=", self, other)

    def __gt__(self, other):
        return _compare(np.greater, ">", self, other)

    def __ge__(self, other):
        return _compare(np.greater_equal, ">=", self, other)

    def __and__(self, other):
        return _compare(np.logical_and if self.dtype.kind == "b" else np.bitwise_and, "&", self, other)

    __rand__ = __and__

    def __or__(self, other):
        return _compare(np.logical_or if self.dtype.kind == "b" else np.bitwise_or, "|", self, other)

    __ror__ = __or__

    def __xor__(self, other):
        return _compare(np.logical_xor if self.dtype.kind == "b" else np.bitwise_xor, "^", self, other)

    __rxor__ = __xor__

    def __invert__(self):
        if self.dtype.kind == "f":
            raise TypeError(f"~ is defined for boolean and integer tensors, not {self.dtype}; for a mask use ~(x > 0)")
        return _constant(~self.data)

    def isnan(self):
        return _constant(np.isnan(self.data))

    def isinf(self):
        return _constant(np.isinf(self.data))

    def isfinite(self):
        return _constant(np.isfinite(self.data))

    # -- element-wise functions ------------------------------------------------------
    def exp(self):
        return rules.Exp.apply(self)

    def log(self):
        return rules.Log.apply(self)

    def log2(self):
        """log(x) / log(2)."""
        return self.log() * (1.0 / math.log(2.0))

    def log1p(self):
        return rules.Log1p.apply(self)

    def expm1(self):
        return rules.Expm1.apply(self)

    def tanh(self):
        return rules.Tanh.apply(self)

    def relu(self):
        return rules.ReLU.apply(self)

    def sigmoid(self):
        """1 / (1 + exp(-x)), its own rule (finite for every x in float32 too; see ``rules.Sigmoid``)."""
        return rules.Sigmoid.apply(self)

    def sin(self):
        return rules.Sin.apply(self)

    def cos(self):
        return rules.Cos.apply(self)

    def erf(self):
        return rules.Erf.apply(self)

    def sqrt(self):
        """x ** 0.5 (so sqrt'(0) = inf, as in PyTorch)."""
        return self ** 0.5

    def abs(self):
        """maximum(x, -x): abs'(0) = 1 by the tie rule (PyTorch: 0; both are subgradients)."""
        return maximum(self, -self)

    def sign(self):
        """-1, 0 or 1: piecewise constant, so a constant here (no gradient flows through it)."""
        return _constant(np.sign(self.data))

    def softplus(self, beta=1.0):
        """log(1 + exp(βx)) / β, finite for every x: the log-sum-exp of 0 and βx, shifted by their maximum.

        As in ``log_softmax``, the shift m = max(βx, 0) is a constant, so the gradient is exactly
        sigmoid(βx); ``log1p``/``expm1`` keep the tiny values of very negative x. No threshold:
        PyTorch returns x itself above βx > 20, which differs from this by less than 2e-9.
        """
        z = self * beta if beta != 1 else self
        m = _constant(np.maximum(z.data, 0))
        out = m + ((-m).expm1() + (z - m).exp()).log1p()
        return out * (1.0 / beta) if beta != 1 else out

    def log_sigmoid(self):
        """log(sigmoid(x)) = -softplus(-x), finite for every x."""
        return -(-self).softplus()

    logsigmoid = log_sigmoid

    def leaky_relu(self, negative_slope=0.01):
        """x where x > 0, else negative_slope * x (at 0 the slope is negative_slope, as in PyTorch)."""
        return where(self > 0, self, self * negative_slope)

    def gelu(self, approximate="none"):
        """x Φ(x) with Φ the standard normal CDF (``approximate="tanh"``: PyTorch's tanh formula)."""
        if approximate == "none":
            return self * 0.5 * (1.0 + (self * (1.0 / math.sqrt(2.0))).erf())
        if approximate == "tanh":
            inner = (self + 0.044715 * self ** 3) * math.sqrt(2.0 / math.pi)
            return self * 0.5 * (1.0 + inner.tanh())
        raise ValueError(f"gelu(approximate={approximate!r}): use 'none' (the exact erf form) or 'tanh'")

    def silu(self):
        """x * sigmoid(x) (also called swish)."""
        return self * self.sigmoid()

    def clip(self, min=None, max=None):
        """Values limited to [min, max] (either may be None or a tensor); the gradient passes where
        min <= x <= max, bounds included, as in PyTorch."""
        if min is None and max is None:
            raise ValueError("clip(): give min, max or both")
        out = self
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out

    clamp = clip

    def masked_fill(self, mask, value):
        """A copy with ``value`` where ``mask`` is True (no gradient reaches x there)."""
        return where(mask, self._lift(value), self)

    # -- reductions ----------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        return rules.Sum.apply(self, axis=_axis(axis), keepdims=keepdims)

    def prod(self, axis=None, keepdims=False):
        return rules.Prod.apply(self, axis=_axis(axis), keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        """The largest entry (along ``axis``); the gradient goes to the first largest one."""
        return rules.Max.apply(self, axis=_axis(axis), keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        """The smallest entry (along ``axis``); the gradient goes to the first smallest one."""
        return rules.Min.apply(self, axis=_axis(axis), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        """Sum divided by the number of summed elements (NaN, with a warning, over an empty axis)."""
        axis = _axis(axis)
        return self.sum(axis=axis, keepdims=keepdims) * _reciprocal_count(self, axis, 0, "mean")

    def var(self, axis=None, keepdims=False, ddof=0, correction=None):
        """Mean squared deviation from the mean, divided by n - ddof.

        ``ddof=0`` (the population variance, NumPy's default) unless told otherwise; PyTorch's
        default is ``correction=1`` (``correction`` is accepted as PyTorch's name for ddof).
        """
        ddof = ddof if correction is None else correction
        axis = _axis(axis)
        centred = self - self.mean(axis=axis, keepdims=True)
        return (centred * centred).sum(axis=axis, keepdims=keepdims) * _reciprocal_count(self, axis, ddof, "var")

    def std(self, axis=None, keepdims=False, ddof=0, correction=None):
        """Square root of ``var`` (same ``ddof`` convention)."""
        return self.var(axis=axis, keepdims=keepdims, ddof=ddof, correction=correction).sqrt()

    def logsumexp(self, axis=None, keepdims=False):
        """log(sum(exp(x))) with the max shift: finite for huge entries, exact gradient softmax(x)."""
        axis = _axis(axis)
        m = self.data.max(axis=axis, keepdims=True) if self.size else np.zeros((1,) * self.ndim, self.dtype)
        m = _constant(np.where(np.isfinite(m), m, 0))  # a constant shift; inf rows keep their inf
        out = (self - m).exp().sum(axis=axis, keepdims=True).log() + m
        return out if keepdims else out.squeeze(axis if axis is not None else tuple(range(self.ndim)))

    def cumsum(self, axis=0):
        """Running sums along ``axis`` (0 by default; give -1 for the last)."""
        if self.ndim == 0:
            _check_axis(axis, 0, "cumsum")
            return self.reshape(1).cumsum(0).reshape(())
        return rules.Cumsum.apply(self, axis=_check_axis(axis, self.ndim, "cumsum"))

    def argmax(self, axis=None, keepdims=False):
        """Index of the first largest entry (of the flattened tensor when axis is None): an integer constant."""
        return _constant(np.argmax(self.data, axis=axis, keepdims=keepdims and axis is not None))

    def argmin(self, axis=None, keepdims=False):
        """Index of the first smallest entry: an integer constant."""
        return _constant(np.argmin(self.data, axis=axis, keepdims=keepdims and axis is not None))

    def any(self, axis=None, keepdims=False):
        return _constant(np.any(self.data, axis=_axis(axis), keepdims=keepdims))

    def all(self, axis=None, keepdims=False):
        return _constant(np.all(self.data, axis=_axis(axis), keepdims=keepdims))

    def softmax(self, axis=-1):
        """exp(x - max) / sum(exp(x - max)): the shift changes nothing mathematically but avoids overflow."""
        e = (self - self.max(axis=axis, keepdims=True).detach()).exp()
        return e / e.sum(axis=axis, keepdims=True)

    def log_softmax(self, axis=-1):
        """x - max - log(sum(exp(x - max))): log-sum-exp with the max shift, finite for huge logits."""
        shifted = self - self.max(axis=axis, keepdims=True).detach()
        return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()

    # -- shapes --------------------------------------------------------------------------
    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return rules.Reshape.apply(self, shape=tuple(shape))

    view = reshape

    def transpose(self, *axes):
        """Reorder axes. Three forms, one meaning each:

        - ``transpose()``: reverse all axes (``.T``);
        - ``transpose(d0, d1)``: swap two axes, as PyTorch's ``transpose`` does;
        - ``transpose(*axes)`` / ``transpose(axes)`` with every axis: NumPy's permutation (= ``permute``).

        The two-axis form wins on a 2-D tensor: there the only call the two readings disagree on is
        ``transpose(0, 1)``, a permutation that changes nothing and that nobody writes on purpose.
        """
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        if not axes:
            return rules.Transpose.apply(self, axes=None)
        if len(axes) == 2:
            d0, d1 = (_check_axis(a, self.ndim, "transpose") for a in axes)
            order = list(range(self.ndim))
            order[d0], order[d1] = order[d1], order[d0]
            return rules.Transpose.apply(self, axes=tuple(order))
        return self.permute(*axes)

    def permute(self, *axes):
        """The axes in the order given (each exactly once, negative counting from the end), as NumPy's
        ``transpose(axes)`` and PyTorch's ``permute``."""
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        normal = [a % self.ndim if self.ndim and -self.ndim <= a < self.ndim else None for a in axes]
        if None in normal or sorted(normal) != list(range(self.ndim)):
            raise ValueError(f"permute{tuple(axes)}: a tensor of shape {self.shape} needs each of its {self.ndim} "
                             f"axes exactly once (0..{self.ndim - 1}, or negative from the end)")
        return rules.Transpose.apply(self, axes=tuple(normal))

    def swapaxes(self, axis1, axis2):
        """Swap two axes (``transpose(axis1, axis2)``)."""
        return self.transpose(axis1, axis2)

    @property
    def T(self):
        return self.transpose()

    def broadcast_to(self, shape):
        return rules.BroadcastTo.apply(self, shape=tuple(shape))

    def expand(self, *sizes):
        """PyTorch's ``expand``: broadcast to ``sizes``, where -1 keeps that axis's size."""
        sizes = sizes[0] if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ValueError(f"expand{tuple(sizes)}: a tensor of shape {self.shape} cannot expand to fewer axes")
        shape = tuple(self.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
        return self.broadcast_to(shape)

    def flatten(self, start_dim=0, end_dim=-1):
        """Merge axes start_dim..end_dim (all by default) into one, as PyTorch's ``flatten``."""
        if self.ndim == 0:
            return self.reshape(1)
        start, end = _check_axis(start_dim, self.ndim, "flatten"), _check_axis(end_dim, self.ndim, "flatten")
        if start > end:
            raise ValueError(f"flatten(start_dim={start_dim}, end_dim={end_dim}): start_dim comes after end_dim")
        shape = self.shape[:start] + (-1 if self.size else math.prod(self.shape[start:end + 1]),) + self.shape[end + 1:]
        return self.reshape(shape)

    def squeeze(self, axis=None):
        """Drop axes of size 1 (all of them, or those in ``axis``; an axis of another size is kept, as
        PyTorch does)."""
        if axis is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        axes = {_check_axis(a, self.ndim, "squeeze") for a in np.atleast_1d(axis).tolist()}
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if not (i in axes and n == 1)))

    def unsqueeze(self, axis):
        """Insert an axis of size 1 at ``axis`` (negative counts from the end of the result)."""
        axis = _check_axis(axis, self.ndim + 1, "unsqueeze")
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def flip(self, axis=None):
        """Reverse the order of entries along ``axis`` (an int or tuple; all axes when None)."""
        axes = range(self.ndim) if axis is None else [_check_axis(a, self.ndim, "flip")
                                                      for a in np.atleast_1d(axis).tolist()]
        axes = list(axes)
        if len(set(axes)) != len(axes):
            raise ValueError(f"flip(axis={axis}): each axis may appear once")
        return self[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(self.ndim))]

    def pad(self, pad_width, value=0.0):
        """Pad with ``value``: ``pad_width`` holds one (before, after) pair per axis, as ``np.pad``'s.

        A bare int pads every side of every axis. A flat tuple such as (1, 2) is accepted only on a
        1-D tensor: on more axes NumPy would pad every axis with it and PyTorch's ``F.pad`` only the
        last, so spell out the pairs.
        """
        widths = _pad_widths(pad_width, self.ndim)
        return rules.Pad.apply(self, pad_width=widths, value=value) if self.ndim else self

    def tile(self, reps):
        """NumPy's ``tile``: repeat the whole tensor ``reps`` times along each axis."""
        reps = (reps,) if isinstance(reps, numbers.Integral) else tuple(reps)
        return self.repeat(*((1,) * (self.ndim - len(reps)) + reps))

    def repeat(self, *sizes, axis=None):
        """PyTorch's ``repeat``: tile the tensor ``sizes[i]`` times along axis i (``len(sizes) >= ndim``).

        NumPy's ``np.repeat`` (each entry repeated) is ``repeat_interleave`` here, as in PyTorch.
        """
        if axis is not None:
            raise TypeError("repeat(..., axis=): NumPy's element-wise repeat is repeat_interleave(repeats, axis) "
                            "here, as in PyTorch; repeat(*sizes) tiles the whole tensor")
        sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
        if len(sizes) < self.ndim:
            raise ValueError(f"repeat{sizes}: give at least one count per axis ({self.ndim} for shape {self.shape})")
        x = self.reshape((1,) * (len(sizes) - self.ndim) + self.shape)
        # put a new axis of size 1 before every axis, broadcast it to the count, merge the pairs
        paired = x.reshape(tuple(d for n in x.shape for d in (1, n)))
        stretched = paired.broadcast_to(tuple(d for r, n in zip(sizes, x.shape) for d in (r, n)))
        return stretched.reshape(tuple(r * n for r, n in zip(sizes, x.shape)))

    def repeat_interleave(self, repeats, axis=None):
        """Each entry repeated ``repeats`` times along ``axis`` (of the flattened tensor when None), as
        ``np.repeat``."""
        if axis is None:
            return self.reshape(-1).repeat_interleave(repeats, 0)
        axis = _check_axis(axis, self.ndim, "repeat_interleave")
        index = np.repeat(np.arange(self.shape[axis]), repeats)
        return self[(slice(None),) * axis + (index,)]

    def split(self, split_size_or_sections, axis=0):
        """PyTorch's ``split``: pieces of ``split_size`` entries along ``axis`` (the last may be smaller),
        or of the sizes in a list, which must add up to the axis length.

        (NumPy's ``np.split(x, n)`` makes n equal pieces: that is ``chunk(n)`` here.)
        """
        axis = _check_axis(axis, self.ndim, "split")
        n = self.shape[axis]
        if isinstance(split_size_or_sections, numbers.Integral):
            step = int(split_size_or_sections)
            if step <= 0:
                raise ValueError(f"split({step}): the piece size must be positive")
            sizes = [min(step, n - start) for start in range(0, n, step)] or [0]
        else:
            sizes = [int(s) for s in split_size_or_sections]
            if sum(sizes) != n or min(sizes, default=0) < 0:
                raise ValueError(f"split({sizes}, axis={axis}): the sizes must be non-negative and add up to the "
                                 f"axis length {n} (these are sizes, as in PyTorch, not NumPy's split points)")
        bounds = np.cumsum([0] + sizes).tolist()
        lead = (slice(None),) * axis
        return tuple(self[lead + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:]))

    def chunk(self, chunks, axis=0):
        """At most ``chunks`` pieces of equal size along ``axis`` (the last may be smaller), as PyTorch."""
        if chunks <= 0:
            raise ValueError(f"chunk({chunks}): the number of chunks must be positive")
        n = self.shape[_check_axis(axis, self.ndim, "chunk")]
        return self.split(max(1, -(-n // chunks)), axis)


# ---------------------------------------------------------------------------------- helpers

def _constant(data):
    """A Tensor that no gradient flows through (comparisons, argmax, sign, ...)."""
    return Tensor._make(data, (), None, None)


def _compare(ufunc, symbol, a, b):
    """``ufunc(a, b)`` on the data, as a constant; a broadcasting failure names both shapes."""
    b_data = b.data if isinstance(b, Tensor) else b
    try:
        return _constant(ufunc(a.data, b_data))
    except ValueError as exc:
        if "broadcast" not in str(exc):
            raise
        raise ValueError(f"t {symbol} u: shapes {a.shape} and {np.shape(b_data)} cannot be broadcast together. "
                         "Comparisons are element-wise, as in PyTorch; to ask whether two tensors are the same "
                         "object use `is` (and a set for graph nodes).") from None


def _axis(axis):
    """Axis arguments as NumPy wants them: None, an int, or a tuple of ints."""
    if axis is None or isinstance(axis, (int, np.integer)):
        return axis
    return tuple(int(a) for a in axis)


def _check_axis(axis, ndim, name):
    """``axis`` as a non-negative int, or an IndexError naming the op and the valid range."""
    n = max(ndim, 1)  # a 0-d tensor accepts axis 0 and -1, as in PyTorch
    if not isinstance(axis, (int, np.integer)) or not -n <= axis < n:
        raise IndexError(f"{name}(axis={axis!r}): the tensor has {ndim} axes; use an axis in [{-n}, {n - 1}]")
    return int(axis) % n


def _reciprocal_count(x, axis, ddof, name):
    """1 / (number of reduced entries - ddof), NaN or inf with a warning when that is not positive."""
    if axis is None:
        n = x.size
    elif x.ndim == 0:
        n = 1
    else:
        n = math.prod(x.shape[a] for a in np.atleast_1d(axis).tolist())
    if n - ddof <= 0:
        warnings.warn(f"{name}: {n} entries to reduce with ddof={ddof}, so the result is NaN or inf "
                      "(as NumPy and PyTorch)", RuntimeWarning, stacklevel=3)
        return math.nan if n == 0 else math.inf
    return 1.0 / (n - ddof)


def _pad_widths(pad_width, ndim):
    if isinstance(pad_width, numbers.Integral):
        return ((int(pad_width), int(pad_width)),) * ndim
    items = list(pad_width)
    if items and all(isinstance(p, numbers.Integral) for p in items):
        if len(items) == 2 and ndim == 1:
            return (tuple(int(p) for p in items),)
        raise ValueError(f"pad({tuple(items)}): give one (before, after) pair per axis, e.g. "
                         f"{tuple([(0, 0)] * (ndim - 1) + [(1, 2)])} to pad the last axis of this {ndim}-D tensor "
                         "(a flat tuple means different things to NumPy, which pads every axis, and PyTorch's "
                         "F.pad, which pads the last axes first)")
    widths = tuple((0, 0) if p is None else (int(p[0]), int(p[1])) for p in items)
    if len(widths) != ndim or any(a < 0 or b < 0 for a, b in widths):
        raise ValueError(f"pad({pad_width}): need {ndim} non-negative (before, after) pairs, one per axis")
    return widths


def _plain_index(index):
    """Indices for ``__getitem__``: Tensors inside become their arrays, lists become arrays."""
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _as_tensor(x, like=None):
    if isinstance(x, Tensor):
        return x
    return like._lift(x) if like is not None else Tensor(x)


def maximum(a, b):
    """Element-wise maximum of two tensors (or numbers); the gradient goes to the larger (ties: to ``a``)."""
    a = _as_tensor(a, b if isinstance(b, Tensor) else None)
    return rules.Maximum.apply(a, a._lift(b))


def minimum(a, b):
    """Element-wise minimum of two tensors (or numbers); the gradient goes to the smaller (ties: to ``a``)."""
    a = _as_tensor(a, b if isinstance(b, Tensor) else None)
    return rules.Minimum.apply(a, a._lift(b))


def where(condition, x, y):
    """``x`` where ``condition`` is True, else ``y`` (element-wise, broadcast); each gets the gradient
    of the entries it supplied."""
    condition = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if condition.dtype.kind != "b":
        raise TypeError(f"where(condition, x, y): condition must be boolean (e.g. x > 0), got {condition.dtype}")
    like = x if isinstance(x, Tensor) else y if isinstance(y, Tensor) else None
    x, y = _as_tensor(x, like), _as_tensor(y, like)
    return rules.Where.apply(Tensor._make(condition, (), None, None), x, y)


def cat(tensors, axis=0):
    """Join tensors along an existing axis (``np.concatenate``, PyTorch's ``cat``); each gets its slice
    of the gradient back."""
    tensors = [_as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat(): give at least one tensor")
    if tensors[0].ndim == 0:
        raise IndexError("cat(): 0-d tensors have no axis to join along; use stack()")
    return rules.Concatenate.apply(*tensors, axis=_check_axis(axis, tensors[0].ndim, "cat"))


concatenate = cat


def stack(tensors, axis=0):
    """Join same-shaped tensors along a new axis."""
    tensors = [_as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack(): give at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack(): every tensor must have the same shape, got {sorted(shapes)}")
    axis = _check_axis(axis, tensors[0].ndim + 1, "stack")
    return cat([t.unsqueeze(axis) for t in tensors], axis=axis)


from . import rules  # noqa: E402  (rules subclass Function, defined above)
