"""Notebook 09's instrument: per-layer statistics of activations and gradients, and a widget to explore them.

One forward and one backward pass through a deep network says a lot about whether it can learn: how large
each layer's activations are, how many of its units are stuck (a ReLU that outputs 0 for every example, a
tanh or sigmoid pinned at its flat ends), and how large each weight's gradient is. Read both the *slope*
from layer to layer (growing or shrinking by a constant factor: exploding or vanishing) and the *level*:
a network whose gradients are all about 1e-30 is as flat as a healthy one, and learns nothing.

* ``summarize(hidden, weights, activation)``: the statistics of one pass, from each layer's output and
  each weight Tensor (with its ``.grad``);
* ``network_statistics(depth, width, activation, gain)``: builds a deep network with the engine (weights
  drawn with standard deviation ``gain / sqrt(width)``), runs one pass on random inputs, summarises it;
* ``format_table(stats)`` and ``plot_statistics(runs)``: the numbers as text, or three panels side by side;
* ``statistics_explorer()``: sliders for depth, activation and gain, with a healthy network drawn in grey
  for comparison.

matplotlib and ipywidgets are imported inside the functions that need them.
"""
from __future__ import annotations

import numpy as np

ACTIVATIONS = ("tanh", "relu", "sigmoid")
# the gain (std * sqrt(n_in)) that keeps a square layer's signal the same size: Glorot for tanh and sigmoid
# (2 / (n_in + n_out) = 1 / n for a square layer), He for ReLU (2 / n_in)
HEALTHY_GAIN = {"tanh": 1.0, "sigmoid": 1.0, "relu": float(np.sqrt(2.0))}
STUCK = {"relu": "dead units (0 for every example)", "tanh": "saturated entries (|h| > 0.99)",
         "sigmoid": "saturated entries (h < 0.01 or h > 0.99)"}


def _stuck(h: np.ndarray, activation: str) -> float:
    if activation == "relu":
        return float(np.mean(np.all(h <= 0, axis=0)))            # a unit silent for the whole batch
    if activation == "tanh":
        return float(np.mean(np.abs(h) > 0.99))
    if activation == "sigmoid":
        return float(np.mean((h < 0.01) | (h > 0.99)))
    raise ValueError(f"activation must be one of {ACTIVATIONS}, not {activation!r}")


def summarize(hidden, weights, activation: str) -> dict:
    """Per-layer statistics of one pass: ``hidden[l]`` is layer l's output (array or Tensor), ``weights[l]``
    its weight Tensor, holding ``.grad`` after a backward pass (None counts as a zero gradient).

    Returns a dict of arrays, one entry per layer: ``act_std`` (standard deviation of the output),
    ``stuck`` (the fraction of dead units for ReLU, of saturated entries for tanh and sigmoid),
    ``grad_norm`` (the Frobenius norm of dL/dW), ``weight_norm`` (of W) and ``ratio`` = grad_norm / weight_norm.
    """
    hs = [np.asarray(getattr(h, "data", h), dtype=np.float64) for h in hidden]
    grads = [np.zeros(w.shape) if w.grad is None else np.asarray(w.grad, dtype=np.float64) for w in weights]
    wn = np.array([np.linalg.norm(np.asarray(w.data, dtype=np.float64)) for w in weights])
    gn = np.array([np.linalg.norm(g) for g in grads])
    return {"activation": activation,
            "act_std": np.array([h.std() for h in hs]),
            "stuck": np.array([_stuck(h, activation) for h in hs]),
            "grad_norm": gn, "weight_norm": wn, "ratio": gn / np.maximum(wn, 1e-300)}


def network_statistics(depth: int = 20, width: int = 128, activation: str = "tanh", gain: float = 1.0,
                       batch: int = 256, seed: int = 0) -> dict:
    """One forward and backward pass of a ``depth``-layer network of ``width`` units, summarised per layer.

    Each layer computes ``h = act(h @ W)`` (no bias), with W drawn from N(0, (gain / sqrt(width))²): gain 1
    is Glorot's choice for tanh and sigmoid, sqrt(2) He's for ReLU, sqrt(width) is N(0, 1). The inputs are
    standard normal. The loss is L = sum(h_last * R) / batch with a fixed random R, so that the gradient
    arriving at the last layer has the same size whatever the forward pass did: what happens to it on the way
    back is the network's doing.
    """
    import backprop_lab as bl

    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, not {activation!r}")
    if depth < 1 or width < 1:
        raise ValueError(f"depth and width must be at least 1, got depth={depth}, width={width}")
    rng = np.random.default_rng(seed)
    std = gain / np.sqrt(width)
    weights = [bl.Tensor(rng.normal(0.0, std, size=(width, width)), requires_grad=True) for _ in range(depth)]
    h = bl.Tensor(rng.normal(size=(batch, width)))
    hidden = []
    with np.errstate(all="ignore"):
        for W in weights:
            h = getattr(h @ W, activation)()
            hidden.append(h)
        R = rng.normal(size=(batch, width))
        ((h * R).sum() / batch).backward()
    stats = summarize(hidden, weights, activation)
    stats.update(depth=depth, width=width, gain=float(gain))
    return stats


def format_table(stats: dict, layers=None) -> str:
    """The statistics as a text table, one row per layer (all of them, or those listed in ``layers``, from 1)."""
    n = len(stats["act_std"])
    rows = range(1, n + 1) if layers is None else [l for l in layers if 1 <= l <= n]
    stuck = STUCK[stats["activation"]].split(" (")[0]
    head = f"{'layer':>5}  {'std of h':>9}  {stuck:>17}  {'|dL/dW|':>9}  {'|dL/dW| / |W|':>13}"
    lines = [head]
    for l in rows:
        i = l - 1
        lines.append(f"{l:>5}  {stats['act_std'][i]:>9.2e}  {stats['stuck'][i]:>17.0%}  "
                     f"{stats['grad_norm'][i]:>9.2e}  {stats['ratio'][i]:>13.2e}")
    return "\n".join(lines)


def _floor(values, floor=1e-300):
    return np.maximum(np.nan_to_num(np.asarray(values, dtype=np.float64), nan=floor, posinf=1e300), floor)


def plot_statistics(runs: dict, axes=None, title: str | None = None, styles: dict | None = None):
    """Three panels: the spread of each layer's activations, its weight gradient's norm, its stuck units.

    ``runs`` maps a label to the dict of ``summarize``/``network_statistics``. Both scales are logarithmic, so
    that a constant factor per layer is a straight line (the slope) and the height is the size (the level).
    ``styles`` may map a label to matplotlib keyword arguments. Returns the figure.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    else:
        fig = axes[0].figure
    styles = styles or {}
    for label, s in runs.items():
        layers = np.arange(1, len(s["act_std"]) + 1)
        kw = {"marker": "o", "ms": 3, "label": label, **styles.get(label, {})}
        axes[0].semilogy(layers, _floor(s["act_std"]), **kw)
        axes[1].semilogy(layers, _floor(s["grad_norm"]), **kw)
        axes[2].plot(layers, 100 * np.asarray(s["stuck"]), **kw)
    for ax in axes[:2]:                 # at least four decades around 1: a healthy network reads as flat and at 1
        lo, hi = ax.get_ylim()
        ax.set_ylim(min(lo, 1e-2), max(hi, 1e2))
    axes[0].set_ylabel("std of the layer's output h")
    axes[1].set_ylabel("|dL/dW| of the layer")
    axes[2].set_ylabel("stuck units or entries (%)")
    axes[2].set_ylim(-5, 105)
    for ax, name in zip(axes, ("activations (forward)", "weight gradients (backward)", "stuck: dead or saturated")):
        ax.set_xlabel("layer")
        ax.set_title(name)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def statistics_explorer(depth: int = 20, activation: str = "tanh", gain: float = 1.0, width: int = 128):
    """Sliders for the depth, the activation and the gain of a deep network; its per-layer statistics.

    The grey curves are the same network with the healthy gain for its activation (Glorot's or He's), for
    comparison. Returns an ipywidgets ``VBox`` whose ``state`` dict holds the numbers currently shown.
    """
    import io

    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    depth_w = widgets.IntSlider(value=depth, min=1, max=50, description="depth", continuous_update=False,
                                layout=widgets.Layout(width="340px"))
    act_w = widgets.Dropdown(options=list(ACTIVATIONS), value=activation, description="activation",
                             layout=widgets.Layout(width="220px"))
    gain_w = widgets.FloatLogSlider(value=gain, base=10, min=-2, max=1.5, step=0.05, description="gain",
                                    readout_format=".3g", continuous_update=False,
                                    layout=widgets.Layout(width="340px"))
    readout = widgets.HTML()
    # a PNG in an Image widget rather than a figure shown into an Output widget: headless runs stay reliable
    picture = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto"))
    box = widgets.VBox([widgets.HBox([depth_w, act_w]), gain_w, readout, picture],
                       layout=widgets.Layout(max_width="100%"))
    box.state = {}

    def redraw(*_):
        d, a, g = depth_w.value, act_w.value, gain_w.value
        run = network_statistics(d, width, a, g)
        healthy = network_statistics(d, width, a, HEALTHY_GAIN[a])
        box.state = {"depth": d, "activation": a, "gain": g, "stats": run, "healthy": healthy}
        std = g / np.sqrt(width)
        readout.value = (
            f"<div style='color: var(--jp-ui-font-color1); font-size: var(--jp-ui-font-size1)'>"
            f"weights N(0, {std:.3g}²), i.e. gain {g:.3g} × 1/√{width} "
            f"(gain {HEALTHY_GAIN[a]:.3g} is the healthy choice for {a}; N(0, 1) is gain {np.sqrt(width):.3g}). "
            f"Layer 1: |dL/dW| = {run['grad_norm'][0]:.2e}; layer {d}: {run['grad_norm'][-1]:.2e}; "
            f"std of the last output {run['act_std'][-1]:.2e}; {STUCK[a].split(' (')[0]} in the last layer: "
            f"{run['stuck'][-1]:.0%}.</div>")
        fig = plot_statistics({f"gain {g:.3g}": run, f"gain {HEALTHY_GAIN[a]:.3g} (healthy)": healthy},
                              styles={f"gain {HEALTHY_GAIN[a]:.3g} (healthy)": {"color": "0.6", "ls": "--"}},
                              title=f"{d}-layer {a} network, width {width}")
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=80)
        plt.close(fig)
        picture.value = png.getvalue()

    for w in (depth_w, act_w, gain_w):
        w.observe(redraw, names="value")
    redraw()
    return box
