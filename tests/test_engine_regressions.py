"""Issue 17: one named regression test for each engine defect found by porting peers' op test suites."""
import warnings

import numpy as np
import pytest

import backprop_lab as bl
from backprop_lab.autograd import topo_sort


def T(data, dtype=np.float64):
    return bl.Tensor(np.asarray(data, dtype=dtype), requires_grad=True)


# -- permute / transpose with negative axes ------------------------------------------------------------------

@pytest.mark.parametrize("axes", [(-2, -1, 1, 0), (3, -3, 0, -2), (-1, -2, -3, -4)])
def test_permute_with_negative_axes_gives_gradient_of_the_input_shape(axes):
    x = T(np.random.default_rng(0).normal(size=(3, 4, 5, 6)))
    y = x.permute(axes)
    np.testing.assert_array_equal(y.data, np.transpose(x.data, axes))
    g = np.random.default_rng(1).normal(size=y.shape)
    y.backward(g)
    assert x.grad.shape == (3, 4, 5, 6)
    np.testing.assert_array_equal(x.grad, np.transpose(g, np.argsort([a % 4 for a in axes])))


def test_transpose_rule_applied_directly_with_negative_axes():
    x = T(np.ones((2, 3, 4)))
    bl.rules.Transpose.apply(x, axes=(-1, 0, -2)).backward(np.ones((4, 2, 3)))
    assert x.grad.shape == (2, 3, 4)


# -- stable sigmoid, softplus, log-sigmoid -------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_finite_with_finite_gradients_far_below_minus_88(dtype):
    x = T([-1000.0, -200.0, -89.0, -88.0, 0.0, 88.0, 200.0, 1000.0], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even an overflow warning
        y = x.sigmoid()
        y.sum().backward()
    assert y.dtype == dtype and x.grad.dtype == dtype
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad))
    expected = np.exp(-np.logaddexp(0, -np.float64(x.data)))  # sigmoid in float64, without overflow
    tiny = np.finfo(dtype).tiny  # below it, float32 has only subnormals: compare absolutely there
    np.testing.assert_allclose(y.data, expected, rtol=1e-6, atol=tiny)
    np.testing.assert_allclose(x.grad, expected * (1 - expected), rtol=1e-5, atol=tiny)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["softplus", "log_sigmoid", "silu", "bce_with_logits"])
def test_softplus_style_composites_are_finite_for_huge_inputs(dtype, name):
    fns = {
        "softplus": lambda x: x.softplus(),
        "log_sigmoid": lambda x: x.log_sigmoid(),
        "silu": lambda x: x.silu(),
        "bce_with_logits": lambda x: bl.nn.binary_cross_entropy_with_logits(x, np.ones(x.shape), reduction="none"),
    }
    x = T([-1000.0, -100.0, -30.0, -1e-3, 0.0, 1e-3, 30.0, 100.0, 1000.0], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = fns[name](x)
        y.sum().backward()
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad))
    assert y.dtype == dtype and x.grad.dtype == dtype


def test_softplus_keeps_tiny_values_and_has_the_sigmoid_gradient():
    x = T([-40.0, -5.0, 0.0, 5.0, 40.0])
    y = x.softplus()
    np.testing.assert_allclose(y.data, np.logaddexp(0, x.data), rtol=1e-15)
    assert y.data[0] > 0  # log(1 + e^-40) = 4.2e-18, not rounded to 0
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 1 / (1 + np.exp(-x.data)), rtol=1e-15)


# -- Pow ------------------------------------------------------------------------------------------------------

def test_pow_exponent_gradient_keeps_float32():
    x, p = T([0.5, 2.0, 3.0], np.float32), T([2.0, -1.0, 0.5], np.float32)
    (x ** p).sum().backward()
    assert x.grad.dtype == np.float32 and p.grad.dtype == np.float32
    np.testing.assert_allclose(p.grad, (x.data ** p.data) * np.log(x.data), rtol=1e-6)


def test_pow_derivative_of_x_to_the_zero_at_zero_is_zero():
    x = T([0.0, 1.0, -2.0])
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])
    x2, p = T([0.0]), T([0.0])
    (x2 ** p).sum().backward()
    assert x2.grad[0] == 0.0 and p.grad[0] == 0.0


def test_pow_exponent_gradient_at_zero_base_is_minus_inf_below_zero_and_zero_above():
    base, p = T([0.0, 0.0, 0.0, 0.0]), T([-2.0, -0.3, 0.0, 2.0])
    with np.errstate(divide="ignore"):  # the forward 0 ** -2 = inf warns in NumPy as in the engine
        z = base ** p
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the backward handles its infinities without a warning
        z.sum().backward()
    np.testing.assert_array_equal(p.grad, [-np.inf, -np.inf, 0.0, 0.0])
    np.testing.assert_array_equal(base.grad, [-np.inf, -np.inf, 0.0, 0.0])


# -- reductions on 0-d tensors and empty axes ------------------------------------------------------------------

@pytest.mark.parametrize("axis", [0, -1, (), None])
@pytest.mark.parametrize("op", ["sum", "mean", "max", "min", "prod"])
def test_reductions_over_axis_0_or_minus_1_of_a_0d_tensor_backpropagate(op, axis):
    x = T(2.5)
    y = getattr(x, op)(axis=axis)
    assert y.shape == () and y.item() == 2.5
    y.backward()
    assert x.grad.shape == () and x.grad == 1.0


@pytest.mark.parametrize("op", ["sum", "mean"])
def test_reducing_a_0d_tensor_over_axis_1_is_an_index_error(op):
    with pytest.raises(IndexError):
        getattr(T(1.0), op)(axis=1)


@pytest.mark.parametrize("op", ["mean", "var", "std"])
def test_mean_and_var_over_an_empty_axis_are_nan_with_a_warning(op):
    x = T(np.ones((2, 0, 3)))
    with pytest.warns(RuntimeWarning, match="0 entries to reduce"):
        y = getattr(x, op)(axis=1)
    assert y.shape == (2, 3) and np.all(np.isnan(y.data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        y.sum().backward()
    assert x.grad.shape == (2, 0, 3)


# -- minimum without negation ------------------------------------------------------------------------------------

def test_minimum_of_integers_includes_int_min_without_overflow():
    info = np.iinfo(np.int32)
    a = bl.Tensor(np.array([-1234, 0, 1234, info.max, info.min], np.int32))
    for other in (info.max, info.min):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = bl.minimum(a, other)
        np.testing.assert_array_equal(out.data, np.minimum(a.data, other))
        assert out.dtype == np.int32


def test_minimum_and_maximum_of_booleans():
    a, b = bl.Tensor(np.array([True, False, False])), bl.Tensor(np.array([True, True, False]))
    np.testing.assert_array_equal(bl.minimum(a, b).data, [True, False, False])
    np.testing.assert_array_equal(bl.maximum(a, b).data, [True, True, False])
    np.testing.assert_array_equal(bl.minimum(a, True).data, [True, False, False])


def test_min_reduction_of_int_min_and_bool():
    np.testing.assert_array_equal(bl.Tensor(np.array([0, -2 ** 31], np.int32)).min().data, -2 ** 31)
    assert bl.Tensor(np.array([True, False])).min().item() is False


# -- einsum -------------------------------------------------------------------------------------------------------

def test_einsum_broadcasts_a_size_1_letter_and_gives_gradients_of_each_operand_shape():
    rng = np.random.default_rng(0)
    A, B = T(rng.normal(size=(3, 1))), T(rng.normal(size=(4, 5)))
    out = bl.einsum("ij,jk->ik", A, B)
    np.testing.assert_allclose(out.data, np.einsum("ij,jk->ik", A.data, B.data))
    out.sum().backward()
    assert A.grad.shape == (3, 1) and B.grad.shape == (4, 5)
    assert bl.gradcheck(lambda a, b: bl.einsum("ij,jk->ik", a, b), A.data, B.data)
    assert bl.check_graph(bl.einsum("ij,jk->ik", A, B)).ok


def test_einsum_accepts_numpy_sublist_form():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    out = bl.einsum(bl.Tensor(a), [0, 1], bl.Tensor(b), [1, 2], [0, 2])
    np.testing.assert_allclose(out.data, np.einsum(a, [0, 1], b, [1, 2], [0, 2]))
    implicit = bl.einsum(bl.Tensor(a), [Ellipsis, 1], bl.Tensor(b), [1, 2])
    np.testing.assert_allclose(implicit.data, np.einsum(a, [Ellipsis, 1], b, [1, 2]))
    assert bl.gradcheck(lambda x, y: bl.einsum(x, [0, 1], y, [1, 2], [0, 2]), a, b)


def test_einsum_rejects_what_numpy_rejects_with_a_clear_message():
    with pytest.raises(ValueError, match=r"at most one '\.\.\.' per operand"):
        bl.einsum("...ik...,jk->", bl.Tensor(np.ones((2, 3, 4))), bl.Tensor(np.ones((2, 4))))
    with pytest.raises(ValueError, match="sublist holds integers 0..51"):
        bl.einsum(bl.Tensor(np.ones(2)), [99])


# -- element-wise comparisons ----------------------------------------------------------------------------------------

def test_comparisons_are_element_wise_tensors_without_gradient():
    t = T([1.0, 0.0, -2.0, 0.0])
    for op, ref in [(t != 0, [True, False, True, False]), (t == 0, [False, True, False, True]),
                    (t > 0, [True, False, False, False]), (t >= 0, [True, True, False, True]),
                    (t < 0, [False, False, True, False]), (t <= 0, [False, True, True, True]),
                    (0 < t, [True, False, False, False]), (np.zeros(4) == t, [False, True, False, True])]:
        assert isinstance(op, bl.Tensor) and op.dtype == bool and not op.requires_grad and op._prev == ()
        np.testing.assert_array_equal(op.data, ref)


def test_multiplying_by_a_comparison_masks_the_gradient():
    t = T([1.5, 0.0, -2.0, 0.0])
    (t * (t != 0)).sum().backward()
    np.testing.assert_array_equal(t.grad, [1.0, 0.0, 1.0, 0.0])
    u = T([1.5, -0.5])
    (u * (u < 0)).sum().backward()
    np.testing.assert_array_equal(u.grad, [0.0, 1.0])


def test_equal_valued_tensors_stay_distinct_in_sets_dicts_and_the_topological_sort():
    a, b = T([1.0, 2.0]), T([1.0, 2.0])
    assert len({a, b}) == 2 and {a: 1, b: 2}[a] == 1 and hash(a) != hash(b)
    assert a in {a} and b not in {a}
    s = a + b  # two leaves with equal values: both must be visited and both get a gradient
    order = topo_sort(s)
    assert len(order) == 3 and order[-1] is s
    s.sum().backward()
    np.testing.assert_array_equal(a.grad, [1, 1])
    np.testing.assert_array_equal(b.grad, [1, 1])


def test_truth_value_of_a_multi_element_comparison_says_what_to_do():
    a, b = T([1.0, 2.0]), T([1.0, 2.0])
    with pytest.raises(ValueError, match=r"ambiguous.*keep the nodes in a set"):
        bool(a == b)
    with pytest.raises(ValueError, match="ambiguous"):
        a in [b]  # list membership compares with ==, element-wise
    assert bool(T([3.0]) > 2) is True


def test_comparison_of_unbroadcastable_shapes_names_them():
    with pytest.raises(ValueError, match=r"t == u: shapes \(2,\) and \(3,\) cannot be broadcast.*use `is`"):
        T([1.0, 2.0]) == T([1.0, 2.0, 3.0])


# -- the driver hands leaves new arrays without copying them (speed), but never a shared one --------------------

def test_leaf_gradients_never_share_memory_with_each_other_or_the_graph():
    class Twice(bl.Function):  # a custom rule that hands one new array to both of its inputs
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            d = g * 1.0
            return d, d

    a, b, c = T(np.ones((2, 3))), T(np.ones((2, 3))), T(np.ones(6))
    s = a + b                        # Add hands its upstream gradient itself to both inputs
    r = c.reshape(2, 3)              # Reshape hands back a view
    t = Twice.apply(s, r)
    u = Twice.apply(T(np.ones(2)), T(np.ones(2)))
    (t * 2.0).sum().backward()
    u.sum().backward()
    leaves = [a, b, c, u._prev[0], u._prev[1]]
    for i, x in enumerate(leaves):
        assert x.grad.base is None and x.grad.flags.writeable
        assert not np.shares_memory(x.grad, t.grad) and not np.shares_memory(x.grad, s.grad)
        for y in leaves[i + 1:]:
            assert not np.shares_memory(x.grad, y.grad)
    a.grad *= 0  # the user's to change in place
    np.testing.assert_array_equal(b.grad, 2 * np.ones((2, 3)))
