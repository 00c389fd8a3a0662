"""What the package shows in a notebook, checked without a browser (issue 18): colours that read in both of
JupyterLab's themes, labels that are not cut off, reports that wrap between words, formulas that render.

tests/test_browser.py checks the same things in the rendered pages; these tests pin down the causes.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import backprop_lab as bl
from backprop_lab import theme
from backprop_lab.exercises import render
from backprop_lab.exercises.framework import CaseOutcome, CheckResult, Exercise, Mismatch

# the backgrounds a cell's output sits on: light theme (white), dark theme (--jp-layout-color0 and the
# table rows' --jp-layout-color1)
BACKGROUNDS = {"light": [(255, 255, 255)], "dark": [(17, 17, 17), (33, 33, 33)]}
TEXT = {"light": (0, 0, 0, 0.87), "dark": (255, 255, 255, 1.0)}   # --jp-content-font-color1


def over(top, bottom):
    *rgb, a = top if len(top) == 4 else (*top, 1.0)
    return tuple(c * a + b * (1 - a) for c, b in zip(rgb, bottom))


def luminance(rgb):
    def lin(v):
        v /= 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = (lin(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b):
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def rgba(css):
    m = re.fullmatch(r"rgba\((\d+), (\d+), (\d+), ([\d.]+)\)", css)
    return tuple(float(v) for v in m.groups())


@pytest.mark.parametrize("kind", sorted(theme.ACCENTS))
@pytest.mark.parametrize("mode", ["light", "dark"])
def test_status_tints_keep_the_theme_text_readable(kind, mode):
    for base in BACKGROUNDS[mode]:
        for alpha in (theme.TINT_ALPHA, 0.16, 0.2, 0.22):   # boxes, op nodes, table rows, highlights
            background = over(rgba(theme.tint(kind, alpha)), base)
            assert contrast(over(TEXT[mode], background), background) >= 7, (kind, mode, base, alpha)


@pytest.mark.parametrize("kind", sorted(theme.BADGES))
def test_badges_carry_white_text(kind):
    assert contrast((255, 255, 255), theme.rgb(theme.BADGES[kind])) >= 4.5


class Half(Exercise):
    id, title, points = "99.1", "half", 1


def result_html(status):
    ex = Half()
    case_status = "pass" if status == "pass" else status
    outcome = CaseOutcome(status=case_status, case={"x": 4.0}, got=8.0, want=2.0,
                          mismatch=Mismatch("not half", "you doubled: `x / 2` halves") if status == "fail" else None,
                          error={"todo": "Exercise 99.1: return half of x",
                                 "error": "ZeroDivisionError: division by zero"}.get(status, ""))
    return render.as_html(CheckResult(ex, status, [outcome], message="the object is not callable"))


@pytest.mark.parametrize("status", ["pass", "fail", "error", "todo", "invalid"])
def test_check_boxes_tint_the_background_and_keep_the_theme_text_colour(status):
    html = result_html(status)
    assert "color:inherit" in html
    assert not re.search(r"(?<!-)color:\s*#", html), "a fixed text colour is unreadable in one of the themes"
    # JupyterLab paints table rows dark grey in the dark theme: every row and cell must stay transparent
    assert html.count("<tr") == html.count('<tr style="background:transparent')
    assert all("background:transparent" in td for td in re.findall(r"<td[^>]*>", html))


def test_backticks_in_rows_show_as_code():
    todo = result_html("todo")   # the "Next" row names the line to replace
    assert "`" not in todo and '<code style="color:inherit">raise NotImplementedError(...)</code>' in todo
    fail = result_html("fail")   # a hint
    assert '<code style="color:inherit">x / 2</code> halves' in fail


def test_check_graph_report_wraps_between_words():
    x = bl.Tensor(np.array([0.3, -0.2]), requires_grad=True)

    class Wrong(bl.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a ** 3

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved
            return g * 3 * a   # planted: should be 3 a**2

    report = bl.check_graph(Wrong.apply(x).sum())
    assert not report.ok
    # JupyterLab breaks printed lines that are too long anywhere, even inside "index": keep them short
    assert all(len(line) <= 100 for line in str(report).splitlines())
    assert "index (" in str(report)
    html = report._repr_html_()
    assert "<pre" not in html and "overflow-wrap:break-word" in html and "color:inherit" in html


def test_doctor_symbols_are_badges():
    html = bl.doctor()._repr_html_()
    assert "✓</span>" in html and "color:#ffffff" in html   # white on the badge's own dark colour


def test_digit_gallery_fits_a_notebook_and_labels_are_readable():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from backprop_lab.widgets.digit_gallery import LABEL_PT, MAX_WIDTH_IN, show_digits

    images = np.random.default_rng(0).random((36, 784))
    fig = show_digits(images, titles=list(range(36)), ncols=18, title="the first 36")
    width, _ = fig.get_size_inches()
    assert width <= MAX_WIDTH_IN   # shown at natural size: JupyterLab does not shrink it
    labels = [t for t in fig.axes[0].texts]
    assert len(labels) == 36 and min(t.get_fontsize() for t in labels) >= LABEL_PT >= 9
    plt.close(fig)


def test_widget_labels_are_not_cut_off():
    pytest.importorskip("ipywidgets")
    from backprop_lab.widgets import einsum_explorer, optimizer_paths

    box = einsum_explorer.einsum_explorer("ij,jk->ik")
    check = box.children[0].children[1]
    assert check.description.startswith("run the numerical") and check.indent is False
    assert check.layout.width == "auto"
    import IPython.display

    shown = []
    original = IPython.display.display
    IPython.display.display = lambda w, *a, **k: shown.append(w)
    try:
        optimizer_paths.optimizer_paths_widget(steps=10)
    finally:
        IPython.display.display = original
    controls = [c for row in shown[0].children[:2] for c in row.children]
    assert {c.description for c in controls} == {"surface", "optimizer", "learning rate", "steps"}
    assert all(c.style.description_width == "initial" for c in controls)


def test_show_source_renders_the_docstring_as_markdown():
    from backprop_lab import rules

    shown = bl.show_source(rules.Mul)
    md = shown._repr_markdown_()
    assert md.startswith("**`backprop_lab.rules.Mul`** — `backprop_lab/rules.py`, line ")
    assert "\n$z = x y$: each input's gradient" in md                 # the formula as Markdown math
    assert "```python\nclass Mul(Function):\n    @staticmethod" in md  # the code, its docstring shown above
    assert md.count("$z = x y$") == 1
    assert str(shown) == __import__("inspect").getsource(rules.Mul).rstrip("\n")   # printed: as before
    doc = bl.show_doc(rules, start="| forward")
    assert str(doc).startswith("| forward") and "| z = x * y" in doc._repr_markdown_()
    with pytest.raises(ValueError, match="does not occur"):
        bl.show_doc(rules, start="no such text")


def test_show_source_of_a_function_without_docstring_is_its_code():
    def f(x):
        return x + 1

    md = bl.show_source(f)._repr_markdown_()
    assert "```python\ndef f(x):\n    return x + 1\n```" in md


def test_progress_bar_texts_do_not_shrink(monkeypatch):
    pytest.importorskip("ipywidgets")
    import tqdm.auto
    import tqdm.notebook

    from backprop_lab.widgets.training_monitor import progress_bar

    monkeypatch.setattr(tqdm.auto, "tqdm", tqdm.notebook.tqdm)   # the bar Jupyter gets
    monkeypatch.setattr(tqdm.notebook, "display", lambda *a, **k: None)
    with progress_bar(10, desc="seed 001: 784-64-64-10, SGD lr 0.1", unit="step") as bar:
        bar.update(10)
    left, middle, right = bar.container.children
    assert left.layout.flex == right.layout.flex == "0 0 auto"   # the texts keep their width...
    assert middle.layout.flex == "1 1 60px" and middle.layout.min_width == "60px"   # ...the bar gives way
    assert "seed\u2007001" in left.value   # tqdm joins words with figure spaces

