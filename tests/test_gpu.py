"""The same rules on CuPy arrays, against the CPU results. Skipped without CuPy and a GPU (CI has none)."""
import numpy as np
import pytest

import backprop_lab as bl

pytestmark = pytest.mark.skipif(not bl.backend.cuda_available(), reason="needs CuPy and an NVIDIA GPU")

CASES = {
    "arith": lambda a, b: (a * b + a / (b * b + 1.0) - b) ** 2,
    "exp_log_tanh": lambda a, b: (a.exp() + 1.0).log() * b.tanh(),
    "relu_max": lambda a, b: bl.maximum(a.relu(), b).max(axis=1).sum(),
    "matmul": lambda a, b: a @ b.T,
    "reductions": lambda a, b: a.sum(axis=0) * b.mean(axis=0) + a.var(axis=1).sum(),
    "shapes": lambda a, b: a.T.reshape(-1) * b.transpose().flatten(),
    "getitem": lambda a, b: a[[0, 0, 2]].sum(axis=0) + b[1:].sum(axis=0),
    "softmax": lambda a, b: a.softmax(axis=1) * b.log_softmax(axis=1),
    "einsum": lambda a, b: bl.einsum("ij,kj->ik", a, b),
    "cross_entropy": lambda a, b: bl.nn.cross_entropy(a @ b.T, np.array([0, 1, 2])),
    # issue 17's rules and composites
    "sigmoid_trig": lambda a, b: a.sigmoid() * b.sin() + a.cos() * b.erf(),
    "log1p_expm1": lambda a, b: (a * a).log1p() + b.expm1() + a.softplus() + b.gelu(),
    "min_prod_cumsum": lambda a, b: bl.minimum(a, b).min(axis=0) + a.prod(axis=1).sum() + b.cumsum(axis=1).sum(),
    "where_masks": lambda a, b: bl.where(a > b, a, b * 2.0) * (a != 0) + a.clip(-0.5, 0.5),
    "cat_pad_stack": lambda a, b: bl.cat([a, b], axis=1).pad(((1, 0), (0, 2))).sum() + bl.stack([a, b]).sum(),
    "cast_split": lambda a, b: a.float().double() * b.split(2, axis=1)[0].sum(),
    "losses": lambda a, b: bl.nn.cross_entropy(a, np.array([0, 3, 1]), label_smoothing=0.1, reduction="sum")
    + bl.nn.binary_cross_entropy_with_logits(a, b.sigmoid()),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_on_gpu_matches_cpu(name):
    rng = np.random.default_rng(0)
    a_np, b_np = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    results = []
    for device in ("cpu", "cuda"):
        a = bl.Tensor(a_np, requires_grad=True, device=device)
        b = bl.Tensor(b_np, requires_grad=True, device=device)
        out = CASES[name](a, b)
        out.sum().backward()
        assert a.device == device and out.device == device
        results.append((out.numpy(), bl.backend.to_numpy(a.grad), bl.backend.to_numpy(b.grad)))
    for cpu, gpu in zip(*results):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-10, atol=1e-12)


def test_module_to_cuda_trains():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 5)), rng.integers(0, 3, 64)
    model = bl.nn.MLP([5, 16, 3], rng=0).to("cuda")
    opt = bl.optim.Adam(model.parameters(), lr=0.01)
    xt = bl.Tensor(x, device="cuda")
    first = None
    for _ in range(50):
        opt.zero_grad()
        loss = bl.nn.cross_entropy(model(xt), y)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < first
