"""Names real programs reach through ``torch.*`` after a bare ``import torch``, PyTorch's class
hierarchy of ``nn`` layers (``isinstance`` checks in model surgery), ``torch.nn.modules.*`` addresses,
legacy helpers (``F._Reduction``, ``nn.modules.utils``), deprecated ``torch.cuda.amp`` decorators,
``torch.version``, storages and ``torch.library`` custom operators: each compared with PyTorch."""

from __future__ import annotations

import inspect
import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

# reached without importing the submodule first (PyTorch imports or lazily loads each of these)
ATTRIBUTE_PATHS = [
    "_dynamo.config", "nn.attention.sdpa_kernel", "nn.attention.SDPBackend", "autograd.profiler.profile",
    "autograd.profiler.record_function", "nn.modules.batchnorm._BatchNorm", "nn.modules.batchnorm._NormBase",
    "nn.modules.instancenorm._InstanceNorm", "nn.modules.utils._pair", "nn.modules.conv.LazyConv2d",
    "nn.modules.linear.LazyLinear", "nn.modules.pooling._AvgPoolNd", "nn.modules.pooling._AdaptiveAvgPoolNd",
    "nn.modules.pooling._AdaptiveMaxPoolNd", "nn.modules.container.Container", "nn.parameter.UninitializedParameter",
    "nn.parameter.UninitializedBuffer", "nn.common_types._size_2_t", "nn.functional._Reduction", "version.cuda",
    "version.git_version", "cuda.amp.custom_fwd", "cuda.amp.custom_bwd", "xpu.is_available", "mps",
    "storage.UntypedStorage", "UntypedStorage", "TypedStorage", "library.custom_op", "library.Library",
]


def _resolve(root, path):
    obj = root
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("path", ATTRIBUTE_PATHS)
def test_attribute_reachable_as_in_torch(path):
    _resolve(torch, path)  # the reference has it (else the row is wrong)
    _resolve(ember, path)


def test_missing_attribute_is_attribute_error():
    for mod in (ember, ember.nn, ember.utils, ember.autograd, ember.nn.modules):
        assert not hasattr(mod, "no_such_submodule_xyz")


def test_nn_class_hierarchy_matches_torch():
    """For every pair of nn classes both have, issubclass agrees (ReLU6 is a Hardtanh; Mish is no SiLU)."""
    names = [n for n in dir(torch.nn) if inspect.isclass(getattr(torch.nn, n))
             and inspect.isclass(getattr(ember.nn, n, None))]
    assert len(names) > 150
    wrong = [(a, b) for a in names for b in names if a != b
             and issubclass(getattr(torch.nn, a), getattr(torch.nn, b)) != issubclass(getattr(ember.nn, a),
                                                                                    getattr(ember.nn, b))]
    assert wrong == []


@pytest.mark.parametrize("make", [
    lambda nn: nn.CELU(2.0, True), lambda nn: nn.Mish(True), lambda nn: nn.Hardswish(True),
    lambda nn: nn.Hardsigmoid(True), lambda nn: nn.ReLU6(True), lambda nn: nn.ReLU6(), lambda nn: nn.Softshrink(0.3),
    lambda nn: nn.AvgPool3d(2), lambda nn: nn.AvgPool1d(3, 1), lambda nn: nn.LazyBatchNorm1d(),
])
def test_reworked_layers_repr_and_values(make):
    mine, ref = make(ember.nn), make(torch.nn)
    assert repr(mine) == repr(ref)
    for attr in ("min_val", "max_val", "inplace", "alpha", "lambd"):
        assert getattr(mine, attr, None) == getattr(ref, attr, None), attr
    if isinstance(ref, torch.nn.LazyBatchNorm1d):
        return
    shape = (1, 2, 4, 4, 4) if isinstance(ref, torch.nn.AvgPool3d) else (2, 3, 5)
    x = np.random.default_rng(0).standard_normal(shape) * 4
    np.testing.assert_allclose(mine(ember.tensor(x)).numpy(), ref(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-12)


def test_lazy_norm_becomes_its_class_as_in_torch():
    for lib, t in ((ember, ember.randn(2, 3, 4, 4)), (torch, torch.randn(2, 3, 4, 4))):
        m = lib.nn.LazyBatchNorm2d()
        assert not isinstance(m, lib.nn.BatchNorm2d) and isinstance(m, lib.nn.modules.batchnorm._BatchNorm)
        m(t)
        assert type(m) is lib.nn.BatchNorm2d and tuple(m.weight.shape) == (3,)
        with pytest.raises(ValueError, match=r"expected 4D input \(got 2D input\)"):
            lib.nn.LazyBatchNorm2d()(t[:, :, 0, 0])


def test_nn_modules_utils_match_torch():
    tu, eu = torch.nn.modules.utils, ember.nn.modules.utils
    for fn in ("_single", "_pair", "_triple", "_quadruple"):
        for v in (3, (1, 2), [4, 5, 6]):
            assert getattr(eu, fn)(v) == getattr(tu, fn)(v)
    assert eu._reverse_repeat_tuple((1, 2, 3), 2) == tu._reverse_repeat_tuple((1, 2, 3), 2)
    assert eu._list_with_default([None, 4], [1, 2, 3, 5]) == tu._list_with_default([None, 4], [1, 2, 3, 5])
    with pytest.raises(ValueError, match="Input dimension should be at least 3"):
        eu._list_with_default([None, 4], [1, 2])
    from collections import OrderedDict

    sds = []
    for _ in range(2):
        sd = OrderedDict([("module.a", 1), ("module.b.c", 2), ("x", 3)])
        sd._metadata = OrderedDict([("", {}), ("module", {"v": 1}), ("module.b", {"v": 1})])
        sds.append(sd)
    eu.consume_prefix_in_state_dict_if_present(sds[0], "module.")
    tu.consume_prefix_in_state_dict_if_present(sds[1], "module.")
    assert list(sds[0].items()) == list(sds[1].items()) and dict(sds[0]._metadata) == dict(sds[1]._metadata)


def test_reduction_enum_matches_torch():
    er, tr = ember.nn.functional._Reduction, torch.nn.functional._Reduction
    for r in ("none", "mean", "sum"):
        assert er.get_enum(r) == tr.get_enum(r)
    for sa in (None, True, False):
        for red in (None, True, False):
            assert er.legacy_get_string(sa, red, False) == tr.legacy_get_string(sa, red, False)
            assert er.legacy_get_enum(sa, red, False) == tr.legacy_get_enum(sa, red, False)
    with pytest.raises(ValueError, match="bad is not a valid value for reduction"):
        er.get_enum("bad")
    with pytest.warns(UserWarning, match="reduction='sum' instead"):
        er.legacy_get_string(False, True)


def test_container_warns_as_torch():
    with pytest.warns(UserWarning, match="nn.Container is deprecated"):
        c = ember.nn.Container(a=ember.nn.Linear(2, 2))
    assert list(dict(c.named_children())) == ["a"]


def test_deprecated_cuda_amp_decorators_match_torch():
    seen = {}
    for lib in (ember, torch):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")

            class Twice(lib.autograd.Function):
                @staticmethod
                @lib.cuda.amp.custom_fwd(cast_inputs=lib.float32)
                def forward(ctx, x):
                    return x * 2

                @staticmethod
                @lib.cuda.amp.custom_bwd
                def backward(ctx, g):
                    return g * 2

        x = lib.ones(2, requires_grad=True)
        Twice.apply(x).sum().backward()
        seen[lib.__name__] = ([str(m.message) for m in w if issubclass(m.category, FutureWarning)], x.grad.tolist())
    assert seen["ember"] == seen["torch"]
    assert ember.cuda.amp.amp_definitely_not_available() == torch.cuda.amp.amp_definitely_not_available()


def test_version_devices_and_storage_match_torch():
    assert ember.version.__version__ == ember.__version__
    assert ember.version.cuda is torch.version.cuda is None  # a CPU build, as PyTorch's here
    assert ember.version.hip is ember.version.rocm is ember.version.xpu is None
    assert ember.xpu.is_available() is torch.xpu.is_available() is False
    assert ember.mps.is_available() is False and ember.mps.device_count() == torch.mps.device_count() == 0
    for lib in (ember, torch):
        t = lib.ones(3)
        assert lib.is_storage(t.untyped_storage()) and not lib.is_storage(t)
        assert isinstance(t.untyped_storage(), lib.UntypedStorage)
    assert ember.ones(3).untyped_storage().nbytes() == torch.ones(3).untyped_storage().nbytes()


def test_rsub_node_names_and_flip_dims_keyword_match_torch():
    seen = {}
    for lib in (ember, torch):
        x = lib.arange(6.0).reshape(2, 3).requires_grad_()
        names = [(1 - x).grad_fn.name(), (2.5 - x).grad_fn.name(), lib.rsub(x, 1).grad_fn.name(),
                 lib.rsub(x, lib.ones(3)).grad_fn.name(), (x - 1).grad_fn.name()]
        (3 - 2 * x).sum().backward()
        seen[lib.__name__] = (names, x.grad.tolist(), x.flip(dims=[1]).tolist(), x.flip(0, 1).tolist())
    assert seen["ember"] == seen["torch"]


def test_to_none_device_matches_torch():
    for lib in (ember, torch):
        x = lib.ones(2)
        assert x.to(None) is x and x.to(None, lib.float64).dtype == lib.float64 and x.to(device=None) is x
