"""Variable-length sequences (``torch.nn.utils.rnn``): ``PackedSequence``, ``pack_padded_sequence``,
``pad_packed_sequence``, ``pack_sequence``, ``pad_sequence``, ``unpad_sequence``, ``unpack_sequence``.

A ``PackedSequence`` holds the time steps of a batch of sequences sorted by decreasing length, one
step after the other: ``data`` is ``(sum(lengths), *)`` and ``batch_sizes[t]`` (a CPU int64 tensor)
is how many sequences are longer than ``t``. Packing and padding are each one ``index_select`` (with
a gradient), so they run on the data's device. ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` accept one and
stop each sequence at its own length (the reverse direction starts at each sequence's last step).

Example:
    >>> import ember
    >>> from ember.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence
    >>> pad_sequence([ember.ones(2), ember.ones(3)], batch_first=True)
    tensor([[1., 1., 0.],
            [1., 1., 1.]])
    >>> x = ember.tensor([[1, 2, 3], [4, 5, 0]])
    >>> packed = pack_padded_sequence(x, [3, 2], batch_first=True)
    >>> packed.data, packed.batch_sizes
    (tensor([1, 4, 2, 5, 3]), tensor([2, 2, 1]))
    >>> pad_packed_sequence(packed, batch_first=True)
    (tensor([[1, 2, 3],
            [4, 5, 0]]), tensor([3, 2]))
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ember import dtypes as _dt
from ember.functions import creation as _c
from ember.functions import shape as _s
from ember.tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence"]

_SCALAR_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
                 "float64": "Double", "float32": "Float", "float16": "Half", "bfloat16": "BFloat16"}


def _scalar_name(dtype: Any) -> str:
    name = str(dtype).rsplit(".", 1)[-1]
    return _SCALAR_NAMES.get(name, name)


def _host(t: Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _index(a: np.ndarray, device: Any) -> Tensor:
    return _c.tensor(np.ascontiguousarray(a, dtype=np.int64), dtype=_dt.int64, device=device)


def _lengths_from_batch_sizes(batch_sizes: np.ndarray) -> np.ndarray:
    """Sorted lengths (B,) from batch_sizes (T,): sequence b is longer than t iff b < batch_sizes[t]."""
    return (np.arange(int(batch_sizes[0]))[:, None] < batch_sizes[None, :]).sum(1).astype(np.int64)


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    if permutation is None:
        return None
    perm = _host(permutation)
    out = np.empty_like(perm)
    out[perm] = np.arange(perm.size)
    return _index(out, permutation.device)


_PackedSequenceBase = namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


class PackedSequence(_PackedSequenceBase):
    """The packed form of a batch of variable-length sequences (build it with
    :func:`pack_padded_sequence` or :func:`pack_sequence`, not by hand)."""

    def __new__(cls, data: Any, batch_sizes: Tensor | None = None, sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> PackedSequence:
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes), sorted_indices=...)
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        if batch_sizes.device.type != "cpu":
            raise ValueError("batch_sizes should always be on CPU. Instances of PackedSequence should never be "
                             "created manually. They should be instantiated by functions like pack_sequence and "
                             "pack_padded_sequences in nn.utils.rnn. "
                             "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def pin_memory(self) -> PackedSequence:
        return self

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """Moves ``data`` as ``Tensor.to`` does; the indices follow it to its device, ``batch_sizes``
        stays on the CPU."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        kwargs = {k: v for k, v in kwargs.items() if k not in ("device", "dtype")}
        sorted_indices = None if self.sorted_indices is None else self.sorted_indices.to(data.device, **kwargs)
        unsorted_indices = None if self.unsorted_indices is None else self.unsorted_indices.to(data.device, **kwargs)
        return type(self)(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def _to_device_type(self, kind: str, device: Any) -> PackedSequence:
        if device is None:
            device = kind
        elif isinstance(device, int):
            device = f"{kind}:{device}"
        return self.to(device)

    def cuda(self, device: Any = None, non_blocking: bool = False) -> PackedSequence:
        return self._to_device_type("cuda", device)

    def opencl(self, device: Any = None) -> PackedSequence:
        return self._to_device_type("opencl", device)

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def double(self) -> PackedSequence:
        return self.to(dtype=_dt.float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=_dt.float32)

    def half(self) -> PackedSequence:
        return self.to(dtype=_dt.float16)

    def long(self) -> PackedSequence:
        return self.to(dtype=_dt.int64)

    def int(self) -> PackedSequence:
        return self.to(dtype=_dt.int32)

    def short(self) -> PackedSequence:
        return self.to(dtype=_dt.int16)

    def char(self) -> PackedSequence:
        return self.to(dtype=_dt.int8)

    def byte(self) -> PackedSequence:
        return self.to(dtype=_dt.uint8)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


# ---- the index maps (host NumPy, then one index tensor on the data's device) --------------------
def _pack_index(lengths: np.ndarray, t_in: int, batch: int, batch_first: bool) -> np.ndarray:
    """Rows of the flattened padded input ((T*B) time-major, (B*T) batch-first) in packed order.
    Steps past ``t_in`` are left out: PyTorch's kernel slices the input there, which clamps."""
    t_idx, b_idx = np.nonzero(lengths[None, :] > np.arange(min(int(lengths[0]), t_in))[:, None])
    return b_idx * t_in + t_idx if batch_first else t_idx * batch + b_idx


def _pad_index(batch_sizes: np.ndarray, total: int, batch_first: bool, order: np.ndarray | None) -> np.ndarray:
    """For every position of the padded output, its row of ``data`` or ``len(data)`` (the padding
    row); ``order[j]`` is the sorted position of output sequence j."""
    n = int(batch_sizes.sum())
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]])
    t_len, batch = batch_sizes.size, int(batch_sizes[0])
    b = np.arange(batch) if order is None else np.asarray(order)
    valid = np.zeros((total, batch), dtype=bool)
    valid[:t_len] = b[None, :] < batch_sizes[:, None]
    starts = np.concatenate([offsets, np.zeros(total - t_len, np.int64)])
    rows = np.where(valid, starts[:, None] + b[None, :], n)
    return (rows.T if batch_first else rows).reshape(-1)


def _pad_data(data: Tensor, batch_sizes: np.ndarray, total: int, batch_first: bool, padding_value: Any,
              order: np.ndarray | None = None) -> Tensor:
    batch = int(batch_sizes[0])
    rest = tuple(data.shape[1:])
    pad_row = _c.full((1,) + rest, padding_value, dtype=data.dtype, device=data.device)
    table = _s.cat([data, pad_row], 0)
    out = table.index_select(0, _index(_pad_index(batch_sizes, total, batch_first, order), data.device))
    return out.reshape(((batch, total) if batch_first else (total, batch)) + rest)


def _pack_data(input: Tensor, lengths: np.ndarray, batch_first: bool) -> Tensor:
    """``input`` (T, B, *) (or (B, T, *)) with sorted ``lengths`` -> packed data (sum(lengths), *)."""
    t_in, batch = (input.shape[1], input.shape[0]) if batch_first else (input.shape[0], input.shape[1])
    flat = input.reshape((t_in * batch,) + tuple(input.shape[2:]))
    return flat.index_select(0, _index(_pack_index(lengths, t_in, batch, batch_first), input.device))


def _batch_sizes(lengths: np.ndarray) -> np.ndarray:
    return (lengths[None, :] > np.arange(int(lengths[0]))[:, None]).sum(1).astype(np.int64)


# ---- the public functions ----------------------------------------------------------------------
def pack_padded_sequence(input: Tensor, lengths: Any, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Packs a padded batch (T, B, *) (or (B, T, *) with ``batch_first``) of sequences whose
    lengths are ``lengths`` (a list or a 1D CPU int64 tensor). With ``enforce_sorted`` the lengths
    must be decreasing; otherwise the batch is sorted here and ``unsorted_indices`` undoes it."""
    if not isinstance(lengths, Tensor):
        lengths = _c.as_tensor(np.asarray(lengths, dtype=np.int64), dtype=_dt.int64, device="cpu")
    else:
        lengths = lengths.to(dtype=_dt.int64)
    if not enforce_sorted and lengths.dim() > 1:  # PyTorch sorts, then index_selects by the 2-D order
        raise IndexError("index_select(): Index is supposed to be a vector")
    if lengths.dim() != 1 or lengths.device.type != "cpu":
        raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got {lengths.dim()}D "
                           f"{lengths.device} {_scalar_name(lengths.dtype)} tensor")
    lens = _host(lengths)
    sorted_indices = None
    if not enforce_sorted:
        perm = np.argsort(-lens, kind="stable")
        lens = lens[perm]
        sorted_indices = _index(perm, input.device)
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    if input.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    if input.dim() < 2:  # PyTorch's kernel reads input.size(1) (after the transpose for batch_first)
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    batch = input.shape[0 if batch_first else 1]
    if lens.size != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {lens.size} "
                           f"(batch_size={batch})")
    if lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    if np.any(lens[1:] > lens[:-1]):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                           "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                           "sidestep this requirement if you do not need ONNX exportability.")
    # A length past the padded length is not checked by PyTorch: its kernel's slice clamps, so the
    # data stops at the padded length while batch_sizes counts the lengths given (_pack_index)
    data = _pack_data(input, lens, batch_first)
    batch_sizes = _c.as_tensor(_batch_sizes(lens), dtype=_dt.int64, device="cpu")
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Inverse of :func:`pack_padded_sequence`: ``(padded (T, B, *) or (B, T, *), lengths)``, the
    batch in its original order and ``lengths`` a CPU int64 tensor."""
    batch_sizes = _host(sequence.batch_sizes).astype(np.int64)
    max_seq_length = batch_sizes.size
    if total_length is not None and (isinstance(total_length, bool) or not (
            isinstance(total_length, Tensor) or hasattr(type(total_length), "__index__"))):
        # PyTorch compares it first, then its kernel's argument parser wants an int
        if total_length < max_seq_length:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {max_seq_length}")
        raise TypeError(f"_pad_packed_sequence(): argument 'total_length' (position 5) must be int, not "
                        f"{type(total_length).__name__}")
    if total_length is not None:
        if total_length < max_seq_length:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {max_seq_length}")
        max_seq_length = total_length
    order = None if sequence.unsorted_indices is None else _host(sequence.unsorted_indices)
    padded = _pad_data(sequence.data, batch_sizes, max_seq_length, batch_first, padding_value, order)
    lens = _lengths_from_batch_sizes(batch_sizes)
    if order is not None:
        lens = lens[order]
    return padded, _c.as_tensor(lens, dtype=_dt.int64, device="cpu")


def _check_broadcast(a: tuple, b: tuple) -> None:
    """PyTorch's ``infer_size`` error (``copy_`` into a slot of the padded output), rightmost first."""
    from ember.functions.shape import _infer_size

    _infer_size(a, b)


def pad_sequence(sequences: Sequence[Tensor] | Tensor, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack variable-length (L_i, *) tensors into (L_max, B, *) (or (B, L_max, *))."""
    if not isinstance(sequences, Iterable):
        raise RuntimeError(f"pad_sequence: Expected iterable for input sequences, but got arg of type: "
                           f"{type(sequences)}")
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    sequences = tuple(sequences)
    if isinstance(padding_value, complex) or not isinstance(padding_value, (int, float, Tensor)):
        # PyTorch's argument parser: a real number (or a one-element tensor)
        raise TypeError(f"pad_sequence(): argument 'padding_value' (position 3) must be float, not "
                        f"{type(padding_value).__name__}")
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if sequences[0].dim() == 0:  # PyTorch's kernel slices the first sequence's sizes from 1
        raise RuntimeError("ArrayRef: invalid slice, N = 1; size = 0")
    # PyTorch's kernel: an output shaped and typed like the first sequence, filled with the padding
    # value, each sequence copied into its slot (so its dtype converts and a size-1 trailing dim
    # broadcasts, and mismatched sizes fail as ``copy_`` does)
    first = sequences[0]
    max_len = max(s.shape[0] for s in sequences)
    n = len(sequences)
    dims = ((n, max_len) if batch_first else (max_len, n)) + tuple(first.shape[1:])
    out = _c.full(dims, padding_value, dtype=first.dtype, device=first.device)
    for i, seq in enumerate(sequences):
        length = seq.shape[0]
        start = max_len - length if padding_side == "left" else 0
        if tuple(seq.shape[1:]) != dims[2:] and seq.dim() <= len(dims) - 1:
            _check_broadcast((length,) + dims[2:], tuple(seq.shape))
        if batch_first:
            out[i, start:start + length].copy_(seq)
        else:
            out[start:start + length, i].copy_(seq)
    return out


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor, batch_first: bool = False) -> list[Tensor]:
    """Inverse of :func:`pad_sequence`: a list of the (L_i, *) sequences. As PyTorch's, it transposes
    ``padded_sequences`` in place when not ``batch_first``, wants ``lengths`` a tensor (on any
    device) of exactly one length per sequence, and keeps the steps ``t < length``."""
    if not batch_first:
        padded_sequences.transpose_(0, 1)
    max_length = padded_sequences.shape[1]
    if not isinstance(lengths, Tensor):  # PyTorch reads lengths.device first
        raise AttributeError(f"'{type(lengths).__name__}' object has no attribute 'device'")
    lens = _host(lengths)
    if lens.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    if len(lens) != padded_sequences.shape[0]:
        side = "shorter" if len(lens) < padded_sequences.shape[0] else "longer"
        raise ValueError(f"zip() argument 2 is {side} than argument 1")
    # the steps idx < length: a slice, so no mask is built (fractional and negative lengths too)
    stops = [int(max(0, min(max_length, np.ceil(n)))) if np.isfinite(n) or n > 0 else 0 for n in lens.tolist()]
    return [padded_sequences[i, :stop] for i, stop in enumerate(stops)]


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Packs a list of (L_i, *) tensors (decreasing lengths unless ``enforce_sorted=False``)."""
    for v in sequences:  # PyTorch reads v.size(0)
        if v.dim() == 0:
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    lengths = _c.as_tensor(np.asarray([v.shape[0] for v in sequences], dtype=np.int64), dtype=_dt.int64,
                           device="cpu")
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """Inverse of :func:`pack_sequence`: the list of (L_i, *) tensors, in their original order."""
    padded_sequences, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded_sequences, lengths, batch_first=True)
