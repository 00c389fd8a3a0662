"""Pictures of the computational graph, and a widget that walks the backward pass.

``draw_graph(root)`` draws the graph that ``root`` (a ``Value`` or a ``Tensor``) was computed
from, as inline SVG: one box per value (label, data or shape, grad), one small node per
operation, edges from inputs to output: left to right when that fits the width of a notebook
(``MAX_WIDTH``), else top to bottom (long chains such as an MLP's loss). The picture keeps its
natural size (12 px text) inside a container that scrolls, never shrunk to fit; its colours
follow JupyterLab's light or dark theme (``backprop_lab.theme``). Pure Python: no graphviz,
nothing to install. Graphs above ``max_nodes`` (60) get a message instead of a picture.

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

from . import theme
from .autograd import topo_sort

MAX_NODES = 60
# a little less than a notebook's output area in a 1280 px wide browser window with JupyterLab's file browser
# open (about 850 px): a left-to-right picture wider than this is drawn top to bottom instead
MAX_WIDTH = 800
MAX_HEIGHT = "85vh"  # taller pictures scroll inside their container

# geometry (pixels)
LINE_H, PAD_X, PAD_Y = 15, 8, 6
OP_R, OP_GAP, MARGIN = 15, 18, 12     # op node radius; gap between an op node and its output's box
RANK_GAP = {"LR": 34, "TB": 26}       # between consecutive ranks (columns or rows)
ORDER_GAP = {"LR": 14, "TB": 16}      # between neighbours within a rank
DUMMY = 10                            # the room an edge passing through a rank takes there
CHAR_W = 7.0
FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"
FONT_PX = 12
# fallback colours (presentation attributes: a saved .svg file, front ends without JupyterLab's CSS) and the
# classes whose themed colours GRAPH_CSS sets (light and dark theme)
COLOURS = {
    "box": ("#ffffff", "#5f6368"), "leaf": ("#f1f3f4", "#5f6368"), "op": ("#e8f0fe", theme.ACCENTS["info"]),
    "current": ("#fef7e0", theme.ACCENTS["invalid"]), "parent": ("#e6f4ea", theme.ACCENTS["pass"]),
    "edge": "#80868b", "ink": "#202124", "background": "#ffffff",
}
GRAPH_CSS = {
    "bl-bg": f"fill:{theme.BACKGROUND}",
    "bl-ink": f"fill:{theme.TEXT}",
    "bl-box": f"fill:{theme.BACKGROUND};stroke:{theme.MUTED_LINE}",
    "bl-leaf": f"fill:{theme.SURFACE_2};stroke:{theme.MUTED_LINE}",
    "bl-op": f"fill:{theme.tint('info', 0.16)};stroke:{theme.ACCENTS['info']}",
    "bl-current": f"fill:{theme.tint('invalid', 0.22)};stroke:{theme.ACCENTS['invalid']}",
    "bl-parent": f"fill:{theme.tint('pass', 0.22)};stroke:{theme.ACCENTS['pass']}",
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
    direction: str = "LR"                      # "LR": inputs left, output right; "TB": inputs top, output bottom
    box: dict = field(default_factory=dict)    # id(node) -> (x, y, width, height) of its box
    op: dict = field(default_factory=dict)     # id(node) -> (cx, cy) of the op node that made it
    route: dict = field(default_factory=dict)  # (id(parent), id(child)) -> points the edge passes through
    width: float = 0
    height: float = 0

    def out_point(self, key):
        """Where edges leave a box (right side, or bottom)."""
        x, y, w, h = self.box[key]
        return (x + w, y + h / 2) if self.direction == "LR" else (x + w / 2, y + h)

    def in_point(self, key):
        """Where the edge from its op node enters a box (left side, or top)."""
        x, y, w, h = self.box[key]
        return (x, y + h / 2) if self.direction == "LR" else (x + w / 2, y)

    def op_ends(self, key, rx):
        """(entry, exit) points of an op node's ellipse."""
        cx, cy = self.op[key]
        return ((cx - rx, cy), (cx + rx, cy)) if self.direction == "LR" else ((cx, cy - OP_R), (cx, cy + OP_R))


def _ranks_and_order(nodes: list):
    """Sugiyama's first two steps: a rank per node, placeholders for long edges, an order within each rank.

    Ranks by longest path from the inputs (leaves just before their first use); an edge that spans several
    ranks gets a placeholder in each rank it crosses, so it runs between boxes instead of behind them; the
    order within a rank by the barycentre heuristic (a few sweeps). Returns (rank -> ordered keys, chains):
    keys are id(node) or placeholders (id(parent), id(child), rank).
    """
    ids = {id(n): n for n in nodes}
    children: dict[int, list] = {id(n): [] for n in nodes}
    rank: dict = {}
    for n in nodes:  # inputs first, so parents are ranked before children
        parents = [p for p in dict.fromkeys(n._prev) if id(p) in ids]
        rank[id(n)] = 1 + max((rank[id(p)] for p in parents), default=-1)
        for p in parents:
            children[id(p)].append(n)
    for n in reversed(nodes):  # leaves sit just before their first use, not all at the start
        if not n._prev and children[id(n)]:
            rank[id(n)] = min(rank[id(c)] for c in children[id(n)]) - 1

    preds: dict = {id(n): [] for n in nodes}
    succs: dict = {id(n): [] for n in nodes}
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
                rank[d] = d[2]
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
    return {r: columns[r] for r in ranks}, chains


def layout(nodes: list, boxes: dict, direction: str = "LR") -> Layout:
    """Place every box and op node, inputs first along the main axis: columns ("LR") or rows ("TB").

    ``boxes``: id(node) -> (width, height). Within a rank, boxes follow the order ``_ranks_and_order`` found,
    centred on the widest rank; a rank is as thick as its op nodes plus its largest box.
    """
    if direction not in ("LR", "TB"):
        raise ValueError(f"direction must be 'LR' (left to right) or 'TB' (top to bottom), not {direction!r}")
    ids = {id(n): n for n in nodes}
    columns, chains = _ranks_and_order(nodes)
    lr = direction == "LR"

    def along(k):  # a box's size along the rank (order axis), and across it (main axis)
        if k not in ids:
            return DUMMY
        w, h = boxes[k]
        return h if lr else w

    def across(k):
        w, h = boxes[k]
        return w if lr else h

    def op_size(k):
        return 2 * op_rx(ids[k]) if lr else 2 * OP_R

    real = {r: [k for k in col if k in ids] for r, col in columns.items()}
    box_t = {r: max((across(k) for k in real[r]), default=DUMMY) for r in columns}
    op_t = {r: max((op_size(k) for k in real[r] if ids[k]._prev), default=0) for r in columns}
    spans = {r: sum(along(k) for k in col) + ORDER_GAP[direction] * (len(col) - 1) for r, col in columns.items()}
    widest = max(spans.values())

    lay = Layout(direction)
    main, start, end = MARGIN, {}, {}   # main-axis position; where each rank starts and ends
    order_centre = {}
    for r, col in columns.items():
        start[r] = main
        op_centre = main + op_t[r] / 2
        box_start = main + (op_t[r] + OP_GAP if op_t[r] else 0)
        end[r] = box_start + box_t[r]
        o = MARGIN + (widest - spans[r]) / 2
        for k in col:
            order_centre[k] = o + along(k) / 2
            o += along(k) + ORDER_GAP[direction]
            if k not in ids:
                continue
            w, h = boxes[k]
            c = order_centre[k]
            lay.box[k] = (box_start, c - h / 2, w, h) if lr else (c - w / 2, box_start, w, h)
            if ids[k]._prev:
                lay.op[k] = (op_centre, c) if lr else (c, op_centre)
        main = end[r] + RANK_GAP[direction]
    extent_main = main - RANK_GAP[direction] + MARGIN
    extent_order = widest + 2 * MARGIN
    lay.width, lay.height = (extent_main, extent_order) if lr else (extent_order, extent_main)
    for edge, chain in chains.items():  # straight through each rank it crosses, between the boxes
        points = []
        for d in chain:
            c = order_centre[d]
            points += [(start[d[2]], c), (end[d[2]], c)] if lr else [(c, start[d[2]]), (c, end[d[2]])]
        lay.route[edge] = points
    return lay


# ----------------------------------------------------------------------------- SVG

class GraphPicture:
    """What ``draw_graph`` returns: displays as inline SVG in Jupyter; ``.svg`` holds the text.

    In JupyterLab the picture keeps its natural size inside a container that scrolls (so its text stays
    readable however big the graph is). When the graph is too big to draw, ``.svg`` is None and
    ``.message`` says why (and what to do).
    """

    def __init__(self, svg: str | None, n_nodes: int, message: str = "", direction: str = "LR"):
        self.svg, self.n_nodes, self.message, self.direction = svg, n_nodes, message, direction

    def _repr_svg_(self):
        return self.svg

    def _repr_html_(self):
        if self.svg is None:
            return f'<div class="backprop-lab-graph" style="{theme.box_style("invalid")}">{escape(self.message)}</div>'
        # JupyterLab shrinks an <svg> to the output's width (max-width: 100%); the inline style keeps its size
        svg = self.svg.replace("<svg ", '<svg style="max-width:none;height:auto;display:block" ', 1)
        return (f'<div class="backprop-lab-graph" style="overflow:auto;max-width:100%;max-height:{MAX_HEIGHT}">'
                f'{svg}</div>')

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
               title: str = "", direction: str = "auto") -> GraphPicture:
    """Draw the computational graph of ``root`` (a ``Value`` or ``Tensor``) as inline SVG.

    ``direction``: "LR" (inputs left, output right), "TB" (inputs at the top), or "auto": left to right
    if that is at most ``MAX_WIDTH`` pixels wide, else whichever of the two is narrower.
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
    if direction == "auto":
        lay = layout(nodes, boxes, "LR")
        if lay.width > MAX_WIDTH:
            tall = layout(nodes, boxes, "TB")
            lay = tall if tall.width < lay.width else lay
    else:
        lay = layout(nodes, boxes, direction)
    marked_parents = {id(p) for p in parents}
    top = 22 if title else 0
    body = []
    for n in nodes:  # edges first, so boxes sit on top of them
        if not n._prev:
            continue
        entry, exit_ = lay.op_ends(id(n), op_rx(n))
        for p in dict.fromkeys(n._prev):  # a parent used twice gets one edge (x * x)
            body.append(_edge([lay.out_point(id(p)), *lay.route.get((id(p), id(n)), []), entry], lay.direction))
        body.append(_edge([exit_, lay.in_point(id(n))], lay.direction))
    for n in nodes:
        x, y, w, h = lay.box[id(n)]
        kind = ("current" if n is highlight else "parent" if id(n) in marked_parents
                else "box" if n._prev else "leaf")
        fill, stroke = COLOURS[kind]
        width = 2.5 if kind in ("current", "parent") else 1
        body.append(f'<rect class="bl-{kind}" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="4" '
                    f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>')
        for i, line in enumerate(texts[id(n)]):
            weight = ' font-weight="bold"' if i == 0 else ""
            body.append(f'<text x="{x + PAD_X:.1f}" y="{y + PAD_Y + (i + 0.8) * LINE_H:.1f}"{weight}>'
                        f'{escape(line)}</text>')
        if n._prev:
            name = op_name(n)
            (cx, cy), rx = lay.op[id(n)], op_rx(n)
            kind = "current" if n is highlight else "op"
            fill, stroke = COLOURS[kind]
            body.append(f'<ellipse class="bl-{kind}" cx="{cx:.1f}" cy="{cy:.1f}" rx="{rx:.1f}" ry="{OP_R}" '
                        f'fill="{fill}" stroke="{stroke}"/>')
            body.append(f'<text x="{cx:.1f}" y="{cy + 4:.1f}" text-anchor="middle">{escape(name)}</text>')
    width, height = lay.width, lay.height + top
    inner = "\n".join(body)
    uid = "bl" + hashlib.sha1(inner.encode()).hexdigest()[:8]  # unique per picture, stable per content
    inner = inner.replace("url(#arrow)", f"url(#{uid}-arrow)")
    css = " ".join(f"#{uid} .{cls}{{{rule}}}" for cls, rule in GRAPH_CSS.items())
    heading = (f'<text x="{MARGIN}" y="16" font-weight="bold">{escape(title)}</text>\n' if title else "")
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" id="{uid}" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}" font-size="{FONT_PX}" role="img">\n'
           f'<title>computational graph, {len(nodes)} nodes</title>\n'
           f'<style>{css}</style>\n'
           f'<defs><marker id="{uid}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           f'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
           f'fill="{COLOURS["edge"]}"/></marker></defs>\n'
           f'<rect class="bl-bg" width="100%" height="100%" fill="{COLOURS["background"]}"/>\n'
           f'<g class="bl-ink" fill="{COLOURS["ink"]}">{heading}</g>\n'
           f'<g class="bl-ink" transform="translate(0,{top})" fill="{COLOURS["ink"]}">\n{inner}\n</g>\n</svg>')
    return GraphPicture(svg, len(nodes), direction=lay.direction)


def _edge(points, direction="LR") -> str:
    """A path from the first point to the last: curves between ranks, straight through a rank it crosses."""
    (x, y), rest = points[0], points[1:]
    d = [f"M {x:.1f} {y:.1f}"]
    for i, (x2, y2) in enumerate(rest):
        if i % 2 == 1 and i < len(rest) - 1:  # crossing a rank on a placeholder: straight
            d.append(f"L {x2:.1f} {y2:.1f}")
        elif direction == "LR":
            dx = max(12.0, (x2 - x) / 2)
            d.append(f"C {x + dx:.1f} {y:.1f}, {x2 - dx:.1f} {y2:.1f}, {x2:.1f} {y2:.1f}")
        else:
            dy = max(10.0, (y2 - y) / 2)
            d.append(f"C {x:.1f} {y + dy:.1f}, {x2:.1f} {y2 - dy:.1f}, {x2:.1f} {y2:.1f}")
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
                         layout=w.Layout(width="360px", max_width="100%"))
    back = w.Button(description="◀ back", layout=w.Layout(width="80px"))
    forward = w.Button(description="next ▶", layout=w.Layout(width="80px"))
    # the picture may be wider than the notebook: it scrolls inside its own box, the buttons stay in view
    picture, text = w.HTML(layout=w.Layout(max_width="100%", overflow="auto")), w.HTML()

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
    box = w.VBox([w.HBox([back, slider, forward], layout=w.Layout(flex_flow="row wrap")), picture, text],
                 layout=w.Layout(max_width="100%"))
    box.steps = steps  # for inspection and tests
    return box
