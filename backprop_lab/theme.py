"""Colours that read well in JupyterLab's light and dark themes, and in other front ends.

Everything the package renders as HTML or SVG (``check()`` results, ``check_graph`` reports, the doctor's
table, graphs, widgets) takes its colours from here, by three rules:

* text keeps the front end's own colour (``color: inherit``), so it is dark on a light theme and light on a
  dark one;
* a status is shown by a translucent tint of whatever background is there, and a coloured border; a tint at
  12% leaves the contrast of the text against the background nearly unchanged in both themes;
* where text sits on a colour of our own (a badge), the text is white and the colour dark enough for it.

JupyterLab's CSS variables (``--jp-layout-color0``, ``--jp-content-font-color1``, ...) are used where a theme
colour is meant, each with a fallback for front ends that do not define them. ``tests/test_theme.py``
checks the contrast of every pair against both themes' backgrounds; ``tests/test_browser.py`` checks the
rendered pages.
"""
from __future__ import annotations

from html import escape

# the accent of each status: borders, graph strokes, tints (all readable against white and near-black)
ACCENTS = {
    "pass": "#1e8e3e",
    "fail": "#d93025",
    "error": "#d93025",
    "invalid": "#e37400",
    "todo": "#80868b",
    "info": "#1a73e8",
}
# background of a badge: white text on it has a contrast of at least 4.5:1
BADGES = {
    "pass": "#137333",
    "fail": "#c5221f",
    "error": "#c5221f",
    "invalid": "#a04c00",
    "todo": "#5f6368",
    "info": "#1967d2",
}
TINT_ALPHA = 0.12

# the theme's own colours, with the light theme's values as fallbacks
TEXT = "var(--jp-content-font-color1, rgba(0, 0, 0, 0.87))"
BACKGROUND = "var(--jp-layout-color0, #ffffff)"
SURFACE_2 = "var(--jp-layout-color2, #eeeeee)"
MUTED_LINE = "var(--jp-content-font-color2, rgba(0, 0, 0, 0.54))"
CODE_FONT = "var(--jp-code-font-family, ui-monospace, SFMono-Regular, Menlo, Consolas, monospace)"


def rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def tint(kind: str, alpha: float = TINT_ALPHA) -> str:
    """A translucent ``rgba(...)`` of the status colour: a background that works over light and dark."""
    r, g, b = rgb(ACCENTS[kind])
    return f"rgba({r}, {g}, {b}, {alpha})"


def box_style(kind: str) -> str:
    """Inline CSS of a status box: tinted background, coloured left border, the theme's text colour."""
    return (f"background:{tint(kind)};color:inherit;border-left:6px solid {ACCENTS[kind]};"
            "padding:8px 12px;margin:4px 0;border-radius:4px")


def badge(kind: str, text: str) -> str:
    """``text`` (escaped) in white on a small rounded patch of the status colour."""
    return (f'<span style="background:{BADGES[kind]};color:#ffffff;border-radius:3px;padding:0 5px;'
            f'font-weight:600">{escape(text)}</span>')


def problem_html(message: str) -> str:
    """A one-paragraph problem note (a half-typed einsum spec, impossible shapes): a red border, not red text."""
    return (f'<p style="{box_style("fail")}">⚠ {escape(message)}</p>')


# rows of HTML tables: JupyterLab paints odd and even rows (dark grey in the dark theme) and a hover colour;
# a row inside a tinted box must stay transparent so the box's tint, and the text on it, stay readable
ROW = "background:transparent;color:inherit"
