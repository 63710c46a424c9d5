"""Counter-based random kernels (splitmix64, see ``ember.kernels``) on NumPy.

Every value is bit-identical to the formula evaluated on whole arrays (and so to the other
backends' kernels). Speed comes from two things:

* The bits are made a chunk at a time, in place, in buffers that stay in the CPU's cache. On whole
  arrays each of the formula's ~10 steps wrote a fresh temporary of 8 bytes per element to memory.
* Large outputs are split into contiguous parts filled by threads at once: NumPy releases the GIL
  inside its loops, and the float64 ``cos`` of Box-Muller (the C library's, one element at a time)
  is the single largest cost of ``randn``.

Example:
    >>> from ember import dtypes
    >>> rand_int((4,), 0, 10, 12345, 0, dtypes.int64, 0).tolist()
    [4, 7, 5, 0]
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import numpy as np
from ember import dtypes as _dt
from ember.threads import get_num_threads

from ember_cpu_numpy.dtypes import NP_DTYPE

__all__ = ["rand_uniform", "rand_normal", "rand_int"]

_MASK = (1 << 64) - 1
_SPLIT = 0x9E3779B97F4A7C15
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S11, _S27, _S30, _S31, _S40 = (np.uint64(s) for s in (11, 27, 30, 31, 40))
_ONE = np.uint64(1)
# (2 pi) * ((b >> 11) * 2**-53) == (b >> 11) * (2 pi * 2**-53) in float64: scaling by a power of
# two commutes with rounding, so one multiply gives the formula's angle exactly.
_TWO_PI_ULP = 2.0 * math.pi * 2.0 ** -53

#: elements per pass: a chunk's uint64/float64 scratch (~5 arrays) stays in L2 cache
_CHUNK = 1 << 14
#: outputs of at least this many elements per thread are split across threads
_PER_THREAD = 1 << 19
_RAMPS: dict[tuple[int, int], np.ndarray] = {}


def _ramp(lanes: int, step: int) -> np.ndarray:
    """(lane + j * step) * 0x9E3779B97F4A7C15 mod 2**64, shape (lanes, _CHUNK): counter spacing."""
    r = _RAMPS.get((lanes, step))
    if r is None:
        j = np.arange(_CHUNK, dtype=np.uint64) * np.uint64(step * _SPLIT & _MASK)
        r = _RAMPS[(lanes, step)] = np.stack([j + np.uint64(lane * _SPLIT & _MASK) for lane in range(lanes)])
    return r


def _mix_into(z: np.ndarray, tmp: np.ndarray, key: int, first: int, step: int) -> np.ndarray:
    """z[l, j] = bits(first + l + j * step), in place; ``tmp`` is scratch shaped like ``z``."""
    lanes, m = z.shape
    np.add(_ramp(lanes, step)[:, :m], np.uint64((key + (first + 1) * _SPLIT) & _MASK), out=z)
    np.right_shift(z, _S30, out=tmp)
    z ^= tmp
    z *= _M1
    np.right_shift(z, _S27, out=tmp)
    z ^= tmp
    z *= _M2
    np.right_shift(z, _S31, out=tmp)
    z ^= tmp
    return z


def _threads(n: int) -> int:
    # ember.set_num_threads() sets the cap; its default is the CPUs this process may run on
    return max(1, min(get_num_threads(), 8, n // _PER_THREAD))


def _fill(n: int, part: Callable[[int, int], None]) -> None:
    """Run ``part(start, stop)`` over range(n): in threads over contiguous parts when n is large.

    The parts are whole chunks, and every element's value depends only on its own counter, so
    the split never changes a number.
    """
    parts = _threads(n)
    if parts == 1:
        part(0, n)
        return
    step = -(-n // parts // _CHUNK) * _CHUNK
    bounds = [(s, min(s + step, n)) for s in range(0, n, step)]
    errors: list[BaseException] = []

    def guarded(a: int, b: int) -> None:
        try:
            part(a, b)
        except BaseException as exc:  # re-raised in the calling thread below
            errors.append(exc)

    workers = [threading.Thread(target=guarded, args=ab, daemon=True) for ab in bounds[1:]]
    for w in workers:
        w.start()
    guarded(*bounds[0])
    for w in workers:
        w.join()
    if errors:
        raise errors[0]


def _chunks(start: int, stop: int):
    return ((s, min(s + _CHUNK, stop)) for s in range(start, stop, _CHUNK))


def _scratch(lanes: int, n: int, dtype=np.uint64) -> np.ndarray:
    return np.empty(lanes * min(n, _CHUNK), dtype)


def _lanes(buf: np.ndarray, lanes: int, m: int) -> np.ndarray:
    """The first lanes * m elements of ``buf`` as a contiguous (lanes, m) array."""
    return buf[:lanes * m].reshape(lanes, m)


def rand_uniform(shape, key, offset, dtype, index):
    n = math.prod(shape)
    out = np.empty(n, NP_DTYPE[dtype])
    # float64: (bits >> 11) * 2**-53; else (bits >> 40) * 2**-24. Both products are exact in
    # float64, so one cast to the output dtype rounds as the formula does.
    shift, scale = (_S11, 2.0 ** -53) if dtype is _dt.float64 else (_S40, 2.0 ** -24)

    def part(start: int, stop: int) -> None:
        zb, tb = _scratch(1, stop - start), _scratch(1, stop - start)
        for s, e in _chunks(start, stop):
            b = _mix_into(_lanes(zb, 1, e - s), _lanes(tb, 1, e - s), key, offset + s, 1)[0]
            np.right_shift(b, shift, out=b)
            np.multiply(b, scale, out=out[s:e], casting="unsafe")

    _fill(n, part)
    return out.reshape(shape)


def rand_normal(shape, key, offset, dtype, index):
    n = math.prod(shape)
    out = np.empty(n, NP_DTYPE[dtype])

    def part(start: int, stop: int) -> None:
        zb, tb = _scratch(2, stop - start), _scratch(2, stop - start)
        rb, cb = _scratch(1, stop - start, np.float64), _scratch(1, stop - start, np.float64)
        for s, e in _chunks(start, stop):
            m = e - s
            # element i: u1 from counter offset + 2i (lane 0), u2 from offset + 2i + 1 (lane 1)
            b1, b2 = _mix_into(_lanes(zb, 2, m), _lanes(tb, 2, m), key, offset + 2 * s, 2)
            np.right_shift(b1, _S11, out=b1)
            b1 += _ONE  # < 2**53: exact, as is every float64 below until the log
            r = np.multiply(b1, 2.0 ** -53, out=rb[:m])
            np.log(r, out=r)
            r *= -2.0
            np.sqrt(r, out=r)
            np.right_shift(b2, _S11, out=b2)
            c = np.multiply(b2, _TWO_PI_ULP, out=cb[:m])
            np.cos(c, out=c)
            np.multiply(r, c, out=out[s:e], casting="same_kind")  # float64 product, one rounding

    _fill(n, part)
    return out.reshape(shape)


def rand_int(shape, low, high, key, offset, dtype, index):
    n = math.prod(shape)
    out = np.empty(n, NP_DTYPE[dtype])
    span = np.uint64(high - low)

    def part(start: int, stop: int) -> None:
        zb, tb = _scratch(1, stop - start), _scratch(1, stop - start)
        for s, e in _chunks(start, stop):
            b = _mix_into(_lanes(zb, 1, e - s), _lanes(tb, 1, e - s), key, offset + s, 1)[0]
            np.remainder(b, span, out=b)
            v = b.view(np.int64)
            np.add(v, np.int64(low), out=v)  # wraps mod 2**64 like the formula's int64 sum
            out[s:e] = v

    _fill(n, part)
    return out.reshape(shape)
