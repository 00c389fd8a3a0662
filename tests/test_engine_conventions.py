"""Where backprop_lab differs from PyTorch on purpose, pinned (each is documented in its docstring)."""
import numpy as np
import pytest

import backprop_lab as bl


def T(data, dtype=np.float64):
    return bl.Tensor(np.asarray(data, dtype=dtype), requires_grad=True)


def test_maximum_and_minimum_ties_send_the_whole_gradient_to_the_first_argument():
    for fn in (bl.maximum, bl.minimum):
        a, b = T([1.0, 2.0]), T([1.0, 2.0])
        fn(a, b).sum().backward()
        np.testing.assert_array_equal(a.grad, [1, 1])  # PyTorch: 0.5 each
        np.testing.assert_array_equal(b.grad, [0, 0])


@pytest.mark.parametrize("op,row", [("max", [1.0, 3.0, 3.0, 0.0]), ("min", [2.0, 0.0, 5.0, 0.0])])
def test_max_and_min_reductions_send_the_gradient_to_the_first_extreme_entry(op, row):
    x = T(row)
    getattr(x, op)().backward()
    expected = np.zeros(4)
    expected[np.argmax(row) if op == "max" else np.argmin(row)] = 1
    np.testing.assert_array_equal(x.grad, expected)  # PyTorch's full max/min split ties evenly


def test_abs_derivative_at_zero_is_one():
    x = T([0.0, -2.0, 3.0])
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad, [1, -1, 1])  # PyTorch: sign(x), so 0 at 0


def test_clip_passes_the_gradient_at_its_bounds_as_pytorch():
    x = T([-3.0, -2.5, 0.0, 1.5, 2.0])
    x.clip(-2.5, 1.5).sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 1, 1, 1, 0])


def test_var_and_std_are_population_statistics_unless_told():
    data = np.random.default_rng(0).normal(size=(4, 5))
    x = bl.Tensor(data)
    np.testing.assert_allclose(x.var().item(), np.var(data))
    np.testing.assert_allclose(x.var(axis=0, ddof=1).data, np.var(data, axis=0, ddof=1))
    np.testing.assert_allclose(x.std(axis=1, correction=1).data, np.std(data, axis=1, ddof=1))  # PyTorch's default


def test_transpose_forms_numpy_permutation_and_pytorch_two_axis_swap():
    x2 = bl.Tensor(np.arange(6.0).reshape(2, 3))
    x3 = bl.Tensor(np.arange(24.0).reshape(2, 3, 4))
    assert x2.transpose().shape == x2.T.shape == (3, 2)
    np.testing.assert_array_equal(x2.transpose(0, 1).data, x2.data.T)  # PyTorch's swap, not NumPy's no-op
    np.testing.assert_array_equal(x2.transpose(1, 0).data, x2.data.T)
    np.testing.assert_array_equal(x3.transpose(0, 2).data, np.swapaxes(x3.data, 0, 2))
    np.testing.assert_array_equal(x3.transpose(-1, 1).data, np.swapaxes(x3.data, -1, 1))
    np.testing.assert_array_equal(x3.transpose(2, 0, 1).data, np.transpose(x3.data, (2, 0, 1)))
    np.testing.assert_array_equal(x3.transpose((1, 2, 0)).data, np.transpose(x3.data, (1, 2, 0)))
    np.testing.assert_array_equal(x3.permute(2, 0, 1).data, np.transpose(x3.data, (2, 0, 1)))
    with pytest.raises(ValueError, match=r"permute\(0, 2\): a tensor of shape \(2, 3, 4\) needs each of its 3"):
        x3.permute(0, 2)
    with pytest.raises(IndexError, match=r"transpose\(axis=3\)"):
        x3.transpose(0, 3)


def test_float64_by_default_and_dtypes_follow_numpy_promotion():
    assert bl.Tensor([1.0]).dtype == np.float64 and bl.zeros(2).dtype == np.float64
    x32 = T([1.0, 2.0], np.float32)
    assert (x32 * 2.0).dtype == np.float32          # a Python number takes the tensor's dtype
    assert (x32 * np.ones(2)).dtype == np.float32   # so does an array mixed with a float tensor
    y64 = T([3.0, 4.0])
    z = x32 * y64                                     # two tensors: NumPy's promotion
    assert z.dtype == np.float64
    z.sum().backward()
    assert x32.grad.dtype == np.float32 and y64.grad.dtype == np.float64  # a gradient has its data's dtype
    assert (bl.Tensor(np.array([1, 2], np.int8)) + 1).dtype == np.int8


def test_bad_arguments_raise_value_errors_where_pytorch_raises_runtime_error():
    with pytest.raises(ValueError, match="inner dimensions"):
        bl.Tensor(np.ones((2, 3))) @ bl.Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match="cannot be broadcast"):
        bl.Tensor(np.ones(2)) + bl.Tensor(np.ones(3))


def test_sign_argmax_comparisons_and_any_are_constants_without_gradient():
    x = T([-2.0, 0.0, 3.0])
    for out in (x.sign(), x.argmax(), x > 0, (x > 0).any(), x.isfinite()):
        assert not out.requires_grad and out._prev == ()
    y = x * x.sign()  # the sign is a constant factor: the gradient of x * sign(x) is sign(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [-1, 0, 1])


def test_split_takes_pytorch_sizes_and_chunk_numpy_style_sections():
    x = bl.Tensor(np.arange(6.0))
    assert [p.shape for p in x.split(4)] == [(4,), (2,)]
    assert [p.shape for p in x.split([1, 5])] == [(1,), (5,)]
    assert [p.shape for p in x.chunk(3)] == [(2,), (2,), (2,)]
    with pytest.raises(ValueError, match="sizes, as in PyTorch, not NumPy's split points"):
        x.split([2, 3])  # NumPy would read split points 2 and 3


def test_repeat_tiles_as_pytorch_and_repeat_interleave_repeats_entries_as_numpy():
    x = bl.Tensor([1.0, 2.0])
    np.testing.assert_array_equal(x.repeat(2).data, [1, 2, 1, 2])
    np.testing.assert_array_equal(x.repeat_interleave(2).data, np.repeat(x.data, 2))
    np.testing.assert_array_equal(x.tile((2, 1)).data, np.tile(x.data, (2, 1)))
    with pytest.raises(TypeError, match="repeat_interleave"):
        x.repeat(2, axis=0)


def test_pad_takes_numpy_pairs_and_refuses_an_ambiguous_flat_tuple():
    x = bl.Tensor(np.ones((2, 3)))
    assert x.pad(((0, 0), (1, 2))).shape == (2, 6)
    assert x.pad(1).shape == (4, 5)
    assert bl.Tensor(np.ones(3)).pad((1, 2)).shape == (6,)
    with pytest.raises(ValueError, match=r"one \(before, after\) pair per axis.*\(\(0, 0\), \(1, 2\)\)"):
        x.pad((1, 2))


def test_state_dict_holds_copies_unlike_pytorch():
    model = bl.nn.MLP([2, 3, 1], rng=0)
    state = model.state_dict()
    model.layers[0].W.data -= 1.0  # an in-place update, as SGD makes
    assert not np.allclose(state["layers.0.W"], model.layers[0].W.data)


def test_cross_entropy_reads_float_targets_of_the_logits_shape_as_class_probabilities():
    x = bl.Tensor(np.random.default_rng(0).normal(size=(3, 4)))
    soft = np.full((3, 4), 0.25)
    expected = -(soft * (x.data - np.log(np.exp(x.data).sum(1, keepdims=True)))).sum(1).mean()
    np.testing.assert_allclose(bl.nn.cross_entropy(x, soft).item(), expected)
