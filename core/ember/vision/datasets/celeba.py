"""CelebA from its official files: ``root/celeba/img_align_celeba/*.jpg`` and the text annotations
``list_eval_partition.txt``, ``identity_CelebA.txt``, ``list_bbox_celeba.txt``,
``list_landmarks_align_celeba.txt`` and ``list_attr_celeba.txt``.

Example:
    >>> import tempfile
    >>> try:
    ...     CelebA(tempfile.mkdtemp())
    ... except RuntimeError as e:
    ...     print(e)
    Dataset not found or corrupted. You can use download=True to download it
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from PIL import Image

import ember

from .utils import _not_found, check_integrity, download_file_from_google_drive, extract_archive, verify_str_arg
from .vision import VisionDataset

__all__ = ["CelebA"]


class _CSV(NamedTuple):
    header: list[str]
    index: list[str]
    data: np.ndarray


class CelebA(VisionDataset):
    """Large-scale CelebFaces Attributes: items are ``(PIL image, target)``.

    ``target_type`` is one of (or a list of) ``attr`` (40 binary attributes, an int64 tensor),
    ``identity`` (an int64 0-d tensor), ``bbox`` (x, y, width, height) and ``landmarks`` (10 ints);
    a list gives a tuple of targets, an empty list ``None``. As in torchvision the image is returned
    as opened (no conversion) and the annotation files' MD5s are checked.
    """

    base_folder = "celeba"
    file_list = [
        ("0B7EVK8r0v71pZjFTYXZWM3FlRnM", "00d2c5bc6d35e252742224ab0c1e8fcb", "img_align_celeba.zip"),
        ("0B7EVK8r0v71pblRyaVFSWGxPY0U", "75e246fa4810816ffd6ee81facbd244c", "list_attr_celeba.txt"),
        ("1_ee_0u7vcNLOfNLegJRHmolfH5ICW-XS", "32bd1bd63d3c78cd57e08160ec5ed1e2", "identity_CelebA.txt"),
        ("0B7EVK8r0v71pbThiMVRxWXZ4dU0", "00566efa6fedff7a56946cd1c10f1c16", "list_bbox_celeba.txt"),
        ("0B7EVK8r0v71pd0FJY3Blby1HUTQ", "cc24ecafdb5b50baae59b03474781f8c", "list_landmarks_align_celeba.txt"),
        ("0B7EVK8r0v71pY0NSMzRuSXJEVkk", "d32c9cbf5e040fd4025c592c306e6668", "list_eval_partition.txt"),
    ]

    def __init__(self, root: str | os.PathLike, split: str = "train", target_type: list[str] | str = "attr",
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.split = split
        self.target_type = target_type if isinstance(target_type, list) else [target_type]
        if not self.target_type and self.target_transform is not None:
            raise RuntimeError("target_transform is specified but target_type is empty")
        if download:
            self.download()
        if not self._check_integrity():
            raise _not_found()
        split_map = {"train": 0, "valid": 1, "test": 2, "all": None}
        split_ = split_map[verify_str_arg(split.lower() if isinstance(split, str) else split, "split",
                                          ("train", "valid", "test", "all"))]
        splits = self._load_csv("list_eval_partition.txt")
        identity = self._load_csv("identity_CelebA.txt")
        bbox = self._load_csv("list_bbox_celeba.txt", header=1)
        landmarks = self._load_csv("list_landmarks_align_celeba.txt", header=1)
        attr = self._load_csv("list_attr_celeba.txt", header=1)
        if split_ is None:
            mask = np.ones(len(splits.index), dtype=bool)
            self.filename = splits.index
        else:
            mask = splits.data[:, 0] == split_
            self.filename = [splits.index[i] for i in np.flatnonzero(mask)]
        self.identity = ember.from_numpy(identity.data[mask])
        self.bbox = ember.from_numpy(bbox.data[mask])
        self.landmarks_align = ember.from_numpy(landmarks.data[mask])
        self.attr = ember.from_numpy((attr.data[mask] + 1) // 2)  # -1/1 on disk -> 0/1
        self.attr_names = attr.header

    def _load_csv(self, filename: str, header: int | None = None) -> _CSV:
        # runs of spaces separate the columns (csv's skipinitialspace keeps a trailing empty header field,
        # as torchvision's attr_names has)
        with open(os.path.join(self.root, self.base_folder, filename)) as f:
            rows = list(csv.reader(f, delimiter=" ", skipinitialspace=True))
        headers: list[str] = []
        if header is not None:
            headers, rows = rows[header], rows[header + 1:]
        data = np.array([[int(v) for v in r[1:]] for r in rows], dtype=np.int64).reshape(len(rows), -1)
        return _CSV(headers, [r[0] for r in rows], data)

    def _check_integrity(self) -> bool:
        for _, md5, filename in self.file_list:
            if os.path.splitext(filename)[1] not in (".zip", ".7z") and not check_integrity(
                    os.path.join(self.root, self.base_folder, filename), md5):
                return False
        return os.path.isdir(os.path.join(self.root, self.base_folder, "img_align_celeba"))

    def download(self) -> None:
        """CelebA lives on Google Drive, which needs ``gdown`` (as in torchvision)."""
        if self._check_integrity():
            return
        for file_id, md5, filename in self.file_list:
            download_file_from_google_drive(file_id, os.path.join(self.root, self.base_folder), filename, md5)
        extract_archive(os.path.join(self.root, self.base_folder, "img_align_celeba.zip"))

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img: Any = Image.open(os.path.join(self.root, self.base_folder, "img_align_celeba", self.filename[index]))
        target: Any = []
        for t in self.target_type:
            if t == "attr":
                target.append(self.attr[index, :])
            elif t == "identity":
                target.append(self.identity[index, 0])
            elif t == "bbox":
                target.append(self.bbox[index, :])
            elif t == "landmarks":
                target.append(self.landmarks_align[index, :])
            else:
                raise ValueError(f'Target type "{t}" is not recognized.')
        if self.transform is not None:
            img = self.transform(img)
        if target:
            target = tuple(target) if len(target) > 1 else target[0]
            if self.target_transform is not None:
                target = self.target_transform(target)
        else:
            target = None
        return img, target

    def __len__(self) -> int:
        return len(self.attr)

    def extra_repr(self) -> str:
        return f"Target type: {self.target_type}\nSplit: {self.split}"
