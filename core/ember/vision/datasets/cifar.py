"""CIFAR-10 and CIFAR-100 from the python-pickled batches, laid out as torchvision lays them out:
``root/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}`` and
``root/cifar-100-python/{train,test,meta}``.

The batch files are pickles, so they are read with a restricted unpickler that builds only builtin
containers, strings, bytes, numbers and NumPy arrays: a file that names any other global (such as
``os.system``) is refused before anything runs.

Example:
    >>> import tempfile
    >>> try:
    ...     CIFAR10(tempfile.mkdtemp())
    ... except RuntimeError as e:
    ...     print(str(e).split(".")[0])
    Dataset not found or corrupted
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from .utils import download_url
from .vision import VisionDataset

__all__ = ["CIFAR10", "CIFAR100", "UnsafePickleError", "load_cifar_pickle"]


class UnsafePickleError(pickle.UnpicklingError):
    """A CIFAR pickle named a global outside the few a NumPy array needs."""


# The only globals a CIFAR batch needs: NumPy's array reconstruction (protocols 2-4; _frombuffer for
# protocol 5; the module is numpy._core in NumPy 2), and _codecs.encode, which protocol-2 pickles
# written by Python 3 use for bytes objects. None of them can call anything else.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise UnsafePickleError(f"refusing to load global {module}.{name}: a CIFAR batch holds only "
                                    "dicts, lists, strings, bytes, numbers and NumPy arrays")
        return super().find_class(module, name)


def load_cifar_pickle(path: str | os.PathLike) -> dict[str, Any]:
    """One CIFAR pickle as a dict with ``str`` keys (the files hold Python 2 strings, read as latin-1;
    files written by Python 3 may hold ``bytes`` keys, which are decoded the same way)."""
    with open(path, "rb") as f:
        entry = _RestrictedUnpickler(io.BytesIO(f.read()), encoding="latin1").load()
    if not isinstance(entry, dict):
        raise pickle.UnpicklingError(f"{path}: expected a dict, got {type(entry).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in entry.items()}


def _as_str(name: Any) -> str:
    return name.decode("latin1") if isinstance(name, bytes) else str(name)


class CIFAR10(VisionDataset):
    """CIFAR-10: items are ``(PIL RGB image 32x32, int label)``.

    As in torchvision, ``.data`` is a uint8 NumPy array (N, 32, 32, 3) and ``.targets`` a list of ints.
    The files are checked for their structure (not their MD5: hashing 160 MB on every construction
    buys nothing the structure check misses); ``download=True`` checks the archive's MD5.
    """

    base_folder = "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list = [
        ["data_batch_1", "c99cafc152244af753f735de768cd75f"],
        ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
        ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
        ["data_batch_4", "634d18415352ddfa80567beed471001a"],
        ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"],
    ]
    test_list = [["test_batch", "40351d587109b95175f43aff81a1287e"]]
    meta = {"filename": "batches.meta", "key": "label_names", "md5": "5ff9c542aee3614f3951f8cda6e48888"}

    def __init__(self, root: str | os.PathLike, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it. "
                               f"Expected the files {self._expected_files()}")
        batches = [self._load_batch(name) for name, _ in (self.train_list if train else self.test_list)]
        self.data: np.ndarray = np.vstack([d for d, _ in batches]).reshape(-1, 3, 32, 32).transpose((0, 2, 3, 1))
        self.targets: list[int] = [t for _, labels in batches for t in labels]
        self._load_meta()

    @property
    def folder(self) -> str:
        return os.path.join(self.root, self.base_folder)

    def _expected_files(self) -> list[str]:
        names = [n for n, _ in self.train_list + self.test_list] + [self.meta["filename"]]
        return [os.path.join(self.folder, n) for n in names]

    def _check_exists(self) -> bool:
        return all(os.path.isfile(p) for p in self._expected_files())

    def _read(self, name: str) -> dict[str, Any]:
        path = os.path.join(self.folder, name)
        try:
            return load_cifar_pickle(path)
        except UnsafePickleError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as e:
            raise RuntimeError(f"Dataset not found or corrupted: {path} is not a CIFAR pickle ({e})") from e

    def _load_batch(self, name: str) -> tuple[np.ndarray, list[int]]:
        entry = self._read(name)
        data = entry.get("data")
        labels = entry.get("labels", entry.get("fine_labels"))
        path = os.path.join(self.folder, name)
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
            raise RuntimeError(f"Dataset corrupted: {path} has no uint8 'data' array of shape (N, 3072)")
        if labels is None or len(labels) != len(data):
            raise RuntimeError(f"Dataset corrupted: {path} has no 'labels'/'fine_labels' list of {len(data)} ints")
        return data, [int(t) for t in labels]

    def _load_meta(self) -> None:
        names = self._read(self.meta["filename"]).get(self.meta["key"])
        if names is None:
            raise RuntimeError(f"Dataset metadata file corrupted: no {self.meta['key']!r} in "
                               f"{os.path.join(self.folder, self.meta['filename'])}")
        self.classes: list[str] = [_as_str(n) for n in names]
        self.class_to_idx: dict[str, int] = {c: i for i, c in enumerate(self.classes)}

    def download(self) -> None:
        """Fetch and extract the archive (skipped when the files or a good archive are already there)."""
        if self._check_exists():
            return
        try:
            archive = download_url(self.url, self.root, self.filename, self.tgz_md5)
        except OSError as e:  # URLError, timeouts, no route: no network here
            raise RuntimeError(
                f"Could not download {self.url} ({e}). Without network access, put {self.filename} "
                f"(or the folder {self.base_folder!r} extracted from it) in {self.root!r}") from e
        _extract_tar(archive, self.root)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img: Any = Image.fromarray(self.data[index])
        target: Any = self.targets[index]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


def _extract_tar(archive: str, root: str) -> None:
    """Extract with tarfile's "data" filter: no absolute paths, no escaping ``root``, no devices."""
    with tarfile.open(archive, "r:gz") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(root, filter="data")
            return
        # Pythons before 3.10.12 have no filters: allow only plain files and folders inside root.
        top = os.path.realpath(root)
        for member in tar.getmembers():
            target = os.path.realpath(os.path.join(top, member.name))
            if not (member.isfile() or member.isdir()) or os.path.commonpath([top, target]) != top:
                raise RuntimeError(f"{archive}: refusing to extract {member.name!r} outside {root!r}")
        tar.extractall(root)


class CIFAR100(CIFAR10):
    """CIFAR-100 (fine labels): the CIFAR-10 format with 100 classes."""

    base_folder = "cifar-100-python"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    filename = "cifar-100-python.tar.gz"
    tgz_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    train_list = [["train", "16019d7e3df5f24257cddd939b257f8d"]]
    test_list = [["test", "f0ef6b0ae62326f3e7ffdfd6b955f8aa"]]
    meta = {"filename": "meta", "key": "fine_label_names", "md5": "7973b15100ade9c7d40fb424638fde48"}
