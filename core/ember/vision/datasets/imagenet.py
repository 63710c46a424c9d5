"""ImageNet 2012 (ILSVRC2012) from the official archives, prepared as torchvision prepares them.

Put ``ILSVRC2012_devkit_t12.tar.gz`` and ``ILSVRC2012_img_train.tar`` and/or ``ILSVRC2012_img_val.tar``
in ``root``. On first use the devkit's ``data/meta.mat`` (read with ember's NumPy MATLAB reader; torchvision
uses scipy) and validation ground truth become ``root/meta.bin`` (a ``torch.save`` file, readable by
torchvision and ember alike), and the images are extracted into ``root/train/<wnid>/`` and
``root/val/<wnid>/``. Folders already prepared (by torchvision or by hand) are used as they are.

Example:
    >>> import tempfile
    >>> try:
    ...     load_meta_file(tempfile.mkdtemp())
    ... except RuntimeError as e:
    ...     print(str(e).split(". ")[1])
    This file is automatically created by the ImageNet dataset.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

import ember

from ._matlab import loadmat
from .folder import ImageFolder
from .utils import check_integrity, extract_archive, verify_str_arg

__all__ = ["ImageNet", "load_meta_file", "parse_devkit_archive", "parse_train_archive", "parse_val_archive"]

ARCHIVE_META = {
    "train": ("ILSVRC2012_img_train.tar", "1d675b47d978889d74fa0da5fadfb00e"),
    "val": ("ILSVRC2012_img_val.tar", "29b22e2961454d5413ddabcf34fc5622"),
    "devkit": ("ILSVRC2012_devkit_t12.tar.gz", "fa75699e90414af021442c21a62c3abf"),
}
META_FILE = "meta.bin"


class ImageNet(ImageFolder):
    """ImageNet 2012 classification: items are ``(PIL RGB image, class index)``.

    ``classes`` holds each class's names as a tuple, ``class_to_idx`` maps every name to its index,
    ``wnids``/``wnid_to_idx`` the WordNet ids; ``split`` is ``train`` or ``val``.
    """

    def __init__(self, root: str | os.PathLike, split: str = "train", **kwargs: Any) -> None:
        root = self.root = os.path.expanduser(os.fspath(root))
        self.split = verify_str_arg(split, "split", ("train", "val"))
        self.parse_archives()
        wnid_to_classes = load_meta_file(self.root)[0]
        super().__init__(self.split_folder, **kwargs)
        self.root = root
        self.wnids = self.classes
        self.wnid_to_idx = self.class_to_idx
        self.classes = [wnid_to_classes[wnid] for wnid in self.wnids]  # type: ignore[misc]
        self.class_to_idx = {name: idx for idx, names in enumerate(self.classes) for name in names}

    def parse_archives(self) -> None:
        if not check_integrity(os.path.join(self.root, META_FILE)):
            parse_devkit_archive(self.root)
        if not os.path.isdir(self.split_folder):
            if self.split == "train":
                parse_train_archive(self.root)
            else:
                parse_val_archive(self.root)

    @property
    def split_folder(self) -> str:
        return os.path.join(self.root, self.split)

    def extra_repr(self) -> str:
        return f"Split: {self.split}"


def load_meta_file(root: str | os.PathLike, file: str | None = None) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """``(wnid -> class names, validation wnids in image order)`` from ``root/meta.bin``."""
    path = os.path.join(root, file or META_FILE)
    if not check_integrity(path):
        raise RuntimeError(f"The meta file {path} is not present in the root directory or is corrupted. "
                           "This file is automatically created by the ImageNet dataset.")
    return ember.load(path, weights_only=True)


def _verify_archive(root: str | os.PathLike, file: str, md5: str) -> None:
    if not check_integrity(os.path.join(root, file), md5):
        raise RuntimeError(f"The archive {file} is not present in the root directory or is corrupted. "
                           f"You need to download it externally and place it in {root}.")


def parse_devkit_archive(root: str | os.PathLike, file: str | None = None) -> None:
    """Write ``root/meta.bin`` from the devkit archive's ``meta.mat`` and validation ground truth."""
    name, md5 = ARCHIVE_META["devkit"]
    file = file or name
    _verify_archive(root, file, md5)
    tmp_dir = tempfile.mkdtemp()
    try:
        extract_archive(os.path.join(root, file), tmp_dir)
        devkit = os.path.join(tmp_dir, "ILSVRC2012_devkit_t12")
        synsets = loadmat(os.path.join(devkit, "data", "meta.mat"), squeeze_me=True)["synsets"]
        leaves = [s for s in synsets.ravel() if int(s["num_children"]) == 0]  # the 1000 classes
        idx_to_wnid = {int(s["ILSVRC2012_ID"]): s["WNID"] for s in leaves}
        wnid_to_classes = {s["WNID"]: tuple(s["words"].split(", ")) for s in leaves}
        with open(os.path.join(devkit, "data", "ILSVRC2012_validation_ground_truth.txt")) as f:
            val_wnids = [idx_to_wnid[int(line)] for line in f.readlines()]
        ember.save((wnid_to_classes, val_wnids), os.path.join(root, META_FILE))
    finally:
        shutil.rmtree(tmp_dir)


def parse_train_archive(root: str | os.PathLike, file: str | None = None, folder: str = "train") -> None:
    """Extract the train archive into ``root/folder`` and each class's inner tar into its own folder."""
    name, md5 = ARCHIVE_META["train"]
    file = file or name
    _verify_archive(root, file, md5)
    train_root = os.path.join(root, folder)
    extract_archive(os.path.join(root, file), train_root)
    for archive in [os.path.join(train_root, a) for a in os.listdir(train_root)]:
        extract_archive(archive, os.path.splitext(archive)[0], remove_finished=True)


def parse_val_archive(root: str | os.PathLike, file: str | None = None, wnids: list[str] | None = None,
                      folder: str = "val") -> None:
    """Extract the validation archive into ``root/folder/<wnid>/`` using the meta file's labels."""
    name, md5 = ARCHIVE_META["val"]
    file = file or name
    if wnids is None:
        wnids = load_meta_file(root)[1]
    _verify_archive(root, file, md5)
    val_root = os.path.join(root, folder)
    extract_archive(os.path.join(root, file), val_root)
    images = sorted(os.path.join(val_root, image) for image in os.listdir(val_root))
    for wnid in set(wnids):
        os.mkdir(os.path.join(val_root, wnid))
    for wnid, img_file in zip(wnids, images):
        shutil.move(img_file, os.path.join(val_root, wnid, os.path.basename(img_file)))
