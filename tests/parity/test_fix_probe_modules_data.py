"""Parity with PyTorch for default_collate dtype rules, load_state_dict(assign=True), load-state-dict
hooks, Module.bfloat16/to(complex), RNN/LSTM/ParameterList/ParameterDict repr, TensorDataset and
WeightedRandomSampler errors: each case is built in both libraries and compared."""

from __future__ import annotations

import collections
import copy
import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")
from ember.utils.data import default_collate as e_collate  # noqa: E402
from ember.utils.data import default_convert as e_convert  # noqa: E402
from torch.utils.data import default_collate as t_collate  # noqa: E402


def _dt(x) -> str:
    return str(x.dtype).split(".")[-1]


def _norm(x):
    """A library-neutral description of a collate result."""
    if isinstance(x, (torch.Tensor, ember.Tensor)):
        return ("T", _dt(x), tuple(x.shape), x.tolist())
    if isinstance(x, collections.abc.Mapping):
        return (type(x).__name__, tuple((k, _norm(v)) for k, v in x.items()))
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, tuple(_norm(v) for v in x))
    return x


Point = collections.namedtuple("Point", ["x", "y"])

COLLATE_CASES = {
    "int_then_float": [0, 0.5],
    "float_then_int": [0.5, 1],
    "bool_then_int": [True, 2],
    "bool_then_float": [True, 0.5],
    "bools": [True, False],
    "int_then_bool": [1, True],
    "float_then_bool": [1.5, True],
    "np_f32_then_float": [np.float32(1), 2.0],
    "float_then_np_f32": [2.0, np.float32(1)],
    "np_i64_then_float": [np.int64(1), 2.5],
    "np_i8": [np.int8(1), np.int8(2)],
    "np_bool": [np.bool_(True), np.bool_(False)],
    "np_0d_float": [np.array(1.0), np.array(2.0)],
    "np_0d_int": [np.array(1), np.array(2)],
    "np_2d": [np.arange(6.0).reshape(2, 3), np.ones((2, 3))],
    "np_transposed": [np.arange(6.0).reshape(2, 3).T] * 2,
    "dicts_mixed": [{"y": 0}, {"y": 0.5}],
    "tuple_with_str": [(1, "a"), (2, "b")],
    "list_nested": [[1, [0.5, "s"]], [2, [1, "t"]]],
    "namedtuple": [Point(1, 2.0), Point(3, 4.0)],
    "ordered_dict": [collections.OrderedDict(b=1, a=2.0)] * 2,
    "strings": ["a", "b"],
    "big_int": [2**40, 1],
}


@pytest.mark.parametrize("name", sorted(COLLATE_CASES))
def test_default_collate_matches_torch(name):
    batch = COLLATE_CASES[name]
    assert _norm(e_collate(batch)) == _norm(t_collate(batch))


def test_default_collate_keeps_defaultdict():
    d = collections.defaultdict(list, {"a": 1, "b": 0.5})
    t, e = t_collate([d, d]), e_collate([d, d])
    assert type(e) is type(t) is collections.defaultdict
    assert e.default_factory is t.default_factory is list
    assert _norm(dict(e)) == _norm(dict(t))


def test_default_collate_errors_match_torch():
    for batch in ([object(), object()], [[1, 2], [3]], [np.array(["a"]), np.array(["b"])],
                  [np.arange(3.0)[::-1]] * 2):
        with pytest.raises(Exception) as te:
            t_collate(batch)
        with pytest.raises(Exception) as ee:
            e_collate(batch)
        assert type(ee.value) is type(te.value), batch


def test_default_convert_matches_torch():
    from torch.utils.data import default_convert as t_convert

    for data in [(np.array(1), 2), [np.float32(2.0)], {"x": np.array([1, 2])}, range(3), Point(np.array(0), 1),
                 np.array(["a"])]:
        t, e = t_convert(data), e_convert(data)
        if isinstance(t, np.ndarray):
            assert e is data
        else:
            assert _norm(e) == _norm(t)


# ---- load_state_dict -------------------------------------------------------------------------------


def _assign_probe(lib):
    m = lib.nn.Linear(2, 3)
    m.register_buffer("b", lib.zeros(3))
    m.weight.requires_grad_(False)
    sd = {"weight": lib.ones(3, 2, dtype=lib.float64), "bias": lib.ones(3, dtype=lib.float64), "b": lib.arange(3)}
    old = m.weight
    m.load_state_dict(sd, assign=True)
    return (type(m.weight).__name__, _dt(m.weight), m.weight.requires_grad, m.bias.requires_grad,
            m.weight is old, _dt(m.b), m.b is sd["b"], m.weight.data_ptr() == sd["weight"].data_ptr(),
            m.weight.tolist())


def test_load_state_dict_assign_matches_torch():
    assert _assign_probe(ember) == _assign_probe(torch)


def _copy_probe(lib):
    m = lib.nn.Linear(2, 3)
    old = m.weight
    m.load_state_dict({"weight": lib.ones(3, 2, dtype=lib.float64), "bias": lib.zeros(3)})
    return m.weight is old, _dt(m.weight), m.weight.tolist()


def test_load_state_dict_copy_default_matches_torch():
    assert _copy_probe(ember) == _copy_probe(torch)


def _hook_probe(lib):
    calls = []
    m = lib.nn.Sequential(lib.nn.Linear(2, 2))
    m.register_load_state_dict_pre_hook(lambda *a: calls.append(("pre", type(a[0]).__name__, len(a), a[2])))
    m[0].register_load_state_dict_pre_hook(lambda *a: calls.append(("pre0", type(a[0]).__name__, len(a), a[2])))
    m.register_load_state_dict_post_hook(lambda *a: calls.append(("post", type(a[0]).__name__, len(a))))
    m2 = copy.deepcopy(m)
    m2.load_state_dict(m.state_dict())
    pre_self = []
    m2.register_load_state_dict_pre_hook(lambda mod, *a: pre_self.append(mod is m2))
    m2.load_state_dict(m.state_dict())
    m.register_load_state_dict_post_hook(lambda mod, keys: 1)
    with pytest.raises(AssertionError):
        m.load_state_dict(m.state_dict())
    return calls, pre_self


def test_load_state_dict_hooks_match_torch():
    assert _hook_probe(ember) == _hook_probe(torch)


def _compat_probe(lib):
    class S(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = lib.nn.Parameter(lib.tensor(1.0))

    s = S()
    s.load_state_dict({"p": lib.tensor([5.0])})  # 0.3-era 1-element checkpoint into a 0-d param
    with pytest.raises(RuntimeError) as ei:
        S().load_state_dict({"p": lib.tensor(5.0), "_extra_state": 1})
    return s.p.tolist(), str(ei.value)


def test_load_state_dict_compat_and_extra_state_match_torch():
    assert _compat_probe(ember) == _compat_probe(torch)


# ---- dtype conversion ------------------------------------------------------------------------------


def _cast_probe(lib):
    m = lib.nn.Linear(2, 2)
    m.register_buffer("i", lib.arange(2))
    out = [m.bfloat16() is m, _dt(m.weight), _dt(m.i)]
    m = lib.nn.Linear(2, 2)
    m.register_buffer("i", lib.arange(2))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        m.to(lib.complex64)
    out += [_dt(m.weight), _dt(m.bias), _dt(m.i), [str(x.message)[:40] for x in w]]
    with pytest.raises(TypeError) as ei:
        m.to(lib.int32)
    out.append(str(ei.value).replace("ember.", "torch."))
    return out


def test_bfloat16_and_complex_to_match_torch():
    assert _cast_probe(ember) == _cast_probe(torch)


# ---- repr ------------------------------------------------------------------------------------------


def _reprs(lib):
    nn = lib.nn
    m = nn.Module()
    m.pl = nn.ParameterList([nn.Parameter(lib.zeros(2))])
    m.pd = nn.ParameterDict({"k": nn.Parameter(lib.zeros(1))})
    mods = [
        nn.RNN(4, 8, nonlinearity="relu"),
        nn.RNN(4, 8, 2, bias=False, batch_first=True, dropout=0.5, bidirectional=True, nonlinearity="relu"),
        nn.LSTM(4, 8, proj_size=2, bias=False),
        nn.LSTM(4, 8, 2, proj_size=3, bidirectional=True),
        nn.GRU(4, 8, num_layers=3, batch_first=True),
        nn.RNNCell(4, 8, nonlinearity="relu", bias=False),
        nn.ParameterList([nn.Parameter(lib.zeros(2, 3)),
                          nn.Parameter(lib.zeros(4, dtype=lib.float64), requires_grad=False)]),
        nn.ParameterList(),
        nn.ParameterList([nn.Parameter(lib.zeros(2)), lib.zeros(3), 5, "x", nn.Linear(1, 1)]),
        nn.ParameterDict({"a": nn.Parameter(lib.zeros(2, 3)), "b": nn.Parameter(lib.zeros(1), requires_grad=False)}),
        nn.ParameterDict(),
        nn.ParameterDict({"a": nn.Parameter(lib.zeros(2)), "b": lib.zeros(2), "c": 3, "d": nn.Linear(1, 1)}),
        m,
    ]
    return [repr(x).replace("ember.", "torch.") for x in mods]


def test_reprs_match_torch():
    for e, t in zip(_reprs(ember), _reprs(torch)):
        assert e == t


# ---- data utilities --------------------------------------------------------------------------------


def _raises(fn):
    try:
        fn()
    except Exception as ex:  # noqa: BLE001
        return type(ex).__name__, str(ex)
    return None


def test_tensor_dataset_errors_match_torch():
    from importlib import import_module

    def probe(lib):
        TD = import_module(lib.__name__ + ".utils.data").TensorDataset
        return _raises(lambda: TD(lib.zeros(2), lib.zeros(3))), TD().tensors

    assert probe(ember) == probe(torch) == (("AssertionError", "Size mismatch between tensors"), ())


@pytest.mark.parametrize("weights,n,replacement", [
    ([-1.0, 2.0], 2, True), ([0.0, 0.0], 2, True), ([float("nan"), 1.0], 1, True),
    ([float("inf"), 1.0], 1, True), ([1.0, 1.0], 3, False), ([], 1, True), ([[1.0, 2.0]], 1, True),
])
def test_weighted_random_sampler_errors_match_torch(weights, n, replacement):
    from ember.utils.data import WeightedRandomSampler as EW
    from torch.utils.data import WeightedRandomSampler as TW

    def probe(W):
        try:
            s = W(weights, n, replacement)
        except Exception as ex:  # noqa: BLE001
            return "ctor", type(ex).__name__, str(ex)
        it = iter(s)  # nothing is checked until the first draw
        return "iter", _raises(lambda: next(it))

    assert probe(EW) == probe(TW)


def test_weighted_random_sampler_zero_weights_without_replacement():
    from ember.utils.data import WeightedRandomSampler as EW
    from torch.utils.data import WeightedRandomSampler as TW

    assert sorted(EW([1.0, 0.0, 0.0], 2, replacement=False)) == sorted(TW([1.0, 0.0, 0.0], 2, replacement=False))
