"""The scalar engine Value: seed 003's example, every operation, deep chains."""
import math

import pytest

import backprop_lab as bl
from backprop_lab.autograd import topo_sort


def numeric(f, xs, i, h=1e-6):
    plus = list(xs)
    minus = list(xs)
    plus[i] += h
    minus[i] -= h
    return (f(*plus) - f(*minus)) / (2 * h)


def test_seed_003_example():
    a, b = bl.Value(-2.0, label="a"), bl.Value(3.0, label="b")
    f = (a * b) * (a + b)
    f.backward()
    assert f.data == -6.0
    assert a.grad == 2 * -2 * 3 + 3 ** 2 == -3.0
    assert b.grad == (-2) ** 2 + 2 * -2 * 3 == -8.0


OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow_number": lambda a, b: a ** 3 + b ** -2,
    "pow_value": lambda a, b: a ** b,
    "rpow": lambda a, b: 2.0 ** a * b,
    "exp": lambda a, b: (a * b).exp(),
    "log": lambda a, b: (a * b).log(),
    "tanh": lambda a, b: (a - b).tanh(),
    "relu": lambda a, b: (a - b).relu() + (b - a).relu() * 3,
    "sigmoid": lambda a, b: (a * b).sigmoid(),
    "radd_rsub_rmul_rdiv": lambda a, b: 1 + a - 2 * b + 3 / a - (5 - b),
    "neg": lambda a, b: -a * b,
    "reuse": lambda a, b: a * a * a + a * b,
}


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("xs", [(1.5, 0.7), (0.3, 2.2)])
def test_value_ops_match_central_differences(name, xs):
    op = OPS[name]
    a, b = bl.Value(xs[0]), bl.Value(xs[1])
    out = op(a, b)
    out.backward()
    plain = lambda x, y: op(bl.Value(x), bl.Value(y)).data  # noqa: E731
    assert math.isclose(a.grad, numeric(plain, xs, 0), rel_tol=1e-5, abs_tol=1e-7)
    assert math.isclose(b.grad, numeric(plain, xs, 1), rel_tol=1e-5, abs_tol=1e-7)


def test_fan_out_accumulates_with_plus_equals():
    a = bl.Value(3.0)
    b = a + a
    b.backward()
    assert a.grad == 2.0


def test_leaf_gradients_accumulate_across_calls_intermediates_do_not():
    a = bl.Value(2.0)
    h = a * a
    y = h * 3
    y.backward()
    y.backward()
    assert a.grad == 2 * 12.0
    assert h.grad == 3.0


def test_no_grad_records_no_parents():
    a = bl.Value(2.0)
    with bl.no_grad():
        b = a * 3
    assert b._prev == ()


def test_million_node_chain_no_recursion_error():
    x = bl.Value(1.0)
    y = x
    for _ in range(1_000_000):
        y = y.relu()
    y.backward()
    assert x.grad == 1.0


def test_iterative_sort_handles_a_chain_deeper_than_recursion_allows():
    x = bl.Value(1.0)
    y = x
    for _ in range(5000):
        y = y * 1.0
    order = topo_sort(y)
    assert order[-1] is y and order.index(x) < len(order) - 1   # no RecursionError; a recursive sort raises here


def test_topological_order_parents_first():
    a, b = bl.Value(1.0), bl.Value(2.0)
    c = a * b
    d = c + a
    order = topo_sort(d)
    for node in order:
        for parent in node._prev:
            assert order.index(parent) < order.index(node)


def test_micrograd_vocabulary_and_repr():
    a = bl.Value(2.0, label="a")
    b = a * 3
    assert b._op == "*" and b._prev[0] is a and callable(b._backward)
    assert "a=2" in repr(a)


def test_errors():
    with pytest.raises(ValueError, match="log of -1"):
        bl.Value(-1.0).log()
    with pytest.raises(TypeError, match="exponent must be a number or a Value"):
        bl.Value(2.0) ** "x"
    with pytest.raises(TypeError, match=r"pass the number, e.g. Value\(v.data\)"):
        bl.Value(bl.Value(1.0))
