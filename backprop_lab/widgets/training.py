"""Training a small classifier: the decision-boundary picture, and a widget to retrain with other settings.

``plot_decision_boundary(ax, predict, x, y)`` shades the plane by the model's score and draws the data;
``training_playground(fit, x, y)`` puts sliders for the learning rate and the hidden size next to a
"train" button, and shows the loss curve and the decision boundary of each retrained model (starting
with one the notebook has already trained, if it passes it as ``initial``). ``fit`` is
the notebook's own training function, ``fit(hidden, lr, steps) -> (losses, predict)``, so the widget
trains exactly what the notebook trains. matplotlib and ipywidgets are imported inside the functions.
"""
from __future__ import annotations

import time

import numpy as np


def grid_for(x, n: int = 60, margin: float = 0.4):
    """A square grid covering the points ``x`` (n, 2) with a margin: (xx, yy, points (n*n, 2))."""
    lo, hi = x.min(axis=0) - margin, x.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n))
    return xx, yy, np.stack([xx.ravel(), yy.ravel()], axis=1)


def plot_decision_boundary(ax, predict, x, y, *, title: str = "", n: int = 60):
    """Shade the plane by ``predict(points) -> scores`` (sign = class) and draw the labelled points.

    ``y`` holds class labels 0/1 (or -1/+1); the boundary is the line where the score is 0.
    """
    xx, yy, pts = grid_for(x, n)
    scores = np.asarray(predict(pts), dtype=np.float64).reshape(xx.shape)
    ax.contourf(xx, yy, scores, levels=np.linspace(-1, 1, 21), cmap="RdBu", alpha=0.55, extend="both")
    ax.contour(xx, yy, scores, levels=[0.0], colors="k", linewidths=1.5)
    positive = np.asarray(y) > 0
    ax.scatter(x[~positive, 0], x[~positive, 1], c="#d62728", edgecolors="k", s=28, label="class -1")
    ax.scatter(x[positive, 0], x[positive, 1], c="#1f77b4", edgecolors="k", s=28, label="class +1")
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)


def accuracy(predict, x, y) -> float:
    """Fraction of points whose score has the sign of their label (labels 0/1 or -1/+1)."""
    scores = np.asarray(predict(x), dtype=np.float64)
    return float(np.mean((scores > 0) == (np.asarray(y) > 0)))


LEARNING_RATES = (0.01, 0.03, 0.1, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0)


def training_playground(fit, x, y, *, lr: float = 0.3, hidden: int = 8, steps: int = 40,
                        learning_rates=LEARNING_RATES, hidden_range=(1, 16), initial=None):
    """A widget: pick the learning rate and the hidden size, press "train", see the loss and the boundary.

    ``fit(hidden, lr, steps)`` must return ``(losses, predict)``: the loss of every step and a function
    from points (n, 2) to scores (n,). The learning rate is picked from ``learning_rates`` (round numbers
    on a roughly logarithmic scale; ``lr`` is added if it is not one of them). ``initial``: a
    ``(losses, predict)`` already trained with the starting settings, shown without training again;
    without it the first model is trained when the widget is built.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    rates = sorted(set(float(r) for r in learning_rates) | {float(lr)})
    lr_slider = w.SelectionSlider(options=[(f"{r:g}", r) for r in rates], value=float(lr),
                                  description="learning rate", style={"description_width": "initial"})
    hidden_slider = w.IntSlider(value=hidden, min=hidden_range[0], max=hidden_range[1], description="hidden size",
                                style={"description_width": "initial"})
    steps_slider = w.IntSlider(value=steps, min=10, max=max(120, steps), step=10, description="steps",
                               style={"description_width": "initial"})
    button = w.Button(description="train", button_style="primary", icon="play")
    status = w.HTML()
    out = w.Output()
    history = []   # (lr, hidden, steps, final loss, accuracy, seconds) of every run, for a table

    def show(losses, predict, seconds):
        acc = accuracy(predict, x, y)
        settings = (lr_slider.value, hidden_slider.value, steps_slider.value)
        history.append((*settings, losses[-1], acc, seconds))
        timing = f" ({seconds:.1f} s)" if seconds is not None else ""
        status.value = (f"lr = {settings[0]:g}, hidden = {settings[1]}, {settings[2]} steps: "
                        f"final loss {losses[-1]:.4f}, training accuracy {acc:.0%}{timing}")
        out.clear_output(wait=True)
        with out:
            fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
            ax1.plot(losses)
            ax1.set_xlabel("step")
            ax1.set_ylabel("loss")
            ax1.set_yscale("log")
            ax1.set_title("training loss")
            ax1.grid(alpha=0.3)
            plot_decision_boundary(ax2, predict, x, y, title="decision boundary")
            fig.tight_layout()
            plt.show()

    def train(_=None):
        button.disabled = True
        status.value = "<i>training…</i>"
        start = time.perf_counter()
        try:
            losses, predict = fit(hidden_slider.value, lr_slider.value, steps_slider.value)
        finally:
            button.disabled = False
        show(losses, predict, time.perf_counter() - start)

    button.on_click(train)
    if initial is not None:
        show(*initial, None)
    else:
        train()
    box = w.VBox([w.HBox([lr_slider, hidden_slider]), w.HBox([steps_slider, button]), status, out])
    box.history = history    # for inspection and tests
    box.train = train
    return box
