"""Checks for notebook 00, start here: the NumPy warm-ups (the exercises are in solutions/00_*.md).

Right answers come from the notebook's own solutions (``backprop_lab.references.nb00``).
"""
from __future__ import annotations

import numpy as np

from . import hints
from .framework import Exercise, Mismatch


def _close(got, want, rtol=1e-7, atol=1e-12) -> bool:
    return hints.close(got, want, rtol=rtol, atol=atol)


def _recognise(got, variants) -> str | None:
    return next((hint for value, hint in variants if _close(got, value)), None)




def _as_data(value):
    """The learner's answer as plain data: a float for a number, an array for an array (None stays None)."""
    if value is None:  # a missing `return`: compare says so, instead of seeing NaN
        return None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return value
    return float(arr) if arr.shape == () else arr


# ----------------------------------------------------------------------------- 00.1

MSE_HINTS = {
    "sum": ("You summed the squared differences; the MEAN squared error divides that sum by the number of "
            "entries."),
    "no_square": ("Square the differences before averaging: without the square, errors above and below the "
                  "target cancel out, and the loss can even be negative."),
    "abs": ("That is the mean ABSOLUTE error. The mean squared error squares each difference instead of taking "
            "its absolute value."),
    "rmse": "You took a square root at the end: that is the root mean squared error, a different quantity.",
    "axis": "Return one number: the average over ALL entries, not one average per row or per column.",
    "unreduced": ("You returned the squared differences, one per entry: the mean squared error is their average, "
                  "one number."),
    "rows": ("You divided by len(pred), which for a 2-D array is the number of ROWS, not of entries: the mean "
             "divides the sum of the squared differences by the number of ALL entries, whatever the shape."),
    "half": ("You divided by 2 as well: some books use (1/2) * mean for a tidier derivative, but this exercise "
             "asks for the plain mean of the squared differences."),
    "square_of_mean": ("You squared the mean of the differences. The order matters: the mean of the squares is "
                       "not the square of the mean (errors of opposite sign cancel in the mean)."),
    "other": ("Work the example of the text by hand and with your function (it must give 2.75): which "
              "differences, squared how, averaged over how many entries?"),
    "variance": ("That is the variance of the differences (np.var, or np.std squared): it subtracts their mean before "
                 "squaring them. The mean squared error squares each difference pred - target as it is."),
    "one_entry": ("Return one number, not a list or an array holding one: the notebook computes with your mse and "
                  "prints it as a number."),
    "function": "You returned a function, not its value: did you forget the () of a call, as in `.mean` instead of `.mean()`?",
}


class MeanSquaredError(Exercise):

    def cases(self, rng):
        fixed = [{"pred": np.array([1.0, 2.0, 3.0]), "target": np.array([0.5, 0.0, 5.0])},
                 {"pred": np.array([[0.5, -1.0], [2.0, 0.0]]), "target": np.array([[0.0, 1.0], [2.0, 3.0]])}]
        rand = [{"pred": np.round(rng.normal(size=s), 3), "target": np.round(rng.normal(size=s), 3)}
                for s in [(5,), (3, 4)]]
        return fixed + rand

    def run(self, obj, case):
        pred, target = case["pred"].copy(), case["target"].copy()
        out = _as_data(obj(pred, target))
        return _changed(out, pred, case["pred"], target, case["target"], names=("pred", "target"))

    def compare(self, got, want, case):
        if _is_changed(got):
            what = _changed_names(got)
            return Mismatch(f"mse changed the {what} it was given", CHANGED_HINT.format(what=what))
        mismatch = hints.compare_values(got, want, rtol=self.rtol, atol=self.atol)
        if mismatch is None:
            return None
        if callable(got):
            return Mismatch(mismatch.message, MSE_HINTS["function"])
        d = case["pred"] - case["target"]
        hint = _recognise(got, [
            (np.sum(d ** 2), MSE_HINTS["sum"]),
            (np.mean(d), MSE_HINTS["no_square"]),
            (np.mean(-d), MSE_HINTS["no_square"]),
            (np.mean(np.abs(d)), MSE_HINTS["abs"]),
            (np.sqrt(np.mean(d ** 2)), MSE_HINTS["rmse"]),
            (np.mean(d ** 2) / 2, MSE_HINTS["half"]),
            (np.mean(d) ** 2, MSE_HINTS["square_of_mean"]),
            (np.sum(d ** 2) / len(d), MSE_HINTS["rows"]),
            (np.var(d), MSE_HINTS["variance"]),
        ])
        if hint is None and np.size(got) == 1 and np.ndim(got) >= 1 and _close(np.ravel(got)[0], want):
            hint = MSE_HINTS["one_entry"]
        if hint is None and _close(got, d ** 2):
            hint = MSE_HINTS["unreduced"]
        if hint is None and isinstance(got, np.ndarray) and got.ndim >= 1:
            hint = MSE_HINTS["axis"]
        return Mismatch(mismatch.message, hint or hints.plain_value_hint(mismatch.hint, MSE_HINTS["other"]))


# ----------------------------------------------------------------------------- changed inputs (00.1-00.3)

CHANGED_HINT = ("Your function changed the {what} it was given, in place (`-=`, `/=`, `[...] =`, `.pop()`, "
                "... on an argument write into the caller's object): the caller's data is lost, and a notebook "
                "cell that uses it afterwards sees other numbers. Leave the argument as it is and build the "
                "result as a new object.")


def _changed(out, *pairs, names=()):
    """``out``, or a marker holding it when one of the (given, original) pairs differs: the input was changed.

    ``names`` are the arguments' names, in the order of the pairs; the marker lists those that changed.
    """
    changed = [name for name, given, original in zip(names or [""] * len(pairs), pairs[::2], pairs[1::2])
               if not (np.shape(given) == np.shape(original) and np.array_equal(given, original))]
    return {"changed_input": True, "answer": out, "which": [n for n in changed if n]} if changed else out


def _changed_names(got) -> str:
    """'array pred', 'arrays pred and target': the arguments a marker of ``_changed`` says were changed."""
    which = got.get("which") or []
    return ("array " + which[0]) if len(which) == 1 else "arrays " + " and ".join(which) if which else "arrays"


def _is_changed(got) -> bool:
    return isinstance(got, dict) and got.get("changed_input") is True


ARRAY_TYPE_HINT = ("Return a NumPy array, not a {type}: the notebook computes with your answer afterwards "
                   "(the means and standard deviations of its columns), which a {type} cannot do.")


# ----------------------------------------------------------------------------- 00.2

STANDARDIZE_HINTS = {
    "rows": ("You standardised each ROW. Rows are examples and columns are features: each column needs its own "
             "mean and standard deviation, computed down that column (over the rows)."),
    "global": ("You used one mean and one standard deviation for the whole array. Each column (feature) "
               "gets its own: reduce over the rows only."),
    "center_only": "The columns have mean 0 but not standard deviation 1: the scaling step is missing.",
    "scale_only": "You divided by the standard deviation but did not subtract the mean first.",
    "ddof": ("You used the sample standard deviation (dividing by N - 1). This exercise uses np.std's "
             "default, ddof=0, which divides by N."),
    "variance": "You divided by the variance; the standard deviation is its square root.",
    "precedence": ("Operator precedence: `/` binds tighter than `-`, so `X - m / s` divides only the mean by the "
                   "standard deviation. The whole difference X - mean must be divided."),
    "truncated": ("Your answer holds whole numbers only: the array you wrote the results into has X's integer "
                  "dtype (an array made with empty_like or zeros_like of X copies X's dtype), so every float "
                  "stored in it was cut to an integer. The result must be a float array."),
    "mixed": ("You mixed column statistics with statistics of the whole array: the mean AND the standard "
              "deviation must both be those of each column."),
    "other": ("Check your result column by column on the example of the text: each column of Z must have mean 0 "
              "and standard deviation 1 (np.std's default, dividing by N)."),
    "transposed": ("Your answer has shape {got}, X's shape {want} turned around: a transpose crept in (X.T, or "
                   "statistics of the rows broadcast against X.T). Z keeps X's layout, one row per example and one "
                   "column per feature."),
}

BROADCAST_HINT = ("Hint: a statistic over axis=1 has one number per ROW, shape (N,), and that does not line up with "
                  "X's shape (N, D) under broadcasting (shapes are matched from the right). Which axis must a "
                  "reduction collapse to leave one number per column?")

INPLACE_CAST_HINT = ("You changed X in place (`X -= ...` or `X /= ...`): for an integer array NumPy cannot even "
                     "store the float result in it, and for a float array the caller's data would be lost. "
                     "Leave X as it is and build the result as a new array.")


class Standardize(Exercise):

    def cases(self, rng):
        # the text's example, with integer entries as written there (a new array is float)
        fixed = [{"X": np.array([[1, 10], [2, 20], [3, 60]])},
                 {"X": np.array([[1.0, 4.0, -2.0], [3.0, 0.0, 5.0], [8.0, 2.0, 6.5]])}]   # square
        rand = [{"X": np.round(rng.normal(loc=rng.normal(size=s[1]) * 5, scale=rng.uniform(0.5, 3, size=s[1]),
                                          size=s), 3)} for s in [(5, 3), (4, 2), (6, 4)]]
        return fixed + rand

    def run(self, obj, case):
        X = case["X"].copy()
        try:
            raw = obj(X)
            if isinstance(raw, (list, tuple)):
                return {"wrong_type": type(raw).__name__}
            out = _as_data(raw)
        except ValueError as exc:
            if "broadcast" in str(exc):
                exc.args = (f"{exc.args[0]}\n{BROADCAST_HINT}",)
            raise
        return _changed(out, X, case["X"], names=("X",))

    def error_hint(self, exc):
        if "Cannot cast ufunc" in str(exc) or "same_kind" in str(exc):
            return INPLACE_CAST_HINT
        if BROADCAST_HINT in str(exc):   # run() has said it, for this exercise: no second, generic hint
            return ""
        return super().error_hint(exc)

    def compare(self, got, want, case):
        if _is_changed(got):
            return Mismatch("standardize changed the array X it was given", CHANGED_HINT.format(what="array X"))
        if isinstance(got, dict) and "wrong_type" in got:
            return Mismatch(f"expected a NumPy array, received a {got['wrong_type']}",
                            ARRAY_TYPE_HINT.format(type=got["wrong_type"]))
        mismatch = hints.compare_values(got, want, rtol=self.rtol, atol=self.atol)
        if mismatch is None:
            return None
        X = np.asarray(case["X"], dtype=np.float64)
        m0, s0 = X.mean(axis=0), X.std(axis=0)
        m1, s1 = X.mean(axis=1, keepdims=True), X.std(axis=1, keepdims=True)
        variants = [
            ((X - m1) / s1, STANDARDIZE_HINTS["rows"]),
            ((X - X.mean()) / X.std(), STANDARDIZE_HINTS["global"]),
            (X - m0, STANDARDIZE_HINTS["center_only"]),
            (X / s0, STANDARDIZE_HINTS["scale_only"]),
            ((X - m0) / X.std(axis=0, ddof=1), STANDARDIZE_HINTS["ddof"]),
            ((X - m0) / X.var(axis=0), STANDARDIZE_HINTS["variance"]),
            ((X - m0) / X.std(), STANDARDIZE_HINTS["mixed"]),
            ((X - X.mean()) / s0, STANDARDIZE_HINTS["mixed"]),
            (X - m0 / s0, STANDARDIZE_HINTS["precedence"]),
        ]
        if np.issubdtype(case["X"].dtype, np.integer):   # results written into an integer array are truncated
            variants.append((np.trunc(np.asarray(want, dtype=np.float64)), STANDARDIZE_HINTS["truncated"]))
        if X.shape[0] == X.shape[1]:  # a square X broadcasts row statistics along the wrong axis without an error
            variants.append(((X - m1.ravel()) / s1.ravel(), STANDARDIZE_HINTS["rows"]))
        hint = _recognise(got, variants)
        if hint is None and np.shape(got) == X.shape[::-1] and X.shape[0] != X.shape[1]:
            hint = STANDARDIZE_HINTS["transposed"].format(got=np.shape(got), want=X.shape)
        return Mismatch(mismatch.message, hint or hints.plain_value_hint(mismatch.hint, STANDARDIZE_HINTS["other"]))

    def describe(self, case):
        return f"X = {hints.short_repr(case['X'])}"


# ----------------------------------------------------------------------------- 00.3

COUNT_HINTS = {
    "no_bias": ("You counted the weights but not the biases: every layer also has one bias per output "
                "neuron."),
    "only_bias": "You counted only the biases; each layer also has a weight matrix, one weight per connection.",
    "add_not_mul": ("A weight matrix has one entry per connection, and every input of a layer is connected to "
                    "every output: that is not n_in + n_out connections."),
    "all_biases": ("You gave the input layer biases too: the inputs are data, not neurons. Biases belong to "
                   "the neurons a layer computes."),
    "not_int": "Return a whole number (an int): you cannot learn half a parameter.",
    "missing_layer": ("You left out a layer: a list of k sizes describes k - 1 layers, one per pair of consecutive "
                      "sizes, the first and the last pair included."),
    "input_bias": ("You gave each layer one bias per INPUT; a bias belongs to each output neuron of the "
                   "layer."),
    "other": ("Count by hand for [2, 3, 1] (13) and [2, 16, 16, 1] (337, worked out in the text) and compare with "
              "your function: one layer per pair of consecutive sizes, and each layer has weights and biases."),
}


class CountParameters(Exercise):
    rtol, atol = 0.0, 0.0

    def cases(self, rng):
        # the text's worked example first: on it a missing layer and missing biases give different counts
        fixed = [{"sizes": [2, 16, 16, 1]}, {"sizes": [2, 3, 1]}, {"sizes": [784, 64, 64, 10]}, {"sizes": [3, 5]}]
        rand = [{"sizes": [int(v) for v in rng.integers(1, 50, size=n)]} for n in (2, 4, 5)]
        return fixed + rand

    def run(self, obj, case):
        sizes = list(case["sizes"])
        out = obj(sizes)
        out = out if isinstance(out, (int, np.integer)) and not isinstance(out, bool) else _as_data(out)
        return _changed(out, sizes, case["sizes"], names=("sizes",))

    def compare(self, got, want, case):
        if _is_changed(got):
            return Mismatch("count_parameters changed the list sizes it was given", CHANGED_HINT.format(what="list sizes"))
        mismatch = hints.compare_values(got, want, rtol=0.0, atol=0.0)
        if mismatch is not None and isinstance(got, (int, np.integer)):   # say 304, not the float 304.
            mismatch = Mismatch(f"answer: expected {want}, received {got}", mismatch.hint)
        if mismatch is not None:
            s = case["sizes"]
            pairs = list(zip(s[:-1], s[1:]))
            hint = _recognise(got, [
                (sum(i * o for i, o in pairs), COUNT_HINTS["no_bias"]),
                (sum(o for i, o in pairs), COUNT_HINTS["only_bias"]),
                (sum(i + o for i, o in pairs), COUNT_HINTS["add_not_mul"]),
                (sum(i + o + o for i, o in pairs), COUNT_HINTS["add_not_mul"]),
                (want + s[0], COUNT_HINTS["all_biases"]),
                (sum(i * o + i for i, o in pairs), COUNT_HINTS["input_bias"]),
                (sum(i * o + o for i, o in pairs[:-1]), COUNT_HINTS["missing_layer"]),
                (sum(i * o + o for i, o in pairs[1:]), COUNT_HINTS["missing_layer"]),
            ])
            return Mismatch(mismatch.message, hint or hints.plain_value_hint(mismatch.hint, COUNT_HINTS["other"]))
        if not isinstance(got, (int, np.integer)):
            return Mismatch(f"expected the int {want}, received {type(got).__name__} {got!r}", COUNT_HINTS["not_int"])
        return None

    def describe(self, case):
        return f"sizes = {case['sizes']}"
