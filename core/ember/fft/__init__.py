"""``ember.fft``: PyTorch's ``torch.fft`` (discrete Fourier transforms), with gradients.

Every transform is one of three primitives (``ember.fft._core``: complex-to-complex, real-to-complex,
complex-to-real, as PyTorch's aten ``_fft_c2c``/``_fft_r2c``/``_fft_c2r``), run by the backend's
optional ``fft_*`` kernels (``numpy.fft`` on cpu, cuFFT through ``cupy.fft`` on CUDA) or else by
DFT matrices through ``matmul`` on the device. ``n``/``s``, ``dim``, ``norm`` ("backward",
"ortho", "forward"), dtypes and errors follow PyTorch; the argument handling is PyTorch's own
reference implementation (``torch._refs.fft``). A device without complex dtypes (OpenCL) refuses
with a ``TypeError`` naming the device and dtype. See docs/fft.md.

Example:
    >>> import ember
    >>> ember.fft.fft(ember.tensor([1.0, 2.0, 3.0, 4.0]))
    tensor([10.+0.j, -2.+2.j, -2.+0.j, -2.-2.j])
    >>> ember.fft.irfft(ember.fft.rfft(ember.tensor([1.0, 2.0, 3.0, 4.0])))
    tensor([1., 2., 3., 4.])
    >>> ember.fft.fftfreq(4)
    tensor([ 0.0000,  0.2500, -0.5000, -0.2500])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ember import dtypes as _dt
from ember.fft import _core
from ember.tensor import Tensor, _wrap_dim

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn",
           "irfftn", "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq", "rfftfreq", "fftshift",
           "ifftshift"]

_WORD = {_dt.float16: "Half", _dt.bfloat16: "BFloat16", _dt.complex64: "ComplexFloat",
         _dt.complex128: "ComplexDouble", _dt.float32: "Float", _dt.float64: "Double"}


# ---- argument handling (PyTorch's torch._refs.fft, in ember ops) ----------------------------------
def _promote(x: Tensor, require_complex: bool) -> Tensor:
    """Integers and bools become the default float dtype; only float32/float64 (and their complex)
    transform, as on PyTorch's CPU; ``require_complex`` makes the result complex."""
    if not isinstance(x, Tensor):
        raise TypeError(f"fft(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    dt = x._dtype
    if dt.is_complex:
        _core.check_device(x, dt)
        return x
    if not dt.is_floating_point:
        dt = _dt.get_default_dtype()
    if dt not in (_dt.float32, _dt.float64):
        raise RuntimeError(f"Unsupported dtype {_WORD.get(dt, dt.name)}")
    _core.check_device(x, _dt.to_complex(dt))
    if x._dtype is not dt:
        x = x.to(dt)
    return _to_complex(x) if require_complex else x


def _to_complex(x: Tensor) -> Tensor:
    """A real tensor as complex (differentiable: its gradient is the real part)."""
    from ember.functions import complex_ops
    from ember.functions.creation import zeros_like

    return complex_ops.complex(x, zeros_like(x))


def _int_arg(fname: str, arg: str, value: Any, where: str = "") -> Any:
    """PyTorch's argument parser for an ``int``: an integer tensor of one element is one (``__index__``),
    a bool or float is not."""
    if isinstance(value, Tensor) and value.numel() == 1 and not value._dtype.is_floating_point \
            and not value._dtype.is_complex and value._dtype is not _dt.bool_:
        return int(value.item())
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{fname}(): argument '{arg}'{where} must be int, not {type(value).__name__}")
    return value


def _check_args(name: str, x: Any, n: Any, norm: Any) -> Any:
    """The argument parser's checks of a 1-D transform (TypeErrors); returns n as an int."""
    if not isinstance(x, Tensor):
        raise TypeError(f"fft_{name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    if norm is not None and not isinstance(norm, str):
        raise TypeError(f"fft_{name}(): argument 'norm' must be str, not {type(norm).__name__}")
    return None if n is None else _int_arg(f"fft_{name}", "n", n)


def _one_dim(x: Tensor, dim: int) -> tuple:
    if x.dim() == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return (_wrap_dim(dim, x.dim()),)


def _resize(x: Tensor, dims: Sequence[int], sizes: Sequence[int]) -> Tensor:
    """``x`` with ``x.size(dims[i]) == sizes[i]``: sliced from 0, or zero-padded at the end."""
    from ember.functions.creation import zeros
    from ember.functions.shape import cat

    for d, s in zip(dims, sizes):
        if s == -1:
            continue
        have = x.shape[d]
        if have > s:
            x = x.narrow(d, 0, s)
        elif have < s:
            shape = list(x.shape)
            shape[d] = s - have
            x = cat([x, zeros(shape, dtype=x.dtype, device=x.device)], d)
    return x


def _out(result: Tensor, out: Tensor | None, name: str | None = None) -> Tensor:
    """Write into ``out``: PyTorch casts to any complex ``out`` for a complex result and to any floating
    one for a real result, and refuses the other kinds, naming the transform (``fftn`` for fft2...)."""
    if out is None:
        return result
    if name is not None and isinstance(out, Tensor):
        from ember.linalg._common import type_word

        if result._dtype.is_complex and not out._dtype.is_complex:
            raise RuntimeError(f"{name} expects a complex output tensor, but got {type_word(out._dtype)}")
        if not result._dtype.is_complex and not out._dtype.is_floating_point:
            raise RuntimeError(f"{name} expects a floating point output tensor, but got {type_word(out._dtype)}")
    from ember.functions.elementwise import _out as ew_out

    return ew_out(result, out)


def _c2c_1d(name: str, x: Tensor, n: int | None, dim: int, norm: str | None, forward: bool) -> Tensor:
    dims = _one_dim(x, dim)
    size = n if n is not None else x.shape[dims[0]]
    if size < 1:
        raise RuntimeError(f"Invalid number of data points ({size}) specified")
    mode = _core.norm_mode(norm, forward)
    if n is not None:
        x = _resize(x, dims, (n,))
    return _core.c2c(x, dims, forward, mode)


def _r2c_1d(name: str, x: Tensor, n: int | None, dim: int, norm: str | None, forward: bool,
            onesided: bool) -> Tensor:
    if x._dtype.is_complex:
        raise RuntimeError(f"{name} expects a real input tensor, but got {_WORD[x._dtype]}")
    x = _promote(x, require_complex=False)
    dims = _one_dim(x, dim)
    size = n if n is not None else x.shape[dims[0]]
    if size < 1:
        raise RuntimeError(f"Invalid number of data points ({size}) specified")
    mode = _core.norm_mode(norm, forward)
    if n is not None:
        x = _resize(x, dims, (n,))
    out = _core.r2c(x, dims, mode, onesided)
    return out if forward else out.conj()


def _c2r_1d(name: str, x: Tensor, n: int | None, dim: int, norm: str | None, forward: bool) -> Tensor:
    x = _promote(x, require_complex=True)
    dims = _one_dim(x, dim)
    last = n if n is not None else 2 * (x.shape[dims[0]] - 1)
    if last < 1:
        raise RuntimeError(f"Invalid number of data points ({last}) specified")
    mode = _core.norm_mode(norm, forward)
    if n is not None:
        x = _resize(x, dims, (last // 2 + 1,))
    if forward:
        x = x.conj()
    return _core.c2r(x, dims, mode, last)


def _shape_and_dims(x: Tensor, s: Any, dim: Any) -> tuple[tuple, tuple]:
    """PyTorch's ``_canonicalize_fft_shape_and_dim_args``: dims default to the last len(s) (or all);
    -1 in ``s`` keeps that size."""
    nd = x.dim()
    dims: tuple = ()
    if dim is not None:
        if not isinstance(dim, Sequence):
            dim = (dim,)
        dims = tuple(_wrap_dim(d, nd) for d in dim)
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
    if s is not None:
        if not isinstance(s, Sequence):
            s = (s,)
        if dim is not None and len(dim) != len(s):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
        if len(s) > nd:
            raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has {nd} dimensions.")
        if dim is None:
            dims = tuple(range(nd - len(s), nd))
        shape = tuple(v if v != -1 else x.shape[d] for v, d in zip(s, dims))
    elif dim is None:
        dims, shape = tuple(range(nd)), tuple(x.shape)
    else:
        shape = tuple(x.shape[d] for d in dims)
    for v in shape:
        if v <= 0:
            raise RuntimeError(f"Invalid number of data points ({v}) specified")
    return shape, dims


def _c2r_shape_and_dims(name: str, x: Tensor, s: Any, dim: Any) -> tuple[tuple, tuple, int]:
    shape, dims = _shape_and_dims(x, s, dim)
    if not shape:
        raise RuntimeError(f"{name} must transform at least one axis")
    last = 2 * (x.shape[dims[-1]] - 1) if s is None or list(s)[-1] == -1 else shape[-1]
    if last < 1:
        raise RuntimeError(f"Invalid number of data points ({last}) specified")
    return shape[:-1] + (last // 2 + 1,), dims, last


def _c2c_nd(x: Tensor, s: Any, dim: Any, norm: str | None, forward: bool) -> Tensor:
    shape, dims = _shape_and_dims(x, s, dim)
    x = _promote(x, require_complex=True)
    mode = _core.norm_mode(norm, forward)
    x = _resize(x, dims, shape)
    if not dims:
        return x.clone()
    return _core.c2c(x, dims, forward, mode)


# ---- the transforms --------------------------------------------------------------------------------
def fft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *,
        out: Tensor | None = None) -> Tensor:
    """One-dimensional discrete Fourier transform (complex result; real input too).

    Example:
        >>> ember.fft.fft(ember.tensor([0.0, 1.0, 0.0, 0.0]))
        tensor([ 1.+0.j,  0.-1.j, -1.+0.j,  0.+1.j])
    """
    n = _check_args("fft", input, n, norm)
    if isinstance(input, Tensor) and input._dtype.is_complex:
        _core.check_device(input, input._dtype)
        return _out(_c2c_1d("fft", input, n, dim, norm, True), out, "fft")
    return _out(_r2c_1d("fft", input, n, dim, norm, True, onesided=False), out, "fft")


def ifft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *,
         out: Tensor | None = None) -> Tensor:
    """Inverse of :func:`fft` (scaled by 1/n with the default ``norm="backward"``).

    Example:
        >>> ember.fft.ifft(ember.tensor([4.0, 0.0, 0.0, 0.0])).real
        tensor([1., 1., 1., 1.])
    """
    n = _check_args("ifft", input, n, norm)
    if isinstance(input, Tensor) and input._dtype.is_complex:
        _core.check_device(input, input._dtype)
        return _out(_c2c_1d("ifft", input, n, dim, norm, False), out, "ifft")
    return _out(_r2c_1d("ifft", input, n, dim, norm, False, onesided=False), out, "ifft")


def rfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *,
         out: Tensor | None = None) -> Tensor:
    """FFT of a real signal: the n // 2 + 1 non-negative frequencies.

    Example:
        >>> ember.fft.rfft(ember.tensor([1.0, 1.0, 1.0, 1.0]))
        tensor([4.+0.j, 0.+0.j, 0.+0.j])
    """
    n = _check_args("rfft", input, n, norm)
    return _out(_r2c_1d("rfft", input, n, dim, norm, True, onesided=True), out, "rfft")


def irfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """Inverse of :func:`rfft`: a real signal of length ``n`` (default 2 * (m - 1)).

    Example:
        >>> ember.fft.irfft(ember.tensor([4.0, 0.0, 0.0]))
        tensor([1., 1., 1., 1.])
    """
    n = _check_args("irfft", input, n, norm)
    return _out(_c2r_1d("irfft", input, n, dim, norm, False), out, "irfft")


def hfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *,
         out: Tensor | None = None) -> Tensor:
    """FFT of a Hermitian-symmetric signal given by its first half: a real spectrum.

    Example:
        >>> ember.fft.hfft(ember.tensor([1.0, 0.0, 0.0]))
        tensor([1., 1., 1., 1.])
    """
    n = _check_args("hfft", input, n, norm)
    return _out(_c2r_1d("hfft", input, n, dim, norm, True), out, "hfft")


def ihfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """Inverse of :func:`hfft`: the half spectrum of a real signal (inverse direction).

    Example:
        >>> ember.fft.ihfft(ember.tensor([1.0, 1.0, 1.0, 1.0]))
        tensor([1.-0.j, 0.-0.j, 0.-0.j])
    """
    n = _check_args("ihfft", input, n, norm)
    return _out(_r2c_1d("ihfft", input, n, dim, norm, False, onesided=True), out, "ihfft")


def fftn(input: Tensor, s: Any = None, dim: Any = None, norm: str | None = None, *,
         out: Tensor | None = None) -> Tensor:
    """N-dimensional FFT over ``dim`` (default: all, or the last len(s)).

    Example:
        >>> ember.fft.fftn(ember.ones(2, 2))
        tensor([[4.+0.j, 0.+0.j],
                [0.+0.j, 0.+0.j]])
    """
    return _out(_c2c_nd(input, s, dim, norm, True), out, "fftn")


def ifftn(input: Tensor, s: Any = None, dim: Any = None, norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """Inverse of :func:`fftn`.

    Example:
        >>> ember.fft.ifftn(ember.fft.fftn(ember.ones(2, 2))).real
        tensor([[1., 1.],
                [1., 1.]])
    """
    return _out(_c2c_nd(input, s, dim, norm, False), out, "fftn")


def fft2(input: Tensor, s: Any = None, dim: Any = (-2, -1), norm: str | None = None, *,
         out: Tensor | None = None) -> Tensor:
    """Two-dimensional FFT (:func:`fftn` over the last two dims by default)."""
    return fftn(input, s, dim, norm, out=out)


def ifft2(input: Tensor, s: Any = None, dim: Any = (-2, -1), norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """Inverse of :func:`fft2`."""
    return ifftn(input, s, dim, norm, out=out)


def rfftn(input: Tensor, s: Any = None, dim: Any = None, norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """N-dimensional FFT of a real signal; the last transformed dim keeps n // 2 + 1 frequencies.

    Example:
        >>> ember.fft.rfftn(ember.ones(2, 4)).shape
        ember.Size([2, 3])
    """
    if isinstance(input, Tensor) and input._dtype.is_complex:
        raise RuntimeError(f"rfftn expects a real-valued input tensor, but got {_WORD[input._dtype]}")
    shape, dims = _shape_and_dims(input, s, dim)
    if not shape:
        raise RuntimeError("rfftn must transform at least one axis")
    x = _resize(_promote(input, require_complex=False), dims, shape)
    return _out(_core.r2c(x, dims, _core.norm_mode(norm, True), True), out, "rfftn")


def rfft2(input: Tensor, s: Any = None, dim: Any = (-2, -1), norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """Two-dimensional :func:`rfftn`."""
    return rfftn(input, s, dim, norm, out=out)


def irfft2(input: Tensor, s: Any = None, dim: Any = (-2, -1), norm: str | None = None, *,
           out: Tensor | None = None) -> Tensor:
    """Two-dimensional :func:`irfftn`."""
    return irfftn(input, s, dim, norm, out=out)


def irfftn(input: Tensor, s: Any = None, dim: Any = None, norm: str | None = None, *,
           out: Tensor | None = None) -> Tensor:
    """Inverse of :func:`rfftn`: a real result, the last dim of size ``s[-1]`` (default 2 * (m - 1)).

    Example:
        >>> ember.fft.irfftn(ember.fft.rfftn(ember.ones(2, 4)))
        tensor([[1., 1., 1., 1.],
                [1., 1., 1., 1.]])
    """
    shape, dims, last = _c2r_shape_and_dims("irfftn", input, s, dim)
    x = _resize(_promote(input, require_complex=True), dims, shape)
    return _out(_core.c2r(x, dims, _core.norm_mode(norm, False), last), out, "irfftn")


def hfftn(input: Tensor, s: Any = None, dim: Any = None, norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """N-dimensional :func:`hfft`: a real result from a Hermitian half spectrum."""
    shape, dims, last = _c2r_shape_and_dims("hfftn", input, s, dim)
    x = _resize(_promote(input, require_complex=True), dims, shape)
    if len(dims) > 1:
        x = _core.c2c(x, dims[:-1], True, _core.norm_mode(norm, True))
    result = _core.c2r(x.conj(), dims[-1:], _core.norm_mode(norm, True), last)
    return _out(result, out, "hfftn")


def ihfftn(input: Tensor, s: Any = None, dim: Any = None, norm: str | None = None, *,
           out: Tensor | None = None) -> Tensor:
    """N-dimensional :func:`ihfft`: the half spectrum (inverse direction) of a real signal."""
    if isinstance(input, Tensor) and input._dtype.is_complex:
        raise RuntimeError(f"Only supports floating-point dtypes, but found: {_WORD[input._dtype]}")
    shape, dims = _shape_and_dims(input, s, dim)
    if not shape:
        raise RuntimeError("ihfftn must transform at least one axis")
    x = _resize(_promote(input, require_complex=False), dims, shape)
    mode = _core.norm_mode(norm, False)
    tmp = _core.r2c(x, dims[-1:], mode, True)
    if len(dims) > 1:
        tmp = _core.c2c(tmp.conj(), dims[:-1], False, mode)
        return _out(tmp, out, "ihfftn")
    return _out(tmp.conj(), out, "ihfftn")


def hfft2(input: Tensor, s: Any = None, dim: Any = (-2, -1), norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """Two-dimensional :func:`hfftn`."""
    return hfftn(input, s, dim, norm, out=out)


def ihfft2(input: Tensor, s: Any = None, dim: Any = (-2, -1), norm: str | None = None, *,
           out: Tensor | None = None) -> Tensor:
    """Two-dimensional :func:`ihfftn`."""
    return ihfftn(input, s, dim, norm, out=out)


# ---- helpers -------------------------------------------------------------------------------------
def _freq_dtype(dtype: Any, out: Tensor | None = None) -> _dt.dtype:
    if out is not None:  # a factory with out= builds in out's dtype (and refuses a different dtype=)
        if dtype is not None and dtype is not out._dtype:
            raise RuntimeError(f"dtype {_WORD.get(dtype, dtype)} does not match dtype of out parameter "
                               f"({_WORD.get(out._dtype, out._dtype)})")
        dtype = out._dtype
    dt = dtype or _dt.get_default_dtype()
    if not dt.is_differentiable:
        raise RuntimeError("fftfreq requires a floating point or complex dtype")
    if dt.is_complex:  # PyTorch builds the frequencies with arange, which has no complex form
        raise NotImplementedError(f'"arange_cpu" not implemented for \'{_WORD[dt]}\'')
    return dt


def _times_inverse(ints: Tensor, dt: _dt.dtype, n: int, d: float) -> Tensor:
    """``ints * (1 / (n * d))`` in ``dt``, as PyTorch scales them (1 / 0 is inf there)."""
    scale = 1.0 / (n * d) if n * d else float("inf")
    return ints.to(dt) * scale


def fftfreq(n: int, d: float = 1.0, *, dtype: Any = None, layout: Any = None, device: Any = None,
            requires_grad: bool = False, out: Tensor | None = None) -> Tensor:
    """The sample frequencies of an n-point FFT: [0, 1, ..., -(n // 2), ..., -1] / (d * n).

    Example:
        >>> ember.fft.fftfreq(5)
        tensor([ 0.0000,  0.2000,  0.4000, -0.4000, -0.2000])
    """
    from ember.functions.creation import arange
    from ember.functions.shape import cat

    n = _int_arg("fft_fftfreq", "n", n, " (position 1)")
    dt = _freq_dtype(dtype, out)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    half = (n + 1) // 2
    ints = cat([arange(half, dtype=_dt.int64, device=device), arange(-(n // 2), 0, dtype=_dt.int64, device=device)])
    result = _times_inverse(ints, dt, n, d)
    result = _out(result, out)
    return result.requires_grad_() if requires_grad else result


def rfftfreq(n: int, d: float = 1.0, *, dtype: Any = None, layout: Any = None, device: Any = None,
             requires_grad: bool = False, out: Tensor | None = None) -> Tensor:
    """The sample frequencies of :func:`rfft`: [0, 1, ..., n // 2] / (d * n).

    Example:
        >>> ember.fft.rfftfreq(4)
        tensor([0.0000, 0.2500, 0.5000])
    """
    from ember.functions.creation import arange

    n = _int_arg("fft_rfftfreq", "n", n, " (position 1)")
    dt = _freq_dtype(dtype, out)
    half = (n // 2 if n >= 0 else -(-n // 2)) + 1  # C's truncating n / 2, as PyTorch computes it
    if half < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {half}: [{half}]")
    ints = arange(half, dtype=_dt.int64, device=device)
    result = _times_inverse(ints, dt, n, d)
    result = _out(result, out)
    return result.requires_grad_() if requires_grad else result


def _all_dims(x: Tensor, dim: Any) -> list:
    if dim is None:
        return list(range(x.dim()))
    return [dim] if not isinstance(dim, Sequence) else list(dim)


def fftshift(input: Tensor, dim: Any = None) -> Tensor:
    """Move the zero frequency to the centre (``roll`` by n // 2 along each of ``dim``).

    Example:
        >>> ember.fft.fftshift(ember.fft.fftfreq(4))
        tensor([-0.5000, -0.2500,  0.0000,  0.2500])
    """
    dims = _all_dims(input, dim)
    if not dims:
        raise RuntimeError("`shifts` required")
    return input.roll([input.shape[d] // 2 for d in dims], dims)


def ifftshift(input: Tensor, dim: Any = None) -> Tensor:
    """Inverse of :func:`fftshift` (``roll`` by (n + 1) // 2)."""
    dims = _all_dims(input, dim)
    if not dims:
        raise RuntimeError("`shifts` required")
    return input.roll([(input.shape[d] + 1) // 2 for d in dims], dims)

