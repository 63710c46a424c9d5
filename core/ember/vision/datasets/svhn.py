"""SVHN (Street View House Numbers) from its official ``.mat`` files: ``root/{train,test,extra}_32x32.mat``.

torchvision reads these with ``scipy.io.loadmat``; ember reads them with its own NumPy MATLAB v5
reader (:mod:`._matlab`), so scipy is not needed. Label 10 (the digit 0) becomes 0, as in torchvision.

Example:
    >>> import tempfile
    >>> try:
    ...     SVHN(tempfile.mkdtemp())
    ... except RuntimeError as e:
    ...     print(e)
    Dataset not found or corrupted. You can use download=True to download it
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from ._matlab import loadmat
from .utils import _not_found, check_integrity, download_url, verify_str_arg
from .vision import VisionDataset

__all__ = ["SVHN"]


class SVHN(VisionDataset):
    """SVHN digits: items are ``(PIL RGB image 32x32, int label in 0..9)``.

    ``.data`` is a uint8 array (N, 3, 32, 32) and ``.labels`` an int64 array (N,), as in torchvision.
    The file's MD5 is checked on construction, as torchvision does.
    """

    split_list = {
        "train": ["http://ufldl.stanford.edu/housenumbers/train_32x32.mat", "train_32x32.mat",
                  "e26dedcc434d2e4c54c9b2d4a06d8373"],
        "test": ["http://ufldl.stanford.edu/housenumbers/test_32x32.mat", "test_32x32.mat",
                 "eb5a983be6a315427106f1b164d9cef3"],
        "extra": ["http://ufldl.stanford.edu/housenumbers/extra_32x32.mat", "extra_32x32.mat",
                  "a93ce644f1a588dc4d68dda5feec44a7"],
    }

    def __init__(self, root: str | os.PathLike, split: str = "train", transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.split = verify_str_arg(split, "split", tuple(self.split_list))
        self.url, self.filename, self.file_md5 = self.split_list[split]
        if download:
            self.download()
        if not self._check_integrity():
            raise _not_found()
        mat = loadmat(os.path.join(self.root, self.filename))
        # X is (32, 32, 3, N) in MATLAB's order; y is (N, 1) with 10 for the digit 0
        self.data = np.transpose(mat["X"], (3, 2, 0, 1))
        self.labels = mat["y"].astype(np.int64).squeeze()
        self.labels[self.labels == 10] = 0

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img: Any = Image.fromarray(np.transpose(self.data[index], (1, 2, 0)))
        target: Any = int(self.labels[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    def _check_integrity(self) -> bool:
        return check_integrity(os.path.join(self.root, self.filename), self.file_md5)

    def download(self) -> None:
        download_url(self.url, self.root, self.filename, self.file_md5)

    def extra_repr(self) -> str:
        return f"Split: {self.split}"
