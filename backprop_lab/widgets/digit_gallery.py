"""Grids of small grey images: MNIST digits with their labels, or a layer's weights seen as images.

``show_digits(images, titles)`` draws rows of 28x28 images (flat rows of 784 are reshaped);
``show_weights(W)`` draws each column of a first-layer weight matrix (784, k) as a 28x28 picture,
with a diverging colour map centred on 0 (red: the unit likes ink there, blue: it dislikes it).
matplotlib is imported inside the functions.
"""
from __future__ import annotations

import numpy as np


def _grid(n, ncols):
    ncols = max(1, min(ncols, n))
    return int(np.ceil(n / ncols)), ncols


def show_digits(images, titles=None, ncols=12, size=1.0, cmap="gray_r", title=None, title_colors=None):
    """Draw ``images`` (n, 784) or (n, 28, 28) in a grid, each with its title (e.g. its label)."""
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    n = len(images)
    if n == 0:
        print("(no images to show)")
        return None
    side = int(round(np.sqrt(images[0].size)))
    rows, cols = _grid(n, ncols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * size * 1.15), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i].reshape(side, side), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
            if titles is not None:
                color = title_colors[i] if title_colors is not None else "black"
                ax.set_title(str(titles[i]), fontsize=8, color=color, pad=2)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_weights(W, n=32, ncols=16, size=0.8, title=None):
    """Draw the first ``n`` columns of ``W`` (784, k) as 28x28 images, each scaled to its own range."""
    import matplotlib.pyplot as plt

    W = np.asarray(W)
    n = min(n, W.shape[1])
    side = int(round(np.sqrt(W.shape[0])))
    rows, cols = _grid(n, ncols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * size), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            w = W[:, i].reshape(side, side)
            lim = float(np.abs(w).max()) or 1.0
            ax.imshow(w, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
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
