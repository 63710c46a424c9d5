"""Semantic Boundaries Dataset: ``root/{img/*.jpg,cls/*.mat,train.txt,val.txt[,train_noval.txt]}``.

torchvision reads the ``cls/*.mat`` files with scipy; ember reads them with its NumPy MATLAB reader
(the 20 sparse boundary maps come back dense).

Example:
    >>> SBDataset.voc_split_filename
    'train_noval.txt'
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from ._matlab import loadmat
from .utils import _not_found, download_and_extract_archive, download_url, verify_str_arg
from .vision import VisionDataset

__all__ = ["SBDataset"]


class SBDataset(VisionDataset):
    """SBD: items are ``(RGB PIL image, target)``; ``mode="segmentation"`` gives the class mask as a PIL
    image, ``mode="boundaries"`` a ``(20, H, W)`` array of per-class boundary maps."""

    url = "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/semantic_contours/benchmark.tgz"
    md5 = "82b4d87ceb2ed10f6038a1cba92111cb"
    filename = "benchmark.tgz"
    voc_train_url = "https://www.cs.cornell.edu/~bharathh/train_noval.txt"
    voc_split_filename = "train_noval.txt"
    voc_split_md5 = "79bff800c5f0b1ec6b21080a3c066722"

    def __init__(self, root: str | os.PathLike, image_set: str = "train", mode: str = "boundaries",
                 download: bool = False, transforms: Callable | None = None) -> None:
        super().__init__(root, transforms)
        self.image_set = verify_str_arg(image_set, "image_set", ("train", "val", "train_noval"))
        self.mode = verify_str_arg(mode, "mode", ("segmentation", "boundaries"))
        self.num_classes = 20
        sbd_root: str = self.root  # type: ignore[assignment]
        if download:
            download_and_extract_archive(self.url, sbd_root, filename=self.filename, md5=self.md5)
            extracted = os.path.join(sbd_root, "benchmark_RELEASE", "dataset")
            for f in ("cls", "img", "inst", "train.txt", "val.txt"):
                shutil.move(os.path.join(extracted, f), sbd_root)
            if self.image_set == "train_noval":
                download_url(self.voc_train_url, sbd_root, self.voc_split_filename, self.voc_split_md5)
        if not os.path.isdir(sbd_root):
            raise _not_found()
        with open(os.path.join(sbd_root, image_set.rstrip("\n") + ".txt")) as f:
            names = [x.strip() for x in f.readlines()]
        self.images = [os.path.join(sbd_root, "img", n + ".jpg") for n in names]
        self.masks = [os.path.join(sbd_root, "cls", n + ".mat") for n in names]
        self._get_target = self._get_segmentation_target if self.mode == "segmentation" else self._get_boundaries_target

    @staticmethod
    def _gtcls(filepath: str) -> dict[str, Any]:
        return loadmat(filepath)["GTcls"].ravel()[0]

    def _get_segmentation_target(self, filepath: str) -> Image.Image:
        return Image.fromarray(self._gtcls(filepath)["Segmentation"])

    def _get_boundaries_target(self, filepath: str) -> np.ndarray:
        cells = self._gtcls(filepath)["Boundaries"].ravel()
        return np.stack([cells[i] for i in range(self.num_classes)])

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img: Any = Image.open(self.images[index]).convert("RGB")
        target: Any = self._get_target(self.masks[index])
        if self.transforms is not None:
            img, target = self.transforms(img, target)
        return img, target

    def __len__(self) -> int:
        return len(self.images)

    def extra_repr(self) -> str:
        return f"Image set: {self.image_set}\nMode: {self.mode}"
