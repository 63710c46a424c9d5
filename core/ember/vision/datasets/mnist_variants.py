"""KMNIST, EMNIST and QMNIST: MNIST-format datasets, laid out as torchvision lays them out.

* ``KMNIST``: ``root/KMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``;
* ``EMNIST``: ``root/EMNIST/raw/emnist-<split>-{train,test}-{images-idx3,labels-idx1}-ubyte``
  (the official files store each image transposed; like torchvision, they are returned as stored);
* ``QMNIST``: ``root/QMNIST/raw/qmnist-{train,test}-{images-idx3-ubyte,labels-idx2-int}`` or
  ``xnist-...`` for ``what="nist"``; targets are the 8 QMNIST columns (an int64 tensor) when
  ``compat=False``, else the class.

Example:
    >>> EMNIST.classes_split_dict["letters"][:3]
    ['N/A', 'a', 'b']
"""

from __future__ import annotations

import os
import shutil
import string
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from .idx import read_idx
from .mnist import MNIST
from .utils import download_and_extract_archive, extract_archive, verify_str_arg
from .vision import VisionDataset

__all__ = ["KMNIST", "EMNIST", "QMNIST"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST: ten classes of cursive Japanese characters in the MNIST format.

    Example:
        >>> KMNIST.classes[:3]
        ['o', 'ki', 'su']
    """

    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    ]
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


def _existing(path: str) -> str | None:
    for candidate in (path, path + ".gz"):
        if os.path.isfile(candidate):
            return candidate
    return None


def _read_checked(path: str, ndim: int, dtype: Any = np.uint8) -> np.ndarray:
    arr = read_idx(path)
    if arr.dtype != dtype:
        raise TypeError(f"x should be of dtype {np.dtype(dtype)} instead of {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"x should have {ndim} dimension{'s' if ndim > 1 else ''} instead of {arr.ndim}")
    return arr


class _FilesMNIST(MNIST):
    """An MNIST variant whose two raw files are named by ``images_file``/``labels_file``."""

    images_file: str
    labels_file: str

    def _init_files(self, root: Any, train: bool, transform: Callable | None, target_transform: Callable | None,
                    download: bool) -> None:
        VisionDataset.__init__(self, root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")

    def _check_exists(self) -> bool:
        return all(_existing(f) is not None for f in (self.images_file, self.labels_file))


class EMNIST(_FilesMNIST):
    """Extended MNIST: handwritten digits and letters in six splits (``byclass``, ``bymerge``,
    ``balanced``, ``letters``, ``digits``, ``mnist``).

    Example:
        >>> try:
        ...     EMNIST("data", split="all")
        ... except ValueError as e:
        ...     print(str(e)[:39])
        Unknown value 'all' for argument split.
    """

    url = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
    md5 = "58c8d27c78d21e728a6bc7b3cc06412e"
    splits = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
    # upper and lower case letters that look alike are merged in "bymerge" and "balanced"
    _merged_classes = {"c", "i", "j", "k", "l", "m", "o", "p", "s", "u", "v", "w", "x", "y", "z"}
    _all_classes = set(string.digits + string.ascii_letters)
    classes_split_dict = {
        "byclass": sorted(_all_classes),
        "bymerge": sorted(_all_classes - _merged_classes),
        "balanced": sorted(_all_classes - _merged_classes),
        "letters": ["N/A"] + list(string.ascii_lowercase),
        "digits": list(string.digits),
        "mnist": list(string.digits),
    }

    def __init__(self, root: str | os.PathLike, split: str, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        self.split = verify_str_arg(split, "split", self.splits)
        self.root = os.path.expanduser(os.fspath(root))
        self.train = train
        self._init_files(root, train, transform, target_transform, download)
        images = _read_checked(_existing(self.images_file), 3)  # type: ignore[arg-type]
        labels = _read_checked(_existing(self.labels_file), 1)  # type: ignore[arg-type]
        self._set_arrays(images, labels.astype(np.int64))
        self.classes = self.classes_split_dict[self.split]

    @property
    def _file_prefix(self) -> str:
        return f"emnist-{self.split}-{'train' if self.train else 'test'}"

    @property
    def images_file(self) -> str:  # type: ignore[override]
        return os.path.join(self.raw_folder, f"{self._file_prefix}-images-idx3-ubyte")

    @property
    def labels_file(self) -> str:  # type: ignore[override]
        return os.path.join(self.raw_folder, f"{self._file_prefix}-labels-idx1-ubyte")

    def download(self) -> None:
        """Fetch the zip of all splits and unpack its ``gzip/*.gz`` into :attr:`raw_folder`."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        download_and_extract_archive(self.url, download_root=self.raw_folder, md5=self.md5)
        gzip_folder = os.path.join(self.raw_folder, "gzip")
        for name in os.listdir(gzip_folder):
            if name.endswith(".gz"):
                extract_archive(os.path.join(gzip_folder, name), self.raw_folder)
        shutil.rmtree(gzip_folder)


class QMNIST(_FilesMNIST):
    """QMNIST: MNIST reconstructed from NIST, with 8 columns of metadata per digit.

    ``what`` is ``train``, ``test`` (60k), ``test10k`` (the MNIST test digits), ``test50k`` or ``nist``;
    when it is None, ``train`` picks ``train`` or ``test``.

    Example:
        >>> sorted(QMNIST.subsets)
        ['nist', 'test', 'test10k', 'test50k', 'train']
    """

    subsets = {"train": "train", "test": "test", "test10k": "test", "test50k": "test", "nist": "nist"}
    _base = "https://raw.githubusercontent.com/facebookresearch/qmnist/master/"
    resources: dict[str, list[tuple[str, str]]] = {  # type: ignore[assignment]
        "train": [(_base + "qmnist-train-images-idx3-ubyte.gz", "ed72d4157d28c017586c42bc6afe6370"),
                  (_base + "qmnist-train-labels-idx2-int.gz", "0058f8dd561b90ffdd0f734c6a30e5e4")],
        "test": [(_base + "qmnist-test-images-idx3-ubyte.gz", "1394631089c404de565df7b7aeaf9412"),
                 (_base + "qmnist-test-labels-idx2-int.gz", "5b5b05890a5e13444e108efe57b788aa")],
        "nist": [(_base + "xnist-images-idx3-ubyte.xz", "7f124b3b8ab81486c9d8c2749c17f834"),
                 (_base + "xnist-labels-idx2-int.xz", "5ed0e788978e45d4a8bd4b7caec3d79d")],
    }

    def __init__(self, root: str | os.PathLike, what: str | None = None, compat: bool = True, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        if what is None:
            what = "train" if train else "test"
        self.what = verify_str_arg(what, "what", tuple(self.subsets))
        self.compat = compat
        self.root = os.path.expanduser(os.fspath(root))
        self._init_files(root, train, transform, target_transform, download)
        images = read_idx(_existing(self.images_file))  # type: ignore[arg-type]
        if images.dtype != np.uint8:
            raise TypeError(f"data should be of dtype torch.uint8 instead of {images.dtype}")
        if images.ndim != 3:
            raise ValueError(f"data should have 3 dimensions instead of {images.ndim}")
        targets = read_idx(_existing(self.labels_file)).astype(np.int64)  # type: ignore[arg-type]
        if targets.ndim != 2:
            raise ValueError(f"targets should have 2 dimensions instead of {targets.ndim}")
        if self.what == "test10k":
            images, targets = images[:10000], targets[:10000]
        elif self.what == "test50k":
            images, targets = images[10000:], targets[10000:]
        self._set_arrays(images, targets)

    def _file(self, i: int) -> str:
        url, _ = self.resources[self.subsets[self.what]][i]
        return os.path.join(self.raw_folder, os.path.splitext(os.path.basename(url))[0])

    @property
    def images_file(self) -> str:  # type: ignore[override]
        return self._file(0)

    @property
    def labels_file(self) -> str:  # type: ignore[override]
        return self._file(1)

    def download(self) -> None:
        """Fetch and decompress the two files of :attr:`what`."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for url, md5 in self.resources[self.subsets[self.what]]:
            download_and_extract_archive(url, self.raw_folder, md5=md5)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img: Any = Image.fromarray(self._images[index])
        target: Any = int(self._labels[index][0]) if self.compat else self.targets[index]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def extra_repr(self) -> str:
        return f"Split: {self.what}"
