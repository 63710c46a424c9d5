"""Vision datasets: MNIST, Fashion-MNIST, CIFAR-10/100, FakeData, ImageFolder, and the bundled MNIST sample.

Example:
    >>> from ember.vision import datasets
    >>> train, test = datasets.mnist_sample()
    >>> len(train) + len(test)
    10000
"""

from .cifar import CIFAR10, CIFAR100, UnsafePickleError, load_cifar_pickle
from .fakedata import FakeData
from .folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, default_loader, pil_loader
from .idx import IDXFormatError, read_idx
from .mnist import MNIST, SAMPLE_DIR, FashionMNIST, MNISTSample, mnist_sample
from .utils import calculate_md5, check_integrity, download_url
from .vision import VisionDataset

__all__ = [
    "CIFAR10",
    "CIFAR100",
    "IMG_EXTENSIONS",
    "MNIST",
    "SAMPLE_DIR",
    "DatasetFolder",
    "FakeData",
    "FashionMNIST",
    "IDXFormatError",
    "ImageFolder",
    "MNISTSample",
    "UnsafePickleError",
    "VisionDataset",
    "calculate_md5",
    "check_integrity",
    "default_loader",
    "download_url",
    "load_cifar_pickle",
    "mnist_sample",
    "pil_loader",
    "read_idx",
]
