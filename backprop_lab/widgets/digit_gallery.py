"""Grids of small grey images: MNIST digits with their labels, or a layer's weights seen as images.

``show_digits(images, titles)`` draws rows of 28x28 images (flat rows of 784 are reshaped);
``show_weights(W)`` draws each column of a first-layer weight matrix (784, k) as a 28x28 picture,
with a diverging colour map centred on 0 (red: the unit likes ink there, blue: it dislikes it).
Each grid is one image on one axes (fast even for dozens of tiles). matplotlib is imported inside
the functions.
"""
from __future__ import annotations

import numpy as np


# inches: about the width of a notebook's output area (JupyterLab shows a figure at 100 dpi, and shrinks a
# wider one until its labels are unreadable); a gallery wider than this gets fewer columns and more rows
MAX_WIDTH_IN = 8.4
LABEL_PT = 9


def _grid(n, ncols, size=None):
    """(rows, columns): at most ``ncols`` columns, and only as many tiles of ``size`` inches as fit MAX_WIDTH_IN."""
    if size is not None:
        ncols = min(ncols, int(MAX_WIDTH_IN // size))
    ncols = max(1, min(ncols, n))
    return int(np.ceil(n / ncols)), ncols


def _mosaic(tiles, ncols, gap, top, size=None):
    """One image holding ``tiles`` (n, side, side) in a grid: ``gap`` pixels between them, ``top`` above each.

    The background is NaN (drawn in the colour map's "bad" colour, white). Drawing one image on one axes is
    many times faster than one axes per tile, which matters for a gallery of dozens.
    """
    n, side = len(tiles), tiles.shape[1]
    rows, cols = _grid(n, ncols, size)
    cell_w, cell_h = side + gap, side + gap + top
    mosaic = np.full((rows * cell_h, cols * cell_w), np.nan)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        y, x = r * cell_h + top, c * cell_w
        mosaic[y:y + side, x:x + side] = tile
    return mosaic, rows, cols, cell_w, cell_h


def _show_mosaic(mosaic, cmap, vmin, vmax, figsize, title):
    import matplotlib.pyplot as plt

    colors = plt.get_cmap(cmap).with_extremes(bad="white")   # the gaps between tiles (NaN) stay white
    fig, ax = plt.subplots(figsize=figsize)
    ax.imshow(mosaic, cmap=colors, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.axis("off")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig, ax


def show_digits(images, titles=None, ncols=12, size=1.0, cmap="gray_r", title=None, title_colors=None):
    """Draw ``images`` (n, 784) or (n, 28, 28) in a grid, each with its title (e.g. its label).

    Each tile is ``size`` inches wide, with at most ``ncols`` columns, fewer if they would not fit the width
    of a notebook (``MAX_WIDTH_IN``): the gallery is shown at its natural size, so the titles stay readable.
    """
    images = np.asarray(images, dtype=np.float64)
    n = len(images)
    if n == 0:
        print("(no images to show)")
        return None
    side = int(round(np.sqrt(images[0].size)))
    top = side // 3 if titles is not None else 0
    mosaic, rows, cols, cell_w, cell_h = _mosaic(images.reshape(n, side, side), ncols, gap=2, top=top, size=size)
    figsize = (cols * size, rows * size * cell_h / cell_w + (0.4 if title else 0))
    fig, ax = _show_mosaic(mosaic, cmap, 0, 1, figsize, title)
    if titles is not None:
        for i in range(n):
            r, c = divmod(i, cols)
            color = title_colors[i] if title_colors is not None else "black"
            ax.text(c * cell_w + side / 2, r * cell_h + top - 1, str(titles[i]), ha="center", va="bottom",
                    fontsize=LABEL_PT, color=color)
    return fig


def show_weights(W, n=32, ncols=16, size=0.8, title=None):
    """Draw the first ``n`` columns of ``W`` (784, k) as 28x28 images, each scaled to its own range."""
    W = np.asarray(W, dtype=np.float64)
    n = min(n, W.shape[1])
    side = int(round(np.sqrt(W.shape[0])))
    tiles = W[:, :n].T.reshape(n, side, side)
    tiles = tiles / np.maximum(np.abs(tiles).max(axis=(1, 2), keepdims=True), 1e-12)   # each in [-1, 1]
    mosaic, rows, cols, cell_w, cell_h = _mosaic(tiles, ncols, gap=2, top=0, size=size)
    fig, _ = _show_mosaic(mosaic, "RdBu_r", -1, 1, (cols * size, rows * size + (0.4 if title else 0)), title)
    return fig


def confusion_matrix(labels, predictions, n_classes=10):
    """Counts C[i, j] of examples with label i predicted as j."""
    c = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(c, (np.asarray(labels), np.asarray(predictions)), 1)
    return c


def show_confusion(c, title=None):
    """Draw a confusion matrix with its counts; the diagonal (right answers) in a separate colour scale."""
    import matplotlib.pyplot as plt

    c = np.asarray(c)
    off = c.astype(float).copy()
    np.fill_diagonal(off, np.nan)
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    im = ax.imshow(off, cmap="Reds")
    for i in range(c.shape[0]):
        for j in range(c.shape[1]):
            if c[i, j]:
                ax.text(j, i, str(c[i, j]), ha="center", va="center", fontsize=7,
                        color="tab:green" if i == j else "black", fontweight="bold" if i == j else "normal")
    ax.set_xticks(range(c.shape[1]))
    ax.set_yticks(range(c.shape[0]))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    fig.colorbar(im, ax=ax, label="mistakes (off the diagonal)")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
