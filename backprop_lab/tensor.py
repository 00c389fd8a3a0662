"""The array engine: ``Tensor``, ``Function`` and the backward driver.

A ``Tensor`` wraps an array (``.data``) and, once backpropagated, its gradient
(``.grad``, same shape and dtype). A Tensor made by an operation remembers its
recipe: the ``Function`` that made it (``_fn``), that function's saved context
(``_ctx``) and its inputs (``_prev``). The rules themselves (one ``Function``
per primitive, forward and backward side by side) live in ``rules.py``.

Broadcasting is undone in exactly one place, ``unbroadcast``, called by the
driver on every gradient a rule returns: no rule ever thinks about it.
"""
from __future__ import annotations

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
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
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
      array when there is one input; ``None`` where no gradient is needed)

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
        tensors = tuple([x if isinstance(x, Tensor) else Tensor(x) for x in inputs])
        needs = tuple([t.requires_grad for t in tensors])
        record = True in needs and is_grad_enabled()
        ctx = Context(needs, kwargs)
        try:
            data = cls.forward(ctx, *[t.data for t in tensors], **kwargs)
        except ValueError as exc:
            if "broadcast" not in str(exc):
                raise
            shapes = " and ".join(str(t.shape) for t in tensors)
            raise ValueError(
                f"{cls.__name__.lower()}: shapes {shapes} cannot be broadcast together. Broadcasting aligns "
                "shapes from the right; each pair of sizes must be equal or one of them 1. Reshape an "
                "operand (e.g. b.reshape(-1, 1)) or transpose it.") from None
        if not record:
            return Tensor._make(data, (), None, None)
        return Tensor._make(data, tensors, cls, ctx)


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    ``Tensor(data, requires_grad=False, dtype=None)``: float64 by default for float
    and Python data (gradient checks need it), float32 on request; integer data stays
    integer and cannot require a gradient.
    """

    __slots__ = ("data", "grad", "requires_grad", "_prev", "_fn", "_ctx", "label", "__weakref__")
    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operators

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
        if data.dtype.kind == "b" or data.dtype.kind in "iu":
            if requires_grad:
                raise TypeError(f"Tensor of dtype {data.dtype} cannot require a gradient: only floating-point "
                                "tensors have gradients (pass dtype=np.float64 or np.float32)")
        elif data.dtype.kind != "f":
            raise TypeError(f"Tensor: unsupported dtype {data.dtype}; use float64, float32 or an integer type")
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

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item(): the tensor has {self.data.size} elements (shape {self.shape}); "
                             "only one-element tensors can be converted to a Python number")
        return self.data.item()

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
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward(): the output has shape {self.shape}, not one element; pass the "
                                   "upstream gradient, e.g. y.backward(np.ones_like(y.data)), or reduce first "
                                   "(y.sum().backward())")
            grad = backend.array_module(self.data).ones_like(self.data)
        else:
            grad = grad.data if isinstance(grad, Tensor) else grad
            grad = backend.array_module(self.data).asarray(grad, dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward(grad): grad has shape {grad.shape} but the tensor has shape "
                                 f"{self.shape}; they must match")
        order = topo_sort(self)
        for node in order:
            if node._fn is not None:
                if node._ctx.saved is None:
                    raise RuntimeError(
                        f"backward(): trying to backpropagate through the graph a second time (through a "
                        f"'{node._op}' node) after its saved arrays were freed. Pass retain_graph=True to the "
                        "first backward() if you need to call it twice, or recompute the forward pass.")
                node.grad = None
        self.grad = grad
        for node in reversed(order):
            if node._fn is not None and node.grad is not None:
                node._backward()
                if not retain_graph:
                    node._ctx.free()

    def _backward(self):
        """Hand ``self.grad`` to the inputs: ask the rule for each input's share, undo broadcasting, add."""
        grads = self._fn.backward(self._ctx, self.grad)
        if not isinstance(grads, tuple):
            grads = (grads,)
        for parent, g in zip(self._prev, grads):
            if g is None or not parent.requires_grad:
                continue
            g = unbroadcast(g, parent.data.shape)
            if parent.grad is None:
                # a leaf's .grad is the user's: give it its own writable array; others are read-only to us
                parent.grad = g.copy() if parent._fn is None else g
            else:
                parent.grad = parent.grad + g  # accumulate at forks, never overwrite

    # -- operators ----------------------------------------------------------------------
    def _lift(self, other):
        """Wrap a number or array as a constant Tensor of this tensor's float dtype."""
        if isinstance(other, Tensor):
            return other
        dtype = self.dtype if self.dtype.kind == "f" else None
        return Tensor(backend.array_module(self.data).asarray(other, dtype=dtype))

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

    def __getitem__(self, index):
        return rules.GetItem.apply(self, index=_plain_index(index))

    # comparisons give plain boolean arrays: they are not differentiable
    def __gt__(self, other):
        return self.data > _data(other)

    def __ge__(self, other):
        return self.data >= _data(other)

    def __lt__(self, other):
        return self.data < _data(other)

    def __le__(self, other):
        return self.data <= _data(other)

    # -- element-wise functions ------------------------------------------------------
    def exp(self):
        return rules.Exp.apply(self)

    def log(self):
        return rules.Log.apply(self)

    def tanh(self):
        return rules.Tanh.apply(self)

    def relu(self):
        return rules.ReLU.apply(self)

    def sigmoid(self):
        """1 / (1 + exp(-x)), as a composite of exp, add and reciprocal."""
        return rules.Reciprocal.apply(1.0 + (-self).exp())

    def sqrt(self):
        return self ** 0.5

    def abs(self):
        return maximum(self, -self)

    # -- reductions ----------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        return rules.Sum.apply(self, axis=_axis(axis), keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return rules.Max.apply(self, axis=_axis(axis), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        """Sum divided by the number of summed elements."""
        axis = _axis(axis)
        n = self.size if axis is None else int(np.prod([self.shape[a] for a in np.atleast_1d(axis)]))
        return self.sum(axis=axis, keepdims=keepdims) * (1.0 / n)

    def var(self, axis=None, keepdims=False):
        """Mean squared deviation from the mean (population variance, ddof=0)."""
        centred = self - self.mean(axis=axis, keepdims=True)
        return (centred * centred).mean(axis=axis, keepdims=keepdims)

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

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        return rules.Transpose.apply(self, axes=tuple(axes) if axes else None)

    permute = transpose

    @property
    def T(self):
        return self.transpose()

    def broadcast_to(self, shape):
        return rules.BroadcastTo.apply(self, shape=tuple(shape))

    def flatten(self):
        return self.reshape(-1)


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _axis(axis):
    """Axis arguments as NumPy wants them: None, an int, or a tuple of ints."""
    if axis is None or isinstance(axis, (int, np.integer)):
        return axis
    return tuple(int(a) for a in axis)


def _plain_index(index):
    """Indices for ``__getitem__``: Tensors inside become their arrays, lists become arrays."""
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def maximum(a, b):
    """Element-wise maximum of two tensors (or numbers); the gradient goes to the larger (ties: to ``a``)."""
    a = a if isinstance(a, Tensor) else Tensor(a)
    return rules.Maximum.apply(a, a._lift(b))


def minimum(a, b):
    """Element-wise minimum: -maximum(-a, -b); ties send the gradient to ``a``."""
    a = a if isinstance(a, Tensor) else Tensor(a)
    return -maximum(-a, -a._lift(b))


from . import rules  # noqa: E402  (rules subclass Function, defined above)
