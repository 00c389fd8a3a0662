"""backprop_lab.viz: the SVG graph picture and the backward step-through."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

import backprop_lab as bl
from backprop_lab.autograd import topo_sort
from backprop_lab.viz import MAX_NODES, MAX_WIDTH, backward_steps, describe_step, draw_graph, step_through

SVG = "{http://www.w3.org/2000/svg}"


def small_value_graph():
    a, b = bl.Value(2.0, label="a"), bl.Value(-3.0, label="b")
    c = a * b
    c.label = "c"
    d = c + a                      # a is used twice: its grad collects two shares
    d.label = "d"
    e = (d * d).tanh()
    e.label = "e"
    return a, b, e


def parse(svg: str):
    root = ET.fromstring(svg)
    texts = ["".join(t.itertext()) for t in root.iter(SVG + "text")]
    return root, texts


def test_value_graph_picture_has_a_box_per_value_and_a_node_per_op():
    a, b, e = small_value_graph()
    e.backward()
    pic = draw_graph(e)
    root, texts = parse(pic.svg)
    nodes = topo_sort(e)
    boxes = [r for r in root.iter(SVG + "rect") if r.get("rx")]  # the background rect has no rx
    ops = list(root.iter(SVG + "ellipse"))
    assert len(boxes) == len(nodes) == pic.n_nodes == 6
    op_texts = ["".join(t.itertext()) for t in root.iter(SVG + "text") if t.get("text-anchor") == "middle"]
    assert len(ops) == 4 and sorted(op_texts) == sorted(n._op for n in nodes if n._prev)
    edges = list(root.iter(SVG + "path"))
    assert len(edges) == 1 + sum(len(set(map(id, n._prev))) + 1 for n in nodes if n._prev)  # + arrow head
    for label in "abcde":
        assert label in texts
    assert f"grad {a.grad:.4g}" in texts and "data -3" in texts
    assert pic._repr_svg_() == pic.svg
    html = pic._repr_html_()
    # natural size in a scroll container: JupyterLab's CSS would shrink the SVG to the output's width
    assert html.startswith('<div class="backprop-lab-graph" style="overflow:auto;')
    assert '<svg style="max-width:none;' in html and pic.svg.split(">", 1)[1] in html


def box_rects(svg):
    root, _ = parse(svg)
    return [(float(r.get("x")), float(r.get("y")), float(r.get("width")), float(r.get("height")))
            for r in root.iter(SVG + "rect") if r.get("rx")]


def assert_no_overlap_and_inputs_first(root_node, svg, axis):
    boxes = box_rects(svg)
    for i, (x1, y1, w1, h1) in enumerate(boxes):
        for x2, y2, w2, h2 in boxes[i + 1:]:
            overlap_x = x1 < x2 + w2 and x2 < x1 + w1
            overlap_y = y1 < y2 + h2 and y2 < y1 + h1
            assert not (overlap_x and overlap_y)
    # inputs before what they feed: topo order is inputs first, so the position must grow along every edge
    nodes = topo_sort(root_node)
    where = {id(n): box[axis] for n, box in zip(nodes, boxes)}
    for n in nodes:
        for p in n._prev:
            assert where[id(p)] < where[id(n)]


def test_layout_runs_left_to_right_without_overlaps():
    a, b, e = small_value_graph()
    pic = draw_graph(e)
    assert pic.direction == "LR"  # small enough to fit the width
    assert_no_overlap_and_inputs_first(e, pic.svg, axis=0)


def xor_mlp_loss():
    """Notebook 00's teaser: the loss of a 2-4-1 tanh MLP on XOR (16 nodes, a long chain)."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    model = bl.nn.MLP([2, 4, 1], activation=bl.nn.Tanh, rng=0)
    loss = bl.nn.mse_loss(model(bl.Tensor(X, label="x")), np.array([[0.0], [1.0], [1.0], [0.0]]))
    loss.backward()
    loss.label = "loss"
    return loss


def svg_size(svg):
    root, _ = parse(svg)
    return float(root.get("width")), float(root.get("height"))


def test_long_chains_run_top_to_bottom_and_fit_the_output_width():
    loss = xor_mlp_loss()
    wide = draw_graph(loss, direction="LR")
    assert svg_size(wide.svg)[0] > MAX_WIDTH  # the picture JupyterLab shrank to 3 px text (issue 18)
    pic = draw_graph(loss)
    assert pic.direction == "TB"
    width, _ = svg_size(pic.svg)
    assert width <= MAX_WIDTH
    assert_no_overlap_and_inputs_first(loss, pic.svg, axis=1)
    root, _ = parse(pic.svg)
    assert root.get("font-size") == "12"  # drawn at its natural size: nothing scales it down
    with pytest.raises(ValueError, match="direction"):
        draw_graph(loss, direction="up")


def test_colours_follow_the_theme_with_fallbacks():
    _, _, e = small_value_graph()
    svg = draw_graph(e).svg
    root, _ = parse(svg)
    style = "".join(root.find(SVG + "style").itertext())
    uid = root.get("id")
    # themed rules, scoped to this picture, for text, background and boxes...
    assert f"#{uid} .bl-ink{{fill:var(--jp-content-font-color1" in style
    assert f"#{uid} .bl-bg{{fill:var(--jp-layout-color0" in style
    # ...and plain colours as attributes for a saved .svg or a front end without JupyterLab's variables
    for rect in root.iter(SVG + "rect"):
        assert rect.get("class", "").startswith("bl-") and rect.get("fill", "").startswith("#")


def test_picture_is_deterministic_and_escapes_labels():
    x = bl.Value(1.0, label="<x> & 'y'")
    y = (x * 2).relu()
    first, second = draw_graph(y).svg, draw_graph(y).svg
    assert first == second
    assert "<x>" not in first and "&lt;x&gt; &amp;" in first
    ET.fromstring(first)  # well-formed


def test_tensor_graph_shows_shapes_and_grads():
    x = bl.Tensor(np.ones((4, 3)), requires_grad=True, label="x")
    W = bl.Tensor(np.full((3, 2), 0.5), requires_grad=True, label="W")
    b = bl.Tensor(np.zeros(2), requires_grad=True, label="b")
    loss = (x @ W + b).relu().sum()
    loss.label = "loss"
    _, before = parse(draw_graph(loss).svg)
    assert "x (4, 3)" in before and "W (3, 2)" in before and "grad None" in before
    loss.backward()
    _, after = parse(draw_graph(loss).svg)
    assert "grad [4, 4]" in after                      # b's gradient: the batch summed away
    assert any(t.startswith("grad (4, 3) ‖·‖=") for t in after)
    assert "MatMul" in after


def test_big_graphs_get_a_message_not_a_picture():
    x = bl.Value(0.5, label="x")
    y = x
    for _ in range(MAX_NODES):
        y = y * 1.01
    pic = draw_graph(y)
    assert pic.svg is None and pic._repr_svg_() is None
    assert f"at most {MAX_NODES}" in pic.message and "max_nodes=" in pic.message
    assert pic.message in repr(pic) and pic.message in pic._repr_html_() and "<svg" not in pic._repr_html_()
    with pytest.raises(ValueError):
        pic.save("never.svg")
    assert draw_graph(y, max_nodes=1000).svg is not None


def test_a_long_chain_draws_quickly_without_recursion():
    y = bl.Value(1.0, label="x")
    for _ in range(1500):
        y = y + 1
    pic = draw_graph(y, max_nodes=10_000)
    assert pic.n_nodes == 3001


def test_draw_graph_rejects_non_graphs():
    with pytest.raises(TypeError, match="Value or a Tensor"):
        draw_graph(3.0)


# ----------------------------------------------------------------------------- the step-through

def test_steps_replay_backward_and_leave_grads_untouched():
    a, b, e = small_value_graph()
    a.grad, b.grad = 123.0, 456.0                       # whatever the learner had
    steps = backward_steps(e)
    assert (a.grad, b.grad) == (123.0, 456.0)
    final = steps[-1].grads
    a.grad = b.grad = 0.0
    e.backward()
    for n in topo_sort(e):
        assert final[id(n)] == pytest.approx(n.grad)
    assert steps[0].node is None and steps[0].grads[id(e)] == 1.0


def test_each_share_is_local_times_upstream_and_accumulates():
    a, b, e = small_value_graph()
    steps = backward_steps(e)
    for step in steps[1:]:
        for s in step.shares:
            assert s.contribution == pytest.approx(sum(s.local) * step.upstream)
            assert s.after == pytest.approx(s.before + s.contribution)
    square = next(s for s in steps[1:] if s.node._op == "*" and s.node._prev[0] is s.node._prev[1])
    assert square.shares[0].uses == 2 and len(square.shares[0].local) == 2
    a_updates = [s for step in steps for s in step.shares if s.parent is a]
    assert len(a_updates) == 2 and a_updates[1].before == pytest.approx(a_updates[0].after)  # += at the fork
    text = describe_step(steps, steps.index(square))
    assert "used 2 times" in text and "upstream" in text


def test_steps_follow_reverse_topological_order():
    _, _, e = small_value_graph()
    steps = backward_steps(e)
    done = set()
    for step in steps[1:]:
        users = [n for n in topo_sort(e) if any(p is step.node for p in n._prev)]
        assert all(id(u) in done for u in users)   # every use has handed its gradient over already
        done.add(id(step.node))


def test_tensor_steps_match_backward_and_need_saved_arrays():
    rng = np.random.default_rng(0)
    x = bl.Tensor(rng.normal(size=(3, 2)), requires_grad=True, label="x")
    w = bl.Tensor(rng.normal(size=(2,)), requires_grad=True, label="w")
    y = (x * w).tanh().sum()
    steps = backward_steps(y)
    assert x.grad is None and w.grad is None
    y.backward()
    np.testing.assert_allclose(steps[-1].grads[id(w)], w.grad)
    np.testing.assert_allclose(steps[-1].grads[id(x)], x.grad)
    assert "backward(upstream) gives the share" in describe_step(steps, 2)
    with pytest.raises(RuntimeError, match="freed"):
        backward_steps(y)  # backward() freed the saved arrays


def test_step_through_widget_moves_the_highlight():
    _, _, e = small_value_graph()
    widget = step_through(e)
    controls, picture, text = widget.children
    back, slider, forward = controls.children
    assert slider.max == len(widget.steps) - 1 and slider.value == 0
    assert "Start" in text.value and 'class="bl-current"' not in picture.value
    forward.click()
    assert slider.value == 1 and 'class="bl-current"' in picture.value and "Step 1 of" in text.value
    slider.value = slider.max
    assert "Done" in text.value
    back.click()
    assert slider.value == slider.max - 1
