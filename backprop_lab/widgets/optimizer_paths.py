"""Optimizers on a 2-D loss surface: pick SGD, momentum or Adam and a learning rate, watch the path.

``optimizer_path(surface, optimizer, lr, steps)`` runs the engine's own optimizers (``bl.optim.SGD``,
``SGD(momentum=0.9)``, ``Adam``) on a two-parameter ``Tensor`` whose loss is one of ``SURFACES``, and
returns the visited points; ``plot_paths`` draws them over the contour plot; ``optimizer_paths_widget``
puts dropdowns and a learning-rate slider in front of both (notebook 07).

Surfaces: ``"valley"``, a narrow straight valley (a quadratic 100 times more curved across than along), and
``"rosenbrock"``, the classic curved banana valley with its minimum at (1, 1).
"""
from __future__ import annotations

import numpy as np


def _valley_np(x, y):
    return 0.01 * x * x + y * y


def _valley_tensor(p):
    x, y = p[0], p[1]
    return 0.01 * x * x + y * y


def _rosenbrock_np(x, y):
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def _rosenbrock_tensor(p):
    x, y = p[0], p[1]
    a, b = 1.0 - x, y - x * x
    return a * a + 100.0 * b * b


SURFACES = {
    "valley": {"numpy": _valley_np, "tensor": _valley_tensor, "start": (-9.0, 2.5), "minimum": (0.0, 0.0),
               "xlim": (-10.0, 2.0), "ylim": (-3.5, 3.5), "log_levels": False,
               "title": "narrow valley 0.01 x² + y²"},
    "rosenbrock": {"numpy": _rosenbrock_np, "tensor": _rosenbrock_tensor, "start": (-1.2, 1.0),
                   "minimum": (1.0, 1.0), "xlim": (-2.0, 2.0), "ylim": (-1.0, 3.0), "log_levels": True,
                   "title": "Rosenbrock (1 - x)² + 100 (y - x²)²"},
}
OPTIMIZERS = ("SGD", "Momentum", "Adam")
DEFAULT_LR = {"valley": {"SGD": 0.9, "Momentum": 0.1, "Adam": 0.3},
              "rosenbrock": {"SGD": 0.001, "Momentum": 0.001, "Adam": 0.2}}
COLORS = {"SGD": "tab:blue", "Momentum": "tab:orange", "Adam": "tab:green"}


def _surface(name):
    if name not in SURFACES:
        raise ValueError(f"unknown surface {name!r}: choose one of {sorted(SURFACES)}")
    return SURFACES[name]


def optimizer_path(surface, optimizer, lr, steps=200, start=None, momentum=0.9):
    """The points visited by ``optimizer`` ("SGD", "Momentum" or "Adam") with learning rate ``lr``.

    Returns an array of shape (steps + 1, 2), the start included; shorter if the run diverged
    (a coordinate beyond 1e6 or not finite), so a plot shows where it left.
    """
    from .. import optim
    from ..tensor import Tensor

    spec = _surface(surface)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}: choose one of {OPTIMIZERS}")
    p = Tensor(np.array(spec["start"] if start is None else start, dtype=np.float64), requires_grad=True)
    if optimizer == "Adam":
        opt = optim.Adam([p], lr=lr)
    else:
        opt = optim.SGD([p], lr=lr, momentum=momentum if optimizer == "Momentum" else 0.0)
    path = [p.data.copy()]
    for _ in range(steps):
        opt.zero_grad()
        spec["tensor"](p).backward()
        opt.step()
        if not np.all(np.isfinite(p.data)) or np.abs(p.data).max() > 1e6:
            break
        path.append(p.data.copy())
    return np.array(path)


def plot_paths(surface, paths, ax=None, title=None, faint=()):
    """Contour plot of ``surface`` with each path of ``paths`` ({name: (k, 2) array}); names in ``faint`` greyed."""
    import matplotlib.pyplot as plt

    spec = _surface(surface)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4.5))
    xs = np.linspace(*spec["xlim"], 300)
    ys = np.linspace(*spec["ylim"], 300)
    X, Y = np.meshgrid(xs, ys)
    Z = spec["numpy"](X, Y)
    if spec["log_levels"]:
        levels = np.logspace(-1, 3.5, 18)
    else:
        levels = np.linspace(0, Z.max(), 25)[1:] ** 1.0
    ax.contour(X, Y, Z, levels=levels, cmap="viridis", linewidths=0.7)
    ax.plot(*spec["minimum"], marker="*", color="k", markersize=12, linestyle="none", label="minimum")
    for name, path in paths.items():
        color = "0.6" if name in faint else COLORS.get(name.split(" ")[0], None)
        f_end = spec["numpy"](*path[-1])
        diverged = len(path) and (not np.all(np.isfinite(path[-1])) or abs(path[-1]).max() > 1e6)
        label = f"{name}: loss {f_end:.3g} after {len(path) - 1} steps" + (" (diverged)" if diverged else "")
        ax.plot(path[:, 0], path[:, 1], ".-", color=color, markersize=3, linewidth=1.2, label=label,
                alpha=0.6 if name in faint else 1.0)
        ax.plot(*path[0], "o", color="k", markersize=4)
    ax.set_xlim(*spec["xlim"])
    ax.set_ylim(*spec["ylim"])
    ax.set_xlabel("parameter x")
    ax.set_ylabel("parameter y")
    ax.set_title(title or spec["title"])
    # below the axes, not over the paths it describes
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    return ax


def optimizer_paths_widget(steps=200):
    """Pick a surface, an optimizer and its learning rate; the other two are shown greyed at their default rates."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    whole = {"description_width": "initial"}   # a description as wide as its text: never cut off
    surface = widgets.Dropdown(options=list(SURFACES), value="valley", description="surface", style=whole)
    optimizer = widgets.Dropdown(options=list(OPTIMIZERS), value="Momentum", description="optimizer", style=whole)
    lr = widgets.FloatLogSlider(value=DEFAULT_LR["valley"]["Momentum"], base=10, min=-4, max=0.3, step=0.05,
                                description="learning rate", readout_format=".4f", continuous_update=False,
                                style=whole)
    n_steps = widgets.IntSlider(value=steps, min=10, max=500, step=10, description="steps", continuous_update=False,
                                style=whole)
    out = widgets.Output()

    resetting = []  # non-empty while a new surface or optimizer resets the slider: draw once, not twice

    def choose(_change=None):
        resetting.append(True)
        try:
            lr.value = DEFAULT_LR[surface.value][optimizer.value]
        finally:
            resetting.pop()
        draw()

    def draw(_change=None):
        if resetting:
            return
        paths = {f"{optimizer.value} (lr={lr.value:.4g})": optimizer_path(surface.value, optimizer.value, lr.value,
                                                                          n_steps.value)}
        others = [name for name in OPTIMIZERS if name != optimizer.value]
        for name in others:
            paths[f"{name} (default lr)"] = optimizer_path(surface.value, name, DEFAULT_LR[surface.value][name],
                                                           n_steps.value)
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(7.5, 5.2))
            plot_paths(surface.value, paths, ax=ax, faint=[p for p in paths if not p.startswith(optimizer.value)])
            fig.tight_layout()
            plt.show()

    surface.observe(choose, names="value")
    optimizer.observe(choose, names="value")
    for w in (lr, n_steps):
        w.observe(draw, names="value")
    draw()
    display(widgets.VBox([widgets.HBox([surface, optimizer]), widgets.HBox([lr, n_steps]), out]))
