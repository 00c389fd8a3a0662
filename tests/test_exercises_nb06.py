"""Notebook 06's checks accept the reference and reject a catalogue of known-wrong implementations,
each with the hint (or, where the learner's code is stopped mid-run, the error) that names its mistake."""
import numpy as np
import pytest

import backprop_lab as bl
from backprop_lab.exercises import check
from backprop_lab.exercises import nb06
from backprop_lab.references import nb06 as reference


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    """check() returns its result instead of raising, so the tests can read the status and the hint."""
    monkeypatch.setenv("BACKPROP_LAB_STRICT", "0")


def verdict(exercise_id, obj):
    result = check(exercise_id, obj, record=False)
    problem = result.first_problem
    if problem is None:
        return result.status, ""
    if problem.mismatch is None:  # the learner's code raised: the "hint" is its error text
        return result.status, problem.error
    return result.status, problem.mismatch.hint


# ----------------------------------------------------------------------------- 06.1 Sqrt

def make_sqrt(backward, forward=None, on_class=False):
    """A Sqrt Function with the given backward(x, y, g); ``on_class`` stores y on the class, not on ctx."""
    class Sqrt(bl.Function):
        @staticmethod
        def forward(ctx, x):
            y = np.sqrt(x) if forward is None else forward(x)
            if on_class:
                Sqrt.y = y
            ctx.save_for_backward(x, y)
            return y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved
            if on_class:
                y = Sqrt.y
                x = y * y
            return backward(x, y, g)
    return Sqrt


SQRT_WRONG = {
    "zeros": (make_sqrt(lambda x, y, g: np.zeros_like(x)), "all zeros"),
    "state on the class": (make_sqrt(lambda x, y, g: g / (2 * y), on_class=True), "keep what backward needs on ctx"),
    "forgot g": (make_sqrt(lambda x, y, g: 1 / (2 * y)), "ignores the upstream gradient g"),
    "forgot the 1/2": (make_sqrt(lambda x, y, g: g / y), "exactly 2 times too big"),
    "power rule slip": (make_sqrt(lambda x, y, g: g * 0.5 * y), "Power rule slip"),
    "g / 2 * y (precedence)": (make_sqrt(lambda x, y, g: g / 2 * y), "Power rule slip"),
    "upside down": (make_sqrt(lambda x, y, g: g * 2 * y), "reciprocal of the right one"),
    "divided by x": (make_sqrt(lambda x, y, g: g / (2 * y ** 2)), "square ROOT"),
    "sign": (make_sqrt(lambda x, y, g: -g / (2 * y)), "wrong sign"),
    "backward returns None": (make_sqrt(lambda x, y, g: None), "`return` missing"),
    "forward squares": (make_sqrt(lambda x, y, g: g * 2 * x, forward=lambda x: x * x), "forward pass is wrong"),
    "an instance, not the class": (reference.Sqrt(), "Give the class itself"),
    "ctx.saved not unpacked": (None, "unpack it first"),
    "save_for_backward assigned": (None, "ASSIGNED to ctx.save_for_backward"),
    "ctx.saved set to an array": (None, "ctx.saved is the tuple"),
    "forward without return": (None, "forward returned None"),       # issue 15: was called "hard-coded"
    # found by the walkthrough of branch walk-c: these passed, or got a hint about another mistake
    "sqrt in place on the input": (make_sqrt(lambda x, y, g: g / (2 * y), forward=lambda x: np.sqrt(x, out=x)),
                                   "changed its input x in place"),
    "saved output scaled in place": (make_sqrt(lambda x, y, g: g / np.multiply(y, 2, out=y)),
                                     "changed a saved array in place"),
    "upstream g divided in place": (make_sqrt(lambda x, y, g: np.divide(g, 2 * y, out=g)),
                                    "changed the upstream gradient g in place"),
    "forward built from Tensors": (make_sqrt(lambda x, y, g: g / (2 * y), forward=lambda x: bl.Tensor(x) ** 0.5),
                                   "plain NumPy arrays"),
    "square root of y again": (make_sqrt(lambda x, y, g: g / (2 * np.sqrt(y))), "square root of the saved output"),
    "float32 output": (make_sqrt(lambda x, y, g: g / (2 * y), forward=lambda x: np.sqrt(x).astype(np.float32)),
                       "float32 for a float64 input"),
}


# Sqrt Functions whose mistake is in how they use ctx, written as a learner writes them: two static methods.

def _backward_from_y(ctx, g):
    (y,) = ctx.saved
    return g / (2 * y)


def sqrt_function(forward, backward=_backward_from_y):
    return type("Sqrt", (bl.Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward)})


def _forward_right(ctx, x):
    y = np.sqrt(x)
    ctx.save_for_backward(y)
    return y


def _forward_no_return(ctx, x):
    y = np.sqrt(x)
    ctx.save_for_backward(y)


def _forward_assigns_save(ctx, x):
    y = np.sqrt(x)
    ctx.save_for_backward = y
    return y


def _forward_sets_saved(ctx, x):
    y = np.sqrt(x)
    ctx.saved = y
    return y


def _forward_saves_nothing(ctx, x):
    return np.sqrt(x)


def _forward_saves_x_and_y(ctx, x):
    y = np.sqrt(x)
    ctx.save_for_backward(x, y)
    return y


def _backward_keeps_the_tuple(ctx, g):
    y = ctx.saved          # the tuple (y,): 2 * (y,) is (y, y), and g / that has an extra axis
    return g / (2 * y)


SQRT_WRONG["ctx.saved not unpacked"] = (sqrt_function(_forward_right, _backward_keeps_the_tuple),
                                        SQRT_WRONG["ctx.saved not unpacked"][1])
SQRT_WRONG["save_for_backward assigned"] = (sqrt_function(_forward_assigns_save),
                                            SQRT_WRONG["save_for_backward assigned"][1])
SQRT_WRONG["ctx.saved set to an array"] = (sqrt_function(_forward_sets_saved), SQRT_WRONG["ctx.saved set to an array"][1])
SQRT_WRONG["forward without return"] = (sqrt_function(_forward_no_return), SQRT_WRONG["forward without return"][1])


def test_sqrt_reference_passes():
    assert verdict("06.1", reference.Sqrt) == ("pass", "")


@pytest.mark.parametrize("name", SQRT_WRONG)
def test_sqrt_wrong_rejected(name):
    impl, expected_hint = SQRT_WRONG[name]
    status, hint = verdict("06.1", impl)
    assert status == "fail"
    assert expected_hint in hint


def test_sqrt_raising_backward_is_reported_as_the_learners_error():
    def boom(x, y, g):
        raise ValueError("my bug")
    status, text = verdict("06.1", make_sqrt(boom))
    assert status == "error" and "my bug" in text


@pytest.mark.parametrize("impl, expected", [(sqrt_function(_forward_saves_nothing), "saved nothing on its context"),
                                            (sqrt_function(_forward_saves_x_and_y), "different number of values")])
def test_sqrt_unpacking_ctx_saved_wrongly_gets_the_traceback_and_a_hint(impl, expected):
    """Issue 15: an empty ctx.saved gave a bare traceback."""
    status, text = verdict("06.1", impl)
    assert status == "error"
    assert "Traceback" in text and "values to unpack" in text      # the learner's own traceback ...
    assert "Hint: " in text and expected in text                    # ... and a hint naming the mistake


# ----------------------------------------------------------------------------- 06.2 maximum backward

def _maximum_masks_g_in_place(x, y, g):
    dy = g * (x < y)
    g[x < y] = 0          # right numbers, but the caller's g is changed
    return g, dy


def _maximum_into_int_arrays(x, y, g):
    dx, dy = np.zeros(x.shape, dtype=int), np.zeros(y.shape, dtype=int)
    dx[x >= y], dy[x < y] = g[x >= y], g[x < y]        # g truncated to whole numbers when written in
    return dx, dy


MAXIMUM_WRONG = {
    "zeros": (lambda x, y, g: (np.zeros_like(x), np.zeros_like(y)), "all zeros"),
    "tie to both": (lambda x, y, g: (g * (x >= y), g * (y >= x)), "sent g to BOTH"),
    "tie to neither": (lambda x, y, g: (g * (x > y), g * (x < y)), "sent g to NEITHER"),
    "tie to y": (lambda x, y, g: (g * (x > y), g * (x <= y)), "you sent g to y"),
    "tie split": (lambda x, y, g: (g * ((x > y) + 0.5 * (x == y)), g * ((x < y) + 0.5 * (x == y))), "split g evenly"),
    "masks only": (lambda x, y, g: (1.0 * (x >= y), 1.0 * (x < y)), "multiplies each local derivative"),
    "swapped": (lambda x, y, g: (g * (x < y), g * (x >= y)), "You returned (dy, dx)"),
    "one output": (lambda x, y, g: g * (x >= y), "one gradient per input"),
    "g changed in place": (_maximum_masks_g_in_place, "changed its input g in place"),
    "the maximum's value, not 0/1": (lambda x, y, g: (g * np.maximum(x, y), g * np.maximum(x, y)),
                                     "carry the VALUES of x and y"),
    # walkthrough walk2-b: told "accumulate with `+=` instead of `=`"
    "int arrays filled with g": (_maximum_into_int_arrays, "rounded g to whole numbers"),
}


def test_maximum_reference_passes():
    assert verdict("06.2", reference.maximum_backward) == ("pass", "")


def test_maximum_engine_rule_agrees_with_the_check():
    """The engine's own Maximum rule, driven through a Tensor graph, gives what the check expects on every case
    (a learner may not hand it in: test_routing_rules_may_not_run_the_engines_rule)."""
    from backprop_lab.exercises import get

    ex = get("06.2")
    for case in ex.cases(np.random.default_rng(0)):
        xt, yt = bl.Tensor(case["x"], requires_grad=True), bl.Tensor(case["y"], requires_grad=True)
        bl.maximum(xt, yt).backward(case["g"])
        want = ex.expected(case)
        assert np.allclose(xt.grad, want[0]) and np.allclose(yt.grad, want[1])


@pytest.mark.parametrize("name", MAXIMUM_WRONG)
def test_maximum_wrong_rejected(name):
    impl, expected_hint = MAXIMUM_WRONG[name]
    status, hint = verdict("06.2", impl)
    assert status == "fail"
    assert expected_hint in hint


# ----------------------------------------------------------------------------- 06.3 max over an axis

def _expand(g, axis):
    return g if axis is None else np.expand_dims(g, axis)


def _ties(x, axis):
    return (x == (x.max() if axis is None else x.max(axis=axis, keepdims=True))).astype(float)


def _last(x, axis):
    return np.flip(nb06._first_max_mask(np.flip(x, axis=axis), axis), axis=axis)


def _max_no_none_case(x, g, axis=None):
    if axis is not None:
        return np.expand_dims(g, axis) * nb06._first_max_mask(x, axis)


def _max_expand_dims_of_none(x, g, axis=None):
    first = np.expand_dims(np.argmax(x, axis=axis), axis)
    mask = np.zeros_like(x)
    np.put_along_axis(mask, first, 1.0, axis=axis)
    return np.expand_dims(g, axis) * mask


def _max_into_x(x, g, axis=None):
    mask = nb06._first_max_mask(x, axis)
    x *= 0                 # reuses the caller's x as the output
    x += _expand(g, axis) * mask
    return x


def _max_flat_argmax(x, g, axis=None):
    mask = np.zeros_like(x)
    mask.flat[np.argmax(x)] = 1.0      # one index into the flattened x, whatever the axis
    return _expand(g, axis) * mask


def _max_into_integers(x, g, axis=None):
    out = np.zeros(x.shape, dtype=int)
    out[...] = _expand(g, axis) * nb06._first_max_mask(x, axis)     # g truncated to whole numbers when written in
    return out


def _max_none_every_tie(x, g, axis=None):
    if axis is None:
        return g * (x == x.max())
    return reference.max_backward(x, g, axis)


def _max_none_flat(x, g, axis=None):
    if axis is None:
        dx = np.zeros(x.size)
        dx[np.argmax(x)] = g
        return dx
    return reference.max_backward(x, g, axis)


MAX_WRONG = {
    "zeros": (lambda x, g, axis=None: np.zeros_like(x), "all zeros"),
    "every tie": (lambda x, g, axis=None: _expand(g, axis) * _ties(x, axis), "Every maximal entry"),
    "split ties": (lambda x, g, axis=None: _expand(g, axis) * _ties(x, axis)
                   / _ties(x, axis).sum(axis=axis, keepdims=axis is not None), "split g evenly"),
    "last maximum": (lambda x, g, axis=None: _expand(g, axis) * _last(x, axis), "LAST maximal entry"),
    "mask only": (lambda x, g, axis=None: nb06._first_max_mask(x, axis), "0/1 mask"),
    "g always re-inserted last": (lambda x, g, axis=None: (g if axis is None else np.expand_dims(g, -1))
                                 * nb06._first_max_mask(x, axis), "the reduced axis back"),
    "axis=None returns None": (_max_no_none_case, "returned None for axis=None"),   # issue 15: "a missing return"
    "x changed in place": (_max_into_x, "changed its input x in place"),
    # walkthrough walk-c: these were told to "accumulate with +=" and that "each node adds its share to .grad"
    "argmax without an axis": (_max_flat_argmax, "np.argmax without an axis"),
    "dx an integer array": (_max_into_integers, "rounded g to whole numbers"),
    # walkthrough walk2-b: told about slices, or about "axis=?? and keepdims"
    "axis=None: g at every tie": (_max_none_every_tie, "With axis=None the maximum is ONE number"),
    "axis=None: dx left flat": (_max_none_flat, "Your dx is flat"),
}


def _max_g_not_expanded(x, g, axis=None):
    out = np.zeros_like(x)
    if axis is None:
        out.flat[np.argmax(x)] = g
        return out
    np.put_along_axis(out, np.expand_dims(np.argmax(x, axis=axis), axis), g, axis=axis)
    return out


def test_max_g_without_its_axis_gets_a_hint_about_the_reduced_axis():
    status, text = verdict("06.3", _max_g_not_expanded)
    assert status == "error" and "Traceback" in text and "WITHOUT the reduced axis" in text


def test_max_expand_dims_of_axis_none_gets_a_hint():
    """Issue 15: np.expand_dims(g, None) gave a bare traceback (and a hint about a missing return)."""
    status, text = verdict("06.3", _max_expand_dims_of_none)
    assert status == "error" and "Traceback" in text
    assert "handle axis=None as a case of its own" in text and "`return` missing" not in text


def test_max_reference_passes():
    assert verdict("06.3", reference.max_backward) == ("pass", "")


def test_max_engine_rule_agrees_with_the_check():
    """The engine's Max rule uses the same tie rule as the check (the first maximal entry), on every case."""
    from backprop_lab.exercises import get

    ex = get("06.3")
    for case in ex.cases(np.random.default_rng(0)):
        xt = bl.Tensor(case["x"], requires_grad=True)
        xt.max(axis=case["axis"]).backward(np.asarray(case["g"]))
        assert np.allclose(xt.grad, ex.expected(case))


@pytest.mark.parametrize("name", MAX_WRONG)
def test_max_wrong_rejected(name):
    impl, expected_hint = MAX_WRONG[name]
    status, hint = verdict("06.3", impl)
    assert status == "fail"
    assert expected_hint in hint


def _maximum_by_the_engine(x, y, g):
    a, b = bl.Tensor(x, requires_grad=True), bl.Tensor(y, requires_grad=True)
    bl.maximum(a, b).backward(g)
    return a.grad, b.grad


def _max_by_the_engine(x, g, axis=None):
    a = bl.Tensor(x, requires_grad=True)
    a.max(axis=axis).backward(np.asarray(g))
    return a.grad


@pytest.mark.parametrize("exercise_id, impl", [("06.2", _maximum_by_the_engine), ("06.3", _max_by_the_engine)])
def test_routing_rules_may_not_run_the_engines_rule(exercise_id, impl):
    """Walkthrough walk3-b: both passed by running bl.maximum / Tensor.max backward, the rule the notebook hides."""
    status, hint = verdict(exercise_id, impl)
    assert status == "fail" and "ran the engine's Max" in hint, hint


# ----------------------------------------------------------------------------- 06.4 the backward driver

def topo(root, dedupe=True):
    order, seen = [], set()

    def visit(node):
        if dedupe and node in seen:
            return
        seen.add(node)
        for parent in node._prev:
            visit(parent)
        order.append(node)
    visit(root)
    return order


def make_driver(order=lambda root: list(reversed(topo(root))), seed=True, unbroadcast=True, accumulate=True,
                skip_none=True, wrap=True, seed_dtype=True, in_place=False, copy_read_only=False, zero_first=False,
                none_check=True, seed_shape=None, skip_leaves=True, skip_constants=True, reset_intermediates=True):
    def backward(root):
        if reset_intermediates:    # only leaves accumulate across passes
            for node in topo(root):
                if node._fn is not None:
                    node.grad = None
        if zero_first:    # "start every .grad at zero", which also wipes a leaf's earlier gradient
            for node in topo(root):
                node.grad = np.zeros_like(node.data)
        if seed:
            root.grad = np.ones_like(root.data) if seed_dtype else np.ones(root.shape)
        if seed_shape is not None:
            root.grad = np.ones(seed_shape, dtype=root.dtype)
        for node in order(root):
            if (skip_leaves and node._fn is None) or (skip_none and node.grad is None):
                continue
            grads = node._fn.backward(node._ctx, node.grad)
            if wrap and not isinstance(grads, tuple):
                grads = (grads,)
            for parent, g in zip(node._prev, grads):
                if skip_none and g is None:
                    continue
                if skip_constants and g is not None and not parent.requires_grad:
                    continue
                if unbroadcast:
                    g = bl.unbroadcast(g, parent.shape)
                if copy_read_only and not g.flags.writeable:
                    g = g.copy()
                if in_place and (parent.grad is not None or not none_check):
                    parent.grad += g
                elif accumulate and parent.grad is not None:
                    parent.grad = parent.grad + g
                else:
                    parent.grad = g
    return backward


def _pass_on(node):
    """Run node's rule and add each share to its input's .grad (the step is right; the order is the mistake)."""
    grads = node._fn.backward(node._ctx, node.grad)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for parent, g in zip(node._prev, grads):
        if g is not None:
            g = bl.unbroadcast(g, parent.shape)
            parent.grad = g if parent.grad is None else parent.grad + g
            yield parent


def micrograd_recursion(root):
    """Each node runs its rule, then recurses into its inputs at once: no topological order."""
    root.grad = np.ones_like(root.data)

    def visit(node):
        if node._fn is not None:
            for parent in _pass_on(node):
                visit(parent)
    visit(root)


def breadth_first(root):
    """Nodes in order of their distance from the root: not a topological order when paths differ in length."""
    from collections import deque

    root.grad = np.ones_like(root.data)
    queue, seen = deque([root]), {root}
    while queue:
        node = queue.popleft()
        if node._fn is None or node.grad is None:
            continue
        for parent in _pass_on(node):
            if parent not in seen:
                seen.add(parent)
                queue.append(parent)


def zeros_driver(root):
    for node in topo(root):
        node.grad = np.zeros_like(node.data)


def engine_topo_sort(root):
    """The right pass, but with the engine's topological sort: the order is part of the exercise."""
    make_driver(order=lambda r: list(reversed(bl.autograd.topo_sort(r))))(root)


def engine_shortcut(root):
    root.backward()


def private_backward_shortcut(root):
    root.grad = np.ones_like(root.data)
    for node in reversed(topo(root)):
        if node._fn is not None:
            node._backward()


DRIVER_WRONG = {  # name: (driver, expected status, text in the hint or error)
    "zeros": (zeros_driver, "fail", "all zeros"),
    "micrograd's rule-then-recurse": (micrograd_recursion, "error", "reverse topological order"),
    "breadth-first order": (breadth_first, "error", "reverse topological order"),
    "does nothing": (lambda root: None, "fail", "still None after your backward"),
    "forward order": (make_driver(order=topo, skip_none=False), "error", "reverse topological order"),
    "forward order, skipping None": (make_driver(order=topo), "fail", "reverse topological order"),
    "= instead of +=": (make_driver(accumulate=False), "fail", "Accumulate with `+=`"),
    "no unbroadcast": (make_driver(unbroadcast=False), "fail", "must be un-broadcast"),
    "root not seeded": (make_driver(seed=False, skip_none=False), "error", "dL/dL = 1"),
    "no seen set": (make_driver(order=lambda root: list(reversed(topo(root, dedupe=False)))), "error",
                    "listed once"),
    "calls Tensor.backward": (engine_shortcut, "error", "Tensor.backward()"),
    "calls node._backward": (private_backward_shortcut, "error", "node._backward()"),
    # walkthrough walk-c: these were asked "is a `return` missing?" and told to un-broadcast
    "None gradients not skipped": (make_driver(skip_none=False), "error", "a None share is skipped"),
    "leaves asked for their rule": (make_driver(skip_leaves=False), "error", "asked a LEAF for its rule"),
    "root seeded with shape (1,)": (make_driver(seed_shape=(1,)), "error", "The root's gradient has shape (1,)"),
    "one-input rule's array not wrapped": (make_driver(wrap=False), "error", "bare array, not a tuple"),
    # issue 15: `+=` into the rule's own (read-only) array gave a bare NumPy error
    "+= into a rule's array": (make_driver(in_place=True), "error", "does not own"),
    "+= into a shared array": (make_driver(in_place=True, copy_read_only=True), "fail", "are the SAME array"),
    "+= onto None": (make_driver(in_place=True, none_check=False), "error", "None cannot be added to"),
    "every .grad zeroed first": (make_driver(zero_first=True, in_place=True), "fail", "already held a gradient"),
    "float64 seed for float32 data": (make_driver(seed_dtype=False), "fail", "dtype of its tensor"),
    # walkthrough walk2-b: both passed
    "the engine's topo_sort": (engine_topo_sort, "fail", "called the engine's topological sort"),
    "constants get a .grad (Add's share)": (make_driver(skip_constants=False), "fail", "skips the inputs that need no"),
    # walkthrough walk3-b: passed (no case left a gradient on an intermediate node)
    "intermediates not reset": (make_driver(reset_intermediates=False), "fail", "this pass's gradient alone"),
}


def test_driver_reference_solution_passes():
    assert verdict("06.4", make_driver()) == ("pass", "")


@pytest.mark.parametrize("name", DRIVER_WRONG)
def test_driver_wrong_rejected(name):
    impl, expected_status, expected_text = DRIVER_WRONG[name]
    status, hint = verdict("06.4", impl)
    assert status == expected_status
    assert expected_text in hint


def test_driver_graphs_all_agree_with_central_differences():
    """The expected answers come from the engine; make sure they are right for every graph."""
    rng = np.random.default_rng(0)
    for name, (builder, _, spec) in nb06.GRAPHS.items():
        inputs = [bl.Tensor(rng.normal(size=shape), requires_grad=rg) for _, (shape, rg) in spec.items()]
        keys = list(spec)
        assert bl.gradcheck(lambda *ts: builder(dict(zip(keys, ts))), *inputs), name


# ----------------------------------------------------------------------------- 06.5 find the bug

def test_find_the_bug_answer_is_found_by_check_graph():
    loss, _ = nb06.mystery_graph(0)
    report = bl.check_graph(loss)
    assert not report.ok and report.first_bad.op == "Softplus"
    assert verdict("06.5", "Softplus") == ("pass", "")
    assert verdict("06.5", " softplus ") == ("pass", "")


def test_find_the_bug_innocent_op_is_quoted_as_check_graph_prints_it():
    """Walkthrough walk3-b: "mul" was told "The backward of 'mul' agrees ...", a name check_graph never prints."""
    status, hint = verdict("06.5", "mul")
    assert status == "fail" and "The backward of 'Mul' agrees" in hint


def test_mystery_graph_fails_gradcheck():
    """gradcheck on the whole mystery graph detects that something is wrong (without saying what)."""
    Square, Softplus, LogCosh = nb06._mystery_functions()
    rng = np.random.default_rng(0)                     # the same draws as mystery_graph(0): x, t, then W1, W2
    x, t = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))

    def f(W1, W2):
        return Square.apply(LogCosh.apply(Softplus.apply(bl.Tensor(x) @ W1) @ W2 - t)).mean()
    _, (P1, P2) = nb06.mystery_graph(0)
    with pytest.raises(bl.GradcheckError):
        bl.gradcheck(f, bl.Tensor(P1.data, requires_grad=True), bl.Tensor(P2.data, requires_grad=True))


FIND_WRONG = {
    "zeros": (0, "as a string"),
    "empty": ("", "Name one op"),
    "another custom op": ("LogCosh", "agrees with finite differences"),
    "an engine op": ("MatMul", "agrees with finite differences"),
    "None": (None, "not done yet"),
    "the whole report": ("report", "the op's name, a string"),
    "the BadOp": ("first_bad", "the op's name, a string"),
    "the Function class": ("class", "the op's NAME, a string"),
}


@pytest.mark.parametrize("name", FIND_WRONG)
def test_find_the_bug_wrong_rejected(name):
    answer, expected = FIND_WRONG[name]
    if answer in ("report", "first_bad", "class"):
        report = bl.check_graph(nb06.mystery_graph(0)[0])
        answer = {"report": report, "first_bad": report.first_bad, "class": report.first_bad.node._fn}[answer]
    result = check("06.5", answer, record=False)
    if answer is None:
        assert result.status == "todo" and expected in result.first_problem.error
    else:
        assert result.status == "fail" and expected in result.hint


@pytest.mark.parametrize("answer", ["LogCosh", "Mul", 0, "", "softmax"])
def test_find_the_bug_never_shows_the_answer(answer):
    """Issue 15: a wrong guess was shown "Expected: 'Softplus'". Neither the text nor the HTML may name it."""
    result = check("06.5", answer, record=False)
    assert result.status == "fail"
    for shown in (repr(result), result._repr_html_()):
        assert "softplus" not in shown.lower()
        assert "Received" in shown


# ----------------------------------------------------------------------------- the step-through on notebook 06's graphs
# (the widget is viz.step_through, shared with notebook 02; these pin down what notebook 06's text says of it)

def test_viz_steps_on_the_fork_graph_of_section_5():
    from backprop_lab import viz

    x = bl.Tensor([0.5, -1.0], requires_grad=True, label="x")
    a = x.tanh()
    a.label = "a"
    root = (a * a + a.exp()).sum()
    steps = viz.backward_steps(root)
    assert x.grad is None and a.grad is None                    # a replay: nothing written
    assert [s.node._op for s in steps[1:]] == ["Sum", "Add", "Mul", "Exp", "Tanh"]
    to_a = [(step.node._op, share) for step in steps for share in step.shares if share.parent is a]
    assert [op for op, _ in to_a] == ["Mul", "Exp"]             # a's gradient arrives in two steps ...
    assert to_a[0][1].uses == 2                                 # ... the first holding both uses of a in a * a
    assert np.allclose(to_a[1][1].after, to_a[0][1].after + to_a[1][1].contribution)   # accumulated, not overwritten
    root.backward()
    assert np.allclose(steps[-1].grads[id(x)], x.grad)
    assert "used 2 times" in viz.describe_step(steps, 3)


def test_viz_steps_show_unbroadcast_shares():
    from backprop_lab import viz

    b = bl.Tensor(np.zeros(3), requires_grad=True, label="b")
    root = (bl.Tensor(np.ones((4, 3))) + b).sum()
    steps = viz.backward_steps(root)
    (share,) = steps[-1].shares                                 # the constant gets no share
    assert share.parent is b and share.contribution.shape == (3,) and np.allclose(share.after, 4.0)
