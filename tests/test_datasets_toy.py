"""The seeded toy data sets: shapes and dtypes, reproducibility, and that each has the geometry it claims."""
import numpy as np
import pytest

from backprop_lab.datasets import blobs, regression_1d, regression_curve, spirals, two_moons

CLASSIFIERS = [
    (two_moons, {"n": 101}, 101, 2),
    (spirals, {"n_per_class": 50, "k": 4}, 200, 4),
    (blobs, {"n": 301, "centers": 3}, 301, 3),
]


@pytest.mark.parametrize("make, kwargs, n, k", CLASSIFIERS)
def test_classification_sets_shapes_dtypes_and_balance(make, kwargs, n, k):
    x, y = make(**kwargs)
    assert x.shape == (n, 2) and x.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=k)
    assert len(counts) == k and counts.max() - counts.min() <= 1
    assert np.all(np.isfinite(x))


@pytest.mark.parametrize("make, kwargs, n, k", CLASSIFIERS)
def test_same_seed_same_data_other_seed_other_data(make, kwargs, n, k):
    x0, y0 = make(**kwargs)
    x1, y1 = make(**kwargs, rng=0)
    x2, _ = make(**kwargs, rng=1)
    x3, _ = make(**kwargs, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(x0, x1)
    np.testing.assert_array_equal(y0, y1)
    np.testing.assert_array_equal(x0, x3)
    assert not np.allclose(x0, x2)


@pytest.mark.parametrize("make, kwargs, n, k", CLASSIFIERS)
def test_points_come_shuffled(make, kwargs, n, k):
    _, y = make(**kwargs)
    assert len(np.unique(y[: n // 4])) == k  # a first quarter holding every class is no sorted list


def test_noiseless_moons_lie_on_their_arcs():
    x, y = two_moons(400, noise=0.0)
    upper, lower = x[y == 0], x[y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)
    assert upper[:, 1].min() >= 0 and lower[:, 1].max() <= 0.5


def test_moons_are_not_linearly_separable():
    x, y = two_moons(400, noise=0.0)
    features = np.column_stack([x, np.ones(len(x))])
    w, *_ = np.linalg.lstsq(features, 2.0 * y - 1, rcond=None)  # the best straight line, by least squares
    accuracy = np.mean((features @ w > 0) == (y == 1))
    assert 0.75 < accuracy < 0.95


def test_noiseless_spiral_arms_follow_their_angle():
    k, turns = 3, 0.875
    x, y = spirals(60, k, noise=0.0, turns=turns)
    r = np.hypot(*x.T)
    assert r.max() == pytest.approx(1.0) and r.min() == 0.0
    angle = 2 * np.pi * (y / k + turns * r)
    np.testing.assert_allclose(x, r[:, None] * np.column_stack([np.cos(angle), np.sin(angle)]), atol=1e-12)


def test_spirals_need_two_classes():
    with pytest.raises(ValueError, match="k >= 2"):
        spirals(10, k=1)


def test_blobs_cluster_around_their_centers():
    centers = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 5.0]])
    x, y = blobs(3000, centers, std=0.5, rng=3)
    assert x.shape == (3000, 3)
    for j, c in enumerate(centers):
        np.testing.assert_allclose(x[y == j].mean(axis=0), c, atol=0.06)
        np.testing.assert_allclose(x[y == j].std(axis=0), 0.5, rtol=0.08)


def test_blobs_default_centers_sit_on_a_circle():
    x, y = blobs(6000, 4, std=0.1, radius=3.0)
    means = np.array([x[y == j].mean(axis=0) for j in range(4)])
    np.testing.assert_allclose(np.hypot(*means.T), 3.0, atol=0.02)
    np.testing.assert_allclose(means[1], [0.0, 3.0], atol=0.02)


def test_blobs_reject_a_bad_center_array():
    with pytest.raises(ValueError, match=r"shape \(k, dim\)"):
        blobs(10, np.zeros(3))


def test_regression_is_a_noisy_sorted_column_around_the_curve():
    x, y = regression_1d(5000, noise=0.2, x_range=(-2.0, 1.0), rng=7)
    assert x.shape == (5000, 1) and y.shape == (5000, 1) and x.dtype == y.dtype == np.float64
    assert np.all(np.diff(x[:, 0]) >= 0) and -2.0 <= x.min() and x.max() <= 1.0
    residual = y - regression_curve(x)
    assert abs(residual.mean()) < 0.01 and residual.std() == pytest.approx(0.2, rel=0.05)
    np.testing.assert_array_equal(regression_1d(50, noise=0.0)[1], regression_curve(regression_1d(50)[0]))


def test_regression_curve_is_not_a_line():
    x, y = regression_1d(200, noise=0.0)
    features = np.column_stack([x, np.ones_like(x)])
    w, *_ = np.linalg.lstsq(features, y, rcond=None)
    assert np.mean((features @ w - y) ** 2) > 0.1
