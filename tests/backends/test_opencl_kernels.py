"""Direct tests of the OpenCL backend's kernels against NumPy (no ember frontend involved)."""

from __future__ import annotations

import numpy as np
import pytest

try:
    from ember_opencl import runtime
    from ember_opencl.plugin import OpenCLBackend, ember_kernels
    _BACKEND = OpenCLBackend()
    _OK = _BACKEND.is_available()
except ImportError:  # pragma: no cover
    _OK = False
if not _OK:
    pytest.skip("no OpenCL runtime: apt-get install pocl-opencl-icd", allow_module_level=True)

import importlib  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from ember.random import mix64  # noqa: E402

# importlib: ``import ember.dtype`` would resolve to the ``ember.dtype`` class re-export.
E = importlib.import_module("ember.dtype")
K = ember_kernels("opencl")
FP64 = runtime.device(0).fp64
DTYPES = [d for d in _BACKEND.supported_dtypes(0)]
NP = {E.float32: np.float32, E.float64: np.float64, E.float16: np.float16, E.int64: np.int64,
      E.int32: np.int32, E.int16: np.int16, E.int8: np.int8, E.uint8: np.uint8, E.bool_: np.bool_,
      E.bfloat16: __import__("ml_dtypes").bfloat16}  # 16-bit storage computed in float32 (ember_opencl.lowp)
rng = np.random.default_rng(0)


def dev(a: np.ndarray):
    return K["from_host"](np.asarray(a), 0)


def host(x) -> np.ndarray:
    return K["to_host"](x)


def sample(shape, npd):
    npd = np.dtype(npd)
    if npd == np.bool_:
        return rng.random(shape) > 0.5
    if npd.kind in "iu":
        return rng.integers(1 if npd.kind == "u" else -9, 10, shape).astype(npd)
    return rng.standard_normal(shape).astype(npd)


# --- runtime / movement ---------------------------------------------------------------------

def test_backend_facts():
    assert _BACKEND.device_type == "opencl"
    assert _BACKEND.device_count() >= 1
    assert (E.float64 in DTYPES) == FP64
    assert set(K) >= set(__import__("ember.kernels", fromlist=["REQUIRED"]).REQUIRED)
    _BACKEND.synchronize()


@pytest.mark.parametrize("d", DTYPES, ids=lambda d: d.name)
def test_roundtrip_full_astype_every_dtype(d):
    a = sample((3, 4), NP[d])
    x = dev(a)
    assert host(x).dtype == np.dtype(NP[d])
    np.testing.assert_array_equal(host(x), a)
    np.testing.assert_array_equal(host(K["full"]((2, 3), 1, d, 0)), np.ones((2, 3), NP[d]))
    # astype to float32 and to bool from every dtype, on a transposed view
    xt = K["permute"](x, (1, 0))
    np.testing.assert_array_equal(host(K["astype"](xt, E.float32)), a.T.astype(np.float32))
    np.testing.assert_array_equal(host(K["astype"](xt, E.bool_)), a.T != 0)
    np.testing.assert_array_equal(host(K["clone"](xt)), a.T)
    # add on every dtype (bool: logical or)
    r = host(K["add"](x, x))
    np.testing.assert_array_equal(r, (a | a) if d is E.bool_ else a + a)


def test_astype_truncates_and_empty_zero_d():
    a = np.array([-1.7, -0.2, 0.0, 2.9], np.float32)
    np.testing.assert_array_equal(host(K["astype"](dev(a), E.int32)), a.astype(np.int32))
    z = dev(np.array(3.5, np.float32))
    assert z.shape == () and host(K["mul"](z, 2.0)) == 7.0
    e = dev(np.zeros((0, 3), np.float32))
    assert host(K["exp"](e)).shape == (0, 3)
    assert host(K["sum"](e, (0,), False)).tolist() == [0, 0, 0]
    assert host(K["empty"]((2, 0), E.int64, 0)).shape == (2, 0)


def test_arange():
    np.testing.assert_array_equal(host(K["arange"](2, 11, 3, E.int64, 0)), np.arange(2, 11, 3))
    np.testing.assert_allclose(host(K["arange"](0.0, 1.0, 0.25, E.float32, 0)),
                               np.arange(0, 1, 0.25, dtype=np.float32))
    assert host(K["arange"](5, 5, 1, E.int32, 0)).shape == (0,)


def test_views_share_memory():
    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    x = dev(a)
    v = K["slice"](x, ((1, 4, 2), (0, 6, 3)))
    assert v.base_buffer is x.base_buffer and v.shape == (2, 2)
    np.testing.assert_array_equal(host(v), a[1:4:2, 0:6:3])
    K["copy_"](v, -1.0)
    a[1:4:2, 0:6:3] = -1
    np.testing.assert_array_equal(host(x), a)
    K["copy_"](K["permute"](x, (1, 0)), dev(np.arange(24, dtype=np.float32).reshape(6, 4)))
    np.testing.assert_array_equal(host(x), np.arange(24, dtype=np.float32).reshape(6, 4).T)
    # broadcast copy from a row
    K["copy_"](x, dev(np.arange(6, dtype=np.float32)))
    np.testing.assert_array_equal(host(x), np.broadcast_to(np.arange(6, dtype=np.float32), (4, 6)))
    e = K["expand"](dev(np.array([[1.0], [2.0]], np.float32)), (2, 3))
    assert e.strides[1] == 0
    np.testing.assert_array_equal(host(e), [[1, 1, 1], [2, 2, 2]])
    assert not K["is_contiguous"](e) and K["is_contiguous"](x)


def test_reshape_view_or_copy():
    a = np.arange(60, dtype=np.int32).reshape(3, 4, 5)
    x = dev(a)
    r = K["reshape"](x, (12, 5))
    assert r.base_buffer is x.base_buffer
    t = K["permute"](x, (2, 0, 1))  # (5, 3, 4)
    r2 = K["reshape"](t, (5, 12))  # merging 3,4 of a permuted view is still a view
    assert r2.base_buffer is x.base_buffer
    np.testing.assert_array_equal(host(r2), a.transpose(2, 0, 1).reshape(5, 12))
    r3 = K["reshape"](t, (60,))
    np.testing.assert_array_equal(host(r3), a.transpose(2, 0, 1).reshape(60))
    s = K["slice"](x, ((0, 3, 1), (0, 4, 2), (0, 5, 1)))
    np.testing.assert_array_equal(host(K["reshape"](s, (6, 5))), a[:, ::2].reshape(6, 5))


def test_flip_pad_cat():
    a = sample((3, 4), np.float32)
    x = dev(a)
    np.testing.assert_array_equal(host(K["flip"](x, (0, 1))), a[::-1, ::-1])
    np.testing.assert_array_equal(host(K["pad"](x, ((1, 0), (2, 3)), 9.0)),
                                  np.pad(a, ((1, 0), (2, 3)), constant_values=9))
    b = sample((3, 2), np.float32)
    np.testing.assert_array_equal(host(K["cat"]([x, K["flip"](dev(b), (0,))], 1)),
                                  np.concatenate([a, b[::-1]], 1))


# --- elementwise ----------------------------------------------------------------------------

_REF_UNARY = {
    "exp": np.exp, "log": lambda v: np.log(np.abs(v) + 0.1), "log1p": lambda v: np.log1p(np.abs(v)),
    "expm1": np.expm1, "sqrt": lambda v: np.sqrt(np.abs(v)), "rsqrt": lambda v: 1 / np.sqrt(np.abs(v) + 0.1),
    "sin": np.sin, "cos": np.cos, "tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
    "neg": np.negative, "abs": np.abs, "sign": np.sign, "relu": lambda v: np.maximum(v, 0),
    "floor": np.floor, "ceil": np.ceil, "round": np.round, "trunc": np.trunc,
}
_PRE = {"log": lambda v: np.abs(v) + 0.1, "log1p": np.abs, "sqrt": np.abs,
        "rsqrt": lambda v: np.abs(v) + 0.1}


@pytest.mark.parametrize("name", sorted(_REF_UNARY) + ["erf"])
def test_unary_float_transposed(name):
    a = (sample((5, 7), np.float32) * 2).T  # non-contiguous input
    src = _PRE.get(name, lambda v: v)(a).astype(np.float32)
    x = K["permute"](dev(np.ascontiguousarray(src.T)), (1, 0))
    r = host(K[name](x))
    if name == "erf":
        from math import erf
        ref = np.vectorize(erf)(src.astype(np.float64))
    else:
        ref = {"log": np.log, "log1p": np.log1p, "sqrt": np.sqrt,
               "rsqrt": lambda v: 1 / np.sqrt(v)}.get(name, _REF_UNARY[name])(src)
    np.testing.assert_allclose(r, ref, rtol=2e-6 * 8, atol=1e-6)


@pytest.mark.parametrize("d", [E.int64, E.int8, E.uint8], ids=lambda d: d.name)
def test_unary_int(d):
    a = sample((9,), NP[d])
    x = dev(a)
    for name, f in [("abs", np.abs), ("sign", np.sign), ("relu", lambda v: np.maximum(v, 0))]:
        np.testing.assert_array_equal(host(K[name](x)), f(a).astype(NP[d]))
    np.testing.assert_array_equal(host(K["logical_not"](x)), a == 0)
    assert not host(K["isnan"](x)).any()


def test_nan_handling():
    a = np.array([1.0, np.nan, -2.0, np.inf], np.float32)
    b = np.array([np.nan, 0.0, -3.0, 1.0], np.float32)
    x, y = dev(a), dev(b)
    np.testing.assert_array_equal(host(K["isnan"](x)), np.isnan(a))
    np.testing.assert_array_equal(host(K["maximum"](x, y)), np.maximum(a, b))
    np.testing.assert_array_equal(host(K["minimum"](x, y)), np.minimum(a, b))
    np.testing.assert_array_equal(host(K["amax"](x, (0,), False)), np.max(a))
    np.testing.assert_array_equal(host(K["relu"](x)), np.array([1, np.nan, 0, np.inf], np.float32))
    np.testing.assert_array_equal(host(K["clamp"](x, -1.0, 2.0)), [1, np.nan, -1, 2])
    assert host(K["argmax"](x, 0, False)) == 1


_BIN = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
        "floor_divide": np.floor_divide, "remainder": np.remainder, "pow": np.power,
        "maximum": np.maximum, "minimum": np.minimum, "atan2": np.arctan2}


@pytest.mark.parametrize("name", sorted(_BIN))
def test_binary_float_broadcast(name):
    a = sample((4, 1, 5), np.float32)
    b = sample((3, 1), np.float32) + 0.5
    if name == "pow":
        a = np.abs(a)
    r = host(K[name](dev(a), dev(b)))
    np.testing.assert_allclose(r, _BIN[name](a, b), rtol=1e-5, atol=1e-6)
    # scalar on either side
    np.testing.assert_allclose(host(K[name](dev(a), 1.5)), _BIN[name](a, np.float32(1.5)),
                               rtol=1e-5, atol=1e-6)
    if name != "pow":
        np.testing.assert_allclose(host(K[name](-2.5, dev(b))), _BIN[name](np.float32(-2.5), b),
                                   rtol=1e-5, atol=1e-6)


def test_repeated_ops_take_the_cached_launch():
    """A repeated op (same layouts) takes its cached launch: new buffers, offsets and scalar values
    each time, and the results stay NumPy's. Views with offsets, broadcasting, a bool array with
    an int scalar (sent as a uchar of bool(v)), an int array with a float scalar (truncated as
    the kernel argument), and a unary op."""
    base = sample((5, 8), np.float32)
    for step in range(3):  # the first call fills the cache, the next ones hit it
        a = sample((4, 8), np.float32)
        row = dev(base)  # a view at an offset: rows 1..4
        view = K["as_strided"](row, (4, 8), (8, 1), 8)
        np.testing.assert_array_equal(host(K["mul"](dev(a), 0.5 + step)), a * np.float32(0.5 + step))
        np.testing.assert_array_equal(host(K["add"](view, dev(a))), base[1:] + a)
        np.testing.assert_array_equal(host(K["sub"](dev(a), dev(a[0]))), a - a[0])
        np.testing.assert_array_equal(host(K["neg"](view)), -base[1:])
        flags = sample((6,), np.bool_)
        np.testing.assert_array_equal(host(K["add"](dev(flags), 2 + step)), flags | True)
        ints = sample((6,), np.int64)
        np.testing.assert_array_equal(host(K["mul"](dev(ints), 3 + step)), ints * (3 + step))
        np.testing.assert_array_equal(host(K["add"](dev(ints), 1.75)), ints + 1)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "floor_divide", "remainder", "pow",
                                  "maximum", "bitwise_and", "bitwise_xor"])
def test_binary_int(name):
    a = sample((6, 5), np.int64)
    b = sample((5,), np.int64)
    b[b == 0] = 3
    if name == "pow":
        b = np.abs(b) % 4
    ref = {"bitwise_and": np.bitwise_and, "bitwise_xor": np.bitwise_xor}.get(name) or _BIN[name]
    x = K["permute"](dev(np.ascontiguousarray(a.T)), (1, 0))
    np.testing.assert_array_equal(host(K[name](x, dev(b))), ref(a, b))


def test_compare_logical_where_clamp():
    a = sample((3, 4), np.int32)
    b = sample((4,), np.int32)
    x, y = dev(a), dev(b)
    for name, f in [("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                    ("gt", np.greater), ("ge", np.greater_equal)]:
        np.testing.assert_array_equal(host(K[name](x, y)), f(a, b))
        np.testing.assert_array_equal(host(K[name](x, 2)), f(a, 2))
    p, q = a > 0, b > 0
    for name, f in [("logical_and", np.logical_and), ("logical_or", np.logical_or),
                    ("logical_xor", np.logical_xor), ("bitwise_or", np.bitwise_or)]:
        np.testing.assert_array_equal(host(K[name](dev(p), dev(q))), f(p, q))
    c = dev(p)
    np.testing.assert_array_equal(host(K["where"](c, x, y)), np.where(p, a, b))
    np.testing.assert_array_equal(host(K["where"](c, x, 0)), np.where(p, a, 0))
    np.testing.assert_array_equal(host(K["clamp"](x, -2, None)), np.clip(a, -2, None))
    np.testing.assert_array_equal(host(K["clamp"](x, None, 3)), np.clip(a, None, 3))


# --- reductions / scans ---------------------------------------------------------------------

@pytest.mark.parametrize("dims", [(0,), (1,), (0, 2), (0, 1, 2)])
def test_reductions_permuted(dims):
    a = sample((4, 5, 6), np.float32)
    x = K["permute"](dev(a), (2, 0, 1))
    at = a.transpose(2, 0, 1)
    for name, f in [("sum", np.sum), ("prod", np.prod), ("amax", np.max), ("amin", np.min)]:
        for keep in (False, True):
            np.testing.assert_allclose(host(K[name](x, dims, keep)), f(at, axis=dims, keepdims=keep),
                                       rtol=1e-4, atol=1e-5)
    m = at > 0.5
    np.testing.assert_array_equal(host(K["any"](dev(m), dims, False)), m.any(axis=dims))
    np.testing.assert_array_equal(host(K["all"](dev(m), dims, True)), m.all(axis=dims, keepdims=True))


def test_reduction_large_two_stage_and_ints():
    a = sample((200003,), np.float32)
    np.testing.assert_allclose(host(K["sum"](dev(a), (0,), False)), a.astype(np.float64).sum(),
                               rtol=1e-5)
    i = sample((3, 50000), np.int64)
    np.testing.assert_array_equal(host(K["sum"](dev(i), (1,), False)), i.sum(1))
    np.testing.assert_array_equal(host(K["amin"](dev(i), (0, 1), False)), i.min())


@pytest.mark.parametrize("d", [d for d in DTYPES if d is not E.bool_], ids=lambda d: d.name)
def test_any_all_non_bool_inputs(d):
    """any/all test each value against zero in its own dtype: 0.5 and -0.25 are true, NaN too
    (a conversion to the int accumulator first turned them into 0)."""
    npd = np.dtype(NP[d])
    if npd.kind == "f":
        a = np.array([[0.5, 0, 0, 0], [0, 0, 0, 0], [0.25, -0.1, 2, np.nan], [1, 1, 0.5, 1]], npd)
    else:
        a = np.array([[3, 0, 0, 0], [0, 0, 0, 0], [1, 2, 7, 1], [1, 1, 0, 1]], npd)
    for dims in [(0,), (1,), (0, 1)]:
        for keep in (False, True):
            np.testing.assert_array_equal(host(K["any"](dev(a), dims, keep)), a.any(axis=dims, keepdims=keep))
            np.testing.assert_array_equal(host(K["all"](dev(a), dims, keep)), a.all(axis=dims, keepdims=keep))
    # the two-stage path (few outputs, many elements); the last element decides any
    big = np.zeros(70001, npd)
    big[-1] = 0.5 if npd.kind == "f" else 1
    assert host(K["any"](dev(big), (0,), False)) == big.any()
    full = np.full(70001, 0.5 if npd.kind == "f" else 3, npd)
    assert host(K["all"](dev(full), (0,), False)) == full.all()


def test_argmax_argmin():
    a = rng.integers(0, 4, (5, 7)).astype(np.float32)  # many ties: first occurrence wins
    x = K["permute"](dev(np.ascontiguousarray(a.T)), (1, 0))
    for dim in (0, 1):
        np.testing.assert_array_equal(host(K["argmax"](x, dim, False)), a.argmax(dim))
        np.testing.assert_array_equal(host(K["argmin"](x, dim, True)),
                                      a.argmin(dim)[..., None] if dim else a.argmin(0)[None])
    assert host(K["argmax"](x, None, False)) == a.argmax()
    assert host(K["argmin"](x, None, True)).shape == (1, 1)


def test_cumsum_cumprod_sort():
    a = sample((4, 6), np.float32)
    x = K["permute"](dev(np.ascontiguousarray(a.T)), (1, 0))
    for dim in (0, 1):
        np.testing.assert_allclose(host(K["cumsum"](x, dim)), np.cumsum(a, dim), rtol=1e-5)
        np.testing.assert_allclose(host(K["cumprod"](x, dim)), np.cumprod(a, dim), rtol=1e-5)
    b = rng.integers(0, 5, (3, 37)).astype(np.float32)
    b[0, 3] = np.nan
    for dim in (0, 1):
        v, i = K["sort"](dev(b), dim, False)
        np.testing.assert_array_equal(host(v), np.sort(b, dim, kind="stable"))
        np.testing.assert_array_equal(host(i), np.argsort(b, dim, kind="stable"))
    v, i = K["sort"](dev(b[1:]), 1, True)
    ref_i = np.argsort(-b[1:], 1, kind="stable")
    np.testing.assert_array_equal(host(i), ref_i)
    np.testing.assert_array_equal(host(v), np.take_along_axis(b[1:], ref_i, 1))
    n = sample((100,), np.int32)
    v, i = K["sort"](dev(n), 0, False)
    np.testing.assert_array_equal(host(i), np.argsort(n, kind="stable"))


# --- random ---------------------------------------------------------------------------------

_M64 = (1 << 64) - 1


def _bits(key: int, counters) -> np.ndarray:
    """The documented formula, in Python integers."""
    return np.array([mix64((key + (c + 1) * 0x9E3779B97F4A7C15) & _M64) for c in counters],
                    dtype=np.uint64)


def test_random_matches_formula():
    key, off = mix64(1234), 5
    u = host(K["rand_uniform"]((4, 5), key, off, E.float32, 0))
    ref = ((_bits(key, range(off, off + 20)) >> np.uint64(40)).astype(np.float64) * 2.0 ** -24)
    np.testing.assert_array_equal(u, ref.astype(np.float32).reshape(4, 5))
    if FP64:
        u64 = host(K["rand_uniform"]((7,), key, off, E.float64, 0))
        ref = (_bits(key, range(off, off + 7)) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
        np.testing.assert_array_equal(u64, ref)
    z = host(K["rand_normal"]((6,), key, off, E.float32, 0))
    b1, b2 = _bits(key, range(off, off + 12, 2)), _bits(key, range(off + 1, off + 12, 2))
    u1 = ((b1 >> np.uint64(11)) + np.uint64(1)).astype(np.float64) * 2.0 ** -53
    u2 = (b2 >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    ref = (np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)).astype(np.float32)
    np.testing.assert_array_max_ulp(z, ref, maxulp=1)
    r = host(K["rand_int"]((9,), -3, 10, key, off, E.int64, 0))
    np.testing.assert_array_equal(r, -3 + (_bits(key, range(off, off + 9)) % np.uint64(13)).astype(np.int64))
    # a huge key/offset wraps mod 2**64 like the reference
    big = host(K["rand_int"]((2,), 0, 1000, _M64, _M64 - 1, E.int32, 0))
    np.testing.assert_array_equal(big, (_bits(_M64, [_M64 - 1, _M64]) % np.uint64(1000)).astype(np.int32))


# --- indexing -------------------------------------------------------------------------------

def test_gather_scatter():
    a = sample((4, 5), np.float32)
    ix = rng.integers(0, 4, (3, 5))
    x = dev(a)
    np.testing.assert_array_equal(host(K["gather"](x, 0, dev(ix))), np.take_along_axis(a, ix, 0))
    src = sample((3, 5), np.float32)
    ref = a.copy()
    for i in range(3):
        for j in range(5):
            ref[ix[i, j], j] += src[i, j]
    np.testing.assert_allclose(host(K["scatter_add"](x, 0, dev(ix), dev(src))), ref, rtol=1e-6)
    ix1 = np.array([[4, 0], [1, 1]])
    ref = a[:2].copy()
    np.put_along_axis(ref, ix1, 7.0, 1)
    np.testing.assert_array_equal(host(K["scatter"](K["slice"](x, ((0, 2, 1), (0, 5, 1))), 1,
                                                    dev(ix1), 7.0)), ref[:2])
    np.testing.assert_array_equal(host(x), a)  # inputs untouched
    ci = sample((3, 5), np.int32)
    ref = np.zeros((4, 5), np.int32)
    np.add.at(ref, (ix, np.arange(5)[None]), ci)
    np.testing.assert_array_equal(host(K["scatter_add"](dev(np.zeros((4, 5), np.int32)), 0,
                                                        dev(ix), dev(ci))), ref)


def test_index_select_put_nonzero():
    a = sample((4, 3), np.float32)
    idx = np.array([3, 0, 3, 1])
    x = dev(a)
    np.testing.assert_array_equal(host(K["index_select"](x, 0, dev(idx))), a[idx])
    np.testing.assert_array_equal(host(K["index_select"](x, 1, dev(np.array([2, 2])))), a[:, [2, 2]])
    vals = sample((4, 3), np.float32)
    ref = a.copy()
    np.add.at(ref, idx, vals)
    np.testing.assert_allclose(host(K["index_put"](x, dev(idx), dev(vals), True)), ref, rtol=1e-6)
    ref = a.copy()
    ref[idx] = vals
    np.testing.assert_array_equal(host(K["index_put"](x, dev(idx), dev(vals), False)), ref)
    ref = a.copy()
    ref[idx] = 0.5
    np.testing.assert_array_equal(host(K["index_put"](x, dev(idx), 0.5, False)), ref)
    m = rng.random((3, 4, 5)) > 0.6
    np.testing.assert_array_equal(host(K["nonzero"](dev(m))), np.argwhere(m))
    big = rng.random(9000) > 0.7
    np.testing.assert_array_equal(host(K["nonzero"](K["flip"](dev(big), (0,)))), np.argwhere(big[::-1]))


# --- matmul ---------------------------------------------------------------------------------

@pytest.mark.parametrize("sa,sb", [((5, 7), (7, 3)), ((2, 1, 17, 33), (3, 33, 19)),
                                   ((64, 48), (48, 80)), ((1, 5), (5, 1))])
def test_matmul_float32(sa, sb):
    a, b = sample(sa, np.float32), sample(sb, np.float32)
    np.testing.assert_allclose(host(K["matmul"](dev(a), dev(b))), a @ b, rtol=1e-4, atol=1e-4)


def test_matmul_transposed_and_int():
    a, b = sample((30, 20), np.float32), sample((40, 30), np.float32)
    r = K["matmul"](K["permute"](dev(a), (1, 0)), K["permute"](dev(b), (1, 0)))
    np.testing.assert_allclose(host(r), a.T @ b.T, rtol=1e-4, atol=1e-4)
    i, j = sample((2, 3, 4), np.int64), sample((4, 5), np.int64)
    np.testing.assert_array_equal(host(K["matmul"](dev(i), dev(j))), i @ j)


# --- nn -------------------------------------------------------------------------------------

def _conv_ref(x, w, b, stride, pad, dil, groups):
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    oh = (h + 2 * pad[0] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + 2 * pad[1] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, f, oh, ow), np.float64)
    fg = f // groups
    for o in range(f):
        g = o // fg
        for i in range(kh):
            for j in range(kw):
                patch = xp[:, g * cg:(g + 1) * cg, i * dil[0]:i * dil[0] + stride[0] * oh:stride[0],
                           j * dil[1]:j * dil[1] + stride[1] * ow:stride[1]]
                out[:, o] += np.einsum("nchw,c->nhw", patch, w[o, :, i, j])
    if b is not None:
        out += b[None, :, None, None]
    return out


def test_conv2d_and_backward():
    x = sample((2, 4, 7, 6), np.float32)
    w = sample((6, 2, 3, 2), np.float32)
    b = sample((6,), np.float32)
    args = ((2, 1), (1, 1), (1, 2), 2)
    y = K["conv2d"](dev(x), dev(w), dev(b), *args)
    ref = _conv_ref(x, w, b, *args)
    np.testing.assert_allclose(host(y), ref, rtol=1e-4, atol=1e-4)
    g = sample(ref.shape, np.float32)
    gx, gw, gb = K["conv2d_backward"](dev(g), dev(x), dev(w), *args, (True, True, True))
    # numeric check via linearity: <g, conv(x, w)> differentiated exactly
    eps_x = sample(x.shape, np.float32)
    lin = (_conv_ref(x + 1e-2 * eps_x, w, None, *args) - _conv_ref(x, w, None, *args)) / 1e-2
    np.testing.assert_allclose((host(gx) * eps_x).sum(), (g * lin).sum(), rtol=1e-3)
    eps_w = sample(w.shape, np.float32)
    lin = (_conv_ref(x, w + 1e-2 * eps_w, None, *args) - _conv_ref(x, w, None, *args)) / 1e-2
    np.testing.assert_allclose((host(gw) * eps_w).sum(), (g * lin).sum(), rtol=1e-3)
    np.testing.assert_allclose(host(gb), g.sum((0, 2, 3)), rtol=1e-4)


def test_pooling():
    x = sample((2, 3, 7, 8), np.float32)
    out, idx = K["max_pool2d"](dev(x), (3, 2), (2, 2), (1, 0), (1, 1), True)
    o, i = host(out), host(idx)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)), constant_values=-np.inf)
    assert o.shape == (2, 3, 4, 4)
    for oy in range(4):
        for ox in range(4):
            win = xp[:, :, oy * 2:oy * 2 + 3, ox * 2:ox * 2 + 2]
            np.testing.assert_array_equal(o[:, :, oy, ox], win.max((2, 3)))
    flat = x.reshape(2, 3, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, i.reshape(2, 3, -1), 2).reshape(o.shape), o)
    g = sample(o.shape, np.float32)
    gx = host(K["max_pool2d_backward"](dev(g), idx, x.shape))
    ref = np.zeros_like(flat)
    for n in range(2):
        for c in range(3):
            np.add.at(ref[n, c], i[n, c].ravel(), g[n, c].ravel())
    np.testing.assert_allclose(gx, ref.reshape(x.shape), rtol=1e-6)
    a = host(K["avg_pool2d"](dev(x), (2, 2), (2, 2), (1, 1), False, False, None))
    xz = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ones = np.pad(np.ones_like(x), ((0, 0), (0, 0), (1, 1), (1, 1)))
    s = xz[:, :, :8, :10].reshape(2, 3, 4, 2, 5, 2).sum((3, 5))
    cnt = ones[:, :, :8, :10].reshape(2, 3, 4, 2, 5, 2).sum((3, 5))
    np.testing.assert_allclose(a, s / cnt, rtol=1e-5)
    ga = K["avg_pool2d_backward"](dev(np.ones(a.shape, np.float32)), x.shape, (2, 2), (2, 2),
                                  (1, 1), False, True, None)
    np.testing.assert_allclose(host(ga), np.full(x.shape, 0.25, np.float32))


def test_softmax():
    a = sample((3, 5, 4), np.float32) * 5
    x = K["permute"](dev(a), (0, 2, 1))
    at = a.transpose(0, 2, 1)
    for dim in (1, 2):
        e = np.exp(at - at.max(dim, keepdims=True))
        ref = e / e.sum(dim, keepdims=True)
        np.testing.assert_allclose(host(K["softmax"](x, dim)), ref, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(host(K["log_softmax"](x, dim)), np.log(ref), rtol=1e-5, atol=1e-5)


# --- launch path: cached plans and held-back small launches ---------------------------------

def test_map_plans_are_reused_across_offsets_and_not_across_layouts():
    """Plans are keyed on dtype/shape/strides; offsets, buffers and scalars are per-call arguments."""
    a = sample((6, 8), np.float32)
    x = dev(a)
    # same shape and strides, different offsets: one plan, three different results
    for r in range(3):
        v = K["slice"](x, ((r, r + 3, 1), (1, 7, 1)))
        np.testing.assert_array_equal(host(K["add"](v, v)), a[r:r + 3, 1:7] * 2)
        np.testing.assert_array_equal(host(K["mul"](v, float(r))), a[r:r + 3, 1:7] * np.float32(r))
    # same shape, other strides (transposed, stepped, broadcast row): other plans
    t = K["permute"](x, (1, 0))
    np.testing.assert_array_equal(host(K["sub"](t, t)), np.zeros((8, 6), np.float32))
    np.testing.assert_array_equal(host(K["add"](K["slice"](x, ((0, 6, 2), (0, 8, 1))), dev(a[0]))),
                                  a[::2] + a[0])
    # an output view with an offset (copy_ writes through the same map plans)
    y = dev(np.zeros((6, 8), np.float32))
    for r in range(2):
        K["copy_"](K["slice"](y, ((r * 3, r * 3 + 3, 1), (0, 8, 1))), K["slice"](x, ((3 - r * 3, 6 - r * 3, 1), (0, 8, 1))))
    np.testing.assert_array_equal(host(y), np.concatenate([a[3:6], a[0:3]]))
    # a broadcast error is raised every time (it is never cached as a plan)
    for _ in range(2):
        with pytest.raises(ValueError):
            K["add"](dev(np.ones((3, 4), np.float32)), dev(np.ones((5,), np.float32)))


def test_reduce_plans_across_offsets_and_two_stage():
    a = sample((4, 30000), np.float32)
    x = dev(a)
    for r in range(3):
        v = K["slice"](x, ((r, r + 1, 1), (0, 30000, 1)))  # few outputs, many elements: two stages
        np.testing.assert_allclose(host(K["sum"](v, (1,), False)), a[r:r + 1].astype(np.float64).sum(1),
                                   rtol=1e-5)
        np.testing.assert_array_equal(host(K["amax"](v, (1,), True)), a[r:r + 1].max(1, keepdims=True))
    for _ in range(2):
        with pytest.raises(ValueError):
            K["amax"](dev(np.ones((0, 3), np.float32)), (0,), False)


def test_small_launches_are_held_back_until_the_host_reads(monkeypatch):
    d = runtime.device(0)
    if not d.batch:
        pytest.skip("launch batching is off on this device (a GPU, or EMBER_OPENCL_BATCH=0)")
    monkeypatch.setattr(d, "batch", 8)
    d.finish()
    a, b = sample((16, 16), np.float32), sample((16, 16), np.float32)
    x, y = dev(a), dev(b)
    acc, ref = x, a.copy()
    for i in range(21):  # more than two batches
        acc = K["add"](acc, y)
        ref = ref + b
        if i == 0:
            assert d._gate is not None  # held back
    assert d._gate is not None
    np.testing.assert_allclose(host(acc), ref, rtol=1e-6)  # to_host releases them
    assert d._gate is None
    big = dev(np.ones(1 << 16, np.float32))  # (from_host behind a gate: the test below)
    K["mul"](x, 2.0)
    assert d._gate is not None
    s = K["add"](big, big)  # a large launch runs at once, and releases what is held back
    assert d._gate is None
    np.testing.assert_array_equal(host(s), np.full(1 << 16, 2, np.float32))
    K["neg"](x)
    d.finish()
    assert d._gate is None


_FROM_HOST_BEHIND_GATE = """
import numpy as np
from ember_opencl import runtime
from ember_opencl.plugin import ember_kernels
K = ember_kernels("opencl")
d = runtime.device(0)
x = K["from_host"](np.ones(16, np.float32), 0)
y = K["mul"](x, 2.0)
assert d._gate is not None
z = K["from_host"](np.full(16, 3, np.float32), 0)
assert (K["to_host"](K["add"](y, z)) == 5).all()
print("ok")
"""


def test_from_host_does_not_wait_behind_held_back_launches():
    """pyopencl waits for a host->device copy when its NannyEvent is dropped, holding the GIL: a
    copy queued behind held-back launches would hang the process (hence a subprocess)."""
    if not runtime.device(0).batch:
        pytest.skip("launch batching is off on this device (a GPU, or EMBER_OPENCL_BATCH=0)")
    try:
        proc = subprocess.run([sys.executable, "-c", _FROM_HOST_BEHIND_GATE], capture_output=True, text=True,
                              timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("from_host hung behind held-back launches")
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stdout + proc.stderr
