"""Leftover divergences from PyTorch found by earlier probes. Each case runs the same function on real
PyTorch and on ember and compares what a user sees (values, dtype names, exception types and
messages).

``cat``/``stack`` and their kin with a non-tensor element or a non-sequence argument;
``tensor()``/``as_tensor``/``from_numpy`` of NumPy dtypes ember lacks (uint16/32/64, longdouble,
str, object: PyTorch's "can't convert np.ndarray" TypeError, never a KeyError) and of invalid
data (strings, None, ragged lists, dicts, sets, multi-element tensors); ``full`` with NumPy
scalars and non-numbers; ``Tensor.unfold`` as a strided view (writes reach the base, strides
``(step * stride, stride)``, ``UnfoldBackward0``); advanced indexing's ``IndexBackward0``.
"""

from __future__ import annotations

import decimal
import fractions
import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _observe(lib, fn, device):
    """fn(lib, dev)'s result with tensors as (values, dtype, shape), or the exception type and message."""
    dev = "cpu" if lib is torch else device
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn(lib, dev)
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e), str(e)
    return _plain(out)


def _plain(v):
    if isinstance(v, (torch.Tensor, ember.Tensor)):
        return "tensor", v.detach().cpu().tolist(), str(v.dtype).split(".")[-1], tuple(v.shape)
    if isinstance(v, (tuple, list)):
        return type(v)(_plain(e) for e in v)
    return v


def _same(fn, device, message=True):
    ref, mine = _observe(torch, fn, device), _observe(ember, fn, device)
    if isinstance(ref, tuple) and len(ref) == 2 and isinstance(ref[0], type):
        assert isinstance(mine, tuple) and mine[0] is ref[0], (mine, ref)
        if message:
            assert mine[1].replace("ember", "torch") == ref[1], (mine, ref)
        return
    assert mine == ref


def _error_of(lib, fn, device="cpu"):
    out = _observe(lib, fn, device)
    assert isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], type), out
    return out


# ---- 1: TensorList arguments ------------------------------------------------------------------
STACKERS = ["stack", "cat", "hstack", "vstack", "dstack", "column_stack", "row_stack"]
BAD_LISTS = {
    "int": lambda L, d: [L.ones(2, device=d), 1],
    "none": lambda L, d: [L.ones(2, device=d), None],
    "list": lambda L, d: (L.ones(2, device=d), [1.0, 2.0]),
    "first": lambda L, d: [3.0, L.ones(2, device=d)],
    "array": lambda L, d: [L.ones(2, device=d), np.ones(2)],
    "tensor": lambda L, d: L.ones(2, device=d),
    "number": lambda L, d: 3,
    "generator": lambda L, d: (t for t in [L.ones(2, device=d)]),
    "range": lambda L, d: range(2),
    "set": lambda L, d: {1},
}


@pytest.mark.parametrize("fn", STACKERS)
@pytest.mark.parametrize("case", sorted(BAD_LISTS))
def test_tensor_list_elements(device, fn, case):
    _same(lambda L, d: getattr(L, fn)(BAD_LISTS[case](L, d)), device)


VARIADIC = ["broadcast_tensors", "meshgrid", "atleast_1d", "atleast_2d", "atleast_3d"]
VARIADIC_ARGS = {
    "int": lambda L, d: (L.ones(2, device=d), 1),
    "none": lambda L, d: (L.ones(2, device=d), None),
    "list_int": lambda L, d: ([L.ones(2, device=d), 1],),
}


@pytest.mark.parametrize("fn", VARIADIC)
@pytest.mark.parametrize("case", sorted(VARIADIC_ARGS))
def test_variadic_tensor_elements(device, fn, case):
    """Functions taking ``*tensors`` (or one list of them) check each element as a TensorList."""

    def call(L, d):
        kw = {"indexing": "ij"} if fn == "meshgrid" else {}
        return getattr(L, fn)(*VARIADIC_ARGS[case](L, d), **kw)

    _same(call, device)


@pytest.mark.parametrize("fn", ["stack", "cat", "hstack", "vstack", "dstack", "column_stack"])
def test_empty_tensor_list(device, fn):
    _same(lambda L, d: getattr(L, fn)([]), device)


@pytest.mark.parametrize("fn", ["concat", "concatenate"])
@pytest.mark.parametrize("case", ["int", "none", "list", "first", "array"])
def test_concat_aliases_elements(device, fn, case):
    """The aliases' element errors (their argument-type errors name ``cat``, not the alias)."""
    _same(lambda L, d: getattr(L, fn)(BAD_LISTS[case](L, d)), device)


def test_default_collate_mixed(device):
    """default_collate of a dict batch whose values mix an int and a str: tensor()'s invalid data."""
    from ember.utils.data import default_collate as e_collate
    from torch.utils.data import default_collate as t_collate

    batch = [{"a": 1}, {"a": "x"}]
    ref = _error_of(torch, lambda L, d: t_collate(batch))
    mine = _error_of(ember, lambda L, d: e_collate(batch))
    assert mine == ref


# ---- 2: NumPy dtypes ember lacks --------------------------------------------------------------
def _unsupported(lib, fn):
    """PyTorch's error for an unsupported NumPy dtype, or None where PyTorch converts (it has
    uint16/32/64; ember does not, and raises PyTorch's own "can't convert" error for them)."""
    return _observe(lib, lambda L, d: fn(L), "cpu")


CANT_CONVERT = "can't convert np.ndarray of type numpy.{}. The only supported types are: "
UINTS = [np.uint16, np.uint32, np.uint64]
NP_MAKERS = {
    "tensor_scalar": lambda L, t: L.tensor(t(3)),
    "as_tensor_scalar": lambda L, t: L.as_tensor(t(3)),
    "tensor_array": lambda L, t: L.tensor(np.array([1, 2], dtype=t)),
    "as_tensor_array": lambda L, t: L.as_tensor(np.array([1, 2], dtype=t)),
    "from_numpy": lambda L, t: L.from_numpy(np.array([1, 2], dtype=t)),
    "from_numpy_0d": lambda L, t: L.from_numpy(np.array(5, dtype=t)),
    "list_of_scalars": lambda L, t: L.tensor([t(1), t(2)]),
}


@pytest.mark.parametrize("dt", UINTS, ids=lambda t: t.__name__)
@pytest.mark.parametrize("case", sorted(NP_MAKERS))
def test_numpy_uint_is_a_type_error(dt, case):
    """ember has no uint16/32/64: a TypeError in PyTorch's words, where PyTorch makes such a tensor."""
    mine = _observe(ember, lambda L, d: NP_MAKERS[case](L, dt), "cpu")
    assert mine[0] is TypeError and mine[1].startswith(CANT_CONVERT.format(dt.__name__)), mine


UINT_CONVERTED = {
    "tensor_float": lambda L, t: L.tensor(np.array([1, 2], dtype=t), dtype=L.float32),
    "as_tensor_int64": lambda L, t: L.as_tensor(np.array([1, 2], dtype=t), dtype=L.int64),
    "list_int32": lambda L, t: L.tensor([t(1)], dtype=L.int32),
    "full": lambda L, t: L.full((2,), t(3)),
    "add": lambda L, t: L.ones(2) + t(3),
}


@pytest.mark.parametrize("dt", UINTS, ids=lambda t: t.__name__)
@pytest.mark.parametrize("case", sorted(UINT_CONVERTED))
def test_numpy_uint_with_dtype(dt, case):
    """With a dtype ember has, PyTorch's result: the unsigned values converted."""
    _same(lambda L, d: UINT_CONVERTED[case](L, dt), "cpu")


UINT64_RANGE = {
    "list_past_int64": ([2**63], "int64"),
    "scalar_past_int64": (np.uint64(2**63), "int64"),
    "scalar_past_int64_uint8": (np.uint64(2**63), "uint8"),
    "scalar_to_float32": (np.uint64(2**63), "float32"),
    "list_in_range_uint8": ([np.uint64(5)], "uint8"),
    "scalar_past_uint8": (np.uint64(300), "uint8"),
    "list_in_range_int64": ([np.uint64(7), np.uint64(2)], "int64"),
}


@pytest.mark.parametrize("case", sorted(UINT64_RANGE))
def test_numpy_uint64_range(case):
    """A uint64 number is range-checked as PyTorch checks it (NumPy uint64 numbers within int64's range
    convert; past it, "Overflow when unpacking long long")."""
    data, dt = UINT64_RANGE[case]
    _same(lambda L, d: L.tensor(data, dtype=getattr(L, dt)), "cpu")


BIG_ENDIAN = {
    "from_numpy": lambda L: L.from_numpy(np.array([1, 2], dtype=">f4")),
    "tensor": lambda L: L.tensor(np.array([1, 2], dtype=">f4")),
    "as_tensor": lambda L: L.as_tensor(np.array([1, 2], dtype=">i4")),
}


@pytest.mark.parametrize("case", sorted(BIG_ENDIAN))
def test_numpy_byte_order(case):
    _same(lambda L, d: BIG_ENDIAN[case](L), "cpu")


OTHER_NP = {
    "longdouble_array": lambda L: L.from_numpy(np.array([1, 0], dtype=np.longdouble)),
    "longdouble_scalar": lambda L: L.as_tensor(np.longdouble(1)),
    "object_array": lambda L: L.from_numpy(np.array([1, 0], dtype=object)),
    "object_tensor": lambda L: L.tensor(np.array([1, 2], dtype=object)),
    "object_ragged": lambda L: L.tensor(np.array([[1, 2], [3]], dtype=object)),
    "object_with_dtype": lambda L: L.tensor(np.array([1, 2], dtype=object), dtype=L.float32),
    "str_with_dtype": lambda L: L.tensor(np.array(["1"]), dtype=L.float32),
    "datetime": lambda L: L.tensor(np.array(["2020-01-01"], dtype="datetime64[D]")),
    "clongdouble": lambda L: L.tensor(np.array([1], dtype=np.clongdouble)),
    "str_array": lambda L: L.tensor(np.array(["a"])),
    "str_from_numpy": lambda L: L.from_numpy(np.array(["a"])),
    "str_scalar": lambda L: L.as_tensor(np.str_("a")),
    "list_of_str_array": lambda L: L.tensor([np.array(["a"])]),
}


@pytest.mark.parametrize("case", sorted(OTHER_NP))
def test_numpy_unsupported_dtypes(case):
    """The error type and the type name PyTorch prints (numpy.longdouble, numpy.object_, numpy.str_);
    the list of supported dtypes that follows is ember's own (bfloat16, no unsigned beyond uint8)."""
    ref = _unsupported(torch, OTHER_NP[case])
    mine = _unsupported(ember, OTHER_NP[case])
    assert mine[0] is ref[0], (mine, ref)
    cut = ". The only supported types are"
    assert mine[1].split(cut)[0] == ref[1].split(cut)[0], (mine, ref)


# ---- 3: invalid data for tensor() -------------------------------------------------------------
def _t(L, v, dt=None):
    return L.tensor(v) if dt is None else L.tensor(v, dtype=getattr(L, dt))


DATA = {
    "str_in_list": ([1, "a"], None),
    "str_first": (["a", 1], None),
    "str_alone_in_list": (["a"], None),
    "str": ("a", None),
    "bytes": (b"a", None),
    "bytes_in_list": ([b"a"], None),
    "str_tuple": ((1, "a"), None),
    "str_after_row": ([[1, 2], "ab"], None),
    "str_in_row": ([[1, 2], [3, "a"]], None),
    "float_then_str": ([1.5, "a"], None),
    "none_in_list": ([1, None], None),
    "none_first": ([None, "a"], None),
    "none_nested": ([[1, 2], [None]], None),
    "ragged_short": ([[1, 2], [3]], None),
    "ragged_long": ([[1, 2], [3, 4, 5]], None),
    "ragged_deep": ([[[1]], [[1, 2]]], None),
    "ragged_empty_second": ([[1], []], None),
    "empty_then_row": ([[], [1]], None),
    "empty_then_row_int32": ([[], [1]], "int32"),
    "row_then_number": ([[1, 2], 3], None),
    "number_then_row": ([1, [2, 3]], None),
    "dict": ({1: 2}, None),
    "set": ({1, 2}, None),
    "set_in_list": ([{1, 2}], None),
    "dict_in_row": ([[1, 2], {1: 2, 3: 4}], None),
    "object": ([object()], None),
    "decimal": (decimal.Decimal(1), None),
    "fraction": ([fractions.Fraction(1, 2)], None),
    "np_float_then_str": ([np.float64(1), "a"], None),
    "number_then_array": ([1, np.array([1, 2])], None),
    "ragged_arrays": ([np.array([1, 2]), np.array([3])], None),
    "array_then_number": ([np.array([1, 2]), 3], None),
    "str_float32": ([1, "a"], "float32"),
    "numeric_str_float32": ([1, "1"], "float32"),
    "none_float32": ([1, None], "float32"),
    "none_float64": ([1.5, None], "float64"),
    "none_int64": ([1, None], "int64"),
    "str_int64": ([1, "a"], "int64"),
    "complex_int64": ([1, 1j], "int64"),
    "str_bool": ([1, "a"], "bool"),
    "none_complex64": ([1, None], "complex64"),
    "list_float32": ([1, [2]], "float32"),
    "ragged_float32": ([[1, 2], [3]], "float32"),
    "ragged_int32": ([[1, 2], [3]], "int32"),
    "object_float32": ([1, object()], "float32"),
    "float_int64": ([1, 2.5], "int64"),
}


@pytest.mark.parametrize("case", sorted(DATA))
def test_invalid_data(device, case):
    data, dt = DATA[case]
    _same(lambda L, d: L.tensor(data, dtype=None if dt is None else getattr(L, dt), device=d), device)


TENSOR_ELEMENTS = {
    "int_multi_then_number": lambda L: [L.tensor([1, 2]), 3],
    "int_multi_pair": lambda L: [L.tensor([1, 2]), L.tensor([3, 4])],
    "float_multi_then_number": lambda L: [L.tensor([1.0, 2.0]), 3],
    "zero_d": lambda L: [L.tensor(1), L.tensor(2)],
    "one_elem": lambda L: [L.tensor([1]), L.tensor([2])],
    "zero_d_and_number": lambda L: [L.tensor(1.0), 2],
    "nested_zero_d": lambda L: [[L.tensor(1)], [2]],
    "tensor_then_array": lambda L: [L.tensor([1, 2]), np.array([3, 4])],
}


@pytest.mark.parametrize("case", sorted(TENSOR_ELEMENTS))
def test_tensor_elements(device, case):
    _same(lambda L, d: L.tensor(TENSOR_ELEMENTS[case](L), device=d), device)


@pytest.mark.parametrize("dt", ["float32", "int64"])
def test_multi_element_tensor_with_dtype(device, dt):
    _same(lambda L, d: L.tensor([L.tensor([1.0, 2.0])], dtype=getattr(L, dt), device=d), device)


def test_other_constructors(device):
    _same(lambda L, d: L.as_tensor([1, "a"], device=d), device)
    _same(lambda L, d: L.as_tensor([[1, 2], [3]], device=d), device)
    _same(lambda L, d: L.FloatTensor([1, "a"]), device)
    _same(lambda L, d: L.FloatTensor([1, None]), device)


# ---- full's fill_value ------------------------------------------------------------------------
FILLS = {
    "np_int32": lambda: np.int32(3),
    "np_float32": lambda: np.float32(1.5),
    "np_float64": lambda: np.float64(1.5),
    "np_bool": lambda: np.bool_(True),
    "np_complex64": lambda: np.complex64(1 + 2j),
    "np_complex128": lambda: np.complex128(1 + 2j),
    "array": lambda: np.array(2),
    "str": lambda: "a",
    "none": lambda: None,
    "list": lambda: [1],
}


@pytest.mark.parametrize("case", sorted(FILLS))
@pytest.mark.parametrize("dt", [None, "float64", "int32"])
def test_full_fill_value(device, case, dt):
    if device != "cpu" and case.startswith("np_complex") and dt is None:
        pytest.skip("a complex result: the device may lack complex dtypes")
    _same(lambda L, d: L.full((2,), FILLS[case](), dtype=None if dt is None else getattr(L, dt), device=d),
          device)


@pytest.mark.parametrize("case", ["str", "none", "np_int32", "np_float32"])
def test_full_like_fill_value(device, case):
    _same(lambda L, d: L.full_like(L.ones(2, dtype=L.int32, device=d), FILLS[case]()), device)
    _same(lambda L, d: L.ones(2, device=d).new_full((2,), FILLS[case]()), device)


# ---- 4/5: error texts and grad_fn names -------------------------------------------------------
EXPAND = {
    "too_few": lambda L, d: L.ones(3, 4, device=d).expand(2),
    "trailing_first": lambda L, d: L.ones(3, 4, device=d).expand(2, 2),
    "leading_minus_one": lambda L, d: L.ones(3, 4, device=d).expand(-1, 3, 4),
    "minus_one_kept": lambda L, d: L.ones(3, 4, device=d).expand(2, -1, 4),
}


@pytest.mark.parametrize("case", sorted(EXPAND))
def test_expand_errors(device, case):
    """The tensor's type prints as ``ember.FloatTensor`` (ember's type names), otherwise PyTorch's text."""
    _same(EXPAND[case], device)


INDEXES = {
    "tensor": lambda L, x: x[L.tensor([0, 1])],
    "mask": lambda L, x: x[x > 0],
    "pair": lambda L, x: x[L.tensor([0]), L.tensor([1])],
    "second_dim": lambda L, x: x[:, L.tensor([1, 2])],
    "list": lambda L, x: x[[0, 1]],
    "ellipsis_list": lambda L, x: x[..., [1]],
}


@pytest.mark.parametrize("case", sorted(INDEXES))
def test_advanced_index_grad_fn(device, case):
    names = []
    for L in (torch, ember):
        x = L.ones(3, 4, device="cpu" if L is torch else device, requires_grad=True)
        names.append(INDEXES[case](L, x).grad_fn.name())
    assert names[1] == names[0]


# ---- 6: unfold is a view ----------------------------------------------------------------------
UNFOLDS = [
    ((10,), 0, 3, 2, None),
    ((10,), 0, 3, 1, None),
    ((10,), 0, 2, 3, None),
    ((3, 4), 1, 3, 1, None),
    ((3, 4), 0, 2, 1, "t"),
    ((2, 3, 4), 2, 2, 1, "slice"),
    ((2, 3, 4), -2, 2, 2, None),
    ((5,), 0, 1, 2, None),
    ((6,), 0, 5, 1, None),
    ((4, 6), 1, 4, 2, None),
]


def _unfold_input(L, shape, how, device):
    x = L.arange(float(np.prod(shape)), device=device).reshape(shape)
    if how == "t":
        x = x.t()
    elif how == "slice":
        x = x[:, 1:]
    return x


@pytest.mark.parametrize("case", range(len(UNFOLDS)))
def test_unfold_view(device, case):
    """Values, strides and storage offset as PyTorch's; a write through the result reaches the base."""
    from ember.functions.torch_surface import _has_view_kernels

    if not _has_view_kernels(ember.ones(1, device=device)):
        pytest.skip("the backend has no as_strided kernels: unfold copies overlapping windows there")
    shape, dim, size, step, how = UNFOLDS[case]
    seen = []
    for L in (torch, ember):
        x = _unfold_input(L, shape, how, "cpu" if L is torch else device)
        u = x.unfold(dim, size, step)
        values = u.tolist()
        u[..., 0] = -1.0  # the first element of each window: distinct memory even where windows overlap
        root = x if x._base is None else x._base
        seen.append((values, tuple(u.shape), u.stride(), u.storage_offset(), x.tolist(), u._base is root))
    assert seen[1] == seen[0]


@pytest.mark.parametrize("case", range(len(UNFOLDS)))
def test_unfold_grad(device, case):
    shape, dim, size, step, how = UNFOLDS[case]
    grads = []
    for L in (torch, ember):
        dev = "cpu" if L is torch else device
        x = L.arange(float(np.prod(shape)), device=dev).reshape(shape).requires_grad_()
        xi = x.t() if how == "t" else x[:, 1:] if how == "slice" else x
        u = xi.unfold(dim, size, step)
        w = L.arange(1.0, u.numel() + 1.0, device=dev).reshape(u.shape)
        (u * u * w).sum().backward()
        grads.append((u.grad_fn.name(), x.grad.tolist()))
    assert grads[1] == grads[0]


def test_unfold_expanded_input_grad(device):
    """An input whose elements alias (expanded): each element keeps its own gradient."""
    grads = []
    for L in (torch, ember):
        dev = "cpu" if L is torch else device
        e = L.ones(3, 1, device=dev).expand(3, 4).requires_grad_()
        u = e.unfold(1, 2, 1)
        (u * L.arange(18.0, device=dev).reshape(u.shape)).sum().backward()
        grads.append(e.grad.tolist())
    assert grads[1] == grads[0]


def test_unfold_errors(device):
    _same(lambda L, d: L.arange(5.0, device=d).unfold(0, 6, 1), device)
    _same(lambda L, d: L.arange(5.0, device=d).unfold(0, 2, 0), device)
    _same(lambda L, d: L.arange(5.0, device=d).unfold(1, 2, 1), device)
    _same(lambda L, d: L.tensor(3.0, device=d).unfold(0, 1, 1), device)
