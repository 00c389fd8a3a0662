"""The checks of notebook 02 accept the reference and reject each classic mistake with its own hint."""
import inspect
import math
import types

import numpy as np

import pytest

import backprop_lab as bl
from backprop_lab.exercises.nb02 import (CLASS_HINTS, DIV_HINTS, HAND_HINTS, MUL_HINTS, NODE_HINTS, POW_HINTS,
                                         TANH_HINTS, TOPO_HINTS, Node, _graph)
from backprop_lab.exercises import nb02 as nb02_checks
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
    ("02.7", bl.Value),
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
    "not_attached": (mul_not_attached, NODE_HINTS["zeros"]),
    "swapped": (mul_swapped, MUL_HINTS["own_value"]),
    "overwrite": (mul_overwrite, "`+=`"),
    "no_upstream": (mul_no_upstream, NODE_HINTS["no_upstream"].split("(here")[0]),
    "sign": (mul_sign, "wrong sign"),
    "no_children": (mul_no_children, "out._prev should hold exactly the nodes the result was computed from"),
    "add_rule": (mul_add_rule, MUL_HINTS["add_rule"]),
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
    "no_upstream": (tanh_with(lambda x, t: 1 - t ** 2, upstream=False), NODE_HINTS["no_upstream"].split("(here")[0]),
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
    "original_bug": (div_with(RIGHT_A, RIGHT_B, eq_b=True), DIV_HINTS["original"].format(had=DIV_HINTS["had_fork"])),
    "both_overwrite": (div_with(RIGHT_A, RIGHT_B, eq_a=True, eq_b=True),
                       DIV_HINTS["original"].format(had=DIV_HINTS["had_fork"])),
    "b_sign": (div_with(RIGHT_A, lambda a, b: a / b ** 2), DIV_HINTS["b_sign"]),
    "b_not_squared": (div_with(RIGHT_A, lambda a, b: -a / b), DIV_HINTS["b_local"]),
    "no_upstream": (lambda a, b: node(a.data / b.data, (a, b), "/", lambda o: (
        setattr(a, "grad", a.grad + 1 / b.data), setattr(b, "grad", b.grad - a.data / b.data ** 2))),
        NODE_HINTS["no_upstream"].split("(here")[0]),
    "untouched": (lambda a, b: node(a.data / b.data, (a, b), "/", lambda o: None), NODE_HINTS["zeros"]),
}


@pytest.mark.parametrize("name", sorted(DIV_WRONG))
def test_div_rejects(name):
    impl, hint = DIV_WRONG[name]
    assert_rejected(run_check("02.5", impl), hint)


def test_div_original_bug_named_on_a_case_with_earlier_gradients():
    """On a case where b already had a gradient, the notebook's buggy version gets its own hint."""
    from backprop_lab.exercises import get
    from backprop_lab.exercises.framework import judge, run_case

    ex = get("02.5")
    case = {"inputs": [-0.5, 4.0], "grads0": [0.25, -1.0], "upstream": -0.75, "same": False}
    outcome = judge(ex, case, *run_case(ex, div_with(RIGHT_A, RIGHT_B, eq_b=True), case))
    had = DIV_HINTS["had_before"].format(before="-1")       # the case at hand, not a / a
    assert outcome.status == "fail" and outcome.mismatch.hint == DIV_HINTS["original"].format(had=had)


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
    "no_visited_set": (topo_no_visited, "must be listed once"),
    "preorder": (topo_preorder, TOPO_HINTS["preorder"]),
    "reversed": (lambda root: reference.topo_sort(root)[::-1], TOPO_HINTS["reversed"]),
    "direct_only": (topo_direct_only, "are missing"),
    "labels": (topo_labels, "not nodes of this graph"),
    "generator": (lambda root: iter(reference.topo_sort(root)), "must return a list"),
    "root_only": (lambda root: [root], "are missing"),
}


@pytest.mark.parametrize("name", sorted(TOPO_WRONG))
def test_topo_rejects(name):
    impl, hint = TOPO_WRONG[name]
    assert_rejected(run_check("02.6", impl), hint)


@pytest.mark.parametrize("seed", [None, 0])
def test_topo_bfs_is_not_topological(seed):
    result = run_check("02.6", topo_bfs, seed=seed)
    assert result.status == "fail" and "comes before its input" in result.hint, repr(result)


def topo_by_data(root):
    """Remembers the nodes' numbers instead of the nodes: two nodes holding equal data become one."""
    order, seen = [], set()

    def visit(n):
        if n.data not in seen:
            seen.add(n.data)
            for p in n._prev:
                visit(p)
            order.append(n)
    visit(root)
    return order


def test_topo_by_data_is_told_about_equal_numbers():
    assert_rejected(run_check("02.6", topo_by_data), "two different nodes can hold equal .data")


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


def backward_recursive(self):
    """micrograd's PR #64: hand the gradient on, then recurse into the inputs (no order, no visited set)."""
    def visit(node):
        node._backward()
        for child in node._prev:
            visit(child)
    self.grad = 1.0
    visit(self)


def backward_recursive_once_with(reverse):
    """The same with a visited set: each node once, but possibly before all its users handed it its share."""
    def backward(self):
        seen = set()

        def visit(node):
            if node not in seen:
                seen.add(node)
                node._backward()
                for child in (reversed(node._prev) if reverse else node._prev):
                    visit(child)
        self.grad = 1.0
        visit(self)
    return backward


backward_recursive_once, backward_recursive_once_reversed = (backward_recursive_once_with(False),
                                                             backward_recursive_once_with(True))


def backward_breadth_first(self):
    """Breadth-first from the root: a node used at two depths hands on its gradient after the first use only."""
    self.grad = 1.0
    nb02_checks._breadth_first(self)        # the order the check itself recognises (its WRONG_ORDERS)


def backward_breadth_first_without_visited(self):
    queue = [self]
    self.grad = 1.0
    while queue:
        node = queue.pop(0)
        node._backward()
        queue.extend(node._prev)


ORDER_HINT = CLASS_HINTS["order"].split("{expr}")[0]
REPEATED_HINT = CLASS_HINTS["repeated"].split("{expr}")[0]

CLASS_WRONG = {
    "zeros": (value_class(backward=backward_no_seed), CLASS_HINTS["zeros"]),
    "seed_last": (value_class(backward=backward_seed_last), CLASS_HINTS["zeros"]),
    "forward_order": (value_class(backward=backward_forward_order), CLASS_HINTS["zeros"]),
    "root_only": (value_class(backward=backward_root_only), CLASS_HINTS["zeros"]),
    "recursive": (value_class(backward=backward_recursive), REPEATED_HINT),
    "recursive_once": (value_class(backward=backward_recursive_once), ORDER_HINT),
    "recursive_once_reversed": (value_class(backward=backward_recursive_once_reversed), ORDER_HINT),
    "breadth_first": (value_class(backward=backward_breadth_first), ORDER_HINT),
    "breadth_first_without_visited": (value_class(backward=backward_breadth_first_without_visited), "too large"),
    "bad_mul": (value_class(mul=mul_overwrite), "`mul` gives the wrong"),
    "bad_tanh": (value_class(tanh=tanh_with(lambda x, t: 1 - x ** 2)), "check('02.3', tanh)"),
    "bad_forward": (value_class(add=add_is_mul), "`add`"),
}


@pytest.mark.parametrize("name", sorted(CLASS_WRONG))
def test_class_rejects(name):
    cls, hint = CLASS_WRONG[name]
    assert_rejected(run_check("02.7", cls), hint)


@pytest.mark.parametrize("name", ["recursive", "breadth_first", "recursive_once", "recursive_once_reversed"])
def test_a_backward_without_topological_order_fails_on_a_node_used_twice(name):
    """The holes of issue 15: these passed every case before `b = a + a; c = b + b` and its uneven sibling."""
    result = run_check("02.7", CLASS_WRONG[name][0])
    assert result.first_problem.case["expr"] in ("twice", "uneven"), repr(result)


def test_the_twice_case_is_the_one_the_issue_names():
    from backprop_lab.exercises.nb02 import EXPRESSIONS

    a = RefValue(1.0)
    c = EXPRESSIONS["twice"][1](a)
    c.backward()
    assert EXPRESSIONS["twice"][0] == "b = a + a; c = b + b" and a.grad == 4.0


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


# ----------------------------------------------------------------------------- slips found in the learner walk-through

def test_hand_unrecognised_numbers_still_get_a_hint():
    assert_rejected(run_check("02.1", (-20.0, 31.0)), HAND_HINTS["other"])


def test_math_on_a_node_is_explained():
    def tanh(a):
        return RefValue(math.tanh(a), (a,), "tanh")        # a is a node: its number is a.data
    result = run_check("02.3", tanh)
    assert result.status == "error" and NODE_HINTS["arithmetic"] in result.first_problem.error


def test_mul_that_divides_by_an_input_fails_on_a_zero_input():
    def mul(a, b):
        def bw(out):
            a.grad += out.data / a.data * out.grad       # right, unless a.data == 0
            b.grad += out.data / b.data * out.grad
        return node(a.data * b.data, (a, b), "*", bw)
    result = run_check("02.2", mul)
    assert result.status == "error" and "ZeroDivisionError" in result.first_problem.error


def test_div_with_lines_swapped_and_a_overwritten_is_named():
    def div(a, b):
        def bw(out):
            b.grad += (-a.data / b.data ** 2) * out.grad
            a.grad = (1 / b.data) * out.grad
        return node(a.data / b.data, (a, b), "/", bw)
    assert_rejected(run_check("02.5", div), DIV_HINTS["fork_one_share"])


def test_div_that_skips_the_second_share_of_a_over_a_is_not_told_it_overwrote():
    """Walkthrough 2: `if a is not b:` around b's line (x / x "must be" handled apart) keeps += everywhere; the
    hint says a share was lost at the fork, overwritten OR skipped."""
    def div(a, b):
        def bw(out):
            a.grad += (1 / b.data) * out.grad
            if a is not b:
                b.grad += (-a.data / b.data ** 2) * out.grad
        return node(a.data / b.data, (a, b), "/", bw)
    assert_rejected(run_check("02.5", div), "or a share skipped")


def slipped_mul(op="*", skip_same=False, reset_out=False):
    """A mul with one slip: a share skipped when both inputs are one node, another _op, or out.grad reset."""
    def mul(a, b):
        def bw(out):
            a.grad += b.data * out.grad
            if not (skip_same and b is a):
                b.grad += a.data * out.grad
            if reset_out:
                out.grad = 0.0
        return node(a.data * b.data, (a, b), op, bw)
    return mul


@pytest.mark.parametrize("slip, fragment", [
    # walkthrough 2: each passed, or got a hint about another mistake
    ({"skip_same": True}, "or skipped one"),              # `if b is not a:` around b's line
    ({"op": "+"}, "out._op is '+'"),                      # copied from add: every picture of a product said '+'
    ({"reset_out": True}, "changed out.grad"),            # passed 02.2 and 02.7; every inner node then showed 0
])
def test_mul_slips_found_by_walkthrough_2(slip, fragment):
    assert_rejected(run_check("02.2", slipped_mul(**slip)), fragment)


def backward_clearing_inner_nodes(self):
    """A backward that 'cleans up' every computed node's gradient once the node has handed it on."""
    order = reference.topo_sort(self)
    for n in order:
        n.grad = 0.0
    self.grad = 1.0
    for n in reversed(order):
        n._backward()
        if n._prev and n is not self:
            n.grad = 0.0


def test_class_backward_that_clears_inner_gradients_is_rejected():
    """Walkthrough 2: the inputs' gradients were right, the nodes in between held 0, and 02.7 passed."""
    assert_rejected(run_check("02.7", value_class(backward=backward_clearing_inner_nodes)), CLASS_HINTS["inner"])


def test_topo_sort_that_walks_every_path_is_stopped():
    """Walkthrough 2: no visited check before recursing (duplicates dropped at append) passed 02.6 and 02.7, with
    work that doubles with every square of a chain; the probe nodes stop it and the hint names the cause."""
    def topo_sort(root):
        order = []
        def visit(n):
            for p in n._prev:
                visit(p)
            if n not in order:
                order.append(n)
        visit(root)
        return order
    assert_rejected(run_check("02.6", topo_sort), "once per NODE")


def backward_restarts_at_children(self):
    """micrograd's recursion through node.backward(): each call starts the chain rule again (grad = 1)."""
    self.grad = 1.0
    self._backward()
    for child in self._prev:
        child.backward()


def test_class_backward_restarted_at_every_node_is_named():
    assert_rejected(run_check("02.7", value_class(backward=backward_restarts_at_children)),
                    CLASS_HINTS["restarted"].split(":")[0])


def test_hand_values_must_be_plain_numbers():
    """The cell after the check turns them into an array of floats: Values would pass the numbers and crash there."""
    assert_rejected(run_check("02.1", (bl.Value(-20.0), bl.Value(30.0))), HAND_HINTS["pair"])
    assert run_check("02.1", (-20, 30)).passed and run_check("02.1", (np.float64(-20), 30.0)).passed


# ----------------------------------------------------------------------------- slips found by a learner's walkthrough

ANSWER_02_1 = [r"(?<![\d.e])-20(?:\.0*)?(?![\d.])", r"(?<![\d.e-])30(?:\.0*)?(?![\d.])"]


@pytest.mark.parametrize("answer", [(2.0, -3.0), (20.0, -30.0), (-10.0, 15.0), (0.5, 1.0), (25.0, 25.0)])
def test_a_wrong_02_1_is_not_shown_the_answer(answer):
    """The expected numbers ARE the answer of 02.1: a wrong try sees neither -20 nor 30, as text or in the box."""
    import re

    from backprop_lab.exercises.render import as_html, as_text

    result = run_check("02.1", answer)
    assert result.status == "fail"
    for text in (as_text(result), as_html(result)):
        assert not any(re.search(p, text) for p in ANSWER_02_1), text


HAND_ONE_WRONG = {   # (w, x, b) = (-3, 2, 1): z = -5, dL/dz = -10; dL/dw = -20 right, dL/dx with a slip of its own
    "no_two": ((-20.0, 15.0), HAND_HINTS["no_two_one"].format(name="dL_dx")),
    "no_upstream": ((-20.0, -3.0), HAND_HINTS["no_upstream_one"].format(name="dL_dx", local="dz/dx")),
    "sign": ((-20.0, -30.0), HAND_HINTS["sign_one"].format(name="dL_dx")),
    "swapped": ((-20.0, -20.0), HAND_HINTS["swapped_one"].format(name="dL_dx")),
    "upstream_only": ((-20.0, -10.0), HAND_HINTS["upstream_only"].format(name="dL_dx", var="x")),
}


@pytest.mark.parametrize("name", sorted(HAND_ONE_WRONG))
def test_hand_one_wrong_number_is_named_with_its_own_slip(name):
    answer, hint = HAND_ONE_WRONG[name]
    result = run_check("02.1", answer)
    assert_rejected(result, hint)
    assert "dL_dx is not right" in result.first_problem.mismatch.message and "+=" not in result.hint


def mul_without_op(a, b):
    return node(a.data * b.data, (a, b), "", lambda out: (setattr(a, "grad", a.grad + b.data * out.grad),
                                                          setattr(b, "grad", b.grad + a.data * out.grad)))


def mul_upstream_read_early(a, b):
    out = RefValue(a.data * b.data, (a, b), "*")
    upstream = out.grad                     # 0: read when the node is built, not when _backward runs

    def _backward():
        a.grad += b.data * upstream
        b.grad += a.data * upstream
    out._backward = _backward
    return out


def mul_grad_for_data(a, b):
    def bw(out):
        a.grad += b.grad * out.grad         # the other input's .grad where its .data belongs
        b.grad += a.grad * out.grad
    return node(a.data * b.data, (a, b), "*", bw)


def tanh_children_not_a_tuple(a):
    t = math.tanh(a.data)
    return RefValue(t, (a), "tanh")         # (a) is a, not a tuple


def power_with_k_in_prev(a, k):
    return node(a.data ** k, (a, k), f"**{k}", lambda out: None)


def power_without_exponent_in_op(a, k):
    def bw(out):
        a.grad += k * a.data ** (k - 1) * out.grad
    return node(a.data ** k, (a,), "**", bw)


def div_lines_swapped_b_still_overwrites(a, b):
    def bw(out):
        b.grad = (-a.data / b.data ** 2) * out.grad     # first, so a / a comes out right ...
        a.grad += (1 / b.data) * out.grad               # ... but a share b had from elsewhere is still lost
    return node(a.data / b.data, (a, b), "/", bw)


def topo_mutable_default(root, order=[]):                   # noqa: B006 - the slip under test
    """A default list is made once: every call adds to what the earlier calls placed."""
    order.extend(n for n in reference.topo_sort(root) if not any(n is m for m in order))
    return order


_PLACED = []


def topo_global_state(root):
    """The same with a list outside the function."""
    _PLACED.extend(n for n in reference.topo_sort(root) if not any(n is m for m in _PLACED))
    return _PLACED


def topo_without_root(root):
    return reference.topo_sort(root)[:-1]


WALK_WRONG = {
    "02.2 no op name": (mul_without_op, NODE_HINTS["op"].format(got="", want="'*'")),
    "02.2 upstream read early": (mul_upstream_read_early, NODE_HINTS["early_upstream"]),
    "02.2 grad for data": (mul_grad_for_data, "an input's .grad, say, where its number, .data, belongs"),
    "02.4 k in _prev": (power_with_k_in_prev, NODE_HINTS["prev_number"].strip()),
    "02.4 no exponent in op": (power_without_exponent_in_op, "'**' with the exponent"),
    "02.5 lines swapped": (div_lines_swapped_b_still_overwrites,
                           DIV_HINTS["original"].format(had=DIV_HINTS["had_before"].format(before="-1"))),
    "02.6 mutable default": (topo_mutable_default, TOPO_HINTS["stale_default"]),
    "02.6 global state": (topo_global_state, TOPO_HINTS["stale_global"]),
    "02.6 root left out": (topo_without_root, TOPO_HINTS["missing_root"].format(name="f")),
    "02.7 topo_sort lists nodes twice": (value_class(topo_sort=topo_no_visited), "check('02.6', topo_sort)"),
}


@pytest.mark.parametrize("name", sorted(WALK_WRONG))
def test_walkthrough_slips_get_their_own_hint(name):
    impl, hint = WALK_WRONG[name]
    assert_rejected(run_check(name.split()[0], impl), hint)


def test_children_not_a_tuple_is_named():
    result = run_check("02.3", tanh_children_not_a_tuple)
    assert result.status == "error" and NODE_HINTS["not_tuple"] in result.first_problem.error, repr(result)


def test_a_backward_that_is_not_a_closure_is_not_told_it_reads_out_too_early():
    """_reads_out_later judges closures only: the default, a bound method or a partial is given the benefit."""
    import functools

    from backprop_lab.exercises.nb02 import _reads_out_later

    out = RefValue(1.0)
    assert _reads_out_later(out)                                   # the default lambda: None
    out._backward = functools.partial(print, out)
    assert _reads_out_later(out)
    a = RefValue(2.0)
    out._backward = (lambda: a.grad)                               # a closure without out
    assert not _reads_out_later(out)


def test_power_taking_k_for_a_node_gets_a_hint():
    """Walkthrough 2: `k.data` (the exponent taken for a node) raised an AttributeError with no hint."""
    def power(a, k):
        def bw(out):
            a.grad += k.data * a.data ** (k.data - 1) * out.grad
        return node(a.data ** k, (a,), f"**{k}", bw)
    assert_rejected(run_check("02.4", power), "k is a plain number", status="error")


def test_hand_upstream_alone_for_both_is_named():
    """Walkthrough 2: (-10, -10), dL/dz for both, got the generic "work it again" hint."""
    assert_rejected(run_check("02.1", (-10.0, -10.0)), "upstream gradient dL/dz alone")


def test_topo_sort_that_rescans_every_node_is_slow_but_passes():
    """The budget that stops a sort walking every path leaves a quadratic one (a scan of all nodes per placement)
    alone: it is right, only slow."""
    def topo_sort(root):
        nodes, stack = [], [root]
        while stack:
            n = stack.pop()
            if n not in nodes:
                nodes.append(n)
                stack.extend(n._prev)
        order = []
        while len(order) < len(nodes):
            order += [n for n in nodes if n not in order and all(p in order for p in n._prev)][:1]
        return order
    assert run_check("02.6", topo_sort).passed


def test_topo_sort_that_hands_the_work_to_the_engine_is_refused():
    from backprop_lab.autograd import topo_sort
    from backprop_lab.exercises import get

    ex = get("02.6")      # the engine's sort is right on every case: only handing the work over is refused
    for case in ex.cases(np.random.default_rng(0)):
        nodes = _graph(case)
        where = {id(n): i for i, n in enumerate(nodes)}
        order = [where[id(n)] for n in topo_sort(nodes[case["root"]])]
        assert ex.compare(order, ex.expected(case), case) is None
    assert_rejected(run_check("02.6", lambda root: topo_sort(root)), TOPO_HINTS["engine"].format(name="topo_sort"))


# ----------------------------------------------------------------------------- walkthrough 3: answers that passed

def mul_seeding_out_grad(a, b):
    """The node gets out.grad = 1 when it is built: right shares once the upstream is set, wrong in a graph."""
    out = node(a.data * b.data, (a, b), "*", lambda o: (setattr(a, "grad", a.grad + b.data * o.grad),
                                                        setattr(b, "grad", b.grad + a.data * o.grad)))
    out.grad = 1.0
    return out


def tanh_by_exponentials(a):
    def bw(out):
        a.grad += (1 - out.data ** 2) * out.grad
    x = a.data
    return node((math.exp(x) - math.exp(-x)) / (math.exp(x) + math.exp(-x)), (a,), "tanh", bw)


def tanh_numpy_exponentials(a):
    def bw(out):
        a.grad += (1 - out.data ** 2) * out.grad
    with np.errstate(over="ignore", invalid="ignore"):
        t = float((np.exp(a.data) - np.exp(-a.data)) / (np.exp(a.data) + np.exp(-a.data)))
    return node(t, (a,), "tanh", bw)


_SEEN_EVER = set()


def topo_global_seen_set(root):
    """A visited set outside the function: every case's nodes are new, so only a second sort of one graph shows it."""
    order = [n for n in reference.topo_sort(root) if n not in _SEEN_EVER]
    _SEEN_EVER.update(order)
    return order


WALK3_WRONG = {
    "02.2 out.grad seeded": (mul_seeding_out_grad, NODE_HINTS["seeded"].split("(")[0]),
    "02.3 exp overflows": (tanh_by_exponentials, TANH_HINTS["overflow"]),
    "02.3 sech squared overflows": (tanh_with(lambda x, t: 1 / math.cosh(x) ** 2), TANH_HINTS["overflow"]),
    "02.3 numpy exp gives nan": (tanh_numpy_exponentials, TANH_HINTS["overflow"]),
    "02.4 abs of the base": (power_with(lambda x, k: k * abs(x) ** (k - 1)), POW_HINTS["abs_base"]),
    "02.4 exp of a log": (power_with(lambda x, k: k * math.exp((k - 1) * math.log(x))), POW_HINTS["abs_base"]),
    "02.4 divides by a": (power_with(lambda x, k: k * x ** k / x), POW_HINTS["zero_base"]),
    "02.6 global visited set": (topo_global_seen_set, "Called a second time on the same graph"),
}


@pytest.mark.parametrize("name", sorted(WALK3_WRONG))
def test_walkthrough_3_answers_that_passed_are_rejected(name):
    impl, hint = WALK3_WRONG[name]
    raises = ("overflows" in name and "numpy" not in name) or name in ("02.4 divides by a", "02.4 exp of a log")
    assert_rejected(run_check(name.split()[0], impl), hint, status="error" if raises else "fail")


def test_hand_values_may_be_0_d_arrays():
    """Walkthrough 3: np.array(30.0) was refused as 'expected two numbers, received (-20, 30.)'; the notebook's next
    cell computes with it as with a float, so it is a number."""
    assert run_check("02.1", (np.array(-20.0), np.array(30))).passed
    assert_rejected(run_check("02.1", (np.array([-20.0]), 30.0)), HAND_HINTS["pair"])


def _class_without(*names, **replaced):
    """The notebook's MyValue with some of its methods deleted or replaced (a learner's edit of the class cell)."""
    cls = value_class()
    for name in names:
        delattr(cls, name)
    for name, method in replaced.items():
        setattr(cls, name, method)
    return cls


@pytest.mark.parametrize("cls_maker", [
    lambda: _class_without("__radd__"),              # sum() of values: 0 + a
    lambda: _class_without("__rsub__"),              # 1 - a
    lambda: _class_without(__rmul__=None),           # 2 * a, the method set to None
])
def test_class_without_a_reversed_operator_is_told_which_kind(cls_maker):
    """Walkthrough 3: a class without __radd__ (or __rsub__, __rtruediv__) passed 02.7; notebook 03's sum() broke."""
    assert_rejected(run_check("02.7", cls_maker()), CLASS_HINTS["reversed_missing"].split("(")[0])


@pytest.mark.parametrize("name, method", [
    ("__rsub__", lambda self, other: self + (-self.__class__(other))),     # a - 1 instead of 1 - a
    ("__rtruediv__", lambda self, other: self / self.__class__(other)),   # a / 2 instead of 2 / a
])
def test_class_with_a_reversed_operator_the_wrong_way_round_is_rejected(name, method):
    result = run_check("02.7", _class_without(**{name: method}))
    assert_rejected(result, "the reversed operators such as 1 - a")


def test_power_that_divides_by_a_in_numpy_is_named_at_zero():
    """np.divide by a.data = 0 gives nan with a warning, not the ZeroDivisionError of Python's floats."""
    def local(x, k):
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.divide(k * x ** k, x))
    assert_rejected(run_check("02.4", power_with(local)), POW_HINTS["zero_base"])
