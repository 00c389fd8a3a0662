"""What ``Value`` and ``Tensor`` share: grad mode and the topological sort.

Backpropagation visits the graph in reverse topological order: a node hands
its gradient to its parents only after every use of that node has handed its
own gradient to it. The sort here is iterative, so a chain of a million
operations needs no deep Python recursion.
"""
from __future__ import annotations

import contextlib
import threading


class _GradMode(threading.local):
    enabled = True  # each thread starts with grad mode on


_state = _GradMode()


def is_grad_enabled() -> bool:
    """True unless inside ``no_grad()``."""
    return _state.enabled


@contextlib.contextmanager
def no_grad():
    """Context manager that records no graph, as ``torch.no_grad()`` does.

    Inside it, operations compute their results but remember no parents, so nothing
    built there can be backpropagated through (results have ``requires_grad=False``).
    The previous mode is restored on exit, so ``no_grad`` blocks nest.

    >>> from backprop_lab import Tensor
    >>> w = Tensor([1.0, 2.0], requires_grad=True)
    >>> with no_grad():
    ...     y = w * 2
    >>> y.requires_grad, y._prev
    (False, ())
    """
    previous = is_grad_enabled()
    _state.enabled = False
    try:
        yield
    finally:
        _state.enabled = previous


def topo_sort(root) -> list:
    """Every node that ``root`` depends on, parents before children (root last).

    Works on any object with a ``_prev`` tuple of parent nodes (``Value`` and
    ``Tensor`` both). Iterative depth-first search: each node is pushed once to be
    expanded and once more to be emitted after all its parents. The ``seen`` set
    hashes nodes by identity (a Tensor's ``==`` compares values, element-wise).
    """
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for parent in node._prev:
            if parent not in seen:
                stack.append((parent, False))
    return order
