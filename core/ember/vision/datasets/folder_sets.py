"""Image-classification datasets stored as image folders plus split files: DTD, EuroSAT, Country211,
Imagenette, GTSRB, FGVCAircraft, SUN397, CLEVRClassification and RenderedSST2, each laid out as its
official archive unpacks.

Example:
    >>> import tempfile
    >>> try:
    ...     DTD(tempfile.mkdtemp())
    ... except RuntimeError as e:
    ...     print(e)
    Dataset not found. You can use download=True to download it
"""

from __future__ import annotations

import csv
import json
import os
import pathlib
from collections.abc import Callable
from typing import Any

from PIL import Image

from .folder import ImageFolder, default_loader, find_classes, make_dataset
from .utils import download_and_extract_archive, verify_str_arg
from .vision import VisionDataset

__all__ = ["DTD", "EuroSAT", "Country211", "Imagenette", "GTSRB", "FGVCAircraft", "SUN397", "CLEVRClassification",
           "RenderedSST2"]

_NOT_FOUND = "Dataset not found. You can use download=True to download it"


class _FileListDataset(VisionDataset):
    """Items ``(loader(path), label)`` from ``self._image_files``/``self._labels``."""

    _image_files: list[Any]
    _labels: list[int]
    loader: Callable[[Any], Any]

    def __len__(self) -> int:
        return len(self._image_files)

    def __getitem__(self, idx: int) -> tuple[Any, Any]:
        image: Any = self.loader(self._image_files[idx])
        label: Any = self._labels[idx]
        if self.transform:
            image = self.transform(image)
        if self.target_transform:
            label = self.target_transform(label)
        return image, label


class DTD(_FileListDataset):
    """Describable Textures: ``root/dtd/dtd/{images/<class>/*.jpg,labels/<split><partition>.txt}``.

    ``partition`` (1-10) picks one of the ten official train/val/test splits.
    """

    _URL = "https://www.robots.ox.ac.uk/~vgg/data/dtd/download/dtd-r1.0.1.tar.gz"
    _MD5 = "fff73e5086ae6bdbea199a49dfb8a4c1"

    def __init__(self, root: str | os.PathLike, split: str = "train", partition: int = 1,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False, loader: Callable[[Any], Any] = default_loader) -> None:
        self._split = verify_str_arg(split, "split", ("train", "val", "test"))
        # torchvision's check is written with `and`, so only a non-int outside 1..10 is refused
        if not isinstance(partition, int) and not (1 <= partition <= 10):
            raise ValueError("Parameter 'partition' should be an integer with `1 <= partition <= 10`, "
                             f"but got {partition} instead")
        self._partition = partition
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._base_folder = pathlib.Path(self.root) / type(self).__name__.lower()
        self._data_folder = self._base_folder / "dtd"
        self._meta_folder = self._data_folder / "labels"
        self._images_folder = self._data_folder / "images"
        if download:
            self._download()
        if not self._data_folder.is_dir():
            raise RuntimeError(_NOT_FOUND)
        self._image_files = []
        classes = []
        with open(self._meta_folder / f"{self._split}{self._partition}.txt") as f:
            for line in f:
                cls, name = line.strip().split("/")
                self._image_files.append(self._images_folder.joinpath(cls, name))
                classes.append(cls)
        self.classes = sorted(set(classes))
        self.class_to_idx = dict(zip(self.classes, range(len(self.classes))))
        self._labels = [self.class_to_idx[c] for c in classes]
        self.loader = loader

    def extra_repr(self) -> str:
        return f"split={self._split}, partition={self._partition}"

    def _download(self) -> None:
        if self._data_folder.is_dir():
            return
        download_and_extract_archive(self._URL, download_root=str(self._base_folder), md5=self._MD5)


class EuroSAT(ImageFolder):
    """EuroSAT RGB land cover: ``root/eurosat/2750/<class>/*.jpg``."""

    _URL = ("https://huggingface.co/datasets/torchgeo/eurosat/resolve/c877bcd43f099cd0196738f714544e355477f3fd/"
            "EuroSAT.zip")
    _MD5 = "c8fa014336c82ac7804f0398fcb19387"

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False,
                 loader: Callable[[str], Any] = default_loader) -> None:
        self.root = os.path.expanduser(os.fspath(root))
        self._base_folder = os.path.join(self.root, "eurosat")
        self._data_folder = os.path.join(self._base_folder, "2750")
        if download:
            self.download()
        if not os.path.exists(self._data_folder):
            raise RuntimeError(_NOT_FOUND)
        super().__init__(self._data_folder, transform=transform, target_transform=target_transform, loader=loader)
        self.root = os.path.expanduser(os.fspath(root))

    def download(self) -> None:
        if os.path.exists(self._data_folder):
            return
        os.makedirs(self._base_folder, exist_ok=True)
        download_and_extract_archive(self._URL, download_root=self._base_folder, md5=self._MD5)


class Country211(ImageFolder):
    """Country211 geolocation: ``root/country211/{train,valid,test}/<country code>/*.jpg``."""

    _URL = "https://openaipublic.azureedge.net/clip/data/country211.tgz"
    _MD5 = "84988d7644798601126c29e9877aab6a"

    def __init__(self, root: str | os.PathLike, split: str = "train", transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False,
                 loader: Callable[[str], Any] = default_loader) -> None:
        self._split = verify_str_arg(split, "split", ("train", "valid", "test"))
        path = pathlib.Path(root).expanduser()
        self.root = str(path)
        self._base_folder = path / "country211"
        if download:
            self._download()
        if not self._base_folder.is_dir():
            raise RuntimeError(_NOT_FOUND)
        super().__init__(str(self._base_folder / self._split), transform=transform,
                         target_transform=target_transform, loader=loader)
        self.root = str(path)

    def _download(self) -> None:
        if self._base_folder.is_dir():
            return
        download_and_extract_archive(self._URL, download_root=self.root, md5=self._MD5)


class Imagenette(_FileListDataset):
    """Imagenette (10 easy ImageNet classes): ``root/imagenette2[-320|-160]/{train,val}/<wnid>/*.JPEG``."""

    _ARCHIVES = {
        "full": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2.tgz", "fe2fc210e6bb7c5664d602c3cd71e612"),
        "320px": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-320.tgz",
                  "3df6f0d01a2c9592104656642f5e78a3"),
        "160px": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz",
                  "e793b78cc4c9e9a4ccc0c1155377a412"),
    }
    _WNID_TO_CLASS = {
        "n01440764": ("tench", "Tinca tinca"),
        "n02102040": ("English springer", "English springer spaniel"),
        "n02979186": ("cassette player",),
        "n03000684": ("chain saw", "chainsaw"),
        "n03028079": ("church", "church building"),
        "n03394916": ("French horn", "horn"),
        "n03417042": ("garbage truck", "dustcart"),
        "n03425413": ("gas pump", "gasoline pump", "petrol pump", "island dispenser"),
        "n03445777": ("golf ball",),
        "n03888257": ("parachute", "chute"),
    }

    def __init__(self, root: str | os.PathLike, split: str = "train", size: str = "full", download: bool = False,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._split = verify_str_arg(split, "split", ["train", "val"])
        self._size = verify_str_arg(size, "size", ["full", "320px", "160px"])
        self._url, self._md5 = self._ARCHIVES[self._size]
        self._size_root = pathlib.Path(self.root) / pathlib.Path(self._url).stem
        self._image_root = str(self._size_root / self._split)
        if download:
            self._download()
        elif not self._size_root.exists():
            raise RuntimeError(_NOT_FOUND + ".")
        self.wnids, self.wnid_to_idx = find_classes(self._image_root)
        self.classes = [self._WNID_TO_CLASS[w] for w in self.wnids]
        self.class_to_idx = {name: idx for w, idx in self.wnid_to_idx.items() for name in self._WNID_TO_CLASS[w]}
        self._samples = make_dataset(self._image_root, self.wnid_to_idx, extensions=".jpeg")
        self._image_files = [p for p, _ in self._samples]
        self._labels = [t for _, t in self._samples]
        self.loader = loader

    def _download(self) -> None:
        if self._size_root.exists():
            return
        download_and_extract_archive(self._url, self.root, md5=self._md5)


class GTSRB(VisionDataset):
    """German Traffic Sign Recognition: ``root/gtsrb/GTSRB/Training/<class>/*.ppm`` for ``train``;
    ``root/gtsrb/GTSRB/Final_Test/Images/*.ppm`` and ``root/gtsrb/GT-final_test.csv`` for ``test``."""

    _BASE_URL = "https://sid.erda.dk/public/archives/daaeac0d7ce1152aea9b61d9f1e19370/"

    def __init__(self, root: str | os.PathLike, split: str = "train", transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._split = verify_str_arg(split, "split", ("train", "test"))
        self._base_folder = pathlib.Path(root) / "gtsrb"
        self._target_folder = self._base_folder / "GTSRB" / ("Training" if self._split == "train"
                                                             else "Final_Test/Images")
        if download:
            self.download()
        if not self._target_folder.is_dir():
            raise RuntimeError(_NOT_FOUND)
        if self._split == "train":
            samples = make_dataset(str(self._target_folder), extensions=(".ppm",))
        else:
            with open(self._base_folder / "GT-final_test.csv") as f:
                samples = [(str(self._target_folder / row["Filename"]), int(row["ClassId"]))
                           for row in csv.DictReader(f, delimiter=";", skipinitialspace=True)]
        self._samples = samples

    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        path, target = self._samples[index]
        sample: Any = Image.open(path).convert("RGB")
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    def download(self) -> None:
        if self._target_folder.is_dir():
            return
        folder = str(self._base_folder)
        if self._split == "train":
            download_and_extract_archive(f"{self._BASE_URL}GTSRB-Training_fixed.zip", download_root=folder,
                                         md5="513f3c79a4c5141765e10e952eaa2478")
        else:
            download_and_extract_archive(f"{self._BASE_URL}GTSRB_Final_Test_Images.zip", download_root=folder,
                                         md5="c7e4e6327067d32654124b0fe9e82185")
            download_and_extract_archive(f"{self._BASE_URL}GTSRB_Final_Test_GT.zip", download_root=folder,
                                         md5="fe31e9c9270bbcd7b84b7f21a9d9d9e5")


class FGVCAircraft(_FileListDataset):
    """FGVC-Aircraft: ``root/fgvc-aircraft-2013b/data/{images/*.jpg,images_<level>_<split>.txt,<level>s.txt}``;
    ``annotation_level`` is ``variant``, ``family`` or ``manufacturer``."""

    _URL = "https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/archives/fgvc-aircraft-2013b.tar.gz"

    def __init__(self, root: str | os.PathLike, split: str = "trainval", annotation_level: str = "variant",
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False, loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._split = verify_str_arg(split, "split", ("train", "val", "trainval", "test"))
        self._annotation_level = verify_str_arg(annotation_level, "annotation_level",
                                                ("variant", "family", "manufacturer"))
        self._data_path = os.path.join(self.root, "fgvc-aircraft-2013b")
        if download:
            self._download()
        if not os.path.isdir(self._data_path):
            raise RuntimeError(_NOT_FOUND)
        names = {"variant": "variants.txt", "family": "families.txt", "manufacturer": "manufacturers.txt"}
        with open(os.path.join(self._data_path, "data", names[self._annotation_level])) as f:
            self.classes = [line.strip() for line in f]
        self.class_to_idx = dict(zip(self.classes, range(len(self.classes))))
        images = os.path.join(self._data_path, "data", "images")
        self._image_files, self._labels = [], []
        with open(os.path.join(self._data_path, "data", f"images_{self._annotation_level}_{self._split}.txt")) as f:
            for line in f:
                image_name, label_name = line.strip().split(" ", 1)
                self._image_files.append(os.path.join(images, f"{image_name}.jpg"))
                self._labels.append(self.class_to_idx[label_name])
        self.loader = loader

    def _download(self) -> None:
        if os.path.isdir(self._data_path):
            return
        download_and_extract_archive(self._URL, self.root)


class SUN397(_FileListDataset):
    """SUN397 scenes: ``root/SUN397/ClassName.txt`` and ``root/SUN397/<a>/<class>/sun_*.jpg`` (found by a
    recursive search, in the file system's order as in torchvision)."""

    _DATASET_URL = "http://vision.princeton.edu/projects/2010/SUN/SUN397.tar.gz"
    _DATASET_MD5 = "8ca2778205c41d23104230ba66911c7a"

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False,
                 loader: Callable[[Any], Any] = default_loader) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._data_dir = pathlib.Path(self.root) / "SUN397"
        if download:
            self._download()
        if not self._data_dir.is_dir():
            raise RuntimeError(_NOT_FOUND)
        with open(self._data_dir / "ClassName.txt") as f:
            self.classes = [c[3:].strip() for c in f]  # lines look like "/a/abbey"
        self.class_to_idx = dict(zip(self.classes, range(len(self.classes))))
        self._image_files = list(self._data_dir.rglob("sun_*.jpg"))
        self._labels = [self.class_to_idx["/".join(p.relative_to(self._data_dir).parts[1:-1])]
                        for p in self._image_files]
        self.loader = loader

    def _download(self) -> None:
        if self._data_dir.is_dir():
            return
        download_and_extract_archive(self._DATASET_URL, download_root=self.root, md5=self._DATASET_MD5)  # type: ignore[arg-type]


class CLEVRClassification(_FileListDataset):
    """CLEVR object counting: ``root/clevr/CLEVR_v1.0/{images/<split>/*.png,scenes/CLEVR_<split>_scenes.json}``;
    the label is the number of objects in the scene (None for ``test``)."""

    _URL = "https://dl.fbaipublicfiles.com/clevr/CLEVR_v1.0.zip"
    _MD5 = "b11922020e72d0cd9154779b2d3d07d2"

    def __init__(self, root: str | os.PathLike, split: str = "train", transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False,
                 loader: Callable[[Any], Any] = default_loader) -> None:
        self._split = verify_str_arg(split, "split", ("train", "val", "test"))
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.loader = loader
        self._base_folder = pathlib.Path(self.root) / "clevr"
        self._data_folder = self._base_folder / "CLEVR_v1.0"
        if download:
            self._download()
        if not self._data_folder.is_dir():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")
        self._image_files = sorted(self._data_folder.joinpath("images", self._split).glob("*"))
        if self._split != "test":
            with open(self._data_folder / "scenes" / f"CLEVR_{self._split}_scenes.json") as f:
                scenes = json.load(f)["scenes"]
            num_objects = {s["image_filename"]: len(s["objects"]) for s in scenes}
            self._labels = [num_objects[p.name] for p in self._image_files]
        else:
            self._labels = [None] * len(self._image_files)  # type: ignore[list-item]

    def extra_repr(self) -> str:
        return f"split={self._split}"

    def _download(self) -> None:
        if self._data_folder.is_dir():
            return
        download_and_extract_archive(self._URL, str(self._base_folder), md5=self._MD5)


class RenderedSST2(_FileListDataset):
    """Rendered SST2 sentiment: ``root/rendered-sst2/{train,valid,test}/{negative,positive}/*.png``."""

    _URL = "https://openaipublic.azureedge.net/clip/data/rendered-sst2.tgz"
    _MD5 = "2384d08e9dcfa4bd55b324e610496ee5"

    def __init__(self, root: str | os.PathLike, split: str = "train", transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False,
                 loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._split = verify_str_arg(split, "split", ("train", "val", "test"))
        self._split_to_folder = {"train": "train", "val": "valid", "test": "test"}
        self._base_folder = pathlib.Path(self.root) / "rendered-sst2"
        self.classes = ["negative", "positive"]
        self.class_to_idx = {"negative": 0, "positive": 1}
        if download:
            self._download()
        if not self._check_exists():
            raise RuntimeError(_NOT_FOUND)
        self._samples = make_dataset(str(self._base_folder / self._split_to_folder[self._split]), extensions=("png",))
        self._image_files = [p for p, _ in self._samples]
        self._labels = [t for _, t in self._samples]
        self.loader = loader

    def extra_repr(self) -> str:
        return f"split={self._split}"

    def _check_exists(self) -> bool:
        return all((self._base_folder / self._split_to_folder[self._split] / c).is_dir() for c in self.classes)

    def _download(self) -> None:
        if self._check_exists():
            return
        download_and_extract_archive(self._URL, download_root=self.root, md5=self._MD5)  # type: ignore[arg-type]
