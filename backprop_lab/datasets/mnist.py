"""MNIST: 70,000 handwritten digits (LeCun, Cortes and Burges; CC BY-SA 3.0), from the official IDX files.

>>> from backprop_lab.datasets import load_mnist
>>> x_train, y_train = load_mnist("train")      # doctest: +SKIP
MNIST train: 60,000 images from the full set (/home/you/.cache/backprop_lab/mnist).

Where the data comes from, in order:

1. the cache folder: ``$BACKPROP_LAB_DATA/mnist`` if that variable is set, else a per-user cache
   (``$XDG_CACHE_HOME/backprop_lab/mnist``, by default ``~/.cache/backprop_lab/mnist``; on macOS
   ``~/Library/Caches/backprop_lab/mnist``; on Windows ``%LOCALAPPDATA%\\backprop_lab\\Cache\\mnist``).
   A cached file is used only if its uncompressed content has the published MD5; a corrupted or partial
   file is downloaded again.
2. a download of the split's two official ``*-ubyte.gz`` files (``download_mnist()`` fetches all four)
   from ``MIRRORS`` (the mirrors torchvision uses, then Google's copy), each checked against its
   published MD5 and moved atomically into the cache.
3. otherwise (``download=False`` and nothing cached, or every mirror failed): a real MNIST subset bundled
   in the package (10,000 training and 2,000 test images, 1,000 and 200 of each digit, a seeded draw).

``BACKPROP_LAB_OFFLINE=1`` goes straight to 3, even with a full cache, so that the test suite and CI run
every notebook on the same data; ``source="full"`` or ``source="subset"`` picks one explicitly.

Every call prints one line saying which data it returned; the result's ``.source`` is ``"full"`` or
``"subset"`` (also kept in ``backprop_lab.datasets.mnist.last_source``).
"""
from __future__ import annotations

import os
import sys
from collections import namedtuple
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import download as _download
from .idx import IDXError, decompress_if_gzip, parse_idx

__all__ = ["load_mnist", "download_mnist", "MNISTSplit", "MNISTUnavailable", "default_cache_dir",
           "data_home", "MIRRORS", "RESOURCES", "FULL_SIZES", "last_source"]

# URL prefixes tried in order. The first two are torchvision's (torchvision/datasets/mnist.py); the third
# is the Google Cloud copy used by TensorFlow's MNIST tutorials. A file must match its MD5 whichever serves it.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)


class Resource(NamedTuple):
    filename: str  # the official name, as on every mirror
    md5: str       # MD5 of the .gz file as published (torchvision's table): checks a download
    idx_md5: str   # MD5 of the uncompressed IDX content as published: checks a cached file, however compressed
    ndim: int      # 3 for images (n, 28, 28), 1 for labels (n,)


RESOURCES = {
    "train": (Resource("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                       "6bbc9ace898e44ae57da46a324031adb", 3),
              Resource("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432",
                       "a25bea736e30d166cdddb491f175f624", 1)),
    "test": (Resource("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3",
                      "2646ac647ad5339dbf082846283269ea", 3),
             Resource("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c",
                      "27ae3e4e09519cfbb04c329615203637", 1)),
}
FULL_SIZES = {"train": 60_000, "test": 10_000}
SOURCES = ("auto", "full", "subset")

last_source: str | None = None  # "full" or "subset": what the latest load_mnist call returned
last_notice: str | None = None  # the line it printed


class MNISTUnavailable(RuntimeError):
    """``source="full"`` was asked for but the full set is neither cached nor downloadable."""


class MNISTSplit(namedtuple("MNISTSplit", ["x", "y"])):
    """``(x, y)``: unpack it as a pair. ``.source`` is ``"full"`` or ``"subset"``; ``.notice`` the printed line."""

    def __new__(cls, x, y, split, source, notice):
        self = super().__new__(cls, x, y)
        self.split, self.source, self.notice = split, source, notice
        return self

    def __repr__(self):
        kind = "full set" if self.source == "full" else "bundled subset"
        return (f"MNISTSplit({self.split}, {kind}: x {self.x.shape} {self.x.dtype}, "
                f"y {self.y.shape} {self.y.dtype})")


# ----------------------------------------------------------------------------------------- cache folders
def data_home() -> Path:
    """The folder for all of backprop-lab's downloaded data: ``$BACKPROP_LAB_DATA``, else a per-user cache."""
    env = os.environ.get("BACKPROP_LAB_DATA")
    if env:
        return Path(env).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / "backprop_lab" / "Cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "backprop_lab"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else home / ".cache"  # the XDG spec ignores relative paths
    return base / "backprop_lab"


def default_cache_dir() -> Path:
    """The folder that holds the four MNIST files unless ``cache_dir`` says otherwise."""
    return data_home() / "mnist"


def _offline() -> bool:
    return os.environ.get("BACKPROP_LAB_OFFLINE", "").strip().lower() not in ("", "0", "false", "no", "off")


# ------------------------------------------------------------------------------------------ the full set
class _Corrupt(Exception):
    pass


def _read_cached(folder: Path, res: Resource):
    """The verified array in ``folder`` for ``res``; None if absent; raises _Corrupt(reason) if damaged."""
    for path in (folder / res.filename, folder / res.filename.removesuffix(".gz")):  # .gz, or unpacked
        if path.is_file():
            break
    else:
        return None
    try:
        content = decompress_if_gzip(path.read_bytes(), str(path))
        array = parse_idx(content, name=str(path), ndim=res.ndim, dtype=np.uint8)
    except IDXError as err:
        raise _Corrupt(f"{path} is corrupted or partial: {err.problem}") from None
    got = _download.md5_of(content)
    if got != res.idx_md5:
        raise _Corrupt(f"{path} is corrupted or partial: its content has MD5 {got}, "
                       f"the published one is {res.idx_md5}")
    return array


def _load_full(split, folder, allow_download, timeout, verbose):
    """(images, labels) as uint8 arrays from the cache, downloading what is missing or corrupted."""
    arrays = []
    for res in RESOURCES[split]:
        try:
            array = _read_cached(folder, res)
        except _Corrupt as err:
            if not allow_download:
                raise MNISTUnavailable(str(err)) from None
            if verbose:
                print(f"{err}; downloading it again.")
            array = None
        if array is None:
            if not allow_download:
                raise MNISTUnavailable(f"{res.filename} is not in {folder}")
            _download.download(res.filename, res.md5, folder, MIRRORS, timeout=timeout, verbose=verbose)
            try:
                array = _read_cached(folder, res)
            except _Corrupt as err:  # only if RESOURCES' two digests disagree
                raise MNISTUnavailable(f"{err} right after a verified download: the digest table is wrong") from None
        arrays.append(array)
    images, labels = arrays
    if len(images) != len(labels):
        raise MNISTUnavailable(f"{folder}: {len(images)} images but {len(labels)} labels for the {split} split")
    return images, labels


def download_mnist(cache_dir=None, *, timeout: float = 30.0, verbose: bool = True) -> Path:
    """Fetch all four MNIST files into the cache now (e.g. before going offline); return the folder.

    Files already cached and intact are kept. Raises ``DownloadError`` if a file cannot be fetched.
    """
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    for split in RESOURCES:
        _load_full(split, folder, True, timeout, verbose)
    return folder


# -------------------------------------------------------------------------------------- the bundled subset
def _load_subset(split):
    with resources.files(__package__).joinpath("data", "mnist_subset.npz").open("rb") as f:
        with np.load(f) as data:
            return data[f"x_{split}"], data[f"y_{split}"]


# --------------------------------------------------------------------------------------------- public API
def load_mnist(split: str = "train", *, source: str = "auto", flatten: bool = True, cache_dir=None,
               download: bool = True, timeout: float = 30.0, verbose: bool = True) -> MNISTSplit:
    """Load one MNIST split as ``(x, y)``: images scaled to [0, 1] and their digit labels.

    Parameters
    ----------
    split : "train" (60,000 images; 10,000 in the subset) or "test" (10,000; 2,000 in the subset).
    source : "auto" (default) uses the full set from the cache, downloading it if needed, and falls back
        to the bundled subset when offline or when the download fails. "full" never falls back: it raises
        ``MNISTUnavailable`` instead. "subset" always returns the bundled subset.
        ``BACKPROP_LAB_OFFLINE=1`` makes "auto" return the subset without looking further (the test
        suite sets it, so notebooks run on the same data everywhere); "full" then reads the cache only.
    flatten : True gives ``x`` of shape (n, 784), False (n, 28, 28).
    cache_dir : the folder holding the four ``*-ubyte.gz`` files; default ``default_cache_dir()``.
    download : False never touches the network.
    timeout : seconds a mirror may stay silent before the next one is tried.
    verbose : print the one-line notice (and download progress).

    Returns
    -------
    MNISTSplit ``(x, y)``: ``x`` float32 in [0, 1], ``y`` int64 in 0..9, in the official order (the subset
    keeps the official order of the images it holds). ``.source`` is "full" or "subset", ``.notice`` the
    line printed; ``backprop_lab.datasets.mnist.last_source`` keeps the latest ``.source``.
    """
    if split not in RESOURCES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(map(repr, SOURCES))}, got {source!r}")
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    offline = _offline()

    why_subset = "source='subset'"
    if source == "auto" and offline:
        why_subset = "BACKPROP_LAB_OFFLINE is set"
    elif source != "subset":
        allow_download = download and not offline
        try:
            images, labels = _load_full(split, folder, allow_download, timeout, verbose)
            return _finish(images, labels, split, "full", f"the full set ({folder})", flatten, verbose)
        except (MNISTUnavailable, _download.DownloadError) as err:
            if source == "full":
                if isinstance(err, _download.DownloadError):
                    problem = f"{err.filename} could not be downloaded from any mirror"
                elif allow_download:
                    problem = str(err)
                else:
                    problem = f"{err} and " + ("BACKPROP_LAB_OFFLINE is set" if offline else "download=False")
                raise MNISTUnavailable(
                    f"MNIST {split}: the full set is not available: {problem}. To fix: call again online; or "
                    f"copy the four official *-ubyte.gz files into {folder} (or set BACKPROP_LAB_DATA); or "
                    "use source='auto' to fall back to the bundled subset.") from err
            if isinstance(err, _download.DownloadError):
                last = err.attempts[-1][1] if err.attempts else "no mirrors"
                why_subset = f"could not download {err.filename} from any of {len(err.attempts)} mirrors; last: {last}"
            else:
                why_subset = f"{err}" + ("" if allow_download else "; download=False")
    images, labels = _load_subset(split)
    return _finish(images, labels, split, "subset",
                   f"the bundled subset, not the full {FULL_SIZES[split]:,} ({why_subset})", flatten, verbose)


def _finish(images, labels, split, source, where, flatten, verbose):
    global last_source, last_notice
    n = len(images)
    x = np.divide(images.reshape(n, 784) if flatten else images.reshape(n, 28, 28), 255, dtype=np.float32)
    y = labels.astype(np.int64)
    notice = f"MNIST {split}: {n:,} images from {where}."
    last_source, last_notice = source, notice
    if verbose:
        print(notice)
    return MNISTSplit(x, y, split, source, notice)
