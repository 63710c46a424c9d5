"""MNIST and Fashion-MNIST from their IDX files, laid out as torchvision lays them out:
``root/<ClassName>/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``.

Example:
    >>> train, test = mnist_sample()
    >>> len(train), len(test)
    (8000, 2000)
    >>> img, label = test[0]
    >>> img.mode, img.size, type(label)
    ('L', (28, 28), <class 'int'>)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import ember

from .idx import IDXFormatError, read_idx
from .utils import check_integrity, download_from_mirrors
from .vision import VisionDataset

__all__ = ["MNIST", "FashionMNIST", "MNISTSample", "mnist_sample", "SAMPLE_DIR"]

# The official MNIST test split, shipped with the package so training works offline.
SAMPLE_DIR = Path(__file__).resolve().parent / "_sample"


def _find(raw_folder: str, name: str) -> str | None:
    """The path of ``name`` in ``raw_folder``: uncompressed first, then ``.gz``."""
    for candidate in (name, name + ".gz"):
        path = os.path.join(raw_folder, candidate)
        if os.path.isfile(path):
            return path
    return None


def _load_split(folder: str, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Read ``<prefix>-images-idx3-ubyte`` and ``<prefix>-labels-idx1-ubyte`` from ``folder``."""
    names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    paths = [_find(folder, n) for n in names]
    missing = [os.path.join(folder, n) + "[.gz]" for n, p in zip(names, paths) if p is None]
    if missing:
        raise RuntimeError("Dataset not found. You can use download=True to download it. "
                           "Expected these files (optionally gzipped): " + ", ".join(missing))
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3 or images.dtype != np.uint8:
        raise IDXFormatError(paths[0], f"expected a 3-D uint8 image array, got {images.ndim}-D {images.dtype}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise IDXFormatError(paths[1], f"expected a 1-D uint8 label array, got {labels.ndim}-D {labels.dtype}")
    if len(images) != len(labels):
        raise IDXFormatError(paths[1], f"{len(labels)} labels for {len(images)} images in {paths[0]}")
    return images, labels.astype(np.int64)


class MNIST(VisionDataset):
    """The MNIST digits: items are ``(PIL image in mode 'L', int label)``.

    ``.data`` is a uint8 tensor (N, 28, 28) and ``.targets`` an int64 tensor (N,).

    Example:
        >>> import tempfile
        >>> try:
        ...     MNIST(tempfile.mkdtemp())
        ... except RuntimeError as e:
        ...     print(str(e).split(".")[0])
        Dataset not found
    """

    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcc592d0ac8"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root: str | os.PathLike, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        images, labels = _load_split(self.raw_folder, "train" if train else "t10k")
        self._set_arrays(images, labels)

    def _set_arrays(self, images: np.ndarray, labels: np.ndarray) -> None:
        self._images = np.ascontiguousarray(images)  # host copy: fast PIL conversion per item
        self._labels = labels.tolist()
        self.data = ember.from_numpy(self._images)
        self.targets = ember.from_numpy(np.ascontiguousarray(labels, dtype=np.int64))

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "raw")

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def _check_exists(self) -> bool:
        return all(_find(self.raw_folder, os.path.splitext(name)[0]) is not None for name, _ in self.resources)

    def download(self) -> None:
        """Fetch the four ``.gz`` files into :attr:`raw_folder`, checking each MD5."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for filename, md5 in self.resources:
            if not check_integrity(os.path.join(self.raw_folder, filename), md5):
                download_from_mirrors(self.mirrors, filename, self.raw_folder, md5)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img = Image.fromarray(self._images[index])  # 2-D uint8 -> mode 'L'
        target = self._labels[index]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self._labels)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: the MNIST format with ten kinds of clothing.

    Example:
        >>> FashionMNIST.classes[9]
        'Ankle boot'
    """

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


class MNISTSample(MNIST):
    """A deterministic train/test split of the MNIST *test* set shipped with ember.

    The first ``train_size`` images are the training split, the rest the test split. ``root``
    is a folder holding ``t10k-*-ubyte[.gz]`` (default: the bundled copy).

    Example:
        >>> len(MNISTSample(train=False, train_size=9000))
        1000
    """

    def __init__(self, root: str | os.PathLike | None = None, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 train_size: int = 8000) -> None:
        VisionDataset.__init__(self, root if root is not None else SAMPLE_DIR,
                               transform=transform, target_transform=target_transform)
        self.train = train
        images, labels = _load_split(self.root, "t10k")
        if not 0 < train_size < len(images):
            raise ValueError(f"train_size must be between 1 and {len(images) - 1}, got {train_size}")
        part = slice(0, train_size) if train else slice(train_size, None)
        self._set_arrays(images[part], labels[part])

    @property
    def raw_folder(self) -> str:
        return self.root


def mnist_sample(root: str | os.PathLike | None = None, transform: Callable | None = None,
                 target_transform: Callable | None = None, train_size: int = 8000) -> tuple[MNISTSample, MNISTSample]:
    """``(train, test)`` datasets from the bundled MNIST test split (8000 / 2000 images).

    Example:
        >>> train, test = mnist_sample()
        >>> int(train.targets[0]), tuple(train.data.shape)
        (7, (8000, 28, 28))
    """
    kw: dict[str, Any] = dict(transform=transform, target_transform=target_transform, train_size=train_size)
    return MNISTSample(root, train=True, **kw), MNISTSample(root, train=False, **kw)
