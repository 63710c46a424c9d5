"""Vision datasets: MNIST, Fashion-MNIST, ImageFolder, and the bundled MNIST sample.

Example:
    >>> from ember.vision import datasets
    >>> train, test = datasets.mnist_sample()
    >>> len(train) + len(test)
    10000
"""

from .folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, default_loader, pil_loader
from .idx import IDXFormatError, read_idx
from .mnist import MNIST, SAMPLE_DIR, FashionMNIST, MNISTSample, mnist_sample
from .utils import calculate_md5, check_integrity, download_url
from .vision import VisionDataset

__all__ = [
    "IMG_EXTENSIONS",
    "MNIST",
    "SAMPLE_DIR",
    "DatasetFolder",
    "FashionMNIST",
    "IDXFormatError",
    "ImageFolder",
    "MNISTSample",
    "VisionDataset",
    "calculate_md5",
    "check_integrity",
    "default_loader",
    "download_url",
    "mnist_sample",
    "pil_loader",
    "read_idx",
]
