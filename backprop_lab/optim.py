"""Optimizers: update parameters in place from their ``.grad``."""
from __future__ import annotations

from .backend import array_module


class Optimizer:
    """Holds a list of parameters; ``step()`` updates them, ``zero_grad()`` clears their gradients."""

    def __init__(self, params, lr):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list — pass model.parameters()")
        if lr <= 0:
            raise ValueError(f"{type(self).__name__}: the learning rate must be positive, got lr={lr}")
        self.lr = lr

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        raise NotImplementedError

    def _grads(self):
        """(parameter, gradient) pairs, skipping parameters that got no gradient."""
        return [(p, p.grad) for p in self.params if p.grad is not None]


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum and weight decay (PyTorch's formulation).

    g = grad + weight_decay * p;  v = momentum * v + g;  p = p - lr * v   (v = g when momentum = 0)
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr)
        self.momentum, self.weight_decay = momentum, weight_decay
        self.velocity = {}

    def step(self):
        lr, momentum, weight_decay = self.lr, self.momentum, self.weight_decay
        for p in self.params:
            g = p.grad
            if g is None:  # no gradient reached this parameter
                continue
            if weight_decay:
                g = g + weight_decay * p.data
            if momentum:
                v = self.velocity.get(id(p))
                v = g.copy() if v is None else momentum * v + g
                self.velocity[id(p)] = v
                g = v
            p.data -= lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015, Algorithm 1), with bias correction of both moments.

    m = β1 m + (1-β1) g;  v = β2 v + (1-β2) g²;  m̂ = m / (1-β1^t);  v̂ = v / (1-β2^t);
    p = p - lr m̂ / (√v̂ + ε)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.t = 0
        self.m, self.v = {}, {}

    def step(self):
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        correction1, correction2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for p, g in self._grads():
            xp = array_module(g)
            m = self.m.get(id(p))
            v = self.v.get(id(p))
            m = (1 - b1) * g if m is None else b1 * m + (1 - b1) * g
            v = (1 - b2) * g * g if v is None else b2 * v + (1 - b2) * g * g
            self.m[id(p)], self.v[id(p)] = m, v
            p.data -= self.lr * (m / correction1) / (xp.sqrt(v / correction2) + self.eps)
