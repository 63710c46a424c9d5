"""Complex divergences from PyTorch found by probing special values (issue: complex probe sweep).

Each row runs on real PyTorch and on ember (CPU: the only device that stores complex dtypes here)
and compares values part by part (NaN where PyTorch has NaN, infinities and zeros exactly, finite
values to a tolerance), dtypes, errors and gradients (PyTorch's conjugate Wirtinger convention):
complex ``log2``/``log10`` at 0 and the infinities, ``tan`` at large imaginary parts, ``sigmoid``
with infinite/NaN parts, ``sgn`` at infinities, ``log1p``, ``pow`` with the exponents PyTorch's
kernel specializes, the inverse trigonometric and hyperbolic functions, ``abs_``, ``float``/``int``,
implicit ``backward`` of a complex output, ``arange``/``linspace``/``logspace`` and ``out=`` that
requires grad.
"""

from __future__ import annotations

import math
import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import builtin_base  # noqa: E402

INF, NAN = math.inf, math.nan
PARTS = [0.0, -0.0, 1.0, -1.0, 0.5, -2.0, INF, -INF, NAN, 1e30, -1e30, 1e-30, 1e300, 1e-300, 3.0, 1e-8]
CDTYPES = ["complex64", "complex128"]


def _grid(dtype: str) -> np.ndarray:
    """Every pair of special parts: zeros of both signs (branch cuts), infinities, NaN, huge, tiny
    (1e300 overflows complex64 to inf, 1e-300 underflows to 0)."""
    with np.errstate(over="ignore", under="ignore"):
        return np.array([complex(a, b) for a in PARTS for b in PARTS], dtype=dtype)


def _assert_parts(actual: np.ndarray, expected: np.ndarray, dtype: str, what: str, floor: float = 1e-8) -> None:
    """NaN where PyTorch has NaN, infinities exactly, finite values to a tolerance (with an absolute
    floor of ``floor`` times the largest finite part: rounding noise of a cancelled sum)."""
    rtol = 2e-5 if dtype in ("complex64", "float32") else 1e-12
    a, e = np.asarray(actual), np.asarray(expected)
    for part in ((lambda v: v.real), (lambda v: v.imag)) if e.dtype.kind == "c" else ((lambda v: v),):
        pa, pe = part(a).astype(np.float64), part(e).astype(np.float64)
        assert np.array_equal(np.isnan(pa), np.isnan(pe)), f"{what}: NaN at {np.nonzero(np.isnan(pa) != np.isnan(pe))}"
        inf = np.isinf(pe)
        assert np.array_equal(pa[inf], pe[inf]), f"{what}: infinities differ"
        fin = np.isfinite(pe)
        scale = np.abs(pe[fin]).max(initial=0.0)
        np.testing.assert_allclose(pa[fin], pe[fin], rtol=rtol, atol=rtol * floor * scale, err_msg=what)


def _both(fn, values: np.ndarray, grad: bool = False):
    """``fn(lib, x)`` on torch and ember (each result or exception), and the leaves."""
    out, leaves = [], []
    for lib in (torch, ember):
        x = lib.tensor(values.copy(), requires_grad=grad)
        leaves.append(x)
        try:
            out.append(fn(lib, x))
        except Exception as exc:  # noqa: BLE001 - compared below
            out.append(exc)
    return out, leaves


def _check(fn, values: np.ndarray, dtype: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (t, e), _ = _both(fn, values)
    if isinstance(t, Exception):
        assert isinstance(e, builtin_base(type(t))), (t, e)
        return
    assert not isinstance(e, Exception), f"ember raised {e!r}; PyTorch did not"
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    _assert_parts(e.numpy(), t.numpy(), dtype, "values")


UNARY = ["exp", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "reciprocal", "sin", "cos", "tan",
         "sinh", "cosh", "tanh", "sigmoid", "abs", "angle", "sgn", "asin", "acos", "atan", "asinh", "acosh", "atanh",
         "square"]


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name", UNARY)
def test_complex_unary_on_special_values(name, dtype):
    _check(lambda L, x: getattr(L, name)(x), _grid(dtype), dtype)


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("exponent", [2, 3, -1, -2, 0.5, -0.5, 1.5, 0, 1, 1 + 2j, 2 + 0j, -1 + 0j])
def test_complex_pow_scalar_exponents_on_special_values(exponent, dtype):
    _check(lambda L, x: L.pow(x, exponent), _grid(dtype), dtype)
    _check(lambda L, x: x ** exponent, _grid(dtype), dtype)


@pytest.mark.parametrize("dtype", CDTYPES)
def test_complex_base_of_a_real_power(dtype):
    _check(lambda L, x: L.pow(2.0, x), _grid(dtype), dtype)


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name", ["log2", "log10", "tan", "sigmoid"])
def test_named_special_points(name, dtype):
    # the probe's reports: log2/log10 at 0, +-inf and inf + inf j; tan at inf j and 1e30 + 1e30 j;
    # sigmoid at -inf + nan j and inf + nan j
    points = np.array([0j, complex(-0.0, 0.0), INF, -INF, complex(INF, INF), complex(0, INF), complex(1e30, 1e30),
                       complex(-INF, NAN), complex(INF, NAN), complex(-INF, 1.0)], dtype=dtype)
    _check(lambda L, x: getattr(L, name)(x), points, dtype)


ORDINARY = np.array([0.3 + 0.4j, -1.2 + 0.7j, 2.0 - 0.5j, -0.4 - 1.1j, 0.05 + 0.02j, 1.7 + 0.0j, -2.5 + 0.1j])
GRAD_OPS = ["log2", "log10", "log1p", "tan", "sigmoid", "sgn", "asin", "acos", "atan", "asinh", "acosh", "atanh",
            "sinh", "cosh", "square"]


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name", GRAD_OPS + ["pow-1", "pow-2", "pow0.5", "pow3"])
def test_complex_gradients_follow_pytorchs_convention(name, dtype):
    g = (np.linspace(-1, 1, ORDINARY.size) + 1j * np.linspace(0.5, -0.7, ORDINARY.size)).astype(dtype)

    def fn(L, x):
        if name.startswith("pow"):
            return L.pow(x, {"pow-1": -1, "pow-2": -2, "pow0.5": 0.5, "pow3": 3}[name])
        return getattr(L, name)(x)

    (t, e), (tx, ex) = _both(fn, ORDINARY.astype(dtype), grad=True)
    _assert_parts(e.detach().numpy(), t.detach().numpy(), dtype, "values")
    if name in ("log2", "log10", "tan", "sgn") or name in ("asin", "acos", "atan", "asinh", "acosh", "atanh"):
        assert type(e.grad_fn).__name__ == type(t.grad_fn).__name__
    t.backward(torch.tensor(g))
    e.backward(ember.tensor(g))
    _assert_parts(ex.grad.numpy(), tx.grad.numpy(), dtype, "gradient", floor=0.1)


@pytest.mark.parametrize("name", ["asin", "acos", "atan", "asinh", "acosh", "atanh"])
def test_inverse_functions_on_a_device_without_the_kernel_refuse(name, monkeypatch):
    # a backend that stores complex but has no complex kernel refuses as PyTorch words it
    x = ember.tensor([0.5 + 0.5j])
    kt = x._kt
    monkeypatch.setattr(type(kt), "has", lambda self, k, _orig=type(kt).has: False if k == name else _orig(self, k))
    with pytest.raises(NotImplementedError, match=f'"{name}_cpu" not implemented for \'ComplexFloat\''):
        getattr(ember, name)(x)


def _same_error(fn) -> None:
    caught = []
    for lib in (torch, ember):
        with pytest.raises(Exception) as info:  # noqa: PT011 - compared with PyTorch's below
            fn(lib)
        caught.append(info.value)
    t, e = caught
    assert isinstance(e, builtin_base(type(t))), (t, e)
    assert str(e).replace("ember.", "torch.") == str(t), (str(t), str(e))


@pytest.mark.parametrize("dtype", CDTYPES)
def test_abs_in_place_refuses_complex(dtype):
    _same_error(lambda L: L.tensor([3 + 4j], dtype=getattr(L, dtype)).abs_())
    _same_error(lambda L: L.abs_(L.tensor([3 + 4j], dtype=getattr(L, dtype))))
    t, e = torch.tensor([-3.0, 2.0]), ember.tensor([-3.0, 2.0])
    assert e.abs_().tolist() == t.abs_().tolist()


@pytest.mark.parametrize("value", [3 + 4j, 3 + 0j, -2.5 + 0j, 1e300 + 1j])
@pytest.mark.parametrize("convert", ["float", "int", "index", "complex", "bool"])
def test_python_number_of_a_complex_tensor(value, convert):
    fns = {"float": float, "int": int, "complex": complex, "bool": bool, "index": lambda t: [1, 2, 3, 4][t]}

    def run(lib):
        return fns[convert](lib.tensor(value))
    try:
        expected = run(torch)
    except Exception:  # noqa: BLE001
        _same_error(run)
        return
    got = run(ember)
    assert type(got) is type(expected) and got == expected


@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_implicit_backward_of_a_complex_output(shape):
    def backward(lib):
        x = lib.ones(shape, dtype=lib.complex64, requires_grad=True)
        (x * (1 + 2j)).sum().backward() if not shape else (x * (1 + 2j)).backward()

    def grad(lib):
        x = lib.ones(shape, dtype=lib.complex64, requires_grad=True)
        lib.autograd.grad(x * (1 + 2j), x)
    _same_error(backward)
    _same_error(grad)
    # with a gradient given, backward runs (and a real output still needs none)
    for lib in (torch, ember):
        x = lib.ones(shape, dtype=lib.complex64, requires_grad=True)
        (x * (1 + 2j)).backward(lib.ones(shape, dtype=lib.complex64))
        assert complex(x.grad.reshape(-1)[0]) == 1 - 2j


@pytest.mark.parametrize("args,kwargs", [
    ((5,), {"dtype": "complex64"}), ((0, 5, 1), {"dtype": "complex128"}), ((1.0, 1.0), {"dtype": "complex64"}),
    ((0, 5, 0), {"dtype": "complex64"}), ((0, 5 + 1j), {}), ((5j,), {}), ((0, 5, 1 + 1j), {}),
    ((0, 5 + 0j), {}), ((0.5 + 0j, 3), {}),
])
def test_arange_with_complex(args, kwargs):
    def run(lib):
        kw = {k: getattr(lib, v) if k == "dtype" else v for k, v in kwargs.items()}
        return lib.arange(*args, **kw)
    try:
        expected = run(torch)
    except Exception:  # noqa: BLE001
        _same_error(run)
        return
    got = run(ember)
    assert str(got.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


SPACE = [
    ("linspace", (0, 1 + 1j, 5), {}), ("linspace", (1j, 3 + 4j, 4), {}), ("linspace", (1 + 2j, 3 + 4j, 1), {}),
    ("linspace", (0, 1 + 1j, 0), {}), ("linspace", (1 + 2j, 1 + 1j, 2), {}), ("linspace", (-3.5, 2.25 - 1j, 7), {}),
    ("linspace", (0, 4, 5), {"dtype": "complex64"}), ("linspace", (0.1, 4.7, 9), {"dtype": "complex128"}),
    ("linspace", (0, 1 + 1j, 5), {"dtype": "complex128"}), ("linspace", (0, 1 + 1j, 5), {"dtype": "float32"}),
    ("linspace", (0, 1 + 1j, 5), {"dtype": "int32"}), ("linspace", ("t:1j", 3, 3), {}),
    ("linspace", ("t:1.0", 3j, 3), {}), ("linspace", ("t128:1j", 3, 3), {}),
    ("logspace", (0, 1 + 1j, 4), {}), ("logspace", (0, 2, 3), {"dtype": "complex64"}),
    ("logspace", (0, 1j, 3), {"base": 2}), ("logspace", (1j, 2 + 1j, 5), {"dtype": "complex128"}),
    ("logspace", (0, 1 + 1j, 5), {"dtype": "float32"}), ("logspace", (-1 - 1j, 1 + 0.5j, 6), {"base": 3.0}),
]


@pytest.mark.parametrize("name,args,kwargs", SPACE)
def test_linspace_and_logspace_with_complex(name, args, kwargs):
    def arg(lib, v):
        if isinstance(v, str) and v.startswith("t128:"):
            return lib.tensor(complex(v[5:]), dtype=lib.complex128)
        if isinstance(v, str) and v.startswith("t:"):
            return lib.tensor(complex(v[2:]) if "j" in v else float(v[2:]))
        return v

    def run(lib):
        kw = {k: getattr(lib, v) if k == "dtype" else v for k, v in kwargs.items()}
        return getattr(lib, name)(*(arg(lib, v) for v in args), **kw)
    try:
        expected = run(torch)
    except Exception:  # noqa: BLE001
        _same_error(run)
        return
    got = run(ember)
    assert str(got.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    _assert_parts(got.numpy(), expected.numpy(), str(expected.dtype).split(".")[-1], name)


def test_complex_linspace_with_a_float64_default():
    try:
        torch.set_default_dtype(torch.float64)
        ember.set_default_dtype(ember.float64)
        for args, kw in (((0, 1 + 1j, 3), {}), ((0.3, 1 - 2j, 11), {})):
            t, e = torch.linspace(*args, **kw), ember.linspace(*args, **kw)
            assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1] == "complex128"
            _assert_parts(e.numpy(), t.numpy(), "complex128", "linspace")
        _same_error(lambda L: L.linspace(0, 1 + 1j, 3, dtype=L.float32))
    finally:
        torch.set_default_dtype(torch.float32)
        ember.set_default_dtype(ember.float32)


OUT_OPS = [
    ("add", lambda L, o: L.add(L.ones(3), L.ones(3), out=o)),
    ("mul", lambda L, o: L.mul(L.ones(3), 2, out=o)),
    ("pow", lambda L, o: L.pow(L.ones(3), 2, out=o)),
    ("sinh", lambda L, o: L.sinh(L.ones(3), out=o)),
    ("atan2", lambda L, o: L.atan2(L.ones(3), L.ones(3), out=o)),
    ("clamp", lambda L, o: L.clamp(L.ones(3), 0, 1, out=o)),
    ("matmul", lambda L, o: L.matmul(L.ones(3, 3), L.ones(3), out=o)),
    ("cat", lambda L, o: L.cat([L.ones(3)], out=o)),
    ("complex-add", lambda L, o: L.add(L.ones(3, dtype=L.complex64), 1j, out=o)),
]


@pytest.mark.parametrize("name,fn", OUT_OPS, ids=[n for n, _ in OUT_OPS])
def test_out_that_requires_grad_is_refused(name, fn):
    dtype = "complex64" if name.startswith("complex") else "float32"
    _same_error(lambda L: fn(L, L.zeros(3, dtype=getattr(L, dtype), requires_grad=True)))
    # an input that requires grad is refused the same way
    if name == "add":
        _same_error(lambda L: L.add(L.ones(3, requires_grad=True), 1, out=L.zeros(3)))
    # under no_grad both write into it
    results = []
    for lib in (torch, ember):
        o = lib.zeros(3, dtype=getattr(lib, dtype), requires_grad=True)
        with lib.no_grad():
            fn(lib, o)
        results.append(o.detach().numpy())
    np.testing.assert_allclose(results[1], results[0])
