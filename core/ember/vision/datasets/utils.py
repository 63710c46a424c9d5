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

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence

__all__ = ["calculate_md5", "check_md5", "check_integrity", "download_url", "download_from_mirrors"]

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
