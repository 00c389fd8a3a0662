"""Pictures of the computational graph, and a widget that walks the backward pass.

``draw_graph(root)`` draws the graph that ``root`` (a ``Value`` or a ``Tensor``) was computed
from, as inline SVG: one box per value (label, data or shape, grad), one small node per
operation, edges left to right from inputs to output. Pure Python: no graphviz, nothing to
install. Graphs above ``max_nodes`` (60) get a message instead of an unreadable picture.

``step_through(root)`` is an ipywidgets widget: a slider (and buttons) walks the backward pass
one node at a time, in reverse topological order, highlighting the node whose gradient is being
handed on and showing, for each input, the local gradient, the upstream gradient, their product
and how the input's ``.grad`` accumulates. ``backward_steps(root)`` computes those steps (it is
what the widget shows, usable without a display).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from html import escape
from typing import Any

import numpy as np

from .autograd import topo_sort

MAX_NODES = 60

# geometry (pixels) and colours
LINE_H, PAD_X, PAD_Y = 15, 8, 6
OP_R, COL_GAP, MARGIN = 15, 34, 12
CHAR_W = 7.0
FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"
COLOURS = {
    "box": ("#ffffff", "#5f6368"), "leaf": ("#f8f9fa", "#5f6368"), "op": ("#e8f0fe", "#1a73e8"),
    "current": ("#fef7e0", "#e37400"), "parent": ("#e6f4ea", "#1e8e3e"), "edge": "#80868b",
}


# ----------------------------------------------------------------------------- reading nodes

def _is_tensor(node) -> bool:
    return hasattr(node, "shape") and not isinstance(node.data, (int, float))


def _to_numpy(x):
    if x is None:
        return None
    try:
        from .backend import to_numpy

        return np.asarray(to_numpy(x))
    except Exception:
        return np.asarray(x)


def fmt(x) -> str:
    """A number or small array, short: 2.5, -0.0312, [1, 2, 3], or a shape and norm for bigger arrays."""
    if x is None:
        return "None"
    if isinstance(x, (int, float, np.floating, np.integer)):
        return f"{float(x):.4g}"
    arr = _to_numpy(x)
    if arr.ndim == 0:
        return f"{float(arr):.4g}"
    if arr.size <= 4:
        return "[" + ", ".join(f"{float(v):.3g}" for v in arr.ravel()) + "]" + (
            f" {arr.shape}" if arr.ndim > 1 else "")
    return f"{arr.shape} ‖·‖={float(np.linalg.norm(arr)):.3g}"


def node_lines(node, grad=None, use_grad=False, name="") -> list[str]:
    """The text of a value box: label (or ``name`` for an unlabelled node) and shape, data, grad."""
    g = grad if use_grad else node.grad
    label = getattr(node, "label", "") or name
    if _is_tensor(node):
        shape = tuple(node.shape)
        head = f"{label} {shape}".strip() if label else f"tensor {shape}"
        data = "data " + (fmt(node.data) if node.data.size <= 4 else f"{shape}")
        if not getattr(node, "requires_grad", True):
            return [head, data, "no grad"]
        return [head, data, "grad " + fmt(g)]
    return [label, f"data {fmt(node.data)}", f"grad {fmt(g)}"]


def op_name(node) -> str:
    return str(getattr(node, "_op", "") or "op")


def op_rx(node) -> float:
    """Half-width of a node's op ellipse."""
    return max(float(OP_R), len(op_name(node)) * CHAR_W / 2 + 6)


# ----------------------------------------------------------------------------- layout

@dataclass
class Layout:
    x: dict = field(default_factory=dict)      # id(node) -> left edge of its box
    y: dict = field(default_factory=dict)      # id(node) -> vertical centre of its box
    op_x: dict = field(default_factory=dict)   # id(node) -> centre of the op node that made it
    route: dict = field(default_factory=dict)  # (id(parent), id(child)) -> points the edge passes through
    width: float = 0
    height: float = 0


DUMMY_H, GAP_Y = 10, 14


def layout(nodes: list, boxes: dict) -> Layout:
    """Layered left-to-right layout (Sugiyama style).

    Columns by longest path from the inputs (leaves just left of their first use); an edge that
    spans several columns gets a thin placeholder in each column it crosses, so it runs between
    boxes instead of behind them; rows ordered by the barycentre heuristic (a few sweeps).
    """
    ids = {id(n): n for n in nodes}
    children: dict[int, list] = {id(n): [] for n in nodes}
    rank: dict = {}
    for n in nodes:  # inputs first, so parents are ranked before children
        parents = [p for p in dict.fromkeys(n._prev) if id(p) in ids]
        rank[id(n)] = 1 + max((rank[id(p)] for p in parents), default=-1)
        for p in parents:
            children[id(p)].append(n)
    for n in reversed(nodes):  # leaves sit just left of their first use, not all at the far left
        if not n._prev and children[id(n)]:
            rank[id(n)] = min(rank[id(c)] for c in children[id(n)]) - 1

    # elements: real nodes (key id(node)) and placeholders (key (id(parent), id(child), column))
    preds: dict = {id(n): [] for n in nodes}
    succs: dict = {id(n): [] for n in nodes}
    height = {id(n): boxes[id(n)][1] for n in nodes}
    chains: dict = {}
    for n in nodes:
        for p in dict.fromkeys(n._prev):
            if id(p) not in ids:
                continue
            chain = [(id(p), id(n), r) for r in range(rank[id(p)] + 1, rank[id(n)])]
            chains[(id(p), id(n))] = chain
            keys = [id(p)] + chain + [id(n)]
            for a, b in zip(keys, keys[1:]):
                succs.setdefault(a, []).append(b)
                preds.setdefault(b, []).append(a)
            for d in chain:
                rank[d], height[d] = d[2], DUMMY_H
    columns: dict = {}
    for key in [id(n) for n in nodes] + [d for c in chains.values() for d in c]:
        columns.setdefault(rank[key], []).append(key)
    pos = {k: i for col in columns.values() for i, k in enumerate(col)}

    def sweep(col_ranks, neighbours):
        for r in col_ranks:
            col = columns[r]

            def bary(k):
                nb = [pos[m] for m in neighbours.get(k, ())]
                return (sum(nb) / len(nb) if nb else pos[k], pos[k])

            col.sort(key=bary)
            for i, k in enumerate(col):
                pos[k] = i

    ranks = sorted(columns)
    for _ in range(4):
        sweep(ranks[1:], preds)
        sweep(ranks[-2::-1], succs)

    lay = Layout()
    real = {r: [k for k in columns[r] if k in ids] for r in ranks}
    col_w = {r: max((boxes[k][0] for k in real[r]), default=20) for r in ranks}
    op_w = {r: max((op_rx(ids[k]) * 2 for k in real[r] if ids[k]._prev), default=0) for r in ranks}
    col_x, x = {}, MARGIN
    for r in ranks:
        if op_w[r]:  # room for the op nodes left of this column
            x += op_w[r] + COL_GAP
        col_x[r] = x
        for k in real[r]:
            lay.x[k] = x
            lay.op_x[k] = x - COL_GAP / 2 - op_w[r] / 2
        x += col_w[r] + COL_GAP
    lay.width = x - COL_GAP + MARGIN
    col_h = {r: sum(height[k] for k in columns[r]) + GAP_Y * (len(columns[r]) - 1) for r in ranks}
    tallest = max(col_h.values())
    ys = {}
    for r in ranks:
        y = MARGIN + (tallest - col_h[r]) / 2
        for k in columns[r]:
            ys[k] = y + height[k] / 2
            y += height[k] + GAP_Y
    lay.height = tallest + 2 * MARGIN
    for k in ids:
        lay.y[k] = ys[k]
    for edge, chain in chains.items():
        lay.route[edge] = [(col_x[d[2]] - (op_w[d[2]] + COL_GAP / 2 if op_w[d[2]] else 0), ys[d]) for d in chain]
        lay.route[edge] = [pt for d, (x0, y0) in zip(chain, lay.route[edge])
                           for pt in ((x0, y0), (col_x[d[2]] + col_w[d[2]], y0))]
    return lay


# ----------------------------------------------------------------------------- SVG

class GraphPicture:
    """What ``draw_graph`` returns: displays as inline SVG in Jupyter; ``.svg`` holds the text.

    When the graph is too big, ``.svg`` is None and ``.message`` says why (and what to do).
    """

    def __init__(self, svg: str | None, n_nodes: int, message: str = ""):
        self.svg, self.n_nodes, self.message = svg, n_nodes, message

    def _repr_svg_(self):
        return self.svg

    def _repr_html_(self):
        if self.svg is None:
            return (f'<div style="padding:6px 10px;border-left:4px solid #e37400;background:#fef7e0;'
                    f'color:#4d2800">{escape(self.message)}</div>')
        return f'<div style="overflow-x:auto;max-width:100%">{self.svg}</div>'

    def __repr__(self):
        return self.message if self.svg is None else f"<graph picture: {self.n_nodes} nodes, draw_graph(...)>"

    def save(self, path) -> None:
        """Write the SVG to ``path`` (open it in any browser)."""
        if self.svg is None:
            raise ValueError(self.message)
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.svg)


def _text_width(lines) -> float:
    return max(len(s) for s in lines) * CHAR_W + 2 * PAD_X


def draw_graph(root, *, max_nodes: int = MAX_NODES, highlight=None, parents=(), grads: dict | None = None,
               title: str = "") -> GraphPicture:
    """Draw the computational graph of ``root`` (a ``Value`` or ``Tensor``) as inline SVG.

    ``highlight``: a node to mark (orange) and ``parents`` nodes to mark green (the step-through
    widget uses both); ``grads``: ``{id(node): grad}`` to show instead of the nodes' ``.grad``.
    Graphs with more than ``max_nodes`` values are not drawn: the result says so.
    """
    if not hasattr(root, "_prev"):
        raise TypeError(f"draw_graph needs a Value or a Tensor (something with _prev), not {type(root).__name__}")
    nodes = topo_sort(root)
    if len(nodes) > max_nodes:
        return GraphPicture(None, len(nodes), (
            f"This graph has {len(nodes)} nodes; draw_graph draws at most {max_nodes} so the picture stays "
            f"readable. Draw a smaller part (one neuron, one example, a smaller layer), or pass "
            f"max_nodes={len(nodes)} to draw it anyway."))
    grads = grads or {}
    names = default_names(root, nodes)
    texts = {id(n): node_lines(n, grads.get(id(n)), id(n) in grads, names.get(id(n), "")) for n in nodes}
    boxes = {k: (_text_width(v), len(v) * LINE_H + 2 * PAD_Y) for k, v in texts.items()}
    lay = layout(nodes, boxes)
    marked_parents = {id(p) for p in parents}
    top = 22 if title else 0
    body = []
    for n in nodes:  # edges first, so boxes sit on top of them
        if not n._prev:
            continue
        cx, cy, rx = lay.op_x[id(n)], lay.y[id(n)], op_rx(n)
        for p in dict.fromkeys(n._prev):  # a parent used twice gets one edge (x * x)
            start = (lay.x[id(p)] + boxes[id(p)][0], lay.y[id(p)])
            body.append(_edge([start, *lay.route.get((id(p), id(n)), []), (cx - rx, cy)]))
        body.append(_edge([(cx + rx, cy), (lay.x[id(n)], cy)]))
    for n in nodes:
        w, h = boxes[id(n)]
        x, y = lay.x[id(n)], lay.y[id(n)] - h / 2
        kind = ("current" if n is highlight else "parent" if id(n) in marked_parents
                else "box" if n._prev else "leaf")
        fill, stroke = COLOURS[kind]
        width = 2.5 if kind in ("current", "parent") else 1
        body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="4" fill="{fill}" '
                    f'stroke="{stroke}" stroke-width="{width}"/>')
        for i, line in enumerate(texts[id(n)]):
            weight = ' font-weight="bold"' if i == 0 else ""
            body.append(f'<text x="{x + PAD_X:.1f}" y="{y + PAD_Y + (i + 0.8) * LINE_H:.1f}"{weight}>'
                        f'{escape(line)}</text>')
        if n._prev:
            name = op_name(n)
            cx, cy, rx = lay.op_x[id(n)], lay.y[id(n)], op_rx(n)
            fill, stroke = COLOURS["current" if n is highlight else "op"]
            body.append(f'<ellipse cx="{cx:.1f}" cy="{cy:.1f}" rx="{rx:.1f}" ry="{OP_R}" fill="{fill}" '
                        f'stroke="{stroke}"/>')
            body.append(f'<text x="{cx:.1f}" y="{cy + 4:.1f}" text-anchor="middle">{escape(name)}</text>')
    width, height = lay.width, lay.height + top
    inner = "\n".join(body)
    uid = "bl" + hashlib.sha1(inner.encode()).hexdigest()[:8]  # unique per picture, stable per content
    inner = inner.replace("url(#arrow)", f"url(#{uid}-arrow)")
    heading = (f'<text x="{MARGIN}" y="16" font-weight="bold">{escape(title)}</text>\n' if title else "")
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}" font-size="12" role="img">\n'
           f'<title>computational graph, {len(nodes)} nodes</title>\n'
           f'<defs><marker id="{uid}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           f'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
           f'fill="{COLOURS["edge"]}"/></marker></defs>\n'
           f'<rect width="100%" height="100%" fill="#ffffff"/>\n{heading}'
           f'<g transform="translate(0,{top})" fill="#202124">\n{inner}\n</g>\n</svg>')
    return GraphPicture(svg, len(nodes))


def _edge(points) -> str:
    """A path from the first point to the last: curves between columns, straight through a column."""
    (x, y), rest = points[0], points[1:]
    d = [f"M {x:.1f} {y:.1f}"]
    for i, (x2, y2) in enumerate(rest):
        if i % 2 == 1 and i < len(rest) - 1:  # crossing a column on a placeholder: straight
            d.append(f"L {x2:.1f} {y2:.1f}")
        else:
            dx = max(12.0, (x2 - x) / 2)
            d.append(f"C {x + dx:.1f} {y:.1f}, {x2 - dx:.1f} {y2:.1f}, {x2:.1f} {y2:.1f}")
        x, y = x2, y2
    return (f'<path d="{" ".join(d)}" fill="none" stroke="{COLOURS["edge"]}" stroke-width="1.2" '
            f'marker-end="url(#arrow)"/>')


# ----------------------------------------------------------------------------- the backward pass, step by step

@dataclass
class Share:
    """What one step adds to one parent: ``after = before + contribution``."""

    parent: Any
    local: Any            # d(node)/d(parent) for a Value; None for a Tensor (the rule computes the product)
    contribution: Any
    before: Any
    after: Any
    uses: int = 1         # how often the parent appears among the node's inputs (x * x: 2)


@dataclass
class Step:
    node: Any
    upstream: Any         # node.grad when it hands its gradient on
    shares: list
    grads: dict           # id(node) -> grad of every node after this step


def _copy(g):
    if g is None:
        return None
    return g.copy() if hasattr(g, "copy") else g


def _zero_like(node):
    return None if _is_tensor(node) else 0.0


def backward_steps(root) -> list[Step]:
    """Replay the backward pass of ``root`` one node at a time; leave every ``.grad`` as it was.

    Each step calls the node's own ``_backward()`` and records, for each parent, the grad before
    and after: the difference is that parent's share. Gradients start at zero and the root's at 1.
    """
    order = topo_sort(root)
    for n in order:
        ctx = getattr(n, "_ctx", None)
        if n._prev and ctx is not None and getattr(ctx, "saved", ()) is None:
            raise RuntimeError("this graph's saved arrays were freed by an earlier backward(); build the graph "
                               "again (or call backward(retain_graph=True)) before stepping through it")
    saved = [(n, n.grad) for n in order]
    steps: list[Step] = []
    try:
        for n in order:
            n.grad = _zero_like(n)
        if _is_tensor(root):
            from .backend import array_module

            root.grad = array_module(root.data).ones_like(root.data)
        else:
            root.grad = 1.0
        grads = {id(n): _copy(n.grad) for n in order}
        steps.append(Step(None, None, [], dict(grads)))
        for n in reversed(order):
            if not n._prev or n.grad is None:
                continue
            unique = list(dict.fromkeys(n._prev))
            before = [_copy(p.grad) for p in unique]
            n._backward()
            shares = []
            locals_ = getattr(n, "_local_grads", None)
            for p, b in zip(unique, before):
                after = _copy(p.grad)
                if after is None:
                    continue
                contribution = after - (b if b is not None else 0)
                uses = sum(q is p for q in n._prev)
                local = None
                if locals_ is not None:  # one local gradient per use of p
                    local = [lg for q, lg in zip(n._prev, locals_) if q is p]
                shares.append(Share(p, local, contribution, b, after, uses))
                grads[id(p)] = after
            steps.append(Step(n, _copy(n.grad), shares, dict(grads)))
    finally:
        for n, g in saved:
            n.grad = g
    return steps


def _name(node, names: dict) -> str:
    label = getattr(node, "label", "")
    return label or names.get(id(node), "?")


def describe_step(steps: list[Step], k: int, names: dict | None = None) -> str:
    """Plain-text explanation of step ``k`` (0 = the start)."""
    names = names or {}
    step = steps[k]
    if step.node is None:
        return ("Start: the output's gradient is 1 (d out/d out = 1); every other .grad starts at 0. "
                "Each step takes one node, latest first, and hands its gradient to its inputs.")
    n = step.node
    lines = [f"Step {k} of {len(steps) - 1}: node {_name(n, names)} = {op_name(n)}(...), "
             f"its gradient (upstream) is {fmt(step.upstream)}."]
    for s in step.shares:
        pname = _name(s.parent, names)
        twice = f" (used {s.uses} times: the shares add)" if s.uses > 1 else ""
        before = fmt(s.before) if s.before is not None else "0"
        up = fmt(step.upstream)
        up = f"({up})" if up.startswith("-") else up
        if s.local is not None:
            local = " + ".join(f"({fmt(v)})" if float(v) < 0 else fmt(v) for v in s.local)
            local = f"({local})" if len(s.local) > 1 else local
            lines.append(f"  → {pname}{twice}: local gradient {local} × upstream {up} "
                         f"= {fmt(s.contribution)};  {pname}.grad: {before} + {fmt(s.contribution)} = {fmt(s.after)}")
        else:
            lines.append(f"  → {pname}{twice}: {op_name(n)}.backward(upstream) gives the share "
                         f"{fmt(s.contribution)};  {pname}.grad: {before} + share = {fmt(s.after)}")
    if k == len(steps) - 1:
        lines.append("Done: every node's .grad now holds d out/d node.")
    return "\n".join(lines)


def default_names(root, nodes=None) -> dict:
    """Names for unlabelled nodes, in the order they were computed: n0, n1, ... (as draw_graph shows them)."""
    nodes = topo_sort(root) if nodes is None else nodes
    return {id(n): f"n{i}" for i, n in enumerate(nodes) if not getattr(n, "label", "")}


def step_through(root, *, max_nodes: int = MAX_NODES):
    """An ipywidgets widget that walks the backward pass of ``root`` one node at a time."""
    try:
        import ipywidgets as w
    except ImportError as exc:  # pragma: no cover - ipywidgets is a dependency
        raise ImportError("step_through needs ipywidgets: pip install ipywidgets") from exc
    nodes = topo_sort(root)
    if len(nodes) > max_nodes:
        return w.HTML(draw_graph(root, max_nodes=max_nodes)._repr_html_())
    steps = backward_steps(root)
    names = default_names(root)
    slider = w.IntSlider(value=0, min=0, max=len(steps) - 1, description="step", continuous_update=True,
                         layout=w.Layout(width="420px"))
    back = w.Button(description="◀ back", layout=w.Layout(width="80px"))
    forward = w.Button(description="next ▶", layout=w.Layout(width="80px"))
    picture, text = w.HTML(), w.HTML()

    def show(k):
        step = steps[k]
        parents = [s.parent for s in step.shares]
        pic = draw_graph(root, max_nodes=max_nodes, highlight=step.node, parents=parents, grads=step.grads)
        picture.value = pic._repr_html_()
        text.value = (f'<pre style="white-space:pre-wrap;margin:4px 0;font-size:12px">'
                      f'{escape(describe_step(steps, k, names))}</pre>')

    slider.observe(lambda change: show(change["new"]), names="value")
    back.on_click(lambda _: setattr(slider, "value", max(0, slider.value - 1)))
    forward.on_click(lambda _: setattr(slider, "value", min(slider.max, slider.value + 1)))
    show(0)
    box = w.VBox([w.HBox([back, slider, forward]), picture, text])
    box.steps = steps  # for inspection and tests
    return box
