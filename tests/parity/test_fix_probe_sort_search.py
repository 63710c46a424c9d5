"""Divergences from PyTorch found by probing sorting, searching, scans and histograms (probe sweep).

Each row runs the same expression on real PyTorch and on ember (every device) and compares values,
dtypes, errors and gradients; ``raises_alike`` also compares the first line of the error message.

Fixed here: searchsorted/bucketize compare in ``result_type(boundaries, values)`` (a scalar or 0-d
value takes the boundaries' dtype: -1 searched in uint8 is 255), refuse bool/complex after that
promotion, check ``out``'s dtype and PyTorch's check order; topk refuses bool and a negative or
non-int ``k``; kthvalue/diff/histc/bincount take only ints for their int arguments; cumsum/cumprod
refuse a bool result and an in-place ``dtype`` other than self's; cummax/cummin refuse complex;
logcumsumexp of complex values (and its gradient); the exact-dtype ``out`` of the scans and
kthvalue; histc's kernel names and NaN range; isin of two scalars; trapezoid/trapz/
cumulative_trapezoid and gradient follow PyTorch's overloads, broadcasts and checks step for step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

NAN, INF = math.nan, math.inf
F16, F32, F64 = np.float16, np.float32, np.float64


def A(values: Any, dtype: Any = F32, grad: bool = True) -> Arg:
    return Arg(np.array(values, dtype=dtype), grad=grad)


def raises_alike(device: str, fn: Callable[[Any, Callable], Any]) -> None:
    """``fn(lib, make)`` raises on both frameworks, the same builtin type and first message line
    (``make(values, dtype=None)`` builds a tensor on the side's device; a kernel name that carries
    the device, ``"..._opencl"``, reads as PyTorch's ``"..._cpu"``)."""

    def run(lib: Any, dev: str) -> BaseException:
        def make(values: Any, dtype: str | None = None) -> Any:
            kw = {"dtype": getattr(lib, dtype)} if dtype else {}
            return lib.tensor(values, device=dev, **kw)

        try:
            fn(lib, make)
        except Exception as exc:  # noqa: BLE001 - the exception is what we compare
            return exc
        raise AssertionError(f"{lib.__name__} did not raise")

    t_exc, e_exc = run(torch, "cpu"), run(ember, device)
    base = next(k for k in type(t_exc).__mro__ if k.__module__ == "builtins")
    assert isinstance(e_exc, base), f"ember raised {type(e_exc).__name__}: {e_exc}; PyTorch {base.__name__}: {t_exc}"
    line = str(e_exc).split("\n")[0].replace(f'_{device}"', '_cpu"')
    assert line == str(t_exc).split("\n")[0], f"ember: {line!r}\nPyTorch: {str(t_exc).splitlines()[0]!r}"


def cpu_only(device: str) -> None:
    if device != "cpu":
        pytest.skip("complex dtypes are stored on the cpu device only")


# ---- sort / argsort / topk / kthvalue ----------------------------------------------------------
SORT_DATA = [3.0, NAN, -0.0, 0.0, 1.0, 1.0, -INF, INF, NAN, -1.0, 0.0, -0.0]


@pytest.mark.parametrize("dtype", [F32, F64, F16], ids=["f32", "f64", "f16"])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_nan_signed_zero_ties(device: str, dtype: Any, descending: bool) -> None:
    check(lambda L, x: L.sort(x, descending=descending, stable=True), (A(SORT_DATA, dtype),), {}, device)
    check(lambda L, x: L.argsort(x, descending=descending, stable=True), (A(SORT_DATA, dtype),), {}, device)
    check(lambda L, x: L.msort(x.reshape(4, 3)), (A(SORT_DATA, dtype),), {}, device)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.int8, np.bool_])
def test_sort_integer_and_bool(device: str, dtype: Any) -> None:
    values = [3, 1, 2, 1, 0, 3, 2, 2, 0] if dtype is not np.bool_ else [True, False, True, False]
    for descending in (False, True):
        check(lambda L, x, d=descending: L.sort(x, descending=d, stable=True), (A(values, dtype),), {}, device)


def test_topk_values_and_errors(device: str) -> None:
    # tie indices (and so where a tie's gradient goes) are PyTorch's selection algorithm's: the
    # values and x[indices] are what must agree
    def picked(L: Any, x: Any, k: int, largest: bool) -> Any:
        r = x.topk(k, largest=largest)
        return r.values, x.gather(0, r.indices)

    for k in (0, 1, 3, 5):
        for largest in (True, False):
            check(lambda L, x, k=k, g=largest: picked(L, x, k, g), (A(SORT_DATA, grad=False),), {}, device)
    check(lambda L, x: x.topk(2), (A([True, False, True], np.bool_),), {}, device)  # no bool topk
    check(lambda L, x: x.topk(1), (A(3.0),), {}, device)
    check(lambda L, x: x.topk(np.int64(2)), (A([1.0, 3.0, 2.0]),), {}, device)  # an __index__ int is an int
    raises_alike(device, lambda L, t: t([True, False]).topk(1))
    raises_alike(device, lambda L, t: t([1.0, 2.0]).topk(-1))
    raises_alike(device, lambda L, t: t([1.0, 2.0]).topk(3))
    raises_alike(device, lambda L, t: t([1.0, 2.0]).topk(k=1.0))
    raises_alike(device, lambda L, t: t([1.0, 2.0]).topk(1, dim=0.5))


def test_kthvalue_checks(device: str) -> None:
    check(lambda L, x: L.kthvalue(x, 3), (A([3.0, NAN, 1.0, 2.0]),), {}, device)
    check(lambda L, x: L.kthvalue(x, 4), (A([3.0, NAN, 1.0, 2.0]),), {}, device)
    raises_alike(device, lambda L, t: t([1.0, 2.0]).kthvalue(k=1.5))  # (by keyword: no "position" in the words)
    raises_alike(device, lambda L, t: t([1.0, 2.0]).kthvalue(0))
    x = [1.0, 3.0, 2.0]
    raises_alike(device, lambda L, t: L.kthvalue(t(x), 1, out=(t([0.0], "float64"), t([0]))))
    raises_alike(device, lambda L, t: L.kthvalue(t(x), 1, out=(t([0.0]), t([0], "int32"))))


# ---- searchsorted / bucketize -------------------------------------------------------------------
def test_searchsorted_scalar_takes_the_boundaries_dtype(device: str) -> None:
    u8, i8, f16 = A([0, 1, 3], np.uint8), A([0, 1, 3], np.int8), A([0.0, 1.0, 3.0], F16)
    check(lambda L, b: L.searchsorted(b, -1), (u8,), {}, device)  # -1 is 255 in uint8
    check(lambda L, b, v: L.searchsorted(b, v), (u8, A(-1, np.int64)), {}, device)  # a 0-d tensor too
    check(lambda L, b, v: L.searchsorted(b, v), (u8, A([-1], np.int64)), {}, device)  # a 1-d one is int64
    check(lambda L, b: L.searchsorted(b, 1000), (i8,), {}, device)
    check(lambda L, b: L.searchsorted(b, 1e6), (f16,), {}, device)
    check(lambda L, b: L.searchsorted(b, -1.5), (u8,), {}, device)  # a float scalar makes it float
    check(lambda L, b: L.bucketize(-1, b), (u8,), {}, device)
    check(lambda L, b, v: L.searchsorted(b, v), (A([False, True], np.bool_), A([0.5])), {}, device)
    check(lambda L, b, v: L.searchsorted(b, v), (A([0.0, 1.0]), A([True], np.bool_)), {}, device)


def test_searchsorted_checks(device: str) -> None:
    b, v = [0.0, 1.0, 3.0], [1.0, 2.0]
    raises_alike(device, lambda L, t: L.searchsorted(t([[0.0, 1.0], [1.0, 2.0]]), t(1.0)))
    raises_alike(device, lambda L, t: L.searchsorted(t(1.0), 1.0))
    raises_alike(device, lambda L, t: L.searchsorted(t([[1.0]]), t(1.0), sorter=t([0])))  # sorter first
    raises_alike(device, lambda L, t: L.searchsorted(t(b), t(v), out=t([0.0, 0.0])))
    raises_alike(device, lambda L, t: L.searchsorted(t(b), t(v), out=t([0, 0], "int32")))
    raises_alike(device, lambda L, t: L.searchsorted(t(b), t(v), out_int32=True, out=t([0, 0])))
    raises_alike(device, lambda L, t: L.bucketize(t(v), t(b), out=t([0.0, 0.0])))
    raises_alike(device, lambda L, t: L.searchsorted(t([False, True]), t([True])))
    raises_alike(device, lambda L, t: L.searchsorted(t(b), t(v), side="left", right=True))
    check(lambda L, b, v: L.searchsorted(b, v, out_int32=True, out=L.empty(2, dtype=L.int32, device=b.device)),
          (A(b), A(v)), {}, device)


def test_searchsorted_complex_refused(device: str) -> None:
    cpu_only(device)
    raises_alike(device, lambda L, t: L.searchsorted(t([0.0, 1.0]), t([1j])))
    raises_alike(device, lambda L, t: L.searchsorted(t([0.0, 1.0]), 1 + 1j))


# ---- cumsum / cumprod ----------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
def test_cumsum_cumprod_dtypes(device: str, op: str) -> None:
    for dtype in (np.int8, np.uint8, np.bool_, F16):
        check(lambda L, x: getattr(L, op)(x, 0), (A([1, 0, 1, 1], dtype),), {}, device)
        check(lambda L, x: getattr(x, op + "_")(0), (A([1, 0, 1, 1], dtype),), {}, device)
    raises_alike(device, lambda L, t: getattr(L, op)(t([1, 2]), 0, dtype=L.bool))
    raises_alike(device, lambda L, t: getattr(L, op)(t([True]), 0, out=t([False])))
    raises_alike(device, lambda L, t: getattr(t([True]), op + "_")(0))
    raises_alike(device, lambda L, t: getattr(t([1, 2]), op + "_")(0, dtype=L.float32))
    raises_alike(device, lambda L, t: getattr(t([1.0]), op + "_")(0, dtype=L.float64))
    raises_alike(device, lambda L, t: getattr(L, op)(t([1.0]), 1))
    check(lambda L, x: getattr(x, op + "_")(0, dtype=L.int8), (A([100, 100, 1], np.int8),), {}, device)


def test_cumprod_gradient_with_zeros(device: str) -> None:
    for values in ([2.0, 0.0, 3.0, 0.0, 4.0], [2.0, 3.0, 0.0, 4.0], [0.0, 0.0]):
        check(lambda L, x: L.cumprod(x, 0), (A(values, F64),), {}, device)
        check(lambda L, x: (x * 1).cumprod_(0), (A(values, F64),), {}, device)
    check(lambda L, x: L.cumprod(x.t(), 1), (A([[2.0, 0.0, 3.0], [0.0, 1.0, 2.0]], F64),), {}, device)
    check(lambda L, x: L.cumsum(x, 0, dtype=L.float64), (A([2.0, 0.0, 3.0]),), {}, device)


# ---- cummax / cummin / logcumsumexp --------------------------------------------------------------
@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_cummax_cummin(device: str, op: str) -> None:
    check(lambda L, x: getattr(L, op)(x, 0), (A([1.0, 3.0, 3.0, NAN, 2.0, NAN, 5.0, -0.0, 0.0]),), {}, device)
    check(lambda L, x: getattr(L, op)(x, 0), (A([1.0, 1.0, 0.0, 1.0], F64),), {}, device)  # ties: last index
    check(lambda L, x: getattr(L, op)(x, 1), (A([[1.0, NAN, 2.0], [3.0, 1.0, 3.0]]),), {}, device)
    check(lambda L, x: getattr(L, op)(x, 0), (A([True, False, True], np.bool_),), {}, device)
    x = [1.0, 3.0, 2.0]
    raises_alike(device, lambda L, t: getattr(L, op)(t(x), 0, out=(t([0.0], "float64"), t([0]))))
    raises_alike(device, lambda L, t: getattr(L, op)(t(x), 0, out=(t([0.0]), t([0], "int32"))))


def test_cummax_complex_refused(device: str) -> None:
    cpu_only(device)
    raises_alike(device, lambda L, t: L.cummax(t([1 + 1j]), 0))
    raises_alike(device, lambda L, t: L.cummin(t([1 + 1j]), 0))


def test_logcumsumexp_real(device: str) -> None:
    check(lambda L, x: L.logcumsumexp(x, 0), (A([-INF, -INF, 0.0, INF, 1.0, -INF, NAN, 2.0]),), {}, device)
    check(lambda L, x: L.logcumsumexp(x, 0), (A([1000.0, 1000.0, -1000.0], F64),), {}, device)
    check(lambda L, x: L.logcumsumexp(x, 0), (A([1.0, -INF, 3.0, 0.0], F64),), {}, device)
    raises_alike(device, lambda L, t: L.logcumsumexp(t([1.0, 2.0]), 0, out=t([0.0, 0.0], "float64")))
    raises_alike(device, lambda L, t: L.logcumsumexp(t([1, 2]), 0))


C64, C128 = np.complex64, np.complex128
COMPLEX_LCSE = [
    [1 + 1j, 2 - 3j, 0.5j, -1 + 2j],
    [complex(NAN, 0), 1 + 1j, 2j],
    [1 + 1j, complex(0, NAN), 2j],
    [complex(-INF, 2), complex(-INF, 1), 1 + 2j],
    [complex(INF, 0), complex(INF, 0), 1 + 2j],
    [1 + 0j, complex(INF, 1), 1 + 2j],
    [complex(1000, 1), complex(1000, -1), complex(-1000, 3)],
]


@pytest.mark.parametrize("values", COMPLEX_LCSE, ids=range(len(COMPLEX_LCSE)))
def test_logcumsumexp_complex(device: str, values: list) -> None:
    cpu_only(device)
    # compared as (real, imag) pairs: within float32's tolerance, not bit for bit
    check(lambda L, x: L.view_as_real(L.logcumsumexp(x, 0)), (A(values, C64, grad=False),), {}, device)


def test_logcumsumexp_complex_gradient(device: str) -> None:
    cpu_only(device)
    x = A([[1 + 1j, 2 - 3j, 0.5j], [3 + 0j, -1 + 1j, 2 + 2j]], C128)
    check(lambda L, x: L.logcumsumexp(x.requires_grad_(), 1).abs(), (x,), {}, device)


# ---- diff / histc / histogram / bincount / isin --------------------------------------------------
def test_int_arguments(device: str) -> None:
    # by keyword: PyTorch's words name the position of a positional argument only
    raises_alike(device, lambda L, t: L.diff(t([1.0, 2.0]), n=1.0))
    raises_alike(device, lambda L, t: L.histc(t([1.0, 2.0]), bins=2.5))
    raises_alike(device, lambda L, t: L.histc(t([1.0, 2.0]), bins=True))
    raises_alike(device, lambda L, t: L.bincount(t([0, 2]), minlength=1.5))
    raises_alike(device, lambda L, t: L.cumsum(t([1.0]), dim=None))


def test_histc_messages(device: str) -> None:
    raises_alike(device, lambda L, t: L.histc(t([True, False]), bins=3))
    raises_alike(device, lambda L, t: L.histc(t([1, 0]), bins=3))
    raises_alike(device, lambda L, t: L.histc(t([1.0, 2.0]), bins=3, min=NAN, max=1))  # the caller's NaN
    raises_alike(device, lambda L, t: L.histc(t([1.0, 2.0]), bins=3, min=0, max=NAN))
    raises_alike(device, lambda L, t: L.histc(t([NAN, 1.0]), bins=3))  # the data's NaN prints -nan
    check(lambda L, x: L.histc(x, bins=3, min=1, max=1), (A([2.0, 2.0, 3.0]),), {}, device)
    check(lambda L, x: L.histc(x, bins=3, min=0, max=1), (A([0.0, 1.0, 0.25, 0.5, 0.75, 1 / 3, 2 / 3]),), {}, device)


def test_histc_complex_messages(device: str) -> None:
    cpu_only(device)
    raises_alike(device, lambda L, t: L.histc(t([1 + 1j]), bins=3))
    raises_alike(device, lambda L, t: L.histc(t([1 + 1j]), bins=3, min=0, max=1))


def test_isin_two_scalars(device: str) -> None:
    raises_alike(device, lambda L, t: L.isin(2, 3))
    raises_alike(device, lambda L, t: L.isin(2.5, 3))
    check(lambda L, x: L.isin(x, 2.0), (A([2, 3], np.int64),), {}, device)
    check(lambda L, x, y: L.isin(x, y), (A([NAN, 1.0, -0.0]), A([NAN, 0.0])), {}, device)


# ---- trapezoid / trapz / cumulative_trapezoid ----------------------------------------------------
Y = [[1.0, 4.0, 9.0], [2.0, 3.0, 5.0]]
INTEGRATIONS = ["trapezoid", "trapz", "cumulative_trapezoid"]


@pytest.mark.parametrize("name", INTEGRATIONS)
def test_integration_overloads(device: str, name: str) -> None:
    raises_alike(device, lambda L, t: getattr(L, name)(t(Y), 2.0))  # x must be a tensor
    raises_alike(device, lambda L, t: getattr(L, name)(t(Y), None))
    raises_alike(device, lambda L, t: getattr(L, name)(t(Y), dx=None))
    raises_alike(device, lambda L, t: getattr(L, name)(t(Y), [1.0, 2.0, 4.0]))
    raises_alike(device, lambda L, t: getattr(L, name)(t(Y), t([1.0, 2.0, 3.0]), dx=2.0))
    raises_alike(device, lambda L, t: getattr(L, name)(t(Y), t([1.0, 2.0])))
    raises_alike(device, lambda L, t: getattr(L, name)(t(1.0)))
    raises_alike(device, lambda L, t: getattr(L, name)(t(1.0), t(1.0)))
    raises_alike(device, lambda L, t: getattr(L, name)(t(Y), t(1.0)))  # a 0-d x: no steps to broadcast
    raises_alike(device, lambda L, t: getattr(L, name)(t(Y), t([[[1.0, 2.0, 4.0]]])))
    raises_alike(device, lambda L, t: getattr(L, name)(t(Y), t([1.0, 2.0, 4.0]), dim=5))
    # no samples: trapezoid answers zeros before it looks at the dtype, cumulative_trapezoid refuses bool
    check(lambda L, y: getattr(L, name)(y, dx=1), (A(np.zeros((2, 0)), np.bool_),), {}, device)


@pytest.mark.parametrize("name", ["trapezoid", "cumulative_trapezoid"])
def test_integration_dx_real_only(device: str, name: str) -> None:
    raises_alike(device, lambda L, t: getattr(L, name)(t(Y), dx=True))
    cpu_only(device)
    raises_alike(device, lambda L, t: getattr(L, name)(t(Y), dx=1 + 1j))


@pytest.mark.parametrize("name", INTEGRATIONS)
def test_integration_values(device: str, name: str) -> None:
    def fn(L: Any, *args: Any, **kw: Any) -> Any:
        return getattr(L, name)(*args, **kw)

    check(fn, (A(Y),), {"dx": 0.5}, device)
    check(fn, (A(Y),), {"dim": 0}, device)
    check(fn, (A(Y), A([0.0, 1.0, 3.0])), {}, device)
    check(fn, (A(Y, F64), A([[0.0, 1.0, 3.0]], F64)), {}, device)
    check(fn, (A(Y), A([[0.0, 1.0, 3.0]])), {"dim": 0}, device)
    check(fn, (A(Y), A([[0.0, 1.0, 3.0], [0.0, 2.0, 3.0]])), {}, device)
    check(fn, (A([1, 2, 3], np.int64),), {"dx": 2}, device)
    check(fn, (A([1, 2, 3], np.int64), A([1, 2, 4], np.int64)), {}, device)
    check(fn, (A([1.0, 2.0, 3.0], F16), A([1, 2, 4], F64)), {}, device)
    check(fn, (A(np.zeros((2, 0))),), {}, device)
    check(fn, (A(np.zeros((2, 0)), np.int64),), {}, device)
    check(fn, (A(np.zeros((2, 0))), A([1.0, 2.0, 4.0])), {}, device)  # trapezoid: 0; cumulative: x checked
    check(fn, (A([INF, 1.0, NAN]),), {}, device)


# ---- gradient -----------------------------------------------------------------------------------
G = [[1.0, 4.0, 9.0, 16.0, 25.0], [2.0, 3.0, 5.0, 8.0, 13.0], [0.0, 1.0, 0.0, 1.0, 0.0]]
XS, YS = [0.0, 1.0, 3.0], [0.0, 1.0, 2.0, 4.0, 7.0]


def test_gradient_spacing_forms(device: str) -> None:
    g = A(G, F64)
    check(lambda L, y: L.gradient(y), (g,), {}, device)
    check(lambda L, y: L.gradient(y, spacing=2, edge_order=2), (g,), {}, device)
    check(lambda L, y: L.gradient(y, spacing=[2.0, 0.5]), (g,), {}, device)
    check(lambda L, y: L.gradient(y, spacing=[2.0], dim=1), (g,), {}, device)
    check(lambda L, y: L.gradient(y, spacing=(2.0, 0.5), dim=(1, 0)), (g,), {}, device)
    check(lambda L, y: L.gradient(y, spacing=True), (g,), {}, device)
    check(lambda L, y: L.gradient(y, spacing=L.tensor(2.0, device=y.device)), (g,), {}, device)
    check(lambda L, y: L.gradient(y, dim=[]), (g,), {}, device)
    for edge_order in (1, 2):
        check(lambda L, y, a, b, e=edge_order: L.gradient(y, spacing=(a, b), edge_order=e),
              (g, A(XS, F64, grad=False), A(YS, F64, grad=False)), {}, device)
        check(lambda L, y, a, e=edge_order: L.gradient(y, spacing=(a,), dim=0, edge_order=e),
              (g, A(XS, F64, grad=False)), {}, device)


def test_gradient_dtypes(device: str) -> None:
    # the coordinates' float32 widens float16 values (PyTorch multiplies by their coefficients)
    check(lambda L, y, a, b: L.gradient(y, spacing=(a, b)), (A(G, F16, grad=False), A(XS), A(YS)), {}, device, tol=4)
    check(lambda L, y, a, b: L.gradient(y, spacing=(a, b)), (A(G, np.int64), A(XS, np.int64), A(YS, np.int64)), {},
          device)
    check(lambda L, y: L.gradient(y), (A([100, -100, 100], np.int8),), {}, device)  # int8 differences wrap
    check(lambda L, y: L.gradient(y, edge_order=2), (A([100, -100, 100], np.int8),), {}, device)
    check(lambda L, y: L.gradient(y, spacing=2), (A([1, 4, 9, 16], np.int64),), {}, device)


def test_gradient_checks(device: str) -> None:
    raises_alike(device, lambda L, t: L.gradient(t(G), spacing=[2.0]))
    raises_alike(device, lambda L, t: L.gradient(t(G), spacing=[2.0], dim=[0, 1]))
    raises_alike(device, lambda L, t: L.gradient(t(G), spacing=[2.0, 3.0], dim=0))
    raises_alike(device, lambda L, t: L.gradient(t(G), spacing=2.0, dim=[0, 0]))
    raises_alike(device, lambda L, t: L.gradient(t(G), dim=(1, -1)))
    raises_alike(device, lambda L, t: L.gradient(t(G), spacing=[t(XS), 2.0]))
    raises_alike(device, lambda L, t: L.gradient(t(G), spacing=[t(2.0), t(3.0)]))
    raises_alike(device, lambda L, t: L.gradient(t(G), spacing=t(XS)))
    raises_alike(device, lambda L, t: L.gradient(t(G), edge_order=3, dim=5))
    raises_alike(device, lambda L, t: L.gradient(t([1, 2, 3], "uint8"), edge_order=3))
    raises_alike(device, lambda L, t: L.gradient(t([1, 2], "int8"), edge_order=3, spacing=[1.0, 2.0]))
    raises_alike(device, lambda L, t: L.gradient(t([True, False, True])))
    raises_alike(device, lambda L, t: L.gradient(t([1.0, 2.0]), edge_order=2, dim=0))
    raises_alike(device, lambda L, t: L.gradient(t(1.0), dim=0))
    raises_alike(device, lambda L, t: L.gradient(t(1.0), spacing=[1.0]))


def test_gradient_complex_spacing(device: str) -> None:
    cpu_only(device)
    check(lambda L, y: L.gradient(y, spacing=1 + 1j), (A(G, F64, grad=False),), {}, device)
