"""Data for the course: MNIST (full set, cached; or a bundled offline subset) and seeded toy sets."""
from . import idx, mnist, toy
from .download import DownloadError
from .idx import IDXError, read_idx, write_idx
from .mnist import MNISTUnavailable, download_mnist, load_mnist
from .toy import blobs, regression_1d, regression_curve, spirals, two_moons

__all__ = ["load_mnist", "download_mnist", "MNISTUnavailable", "DownloadError", "IDXError", "read_idx",
           "write_idx", "two_moons", "spirals", "blobs", "regression_1d", "regression_curve",
           "idx", "mnist", "toy"]
