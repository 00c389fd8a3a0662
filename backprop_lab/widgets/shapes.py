"""Dimensional analysis as a table: for D = W @ x, which products of the available arrays fit?

``matmul_shapes(W_shape, x_shape)`` returns the bookkeeping as plain data (tested, and printable
without widgets); ``shapes_widget()`` puts four sliders in front of it for notebook 04.

The point it makes: dW must have W's shape and is built from dD and x; of the eight ways to
multiply dD or dDᵀ with x or xᵀ (in either order) exactly one gives W's shape. Same for dx.
"""
from __future__ import annotations

import html

from .. import theme


def _product(name_a, shape_a, name_b, shape_b):
    """(expression, result shape or None, reason) for ``a @ b`` with 2-D shapes."""
    expr = f"{name_a} @ {name_b}"
    if shape_a[1] != shape_b[0]:
        return expr, None, f"inner sizes {shape_a[1]} ≠ {shape_b[0]}"
    return expr, (shape_a[0], shape_b[1]), ""


def candidates(name_a, shape_a, name_b, shape_b):
    """All eight products of a or aᵀ with b or bᵀ, in both orders."""
    def variants(name, shape):
        return [(name, shape), (f"{name}.T", shape[::-1])]
    rows = []
    for (na, sa) in variants(name_a, shape_a):
        for (nb, sb) in variants(name_b, shape_b):
            rows.append(_product(na, sa, nb, sb))
            rows.append(_product(nb, sb, na, sa))
    return rows


def matmul_shapes(W_shape, x_shape) -> dict:
    """Shapes of D = W @ x and its gradients, and which candidate products could compute dW and dx.

    Returns ``{"ok", "D", "dD", "dW", "dx", "reason", "for_dW", "for_dx"}`` where each ``for_*`` is a
    list of ``(expression, shape or None, verdict)``; verdict is "fits" for the one product with the
    right shape, "wrong shape" or the reason the product is impossible.
    """
    W_shape, x_shape = tuple(W_shape), tuple(x_shape)
    if W_shape[1] != x_shape[0]:
        return {"ok": False, "reason": f"W @ x is impossible: W has {W_shape[1]} columns but x has {x_shape[0]} "
                                       f"rows (inner sizes {W_shape[1]} ≠ {x_shape[0]})"}
    D = (W_shape[0], x_shape[1])
    info = {"ok": True, "reason": "", "D": D, "dD": D, "dW": W_shape, "dx": x_shape}
    for target, a, b, want in (("for_dW", ("dD", D), ("x", x_shape), W_shape),
                               ("for_dx", ("W", W_shape), ("dD", D), x_shape)):
        rows, seen = [], set()
        for expr, shape, reason in candidates(*a, *b):
            if expr in seen:
                continue
            seen.add(expr)
            verdict = reason or ("fits" if shape == want else "wrong shape")
            rows.append((expr, shape, verdict))
        info[target] = rows
    return info


def as_text(info: dict) -> str:
    """The table as plain text (what the notebook prints for seed 002's shapes)."""
    if not info["ok"]:
        return info["reason"]
    lines = [f"D = W @ x has shape {info['D']}, so dD = dL/dD has shape {info['dD']}",
             f"dW must have W's shape {info['dW']}; dx must have x's shape {info['dx']}"]
    for key, name in (("for_dW", "dW"), ("for_dx", "dx")):
        fits = sum(v == "fits" for _, _, v in info[key])
        lines.append(f"candidates for {name}:" + ("" if fits == 1 else
                     f" {fits} products fit, because sizes coincide: use distinct sizes to tell them apart"))
        for expr, shape, verdict in info[key]:
            mark = "<-- the only one" if verdict == "fits" and fits == 1 else ""
            lines.append(f"  {expr:<10} {str(shape) if shape else '-':<9} {verdict:<22} {mark}".rstrip())
    return "\n".join(lines)


def as_html(info: dict) -> str:
    """The table as HTML: the product that fits on a tinted row, marked ✔ (colours: ``backprop_lab.theme``)."""
    if not info["ok"]:
        return theme.problem_html(info["reason"])
    fits_row = f"background:{theme.tint('pass', 0.2)};font-weight:bold"
    out = [f"<p>D = W @ x: <b>{info['D']}</b> &nbsp; dD: <b>{info['dD']}</b> &nbsp; dW must be <b>{info['dW']}</b>"
           f" &nbsp; dx must be <b>{info['dx']}</b></p><table><tr>"]
    for key, name in (("for_dW", "dW"), ("for_dx", "dx")):
        cells = "".join(
            f"<tr style='{fits_row if v == 'fits' else theme.ROW}'>"
            f"<td><code>{html.escape(e)}</code></td><td>{s if s else '—'}</td>"
            f"<td>{'✔ fits' if v == 'fits' else html.escape(v)}</td></tr>"
            for e, s, v in info[key])
        fits = sum(v == "fits" for _, _, v in info[key])
        note = "" if fits == 1 else f"<br><i>{fits} fit: sizes coincide, so the shapes cannot decide</i>"
        out.append(f"<td style='vertical-align:top'><b>candidates for {name}</b>{note}<table>{cells}</table></td>")
    return "".join(out) + "</tr></table>"


def shapes_widget(W_shape=(5, 10), x_shape=(10, 3)):
    """Four sliders (W rows/cols, x rows/cols) and the live table of which products fit."""
    import ipywidgets as widgets

    def slider(desc, value):
        return widgets.IntSlider(value=value, min=1, max=12, description=desc, continuous_update=False)

    sliders = [slider("W rows", W_shape[0]), slider("W cols", W_shape[1]),
               slider("x rows", x_shape[0]), slider("x cols", x_shape[1])]
    out = widgets.HTML()

    def update(_=None):
        a, b, c, d = (s.value for s in sliders)
        out.value = as_html(matmul_shapes((a, b), (c, d)))

    for s in sliders:
        s.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox(sliders[:2]), widgets.HBox(sliders[2:]), out])
