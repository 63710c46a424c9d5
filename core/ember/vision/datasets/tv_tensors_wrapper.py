"""``wrap_dataset_for_transforms_v2``: dataset samples as :mod:`ember.vision.tv_tensors`, as torchvision 0.28 does.

Segmentation masks become ``tv_tensors.Mask``, boxes ``tv_tensors.BoundingBoxes`` in ``XYXY`` format, and
dict-of-list targets are built for COCO, VOC, KITTI and WIDERFace (``target_keys`` picks their keys).
The dataset's own transforms are taken over by the wrapper and applied to the wrapped sample, so the
v2 transforms see tv_tensors. Classification datasets pass through unchanged.

Example:
    >>> import tempfile, os
    >>> from PIL import Image
    >>> from ember.vision import datasets
    >>> root = tempfile.mkdtemp()
    >>> os.makedirs(os.path.join(root, "cat"))
    >>> Image.new("RGB", (4, 4)).save(os.path.join(root, "cat", "a.png"))
    >>> ds = wrap_dataset_for_transforms_v2(datasets.ImageFolder(root))
    >>> type(ds).__name__, ds[0][1]
    ('WrappedImageFolder', 0)
"""

from __future__ import annotations

import collections.abc
import contextlib
from collections import defaultdict
from collections.abc import Callable
from copy import copy
from typing import Any

import numpy as np

import ember

from . import (
    caltech,
    celeba,
    cifar,
    cityscapes,
    coco,
    detection,
    folder,
    folder_sets,
    imagenet,
    mnist,
    oxford_iiit_pet,
    sbd,
    voc,
)
from .vision import VisionDataset

__all__ = ["wrap_dataset_for_transforms_v2"]


def _tv() -> tuple[Any, Any]:
    # imported on use: the transforms.v2 package imports a lot that plain dataset users never need
    from ember.vision import tv_tensors
    from ember.vision.transforms.v2 import functional as F
    return tv_tensors, F


def wrap_dataset_for_transforms_v2(dataset: VisionDataset, target_keys: Any = None) -> Any:
    """Wrap an ``ember.vision.datasets`` dataset so its samples hold tv_tensors (see the module docstring).

    ``target_keys`` (None, ``"all"`` or a collection of key names) selects the keys of dict targets; it is
    accepted for ``CocoDetection``, ``VOCDetection``, ``Kitti`` and ``WIDERFace`` only.
    """
    if not (target_keys is None or target_keys == "all"
            or (isinstance(target_keys, collections.abc.Collection) and all(isinstance(k, str) for k in target_keys))):
        raise ValueError("`target_keys` can be None, 'all', or a collection of strings denoting the keys to be "
                         f"returned, but got {target_keys}")
    wrapped_cls = type(f"Wrapped{type(dataset).__name__}", (VisionDatasetTVTensorWrapper, type(dataset)), {})
    return wrapped_cls(dataset, target_keys)


_FACTORIES: dict[type, Callable[[Any, Any], Callable[[int, Any], Any]]] = {}
_TARGET_KEY_CLASSES = (coco.CocoDetection, voc.VOCDetection, detection.Kitti, detection.WIDERFace)


def _register(*classes: type) -> Callable:
    def deco(factory: Callable) -> Callable:
        for cls in classes:
            _FACTORIES[cls] = factory
        return factory
    return deco


class VisionDatasetTVTensorWrapper:
    """The base of the ``Wrapped<Dataset>`` classes: delegates attributes to the wrapped dataset."""

    def __init__(self, dataset: Any, target_keys: Any) -> None:
        dataset_cls = type(dataset)
        if not isinstance(dataset, VisionDataset):
            raise TypeError(
                "This wrapper is meant for subclasses of `torchvision.datasets.VisionDataset`, "
                f"but got a '{dataset_cls.__name__}' instead.\n"
                "For an example of how to perform the wrapping for custom datasets, see\n\n"
                "https://pytorch.org/vision/main/auto_examples/plot_tv_tensors.html"
                "#do-i-have-to-wrap-the-output-of-the-datasets-myself")
        for cls in dataset_cls.mro():
            if cls in _FACTORIES:
                factory = _FACTORIES[cls]
                if target_keys is not None and cls not in _TARGET_KEY_CLASSES:
                    raise ValueError("`target_keys` is currently only supported for `CocoDetection`, "
                                     f"`VOCDetection`, `Kitti`, and `WIDERFace`, but got {cls.__name__}.")
                break
            if cls is VisionDataset:
                from ember.vision import datasets as _datasets
                msg = f"No wrapper exists for dataset class {dataset_cls.__name__}. Please wrap the output yourself."
                if dataset_cls in vars(_datasets).values():
                    msg += (" If an automated wrapper for this dataset would be useful for you, "
                            "please open an issue at https://github.com/pytorch/vision/issues.")
                raise TypeError(msg)
        self._dataset = dataset
        self._target_keys = target_keys
        self._wrapper = factory(dataset, target_keys)
        # the wrapper applies the transforms itself, after wrapping
        self.transform, dataset.transform = dataset.transform, None
        self.target_transform, dataset.target_transform = dataset.target_transform, None
        self.transforms, dataset.transforms = dataset.transforms, None

    def __getattr__(self, item: str) -> Any:
        with contextlib.suppress(AttributeError):
            return object.__getattribute__(self, item)
        return getattr(self._dataset, item)

    def __getitem__(self, idx: int) -> Any:
        sample = self._wrapper(idx, self._dataset[idx])
        if self.transforms is not None:
            sample = self.transforms(*sample)
        return sample

    def __len__(self) -> int:
        return len(self._dataset)

    def __reduce__(self) -> Any:
        dataset = copy(self._dataset)
        dataset.transform = self.transform
        dataset.transforms = self.transforms
        dataset.target_transform = self.target_transform
        return wrap_dataset_for_transforms_v2, (dataset, self._target_keys)


def _not_supported(description: str) -> None:
    raise RuntimeError(f"{description} is currently not supported by this wrapper. If this would be helpful for "
                       "you, please open an issue at https://github.com/pytorch/vision/issues.")


def _identity_factory(dataset: Any, target_keys: Any) -> Callable[[int, Any], Any]:
    return lambda idx, sample: sample


def _to_mask(pil_image: Any) -> Any:
    return _tv()[0].Mask(pil_image)


def _parse_target_keys(target_keys: Any, *, available: set[str], default: Any) -> set[str]:
    if target_keys is None:
        target_keys = default
    if target_keys == "all":
        return set(available)
    target_keys = set(target_keys)
    extra = target_keys - available
    if extra:
        raise ValueError(f"Target keys {sorted(extra)} are not available")
    return target_keys


def _dict_of_lists(list_of_dicts: list[dict[str, Any]]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = defaultdict(list)
    for dct in list_of_dicts:
        for key, value in dct.items():
            out[key].append(value)
    return dict(out)


def _wrap_by_type(target: Any, *, target_types: list[str], wrappers: dict[str, Callable]) -> Any:
    items = target if isinstance(target, (tuple, list)) else [target]
    wrapped = tuple(wrappers.get(t, lambda x: x)(item) for t, item in zip(target_types, items))
    return wrapped[0] if len(wrapped) == 1 else wrapped


def _xywh_to_xyxy(boxes: Any, canvas_size: tuple[int, int]) -> Any:
    tv_tensors, F = _tv()
    return F.convert_bounding_box_format(
        tv_tensors.BoundingBoxes(boxes, format=tv_tensors.BoundingBoxFormat.XYWH, canvas_size=canvas_size),
        new_format=tv_tensors.BoundingBoxFormat.XYXY)


_register(caltech.Caltech256, cifar.CIFAR10, cifar.CIFAR100, imagenet.ImageNet, mnist.MNIST, mnist.FashionMNIST,
          folder_sets.GTSRB, folder.DatasetFolder, folder.ImageFolder, folder_sets.Imagenette,
          coco.CocoCaptions)(_identity_factory)


@_register(voc.VOCSegmentation)
def _segmentation_factory(dataset: Any, target_keys: Any) -> Callable[[int, Any], Any]:
    return lambda idx, sample: (sample[0], _to_mask(sample[1]))


@_register(caltech.Caltech101)
def _caltech101_factory(dataset: Any, target_keys: Any) -> Callable[[int, Any], Any]:
    if "annotation" in dataset.target_type:
        _not_supported("Caltech101 dataset with `target_type=['annotation', ...]`")
    return _identity_factory(dataset, target_keys)


@_register(coco.CocoDetection)
def _coco_detection_factory(dataset: Any, target_keys: Any) -> Callable[[int, Any], Any]:
    keys = _parse_target_keys(target_keys, available={"segmentation", "area", "iscrowd", "image_id", "bbox",
                                                      "category_id", "boxes", "masks", "labels"},
                              default={"image_id", "boxes", "labels"})

    def segmentation_to_mask(segmentation: Any, canvas_size: tuple[int, int]) -> Any:
        try:  # polygon rasterisation and RLE decoding are pycocotools' (as in torchvision)
            from pycocotools import mask
        except ImportError:
            raise ImportError("the 'masks' target of CocoDetection needs pycocotools: pip install pycocotools") from None
        if isinstance(segmentation, dict):
            if not isinstance(segmentation["counts"], str):
                segmentation = mask.frPyObjects(segmentation, *canvas_size)
        elif isinstance(segmentation, list):
            segmentation = mask.merge(mask.frPyObjects(segmentation, *canvas_size))
        else:
            raise ValueError(f"COCO segmentation expected to be a dict or a list, got {type(segmentation)}")
        return ember.from_numpy(np.ascontiguousarray(mask.decode(segmentation)))

    def wrapper(idx: int, sample: Any) -> Any:
        tv_tensors, F = _tv()
        image_id = dataset.ids[idx]
        image, target = sample
        if not target:
            return image, {"image_id": image_id}
        canvas_size = tuple(F.get_size(image))
        batched = _dict_of_lists(target)
        out: dict[str, Any] = {}
        if "image_id" in keys:
            out["image_id"] = image_id
        if "boxes" in keys:
            out["boxes"] = _xywh_to_xyxy(batched["bbox"], canvas_size)
        if "masks" in keys:
            out["masks"] = tv_tensors.Mask(ember.stack([segmentation_to_mask(s, canvas_size)
                                                        for s in batched["segmentation"]]))
        if "labels" in keys:
            out["labels"] = ember.tensor(batched["category_id"])
        for key in keys - {"image_id", "boxes", "masks", "labels"}:
            out[key] = batched[key]
        return image, out

    return wrapper


VOC_DETECTION_CATEGORIES = ["__background__", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
                            "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
                            "sheep", "sofa", "train", "tvmonitor"]
VOC_DETECTION_CATEGORY_TO_IDX = {c: i for i, c in enumerate(VOC_DETECTION_CATEGORIES)}


@_register(voc.VOCDetection)
def _voc_detection_factory(dataset: Any, target_keys: Any) -> Callable[[int, Any], Any]:
    keys = _parse_target_keys(target_keys, available={"annotation", "boxes", "labels"}, default={"boxes", "labels"})

    def wrapper(idx: int, sample: Any) -> Any:
        tv_tensors, _ = _tv()
        image, target = sample
        batched = _dict_of_lists(target["annotation"]["object"])
        if "annotation" not in keys:
            target = {}
        if "boxes" in keys:
            target["boxes"] = tv_tensors.BoundingBoxes(
                [[int(b[p]) for p in ("xmin", "ymin", "xmax", "ymax")] for b in batched["bndbox"]],
                format=tv_tensors.BoundingBoxFormat.XYXY, canvas_size=(image.height, image.width))
        if "labels" in keys:
            target["labels"] = ember.tensor([VOC_DETECTION_CATEGORY_TO_IDX[c] for c in batched["name"]])
        return image, target

    return wrapper


@_register(sbd.SBDataset)
def _sbd_factory(dataset: Any, target_keys: Any) -> Callable[[int, Any], Any]:
    if dataset.mode == "boundaries":
        _not_supported("SBDataset with mode='boundaries'")
    return _segmentation_factory(dataset, target_keys)


@_register(celeba.CelebA)
def _celeba_factory(dataset: Any, target_keys: Any) -> Callable[[int, Any], Any]:
    if any(t in dataset.target_type for t in ("attr", "landmarks")):
        _not_supported("`CelebA` dataset with `target_type=['attr', 'landmarks', ...]`")

    def wrapper(idx: int, sample: Any) -> Any:
        image, target = sample
        size = (image.height, image.width)
        return image, _wrap_by_type(target, target_types=dataset.target_type,
                                    wrappers={"bbox": lambda item: _xywh_to_xyxy(item, size)})

    return wrapper


KITTI_CATEGORIES = ["Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Cyclist", "Tram", "Misc", "DontCare"]
KITTI_CATEGORY_TO_IDX = {c: i for i, c in enumerate(KITTI_CATEGORIES)}


@_register(detection.Kitti)
def _kitti_factory(dataset: Any, target_keys: Any) -> Callable[[int, Any], Any]:
    keys = _parse_target_keys(target_keys, available={"type", "truncated", "occluded", "alpha", "bbox", "dimensions",
                                                      "location", "rotation_y", "boxes", "labels"},
                              default={"boxes", "labels"})

    def wrapper(idx: int, sample: Any) -> Any:
        tv_tensors, _ = _tv()
        image, target = sample
        if target is None:
            return image, target
        batched = _dict_of_lists(target)
        out: dict[str, Any] = {}
        if "boxes" in keys:
            out["boxes"] = tv_tensors.BoundingBoxes(batched["bbox"], format=tv_tensors.BoundingBoxFormat.XYXY,
                                                    canvas_size=(image.height, image.width))
        if "labels" in keys:
            out["labels"] = ember.tensor([KITTI_CATEGORY_TO_IDX[c] for c in batched["type"]])
        for key in keys - {"boxes", "labels"}:
            out[key] = batched[key]
        return image, out

    return wrapper


@_register(oxford_iiit_pet.OxfordIIITPet)
def _pet_factory(dataset: Any, target_keys: Any) -> Callable[[int, Any], Any]:
    def wrapper(idx: int, sample: Any) -> Any:
        image, target = sample
        if target is not None:
            target = _wrap_by_type(target, target_types=dataset._target_types, wrappers={"segmentation": _to_mask})
        return image, target

    return wrapper


@_register(cityscapes.Cityscapes)
def _cityscapes_factory(dataset: Any, target_keys: Any) -> Callable[[int, Any], Any]:
    if any(t in dataset.target_type for t in ("polygon", "color")):
        _not_supported("`Cityscapes` dataset with `target_type=['polygon', 'color', ...]`")

    def instances(mask: Any) -> dict[str, Any]:
        tv_tensors, _ = _tv()
        data = _to_mask(mask)
        masks, labels = [], []
        for id in data.unique():
            masks.append(data == id)
            labels.append(id // 1000 if id >= 1000 else id)  # instance ids are class * 1000 + instance
        return {"masks": tv_tensors.Mask(ember.stack(masks)), "labels": ember.stack(labels)}

    def wrapper(idx: int, sample: Any) -> Any:
        image, target = sample
        return image, _wrap_by_type(target, target_types=dataset.target_type,
                                    wrappers={"instance": instances, "semantic": _to_mask})

    return wrapper


@_register(detection.WIDERFace)
def _widerface_factory(dataset: Any, target_keys: Any) -> Callable[[int, Any], Any]:
    keys = _parse_target_keys(target_keys, available={"bbox", "blur", "expression", "illumination", "occlusion",
                                                      "pose", "invalid"}, default="all")

    def wrapper(idx: int, sample: Any) -> Any:
        image, target = sample
        if target is None:
            return image, target
        target = {key: target[key] for key in keys}
        if "bbox" in keys:
            target["bbox"] = _xywh_to_xyxy(target["bbox"], (image.height, image.width))
        return image, target

    return wrapper
