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


LINEAR_WRONG = {
    "zeros": (make_linear(backward=lambda x, W, g: (np.zeros_like(x), np.zeros_like(W), np.zeros(W.shape[1]))),
              "all zeros"),
    "no bias in forward": (make_linear(forward=lambda x, W, b: x @ W), "lacks the bias"),
    "dW transposed": (make_linear(backward=lambda x, W, g: (g @ W.T, g.T @ x, g)), "dW = x.T @ g"),
    "db averaged": (make_linear(backward=lambda x, W, g: (g @ W.T, x.T @ g, g.mean(axis=0))), "SUM of their gradients"),
    "db over features": (make_linear(backward=lambda x, W, g: (g @ W.T, x.T @ g, g.sum(axis=1))), "summed over axis 1"),
    "dx without transpose": (make_linear(backward=lambda x, W, g: (g @ W if W.shape[0] == W.shape[1] else g @ W.T,
                                                                   x.T @ g, g)), "dx = g @ W.T"),
    "two gradients only": (make_linear(backward=lambda x, W, g: (g @ W.T, x.T @ g)), "must return three gradients"),
    "state on the class": (make_linear(on_class=True), "ctx.save_for_backward(x, W)"),
    "an instance": (reference.LinearFn(), "Give the class itself"),
}


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
    "divided by rows": (lambda p, t: (float(np.sum((p - t) ** 2)) / len(p), 2 * (p - t) / len(p)), "number of rows"),
    "gradient without the 2": (lambda p, t: (float(np.mean((p - t) ** 2)), (p - t) / p.size), "factor 2"),
    "gradient sign": (lambda p, t: (float(np.mean((p - t) ** 2)), 2 * (t - p) / p.size), "wrong sign"),
    "gradient summed": (lambda p, t: (float(np.mean((p - t) ** 2)), 2 * (p - t)), "gradient is exactly"),
    "no square": (lambda p, t: (float(np.mean(p - t)), np.ones_like(p) / p.size), "square each difference"),
    "loss per entry": (lambda p, t: ((p - t) ** 2, 2 * (p - t) / p.size), "one number"),
    "gradient only": (lambda p, t: 2 * (p - t) / p.size, "Return 2 values"),
    "(gradient, loss)": (lambda p, t: (2 * (p - t) / p.size, float(np.mean((p - t) ** 2))), "the order is (loss, gradient)"),
}


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
    "one max for the whole batch": (global_shift_ce, "EACH ROW by its own max"),
    "sum over the batch": (lambda z, y: float(rows_ce(z, y).sum()), "MEAN over the batch"),
    "per-example losses": (rows_ce, "one loss per example"),
    "label logit unshifted": (lambda z, y: float((np.log(np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1))
                                                  - z[np.arange(len(y)), y]).mean()), "add the max back"),
    "z[:, labels]": (lambda z, y: float((z.max(axis=1)[:, None] + np.log(np.exp(z - z.max(axis=1, keepdims=True))
                                                                          .sum(axis=1))[:, None] - z[:, y]).mean()),
                     "np.arange(N), labels"),
    "sign": (lambda z, y: -float(rows_ce(z, y).mean()), "wrong sign"),
    "normalised over the whole batch": (lambda z, y: float(np.mean(np.log(np.exp(z - z.max(axis=1, keepdims=True)).sum())
                                                       - (z - z.max(axis=1, keepdims=True))[np.arange(len(y)), y])),
                                        "whole batch"),
}


def test_ce_reference_passes():
    assert verdict("07.3", reference.cross_entropy) == ("pass", "")


def test_ce_engine_passes():
    assert verdict("07.3", lambda z, y: bl.nn.cross_entropy(bl.Tensor(z), y).item()) == ("pass", "")


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
