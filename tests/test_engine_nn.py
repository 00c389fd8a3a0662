"""Layers, losses and optimizers: formulas, stability, an MLP that learns, and PyTorch as an optional oracle."""
import numpy as np
import pytest

import backprop_lab as bl


def test_linear_shapes_init_and_seed_004_example():
    lin = bl.nn.Linear(2, 2)
    lin.W = bl.Tensor([[0.1, 0.2], [0.3, 0.4]], requires_grad=True)
    lin.b = bl.Tensor([0.5, 0.6], requires_grad=True)
    x = bl.Tensor([[1.0, 2.0], [3.0, 4.0]])
    y = lin(x)
    np.testing.assert_allclose(y.data, [[1.2, 1.6], [2.0, 2.8]])
    loss = bl.nn.mse_loss(y, np.ones((2, 2)))
    loss.backward()
    dy = 2 * (y.data - 1) / 4
    np.testing.assert_allclose(lin.W.grad, x.data.T @ dy)
    np.testing.assert_allclose(lin.b.grad, dy.sum(axis=0))
    assert [p.label for p in bl.nn.Linear(2, 2).parameters()] == ["W", "b"]


def test_linear_init_is_seeded_and_scaled():
    a = bl.nn.Linear(400, 300, rng=0)
    b = bl.nn.Linear(400, 300, rng=0)
    np.testing.assert_array_equal(a.W.data, b.W.data)
    assert abs(a.W.data.std() - np.sqrt(2 / 400)) < 0.01
    g = bl.nn.Linear(400, 300, rng=0, init="glorot")
    assert abs(g.W.data.std() - np.sqrt(2 / 700)) < 0.01
    with pytest.raises(ValueError, match="use 'he'"):
        bl.nn.Linear(2, 2, init="xavier")
    with pytest.raises(ValueError, match=r"input has shape \(3, 5\), its last axis must be 4"):
        bl.nn.Linear(4, 2)(bl.Tensor(np.ones((3, 5))))


def test_mlp_structure_and_parameters():
    mlp = bl.nn.MLP([3, 5, 4, 2], rng=0)
    kinds = [type(layer).__name__ for layer in mlp.layers]
    assert kinds == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert len(mlp.parameters()) == 6
    out = mlp(bl.Tensor(np.ones((7, 3))))
    assert out.shape == (7, 2)
    out.sum().backward()
    assert all(p.grad is not None for p in mlp.parameters())
    mlp.zero_grad()
    assert all(p.grad is None for p in mlp.parameters())
    assert isinstance(bl.nn.MLP([2, 3, 1], activation=bl.nn.Tanh).layers[1], bl.nn.Tanh)


def test_mlp_gradients_match_central_differences():
    mlp = bl.nn.MLP([3, 4, 2], activation=bl.nn.Tanh, rng=1)
    x = np.random.default_rng(0).normal(size=(5, 3))
    labels = np.array([0, 1, 1, 0, 1])
    W1, b1, W2, b2 = mlp.parameters()

    def loss(W1, b1, W2, b2):
        h = (bl.Tensor(x) @ W1 + b1).tanh()
        return bl.nn.cross_entropy(h @ W2 + b2, labels)

    assert bl.gradcheck(loss, W1, b1, W2, b2)


def test_cross_entropy_is_stable_and_correct():
    logits = bl.Tensor([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4 - 1]], requires_grad=True)
    loss = bl.nn.cross_entropy(logits, np.array([0, 2]))
    assert np.isfinite(loss.item())
    np.testing.assert_allclose(loss.item(), (0.0 + (1.0 + np.log1p(np.exp(-1.0)))) / 2)
    loss.backward()
    assert np.all(np.isfinite(logits.grad))
    # the combined gradient (p - y) / N
    x = bl.Tensor(np.random.default_rng(0).normal(size=(4, 3)), requires_grad=True)
    y = np.array([0, 2, 1, 2])
    bl.nn.cross_entropy(x, y).backward()
    p = np.exp(x.data) / np.exp(x.data).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(x.grad, (p - np.eye(3)[y]) / 4)
    # same value as the composite through log_softmax
    np.testing.assert_allclose(bl.nn.cross_entropy(x, y).item(),
                               (-x.log_softmax(axis=1)[np.arange(4), y].mean()).item())
    assert bl.gradcheck(lambda x: bl.nn.cross_entropy(x, y), x)
    assert bl.gradcheck(lambda x: x.log_softmax(axis=1), x)
    assert np.all(np.isfinite(bl.Tensor([[1e4, -1e4]]).log_softmax().data))


@pytest.mark.parametrize("labels,error,message", [
    (np.array([0.0, 2.0]), TypeError, r"integer class ids of shape \(2,\).*dtype float64"),
    (np.eye(3)[[0, 1]][:, :2], TypeError, "or give class probabilities with the logits' shape"),
    (np.array([0, 3]), ValueError, r"must lie in \[0, 3\)"),
    (np.array([0]), ValueError, r"must have shape \(2,\)"),
    (np.array([0, 1]), ValueError, r"reduction='avg'.*mean"),
])
def test_cross_entropy_errors(labels, error, message):
    reduction = "avg" if "reduction" in message else "mean"
    with pytest.raises(error, match=message):
        bl.nn.cross_entropy(bl.Tensor(np.zeros((2, 3))), labels, reduction=reduction)


def test_cross_entropy_one_hot_rows_are_class_probabilities_as_in_pytorch():
    x = bl.Tensor(np.random.default_rng(0).normal(size=(2, 3)))
    np.testing.assert_allclose(bl.nn.cross_entropy(x, np.eye(3)[[0, 2]]).item(),
                               bl.nn.cross_entropy(x, np.array([0, 2])).item())


def test_mse_loss_value_and_shape_error():
    pred = bl.Tensor([[1.0], [3.0]], requires_grad=True)
    loss = bl.nn.mse_loss(pred, np.array([[0.0], [1.0]]))
    assert loss.item() == pytest.approx((1 + 4) / 2)
    with pytest.raises(ValueError, match=r"reshape the target, e.g. y.reshape\(-1, 1\)"):
        bl.nn.mse_loss(pred, np.array([0.0, 1.0]))


def test_sgd_momentum_weight_decay_matches_formula():
    p = bl.Tensor([1.0, -2.0], requires_grad=True)
    opt = bl.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    v = np.zeros(2)
    expected = p.data.copy()
    for step in range(3):
        g = np.array([0.5, -1.0]) * (step + 1)
        p.grad = g.copy()
        opt.step()
        gd = g + 0.01 * expected
        v = gd if step == 0 else 0.9 * v + gd
        expected = expected - 0.1 * v
        np.testing.assert_allclose(p.data, expected)


def test_adam_matches_algorithm_1_with_bias_correction():
    p = bl.Tensor([1.0, -2.0], requires_grad=True)
    opt = bl.optim.Adam([p], lr=0.01)
    m = v = np.zeros(2)
    expected = p.data.copy()
    for t in range(1, 4):
        g = np.array([0.3, -0.7]) * t
        p.grad = g.copy()
        opt.step()
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        expected = expected - 0.01 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        np.testing.assert_allclose(p.data, expected)
    # the first step of Adam moves every parameter by about lr, whatever the gradient's scale
    q = bl.Tensor([1.0], requires_grad=True)
    q.grad = np.array([1e-6])
    bl.optim.Adam([q], lr=0.01).step()
    assert q.data[0] == pytest.approx(0.99, rel=1e-3)


def test_optimizer_errors_and_zero_grad():
    with pytest.raises(ValueError, match="empty parameter list"):
        bl.optim.SGD([], lr=0.1)
    p = bl.Tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="learning rate must be positive"):
        bl.optim.Adam([p], lr=0)
    p.grad = np.ones(1)
    bl.optim.SGD([p], lr=0.1).zero_grad()
    assert p.grad is None


def test_mlp_learns_synthetic_classification():
    rng = np.random.default_rng(0)
    n = 600
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = np.where(np.arange(n) < n // 2, 1.0, 2.5) + rng.normal(0, 0.2, n)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    y = (np.arange(n) >= n // 2).astype(np.int64)
    model = bl.nn.MLP([2, 32, 32, 2], rng=0)
    opt = bl.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(150):
        opt.zero_grad()
        loss = bl.nn.cross_entropy(model(bl.Tensor(x)), y)
        loss.backward()
        opt.step()
    with bl.no_grad():
        accuracy = (model(bl.Tensor(x)).data.argmax(axis=1) == y).mean()
    assert accuracy >= 0.95


def test_against_pytorch_when_installed():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3))
    W = rng.normal(size=(3, 5))
    y = np.array([0, 4, 2, 1])
    xb, Wb = bl.Tensor(x, requires_grad=True), bl.Tensor(W, requires_grad=True)
    loss = bl.nn.cross_entropy((xb @ Wb).tanh() * 2.0, y)
    loss.backward()
    xt = torch.tensor(x, requires_grad=True)
    Wt = torch.tensor(W, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(torch.tanh(xt @ Wt) * 2.0, torch.tensor(y))
    lt.backward()
    np.testing.assert_allclose(loss.item(), lt.item())
    np.testing.assert_allclose(xb.grad, xt.grad.numpy())
    np.testing.assert_allclose(Wb.grad, Wt.grad.numpy())


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, backprop_lab; print(any(m in sys.modules for m in ('matplotlib', 'ipywidgets', 'torch')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
