"""PatchCamelyon: ``root/pcam/camelyonpatch_level_2_split_{train,valid,test}_{x,y}.h5``.

The files are HDF5. Like torchvision, ember reads them with ``h5py``, which is an optional
dependency: without it the constructor raises torchvision's ``RuntimeError`` naming the package.

Example:
    >>> PCAM._FILES["val"]["images"][0]
    'camelyonpatch_level_2_split_valid_x.h5'
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable
from typing import Any

from PIL import Image

from .utils import _decompress, download_file_from_google_drive, verify_str_arg
from .vision import VisionDataset

__all__ = ["PCAM"]


class PCAM(VisionDataset):
    """96x96 histopathology patches: items are ``(PIL RGB image, 0/1 label)``."""

    _FILES = {
        "train": {
            "images": ("camelyonpatch_level_2_split_train_x.h5", "1Ka0XfEMiwgCYPdTI-vv6eUElOBnKFKQ2",
                       "1571f514728f59376b705fc836ff4b63"),
            "targets": ("camelyonpatch_level_2_split_train_y.h5", "1269yhu3pZDP8UYFQs-NYs3FPwuK-nGSG",
                        "35c2d7259d906cfc8143347bb8e05be7"),
        },
        "test": {
            "images": ("camelyonpatch_level_2_split_test_x.h5", "1qV65ZqZvWzuIVthK8eVDhIwrbnsJdbg_",
                       "d8c2d60d490dbd479f8199bdfa0cf6ec"),
            "targets": ("camelyonpatch_level_2_split_test_y.h5", "17BHrSrwWKjYsOgTMmoqrIjDy6Fa2o_gP",
                        "60a7035772fbdb7f34eb86d4420cf66a"),
        },
        "val": {
            "images": ("camelyonpatch_level_2_split_valid_x.h5", "1hgshYGWK8V-eGRy8LToWJJgDU_rXWVJ3",
                       "d5b63470df7cfa627aeec8b9dc0c066e"),
            "targets": ("camelyonpatch_level_2_split_valid_y.h5", "1bH8ZRbhSVAhScTS0p9-ZzGnX91cHT3uO",
                        "2b85f58b927af9964a4c15b8f7e8f179"),
        },
    }

    def __init__(self, root: str | os.PathLike, split: str = "train", transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        try:
            import h5py
        except ImportError:
            raise RuntimeError("h5py is not found. This dataset needs to have h5py installed: "
                               "please run pip install h5py") from None
        self.h5py = h5py
        self._split = verify_str_arg(split, "split", ("train", "test", "val"))
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._base_folder = pathlib.Path(self.root) / "pcam"  # type: ignore[arg-type]
        if download:
            self._download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")

    def _file(self, kind: str) -> pathlib.Path:
        return self._base_folder / self._FILES[self._split][kind][0]

    def __len__(self) -> int:
        with self.h5py.File(self._file("images")) as f:
            return f["x"].shape[0]

    def __getitem__(self, idx: int) -> tuple[Any, Any]:
        with self.h5py.File(self._file("images")) as f:
            image: Any = Image.fromarray(f["x"][idx]).convert("RGB")
        with self.h5py.File(self._file("targets")) as f:
            target: Any = int(f["y"][idx, 0, 0, 0])  # stored as (N, 1, 1, 1)
        if self.transform:
            image = self.transform(image)
        if self.target_transform:
            target = self.target_transform(target)
        return image, target

    def _check_exists(self) -> bool:
        return all(self._file(k).exists() for k in ("images", "targets"))

    def _download(self) -> None:
        if self._check_exists():
            return
        for file_name, file_id, md5 in self._FILES[self._split].values():
            archive = file_name + ".gz"
            download_file_from_google_drive(file_id, str(self._base_folder), filename=archive, md5=md5)
            _decompress(str(self._base_folder / archive))
