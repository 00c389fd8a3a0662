"""Checks for notebook 08, an MLP on MNIST: preprocessing, minibatches, accuracy, the training loop.

08.2 (the minibatch iterator) is checked by its *properties* (every index exactly once per epoch,
batch sizes, the last partial batch kept, shuffled, a new order each epoch, the same order from the
same seed), not against one particular sequence, so any correct shuffle passes. 08.4 (the training
loop) runs the learner's loop on tiny synthetic problems, with SGD and Adam and two loss functions, and
compares the losses (which must be floats) and the parameters after one step and after several with the
notebook's own loop (``backprop_lab.references.nb08``). A loop right after one step and wrong after
several carries something over from step to step (gradients never cleared, or a step that uses the
previous batch's gradient); one that never changes the parameters never stepped with a gradient.
Hints name the mistake and the principle, not the code that fixes it.
"""
from __future__ import annotations

import numpy as np

from . import hints
from .framework import Exercise, Mismatch

# ----------------------------------------------------------------------------- 08.1 preprocessing

PREP_HINTS = {
    "unscaled": "The pixel values are still 0..255: they must be scaled into [0, 1].",
    "by_256": "You divided by 256: the brightest pixel (255) must become exactly 1.0.",
    "by_max": ("You divided by the largest pixel of the batch: scale by the fixed 255 instead, so that the "
               "same pixel value always gives the same input whatever else is in the batch."),
    "int_division": ("The values are only 0 and 1: `//` is integer (floor) division, which throws the fraction "
                     "away."),
    "tensor": ("You returned a Tensor: preprocessing prepares the data, a NumPy array of float32 rows; the model "
               "wraps each batch in a Tensor when it needs one."),
    "not_array": ("You returned a {what}: return one NumPy array of shape (n, h*w) and dtype float32. The notebook "
                  "reads its .shape and .dtype, compares it with the loader's arrays and cuts batches out of it, "
                  "which a {what} does not support."),
    "one_row": ("You flattened everything into one long row: the result must keep one row per image, shape "
                "(n, h*w)."),
    "not_flat": "Each image must become one row of h*w pixels: the result has shape (n, h*w).",
    "column_major": ("The pixels are in the wrong order: you flattened column by column (a transpose or "
                     "order='F'). Flatten row by row, as reshape does by default."),
    "dtype": ("The values are right but the dtype is {dtype}: the network runs in float32, so the result must be "
              "float32 (dividing integers gives float64 unless you say otherwise)."),
    "low_precision": ("The values are right to about three digits only, and the dtype is {dtype}: that type keeps too "
                      "few digits. The result must be float32, computed without a coarser type on the way."),
    "other": "Each row must hold one image's pixels, row by row, each pixel value divided by 255.",
}


class Preprocess(Exercise):

    def cases(self, rng):
        fixed = np.zeros((2, 3, 4), dtype=np.uint8)
        fixed[0, 0, :] = [0, 51, 102, 255]
        fixed[1, 2, 1] = 255
        fixed[1, 1, 3] = 17
        cases = [{"images": fixed}]
        for shape in [(5, 28, 28), (3, 6, 5)]:
            imgs = rng.integers(0, 256, size=shape).astype(np.uint8)
            imgs[0, 0, 0] = 255
            cases.append({"images": imgs})
        dim = rng.integers(0, 128, size=(4, 7, 6)).astype(np.uint8)  # a dark batch: max < 255
        cases.append({"images": dim})
        return cases

    def run(self, obj, case):
        out = obj(case["images"])
        if hasattr(out, "requires_grad"):
            return {"tensor": list(out.shape)}          # the shape: a wrong type is not a hard-coded answer
        if not isinstance(out, np.ndarray):             # a list of rows would pass as an array, then fail later
            try:
                shape = list(np.shape(out))
            except Exception:  # noqa: BLE001 - a ragged or odd object: its type is what the hint needs
                shape = []
            return {"not_array": type(out).__name__, "shape": shape + list(case["images"].shape)}
        return np.asarray(out)

    def describe(self, case):
        im = case["images"]
        return f"images of shape {im.shape}, dtype {im.dtype}, values {int(im.min())}..{int(im.max())}"

    def compare(self, got, want, case):
        im = case["images"].astype(np.float64)
        n, h, w = im.shape
        if isinstance(got, dict) and "not_array" in got:
            what = got["not_array"]
            return Mismatch(f"received a {what}, not a NumPy array", PREP_HINTS["not_array"].format(what=what))
        if isinstance(got, dict):
            return Mismatch("received a Tensor", PREP_HINTS["tensor"])
        if got.dtype.kind not in "fiu":
            return Mismatch(f"expected a float32 array, received dtype {got.dtype}", hints.TYPE_HINT)
        g = got.astype(np.float64)
        if got.shape != want.shape:
            if got.shape == (n * h * w,):
                hint = PREP_HINTS["one_row"]
            else:
                hint = PREP_HINTS["not_flat"]
            return Mismatch(f"expected shape {want.shape} (one row per image), received shape {got.shape}", hint)
        rows = im.reshape(n, -1)
        suspects = [
            ("unscaled", rows),
            ("by_256", rows / 256),
            ("by_max", rows / max(im.max(), 1)),
            ("int_division", rows // 255),
            ("column_major", im.transpose(0, 2, 1).reshape(n, -1) / 255),
        ]
        if np.allclose(g, want, rtol=1e-6, atol=1e-7):
            if got.dtype != np.float32:
                return Mismatch(f"values right, dtype {got.dtype}", PREP_HINTS["dtype"].format(dtype=got.dtype))
            return None
        if got.dtype.itemsize < 4 and np.allclose(g, want, rtol=2e-3, atol=1e-3):
            return Mismatch(f"values close but not equal, dtype {got.dtype}{hints._worst(g, want.astype(np.float64))}",
                            PREP_HINTS["low_precision"].format(dtype=got.dtype))
        message = (f"expected {hints.short_repr(want)}, received {hints.short_repr(got)}"
                   f"{hints._worst(g, want.astype(np.float64))}")
        for name, wrong in suspects:
            if np.allclose(g, wrong, rtol=1e-6, atol=1e-7):
                return Mismatch(message, PREP_HINTS[name])
        return Mismatch(message, hints.diagnose(g, want) or PREP_HINTS["other"])


# ----------------------------------------------------------------------------- 08.2 minibatches

BATCH_HINTS = {
    "not_ints": "Each batch must be an array of integer indices into the data; received {what}.",
    "count": ("An epoch of n={n} examples in batches of {bs} has {want} batches (the last one smaller when {bs} "
              "does not divide {n}); you gave {got}."),
    "dropped_last": ("The last, partial batch is missing: {missing} never seen in an epoch. An epoch "
                     "uses every example once, so the last batch may be shorter than batch_size."),
    "sizes": "Every batch but the last must hold exactly batch_size={bs} indices; batch sizes were {sizes}.",
    "coverage": ("An epoch must use every index 0..{last} exactly once; {problem}. Indices drawn at random one by "
                 "one repeat some and miss others: an epoch is one random *ordering* of all of them."),
    "not_shuffled": ("The indices come in order 0, 1, 2, ...: every epoch needs a new random order, drawn from the "
                     "rng you are given, or each batch holds similar examples and SGD zig-zags."),
    "same_each_epoch": ("Two epochs gave the same order: each call must draw a new order from the rng you are given "
                        "(a generator made inside the function starts from the same seed every time)."),
    "same_batches": ("Epoch 1 and epoch 2 put the same indices together in their batches; only the order changed. "
                     "Every epoch's batches must be fresh random samples of the data: the random order of the epoch "
                     "decides which examples share a batch, not only the order in which fixed batches come."),
    "consecutive": ("Within your epochs the indices run in steps of one ({example}): the start is random but the "
                    "order is not, so the same neighbours share a batch in every epoch. An epoch needs a random "
                    "*ordering* of all the indices, in which any index may follow any other."),
    "not_seeded": ("Two runs from generators with the same seed gave different batches: the order must come from "
                   "the rng argument, not from np.random's global state or an unseeded generator."),
}


class Minibatches(Exercise):

    def cases(self, rng):
        fixed = [{"n": 10, "batch_size": 4, "seed": 0}, {"n": 12, "batch_size": 3, "seed": 1},
                 {"n": 5, "batch_size": 8, "seed": 2}, {"n": 9, "batch_size": 4, "seed": 3}]
        return fixed + [{"n": int(rng.integers(20, 200)), "batch_size": int(rng.integers(3, 17)),
                         "seed": int(rng.integers(1 << 30))} for _ in range(2)]

    def run(self, obj, case):
        n, bs = case["n"], case["batch_size"]
        rng = np.random.default_rng(case["seed"])
        epochs = [[np.asarray(b) for b in obj(n, bs, rng)] for _ in range(2)]
        replay = [np.asarray(b) for b in obj(n, bs, np.random.default_rng(case["seed"]))]
        return {"epoch1": epochs[0], "epoch2": epochs[1], "replay": replay}

    def expected(self, case):
        n, bs = case["n"], case["batch_size"]
        return {"n": n, "batch_size": bs, "batches": -(-n // bs)}

    def describe(self, case):
        return (f"n={case['n']}, batch_size={case['batch_size']}, rng=np.random.default_rng({case['seed']}); "
                "two epochs, then a replay from a fresh generator with the same seed")

    def compare(self, got, want, case):
        n, bs, n_batches = want["n"], want["batch_size"], want["batches"]
        if not isinstance(got, dict):
            return Mismatch(f"expected batches of indices, received {hints.short_repr(got)}", hints.TYPE_HINT)
        for key in ("epoch1", "epoch2", "replay"):
            m = self._one_epoch(got[key], n, bs, n_batches)
            if m is not None:
                return m
        e1, e2, replay = (np.concatenate(got[k]) for k in ("epoch1", "epoch2", "replay"))
        if n >= 8 and np.array_equal(e1, np.arange(n)):
            return Mismatch(f"epoch 1 visited the indices in order: {hints.short_repr(e1)}", BATCH_HINTS["not_shuffled"])
        if np.array_equal(e1, e2):
            return Mismatch(f"epoch 1 and epoch 2 had the same order: {hints.short_repr(e1)}",
                            BATCH_HINTS["same_each_epoch"])
        steps = [np.diff(e) % n for e in (e1, e2)]
        for step in (1, n - 1):
            if n >= 8 and all(np.mean(d == step) >= 0.75 for d in steps):
                return Mismatch(f"epoch 1 visited {hints.short_repr(e1)}, epoch 2 {hints.short_repr(e2)}",
                                BATCH_HINTS["consecutive"].format(example=", ".join(map(str, e1[:4])) + ", ..."))
        groups = [sorted(map(tuple, (np.sort(b) for b in got[k]))) for k in ("epoch1", "epoch2")]
        if n_batches > 1 and groups[0] == groups[1]:
            return Mismatch(f"epoch 1's batches {hints.short_repr(got['epoch1'])} and epoch 2's "
                            f"{hints.short_repr(got['epoch2'])} hold the same groups of indices",
                            BATCH_HINTS["same_batches"])
        if not np.array_equal(e1, replay):
            return Mismatch(f"a generator seeded {case['seed']} gave {hints.short_repr(e1)} the first time and "
                            f"{hints.short_repr(replay)} the second", BATCH_HINTS["not_seeded"])
        return None

    @staticmethod
    def _one_epoch(batches, n, bs, n_batches):
        for b in batches:
            if b.ndim != 1 or (b.size and b.dtype.kind not in "iu"):
                what = f"an array of shape {b.shape} and dtype {b.dtype}"
                return Mismatch(f"a batch is {hints.short_repr(b)}", BATCH_HINTS["not_ints"].format(what=what))
        sizes = [len(b) for b in batches]
        flat = np.concatenate(batches) if batches else np.zeros(0, dtype=int)
        if not batches:
            return Mismatch(f"no batches at all for n={n}",
                            BATCH_HINTS["count"].format(n=n, bs=bs, want=n_batches, got=0))
        full_sizes_ok = all(s == bs for s in sizes[:-1]) and 0 < sizes[-1] <= bs
        if len(batches) == n // bs and n % bs and all(s == bs for s in sizes):
            return Mismatch(f"{len(batches)} batches of sizes {sizes} for n={n}",
                            BATCH_HINTS["dropped_last"].format(
                                missing="1 example is" if n % bs == 1 else f"{n % bs} examples are"))
        counts = np.bincount(flat[(flat >= 0) & (flat < n)], minlength=n) if flat.size else np.zeros(n, int)
        outside = flat[(flat < 0) | (flat >= n)]
        if outside.size or np.any(counts != 1):
            if outside.size:
                problem = f"index {int(outside[0])} is out of range"
            else:
                dup = np.flatnonzero(counts > 1)
                miss = np.flatnonzero(counts == 0)
                parts = []
                if dup.size:
                    parts.append(f"index {int(dup[0])} appears {int(counts[dup[0]])} times")
                if miss.size:
                    parts.append(f"{miss.size} indices never appear (e.g. {int(miss[0])})")
                problem = " and ".join(parts)
            return Mismatch(f"epoch indices: {hints.short_repr(flat)}",
                            BATCH_HINTS["coverage"].format(last=n - 1, problem=problem))
        if len(batches) != n_batches:
            return Mismatch(f"{len(batches)} batches of sizes {sizes}",
                            BATCH_HINTS["count"].format(n=n, bs=bs, want=n_batches, got=len(batches)))
        if not full_sizes_ok:
            return Mismatch(f"batch sizes {sizes}", BATCH_HINTS["sizes"].format(bs=bs, sizes=sizes))
        return None


# ----------------------------------------------------------------------------- 08.3 accuracy

ACC_HINTS = {
    "not_a_number": ("accuracy returned a {what}, not a number: return a Python float (the notebook formats it as a "
                     "percentage and compares it with targets, which a {what} does not support)."),
    "count": "You returned the number of correct predictions: divide by the number of examples to get a fraction.",
    "percent": "You returned a percentage: return the fraction in [0, 1] (the notebook multiplies by 100 to print it).",
    "error_rate": "You returned the error rate, 1 - accuracy: count the predictions that *equal* the label.",
    "axis0": ("You took the argmax over axis 0 (over the examples): the prediction for each example is the class "
              "with the largest logit in its own row."),
    "argmin": "You picked the class with the *smallest* logit: the prediction is the argmax.",
    "max_value": ("You compared the largest logit itself with the label: the prediction is the *position* of the "
                  "largest logit, argmax, not its value."),
    "argmax_flat": ("argmax without an axis returns one index into the flattened array, not one prediction per "
                    "row."),
    "lengths": ("Your predictions and the labels have different lengths: there is one prediction per example, from "
                "that example's own row of logits, to compare with its label. An argmax over axis 0 (down the "
                "columns) gives one number per class instead."),
    "int_division": ("You returned the integer {got} where the fraction is {want:.4g}: integer division (`//`, or "
                     "int() of a quotient) rounds the fraction down to a whole number, 0 for anything short of "
                     "100 %. A fraction needs true division."),
    "bool": ("You returned a bool, True or False: whether *every* prediction is right is another question. Return "
             "the fraction of rows whose prediction is right, a float in [0, 1]."),
    "low_precision": ("Your accuracy is a {dtype}, right to its {digits} digits only ({got!r} for {want:.6g}): the "
                      "fraction was computed in a smaller float type. Return a Python float, computed in float64."),
    "range": "An accuracy is a fraction between 0 and 1: correct predictions over all of them.",
    "other": ("A prediction is the position of the largest logit in each row; the accuracy is the fraction of rows "
              "where it equals the label."),
    "range_float": "An accuracy is a fraction between 0 and 1 (a float): correct predictions over all of them.",
}


class Accuracy(Exercise):

    # Each case holds several (logits, labels) pairs and the learner's function is called on each, so that
    # the pattern of answers identifies a mistake even where one pair alone would not.
    def cases(self, rng):
        # the largest logit of the whole array is in row 0, so that a flat argmax() gives a telling answer
        fixed = (np.array([[5.0, 1.0, 0.1], [0.3, 0.2, 3.0], [1.0, 4.0, 0.5], [0.0, -1.0, -2.0]]),
                 np.array([0, 2, 1, 1]))
        return [{"sets": [fixed] + [self._random_set(rng, n, c) for n, c in [(40, 40), (60, 3)]]},
                {"sets": [self._random_set(rng, n, c) for n, c in [(57, 10), (45, 4), (30, 30)]]},
                {"sets": [self._random_set(rng, n, c) for n, c in [(80, 10), (50, 50), (49, 2)]]}]

    @staticmethod
    def _random_set(rng, n, c):
        logits = np.round(rng.normal(size=(n, c)) * 3, 2)
        labels = rng.integers(0, c, size=n)
        right = rng.random(n) < 0.6
        labels[right] = logits[right].argmax(axis=1)
        shift = rng.random(n) < 0.3      # in some rows the largest logit equals the label (catches max == label)
        logits[shift] += (labels[shift] - logits[shift].max(axis=1))[:, None]
        return logits, labels

    def run(self, obj, case):
        out, kinds = [], set()
        # the shapes make a wrong kind of answer differ between cases: a type is not a hard-coded answer
        shapes = [list(logits.shape) for logits, _ in case["sets"]]
        for logits, labels in case["sets"]:
            value = obj(logits, labels)
            if isinstance(value, (bool, np.bool_)):
                return {"not_a_number": "bool", "value": [float(value)], "shapes": shapes}
            if not isinstance(value, (int, float, np.integer, np.floating)):
                data = np.asarray(getattr(value, "data", value), dtype=float).reshape(-1)
                return {"not_a_number": type(value).__name__, "value": data.tolist(), "shapes": shapes}
            kinds.add("int" if isinstance(value, (int, np.integer)) else np.dtype(type(value)).name
                      if isinstance(value, np.floating) else "float")
            out.append(float(value))
        if kinds == {"int"}:
            return {"ints": [int(v) for v in out], "shapes": shapes}
        low = sorted(k for k in kinds if k.startswith("float") and k not in ("float", "float64"))
        if low:
            return {"low_precision": low[0], "value": out, "shapes": shapes}
        return out

    def describe(self, case):
        lg, lb = case["sets"][0]
        more = ", ".join(f"{l.shape}" for l, _ in case["sets"][1:])
        return f"logits {hints.short_repr(lg, 160)}, labels {hints.short_repr(lb, 80)}; then logits of shapes {more}"

    def _suspects(self, case):
        out = {name: [] for name in ACC_HINTS}
        for logits, labels in case["sets"]:
            acc = self.reference(logits, labels)
            out["count"].append(acc * len(labels))
            out["percent"].append(acc * 100)
            out["error_rate"].append(1 - acc)
            out["argmin"].append(float((logits.argmin(axis=1) == labels).mean()))
            out["max_value"].append(float((logits.max(axis=1) == labels).mean()))
            out["argmax_flat"].append(float((logits.argmax() == labels).mean()))
            square = logits.shape[0] == logits.shape[1]
            out["axis0"].append(float((logits.argmax(axis=0) == labels).mean()) if square else None)
        return out

    def error_hint(self, exc):
        if "could not be broadcast" in str(exc):
            return ACC_HINTS["lengths"]
        return super().error_hint(exc)

    def compare(self, got, want, case):
        if isinstance(got, dict) and "ints" in got:
            return self._integers(got["ints"], want, case)
        if isinstance(got, dict) and "low_precision" in got:
            bad = next((i for i, (g, w) in enumerate(zip(got["value"], want)) if g != w), 0)
            dtype = got["low_precision"]
            return Mismatch(f"accuracy returned a {dtype}: {got['value'][bad]!r}, expected {want[bad]!r}",
                            ACC_HINTS["low_precision"].format(dtype=dtype, digits=np.finfo(dtype).precision,
                                                              got=got["value"][bad], want=want[bad]))
        if isinstance(got, dict) and got.get("not_a_number") == "bool":
            return Mismatch("accuracy returned a bool", ACC_HINTS["bool"])
        if isinstance(got, dict):
            what = got["not_a_number"]
            return Mismatch(f"accuracy returned a {what}", ACC_HINTS["not_a_number"].format(what=what))
        if not isinstance(got, list) or len(got) != len(want):
            return Mismatch(f"expected one number per call, received {hints.short_repr(got)}", hints.TYPE_HINT)
        if np.allclose(got, want, rtol=0, atol=1e-9):
            return None
        bad = next(i for i, (g, w) in enumerate(zip(got, want)) if abs(g - w) > 1e-9)
        shape = case["sets"][bad][0].shape
        message = f"for logits of shape {shape}: expected {want[bad]:.6g}, received {got[bad]:.6g}"
        suspects = self._suspects(case)
        suspects["axis0"] = suspects.pop("axis0")    # last: it is defined on the square sets only, so weakest
        for name, values in suspects.items():
            pairs = [(g, v) for g, v in zip(got, values) if v is not None]
            if pairs and all(abs(g - v) < 1e-9 for g, v in pairs):
                return Mismatch(message, ACC_HINTS[name])
        if not all(0 <= g <= 1 for g in got):
            return Mismatch(message, ACC_HINTS["range"])
        return Mismatch(message, ACC_HINTS["other"])

    def _integers(self, got, want, case):
        """Whole numbers where fractions are expected: the count of right answers, or a fraction rounded down."""
        bad = next((i for i, (g, w) in enumerate(zip(got, want)) if abs(g - w) > 1e-9), 0)
        message = f"for logits of shape {case['sets'][bad][0].shape}: expected {want[bad]:.6g}, received {got[bad]}"
        counts = [round(w * len(labels)) for w, (_, labels) in zip(want, case["sets"])]
        if got == counts:
            return Mismatch(message, ACC_HINTS["count"])
        if all(g == int(np.floor(w + 1e-12)) for g, w in zip(got, want)):
            return Mismatch(message, ACC_HINTS["int_division"].format(got=got[bad], want=want[bad]))
        return Mismatch(message, ACC_HINTS["range_float"])


# ----------------------------------------------------------------------------- 08.4 the training loop

LOOP_HINTS = {
    "carry_over": ("After one step your parameters are right (the first case passed); after {k} steps they are not, "
                   "so something carries over from one step to the next. backward() adds into .grad, and step() "
                   "uses whatever .grad holds when it runs: each step must use the gradient of its own batch, "
                   "and only that."),
    "no_update": ("The parameters never changed: each step must move them with the gradient of its batch, which "
                  "exists only after backward() and only until the gradients are cleared."),
    "losses": ("The parameters are right but the losses you returned are not: one number per batch, in order, the "
               "loss each step differentiated."),
    "loss_count": "Return one loss per batch, in a list: there were {want}, and you returned {got}.",
    "not_floats": ("train_epoch must return the losses as Python floats, received {what}. A Tensor keeps the whole "
                   "graph of its step alive (every activation of the batch), and the code that plots and prints the "
                   "losses needs numbers."),
    "first_loss": ("The loss of the first batch is already wrong: it is loss_fn applied to the model's logits for "
                   "that batch's x and the labels y, the loss function you are given."),
    "ignored_loss": ("Your parameters are what training with bl.nn.cross_entropy gives, but this case passed another "
                     "loss function: use the loss_fn argument."),
    "one_step": ("After a single step the parameters differ from the course's: one step computes the batch's loss "
                 "with loss_fn, backpropagates it, and lets the optimizer move the parameters."),
    "steps": ("There were {want} batches, your loop returned {got} and the parameters are not those of {want} "
              "steps: the loop takes one step for every batch of the list, and returns each step's loss."),
    "stale": ("In this case the model's .grad already held gradients from an earlier backward pass when your loop "
              "began, and your first step used them too. backward() adds into .grad, so clear the gradients before "
              "each backward pass: then every step uses its own batch's gradient and nothing else, whatever came "
              "before the loop."),
    "ignored_optimizer": ("Your parameters are what plain SGD gives, but this case hands your loop an Adam optimizer: "
                          "let the optimizer you are given make each step, whatever its rule."),
}


def _squared_error(logits, labels):
    """A second loss for the checks: the squared distance between the logits and the one-hot labels."""
    import backprop_lab as bl

    onehot = np.eye(logits.shape[1])[np.asarray(labels)]
    return bl.nn.mse_loss(logits, onehot)


def _loss(name):
    import backprop_lab as bl

    return {"cross_entropy": bl.nn.cross_entropy, "squared_error": _squared_error}[name]


def make_model(case):
    """A small MLP with the case's initial weights (both in the checker and in the learner's kernel)."""
    import backprop_lab as bl

    model = bl.nn.MLP(case["sizes"], rng=0)
    for layer, (w, b) in zip(model.layers[::2], case["weights"]):
        layer.W.data[...] = w
        layer.b.data[...] = b
    return model


def make_optimizer(model, case):
    import backprop_lab as bl

    if case["optimizer"] == "adam":
        return bl.optim.Adam(model.parameters(), lr=case["lr"])
    return bl.optim.SGD(model.parameters(), lr=case["lr"], momentum=case.get("momentum", 0.0))


def _run_loop(loop, case):
    model = make_model(case)
    opt = make_optimizer(model, case)
    for p, g in zip(model.parameters(), case.get("stale") or []):  # gradients left over from an earlier pass
        p.grad = np.array(g)
    losses = loop(model, _loss(case["loss"]), opt, [(x, y) for x, y in zip(case["xs"], case["ys"])])
    return losses, [p.data.copy() for p in model.parameters()]


def _count(n, one, many):
    return f"{n} {one if n == 1 else many}"


class TrainingLoopCheck(Exercise):
    """What the checks of a training loop share (08.4 here, 09.4 in notebook 09): the learner's loop runs on small
    cases; its losses must be floats, one per batch; every parameter after the loop is compared with the course's.

    A subclass gives ``HINTS`` (keys: carry_over, no_update, losses, loss_count, not_floats, one_step, steps, stale),
    ``initial_params(case)``, and may name a mistake its cases can tell apart in ``variant(got, case)``. Its first
    case must be a single step, so that a later case that fails says something carries over between steps. A case
    with ``"stale"`` (one array per parameter) hands the loop a model whose ``.grad`` already holds those arrays: a
    loop that clears the gradients after its steps instead of before them uses them in its first step.
    """
    HINTS: dict = {}
    rtol, atol = 1e-7, 1e-10

    @staticmethod
    def result(losses, params):
        """What ``run`` returns: the losses as numbers (None when they are not all floats), their types, the
        parameters after the loop."""
        if not isinstance(losses, (list, tuple)):
            return {"returned": type(losses).__name__, "params": params}
        floats = all(isinstance(v, (float, np.floating)) for v in losses)
        return {"losses": [float(v) for v in losses] if floats else None,
                "kinds": sorted({type(v).__name__ for v in losses}), "params": params}

    def initial_params(self, case):
        raise NotImplementedError

    def variant(self, got, case):
        """The hint for a mistake this check's cases can tell apart, else None."""
        return None

    def compare(self, got, want, case):
        if not isinstance(got, dict):
            return Mismatch(f"expected losses and parameters, received {hints.short_repr(got)}", hints.TYPE_HINT)
        k = len(case["xs"])
        if "returned" in got:
            hint = hints.NONE_HINT if got["returned"] == "NoneType" else self.HINTS["loss_count"].format(
                want=_count(k, "batch", "batches"), got=f"a {got['returned']}")
            return Mismatch(f"the loop returned a {got['returned']}, not a list of losses", hint)
        if got["losses"] is None:
            what = ", ".join(got["kinds"])
            return Mismatch(f"the losses are of type {what}", self.HINTS["not_floats"].format(what=what))
        close = [np.allclose(g, w, rtol=self.rtol, atol=self.atol) for g, w in zip(got["params"], want["params"])]
        if all(close):
            if len(got["losses"]) != len(want["losses"]):
                return Mismatch(f"{_count(len(got['losses']), 'loss', 'losses')} for {k} batches",
                                self.HINTS["loss_count"].format(want=_count(k, "batch", "batches"),
                                                               got=len(got["losses"])))
            if not np.allclose(got["losses"], want["losses"], rtol=self.rtol, atol=self.atol):
                return Mismatch(f"losses: expected {hints.short_repr(np.array(want['losses']))}, received "
                                f"{hints.short_repr(np.array(got['losses']))}", self.HINTS["losses"])
            return None
        worst = max(range(len(want["params"])), key=lambda i: float(np.max(np.abs(got["params"][i] - want["params"][i]))))
        message = (f"parameter {worst} after {_count(k, 'step', 'steps')}: expected "
                   f"{hints.short_repr(want['params'][worst])}, received {hints.short_repr(got['params'][worst])}")
        if all(np.allclose(g, p) for g, p in zip(got["params"], self.initial_params(case))):
            return Mismatch(message + " (they never changed)", self.HINTS["no_update"])
        if len(got["losses"]) != k:
            return Mismatch(message, self.HINTS["steps"].format(
                want=k, got=_count(len(got["losses"]), "loss", "losses")))
        if case.get("stale"):     # the cases before it passed: what differs here is the gradients already held
            return Mismatch(message, self.HINTS["stale"])
        hint = self.variant(got, case)
        if hint:
            return Mismatch(message, hint)
        return Mismatch(message, self.HINTS["carry_over"].format(k=k) if k > 1 else self.HINTS["one_step"])


class TrainEpoch(TrainingLoopCheck):
    # the exercise is the loop; the engine's Tensor is the tool it is meant to use
    allowed_references = ("backprop_lab.Tensor",)
    HINTS = LOOP_HINTS

    def cases(self, rng):
        cases = []
        for sizes, opt, lr, k, n, loss in [([4, 5, 3], "sgd", 0.5, 1, 6, "cross_entropy"),
                                           ([4, 5, 3], "sgd", 0.5, 3, 6, "cross_entropy"),
                                           ([6, 8, 8, 4], "sgd", 0.3, 4, 5, "squared_error"),
                                           ([5, 7, 3], "adam", 0.05, 3, 8, "cross_entropy")]:
            weights = [(rng.normal(0, np.sqrt(2 / a), size=(a, b)), rng.normal(0, 0.1, size=b))
                       for a, b in zip(sizes[:-1], sizes[1:])]
            xs = [rng.normal(size=(n, sizes[0])) for _ in range(k)]
            ys = [rng.integers(0, sizes[-1], size=n) for _ in range(k)]
            cases.append({"sizes": sizes, "weights": weights, "optimizer": opt, "lr": lr, "xs": xs, "ys": ys,
                          "loss": loss})
        stale = dict(cases[1], xs=cases[1]["xs"][:2], ys=cases[1]["ys"][:2])
        stale["stale"] = [np.round(rng.normal(size=np.shape(a)), 3) for w, b in stale["weights"] for a in (w, b)]
        return cases + [stale]

    def run(self, obj, case):
        return self.result(*_run_loop(obj, case))

    def describe(self, case):
        stale = "; the model's .grad already holds gradients from an earlier pass" if case.get("stale") else ""
        return (f"MLP {case['sizes']}, {case['optimizer'].upper()} lr={case['lr']}, loss_fn={case['loss']}, "
                f"{_count(len(case['xs']), 'batch', 'batches')} of {len(case['ys'][0])} random examples{stale}; "
                "compares the losses and every parameter after the loop")

    def initial_params(self, case):
        return [p.data for p in make_model(case).parameters()]

    def variant(self, got, case):
        if case["optimizer"] != "sgd":
            sgd = self.expected(dict(case, optimizer="sgd"))["params"]
            if all(np.allclose(g, p, rtol=1e-7, atol=1e-10) for g, p in zip(got["params"], sgd)):
                return LOOP_HINTS["ignored_optimizer"]
        if case["loss"] != "cross_entropy":
            other = self.expected(dict(case, loss="cross_entropy"))["params"]
            if all(np.allclose(g, p, rtol=1e-7, atol=1e-10) for g, p in zip(got["params"], other)):
                return LOOP_HINTS["ignored_loss"]
        want = self.expected(case)["losses"]
        if got["losses"] and want and not np.isclose(got["losses"][0], want[0], rtol=1e-7):
            return LOOP_HINTS["first_loss"]
        return None
