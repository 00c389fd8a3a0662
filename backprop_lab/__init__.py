"""backprop_lab: a small NumPy autograd engine, built up chapter by chapter in the backprop-lab course.

>>> import backprop_lab as bl
>>> x = bl.Tensor([[1.0, 2.0]], requires_grad=True)
>>> (x * x).sum().backward(); x.grad
array([[2., 4.]])
"""
from . import autograd, backend, creation, nn, optim
from .autograd import is_grad_enabled, no_grad
from .creation import (arange, eye, full, full_like, ones, ones_like, rand, rand_like, randn, randn_like, zeros,
                       zeros_like)
from .einsum import einsum
from .gradcheck import GradcheckError, check_graph, gradcheck
from .tensor import Function, Tensor, cat, concatenate, maximum, minimum, stack, unbroadcast, where
from .value import Value

__version__ = "0.1.0"

__all__ = [
    "Value", "Tensor", "Function", "no_grad", "is_grad_enabled", "einsum", "maximum", "minimum", "where",
    "cat", "concatenate", "stack", "zeros", "ones", "full", "arange", "eye", "rand", "randn", "zeros_like",
    "ones_like", "full_like", "rand_like", "randn_like",
    "unbroadcast", "gradcheck", "check_graph", "GradcheckError", "nn", "optim", "autograd", "backend", "creation",
    "datasets", "exercises", "viz", "doctor", "show_source", "show_doc",
]


def __getattr__(name):
    """Load the course-side modules on first use, so ``import backprop_lab`` stays fast."""
    import importlib

    if name in ("datasets", "exercises", "viz", "widgets"):
        return importlib.import_module(f"backprop_lab.{name}")
    if name == "doctor":
        return importlib.import_module("backprop_lab.diagnosis").doctor
    if name in ("show_source", "show_doc"):
        return getattr(importlib.import_module("backprop_lab.source"), name)
    raise AttributeError(f"module 'backprop_lab' has no attribute {name!r}")
