"""Checks for notebook 00, start here: the NumPy warm-ups (the exercises are in solutions/00_*.md).

Right answers come from the notebook's own solutions (``backprop_lab.references.nb00``).
"""
from __future__ import annotations

import numpy as np

from . import hints
from ._core import Exercise, Mismatch


def _close(got, want, rtol=1e-7, atol=1e-12) -> bool:
    return hints.close(got, want, rtol=rtol, atol=atol)


def _recognise(got, variants) -> str | None:
    return next((hint for value, hint in variants if _close(got, value)), None)


def value_hint(generic: str, fallback: str) -> str:
    """``hints.diagnose`` speaks of gradients in a graph (`+=` at forks, ``.grad``, "exactly r times" -- and
    any two single numbers have *some* ratio). For these plain-value warm-ups that misleads, so such a
    hint is replaced by the exercise's own ``fallback``; shape, sign, zeros, NaN and "hard-coded" hints stay."""
    if generic == hints.ZEROS:  # kept as it is: the "hard-coded" verdict must not replace it
        return generic
    if not generic or generic == hints.CLOSE or "`+=`" in generic or "times the expected" in generic or ".grad" in generic:
        return fallback
    return generic


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
            "entries (np.mean does both)."),
    "no_square": ("Square the differences before averaging: without the square, errors above and below the "
                  "target cancel out, and the loss can even be negative."),
    "abs": "That is the mean ABSOLUTE error; the mean squared error squares each difference: (pred - target)**2.",
    "rmse": "You took a square root at the end: that is the root mean squared error. Leave out np.sqrt.",
    "axis": ("Return one number: average over ALL entries (np.mean without an axis), not over one axis."),
    "half": ("You divided by 2 as well: some books use (1/2) * mean for a tidier derivative, but this exercise "
             "asks for the plain mean of the squared differences."),
    "square_of_mean": ("You squared the mean of the differences. Square each difference first, then average: "
                       "np.mean((pred - target) ** 2)."),
    "other": "Compute it in three steps: the differences pred - target, their squares, and the mean of those.",
}


class MeanSquaredError(Exercise):

    def cases(self, rng):
        fixed = [{"pred": np.array([1.0, 2.0, 3.0]), "target": np.array([0.5, 0.0, 5.0])},
                 {"pred": np.array([[0.5, -1.0], [2.0, 0.0]]), "target": np.array([[0.0, 1.0], [2.0, 3.0]])}]
        rand = [{"pred": np.round(rng.normal(size=s), 3), "target": np.round(rng.normal(size=s), 3)}
                for s in [(5,), (3, 4)]]
        return fixed + rand

    def run(self, obj, case):
        return _as_data(obj(case["pred"].copy(), case["target"].copy()))

    def compare(self, got, want, case):
        mismatch = hints.compare_values(got, want, rtol=self.rtol, atol=self.atol)
        if mismatch is None:
            return None
        if callable(got):
            return Mismatch(mismatch.message, "You returned a function, not its value: did you forget the () of a "
                                              "call, as in `.mean` instead of `.mean()`?")
        d = case["pred"] - case["target"]
        hint = _recognise(got, [
            (np.sum(d ** 2), MSE_HINTS["sum"]),
            (np.mean(d), MSE_HINTS["no_square"]),
            (np.mean(-d), MSE_HINTS["no_square"]),
            (np.mean(np.abs(d)), MSE_HINTS["abs"]),
            (np.sqrt(np.mean(d ** 2)), MSE_HINTS["rmse"]),
            (np.mean(d ** 2) / 2, MSE_HINTS["half"]),
            (np.mean(d) ** 2, MSE_HINTS["square_of_mean"]),
        ])
        if hint is None and isinstance(got, np.ndarray) and got.ndim >= 1:
            hint = MSE_HINTS["axis"]
        return Mismatch(mismatch.message, hint or value_hint(mismatch.hint, MSE_HINTS["other"]))


# ----------------------------------------------------------------------------- 00.2

STANDARDIZE_HINTS = {
    "rows": ("You standardised each ROW. Rows are examples and columns are features: compute the mean and "
             "standard deviation of each column with axis=0."),
    "global": ("You used one mean and one standard deviation for the whole array. Each column (feature) "
               "gets its own: X.mean(axis=0) and X.std(axis=0) have shape (n_features,)."),
    "center_only": "The columns have mean 0 but not standard deviation 1: divide by X.std(axis=0) as well.",
    "scale_only": "You divided by the standard deviation but did not subtract the mean first.",
    "ddof": ("You used the sample standard deviation (dividing by N - 1). This exercise uses np.std's "
             "default, ddof=0, which divides by N."),
    "variance": "You divided by the variance; divide by the standard deviation (its square root), X.std(axis=0).",
    "mixed": ("You mixed column statistics with statistics of the whole array: use the column mean AND the "
              "column standard deviation, X.mean(axis=0) and X.std(axis=0)."),
    "other": "Z = (X - X.mean(axis=0)) / X.std(axis=0): subtract each column's mean, then divide by its standard deviation.",
}

BROADCAST_HINT = ("Hint: X.mean(axis=1) has shape (N,), which does not line up with X's shape (N, D) under "
                  "broadcasting. Here you want the column statistics, X.mean(axis=0) with shape (D,), which "
                  "broadcast over the rows.")


class Standardize(Exercise):

    def cases(self, rng):
        fixed = [{"X": np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 60.0]])}]
        rand = [{"X": np.round(rng.normal(loc=rng.normal(size=s[1]) * 5, scale=rng.uniform(0.5, 3, size=s[1]),
                                          size=s), 3)} for s in [(5, 3), (4, 2), (6, 4)]]
        return fixed + rand

    def run(self, obj, case):
        try:
            return _as_data(obj(case["X"].copy()))
        except ValueError as exc:
            if "broadcast" in str(exc):
                exc.args = (f"{exc.args[0]}\n{BROADCAST_HINT}",)
            raise

    def compare(self, got, want, case):
        mismatch = hints.compare_values(got, want, rtol=self.rtol, atol=self.atol)
        if mismatch is None:
            return None
        X = case["X"]
        m0, s0 = X.mean(axis=0), X.std(axis=0)
        m1, s1 = X.mean(axis=1, keepdims=True), X.std(axis=1, keepdims=True)
        hint = _recognise(got, [
            ((X - m1) / s1, STANDARDIZE_HINTS["rows"]),
            ((X - X.mean()) / X.std(), STANDARDIZE_HINTS["global"]),
            (X - m0, STANDARDIZE_HINTS["center_only"]),
            (X / s0, STANDARDIZE_HINTS["scale_only"]),
            ((X - m0) / X.std(axis=0, ddof=1), STANDARDIZE_HINTS["ddof"]),
            ((X - m0) / X.var(axis=0), STANDARDIZE_HINTS["variance"]),
            ((X - m0) / X.std(), STANDARDIZE_HINTS["mixed"]),
            ((X - X.mean()) / s0, STANDARDIZE_HINTS["mixed"]),
        ])
        return Mismatch(mismatch.message, hint or value_hint(mismatch.hint, STANDARDIZE_HINTS["other"]))

    def describe(self, case):
        return f"X = {hints.short_repr(case['X'])}"


# ----------------------------------------------------------------------------- 00.3

COUNT_HINTS = {
    "no_bias": ("You counted the weights but not the biases: every layer also has one bias per output "
                "neuron, so a layer from n_in to n_out has n_in * n_out + n_out parameters."),
    "only_bias": "You counted only the biases; each layer also has an (n_in, n_out) weight matrix.",
    "add_not_mul": ("A weight matrix from n_in to n_out has n_in * n_out entries (one per connection), "
                    "not n_in + n_out."),
    "all_biases": ("You gave the input layer biases too: the inputs are data, not neurons. Biases belong to "
                   "the layers' outputs, sizes[1:]."),
    "not_int": "Return a whole number (an int): you cannot learn half a parameter.",
    "input_bias": ("You gave each layer one bias per INPUT; a bias belongs to each output neuron, so a layer "
                   "from n_in to n_out has n_in * n_out + n_out parameters."),
    "other": ("Go layer by layer over consecutive pairs (n_in, n_out) = zip(sizes[:-1], sizes[1:]) and add "
              "n_in * n_out + n_out for each. For [2, 3, 1]: (2*3 + 3) + (3*1 + 1) = 13."),
}


class CountParameters(Exercise):
    rtol, atol = 0.0, 0.0

    def cases(self, rng):
        fixed = [{"sizes": [2, 3, 1]}, {"sizes": [784, 64, 64, 10]}]
        rand = [{"sizes": [int(v) for v in rng.integers(1, 50, size=n)]} for n in (2, 4, 5)]
        return fixed + rand

    def run(self, obj, case):
        out = obj(list(case["sizes"]))
        return out if isinstance(out, (int, np.integer)) and not isinstance(out, bool) else _as_data(out)

    def compare(self, got, want, case):
        mismatch = hints.compare_values(got, want, rtol=0.0, atol=0.0)
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
            ])
            return Mismatch(mismatch.message, hint or value_hint(mismatch.hint, COUNT_HINTS["other"]))
        if not isinstance(got, (int, np.integer)):
            return Mismatch(f"expected the int {want}, received {type(got).__name__} {got!r}", COUNT_HINTS["not_int"])
        return None

    def describe(self, case):
        return f"sizes = {case['sizes']}"
