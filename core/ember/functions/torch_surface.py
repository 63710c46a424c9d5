"""Top-level ``torch.*`` names real programs use that belong to no other family: strided views
(``as_strided`` and its copy/scatter/in-place forms), ``frombuffer``, the short-time Fourier
transforms (``stft``/``istft``), ``histogramdd``, ``binomial``, ``mvlgamma``, the old LU and
triangular-solve API (``lu``, ``lu_solve``, ``lu_unpack``, ``triangular_solve``), ``nuclear_norm``,
and the functions PyTorch removed (``eig``, ``lstsq``, ``solve``, ``symeig``, ``matrix_rank``),
which raise PyTorch's RuntimeError telling what replaces them.

Example:
    >>> import ember
    >>> x = ember.arange(6.0)
    >>> ember.as_strided(x, (2, 2), (1, 2))
    tensor([[0., 2.],
            [1., 3.]])
"""

from __future__ import annotations

import math
import warnings
from collections import namedtuple
from typing import Any

from ember import dtypes as _dt
from ember._ops.registry import Family
from ember.autograd.function import Function
from ember.tensor import Tensor

# ---- as_strided -------------------------------------------------------------------------------


def _positions(size: tuple[int, ...], stride: tuple[int, ...], offset: int, device: Any) -> Tensor:
    """Where each element of a (size, stride, offset) view lies in its storage (int64, shaped ``size``)."""
    from ember.functions.creation import arange, full

    pos = full(size, offset, dtype=_dt.int64, device=device)
    for d, (n, s) in enumerate(zip(size, stride)):
        axis = [1] * len(size)
        axis[d] = n
        pos = pos + (arange(n, dtype=_dt.int64, device=device) * s).reshape(axis)
    return pos


def _check_geometry(input: Tensor, size: tuple[int, ...], stride: tuple[int, ...], offset: int) -> None:
    """PyTorch's checks, in its order: lengths, strides, offset, sizes, then the storage bounds."""
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got strides: {list(stride)}")
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    if any(n < 0 for n in size):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and strides={list(stride)}")
    if 0 in size:
        return
    need = offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1
    have = _storage_size(input)
    if need > have:
        item = input.element_size()
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and "
                           f"itemsize {item} requiring a storage size of {need * item} are out of bounds for storage "
                           f"of size {have * item}")


def _has_view_kernels(input: Tensor) -> bool:
    return input._kt.has("as_strided") and input._kt.has("storage_size")


def _storage_size(input: Tensor) -> int:
    if _has_view_kernels(input):
        return int(input._kt["storage_size"](input._data))
    return _composite_storage(input).numel()


def _composite_storage(input: Tensor) -> Tensor:
    """Without the optional kernels a tensor's storage is known only when the tensor is all of it:
    a contiguous tensor that is no view (then its elements, flattened, are the storage)."""
    if input._base is not None or not input.is_contiguous():
        raise RuntimeError(f"as_strided: the {input.device.type} backend has no 'as_strided' and 'storage_size' "
                           f"kernels, so only a contiguous tensor that is not a view can be restrided")
    return input.detach().reshape(-1)


class AsStrided(Function):
    """A view of ``x``'s storage with new sizes, strides and offset; backward adds the gradient into
    the storage positions it read and gathers those of ``x`` (PyTorch's as_strided_backward)."""

    _backward_name = "AsStridedBackward0"

    @staticmethod
    def forward(ctx, x, size, stride, offset):
        ctx.geometry = (tuple(x.shape), tuple(x.stride()), x.storage_offset(), (size, stride, offset))
        if _has_view_kernels(x):
            data = x._kt["as_strided"](x._data, size, stride, offset)
            return x._view_of(data, lambda b: AsStrided.apply(b, size, stride, offset))
        storage = _composite_storage(x)  # no kernel: a copy gathered from the storage
        pos = _positions(size, stride, offset, x.device)
        return storage.take(pos) if pos.numel() else storage.new_empty(size)

    @staticmethod
    def backward(ctx, g):
        in_size, in_stride, in_offset, (size, stride, offset) = ctx.geometry
        return _as_strided_grad(g, in_size, in_stride, in_offset, size, stride, offset), None, None, None


def _as_strided_grad(g: Tensor, in_size: tuple, in_stride: tuple, in_offset: int, size: tuple, stride: tuple,
                     offset: int) -> Tensor:
    from ember.functions.creation import zeros

    out_pos = _positions(size, stride, offset, g.device).reshape(-1)
    in_pos = _positions(in_size, in_stride, in_offset, g.device)
    if in_pos.numel() == 0:
        return zeros(in_size, dtype=g.dtype, device=g.device)
    n = 1 + max(int(out_pos.max()) if out_pos.numel() else 0, int(in_pos.max()))
    storage = zeros(n, dtype=g.dtype, device=g.device).index_add(0, out_pos, g.reshape(-1))
    grad = storage.take(in_pos)
    if any(s == 0 and k > 1 for k, s in zip(in_size, in_stride)):
        # an input whose elements share memory (expanded): PyTorch splits each position's gradient
        # evenly among the elements that alias it
        flat = in_pos.reshape(-1)
        count = zeros(n, dtype=g.dtype, device=g.device).index_add(0, flat, g.new_ones(flat.shape))
        grad = grad / count.take(in_pos)
    return grad


def _geometry(input: Tensor, size: Any, stride: Any, storage_offset: int | None) -> tuple:
    for name, pos, value in (("size", 1, size), ("stride", 2, stride)):
        if not isinstance(value, (tuple, list)):
            raise TypeError(f"as_strided(): argument '{name}' (position {pos}) must be tuple of ints, not "
                            f"{type(value).__name__}")
    size = tuple(int(n) for n in size)
    stride = tuple(int(s) for s in stride)
    offset = input.storage_offset() if storage_offset is None else int(storage_offset)
    _check_geometry(input, size, stride, offset)
    return size, stride, offset


def as_strided(input: Tensor, size: Any, stride: Any, storage_offset: int | None = None) -> Tensor:
    """A view of ``input``'s storage with the given sizes, strides (in elements) and storage offset
    (``input``'s own by default). Elements may overlap; every one must lie inside the storage.

    Example:
        >>> x = ember.arange(4.0)
        >>> x.as_strided((3, 2), (1, 1))
        tensor([[0., 1.],
                [1., 2.],
                [2., 3.]])
    """
    return AsStrided.apply(input, *_geometry(input, size, stride, storage_offset))


def _as_strided_(self: Tensor, size: Any, stride: Any, storage_offset: int | None = None) -> Tensor:
    """``Tensor.as_strided_``: ``self`` takes the new sizes, strides and offset over its storage."""
    from ember.functions.shape import _inplace_view

    geometry = _geometry(self, size, stride, storage_offset)
    return _inplace_view(self, lambda b: AsStrided.apply(b, *geometry))


def as_strided_copy(input: Tensor, size: Any, stride: Any, storage_offset: int | None = None, *,
                    out: Tensor | None = None) -> Tensor:
    """``as_strided(...)`` as a new contiguous tensor."""
    from ember.functions.elementwise import _out

    result = as_strided(input, size, stride, storage_offset).clone()
    return _out(result, out)


def as_strided_scatter(input: Tensor, src: Tensor, size: Any, stride: Any, storage_offset: int | None = None, *,
                       out: Tensor | None = None) -> Tensor:
    """A copy of ``input`` with ``src`` written where ``input.as_strided(size, stride,
    storage_offset)`` would see it: the view's storage positions that are ``input``'s own take
    ``src``'s values (PyTorch's functional form of ``input.as_strided(...).copy_(src)``)."""
    from ember.functions.elementwise import _out

    size, stride, offset = _geometry(input, size, stride, storage_offset)
    if tuple(src.shape) != size:
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(size)}")
    return _out(_scatter_positions(input, src, size, stride, offset), out)


def _scatter_positions(input: Tensor, src: Tensor, size: tuple, stride: tuple, offset: int) -> Tensor:
    """Through a scratch storage: input's elements at their positions, then src's at the view's,
    read back at input's (differentiable in both)."""
    from ember.functions.creation import zeros

    in_pos = _positions(tuple(input.shape), tuple(input.stride()), input.storage_offset(), input.device)
    out_pos = _positions(size, stride, offset, input.device).reshape(-1)
    if in_pos.numel() == 0:
        return input.clone()
    n = 1 + max(int(in_pos.max()), int(out_pos.max()) if out_pos.numel() else 0)
    storage = zeros(n, dtype=input.dtype, device=input.device).index_copy(0, in_pos.reshape(-1), input.reshape(-1))
    if out_pos.numel():
        storage = storage.index_copy(0, out_pos, src.to(input.dtype).reshape(-1))
    return storage.take(in_pos)


# ---- frombuffer --------------------------------------------------------------------------------


def frombuffer(buffer: Any, *, dtype: _dt.dtype | None = None, count: int = -1, offset: int = 0,
               requires_grad: bool = False) -> Tensor:
    """A 1-D CPU tensor over the memory of a Python buffer (``bytearray``, ``array.array``,
    ``memoryview``...): writes show through both ways, as in PyTorch.

    Example:
        >>> ember.frombuffer(bytearray(b"\\x01\\x00\\x02\\x00"), dtype=ember.int16)
        tensor([1, 2], dtype=ember.int16)
    """
    import numpy as np

    from ember.functions.creation import _wrap_array
    from ember.numpy_dtypes import to_numpy

    if dtype is None:  # PyTorch's wording for its required keyword
        raise TypeError('frombuffer() missing 1 required positional arguments: "dtype"')
    view = memoryview(buffer).cast("B")
    length, item = view.nbytes, dtype.itemsize
    if length == 0 or count == 0:
        raise ValueError(f"both buffer length ({length}) and count ({count}) must not be 0")
    if not 0 <= offset < length:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length "
                         f"({length} bytes) minus 1")
    if count < 0:
        if (length - offset) % item:
            raise ValueError(f"buffer length ({length - offset} bytes) after offset ({offset} bytes) must be a "
                             f"multiple of element size ({item})")
        count = (length - offset) // item
    elif offset + count * item > length:
        raise ValueError(f"requested buffer length ({count} * {item} bytes) after offset ({offset} bytes) must not "
                         f"be greater than actual buffer length ({length} bytes)")
    if view.readonly:
        warnings.warn("The given buffer is not writable, and PyTorch does not support non-writable tensors. This "
                      "means you can write to the underlying (supposedly non-writable) buffer using the tensor. You "
                      "may want to copy the buffer to protect its data or make it writable before converting it to "
                      "a tensor.", UserWarning, stacklevel=2)
    arr = np.frombuffer(view, dtype=to_numpy(dtype), count=count, offset=offset)
    result = _wrap_array(arr)  # its own warning above, not from_numpy's too
    return result.requires_grad_() if requires_grad else result


# ---- stft / istft -------------------------------------------------------------------------------

_RECT_WARNING = ("A window was not provided. A rectangular window will be applied,which is known to cause spectral "
                 "leakage. Other windows such as torch.hann_window or torch.hamming_window are recommended to reduce "
                 "spectral leakage.To suppress this warning and use a rectangular window, explicitly set "
                 "`window=torch.ones(n_fft, device=<device>)`.")


def _flag(value: Any) -> str:
    """How PyTorch prints an optional bool in its stft/istft messages."""
    return "None" if value is None else str(int(bool(value)))


def _window_word(window: Tensor | None) -> str:
    return "None" if window is None else f"{window.type()}{{{list(window.shape)}}}"


def _frame_window(window: Tensor | None, n_fft: int, win_length: int, like: Tensor) -> Tensor | None:
    """The window centred in ``n_fft`` samples (zeros either side when shorter)."""
    from ember.functions.creation import ones
    from ember.nn.functional import pad

    if win_length == n_fft:
        return window
    if window is None:  # PyTorch's default: a rectangular window of win_length samples
        window = ones(win_length, dtype=_dt.to_real(like.dtype), device=like.device)
    left = (n_fft - win_length) // 2
    return pad(window, [left, n_fft - win_length - left])


def stft(input: Tensor, n_fft: int, hop_length: int | None = None, win_length: int | None = None,
         window: Tensor | None = None, center: bool = True, pad_mode: str = "reflect", normalized: bool = False,
         onesided: bool | None = None, return_complex: bool | None = None,
         align_to_window: bool | None = None) -> Tensor:
    """Short-time Fourier transform of a 1-D signal or a batch of them (``(freq, frames)`` or
    ``(batch, freq, frames)``), as ``torch.stft``: frames ``hop_length`` apart (``n_fft // 4``),
    ``window`` of ``win_length`` (``n_fft``) samples centred in each, the signal padded by
    ``n_fft // 2`` each side with ``pad_mode`` when ``center``, ``onesided`` for real inputs.
    ``return_complex`` must be given for a real input (False gives ``view_as_real`` of the result,
    deprecated in PyTorch). Needs a device with complex dtypes (not OpenCL).

    Example:
        >>> spec = ember.stft(ember.ones(16), 8, window=ember.ones(8), return_complex=True)
        >>> spec.shape, spec[0, 0]
        (ember.Size([5, 9]), tensor(8.+0.j))
    """
    from ember.fft import fft, rfft
    from ember.functions.complex_ops import view_as_real
    from ember.nn.functional import pad

    hop_length = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    if window is None:
        warnings.warn(_RECT_WARNING, UserWarning, stacklevel=2)
    if return_complex is None and not input.is_complex() and not (window is not None and window.is_complex()):
        raise RuntimeError("stft requires the return_complex parameter be given for real inputs, and will further "
                           "require that return_complex=True in a future PyTorch release.")
    if align_to_window is not None and center:
        raise RuntimeError("stft align_to_window should only be set when center = false")
    if align_to_window:
        raise NotImplementedError("stft: ember does not implement align_to_window=True")
    if center:
        if pad_mode not in ("constant", "reflect", "replicate", "circular"):
            raise NotImplementedError(f"Unrecognised padding mode {pad_mode}")
        shape = tuple(input.shape)
        lead = (1,) * max(0, 3 - input.dim())
        input = pad(input.reshape(lead + shape), [n_fft // 2, n_fft // 2], mode=pad_mode)
        input = input.reshape(shape[:-1] + (input.shape[-1],))

    def fail(what: str) -> RuntimeError:
        return RuntimeError(
            f"stft({input.type()}{list(input.shape)}, n_fft={n_fft}, hop_length={hop_length}, win_length={win_length}, "
            f"window={_window_word(window)}, normalized={_flag(normalized)}, onesided={_flag(onesided)}, "
            f"return_complex={_flag(return_complex)}, align_to_window={_flag(align_to_window)}) : {what}")

    if input.dim() not in (1, 2):
        raise fail("expected a 1D or 2D tensor")
    if not (input.dtype.is_floating_point or input.is_complex()):
        raise fail("expected a tensor of floating point or complex values")
    length = input.shape[-1]
    if n_fft <= 0 or n_fft > length:
        raise fail(f"expected 0 < n_fft < {length}, but got n_fft={n_fft}")
    if hop_length <= 0:
        raise fail(f"expected hop_length > 0, but got hop_length={hop_length}")
    if win_length <= 0 or win_length > n_fft:
        raise fail(f"expected 0 < win_length <= n_fft, but got win_length={win_length}")
    if window is not None and (window.dim() != 1 or window.shape[0] != win_length):
        raise fail(f"expected a 1D window tensor of size equal to win_length={win_length}, but got window with "
                   f"size {list(window.shape)}")
    is_complex = input.is_complex() or (window is not None and window.is_complex())
    onesided = not is_complex if onesided is None else onesided
    if onesided and is_complex:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    frames = input.unfold(-1, n_fft, hop_length)  # (..., n_frames, n_fft)
    win = _frame_window(window, n_fft, win_length, input)
    if win is not None:
        frames = frames * win
    norm = "ortho" if normalized else "backward"
    spec = (rfft if onesided else fft)(frames, dim=-1, norm=norm).transpose(-2, -1)
    if return_complex is False:
        warnings.warn("stft with return_complex=False is deprecated. In a future pytorch release, stft will return "
                      "complex tensors for all inputs, and return_complex=False will raise an error.\nNote: you can "
                      "still call torch.view_as_real on the complex output to recover the old return format.",
                      UserWarning, stacklevel=2)
        return view_as_real(spec)
    return spec


def _istft_type(input: Tensor) -> str:
    """``CPUComplexFloatType``: how PyTorch names the input in istft's messages."""
    from ember.fft import _WORD

    return f"{input.device.type.upper()}{_WORD.get(input.dtype, input.dtype.name)}Type"


def istft(input: Tensor, n_fft: int, hop_length: int | None = None, win_length: int | None = None,
          window: Tensor | None = None, center: bool = True, normalized: bool = False, onesided: bool | None = None,
          length: int | None = None, return_complex: bool = False) -> Tensor:
    """The inverse of :func:`stft` (``torch.istft``): inverse transforms of the frames, windowed,
    overlap-added and divided by the summed squared window (which must not vanish anywhere), trimmed
    of the centre padding, to ``length`` samples when given.

    Example:
        >>> x = ember.arange(16.0)
        >>> w = ember.hann_window(8)
        >>> y = ember.istft(ember.stft(x, 8, window=w, return_complex=True), 8, window=w)
        >>> bool((y - x).abs().max() < 1e-4)
        True
    """
    from ember.fft import ifft, irfft
    from ember.functions.creation import arange, ones, zeros
    from ember.nn.functional import pad

    if not input.is_complex():
        raise RuntimeError("istft requires a complex-valued input tensor matching the output from stft with "
                           "return_complex=True.")
    hop_length = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    asked = onesided  # the messages show the argument as given

    def fail(what: str) -> RuntimeError:
        return RuntimeError(
            f"istft({_istft_type(input)}{list(input.shape)}, n_fft={n_fft}, hop_length={hop_length}, "
            f"win_length={win_length}, window={_window_word(window)}, center={_flag(center)}, "
            f"normalized={_flag(normalized)}, onesided={_flag(asked)}, "
            f"length={'None' if length is None else length}, return_complex={_flag(return_complex)}) {what}")

    if input.dim() not in (2, 3):
        raise fail(f": expected a tensor with 3 or 4 dimensions, but got {input.dim() + 1}")
    n_frames, freq = input.shape[-1], input.shape[-2]
    onesided = freq != n_fft if onesided is None else onesided
    if onesided:
        if n_fft // 2 + 1 != freq:
            raise fail(f": expected the frequency dimension (3rd to the last) of the input tensor to match n_fft / 2 "
                       f"+ 1 when onesided=True, but got {freq}")
    elif n_fft != freq:
        raise fail(f": expected the frequency dimension (3rd to the last) of the input tensor to match n_fft when "
                   f"onesided=False, but got {freq}")
    if not 0 < win_length <= n_fft:
        raise fail(f": expected 0 < win_length <= n_fft but got win_length={win_length}")
    if hop_length <= 0 or hop_length > win_length:
        raise fail(": expected 0 < hop_length <= win_length")
    if window is not None and (window.dim() != 1 or window.shape[0] != win_length):
        raise fail(": Invalid window shape. window has to be 1D and length of `win_length`")
    if onesided and (return_complex or (window is not None and window.is_complex())):
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    real_dtype = _dt.to_real(input.dtype)
    win = _frame_window(window, n_fft, win_length, input)
    if win is None:
        win = ones(n_fft, dtype=real_dtype, device=input.device)
    frames = input.transpose(-2, -1)  # (..., n_frames, freq)
    norm = "ortho" if normalized else "backward"
    if return_complex:
        frames = ifft(frames, dim=-1, norm=norm)
    else:  # a real signal: PyTorch reads the first n_fft // 2 + 1 bins as a onesided spectrum
        frames = irfft(frames if onesided else frames[..., :n_fft // 2 + 1], n=n_fft, dim=-1, norm=norm)
    frames = frames * win
    total = n_fft + hop_length * (n_frames - 1)
    where = (arange(n_frames, device=input.device).unsqueeze(-1) * hop_length
             + arange(n_fft, device=input.device)).reshape(-1)
    batch = tuple(frames.shape[:-2])
    y = zeros(batch + (total,), dtype=frames.dtype, device=input.device)
    y = y.index_add(-1, where, frames.reshape(batch + (-1,)))
    win_sq = win * win  # PyTorch's envelope is window.pow(2): complex for a complex window, not |w|^2
    envelope = zeros(total, dtype=win_sq.dtype, device=input.device).index_add(
        0, where, win_sq.expand((n_frames, n_fft)).reshape(-1))
    start = n_fft // 2 if center else 0
    end = total if length is None and not center else (start + length if length is not None else total - n_fft // 2)
    y, envelope = y[..., start:min(end, total)], envelope[start:min(end, total)]
    smallest = envelope.abs().min() if envelope.numel() else None
    if smallest is not None and float(smallest) < 1e-11:
        # PyTorch prints the failed comparison (a bool tensor), not the minimum
        raise fail(f"window overlap add min: 1\n[ {input.device.type.upper()}BoolType{{}} ]")
    y = y / envelope
    if end > total:
        y = pad(y, [0, end - total])
    return y


# ---- histogramdd --------------------------------------------------------------------------------


class HistogramddResult(namedtuple("histogramdd", ["hist", "bin_edges"])):
    __slots__ = ()

    def __repr__(self) -> str:
        return f"ember.return_types.histogramdd(\nhist={self[0]!r},\nbin_edges={self[1]!r})"


def histogramdd(input: Tensor, bins: Any, *, range: Any = None, weight: Tensor | None = None,  # noqa: A002
                density: bool = False) -> Any:
    """A D-dimensional histogram of the points ``input[..., :D]`` (the last axis holds the
    coordinates): ``bins`` equal bins per dimension (an int, or one int each) over ``range``
    (``[lo0, hi0, lo1, hi1, ...]``; the data's own by default), or the ascending edges of each
    dimension as 1-D tensors. Returns ``(hist, bin_edges)``; floating inputs only.

    Example:
        >>> pts = ember.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
        >>> ember.histogramdd(pts, bins=2).hist
        tensor([[1., 0.],
                [0., 2.]])
    """
    from ember.functions.creation import linspace
    from ember.functions.search import _bins_from_edges, _count_into, _histogram_range, _linear_bins, _local_search

    if input.dim() < 2:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 2 dimensions")
    if input.dtype not in (_dt.float32, _dt.float64):
        raise NotImplementedError(f"\"histogramdd\" not implemented for '{_scalar_word(input.dtype)}'")
    D = input.shape[-1]
    if isinstance(bins, int):
        bins = [bins] * D
    bins = list(bins)
    if len(bins) != D:
        raise RuntimeError("histogramdd: The size of bins must be equal to the innermost dimension of the input.")
    if range is not None and len(range) != 2 * D:
        raise RuntimeError(f"torch.histogramdd: for a {D}-dimensional histogram range should have {2 * D} elements, "
                           f"but got {len(range)}")
    points = input.detach().reshape(-1, D)
    flat, inside, edges, counts = None, None, [], []
    for d, b in enumerate(bins):
        column = points[:, d].contiguous()
        if isinstance(b, Tensor):
            e = b
            pos, ok = _bins_from_edges(column, e)
        else:
            if b <= 0:
                raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {b} for dimension {d}")
            lo, hi = _histogram_range(column, None if range is None else range[2 * d:2 * d + 2], d)
            e = linspace(lo, hi, b + 1, dtype=input.dtype, device=input.device)
            pos, ok = _linear_bins(column, b, lo, hi)
            pos = _local_search(column, pos, e)
        n = e.numel() - 1
        flat = pos if flat is None else flat * n + pos
        inside = ok if inside is None else inside & ok
        edges.append(e)
        counts.append(n)
    w = inside.to(input.dtype)
    if weight is not None:
        w = w * weight.detach().reshape(-1)
    hist = _count_into(math.prod(counts), flat, w, input.dtype).reshape(counts)
    if density:
        volume = None
        for d, e in enumerate(edges):
            width = (e[1:] - e[:-1]).reshape([-1 if i == d else 1 for i in builtins_range(D)])
            volume = width if volume is None else volume * width
        hist = hist / (hist.sum() * volume)
    return HistogramddResult(hist, tuple(edges))


builtins_range = range  # histogramdd's ``range`` argument shadows the builtin there


# ---- binomial -----------------------------------------------------------------------------------

_BINOMIAL_CHUNK = 50.0  # a chunk's P(K = 0) = (1 - p)^m stays above exp(-50): no underflow in float32
_BINOMIAL_NORMAL = 400.0  # above this variance a draw is the rounded normal (skewness below 0.05)


def binomial(count: Tensor, prob: Tensor, generator: Any = None) -> Tensor:
    """Binomial draws: the successes in ``floor(count)`` trials of probability ``prob`` (clamped to
    [0, 1]; NaN gives NaN, as does an infinite count), broadcasting, in the inputs' floating dtype.

    Exact (chunked CDF inversion on the device) while ``count * p * (1 - p) <= 400``; above that
    the rounded normal approximation, clamped to [0, count]. No gradient, as in PyTorch.

    Example:
        >>> _ = ember.manual_seed(0)
        >>> ember.binomial(ember.tensor([10.0, 0.0]), ember.tensor([1.0, 0.5]))
        tensor([10.,  0.])
    """
    from ember.autograd.grad_mode import no_grad
    from ember.functions.creation import randn
    from ember.functions.elementwise import where
    from ember.functions.shape import broadcast_tensors

    for name, t in (("count", count), ("prob", prob)):
        if not t.dtype.is_floating_point:
            raise ValueError(f"binomial only supports floating-point dtypes for {name}, got: "
                             f"{_scalar_word(t.dtype)}")
    if prob.dtype is not count.dtype:
        raise RuntimeError(f"Found dtype {_scalar_word(prob.dtype)} but expected {_scalar_word(count.dtype)}")
    if count.dtype in (_dt.float16, _dt.bfloat16):
        raise NotImplementedError(f"\"binomial_{count.device.type}\" not implemented for "
                                  f"'{_scalar_word(count.dtype)}'")
    with no_grad():
        n, p = broadcast_tensors(count.detach().floor().clamp(min=0), prob.detach().clamp(0, 1))
        bad = p.isnan() | ~n.isfinite()
        n, p = where(bad, 0, n), where(bad, 0, p)
        flip = p > 0.5  # draw the failures instead: p <= 1/2 keeps the chunks long
        q = where(flip, 1 - p, p)
        var = n * q * (1 - q)
        normal = var > _BINOMIAL_NORMAL
        exact = _binomial_exact(where(normal, 0, n), q, generator)
        z = randn(tuple(n.shape), generator=generator, dtype=n.dtype, device=n.device)
        approx = (n * q + var.sqrt() * z).round().clamp(min=0).minimum(n)
        k = where(normal, approx, exact)
        k = where(flip, n - k, k)
        return where(bad, math.nan, k)


def _binomial_exact(n: Tensor, q: Tensor, generator: Any) -> Tensor:
    """Binomial(n, q) (q <= 1/2) as a sum of Binomial(m, q) chunks, m small enough that the
    inversion's first term does not underflow."""
    per_trial = -(-q).log1p()  # -log(1 - q)
    m = (_BINOMIAL_CHUNK / per_trial.clamp(min=1e-30)).floor().clamp(min=1).minimum(n.clamp(min=1))
    rounds = int((n / m).ceil().max()) if n.numel() else 0
    total = n * 0
    for i in range(rounds):
        total = total + _binomial_small((n - i * m).clamp(min=0).minimum(m), q, generator)
    return total


def _binomial_small(c: Tensor, q: Tensor, generator: Any) -> Tensor:
    """Inversion: count the CDF steps below a uniform draw (the mean c*q is at most 50 here)."""
    from ember.functions.creation import rand

    u = rand(tuple(c.shape), generator=generator, dtype=c.dtype, device=c.device)
    ratio = q / (1 - q)
    term = (c * (-q).log1p()).exp()  # P(K = 0) = (1 - q)^c
    cdf, k = term, c * 0
    for i in range(400):  # P(K > 400 | mean 50) is far below float precision: the loop ends early
        more = (u > cdf) & (k < c)
        if not more.any().item():
            break
        k = k + more.to(k.dtype)
        term = term * (c - i) / (i + 1) * ratio
        cdf = cdf + term
    return k


# ---- embedding_bag (aten's form) -------------------------------------------------------------------

_BAG_MODES = ("sum", "mean", "max")


def embedding_bag(weight: Tensor, indices: Tensor, offsets: Tensor, scale_grad_by_freq: bool = False, mode: int = 0,
                  sparse: bool = False, per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``torch.embedding_bag``, the aten form under ``nn.functional.embedding_bag`` (weight first,
    ``mode`` 0/1/2 for sum/mean/max): ``(output, offset2bag, bag_size, max_indices)``, the three
    bookkeeping tensors as PyTorch's CPU kernel fills them (``offset2bag`` is empty for a plain
    sum below float64; ``bag_size`` counts the non-padding entries of each bag, zeros for sum; ``max_indices`` is
    the weight row of each maximum for max, ``bag_size`` again for mean, zeros for sum).

    Example:
        >>> w = ember.arange(6.0).reshape(3, 2)
        >>> ember.embedding_bag(w, ember.tensor([0, 2, 1]), ember.tensor([0, 2]), False, 1)[0]
        tensor([[2., 3.],
                [2., 3.]])
    """
    from ember.functions.creation import arange, zeros
    from ember.functions.search import searchsorted
    from ember.nn.functional import embedding_bag as _embedding_bag

    if offsets is None or not isinstance(offsets, Tensor):
        raise TypeError(f"embedding_bag(): argument 'offsets' (position 3) must be Tensor, not "
                        f"{type(offsets).__name__}")
    name = _BAG_MODES[mode] if isinstance(mode, int) and 0 <= mode < 3 else mode
    output = _embedding_bag(indices, weight, offsets, scale_grad_by_freq=scale_grad_by_freq, mode=name,
                            sparse=sparse, per_sample_weights=per_sample_weights,
                            include_last_offset=include_last_offset, padding_idx=padding_idx)
    with _no_grad():
        flat = indices.reshape(-1)
        n, bags, dev = flat.shape[0], output.shape[0], indices.device
        starts = offsets[:-1] if include_last_offset else offsets
        bag_of = searchsorted(starts.to(_dt.int64).contiguous(), arange(n, device=dev), right=True) - 1
        keep = flat != (padding_idx % weight.shape[0] if padding_idx is not None else -1)
        sizes = zeros(bags, dtype=_dt.int64, device=dev).index_add(0, bag_of, keep.to(_dt.int64))
        none = zeros(bags, dtype=_dt.int64, device=dev)
        empty = zeros(0, dtype=_dt.int64, device=dev)
        if name == "sum":  # PyTorch's fast path (float32 and narrower, no padding) leaves offset2bag empty
            fast = padding_idx is None and weight.dtype is not _dt.float64
            return output, empty if fast else bag_of, none, none
        if name == "mean":
            return output, bag_of, sizes, sizes
        return output, bag_of, sizes, _max_rows(weight, flat, bag_of, keep, output)


def _no_grad():
    from ember.autograd.grad_mode import no_grad

    return no_grad()


def _max_rows(weight: Tensor, flat: Tensor, bag_of: Tensor, keep: Tensor, output: Tensor) -> Tensor:
    """For each bag and column, the weight row of the first entry holding the bag's maximum (0 for an
    empty bag), as PyTorch's CPU embedding_bag reports it."""
    from ember.functions.creation import arange, full
    from ember.functions.elementwise import where

    n, d = flat.shape[0], weight.shape[1]
    bags = output.shape[0]
    if n == 0:
        return full((bags, d), 0, dtype=_dt.int64, device=flat.device)
    rows = weight.detach().index_select(0, flat)  # (n, d)
    hit = (rows == output.detach().index_select(0, bag_of)) & keep.unsqueeze(-1)
    pos = where(hit, arange(n, device=flat.device).unsqueeze(-1).expand((n, d)), n)
    first = full((bags, d), n, dtype=_dt.int64, device=flat.device).scatter_reduce(
        0, bag_of.unsqueeze(-1).expand((n, d)), pos, "amin")
    padded = full((n + 1,), 0, dtype=_dt.int64, device=flat.device)
    padded[:n] = flat
    return padded.take(first)


# ---- functions PyTorch removed ------------------------------------------------------------------

_REMOVED = "This function was deprecated since version 1.9 and is now removed. "
_EIG_MSG = (_REMOVED + "`torch.linalg.eig` returns complex tensors of dtype `cfloat` or `cdouble` rather than real "
            "tensors mimicking complex tensors.\n\nL, _ = torch.eig(A) should be replaced with:\nL_complex = "
            "torch.linalg.eigvals(A)\n\nand\n\nL, V = torch.eig(A, eigenvectors=True) should be replaced with:\n"
            "L_complex, V_complex = torch.linalg.eig(A)")
_LSTSQ_MSG = (_REMOVED + "`torch.lstsq` is deprecated in favor of `torch.linalg.lstsq`.\n`torch.linalg.lstsq` has "
              "reversed arguments and does not return the QR decomposition in the returned tuple (although it "
              "returns other information about the problem).\n\nTo get the QR decomposition consider using "
              "`torch.linalg.qr`.\n\nThe returned solution in `torch.lstsq` stored the residuals of the solution in "
              "the last m - n columns of the returned value whenever m > n. In torch.linalg.lstsq, the residuals "
              "are in the field 'residuals' of the returned named tuple.\n\nThe unpacking of the solution, as in\n"
              "X, _ = torch.lstsq(B, A).solution[:A.size(1)]\nshould be replaced with:\nX = torch.linalg.lstsq(A, "
              "B).solution")
_SOLVE_MSG = (_REMOVED + "`torch.solve` is deprecated in favor of `torch.linalg.solve`. `torch.linalg.solve` has its "
              "arguments reversed and does not return the LU factorization.\n\nTo get the LU factorization see "
              "`torch.lu`, which can be used with `torch.lu_solve` or `torch.lu_unpack`.\nX = torch.solve(B, "
              "A).solution should be replaced with:\nX = torch.linalg.solve(A, B)")
_SYMEIG_MSG = (_REMOVED + "The default behavior has changed from using the upper triangular portion of the matrix by "
               "default to using the lower triangular portion.\n\nL, _ = torch.symeig(A, upper=upper) should be "
               "replaced with:\nL = torch.linalg.eigvalsh(A, UPLO='U' if upper else 'L')\n\nand\n\nL, V = "
               "torch.symeig(A, eigenvectors=True) should be replaced with:\nL, V = torch.linalg.eigh(A, UPLO='U' "
               "if upper else 'L')")
_MATRIX_RANK_MSG = (_REMOVED.rstrip() + "\nPlease use the `torch.linalg.matrix_rank` function instead. The parameter "
                    "'symmetric' was renamed in `torch.linalg.matrix_rank()` to 'hermitian'.")


def eig(self: Tensor, eigenvectors: bool = False, *, e: Any = None, v: Any = None) -> Any:
    """Removed from PyTorch: raises its RuntimeError pointing to ``linalg.eig``/``linalg.eigvals``."""
    raise RuntimeError(_EIG_MSG)


def lstsq(input: Tensor, A: Tensor, *, out: Any = None) -> Any:
    """Removed from PyTorch: raises its RuntimeError pointing to ``linalg.lstsq``."""
    raise RuntimeError(_LSTSQ_MSG)


def solve(input: Tensor, A: Tensor, *, out: Any = None) -> Any:
    """Removed from PyTorch: raises its RuntimeError pointing to ``linalg.solve``."""
    raise RuntimeError(_SOLVE_MSG)


def symeig(input: Tensor, eigenvectors: bool = False, upper: bool = True, *, out: Any = None) -> Any:
    """Removed from PyTorch: raises its RuntimeError pointing to ``linalg.eigh``/``linalg.eigvalsh``."""
    raise RuntimeError(_SYMEIG_MSG)


def matrix_rank(input: Tensor, tol: float | None = None, symmetric: bool = False, *, out: Any = None) -> Any:
    """Removed from PyTorch: raises its RuntimeError pointing to ``linalg.matrix_rank``."""
    raise RuntimeError(_MATRIX_RANK_MSG)


# ---- special and linear algebra ------------------------------------------------------------------

# PyTorch warns (once) that these old forms are deprecated; ember gives the same warnings.
_DEPRECATED = {
    "nuclear_norm": "at::nuclear_norm is deprecated and it is just left for JIT compatibility. It will be removed in "
                    "a future PyTorch release. Please use `linalg.matrix_norm(A, 'nuc', dim, keepdim)` instead",
    "triangular_solve": "torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangularand will be "
                        "removed in a future PyTorch release.\ntorch.linalg.solve_triangular has its arguments "
                        "reversed and does not return a copy of one of the inputs.\nX = torch.triangular_solve(B, "
                        "A).solution\nshould be replaced with\nX = torch.linalg.solve_triangular(A, B).",
    "lu": "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and will be removed "
          "in a future PyTorch release.\nLU, pivots = torch.lu(A, compute_pivots)\nshould be replaced with\nLU, "
          "pivots = torch.linalg.lu_factor(A, compute_pivots)\nand\nLU, pivots, info = torch.lu(A, compute_pivots, "
          "get_infos=True)\nshould be replaced with\nLU, pivots, info = torch.linalg.lu_factor_ex(A, compute_pivots)",
    "lu_solve": "torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed in a future "
                "PyTorch release.\nNote that torch.linalg.lu_solve has its arguments reversed.\nX = "
                "torch.lu_solve(B, LU, pivots)\nshould be replaced with\nX = torch.linalg.lu_solve(LU, pivots, B)",
}
_warned: set[str] = set()


def _deprecated(name: str) -> None:
    if name not in _warned:  # PyTorch's TORCH_WARN_ONCE
        _warned.add(name)
        warnings.warn(_DEPRECATED[name], UserWarning, stacklevel=3)


def mvlgamma(input: Tensor, p: int, *, out: Tensor | None = None) -> Tensor:
    """The multivariate log-gamma of dimension ``p`` (``ember.special.multigammaln``).

    Example:
        >>> ember.mvlgamma(ember.tensor([2.0]), 2)
        tensor([0.4516])
    """
    from ember.special import multigammaln

    return multigammaln(input, p, out=out)


def _mvlgamma_(self: Tensor, p: int) -> Tensor:
    if not self.dtype.is_floating_point:
        raise RuntimeError(f"mvlgamma: result type {_scalar_word(self.dtype)} can't be cast to the desired output "
                           f"type Float")
    return self.copy_(mvlgamma(self, p))


def _scalar_word(dt: _dt.dtype) -> str:
    from ember.functions.indexing import _scalar_type

    return _scalar_type(dt)


def nuclear_norm(input: Tensor, dim: Any = None, keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    """The sum of singular values over the matrices of ``dim`` (the last two axes by default).

    Example:
        >>> ember.nuclear_norm(ember.eye(3))
        tensor(3.)
    """
    from ember.linalg import matrix_norm

    _deprecated("nuclear_norm")
    if isinstance(dim, bool):  # nuclear_norm(x, True): PyTorch's (input, keepdim) overload
        dim, keepdim = None, dim
    return matrix_norm(input, "nuc", dim=(-2, -1) if dim is None else tuple(dim), keepdim=keepdim, out=out)


TriangularSolveResult = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])
LUUnpackResult = namedtuple("lu_unpack", ["P", "L", "U"])


def triangular_solve(b: Tensor, A: Tensor, upper: bool = True, transpose: bool = False, unitriangular: bool = False,
                     *, out: Any = None) -> Any:
    """The old triangular solve: ``X`` with ``op(A) X = b`` (``op`` a transpose when asked), returned
    with a copy of ``A`` (``ember.linalg.solve_triangular`` has the arguments the other way round)."""
    from ember.linalg import solve_triangular
    from ember.linalg.triangular import _out_many

    _deprecated("triangular_solve")
    if b.dim() < 2 or A.dim() < 2:
        raise RuntimeError(f"torch.triangular_solve: Expected b to have at least 2 dimensions, but it has "
                           f"{b.dim()} dimensions instead" if b.dim() < 2 else
                           f"torch.triangular_solve: Expected A to have at least 2 dimensions, but it has "
                           f"{A.dim()} dimensions instead")
    coef = A.mT if transpose else A
    X = solve_triangular(coef, b, upper=upper != transpose, unitriangular=unitriangular)
    batch = tuple(X.shape[:-2])
    return _out_many(TriangularSolveResult(X, A.expand(batch + tuple(A.shape[-2:])).clone()), out)


def lu(A: Tensor, pivot: bool = True, get_infos: bool = False, out: Any = None) -> Any:
    """The old LU: ``(LU, pivots)``, with the ``infos`` of each matrix when ``get_infos``
    (``ember.linalg.lu_factor_ex``)."""
    from ember.linalg import lu_factor_ex

    _deprecated("lu")
    try:  # (PyTorch's torch.lu returns a singular matrix's factors without complaint)
        LU, pivots, infos = lu_factor_ex(A, pivot=pivot)
    except RuntimeError as exc:
        raise RuntimeError(str(exc).replace("linalg.lu_factor_ex:", "linalg.lu_factor:")) from None
    result = (LU, pivots, infos) if get_infos else (LU, pivots)
    if out is not None:
        for o, r in zip(out, result):
            o.resize_(r.shape).copy_(r)
        return out
    return result


def lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Solve ``A X = b`` from the LU factorization of ``A`` (``ember.linalg.lu_solve``, arguments
    the other way round)."""
    from ember.linalg import lu_solve as _lu_solve

    _deprecated("lu_solve")
    return _lu_solve(LU_data, LU_pivots, b, out=out)


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True, unpack_pivots: bool = True, *,
              out: Any = None) -> Any:
    """``(P, L, U)`` from the compact LU of ``lu``/``linalg.lu_factor``; an empty tensor for a part
    not asked for."""
    from ember.linalg.lu import _permutation
    from ember.linalg.triangular import _out_many

    m, n = LU_data.shape[-2], LU_data.shape[-1]
    k = min(m, n)
    empty = LU_data.new_empty((0,))
    if unpack_data:
        L = LU_data[..., :, :k].tril(-1) + _eye(m, k, LU_data)
        U = LU_data[..., :k, :].triu()
    else:
        L = U = empty
    if unpack_pivots:
        if LU_pivots.dtype is not _dt.int32:
            raise RuntimeError("torch.lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 "
                               "dtype.\nNote: this function is intended to be used with the output produced by "
                               "torch.linalg.lu_factor")
        P = _rows_to_matrix(_permutation(LU_pivots if k == m else _full_pivots(LU_pivots, m)), m, LU_data)
    else:
        P = empty
    return _out_many(LUUnpackResult(P, L, U), out)


def _eye(m: int, n: int, like: Tensor) -> Tensor:
    from ember.functions.creation import eye

    return eye(m, n, dtype=like.dtype, device=like.device)


def _full_pivots(piv: Tensor, m: int) -> Tensor:
    """Pivots of a wide factorization (k < m) padded with the identity rows k+1..m (1-based)."""
    from ember.functions.creation import arange
    from ember.functions.shape import cat

    k = piv.shape[-1]
    tail = arange(k + 1, m + 1, dtype=_dt.int64, device=piv.device).expand(tuple(piv.shape[:-1]) + (m - k,))
    return cat([piv.to(_dt.int64), tail], -1)


def _rows_to_matrix(perm: Tensor, m: int, like: Tensor) -> Tensor:
    """P[..., perm[i], i] = 1: the permutation matrix with ``A = P L U``."""
    from ember.functions.creation import arange

    return (perm.unsqueeze(-2) == arange(m, device=perm.device).unsqueeze(-1)).to(like.dtype)


# ---- control flow: eager ``cond`` / ``while_loop`` ----------------------------------------------------


def _tree_leaves(value: Any) -> list:
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in _tree_leaves(v)]
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _tree_leaves(v)]
    return [value]


def cond(pred: Any, true_fn: Any, false_fn: Any, operands: tuple | list = ()) -> Any:
    """``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)``, run eagerly (PyTorch's eager path).

    ``pred`` is a Python bool/int/float or a one-element tensor; ``operands`` a tuple or list whose
    (possibly nested) leaves are tensors.
    """
    if not isinstance(pred, (bool, int, float)):
        if not isinstance(pred, Tensor):
            raise RuntimeError(f"Expected pred to be bool or tensor, but got {pred}.")
        if pred.numel() != 1:
            raise RuntimeError(f"Expected pred to be bool or single-element tensor, but got {pred}.")
        if not callable(true_fn) or not callable(false_fn):
            raise RuntimeError("Expect both branches to be callable.")
        if not isinstance(operands, (tuple, list)) or any(not isinstance(t, Tensor) for t in _tree_leaves(operands)):
            raise RuntimeError("Expect operands to be a tuple of possibly nested dict/list/tuple that only "
                               f"consists of tensor leaves, but got {operands}.")
        pred = bool(pred)
    return true_fn(*operands) if pred else false_fn(*operands)


def while_loop(cond_fn: Any, body_fn: Any, carried_inputs: Any) -> tuple:
    """Run ``carried = body_fn(*carried)`` while ``cond_fn(*carried)``, eagerly; returns the final
    carried values as a tuple (tensors cloned when the body never ran, as PyTorch)."""
    if not callable(cond_fn) or not callable(body_fn):
        raise RuntimeError("Expect cond_fn and body_fn to be callable.")
    flat = _tree_leaves((carried_inputs, ()))
    if not all(isinstance(a, (Tensor, int)) for a in flat):
        raise AssertionError(f"{tuple(flat)} can only be of (<class 'torch.Tensor'>, <class 'int'>, "
                             f"<class 'torch.SymInt'>) but got {tuple(type(a) for a in flat)}")
    if not isinstance(carried_inputs, (tuple, list)):
        raise RuntimeError(f"carried_inputs must be a tuple or list but got {type(carried_inputs)}")

    def check(pred: Any) -> bool:
        if isinstance(pred, bool) or (isinstance(pred, Tensor) and tuple(pred.shape) == () and pred.dtype is _dt.bool_):
            return bool(pred)
        raise RuntimeError(f"cond_fn must return a boolean scalar tensor or a boolean but got {pred}")

    carried = tuple(carried_inputs)
    if not check(cond_fn(*carried)):
        return tuple(v.clone() if isinstance(v, Tensor) else v for v in carried)
    while True:
        out = body_fn(*carried)
        if not isinstance(out, tuple):
            raise AssertionError(f"body_fn should return a tuple but got {type(out)}")
        if len(out) != len(carried_inputs):
            raise AssertionError(f"body_fn should return the same number of elements as carried_inputs, got "
                                 f"{len(out)} vs {len(carried_inputs)}")
        carried = out
        if not check(cond_fn(*carried)):
            return carried


# ---- small top-level functions --------------------------------------------------------------------


def to_dlpack(tensor: Tensor) -> Any:
    """A DLPack capsule sharing ``tensor``'s memory (``ember.utils.dlpack.to_dlpack``)."""
    from ember.utils.dlpack import to_dlpack as _to

    return _to(tensor)


_CHOLESKY_WARNED = [False]


def cholesky(input: Tensor, upper: bool = False, *, out: Tensor | None = None) -> Tensor:
    """Deprecated ``torch.cholesky``: ``linalg.cholesky(input)`` (``.mH`` of it with ``upper=True``)."""
    if not _CHOLESKY_WARNED[0]:  # TORCH_WARN_ONCE
        _CHOLESKY_WARNED[0] = True
        warnings.warn("torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be removed in a "
                      "future PyTorch release.\nL = torch.cholesky(A)\nshould be replaced with\nL = "
                      "torch.linalg.cholesky(A)\nand\nU = torch.cholesky(A, upper=True)\nshould be replaced with\n"
                      "U = torch.linalg.cholesky(A).mH\nThis transform will produce equivalent results for all "
                      "valid (symmetric positive definite) inputs.", UserWarning, stacklevel=3)
    from ember import linalg

    return linalg.cholesky(input, upper=upper, out=out)


_SEGMENT_REDUCTIONS = ("sum", "mean", "max", "min", "prod")


def segment_reduce(data: Tensor, reduce: str, *, lengths: Tensor | None = None, indices: Tensor | None = None,
                   offsets: Tensor | None = None, axis: int = 0, unsafe: bool = False,
                   initial: Any = None) -> Tensor:
    """Reduce ``data`` over consecutive segments of ``axis`` given by ``lengths`` or ``offsets``
    (``sum``, ``mean``, ``max``, ``min``, ``prod``); an empty segment gets ``initial`` or the
    reduction's identity (NaN for ``mean``). Differentiable (composed of ember ops)."""
    from ember.functions.creation import full
    from ember.functions.shape import stack

    if reduce not in _SEGMENT_REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, max, min, mean or prod, got {reduce}")
    if indices is not None:
        raise RuntimeError("segment_reduce(): indices based reduction is not supported yet.")
    if lengths is None and offsets is None:
        raise RuntimeError("segment_reduce(): Either lengths or offsets must be defined")
    if axis < 0:
        axis += data.dim()
    if lengths is not None:
        if lengths.dim() != 1:
            raise NotImplementedError("segment_reduce: only 1-D lengths are supported by ember")
        if axis != 0:
            raise RuntimeError("segment_reduce(): Expected axis to be the last dimension of lengths but got "
                               f"{axis}.")
        counts = [int(v) for v in lengths.tolist()]
        if not unsafe:
            if any(c < 0 for c in counts):
                raise RuntimeError("segment_reduce(): lengths contains negative value!")
            if sum(counts) != data.shape[axis]:
                raise RuntimeError("segment_reduce(): Expected all rows of lengths along axis to sum to "
                                   "data.size(lengths.dim()-1) when !unsafe.")
        starts = [sum(counts[:i]) for i in range(len(counts))]
    else:
        if offsets.dim() != 1:
            raise NotImplementedError("segment_reduce: only 1-D offsets are supported by ember")
        if axis != 0:
            raise RuntimeError("segment_reduce(): Expected axis to be the last dimension of offsets but got "
                               f"{axis}.")
        bounds = [int(v) for v in offsets.tolist()]
        starts = bounds[:-1]
        counts = [b - a for a, b in zip(bounds[:-1], bounds[1:])]
    rest = tuple(data.shape[1:])
    empty_value = initial if initial is not None else {
        "sum": 0.0, "prod": 1.0, "max": -math.inf, "min": math.inf, "mean": math.nan}[reduce]
    rows = []
    for s, n in zip(starts, counts):
        if n <= 0:
            rows.append(full(rest, empty_value, dtype=data.dtype, device=data.device))
            continue
        seg = data[s:s + n]
        if reduce == "sum":
            r = seg.sum(0)
            r = r + initial if initial is not None else r
        elif reduce == "mean":
            r = (seg.sum(0) + initial) / n if initial is not None else seg.mean(0)
        elif reduce == "prod":
            r = seg.prod(0)
            r = r * initial if initial is not None else r
        elif reduce == "max":
            r = seg.amax(0)
            r = r.clamp_min(initial) if initial is not None else r
        else:
            r = seg.amin(0)
            r = r.clamp_max(initial) if initial is not None else r
        rows.append(r)
    if not rows:
        return data.new_empty((0, *rest))
    return stack(rows)


def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """``nonzero(input)`` as exactly ``size`` rows: truncated, or padded with ``fill_value``."""
    from ember.functions.creation import full
    from ember.functions.shape import cat

    if not isinstance(size, int) or isinstance(size, bool):
        raise TypeError(f"nonzero_static(): argument 'size' must be int, not {type(size).__name__}")
    if size < 0:
        raise RuntimeError(f"nonzero_static: 'size' must be an non-negative integer, but got size: {size}")
    nz = input.nonzero()
    if nz.shape[0] >= size:
        return nz[:size].clone()
    pad = full((size - nz.shape[0], input.dim()), fill_value, dtype=_dt.int64, device=input.device)
    return cat([nz, pad])


def slice_inverse(input: Tensor, src: Tensor, dim: int = 0, start: int | None = None, end: int | None = None,
                  step: int = 1) -> Tensor:
    """The inverse of slicing: a view of ``input``'s storage with ``src``'s sizes, strides and offset
    (``input`` being a slice ``src[start:end:step]`` along ``dim``, this is ``src`` again).

    The gradient reaches ``input`` at the sliced positions and ``src`` everywhere else, as PyTorch;
    when ``src`` requires grad the result is then a copy, not a view."""
    from ember.autograd.grad_mode import is_grad_enabled
    from ember.functions.misc import slice_scatter

    out = as_strided(input, tuple(src.shape), tuple(src.stride()), src.storage_offset())
    if src.requires_grad and is_grad_enabled():
        delta = src - src.detach()  # zero, carrying src's gradient outside the slice
        out = out + slice_scatter(delta, delta.new_zeros(tuple(input.shape)), dim, start, end, step)
    return out


def embedding_renorm_(input: Tensor, indices: Tensor, max_norm: float, norm_type: float) -> Tensor:
    """Rescale, in place, the rows of ``input`` named by ``indices`` whose ``norm_type``-norm exceeds
    ``max_norm`` to norm ``max_norm`` (as ``embedding(max_norm=)`` does); returns ``input``."""
    from ember.autograd.grad_mode import no_grad

    if input.dim() != 2:
        raise RuntimeError(f"embedding_renorm_(): Expected 2-D tensor for argument #1 'self' (got "
                           f"{input.dim()}-D tensor)")
    if indices.dtype not in (_dt.int64, _dt.int32):
        raise RuntimeError("Expected tensor for argument #2 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {indices.type()} instead (while checking arguments for "
                           "embedding_renorm_)")
    with no_grad():
        rows = indices.reshape(-1).long().unique()
        picked = input.index_select(0, rows)
        norms = picked.norm(norm_type, dim=1, keepdim=True)
        scale = (norms > max_norm).to(input.dtype) * (max_norm / (norms + 1e-7) - 1) + 1
        input.index_put_((rows,), picked * scale)
    return input


def native_batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,
                      running_var: Tensor | None, training: bool, momentum: float,
                      eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """``(output, save_mean, save_invstd)``: batch norm over every dim but 1, updating the running
    stats in training; the saved statistics are empty in evaluation, as PyTorch."""
    from ember.autograd.grad_mode import no_grad
    from ember.nn import functional as F

    out = F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    if not training:
        empty = input.new_empty((0,))
        return out, empty, empty.clone()
    dims = tuple(d for d in range(input.dim()) if d != 1)
    with no_grad():
        x = input.detach()
        mean = x.mean(dims)
        invstd = (x.var(dims, unbiased=False) + eps).rsqrt()
    return out, mean, invstd


def native_group_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, N: int, C: int, HxW: int,
                      group: int, eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """``(output, mean, rstd)`` of group norm; ``mean`` and ``rstd`` are shaped ``(N, group)``."""
    from ember.nn import functional as F

    if input.numel() != N * C * HxW:
        raise RuntimeError(f"Expected input to have {N * C * HxW} elements, got {input.numel()}")
    out = F.group_norm(input, group, weight, bias, eps)
    x = input.reshape(N, group, -1)  # mean and rstd are differentiable outputs too, as PyTorch
    mean = x.mean(-1)
    rstd = (x.var(-1, unbiased=False) + eps).rsqrt()
    return out, mean, rstd


def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:
    """The ``pow``-norm over every dim but ``dim`` (kept, the others size 1); ``dim=-1``: of all of ``v``."""
    if dim == -1:
        return v.norm(pow)
    if dim < 0:
        dim += v.dim()
    others = tuple(d for d in range(v.dim()) if d != dim)
    return v.norm(pow, dim=others, keepdim=True) if others else v.abs()


# ---- randomized low-rank SVD / PCA (Halko, Martinsson & Tropp, 2009) --------------------------------


def _approximate_basis(A: Tensor, q: int, niter: int, M: Tensor | None) -> Tensor:
    """An orthonormal ``(..., m, q)`` basis approximating the range of ``A - M``."""
    from ember import linalg
    from ember.functions.creation import randn

    X = A if M is None else A - M
    R = randn(*X.shape[:-2], X.shape[-1], q, dtype=A.dtype, device=A.device)
    Q = linalg.qr(X @ R).Q
    for _ in range(niter):
        Q = linalg.qr(X.mH @ Q).Q
        Q = linalg.qr(X @ Q).Q
    return Q


def svd_lowrank(A: Tensor, q: int | None = 6, niter: int | None = 2,
                M: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """``(U, S, V)`` of a rank-``q`` randomized SVD of ``A - M`` (``A ≈ U diag(S) V^H``)."""
    from ember import linalg

    q = 6 if q is None else q
    niter = 2 if niter is None else niter
    m, n = A.shape[-2], A.shape[-1]
    if M is not None:
        M = M.broadcast_to(A.shape)
    if m < n:  # work on the tall transpose
        U, S, V = svd_lowrank(A.mH, q, niter, None if M is None else M.mH)
        return V, S, U
    Q = _approximate_basis(A, q, niter, M)
    B = Q.mH @ (A if M is None else A - M)
    U, S, Vh = linalg.svd(B, full_matrices=False)
    return Q @ U, S, Vh.mH


def pca_lowrank(A: Tensor, q: int | None = None, center: bool = True,
                niter: int = 2) -> tuple[Tensor, Tensor, Tensor]:
    """``(U, S, V)``: a randomized rank-``q`` PCA of ``A`` (its centered columns by default);
    ``q`` defaults to ``min(6, m, n)``."""
    m, n = A.shape[-2], A.shape[-1]
    if q is None:
        q = min(6, m, n)
    elif not (q >= 0 and q <= min(m, n)):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if not center:
        return svd_lowrank(A, q, niter, None)
    return svd_lowrank(A, q, niter, A.mean(-2, keepdim=True))


# ---- functional RNN cells (``torch.lstm_cell`` ...) ------------------------------------------------


def _cell_proj(input: Tensor, w_ih: Tensor, b_ih: Tensor | None) -> Tensor:
    from ember.nn import functional as F

    return F.linear(input, w_ih, b_ih)


def lstm_cell(input: Tensor, hx: Any, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
              b_hh: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """One LSTM step: ``(h', c')`` from ``input`` and ``hx = (h, c)``."""
    from ember.nn.modules.rnn import _lstm_step

    if len(hx) != 2:
        raise RuntimeError(f"lstm_cell expects two hidden states, got {len(hx)}")
    return _lstm_step(_cell_proj(input, w_ih, b_ih), hx[0], hx[1], w_hh, b_hh)


def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
             b_hh: Tensor | None = None) -> Tensor:
    """One GRU step: the next hidden state."""
    from ember.nn.modules.rnn import _gru_step

    return _gru_step(_cell_proj(input, w_ih, b_ih), hx, w_hh, b_hh)


def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
                  b_hh: Tensor | None = None) -> Tensor:
    """One Elman RNN step with tanh."""
    from ember.nn.modules.rnn import _rnn_step

    return _rnn_step(_cell_proj(input, w_ih, b_ih), hx, w_hh, b_hh, False)


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
                  b_hh: Tensor | None = None) -> Tensor:
    """One Elman RNN step with relu."""
    from ember.nn.modules.rnn import _rnn_step

    return _rnn_step(_cell_proj(input, w_ih, b_ih), hx, w_hh, b_hh, True)


# ---- device modules, autocast state, denormals ----------------------------------------------------


def get_device_module(device: Any = None) -> Any:
    """The ``ember.<type>`` module of ``device`` (a device, a string, or None: the current accelerator's, else cpu)."""
    from ember import plugins
    from ember._device_module import device_module
    from ember.device import device as _device

    if device is None:
        from ember import accelerator

        acc = accelerator.current_accelerator()
        return device_module(acc.type if acc is not None else "cpu")
    if isinstance(device, _device):
        return device_module(device.type)
    if isinstance(device, str):
        kind = device.split(":")[0]
        if kind not in plugins.device_types() and kind not in ("cpu", "cuda"):
            _device(device)  # PyTorch's error for an unknown device string
        return device_module(kind)
    raise RuntimeError(f"Invalid value of device '{device}', expect torch.device, str, or None")


def _amp() -> Any:
    from ember.amp import autocast_mode

    return autocast_mode


def _deprecated_autocast(name: str, instead: str) -> None:
    warnings.warn(f"torch.{name} is deprecated. Please use torch.{instead} instead.", DeprecationWarning,
                  stacklevel=3)


def is_autocast_cpu_enabled() -> bool:
    """Deprecated: ``is_autocast_enabled("cpu")``."""
    _deprecated_autocast("is_autocast_cpu_enabled()", "is_autocast_enabled('cpu')")
    return _amp().is_autocast_enabled("cpu")


def set_autocast_cpu_enabled(enabled: bool) -> None:
    """Deprecated: ``set_autocast_enabled("cpu", enabled)``."""
    _deprecated_autocast("set_autocast_cpu_enabled(enabled)", "set_autocast_enabled('cpu', enabled)")
    _amp().set_autocast_enabled("cpu", enabled)


def get_autocast_cpu_dtype() -> Any:
    """Deprecated: ``get_autocast_dtype("cpu")``."""
    _deprecated_autocast("get_autocast_cpu_dtype()", "get_autocast_dtype('cpu')")
    return _amp().get_autocast_dtype("cpu")


def set_autocast_cpu_dtype(dtype: Any) -> None:
    """Deprecated: ``set_autocast_dtype("cpu", dtype)``."""
    _deprecated_autocast("set_autocast_cpu_dtype(dtype)", "set_autocast_dtype('cpu', dtype)")
    _amp().set_autocast_dtype("cpu", dtype)


def get_autocast_gpu_dtype() -> Any:
    """Deprecated: ``get_autocast_dtype("cuda")``."""
    _deprecated_autocast("get_autocast_gpu_dtype()", "get_autocast_dtype('cuda')")
    return _amp().get_autocast_dtype("cuda")


def set_autocast_gpu_dtype(dtype: Any) -> None:
    """Deprecated: ``set_autocast_dtype("cuda", dtype)``."""
    _deprecated_autocast("set_autocast_gpu_dtype(dtype)", "set_autocast_dtype('cuda', dtype)")
    _amp().set_autocast_dtype("cuda", dtype)


def clear_autocast_cache() -> None:
    """Drop the casts autocast cached (``ember.amp``'s state)."""
    _amp().clear_autocast_cache()


def is_autocast_cache_enabled() -> bool:
    """Whether autocast caches the casts of leaf tensors."""
    return _amp().is_autocast_cache_enabled()


def set_autocast_cache_enabled(enabled: bool) -> None:
    """Switch autocast's cast cache on or off."""
    _amp().set_autocast_cache_enabled(enabled)


def autocast_increment_nesting() -> int:
    """Enter one autocast level; returns the new depth."""
    return _amp().autocast_increment_nesting()


def autocast_decrement_nesting() -> int:
    """Leave one autocast level; returns the new depth (the cast cache is cleared at 0)."""
    return _amp().autocast_decrement_nesting()


def set_flush_denormal(mode: bool) -> bool:
    """Whether flushing denormals to zero could be set: ember's kernels keep IEEE denormals, so this
    is False (as PyTorch on a CPU without the SSE3 control bits) and nothing changes."""
    if not isinstance(mode, bool):
        raise TypeError(f"set_flush_denormal(): argument 'mode' (position 1) must be bool, not {type(mode).__name__}")
    return False


# ---- Tensor methods: deprecated resize, storages, set_, as_subclass ... -----------------------------


def _resize(self: Tensor, *sizes: Any) -> Tensor:
    """Deprecated out-of-place resize: a reshape to ``sizes`` that must keep the number of elements."""
    from ember.functions import shape as _sh

    warnings.warn("non-inplace resize is deprecated", UserWarning, stacklevel=2)
    return _reshape_same_numel(self, tuple(_sh._shape_args(sizes)))


def _resize_as(self: Tensor, tensor: Tensor) -> Tensor:
    """Deprecated out-of-place resize_as: a reshape to ``tensor``'s shape, keeping the number of elements."""
    warnings.warn("non-inplace resize_as is deprecated", UserWarning, stacklevel=2)
    return _reshape_same_numel(self, tuple(tensor.shape))


def _reshape_same_numel(self: Tensor, shape: tuple) -> Tensor:
    n = math.prod(shape)
    if n != self.numel():
        dims = "x".join(str(s) for s in shape)
        have = "x".join(str(s) for s in self.shape)
        raise RuntimeError(f"requested resize to {dims} ({n} elements in total), but the given tensor has a size of "
                           f"{have} ({self.numel()} elements). autograd's resize can only change the shape of a given "
                           "tensor, while preserving the number of elements. ")
    return self.reshape(shape)


class UntypedStorage:
    """The memory a tensor views, as far as ember's backends report it: ``size()``/``nbytes()`` in bytes,
    ``data_ptr()``, ``device``; ``tensor`` is one tensor covering all of it (its base)."""

    def __init__(self, tensor: Tensor, elements: int) -> None:
        self._tensor = tensor
        self._elements = elements

    @property
    def device(self) -> Any:
        return self._tensor.device

    def element_size(self) -> int:
        return 1

    def nbytes(self) -> int:
        return self._elements * self._tensor.element_size()

    def size(self) -> int:
        return self.nbytes()

    def __len__(self) -> int:
        return self.size()

    def data_ptr(self) -> int:
        return self._tensor.data_ptr() - self._tensor.storage_offset() * self._tensor.element_size()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UntypedStorage) and other.data_ptr() == self.data_ptr() and \
            _same_storage(other._tensor, self._tensor)

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.nbytes()} bytes on {self.device}>"


class TypedStorage(UntypedStorage):
    """``Tensor.storage()``: the storage counted in elements of the tensor's dtype (deprecated in PyTorch)."""

    @property
    def dtype(self) -> Any:
        return self._tensor.dtype

    def element_size(self) -> int:
        return self._tensor.element_size()

    def size(self) -> int:
        return self._elements

    def untyped(self) -> UntypedStorage:
        return UntypedStorage(self._tensor, self._elements)


def _storage_elements(self: Tensor) -> int:
    if _has_view_kernels(self):
        return int(self._kt["storage_size"](self._data))
    if self._base is None and self.is_contiguous():
        return self.numel()
    raise RuntimeError(f"untyped_storage: the {self.device.type} backend has no 'storage_size' kernel, so only a "
                       "contiguous tensor that is not a view reports its storage")


def _untyped_storage(self: Tensor) -> UntypedStorage:
    """The storage ``self`` views (``size()`` in bytes, ``data_ptr()``, ``device``)."""
    return UntypedStorage(self, _storage_elements(self))


_TYPED_STORAGE_WARNED = [False]


def _storage(self: Tensor) -> TypedStorage:
    """Deprecated typed storage of ``self`` (``size()`` in elements, ``dtype``); warns once, as PyTorch."""
    if not _TYPED_STORAGE_WARNED[0]:
        _TYPED_STORAGE_WARNED[0] = True
        warnings.warn("TypedStorage is deprecated. It will be removed in the future and UntypedStorage will be the "
                      "only storage class. This should only matter to you if you are using storages directly.  "
                      "To access UntypedStorage directly, use tensor.untyped_storage() instead of tensor.storage()",
                      UserWarning, stacklevel=2)
    return TypedStorage(self, _storage_elements(self))


def _storage_id(t: Tensor) -> Any:
    return t._storage_key if t._storage_key is not None else t._version


def _same_storage(a: Tensor, b: Tensor) -> bool:
    return _storage_id(a) is _storage_id(b) or (a._base if a._base is not None else a) is \
        (b._base if b._base is not None else b)


def _is_set_to(self: Tensor, tensor: Tensor) -> bool:
    """True when both tensors view the same storage with the same offset, sizes and strides."""
    return (_same_storage(self, tensor) and self.storage_offset() == tensor.storage_offset()
            and tuple(self.shape) == tuple(tensor.shape) and tuple(self.stride()) == tuple(tensor.stride()))


def _set_(self: Tensor, source: Any = None, storage_offset: int = 0, size: Any = None, stride: Any = None) -> Tensor:
    """Make ``self`` view ``source``'s memory (a tensor or a storage from ``untyped_storage()``), with
    ``source``'s geometry or the given ``storage_offset``/``size``/``stride``; no source: empty."""
    from ember.functions.shape import _set_data

    if self._requires_grad and self.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    if source is None:
        data = self.new_empty((0,))._data
        self._storage_key = None
        _set_data(self, data)
        self._version[0] += 1
        return self
    if isinstance(source, UntypedStorage):
        base = source._tensor
        if size is None:
            size = (source.nbytes() // base.element_size(),)
            storage_offset, stride = 0, (1,)
    elif isinstance(source, Tensor):
        base = source
    else:
        raise TypeError(f"set_(): argument 'source' must be Tensor or Storage, not {type(source).__name__}")
    if base.dtype is not self.dtype:
        raise RuntimeError(f"Could not set tensor of type {_type_word(base.dtype)} to a tensor of type "
                           f"{_type_word(self.dtype)}")
    if base.device != self.device:
        raise RuntimeError(f"Attempted to set the storage of a tensor on device \"{self.device}\" to a storage on "
                           f"different device \"{base.device}\".  This is no longer allowed; the devices must match.")
    if size is None and isinstance(source, Tensor):
        data = base._data
    else:
        size = tuple(int(s) for s in size)
        stride = tuple(stride) if stride is not None else _contiguous_strides(size)
        if not _has_view_kernels(base):
            raise RuntimeError(f"set_: the {base.device.type} backend has no 'as_strided' and 'storage_size' kernels, "
                               "so a tensor can only be set to another tensor's full geometry")
        _check_geometry(base, size, stride, int(storage_offset))
        data = base._kt["as_strided"](base._data, size, stride, int(storage_offset))
    _set_data(self, data)
    self._storage_key = _storage_id(base)
    self._version[0] += 1
    return self


def _type_word(dtype: Any) -> str:
    return {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int", "int32": "int",
            "bool": "bool"}.get(str(dtype).split(".")[-1], str(dtype).split(".")[-1])


def _contiguous_strides(size: tuple) -> tuple:
    strides, acc = [], 1
    for n in reversed(size):
        strides.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(strides))


def _as_subclass(self: Tensor, cls: type) -> Tensor:
    """``self`` as an instance of the Tensor subclass ``cls``, sharing memory and autograd history."""
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError("Creating a Tensor subclass from a class that does not inherit from Tensor is not possible. "
                        "Make sure your class inherits from Tensor.")
    out = self.view_as(self)
    out.__class__ = cls
    return out


def _record_stream(self: Tensor, stream: Any) -> None:
    """Mark ``self`` as used by ``stream``: ember's allocators do not recycle memory across streams,
    so there is nothing to record."""
    return None


def _chalf(self: Tensor, memory_format: Any = None) -> Tensor:
    """Refused: ember has no complex32 (``complex64``: ``cfloat()``)."""
    raise TypeError("chalf(): ember has no complex32 (ComplexHalf) dtype; use cfloat() for complex64")


# ---- declarations: Tensor methods, ``ember.*`` and ``__all__`` come from these -----------------------
_ops = Family(__name__)
_op = _ops.op
_op(as_strided, inplace=_as_strided_, export_inplace=True)
_op(as_strided_copy, method=False, out=True)
_op(as_strided_scatter, out=True)
_op(frombuffer, method=False)
_op(stft)
_op(istft)
_op(histogramdd, method=False)
_op(binomial, method=False)
_op(embedding_bag, method=False)
_op(eig)
_op(lstsq, out=True)
_op(solve, out=True)
_op(symeig, out=True)
_op(matrix_rank, method=False, out=True)
_op(mvlgamma, inplace=_mvlgamma_, out=True)
_op(nuclear_norm, method=False, out=True)
_op(triangular_solve, out=True)
_op(lu, out=True)
_op(lu_solve, out=True)
_op(lu_unpack, method=False, out=True)
for _fn in (cond, while_loop, to_dlpack, segment_reduce, embedding_renorm_, native_batch_norm,
            native_group_norm, norm_except_dim, svd_lowrank, pca_lowrank, lstm_cell, gru_cell, rnn_tanh_cell,
            rnn_relu_cell, get_device_module, is_autocast_cpu_enabled, set_autocast_cpu_enabled,
            get_autocast_cpu_dtype, set_autocast_cpu_dtype, get_autocast_gpu_dtype, set_autocast_gpu_dtype,
            clear_autocast_cache, is_autocast_cache_enabled, set_autocast_cache_enabled, autocast_increment_nesting,
            autocast_decrement_nesting, set_flush_denormal):
    _op(_fn, method=False)
_op(cholesky, out=True)
_op(nonzero_static)
_op(slice_inverse)
_op(_resize, "resize", export=False)
_op(_resize_as, "resize_as", export=False)
_op(_set_, "set_", export=False)
_op(_untyped_storage, "untyped_storage", export=False)
_op(_storage, "storage", export=False)
_op(_is_set_to, "is_set_to", export=False)
_op(_as_subclass, "as_subclass", export=False)
_op(_record_stream, "record_stream", export=False)
_op(_chalf, "chalf", export=False)

__all__ = _ops.names()
