"""The backward driver, one node at a time: what each rule receives and what each parent accumulates.

``backward_steps(root)`` replays the engine's backward pass on a ``Tensor`` graph *without touching it*
(no ``.grad`` is written, nothing is freed) and returns one step per operation node, in the order the
driver visits them: the node, the gradient it received, and for each parent the share the rule hands it
(after ``unbroadcast``) and the parent's running total. ``as_text`` prints the steps; ``trace_widget``
puts a slider in front of them for notebook 06.
"""
from __future__ import annotations

import html

import numpy as np


def _names(order):
    """A readable name per node: its label, else its op with a counter (``Mul#1``)."""
    names, counts = {}, {}
    for node in order:
        if node.label:
            names[id(node)] = node.label
        else:
            op = node._op or "const"
            counts[op] = counts.get(op, 0) + 1
            names[id(node)] = f"{op}#{counts[op]}"
    return names


def backward_steps(root) -> list[dict]:
    """Replay backward from ``root`` (one element, grad 1) and return the steps as plain data.

    Each step: ``{"node", "op", "grad", "shares": [(parent, share, total_after, is_leaf)]}``.
    Call it before ``root.backward()``, which frees the saved arrays the rules need.
    """
    from ..autograd import topo_sort
    from ..tensor import unbroadcast

    order = topo_sort(root)
    names = _names(order)
    totals = {id(root): np.ones_like(np.asarray(root.data, dtype=np.float64))}
    steps = []
    for node in reversed(order):
        if node._fn is None or id(node) not in totals:
            continue
        if node._ctx is None or node._ctx.saved is None:
            raise RuntimeError("backward_steps: the graph was freed by backward(); build it again (or call "
                               "backward_steps before backward)")
        g = totals[id(node)]
        grads = node._fn.backward(node._ctx, g)
        grads = grads if isinstance(grads, tuple) else (grads,)
        shares = []
        for parent, share in zip(node._prev, grads):
            if share is None or not parent.requires_grad:
                continue
            share = np.asarray(unbroadcast(share, parent.data.shape), dtype=np.float64)
            total = share if id(parent) not in totals else totals[id(parent)] + share
            totals[id(parent)] = total
            shares.append((names[id(parent)], share, total, parent._fn is None))
        steps.append({"node": names[id(node)], "op": node._op, "grad": g, "shares": shares})
    return steps


def _fmt(a):
    with np.printoptions(precision=3, suppress=True, threshold=12, edgeitems=2):
        return np.array2string(np.asarray(a), separator=", ").replace("\n", "")


def as_text(steps, upto=None) -> str:
    """The steps (the first ``upto`` of them) as plain text, one block per node."""
    lines = []
    for i, step in enumerate(steps[:upto] if upto is not None else steps, 1):
        lines.append(f"step {i}: {step['node']} ({step['op']}) received grad {_fmt(step['grad'])}")
        for parent, share, total, leaf in step["shares"]:
            kind = "leaf " if leaf else ""
            lines.append(f"    -> {kind}{parent}: + {_fmt(share)}  = {_fmt(total)}")
    return "\n".join(lines)


def _as_html(steps, k):
    rows = []
    for i, step in enumerate(steps[:k], 1):
        style = "background:#fff8c5" if i == k else ""
        shares = "<br>".join(f"→ {'<b>' if leaf else ''}{html.escape(p)}{'</b>' if leaf else ''}: "
                             f"+ {html.escape(_fmt(s))} = {html.escape(_fmt(t))}" for p, s, t, leaf in step["shares"])
        rows.append(f"<tr style='{style}'><td>{i}</td><td><code>{html.escape(step['node'])}</code></td>"
                    f"<td><code>{html.escape(_fmt(step['grad']))}</code></td><td><code>{shares}</code></td></tr>")
    return ("<table><tr><th>step</th><th>node</th><th>gradient received</th>"
            "<th>share handed to each input (after unbroadcast) = running total</th></tr>" + "".join(rows) + "</table>"
            "<p style='font-size:90%'>Leaves in <b>bold</b>. A node runs only after every node that uses it has run, "
            "so its gradient is complete when it is passed on.</p>")


def trace_widget(root):
    """A slider that walks the backward pass of ``root``'s graph one node at a time."""
    import ipywidgets as widgets

    steps = backward_steps(root)
    slider = widgets.IntSlider(value=1, min=1, max=max(len(steps), 1), description="step", continuous_update=True)
    out = widgets.HTML(_as_html(steps, 1))
    slider.observe(lambda change: setattr(out, "value", _as_html(steps, change["new"])), names="value")
    return widgets.VBox([slider, out])
