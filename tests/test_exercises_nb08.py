"""The checks of notebook 08 accept the reference and reject each classic mistake with its own hint."""
import numpy as np
import pytest

import backprop_lab as bl
from backprop_lab.exercises.nb08 import ACC_HINTS, BATCH_HINTS, LOOP_HINTS, PREP_HINTS
from backprop_lab.references import nb08 as reference


from exercise_helpers import assert_rejected, lenient, run_check  # noqa: F401  (lenient: autouse fixture)


@pytest.mark.parametrize("exercise_id,impl", [("08.1", reference.preprocess), ("08.2", reference.minibatches),
                                              ("08.3", reference.accuracy), ("08.4", reference.train_epoch)])
@pytest.mark.parametrize("seed", [None, 1, 2])
def test_reference_passes(exercise_id, impl, seed):
    result = run_check(exercise_id, impl, seed=seed)
    assert result.passed, repr(result)
    assert len(result.outcomes) >= 3


@pytest.mark.parametrize("exercise_id", ["08.1", "08.2", "08.3", "08.4"])
def test_not_done_is_todo(exercise_id):
    def stub(*args):
        raise NotImplementedError(f"Exercise {exercise_id}: to do")

    assert run_check(exercise_id, stub).status == "todo"
    assert run_check(exercise_id, None).status == "todo"


# ----------------------------------------------------------------------------- 08.1 preprocessing

def _prep(fn):
    return lambda images: fn(np.asarray(images))


PREP_WRONG = {
    "zeros": (lambda im: np.zeros((len(im), im[0].size), np.float32), "all zeros"),
    "unscaled": (lambda im: im.reshape(len(im), -1).astype(np.float32), PREP_HINTS["unscaled"]),
    "by_256": (lambda im: im.reshape(len(im), -1).astype(np.float32) / 256, PREP_HINTS["by_256"]),
    "int_division": (lambda im: (im.reshape(len(im), -1) // 255).astype(np.float32), PREP_HINTS["int_division"]),
    "one_row": (lambda im: im.reshape(-1).astype(np.float32) / 255, PREP_HINTS["one_row"]),
    "not_flat": (lambda im: im.astype(np.float32) / 255, "the result has shape (n, h*w)"),
    "column_major": (lambda im: im.transpose(0, 2, 1).reshape(len(im), -1).astype(np.float32) / 255,
                     PREP_HINTS["column_major"]),
    "float64": (lambda im: im.reshape(len(im), -1) / 255, "dtype is float64"),
    "by_max": (lambda im: im.reshape(len(im), -1).astype(np.float32) / im.max(), PREP_HINTS["by_max"]),
    "float16": (lambda im: im.reshape(len(im), -1).astype(np.float16) / 255,
                "dtype is float16: that type keeps too few"),
}


@pytest.mark.parametrize("name", sorted(PREP_WRONG))
def test_preprocess_rejects(name):
    impl, hint = PREP_WRONG[name]
    assert_rejected(run_check("08.1", _prep(impl)), hint)


def test_preprocess_hardcoded_784_is_reported_as_the_learners_error():
    result = run_check("08.1", lambda im: im.reshape(-1, 784).astype(np.float32) / 255)
    assert_rejected(result, "cannot reshape array of size 24 into shape (784)", status="error")


@pytest.mark.parametrize("kind", ["list of rows", "nested lists"])
def test_preprocess_rejects_a_list(kind):
    """np.asarray would make a list of rows pass; the notebook then reads .shape from it and crashes."""
    def preprocess(im):
        rows = im.reshape(len(im), -1).astype(np.float32) / 255
        return list(rows) if kind == "list of rows" else rows.tolist()

    assert_rejected(run_check("08.1", preprocess), PREP_HINTS["not_array"].format(what="list"))


def test_preprocess_by_the_reciprocal_passes_and_the_notebook_agrees(capsys):
    """x * (1/255) differs from x / 255 in the last bit; the check accepts it, so the notebook's comparison with the
    loader's arrays, run on it, must agree (it printed False for an answer that had just passed)."""
    import nbformat

    from answer_scan import ROOT

    def by_reciprocal(im):
        return im.reshape(len(im), -1).astype(np.float32) * (1 / 255)

    assert run_check("08.1", by_reciprocal).passed
    x, _ = bl.datasets.load_mnist("train", source="subset", verbose=False)
    assert not np.array_equal(by_reciprocal(np.rint(x * 255).astype(np.uint8).reshape(-1, 28, 28)), x)
    nb = nbformat.read(str(ROOT / "course" / "08_mnist_mlp.ipynb"), as_version=4)
    cell = next(c.source for c in nb.cells if c.cell_type == "code" and "the loader's arrays" in c.source)
    exec(cell, {"np": np, "bl": bl, "preprocess": by_reciprocal, "x_train": x})
    printed = capsys.readouterr().out
    assert "Using your preprocess" in printed and "the loader's arrays: True" in printed, printed


def test_preprocess_does_not_modify_the_input():
    images = np.full((2, 3, 3), 255, np.uint8)
    reference.preprocess(images)
    assert images.max() == 255


# ----------------------------------------------------------------------------- 08.2 minibatches

def mb_zeros(n, bs, rng):
    return [np.zeros(min(bs, n - i), dtype=int) for i in range(0, n, bs)]


def mb_drop_last(n, bs, rng):
    order = rng.permutation(n)
    return [order[i:i + bs] for i in range(0, n - bs + 1, bs)]


def mb_no_shuffle(n, bs, rng):
    order = np.arange(n)
    return [order[i:i + bs] for i in range(0, n, bs)]


def mb_with_replacement(n, bs, rng):
    return [rng.integers(0, n, size=min(bs, n - i)) for i in range(0, n, bs)]


def mb_fixed_seed(n, bs, rng):
    order = np.random.default_rng(0).permutation(n)
    return [order[i:i + bs] for i in range(0, n, bs)]


def mb_global_state(n, bs, rng):
    order = np.random.permutation(n)
    return [order[i:i + bs] for i in range(0, n, bs)]


def mb_masks(n, bs, rng):
    order = rng.permutation(n)
    return [np.isin(np.arange(n), order[i:i + bs]) for i in range(0, n, bs)]


def mb_shuffled_inside_fixed_batches(n, bs, rng):
    return [rng.permutation(np.arange(i, min(i + bs, n))) for i in range(0, n, bs)]


def mb_stops_one_early(n, bs, rng):
    order = rng.permutation(n)
    return [order[i:i + bs] for i in range(0, n - 1, bs)]      # misses the last index when n % bs == 1


def mb_random_rotation(n, bs, rng):
    order = (np.arange(n) + rng.integers(n)) % n      # a random start, then the data in order
    return [order[i:i + bs] for i in range(0, n, bs)]


def mb_random_rotation_backwards(n, bs, rng):
    order = (rng.integers(n) - np.arange(n)) % n
    return [order[i:i + bs] for i in range(0, n, bs)]


MB_WRONG = {
    "zeros": (mb_zeros, "index 0 appears"),
    "drop_last": (mb_drop_last, "last, partial batch is missing"),
    "no_shuffle": (mb_no_shuffle, BATCH_HINTS["not_shuffled"]),
    "with_replacement": (mb_with_replacement, "exactly once"),
    "fixed_seed": (mb_fixed_seed, BATCH_HINTS["same_each_epoch"]),
    "global_state": (mb_global_state, BATCH_HINTS["not_seeded"]),
    "boolean_masks": (mb_masks, "integer indices"),
    # walkthrough walk2-b: both passed
    "same batches every epoch, shuffled inside": (mb_shuffled_inside_fixed_batches, BATCH_HINTS["same_batches"]),
    "range(0, n - 1, bs)": (mb_stops_one_early, "1 example is never seen"),
    # walkthrough walk3-b: passed (a random start is not a random order)
    "random rotation": (mb_random_rotation, "run in steps of one"),
    "random rotation, backwards": (mb_random_rotation_backwards, "run in steps of one"),
}


@pytest.mark.parametrize("name", sorted(MB_WRONG))
def test_minibatches_rejects(name):
    impl, hint = MB_WRONG[name]
    assert_rejected(run_check("08.2", impl), hint)


def test_minibatches_accepts_any_correct_shuffle():
    def other_shuffle(n, bs, rng):          # shuffle in place instead of permutation: a different order, still right
        order = np.arange(n)
        rng.shuffle(order)
        return iter([order[i:i + bs] for i in range(0, n, bs)])

    assert run_check("08.2", other_shuffle).passed


# ----------------------------------------------------------------------------- 08.3 accuracy

ACC_WRONG = {
    "zeros": (lambda lg, lb: 0.0, "hard-coded"),
    "count": (lambda lg, lb: float((lg.argmax(1) == lb).sum()), ACC_HINTS["count"]),
    "percent": (lambda lg, lb: 100 * float((lg.argmax(1) == lb).mean()), ACC_HINTS["percent"]),
    "error_rate": (lambda lg, lb: float((lg.argmax(1) != lb).mean()), ACC_HINTS["error_rate"]),
    "argmin": (lambda lg, lb: float((lg.argmin(1) == lb).mean()), ACC_HINTS["argmin"]),
    "max_value": (lambda lg, lb: float((lg.max(1) == lb).mean()), ACC_HINTS["max_value"]),
    "hardcoded": (lambda lg, lb: 0.75, "hard-coded"),
    "argmax_flat": (lambda lg, lb: float((lg.argmax() == lb).mean()), ACC_HINTS["argmax_flat"]),
}


@pytest.mark.parametrize("name", sorted(ACC_WRONG))
def test_accuracy_rejects(name):
    impl, hint = ACC_WRONG[name]
    assert_rejected(run_check("08.3", impl), hint)


def test_accuracy_axis0_raises_in_the_learners_code():
    result = run_check("08.3", lambda lg, lb: float((lg.argmax(0) == lb).mean()))
    assert_rejected(result, "could not be broadcast", status="error")
    assert_rejected(result, ACC_HINTS["lengths"], status="error")        # not the engine's "gradient shape" hint
    assert "gradient" not in result.first_problem.error.split("Hint:")[1]


ACC_KIND_WRONG = {
    "integer_division": (lambda lg, lb: int((lg.argmax(1) == lb).sum()) // len(lb), "integer division"),
    "integer_count": (lambda lg, lb: int((lg.argmax(1) == lb).sum()), ACC_HINTS["count"]),
    "all_right_bool": (lambda lg, lb: bool(np.all(lg.argmax(1) == lb)), ACC_HINTS["bool"]),
    "float32": (lambda lg, lb: (lg.argmax(1) == lb).astype(np.float32).mean(), "is a float32, right to its"),
}


@pytest.mark.parametrize("name", sorted(ACC_KIND_WRONG))
def test_accuracy_rejects_the_wrong_kind_of_number(name):
    """Whole numbers, a bool or a float32 are named as such, never as a hard-coded answer."""
    impl, hint = ACC_KIND_WRONG[name]
    result = run_check("08.3", impl)
    assert_rejected(result, hint)
    assert "hard-coded" not in result.first_problem.mismatch.hint


def test_accuracy_axis0_is_named_when_it_runs():
    def accuracy(logits, labels):       # argmax over axis 0, made to run on any shape
        pred = logits.argmax(axis=0)
        if len(pred) != len(labels):
            pred = np.resize(pred, len(labels))
        return float((pred == labels).mean())

    assert_rejected(run_check("08.3", accuracy), ACC_HINTS["axis0"])


def test_accuracy_rejects_a_tensor_or_an_array_result():
    assert_rejected(run_check("08.3", lambda lg, lb: bl.Tensor((lg.argmax(1) == lb).mean())), "returned a Tensor")
    assert_rejected(run_check("08.3", lambda lg, lb: (lg.argmax(1) == lb).mean(keepdims=True)), "returned a ndarray")


def test_accuracy_accepts_a_numpy_float():
    assert run_check("08.3", lambda lg, lb: (lg.argmax(1) == lb).mean()).passed


def test_preprocess_rejects_a_tensor():
    assert_rejected(run_check("08.1", lambda im: bl.Tensor(reference.preprocess(im))), PREP_HINTS["tensor"])


def test_minibatches_empty_last_batch_and_a_batch_larger_than_the_data():
    def empty_last(n, bs, rng):
        order = rng.permutation(n)
        return [order[i:i + bs] for i in range(0, n + 1, bs)]

    def only_full(n, bs, rng):
        order = rng.permutation(n)
        return [order[i:i + bs] for i in range(0, n - bs + 1, bs)]

    assert_rejected(run_check("08.2", empty_last), "batch")
    assert not run_check("08.2", only_full).passed


# ----------------------------------------------------------------------------- 08.4 training loop

def _loop(order="zero forward backward step", as_tensors=False, scale=1.0, fixed_loss=None, last_only=False):
    """A training loop whose steps run in ``order``; the course's loop is the default."""
    def loop(model, loss_fn, optimizer, batches):
        losses, loss = [], None
        loss_fn = fixed_loss or loss_fn
        for x, y in batches:
            for what in order.split():
                if what == "zero":
                    optimizer.zero_grad()
                elif what == "forward":
                    loss = loss_fn(model(bl.Tensor(x)), y) * scale
                elif what == "backward":
                    loss.backward()
                elif what == "step":
                    optimizer.step()
            losses.append(loss if as_tensors else loss.item())
        return losses[-1:] if last_only else losses

    return loop


def loop_does_nothing(model, loss_fn, optimizer, batches):
    return [0.0 for _ in batches]


def loop_wrong_losses(model, loss_fn, optimizer, batches):
    return [2 * v for v in reference.train_epoch(model, loss_fn, optimizer, batches)]


def loop_returns_nothing(model, loss_fn, optimizer, batches):
    reference.train_epoch(model, loss_fn, optimizer, batches)


def loop_clears_after_the_step(model, loss_fn, optimizer, batches):
    """Right whenever .grad starts empty; wrong when the model arrives with gradients of an earlier pass."""
    losses = []
    for x, y in batches:
        loss = loss_fn(model(bl.Tensor(x)), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return losses


def loop_own_sgd(model, loss_fn, optimizer, batches):
    """Clears, backpropagates, and then updates by hand: plain SGD whatever optimizer it is given."""
    losses = []
    for x, y in batches:
        model.zero_grad()
        loss = loss_fn(model(bl.Tensor(x)), y)
        loss.backward()
        for p in model.parameters():
            p.data -= optimizer.lr * p.grad
        losses.append(loss.item())
    return losses


def loop_first_batch_only(model, loss_fn, optimizer, batches):
    return reference.train_epoch(model, loss_fn, optimizer, batches[:1])


LOOP_WRONG = {
    "clears_after_the_step": (loop_clears_after_the_step, LOOP_HINTS["stale"]),
    "own_sgd": (loop_own_sgd, LOOP_HINTS["ignored_optimizer"]),
    "first_batch_only": (loop_first_batch_only, "the loop takes one step for every batch"),
    "does_nothing": (loop_does_nothing, "never changed"),
    "no_zero_grad": (_loop("forward backward step"), "carries over from one step to the next"),
    "step_before_backward": (_loop("zero forward step backward"), "never changed"),
    "zero_before_step": (_loop("forward backward zero step"), LOOP_HINTS["no_update"]),
    "wrong_losses": (loop_wrong_losses, LOOP_HINTS["losses"]),
    "sum_not_mean": (_loop(scale=6.0), LOOP_HINTS["first_loss"]),
    "last_loss_only": (_loop(last_only=True), "there were 3 batches, and you returned 1"),
    "tensor_losses": (_loop(as_tensors=True), "A Tensor keeps the whole graph"),
    "ignores_loss_fn": (_loop(fixed_loss=bl.nn.cross_entropy), LOOP_HINTS["ignored_loss"]),
    "returns_nothing": (loop_returns_nothing, "is a `return` statement missing"),
}


@pytest.mark.parametrize("name", sorted(LOOP_WRONG))
def test_train_epoch_rejects(name):
    impl, hint = LOOP_WRONG[name]
    assert_rejected(run_check("08.4", impl), hint)


def test_train_epoch_step_before_backward_is_caught_after_several_steps_too():
    def loop(model, loss_fn, optimizer, batches):     # the first step is skipped, later ones use the previous gradient
        losses = []
        for x, y in batches:
            loss = loss_fn(model(bl.Tensor(x)), y)
            if any(p.grad is not None for p in model.parameters()):
                optimizer.step()
                optimizer.zero_grad()
            loss.backward()
            losses.append(loss.item())
        return losses

    assert_rejected(run_check("08.4", loop), "never changed")


def test_train_epoch_accepts_model_zero_grad_and_arrays():
    def loop(model, loss_fn, optimizer, batches):
        losses = []
        for x, y in batches:
            model.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.data))
        return losses

    assert run_check("08.4", loop).passed


def test_train_epoch_error_in_learner_code_is_reported():
    def loop(model, loss_fn, optimizer, batches):
        for x, y in batches:
            model(x).backwards()

    result = run_check("08.4", loop)
    assert result.status == "error" and "backwards" in result.first_problem.error


# ----------------------------------------------------------------------------- notebook 08's widgets

def test_digit_mosaic_puts_each_tile_in_its_cell():
    from backprop_lab.widgets.digit_gallery import _mosaic

    tiles = np.arange(5 * 4 * 4, dtype=float).reshape(5, 4, 4)
    mosaic, rows, cols, cell_w, cell_h = _mosaic(tiles, ncols=3, gap=2, top=1)
    assert (rows, cols, cell_w, cell_h) == (2, 3, 6, 7)
    assert mosaic.shape == (14, 18)
    np.testing.assert_array_equal(mosaic[1:5, 0:4], tiles[0])
    np.testing.assert_array_equal(mosaic[8:12, 6:10], tiles[4])     # row 1, column 1
    assert np.isnan(mosaic[0]).all() and np.isnan(mosaic[7:, 12:]).all()  # title strip; the empty sixth cell


def test_show_weights_scales_each_column_to_its_own_range():
    import matplotlib.pyplot as plt                        # the suite runs with MPLBACKEND=Agg

    from backprop_lab.widgets.digit_gallery import show_weights

    W = np.zeros((784, 3))
    W[0, 0], W[5, 1], W[7, 2] = 1000.0, -0.001, 0.5
    fig = show_weights(W, n=3, ncols=3)
    image = fig.axes[0].get_images()[0].get_array()
    assert np.nanmax(np.abs(image[:28, :28])) == 1.0 and image[0, 28 + 2 + 5] == -1.0
    plt.close(fig)


def test_training_monitor_redraws_at_most_every_min_interval():
    from backprop_lab.widgets.training_monitor import TrainingMonitor

    monitor = TrainingMonitor("t", min_interval=60.0)
    monitor.extend_losses(0, [2.0, 1.0, 0.5])
    monitor.show()
    first = monitor._last_draw
    monitor.show()
    assert monitor._last_draw == first                    # skipped: within min_interval
    monitor.show(force=True)
    assert monitor._last_draw > first
    monitor.log(3, accuracy=0.5)
    fig = monitor.figure()
    assert len(fig.axes) == 2 and list(fig.axes[0].lines[0].get_ydata()) == [2.0, 1.0, 0.5]
    import matplotlib.pyplot as plt

    plt.close(fig)
