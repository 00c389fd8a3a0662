"""Notebook 08 trains on a learner's own pieces of notebook 07, answers that pass their checks but are written
differently from the course's (issue 15, section 3): the layer, the loss and the optimizer steps it carries
over from 07 (``bl.exercises.carried``) must build and train the network without a crash.

The notebook's cells that build the network from those pieces are run here, on a progress file that holds these
answers, as a learner who passed notebook 07 in the same folder has it.
"""
import re

import nbformat
import numpy as np
import pytest

import backprop_lab as bl
from answer_scan import ROOT
from backprop_lab.exercises import check
from backprop_lab.references import nb08


class LinearFn(bl.Function):
    """y = x @ W + b; the gradient of b is left to the engine's unbroadcast, as exercise 07.1 allows."""

    @staticmethod
    def forward(ctx, x, W, b):
        ctx.save_for_backward(x, W)
        return np.matmul(x, W) + b

    @staticmethod
    def backward(ctx, g):
        x, W = ctx.saved
        return np.matmul(g, W.T), np.matmul(x.T, g), g


def cross_entropy(logits, labels):
    """log-sum-exp with np.logaddexp, a NumPy float as the result."""
    lse = np.logaddexp.reduce(logits, axis=1)
    return np.mean(lse - logits[np.arange(len(labels)), labels])


def momentum_step(p, grad, v, lr, momentum):
    v_new = grad + momentum * v
    return p - v_new * lr, v_new


def adam_step(p, grad, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    m = m + (1 - beta1) * (grad - m)
    v = v + (1 - beta2) * (grad * grad - v)
    step = lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
    return p - step, m, v


def _cell(nb, needle):
    return next(c.source for c in nb.cells if c.cell_type == "code" and needle in c.source)


@pytest.fixture
def notebook_pieces(tmp_path, monkeypatch, capsys):
    """The namespace of notebook 08 after its cell that builds the network from the learner's pieces of 07."""
    monkeypatch.setenv("BACKPROP_LAB_PROGRESS", str(tmp_path / ".backprop_lab_progress.json"))
    for xid, answer in [("07.1", LinearFn), ("07.3", cross_entropy), ("07.4", momentum_step), ("07.5", adam_step)]:
        assert check(xid, answer).passed                       # a right answer, recorded as a learner's is
    nb = nbformat.read(str(ROOT / "solutions" / "08_mnist_mlp.ipynb"), as_version=4)
    namespace = {"np": np, "bl": bl, "math": __import__("math"), "evaluate": None}
    exec(_cell(nb, "class FnLinear"), namespace)
    printed = capsys.readouterr().out
    for name in ("LinearFn", "cross_entropy", "momentum_step", "adam_step"):
        assert re.search(rf"Using your {name} \(exercise 07\.\d passes its check\)", printed), printed
    exec(_cell(nb, "loss: gradient = central differences"), namespace)   # the notebook's numeric checks
    checks = capsys.readouterr().out
    assert checks.count("True") == 5 and "False" not in checks, checks
    return namespace


def test_notebook_08_trains_on_the_learners_pieces_of_07(notebook_pieces):
    ns = notebook_pieces
    x, y = bl.datasets.load_mnist("train", source="subset", verbose=False)
    xt, yt = bl.datasets.load_mnist("test", source="subset", verbose=False)
    for optimizer, lr, target in (("MomentumSteps", 0.1, 0.65), ("AdamSteps", 2e-3, 0.8)):
        model = ns["mlp"]([784, 32, 10], seed=0)
        opt = ns[optimizer](model.parameters(), lr=lr)
        batches = [(x[i:i + 100], y[i:i + 100]) for i in range(0, 3000, 100)]
        losses = nb08.train_epoch(model, ns["loss_fn"], opt, batches)
        assert all(isinstance(v, float) for v in losses) and losses[-1] < losses[0] / 2
        assert all(p.dtype == np.float32 for p in model.parameters())
        with bl.no_grad():
            accuracy = float(np.mean(model(bl.Tensor(xt)).numpy().argmax(axis=1) == yt))
        assert accuracy > target, (optimizer, accuracy)
