"""Labeled Faces in the Wild: ``root/lfw-py/{lfw,lfw_funneled,lfw-deepfunneled}/<name>/<name>_NNNN.jpg``
with the archive (``lfw.tgz``...) and the split files (``people*.txt``, ``pairs*.txt``, ``lfw-names.txt``)
next to them; the files' MD5s are checked, as in torchvision.

Example:
    >>> try:
    ...     LFWPeople("data", image_set="aligned")
    ... except ValueError as e:
    ...     print(str(e)[:47])
    Unknown value 'aligned' for argument image_set.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .folder import default_loader
from .utils import _not_found, check_integrity, download_and_extract_archive, download_url, verify_str_arg
from .vision import VisionDataset

__all__ = ["LFWPeople", "LFWPairs"]


class _LFW(VisionDataset):
    base_folder = "lfw-py"
    download_url_prefix = "http://vis-www.cs.umass.edu/lfw/"
    file_dict = {
        "original": ("lfw", "lfw.tgz", "a17d05bd522c52d84eca14327a23d494"),
        "funneled": ("lfw_funneled", "lfw-funneled.tgz", "1b42dfed7d15c9b2dd63d5e5840c86ad"),
        "deepfunneled": ("lfw-deepfunneled", "lfw-deepfunneled.tgz", "68331da3eb755a505a502b5aacb3c201"),
    }
    checksums = {
        "pairs.txt": "9f1ba174e4e1c508ff7cdf10ac338a7d",
        "pairsDevTest.txt": "5132f7440eb68cf58910c8a45a2ac10b",
        "pairsDevTrain.txt": "4f27cbf15b2da4a85c1907eb4181ad21",
        "people.txt": "450f0863dd89e85e73936a6d71a3474b",
        "peopleDevTest.txt": "e4bf5be0a43b5dcd9dc5ccfcb8fb19c5",
        "peopleDevTrain.txt": "54eaac34beb6d042ed3a7d883e247a21",
        "lfw-names.txt": "a6d0a479bd074669f656265a6e693f6d",
    }
    annot_file = {"10fold": "", "train": "DevTrain", "test": "DevTest"}
    names = "lfw-names.txt"

    def __init__(self, root: str | os.PathLike, split: str, image_set: str, view: str,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False, loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(os.path.join(root, self.base_folder), transform=transform, target_transform=target_transform)
        self.image_set = verify_str_arg(image_set.lower(), "image_set", self.file_dict.keys())
        images_dir, self.filename, self.md5 = self.file_dict[self.image_set]
        self.view = verify_str_arg(view.lower(), "view", ["people", "pairs"])
        self.split = verify_str_arg(split.lower(), "split", ["10fold", "train", "test"])
        self.labels_file = f"{self.view}{self.annot_file[self.split]}.txt"
        self.data: list[Any] = []
        if download:  # torchvision's words, run together as it runs them
            raise ValueError("LFW dataset is no longer available for automatic download."
                             "Please download the dataset manually and place it in the specified directory."
                             "A commonly used mirror is available at: "
                             "https://www.kaggle.com/datasets/jessicali9530/lfw-dataset")
        if not self._check_integrity():
            raise _not_found()
        self.images_dir = os.path.join(self.root, images_dir)  # type: ignore[arg-type]
        self._loader = loader

    def _file(self, name: str) -> str:
        return os.path.join(self.root, name)  # type: ignore[arg-type]

    def _check_integrity(self) -> bool:
        if not (check_integrity(self._file(self.filename), self.md5)
                and check_integrity(self._file(self.labels_file), self.checksums[self.labels_file])):
            return False
        if self.view == "people":
            return check_integrity(self._file(self.names), self.checksums[self.names])
        return True

    def download(self) -> None:
        if self._check_integrity():
            return
        download_and_extract_archive(f"{self.download_url_prefix}{self.filename}", self.root,  # type: ignore[arg-type]
                                     filename=self.filename, md5=self.md5)
        download_url(f"{self.download_url_prefix}{self.labels_file}", self.root)  # type: ignore[arg-type]
        if self.view == "people":
            download_url(f"{self.download_url_prefix}{self.names}", self.root)  # type: ignore[arg-type]

    def _get_path(self, identity: str, no: int | str) -> str:
        return os.path.join(self.images_dir, identity, f"{identity}_{int(no):04d}.jpg")

    def extra_repr(self) -> str:
        return f"Alignment: {self.image_set}\nSplit: {self.split}"

    def __len__(self) -> int:
        return len(self.data)


class LFWPeople(_LFW):
    """Face identification: items are ``(PIL RGB image, identity index)``; ``split`` is ``10fold``,
    ``train`` or ``test``; ``image_set`` is ``original``, ``funneled`` or ``deepfunneled``."""

    def __init__(self, root: str | os.PathLike, split: str = "10fold", image_set: str = "funneled",
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False, loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(root, split, image_set, "people", transform, target_transform, download, loader=loader)
        with open(self._file(self.names)) as f:
            self.class_to_idx = {line.strip().split()[0]: i for i, line in enumerate(f.readlines())}
        self.data, self.targets = self._get_people()

    def _get_people(self) -> tuple[list[str], list[int]]:
        data: list[str] = []
        targets: list[int] = []
        with open(self._file(self.labels_file)) as f:
            lines = f.readlines()
        n_folds, s = (int(lines[0]), 1) if self.split == "10fold" else (1, 0)
        for _ in range(n_folds):
            n_lines = int(lines[s])
            people = [line.strip().split("\t") for line in lines[s + 1:s + n_lines + 1]]
            s += n_lines + 1
            for identity, num_imgs in people:
                for num in range(1, int(num_imgs) + 1):
                    data.append(self._get_path(identity, num))
                    targets.append(self.class_to_idx[identity])
        return data, targets

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img: Any = self._loader(self.data[index])
        target: Any = self.targets[index]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def extra_repr(self) -> str:
        return super().extra_repr() + f"\nClasses (identities): {len(self.class_to_idx)}"


class LFWPairs(_LFW):
    """Face verification: items are ``(image 1, image 2, 1 if the same person else 0)``."""

    def __init__(self, root: str | os.PathLike, split: str = "10fold", image_set: str = "funneled",
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False, loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(root, split, image_set, "pairs", transform, target_transform, download, loader=loader)
        self.pair_names, self.data, self.targets = self._get_pairs(self.images_dir)

    def _get_pairs(self, images_dir: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[int]]:
        pair_names: list[tuple[str, str]] = []
        data: list[tuple[str, str]] = []
        targets: list[int] = []
        with open(self._file(self.labels_file)) as f:
            lines = f.readlines()
        if self.split == "10fold":
            n_folds, n_pairs = (int(v) for v in lines[0].split("\t"))
        else:
            n_folds, n_pairs = 1, int(lines[0])
        s = 1
        for _ in range(n_folds):
            matched = [line.strip().split("\t") for line in lines[s:s + n_pairs]]
            unmatched = [line.strip().split("\t") for line in lines[s + n_pairs:s + 2 * n_pairs]]
            s += 2 * n_pairs
            for p in matched:  # name, image a, image b
                pair_names.append((p[0], p[0]))
                data.append((self._get_path(p[0], p[1]), self._get_path(p[0], p[2])))
                targets.append(1)
            for p in unmatched:  # name 1, image, name 2, image
                pair_names.append((p[0], p[2]))
                data.append((self._get_path(p[0], p[1]), self._get_path(p[2], p[3])))
                targets.append(0)
        return pair_names, data, targets

    def __getitem__(self, index: int) -> tuple[Any, Any, Any]:  # type: ignore[override]
        path1, path2 = self.data[index]
        img1: Any = self._loader(path1)
        img2: Any = self._loader(path2)
        target: Any = self.targets[index]
        if self.transform is not None:
            img1, img2 = self.transform(img1), self.transform(img2)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img1, img2, target
