"""MS COCO detection and captions: images under ``root`` and an annotation JSON file.

torchvision needs ``pycocotools`` for these; ember indexes the JSON itself (the few lookups the
datasets use: images by id, annotation ids per image in file order, annotations by id), so no extra
package is needed. ``.coco`` is that index, with pycocotools' names ``imgs``, ``anns``, ``cats``,
``imgToAnns``, ``loadImgs``, ``getAnnIds``, ``loadAnns``.

Example:
    >>> idx = COCOIndex({"images": [{"id": 3, "file_name": "a.jpg"}],
    ...                  "annotations": [{"id": 7, "image_id": 3, "caption": "a cat"}]})
    >>> idx.loadAnns(idx.getAnnIds(3))[0]["caption"]
    'a cat'
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from PIL import Image

from .vision import VisionDataset

__all__ = ["CocoDetection", "CocoCaptions", "COCOIndex"]


def _as_list(ids: Any) -> list[Any]:
    return list(ids) if isinstance(ids, Iterable) and not isinstance(ids, (str, bytes)) else [ids]


class COCOIndex:
    """The subset of pycocotools' ``COCO`` API that the COCO datasets use, over a loaded JSON dict."""

    def __init__(self, dataset: dict[str, Any] | str | os.PathLike | None = None) -> None:
        if dataset is None:
            dataset = {}
        elif not isinstance(dataset, dict):
            with open(dataset) as f:
                dataset = json.load(f)
            if not isinstance(dataset, dict):
                raise TypeError(f"annotation file format {type(dataset)} not supported")
        self.dataset = dataset
        self.imgs = {img["id"]: img for img in dataset.get("images", [])}
        self.anns = {ann["id"]: ann for ann in dataset.get("annotations", [])}
        self.cats = {cat["id"]: cat for cat in dataset.get("categories", [])}
        self.imgToAnns: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for ann in dataset.get("annotations", []):
            self.imgToAnns[ann["image_id"]].append(ann)

    def loadImgs(self, ids: Any = ()) -> list[dict[str, Any]]:  # noqa: N802 - pycocotools' name
        return [self.imgs[i] for i in _as_list(ids)]

    def loadAnns(self, ids: Any = ()) -> list[dict[str, Any]]:  # noqa: N802
        return [self.anns[i] for i in _as_list(ids)]

    def getAnnIds(self, imgIds: Any = (), catIds: Any = (), iscrowd: bool | None = None) -> list[Any]:  # noqa: N802,N803
        img_ids, cat_ids = _as_list(imgIds), _as_list(catIds)
        if img_ids:
            anns = [a for i in img_ids if i in self.imgToAnns for a in self.imgToAnns[i]]
        else:
            anns = list(self.anns.values())
        if cat_ids:
            anns = [a for a in anns if a.get("category_id") in cat_ids]
        if iscrowd is not None:
            anns = [a for a in anns if a.get("iscrowd") == iscrowd]
        return [a["id"] for a in anns]


class CocoDetection(VisionDataset):
    """COCO detection: items are ``(RGB PIL image, list of annotation dicts)``, images sorted by id.

    Example:
        >>> import json, os, tempfile
        >>> from PIL import Image
        >>> d = tempfile.mkdtemp()
        >>> Image.new("RGB", (4, 3)).save(os.path.join(d, "a.png"))
        >>> with open(os.path.join(d, "ann.json"), "w") as f:
        ...     json.dump({"images": [{"id": 5, "file_name": "a.png"}],
        ...                "annotations": [{"id": 1, "image_id": 5, "bbox": [0, 0, 2, 2]}]}, f)
        >>> img, target = CocoDetection(d, os.path.join(d, "ann.json"))[0]
        >>> img.size, target[0]["bbox"]
        ((4, 3), [0, 0, 2, 2])
    """

    def __init__(self, root: str | os.PathLike, annFile: str, transform: Callable | None = None,  # noqa: N803
                 target_transform: Callable | None = None, transforms: Callable | None = None) -> None:
        super().__init__(root, transforms, transform, target_transform)
        self.coco = COCOIndex(annFile)
        self.ids = sorted(self.coco.imgs.keys())

    def _load_image(self, id: int) -> Image.Image:
        path = self.coco.loadImgs(id)[0]["file_name"]
        return Image.open(os.path.join(self.root, path)).convert("RGB")

    def _load_target(self, id: int) -> list[Any]:
        return self.coco.loadAnns(self.coco.getAnnIds(id))

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if not isinstance(index, int):
            raise ValueError(f"Index must be of type integer, got {type(index)} instead.")
        id = self.ids[index]
        image: Any = self._load_image(id)
        target: Any = self._load_target(id)
        if self.transforms is not None:
            image, target = self.transforms(image, target)
        return image, target

    def __len__(self) -> int:
        return len(self.ids)


class CocoCaptions(CocoDetection):
    """COCO captions: items are ``(RGB PIL image, list of caption strings)``."""

    def _load_target(self, id: int) -> list[str]:  # type: ignore[override]
        return [ann["caption"] for ann in super()._load_target(id)]
