"""Moving MNIST: ``root/MovingMNIST/mnist_test_seq.npy`` (20 frames x 10000 videos x 64 x 64, uint8).

Example:
    >>> try:
    ...     MovingMNIST("data", split_ratio=20)
    ... except ValueError as e:
    ...     print(e)
    `split_ratio` should be `1 <= split_ratio <= 19`, but got 20 instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

import ember

from .utils import download_url, verify_str_arg
from .vision import VisionDataset

__all__ = ["MovingMNIST"]


class MovingMNIST(VisionDataset):
    """Videos of two moving digits: items are uint8 tensors ``(T, 1, 64, 64)``; ``split`` ``train`` keeps
    the first ``split_ratio`` frames, ``test`` the rest, None all 20."""

    _URL = "http://www.cs.toronto.edu/~nitish/unsupervised_video/mnist_test_seq.npy"

    def __init__(self, root: str | os.PathLike, split: str | None = None, split_ratio: int = 10,
                 download: bool = False, transform: Callable | None = None) -> None:
        super().__init__(root, transform=transform)
        self._base_folder = os.path.join(self.root, self.__class__.__name__)  # type: ignore[arg-type]
        self._filename = self._URL.split("/")[-1]
        if split is not None:
            verify_str_arg(split, "split", ("train", "test"))
        self.split = split
        if not isinstance(split_ratio, int):
            raise TypeError(f"`split_ratio` should be an integer, but got {type(split_ratio)}")
        if not 1 <= split_ratio <= 19:
            raise ValueError(f"`split_ratio` should be `1 <= split_ratio <= 19`, but got {split_ratio} instead.")
        self.split_ratio = split_ratio
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it.")
        data = np.load(os.path.join(self._base_folder, self._filename))  # (T, N, H, W)
        if self.split == "train":
            data = data[:self.split_ratio]
        elif self.split == "test":
            data = data[self.split_ratio:]
        self.data = ember.from_numpy(np.ascontiguousarray(data.transpose(1, 0, 2, 3)[:, :, None]))

    def __getitem__(self, idx: int) -> Any:
        data = self.data[idx]
        if self.transform is not None:
            data = self.transform(data)
        return data

    def __len__(self) -> int:
        return len(self.data)

    def _check_exists(self) -> bool:
        return os.path.exists(os.path.join(self._base_folder, self._filename))

    def download(self) -> None:
        if self._check_exists():
            return
        download_url(url=self._URL, root=self._base_folder, filename=self._filename,
                     md5="be083ec986bfe91a449d63653c411eb2")
