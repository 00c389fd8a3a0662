"""The scalar engine: ``Value``, one number and its gradient.

Vocabulary from micrograd (``data``, ``grad``, ``_prev``, ``_op``, ``_backward``,
``label``). Each operation records its parents and its *local* gradients,
d(out)/d(parent), when it runs forward; ``_backward`` multiplies them by the
upstream gradient ``out.grad`` and adds the product to each parent. That one
loop is the chain rule.
"""
from __future__ import annotations

import math

from .autograd import is_grad_enabled, topo_sort


class Value:
    """A scalar that remembers how it was computed, so it can backpropagate.

    >>> a, b = Value(-2.0, label="a"), Value(3.0, label="b")
    >>> f = (a * b) * (a + b)
    >>> f.backward()
    >>> a.grad, b.grad          # df/da = 2ab + b^2, df/db = a^2 + 2ab
    (-3.0, -8.0)
    """

    __slots__ = ("data", "grad", "_prev", "_local_grads", "_op", "label", "__weakref__")

    def __init__(self, data, _prev=(), _op="", label="", _local_grads=()):
        if isinstance(data, Value):
            raise TypeError("Value(Value(...)): pass the number, e.g. Value(v.data)")
        self.data = float(data)
        self.grad = 0.0
        if not is_grad_enabled():
            _prev, _local_grads = (), ()
        self._prev = _prev                # the Values this one was computed from
        self._local_grads = _local_grads  # d(self)/d(parent), one per parent
        self._op = _op
        self.label = label

    def __repr__(self):
        name = f"{self.label}=" if self.label else ""
        return f"Value({name}{self.data:.6g}, grad={self.grad:.6g})"

    # -- the chain rule -------------------------------------------------------------
    def _backward(self):
        """Hand this node's gradient to its parents: parent.grad += local * upstream."""
        for parent, local in zip(self._prev, self._local_grads):
            parent.grad += local * self.grad  # += : a parent used twice gets both shares

    def backward(self):
        """Fill ``.grad`` of every Value this one depends on with d(self)/d(that value).

        Visits nodes in reverse topological order, so each node has received every
        share of its gradient before passing it on. Gradients of inputs (leaves)
        *accumulate* across calls, as in PyTorch: zero them between steps.
        Intermediate nodes start from zero on every call.
        """
        order = topo_sort(self)
        for node in order:
            if node._prev:
                node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()

    # -- operations: each returns a new Value with its parents and local gradients --
    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, (self, other), "+", _local_grads=(1.0, 1.0))

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, (self, other), "*", _local_grads=(other.data, self.data))

    def __pow__(self, other):
        """self ** other; ``other`` may be a number or a Value (then it gets a gradient too)."""
        if isinstance(other, Value):
            out = self.data ** other.data
            dbase = other.data * self.data ** (other.data - 1) if self.data != 0 or other.data >= 1 else math.nan
            dexp = out * math.log(self.data) if self.data > 0 else (0.0 if self.data == 0 else math.nan)
            return Value(out, (self, other), "**", _local_grads=(dbase, dexp))
        if not isinstance(other, (int, float)):
            raise TypeError(f"Value ** {type(other).__name__}: the exponent must be a number or a Value")
        return Value(self.data ** other, (self,), f"**{other:g}", _local_grads=(other * self.data ** (other - 1),))

    def exp(self):
        out = math.exp(self.data)
        return Value(out, (self,), "exp", _local_grads=(out,))

    def log(self):
        if self.data <= 0:
            raise ValueError(f"log of {self.data:g}: log is defined only for positive numbers")
        return Value(math.log(self.data), (self,), "log", _local_grads=(1.0 / self.data,))

    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, (self,), "tanh", _local_grads=(1.0 - t * t,))

    def relu(self):
        positive = self.data > 0
        return Value(self.data if positive else 0.0, (self,), "relu", _local_grads=(1.0 if positive else 0.0,))

    def sigmoid(self):
        s = 1.0 / (1.0 + math.exp(-self.data)) if self.data >= 0 else math.exp(self.data) / (1.0 + math.exp(self.data))
        return Value(s, (self,), "sigmoid", _local_grads=(s * (1.0 - s),))

    # -- composites: built from the operations above --------------------------------
    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * other ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return other + (-self)

    def __rtruediv__(self, other):
        return other * self ** -1

    def __rpow__(self, other):
        return Value(other) ** self
