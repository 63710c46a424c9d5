"""iNaturalist 2017-2021: ``root/<version>/<category folders>/<images>``; 2021 folders are named
``NNNNN_kingdom_phylum_class_order_family_genus_species``, earlier ones ``<super category>/<id>``.

Example:
    >>> try:
    ...     INaturalist("data", version="2020")
    ... except ValueError as e:
    ...     print(str(e).split(".")[0])
    Unknown value '2020' for argument version
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from PIL import Image

from .utils import _not_found, download_and_extract_archive, verify_str_arg
from .vision import VisionDataset

__all__ = ["INaturalist", "CATEGORIES_2021", "DATASET_URLS", "DATASET_MD5"]

CATEGORIES_2021 = ["kingdom", "phylum", "class", "order", "family", "genus"]
_S3 = "https://ml-inat-competition-datasets.s3.amazonaws.com/"
DATASET_URLS = {
    "2017": _S3 + "2017/train_val_images.tar.gz",
    "2018": _S3 + "2018/train_val2018.tar.gz",
    "2019": _S3 + "2019/train_val2019.tar.gz",
    "2021_train": _S3 + "2021/train.tar.gz",
    "2021_train_mini": _S3 + "2021/train_mini.tar.gz",
    "2021_valid": _S3 + "2021/val.tar.gz",
}
DATASET_MD5 = {
    "2017": "7c784ea5e424efaec655bd392f87301f",
    "2018": "b1c6952ce38f31868cc50ea72d066cc3",
    "2019": "c60a6e2962c9b8ccbd458d12c8582644",
    "2021_train": "e0526d53c7f7b2e3167b2b43bb2690ed",
    "2021_train_mini": "db6ed8330e634445efc8fec83ae81442",
    "2021_valid": "f6f6e0e242e3d4c9569ba56400938afc",
}


class INaturalist(VisionDataset):
    """iNaturalist: items are ``(PIL image as stored, target)``; ``target_type`` is ``full`` (the species
    index), a 2021 level (``kingdom``...``genus``) or ``super`` (before 2021), or a list of them.
    Note that ``root`` gets ``version`` appended, as in torchvision."""

    def __init__(self, root: str | os.PathLike, version: str = "2021_train", target_type: list[str] | str = "full",
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False, loader: Callable[[Any], Any] | None = None) -> None:
        self.version = verify_str_arg(version, "version", DATASET_URLS.keys())
        super().__init__(os.path.join(root, version), transform=transform, target_transform=target_transform)
        os.makedirs(root, exist_ok=True)
        if download:
            self.download()
        if not self._check_exists():
            raise _not_found()
        self.all_categories: list[str] = []
        self.categories_index: dict[str, dict[str, int]] = {}
        self.categories_map: list[dict[str, int]] = []
        if not isinstance(target_type, list):
            target_type = [target_type]
        if self.version[:4] == "2021":
            self.target_type = [verify_str_arg(t, "target_type", ("full", *CATEGORIES_2021)) for t in target_type]
            self._init_2021()
        else:
            self.target_type = [verify_str_arg(t, "target_type", ("full", "super")) for t in target_type]
            self._init_pre2021()
        self.index: list[tuple[int, str]] = [(i, fname) for i, d in enumerate(self.all_categories)
                                             for fname in os.listdir(os.path.join(self.root, d))]  # type: ignore[arg-type]
        self.loader = loader

    def _init_2021(self) -> None:
        self.all_categories = sorted(os.listdir(self.root))  # type: ignore[arg-type]
        self.categories_index = {k: {} for k in CATEGORIES_2021}
        for dir_index, dir_name in enumerate(self.all_categories):
            pieces = dir_name.split("_")
            if len(pieces) != 8:
                raise RuntimeError(f"Unexpected category name {dir_name}, wrong number of pieces")
            if pieces[0] != f"{dir_index:05d}":
                raise RuntimeError(f"Unexpected category id {pieces[0]}, expecting {dir_index:05d}")
            cat_map = {}
            for cat, name in zip(CATEGORIES_2021, pieces[1:7]):
                cat_map[cat] = self.categories_index[cat].setdefault(name, len(self.categories_index[cat]))
            self.categories_map.append(cat_map)

    def _init_pre2021(self) -> None:
        self.categories_index = {"super": {}}
        cat_index = 0
        for sindex, scat in enumerate(sorted(os.listdir(self.root))):  # type: ignore[arg-type]
            self.categories_index["super"][scat] = sindex
            for subcat in sorted(os.listdir(os.path.join(self.root, scat))):  # type: ignore[arg-type]
                if self.version == "2017":  # 2017 numbers the species in folder order
                    subcat_i, cat_index = cat_index, cat_index + 1
                else:
                    try:
                        subcat_i = int(subcat)
                    except ValueError:
                        raise RuntimeError(f"Unexpected non-numeric dir name: {subcat}") from None
                if subcat_i >= len(self.categories_map):
                    grow = subcat_i - len(self.categories_map) + 1
                    self.categories_map.extend([{}] * grow)
                    self.all_categories.extend([""] * grow)
                if self.categories_map[subcat_i]:
                    raise RuntimeError(f"Duplicate category {subcat}")
                self.categories_map[subcat_i] = {"super": sindex}
                self.all_categories[subcat_i] = os.path.join(scat, subcat)
        for cindex, c in enumerate(self.categories_map):
            if not c:
                raise RuntimeError(f"Missing category {cindex}")

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        cat_id, fname = self.index[index]
        image_path = os.path.join(self.root, self.all_categories[cat_id], fname)  # type: ignore[arg-type]
        img: Any = self.loader(image_path) if self.loader is not None else Image.open(image_path)
        targets = [cat_id if t == "full" else self.categories_map[cat_id][t] for t in self.target_type]
        target: Any = tuple(targets) if len(targets) > 1 else targets[0]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.index)

    def category_name(self, category_type: str, category_id: int) -> str:
        """The name of a category id of one level (``full`` gives the folder name)."""
        if category_type == "full":
            return self.all_categories[category_id]
        if category_type not in self.categories_index:
            raise ValueError(f"Invalid category type '{category_type}'")
        for name, id in self.categories_index[category_type].items():
            if id == category_id:
                return name
        raise ValueError(f"Invalid category id {category_id} for {category_type}")

    def _check_exists(self) -> bool:
        return os.path.exists(self.root) and len(os.listdir(self.root)) > 0  # type: ignore[arg-type]

    def download(self) -> None:
        if self._check_exists():
            return
        base_root = os.path.dirname(self.root)  # type: ignore[arg-type]
        download_and_extract_archive(DATASET_URLS[self.version], base_root, filename=f"{self.version}.tgz",
                                     md5=DATASET_MD5[self.version])
        # torchvision strips the characters of ".tar.gz" (not the suffix) from the archive name; kept
        orig = os.path.join(base_root, os.path.basename(DATASET_URLS[self.version]).rstrip(".tar.gz"))  # noqa: B005
        if not os.path.exists(orig):
            raise RuntimeError(f"Unable to find downloaded files at {orig}")
        os.rename(orig, self.root)  # type: ignore[arg-type]
