"""A live plot of a training run: the loss per step and the accuracy per evaluation, redrawn in place.

    monitor = TrainingMonitor("seed 001's network")
    for step, loss in ...:
        monitor.log(step, loss=loss)              # every step (cheap: only stores the number)
        monitor.log(step, accuracy=acc)           # whenever you evaluate
        monitor.show()                            # redraw, at most once per min_interval seconds
    monitor.close()                               # the final picture stays in the notebook

``progress_bar(total, desc)`` is tqdm's bar (a widget in Jupyter, text elsewhere) with texts that never wrap.

In Jupyter the figure is shown once and then updated through its display handle, so the cell's
output holds one picture that changes while the cell runs. A redraw costs 0.05-0.2 s, so ``show``
redraws at most once every ``min_interval`` seconds (calling it often is fine: a quick run draws a
few frames, an hour-long one stays live); ``close`` always draws the final state. Outside IPython
``show`` does nothing.
matplotlib and IPython are imported inside the methods.
"""
from __future__ import annotations

import time

import numpy as np


class TrainingMonitor:
    """Collects (step, loss) and (step, accuracy) pairs and draws them side by side."""

    def __init__(self, title="", smooth=20, accuracy_label="test accuracy", min_interval=2.0):
        self.title = title
        self.smooth = smooth
        self.accuracy_label = accuracy_label
        self.min_interval = min_interval
        self._last_draw = None
        self.loss_steps, self.losses = [], []
        self.acc_steps, self.accuracies = [], []
        self._fig = self._handle = None

    def log(self, step, loss=None, accuracy=None):
        """Record the loss and/or the accuracy at ``step``."""
        if loss is not None:
            self.loss_steps.append(int(step))
            self.losses.append(float(loss))
        if accuracy is not None:
            self.acc_steps.append(int(step))
            self.accuracies.append(float(accuracy))

    def extend_losses(self, first_step, losses):
        """Record consecutive losses, the first at ``first_step``."""
        for i, loss in enumerate(losses):
            self.log(first_step + i, loss=loss)

    def _draw(self):
        import matplotlib.pyplot as plt

        if self._fig is None:
            self._fig, self._axes = plt.subplots(1, 2, figsize=(10, 3.2))
        ax_loss, ax_acc = self._axes
        ax_loss.clear()
        ax_acc.clear()
        if self.losses:
            ax_loss.plot(self.loss_steps, self.losses, color="tab:blue", alpha=0.25, lw=0.8, label="per batch")
            if len(self.losses) >= self.smooth:
                k = self.smooth
                avg = np.convolve(self.losses, np.ones(k) / k, mode="valid")
                ax_loss.plot(self.loss_steps[k - 1:], avg, color="tab:blue", lw=1.8, label=f"mean of {k}")
            ax_loss.set_yscale("log")
            ax_loss.legend(loc="upper right", fontsize=8)
        ax_loss.set_xlabel("step")
        ax_loss.set_ylabel("cross-entropy loss")
        ax_loss.grid(alpha=0.3)
        if self.accuracies:
            ax_acc.plot(self.acc_steps, np.array(self.accuracies) * 100, "o-", color="tab:green", ms=4)
            last = self.accuracies[-1] * 100
            ax_acc.annotate(f"{last:.2f}%", (self.acc_steps[-1], last), textcoords="offset points",
                            xytext=(-10, -14), ha="right", fontsize=9)
        ax_acc.set_xlabel("step")
        ax_acc.set_ylabel(f"{self.accuracy_label} (%)")
        ax_acc.grid(alpha=0.3)
        if self.title:
            self._fig.suptitle(self.title)
        self._fig.tight_layout()
        return self._fig

    def show(self, force=False):
        """Draw the current state; in Jupyter, update the same picture in place.

        Skipped when the last redraw was less than ``min_interval`` seconds ago, unless ``force``.
        """
        now = time.perf_counter()
        if not force and self._last_draw is not None and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None:
            return
        fig = self._draw()
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)

    def close(self):
        """Draw the final state and release the figure (so Jupyter does not show it a second time)."""
        import matplotlib.pyplot as plt

        self.show(force=True)
        if self._fig is not None:
            plt.close(self._fig)

    def figure(self):
        """The figure with everything logged so far (for saving or showing outside Jupyter)."""
        return self._draw()


def progress_bar(total, desc="", **kwargs):
    """A ``tqdm.auto`` progress bar whose description and counters stay on one line in Jupyter.

    tqdm's notebook bar lets its texts shrink, so a long description ("seed 001: 784-64-64-10, SGD lr 0.1")
    wraps onto a second line. Here both texts keep their width and the bar between them shrinks instead
    (to 60 px at least; narrower than that, the counters move whole to the next line). ``kwargs`` go to tqdm.
    """
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, **kwargs)
    container = getattr(bar, "container", None)   # only the notebook bar has one
    if container is not None:
        left, middle, right = container.children
        for text in (left, right):
            text.layout.flex = "0 0 auto"
        middle.layout.flex = "1 1 60px"   # a small basis: the row fits on one line first, then the bar grows
        middle.layout.min_width = "60px"
        container.layout.flex_flow = "row wrap"
    return bar
