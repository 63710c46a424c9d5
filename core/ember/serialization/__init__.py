"""Checkpoints: ``ember.save`` / ``ember.load``, PyTorch ``.pt`` import, and safetensors.

One module per format: :mod:`~ember.serialization.ember_format` (ember's own zip of a JSON header
and raw blobs; loading it runs no code), :mod:`~ember.serialization.torch_format` (PyTorch's zip
checkpoints, through a restricted unpickler) and :mod:`~ember.serialization.safetensors_format`;
``_shared`` holds the errors, atomic writes, bounded reads and load limits (docs/checkpoints.md).

Any damaged, truncated or foreign file raises :class:`CheckpointError` naming the file, and
nothing is half-loaded; ``load`` allocates at most ``max_bytes`` (default: twice the file's size)
for the data it reads and copies, so a small file cannot make it allocate gigabytes.

Example:
    >>> import ember, io
    >>> buf = io.BytesIO()
    >>> ember.save({"w": ember.ones(2), "epoch": 3}, buf)
    >>> _ = buf.seek(0)
    >>> ember.load(buf)
    {'w': tensor([1., 1.]), 'epoch': 3}
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from ember.serialization._safe_globals import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals
from ember.serialization._shared import (
    CheckpointError,
    FileLike,
    LoadBudget,
    MapLocation,
    WeightsOnlyLoadError,
    name_of,
    open_source,
    open_zip,
)
from ember.serialization.ember_format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    HEADER,
    _host_array,  # noqa: F401 - kept importable from here
    _rebuild_tensor_pickle,  # noqa: F401 - Tensor.__reduce_ex__ names it
    load_ember,
    save,
)
from ember.serialization.safetensors_format import load_file, load_safetensors, save_file, save_safetensors
from ember.serialization.torch_format import LegacyLoader, TorchLoader, torch_prefix

__all__ = ["CheckpointError", "WeightsOnlyLoadError", "save", "load", "save_file", "load_file",
           "save_safetensors", "load_safetensors", "FORMAT_NAME", "FORMAT_VERSION", "add_safe_globals",
           "safe_globals", "get_safe_globals", "clear_safe_globals"]

#: The keyword arguments ``pickle.Unpickler`` takes (``load``'s ``pickle_load_args``)
_UNPICKLER_ARGS = ("encoding", "errors", "fix_imports", "buffers")

#: How a pickle starts: PROTO 2..5, or protocol 0/1's text LONG (PyTorch's legacy files begin with a pickled int).
_PICKLE_STARTS = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05", b"L")
def _refuse_non_zip(name: str) -> CheckpointError:
    return CheckpointError(f"{name!r} is not a checkpoint (not a zip archive or a PyTorch legacy file: unknown format)")


def _is_tar(fh: Any) -> bool:
    head = fh.read(262)
    fh.seek(0)
    return head[257:262] == b"ustar"


def load(f: FileLike, map_location: MapLocation = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None, max_bytes: int | float | None = None,
         **pickle_load_args: Any) -> Any:
    """Load a checkpoint written by ``ember.save`` or by ``torch.save`` (zip or legacy format).

    Args:
        f: a path or a binary file object.
        map_location: where tensors go: ``None`` (the device they were saved from), a device,
            a dict ``{'cuda:0': 'cpu'}``, or a callable ``(storage, location) -> tensor or None``.
        pickle_module: as in PyTorch: passing one makes ``weights_only`` default to False, and is an
            error with ``weights_only=True``; ember unpickles with its own unpickler either way.
        weights_only: refuse pickled Python objects other than tensors and plain containers (the
            default, as in PyTorch 2.6+, unless ``pickle_module`` is given).
        mmap: as in PyTorch, only for zip checkpoints given by path (ember reads them in bounded
            chunks either way).
        max_bytes: the most bytes the load may read out of the archive and copy into tensors
            (counted in the stored dtypes). Default: twice the file's size, which every file
            holding its data plainly fits; raise it to load a file you trust whose entries are
            compressed.
        pickle_load_args: ``encoding`` (default ``'utf-8'``) for str objects pickled by Python 2.

    Raises:
        CheckpointError: the file is truncated, corrupted, foreign or unsafe (then nothing is
            returned), a device it names is unavailable, or it needs more than ``max_bytes``.

    Example:
        >>> import ember, io
        >>> buf = io.BytesIO(); ember.save([ember.zeros(1)], buf); _ = buf.seek(0)
        >>> ember.load(buf, map_location="cpu")
        [tensor([0.])]
    """
    if weights_only is None:
        weights_only = pickle_module is None
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    if pickle_load_args and weights_only:
        warnings.warn("pickle_load_args only works if `weights_only=False`.", stacklevel=2)
    for key in pickle_load_args:  # they go to the unpickler, which takes only these (PyTorch's TypeErrors)
        if key not in _UNPICKLER_ARGS:
            raise TypeError(f"Unpickler.__init__() got an unexpected keyword argument '{key}'" if weights_only
                            else f"'{key}' is an invalid keyword argument for Unpickler()")
    encoding = pickle_load_args.get("encoding", "utf-8")
    name = name_of(f)
    is_path = isinstance(f, (str, os.PathLike))
    start = None if is_path else f.tell() if hasattr(f, "tell") else None
    with open_source(f) as (fh, size):
        if size == 0:
            raise CheckpointError(f"{name!r} is empty")
        magic = fh.read(4)
        fh.seek(0)
        budget = LoadBudget(name, size, max_bytes)
        if magic.startswith(b"PK"):
            if mmap and not is_path:
                raise ValueError("f must be a file path in order to use the mmap argument")
            with open_zip(fh, name) as zf:
                names = zf.namelist()
                if HEADER in names:
                    return load_ember(zf, name, map_location, weights_only, budget)
                prefix = torch_prefix(names)
                if prefix is not None:
                    return TorchLoader(zf, prefix, name, map_location, budget, trusted=not weights_only,
                                       encoding=encoding).load()
            raise CheckpointError(f"{name!r} is a zip archive but not an ember or PyTorch checkpoint (no "
                                  f"{HEADER} or data.pkl; it may be truncated)")
        if mmap:
            f_name = f"{f}, " if isinstance(f, str) else ""
            raise RuntimeError("mmap can only be used with files saved with "
                               f"`torch.save({f_name}_use_new_zipfile_serialization=True), "
                               "please torch.save your checkpoint with this option in order to use mmap.")
        if _is_tar(fh):  # PyTorch before 0.4 (its pickle names the tensor classes, and needs their code)
            raise CheckpointError(f"{name!r}: Cannot use ``weights_only=True`` with files saved in the legacy .tar "
                                  "format (PyTorch before 0.4), and ember does not read that format at all; load "
                                  "and re-save it with PyTorch.")
        if magic.startswith(_PICKLE_STARTS):
            out = LegacyLoader(fh, name, map_location, budget, trusted=not weights_only, encoding=encoding).load()
            if start is not None:  # as PyTorch leaves it: after this checkpoint (another may follow it)
                f.seek(start + fh.tell())
            return out
    raise _refuse_non_zip(name)
