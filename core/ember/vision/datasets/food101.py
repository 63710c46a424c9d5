"""Food-101: ``root/food-101/images/<class>/<id>.jpg`` and ``root/food-101/meta/{train,test}.json``.

Example:
    >>> import tempfile
    >>> try:
    ...     Food101(tempfile.mkdtemp())
    ... except RuntimeError as e:
    ...     print(e)
    Dataset not found. You can use download=True to download it
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .folder import default_loader
from .utils import download_and_extract_archive, verify_str_arg
from .vision import VisionDataset

__all__ = ["Food101"]


class Food101(VisionDataset):
    """101 food categories: items are ``(PIL RGB image, int label)``, classes sorted by name."""

    _URL = "http://data.vision.ee.ethz.ch/cvl/food-101.tar.gz"
    _MD5 = "85eeb15f3717b99a5da872d97d918f87"

    def __init__(self, root: str | os.PathLike, split: str = "train", transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False,
                 loader: Callable[[Any], Any] = default_loader) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._split = verify_str_arg(split, "split", ("train", "test"))
        self._base_folder = Path(self.root) / "food-101"
        self._meta_folder = self._base_folder / "meta"
        self._images_folder = self._base_folder / "images"
        if download:
            self._download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        with open(self._meta_folder / f"{split}.json") as f:
            metadata = json.load(f)
        self.classes = sorted(metadata)
        self.class_to_idx = dict(zip(self.classes, range(len(self.classes))))
        self._labels: list[int] = []
        self._image_files: list[Path] = []
        for label, rel_paths in metadata.items():  # the file's order, as torchvision keeps it
            self._labels += [self.class_to_idx[label]] * len(rel_paths)
            self._image_files += [self._images_folder.joinpath(*f"{p}.jpg".split("/")) for p in rel_paths]
        self.loader = loader

    def __len__(self) -> int:
        return len(self._image_files)

    def __getitem__(self, idx: int) -> tuple[Any, Any]:
        image: Any = self.loader(self._image_files[idx])
        label: Any = self._labels[idx]
        if self.transform:
            image = self.transform(image)
        if self.target_transform:
            label = self.target_transform(label)
        return image, label

    def extra_repr(self) -> str:
        return f"split={self._split}"

    def _check_exists(self) -> bool:
        return all(folder.is_dir() for folder in (self._meta_folder, self._images_folder))

    def _download(self) -> None:
        if self._check_exists():
            return
        download_and_extract_archive(self._URL, download_root=self.root, md5=self._MD5)
