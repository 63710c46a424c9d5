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
from ember.serialization.torch_format import TorchLoader, torch_prefix

__all__ = ["CheckpointError", "WeightsOnlyLoadError", "save", "load", "save_file", "load_file",
           "save_safetensors", "load_safetensors", "FORMAT_NAME", "FORMAT_VERSION", "add_safe_globals",
           "safe_globals", "get_safe_globals", "clear_safe_globals"]

_PICKLE_PROTOCOLS = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


def _refuse_non_zip(name: str, magic: bytes) -> CheckpointError:
    if magic[:2] in _PICKLE_PROTOCOLS:
        return CheckpointError(f"{name!r} is a bare pickle (PyTorch's legacy pre-1.6 format or a plain pickle file), "
                               "which ember.load does not read; re-save it with torch.save (zip format) or ember.save")
    return CheckpointError(f"{name!r} is not a checkpoint (not a zip archive: unknown format)")


def load(f: FileLike, map_location: MapLocation = None, pickle_module: Any = None, *,
         weights_only: bool = True, mmap: Any = None, max_bytes: int | float | None = None,
         **pickle_load_args: Any) -> Any:
    """Load a checkpoint written by ``ember.save`` or by ``torch.save`` (zip format).

    Args:
        f: a path or a binary file object.
        map_location: where tensors go: ``None`` (the device they were saved from), a device,
            a dict ``{'cuda:0': 'cpu'}``, or a callable ``(tensor, location) -> tensor or None``.
        weights_only: refuse pickled Python objects (the default, as in PyTorch 2.6+).
        max_bytes: the most bytes the load may read out of the archive and copy into tensors
            (counted in the stored dtypes). Default: twice the file's size, which every file
            holding its data plainly fits; raise it to load a file you trust whose entries are
            compressed or whose tensors must be materialised from overlapping strides.

    Raises:
        CheckpointError: the file is truncated, corrupted, foreign or unsafe (then nothing is
            returned), a device it names is unavailable, or it needs more than ``max_bytes``.

    Example:
        >>> import ember, io
        >>> buf = io.BytesIO(); ember.save([ember.zeros(1)], buf); _ = buf.seek(0)
        >>> ember.load(buf, map_location="cpu")
        [tensor([0.])]
    """
    name = name_of(f)
    with open_source(f) as (fh, size):
        if size == 0:
            raise CheckpointError(f"{name!r} is empty")
        magic = fh.read(4)
        fh.seek(0)
        if not magic.startswith(b"PK"):
            raise _refuse_non_zip(name, magic)
        budget = LoadBudget(name, size, max_bytes)
        with open_zip(fh, name) as zf:
            names = zf.namelist()
            if HEADER in names:
                return load_ember(zf, name, map_location, weights_only, budget)
            prefix = torch_prefix(names)
            if prefix is not None:
                return TorchLoader(zf, prefix, name, map_location, budget, trusted=not weights_only).load()
    raise CheckpointError(f"{name!r} is a zip archive but not an ember or PyTorch checkpoint (no "
                          f"{HEADER} or data.pkl; it may be truncated)")
