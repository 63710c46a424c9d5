"""ember.vision.models.segmentation (FCN, DeepLabV3, LRASPP), models._utils and MaxViT against torchvision 0.28.

* Every builder (with and without the auxiliary head) and maxvit_t: the state_dict (keys in order, shapes, dtypes;
  parameters and buffers apart) of the ember model and of torchvision's, both built on the "meta" device.
* fcn_resnet50, deeplabv3_resnet50 and deeplabv3_mobilenet_v3_large (with the auxiliary head), lraspp and a small
  MaxVit: torchvision's weights (perturbed so nothing is zero) are copied into ember; eval-mode and train-mode
  (dropout at 0) outputs, the input's gradient and a few parameters' gradients after one backward compared in
  float64 on tiny inputs.
* IntermediateLayerGetter, the SemanticSegmentation preset, the weights enums, the builders' argument rules and
  errors, the legacy ``pretrained``/``pretrained_backbone`` flags, loading from torch.hub's cache, the registry.
"""

from __future__ import annotations

import warnings

import ember
import numpy as np
import pytest
from reference_torchvision import import_torchvision

torch = pytest.importorskip("torch")
tv = import_torchvision()

from ember.vision import models  # noqa: E402
from ember.vision.models import _utils as e_utils  # noqa: E402
from ember.vision.models import maxvit as e_maxvit  # noqa: E402
from ember.vision.models import segmentation as e_seg  # noqa: E402

t_seg = tv.models.segmentation
SEG_BUILDERS = ["fcn_resnet50", "fcn_resnet101", "deeplabv3_resnet50", "deeplabv3_resnet101",
                "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large"]


def _dtype_name(dtype) -> str:
    return str(dtype).rsplit(".", 1)[-1]


def _check_state_dict(tm, em) -> None:
    ts, es = tm.state_dict(), em.state_dict()
    assert list(es) == list(ts)
    for k, v in ts.items():
        assert (tuple(es[k].shape), _dtype_name(es[k].dtype)) == (tuple(v.shape), _dtype_name(v.dtype)), k
    assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in em.named_buffers()] == [n for n, _ in tm.named_buffers()]


@pytest.mark.parametrize("aux", [None, True])
@pytest.mark.parametrize("name", SEG_BUILDERS)
def test_segmentation_state_dict_matches_torchvision(name, aux):
    kw = {"weights_backbone": None, "num_classes": 7}
    if aux and not name.startswith("lraspp"):
        kw["aux_loss"] = True
    with torch.device("meta"):
        tm = getattr(t_seg, name)(**kw)
    with ember.device("meta"):
        em = getattr(e_seg, name)(**kw)
    _check_state_dict(tm, em)
    assert type(em).__name__ == type(tm).__name__
    assert hasattr(em, "aux_classifier") == hasattr(tm, "aux_classifier")  # LRASPP has none
    assert getattr(em, "aux_classifier", None) is None or type(em.aux_classifier).__name__ == "FCNHead"
    assert (getattr(em, "aux_classifier", None) is None) == (getattr(tm, "aux_classifier", None) is None)


def test_maxvit_t_state_dict_matches_torchvision():
    with torch.device("meta"):
        tm = tv.models.maxvit_t()
    with ember.device("meta"):
        em = models.maxvit_t()
    _check_state_dict(tm, em)
    assert sum(p.numel() for p in em.parameters()) == models.MaxVit_T_Weights.DEFAULT.meta["num_params"]


# ---- outputs and gradients ----------------------------------------------------------------------------
def _copy_weights(tm, em) -> None:
    """torchvision's parameters (plus noise, so zero-initialized biases don't hide anything) and buffers
    (running statistics moved off 0/1) into the ember model."""
    _check_state_dict(tm, em)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in tm.parameters():
            p.add_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.05)
        for n, b in tm.named_buffers():
            if n.endswith("running_mean"):
                b.add_(torch.randn(b.shape, generator=gen) * 0.1)
            elif n.endswith("running_var"):
                b.mul_(1 + torch.rand(b.shape, generator=gen))
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


def _no_dropout(*ms) -> None:
    for m in ms:
        for mod in m.modules():
            if type(mod).__name__ == "Dropout":
                mod.p = 0.0


def _outputs(out):
    return out if isinstance(out, dict) else {"out": out}


def _close(actual, desired, rtol, msg) -> None:
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol * np.abs(desired).max() + 1e-12, err_msg=msg)


def _compare(tm, em, shape, modes=("eval", "train"), rtol: float = 1e-9) -> None:
    tm.double()
    em.double()
    _no_dropout(tm, em)
    x = np.random.default_rng(0).standard_normal(shape)
    for mode in modes:
        tm.train(mode == "train")
        em.train(mode == "train")
        tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
        to, eo = _outputs(tm(tx)), _outputs(em(ex))
        assert list(eo) == list(to)
        tloss, eloss = 0, 0
        for k in to:
            assert eo[k].dtype == ember.float64 and tuple(eo[k].shape) == tuple(to[k].shape)
            np.testing.assert_allclose(eo[k].detach().numpy(), to[k].detach().numpy(), rtol=rtol, atol=1e-10,
                                       err_msg=f"{mode} {k}")
            g = np.random.default_rng(len(k)).standard_normal(tuple(to[k].shape))
            tloss = tloss + (to[k] * torch.tensor(g)).sum()
            eloss = eloss + (eo[k] * ember.tensor(g)).sum()
        tloss.backward()
        eloss.backward()
        # train-mode batch norm over a handful of values (2x2 maps, ASPP's pooled branch) cancels: the absolute
        # tolerance follows the gradient's scale
        _close(ex.grad.numpy(), tx.grad.numpy(), rtol * 10, mode)
        tp, ep = dict(tm.named_parameters()), dict(em.named_parameters())
        names = [n for n in tp if tp[n].grad is not None]
        for k in names[:3] + names[len(names) // 2:len(names) // 2 + 2] + names[-4:]:
            _close(ep[k].grad.numpy(), tp[k].grad.numpy(), rtol * 10, f"{mode} {k}")
        tm.zero_grad()
        em.zero_grad()


def _both(name, **kwargs):
    torch.manual_seed(0)
    kwargs.setdefault("weights_backbone", None)
    return getattr(t_seg, name)(**kwargs), getattr(e_seg, name)(**kwargs)


def test_deeplabv3_resnet50_outputs_and_grads():
    """The dilated ResNet-50 backbone, DeepLabHead (ASPP) and the FCNHead auxiliary classifier."""
    tm, em = _both("deeplabv3_resnet50", num_classes=3, aux_loss=True)
    _copy_weights(tm, em)
    # 16x17: an odd width exercises the upsampling. Eval mode only (train mode's batch statistics and ASPP
    # are checked on the MobileNetV3 DeepLabV3 below, at a fraction of the time)
    _compare(tm, em, (1, 3, 16, 17), modes=("eval",))


def _small_fcn(lib):
    """The FCN class on a ResNet-18 body (fcn_resnet50's own modules are checked above and through DeepLabV3:
    a second ResNet-50 would double the file's time)."""
    s = lib.segmentation
    body = lib._utils.IntermediateLayerGetter(lib.resnet18(), {"layer4": "out", "layer3": "aux"})
    return s.FCN(body, s.fcn.FCNHead(512, 3), s.fcn.FCNHead(256, 3))


def test_fcn_outputs_and_grads():
    torch.manual_seed(0)
    tm, em = _small_fcn(tv.models), _small_fcn(models)
    _copy_weights(tm, em)
    _compare(tm, em, (2, 3, 64, 48))


def test_deeplabv3_mobilenet_v3_outputs_and_grads():
    tm, em = _both("deeplabv3_mobilenet_v3_large", num_classes=3, aux_loss=True)
    _copy_weights(tm, em)
    # train mode needs 2 images for ASPP's pooled branch (batch norm over one value per channel is refused)
    _compare(tm, em, (2, 3, 32, 32))


def test_lraspp_outputs_and_grads():
    tm, em = _both("lraspp_mobilenet_v3_large", num_classes=4)
    _copy_weights(tm, em)
    _compare(tm, em, (2, 3, 40, 24))


def _small_maxvit(lib):
    return lib.maxvit.MaxVit(input_size=(32, 32), stem_channels=8, partition_size=2, block_channels=[8, 16],
                             block_layers=[1, 2], head_dim=4, stochastic_depth_prob=0.0, num_classes=5)


def test_maxvit_outputs_and_grads():
    torch.manual_seed(0)
    tm, em = _small_maxvit(tv.models), _small_maxvit(models)
    _copy_weights(tm, em)
    _compare(tm, em, (2, 3, 32, 32))


def test_maxvit_init_and_relative_index():
    torch.manual_seed(0)
    ember.manual_seed(0)
    tm, em = _small_maxvit(tv.models), _small_maxvit(models)
    ts, es = tm.state_dict(), em.state_dict()
    for k, v in ts.items():
        t, e = v.detach().double().numpy(), es[k].detach().double().numpy()
        if t.size and np.all(t == t.flat[0]):
            np.testing.assert_array_equal(e, t, err_msg=k)
        if "relative_position_index" in k:
            np.testing.assert_array_equal(e, t, err_msg=k)
            assert es[k].dtype == ember.int64
    w = em.blocks[1].layers[0].layers.MBconv.layers.conv_c.weight.detach().numpy()
    assert abs(w.std() - 0.02) < 0.004  # normal(0, 0.02)
    t_idx = tv.models.maxvit._get_relative_position_index(3, 5).numpy()
    np.testing.assert_array_equal(e_maxvit._get_relative_position_index(3, 5).numpy(), t_idx)
    # the stochastic depth probabilities rise linearly over all layers, as torchvision's
    tmv, emv = (lib.maxvit.MaxVit((32, 32), 8, 2, [8, 16], [2, 3], 4, 0.3) for lib in (tv.models, models))
    assert [m.p for m in emv.modules() if type(m).__name__ == "StochasticDepth"] == \
        [m.p for m in tmv.modules() if type(m).__name__ == "StochasticDepth"]


# ---- IntermediateLayerGetter and the preset -------------------------------------------------------------
def test_intermediate_layer_getter_matches_torchvision():
    torch.manual_seed(0)
    tm = tv.models.resnet18().eval()
    em = models.resnet18().eval()
    em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    tg = tv.models._utils.IntermediateLayerGetter(tm, {"layer1": "feat1", "layer3": "feat2"})
    eg = e_utils.IntermediateLayerGetter(em, {"layer1": "feat1", "layer3": "feat2"})
    assert list(eg) == list(tg)  # children up to layer3 only
    assert list(eg.state_dict()) == list(tg.state_dict())
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    to, eo = tg(torch.tensor(x)), eg(ember.tensor(x))
    assert list(eo) == list(to) == ["feat1", "feat2"]
    for k in to:
        np.testing.assert_allclose(eo[k].detach().numpy(), to[k].detach().numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="return_layers are not present in model"):
        e_utils.IntermediateLayerGetter(em, {"layer9": "x"})
    with pytest.raises(ValueError, match="return_layers are not present in model"):
        tv.models._utils.IntermediateLayerGetter(tm, {"layer9": "x"})


def test_helpers_match_torchvision():
    tu = tv.models._utils
    for v, d in [(37.5, 8), (3, 8), (100, 16), (7.2, 4)]:
        assert e_utils._make_divisible(v, d) == tu._make_divisible(v, d)
    assert e_utils._ovewrite_value_param("a", None, 3) == tu._ovewrite_value_param("a", None, 3) == 3
    for mod in (tu, e_utils):
        with pytest.raises(ValueError, match="The parameter 'a' expected value 3 but got 4 instead."):
            mod._ovewrite_value_param("a", 4, 3)


def test_semantic_segmentation_preset_matches_torchvision():
    tp = t_seg.FCN_ResNet50_Weights.DEFAULT.transforms()
    ep = e_seg.FCN_ResNet50_Weights.DEFAULT.transforms()
    assert repr(ep) == repr(tp)
    assert ep.describe() == tp.describe()
    img = np.random.default_rng(0).integers(0, 256, (3, 13, 21), dtype=np.uint8)
    from ember.vision.models.segmentation._utils import SemanticSegmentation
    t = tv.transforms._presets.SemanticSegmentation(resize_size=None)(torch.tensor(img))
    e = SemanticSegmentation(resize_size=None)(ember.tensor(img))
    assert e.dtype == ember.float32
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6, atol=1e-6)


# ---- weights enums, builders' arguments, registry --------------------------------------------------------
SEG_ENUMS = ["FCN_ResNet50_Weights", "FCN_ResNet101_Weights", "DeepLabV3_ResNet50_Weights",
             "DeepLabV3_ResNet101_Weights", "DeepLabV3_MobileNet_V3_Large_Weights", "LRASPP_MobileNet_V3_Large_Weights"]


def test_every_segmentation_name_is_here():
    theirs = [*t_seg.fcn.__all__, *t_seg.deeplabv3.__all__, *t_seg.lraspp.__all__]
    assert sorted(e_seg.__all__) == sorted(theirs)
    assert set(SEG_ENUMS) == {n for n in theirs if n.endswith("_Weights")}


@pytest.mark.parametrize("enum_name", SEG_ENUMS)
def test_weights_enum_matches_torchvision(enum_name):
    te, ee = getattr(t_seg, enum_name), getattr(e_seg, enum_name)
    assert list(ee.__members__) == list(te.__members__)
    for name, tw in te.__members__.items():
        ew = ee[name]
        assert ew.url == tw.url
        assert ew.meta == {k: v for k, v in tw.meta.items() if k != "_docs"}
        assert repr(ew.transforms()) == repr(tw.transforms())
    assert models.get_weight(f"{enum_name}.DEFAULT") is ee.DEFAULT


def _err(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type and message are what is compared
        return type(e).__name__, str(e)
    return None


@pytest.mark.parametrize("call", [
    lambda s: s.fcn_resnet50(weights="COCO_WITH_VOC_LABELS_V1", num_classes=10),
    lambda s: s.deeplabv3_resnet50(weights="COCO_WITH_VOC_LABELS_V1", aux_loss=False),
    lambda s: s.lraspp_mobilenet_v3_large(weights_backbone=None, aux_loss=True),
    lambda s: s.deeplabv3_mobilenet_v3_large(weights="NOPE"),
    lambda s: s.fcn_resnet101(weights_backbone=s.FCN_ResNet101_Weights.DEFAULT),
    lambda s: s.deeplabv3.ASPP(8, [1, 2])(
        ember.zeros(1, 8, 4, 4) if s is e_seg else torch.zeros(1, 8, 4, 4)),  # batch norm in train mode on 1 value
], ids=["num_classes_vs_weights", "aux_vs_weights", "lraspp_aux", "bad_name", "wrong_enum", "aspp_one_value"])
def test_errors_match_torchvision(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = _err(lambda: call(t_seg))
        e = _err(lambda: call(e_seg))
    assert t is not None
    assert e == (t[0], t[1].replace("torch.Size", "ember.Size"))


@pytest.mark.parametrize("call", [
    lambda m: m.maxvit_t(input_size=(100, 100)),
    lambda m: m.maxvit_t(weights="IMAGENET1K_V1", num_classes=10),
    lambda m: m.maxvit.RelativePositionalMultiHeadAttention(10, 4, 49),
    lambda m: m.maxvit.MaxVitBlock(8, 8, 0.25, 4, None, None, 4, 4, 0.0, 0.0, 2, (8, 8), 2, [0.0]),
], ids=["input_size", "num_classes_vs_weights", "head_dim", "p_stochastic"])
def test_maxvit_errors_match_torchvision(call):
    t, e = _err(lambda: call(tv.models)), _err(lambda: call(models))
    assert t is not None
    assert e == t


def test_legacy_flags_warn_like_torchvision():
    def run(s):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            with (torch.device("meta") if s is t_seg else ember.device("meta")):
                m = s.lraspp_mobilenet_v3_large(pretrained_backbone=False, num_classes=3)
        return [str(x.message) for x in w], type(m).__name__

    assert run(e_seg) == run(t_seg)
    assert len(run(e_seg)[0]) == 2


def test_weights_load_from_hub_cache(tmp_path, monkeypatch):
    """Whole-model weights load from torch.hub's cache and give torchvision's outputs; as torchvision, each
    builder's ``weights_backbone`` defaults to the backbone's ImageNet weights."""
    import inspect

    for name in SEG_BUILDERS:
        t_default = inspect.signature(getattr(t_seg, name)).parameters["weights_backbone"].default
        e_default = inspect.signature(getattr(e_seg, name)).parameters["weights_backbone"].default
        assert repr(e_default) == repr(t_default)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(0)
    tm = t_seg.lraspp_mobilenet_v3_large(weights_backbone=None).eval()
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(tm.state_dict(), tmp_path / "hub" / "checkpoints" / "lraspp_mobilenet_v3_large-d234d4ea.pth")
    em = e_seg.lraspp_mobilenet_v3_large(weights="COCO_WITH_VOC_LABELS_V1").eval()
    x = np.random.default_rng(0).standard_normal((1, 3, 24, 24)).astype(np.float32)
    np.testing.assert_allclose(em(ember.tensor(x))["out"].detach().numpy(),
                               tm(torch.tensor(x))["out"].detach().numpy(), rtol=1e-4, atol=1e-4)


def test_registry_lists_segmentation_under_its_module():
    assert models.list_models(module=models.segmentation) == tv.models.list_models(module=t_seg)
    assert not set(SEG_BUILDERS) & set(models.list_models(module=models))
    assert set(SEG_BUILDERS) | {"maxvit_t"} <= set(models.list_models())
    assert "maxvit_t" in models.list_models(module=models)
    for n in SEG_BUILDERS + ["maxvit_t"]:
        assert models.get_model_weights(n).__name__ == tv.models.get_model_weights(n).__name__
    assert models.get_model_weights("maxvit_t") is models.MaxVit_T_Weights
    m = models.get_model("deeplabv3_mobilenet_v3_large", weights_backbone=None, num_classes=2, aux_loss=True)
    assert m.aux_classifier[4].out_channels == 2
