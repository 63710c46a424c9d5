"""Caltech 101 and Caltech 256: ``root/caltech101/{101_ObjectCategories,Annotations}`` and
``root/caltech256/256_ObjectCategories``. Caltech101's ``annotation`` targets (object contours) come
from the per-image ``.mat`` files, read with ember's NumPy MATLAB reader (torchvision uses scipy).

Example:
    >>> import tempfile
    >>> try:
    ...     Caltech256(tempfile.mkdtemp())
    ... except RuntimeError as e:
    ...     print(e)
    Dataset not found or corrupted. You can use download=True to download it
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import Any

from PIL import Image

from ._matlab import loadmat
from .utils import _not_found, download_and_extract_archive, extract_archive, verify_str_arg
from .vision import VisionDataset

__all__ = ["Caltech101", "Caltech256"]


class Caltech101(VisionDataset):
    """Caltech 101: items are ``(PIL image as stored, target)``; ``target_type`` is ``category``,
    ``annotation`` (a ``(2, K)`` float array of the object's contour) or a list of both.
    Note that ``root`` gets ``caltech101`` appended and is created, as in torchvision."""

    _name_map = {"Faces": "Faces_2", "Faces_easy": "Faces_3", "Motorbikes": "Motorbikes_16",
                 "airplanes": "Airplanes_Side_2"}

    def __init__(self, root: str | os.PathLike, target_type: list[str] | str = "category",
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(os.path.join(root, "caltech101"), transform=transform, target_transform=target_transform)
        os.makedirs(self.root, exist_ok=True)
        if isinstance(target_type, str):
            target_type = [target_type]
        self.target_type = [verify_str_arg(t, "target_type", ("category", "annotation")) for t in target_type]
        if download:
            self.download()
        if not self._check_integrity():
            raise _not_found()
        self.categories = sorted(os.listdir(os.path.join(self.root, "101_ObjectCategories")))
        self.categories.remove("BACKGROUND_Google")  # not a real class
        self.annotation_categories = [self._name_map.get(c, c) for c in self.categories]
        self.index: list[int] = []
        self.y: list[int] = []
        for i, c in enumerate(self.categories):
            n = len(os.listdir(os.path.join(self.root, "101_ObjectCategories", c)))
            self.index.extend(range(1, n + 1))
            self.y.extend(n * [i])

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        cat, k = self.y[index], self.index[index]
        img: Any = Image.open(os.path.join(self.root, "101_ObjectCategories", self.categories[cat],
                                           f"image_{k:04d}.jpg"))
        target: Any = []
        for t in self.target_type:
            if t == "category":
                target.append(cat)
            else:
                mat = loadmat(os.path.join(self.root, "Annotations", self.annotation_categories[cat],
                                           f"annotation_{k:04d}.mat"))
                target.append(mat["obj_contour"])
        target = tuple(target) if len(target) > 1 else target[0]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def _check_integrity(self) -> bool:
        return os.path.exists(os.path.join(self.root, "101_ObjectCategories"))

    def __len__(self) -> int:
        return len(self.index)

    def download(self) -> None:
        if self._check_integrity():
            return
        download_and_extract_archive("https://data.caltech.edu/records/mzrjq-6wc02/files/caltech-101.zip",
                                     download_root=self.root, filename="caltech-101.zip",
                                     md5="3138e1922a9193bfa496528edbbc45d0")
        gzip_folder = os.path.join(self.root, "caltech-101")
        for name in os.listdir(gzip_folder):
            if name.endswith(".gz"):
                extract_archive(os.path.join(gzip_folder, name), self.root)
        shutil.rmtree(gzip_folder)
        os.remove(os.path.join(self.root, "caltech-101.zip"))

    def extra_repr(self) -> str:
        return f"Target type: {self.target_type}"


class Caltech256(VisionDataset):
    """Caltech 256: items are ``(PIL image as stored, int category)``; ``root`` gets ``caltech256`` appended."""

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        super().__init__(os.path.join(root, "caltech256"), transform=transform, target_transform=target_transform)
        os.makedirs(self.root, exist_ok=True)
        if download:
            self.download()
        if not self._check_integrity():
            raise _not_found()
        self.categories = sorted(os.listdir(os.path.join(self.root, "256_ObjectCategories")))
        self.index: list[int] = []
        self.y: list[int] = []
        for i, c in enumerate(self.categories):
            n = len([f for f in os.listdir(os.path.join(self.root, "256_ObjectCategories", c)) if f.endswith(".jpg")])
            self.index.extend(range(1, n + 1))
            self.y.extend(n * [i])

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        cat = self.y[index]
        img: Any = Image.open(os.path.join(self.root, "256_ObjectCategories", self.categories[cat],
                                           f"{cat + 1:03d}_{self.index[index]:04d}.jpg"))
        target: Any = cat
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def _check_integrity(self) -> bool:
        return os.path.exists(os.path.join(self.root, "256_ObjectCategories"))

    def __len__(self) -> int:
        return len(self.index)

    def download(self) -> None:
        if self._check_integrity():
            return
        download_and_extract_archive("https://data.caltech.edu/records/nyy15-4j048/files/256_ObjectCategories.tar",
                                     self.root, filename="256_ObjectCategories.tar",
                                     md5="67b4f42ca05d46448c6bb8ecd2220f6d")
