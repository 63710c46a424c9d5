"""STL-10 from its binary files: ``root/stl10_binary/{train,test,unlabeled}_X.bin``, ``*_y.bin``,
``class_names.txt`` and ``fold_indices.txt``.

Example:
    >>> import tempfile
    >>> try:
    ...     STL10(tempfile.mkdtemp(), folds=10)
    ... except ValueError as e:
    ...     print(e)
    Value for argument folds should be in the range [0, 10), but got 10.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from .utils import _not_found, check_integrity, download_and_extract_archive, verify_str_arg
from .vision import VisionDataset

__all__ = ["STL10"]


class STL10(VisionDataset):
    """STL-10: items are ``(PIL RGB image 96x96, int label)``; the label is -1 for unlabeled images.

    ``split`` is ``train``, ``train+unlabeled``, ``unlabeled`` or ``test``; ``folds`` (0-9) picks one of
    the ten predefined 1000-image training folds. The files' MD5s are checked, as in torchvision.
    """

    base_folder = "stl10_binary"
    url = "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz"
    filename = "stl10_binary.tar.gz"
    tgz_md5 = "91f7769df0f17e558f3565bffb0c7dfb"
    class_names_file = "class_names.txt"
    folds_list_file = "fold_indices.txt"
    train_list = [
        ["train_X.bin", "918c2871b30a85fa023e0c44e0bee87f"],
        ["train_y.bin", "5a34089d4802c674881badbb80307741"],
        ["unlabeled_X.bin", "5242ba1fed5e4be9e1e742405eb56ca4"],
    ]
    test_list = [["test_X.bin", "7f263ba9f9e0b06b93213547f721ac82"], ["test_y.bin", "36f9794fa4beb8a2c72628de14fa638e"]]
    splits = ("train", "train+unlabeled", "unlabeled", "test")

    def __init__(self, root: str | os.PathLike, split: str = "train", folds: int | None = None,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.split = verify_str_arg(split, "split", self.splits)
        self.folds = self._verify_folds(folds)
        if download:
            self.download()
        elif not self._check_integrity():
            raise _not_found()
        self.labels: np.ndarray | None
        if self.split in ("train", "train+unlabeled"):
            self.data, self.labels = self._load("train_X.bin", "train_y.bin")
            self._load_folds(folds)
            if self.split == "train+unlabeled":
                unlabeled, _ = self._load("unlabeled_X.bin")
                self.data = np.concatenate((self.data, unlabeled))
                self.labels = np.concatenate((self.labels, np.full(len(unlabeled), -1, dtype=np.int64)))
        elif self.split == "unlabeled":
            self.data, _ = self._load("unlabeled_X.bin")
            self.labels = np.full(len(self.data), -1, dtype=np.int64)
        else:
            self.data, self.labels = self._load("test_X.bin", "test_y.bin")
        class_file = os.path.join(self.root, self.base_folder, self.class_names_file)
        if os.path.isfile(class_file):
            with open(class_file) as f:
                self.classes = f.read().splitlines()

    @staticmethod
    def _verify_folds(folds: int | None) -> int | None:
        if folds is None:
            return folds
        if isinstance(folds, int):
            if folds in range(10):
                return folds
            raise ValueError(f"Value for argument folds should be in the range [0, 10), but got {folds}.")
        raise ValueError(f"Expected type None or int for argument folds, but got type {type(folds)}.")

    def _load(self, data_file: str, labels_file: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        folder = os.path.join(self.root, self.base_folder)
        labels = None
        if labels_file:
            # labels are 1-based uint8 on disk; torchvision subtracts 1 in uint8 (so 0 would wrap to 255)
            labels = np.fromfile(os.path.join(folder, labels_file), dtype=np.uint8) - np.uint8(1)
        images = np.fromfile(os.path.join(folder, data_file), dtype=np.uint8).reshape(-1, 3, 96, 96)
        return np.transpose(images, (0, 1, 3, 2)), labels  # the images are stored column-major

    def _load_folds(self, folds: int | None) -> None:
        if folds is None:
            return
        with open(os.path.join(self.root, self.base_folder, self.folds_list_file)) as f:
            line = f.read().splitlines()[folds]
        idx = np.array(line.split(), dtype=np.int64)
        self.data = self.data[idx]
        if self.labels is not None:
            self.labels = self.labels[idx]

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img: Any = Image.fromarray(np.transpose(self.data[index], (1, 2, 0)))
        target: Any = int(self.labels[index]) if self.labels is not None else None
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return self.data.shape[0]

    def _check_integrity(self) -> bool:
        return all(check_integrity(os.path.join(self.root, self.base_folder, name), md5)
                   for name, md5 in self.train_list + self.test_list)

    def download(self) -> None:
        if self._check_integrity():
            return
        download_and_extract_archive(self.url, self.root, filename=self.filename, md5=self.tgz_md5)

    def extra_repr(self) -> str:
        return f"Split: {self.split}"
