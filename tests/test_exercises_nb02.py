"""The checks of notebook 02 accept the reference and reject each classic mistake with its own hint."""
import inspect
import math
import types

import pytest

import backprop_lab as bl
from backprop_lab.exercises.nb02 import (CLASS_HINTS, DIV_HINTS, HAND_HINTS, NODE_HINTS, POW_HINTS, TANH_HINTS,
                                         TOPO_HINTS, Node)
from backprop_lab.references import nb02 as reference

RefValue = reference.MyValue        # the notebook's own class, every exercise solved


from exercise_helpers import assert_rejected, lenient, run_check  # noqa: F401  (lenient: autouse fixture)


def node(data, children, op, backward):
    """A result node whose _backward is ``backward(out)``: how the wrong implementations below are built."""
    out = RefValue(data, children, op)
    out._backward = lambda: backward(out)
    return out


# ----------------------------------------------------------------------------- references pass

@pytest.mark.parametrize("exercise_id, obj", [
    ("02.1", (reference.dL_dw, reference.dL_dx)), ("02.2", reference.mul), ("02.3", reference.tanh),
    ("02.4", reference.power), ("02.5", reference.div), ("02.6", reference.topo_sort), ("02.7", RefValue),
    ("02.6", bl.autograd.topo_sort), ("02.6", bl.autograd.recursive_topo_sort), ("02.7", bl.Value),
])
@pytest.mark.parametrize("seed", [None, 1, 2])
def test_reference_passes(exercise_id, obj, seed):
    result = run_check(exercise_id, obj, seed=seed)
    assert result.passed, repr(result)
    assert len(result.outcomes) >= 1 if exercise_id == "02.1" else len(result.outcomes) >= 5


def test_not_done_is_todo():
    assert run_check("02.1", (None, None)).status == "todo"
    assert run_check("02.1", None).status == "todo"

    def mul(a, b):
        raise NotImplementedError("Exercise 02.2: build out = a * b with its _backward")
    assert run_check("02.2", mul).status == "todo"


# ----------------------------------------------------------------------------- 02.1 by hand (w=-3, x=2, b=1)

HAND_WRONG = {
    "zeros": ((0.0, 0.0), "all zeros"),
    "no_upstream": ((2.0, -3.0), HAND_HINTS["no_upstream"]),
    "no_two": ((-10.0, 15.0), HAND_HINTS["no_two"]),
    "swapped": ((30.0, -20.0), HAND_HINTS["swapped"]),
    "sign": ((20.0, -30.0), HAND_HINTS["sign"]),
    "forward_value": ((-5.0, 25.0), HAND_HINTS["forward"]),
    "one_number": (-20.0, HAND_HINTS["pair"]),
    "strings": (("-20", "30"), HAND_HINTS["pair"]),
}


@pytest.mark.parametrize("name", sorted(HAND_WRONG))
def test_hand_rejects(name):
    answer, hint = HAND_WRONG[name]
    assert_rejected(run_check("02.1", answer), hint)


# ----------------------------------------------------------------------------- 02.2 mul

def mul_swapped(a, b):
    def bw(out):
        a.grad += a.data * out.grad
        b.grad += b.data * out.grad
    return node(a.data * b.data, (a, b), "*", bw)


def mul_overwrite(a, b):
    def bw(out):
        a.grad = b.data * out.grad
        b.grad = a.data * out.grad
    return node(a.data * b.data, (a, b), "*", bw)


def mul_no_upstream(a, b):
    def bw(out):
        a.grad += b.data
        b.grad += a.data
    return node(a.data * b.data, (a, b), "*", bw)


def mul_sign(a, b):
    def bw(out):
        a.grad -= b.data * out.grad
        b.grad -= a.data * out.grad
    return node(a.data * b.data, (a, b), "*", bw)


def mul_zeros(a, b):
    def bw(out):
        a.grad = 0.0
        b.grad = 0.0
    return node(a.data * b.data, (a, b), "*", bw)


def mul_not_attached(a, b):
    out = RefValue(a.data * b.data, (a, b), "*")

    def _backward():
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad
    return out  # forgot out._backward = _backward


def mul_no_children(a, b):
    return node(a.data * b.data, (), "*", lambda out: None)


def mul_add_rule(a, b):
    def bw(out):
        a.grad += out.grad
        b.grad += out.grad
    return node(a.data * b.data, (a, b), "*", bw)


MUL_WRONG = {
    "zeros": (mul_zeros, NODE_HINTS["zeros"][:50]),
    "not_attached": (mul_not_attached, "out._backward = _backward"),
    "swapped": (mul_swapped, "a multiply gate swaps"),
    "overwrite": (mul_overwrite, "`+=`"),
    "no_upstream": (mul_no_upstream, "multiply it by the upstream gradient"),
    "sign": (mul_sign, "wrong sign"),
    "no_children": (mul_no_children, "out._prev should hold exactly the inputs"),
    "add_rule": (mul_add_rule, "add gate's rule"),
    "returns_float": (lambda a, b: a.data * b.data, "returned a float"),
    "returns_none": (lambda a, b: None, NODE_HINTS["none"]),
    "wrong_forward": (lambda a, b: node(a.data + b.data, (a, b), "*", lambda o: None), "forward value"),
}


@pytest.mark.parametrize("name", sorted(MUL_WRONG))
def test_mul_rejects(name):
    impl, hint = MUL_WRONG[name]
    assert_rejected(run_check("02.2", impl), hint)


def test_mul_overwrite_is_caught_at_the_fork():
    """a * a: with `=` the second share replaces the first; the hint names the fork."""
    result = run_check("02.2", mul_overwrite)
    assert "a * a" in result.first_problem.mismatch.message
    assert "both inputs" in result.hint


def test_mul_learner_error_keeps_their_frame():
    def mul(a, b):
        out = RefValue(a.data * b.data, (a, b), "*")

        def _backward():
            a.grad += b * out.grad  # forgot .data: Node * float
        out._backward = _backward
        return out

    result = run_check("02.2", mul)
    assert result.status == "error" and "_backward" in result.first_problem.error


# ----------------------------------------------------------------------------- 02.3 tanh

def tanh_with(local, *, overwrite=False, upstream=True):
    def tanh(a):
        t = math.tanh(a.data)

        def bw(out):
            share = local(a.data, t) * (out.grad if upstream else 1.0)
            a.grad = share if overwrite else a.grad + share
        return node(t, (a,), "tanh", bw)
    return tanh


TANH_WRONG = {
    "zeros": (tanh_with(lambda x, t: 0.0, overwrite=True), NODE_HINTS["zeros"][:50]),
    "input_not_output": (tanh_with(lambda x, t: 1 - x ** 2), TANH_HINTS["input"]),
    "no_square": (tanh_with(lambda x, t: 1 - t), TANH_HINTS["no_square"]),
    "sign": (tanh_with(lambda x, t: t ** 2 - 1), "wrong sign"),
    "overwrite": (tanh_with(lambda x, t: 1 - t ** 2, overwrite=True), "`+=`"),
    "no_upstream": (tanh_with(lambda x, t: 1 - t ** 2, upstream=False), "multiply it by the upstream"),
    "forward_exp": (lambda a: node(math.exp(a.data), (a,), "tanh", lambda o: None), TANH_HINTS["data"]),
}


@pytest.mark.parametrize("name", sorted(TANH_WRONG))
def test_tanh_rejects(name):
    impl, hint = TANH_WRONG[name]
    assert_rejected(run_check("02.3", impl), hint)


# ----------------------------------------------------------------------------- 02.4 power

def power_with(local, *, overwrite=False):
    def power(a, k):
        def bw(out):
            share = local(a.data, k) * out.grad
            a.grad = share if overwrite else a.grad + share
        return node(a.data ** k, (a,), f"**{k}", bw)
    return power


POWER_WRONG = {
    "zeros": (power_with(lambda x, k: 0.0, overwrite=True), NODE_HINTS["zeros"][:50]),
    "k_x_to_k": (power_with(lambda x, k: k * x ** k), POW_HINTS["k_not_k_minus_1"]),
    "no_k": (power_with(lambda x, k: x ** (k - 1)), POW_HINTS["no_k"]),
    "k_minus_1": (power_with(lambda x, k: (k - 1) * x ** (k - 1)), POW_HINTS["k_minus_1"]),
    "overwrite": (power_with(lambda x, k: k * x ** (k - 1), overwrite=True), "`+=`"),
    "forward_times": (lambda a, k: node(a.data * k, (a,), "**", lambda o: None), POW_HINTS["data"]),
    "hardcoded_square": (power_with(lambda x, k: 2 * x), NODE_HINTS["unknown"][:40]),
}


@pytest.mark.parametrize("name", sorted(POWER_WRONG))
def test_power_rejects(name):
    impl, hint = POWER_WRONG[name]
    assert_rejected(run_check("02.4", impl), hint)


# ----------------------------------------------------------------------------- 02.5 div (the fan-out bug)

def div_with(local_a, local_b, *, eq_a=False, eq_b=False):
    def div(a, b):
        def bw(out):
            sa, sb = local_a(a.data, b.data) * out.grad, local_b(a.data, b.data) * out.grad
            a.grad = sa if eq_a else a.grad + sa
            b.grad = sb if eq_b else b.grad + sb
        return node(a.data / b.data, (a, b), "/", bw)
    return div


RIGHT_A, RIGHT_B = (lambda a, b: 1 / b), (lambda a, b: -a / b ** 2)

DIV_WRONG = {
    "zeros": (div_with(lambda a, b: 0.0, lambda a, b: 0.0, eq_a=True, eq_b=True), NODE_HINTS["zeros"][:50]),
    "original_bug": (div_with(RIGHT_A, RIGHT_B, eq_b=True), "+="),
    "both_overwrite": (div_with(RIGHT_A, RIGHT_B, eq_a=True, eq_b=True), "+="),
    "b_sign": (div_with(RIGHT_A, lambda a, b: a / b ** 2), DIV_HINTS["b_sign"]),
    "b_not_squared": (div_with(RIGHT_A, lambda a, b: -a / b), DIV_HINTS["b_local"]),
    "no_upstream": (lambda a, b: node(a.data / b.data, (a, b), "/", lambda o: (
        setattr(a, "grad", a.grad + 1 / b.data), setattr(b, "grad", b.grad - a.data / b.data ** 2))),
        "multiply it by the upstream"),
    "untouched": (lambda a, b: node(a.data / b.data, (a, b), "/", lambda o: None), "out._backward = _backward"),
}


@pytest.mark.parametrize("name", sorted(DIV_WRONG))
def test_div_rejects(name):
    impl, hint = DIV_WRONG[name]
    assert_rejected(run_check("02.5", impl), hint)


def test_div_original_bug_named_on_a_case_with_earlier_gradients():
    """On a case where b already had a gradient, the notebook's buggy version gets its own hint."""
    from backprop_lab.exercises import get
    from backprop_lab.exercises._core import judge, run_case

    ex = get("02.5")
    case = {"inputs": [-0.5, 4.0], "grads0": [0.25, -1.0], "upstream": -0.75, "same": False}
    outcome = judge(ex, case, *run_case(ex, div_with(RIGHT_A, RIGHT_B, eq_b=True), case))
    assert outcome.status == "fail" and outcome.mismatch.hint == DIV_HINTS["original"]


# ----------------------------------------------------------------------------- 02.6 topological sort

def topo_no_visited(root):
    order = []

    def visit(n):
        for p in n._prev:
            visit(p)
        order.append(n)
    visit(root)
    return order


def topo_preorder(root):
    order, seen = [], set()

    def visit(n):
        if n not in seen:
            seen.add(n)
            order.append(n)
            for p in n._prev:
                visit(p)
    visit(root)
    return order


def topo_direct_only(root):
    return list(dict.fromkeys(root._prev)) + [root]


def topo_bfs(root):
    """Breadth-first from the root, then reversed: not topological when paths have different lengths."""
    order, seen, queue = [], set(), [root]
    while queue:
        n = queue.pop(0)
        if n not in seen:
            seen.add(n)
            order.append(n)
            queue.extend(n._prev)
    return order[::-1]


def topo_labels(root):
    return [n.label for n in reference.topo_sort(root)]


TOPO_WRONG = {
    "empty": (lambda root: [], TOPO_HINTS["empty"]),
    "no_visited_set": (topo_no_visited, "Keep a set of visited nodes"),
    "preorder": (topo_preorder, TOPO_HINTS["reversed"][:60]),
    "direct_only": (topo_direct_only, "are missing"),
    "labels": (topo_labels, "not nodes of this graph"),
    "generator": (lambda root: iter(reference.topo_sort(root)), "must return a list"),
    "root_only": (lambda root: [root], "are missing"),
}


@pytest.mark.parametrize("name", sorted(TOPO_WRONG))
def test_topo_rejects(name):
    impl, hint = TOPO_WRONG[name]
    assert_rejected(run_check("02.6", impl), hint)


def test_topo_bfs_is_not_topological():
    result = run_check("02.6", topo_bfs, seed=0)
    assert result.status == "fail" and ("comes before its input" in result.hint or "reversed" in result.hint)


def test_topo_any_valid_order_passes():
    """Parents visited in the other order still give a topological order: accepted."""
    def topo(root):
        order, seen = [], set()

        def visit(n):
            if n not in seen:
                seen.add(n)
                for p in reversed(n._prev):
                    visit(p)
                order.append(n)
        visit(root)
        return order
    assert run_check("02.6", topo).passed


# ----------------------------------------------------------------------------- 02.7 the whole class

def value_class(**replace):
    """The notebook's MyValue with some of its functions (``backward``, ``mul``, ...) replaced by wrong ones: a
    learner's class with mistakes. The class calls the functions by name, as the notebook's does, so the
    module is run afresh and the wrong functions see its names (``RefValue`` is its ``MyValue``)."""
    ns = {"__name__": "learner_notebook"}
    exec(compile(inspect.getsource(reference), reference.__file__, "exec"), ns)
    scope = {**globals(), **ns, "RefValue": ns["MyValue"]}
    scope["node"] = types.FunctionType(node.__code__, scope)
    for name, fn in replace.items():
        ns[name] = types.FunctionType(fn.__code__, scope, fn.__name__, fn.__defaults__, fn.__closure__)
    return ns["MyValue"]


def backward_forward_order(self):
    order = reference.topo_sort(self)
    self.grad = 1.0
    for n in order:
        n._backward()


def backward_no_seed(self):
    for n in reversed(reference.topo_sort(self)):
        n._backward()


def backward_root_only(self):
    self.grad = 1.0
    self._backward()


def add_is_mul(a, b):
    return mul(a, b)  # noqa: F821 - the notebook module's mul (see value_class)


def backward_seed_last(self):
    """The root's gradient set after the loop: every _backward ran with an upstream gradient of 0."""
    for n in reversed(reference.topo_sort(self)):
        n._backward()
    self.grad = 1.0


CLASS_WRONG = {
    "zeros": (value_class(backward=backward_no_seed), "root.grad = 1.0"),
    "seed_last": (value_class(backward=backward_seed_last), "BEFORE the loop"),
    "forward_order": (value_class(backward=backward_forward_order), "reversed(topo_sort(root))"),
    "root_only": (value_class(backward=backward_root_only), "reversed(topo_sort(root))"),
    "bad_mul": (value_class(mul=mul_overwrite), "`mul` gives the wrong"),
    "bad_tanh": (value_class(tanh=tanh_with(lambda x, t: 1 - x ** 2)), "check('02.3', tanh)"),
    "bad_forward": (value_class(add=add_is_mul), "`add`"),
}


@pytest.mark.parametrize("name", sorted(CLASS_WRONG))
def test_class_rejects(name):
    cls, hint = CLASS_WRONG[name]
    assert_rejected(run_check("02.7", cls), hint)


def test_class_names_the_wrong_operation_even_when_backward_is_wrong_too():
    """Wrong ops and a backward that never seeds the root: all zeros, but the ops are named first."""
    cls = value_class(backward=backward_no_seed, tanh=tanh_with(lambda x, t: 1 - x ** 2))
    result = run_check("02.7", cls)
    assert result.status == "fail" and "`tanh`" in result.hint and "root.grad" not in result.hint


def test_operation_probe_accepts_composite_operations():
    """An engine that builds division from mul and pow (bl.Value) is not flagged: the probe walks the graph."""
    from backprop_lab.exercises.nb02 import _op_report

    assert _op_report(bl.Value) == [] and _op_report(RefValue) == []
    assert _op_report(value_class(mul=mul_overwrite)) == ["mul"]


def test_hand_names_the_missing_answer():
    result = run_check("02.1", (-20.0, None))
    assert result.status == "todo" and "dL_dx is still None" in result.first_problem.error


def test_class_with_unsolved_exercise_is_todo():
    def mul(a, b):
        raise NotImplementedError("Exercise 02.2: build out = a * b with its _backward")
    assert run_check("02.7", value_class(mul=mul)).status == "todo"


def test_use_switches_to_a_passing_class_only():
    assert bl.exercises.use("02.7", RefValue) is RefValue
    assert bl.exercises.use("02.7", value_class(backward=backward_no_seed)) is reference.MyValue


def test_probe_node_has_the_graph_interface_only():
    n = Node(2.0, "a")
    assert (n.data, n.grad, n._prev, n._op, n.label) == (2.0, 0.0, (), "", "a")
    with pytest.raises(TypeError):
        n * 2.0
