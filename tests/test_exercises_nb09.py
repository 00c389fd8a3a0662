"""The checks of notebook 09 pass the fixed versions and reject the broken originals (and other classic
mistakes), each with the hint that names its bug."""
import numpy as np
import pytest

from backprop_lab import Function
from backprop_lab.exercises.nb09 import (AFFINE_HINTS, BROKEN, FANOUT_HINTS, INIT_HINTS, INPLACE_HINTS, SOFTMAX_HINTS,
                                         TOPO_HINTS)
from backprop_lab.references import nb09 as reference


from exercise_helpers import assert_rejected, lenient, run_check  # noqa: F401  (lenient: autouse fixture)


REFERENCES = {"09.1": reference.topo_sort, "09.2": reference.mul_backward, "09.3": reference.affine_backward,
              "09.4": reference.Tanh, "09.5": reference.log_softmax, "09.6": reference.init_weights}


@pytest.mark.parametrize("exercise_id", sorted(REFERENCES))
@pytest.mark.parametrize("seed", [None, 1, 2])
def test_reference_passes(exercise_id, seed):
    result = run_check(exercise_id, REFERENCES[exercise_id], seed=seed)
    assert result.passed, repr(result)
    assert len(result.outcomes) >= 3


@pytest.mark.parametrize("exercise_id", sorted(REFERENCES))
def test_not_done_is_todo(exercise_id):
    assert run_check(exercise_id, None).status == "todo"


BROKEN_HINTS = {
    "09.1": "RecursionError on a chain of 5000 nodes",
    "09.2": FANOUT_HINTS["assign"],
    "09.3": "broadcasting in the forward pass copied the input along axis 0",
    "09.4": INPLACE_HINTS["input_changed"],
    "09.5": SOFTMAX_HINTS["unstable"],
    "09.6": "rng.normal's default scale: with 784 inputs",
}


@pytest.mark.parametrize("exercise_id", sorted(BROKEN))
def test_broken_original_is_rejected(exercise_id):
    assert_rejected(run_check(exercise_id, BROKEN[exercise_id]), BROKEN_HINTS[exercise_id])


# ----------------------------------------------------------------------------- 09.1 topological sort

def topo_nothing(root):
    return []


def topo_reversed(root):
    return reference.topo_sort(root)[::-1]


def topo_no_seen(root):             # iterative, but without a visited set: nodes on two paths appear twice
    order, stack = [], [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        else:
            stack.append((node, True))
            stack.extend((p, False) for p in node._prev)
    return order


def topo_preorder(root):            # emits a node when first reached: before its parents
    order, seen, stack = [], set(), [root]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            order.append(node)
            stack.extend(node._prev)
    return order


def topo_root_only(root):
    return [root]


TOPO_WRONG = {
    "nothing": (topo_nothing, "hard-coded"),
    "reversed": (topo_reversed, TOPO_HINTS["reversed"]),
    "no_seen": (topo_no_seen, "reachable along two paths"),
    "preorder": (topo_preorder, "comes before its parent"),
    "root_only": (topo_root_only, "is missing from the order"),
}


@pytest.mark.parametrize("name", sorted(TOPO_WRONG))
def test_topo_sort_rejects(name):
    impl, hint = TOPO_WRONG[name]
    assert_rejected(run_check("09.1", impl), hint)


def test_topo_sort_accepts_another_valid_order():
    def kahn(root):                 # Kahn's algorithm: a different, equally valid order
        nodes, stack = set(), [root]
        while stack:
            n = stack.pop()
            if n not in nodes:
                nodes.add(n)
                stack.extend(n._prev)
        indegree = {n: len(set(n._prev)) for n in nodes}
        children = {n: [] for n in nodes}
        for n in nodes:
            for p in set(n._prev):
                children[p].append(n)
        ready = sorted((n for n in nodes if indegree[n] == 0), key=lambda n: -n.name)
        order = []
        while ready:
            n = ready.pop()
            order.append(n)
            for c in children[n]:
                indegree[c] -= 1
                if indegree[c] == 0:
                    ready.append(c)
        return order

    assert run_check("09.1", kahn).passed


# ----------------------------------------------------------------------------- 09.2 fan-out

def mul_nothing(a, b, out):
    pass


def mul_swapped(a, b, out):
    a.grad += a.data * out.grad
    b.grad += b.data * out.grad


def mul_no_upstream(a, b, out):
    a.grad += b.data
    b.grad += a.data


def mul_sign(a, b, out):
    a.grad -= b.data * out.grad
    b.grad -= a.data * out.grad


MUL_WRONG = {
    "nothing": (mul_nothing, "all zeros"),
    "swapped": (mul_swapped, FANOUT_HINTS["swapped"]),
    "no_upstream": (mul_no_upstream, FANOUT_HINTS["no_upstream"]),
    "sign": (mul_sign, "wrong sign"),
}


@pytest.mark.parametrize("name", sorted(MUL_WRONG))
def test_mul_backward_rejects(name):
    impl, hint = MUL_WRONG[name]
    assert_rejected(run_check("09.2", impl), hint)


# ----------------------------------------------------------------------------- 09.3 unbroadcast

def affine_zeros(x, gamma, beta, g):
    return np.zeros_like(x), np.zeros_like(gamma), np.zeros_like(beta)


def affine_wrong_axis(x, gamma, beta, g):
    return g * gamma, (g * x).sum(axis=-1), g.sum(axis=-1)


def affine_only_axis0(x, gamma, beta, g):     # right for 2-D x, wrong for (B, T, D)
    return g * gamma, (g * x).sum(axis=0), g.sum(axis=0)


def affine_dx_swapped(x, gamma, beta, g):
    return g * x, (g * x).sum(axis=tuple(range(x.ndim - 1))), g.sum(axis=tuple(range(x.ndim - 1)))


def affine_mean(x, gamma, beta, g):
    lead = tuple(range(x.ndim - 1))
    return g * gamma, (g * x).mean(axis=lead), g.mean(axis=lead)


def affine_dx_no_gamma(x, gamma, beta, g):
    lead = tuple(range(x.ndim - 1))
    return g, (g * x).sum(axis=lead), g.sum(axis=lead)


AFFINE_WRONG = {
    "zeros": (affine_zeros, "all zeros"),
    "wrong_axis": (affine_wrong_axis, "should have shape (3,)"),
    "only_axis0": (affine_only_axis0, "you summed over axis 0 only"),
    "mean": (affine_mean, "You averaged the 2 copies"),
    "dx_no_gamma": (affine_dx_no_gamma, AFFINE_HINTS["dx_no_gamma"]),
    "dx_times_x": (affine_dx_swapped, AFFINE_HINTS["dx_times_x"]),
}


@pytest.mark.parametrize("name", sorted(AFFINE_WRONG))
def test_affine_backward_rejects(name):
    impl, hint = AFFINE_WRONG[name]
    assert_rejected(run_check("09.3", impl), hint)


# ----------------------------------------------------------------------------- 09.4 in-place Tanh

class TanhZeroGrad(Function):
    @staticmethod
    def forward(ctx, x):
        return np.tanh(x)

    @staticmethod
    def backward(ctx, g):
        return np.zeros_like(g)


class TanhGradOfInput(Function):         # saves x and squares it: forgot that 1 - tanh² needs the output
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.tanh(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * (1 - x ** 2)


class TanhCopiesButWrongForward(Function):
    @staticmethod
    def forward(ctx, x):
        y = np.sinh(x)
        ctx.save_for_backward(np.tanh(x))
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        return g * (1 - y * y)


class TanhScaleInPlace(Function):        # a different in-place change: scales x in place, then uses it
    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        x *= 0
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        return g * (1 - y * y)


class TanhNoUpstream(Function):          # returns the local derivative alone, without the factor g
    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        return 1 - y * y


TANH_WRONG = {
    "zero_grad": (TanhZeroGrad, "all zeros"),
    "grad_of_input": (TanhGradOfInput, INPLACE_HINTS["grad_of_input"]),
    "wrong_forward": (TanhCopiesButWrongForward, INPLACE_HINTS["output"]),
    "other_in_place": (TanhScaleInPlace, INPLACE_HINTS["input_changed"]),
    "no_upstream": (TanhNoUpstream, INPLACE_HINTS["no_upstream"]),
}


@pytest.mark.parametrize("name", sorted(TANH_WRONG))
def test_tanh_function_rejects(name):
    impl, hint = TANH_WRONG[name]
    assert_rejected(run_check("09.4", impl), hint)


# ----------------------------------------------------------------------------- 09.5 log-softmax

def ls_zeros(z):
    return np.zeros_like(z)


def ls_global_max(z):
    s = z - z.max()
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


def ls_softmax(z):
    s = z - z.max(axis=1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=1, keepdims=True)


def ls_no_shift_back(z):
    return z - z.max(axis=1, keepdims=True) - np.log(np.exp(z).sum(axis=1, keepdims=True))


def ls_shift_by_min(z):
    s = z - z.min(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


def ls_log_of_softmax(z):           # shifted, but takes the log of the probabilities: exp underflows to 0
    e = np.exp(z - z.max(axis=1, keepdims=True))
    with np.errstate(divide="ignore"):
        return np.log(e / e.sum(axis=1, keepdims=True))


def ls_axis0(z):
    s = z - z.max(axis=0, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=0, keepdims=True))


LS_WRONG = {
    "zeros": (ls_zeros, "all zeros"),
    "global_max": (ls_global_max, SOFTMAX_HINTS["global_max"]),
    "softmax": (ls_softmax, SOFTMAX_HINTS["softmax"]),
    "no_shift_back": (ls_no_shift_back, SOFTMAX_HINTS["no_shift_back"]),
    "shift_by_min": (ls_shift_by_min, SOFTMAX_HINTS["unstable"]),
    "log_of_softmax": (ls_log_of_softmax, SOFTMAX_HINTS["log_of_softmax"]),
    "axis0": (ls_axis0, SOFTMAX_HINTS["axis0"]),
}


@pytest.mark.parametrize("name", sorted(LS_WRONG))
def test_log_softmax_rejects(name):
    impl, hint = LS_WRONG[name]
    assert_rejected(run_check("09.5", impl), hint)


def test_log_softmax_no_keepdims_is_named_on_a_square_input():
    def no_keepdims(z):
        s = z - z.max(axis=1)
        return s - np.log(np.exp(s).sum(axis=1))

    result = run_check("09.5", no_keepdims)
    assert result.status in ("fail", "error")
    if result.status == "fail":
        assert_rejected(result, SOFTMAX_HINTS["no_keepdims"])


# ----------------------------------------------------------------------------- 09.6 initialisation

INIT_WRONG = {
    "zeros": (lambda n_in, n_out, act, rng: np.zeros((n_in, n_out)), "all equal (zero)"),
    "he_everywhere": (lambda n_in, n_out, act, rng: rng.normal(0, np.sqrt(2 / n_in), (n_in, n_out)),
                      "He's scale, sqrt(2 / n_in), but this layer uses tanh"),
    "glorot_everywhere": (lambda n_in, n_out, act, rng: rng.normal(0, np.sqrt(2 / (n_in + n_out)), (n_in, n_out)),
                          INIT_HINTS["glorot_for_relu"]),
    "no_sqrt": (lambda n_in, n_out, act, rng: reference.init_weights(n_in, n_out, act, rng) *
                np.sqrt(2 / n_in if act == "relu" else 2 / (n_in + n_out)), "the *variance* the rule asks for"),
    "transposed": (lambda n_in, n_out, act, rng: reference.init_weights(n_out, n_in, act, rng), "shape (n_in, n_out)"),
    "global_rng": (lambda n_in, n_out, act, rng: np.random.normal(0, np.sqrt(2 / n_in), (n_in, n_out))
                   if act == "relu" else reference.init_weights(n_in, n_out, act, rng), INIT_HINTS["rng"]),
    "off_centre": (lambda n_in, n_out, act, rng: reference.init_weights(n_in, n_out, act, rng) + 0.02, "mean"),
    "uniform_bound": (lambda n_in, n_out, act, rng: rng.normal(0, np.sqrt(2 / n_in), (n_in, n_out)) if act == "relu"
                      else rng.uniform(-np.sqrt(2 / (n_in + n_out)), np.sqrt(2 / (n_in + n_out)), (n_in, n_out)),
                      "uniform(-a, a) has variance a²/3"),
}


@pytest.mark.parametrize("name", sorted(INIT_WRONG))
def test_init_weights_rejects(name):
    impl, hint = INIT_WRONG[name]
    assert_rejected(run_check("09.6", impl), hint)
