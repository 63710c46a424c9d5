"""Probe of tensor creation, conversion and the Python protocols against PyTorch: ``asarray``'s
aliasing, ``copy=`` and ``requires_grad=``; ``tensor()`` of negative-stride arrays; factories'
size and fill-value checks; ``linspace``'s 0-d ends; ``torch.Size`` arithmetic and element checks;
``Tensor.type``; ``hash``/``copy.copy``/``copy.deepcopy`` (storage sharing, strides, attributes);
``mT``/``mH``/``H`` on 0-d, 1-d and 3-d tensors. Each case runs the same function on real PyTorch
and on ember and compares what a user sees (values, dtype names, exception types and messages)."""

from __future__ import annotations

import copy
import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _observe(lib, fn):
    """fn(lib)'s result with dtypes as names and tensors as (values, dtype, shape), or the exception
    type and message."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn(lib)
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e), str(e)
    return _plain(out)


def _plain(v):
    if isinstance(v, (torch.Tensor, ember.Tensor)):
        return "tensor", v.detach().resolve_conj().tolist() if isinstance(v, torch.Tensor) else \
            v.detach().tolist(), str(v.dtype).split(".")[-1], tuple(v.shape)
    if isinstance(v, (torch.dtype, ember.dtype)):
        return str(v).split(".")[-1]
    if isinstance(v, (torch.Size, ember.Size)):
        return "Size", tuple(v)
    if isinstance(v, np.ndarray):
        return "ndarray", v.tolist(), v.dtype.name
    if isinstance(v, (tuple, list)):
        return type(v)(_plain(e) for e in v)
    return v


def _same(fn, message=True):
    ref, mine = _observe(torch, fn), _observe(ember, fn)
    if isinstance(ref, tuple) and len(ref) == 2 and isinstance(ref[0], type):
        assert isinstance(mine, tuple) and len(mine) == 2 and isinstance(mine[0], type), (mine, ref)
        assert issubclass(mine[0], ref[0]) or mine[0].__name__ == ref[0].__name__, (mine, ref)
        if message:
            assert mine[1].replace("ember", "torch") == ref[1], (mine, ref)
        return
    assert mine == ref


def _fresh_leaf(L):
    return L.ones(2, requires_grad=True)


# ---- asarray: aliasing, copy=, dtype=, requires_grad= ------------------------------------------
ASARRAY = {
    "numpy_alias": lambda L: (lambda a: (L.asarray(a).fill_(7), a)[1])(np.zeros(3)),
    "numpy_copy": lambda L: (lambda a: (L.asarray(a, copy=True).fill_(7), a)[1])(np.zeros(3)),
    "numpy_same_dtype": lambda L: (lambda a: (L.asarray(a, dtype=L.float64).fill_(7), a)[1])(np.zeros(3)),
    "numpy_other_dtype": lambda L: (lambda a: (L.asarray(a, dtype=L.float32).fill_(7), a)[1])(np.zeros(3)),
    "numpy_strided_alias": lambda L: (lambda a: (L.asarray(a).fill_(7), a)[1])(np.zeros(6)[::2]),
    "numpy_negative_stride": lambda L: L.asarray(np.arange(6)[::-1]),
    "numpy_alias_dtype_error": lambda L: L.asarray(np.arange(3), dtype=L.float32, copy=False),
    "numpy_alias_same_dtype": lambda L: L.asarray(np.ones(2, dtype=np.float32), dtype=L.float32, copy=False),
    "numpy_int16": lambda L: L.asarray(np.array([1, 2], dtype=np.int16)),
    "numpy_scalar": lambda L: L.asarray(np.float32(1.5)),
    "numpy_scalar_f64": lambda L: L.asarray(np.float64(1.5)),
    "numpy_scalar_alias": lambda L: L.asarray(np.float32(2), copy=False),
    "tensor_alias": lambda L: (lambda x: (L.asarray(x).fill_(7), x)[1])(L.zeros(3)),
    "tensor_is_same": lambda L: (lambda x: L.asarray(x) is x)(L.zeros(3)),
    "tensor_same_dtype_is_same": lambda L: (lambda x: L.asarray(x, dtype=L.float32, copy=False) is x)(L.zeros(3)),
    "tensor_copy": lambda L: (lambda x: (L.asarray(x, copy=True).fill_(7), x)[1])(L.zeros(3)),
    "tensor_alias_dtype_error": lambda L: L.asarray(L.tensor([1, 2]), dtype=L.float32, copy=False),
    "tensor_dtype_copy": lambda L: (lambda x: (L.asarray(x, dtype=L.float64).fill_(7), x)[1])(L.zeros(3)),
    "sequence": lambda L: L.asarray([1, 2.5]),
    "sequence_dtype": lambda L: L.asarray([1, 2], dtype=L.float16),
    "sequence_alias": lambda L: L.asarray([1, 2], copy=False),
    "number_alias": lambda L: L.asarray(3, copy=False),
    "number": lambda L: L.asarray(3),
    "numpy_scalars_in_list": lambda L: L.asarray([np.float32(1.0)]),
    "tensors_in_list": lambda L: L.asarray((L.tensor(1.), 2)),
    "buffer_default_dtype": lambda L: L.asarray(memoryview(b"abcd")),
    "buffer_bad_length": lambda L: L.asarray(memoryview(b"abc")),
    "buffer_uint8": lambda L: L.asarray(bytearray(b"ab"), dtype=L.uint8),
    "buffer_int64": lambda L: L.asarray(bytearray(b"abcdefgh"), dtype=L.int64),
    "int_requires_grad": lambda L: L.asarray([1, 2], requires_grad=True),
    "float_requires_grad": lambda L: L.asarray([1., 2], requires_grad=True).requires_grad,
    "device": lambda L: L.asarray(np.ones(2), device="cpu"),
}

# (requires_grad, is_leaf, has grad_fn, the input's requires_grad afterwards) of asarray(x, **kw)
GRAD_KW = [{}, {"copy": True}, {"copy": True, "requires_grad": True}, {"copy": True, "requires_grad": False},
           {"dtype": "float64"}, {"dtype": "float64", "requires_grad": False}, {"requires_grad": False},
           {"requires_grad": True}]


@pytest.mark.parametrize("name", ASARRAY)
def test_asarray(name):
    _same(ASARRAY[name])


@pytest.mark.parametrize("leaf", [True, False], ids=["leaf", "result"])
@pytest.mark.parametrize("kw", GRAD_KW, ids=str)
def test_asarray_requires_grad(kw, leaf):
    def fn(L):
        x = _fresh_leaf(L) if leaf else _fresh_leaf(L) * 2
        kwargs = {k: getattr(L, v) if k == "dtype" else v for k, v in kw.items()}
        y = L.asarray(x, **kwargs)
        return y.requires_grad, y.is_leaf, y.grad_fn is None, x.requires_grad, y is x

    _same(fn)


def test_asarray_plain_tensor_requires_grad_sets_the_input():
    def fn(L):
        w = L.ones(2)
        y = L.asarray(w, requires_grad=True)
        return y is w, w.requires_grad

    _same(fn)


def test_asarray_copy_is_differentiable():
    def fn(L):
        x = _fresh_leaf(L)
        L.asarray(x, copy=True).sum().backward()
        return x.grad

    _same(fn)


def test_asarray_warns_when_requires_grad_is_inherited():
    with pytest.warns(UserWarning, match="unspecified requires_grad"):
        ember.asarray(ember.ones(2, requires_grad=True))


# ---- tensor()/from_numpy of NumPy arrays ------------------------------------------------------
NUMPY = {
    "tensor_negative_stride": lambda L: L.tensor(np.arange(6)[::-1]),
    "tensor_negative_stride_2d": lambda L: L.tensor(np.arange(12).reshape(3, 4)[::-1, ::2]),
    "tensor_positive_step": lambda L: L.tensor(np.arange(6)[::2]),
    "as_tensor_negative_stride": lambda L: L.as_tensor(np.arange(6)[::-1]),
    "tensor_fortran": lambda L: L.tensor(np.arange(6).reshape(2, 3).T),
}


@pytest.mark.parametrize("name", NUMPY)
def test_numpy_input(name):
    _same(NUMPY[name])


def test_from_numpy_of_a_read_only_array_warns():
    a = np.zeros(3)
    a.flags.writeable = False
    with pytest.warns(UserWarning, match="not writable"):
        ember.from_numpy(a)
    with pytest.warns(UserWarning, match="not writable"):
        ember.as_tensor(a)


# ---- factories: sizes, fill values, range ends ------------------------------------------------
FACTORIES = {
    "full_int_size": lambda L: L.full(2, 3),
    "full_list_size": lambda L: L.full([2, 3], 1),
    "full_size_object": lambda L: L.full(L.Size([2]), 1),
    "full_0d_tensor_fill": lambda L: L.full((2,), L.tensor(3)),
    "full_0d_float_tensor_fill": lambda L: L.full((2,), L.tensor(3.5)),
    "full_1d_tensor_fill": lambda L: L.full((2,), L.tensor([3])),
    "full_2_elem_tensor_fill": lambda L: L.full((2,), L.tensor([3, 4])),
    "full_like_1d_tensor_fill": lambda L: L.full_like(L.ones(2), L.tensor([3])),
    "full_like_0d_tensor_fill": lambda L: L.full_like(L.ones(2), L.tensor(3)),
    "new_full_int_size": lambda L: L.ones(2).new_full(2, 5),
    "new_full_1d_tensor_fill": lambda L: L.ones(2).new_full((2,), L.tensor([3])),
    "new_full_0d_tensor_fill": lambda L: L.ones(2).new_full((2,), fill_value=L.tensor(3)),
    "arange_end_keyword": lambda L: L.arange(end=4),
    "arange_end_keyword_float": lambda L: L.arange(end=3.5),
    "arange_end_step_keywords": lambda L: L.arange(1, end=4, step=2),
    "linspace_1d_start": lambda L: L.linspace(L.tensor([0.]), 1, 3),
    "linspace_both_tensors": lambda L: L.linspace(L.tensor([0.]), L.tensor(1.), 3),
    "linspace_2d_end": lambda L: L.linspace(0, L.tensor([[1.]]), 3),
    "linspace_0d_tensors": lambda L: L.linspace(L.tensor(0.), L.tensor(1.), 3),
    "logspace_1d_start": lambda L: L.logspace(L.tensor([0.]), 1, 3),
    "zeros_like_list": lambda L: L.zeros_like([1, 2]),
    "ones_like_ndarray": lambda L: L.ones_like(np.ones(2)),
    "empty_like_list": lambda L: L.empty_like([1.0]),
    "full_like_list": lambda L: L.full_like([1.0], 2),
    "rand_like_list": lambda L: L.rand_like([1.0]),
    "zeros_1d_size_tensor": lambda L: L.zeros(L.tensor([2])),
    "zeros_0d_int_tensor": lambda L: L.zeros(L.tensor(2)),
    "zeros_0d_float_tensor": lambda L: L.zeros(L.tensor(2.)),
    "zeros_2_elem_tensor": lambda L: L.zeros(L.tensor([2, 3])),
    "zeros_tensor_in_list": lambda L: L.zeros([L.tensor(2), 3]),
    "zeros_size_keyword_int": lambda L: L.zeros(size=2),
    "ones_size_keyword_tensor": lambda L: L.ones(size=L.tensor(2)),
    "empty_size_keyword_int": lambda L: L.empty(size=2),
    "rand_size_keyword_int": lambda L: L.rand(size=2),
    "zeros_size_keyword_list": lambda L: L.zeros(size=[2]),
    "legacy_tensor_of_size": lambda L: tuple(L.Tensor(L.Size([2, 3])).shape),
}


@pytest.mark.parametrize("name", FACTORIES)
def test_factories(name):
    _same(FACTORIES[name])


# ---- memory formats, hash, copy, deepcopy ------------------------------------------------------
PROTOCOLS = {
    "channels_last_on_3d": lambda L: L.ones(2, 3, 4).is_contiguous(memory_format=L.channels_last),
    "channels_last_3d_on_4d": lambda L: L.ones(2, 3, 4, 5).is_contiguous(memory_format=L.channels_last_3d),
    "channels_last_size_one": lambda L: L.ones(1, 3, 1, 1).is_contiguous(memory_format=L.channels_last),
    "hash_is_id": lambda L: (lambda x: hash(x) == id(x))(L.ones(2)),
    "copy_shares_memory": lambda L: (lambda x: (copy.copy(x).fill_(5), x)[1])(L.zeros(2)),
    "copy_keeps_requires_grad": lambda L: copy.copy(_fresh_leaf(L)).requires_grad,
    "copy_of_result": lambda L: (lambda y: (y.requires_grad, y.is_leaf))(copy.copy(_fresh_leaf(L) * 2)),
    "copy_keeps_attributes": lambda L: (lambda x: (setattr(x, "foo", [1]), copy.copy(x).foo)[1])(L.ones(2)),
    "deepcopy_keeps_attributes": lambda L: (lambda x: (setattr(x, "foo", 5), copy.deepcopy(x).foo)[1])(L.ones(2)),
    "deepcopy_transposed_strides": lambda L: copy.deepcopy(L.ones(2, 3).t()).stride(),
    "deepcopy_stepped_strides": lambda L: copy.deepcopy(L.ones(4)[::2]).stride(),
    "deepcopy_offset": lambda L: copy.deepcopy(L.arange(4.)[1:]).storage_offset(),
    "deepcopy_view_values": lambda L: copy.deepcopy(L.arange(6.).reshape(2, 3).t()[1:]),
    "deepcopy_views_share": lambda L: (lambda c: (c[1].fill_(5), c[0])[1])(
        copy.deepcopy((lambda x: [x, x[1:]])(L.zeros(3)))),
    "deepcopy_is_separate": lambda L: (lambda x: (copy.deepcopy(x).fill_(5), x)[1])(L.zeros(3)),
    "deepcopy_non_leaf": lambda L: copy.deepcopy(_fresh_leaf(L) * 2),
    "deepcopy_leaf": lambda L: (lambda y: (y.requires_grad, y.is_leaf))(copy.deepcopy(_fresh_leaf(L))),
    "deepcopy_expanded": lambda L: (lambda y: (y.stride(), y))(copy.deepcopy(L.arange(3.).expand(2, 3))),
}


@pytest.mark.parametrize("name", PROTOCOLS)
def test_protocols(name):
    _same(PROTOCOLS[name])


def test_deepcopy_of_a_module_keeps_tied_weights():
    def fn(L):
        lin = L.nn.Linear(2, 2)
        m = L.nn.Sequential(lin, lin)
        c = copy.deepcopy(m)
        return c[0].weight is c[1].weight, c[0].weight.requires_grad, type(c[0].weight).__name__

    _same(fn)


# ---- mT / mH / H / T -------------------------------------------------------------------------
TRANSPOSES = {f"{attr}_{n}d": (attr, n) for attr in ("T", "mT", "mH", "H") for n in (0, 1, 2, 3)}


@pytest.mark.parametrize("name", TRANSPOSES)
def test_transposes(name):
    attr, n = TRANSPOSES[name]
    _same(lambda L: getattr(L.arange(float(2 ** n)).reshape((2,) * n), attr))


@pytest.mark.parametrize("attr", ["mT", "mH", "H"])
def test_transposes_of_0d_warn_and_return_self(attr):
    x = ember.tensor(1.5)
    with pytest.warns(UserWarning, match="deprecated on 0-D tensors"):
        assert getattr(x, attr) is x


def test_conjugate_transposes_of_complex():
    _same(lambda L: L.tensor([[1 + 1j, 2]]).H)
    _same(lambda L: L.tensor([[[1 + 1j, 2]]]).mH)


# ---- Tensor.type --------------------------------------------------------------------------------
TYPES = {
    "legacy_name": lambda L: L.ones(2).type("torch.DoubleTensor"),
    "legacy_int_name": lambda L: L.ones(2).type("torch.IntTensor"),
    "tensor_name": lambda L: L.ones(2).type("torch.Tensor"),
    "bare_name": lambda L: L.ones(2).type("FloatTensor"),
    "dtype_name": lambda L: L.ones(2).type("torch.float64"),
    "unknown_name": lambda L: L.ones(2).type("torch.Foo"),
    "python_float": lambda L: L.ones(2).type(float),
    "python_int": lambda L: L.ones(2).type(int),
    "legacy_class": lambda L: L.ones(2).type(L.DoubleTensor),
    "tensor_class": lambda L: (lambda x: x.type(L.Tensor) is x)(L.ones(2)),
    "dtype": lambda L: L.ones(2).type(L.int32),
    "same_dtype_is_self": lambda L: (lambda x: x.type(L.float32) is x)(L.ones(2)),
    "number": lambda L: L.ones(2).type(3),
    "non_blocking": lambda L: L.ones(2).type(L.float64, non_blocking=True),
    "keyword": lambda L: L.ones(2).type(dtype=L.float64),
}


@pytest.mark.parametrize("name", TYPES)
def test_type(name):
    _same(TYPES[name])


# ---- torch.Size ---------------------------------------------------------------------------------
SIZES = {
    "radd_is_size": lambda L: type((4,) + L.Size([2, 3])).__name__,
    "radd": lambda L: (4,) + L.Size([2, 3]),
    "mul_is_size": lambda L: type(L.Size([2, 3]) * 2).__name__,
    "rmul": lambda L: 2 * L.Size([2]),
    "mul_zero": lambda L: L.Size([2]) * 0,
    "add_list": lambda L: L.Size([2]) + [3],
    "add_float_tuple": lambda L: L.Size([2]) + (3.5,),
    "add_size": lambda L: L.Size((2, 3)) + L.Size((1,)),
    "float_item": lambda L: L.Size([2.0]),
    "str_item": lambda L: L.Size(["a"]),
    "none_item": lambda L: L.Size([None]),
    "tensor_item": lambda L: L.Size([L.tensor(2)]),
    "one_elem_tensor_item": lambda L: L.Size([L.tensor([3])]),
    "float_tensor_item": lambda L: L.Size([L.tensor(3.)]),
    "bool_item": lambda L: L.Size([True]),
    "numpy_item": lambda L: L.Size([np.int64(3)]),
    "negative": lambda L: L.Size([-1]),
    "slice": lambda L: type(L.Size([2, 3, 4])[1:]).__name__,
    "numel": lambda L: L.Size([2, 0]).numel(),
    "eq_tuple": lambda L: L.Size([2, 3]) == (2, 3),
}


@pytest.mark.parametrize("name", SIZES)
def test_size(name):
    _same(SIZES[name])
