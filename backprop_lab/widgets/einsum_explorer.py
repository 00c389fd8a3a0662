"""Type an einsum spec, see every shape, the backward spec of each operand, and a live gradient check.

``explain(spec, shapes=None)`` does the bookkeeping as plain data (tested, and usable without
widgets); ``einsum_explorer(spec)`` wraps it in an ipywidgets text box for notebook 05.

The backward rule (notebook 05, and ``backprop_lab.einsum``): for ``out = einsum(in_1,...,in_n -> out)``
the gradient of operand i is ``einsum(out, in_1..(without in_i).., in_n -> in_i)`` applied to
(upstream gradient, the other operands), with two refinements: letters of ``in_i`` that appear
nowhere else were summed away and are broadcast back; a repeated letter ("ii") reads a diagonal,
so its gradient is written onto that diagonal (a Kronecker delta).
"""
from __future__ import annotations

import html
import string

import numpy as np

from .. import theme

DEFAULT_SIZES = (2, 3, 4, 5, 6, 7, 8, 9)


def split(spec: str) -> tuple[list[str], str]:
    """Operand subscripts and output subscripts of an explicit or implicit spec (no ellipsis).

    An implicit spec ("ij,jk") gets NumPy's output: the letters used once, in alphabetical order.
    """
    spec = spec.replace(" ", "")
    if "..." in spec:
        raise ValueError(f"einsum spec {spec!r}: this explorer handles letters only, not '...'")
    lhs, arrow, output = spec.partition("->")
    inputs = lhs.split(",")
    letters = "".join(inputs)
    bad = sorted(set(letters + output) - set(string.ascii_letters))
    if bad:
        raise ValueError(f"einsum spec {spec!r}: subscripts must be letters, found {bad}")
    if not arrow:
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    missing = sorted(set(output) - set(letters))
    if missing:
        raise ValueError(f"einsum spec {spec!r}: output letters {missing} appear in no operand")
    repeated = sorted(c for c in set(output) if output.count(c) > 1)
    if repeated:
        raise ValueError(f"einsum spec {spec!r}: output letters {repeated} appear more than once")
    return inputs, output


def backward_spec(inputs: list[str], output: str, i: int) -> dict:
    """How the gradient of operand ``i`` is computed: the einsum spec and the two refinements.

    Returns ``{"spec", "operands", "broadcast", "diagonal"}``: the spec applied to (upstream
    gradient, the other operands in order), the letters broadcast back afterwards (summed away
    in the forward pass only inside operand i), and the repeated letters whose gradient goes
    onto a diagonal.
    """
    target = inputs[i]
    others = [s for j, s in enumerate(inputs) if j != i]
    unique = "".join(dict.fromkeys(target))
    available = set(output).union(*others) if others else set(output)
    reachable = "".join(c for c in unique if c in available)
    names = ["G"] + [f"op{j}" for j in range(len(inputs)) if j != i]
    return {"spec": ",".join([output] + others) + "->" + reachable, "operands": names,
            "broadcast": "".join(c for c in unique if c not in available),
            "diagonal": "".join(sorted(c for c in set(target) if target.count(c) > 1))}


def explain(spec: str, shapes=None) -> dict:
    """Shapes and backward specs for ``spec``: plain data for the widget and the tests.

    ``shapes`` (one tuple per operand) is optional: without it every letter gets its own size
    (2, 3, 4, ... in order of first appearance) so that a transposed answer cannot hide.
    """
    inputs, output = split(spec)
    sizes = {}
    if shapes is None:
        for c in dict.fromkeys("".join(inputs)):
            sizes[c] = DEFAULT_SIZES[len(sizes) % len(DEFAULT_SIZES)]
        shapes = [tuple(sizes[c] for c in subs) for subs in inputs]
    else:
        shapes = [tuple(s) for s in shapes]
        if len(shapes) != len(inputs):
            raise ValueError(f"einsum spec {spec!r} has {len(inputs)} operand(s) but {len(shapes)} shape(s) were given")
        for subs, shape in zip(inputs, shapes):
            if len(subs) != len(shape):
                raise ValueError(f"operand '{subs}' has {len(subs)} subscript(s) but shape {shape}")
            for c, n in zip(subs, shape):
                if sizes.setdefault(c, n) != n:
                    raise ValueError(f"index '{c}' has size {sizes[c]} in one place and {n} in another")
    summed = "".join(c for c in dict.fromkeys("".join(inputs)) if c not in output)
    return {
        "spec": ",".join(inputs) + "->" + output,
        "inputs": inputs, "output": output, "sizes": sizes, "shapes": shapes,
        "out_shape": tuple(sizes[c] for c in output), "summed": summed,
        "backward": [backward_spec(inputs, output, i) for i in range(len(inputs))],
    }


def live_check(info: dict, seed: int = 0) -> str:
    """Run ``bl.gradcheck`` on ``bl.einsum(spec)`` with random operands; a one-line verdict."""
    import backprop_lab as bl

    if sum(int(np.prod(s)) for s in info["shapes"]) > 400:
        return "gradient check skipped: more than 400 entries to perturb (use smaller sizes)"
    rng = np.random.default_rng(seed)
    tensors = [bl.Tensor(rng.standard_normal(s), requires_grad=True) for s in info["shapes"]]
    try:
        bl.gradcheck(lambda *ts: bl.einsum(info["spec"], *ts), *tensors)
    except bl.GradcheckError as exc:
        return f"gradient check FAILED: {exc}"
    n = sum(int(np.prod(s)) for s in info["shapes"])
    return f"gradient check passed: all {n} entries of the operands agree with central differences"


def as_html(info: dict, verdict: str = "") -> str:
    """A small table: operands with shapes, the output, and each operand's backward spec."""
    e = html.escape
    rows = []
    for k, (subs, shape, back) in enumerate(zip(info["inputs"], info["shapes"], info["backward"])):
        extra = []
        if back["broadcast"]:
            extra.append(f"then broadcast along '{back['broadcast']}' (summed away only here)")
        if back["diagonal"]:
            extra.append(f"then place on the diagonal of '{back['diagonal']}' (Kronecker δ)")
        args = ", ".join(back["operands"])
        rows.append(f"<tr><td>op{k}</td><td><code>{e(subs)}</code></td><td>{shape}</td>"
                    f"<td><code>einsum('{e(back['spec'])}', {e(args)})</code> {e('; '.join(extra))}</td></tr>")
    summed = ", ".join(info["summed"]) or "none"
    return (f"<p>forward <code>einsum('{e(info['spec'])}')</code>: output <code>{e(info['output']) or '(scalar)'}</code> "
            f"of shape {info['out_shape']}; summed indices: {e(summed)}; G = dL/d(output) has shape "
            f"{info['out_shape']}</p><table><tr><th>operand</th><th>subscripts</th><th>shape</th>"
            f"<th>gradient (rule: G with the other operands, output = this operand's subscripts)</th></tr>"
            + "".join(rows) + f"</table><p>{e(verdict)}</p>")


def einsum_explorer(spec: str = "ij,jk->ik"):
    """The widget: a text box for the spec; shapes, backward specs and a gradient check update live."""
    import ipywidgets as widgets

    box = widgets.Text(value=spec, description="spec", continuous_update=False,
                       layout=widgets.Layout(width="24em"))
    check = widgets.Checkbox(value=True, description="run the numerical gradient check", indent=False,
                             layout=widgets.Layout(width="auto"))   # as wide as its label: nothing cut off
    out = widgets.HTML()

    def update(_=None):
        try:
            info = explain(box.value)
            verdict = live_check(info) if check.value else ""
            out.value = as_html(info, verdict)
        except Exception as exc:  # a half-typed spec: say what is wrong, keep the widget alive
            out.value = theme.problem_html(str(exc))

    box.observe(update, names="value")
    check.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([box, check], layout=widgets.Layout(flex_flow="row wrap")), out])
