"""Bounds of small integer tensors copied to an accelerator, known on the host without a device read.

PyTorch's semantics need index and class-target checks (``Target 12 is out of bounds.``), and on
a device those checks read device data back: eagerly, one host read (``ember._device_checks``,
``ember.functions.indexing._index_range``). That read waits for every kernel queued before it, so
one per training step (a classifier's cross-entropy, a language model's embedding lookup) stops
the host from queueing the backward while the device still runs the forward: on PoCL an MLP step
took 2.6 ms with the read and 2.0 ms without it, and a GPU loses more.

The values of such a tensor were on the host a moment before, when the batch was copied to the
device (``y.to(device)``, ``ember.tensor(labels, device=...)``). ``remember`` records their
minimum and maximum then, for integer tensors of up to ``MAX_ELEMENTS`` elements (class targets,
token ids; a few microseconds on the host). The record is tied to the tensor's array and version
counter, so any in-place write (which bumps the counter, as autograd requires) or a ``.data``
swap retires it, and the check reads the device again; a DLPack export drops the records of the
tensor and its base (the other framework writes without that counter). Views inherit the record
as bounds (a view's values are a subset of its base's), copies (``clone``, a reshape that copies)
as is.

A check whose bounds are known and in range skips its device read; a known bound out of range
(or no record) takes the device read, so the error still names the offending value. Exact
``(min, max)`` users (``bincount``'s length, a sparse tensor's size) accept only exact records.
``ember.compile`` never consults the records while it captures: a captured check repeats on
every replay, with the replay's values.

Example:
    >>> import ember
    >>> from ember import _value_range
    >>> t = ember.tensor([3, 1, 2])
    >>> _value_range.remember(t, t.numpy())
    >>> _value_range.bounds(t)
    (1, 3)
    >>> _value_range.within(t, 0, 4), _value_range.within(t, 0, 3), _value_range.within(t, 0, 3, skip=3)
    (True, False, True)
    >>> _ = t.add_(1)  # an in-place write retires the record
    >>> _value_range.bounds(t) is None
    True
"""

from __future__ import annotations

from typing import Any

from ember import _device_checks as _checks

#: integer tensors up to this many elements get a record when copied to a device (larger ones are
#: rarely indices, and scanning them on the host would cost the transfer a second pass)
MAX_ELEMENTS = 1 << 16

# The record is the Tensor attribute ``_bounds_record`` (class default None, so tensors without one
# pay no instance dict): (array, version list, version, lo, hi, exact, inner). ``inner`` bounds the
# values strictly between lo and hi ((min, max), or None when there are none), so that a target
# padded with an ignore_index (-100 after the classes, or 255 in segmentation masks) is still
# known to be in range apart from it.


def remember(t: Any, host: Any) -> None:
    """Record the bounds of ``host`` (a NumPy array holding exactly ``t``'s values) on ``t``."""
    if host.size == 0 or host.size > MAX_ELEMENTS or host.dtype.kind not in "iu":
        return
    flat = host.reshape(-1)  # 0-d too (a BatchNorm's num_batches_tracked)
    lo, hi = int(flat.min()), int(flat.max())
    between = flat[(flat > lo) & (flat < hi)] if hi - lo > 1 else flat[:0]
    inner = (int(between.min()), int(between.max())) if between.size else None
    t._bounds_record = (t._data, t._version, t._version[0], lo, hi, True, inner)


def _valid(t: Any) -> tuple | None:
    rec = t._bounds_record
    if rec is None or _checks.HOOK[0] is not None:  # capturing: a replay must check its own values
        return None
    if rec[0] is t._data and rec[1] is t._version and rec[2] == t._version[0]:
        return rec
    t._bounds_record = None  # retired: written in place, or its array replaced
    return None


def bounds(t: Any) -> tuple[int, int] | None:
    """(lo, hi) with every value of ``t`` in [lo, hi], when known on the host; else None."""
    rec = _valid(t)
    return None if rec is None else (rec[3], rec[4])


def exact(t: Any) -> tuple[int, int] | None:
    """(min, max) of ``t``'s values, when known exactly on the host; else None."""
    rec = _valid(t)
    return None if rec is None or not rec[5] else (rec[3], rec[4])


def within(t: Any, low: int, high: int, skip: int | None = None) -> bool:
    """True when every value of ``t`` (other than ``skip``, a loss's ignore_index) is known to lie in
    [low, high); False when unknown, or not."""
    rec = _valid(t)
    if rec is None:
        return False
    lo, hi, inner = rec[3], rec[4], rec[6]
    if not (low <= lo < high or lo == skip) or not (low <= hi < high or hi == skip):
        return False
    return inner is None or (low <= inner[0] and inner[1] < high)


def inherit(out: Any, src: Any, *, is_copy: bool) -> None:
    """``out`` holds ``src``'s values (``is_copy``: all of them, else a subset: a view) in ``src``'s
    dtype: it gets ``src``'s record, as bounds unless it is a full copy of an exact record."""
    rec = _valid(src)
    if rec is not None and out._dtype is src._dtype:
        out._bounds_record = (out._data, out._version, out._version[0], rec[3], rec[4], rec[5] and is_copy, rec[6])


def forget(t: Any) -> None:
    """Drop the records of ``t`` and of its base: their memory is being shared with code that
    writes it without bumping ember's version counter (a DLPack export)."""
    for holder in (t, t._base):
        if holder is not None:
            holder._bounds_record = None
