"""What the three checkpoint formats share: errors, atomic writes, bounded reads, load limits.

Limits (see docs/checkpoints.md): ``load`` never allocates more tensor data than the file's own
size justifies, unless the caller raises ``max_bytes``. Every zip entry's size is taken from the
central directory and checked (against what the metadata implies and against the budget)
*before* anything is inflated, and entries are read in bounded chunks.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import re
import secrets
import stat
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import IO, Any, Union

import numpy as np

FileLike = Union[str, "os.PathLike[str]", IO[bytes]]
MapLocation = Union[None, str, Any, dict, Callable]

#: ``load``'s default budget is this many times the file's size (a stored tensor may be read once
#: and copied once, to its device); ``max_bytes`` replaces it.
DEFAULT_BUDGET_FACTOR = 2
#: Zip entries are inflated in chunks of this size.
READ_CHUNK = 1 << 20
#: A temp file of ours whose process is gone is removed once it is this old (seconds)...
STALE_TMP_AGE = 60.0
#: ... and any temp file of ours once it is this old, whatever its pid says (pids get reused).
STALE_TMP_MAX_AGE = 24 * 3600.0


class CheckpointError(RuntimeError):
    """A checkpoint file is damaged, truncated, foreign, unsafe, or cannot be placed on a device."""


class WeightsOnlyLoadError(CheckpointError, pickle.UnpicklingError):
    """``load(weights_only=True)`` met a pickled payload or a disallowed global (PyTorch raises UnpicklingError)."""


#: PyTorch's message for refusing to run a file's pickle (``torch.serialization.UNSAFE_MESSAGE``).
UNSAFE_MESSAGE = (
    "In PyTorch 2.6, we changed the default value of the `weights_only` argument in `torch.load` from `False` to "
    "`True`. Re-running `torch.load` with `weights_only` set to `False` will likely succeed, but it can result in "
    "arbitrary code execution. Do it only if you got the file from a trusted source.")


#: Modules whose globals a weights-only load refuses even when marked safe (PyTorch's blocklist).
_BLOCKED_MODULES = ("sys", "os", "posix", "nt")


def disallowed_global(name: str, qualname: str) -> WeightsOnlyLoadError:
    """``load(weights_only=True)`` met a global it may not call: PyTorch's message (naming the global
    as PyTorch does, ``builtins.`` dropped), then a line naming the file."""
    tail = (f"\nWeights only load failed: {name!r} references the disallowed global {qualname} (allow it with "
            "safe_globals / add_safe_globals as above).")
    docs = ("\n\nCheck the documentation of torch.load to learn more about types accepted by default with "
            "weights_only https://pytorch.org/docs/stable/generated/torch.load.html.")
    if " " in qualname:  # not a global: a BUILD (setting an object's state) that is not allowed
        return WeightsOnlyLoadError(f"Weights only load failed. {UNSAFE_MESSAGE}{tail}")
    module = qualname.rsplit(".", 1)[0] if "." in qualname else qualname
    if module in _BLOCKED_MODULES:
        return WeightsOnlyLoadError(f"Weights only load failed. {UNSAFE_MESSAGE}\n\n\nTrying to load unsupported "
                                    f"GLOBAL {qualname} whose module {module} is blocked.{docs}{tail}")
    full = qualname[len("builtins."):] if qualname.startswith("builtins.") else qualname
    return WeightsOnlyLoadError(
        "Weights only load failed. This file can still be loaded, to do so you have two options, \033[1mdo those "
        "steps only if you trust the source of the checkpoint\033[0m. \n\t(1) " + UNSAFE_MESSAGE + "\n\t(2) "
        "Alternatively, to load with `weights_only=True` please check the recommended steps in the following error "
        f"message.\n\tWeightsUnpickler error: Unsupported global: GLOBAL {full} was not an allowed global by default. "
        f"Please use `torch.serialization.add_safe_globals([{full}])` or the `torch.serialization.safe_globals("
        f"[{full}])` context manager to allowlist this global if you trust this class/function.\n\nCheck the "
        "documentation of torch.load to learn more about types accepted by default with weights_only "
        "https://pytorch.org/docs/stable/generated/torch.load.html."
        + tail)


def name_of(f: Any) -> str:
    """The name used in error messages: the path, or the file object's ``name``."""
    if isinstance(f, (str, os.PathLike)):
        return os.fspath(f)
    return str(getattr(f, "name", f"<{type(f).__name__}>"))


def c_order(a: Any, dtype: Any = None) -> np.ndarray:
    """``a`` as a C-contiguous array (keeping 0-d shapes, unlike ``np.ascontiguousarray``)."""
    a = np.asarray(a, dtype=dtype)
    return a if a.flags.c_contiguous else np.array(a, order="C", copy=True)


# ---- atomic writes ------------------------------------------------------------------------------
def _tmp_pattern(base: str) -> re.Pattern[str]:
    return re.compile(r"\." + re.escape(base) + r"\.(\d+)-[0-9a-f]{8}\.tmp")


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there: rely on the age alone
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # someone else's process, or we cannot tell: keep its file
    return True


def remove_stale_temps(directory: str, base: str) -> None:
    """Delete temp files of our naming pattern for ``base`` left by a save that was killed.

    A file goes when its writer's pid is no live process here and it has not been written for
    ``STALE_TMP_AGE`` seconds (a live writer on another host keeps its file fresh), or when it is
    older than ``STALE_TMP_MAX_AGE`` whatever the pid says.
    """
    pattern = _tmp_pattern(base)
    now = time.time()
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            m = pattern.fullmatch(entry.name)
            if m is None:
                continue
            with contextlib.suppress(OSError):
                age = now - entry.stat(follow_symlinks=False).st_mtime
                if age > STALE_TMP_MAX_AGE or (age > STALE_TMP_AGE and not _pid_alive(int(m.group(1)))):
                    os.unlink(entry.path)


def _create_temp(directory: str, base: str) -> tuple[int, str]:
    # 0o666: the kernel applies the umask (and default ACLs), as open(path, "wb") would.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = os.path.join(directory, f".{base}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


def _keep_mode_of(existing: os.stat_result, fd: int, tmp: str) -> None:
    """Give the temp file the mode (and, where allowed, the owner) of the file it replaces."""
    mode = stat.S_IMODE(existing.st_mode)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:  # Windows before 3.13
        os.chmod(tmp, mode)
    if hasattr(os, "fchown"):
        with contextlib.suppress(OSError):  # only root may give a file away; then the owner stays ours
            os.fchown(fd, existing.st_uid, existing.st_gid)


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[IO[bytes]]:
    """Yield a temp file next to ``path``'s target; on success fsync it and rename it over the target.

    As ``open(path, "wb")`` would: a symlink is followed (the link stays, its target is replaced),
    a new file gets ``0o666 & ~umask``, an existing file keeps its mode. Unlike ``open``, the old
    content survives any failure, and a hard link to the old file keeps the old content.
    """
    target = os.path.realpath(path)
    directory, base = os.path.split(target)
    remove_stale_temps(directory, base)
    fd, tmp = _create_temp(directory, base)
    try:
        with contextlib.suppress(FileNotFoundError):
            _keep_mode_of(os.stat(target), fd, tmp)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


# ---- reading ------------------------------------------------------------------------------------
def check_seekable(f: Any) -> None:
    """PyTorch's rule and words: a file object must seek (``torch.load`` seeks back after sniffing)."""
    try:
        f.seek(f.tell())
    except (io.UnsupportedOperation, AttributeError) as exc:
        if "seek" in str(exc) or "tell" in str(exc):
            raise type(exc)(f"{exc}. You can only torch.load from a file that is seekable. Please pre-load the "
                            "data into a buffer like io.BytesIO and try to load from it instead.") from None
        raise


@contextlib.contextmanager
def open_source(f: FileLike) -> Iterator[tuple[IO[bytes], int]]:
    """The checkpoint as a seekable binary handle and its size in bytes.

    A path is opened, not read whole: zip entries are then read one at a time, in chunks.
    """
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:  # its OSError (missing, a directory, no permission) as PyTorch raises it
            yield fh, os.fstat(fh.fileno()).st_size
        return
    check_seekable(f)
    data = f.read()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"ember.load expects a path or a binary file object, got a {type(f).__name__} "
                        "that returned text; open the file with 'rb'")
    yield io.BytesIO(data), len(data)


class LoadBudget:
    """Counts the bytes a load inflates or materialises, and refuses past its limit."""

    def __init__(self, name: str, file_size: int, max_bytes: int | float | None) -> None:
        if max_bytes is not None and not (isinstance(max_bytes, (int, float)) and max_bytes >= 0):
            raise TypeError(f"max_bytes must be a non-negative number or None, got {max_bytes!r}")
        self.name = name
        self.limit = DEFAULT_BUDGET_FACTOR * file_size if max_bytes is None else max_bytes
        self.used = 0

    def charge(self, nbytes: int, what: str) -> None:
        self.used += nbytes
        if self.used > self.limit:
            raise CheckpointError(
                f"{self.name!r}: {what} needs {nbytes} bytes, which brings this load to {self.used} bytes, past its "
                f"limit of {self.limit} bytes ({DEFAULT_BUDGET_FACTOR}x the file's size unless max_bytes is given). "
                "The file's declared sizes promise more data than it holds (a compressed or overlapping entry, or "
                "a tensor that must be materialised). If you trust the file, pass a larger max_bytes to ember.load.")


def open_zip(fh: IO[bytes], name: str) -> zipfile.ZipFile:
    """A ``ZipFile`` over ``fh``; any failure to parse the central directory is a CheckpointError."""
    try:
        zf = zipfile.ZipFile(fh)
        zf.namelist()
    except Exception as exc:  # noqa: BLE001 - zipfile raises many kinds for damaged archives
        raise CheckpointError(f"{name!r} is truncated or corrupted (bad zip archive: {type(exc).__name__}: "
                              f"{exc})") from exc
    return zf


def read_member(zf: zipfile.ZipFile, name: str, member: Any, *, expected: int | None,
                budget: LoadBudget) -> bytearray:
    """Entry ``member`` of the archive, its declared size checked before a byte is inflated.

    ``expected`` is the size the metadata implies (None: unknown); the declared size is charged to
    ``budget`` first, and the entry is then read in ``READ_CHUNK`` pieces into one buffer.
    """
    if not isinstance(member, str):
        raise CheckpointError(f"{name!r} is not a valid checkpoint: a data entry names no file")
    try:
        info = zf.getinfo(member)
    except KeyError as exc:
        raise CheckpointError(f"{name!r} is truncated or corrupted: missing entry {member!r}") from exc
    size = info.file_size
    if expected is not None and size != expected:
        raise CheckpointError(f"{name!r} is corrupted: entry {member!r} declares {size} bytes, expected {expected} "
                              "(truncated, or its metadata is damaged)")
    budget.charge(size, f"entry {member!r}")
    buf = bytearray(size)
    view = memoryview(buf)
    pos = 0
    try:
        with zf.open(info) as src:
            while pos < size:
                chunk = src.read(min(READ_CHUNK, size - pos))
                if not chunk:
                    break
                view[pos:pos + len(chunk)] = chunk
                pos += len(chunk)
            src.read(1)  # reach the end, where zipfile checks the CRC
    except Exception as exc:  # noqa: BLE001 - BadZipFile, zlib.error, NotImplementedError (method), RuntimeError
        raise CheckpointError(f"{name!r} is corrupted: entry {member!r} failed to read "
                              f"({type(exc).__name__}: {exc})") from exc
    if pos != size:
        raise CheckpointError(f"{name!r} is corrupted: entry {member!r} holds {pos} bytes, declares {size}")
    return buf
