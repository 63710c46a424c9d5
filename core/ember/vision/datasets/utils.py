"""Download and integrity helpers for datasets (MD5 checks, atomic downloads, mirrors).

Example:
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "f")
    >>> with open(p, "wb") as f:
    ...     _ = f.write(b"abc")
    >>> calculate_md5(p)
    '900150983cd24fb0d6963f7d28e17f72'
    >>> check_integrity(p, "900150983cd24fb0d6963f7d28e17f72")
    True
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import pathlib
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable, Sequence
from typing import IO, TypeVar

__all__ = ["calculate_md5", "check_md5", "check_integrity", "download_url", "download_from_mirrors",
           "download_and_extract_archive", "download_file_from_google_drive", "extract_archive",
           "iterable_to_str", "list_dir", "list_files", "verify_str_arg"]

_USER_AGENT = "ember-vision"


def calculate_md5(fpath: str | os.PathLike, chunk_size: int = 1024 * 1024) -> str:
    """The hex MD5 digest of a file, read in chunks."""
    md5 = hashlib.md5(usedforsecurity=False)
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            md5.update(chunk)
    return md5.hexdigest()


def check_md5(fpath: str | os.PathLike, md5: str) -> bool:
    return md5 == calculate_md5(fpath)


def check_integrity(fpath: str | os.PathLike, md5: str | None = None) -> bool:
    """True when the file exists and (if ``md5`` is given) has that digest."""
    if not os.path.isfile(fpath):
        return False
    return True if md5 is None else check_md5(fpath, md5)


def download_url(url: str, root: str | os.PathLike, filename: str | None = None, md5: str | None = None,
                 timeout: float = 60.0) -> str:
    """Download ``url`` to ``root/filename`` unless a file with the right MD5 is already there.

    The data goes to a temporary file in ``root`` that is renamed into place only after the
    MD5 matches, so an interrupted or corrupt download never leaves a file that looks valid.
    Raises ``RuntimeError`` on an MD5 mismatch and ``OSError``/``URLError`` on network errors.
    """
    root = os.path.expanduser(os.fspath(root))
    filename = filename or os.path.basename(url)
    fpath = os.path.join(root, filename)
    os.makedirs(root, exist_ok=True)
    if check_integrity(fpath, md5):
        return fpath
    fd, tmp = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=root)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
            for chunk in iter(lambda: response.read(1024 * 1024), b""):
                out.write(chunk)
        if md5 is not None:
            got = calculate_md5(tmp)
            if got != md5:
                raise RuntimeError(f"MD5 mismatch for {url}: expected {md5}, got {got}; the download is corrupt")
        os.replace(tmp, fpath)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return fpath


def download_from_mirrors(mirrors: Sequence[str], filename: str, root: str | os.PathLike,
                          md5: str | None = None) -> str:
    """Try ``mirror + filename`` for each mirror in turn; raise ``RuntimeError`` if all fail."""
    errors = []
    for mirror in mirrors:
        url = f"{mirror}{filename}"
        try:
            return download_url(url, root, filename, md5)
        except (urllib.error.URLError, OSError, RuntimeError) as e:
            errors.append(f"{url}: {e}")
    raise RuntimeError(f"Error downloading {filename}:\n" + "\n".join(errors))


def download_file_from_google_drive(file_id: str, root: str | os.PathLike, filename: str | None = None,
                                    md5: str | None = None) -> None:
    """Google Drive downloads need ``gdown``, as in torchvision; ember has no such client, so this
    raises torchvision's ``RuntimeError`` unless the file is already in ``root`` with the right MD5."""
    fpath = os.path.join(os.path.expanduser(os.fspath(root)), os.fspath(filename or file_id))
    if check_integrity(fpath, md5):
        return
    try:
        import gdown  # noqa: F401
    except ModuleNotFoundError:
        raise RuntimeError("To download files from GDrive, 'gdown' is required. "
                           "You can install it with 'pip install gdown'.") from None
    raise RuntimeError(f"Google Drive downloads are not supported by ember; put {fpath} there by hand")


def list_dir(root: str | os.PathLike, prefix: bool = False) -> list[str]:
    """The folders directly under ``root`` (with ``root`` prepended when ``prefix``)."""
    root = os.path.expanduser(os.fspath(root))
    names = [p for p in os.listdir(root) if os.path.isdir(os.path.join(root, p))]
    return [os.path.join(root, d) for d in names] if prefix else names


def list_files(root: str | os.PathLike, suffix: str | tuple[str, ...], prefix: bool = False) -> list[str]:
    """The files directly under ``root`` whose names end with ``suffix``."""
    root = os.path.expanduser(os.fspath(root))
    names = [p for p in os.listdir(root) if os.path.isfile(os.path.join(root, p)) and p.endswith(suffix)]
    return [os.path.join(root, d) for d in names] if prefix else names


def _safe_members_check(names: Iterable[str], to_path: str, archive: str) -> None:
    top = os.path.realpath(to_path)
    for name in names:
        target = os.path.realpath(os.path.join(top, name))
        if os.path.commonpath([top, target]) != top:
            raise RuntimeError(f"{archive}: refusing to extract {name!r} outside {to_path!r}")


def _extract_tar(from_path: str, to_path: str, compression: str | None) -> None:
    with tarfile.open(from_path, f"r:{compression[1:]}" if compression else "r") as tar:
        if hasattr(tarfile, "data_filter"):  # no absolute paths, no escaping to_path, no devices
            tar.extractall(to_path, filter="data")
            return
        _safe_members_check(tar.getnames(), to_path, from_path)
        tar.extractall(to_path)


_ZIP_COMPRESSION = {".bz2": zipfile.ZIP_BZIP2, ".xz": zipfile.ZIP_LZMA}


def _extract_zip(from_path: str, to_path: str, compression: str | None) -> None:
    mode = _ZIP_COMPRESSION[compression] if compression else zipfile.ZIP_STORED
    with zipfile.ZipFile(from_path, "r", compression=mode) as zf:
        _safe_members_check(zf.namelist(), to_path, from_path)
        zf.extractall(to_path)


_ARCHIVE_EXTRACTORS: dict[str, Callable[[str, str, str | None], None]] = {".tar": _extract_tar, ".zip": _extract_zip}
_COMPRESSED_FILE_OPENERS: dict[str, Callable[..., IO]] = {".bz2": bz2.open, ".gz": gzip.open, ".xz": lzma.open}
_FILE_TYPE_ALIASES: dict[str, tuple[str | None, str | None]] = {
    ".tbz": (".tar", ".bz2"), ".tbz2": (".tar", ".bz2"), ".tgz": (".tar", ".gz"),
}


def _detect_file_type(file: str | os.PathLike) -> tuple[str, str | None, str | None]:
    """``(suffix, archive type, compression)`` from the file name, as torchvision reads it."""
    suffixes = pathlib.Path(file).suffixes
    if not suffixes:
        raise RuntimeError(f"File '{file}' has no suffixes that could be used to detect the archive type and "
                           "compression.")
    suffix = suffixes[-1]
    if suffix in _FILE_TYPE_ALIASES:
        return (suffix, *_FILE_TYPE_ALIASES[suffix])
    if suffix in _ARCHIVE_EXTRACTORS:
        return suffix, suffix, None
    if suffix in _COMPRESSED_FILE_OPENERS:
        if len(suffixes) > 1 and suffixes[-2] in _ARCHIVE_EXTRACTORS:
            return suffixes[-2] + suffix, suffixes[-2], suffix
        return suffix, None, suffix
    valid = sorted(set(_FILE_TYPE_ALIASES) | set(_ARCHIVE_EXTRACTORS) | set(_COMPRESSED_FILE_OPENERS))
    raise RuntimeError(f"Unknown compression or archive type: '{suffix}'.\nKnown suffixes are: '{valid}'.")


def _decompress(from_path: str | os.PathLike, to_path: str | os.PathLike | None = None,
                remove_finished: bool = False) -> pathlib.Path:
    suffix, archive_type, compression = _detect_file_type(from_path)
    if not compression:
        raise RuntimeError(f"Couldn't detect a compression from suffix {suffix}.")
    if to_path is None:
        to_path = pathlib.Path(os.fspath(from_path).replace(suffix, archive_type or ""))
    with _COMPRESSED_FILE_OPENERS[compression](from_path, "rb") as src, open(to_path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    if remove_finished:
        os.remove(from_path)
    return pathlib.Path(to_path)


def extract_archive(from_path: str | os.PathLike, to_path: str | os.PathLike | None = None,
                    remove_finished: bool = False) -> str | pathlib.Path:
    """Extract a ``.tar[.gz|.bz2|.xz]``/``.tgz``/``.zip`` archive, or decompress a ``.gz``/``.bz2``/``.xz`` file.

    The type comes from the file name. Returns the folder extracted to (a ``str`` when ``from_path``
    is one). Members that would land outside ``to_path`` are refused.

    Example:
        >>> import gzip, os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> with gzip.open(os.path.join(d, "a.txt.gz"), "wb") as f:
        ...     _ = f.write(b"hi")
        >>> open(extract_archive(os.path.join(d, "a.txt.gz")), "rb").read()
        b'hi'
    """
    if to_path is None:
        to_path = os.path.dirname(from_path)
    suffix, archive_type, compression = _detect_file_type(from_path)
    if not archive_type:
        out = _decompress(from_path, os.path.join(to_path, os.path.basename(from_path).replace(suffix, "")),
                          remove_finished=remove_finished)
    else:
        _ARCHIVE_EXTRACTORS[archive_type](os.fspath(from_path), os.fspath(to_path), compression)
        if remove_finished:
            os.remove(from_path)
        out = pathlib.Path(to_path)
    return os.fspath(out) if isinstance(from_path, str) else out


def download_and_extract_archive(url: str, download_root: str | os.PathLike,
                                 extract_root: str | os.PathLike | None = None, filename: str | None = None,
                                 md5: str | None = None, remove_finished: bool = False) -> None:
    """:func:`download_url` then :func:`extract_archive` into ``extract_root`` (default: ``download_root``)."""
    download_root = os.path.expanduser(os.fspath(download_root))
    extract_root = download_root if extract_root is None else extract_root
    filename = filename or os.path.basename(url)
    download_url(url, download_root, filename, md5)
    extract_archive(os.path.join(download_root, filename), extract_root, remove_finished)


def iterable_to_str(iterable: Iterable) -> str:
    return "'" + "', '".join(str(item) for item in iterable) + "'"


T = TypeVar("T", str, bytes)


def verify_str_arg(value: T, arg: str | None = None, valid_values: Iterable[T] | None = None,
                   custom_msg: str | None = None) -> T:
    """Check that ``value`` is a ``str`` (and one of ``valid_values``), raising torchvision's ``ValueError``.

    Example:
        >>> verify_str_arg("train", "split", ("train", "test"))
        'train'
        >>> try:
        ...     verify_str_arg("val", "split", ("train", "test"))
        ... except ValueError as e:
        ...     print(e)
        Unknown value 'val' for argument split. Valid values are {'train', 'test'}.
    """
    if not isinstance(value, str):
        where = "" if arg is None else f" for argument {arg}"
        raise ValueError(f"Expected type str{where}, but got type {type(value)}.")
    if valid_values is None:
        return value
    if value not in valid_values:
        if custom_msg is not None:
            raise ValueError(custom_msg)
        raise ValueError(f"Unknown value '{value}' for argument {arg}. "
                         f"Valid values are {{{iterable_to_str(valid_values)}}}.")
    return value


def _not_found() -> RuntimeError:
    """torchvision's error for a dataset that is not on disk (the same words, so callers can match them)."""
    return RuntimeError("Dataset not found or corrupted. You can use download=True to download it")
