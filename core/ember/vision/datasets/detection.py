"""Detection datasets read from text annotations: WIDERFace and KITTI (2D object detection).

* ``WIDERFace``: ``root/widerface/{WIDER_train,WIDER_val,WIDER_test}/images/...`` and
  ``root/widerface/wider_face_split/wider_face_{train,val}_bbx_gt.txt`` / ``wider_face_test_filelist.txt``;
* ``Kitti``: ``root/Kitti/raw/{training,testing}/image_2/*.png`` and ``training/label_2/*.txt``.

Example:
    >>> import tempfile
    >>> try:
    ...     Kitti(tempfile.mkdtemp())
    ... except RuntimeError as e:
    ...     print(e)
    Dataset not found. You may use download=True to download it.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

import ember

from .utils import download_and_extract_archive, download_file_from_google_drive, extract_archive, verify_str_arg
from .vision import VisionDataset

__all__ = ["WIDERFace", "Kitti"]


class WIDERFace(VisionDataset):
    """WIDER FACE: items are ``(PIL image, target)``; the target is a dict of int64 tensors (``bbox`` as
    x, y, width, height; ``blur``, ``expression``, ``illumination``, ``occlusion``, ``pose``, ``invalid``)
    or None for the test split."""

    BASE_FOLDER = "widerface"
    FILE_LIST = [
        ("15hGDLhsx8bLgLcIRD5DhYt5iBxnjNF1M", "3fedf70df600953d25982bcd13d91ba2", "WIDER_train.zip"),
        ("1GUCogbp16PMGa39thoMMeWxp7Rp5oM8Q", "dfa7d7e790efa35df3788964cf0bbaea", "WIDER_val.zip"),
        ("1HIfDbVEWKmsYKJZm4lchTBDLW5N7dY5T", "e5d8f4248ed24c334bbd12f49c29dd40", "WIDER_test.zip"),
    ]
    ANNOTATIONS_FILE = ("http://shuoyang1213.me/WIDERFACE/support/bbx_annotation/wider_face_split.zip",
                        "0e3767bcf0e326556d407bf5bff5d27c", "wider_face_split.zip")

    def __init__(self, root: str | os.PathLike, split: str = "train", transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        super().__init__(root=os.path.join(root, self.BASE_FOLDER), transform=transform,
                         target_transform=target_transform)
        self.split = verify_str_arg(split, "split", ("train", "val", "test"))
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download and prepare it")
        self.img_info: list[dict[str, Any]] = []
        if self.split in ("train", "val"):
            self.parse_train_val_annotations_file()
        else:
            self.parse_test_annotations_file()

    def _image_path(self, name: str) -> str:
        return os.path.abspath(os.path.expanduser(os.path.join(self.root, "WIDER_" + self.split, "images", name)))  # type: ignore[arg-type]

    def parse_train_val_annotations_file(self) -> None:
        """Blocks of: image path, box count, one line of 10 ints per box."""
        filename = f"wider_face_{self.split}_bbx_gt.txt"
        filepath = os.path.join(self.root, "wider_face_split", filename)  # type: ignore[arg-type]
        with open(filepath) as f:
            lines = [line.rstrip() for line in f.readlines()]
        state, num_boxes, labels, img_path = "name", 0, [], ""
        for line in lines:
            if state == "name":
                img_path, state = self._image_path(line), "count"
            elif state == "count":
                num_boxes, state = int(line), "boxes"
            else:
                labels.append([int(x) for x in line.split(" ")])
                if len(labels) >= num_boxes:  # an image with 0 faces still has one line of zeros
                    t = np.array(labels, dtype=np.int64)
                    cols = ("blur", "expression", "illumination", "occlusion", "pose", "invalid")
                    ann = {"bbox": ember.from_numpy(np.ascontiguousarray(t[:, 0:4]))}
                    ann.update({c: ember.from_numpy(np.ascontiguousarray(t[:, 4 + i])) for i, c in enumerate(cols)})
                    self.img_info.append({"img_path": img_path, "annotations": ann})
                    state, labels = "name", []

    def parse_test_annotations_file(self) -> None:
        filepath = os.path.join(self.root, "wider_face_split", "wider_face_test_filelist.txt")  # type: ignore[arg-type]
        with open(os.path.abspath(os.path.expanduser(filepath))) as f:
            for line in f.readlines():
                self.img_info.append({"img_path": self._image_path(line.rstrip())})

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img: Any = Image.open(self.img_info[index]["img_path"])
        if self.transform is not None:
            img = self.transform(img)
        target: Any = None if self.split == "test" else self.img_info[index]["annotations"]
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.img_info)

    def extra_repr(self) -> str:
        return f"Split: {self.split}"

    def _check_integrity(self) -> bool:
        return all(os.path.exists(os.path.join(self.root, os.path.splitext(name)[0]))  # type: ignore[arg-type]
                   for _, _, name in [*self.FILE_LIST, self.ANNOTATIONS_FILE])

    def download(self) -> None:
        """The images live on Google Drive, which needs ``gdown`` (as in torchvision)."""
        if self._check_integrity():
            return
        for file_id, md5, filename in self.FILE_LIST:
            download_file_from_google_drive(file_id, self.root, filename, md5)  # type: ignore[arg-type]
            extract_archive(os.path.join(self.root, filename))  # type: ignore[arg-type]
        download_and_extract_archive(url=self.ANNOTATIONS_FILE[0], download_root=self.root,  # type: ignore[arg-type]
                                     md5=self.ANNOTATIONS_FILE[1])


class Kitti(VisionDataset):
    """KITTI 2D objects: items are ``(PIL image, list of object dicts)`` (None for the test split);
    images are listed in the file system's order, as torchvision lists them."""

    data_url = "https://s3.eu-central-1.amazonaws.com/avg-kitti/"
    resources = ["data_object_image_2.zip", "data_object_label_2.zip"]
    image_dir_name = "image_2"
    labels_dir_name = "label_2"

    def __init__(self, root: str | os.PathLike, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, transforms: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform, transforms=transforms)
        self.images: list[str] = []
        self.targets: list[str] = []
        self.train = train
        self._location = "training" if self.train else "testing"
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You may use download=True to download it.")
        image_dir = os.path.join(self._raw_folder, self._location, self.image_dir_name)
        labels_dir = os.path.join(self._raw_folder, self._location, self.labels_dir_name)
        for img_file in os.listdir(image_dir):
            self.images.append(os.path.join(image_dir, img_file))
            if self.train:
                self.targets.append(os.path.join(labels_dir, f"{img_file.split('.')[0]}.txt"))

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image: Any = Image.open(self.images[index])
        target: Any = self._parse_target(index) if self.train else None
        if self.transforms:
            image, target = self.transforms(image, target)
        return image, target

    def _parse_target(self, index: int) -> list[dict[str, Any]]:
        target = []
        with open(self.targets[index]) as f:
            for line in csv.reader(f, delimiter=" "):
                target.append({
                    "type": line[0],
                    "truncated": float(line[1]),
                    "occluded": int(line[2]),
                    "alpha": float(line[3]),
                    "bbox": [float(x) for x in line[4:8]],
                    "dimensions": [float(x) for x in line[8:11]],
                    "location": [float(x) for x in line[11:14]],
                    "rotation_y": float(line[14]),
                })
        return target

    def __len__(self) -> int:
        return len(self.images)

    @property
    def _raw_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "raw")  # type: ignore[arg-type]

    def _check_exists(self) -> bool:
        folders = [self.image_dir_name] + ([self.labels_dir_name] if self.train else [])
        return all(os.path.isdir(os.path.join(self._raw_folder, self._location, f)) for f in folders)

    def download(self) -> None:
        if self._check_exists():
            return
        os.makedirs(self._raw_folder, exist_ok=True)
        for fname in self.resources:
            download_and_extract_archive(url=f"{self.data_url}{fname}", download_root=self._raw_folder,
                                         filename=fname)
