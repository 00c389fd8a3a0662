"""hints.diagnose and compare_values: each classic mistake is recognised from its fingerprint."""
from __future__ import annotations

import numpy as np
import pytest

import backprop_lab as bl
from backprop_lab.exercises import hints
from backprop_lab.exercises.hints import compare_values, diagnose

rng = np.random.default_rng(0)
A = rng.normal(size=(3, 4))
S = rng.normal(size=(3, 3))


@pytest.mark.parametrize("got, want, words", [
    (A.T, A, "transpose"),                                   # shapes swapped
    (S.T, S, "transpose"),                                   # square: same shape, values transposed
    (np.ones((2, 4, 3)), np.ones((2, 3, 4)), "transpose"),   # batched matmul
    (-A, A, "wrong sign"),
    (np.zeros_like(A), A, "all zeros"),
    (0.5 * A, A, "exactly 1/2 of the expected one"),
    (A / 3, A, "1/3"),
    (2 * A, A, "exactly 2 times"),
    (1.7 * A, A, "1.7 times"),
    (np.where(np.arange(12).reshape(3, 4) % 2 == 0, A, A / 4), A, "in 6 of 12 entries"),
    (np.array([np.nan, 1.0]), np.array([1.0, 1.0]), "NaN"),
    (A * (1 + 1e-4), A, "Close"),
])
def test_value_fingerprints(got, want, words):
    assert words in diagnose(got, want)


@pytest.mark.parametrize("got_shape, want_shape, words", [
    ((5, 4), (4,), "grad.sum(axis=0)"),                       # bias gradient not summed over the batch
    ((5, 4), (1, 4), "grad.sum(axis=0, keepdims=True)"),      # stretched size-1 axis
    ((2, 5, 4), (4,), "grad.sum(axis=(0, 1))"),               # two leading axes
    ((2, 5, 4), (5, 1), "grad.sum(axis=0).sum(axis=1, keepdims=True)"),  # both kinds
    ((4, 1), (4,), "keepdims=False"),
    ((4,), (4, 1), "keepdims=True"),
    ((), (3, 4), "reduced over every axis"),
    ((3,), (4,), "axis=0?"),                                  # reduced over the wrong axis of a (3, 4)
    ((3, 2), (3, 4), "axis=1?"),
    ((7, 7, 7, 7), (2,), "exactly the shape"),
])
def test_shape_fingerprints(got_shape, want_shape, words):
    hint = diagnose(np.ones(got_shape), np.ones(want_shape))
    assert words in hint, hint


def test_unrelated_wrong_answer_gets_no_made_up_hint():
    assert diagnose(rng.normal(size=(3, 4)), A) == ""


def test_compare_values_accepts_engine_objects_and_lists():
    assert compare_values(bl.Tensor(A), A) is None
    assert compare_values(bl.Value(2.0), 2.0) is None
    assert compare_values([1.0, 2.0], np.array([1.0, 2.0])) is None
    assert compare_values(A + 1e-12, A) is None


def test_compare_values_walks_nested_structures_and_says_where():
    want = {"dW": A, "db": (np.ones(4), 2.0)}
    m = compare_values({"dW": A, "db": (np.ones(4), -2.0)}, want)
    assert m.message.startswith("answer['db'][1]") and "wrong sign" in m.hint
    assert "missing keys ['db']" in compare_values({"dW": A}, want).message
    assert compare_values((A,), (A, A)).hint == hints.TYPE_HINT
    assert compare_values(None, (A, A)).hint == hints.NONE_HINT
    assert compare_values(None, 1.0).hint == hints.NONE_HINT
    assert compare_values("three", 3.0).hint == hints.TYPE_HINT


def test_mismatch_message_points_at_the_largest_difference():
    got = A.copy()
    got[2, 1] += 5
    m = compare_values(got, A)
    assert "index (2, 1)" in m.message


def test_suspects_give_their_own_hint_first():
    wrong = A.sum(axis=0)
    m = compare_values(wrong, A.sum(axis=0) * 0 + 1, suspects=[("summed the wrong axis", wrong)])
    assert m.hint == "summed the wrong axis"
    # suspects follow the structure of the answer
    m = compare_values((1.0, wrong), (1.0, np.ones(4)), suspects=[("axis!", (1.0, wrong))])
    assert m.hint == "axis!"


def test_short_repr_never_shows_a_small_nonzero_entry_as_zero():
    assert hints.short_repr(np.array([4e-5, 2.5e-4, 1e-3])) == "array(3,): [4.0e-05, 2.5e-04, 1.0e-03]"
    assert hints.short_repr(np.array([0.1, 2.0, 0.0])) == "array(3,): [0.1, 2. , 0. ]"   # fixed-point otherwise


def test_short_repr_is_bounded_and_readable():
    big = np.arange(10000.0).reshape(100, 100)
    text = hints.short_repr({"x": big, "f": np.sin, "s": "hi"})
    assert len(text) <= 300 and "array(100, 100)" in text and "f=sin" in text
    assert hints.short_repr(np.float64(1 / 3)) == "0.333333"


def test_same_is_exact_and_structural():
    assert hints.same((A, 1.0), (A.copy(), 1.0))
    assert not hints.same((A, 1.0), (A, 1.0 + 1e-15))
    assert not hints.same(A, A.T)
    assert hints.same({"a": [1, 2]}, {"a": [1, 2]}) and not hints.same({"a": 1}, {"b": 1})


def test_is_specific_separates_concrete_hints_from_vague_ones():
    assert hints.is_specific(hints.ZEROS) and hints.is_specific(diagnose(np.ones((5, 4)), np.ones(4)))
    assert not hints.is_specific(hints.CLOSE) and not hints.is_specific("")
