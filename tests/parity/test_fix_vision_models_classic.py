"""ember.vision.models' classic CNNs against torchvision 0.28 itself.

AlexNet, SqueezeNet, DenseNet, GoogLeNet, Inception v3, ShuffleNetV2, MNASNet, ResNeXt and Wide ResNet:
each test builds the torchvision model and the ember model with the same arguments and checks the
state_dict (keys in order, shapes, dtypes), the initialisation scheme (constants exactly; random
tensors by their mean, spread and tail, i.e. which distribution and scale), then copies torchvision's
tensors into ember and compares float64 outputs in eval mode, then in train mode (dropout p=0: batch
statistics, auxiliary outputs, running-stat updates) with one backward's gradients. The largest variants
are compared construct-only, both built on the "meta" device. Weights enums and the model registry
are compared with torchvision's, and the ``weights=`` path loads a file torch saved into torch.hub's
cache (renamed DenseNet keys, GoogLeNet's dropped auxiliary heads, MNASNet's version-1 checkpoints).
"""

from __future__ import annotations

import warnings
from collections import OrderedDict

import ember
import numpy as np
import pytest
from ember.vision import models
from reference_torchvision import import_torchvision

torch = pytest.importorskip("torch")
tv = import_torchvision()


# ---- helpers ---------------------------------------------------------------------------------

def _build(name: str, **kw):
    """The torchvision and the ember model, each seeded the same way."""
    torch.manual_seed(0)
    ember.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tv.models.get_model(name, **kw), models.get_model(name, **kw)


def _check_state_dict(t, e) -> None:
    ts, es = t.state_dict(), e.state_dict()
    assert list(es) == list(ts)
    for k, v in ts.items():
        assert tuple(es[k].shape) == tuple(v.shape), k
        assert str(es[k].dtype) == str(v.dtype).replace("torch.", "ember."), k
    assert dict(es._metadata) == dict(ts._metadata)  # module versions (_DenseBlock 2, MNASNet 2)
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]


def _check_init(t, e) -> None:
    """Same initialisation scheme: constant tensors equal; random ones from the same distribution."""
    es = e.state_dict()
    for k, tv_value in t.state_dict().items():
        a = tv_value.double().numpy().ravel()
        b = es[k].double().numpy().ravel()
        if a.size == 0 or k.endswith("num_batches_tracked"):
            continue
        if np.all(a == a[0]):
            np.testing.assert_array_equal(b, a, err_msg=k)
            continue
        if a.size < 200:
            continue
        sa, sb = a.std(), b.std()
        assert abs(sb / sa - 1) < (0.15 if a.size >= 2000 else 0.35), (k, sa, sb)
        assert abs(b.mean() - a.mean()) < 0.2 * sa, k
        if a.size >= 2000:  # uniform (max/std = 1.73) or normal (>3 at this size): the same one
            assert (np.abs(a).max() / sa > 2.5) == (np.abs(b).max() / sb > 2.5), k


def _copy(t, e) -> None:
    """torchvision's tensors into the ember model (state_dict -> numpy -> ember.tensor), metadata kept."""
    ts = t.state_dict()
    sd = OrderedDict((k, ember.tensor(v.numpy())) for k, v in ts.items())
    sd._metadata = ts._metadata
    e.load_state_dict(sd)


def _close(a, b, what: str = "", rtol: float = 1e-9, atol: float = 0.0) -> None:
    """``a`` equals ``b`` within ``rtol`` of ``b``'s largest magnitude (plus ``atol``)."""
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy()
    scale = max(np.abs(b).max(), 1e-30)
    assert np.abs(a - b).max() <= rtol * scale + atol, (what, np.abs(a - b).max(), scale)


def _outputs(y):
    return list(y) if isinstance(y, tuple) else [y]


# Train-mode BatchNorm over 2 images whose deepest maps are 1x1 maps each channel's two values to -1 and +1:
# its gradient is float64 rounding noise there. So train mode runs with the BatchNorm layers kept in eval
# mode (``bn_train=False``: dropout p=0, auxiliary heads, checkpointing all still train-mode), and batch
# statistics are compared where the input leaves the deepest maps at 2x2 or more (``bn_train=True``).
_TRAIN_RTOL = 1e-8


def _calibrate(t, shape, seed: int) -> None:
    """Running statistics from one train-mode batch of 4 (on torchvision's model; copied to ember next).

    With the init-time running stats (mean 0, var 1) and inits of std 0.01, eval-mode BatchNorm lets the
    input's signal fade out by the last layers (GoogLeNet's input gradient is 1e-17): a wrong input
    transform would go unseen. Batch statistics keep every layer's activations at unit scale."""
    bns = [m for m in t.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.momentum = 1.0
    t.train()
    with torch.no_grad():
        t(torch.tensor(np.random.RandomState(seed + 7).randn(4, *shape), dtype=torch.float32))
    for m, momentum in zip(bns, momenta):
        m.momentum = momentum


def _compare(t, e, shape, *, train: bool = True, batch: int = 2, grads: int = 4, seed: int = 0,
             bn_train: bool = False, train_shape: tuple[int, ...] | None = None, float32: bool = False) -> None:
    """eval outputs, then train-mode outputs (with auxiliary outputs), gradients and running stats, in
    float64 (``float32=True``: in float32, to tolerances for float32 rounding)."""
    _calibrate(t, shape, seed)
    _copy(t, e)
    rtol, train_rtol = (2e-5, 1e-4) if float32 else (1e-9, _TRAIN_RTOL)
    if not float32:
        t.double()
        e.double()
    t.eval()
    e.eval()
    x = np.random.RandomState(seed).randn(batch, *shape).astype(np.float32 if float32 else np.float64)
    with torch.no_grad():
        yt = t(torch.tensor(x))
    ye = e(ember.tensor(x))
    assert type(ye) is type(yt) or isinstance(ye, ember.Tensor)
    if batch > 1:  # the output depends on the input (not only on the last biases)
        assert float((yt[0] - yt[1]).abs().max()) > 1e-2 * float(yt.abs().max())
    _close(ye, yt, "eval", rtol=rtol)
    if not train:
        return
    t.train()
    e.train()
    if not bn_train:
        for m in (*t.modules(), *e.modules()):
            if "BatchNorm" in type(m).__name__:
                m.eval()
    if train_shape is not None:
        x = np.random.RandomState(seed + 2).randn(batch, *train_shape).astype(x.dtype)
    xt = torch.tensor(x, requires_grad=True)
    xe = ember.tensor(x, requires_grad=True)
    yt, ye = t(xt), e(xe)
    assert type(ye).__name__ == type(yt).__name__
    if isinstance(yt, tuple):
        assert ye._fields == yt._fields
    ot, oe = _outputs(yt), _outputs(ye)
    assert [o is None for o in oe] == [o is None for o in ot]
    rs = np.random.RandomState(seed + 1)
    loss_t, loss_e = 0, 0
    for i, (a, b) in enumerate(zip(oe, ot)):
        if b is None:
            continue
        _close(a, b, f"train output {i}", rtol=train_rtol)
        w = rs.randn(*b.shape).astype(x.dtype)
        loss_t = loss_t + (b * torch.tensor(w)).sum()
        loss_e = loss_e + (a * ember.tensor(w)).sum()
    loss_t.backward()
    loss_e.backward()
    _close(xe.grad, xt.grad, "input grad", rtol=train_rtol)
    tp, ep = dict(t.named_parameters()), dict(e.named_parameters())
    names = list(tp)
    picks = {names[0], names[1], names[-1], names[-2]} | set(names[:: max(1, len(names) // grads)])
    for n in sorted(picks):
        _close(ep[n].grad, tp[n].grad, f"grad {n}", rtol=train_rtol, atol=1e-12)  # some are exactly 0
    eb = dict(e.named_buffers())
    for n, b in t.named_buffers():
        _close(eb[n], b, f"buffer {n}", rtol=train_rtol, atol=1e-15)


# ---- models compared end to end ------------------------------------------------------------------

_END_TO_END = [
    # name, builder kwargs, input (C, H, W): the smallest sizes each architecture takes
    ("squeezenet1_0", {"num_classes": 10, "dropout": 0.0}, (3, 21, 21)),
    ("squeezenet1_1", {"dropout": 0.0}, (3, 17, 17)),
    ("densenet121", {"num_classes": 10, "memory_efficient": True}, (3, 29, 29)),
    ("googlenet", {"num_classes": 10, "init_weights": True, "dropout": 0.0, "dropout_aux": 0.0}, (3, 15, 15)),
    ("googlenet", {"aux_logits": False, "transform_input": True, "init_weights": True, "dropout": 0.0},
     (3, 15, 15)),
    ("shufflenet_v2_x0_5", {"num_classes": 10}, (3, 16, 16)),
    ("shufflenet_v2_x1_0", {}, (3, 8, 8)),
    ("mnasnet0_5", {"num_classes": 10, "dropout": 0.0}, (3, 16, 16)),
    ("mnasnet1_0", {"dropout": 0.0}, (3, 8, 8)),
    ("resnext50_32x4d", {"num_classes": 10}, (3, 16, 16)),
]


@pytest.mark.parametrize(("name", "kw", "shape"), _END_TO_END,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(_END_TO_END)])
def test_model_matches_torchvision(name, kw, shape):
    t, e = _build(name, **kw)
    _check_state_dict(t, e)
    _check_init(t, e)
    _compare(t, e, shape, grads=6 if kw.get("memory_efficient") else 4)


def test_alexnet():
    """AlexNet's 58M-parameter classifier: one image, in float32 (float64 would double a 10 s test)."""
    t, e = _build("alexnet", num_classes=10, dropout=0.0)
    _check_state_dict(t, e)
    _check_init(t, e)
    _compare(t, e, (3, 63, 63), batch=1, float32=True)


@pytest.mark.parametrize(("name", "kw", "shape"), [
    ("shufflenet_v2_x0_5", {"num_classes": 10}, (3, 64, 64)),
    ("mnasnet0_5", {"num_classes": 10, "dropout": 0.0}, (3, 64, 64)),
])
def test_train_mode_batch_statistics(name, kw, shape):
    """BatchNorm on batch statistics (deepest maps 2x2): outputs, gradients, running-stat updates."""
    t, e = _build(name, **kw)
    _compare(t, e, (3, 15, 15), bn_train=True, train_shape=shape, grads=3)


def test_inception_v3_eval_at_75():
    """The smallest input Inception v3 takes; eval mode (no auxiliary head) with transform_input."""
    t, e = _build("inception_v3", num_classes=10, aux_logits=False, transform_input=True, init_weights=True,
                  dropout=0.0)
    _check_state_dict(t, e)
    _compare(t, e, (3, 75, 75), batch=1, train=False)


def test_inception_v3_train_mode_and_outputs():
    """InceptionOutputs from eager_outputs in train mode, and the auxiliary head alone on the 17x17x768 map
    it sees at 299x299 (the smallest input it takes: too slow for the whole model here)."""
    t, e = _build("inception_v3", num_classes=10, init_weights=True)
    _check_state_dict(t, e)
    _check_init(t, e)
    _copy(t, e)
    t.train()
    e.train()
    x, aux = torch.ones(1, 10), torch.zeros(1, 10)
    yt, ye = t.eager_outputs(x, aux), e.eager_outputs(ember.ones(1, 10), ember.zeros(1, 10))
    assert type(ye).__name__ == type(yt).__name__ == "InceptionOutputs" and ye._fields == yt._fields
    ta, ea = t.AuxLogits.double(), e.AuxLogits.double()
    ta.eval()
    ea.eval()
    f = np.random.RandomState(5).randn(2, 768, 17, 17)
    ft, fe = torch.tensor(f, requires_grad=True), ember.tensor(f, requires_grad=True)
    yt, ye = ta(ft), ea(fe)
    assert float(yt.abs().max()) > 0
    _close(ye, yt, "aux")
    yt.sum().backward()
    ye.sum().backward()
    _close(fe.grad, ft.grad, "aux input grad")
    _close(ea.conv1.conv.weight.grad, ta.conv1.conv.weight.grad, "aux conv1 grad")


def test_densenet_drop_rate_in_eval():
    """drop_rate only acts in training: eval outputs equal torchvision's."""
    t, e = _build("densenet121", num_classes=5, drop_rate=0.3)
    _compare(t, e, (3, 29, 29), train=False, batch=1)


# ---- construct-only: the largest variants, both built on the meta device ----------------------

_LARGE = ["wide_resnet50_2", "densenet161", "densenet169", "densenet201", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0", "mnasnet0_75",
          "mnasnet1_3", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet101_2"]


@pytest.mark.parametrize("name", _LARGE)
def test_large_variant_state_dict(name):
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = tv.models.get_model(name)
    with ember.device("meta"):
        e = models.get_model(name)
    _check_state_dict(t, e)
    n = sum(p.numel() for p in e.parameters())
    assert n == sum(p.numel() for p in t.parameters()) == models.get_model_weights(name).DEFAULT.meta["num_params"]


# ---- weights enums ------------------------------------------------------------------------------

_CLASSIC = ["alexnet", "squeezenet1_0", "squeezenet1_1", "densenet121", "densenet161", "densenet169", "densenet201",
            "googlenet", "inception_v3", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5",
            "shufflenet_v2_x2_0", "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3", "resnext50_32x4d",
            "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2"]


@pytest.mark.parametrize("name", _CLASSIC)
def test_weights_enum_matches_torchvision(name):
    te, ee = tv.models.get_model_weights(name), models.get_model_weights(name)
    assert ee.__name__ == te.__name__
    assert getattr(models, ee.__name__) is ee
    assert list(ee.__members__) == list(te.__members__)
    assert ee.DEFAULT.name == te.DEFAULT.name
    assert repr(ee.DEFAULT) == repr(te.DEFAULT)
    for tw in te:
        ew = ee[tw.name]
        assert ew.url == tw.url
        tmeta = {k: v for k, v in tw.meta.items() if k != "_docs"}
        assert ew.meta == tmeta
        assert ew.transforms.keywords == tw.transforms.keywords
        et, tt = ew.transforms(), tw.transforms()
        assert (et.crop_size, et.resize_size, et.mean, et.std) == (tt.crop_size, tt.resize_size, tt.mean, tt.std)
    assert ee.verify(f"{ee.__name__}.IMAGENET1K_V1") is ee.IMAGENET1K_V1
    assert models.get_weight(f"{ee.__name__}.{ee.DEFAULT.name}") is ee.DEFAULT


# ---- the registry ---------------------------------------------------------------------------------

_ALL = _CLASSIC + ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "vgg11", "vgg11_bn", "vgg13",
                   "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "mobilenet_v2"]


def test_registry_lists_every_model():
    names = models.list_models()
    assert set(_ALL) <= set(names)
    assert names == sorted(names)
    assert set(names) <= set(tv.models.list_models())  # ember registers only torchvision's names
    assert models.list_models(models) == [n for n in names if n in tv.models.list_models(tv.models)]
    for n in _ALL:
        assert models.get_model_weights(n).__name__ == tv.models.get_model_weights(n).__name__
        assert models.get_model_weights(getattr(models, n)) is models.get_model_weights(n)


@pytest.mark.parametrize(("include", "exclude"), [
    ("resnet*", None), (["vgg*", "alexnet"], "*_bn"), (None, ["*net*", "vgg*"]), ("densenet1[26]*", None),
    ("mnasnet*", "mnasnet1*"), ("*x4d", None),
])
def test_list_models_filters(include, exclude):
    ours = set(models.list_models())
    expected = [n for n in tv.models.list_models(include=include, exclude=exclude) if n in ours]
    assert models.list_models(include=include, exclude=exclude) == expected


def test_get_model_and_builder():
    assert models.get_model_builder("AlexNet") is models.alexnet  # names are case-insensitive
    m = models.get_model("squeezenet1_1", num_classes=7)
    assert isinstance(m, models.SqueezeNet) and m.num_classes == 7
    for fn in (models.get_model_builder, models.get_model, models.get_model_weights):
        with pytest.raises(ValueError) as te:
            getattr(tv.models, fn.__name__)("no_such_net")
        with pytest.raises(ValueError) as ee:
            fn("no_such_net")
        assert str(ee.value) == str(te.value)


def test_get_weight_errors():
    assert models.get_weight("AlexNet_Weights.IMAGENET1K_V1") is models.AlexNet_Weights.IMAGENET1K_V1
    assert models.get_weight("ResNet18_Weights.DEFAULT") is models.ResNet18_Weights.IMAGENET1K_V1
    for bad in ("AlexNet_Weights", "NoSuch_Weights.IMAGENET1K_V1", "AlexNet_Weights.V9"):
        with pytest.raises((ValueError, KeyError)) as te:
            tv.models.get_weight(bad)
        with pytest.raises(te.type) as ee:
            models.get_weight(bad)
        assert str(ee.value) == str(te.value)


def test_register_model_decorator():
    from ember.vision.models import _registry

    @models.register_model("my_tiny_net")
    def tiny(*, weights: models.AlexNet_Weights | None = None, **kwargs):
        return ember.nn.Linear(2, kwargs.get("num_classes", 3))

    try:
        assert "my_tiny_net" in models.list_models()
        assert models.get_model("my_tiny_net", num_classes=4).out_features == 4
        assert models.get_model_weights("my_tiny_net") is models.AlexNet_Weights
        with pytest.raises(ValueError) as te:
            tv.models._api.register_model("resnet18")(lambda: None)
        with pytest.raises(ValueError) as ee:
            models.register_model("resnet18")(lambda: None)
        assert str(ee.value) == str(te.value)

        def no_weights(**kwargs):
            return None

        with pytest.raises(ValueError) as te:
            tv.models.get_model_weights(no_weights)
        with pytest.raises(ValueError) as ee:
            models.get_model_weights(no_weights)
        assert str(ee.value) == str(te.value)
    finally:
        _registry.BUILTIN_MODELS.pop("my_tiny_net", None)


# ---- builder arguments and warnings ------------------------------------------------------------

@pytest.mark.parametrize(("name", "kw"), [
    ("resnext50_32x4d", {"groups": 16}),
    ("resnext101_64x4d", {"width_per_group": 8}),
    ("wide_resnet50_2", {"width_per_group": 64}),
    ("googlenet", {"weights": "DEFAULT", "aux_logits": False}),
    ("inception_v3", {"weights": "DEFAULT", "init_weights": True}),
    ("alexnet", {"weights": "DEFAULT", "num_classes": 10}),
])
def test_builder_argument_errors(name, kw):
    with pytest.raises(ValueError) as te:
        tv.models.get_model(name, **kw)
    with pytest.raises(ValueError) as ee:
        models.get_model(name, **kw)
    assert str(ee.value) == str(te.value)


@pytest.mark.parametrize("cls", ["GoogLeNet", "Inception3"])
def test_init_weights_none_warns(cls):
    with pytest.warns(FutureWarning) as tw:
        getattr(tv.models, cls)(num_classes=2)
    with pytest.warns(FutureWarning) as ew:
        getattr(models, cls)(num_classes=2)
    assert str(ew[0].message) == str(tw[0].message)


def test_constructor_errors():
    for make in (lambda m: m.SqueezeNet("2_0"), lambda m: m.ShuffleNetV2([4, 8], [24, 48, 96, 192, 1024]),
                 lambda m: m.MNASNet(0.0), lambda m: m.GoogLeNet(blocks=[1, 2], init_weights=False)):
        with pytest.raises(ValueError) as te:
            make(tv.models)
        with pytest.raises(ValueError) as ee:
            make(models)
        assert str(ee.value) == str(te.value)


# ---- weights= loads from torch.hub's cache -------------------------------------------------------

@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    return tmp_path / "hub" / "checkpoints"


def _save(sd, cache, enum) -> None:
    torch.save(sd, cache / enum.DEFAULT.url.rsplit("/", 1)[1])


def test_googlenet_pretrained_drops_aux_heads(hub_cache):
    t0, _ = _build("googlenet", init_weights=True)
    _save(t0.state_dict(), hub_cache, models.GoogLeNet_Weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = tv.models.googlenet(weights="DEFAULT")
    e = models.googlenet(weights=models.GoogLeNet_Weights.IMAGENET1K_V1)
    assert (e.aux_logits, e.aux1, e.aux2, e.transform_input) == (t.aux_logits, None, None, t.transform_input)
    _check_state_dict(t, e)
    x = np.random.RandomState(3).rand(1, 3, 32, 32)
    with torch.no_grad():
        _close(e.eval()(ember.tensor(x, dtype=ember.float32)), t.eval()(torch.tensor(x, dtype=torch.float32)),
               rtol=1e-4)
    with pytest.warns(UserWarning, match="NOT pretrained"):
        e = models.googlenet(weights="IMAGENET1K_V1", aux_logits=True)
    assert e.aux1 is not None and e.aux_logits


def test_densenet_pretrained_renames_old_keys(hub_cache):
    """Old DenseNet files name a layer's parts ``norm.1``, ``conv.2``...: the builder renames them."""
    torch.manual_seed(0)
    t0 = tv.models.densenet121()
    old = OrderedDict()
    for k, v in t0.state_dict().items():
        for part in ("norm1", "norm2", "conv1", "conv2", "relu1", "relu2"):
            if "denselayer" in k and f".{part}." in k and not k.endswith("num_batches_tracked"):
                k = k.replace(f".{part}.", f".{part[:-1]}.{part[-1]}.")
        old[k] = v
    assert "features.denseblock1.denselayer1.norm.1.weight" in old
    _save(old, hub_cache, models.DenseNet121_Weights)
    e = models.densenet121(weights="DEFAULT")  # torchvision's builder maps the keys back to t0's names
    _check_state_dict(t0, e)
    es = e.state_dict()
    for k, v in t0.state_dict().items():
        np.testing.assert_array_equal(es[k].numpy(), v.numpy(), err_msg=k)


def test_pretrained_missing_file_and_legacy_flag(hub_cache):
    with pytest.raises(RuntimeError, match="can't be downloaded here"):
        models.mnasnet0_5(weights="DEFAULT")
    _save(tv.models.squeezenet1_1().state_dict(), hub_cache, models.SqueezeNet1_1_Weights)
    with pytest.warns(UserWarning, match="'pretrained' is deprecated"):
        e = models.squeezenet1_1(pretrained=True)
    np.testing.assert_array_equal(e.classifier[1].bias.detach().numpy(),
                                  tv.models.squeezenet1_1(weights="DEFAULT").classifier[1].bias.detach().numpy())


def test_mnasnet_version_1_checkpoint():
    """A version-1 checkpoint (fixed 32/16-channel stem) rebuilds that stem on load, with the same warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t1, _ = _build("mnasnet0_5", num_classes=4)
    # make a version-1 checkpoint: torchvision's own v1 rebuild of its stem
    sd = t1.state_dict()
    sd._metadata[""]["version"] = 1
    head = OrderedDict((k, v) for k, v in sd.items() if not k.startswith("layers."))
    head._metadata = sd._metadata
    with pytest.warns(UserWarning) as tw:
        t1.load_state_dict(head, strict=False)
    v1 = t1.state_dict()
    assert v1._metadata[""]["version"] == 1
    assert tuple(v1["layers.0.weight"].shape) == (32, 3, 3, 3)
    t, e = _build("mnasnet0_5", num_classes=4)
    with pytest.warns(UserWarning) as ew:
        _copy(t1, e)
    assert str(ew[0].message) == str(tw[0].message)
    with pytest.warns(UserWarning):
        t.load_state_dict(v1)
    assert e._version == 1 and e.state_dict()._metadata[""]["version"] == 1
    _check_state_dict(t, e)
    _compare(t, e, (3, 16, 16), train=False, batch=1)


def test_trunc_normal_erfinv_at_the_ends():
    """GoogLeNet/Inception's trunc_normal_(std=0.01, a=-2, b=2) draws uniform(-1, 1) then erfinv: a draw of
    exactly -1 must give -inf (clamped to a), not NaN, as torch.erfinv."""
    from ember.nn.init import _erfinv

    y = np.array([-1.0, 1.0, 0.0, 0.5, -0.999999])
    for dtype in (np.float32, np.float64):
        got = _erfinv(ember.tensor(y.astype(dtype))).numpy()
        want = torch.erfinv(torch.tensor(y.astype(dtype))).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12)
