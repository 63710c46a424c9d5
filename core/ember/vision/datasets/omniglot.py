"""Omniglot: ``root/omniglot-py/images_{background,evaluation}/<alphabet>/<character>/*.png`` and the
zip next to it (its MD5 is checked, as in torchvision).

Example:
    >>> import tempfile
    >>> try:
    ...     Omniglot(tempfile.mkdtemp())
    ... except RuntimeError as e:
    ...     print(e)
    Dataset not found or corrupted. You can use download=True to download it
"""

from __future__ import annotations

import os
from collections.abc import Callable
from os.path import join
from typing import Any

from PIL import Image

from .utils import _not_found, check_integrity, download_and_extract_archive, list_dir, list_files
from .vision import VisionDataset

__all__ = ["Omniglot"]


class Omniglot(VisionDataset):
    """Handwritten characters of 50 alphabets: items are ``(PIL 'L' image, character index)``.

    Alphabets, characters and images are listed in the file system's order, as torchvision lists them.
    """

    folder = "omniglot-py"
    download_url_prefix = "https://raw.githubusercontent.com/brendenlake/omniglot/master/python"
    zips_md5 = {
        "images_background": "68d2efa1b9178cc56df9314c21c6e718",
        "images_evaluation": "6b91aef0f799c5bb55b94e3f2daec811",
    }

    def __init__(self, root: str | os.PathLike, background: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False,
                 loader: Callable[[str], Any] | None = None) -> None:
        super().__init__(join(root, self.folder), transform=transform, target_transform=target_transform)
        self.background = background
        if download:
            self.download()
        if not self._check_integrity():
            raise _not_found()
        self.target_folder = join(self.root, self._get_target_folder())  # type: ignore[arg-type]
        self._alphabets = list_dir(self.target_folder)
        self._characters: list[str] = [join(a, c) for a in self._alphabets
                                       for c in list_dir(join(self.target_folder, a))]
        self._character_images = [[(image, idx) for image in list_files(join(self.target_folder, character), ".png")]
                                  for idx, character in enumerate(self._characters)]
        self._flat_character_images: list[tuple[str, int]] = [p for imgs in self._character_images for p in imgs]
        self.loader = loader

    def __len__(self) -> int:
        return len(self._flat_character_images)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image_name, character_class = self._flat_character_images[index]
        path = join(self.target_folder, self._characters[character_class], image_name)
        image: Any = Image.open(path, mode="r").convert("L") if self.loader is None else self.loader(path)
        target: Any = character_class
        if self.transform:
            image = self.transform(image)
        if self.target_transform:
            target = self.target_transform(target)
        return image, target

    def _check_integrity(self) -> bool:
        name = self._get_target_folder()
        return check_integrity(join(self.root, name + ".zip"), self.zips_md5[name])  # type: ignore[arg-type]

    def download(self) -> None:
        if self._check_integrity():
            return
        name = self._get_target_folder()
        download_and_extract_archive(f"{self.download_url_prefix}/{name}.zip", self.root,  # type: ignore[arg-type]
                                     filename=name + ".zip", md5=self.zips_md5[name])

    def _get_target_folder(self) -> str:
        return "images_background" if self.background else "images_evaluation"
