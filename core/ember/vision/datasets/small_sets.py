"""Small datasets stored as one text or CSV file: SEMEION, USPS and FER2013.

* ``SEMEION``: ``root/semeion.data`` (256 pixel columns in 0/1, then a one-hot label);
* ``USPS``: ``root/usps.bz2`` / ``root/usps.t.bz2`` (LIBSVM format, pixels in [-1, 1]);
* ``FER2013``: ``root/fer2013/{fer2013.csv | icml_face_data.csv | train.csv, test.csv}``.

Example:
    >>> import bz2, os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> line = "3 " + " ".join(f"{i + 1}:1" for i in range(256)) + "\\n"
    >>> with bz2.open(os.path.join(d, "usps.bz2"), "wt") as f:
    ...     _ = f.write(line)
    >>> img, label = USPS(d)[0]
    >>> img.mode, img.size, label
    ('L', (16, 16), 2)
"""

from __future__ import annotations

import bz2
import csv
import os
import pathlib
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from .utils import _not_found, check_integrity, download_url, verify_str_arg
from .vision import VisionDataset

__all__ = ["SEMEION", "USPS", "FER2013"]


class _GrayArrayDataset(VisionDataset):
    """Items ``(PIL 'L' image from self.data[i], int target)``."""

    data: np.ndarray

    def _target(self, index: int) -> Any:
        raise NotImplementedError

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img: Any = Image.fromarray(self.data[index])
        target = self._target(index)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)


class SEMEION(_GrayArrayDataset):
    """SEMEION handwritten digits, 16x16. Note ``download`` defaults to True, as in torchvision."""

    url = "http://archive.ics.uci.edu/ml/machine-learning-databases/semeion/semeion.data"
    filename = "semeion.data"
    md5_checksum = "cb545d371d2ce14ec121470795a77432"

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = True) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        if download:
            self.download()
        if not self._check_integrity():
            raise _not_found()
        raw = np.loadtxt(os.path.join(self.root, self.filename))
        self.data = (raw[:, :256] * 255).astype(np.uint8).reshape(-1, 16, 16)
        self.labels = np.nonzero(raw[:, 256:])[1]

    def _target(self, index: int) -> Any:
        return int(self.labels[index])

    def _check_integrity(self) -> bool:
        return check_integrity(os.path.join(self.root, self.filename), self.md5_checksum)

    def download(self) -> None:
        if self._check_integrity():
            return
        download_url(self.url, self.root, self.filename, self.md5_checksum)


class USPS(_GrayArrayDataset):
    """USPS handwritten digits, 16x16, from the LIBSVM ``.bz2`` files (no MD5 check on reading, as in
    torchvision); ``.targets`` is a list of ints."""

    split_list = {
        "train": ["https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/usps.bz2", "usps.bz2",
                  "ec16c51db3855ca6c91edd34d0e9b197"],
        "test": ["https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/usps.t.bz2", "usps.t.bz2",
                 "8ea070ee2aca1ac39742fdd1ef5ed118"],
    }

    def __init__(self, root: str | os.PathLike, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        url, filename, checksum = self.split_list["train" if train else "test"]
        full_path = os.path.join(self.root, filename)
        if download and not os.path.exists(full_path):
            download_url(url, self.root, filename, md5=checksum)
        with bz2.open(full_path) as f:
            rows = [line.decode().split() for line in f.readlines()]
        values = [[item.split(":")[-1] for item in row[1:]] for row in rows]
        pixels = np.asarray(values, dtype=np.float32).reshape((-1, 16, 16))
        self.data = ((pixels + 1) / 2 * 255).astype(np.uint8)
        self.targets = [int(row[0]) - 1 for row in rows]

    def _target(self, index: int) -> Any:
        return int(self.targets[index])


class FER2013(_GrayArrayDataset):
    """Facial expressions, 48x48 grayscale; test labels are None when only ``test.csv`` is present."""

    _RESOURCES = {
        "train": ("train.csv", "3f0dfb3d3fd99c811a1299cb947e3131"),
        "test": ("test.csv", "b02c2298636a634e8c2faabbf3ea9a23"),
        "fer": ("fer2013.csv", "f8428a1edbd21e88f42c73edd2a14f95"),
        "icml": ("icml_face_data.csv", "b114b9e04e6949e5fe8b6a98b3892b1d"),
    }

    def __init__(self, root: str | os.PathLike, split: str = "train", transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        self._split = verify_str_arg(split, "split", ("train", "test"))
        super().__init__(root, transform=transform, target_transform=target_transform)
        base = pathlib.Path(self.root) / "fer2013"
        use_fer = (base / self._RESOURCES["fer"][0]).exists()
        use_icml = not use_fer and (base / self._RESOURCES["icml"][0]).exists()
        file_name, md5 = self._RESOURCES["fer" if use_fer else "icml" if use_icml else self._split]
        if not check_integrity(str(base / file_name), md5=md5):
            raise RuntimeError(f"{file_name} not found in {base} or corrupted. You can download it from "
                               "https://www.kaggle.com/c/challenges-in-representation-learning-facial-expression-"
                               "recognition-challenge")
        # the ICML file's header has a space after each comma
        pixels_key, usage_key = (" pixels", " Usage") if use_icml else ("pixels", "Usage")
        with open(base / file_name, newline="") as f:
            rows = list(csv.DictReader(f))
        if use_fer or use_icml:
            keep = ("Training",) if self._split == "train" else ("PublicTest", "PrivateTest")
            rows = [r for r in rows if r[usage_key] in keep]
        has_labels = use_fer or use_icml or self._split == "train"
        self.data = np.array([[int(v) for v in r[pixels_key].split()] for r in rows], dtype=np.uint8).reshape(-1, 48, 48)
        self._labels = [int(r["emotion"]) if has_labels else None for r in rows]

    def _target(self, index: int) -> Any:
        return self._labels[index]

    def extra_repr(self) -> str:
        return f"split={self._split}"
