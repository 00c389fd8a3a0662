"""Notebook 09, the debugging lab: each check passes the course's fixed part and rejects the lab's original (taken
from the notebook itself, where it lives once) and the other classic wrong fixes, each with the hint that names its
mistake; and what the notebook's prose says about the lab's bugs is what the lab does."""
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

import backprop_lab as bl
from backprop_lab.exercises.nb09 import BACKWARD_HINTS, INIT_HINTS, OPS_HINTS, TRAIN_HINTS
from backprop_lab.references import nb09 as reference
from backprop_lab.tensor import unbroadcast

from exercise_helpers import assert_rejected, lenient, run_check  # noqa: F401  (lenient: autouse fixture)

NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "09_debugging_gradients.ipynb"
REFERENCES = {"09.1": reference.lab_backward, "09.2": reference.lab_ops, "09.3": reference.lab_init,
              "09.4": reference.lab_train}


def lab_original():
    """The lab as the notebook hands it out: its cells tagged `lab`, run in a fresh namespace."""
    namespace = {"np": np, "bl": bl}
    for cell in nbformat.read(str(NOTEBOOK), as_version=4).cells:
        if cell.cell_type == "code" and "lab" in cell.metadata.get("tags", []):
            exec(compile(cell.source, "<lab cell>", "exec"), namespace)
    return namespace


LAB = lab_original()


@pytest.mark.parametrize("exercise_id", sorted(REFERENCES))
@pytest.mark.parametrize("seed", [None, 1, 2])
def test_reference_passes(exercise_id, seed):
    result = run_check(exercise_id, REFERENCES[exercise_id], seed=seed)
    assert result.passed, repr(result)
    assert len(result.outcomes) >= 4


@pytest.mark.parametrize("exercise_id", sorted(REFERENCES))
def test_not_done_is_todo(exercise_id):
    assert run_check(exercise_id, None).status == "todo"


LAB_PARTS = {"09.1": ("backward", "b has shape (2,)"), "09.2": ("ops", OPS_HINTS["input_changed"].format(
    op="Tanh", name="x")), "09.3": ("init_weights", "rng.normal's default scale"), "09.4": ("train", "carries over")}


@pytest.mark.parametrize("exercise_id", sorted(LAB_PARTS))
def test_the_labs_original_part_is_rejected(exercise_id):
    name, hint = LAB_PARTS[exercise_id]
    assert_rejected(run_check(exercise_id, LAB[name]), hint)


def test_the_lab_cells_are_in_the_course_notebook_once():
    course = nbformat.read(str(NOTEBOOK.parent.parent / "course" / NOTEBOOK.name), as_version=4)
    sources = [c.source for c in course.cells if c.cell_type == "code"]
    for needle in ("return np.tanh(z, out=z)", "e = np.exp(logits)", "return rng.normal(0.0, 1.0, size=(n_in, n_out))",
                   "parent.grad = g"):
        assert sum(s.count(needle) for s in sources) == 1, needle


# ----------------------------------------------------------------------------- 09.1 the backward pass

def _driver(sort=bl.autograd.topo_sort, unbroadcast_it=True, add="new", seed=None, skip_constants=True):
    """A backward pass with one knob per classic mistake (the course's version with every knob at its default)."""
    def backward(loss):
        loss.grad = np.ones_like(loss.data) if seed is None else seed(loss)
        for node in reversed(sort(loss)):
            if node._fn is None:
                continue
            grads = node._fn.backward(node._ctx, node.grad)
            if not isinstance(grads, tuple):
                grads = (grads,)
            for parent, g in zip(node._prev, grads):
                if g is None or (skip_constants and not parent.requires_grad):
                    continue
                if unbroadcast_it:
                    g = unbroadcast(g, parent.shape)
                if add == "assign" or parent.grad is None:
                    parent.grad = g
                elif add == "in_place":
                    parent.grad += g
                else:
                    parent.grad = parent.grad + g

    return backward


def recursive_sort(root):
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            for parent in node._prev:
                visit(parent)
            order.append(node)

    visit(root)
    return order


def assign_unless_same(loss):
    """`=` survives in an `if a is b` branch: right for x * x, wrong for a gradient already present."""
    loss.grad = np.ones_like(loss.data)
    for node in reversed(bl.autograd.topo_sort(loss)):
        if node._fn is None:
            continue
        grads = node._fn.backward(node._ctx, node.grad)
        grads = grads if isinstance(grads, tuple) else (grads,)
        pairs = [(p, unbroadcast(g, p.shape)) for p, g in zip(node._prev, grads) if g is not None and p.requires_grad]
        if len(pairs) == 2 and pairs[0][0] is pairs[1][0]:
            pairs[0][0].grad = pairs[0][1] + pairs[1][1]
        else:
            for p, g in pairs:
                p.grad = g


def forgets_what_grad_held(loss):
    """Right within one pass, but it starts by clearing every leaf's .grad: the loop's job, not the pass's."""
    for node in bl.autograd.topo_sort(loss):
        if node._fn is None:
            node.grad = None
    _driver()(loss)


def micrograd_order(loss):
    """micrograd's famous slip: run a node's rule, then recurse into its parents (no topological order)."""
    loss.grad = np.ones_like(loss.data)

    def go(node):
        if node._fn is None:
            return
        grads = node._fn.backward(node._ctx, node.grad)
        grads = grads if isinstance(grads, tuple) else (grads,)
        for p, g in zip(node._prev, grads):
            if g is not None and p.requires_grad:
                g = unbroadcast(g, p.shape)
                p.grad = g if p.grad is None else p.grad + g
                go(p)

    go(loss)


def does_nothing(loss):
    pass


def calls_the_engine(loss):
    loss.backward()


def float64_seed(loss):
    _driver(seed=lambda l: np.ones(l.shape))(loss)


def number_seed(loss):
    _driver(seed=lambda l: 1.0)(loss)


def keeps_the_rules_array(loss):
    """Sums shares into new arrays within a pass, but a leaf keeps the very array a rule handed over, and a later
    pass adds into it in place: after Add, a.grad and b.grad are one array, and each pass's add lands in both."""
    grads = {id(loss): np.ones_like(loss.data)}
    for node in reversed(bl.autograd.topo_sort(loss)):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        if node._fn is None:
            if node.requires_grad and node.grad is None:
                node.grad = g
            elif node.requires_grad:
                node.grad += g
            continue
        out = node._fn.backward(node._ctx, g)
        for parent, pg in zip(node._prev, out if isinstance(out, tuple) else (out,)):
            if pg is not None and parent.requires_grad:
                pg = unbroadcast(pg, parent.shape)
                grads[id(parent)] = pg if id(parent) not in grads else grads[id(parent)] + pg


def recursion_limit_raised(loss):
    """The recursive pass, 'fixed' by raising Python's recursion limit (it passed: walkthrough walk2-b)."""
    sys.setrecursionlimit(100_000)
    _driver(sort=recursive_sort)(loss)


def depth_first_preorder(loss):
    """Each node passes its gradient on as soon as it is popped off a stack: a node used twice may go before its
    second share has arrived (walkthrough walk3-b: passed, as the diamond's longer path happened to be popped first)."""
    loss.grad = np.ones_like(loss.data)
    stack, seen = [loss], set()
    while stack:
        node = stack.pop()
        if node in seen or node._fn is None:
            continue
        seen.add(node)
        grads = node._fn.backward(node._ctx, node.grad)
        for parent, g in zip(node._prev, grads if isinstance(grads, tuple) else (grads,)):
            if g is not None and parent.requires_grad:
                g = unbroadcast(g, parent.shape)
                parent.grad = g if parent.grad is None else parent.grad + g
                stack.append(parent)


BACKWARD_WRONG = {
    "nothing": (does_nothing, "is still None after your backward"),
    "recursion_limit_raised": (recursion_limit_raised, BACKWARD_HINTS["raised_limit"]),
    "recursive": (_driver(sort=recursive_sort), "RecursionError on a chain of 10000 operations"),
    "no_unbroadcast": (_driver(unbroadcast_it=False), "b was broadcast in the forward pass"),
    "assign": (_driver(add="assign"), "your backward pass kept one of them"),
    "assign_unless_same": (assign_unless_same, "every share must be added"),
    "forgets_what_grad_held": (forgets_what_grad_held, "must add the new gradient to what .grad holds"),
    "order": (micrograd_order, BACKWARD_HINTS["order"]),
    "float64_seed": (float64_seed, "has dtype float64"),
    "keeps_the_rules_array": (keeps_the_rules_array, BACKWARD_HINTS["twice"]),
    # walkthrough walk3-b: both passed
    "depth_first_preorder": (depth_first_preorder, BACKWARD_HINTS["order"]),
    "constants_get_a_grad": (_driver(skip_constants=False), "does not require a gradient (requires_grad=False)"),
}


@pytest.mark.parametrize("name", sorted(BACKWARD_WRONG))
def test_backward_rejects(name):
    impl, hint = BACKWARD_WRONG[name]
    assert_rejected(run_check("09.1", impl), hint)


def test_backward_in_place_accumulation_is_caught():
    result = run_check("09.1", _driver(add="in_place"))
    assert result.status in ("fail", "error"), repr(result)
    problem = result.first_problem
    text = problem.mismatch.hint if problem.mismatch else problem.error
    assert "never modify" in text or "read-only" in text, repr(result)


def test_backward_seeded_with_a_python_number_is_told_why():
    assert_rejected(run_check("09.1", number_seed), BACKWARD_HINTS["number"], status="error")


def test_a_second_pass_that_is_lost_is_told_that_passes_add_up():
    written = []                                   # the leaves written so far (kept alive: no id is reused)

    def first_pass_only(loss):
        """Adds into .grad, but never into a leaf it has written in an earlier call."""
        leaves = [n for n in bl.autograd.topo_sort(loss) if n._fn is None and n.requires_grad]
        old = [leaf for leaf in leaves if any(leaf is w for w in written)]
        for leaf in old:
            leaf.requires_grad = False
        _driver()(loss)
        for leaf in old:
            leaf.requires_grad = True
        written.extend(leaf for leaf in leaves if not any(leaf is o for o in old))

    result = run_check("09.1", first_pass_only)
    assert_rejected(result, BACKWARD_HINTS["two_passes"].format(leaf="a"))


def test_keeping_the_rules_array_really_is_wrong():
    """What the check's "twice" case exposes, on the engine's own terms: two passes, a.grad == b.grad == 2 * R."""
    a, b = (bl.Tensor(np.ones(3), requires_grad=True) for _ in range(2))
    R = bl.Tensor(np.array([1.0, 2.0, 3.0]))
    for _ in range(2):
        keeps_the_rules_array(((a + b) * R).sum())
    assert a.grad is b.grad and np.allclose(a.grad, 3 * R.data)          # the engine gives 2 * R to each


def test_backward_that_calls_the_engine_is_told_so():
    assert_rejected(run_check("09.1", calls_the_engine), "switched off", status="error")
    x = bl.Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()                      # the engine's backward is back after the check
    assert np.allclose(x.grad, [2.0, 4.0])


def test_backward_check_describes_its_chain():
    result = run_check("09.1", _driver(sort=recursive_sort))
    assert "chain of 10000 additions" in repr(result)


# ----------------------------------------------------------------------------- 09.2 the operations

def ops_with(**changes):
    return {**reference.lab_ops, **changes}


class TanhOfInput(bl.Function):
    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return np.tanh(z)

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved
        return g * (1 - z ** 2)


class TanhNoUpstream(reference.Tanh):
    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        return 1 - y * y


class TanhZeroGrad(reference.Tanh):
    @staticmethod
    def backward(ctx, g):
        return np.zeros_like(g)


def _ce(forward, scale=None, in_place=False):
    """A CrossEntropy class with the given forward(logits, labels) -> (value, p), and the course's backward (which,
    ``in_place``, subtracts the one-hot from the saved probabilities themselves instead of from a copy)."""
    class CE(bl.Function):
        @staticmethod
        def forward(ctx, logits, labels):
            value, p = forward(logits, labels)
            ctx.save_for_backward(p)
            return value

        @staticmethod
        def backward(ctx, g):
            (p,) = ctx.saved
            labels = ctx.kwargs["labels"]
            d = p if in_place else p.copy()
            d[np.arange(len(labels)), labels] -= 1
            return scale(g, d, len(labels)) if scale else g * d / len(labels)

    return CE


def _ce_value(log_p, labels, dtype):
    return np.asarray(-log_p[np.arange(len(labels)), labels].mean(), dtype=dtype)


def ce_global_max(logits, labels):
    s = logits - logits.max()
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    return _ce_value(log_p, labels, logits.dtype), np.exp(log_p)


def ce_log_of_softmax(logits, labels):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        return _ce_value(np.log(p), labels, logits.dtype), p


def ce_clipped(logits, labels):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return _ce_value(np.log(np.clip(p, 1e-12, 1.0)), labels, logits.dtype), p


def ce_clipped_logits(logits, labels):
    z = np.clip(logits, -80.0, 80.0)          # "fixes" the overflow by changing the function
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    return _ce_value(np.log(p), labels, logits.dtype), p


class TanhScalesG(reference.Tanh):
    """The course's forward; a backward with the right numbers that scales the upstream gradient in place."""

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        g *= 1 - y ** 2
        return g


def ce_in_place_shift(logits, labels):
    logits -= logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return _ce_value(log_p, labels, logits.dtype), np.exp(log_p)


def ce_stable(logits, labels):
    s = logits - logits.max(axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    return _ce_value(log_p, labels, logits.dtype), np.exp(log_p)


def ce_python_float(logits, labels):
    value, p = ce_stable(logits, labels)
    return float(value), p


def _linear(dW=lambda x, g: x.T @ g, db=lambda g: g, forward_dtype=None):
    """The course's Linear with one part of its backward (or the dtype of its forward) changed."""
    class Variant(reference.Linear):
        @staticmethod
        def backward(ctx, g):
            x, W = ctx.saved
            return g @ W.T, dW(x, g), db(g)

    if forward_dtype is not None:
        Variant.forward = staticmethod(lambda ctx, x, W, b: reference.Linear.forward(ctx, x.astype(forward_dtype), W, b))
    return Variant


OPS_WRONG = {
    "lab_tanh": (ops_with(Tanh=LAB["Tanh"]), OPS_HINTS["input_changed"].format(op="Tanh", name="x")),
    "lab_cross_entropy": (ops_with(CrossEntropy=LAB["CrossEntropy"]), "gave inf or nan on these inputs"),
    "tanh_of_input": (ops_with(Tanh=TanhOfInput), OPS_HINTS["tanh_of_input"]),
    "tanh_no_upstream": (ops_with(Tanh=TanhNoUpstream), OPS_HINTS["no_upstream"].format(op="Tanh")),
    "tanh_zero_grad": (ops_with(Tanh=TanhZeroGrad), "Tanh's gradient for x is wrong"),
    "global_max": (ops_with(CrossEntropy=_ce(ce_global_max)), "a row whose logits lie far below"),
    "log_of_softmax": (ops_with(CrossEntropy=_ce(ce_log_of_softmax)), "underflowed to 0, and -log 0 = inf"),
    "in_place_shift": (ops_with(CrossEntropy=_ce(ce_in_place_shift)),
                       OPS_HINTS["input_changed"].format(op="CrossEntropy", name="logits")),
    "batch_sum": (ops_with(CrossEntropy=_ce(ce_stable, scale=lambda g, d, n: g * d)), "the loss is the MEAN"),
    "ignores_g": (ops_with(CrossEntropy=_ce(ce_stable, scale=lambda g, d, n: d / n)), "must multiply by g"),
    "python_float": (ops_with(CrossEntropy=_ce(ce_python_float)), "forward returned a float"),
    "changes_its_saved": (ops_with(CrossEntropy=_ce(ce_stable, in_place=True)), OPS_HINTS["saved_changed"].format(
        op="CrossEntropy")),
    "mean_bias": (ops_with(Linear=_linear(db=lambda g: g.mean(axis=0))), "the shares of copies add up"),
    "transposed_dW": (ops_with(Linear=_linear(dW=lambda x, g: g.T @ x)), "has the shape of W transposed"),
    "float64_linear": (ops_with(Linear=_linear(forward_dtype=np.float64)), "a float32 network must stay float32"),
    "not_a_dict": ((reference.Linear, reference.Tanh, reference.CrossEntropy), "received tuple"),
    "missing_key": ({"Linear": reference.Linear, "Tanh": reference.Tanh}, "'CrossEntropy' is missing"),
    "instances": (ops_with(Tanh=reference.Tanh()), "'Tanh' is"),
    # walkthrough walk2-b: the first was told it changed "an array that forward had saved", the second got no hint
    "tanh_scales_g_in_place": (ops_with(Tanh=TanhScalesG), OPS_HINTS["g_changed"].format(op="Tanh")),
    "clipped_probability": (ops_with(CrossEntropy=_ce(ce_clipped)), "looks clipped"),
    # walkthrough walk3-b: clipping the logits got only "CrossEntropy's forward pass is wrong"
    "clipped_logits": (ops_with(CrossEntropy=_ce(ce_clipped_logits)), "A clip of the logits"),
}


@pytest.mark.parametrize("name", sorted(OPS_WRONG))
def test_ops_rejects(name):
    impl, hint = OPS_WRONG[name]
    assert_rejected(run_check("09.2", impl), hint)


def test_ops_accepts_a_linear_that_sums_the_bias_itself():
    from backprop_lab.references.nb07 import LinearFn            # notebook 07's: b's gradient summed in the rule

    assert run_check("09.2", ops_with(Linear=LinearFn)).passed


# ----------------------------------------------------------------------------- 09.3 initialisation

def _glorot(n_in, n_out, rng):
    a = np.sqrt(6 / (n_in + n_out))
    return rng.uniform(-a, a, (n_in, n_out))


INIT_WRONG = {
    "zeros": (lambda n_in, n_out, act, rng: np.zeros((n_in, n_out)), "all equal (zero)"),
    "he_everywhere": (lambda n_in, n_out, act, rng: rng.normal(0, np.sqrt(2 / n_in), (n_in, n_out)),
                      "He's rule, which is for ReLU, but this layer uses tanh"),
    "glorot_everywhere": (lambda n_in, n_out, act, rng: _glorot(n_in, n_out, rng), INIT_HINTS["glorot_for_relu"]),
    "no_sqrt": (lambda n_in, n_out, act, rng: reference.lab_init(n_in, n_out, act, rng) *
                np.sqrt(2 / n_in if act == "relu" else 2 / (n_in + n_out)), "the *variance* the rule asks for"),
    "transposed": (lambda n_in, n_out, act, rng: reference.lab_init(n_out, n_in, act, rng), "are transposed"),
    "global_rng": (lambda n_in, n_out, act, rng: np.random.normal(0, np.sqrt(2 / n_in), (n_in, n_out))
                   if act == "relu" else reference.lab_init(n_in, n_out, act, rng), INIT_HINTS["rng"]),
    "off_centre": (lambda n_in, n_out, act, rng: reference.lab_init(n_in, n_out, act, rng) + 0.02, "mean"),
    "generator_inside": (lambda n_in, n_out, act, rng: reference.lab_init(n_in, n_out, act, np.random.default_rng(0)),
                         INIT_HINTS["rng_unused"]),
    "uniform_bound": (lambda n_in, n_out, act, rng: rng.normal(0, np.sqrt(2 / n_in), (n_in, n_out)) if act == "relu"
                      else rng.uniform(-np.sqrt(2 / (n_in + n_out)), np.sqrt(2 / (n_in + n_out)), (n_in, n_out)),
                      "variance a²/3"),
    # walkthrough walk3-b: all-positive weights were told about a uniform's variance, constant ones only the scale
    "all_positive": (lambda n_in, n_out, act, rng: np.abs(reference.lab_init(n_in, n_out, act, rng)),
                     "Your weights have mean"),
    "constant": (lambda n_in, n_out, act, rng: np.full((n_in, n_out), np.sqrt(2 / (n_in + n_out))), "all equal (0.0"),
}


@pytest.mark.parametrize("name", sorted(INIT_WRONG))
def test_init_weights_rejects(name):
    impl, hint = INIT_WRONG[name]
    assert_rejected(run_check("09.3", impl), hint)


def test_init_weights_accepts_a_normal_glorot():
    def normal_glorot(n_in, n_out, act, rng):
        std = np.sqrt(2 / n_in) if act == "relu" else np.sqrt(2 / (n_in + n_out))
        return rng.normal(0, std, (n_in, n_out))

    assert run_check("09.3", normal_glorot).passed


# ----------------------------------------------------------------------------- 09.4 the training loop

def _loop(zero="each step", penalty=True, update_first=False, as_tensors=False, lr_fixed=None, backward=None,
          loss_fn=None, clip=None):
    def train(net, batches, lr, weight_decay, backprop):
        lr = lr_fixed or lr
        backprop = backward or backprop
        losses = []
        if zero == "once":
            for p in net.parameters():
                p.grad = None
        for x, y in batches:
            if zero == "each step":
                for p in net.parameters():
                    p.grad = None
            elif zero == "in place":
                for p in net.parameters():
                    p.grad *= 0
            elif zero == "fresh zeros":
                for p in net.parameters():
                    p.grad = np.zeros_like(p.data)
            logits = net(x)
            if loss_fn is not None:
                loss = loss_fn(logits, y)
            else:
                loss = net.ops["CrossEntropy"].apply(logits, labels=y)
            if penalty == "every parameter":
                loss = loss + weight_decay * sum((p * p).sum() for p in net.parameters())
            elif penalty:
                loss = loss + weight_decay * sum((W * W).sum() for W in net.W)
            if update_first:
                for p in net.parameters():
                    p.data -= lr * p.grad
            backprop(loss)
            if zero == "before update":
                for p in net.parameters():
                    p.grad = None
            if not update_first:
                for p in net.parameters():
                    p.data -= lr * (p.grad if clip is None else clip(p.grad))
            if zero == "after the step":
                for p in net.parameters():
                    p.grad = None
            losses.append(loss if as_tensors else loss.item())
        return losses

    return train


def loop_nothing(net, batches, lr, weight_decay, backprop):
    return [0.0 for _ in batches]


def loop_returns_none(net, batches, lr, weight_decay, backprop):
    _loop()(net, batches, lr, weight_decay, backprop)


TRAIN_WRONG = {
    "lab": (LAB["train"], "carries over"),
    "zero_once": (_loop(zero="once"), "carries over"),
    "no_penalty": (_loop(penalty=False), TRAIN_HINTS["no_penalty"]),
    "tensor_losses": (_loop(as_tensors=True), "A Tensor keeps the whole graph"),
    "nothing": (loop_nothing, "never changed"),
    "returns_none": (loop_returns_none, "is a `return` statement missing"),
    "fixed_lr": (_loop(lr_fixed=0.1), TRAIN_HINTS["one_step"]),
    "clears_after_the_step": (_loop(zero="after the step"), TRAIN_HINTS["stale"]),
    "engine_backward": (_loop(backward=lambda loss: loss.backward()), "without the backprop it is given"),
    "engine_loss": (_loop(loss_fn=bl.nn.cross_entropy), "did not use the network's own cross-entropy"),
    "penalty_on_the_biases_too": (_loop(penalty="every parameter"), "the W's only"),
    # walkthrough walk3-b: both passed (no case had gradients large enough for the clip to act)
    "gradients clipped at 5": (_loop(clip=lambda g: np.clip(g, -5.0, 5.0)), "limits them"),
    "gradient norm clipped at 10": (_loop(clip=lambda g: g * min(1.0, 10.0 / np.linalg.norm(g))), "limits them"),
}


@pytest.mark.parametrize("name", sorted(TRAIN_WRONG))
def test_train_rejects(name):
    impl, hint = TRAIN_WRONG[name]
    assert_rejected(run_check("09.4", impl), hint)


@pytest.mark.parametrize("kind", ["before update", "update first"])
def test_train_update_without_a_gradient_is_told_why(kind):
    impl = _loop(update_first=True) if kind == "update first" else _loop(zero="before update")
    assert_rejected(run_check("09.4", impl), TRAIN_HINTS["grad_none"], status="error")


def test_train_clearing_in_place_is_told_that_grad_starts_as_none():
    assert_rejected(run_check("09.4", _loop(zero="in place")), TRAIN_HINTS["clear_none"], status="error")


def test_train_accepts_clearing_with_fresh_zeros():
    assert run_check("09.4", _loop(zero="fresh zeros")).passed


# ----------------------------------------------------------------------------- what the notebook says about the lab

@pytest.fixture(scope="module")
def lab_data():
    x, y = bl.datasets.load_mnist("train", source="subset", verbose=False)
    xv, yv = bl.datasets.load_mnist("test", source="subset", verbose=False)
    return x[:8000], y[:8000], xv[:1000], yv[:1000]


def _train_lab(data, backprop, ops, init, train, epochs=4):
    """The notebook's run_lab without its printing: (losses, accuracies)."""
    x_lab, y_lab, x_val, y_val = data
    rng = np.random.default_rng(0)
    net = LAB["Net"]([784, 64, 64, 10], ops, init, rng)
    losses, accuracies = [], []
    with np.errstate(all="ignore"):
        for _ in range(epochs):
            order = rng.permutation(len(x_lab))
            batches = [(x_lab[i], y_lab[i]) for i in np.array_split(order, len(order) // 50)]
            losses += train(net, batches, 0.2, 1e-4, backprop)
            with bl.no_grad():
                accuracies.append(float(np.mean(net(x_val).data.argmax(axis=1) == y_val)))
    return np.array(losses), accuracies


def test_with_the_original_backward_pass_the_penalty_is_silently_dropped():
    rng = np.random.default_rng(0)
    net = LAB["Net"]([6, 5, 3], reference.lab_ops, reference.lab_init, rng, dtype=np.float64)
    x, y = rng.normal(size=(4, 6)), rng.integers(0, 3, size=4)
    LAB["backward"](net.ops["CrossEntropy"].apply(net(x), labels=y) + 0.01 * sum((W * W).sum() for W in net.W))
    with_penalty = [W.grad for W in net.W]
    for W in net.W:
        W.grad = None
    net.ops["CrossEntropy"].apply(net(x), labels=y).backward()
    for got, data_only in zip(with_penalty, [W.grad for W in net.W]):
        assert np.allclose(got, data_only)                # the network's share survived; both of the penalty's lost


def test_the_original_backward_pass_recurses():
    x = bl.Tensor([0.5], requires_grad=True)
    h = x
    for _ in range(sys.getrecursionlimit() + 100):
        h = h.tanh()
    with pytest.raises(RecursionError):
        LAB["backward"](h.sum())


def test_piled_up_gradients_make_the_original_cross_entropy_overflow(lab_data):
    for init in (LAB["init_weights"], reference.lab_init):
        ops = {**reference.lab_ops, "CrossEntropy": LAB["CrossEntropy"]}
        losses, _ = _train_lab(lab_data, reference.lab_backward, ops, init, LAB["train"])
        assert np.isnan(losses).any()


def test_once_unbroadcast_is_fixed_the_lab_trains_with_its_other_bugs(lab_data):
    """The original backward pass with one line changed: still recursive and still `=`, and yet it trains."""
    cell = next(c.source for c in nbformat.read(str(NOTEBOOK), as_version=4).cells
                if "lab" in c.metadata.get("tags", []) and c.source.startswith("def backward"))
    assert cell.count("parent.grad = g") == 1
    namespace = {"np": np, "unbroadcast": unbroadcast}
    exec(cell.replace("parent.grad = g", "parent.grad = unbroadcast(g, parent.shape)"), namespace)
    _, accuracies = _train_lab(lab_data, namespace["backward"], reference.lab_ops, reference.lab_init, LAB["train"])
    assert max(accuracies) > 0.85


def test_piled_up_gradients_first_fall_then_climb(lab_data):
    losses, accuracies = _train_lab(lab_data, reference.lab_backward, reference.lab_ops, reference.lab_init,
                                    LAB["train"])
    assert losses[:20].min() < losses[0] - 1 and np.nanmax(losses) > 100 * losses[0] and accuracies[-1] < 0.2


def test_the_in_place_tanh_is_silent_in_training_but_caught_by_the_tools(lab_data):
    ops = {**reference.lab_ops, "Tanh": LAB["Tanh"]}
    _, accuracies = _train_lab(lab_data, reference.lab_backward, ops, reference.lab_init, reference.lab_train)
    assert max(accuracies) > 0.85
    rng = np.random.default_rng(0)
    net = LAB["Net"]([5, 4, 3], ops, reference.lab_init, rng, dtype=np.float64)
    loss = ops["CrossEntropy"].apply(net(rng.normal(size=(6, 5))), labels=rng.integers(0, 3, size=6))
    assert bl.check_graph(loss).first_bad.op == "Tanh"


# ----------------------------------------------------------------------------- the layer-statistics instrument

def test_summarize_counts_dead_and_saturated_units_and_measures_the_gradients():
    from backprop_lab.widgets.layer_statistics import summarize

    relu_h = np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 3.0]])           # unit 0 silent for both examples: dead
    tanh_h = np.array([[0.995, 0.5], [-0.999, 0.1]])                # half the entries beyond |h| > 0.99
    W = bl.Tensor(np.full((2, 2), 2.0), requires_grad=True)
    W.grad = np.full((2, 2), 0.5)
    dead = summarize([relu_h], [W], "relu")
    assert dead["stuck"][0] == pytest.approx(1 / 3) and dead["act_std"][0] == pytest.approx(relu_h.std())
    assert dead["grad_norm"][0] == pytest.approx(1.0) and dead["ratio"][0] == pytest.approx(0.25)
    assert summarize([tanh_h], [W], "tanh")["stuck"][0] == pytest.approx(0.5)
    W.grad = None
    assert summarize([tanh_h], [W], "tanh")["grad_norm"][0] == 0.0


def test_network_statistics_show_the_level_as_well_as_the_slope():
    from backprop_lab.widgets.layer_statistics import HEALTHY_GAIN, network_statistics

    healthy = network_statistics(12, 64, "tanh", HEALTHY_GAIN["tanh"])
    tiny = network_statistics(12, 64, "tanh", 0.01 * np.sqrt(64))
    exploding = network_statistics(12, 64, "tanh", np.sqrt(64))
    # vanishing: as flat as the healthy network from layer to layer, but many orders of magnitude lower
    assert tiny["grad_norm"].max() / tiny["grad_norm"].min() < 3
    assert np.median(healthy["grad_norm"]) > 1e8 * np.median(tiny["grad_norm"])
    assert tiny["act_std"][-1] < 1e-8 * tiny["act_std"][0]          # the activations say why
    assert exploding["grad_norm"][0] > 1e3 * exploding["grad_norm"][-1] and exploding["stuck"].mean() > 0.5
    relu = network_statistics(12, 64, "relu", HEALTHY_GAIN["relu"])
    assert 0.1 < relu["act_std"][-1] / relu["act_std"][0] < 10
    with pytest.raises(ValueError, match="activation"):
        network_statistics(3, 8, "softsign")


def test_statistics_table_and_plot_are_labelled():
    import matplotlib.pyplot as plt

    from backprop_lab.widgets.layer_statistics import format_table, network_statistics, plot_statistics

    s = network_statistics(4, 16, "relu", 1.0)
    table = format_table(s).splitlines()
    assert len(table) == 5 and "dead units" in table[0] and table[-1].split()[0] == "4"
    assert len(format_table(s, layers=[1, 4]).splitlines()) == 3
    fig = plot_statistics({"gain 1": s, "gain 2": network_statistics(4, 16, "relu", 2.0)})
    assert len(fig.axes) == 3 and all(ax.get_xlabel() == "layer" and ax.get_ylabel() for ax in fig.axes)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["gain 1", "gain 2"]
    plt.close(fig)


def test_statistics_explorer_redraws_and_uses_theme_colours():
    import matplotlib

    matplotlib.use("Agg")
    from backprop_lab.widgets.layer_statistics import statistics_explorer

    box = statistics_explorer(depth=6)
    depth, activation = box.children[0].children
    gain = box.children[1]
    assert box.state["depth"] == 6 and len(box.state["stats"]["grad_norm"]) == 6
    first = box.state["stats"]["grad_norm"][0]
    gain.value = 0.05
    assert box.state["gain"] == pytest.approx(0.05) and box.state["stats"]["grad_norm"][0] < 1e-3 * first
    activation.value = "relu"
    depth.value = 3
    assert box.state["activation"] == "relu" and len(box.state["healthy"]["act_std"]) == 3
    readout = box.children[2].value
    assert "var(--jp-ui-font-color1)" in readout and "#" not in readout
    assert box.children[3].value[:8] == b"\x89PNG\r\n\x1a\n"


def test_backward_check_restores_the_recursion_limit_and_ignores_one_raised_before():
    """A limit raised in the learner's cell before the check does not let a recursive pass through (the chain runs
    with Python's usual room), and the check leaves the limit as it found it."""
    before = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(50_000)
        assert_rejected(run_check("09.1", _driver(sort=recursive_sort)), "RecursionError on a chain of 10000")
        assert sys.getrecursionlimit() == 50_000
        run_check("09.1", recursion_limit_raised)
        assert sys.getrecursionlimit() == 50_000
    finally:
        sys.setrecursionlimit(before)
