"""``assert_close``: PyTorch's ``torch.testing.assert_close`` for ember tensors, numbers and nests of them.

The tensors' values are compared on the host (NumPy), with PyTorch's formula, default tolerances
and error messages.
"""

from __future__ import annotations

import cmath
import collections.abc
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["assert_close"]


class _Mismatch(Exception):
    """A failed check: the exception type to raise, its message, and where in the nest it happened."""

    def __init__(self, type_: type[Exception], msg: str, id_: tuple = ()) -> None:
        super().__init__(msg)
        self.type = type_
        self.msg = msg
        self.id = id_

    def to_error(self, msg: str | Callable[[str], str] | None = None) -> Exception:
        if not isinstance(msg, str):
            generated = self.msg
            if self.id:
                generated += f"\n\nThe failure occurred for item {''.join(str([item]) for item in self.id)}"
            msg = msg(generated) if callable(msg) else generated
        return self.type(msg)


def _precisions() -> dict:
    import ember

    table: dict = {ember.float16: (0.001, 1e-5), ember.float32: (1.3e-6, 1e-5), ember.float64: (1e-7, 1e-7),
                   "float64": (1e-7, 1e-7), "complex128": (1e-7, 1e-7)}
    for name, tol in (("bfloat16", (0.016, 1e-5)), ("complex64", (1.3e-6, 1e-5)), ("complex128", (1e-7, 1e-7))):
        if hasattr(ember, name):
            table[getattr(ember, name)] = tol
    return table


#: Python numbers compare as PyTorch's int64, float64 and complex128
_NUMBER_DTYPE = {int: "int64", float: "float64", complex: "complex128"}


def _tolerances(dtypes: list, rtol: float | None, atol: float | None, id_: tuple) -> tuple[float, float]:
    if (rtol is None) ^ (atol is None):
        raise _Mismatch(ValueError, "Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                                    f"{'rtol' if rtol is None else 'atol'}.", id_)
    if rtol is not None:
        return rtol, atol
    table = _precisions()
    rtols, atols = zip(*[table.get(d, (0.0, 0.0)) for d in dtypes])
    return max(rtols), max(atols)


def _diff_line(kind: str, diff: Any, idx: tuple | None, tol: float, equality: bool) -> str:
    line = f"{kind.title()} difference: {diff}" if idx is None else f"Greatest {kind} difference: {diff} at index {idx}"
    return line + ("" if equality else f" (up to {tol} allowed)") + "\n"


def _mismatch_msg(identifier: str, extra: str, abs_diff: Any, abs_idx: tuple | None, rel_diff: Any,
                  rel_idx: tuple | None, rtol: float, atol: float) -> str:
    equality = rtol == 0 and atol == 0
    msg = f"{identifier} are not {'equal' if equality else 'close'}!\n\n{extra.strip()}\n"
    msg += _diff_line("absolute", abs_diff, abs_idx, atol, equality)
    msg += _diff_line("relative", rel_diff, rel_idx, rtol, equality)
    return msg.strip()


def _scalar_msg(actual: Any, expected: Any, rtol: float, atol: float) -> str:
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _mismatch_msg("Scalars", f"Expected {expected} but got {actual}.", abs_diff, None, rel_diff, None, rtol, atol)


def _compare_numbers(actual: Any, expected: Any, id_: tuple, rtol: float | None, atol: float | None,
                     equal_nan: bool, check_dtype: bool) -> None:
    a = actual.item() if isinstance(actual, np.number) else actual
    e = expected.item() if isinstance(expected, np.number) else expected
    r, t = _tolerances([_NUMBER_DTYPE[type(x)] for x in (a, e)], rtol, atol, id_)
    if check_dtype and type(a) is not type(e):
        raise _Mismatch(AssertionError, f"The (d)types do not match: {type(a)} != {type(e)}.", id_)
    if a == e or (equal_nan and cmath.isnan(a) and cmath.isnan(e)):
        return
    diff = abs(a - e)
    if cmath.isfinite(diff) and diff <= t + r * abs(e):
        return
    raise _Mismatch(AssertionError, _scalar_msg(a, e, r, t), id_)


def _host(t: Any) -> np.ndarray:
    return t.detach().cpu().numpy()


def _isclose(a: np.ndarray, e: np.ndarray, rtol: float, atol: float, equal_nan: bool) -> np.ndarray:
    """torch.isclose on host arrays of one dtype, computed in that dtype."""
    with np.errstate(all="ignore"):
        close = a == e
        if a.dtype.kind not in "fc":
            if rtol == 0 and atol == 0:
                return close
            a, e = a.astype(np.float64), e.astype(np.float64)
        if equal_nan:
            close |= np.isnan(a) & np.isnan(e)
        diff = np.abs(a - e)
        return close | (np.isfinite(diff) & (diff <= atol + np.abs(rtol * e)))


def _tensor_msg(a: np.ndarray, e: np.ndarray, matches: np.ndarray, rtol: float, atol: float) -> str:
    n = matches.size
    wrong = n - int(matches.sum())
    extra = f"Mismatched elements: {wrong} / {n} ({wrong / n:.1%})"
    a, e, ok = a.reshape(-1), e.reshape(-1), matches.reshape(-1)
    with np.errstate(all="ignore"):
        if a.dtype.kind not in "fc":
            # PyTorch upcasts to int64; the int64 true division gives the default float dtype
            a, e = a.astype(np.int64), e.astype(np.int64)
            abs_diff = np.abs(a - e)
            abs_diff[ok] = 0
            rel_diff = abs_diff.astype(np.float32) / np.abs(e).astype(np.float32)
        else:
            abs_diff = np.abs(a - e)
            abs_diff[ok] = 0
            rel_diff = abs_diff / np.abs(e)
        rel_diff[ok] = 0
    i_abs, i_rel = int(np.argmax(abs_diff)), int(np.argmax(rel_diff))
    unravel = (lambda i: tuple(int(v) for v in np.unravel_index(i, matches.shape))) if matches.shape else (lambda i: ())
    return _mismatch_msg("Tensor-likes", extra, abs_diff[i_abs].item(), unravel(i_abs), rel_diff[i_rel].item(),
                         unravel(i_rel), rtol, atol)


def _compare_tensors(actual: Any, expected: Any, id_: tuple, rtol: float | None, atol: float | None,
                     equal_nan: bool, check_device: bool, check_dtype: bool, check_stride: bool, **_: Any) -> None:
    import ember

    r, t = _tolerances([actual.dtype, expected.dtype], rtol, atol, id_)

    def mismatch(attr: str, av: Any, ev: Any) -> _Mismatch:
        return _Mismatch(AssertionError, f"The values for attribute '{attr}' do not match: {av} != {ev}.", id_)

    if actual.shape != expected.shape:
        raise mismatch("shape", actual.shape, expected.shape)
    if check_stride and actual.stride() != expected.stride():
        raise mismatch("stride()", actual.stride(), expected.stride())
    if check_device and actual.device != expected.device:
        raise mismatch("device", actual.device, expected.device)
    if check_dtype and actual.dtype != expected.dtype:
        raise mismatch("dtype", actual.dtype, expected.dtype)
    if actual.dtype != expected.dtype:
        common = ember.promote_types(actual.dtype, expected.dtype)
        actual, expected = actual.to(common), expected.to(common)
    a, e = _host(actual), _host(expected)
    matches = _isclose(a, e, r, t, equal_nan)
    if matches.all():
        return
    if a.shape == ():
        raise _Mismatch(AssertionError, _scalar_msg(a.item(), e.item(), r, t), id_)
    raise _Mismatch(AssertionError, _tensor_msg(a, e, matches, r, t), id_)


def _kind(x: Any) -> str | None:
    from ember.tensor import Tensor

    if x is None:
        return "none"
    if isinstance(x, (bool, np.bool_)):
        return "bool"
    if isinstance(x, (int, float, complex, np.number)):
        return "number"
    if isinstance(x, (Tensor, np.ndarray)):
        return "tensor"
    return None


def _pairs(actual: Any, expected: Any, id_: tuple, out: list) -> None:
    """Walk nested sequences and mappings; collect the leaf pairs (raising for structural mismatches)."""
    seq = collections.abc.Sequence
    if isinstance(actual, seq) and isinstance(expected, seq) and not isinstance(actual, str) \
            and not isinstance(expected, str):
        if len(actual) != len(expected):
            raise _Mismatch(AssertionError, f"The length of the sequences mismatch: {len(actual)} != {len(expected)}",
                            id_)
        for i in range(len(actual)):
            _pairs(actual[i], expected[i], (*id_, i), out)
        return
    mapping = collections.abc.Mapping
    if isinstance(actual, mapping) and isinstance(expected, mapping):
        ak, ek = set(actual.keys()), set(expected.keys())
        if ak != ek:
            raise _Mismatch(AssertionError, "The keys of the mappings do not match:\n"
                                            f"Missing keys in the actual mapping: {sorted(ek - ak)}\n"
                                            f"Additional keys in the actual mapping: {sorted(ak - ek)}", id_)
        keys: Any = ak
        try:
            keys = sorted(keys)
        except Exception:  # noqa: BLE001 - unorderable keys keep set order, as in PyTorch
            pass
        for k in keys:
            _pairs(actual[k], expected[k], (*id_, k), out)
        return
    ka, ke = _kind(actual), _kind(expected)
    if ka == "none" or ke == "none":
        out.append(("none", actual, expected, id_))
    elif ka == ke == "bool":
        out.append(("bool", actual, expected, id_))
    elif ka == ke == "number":
        out.append(("number", actual, expected, id_))
    elif ka == ke == "tensor" and (isinstance(actual, type(expected)) or isinstance(expected, type(actual))):
        out.append(("tensor", actual, expected, id_))
    else:
        raise _Mismatch(TypeError, f"No comparison pair was able to handle inputs of type {type(actual)} and "
                                   f"{type(expected)}.", id_)


def _as_tensor(x: Any) -> Any:
    import ember

    return ember.as_tensor(x) if isinstance(x, np.ndarray) else x


def _compare(kind: str, actual: Any, expected: Any, id_: tuple, opts: dict) -> None:
    if kind == "none":
        if not (actual is None and expected is None):
            raise _Mismatch(AssertionError, f"None mismatch: {actual} is not {expected}", id_)
    elif kind == "bool":
        if bool(actual) is not bool(expected):
            raise _Mismatch(AssertionError, f"Booleans mismatch: {bool(actual)} is not {bool(expected)}", id_)
    elif kind == "number":
        _compare_numbers(actual, expected, id_, opts["rtol"], opts["atol"], opts["equal_nan"], opts["check_dtype"])
    else:
        _compare_tensors(_as_tensor(actual), _as_tensor(expected), id_, **opts)


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True, rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False,
                 msg: str | Callable[[str], str] | None = None) -> None:
    """``torch.testing.assert_close``: raise an ``AssertionError`` unless ``actual`` and ``expected``
    are close: ``|actual - expected| <= atol + rtol * |expected|`` elementwise, with the same shape
    (and dtype and device unless ``check_dtype``/``check_device`` is False). Default tolerances per
    dtype are PyTorch's (float16 1e-3/1e-5, float32 1.3e-6/1e-5, float64 1e-7/1e-7, exact otherwise).
    Tensors, NumPy arrays, Python numbers, bools, None, and nested sequences and mappings of them
    are compared; ``msg`` replaces the message (or, a callable, edits it). ``check_layout`` is
    accepted (ember tensors are all strided).

    Example:
        >>> import ember
        >>> ember.testing.assert_close(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 2.0 + 1e-7]))
        >>> ember.testing.assert_close(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 3.0]))
        Traceback (most recent call last):
        ...
        AssertionError: Tensor-likes are not close!
        <BLANKLINE>
        Mismatched elements: 1 / 2 (50.0%)
        Greatest absolute difference: 1.0 at index (1,) (up to 1e-05 allowed)
        Greatest relative difference: 0.3333333432674408 at index (1,) (up to 1.3e-06 allowed)
    """
    __tracebackhide__ = True
    opts = {"rtol": rtol, "atol": atol, "equal_nan": equal_nan, "check_device": check_device,
            "check_dtype": check_dtype, "check_stride": check_stride}
    pairs: list = []
    try:
        _pairs(actual, expected, (), pairs)
        for kind, _a, _e, id_ in pairs:  # as in PyTorch, tolerance arguments are checked before any value
            if kind in ("number", "tensor") and (rtol is None) ^ (atol is None):
                _tolerances([], rtol, atol, id_)
    except _Mismatch as err:
        raise err.to_error() from None
    for kind, a, e, id_ in pairs:
        try:
            _compare(kind, a, e, id_, opts)
        except _Mismatch as err:
            raise err.to_error(msg) from None
