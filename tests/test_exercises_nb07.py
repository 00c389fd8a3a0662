"""Notebook 07's checks accept the reference and reject a catalogue of known-wrong implementations,
each with the hint that names its mistake; plus the optimizer-paths widget's data functions."""
import numpy as np
import pytest

import backprop_lab as bl
from backprop_lab.exercises import check
from backprop_lab.references import nb07 as reference


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    """check() returns its result instead of raising, so the tests can read the status and the hint."""
    monkeypatch.setenv("BACKPROP_LAB_STRICT", "0")


def verdict(exercise_id, obj):
    result = check(exercise_id, obj, record=False)
    problem = result.first_problem
    if problem is None:
        return result.status, ""
    if problem.mismatch is None:
        return result.status, problem.error
    return result.status, problem.mismatch.hint


def assert_rejected(exercise_id, impl, expected_hint):
    status, hint = verdict(exercise_id, impl)
    assert status == "fail", (status, hint)
    assert expected_hint in hint


# ----------------------------------------------------------------------------- 07.1 LinearFn

def make_linear(forward=lambda x, W, b: x @ W + b, backward=lambda x, W, g: (g @ W.T, x.T @ g, g), on_class=False):
    class LinearFn(bl.Function):
        @staticmethod
        def forward(ctx, x, W, b):
            if on_class:
                LinearFn.saved = (x, W)
            ctx.save_for_backward(x, W)
            return forward(x, W, b)

        @staticmethod
        def backward(ctx, g):
            x, W = LinearFn.saved if on_class else ctx.saved
            return backward(x, W, g)
    return LinearFn


def _g_halved_in_place(x, W, g):
    dx, dW, db = g @ W.T, x.T @ g, g.sum(axis=0)
    g *= 0.5                  # right gradients, but the output's .grad, which the engine keeps, is changed
    return dx, dW, db


def _w_updated_in_backward(x, W, g):
    dx, dW, db = g @ W.T, x.T @ g, g.sum(axis=0)
    W -= 0.1 * dW             # right gradients, but the layer's weights (forward saved them) are changed
    return dx, dW, db


LINEAR_WRONG = {
    "zeros": (make_linear(backward=lambda x, W, g: (np.zeros_like(x), np.zeros_like(W), np.zeros(W.shape[1]))),
              "all zeros"),
    "no bias in forward": (make_linear(forward=lambda x, W, b: x @ W), "lacks the bias"),
    "dW transposed": (make_linear(backward=lambda x, W, g: (g @ W.T, g.T @ x, g)), "W transposed"),
    "db averaged": (make_linear(backward=lambda x, W, g: (g @ W.T, x.T @ g, g.mean(axis=0))), "SUM of the rows'"),
    "db over features": (make_linear(backward=lambda x, W, g: (g @ W.T, x.T @ g, g.sum(axis=1))),
                         "reduced over the features"),
    "dx without transpose": (make_linear(backward=lambda x, W, g: (g @ W if W.shape[0] == W.shape[1] else g @ W.T,
                                                                   x.T @ g, g)), "must have x's shape"),
    "two gradients only": (make_linear(backward=lambda x, W, g: (g @ W.T, x.T @ g)), "must return three gradients"),
    # walkthrough walk3-b: (db, dW, dx) was told about reduction axes and keepdims
    "gradients in reverse order": (make_linear(backward=lambda x, W, g: (g.sum(axis=0), x.T @ g, g @ W.T)),
                                   "in another order"),
    "state on the class": (make_linear(on_class=True), "keep what backward needs on the ctx"),
    "an instance": (reference.LinearFn(), "Give the class itself"),
    # found by the walkthrough of branch walk-c: these passed, or got a hint about another mistake
    "dW averaged over the batch": (make_linear(backward=lambda x, W, g: (g @ W.T, x.T @ g / len(x), g)),
                                   "divided by the batch size"),
    "(dW, dx, db)": (make_linear(backward=lambda x, W, g: (x.T @ g, g @ W.T, g)), "in another order"),
    "float32 forward": (make_linear(forward=lambda x, W, b: (x @ W + b).astype(np.float32)), "float32 for float64"),
    "forward built from Tensors": (make_linear(forward=lambda x, W, b: bl.Tensor(x) @ bl.Tensor(W) + bl.Tensor(b)),
                                   "plain NumPy arrays"),
    "y written into x's memory": (make_linear(forward=lambda x, W, b: np.add(x @ W, b, out=x)),   # case 1: in = out
                                  "forward changed the input x in place"),
    "backward halves g in place": (make_linear(backward=lambda x, W, g: _g_halved_in_place(x, W, g)),
                                   "upstream gradient g in place"),
    # walkthrough walk2-b: the first passed, the second was told "`+=` instead of `=`"
    "backward updates the saved W": (make_linear(backward=_w_updated_in_backward), "backward changed the input W"),
    "db from the first row only": (make_linear(backward=lambda x, W, g: (g @ W.T, x.T @ g, g[0])), "ONE row"),
}


def test_linear_matmul_error_gets_a_hint_without_the_answer():
    # W.T missing in dx: right on the first case (a square W), a shape error on the next one
    status, text = verdict("07.1", make_linear(backward=lambda x, W, g: (g @ W.T if W.shape[0] == W.shape[1] else g @ W,
                                                                        x.T @ g, g)))
    assert status == "error" and "Traceback" in text and "a transpose is missing or extra" in text
    assert "W.T" not in text.split("Hint:")[1]


class _LinearSavesNothing(bl.Function):
    @staticmethod
    def forward(ctx, x, W, b):
        return x @ W + b

    @staticmethod
    def backward(ctx, g):
        x, W = ctx.saved
        return g @ W.T, x.T @ g, g


def test_linear_unpacking_an_empty_ctx_saved_gets_a_hint():
    status, text = verdict("07.1", _LinearSavesNothing)
    assert status == "error" and "values to unpack" in text and "saved nothing on its context" in text


def test_linear_reference_passes():
    assert verdict("07.1", reference.LinearFn) == ("pass", "")


def test_linear_with_summed_bias_gradient_passes_too():
    """Returning db already summed over the batch is as right as leaving the sum to the driver."""
    assert verdict("07.1", make_linear(backward=lambda x, W, g: (g @ W.T, x.T @ g, g.sum(axis=0)))) == ("pass", "")


@pytest.mark.parametrize("name", LINEAR_WRONG)
def test_linear_wrong_rejected(name):
    assert_rejected("07.1", *LINEAR_WRONG[name])


# ----------------------------------------------------------------------------- 07.2 MSE

MSE_WRONG = {
    "zeros": (lambda p, t: (0.0, np.zeros_like(p)), "Your loss is 0"),   # caught at the loss, before the gradient
    "sum instead of mean": (lambda p, t: (float(np.sum((p - t) ** 2)), 2 * (p - t)), "times too big"),
    "divided by rows": (lambda p, t: (float(np.sum((p - t) ** 2)) / len(p), 2 * (p - t) / len(p)),
                        "You divided by 2, the length of one axis"),      # case 1 is 2 x 2
    "gradient without the 2": (lambda p, t: (float(np.mean((p - t) ** 2)), (p - t) / p.size), "factor 2"),
    "gradient sign": (lambda p, t: (float(np.mean((p - t) ** 2)), 2 * (t - p) / p.size), "wrong sign"),
    "gradient summed": (lambda p, t: (float(np.mean((p - t) ** 2)), 2 * (p - t)), "gradient is exactly"),
    "no square": (lambda p, t: (float(np.mean(p - t)), np.ones_like(p) / p.size), "square each difference"),
    "loss per entry": (lambda p, t: ((p - t) ** 2, 2 * (p - t) / p.size), "one number"),
    "gradient only": (lambda p, t: 2 * (p - t) / p.size, "Return 2 values"),
    "(gradient, loss)": (lambda p, t: (2 * (p - t) / p.size, float(np.mean((p - t) ** 2))), "the order is (loss, gradient)"),
    # walkthrough walk-c: a right loss with a gradient lacking 1/n was told "You summed the squared errors"
    "loss right, gradient without 1/n": (lambda p, t: (float(np.mean((p - t) ** 2)), 2 * (p - t)),
                                         "Your loss is right, but your gradient"),
}


def _mse_in_place(p, t):
    p -= t                                      # right numbers, but the caller's pred is changed
    return float(np.mean(p ** 2)), 2 * p / p.size


MSE_WRONG.update({
    # walkthrough walk2-b: the first was told "`+=` instead of `=`", the next two got no hint
    "gradient divided by n twice": (lambda p, t: (float(np.mean((p - t) ** 2)), 2 * (p - t) / p.size / p.size),
                                    "divided by n = 4 twice"),
    "half the mean (L/2, gradient r/n)": (lambda p, t: (float(np.mean((p - t) ** 2)) / 2, (p - t) / p.size),
                                         "no factor 1/2"),
    "root of the mean (RMSE)": (lambda p, t: (float(np.sqrt(np.mean((p - t) ** 2))), 2 * (p - t) / p.size), "RMSE"),
    "gradient divided by the columns": (lambda p, t: (float(np.mean((p - t) ** 2)), 2 * (p - t) / p.shape[-1]),
                                        "the length of one axis"),
    "pred changed in place": (_mse_in_place, "changed its argument pred in place"),
    "loss as a Tensor": (lambda p, t: (bl.Tensor(np.mean((p - t) ** 2)), 2 * (p - t) / p.size), "plain number (a float)"),
    # walkthrough walk2-b: the engine's loss passed ("on plain NumPy arrays")
    "the engine's mse_loss": (lambda p, t: (bl.nn.mse_loss(bl.Tensor(p), t).item(), 2 * (p - t) / p.size),
                              "computed the loss with the engine"),
    "gradient as a Tensor": (lambda p, t: (float(np.mean((p - t) ** 2)), bl.Tensor(2 * (p - t) / p.size)),
                             "NumPy array"),
})


def test_mse_reference_passes():
    assert verdict("07.2", reference.mse_forward_backward) == ("pass", "")


def test_mse_zeros_gradient_rejected_with_zeros_hint():
    status, hint = verdict("07.2", lambda p, t: (float(np.mean((p - t) ** 2)), np.zeros_like(p)))
    assert status == "fail" and "all zeros" in hint


@pytest.mark.parametrize("name", MSE_WRONG)
def test_mse_wrong_rejected(name):
    impl, expected = MSE_WRONG[name]
    status, _ = verdict("07.2", impl)
    assert status == "fail"
    result = check("07.2", impl, record=False)
    text = result.first_problem.mismatch.hint + " " + result.first_problem.mismatch.message
    assert expected in text


# ----------------------------------------------------------------------------- 07.3 cross-entropy

def naive_ce(z, y):
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return float(-np.log(p[np.arange(len(y)), y]).mean())


def global_shift_ce(z, y):
    s = z - z.max()
    return float((np.log(np.exp(s).sum(axis=1)) - s[np.arange(len(y)), y]).mean())


def rows_ce(z, y):
    s = z - z.max(axis=1, keepdims=True)
    return np.log(np.exp(s).sum(axis=1)) - s[np.arange(len(y)), y]


CE_WRONG = {
    "zeros": (lambda z, y: 0.0, "hard-coded"),   # a constant 0 for every batch
    "naive softmax (overflow)": (naive_ce, "overflowed"),
    "one max for the whole batch": (global_shift_ce, "for EACH ROW"),
    "sum over the batch": (lambda z, y: float(rows_ce(z, y).sum()), "MEAN over the batch"),
    "per-example losses": (rows_ce, "one loss per example"),
    "label logit unshifted": (lambda z, y: float((np.log(np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1))
                                                  - z[np.arange(len(y)), y]).mean()), "both parts get the same"),
    "z[:, labels]": (lambda z, y: float((z.max(axis=1)[:, None] + np.log(np.exp(z - z.max(axis=1, keepdims=True))
                                                                          .sum(axis=1))[:, None] - z[:, y]).mean()),
                     "ONE logit per example"),
    "sign": (lambda z, y: -float(rows_ce(z, y).mean()), "wrong sign"),
    "normalised over the whole batch": (lambda z, y: float(np.mean(np.log(np.exp(z - z.max(axis=1, keepdims=True)).sum())
                                                       - (z - z.max(axis=1, keepdims=True))[np.arange(len(y)), y])),
                                        "whole batch"),
}


def _ce_shifting_in_place(z, y):
    z -= z.max(axis=1, keepdims=True)          # right value, but the caller's logits are changed
    return float((np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]).mean())


def _ce_column_shift(z, y):
    s = z - z.max(axis=0, keepdims=True)       # one shift per column, not per row
    return float((np.log(np.exp(s).sum(axis=1)) - s[np.arange(len(y)), y]).mean())


def _ce_mean_of_onehot_product(z, y):
    s = z - z.max(axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    return float(-np.mean(np.eye(z.shape[1])[y] * log_p))     # the mean over all N * C entries


def _ce_max_without_keepdims(z, y):
    s = z - z.max(axis=1)                      # (N, C) - (N,): an error, or (N = C) the wrong shift
    return float((np.log(np.exp(s).sum(axis=1)) - s[np.arange(len(y)), y]).mean())


CE_WRONG.update({
    # walkthrough walk-c: the first two got no hint, the third a hint about gradients' shapes
    "shift by the column maxima": (_ce_column_shift, "each COLUMN"),
    "mean over every entry": (_ce_mean_of_onehot_product, "all N * C"),
    "logits changed in place": (_ce_shifting_in_place, "changed its argument logits in place"),
    "a Tensor, not a float": (lambda z, y: bl.Tensor(rows_ce(z, y).mean()), "plain number (a float)"),
    # walkthrough walk2-b: the engine's loss passed ("NumPy only")
    "the engine's cross_entropy": (lambda z, y: bl.nn.cross_entropy(bl.Tensor(z), y).item(),
                                   "computed the loss with the engine"),
    "the engine's log_softmax": (lambda z, y: -float(bl.Tensor(z).log_softmax(axis=1).data[np.arange(len(y)), y]
                                                     .mean()), "computed the loss with the engine"),
    "a 0-d array, not a float": (lambda z, y: rows_ce(z, y).mean(keepdims=True).reshape(()), "plain number"),
    # walkthrough walk2-b: clipping the probability before the log got no hint
    "probability clipped at 1e-12": (lambda z, y: float(np.mean(np.minimum(rows_ce(z, y), -np.log(1e-12)))),
                                     "looks clipped"),
    "1e-9 added to the probability": (lambda z, y: float(np.mean(-np.log(np.exp(-rows_ce(z, y)) + 1e-9))),
                                      "looks clipped"),
    # walkthrough walk3-b: clipping the logits got no hint at all
    "logits clipped at 500": (lambda z, y: rows_ce(np.clip(z, -500.0, 500.0), y).mean().item(), "A clip of the logits"),
    "logits clipped at 80": (lambda z, y: rows_ce(np.clip(z, -80.0, 80.0), y).mean().item(), "A clip of the logits"),
})


def test_ce_reduction_without_keepdims_gets_the_keepdims_hint():
    """Walkthrough walk-c: the broadcasting error was told that "a gradient always has the shape ..." (no gradient
    here); a case with N = C makes the same mistake a wrong value instead of an error, with the same hint."""
    status, text = verdict("07.3", _ce_max_without_keepdims)
    assert status == "error" and "Traceback" in text and "keepdims=True" in text and "gradient" not in text
    from backprop_lab.exercises import get

    ex = get("07.3")
    square = next(c for c in ex.cases(np.random.default_rng(0)) if c["logits"].shape[0] == c["logits"].shape[1])
    mismatch = ex.compare(ex.run(_ce_max_without_keepdims, square), ex.expected(square), square)
    assert mismatch is not None and "keepdims=True" in mismatch.hint


def test_ce_reference_passes():
    assert verdict("07.3", reference.cross_entropy) == ("pass", "")


def test_ce_check_agrees_with_the_engine():
    """The check's expected losses are the engine's (which the learner may not call: see CE_WRONG)."""
    from backprop_lab.exercises import get

    ex = get("07.3")
    for case in ex.cases(np.random.default_rng(0)):
        assert np.isclose(ex.expected(case), bl.nn.cross_entropy(bl.Tensor(case["logits"]), case["labels"]).item())


def test_ce_cases_include_logits_of_size_1e4():
    from backprop_lab.exercises import get

    cases = get("07.3").cases(np.random.default_rng(0))
    assert max(float(np.abs(c["logits"]).max()) for c in cases) >= 1e4


@pytest.mark.parametrize("name", CE_WRONG)
def test_ce_wrong_rejected(name):
    impl, expected = CE_WRONG[name]
    result = check("07.3", impl, record=False)
    assert result.status == "fail"
    problem = result.first_problem.mismatch
    assert expected in problem.hint + " " + problem.message


def test_ce_a_tensor_of_the_right_loss_is_told_only_the_type():
    """A Tensor holding the right loss (computed in NumPy) is told to return a float, nothing else."""
    status, hint = verdict("07.3", lambda z, y: bl.Tensor(rows_ce(z, y).mean()))
    assert status == "fail" and "plain number" in hint and "engine" not in hint


# ----------------------------------------------------------------------------- 07.4 momentum

MOMENTUM_WRONG = {
    "zeros": (lambda p, g, v, lr, mu: (np.zeros_like(p), np.zeros_like(v)), "You returned zeros"),
    "sign flipped": (lambda p, g, v, lr, mu: (p + lr * (mu * v + g), mu * v + g), "goes UP the gradient"),
    "no momentum": (lambda p, g, v, lr, mu: (p - lr * g, g), "ignores the old velocity"),
    "old velocity": (lambda p, g, v, lr, mu: (p - lr * v, mu * v + g), "OLD velocity"),
    "dampened": (lambda p, g, v, lr, mu: (p - lr * (mu * v + (1 - mu) * g), mu * v + (1 - mu) * g), "an average"),
    "other convention": (lambda p, g, v, lr, mu: (p + (mu * v - lr * g), mu * v - lr * g), "other convention"),
    "lr twice": (lambda p, g, v, lr, mu: (p - lr * (mu * v + lr * g), mu * v + lr * g), "applied twice"),
    "order": (lambda p, g, v, lr, mu: (mu * v + g, p - lr * (mu * v + g)), "(p_new, v_new)"),
}


def _momentum_in_place(p, g, v, lr, mu):
    v *= mu                                     # right numbers, but the caller's v and p are changed
    v += g
    p -= lr * v
    return p, v


MOMENTUM_WRONG["updates in place"] = (_momentum_in_place, "changed its argument p and v in place")
# walkthrough walk-c: these three got the generic "compare one term at a time"
MOMENTUM_WRONG["lr inside v, p - v"] = (lambda p, g, v, lr, mu: (p - (mu * v + lr * g), mu * v + lr * g),
                                        "other convention")
MOMENTUM_WRONG["p moved by g, not v"] = (lambda p, g, v, lr, mu: (p - lr * g, mu * v + g), "gradient alone")
MOMENTUM_WRONG["Nesterov"] = (lambda p, g, v, lr, mu: (p - lr * (g + mu * (mu * v + g)), mu * v + g), "Nesterov")
MOMENTUM_WRONG["momentum on the gradient"] = (lambda p, g, v, lr, mu: (p - lr * (v + mu * g), v + mu * g),
                                              "one term at a time")
MOMENTUM_WRONG["float64 scalar"] = (lambda p, g, v, lr, mu: (p - np.float64(lr) * (mu * v + g), mu * v + g),
                                    "NumPy float64 SCALAR")
MOMENTUM_WRONG["lists"] = (lambda p, g, v, lr, mu: ((p - lr * (mu * v + g)).tolist(), (mu * v + g).tolist()),
                           "returns NumPy arrays")


def test_momentum_reference_passes():
    assert verdict("07.4", reference.momentum_step) == ("pass", "")


@pytest.mark.parametrize("name", MOMENTUM_WRONG)
def test_momentum_wrong_rejected(name):
    assert_rejected("07.4", *MOMENTUM_WRONG[name])


def test_momentum_matches_engine_sgd():
    p = bl.Tensor(np.array([1.0, -1.0]), requires_grad=True)
    opt = bl.optim.SGD([p], lr=0.1, momentum=0.9)
    mine, v = p.data.copy(), np.zeros(2)
    for k in range(4):
        g = np.array([0.5, -0.25]) * (k + 1)
        p.grad = g.copy()
        opt.step()
        mine, v = reference.momentum_step(mine, g, v, 0.1, 0.9)
    assert np.allclose(p.data, mine)


# ----------------------------------------------------------------------------- 07.5 Adam

def adam_variant(correction=True, t_shift=0, eps_inside=False, sqrt=True, square=True, swap=False, sign=1,
                 corrected_state=False):
    def step(p, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        gg = g * g if square else g
        if swap:
            m, v = beta1 * g + (1 - beta1) * m, beta2 * gg + (1 - beta2) * v
        else:
            m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * gg
        tt = t + t_shift
        mh, vh = (m / (1 - beta1 ** tt), v / (1 - beta2 ** tt)) if correction else (m, v)
        with np.errstate(invalid="ignore"):  # sqrt of a negative "v" in the g-not-squared variant
            denom = np.sqrt(vh + eps) if eps_inside else ((np.sqrt(vh) if sqrt else vh) + eps)
        p = p - sign * lr * mh / denom
        return (p, mh, vh) if corrected_state else (p, m, v)
    return step


ADAM_WRONG = {
    "zeros": (lambda p, g, m, v, t, **kw: (np.zeros_like(p), np.zeros_like(m), np.zeros_like(v)), "You returned zeros"),
    "no bias correction": (adam_variant(correction=False), "No bias correction"),
    "t + 1 in the correction": (adam_variant(t_shift=1), "wrong step number"),
    "eps inside the root": (adam_variant(eps_inside=True), "OUTSIDE the square root"),
    "no square root": (adam_variant(sqrt=False), "square ROOT"),
    "v of g, not g squared": (adam_variant(square=False), "SQUARED gradient"),
    "betas swapped": (adam_variant(swap=True), "swapped"),
    "sign": (adam_variant(sign=-1), "goes UP the gradient"),
    "corrected moments returned": (adam_variant(corrected_state=True), "raw moments"),
}


def _adam_in_place(p, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    m *= beta1                                  # right numbers, but the caller's m and v are changed
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
    return p - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps), m, v


ADAM_WRONG["moments updated in place"] = (_adam_in_place, "changed its argument m and v in place")


def _adam_np_power(p, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat, v_hat = m / (1 - np.power(beta1, t)), v / (1 - np.power(beta2, t))   # np.float64 scalars
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _adam_one_beta(p, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return p - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta1 ** t)) + eps), m, v   # beta1 in v's correction


def _adam_m_corrected_only(p, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return p - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v) + eps), m, v


ADAM_WRONG["beta1 in v's correction"] = (_adam_one_beta, "ITS OWN beta")      # walkthrough walk-c: were generic
ADAM_WRONG["only m corrected"] = (_adam_m_corrected_only, "Only m is bias-corrected")


def _adam_power_of_the_difference(p, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g
    return p - lr * (m / (1 - beta1) ** t) / (np.sqrt(v / (1 - beta2) ** t) + eps), m, v


def _adam_betas_written_in(p, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    return reference.adam_step(p, g, m, v, t, lr=lr, eps=eps)     # beta1 and beta2 left at their defaults


ADAM_WRONG["(1 - beta)**t"] = (_adam_power_of_the_difference, "(1 - beta)**t")      # walkthrough walk2-b: generic
ADAM_WRONG["betas written in"] = (_adam_betas_written_in, "not the numbers of their defaults")
def _adam_t_minus_one(*args, **kwargs):
    with np.errstate(divide="ignore", invalid="ignore"):        # 1 - beta**0 = 0 on the first step
        return adam_variant(t_shift=-1)(*args, **kwargs)


ADAM_WRONG["t - 1 (division by zero at t = 1)"] = (_adam_t_minus_one, "wrong step number")
ADAM_WRONG["np.power's float64 scalars"] = (_adam_np_power, "NumPy float64 SCALAR")
ADAM_WRONG["Tensors"] = (lambda p, g, m, v, t, **kw: tuple(bl.Tensor(a) for a in reference.adam_step(p, g, m, v, t, **kw)),
                         "returns NumPy arrays")



def _adam_eps_added_to_the_step(p, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g
    return p - lr * (m / (1 - beta1 ** t)) / np.sqrt(v / (1 - beta2 ** t)) + eps, m, v


def _adam_eps_hat(p, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g
    return p - lr * (1 - beta2 ** t) ** 0.5 / (1 - beta1 ** t) * m / (np.sqrt(v) + eps), m, v


# walkthrough walk3-b: both got the generic "compare with Algorithm 1" hint
ADAM_WRONG["eps added to the step"] = (_adam_eps_added_to_the_step, "instead of the denominator")
ADAM_WRONG["the paper's epsilon-hat rearrangement"] = (_adam_eps_hat, "faster rearrangement")


def test_adam_says_first_which_returned_moment_differs():
    """Walkthrough walk-c: with v_new wrong, "What differs" showed p_new while the hint said to look at the moments
    first; and a moment of 4e-5 was shown as 0."""
    def v_of_abs_g(p, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        return adam_variant()(p, np.abs(g), m, v, t, lr, beta1, beta2, eps)[0], beta1 * m + (1 - beta1) * g, \
            beta2 * v + (1 - beta2) * np.abs(g)
    result = check("07.5", v_of_abs_g, record=False)
    message = result.first_problem.mismatch.message
    assert result.status == "fail" and message.startswith("v_new")
    assert "4.0e-05" in message         # the expected v of the gradient 0.2, not "0."


def test_adam_reference_passes():
    assert verdict("07.5", reference.adam_step) == ("pass", "")


@pytest.mark.parametrize("name", ADAM_WRONG)
def test_adam_wrong_rejected(name):
    assert_rejected("07.5", *ADAM_WRONG[name])


def test_adam_matches_engine_adam():
    p = bl.Tensor(np.array([1.0, -1.0, 0.3]), requires_grad=True)
    opt = bl.optim.Adam([p], lr=0.01)
    mine, m, v = p.data.copy(), np.zeros(3), np.zeros(3)
    for t in range(1, 6):
        g = np.array([0.5, -0.25, 2.0]) / t
        p.grad = g.copy()
        opt.step()
        mine, m, v = reference.adam_step(mine, g, m, v, t, lr=0.01)
    assert np.allclose(p.data, mine)


# ----------------------------------------------------------------------------- the optimizer-paths widget

def test_optimizer_paths_descend_and_differ():
    from backprop_lab.widgets import optimizer_paths as op

    for surface in op.SURFACES:
        start = op.SURFACES[surface]["start"]
        f = op.SURFACES[surface]["numpy"]
        paths = {name: op.optimizer_path(surface, name, op.DEFAULT_LR[surface][name], steps=100)
                 for name in op.OPTIMIZERS}
        for name, path in paths.items():
            assert path.shape == (101, 2)
            assert np.allclose(path[0], start)
            assert f(*path[-1]) < f(*start), (surface, name)
        assert not np.allclose(paths["SGD"], paths["Adam"])


def test_optimizer_path_gradient_matches_formula():
    """The engine's gradient of each surface agrees with central differences of its NumPy formula."""
    from backprop_lab.widgets import optimizer_paths as op

    for surface, spec in op.SURFACES.items():
        xy = np.array([0.3, -0.7])
        assert bl.gradcheck(lambda t: spec["tensor"](t), xy), surface


def test_optimizer_paths_reject_unknown_names():
    from backprop_lab.widgets import optimizer_paths as op

    with pytest.raises(ValueError, match="surface"):
        op.optimizer_path("nope", "SGD", 0.1)
    with pytest.raises(ValueError, match="optimizer"):
        op.optimizer_path("valley", "RMSprop", 0.1)


def test_optimizer_paths_widget_redraws_once_per_choice(monkeypatch):
    """Choosing a surface or optimizer resets the learning rate to its default and draws once, not twice."""
    import IPython.display
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from backprop_lab.widgets import optimizer_paths as op

    shown, calls = [], []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    real_path = op.optimizer_path
    monkeypatch.setattr(op, "optimizer_path", lambda *a, **k: calls.append(a[:3]) or real_path(*a, **k))
    monkeypatch.setattr(plt, "show", lambda *a, **k: plt.close("all"))
    op.optimizer_paths_widget(steps=20)
    (box,) = shown
    (surface, optimizer), (lr, _steps) = box.children[0].children, box.children[1].children
    assert len(calls) == 3 and lr.value == op.DEFAULT_LR["valley"]["Momentum"]
    calls.clear()
    surface.value = "rosenbrock"
    assert len(calls) == 3                                       # one draw: the chosen optimizer and the two others
    assert lr.value == pytest.approx(op.DEFAULT_LR["rosenbrock"]["Momentum"])
    assert calls[0] == ("rosenbrock", "Momentum", lr.value)
    calls.clear()
    optimizer.value = "Adam"
    assert len(calls) == 3 and calls[0][:2] == ("rosenbrock", "Adam")
    calls.clear()
    lr.value = 0.05
    assert len(calls) == 3 and calls[0] == ("rosenbrock", "Adam", pytest.approx(0.05, rel=0.13))


# ----------------------------------------------------------------------------- 07.6 capstone: the whole backward pass

def make_two_layer(loss_sum=False, naive=False, p_in_place=False, loss_type=None, logits=None, W2=None, b2=None,
                   h=None, z1=None, W1=None, b1=None, X=None, keys=None, as_tensors=False, mutate=False,
                   use_engine=False, structure=False):
    """A hand-written backward pass with the named mistakes (each switch names one; None: done right)."""
    def backward(Xa, labels, W1a, b1a, W2a, b2a):
        n, c = len(labels), W2a.shape[1]
        if use_engine:
            t = bl.Tensor(W2a, requires_grad=True)
            (bl.Tensor(Xa) @ bl.Tensor(W1a)).tanh().__matmul__(t).sum().backward()
        z1a = Xa @ W1a + b1a
        ha = np.tanh(z1a)
        lg = ha @ W2a + b2a
        onehot = np.eye(c)[labels]
        if naive:
            p = np.exp(lg) / np.exp(lg).sum(axis=1, keepdims=True)
        else:
            p = np.exp(lg - lg.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
        d = p                                    # p_in_place: the gradient IS p, changed before the loss
        if p_in_place:
            d[np.arange(n), labels] -= 1
            d /= n
        with np.errstate(all="ignore"):
            losses = -np.log(np.maximum(p[np.arange(n), labels], 1e-12) if loss_type == "clipped"
                             else p[np.arange(n), labels])
        loss = float(losses.sum() if loss_sum else losses.mean())
        if loss_type == "tensor":
            loss = bl.Tensor(loss)
        dlog = {None: (p - onehot) / n if not p_in_place else d, "no mean": p - onehot, "entries": (p - onehot) / (n * c),
                "no onehot": p / n, "sign": (onehot - p) / n}[logits]
        dW2 = {None: ha.T @ dlog, "transposed": dlog.T @ ha, "z1": z1a.T @ dlog, "twice": ha.T @ dlog / n}[W2]
        db2 = {None: dlog.sum(axis=0), "rows": dlog, "mean": dlog.mean(axis=0), "axis 1": dlog.sum(axis=1)}[b2]
        dh = dlog @ W2a.T
        if h == "with tanh'":
            dh = dh * (1 - ha ** 2)
        dz1 = {None: dh * (1 - ha ** 2), "from z1": dh * (1 - z1a ** 2), "no square": dh * (1 - ha),
               "square outside": dh * (1 - ha) ** 2,
               "sigmoid": dh * ha * (1 - ha), "tanh twice": dh * (1 - np.tanh(ha) ** 2), "local only": 1 - ha ** 2,
               "skipped": dh}[z1]
        dW1 = {None: Xa.T @ dz1, "transposed": dz1.T @ Xa, "from dh": Xa.T @ dh}[W1]
        db1 = {None: dz1.sum(axis=0), "from dh": dh.sum(axis=0), "rows": dz1}[b1]
        dX = {None: lambda: dz1 @ W1a.T, "from dh": lambda: dh @ W1a.T, "no transpose": lambda: dz1 @ W1a}[X]()
        if mutate:
            W1a -= 0.1 * dW1                     # an "update" that changes the caller's weights
        grads = {"logits": dlog, "W2": dW2, "b2": db2, "h": dh, "z1": dz1, "W1": dW1, "b1": db1, "X": dX}
        if keys is not None:
            grads = {k: grads[k] for k in keys}
        if as_tensors:
            grads = {k: bl.Tensor(v) for k, v in grads.items()}
        if structure:
            return loss, grads, "extra"
        return loss, grads
    return backward


TWO_LAYER_WRONG = {  # name: (implementation, expected status, text in the hint or error)
    "zeros": (lambda X, y, W1, b1, W2, b2: (reference.two_layer_backward(X, y, W1, b1, W2, b2)[0],
                                            {k: np.zeros_like(v) for k, v in
                                             reference.two_layer_backward(X, y, W1, b1, W2, b2)[1].items()}),
              "fail", "dlogits is all zeros"),
    "loss summed": (make_two_layer(loss_sum=True), "fail", "the loss is the MEAN over the batch's examples"),
    "naive softmax": (make_two_layer(naive=True), "fail", "np.exp overflowed"),
    "p changed in place before the loss": (make_two_layer(p_in_place=True), "fail", "IN PLACE"),
    "loss as a Tensor": (make_two_layer(loss_type="tensor"), "fail", "plain number (a float)"),
    "three things returned": (make_two_layer(structure=True), "fail", "Return a pair (loss, grads)"),
    "parameters only": (make_two_layer(keys=["W1", "b1", "W2", "b2"]), "fail", "the intermediate ones"),
    "gradients as Tensors": (make_two_layer(as_tensors=True), "fail", "NumPy array"),
    "d logits without 1/N": (make_two_layer(logits="no mean"), "fail", "carries a factor 1/N"),
    "d logits over N*C": (make_two_layer(logits="entries"), "fail", "number of ENTRIES"),
    "softmax without the one-hot": (make_two_layer(logits="no onehot"), "fail", "softmax minus one-hot"),
    "d logits sign": (make_two_layer(logits="sign"), "fail", "wrong sign"),
    "dW2 transposed": (make_two_layer(W2="transposed"), "fail", "yours is its transpose"),
    "dW2 from z1": (make_two_layer(W2="z1"), "fail", "the tanh's OUTPUT"),
    "dW2 divided by N again": (make_two_layer(W2="twice"), "fail", "counts it twice"),
    "db2 not summed over the batch": (make_two_layer(b2="rows"), "fail", "SUM of the rows' gradients"),
    "db2 averaged": (make_two_layer(b2="mean"), "fail", "MEAN of the rows' gradients"),
    "db2 over the classes": (make_two_layer(b2="axis 1"), "fail", "the wrong axis"),
    "dh with tanh's derivative": (make_two_layer(h="with tanh'"), "fail", "that is the gradient of z1"),
    "tanh' from the input": (make_two_layer(z1="from z1"), "fail", "the tanh's INPUT"),
    "tanh' without the square": (make_two_layer(z1="no square"), "fail", "with a square"),
    "sigmoid's derivative": (make_two_layer(z1="sigmoid"), "fail", "SIGMOID's derivative"),
    "tanh applied twice": (make_two_layer(z1="tanh twice"), "fail", "already IS tanh(z1)"),
    "tanh' alone": (make_two_layer(z1="local only"), "fail", "multiplies it by the upstream"),
    "tanh' skipped": (make_two_layer(z1="skipped"), "fail", "the tanh's derivative is missing"),
    "dW1 transposed": (make_two_layer(W1="transposed"), "fail", "yours is its transpose"),
    "dW1 from dh": (make_two_layer(W1="from dh"), "fail", "BEFORE the tanh"),
    "db1 from dh": (make_two_layer(b1="from dh"), "fail", "BEFORE the tanh"),
    "db1 not summed": (make_two_layer(b1="rows"), "fail", "SUM of the rows' gradients"),
    "dX from dh": (make_two_layer(X="from dh"), "fail", "BEFORE the tanh"),
    "dX without the transpose": (make_two_layer(X="no transpose"), "error", "a transpose is missing or extra"),
    "weights updated in place": (make_two_layer(mutate=True), "fail", "changed its argument W1 in place"),
    "the engine used": (make_two_layer(use_engine=True), "error", "by hand, in NumPy"),
    # walkthrough walk2-b: no hint for these two
    "tanh' as (1 - h)**2": (make_two_layer(z1="square outside"), "fail", "the square belongs to h alone"),
    "probability clipped before the log": (make_two_layer(loss_type="clipped"), "fail", "looks clipped"),
    # walkthrough walk3-b: a "gradient" of the integer labels passed
    "a gradient for the labels": (lambda X, y, *params: (reference.two_layer_backward(X, y, *params)[0], {
        **reference.two_layer_backward(X, y, *params)[1], "labels": np.zeros(len(y))}), "fail", "integer class ids"),
}


def test_two_layer_reference_passes():
    assert verdict("07.6", reference.two_layer_backward) == ("pass", "")


@pytest.mark.parametrize("name", TWO_LAYER_WRONG)
def test_two_layer_wrong_rejected(name):
    impl, expected_status, expected_text = TWO_LAYER_WRONG[name]
    status, hint = verdict("07.6", impl)
    assert status == expected_status, (status, hint)
    assert expected_text in hint


def test_two_layer_names_the_first_wrong_tensor_and_what_was_right():
    result = check("07.6", make_two_layer(z1="from z1"), record=False)
    message = result.first_problem.mismatch.message
    assert message.startswith("dL/dz1") and "right so far: loss, dlogits, dW2, db2, dh" in message


def test_two_layer_expected_is_the_engine_on_the_whole_graph_and_central_differences():
    """The check's stage-by-stage answers equal one engine pass through the whole network, and central differences."""
    from backprop_lab.exercises import get

    ex = get("07.6")
    for case in ex.cases(np.random.default_rng(3)):
        want = ex.expected(case)
        t = {k: bl.Tensor(case[k], requires_grad=True) for k in ("X", "W1", "b1", "W2", "b2")}
        z1 = t["X"] @ t["W1"] + t["b1"]
        h = z1.tanh()
        logits = h @ t["W2"] + t["b2"]
        loss = bl.nn.cross_entropy(logits, case["labels"])
        loss.backward()
        whole = {"logits": logits.grad, "h": h.grad, "z1": z1.grad, **{k: v.grad for k, v in t.items()}}
        assert np.isclose(want["loss"], loss.item())
        for k, g in whole.items():
            assert np.allclose(want["grads"][k], g), k
        if np.abs(logits.data).max() < 50:           # central differences in float64, away from saturation
            def f(W1):
                z = np.tanh(case["X"] @ W1 + case["b1"]) @ case["W2"] + case["b2"]
                z = z - z.max(axis=1, keepdims=True)
                return float((np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(case["labels"])), case["labels"]]).mean())
            W1 = case["W1"].astype(float).copy()
            numeric = np.zeros_like(W1)
            for i in np.ndindex(*W1.shape):
                old = W1[i]
                W1[i] = old + 1e-6
                plus = f(W1)
                W1[i] = old - 1e-6
                minus = f(W1)
                W1[i] = old
                numeric[i] = (plus - minus) / 2e-6
            assert np.allclose(want["grads"]["W1"], numeric, atol=1e-6)


def test_two_layer_cases_cover_the_traps():
    """Sizes all different (transposes cannot fit by accident), one example alone, and logits too big for exp."""
    from backprop_lab.exercises import get
    from backprop_lab.exercises.nb07 import _two_layer_forward

    cases = get("07.6").cases(np.random.default_rng(0))
    for case in cases:
        n, d = case["X"].shape
        h, c = case["W2"].shape
        assert len({n, d, h, c}) == 4 or n == 1, (n, d, h, c)
    assert any(len(c["labels"]) == 1 for c in cases)
    assert any(np.abs(_two_layer_forward(c)[2]).max() > 710 for c in cases)


# ----------------------------------------------------------------------------- what notebook 08 can rely on
# Notebook 08 trains with the learner's pieces: bl.exercises.use("07.1", bl.exercises.carried("07.1")) and so on.
# carried() re-runs the source that a passing check recorded, in a namespace with only math, np and bl. This plays
# it for real: a kernel runs 07's exercise cells as a learner who solved them has them, and their checks; then
# carried() and use() bring each answer back here, and it must work as notebook 08 uses it.

CARRIED = ("07.1", "07.2", "07.3", "07.4", "07.5", "07.6")


def _learner_notebook():
    """A notebook of 07's exercise cells as a passing learner has them (the solutions), each followed by its check."""
    from nbformat.v4 import new_code_cell, new_notebook

    from answer_scan import exercises, notebook

    solved = notebook("07", folder="solutions")
    spans = exercises(solved)
    cells = [new_code_cell("import numpy as np\nimport backprop_lab as bl\nfrom backprop_lab.exercises import check")]
    for exercise_id in CARRIED:
        at, check_at, _ = spans[exercise_id]
        cells += [new_code_cell(solved.cells[at].source), new_code_cell(solved.cells[check_at].source)]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})


def test_notebook_08_gets_the_learners_07_answers_back(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    from backprop_lab.exercises import carried, use

    progress = tmp_path / ".backprop_lab_progress.json"
    monkeypatch.setenv("BACKPROP_LAB_PROGRESS", str(progress))
    monkeypatch.setenv("BACKPROP_LAB_STRICT", "1")           # a failing check fails the kernel run
    NotebookClient(_learner_notebook(), timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    monkeypatch.setenv("BACKPROP_LAB_STRICT", "0")
    got = {}
    for exercise_id in CARRIED:
        mine = carried(exercise_id)
        assert mine is not None, exercise_id
        got[exercise_id] = use(exercise_id, mine)
        assert got[exercise_id] is mine, exercise_id                     # the learner's, not the course's
        assert got[exercise_id] is not get_reference(exercise_id)

    rng = np.random.default_rng(0)
    x, W, b = rng.normal(size=(5, 4)), bl.Tensor(rng.normal(size=(4, 3)), requires_grad=True), \
        bl.Tensor(rng.normal(size=3), requires_grad=True)
    y = got["07.1"].apply(bl.Tensor(x), W, b)                            # 07.1: a bl.Function for y = x @ W + b
    assert isinstance(y, bl.Tensor) and y.shape == (5, 3)
    bl.nn.cross_entropy(y, np.array([0, 1, 2, 0, 1])).backward()         # ... that the engine differentiates
    assert W.grad.shape == (4, 3) and b.grad.shape == (3,)
    loss = got["07.3"](y.data, np.array([0, 1, 2, 0, 1]))                 # 07.3: a float, the engine's value
    assert isinstance(loss, float) and np.isclose(loss, bl.nn.cross_entropy(y.data, np.array([0, 1, 2, 0, 1])).item())
    p, grad = W.data.copy(), W.grad.copy()
    p_new, v_new = got["07.4"](p, grad, np.zeros_like(p), 0.1, 0.9)      # 07.4: new arrays, arguments unchanged
    assert np.array_equal(p, W.data) and np.allclose(p_new, p - 0.1 * grad)
    p_new, m_new, v_new = got["07.5"](p, grad, np.zeros_like(p), np.zeros_like(p), 1, lr=0.01)
    assert np.array_equal(p, W.data) and p_new.shape == p.shape           # 07.5: (p_new, m_new, v_new)


def get_reference(exercise_id):
    from backprop_lab.exercises import get

    return get(exercise_id).reference
