"""Checks for notebook 07, layers, losses and optimizers (the exercises are in solutions/07_*.md).

Each ``compare`` first recomputes the classic wrong answers for the case (the sum instead of the
mean, the naive softmax, the sign of the step, Adam without bias correction, ...) and names the one
the learner's answer matches; only then does it fall back to the generic diagnosis. Right answers
come from the notebook's own solutions (``backprop_lab.references.nb07``).
"""
from __future__ import annotations

import numpy as np

from . import hints
from ._core import Exercise, Mismatch


def _array(x):
    return hints._to_array(x)


def _close(got, want, rtol=1e-6, atol=1e-10) -> bool:
    return hints.close(got, want, rtol=rtol, atol=atol)


def _match(got, variants):
    """The hint of the first wrong variant that ``got`` equals (all components of a tuple), else None."""
    return hints.matching_hint(got, variants, rtol=1e-6, atol=1e-10)


def _tuple(got, names):
    return hints.expect_tuple(got, names, "Return {n} values, in this order: `return {listed}`.")


def _all_zero(got) -> bool:
    """True when every number in the answer (a number, an array or a tuple of them) is 0."""
    parts = got if isinstance(got, (tuple, list)) else (got,)
    arrays = [_array(g) for g in parts]
    return all(a is not None and a.dtype != object and a.size > 0 and not np.any(a) for a in arrays)


STEP_ZEROS = ("You returned zeros. An optimizer step returns the UPDATED parameter, the old one minus the step "
              "({rule}), and the updated state for the next step.")


def _as_number(x):
    """A one-element answer (float, 0-d array, one-element Tensor) as a float; anything else unchanged."""
    arr = _array(x)
    if arr is not None and arr.size == 1 and arr.ndim <= 1:
        return float(arr.reshape(()))
    return x if arr is None else arr


# ----------------------------------------------------------------------------- 07.1 Linear as a Function

LINEAR_HINTS = {
    "no_bias": "The forward output lacks the bias: y = x @ W + b.",
    "forward": "The forward pass is wrong: y = x @ W + b, with x of shape (N, in), W (in, out), b (out,).",
    "dW_T": ("dW has the shape of W transposed. Dimensional analysis: x is (N, in), g is (N, out) and dW must be "
             "(in, out) like W, so dW = x.T @ g."),
    "dx": ("dx is wrong. x is (N, in), g is (N, out), W is (in, out): the only product with x's shape is "
           "dx = g @ W.T."),
    "db_mean": ("Your db is the MEAN of g over the batch; the bias was COPIED to every row, so it receives the SUM of "
                "their gradients: db = g.sum(axis=0) (or return g itself and let the driver sum it)."),
    "db_axis": ("db has one entry per example: you summed over axis 1, the features. The bias has one entry per "
                "output feature and was copied along the batch axis: db = g.sum(axis=0)."),
    "none": ("The gradient of {name} is None: backward must return three gradients, (dx, dW, db), one per input "
             "of forward, in the same order."),
    "class_state": ("The gradients of the first use were computed from the inputs of the SECOND use: keep what "
                    "backward needs on ctx (ctx.save_for_backward(x, W)), not on the class or in globals."),
    "not_function": ("Give the class itself, a subclass of bl.Function with @staticmethods forward(ctx, x, W, b) and "
                     "backward(ctx, g): check(\"07.1\", LinearFn)."),
}


class LinearFunction(Exercise):

    def cases(self, rng):
        fixed = [{"x": np.array([[1.0, 2.0], [3.0, 4.0]]), "W": np.array([[0.1, 0.2], [0.3, 0.4]]),
                  "b": np.array([0.5, 0.6]), "g": np.array([[0.1, 0.3], [0.5, 0.9]])}]   # seed 004's numbers
        rand = []
        for n, i, o in [(4, 3, 2), (5, 2, 3), (3, 3, 3), (1, 4, 2)]:
            rand.append({"x": rng.normal(size=(n, i)), "W": rng.normal(size=(i, o)), "b": rng.normal(size=o),
                         "g": rng.normal(size=(n, o))})
        return fixed + rand

    def run(self, obj, case):
        from ..tensor import Function, Tensor

        if not (isinstance(obj, type) and issubclass(obj, Function)):
            return {"problem": "not_function", "x": case["x"]}
        ts = {k: Tensor(np.array(case[k]), requires_grad=True) for k in ("x", "W", "b")}
        y = obj.apply(ts["x"], ts["W"], ts["b"])
        obj.apply(Tensor(case["x"] + 1.0, requires_grad=True), Tensor(case["W"] - 1.0, requires_grad=True),
                  Tensor(case["b"], requires_grad=True))   # a second use before backward: state must be on ctx
        out = {"y": np.array(y.data)}
        if y.shape != case["g"].shape:
            return out
        y.backward(case["g"])
        for k, name in (("x", "dx"), ("W", "dW"), ("b", "db")):
            out[name] = None if ts[k].grad is None else np.array(ts[k].grad)
        return out

    def describe(self, case):
        return ", ".join(f"{k} = {hints.short_repr(case[k], 70)}" for k in ("x", "W", "b", "g"))

    def compare(self, got, want, case):
        if not isinstance(got, dict) or got.get("problem") == "not_function":
            return Mismatch("the answer is not a subclass of bl.Function", LINEAR_HINTS["not_function"])
        x, W, b, g = case["x"], case["W"], case["b"], case["g"]
        m = hints.compare_values(got["y"], want["y"], where="forward output y")
        if m is not None:
            return Mismatch(m.message, LINEAR_HINTS["no_bias"] if _close(got["y"], x @ W) else LINEAR_HINTS["forward"])
        for name in ("dx", "dW", "db"):
            if got.get(name) is None:
                return Mismatch(f"{name} is None after backward", LINEAR_HINTS["none"].format(name=name[1:]))
        x2, W2 = x + 1.0, W - 1.0
        checks = [("dx", [(LINEAR_HINTS["class_state"], g @ W2.T)], LINEAR_HINTS["dx"]),
                  ("dW", [(LINEAR_HINTS["class_state"], x2.T @ g), (LINEAR_HINTS["dW_T"], g.T @ x)],
                   LINEAR_HINTS["dW_T"]),
                  ("db", [(LINEAR_HINTS["db_mean"], g.mean(axis=0)), (LINEAR_HINTS["db_axis"], g.sum(axis=1))], "")]
        for name, suspects, fallback in checks:
            m = hints.compare_values(got[name], want[name], where=name, suspects=suspects)
            if m is not None:
                specific = _match(got[name], suspects)
                if specific:
                    return Mismatch(m.message, specific)
                if name == "dW" and np.shape(got[name]) == W.shape[::-1] and W.shape[0] != W.shape[1]:
                    return Mismatch(m.message, LINEAR_HINTS["dW_T"])
                if name == "db" and np.shape(got[name]) == (x.shape[0],) and x.shape[0] != b.shape[0]:
                    return Mismatch(m.message, LINEAR_HINTS["db_axis"])
                if m.hint in ("", hints.CLOSE) and fallback:
                    return Mismatch(m.message, fallback)
                return m
        return None


# ----------------------------------------------------------------------------- 07.2 MSE forward and backward

MSE_HINTS = {
    "sum": ("You summed the squared errors: the MEAN squared error divides by n = {n}, the number of entries "
            "(every entry of pred, not just the rows). Your {what} is exactly {n} times too big."),
    "rows": ("You divided by the number of rows ({rows}) only; pred has {n} entries, and the mean is over all of "
             "them: divide by pred.size."),
    "no_two": ("The gradient is missing the factor 2 from d(u²)/du = 2u: dL/dpred = 2 (pred - target) / n."),
    "sign": ("The gradient has the wrong sign: d/dpred (pred - target)² = +2 (pred - target). (target - pred) "
             "needs a minus in front."),
    "grad_not_mean": ("The gradient lacks the 1/n of the mean: dL/dpred = 2 (pred - target) / n with n = {n}."),
    "no_square": "The loss must square each difference before averaging: mean((pred - target)**2).",
    "loss_shape": "The loss is one number (a float), the mean over all entries, not an array.",
    "swapped": "You returned (gradient, loss); the order is (loss, gradient): `return loss, dpred`.",
    "zero_loss": ("Your loss is 0 although pred and target differ: compute it from them, "
                  "mean((pred - target)**2), and return it together with the gradient."),
}


class MSEForwardBackward(Exercise):

    def cases(self, rng):
        fixed = [{"pred": np.array([[1.2, 1.6], [2.0, 2.8]]), "target": np.ones((2, 2))},   # seed 004's y
                 {"pred": np.array([0.5, -1.0, 2.0]), "target": np.array([0.0, 1.0, 2.5])}]
        return fixed + [{"pred": rng.normal(size=s), "target": rng.normal(size=s)} for s in [(4, 3), (5,), (2, 6)]]

    def run(self, obj, case):
        out = obj(case["pred"].copy(), case["target"].copy())
        if isinstance(out, (tuple, list)) and len(out) == 2:
            return (_as_number(out[0]), _array(out[1]) if _array(out[1]) is not None else out[1])
        return out

    def compare(self, got, want, case):
        bad = _tuple(got, ["loss", "dpred"])
        if bad:
            return bad
        d = case["pred"] - case["target"]
        n, rows = d.size, d.shape[0]
        loss, grad = got
        if _close(_as_number(grad), want[0]) and _close(loss, want[1]):
            return Mismatch("the loss and the gradient are in each other's place", MSE_HINTS["swapped"])
        if not isinstance(loss, float):
            return Mismatch(f"loss: expected one number, received {hints.short_repr(loss)}", MSE_HINTS["loss_shape"])
        m = hints.compare_values(loss, want[0], where="loss")
        if m is not None:
            variants = [(MSE_HINTS["zero_loss"], 0.0),
                        (MSE_HINTS["sum"].format(n=n, what="loss"), float(np.sum(d ** 2))),
                        (MSE_HINTS["no_square"], float(np.mean(d))), (MSE_HINTS["no_square"], float(np.mean(-d)))]
            if d.ndim == 2:
                variants.insert(1, (MSE_HINTS["rows"].format(n=n, rows=rows), float(np.sum(d ** 2) / rows)))
            return Mismatch(m.message, _match(loss, variants) or m.hint)
        m = hints.compare_values(grad, want[1], where="dpred")
        if m is None:
            return None
        variants = [(MSE_HINTS["sum"].format(n=n, what="gradient"), 2 * d),
                    (MSE_HINTS["no_two"], d / n), (MSE_HINTS["sign"], -2 * d / n),
                    (MSE_HINTS["no_two"] + " " + MSE_HINTS["grad_not_mean"].format(n=n), d)]
        if d.ndim == 2:
            variants.insert(1, (MSE_HINTS["rows"].format(n=n, rows=rows), 2 * d / rows))
        return Mismatch(m.message, _match(grad, variants) or m.hint)


# ----------------------------------------------------------------------------- 07.3 stable cross-entropy

CE_HINTS = {
    "overflow": ("Your loss is {value} for logits as large as {big:g} in size: np.exp overflowed (e^710 is already "
                 "inf in float64) or underflowed to 0 before a log. Use seed 001's recipe: shift EACH ROW by its own "
                 "max first, s = z - z.max(axis=1, keepdims=True) (one max for the whole batch is not enough when "
                 "rows differ in scale), then loss = log(sum(exp(s))) - s[label]: the largest exponent is e^0 = 1, "
                 "the sum lies in [1, C], and the shift cancels."),
    "sum": "You summed the per-example losses; return their MEAN over the batch (N = {n} examples).",
    "per_example": ("Return one number, the mean over the batch; you returned one loss per example (call .mean() "
                    "on them)."),
    "unshifted_label": ("You shifted by the max inside the log-sum-exp but took the label's logit from the UNSHIFTED "
                        "logits (or the other way round): either shift both, or add the max back: "
                        "loss = m + log(sum(exp(z - m))) - z[label]."),
    "pick": ("Pick one logit per example, the one of its label: z[np.arange(N), labels]. z[:, labels] picks every "
             "label for every row (an (N, N) array)."),
    "sign": "The loss is -log p[label] (positive); yours has the wrong sign.",
    "zero": ("Your loss is 0: cross-entropy is 0 only when the label gets probability 1. Compute it from the "
             "logits: the mean over rows of log(sum(exp(s))) - s[label], with s = z - z.max(axis=1, keepdims=True)."),
    "whole_batch": ("You normalised over the whole batch: np.exp(s).sum() without an axis adds the exponentials of "
                    "EVERY example. Each example has its own softmax, normalised over its own row: "
                    "np.exp(s).sum(axis=1, keepdims=True)."),
    "softmax_prob": ("You returned the probability of the label (or its mean); the cross-entropy is MINUS the LOG "
                     "of it."),
}


class StableCrossEntropy(Exercise):

    def cases(self, rng):
        fixed = [{"logits": np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), "labels": np.array([0, 2])},
                 {"logits": np.array([[1000.0, 1001.0, 1002.0], [-3.0, 0.0, 3.0]]), "labels": np.array([1, 2])},
                 {"logits": np.array([[1e4, -1e4, 5e3, 0.0], [-1e4, -1e4 + 1, -1e4 + 3, -1e4 + 2]]),
                  "labels": np.array([2, 3])}]
        rand = []
        for n, c, scale in [(5, 4, 1.0), (3, 10, 3.0), (6, 3, 1e4)]:
            rand.append({"logits": rng.normal(size=(n, c)) * scale, "labels": rng.integers(0, c, size=n)})
        return fixed + rand

    def run(self, obj, case):
        with np.errstate(all="ignore"):  # the naive version overflows: the compare explains it, no warning spam
            return _as_number(obj(case["logits"].copy(), case["labels"].copy()))

    def describe(self, case):
        return f"logits = {hints.short_repr(case['logits'], 160)}, labels = {hints.short_repr(case['labels'])}"

    def compare(self, got, want, case):
        z, labels = case["logits"], case["labels"]
        n = len(labels)
        arr = _array(got)
        if arr is not None and arr.shape == (n,) and n > 1:
            return Mismatch(f"expected one number, received {hints.short_repr(arr)}", CE_HINTS["per_example"])
        m = hints.compare_values(got, want, where="loss")
        if m is None:
            return None
        if arr is not None and arr.size == 1 and not np.isfinite(arr).all():
            return Mismatch(m.message, CE_HINTS["overflow"].format(value=float(arr.reshape(())),
                                                                   big=float(np.abs(z).max())))
        with np.errstate(all="ignore"):
            unshift = float((np.log(np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1))
                             - z[np.arange(n), labels]).mean())
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            picks = z[:, labels]
            lse = z.max(axis=1) + np.log(np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1))
            s_row, s_all = z - z.max(axis=1, keepdims=True), z - z.max()
            whole = [float((np.log(np.exp(s).sum()) - s[np.arange(n), labels]).mean()) for s in (s_row, s_all)]
        variants = [(CE_HINTS["zero"], 0.0), (CE_HINTS["sum"].format(n=n), float(want) * n),
                    (CE_HINTS["unshifted_label"], unshift),
                    (CE_HINTS["pick"], float((lse[:, None] - picks).mean())),
                    (CE_HINTS["sign"], -float(want)),
                    (CE_HINTS["softmax_prob"], float(p[np.arange(n), labels].mean())),
                    (CE_HINTS["whole_batch"], whole[0]), (CE_HINTS["whole_batch"], whole[1])]
        return Mismatch(m.message, _match(got, variants) or m.hint)


# ----------------------------------------------------------------------------- 07.4 momentum

MOMENTUM_HINTS = {
    "sign": ("Your step goes UP the gradient: the update is p - lr * v. Gradient descent moves against the "
             "gradient."),
    "no_momentum": ("Your velocity ignores the old velocity: v = momentum * v + grad. Without the momentum * v term "
                    "this is plain SGD."),
    "old_v": ("You moved p with the OLD velocity. Update the velocity first, v = momentum * v + grad, then "
              "p = p - lr * v with the new one."),
    "dampened": ("Your velocity is an average, momentum * v + (1 - momentum) * grad (that is Adam's first moment). "
                 "Heavy-ball momentum, as in bl.optim.SGD and PyTorch, adds the full gradient: "
                 "v = momentum * v + grad."),
    "convention": ("You used the other convention, v = momentum * v - lr * grad and p = p + v (the learning rate "
                   "inside the velocity). This exercise, bl.optim.SGD and PyTorch keep the learning rate outside: "
                   "v = momentum * v + grad, then p = p - lr * v."),
    "lr_in_v": ("The learning rate is applied twice: v = momentum * v + grad (no lr inside), then p = p - lr * v."),
    "order": "Return (p_new, v_new) in that order.",
}


class MomentumStep(Exercise):

    def cases(self, rng):
        fixed = [{"p": np.array([1.0, 2.0]), "grad": np.array([0.5, -1.0]), "v": np.array([0.1, 0.2]),
                  "lr": 0.05, "momentum": 0.9}]
        rand = [{"p": rng.normal(size=s), "grad": rng.normal(size=s), "v": rng.normal(size=s),
                 "lr": float(rng.choice([0.01, 0.05, 0.3])), "momentum": float(rng.choice([0.5, 0.8, 0.95]))}
                for s in [(3,), (2, 3), (4,)]]
        return fixed + rand

    def run(self, obj, case):
        out = obj(case["p"].copy(), case["grad"].copy(), case["v"].copy(), case["lr"], case["momentum"])
        return tuple(out) if isinstance(out, (tuple, list)) else out

    def compare(self, got, want, case):
        bad = _tuple(got, ["p_new", "v_new"])
        if bad:
            return bad
        m = hints.compare_values(got, want, where="(p_new, v_new)")
        if m is None:
            return None
        if _all_zero(got):
            return Mismatch(m.message, STEP_ZEROS.format(rule="p - lr * v with v = momentum * v + grad"))
        p, g, v0, lr, mu = case["p"], case["grad"], case["v"], case["lr"], case["momentum"]
        v = mu * v0 + g
        variants = [(MOMENTUM_HINTS["order"], (v, p - lr * v)),
                    (MOMENTUM_HINTS["sign"], (p + lr * v, v)),
                    (MOMENTUM_HINTS["no_momentum"], (p - lr * g, g)),
                    (MOMENTUM_HINTS["old_v"], (p - lr * v0, v)),
                    (MOMENTUM_HINTS["dampened"], (p - lr * (mu * v0 + (1 - mu) * g), mu * v0 + (1 - mu) * g)),
                    (MOMENTUM_HINTS["convention"], (p + mu * v0 - lr * g, mu * v0 - lr * g)),
                    (MOMENTUM_HINTS["lr_in_v"], (p - lr * (mu * v0 + lr * g), mu * v0 + lr * g))]
        return Mismatch(m.message, _match(got, variants) or m.hint)


# ----------------------------------------------------------------------------- 07.5 Adam

ADAM_HINTS = {
    "no_correction": ("No bias correction: m and v start at 0, so early on they are far too small (after step 1, "
                      "m = (1 - beta1) g = 0.1 g). Divide them by (1 - beta1**t) and (1 - beta2**t) before the update "
                      "(Algorithm 1 of Kingma & Ba): m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t)."),
    "t_off": ("The bias correction uses the wrong step number: t counts the updates including this one (t = 1 on "
              "the first step), so use beta1**t and beta2**t with the t you are given."),
    "eps_inside": "epsilon goes OUTSIDE the square root: p - lr * m_hat / (np.sqrt(v_hat) + eps).",
    "no_sqrt": "Divide by the square ROOT of v_hat: p - lr * m_hat / (np.sqrt(v_hat) + eps).",
    "v_not_squared": ("The second moment averages the SQUARED gradient: v = beta2 * v + (1 - beta2) * grad**2."),
    "betas_swapped": ("The weights of the moving averages are swapped: m = beta1 * m + (1 - beta1) * grad keeps "
                      "MOST of the old m (beta1 = 0.9) and adds a little of the new gradient."),
    "sign": "Your step goes UP the gradient: p - lr * m_hat / (sqrt(v_hat) + eps), with a minus.",
    "corrected_state": ("Return the raw moments m and v (the optimizer's state for the next step), not the "
                        "bias-corrected m_hat and v_hat: the correction is applied afresh at every step."),
    "order": "Return (p_new, m_new, v_new) in that order.",
}


class AdamStep(Exercise):
    rtol, atol = 1e-7, 1e-12

    def cases(self, rng):
        base = {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
        fixed = [dict(base, p=np.array([1.0, -2.0, 0.5]), grad=np.array([0.2, -0.5, 1.0]), m=np.zeros(3),
                      v=np.zeros(3), t=1),
                 dict(base, p=np.array([1.0, -2.0]), grad=np.array([0.3, 0.1]), m=np.array([0.05, -0.02]),
                      v=np.array([0.01, 0.004]), t=3),
                 dict(base, p=np.array([0.5, 0.5]), grad=np.array([3e-7, -5e-7]), m=np.zeros(2), v=np.zeros(2),
                      t=1, lr=0.01)]   # tiny gradients: where eps sits matters
        rand = []
        for s, t in [((4,), 2), ((2, 3), 10), ((3,), 50)]:
            rand.append({"p": rng.normal(size=s), "grad": rng.normal(size=s), "m": rng.normal(size=s) * 0.1,
                         "v": rng.uniform(0.001, 0.1, size=s), "t": t, "lr": float(rng.choice([0.001, 0.01, 0.1])),
                         "beta1": float(rng.choice([0.9, 0.8])), "beta2": float(rng.choice([0.999, 0.99])),
                         "eps": 1e-8})
        return fixed + rand

    def run(self, obj, case):
        out = obj(case["p"].copy(), case["grad"].copy(), case["m"].copy(), case["v"].copy(), case["t"],
                  lr=case["lr"], beta1=case["beta1"], beta2=case["beta2"], eps=case["eps"])
        return tuple(out) if isinstance(out, (tuple, list)) else out

    def compare(self, got, want, case):
        bad = _tuple(got, ["p_new", "m_new", "v_new"])
        if bad:
            return bad
        m_ = hints.compare_values(got, want, where="(p_new, m_new, v_new)", rtol=self.rtol, atol=self.atol)
        if m_ is None:
            return None
        if _all_zero(got):
            return Mismatch(m_.message, STEP_ZEROS.format(rule="p - lr * m_hat / (sqrt(v_hat) + eps)"))
        p, g, m0, v0, t = case["p"], case["grad"], case["m"], case["v"], case["t"]
        lr, b1, b2, eps = case["lr"], case["beta1"], case["beta2"], case["eps"]
        m = b1 * m0 + (1 - b1) * g
        v = b2 * v0 + (1 - b2) * g * g
        mh, vh = m / (1 - b1 ** t), v / (1 - b2 ** t)
        with np.errstate(all="ignore"):
            def step(m_hat, v_hat, root=np.sqrt):
                return p - lr * m_hat / (root(v_hat) + eps)

            variants = [(ADAM_HINTS["order"], (m, v, step(mh, vh))),
                        (ADAM_HINTS["no_correction"], (step(m, v), m, v)),
                        (ADAM_HINTS["t_off"], (step(m / (1 - b1 ** (t + 1)), v / (1 - b2 ** (t + 1))), m, v)),
                        (ADAM_HINTS["t_off"], (step(m / (1 - b1 ** (t - 1)), v / (1 - b2 ** (t - 1))), m, v)),
                        (ADAM_HINTS["eps_inside"], (p - lr * mh / np.sqrt(vh + eps), m, v)),
                        (ADAM_HINTS["no_sqrt"], (step(mh, vh, root=lambda a: a), m, v)),
                        (ADAM_HINTS["sign"], (2 * p - step(mh, vh), m, v)),
                        (ADAM_HINTS["corrected_state"], (step(mh, vh), mh, vh))]
            vb = b2 * v0 + (1 - b2) * g
            vbh = vb / (1 - b2 ** t)
            variants.append((ADAM_HINTS["v_not_squared"], (step(mh, vbh), m, vb)))
            ms = b1 * g + (1 - b1) * m0
            vs = b2 * g * g + (1 - b2) * v0
            variants.append((ADAM_HINTS["betas_swapped"], (step(ms / (1 - b1 ** t), vs / (1 - b2 ** t)), ms, vs)))
        hint = None
        for h, wrong in variants:
            if isinstance(got, (tuple, list)) and all(_close(a, b, rtol=1e-7, atol=1e-12) for a, b in zip(got, wrong)):
                hint = h
                break
        if hint is None and isinstance(got, (tuple, list)):
            # the moments right, the step wrong: name the part of the step that differs
            if _close(got[1], m) and _close(got[2], v):
                for h, wrong in variants:
                    if _close(got[0], wrong[0], rtol=1e-7, atol=1e-12):
                        hint = h
                        break
            elif not _close(got[2], v) and _close(got[2], vb):
                hint = ADAM_HINTS["v_not_squared"]
        return Mismatch(m_.message, hint or m_.hint)

