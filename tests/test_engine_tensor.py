"""Every Tensor primitive and composite against central differences in float64."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import backprop_lab as bl
from backprop_lab.tensor import unbroadcast

RNG = np.random.default_rng(0)


def T(*shape, positive=False, rng=RNG):
    data = rng.uniform(0.5, 2.0, shape) if positive else rng.normal(size=shape)
    return bl.Tensor(data, requires_grad=True)


UNARY = {
    "neg": lambda x: -x,
    "exp": lambda x: x.exp(),
    "tanh": lambda x: x.tanh(),
    "relu": lambda x: x.relu(),
    "sigmoid": lambda x: x.sigmoid(),
    "square": lambda x: x ** 2,
    "cube_via_pow": lambda x: x ** 3.0,
    "reciprocal": lambda x: 1.0 / (x * x + 1.0),
    "sum": lambda x: x.sum(),
    "sum_axis0": lambda x: x.sum(axis=0),
    "sum_axis1_keep": lambda x: x.sum(axis=1, keepdims=True),
    "sum_neg_axis": lambda x: x.sum(axis=-1),
    "mean": lambda x: x.mean(),
    "mean_axis1": lambda x: x.mean(axis=1),
    "var": lambda x: x.var(axis=0),
    "max": lambda x: x.max(),
    "max_axis1": lambda x: x.max(axis=1),
    "max_axis0_keep": lambda x: x.max(axis=0, keepdims=True),
    "reshape": lambda x: x.reshape(-1) * bl.Tensor(np.arange(x.size, dtype=float)),
    "transpose": lambda x: x.T @ x,
    "permute": lambda x: x.permute(1, 0) * 3.0,
    "broadcast_to": lambda x: x.broadcast_to((2,) + x.shape),
    "softmax": lambda x: x.softmax(axis=1),
    "log_softmax": lambda x: x.log_softmax(axis=1),
    "getitem_slice": lambda x: x[1:, ::2],
    "getitem_int_array": lambda x: x[[0, 0, 2]],
    "getitem_pairs": lambda x: x[np.array([0, 1, 1]), np.array([2, 0, 0])],
    "abs": lambda x: (x + 0.1).abs(),
    "sqrt_of_square": lambda x: (x * x + 1.0).sqrt(),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_and_reductions_match_central_differences(name):
    x = T(3, 4)
    assert bl.gradcheck(UNARY[name], x)


def test_log_on_positive_inputs():
    assert bl.gradcheck(lambda x: x.log(), T(3, 4, positive=True))


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1.0),
    "maximum": lambda a, b: bl.maximum(a, b),
    "minimum": lambda a, b: bl.minimum(a, b),
    "pow_tensor_exponent": lambda a, b: (a * a + 0.5) ** b,
    "rsub_rdiv": lambda a, b: 2.0 - a + 1.0 / (b * b + 1.0),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)), ((), (3,))])
def test_binary_ops_with_broadcasting_and_rank_change(name, shapes):
    a, b = T(*shapes[0]), T(*shapes[1])
    assert bl.gradcheck(BINARY[name], a, b)


@pytest.mark.parametrize("shapes", [((4,), (4,)), ((4,), (4, 3)), ((2, 4), (4,)), ((2, 4), (4, 3)),
                                    ((5, 2, 4), (4, 3)), ((5, 2, 4), (5, 4, 3)), ((2, 4), (5, 4, 3)), ((5, 2, 4), (4,))])
def test_matmul_1d_2d_batched(shapes):
    assert bl.gradcheck(lambda a, b: a @ b, T(*shapes[0]), T(*shapes[1]))


@st.composite
def broadcastable_pair(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    other = list(shape[draw(st.integers(0, len(shape) - 1)):])  # rank change: drop leading axes
    other = [1 if draw(st.booleans()) else n for n in other]       # and stretch some axes
    return shape, tuple(other)


@settings(max_examples=40, deadline=None)
@given(broadcastable_pair(), st.sampled_from(["add", "mul", "sub", "div", "maximum"]), st.booleans())
def test_hypothesis_broadcasting_gradients(shapes, op, swap):
    rng = np.random.default_rng(1)
    a, b = T(*shapes[0], rng=rng), T(*shapes[1], rng=rng)
    if swap:
        a, b = b, a
    assert bl.gradcheck(BINARY[op], a, b)


@settings(max_examples=30, deadline=None)
@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), st.data())
def test_hypothesis_reductions(shape, data):
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    keepdims = data.draw(st.booleans())
    x = T(*shape, rng=np.random.default_rng(2))
    assert bl.gradcheck(lambda x: x.sum(axis=axis, keepdims=keepdims) * 2.0, x)
    assert bl.gradcheck(lambda x: x.mean(axis=axis, keepdims=keepdims), x)
    assert bl.gradcheck(lambda x: x.max(axis=axis, keepdims=keepdims), x)


@settings(max_examples=30, deadline=None)
@given(broadcastable_pair())
def test_unbroadcast_inverts_broadcasting(shapes):
    big, small = shapes
    full = np.broadcast_shapes(big, small)
    g = np.random.default_rng(3).normal(size=full)
    out = unbroadcast(g, small)
    assert out.shape == small
    # the sum of the gradient is preserved: every copy hands its share back
    assert np.isclose(out.sum(), g.sum())


def test_unbroadcast_sums_the_right_axes():
    g = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_allclose(unbroadcast(g, (3, 1)), g.sum(axis=0).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(unbroadcast(g, (4,)), g.sum(axis=(0, 1)))
    np.testing.assert_allclose(unbroadcast(g, (1, 3, 4)), g.sum(axis=0, keepdims=True))


def test_max_reduction_tie_goes_to_first_entry():
    x = bl.Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], [1, 0, 0]])


def test_maximum_tie_goes_to_left_operand():
    a = bl.Tensor([1.0, 2.0], requires_grad=True)
    b = bl.Tensor([1.0, 3.0], requires_grad=True)
    bl.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [1, 0])
    np.testing.assert_array_equal(b.grad, [0, 1])


def test_getitem_repeated_indices_accumulate():
    x = bl.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[np.array([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [3, 0, 1])


def test_fan_out_accumulates():
    x = bl.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data)
    x.grad = None
    (x.T @ x).sum().backward()
    expected = x.data.sum(axis=1, keepdims=True) * np.ones((1, 2)) + (x.data @ np.ones((2, 2)))
    np.testing.assert_allclose(x.grad, expected)


def test_transpose_and_reshape_keep_gradient_flowing_to_original():
    """Seed 000's known bug: a transposed tensor lost its connection to the original."""
    x = bl.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x.T
    z = y.reshape(6)
    (z * bl.Tensor(np.arange(6.0))).sum().backward()
    np.testing.assert_array_equal(x.grad, np.arange(6.0).reshape(3, 2).T)
    assert y._prev == (x,)


def test_grad_has_shape_and_dtype_of_data_float32():
    x = bl.Tensor(np.ones((3, 2)), requires_grad=True, dtype=np.float32)
    b = bl.Tensor(np.ones(2), requires_grad=True, dtype=np.float32)
    ((x * 2.5 + b) ** 2).mean().backward()
    assert x.grad.dtype == np.float32 and x.grad.shape == (3, 2)
    assert b.grad.dtype == np.float32 and b.grad.shape == (2,)


def test_default_dtype_is_float64_and_ints_stay_ints():
    assert bl.Tensor([1.0, 2.0]).dtype == np.float64
    assert bl.Tensor([1, 2]).dtype.kind == "i"
    assert bl.Tensor(np.ones(2, np.float32)).dtype == np.float32


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="cannot require a gradient"):
        bl.Tensor([1, 2, 3], requires_grad=True)


def test_leaf_grads_accumulate_across_backward_calls():
    x = bl.Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [6, 6])


def test_second_backward_through_freed_graph_raises_like_pytorch():
    x = bl.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward_and_leaves_accumulate():
    x = bl.Tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    y = h.sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, 2 * 2 * x.data)
    np.testing.assert_array_equal(h.grad, [1, 1])  # intermediates hold the latest pass only


def test_no_grad_records_nothing_and_restores_mode():
    x = bl.Tensor([1.0], requires_grad=True)
    with bl.no_grad():
        assert not bl.is_grad_enabled()
        with bl.no_grad():
            pass
        assert not bl.is_grad_enabled()
        y = x * 2
    assert bl.is_grad_enabled()
    assert not y.requires_grad and y._prev == ()
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        y.backward()


def test_detach_cuts_the_graph():
    x = bl.Tensor([1.0, 2.0], requires_grad=True)
    y = x.detach() * x
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1, 2])


def test_backward_on_non_scalar_needs_grad():
    x = bl.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2,\), not one element.*y.sum\(\).backward\(\)"):
        (x * 2).backward()
    y = x * 2
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [2, 20])
    with pytest.raises(ValueError, match=r"grad has shape \(3,\) but the tensor has shape \(2,\)"):
        (x * 2).backward(np.ones(3))


def test_deep_tensor_chain_1e5():
    x = bl.Tensor(np.array([0.5]), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad[0] == 1.0


def test_item_numpy_repr_and_errors():
    t = bl.Tensor([[2.5]], requires_grad=True)
    assert t.item() == 2.5 and isinstance(t.numpy(), np.ndarray)
    assert "requires_grad=True" in repr(t)
    with pytest.raises(ValueError, match="has 2 elements"):
        bl.Tensor([1.0, 2.0]).item()


def test_error_messages_teach():
    with pytest.raises(ValueError, match=r"matmul: \(3, 4\) @ \(3, 4\): inner dimensions 4 and 3 differ — did you mean a @ b.T\?"):
        bl.Tensor(np.ones((3, 4))) @ bl.Tensor(np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"matmul: \(4, 3\) @ \(4, 5\).*did you mean a.T @ b\?"):
        bl.Tensor(np.ones((4, 3))) @ bl.Tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"matmul: \(3, 4\) @ \(5, 2\): inner dimensions 4 and 5 differ"):
        bl.Tensor(np.ones((3, 4))) @ bl.Tensor(np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"add: shapes \(3,\) and \(4,\) cannot be broadcast together"):
        bl.Tensor(np.ones(3)) + bl.Tensor(np.ones(4))
    with pytest.raises(ValueError, match=r"mul: shapes \(2, 3\) and \(2,\) cannot be broadcast"):
        bl.Tensor(np.ones((2, 3))) * bl.Tensor(np.ones(2))
    with pytest.raises(TypeError, match="unsupported dtype"):
        bl.Tensor(np.array(["a"]))


def test_custom_function_and_check_graph_names_the_wrong_op():
    class GoodSquare(bl.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved
            return 2 * x * g

    class BadSqrt(bl.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.sqrt(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved
            return g / np.sqrt(x)  # wrong: missing the 1/2

    x = bl.Tensor(np.array([1.0, 4.0, 9.0]), requires_grad=True)
    good = GoodSquare.apply(x).sum()
    assert bl.check_graph(good).ok
    report = bl.check_graph(BadSqrt.apply(GoodSquare.apply(x) + 1.0).exp().sum())
    assert not report.ok
    assert report.first_bad.op == "BadSqrt"
    assert "BadSqrt" in repr(report) and "finite differences" in repr(report)
    with pytest.raises(bl.GradcheckError, match=r"input 0 \(shape \(3,\)\) at index \(0,\): analytic gradient"):
        bl.gradcheck(lambda x: BadSqrt.apply(x), x)


def test_gradcheck_warns_on_float32():
    x = bl.Tensor(np.ones(2, np.float32), requires_grad=True)
    with pytest.warns(UserWarning, match="float32"):
        bl.gradcheck(lambda x: x * 2, x)


def test_check_graph_after_backward_freed_is_a_clear_error():
    x = bl.Tensor([1.0], requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        bl.check_graph(y)


def test_cuda_without_cupy_is_a_clear_error():
    if bl.backend.cuda_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match=r"device='cuda' needs CuPy"):
        bl.Tensor([1.0], device="cuda")
    with pytest.raises(ValueError, match="unknown device"):
        bl.Tensor([1.0], device="tpu")
