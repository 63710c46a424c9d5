"""Image-caption datasets: Flickr8k (the HTML caption page), Flickr30k (the tab-separated token file)
and SBU (the url and caption lists of the official archive).

Example:
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> with open(os.path.join(d, "ann.token"), "w") as f:
    ...     _ = f.write("1.jpg#0\\ta dog\\n1.jpg#1\\ta brown dog\\n")
    >>> Flickr30k(d, os.path.join(d, "ann.token")).annotations["1.jpg"]
    ['a dog', 'a brown dog']
"""

from __future__ import annotations

import glob
import os
from collections import defaultdict
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

from .folder import default_loader
from .utils import _not_found, check_integrity, download_and_extract_archive, download_url
from .vision import VisionDataset

__all__ = ["Flickr8k", "Flickr8kParser", "Flickr30k", "SBU"]


class Flickr8kParser(HTMLParser):
    """Reads the Flickr8k caption page: each image link inside the table starts an entry, each list
    item after it is one caption; entries are keyed by the image's path under ``root``."""

    def __init__(self, root: str) -> None:
        super().__init__()
        self.root = root
        self.annotations: dict[str, list[str]] = {}
        self.in_table = False
        self.current_tag: str | None = None
        self.current_img: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current_tag = tag
        if tag == "table":
            self.in_table = True

    def handle_endtag(self, tag: str) -> None:
        self.current_tag = None
        if tag == "table":
            self.in_table = False

    def handle_data(self, data: str) -> None:
        if not self.in_table:
            return
        if data == "Image Not Found":
            self.current_img = None
        elif self.current_tag == "a":
            img_id = data.split("/")[-2]
            self.current_img = glob.glob(os.path.join(self.root, img_id + "_*.jpg"))[0]
            self.annotations[self.current_img] = []
        elif self.current_tag == "li" and self.current_img:
            self.annotations[self.current_img].append(data.strip())


class _CaptionDataset(VisionDataset):
    ids: list[str]
    annotations: Any
    loader: Callable[[str], Any]

    def _path(self, img_id: str) -> str:
        return img_id

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img_id = self.ids[index]
        img: Any = self.loader(self._path(img_id))
        if self.transform is not None:
            img = self.transform(img)
        target: Any = self.annotations[img_id]
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.ids)


class Flickr8k(_CaptionDataset):
    """Flickr8k: items are ``(PIL RGB image, list of captions)``, images sorted by path."""

    def __init__(self, root: str | os.PathLike, ann_file: str, transform: Callable | None = None,
                 target_transform: Callable | None = None, loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.ann_file = os.path.expanduser(ann_file)
        parser = Flickr8kParser(self.root)  # type: ignore[arg-type]
        with open(self.ann_file) as f:
            parser.feed(f.read())
        self.annotations = parser.annotations
        self.ids = sorted(self.annotations)
        self.loader = loader


class Flickr30k(_CaptionDataset):
    """Flickr30k: items are ``(PIL RGB image, list of captions)``; ``ann_file`` has ``<image>#<n>\\t<caption>``."""

    def __init__(self, root: str | os.PathLike, ann_file: str, transform: Callable | None = None,
                 target_transform: Callable | None = None, loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.ann_file = os.path.expanduser(ann_file)
        self.annotations: dict[str, list[str]] = defaultdict(list)
        with open(self.ann_file) as f:
            for line in f:
                img_id, caption = line.strip().split("\t")
                self.annotations[img_id[:-2]].append(caption)  # drop the "#n" caption number
        self.ids = sorted(self.annotations)
        self.loader = loader

    def _path(self, img_id: str) -> str:
        return os.path.join(self.root, img_id)  # type: ignore[arg-type]


class SBU(VisionDataset):
    """SBU captioned photos: ``root/SBUCaptionedPhotoDataset.tar.gz`` (MD5-checked, as in torchvision)
    and ``root/dataset/{SBU_captioned_photo_dataset_urls.txt,SBU_captioned_photo_dataset_captions.txt,<photos>}``;
    only photos present on disk are items. ``download`` defaults to True, as in torchvision."""

    url = "https://www.cs.rice.edu/~vo9/sbucaptions/SBUCaptionedPhotoDataset.tar.gz"
    filename = "SBUCaptionedPhotoDataset.tar.gz"
    md5_checksum = "9aec147b3488753cf758b4d493422285"

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = True,
                 loader: Callable[[str], Any] = default_loader) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.loader = loader
        if download:
            self.download()
        if not self._check_integrity():
            raise _not_found()
        self.photos: list[str] = []
        self.captions: list[str] = []
        folder = os.path.join(self.root, "dataset")  # type: ignore[arg-type]
        with open(os.path.join(folder, "SBU_captioned_photo_dataset_urls.txt")) as urls, \
                open(os.path.join(folder, "SBU_captioned_photo_dataset_captions.txt")) as caps:
            for url_line, caption_line in zip(urls, caps):
                photo = os.path.basename(url_line.rstrip())
                if os.path.exists(os.path.join(folder, photo)):
                    self.photos.append(photo)
                    self.captions.append(caption_line.rstrip())

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img: Any = self.loader(os.path.join(self.root, "dataset", self.photos[index]))  # type: ignore[arg-type]
        if self.transform is not None:
            img = self.transform(img)
        target: Any = self.captions[index]
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.photos)

    def _check_integrity(self) -> bool:
        return check_integrity(os.path.join(self.root, self.filename), self.md5_checksum)  # type: ignore[arg-type]

    def download(self) -> None:
        """Fetch the archive, then each photo from its Flickr URL (photos that fail are skipped)."""
        if self._check_integrity():
            return
        download_and_extract_archive(self.url, self.root, self.root, self.filename, self.md5_checksum)
        folder = os.path.join(self.root, "dataset")  # type: ignore[arg-type]
        with open(os.path.join(folder, "SBU_captioned_photo_dataset_urls.txt")) as f:
            for line in f:
                try:
                    download_url(line.rstrip(), folder)
                except OSError:
                    pass
