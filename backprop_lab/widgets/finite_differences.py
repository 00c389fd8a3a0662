"""Notebook 01's widget: slide the step h and watch the secant, the tangent and the error.

``secant_explorer()`` shows two pictures side by side:

* left, the function near x0 with its tangent (slope f'(x0)) and the secant through the points a
  finite difference uses (slope = the estimate);
* right, the error |estimate - f'(x0)| against h on log-log axes for the forward and the central
  difference, with a dot at the current h and the predicted best h marked.

Moving the slider to large h shows the truncation error (the secant bends away from the tangent);
moving it to tiny h shows round-off (the two function values agree in almost all their digits, and
what is left of their difference is noise). ``draw_secant`` draws one frame, for a static figure.
"""
from __future__ import annotations

import numpy as np

# name -> (f, f', f'', f''', x0): derivatives for the exact answer and for the predicted best h
FUNCTIONS = {
    "sin(x)": (np.sin, np.cos, lambda x: -np.sin(x), lambda x: -np.cos(x), 1.0),
    "exp(x)": (np.exp, np.exp, np.exp, np.exp, 0.5),
    "x³": (lambda x: x ** 3, lambda x: 3 * x ** 2, lambda x: 6 * x, lambda x: 6.0 + 0 * x, 1.5),
    "tanh(x)": (np.tanh, lambda x: 1 - np.tanh(x) ** 2,
                lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
                lambda x: (1 - np.tanh(x) ** 2) * (6 * np.tanh(x) ** 2 - 2), 0.5),
}

METHODS = ("forward", "central")
DTYPES = ("float64", "float32")


def estimate(name: str, h: float, method: str = "forward", dtype: str = "float64", x0: float | None = None) -> float:
    """The finite-difference estimate of f'(x0), computed entirely in ``dtype``."""
    f, _, _, _, default_x0 = FUNCTIONS[name]
    t = np.dtype(dtype).type
    x, step = t(default_x0 if x0 is None else x0), t(h)
    with np.errstate(over="ignore", invalid="ignore"):
        if method == "forward":
            return float((f(x + step) - f(x)) / step)
        if method == "central":
            return float((f(x + step) - f(x - step)) / (t(2) * step))
    raise ValueError(f"method must be one of {METHODS}, not {method!r}")


def error_curve(name: str, hs, method: str = "forward", dtype: str = "float64", x0: float | None = None):
    """|estimate(h) - f'(x0)| for every h in ``hs`` (the exact derivative in float64)."""
    _, df, _, _, default_x0 = FUNCTIONS[name]
    x0 = default_x0 if x0 is None else x0
    exact = float(df(x0))
    return np.array([abs(estimate(name, h, method, dtype, x0) - exact) for h in hs])


def predicted_best_h(name: str, method: str = "forward", dtype: str = "float64", x0: float | None = None) -> float:
    """Where truncation and round-off balance, from the error model of notebook 01.

    forward: E(h) ≈ h |f''| / 2 + ε |f| / h   →  h* = sqrt(2 ε |f| / |f''|)       (about √ε)
    central: E(h) ≈ h² |f'''| / 6 + ε |f| / h  →  h* = (3 ε |f| / |f'''|)^(1/3)   (about ∛ε)
    """
    f, _, d2f, d3f, default_x0 = FUNCTIONS[name]
    x0 = default_x0 if x0 is None else x0
    eps = float(np.finfo(dtype).eps)
    fx = max(abs(float(f(x0))), 1e-300)
    if method == "forward":
        return float(np.sqrt(2 * eps * fx / max(abs(float(d2f(x0))), 1e-300)))
    return float(np.cbrt(3 * eps * fx / max(abs(float(d3f(x0))), 1e-300)))


def draw_secant(name: str = "sin(x)", h: float = 0.1, method: str = "forward", dtype: str = "float64",
                x0: float | None = None, hs=None):
    """One frame of the explorer as a matplotlib figure (the caller shows or closes it)."""
    import matplotlib.pyplot as plt

    f, df, _, _, default_x0 = FUNCTIONS[name]
    x0 = default_x0 if x0 is None else x0
    hs = np.logspace(-16, 0, 161) if hs is None else hs
    slope = estimate(name, h, method, dtype, x0)
    exact = float(df(x0))
    err = abs(slope - exact)
    floor = 1e-14                                  # an error below this (or exactly 0) is drawn on the floor

    fig, (ax_f, ax_e) = plt.subplots(1, 2, figsize=(11, 4))
    width = max(1.2, 2.5 * h)
    xs = np.linspace(x0 - width, x0 + width, 400)
    ax_f.plot(xs, f(xs), color="black", lw=2, label=name)
    ax_f.plot(xs, f(x0) + exact * (xs - x0), color="tab:green", lw=1.5, label=f"tangent, slope {exact:.6f}")
    left = x0 if method == "forward" else x0 - h
    anchor = float(f(left))
    ax_f.plot(xs, anchor + slope * (xs - left), color="tab:red", lw=1.5, ls="--",
              label=f"secant, slope {slope:.6f}")
    ax_f.plot([left, x0 + h], [f(left), f(x0 + h)], "o", color="tab:red")
    span = f(xs).max() - f(xs).min()
    ax_f.set_ylim(f(xs).min() - 0.2 * span, f(xs).max() + 0.2 * span)
    ax_f.set_xlabel("x")
    ax_f.set_title(f"{method} difference, h = {h:.1e} ({dtype})")
    ax_f.legend(loc="upper left", fontsize=8)

    for m in METHODS:                              # the chosen method bold, the other faint
        errors = np.maximum(error_curve(name, hs, m, dtype, x0), floor)
        ax_e.loglog(hs, errors, lw=2.5 if m == method else 1, alpha=1.0 if m == method else 0.35,
                    label=f"{m} difference")
    ax_e.axvline(predicted_best_h(name, method, dtype, x0), color="gray", ls=":", label=f"predicted best h ({method})")
    ax_e.loglog([h], [max(err, floor)], "o", color="tab:red", ms=9, label=f"h = {h:.1e}: error {err:.1e}")
    ax_e.set_xlabel("h")
    ax_e.set_ylabel("|estimate − f'(x0)|")
    ax_e.set_ylim(floor / 2, 10)
    ax_e.set_title("error against h: truncation (right) vs round-off (left)")
    ax_e.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


def secant_explorer(name: str = "sin(x)", h: float = 1e-1, method: str = "forward", dtype: str = "float64"):
    """The interactive explorer: a log slider for h, a function menu, the method and the float type.

    Returns an ipywidgets ``VBox``; its ``state`` dict holds what the current picture shows (handy
    in tests and for reading the numbers off).
    """
    import io

    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    h_slider = widgets.FloatLogSlider(value=h, base=10, min=-16, max=0, step=0.25, description="h",
                                      readout_format=".1e", continuous_update=False,
                                      layout=widgets.Layout(width="460px"))
    function = widgets.Dropdown(options=list(FUNCTIONS), value=name, description="f")
    method_w = widgets.ToggleButtons(options=list(METHODS), value=method, description="method")
    dtype_w = widgets.ToggleButtons(options=list(DTYPES), value=dtype, description="dtype")
    readout = widgets.HTML()
    # the picture is a PNG in an Image widget, not a figure displayed into an Output widget: capturing a
    # display into an Output widget while the cell runs made headless runs (nbclient) hang now and then
    picture = widgets.Image(format="png")
    hs = np.logspace(-16, 0, 161)
    box = widgets.VBox([widgets.HBox([h_slider, function]), widgets.HBox([method_w, dtype_w]), readout, picture])
    box.state = {}

    def redraw(*_):
        n, hv, m, d = function.value, h_slider.value, method_w.value, dtype_w.value
        _, df, _, _, x0 = FUNCTIONS[n]
        slope = estimate(n, hv, m, d)
        box.state = {"function": n, "h": hv, "method": m, "dtype": d, "estimate": slope,
                     "exact": float(df(x0)), "error": abs(slope - float(df(x0)))}
        readout.value = (f"<code>{m}</code> difference of {n} at x0 = {x0} with h = {hv:.1e} in {d}: "
                         f"estimate {slope:.10f}, exact {float(df(x0)):.10f}, "
                         f"error <b>{box.state['error']:.1e}</b> "
                         f"(predicted best h ≈ {predicted_best_h(n, m, d):.0e})")
        fig = draw_secant(n, hv, m, d, hs=hs)
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=80)
        plt.close(fig)
        picture.value = png.getvalue()

    for w in (h_slider, function, method_w, dtype_w):
        w.observe(redraw, names="value")
    redraw()
    return box
