"""Notebook 04's checks accept the reference and reject a catalogue of known-wrong implementations,
each with the hint that names its mistake."""
import numpy as np
import pytest

from backprop_lab.exercises import check, hints
from backprop_lab.exercises import get, nb04  # noqa: F401
from backprop_lab.references import nb04 as ref04


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    """check() returns its result instead of raising, so the tests can read the status and the hint."""
    monkeypatch.setenv("BACKPROP_LAB_STRICT", "0")


def verdict(exercise_id, obj):
    result = check(exercise_id, obj, record=False)
    problem = result.first_problem
    if problem is None:
        return result.status, "", ""
    if problem.mismatch is None:  # the learner's code raised: the "hint" is its error text
        return result.status, problem.error, problem.error
    return result.status, problem.mismatch.hint, problem.mismatch.message


# ----------------------------------------------------------------------------- 04.1 matmul backward

matmul_ok = ref04.matmul_backward


MATMUL_WRONG = {
    "zeros": (lambda W, x, dD: (np.zeros_like(W), np.zeros_like(x)), "all zeros"),
    "dW transposed": (lambda W, x, dD: (x @ dD.T, W.T @ dD), "shapes are swapped"),
    "dx transposed": (lambda W, x, dD: (dD @ x.T, dD.T @ W), "shapes are swapped"),
    "order swapped": (lambda W, x, dD: (W.T @ dD, dD @ x.T), "You returned (dx, dW)"),
    "sign": (lambda W, x, dD: (-(dD @ x.T), -(W.T @ dD)), "wrong sign"),
    "one gradient": (lambda W, x, dD: dD @ x.T, "Return all 2 gradients"),
    # walkthrough 2: a list passed, then the notebook's next cell failed on dW.shape
    "dW a list": (lambda W, x, dD: ((dD @ x.T).tolist(), W.T @ dD), "Return NumPy arrays: dW is a list"),
    # walkthrough 3: a right product divided by the number of columns got "derive it from the shapes"
    "dW averaged": (lambda W, x, dD: (dD @ x.T / x.shape[1], W.T @ dD), "times the expected one: a constant factor"),
}


def test_matmul_reference_passes():
    assert verdict("04.1", matmul_ok)[0] == "pass"


@pytest.mark.parametrize("name", MATMUL_WRONG)
def test_matmul_wrong_rejected(name):
    impl, expected_hint = MATMUL_WRONG[name]
    status, hint, _ = verdict("04.1", impl)
    assert status == "fail"
    assert expected_hint in hint


def test_matmul_transpose_hint_names_shapes_and_rule():
    status, hint, message = verdict("04.1", MATMUL_WRONG["dW transposed"][0])
    assert "(10, 5)" in message and "(5, 10)" in message
    assert "Which product of dD (5, 3) and x (10, 3)" in hint and "dD @ x.T" not in hint


def test_matmul_square_case_catches_equal_shape_transpose():
    """On the square case the shapes cannot reveal a transpose; the values must."""
    def transposed_values(W, x, dD):
        return (dD @ x.T).T if W.shape[0] == W.shape[1] else dD @ x.T, W.T @ dD
    status, hint, _ = verdict("04.1", transposed_values)
    assert status == "fail" and "transpose" in hint


# ----------------------------------------------------------------------------- 04.2 linear backward

linear_ok = ref04.linear_backward


LINEAR_WRONG = {
    "zeros": (lambda x, W, b, dy: (np.zeros_like(x), np.zeros_like(W), np.zeros_like(b)), "all zeros"),
    "bias not summed": (lambda x, W, b, dy: (dy @ W.T, x.T @ dy, dy), "Broadcasting not undone"),
    "bias keepdims": (lambda x, W, b, dy: (dy @ W.T, x.T @ dy, dy.sum(axis=0, keepdims=True)), "without the summed axis"),
    "bias wrong axis": (lambda x, W, b, dy: (dy @ W.T, x.T @ dy, dy.sum(axis=1)), "lie along the batch axis"),
    "bias mean": (lambda x, W, b, dy: (dy @ W.T, x.T @ dy, dy.mean(axis=0)), "SUM them, do not average"),
    "dW transposed": (lambda x, W, b, dy: (dy @ W.T, dy.T @ x, dy.sum(axis=0)), "shapes are swapped"),
    "dx transposed": (lambda x, W, b, dy: (W @ dy.T, x.T @ dy, dy.sum(axis=0)), "Which product of dy"),
    # found by a learner's walkthrough: each was told "use += instead of =" (a fan-out), which is not the mistake
    "dW averaged over the batch": (lambda x, W, b, dy: (dy @ W.T, x.T @ dy / len(x), dy.sum(axis=0)),
                                   "you averaged over the batch"),
    "db one row of dy": (lambda x, W, b, dy: (dy @ W.T, x.T @ dy, dy[0].copy()), "one row of dy"),
    "db without dy": (lambda x, W, b, dy: (dy @ W.T, x.T @ dy, np.ones_like(b)), "whatever dy holds"),
    # walkthrough 2: a list passed, then the notebook's next cell failed on db.shape
    "db a list": (lambda x, W, b, dy: (dy @ W.T, x.T @ dy, list(dy.sum(axis=0))), "Return NumPy arrays: db is a list"),
}


def test_linear_reference_passes():
    assert verdict("04.2", linear_ok)[0] == "pass"


@pytest.mark.parametrize("name", LINEAR_WRONG)
def test_linear_wrong_rejected(name):
    impl, expected_hint = LINEAR_WRONG[name]
    status, hint, _ = verdict("04.2", impl)
    assert status == "fail"
    assert expected_hint in hint


# ----------------------------------------------------------------------------- 04.3 unbroadcast

UNBROADCAST_WRONG = {
    "zeros": (lambda grad, shape: np.zeros(shape), "all zeros"),
    "leading axes only (tinygrad 2020)": (lambda grad, shape: grad.sum(axis=tuple(range(grad.ndim - len(shape)))),
                                          "have size 1 and were stretched"),
    "no keepdims": (lambda grad, shape: ref04.unbroadcast(grad, shape).reshape(
        [n for n in shape if n != 1]) if 1 in shape and grad.shape != shape else ref04.unbroadcast(grad, shape),
                    "the target keeps them, with size 1"),
    "mean instead of sum": (lambda grad, shape: ref04.unbroadcast(grad, shape) * np.prod(shape) / grad.size
                            if shape else grad.mean(), "SUM them, do not average"),
    "first copy": (lambda grad, shape: grad[(0,) * (grad.ndim - len(shape))][
        tuple(slice(0, 1) if s == 1 else slice(None) for s in shape)], "You kept one copy"),
    "sums trailing axes": (lambda grad, shape: grad.sum(axis=tuple(range(len(shape), grad.ndim))),
                           "the added axes are the leading ones"),
}


def test_unbroadcast_reference_passes():
    assert verdict("04.3", ref04.unbroadcast)[0] == "pass"


def test_the_engines_unbroadcast_agrees_with_the_check_but_is_refused_as_an_answer():
    import backprop_lab as bl
    ex = get("04.3")
    for case in ex.cases(np.random.default_rng(0)):
        assert ex.compare(bl.unbroadcast(case["grad"], tuple(case["shape"])), ex.expected(case), case) is None
    status, hint, _ = verdict("04.3", bl.unbroadcast)
    assert status == "fail" and hint == nb04.ENGINE.format(name="unbroadcast")


@pytest.mark.parametrize("name", UNBROADCAST_WRONG)
def test_unbroadcast_wrong_rejected(name):
    impl, expected_hint = UNBROADCAST_WRONG[name]
    status, hint, _ = verdict("04.3", impl)
    assert status == "fail"
    assert expected_hint in hint


# ----------------------------------------------------------------------------- 04.4 / 04.5 sum and mean backward

sum_ok, mean_ok = ref04.sum_backward, ref04.mean_backward


def broadcast_without_expand(g, x_shape, axis=None, keepdims=False):
    return np.broadcast_to(g, x_shape).copy()


SUM_WRONG = {
    "zeros": (lambda g, x_shape, axis=None, keepdims=False: np.zeros(x_shape), "all zeros"),
    "no expand_dims": (broadcast_without_expand, "copied along the wrong axis"),
    "returns g": (lambda g, x_shape, axis=None, keepdims=False: g, "must have x's shape"),
    "doubled": (lambda g, x_shape, axis=None, keepdims=False: 2 * sum_ok(g, x_shape, axis, keepdims), "2 times"),
}

MEAN_WRONG = {
    "zeros": (lambda g, x_shape, axis=None, keepdims=False: np.zeros(x_shape), "all zeros"),
    "forgot to divide": (sum_ok, "times too large"),
    "divides by x.size": (lambda g, x_shape, axis=None, keepdims=False: sum_ok(g, x_shape, axis, keepdims)
                          / np.prod(x_shape), "You divided by x.size"),
    "no expand_dims": (lambda g, x_shape, axis=None, keepdims=False: broadcast_without_expand(g, x_shape)
                       / (int(np.prod(x_shape)) if axis is None else
                          int(np.prod([x_shape[a] for a in np.atleast_1d(axis)]))), "copied along the wrong axis"),
    "floor division": (lambda g, x_shape, axis=None, keepdims=False: sum_ok(g, x_shape, axis, keepdims)
                       // (int(np.prod(x_shape)) if axis is None else
                           int(np.prod([x_shape[a] for a in np.atleast_1d(axis)]))), "floor division"),
}


def test_sum_backward_reference_passes():
    assert verdict("04.4", sum_ok)[0] == "pass"


def test_mean_backward_reference_passes():
    assert verdict("04.5", mean_ok)[0] == "pass"


@pytest.mark.parametrize("name", SUM_WRONG)
def test_sum_backward_wrong_rejected(name):
    impl, expected_hint = SUM_WRONG[name]
    status, hint, _ = verdict("04.4", impl)
    assert status == "fail"
    assert expected_hint in hint


@pytest.mark.parametrize("name", MEAN_WRONG)
def test_mean_backward_wrong_rejected(name):
    impl, expected_hint = MEAN_WRONG[name]
    status, hint, _ = verdict("04.5", impl)
    assert status == "fail"
    assert expected_hint in hint


def test_sum_backward_matches_engine():
    """The reference agrees with the engine's Sum rule on every case the check uses."""
    import backprop_lab as bl
    ex = get("04.4")
    for case in ex.cases(np.random.default_rng(1)):
        x = bl.Tensor(np.zeros(case["x_shape"]), requires_grad=True)
        x.sum(axis=case["axis"], keepdims=case["keepdims"]).backward(case["g"])
        np.testing.assert_allclose(x.grad, ex.expected(case))


# ----------------------------------------------------------------------------- 04.6 softmax backward

softmax_ok = ref04.softmax_backward


SOFTMAX_WRONG = {
    "zeros": (lambda s, g: np.zeros_like(s), "all zeros"),
    "diagonal only": (lambda s, g: s * (1 - s) * g, "only the diagonal"),
    "inner product over everything": (lambda s, g: s * (g - (g * s).sum()), "one number per row"),
    "missing factor s": (lambda s, g: g - (g * s).sum(axis=-1, keepdims=True), "A factor s is missing"),
    "plain sum of g": (lambda s, g: s * (g - g.sum(axis=-1, keepdims=True)), "not the plain sum"),
    "sign": (lambda s, g: -softmax_ok(s, g), "wrong sign"),
    "no keepdims": (lambda s, g: s * (g - (g * s).sum(axis=-1)), "could not be broadcast"),
    # walkthrough 2: an extra s was told "use += instead of =", and axis=1 (right for 2-D only) got no diagnosis
    "extra factor s": (lambda s, g: s * softmax_ok(s, g), "A factor s too many"),
    "axis 1 (2-D only)": (lambda s, g: s * (g - (g * s).sum(axis=min(1, s.ndim - 1), keepdims=True)),
                          "the last axis only when s is 2-D"),
    "a list": (lambda s, g: softmax_ok(s, g).tolist(), "Return a NumPy array: your answer is a list"),
    # walkthrough 3: s and g swapped gave all zeros on the first case and a hint about nodes and .grad
    "s and g swapped": (lambda s, g: g * (s - (g * s).sum(axis=-1, keepdims=True)), "s and g have swapped roles"),
}


def test_softmax_backward_reference_passes():
    assert verdict("04.6", softmax_ok)[0] == "pass"


def _softmax_jacobian_per_row(s, g):
    flat_s, flat_g = s.reshape(-1, s.shape[-1]), g.reshape(-1, s.shape[-1])
    rows = [(np.diag(si) - np.outer(si, si)).T @ gi for si, gi in zip(flat_s, flat_g)]
    return np.array(rows).reshape(s.shape)


def _softmax_jacobian_batched(s, g):
    eye = np.eye(s.shape[-1])
    jac = np.einsum("...i,ij->...ij", s, eye) - np.einsum("...i,...j->...ij", s, s)
    return np.einsum("...i,...ij->...j", g, jac)


def _softmax_outer_product(s, g):           # no diagonal matrix, but still an n x n array per row
    return s * g - np.einsum("...ij,...i->...j", s[..., :, None] * s[..., None, :], g)


def _softmax_jacobian_for_one_row(s, g):     # walkthrough 3: the Jacobian for 1-D inputs only passed
    if s.ndim == 1:
        return g @ (np.diag(s) - np.outer(s, s))
    return softmax_ok(s, g)


@pytest.mark.parametrize("impl", [_softmax_jacobian_per_row, _softmax_jacobian_batched, _softmax_outer_product,
                                  _softmax_jacobian_for_one_row])
def test_softmax_backward_building_the_jacobian_is_rejected(impl):
    """The exercise says "without building a Jacobian" (sections 2 and 8 of the notebook say why): right values from
    an n x n array per row are caught by the memory they take on a (2, 1000) case, and the hint says so."""
    status, hint, message = verdict("04.6", impl)
    assert status == "fail" and "n × n array for each row" in hint and "MB of memory" in message, hint


def test_softmax_backward_memory_case_leaves_the_vector_jacobian_product_alone():
    """The reference, and an answer that copies its inputs a few times, stay far under the memory threshold."""
    def with_copies(s, g):
        s, g = s.copy(), g.copy()
        inner = np.einsum("...i,...i->...", g, s)[..., None]
        return s * (g - inner)
    assert verdict("04.6", with_copies)[0] == "pass"
    assert verdict("04.6", softmax_ok)[0] == "pass"


@pytest.mark.parametrize("name", SOFTMAX_WRONG)
def test_softmax_backward_wrong_rejected(name):
    impl, expected_hint = SOFTMAX_WRONG[name]
    status, hint, _ = verdict("04.6", impl)
    assert status == ("error" if name == "no keepdims" else "fail")
    assert expected_hint in hint


def test_softmax_backward_matches_engine():
    import backprop_lab as bl
    ex = get("04.6")
    rng = np.random.default_rng(2)
    z = rng.normal(size=(3, 5))
    g = rng.normal(size=(3, 5))
    t = bl.Tensor(z, requires_grad=True)
    t.softmax(axis=-1).backward(g)
    np.testing.assert_allclose(t.grad, ex.expected({"s": nb04.softmax(z), "g": g}), atol=1e-12)


# ----------------------------------------------------------------------------- the generic diagnosis fires too

def test_generic_diagnose_names_transpose_and_unbroadcast_axis():
    rng = np.random.default_rng(0)
    W, x, dD = rng.normal(size=(5, 10)), rng.normal(size=(10, 3)), rng.normal(size=(5, 3))
    assert hints.diagnose(x @ dD.T, dD @ x.T) == hints.TRANSPOSE
    dy = rng.normal(size=(4, 2))
    assert "axis 0" in hints.diagnose(dy, dy.sum(axis=0))
    assert hints.diagnose(np.zeros((5, 10)), dD @ x.T) == hints.ZEROS
    assert hints.diagnose(-(dD @ x.T), dD @ x.T) == hints.SIGN


# ----------------------------------------------------------------------------- the shapes widget

def test_shapes_table_finds_the_only_product():
    from backprop_lab.widgets import shapes

    info = shapes.matmul_shapes((5, 10), (10, 3))
    assert info["D"] == (5, 3) and info["dW"] == (5, 10) and info["dx"] == (10, 3)
    assert [e for e, _, v in info["for_dW"] if v == "fits"] == ["dD @ x.T"]
    assert [e for e, _, v in info["for_dx"] if v == "fits"] == ["W.T @ dD"]
    assert "inner sizes 3 ≠ 10" in dict((e, v) for e, _, v in info["for_dW"])["dD @ x"]
    assert "<-- the only one" in shapes.as_text(info)


def test_shapes_table_impossible_and_ambiguous():
    from backprop_lab.widgets import shapes

    assert "impossible" in shapes.as_text(shapes.matmul_shapes((4, 3), (4, 4)))
    assert "8 products fit" in shapes.as_text(shapes.matmul_shapes((4, 4), (4, 4)))


def test_shapes_widget_updates():
    from backprop_lab.widgets import shapes

    w = shapes.shapes_widget()
    assert "dD @ x.T" in w.children[2].value
    w.children[0].children[1].value = 7  # W cols 7 != x rows 10
    assert "impossible" in w.children[2].value


# ----------------------------------------------------------------------------- learner slips found in review

def _sum_backward_always_expands(g, x_shape, axis=None, keepdims=False):
    if axis is None:
        axis = tuple(range(len(x_shape)))
    return np.broadcast_to(np.expand_dims(g, axis), x_shape)      # ignores keepdims


def _expand_descending(g, x_shape, axis, keepdims):
    if axis is None or keepdims:
        return g
    for a in sorted((a % len(x_shape) for a in np.atleast_1d(axis)), reverse=True):   # (0, 2): axis 2 first fails
        g = np.expand_dims(g, a)
    return g


def _mean_backward_one_axis(g, x_shape, axis=None, keepdims=False):
    return ref04.sum_backward(g, x_shape, axis, keepdims) / x_shape[axis]   # fails for None and tuples


REVIEW_ERRORS = {
    "04.1 no transposes": (lambda W, x, dD: (dD @ x, W @ dD), "Which product of dD and x"),
    "04.2 W not transposed": (lambda x, W, b, dy: (dy @ W, x.T @ dy, dy.sum(axis=0)), "whose inner sizes agree"),
    "04.3 reshape instead of sum": (lambda grad, shape: grad.reshape(shape), "ADDS the copies up"),
    "04.4 keepdims ignored": (_sum_backward_always_expands, "do not expand_dims it again"),
    "04.5 x_shape[axis]": (_mean_backward_one_axis, "the product of x_shape[a] over every reduced axis"),
    "04.6 np.dot on a batch": (lambda s, g: s * (g - np.dot(g, s)), "one number per row"),
    # NumPy's AxisError builds its message from its arguments: the hint travels beside it
    "04.4 expand_dims in decreasing order": (lambda g, x_shape, axis=None, keepdims=False: np.broadcast_to(
        _expand_descending(g, x_shape, axis, keepdims), x_shape), "np.expand_dims accepts the tuple"),
}


@pytest.mark.parametrize("name", sorted(REVIEW_ERRORS))
def test_review_errors_carry_a_hint_under_the_traceback(name):
    impl, fragment = REVIEW_ERRORS[name]
    status, text, _ = verdict(name.split()[0], impl)
    assert status == "error" and "Hint:" in text and fragment in text, text


def test_softmax_backward_summed_over_the_batch_axis():
    status, hint, _ = verdict("04.6", lambda s, g: s * (g - (g * s).sum(axis=0, keepdims=True)))
    assert status == "fail" and "LAST axis" in hint


# ----------------------------------------------------------------------------- traps added for issue 15

def _mean_over_g_size(g, x_shape, axis=None, keepdims=False):
    return ref04.sum_backward(g, x_shape, axis, keepdims) / np.size(g)


def test_mean_divided_by_g_size_is_named_not_called_a_fan_out():
    """Issue 15: dividing by g.size was told to "use += instead of =", which has nothing to do with it."""
    status, hint, _ = verdict("04.5", _mean_over_g_size)
    assert status == "fail" and "You divided by g.size" in hint and "+=" not in hint


def test_sum_backward_with_a_stray_factor_is_not_called_a_fan_out():
    status, hint, _ = verdict("04.4", lambda g, x_shape, axis=None, keepdims=False:
                              ref04.sum_backward(g, x_shape, axis, keepdims) / 3)
    assert status == "fail" and "no factor" in hint and "+=" not in hint


def _softmax_in_place(s, g):
    g -= (g * s).sum(axis=-1, keepdims=True)     # changes the caller's g
    g *= s
    return g


def _unbroadcast_float64(grad, shape):
    return ref04.unbroadcast(grad, shape).astype(np.float64)


def _sum_backward_float64(g, x_shape, axis=None, keepdims=False):
    return np.ones(x_shape) * ref04.sum_backward(g, x_shape, axis, keepdims)


@pytest.mark.parametrize("exercise_id, impl, fragment", [
    ("04.6", _softmax_in_place, "changed its input g in place"),
    ("04.1", lambda W, x, dD: (dD @ x.T, W.__itruediv__(1e9).T @ dD * 1e9), "changed its input W in place"),
    ("04.3", _unbroadcast_float64, "while the input was float32"),
    ("04.4", _sum_backward_float64, "while the input was float32"),
    # walkthrough 2: the natural n = np.prod(...) is an int64, and float32 / int64 is float64: the hint names it
    ("04.5", lambda g, x_shape, axis=None, keepdims=False:
        ref04.sum_backward(g, x_shape, axis, keepdims) / (np.prod(x_shape) // np.size(g)), "np.prod and np.size"),
])
def test_in_place_and_dtype_traps(exercise_id, impl, fragment):
    status, hint, _ = verdict(exercise_id, impl)
    assert status == "fail" and fragment in hint, hint


def test_engine_functions_keep_float32():
    """The float32 cases hold the engine to the same rule: unbroadcast (its agreement with every case of 04.3's
    check is tested above) and Sum keep the input's dtype."""
    import backprop_lab as bl
    assert bl.unbroadcast(np.ones((2, 3), dtype=np.float32), (3,)).dtype == np.float32
    g = np.ones(3, dtype=np.float32)
    x = bl.Tensor(np.zeros((3, 4), dtype=np.float32), requires_grad=True)
    x.sum(axis=1).backward(g)
    assert x.grad.dtype == np.float32


# ----------------------------------------------------------------------------- no answer before the check

CATALOGUES = {
    "04.1": [impl for impl, _ in MATMUL_WRONG.values()] + [REVIEW_ERRORS["04.1 no transposes"][0]],
    "04.2": [impl for impl, _ in LINEAR_WRONG.values()] + [REVIEW_ERRORS["04.2 W not transposed"][0]],
    "04.3": [impl for impl, _ in UNBROADCAST_WRONG.values()] + [REVIEW_ERRORS["04.3 reshape instead of sum"][0],
                                                               _unbroadcast_float64],
    "04.4": [impl for impl, _ in SUM_WRONG.values()] + [REVIEW_ERRORS["04.4 keepdims ignored"][0],
                                                       REVIEW_ERRORS["04.4 expand_dims in decreasing order"][0],
                                                       _sum_backward_float64],
    "04.5": [impl for impl, _ in MEAN_WRONG.values()] + [REVIEW_ERRORS["04.5 x_shape[axis]"][0], _mean_over_g_size],
    "04.6": [impl for impl, _ in SOFTMAX_WRONG.values()] + [REVIEW_ERRORS["04.6 np.dot on a batch"][0],
                                                           _softmax_in_place, _softmax_jacobian_batched],
}


def test_no_hint_gives_the_answer():
    """Every known-wrong answer gets a hint, and none of them, built from its case, holds a key expression."""
    from answer_scan import hint_leaks
    from test_answers_hidden_nb04 import KEY_EXPRESSIONS

    assert [f for xid, wrong in CATALOGUES.items() for f in hint_leaks(xid, wrong, KEY_EXPRESSIONS[xid])] == []


def _sum_backward_negative_axis_one_too_far(g, x_shape, axis=None, keepdims=False):
    if isinstance(axis, int) and axis < 0 and not keepdims:
        axis += len(x_shape) + 1                 # should be + len(x_shape)
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, x_shape).copy()


def test_sum_backward_negative_axis_without_keepdims_is_checked():
    """Walkthrough 2: a negative axis made positive one place too far passed: no case had a negative axis that g
    had lost (axis < 0 with keepdims=False)."""
    status, hint, _ = verdict("04.4", _sum_backward_negative_axis_one_too_far)
    assert status == "error" and "negative: counted from the end" in hint, hint


def _linear_backward_by_the_engine(W, x, dD):
    import backprop_lab as bl
    W_t, x_t = bl.Tensor(W, requires_grad=True), bl.Tensor(x, requires_grad=True)
    (W_t @ x_t).backward(dD)
    return W_t.grad, x_t.grad


@pytest.mark.parametrize("exercise, impl, name", [
    ("04.1", _linear_backward_by_the_engine, "Tensor.backward"),
    ("04.3", lambda grad, shape: __import__("backprop_lab").unbroadcast(grad, shape), "unbroadcast"),
])
def test_handing_the_work_to_the_engine_is_refused(exercise, impl, name):
    status, hint, _ = verdict(exercise, impl)
    assert status == "fail" and hint == nb04.ENGINE.format(name=name)
