"""ember.vision.models' newer classifiers against torchvision 0.28 itself: MobileNetV3, EfficientNet (V1, V2),
RegNet X/Y, ConvNeXt, ViT, Swin (V1, V2).

* Every builder: the state_dict (keys in order, shapes, dtypes; parameters and buffers apart) of the ember
  model and of torchvision's, both built on the "meta" device (no memory, no init), so even vit_h_14 and
  regnet_y_128gf are checked.
* Small models (the smallest builders on tiny inputs, or the model classes with tiny settings): torchvision's
  weights, perturbed so nothing is zero, are copied into ember (state_dict -> numpy -> ember.tensor); the
  eval-mode outputs, the train-mode outputs (dropout and stochastic depth at 0), and one backward's input
  gradient and parameter gradients are compared in float64.
* A fresh model's initialization: the constant tensors (zeros, ones, layer scales, logit scales, V2's zeroed
  key bias) equal torchvision's exactly, the random ones have the same spread.
* Weights enums (URL, metadata, preprocessing), builder errors and the model registry.
"""

from __future__ import annotations

import contextlib
import warnings

import ember
import numpy as np
import pytest
from reference_torchvision import import_torchvision

torch = pytest.importorskip("torch")
tv = import_torchvision()

from ember.vision import models  # noqa: E402
from ember.vision.models import convnext as e_convnext  # noqa: E402
from ember.vision.models import swin_transformer as e_swin  # noqa: E402
from ember.vision.models import vision_transformer as e_vit  # noqa: E402

BUILDERS = (["mobilenet_v3_large", "mobilenet_v3_small"]
            + [f"efficientnet_b{i}" for i in range(8)] + ["efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l"]
            + [f"regnet_{k}_{s}" for k in "yx" for s in ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf")]
            + ["regnet_y_128gf", "convnext_tiny", "convnext_small", "convnext_base", "convnext_large",
               "vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14",
               "swin_t", "swin_s", "swin_b", "swin_v2_t", "swin_v2_s", "swin_v2_b"])


@contextlib.contextmanager
def _regnet_widths_on_cpu():
    """torchvision's RegNet computes its stage widths with tensors, which a "meta" device can't read back:
    run that one step on the CPU."""
    params = tv.models.regnet.BlockParams
    original = params.__dict__["from_init_params"]

    def on_cpu(cls, *args, **kwargs):
        with torch.device("cpu"):
            return original.__func__(cls, *args, **kwargs)

    params.from_init_params = classmethod(on_cpu)
    try:
        yield
    finally:
        params.from_init_params = original


def _dtype_name(dtype) -> str:
    return str(dtype).rsplit(".", 1)[-1]


def _check_state_dict(tm, em) -> None:
    ts, es = tm.state_dict(), em.state_dict()
    assert list(es) == list(ts)
    for k, v in ts.items():
        assert (tuple(es[k].shape), _dtype_name(es[k].dtype)) == (tuple(v.shape), _dtype_name(v.dtype)), k
    assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in em.named_buffers()] == [n for n, _ in tm.named_buffers()]


@pytest.mark.parametrize("name", BUILDERS)
def test_state_dict_matches_torchvision(name):
    with _regnet_widths_on_cpu(), torch.device("meta"):
        tm = getattr(tv.models, name)()
    with ember.device("meta"):
        em = getattr(models, name)()
    _check_state_dict(tm, em)


# ---- outputs and gradients ----------------------------------------------------------------------------
def _copy_weights(tm, em, perturb: bool = True) -> None:
    """torchvision's parameters (plus noise, so zero-initialized heads don't hide the layers under them)
    and buffers, into the ember model."""
    _check_state_dict(tm, em)
    if perturb:
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for p in tm.parameters():
                p.add_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.05)
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


def _compare(tm, em, shape, train: bool = True, rtol: float = 1e-9) -> None:
    tm.double()
    em.double()
    x = np.random.default_rng(0).standard_normal(shape)
    for mode in ("eval", "train") if train else ("eval",):
        tm.train(mode == "train")
        em.train(mode == "train")
        tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
        to, eo = tm(tx), em(ex)
        assert eo.dtype == ember.float64 and tuple(eo.shape) == tuple(to.shape)
        np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), rtol=rtol, atol=1e-10, err_msg=mode)
        g = np.random.default_rng(1).standard_normal(tuple(to.shape))
        (to * torch.tensor(g)).sum().backward()
        (eo * ember.tensor(g)).sum().backward()
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=rtol * 10, atol=1e-10, err_msg=mode)
        tp, ep = dict(tm.named_parameters()), dict(em.named_parameters())
        names = list(tp)
        for k in names[:3] + names[len(names) // 2:len(names) // 2 + 2] + names[-3:]:
            np.testing.assert_allclose(ep[k].grad.numpy(), tp[k].grad.numpy(), rtol=rtol * 10, atol=1e-10,
                                       err_msg=f"{mode} {k}")
        tm.zero_grad()
        em.zero_grad()


def _both(name, **kwargs):
    torch.manual_seed(0)
    return getattr(tv.models, name)(**kwargs), getattr(models, name)(**kwargs)


def test_mobilenet_v3_small_outputs_and_grads():
    tm, em = _both("mobilenet_v3_small", num_classes=10, dropout=0.0)
    _copy_weights(tm, em)
    _compare(tm, em, (2, 3, 32, 32))


def test_mobilenet_v3_large_reduced_dilated_outputs():
    tm, em = _both("mobilenet_v3_large", num_classes=10, width_mult=0.5, reduced_tail=True, dilated=True)
    _copy_weights(tm, em)
    _compare(tm, em, (1, 3, 32, 32), train=False)


def test_efficientnet_b0_outputs_and_grads():
    tm, em = _both("efficientnet_b0", num_classes=10, dropout=0.0, stochastic_depth_prob=0.0)
    _copy_weights(tm, em)
    # train mode at 64: at 32 the last maps are 1x1, and batch norm over 2 values is ill-conditioned
    _compare(tm, em, (2, 3, 64, 64))


def _small_efficientnet_v2(lib_models):
    e = lib_models.efficientnet
    setting = [e.FusedMBConvConfig(1, 3, 1, 8, 8, 2), e.FusedMBConvConfig(4, 3, 2, 8, 16, 1),
               e.MBConvConfig(4, 3, 2, 16, 24, 2)]
    return e.EfficientNet(setting, 0.0, stochastic_depth_prob=0.0, num_classes=5, last_channel=32)


def test_efficientnet_v2_blocks_outputs_and_grads():
    """FusedMBConv (with and without expansion) and MBConv, through the model class with V2-style settings."""
    torch.manual_seed(0)
    tm, em = _small_efficientnet_v2(tv.models), _small_efficientnet_v2(models)
    _copy_weights(tm, em)
    _compare(tm, em, (2, 3, 32, 32))


@pytest.mark.parametrize("name", ["regnet_x_400mf", "regnet_y_400mf"])
def test_regnet_outputs_and_grads(name):
    tm, em = _both(name, num_classes=10)
    _copy_weights(tm, em)
    _compare(tm, em, (1, 3, 32, 32), train=False)
    if name == "regnet_y_400mf":  # squeeze-excitation and batch statistics
        _compare(tm, em, (2, 3, 64, 64), train=True)


def _small_convnext(lib_models):
    c = lib_models.convnext
    return c.ConvNeXt([c.CNBlockConfig(8, 16, 2), c.CNBlockConfig(16, None, 1)], stochastic_depth_prob=0.0,
                      layer_scale=0.5, num_classes=5)


def test_convnext_outputs_and_grads():
    tm, em = _small_convnext(tv.models), _small_convnext(models)
    _copy_weights(tm, em)
    _compare(tm, em, (2, 3, 16, 16))


def _small_vits(lib_vit):
    base = dict(image_size=16, patch_size=4, num_layers=2, num_heads=2, hidden_dim=8, mlp_dim=12, num_classes=5)
    stem = [lib_vit.ConvStemConfig(4, 3, 2), lib_vit.ConvStemConfig(6, 3, 2)]
    return [lib_vit.VisionTransformer(**base), lib_vit.VisionTransformer(**base, representation_size=6),
            lib_vit.VisionTransformer(**base, conv_stem_configs=stem)]


@pytest.mark.parametrize("variant", [0, 1, 2], ids=["plain", "representation", "conv_stem"])
def test_vision_transformer_outputs_and_grads(variant):
    torch.manual_seed(0)
    tm, em = _small_vits(tv.models.vision_transformer)[variant], _small_vits(e_vit)[variant]
    _copy_weights(tm, em)
    _compare(tm, em, (2, 3, 16, 16))


def _small_swin(lib, v2: bool):
    s = lib.swin_transformer
    kw = dict(patch_size=[2, 2], embed_dim=8, depths=[2, 2], num_heads=[2, 4], window_size=[4, 4] if v2 else [3, 3],
              num_classes=5, stochastic_depth_prob=0.0)
    if v2:
        kw.update(block=s.SwinTransformerBlockV2, downsample_layer=s.PatchMergingV2)
    return s.SwinTransformer(**kw)


@pytest.mark.parametrize("v2", [False, True], ids=["v1", "v2"])
def test_swin_outputs_and_grads(v2):
    torch.manual_seed(0)
    tm, em = _small_swin(tv.models, v2), _small_swin(models, v2)
    _copy_weights(tm, em)
    # 18x14: both stages pad to whole windows, and the odd-layer blocks shift them
    _compare(tm, em, (2, 3, 18, 14))


# ---- initialization ------------------------------------------------------------------------------------
def _check_init(tm, em) -> None:
    ts, es = tm.state_dict(), em.state_dict()
    for k, v in ts.items():
        t, e = v.detach().double().numpy(), es[k].detach().double().numpy()
        if t.size and np.all(t == t.flat[0]):  # a constant: zeros, ones, layer scale, log(10)...
            np.testing.assert_array_equal(e, t, err_msg=k)
        elif t.size >= 2000:  # a random init: the same distribution
            assert abs(e.std() / t.std() - 1) < 0.15, (k, e.std(), t.std())
            assert abs(e.mean() - t.mean()) < 0.1 * t.std() + 1e-12, k
        if "relative_position_index" in k or "relative_coords_table" in k:
            np.testing.assert_array_equal(e, t, err_msg=k)


@pytest.mark.parametrize("build", [
    lambda lib: lib.mobilenet_v3_small(), lambda lib: lib.efficientnet_b0(), lambda lib: lib.regnet_y_400mf(),
    lambda lib: _small_convnext(lib), lambda lib: lib.vision_transformer.VisionTransformer(32, 16, 1, 12, 768, 3072),
    lambda lib: _small_swin(lib, False), lambda lib: _small_swin(lib, True),
], ids=["mobilenet_v3", "efficientnet", "regnet", "convnext", "vit", "swin", "swin_v2"])
def test_initialization_matches_torchvision(build):
    torch.manual_seed(0)
    ember.manual_seed(0)
    tm, em = build(tv.models), build(models)
    _check_state_dict(tm, em)
    _check_init(tm, em)


# ---- weights enums, builder arguments, registry --------------------------------------------------------
WEIGHT_ENUMS = sorted(n for n in dir(models) if n.endswith("_Weights") and n in models._weights_modern.__all__)


def test_every_torchvision_enum_is_here():
    mods = ("mobilenetv3", "efficientnet", "regnet", "convnext", "vision_transformer", "swin_transformer", "maxvit")
    theirs = sorted(n for n in dir(tv.models) if n.endswith("_Weights")
                    and getattr(tv.models, n).__module__.rsplit(".", 1)[-1] in mods)
    assert set(WEIGHT_ENUMS) <= set(theirs)
    assert set(theirs) - set(WEIGHT_ENUMS) <= {"MaxVit_T_Weights"}


@pytest.mark.parametrize("enum_name", WEIGHT_ENUMS)
def test_weights_enum_matches_torchvision(enum_name):
    te, ee = getattr(tv.models, enum_name), getattr(models, enum_name)
    assert list(ee.__members__) == list(te.__members__)
    assert ee.DEFAULT.name == te.DEFAULT.name
    for name, tw in te.__members__.items():
        ew = ee[name]
        assert ew.url == tw.url
        assert {k: v for k, v in ew.meta.items()} == {k: v for k, v in tw.meta.items() if k != "_docs"}
        tt, et = tw.transforms(), ew.transforms()
        assert (et.crop_size, et.resize_size, et.mean, et.std, et.interpolation.value, et.antialias) == \
            (tt.crop_size, tt.resize_size, list(tt.mean), list(tt.std), tt.interpolation.value, tt.antialias)


def _err(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type and message are what is compared
        return type(e).__name__, str(e)
    return None


@pytest.mark.parametrize("call", [
    lambda m: m.mobilenet_v3_small(weights="IMAGENET1K_V1", num_classes=10),
    lambda m: m.vit_b_16(weights=m.ViT_B_16_Weights.IMAGENET1K_SWAG_E2E_V1, num_classes=10),
    lambda m: m.swin_t(weights=m.ResNet18_Weights.IMAGENET1K_V1),
    lambda m: m.efficientnet_b0(weights="NOPE"),
    lambda m: m.vision_transformer.VisionTransformer(30, 16, 1, 1, 8, 8),
    lambda m: m.vision_transformer.VisionTransformer(32, 16, 1, 1, 8, 8)(
        ember.zeros(1, 3, 32, 48) if m is models else torch.zeros(1, 3, 32, 48)),
    lambda m: m.mobilenetv3.MobileNetV3([], 10),
    lambda m: m.mobilenetv3.MobileNetV3([1], 10),
    lambda m: m.efficientnet.EfficientNet([], 0.2),
    lambda m: m.convnext.ConvNeXt([1]),
    lambda m: m.regnet.BlockParams.from_init_params(4, 12, 1.0, 2.0, 8),
    lambda m: m.swin_transformer.ShiftedWindowAttention(8, [7], [0, 0], 2),
    lambda m: m.efficientnet_v2_s(norm_layer=None),
], ids=["num_classes_vs_weights", "vit_num_classes", "wrong_enum", "bad_name", "indivisible", "wrong_size",
        "empty_mbv3", "bad_mbv3", "empty_effnet", "bad_convnext", "bad_regnet", "bad_window", "norm_twice"])
def test_errors_match_torchvision(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = _err(lambda: call(tv.models))
        e = _err(lambda: call(models))
    assert t is not None
    if t[0] == "TypeError" and "multiple values" in t[1]:  # the wording names the callee
        assert e[0] == "TypeError" and "multiple values" in e[1]
    else:
        assert e == t


def test_vit_h_14_legacy_pretrained_means_no_weights():
    with pytest.warns(UserWarning, match="deprecated"):
        with ember.device("meta"):
            m = models.vit_h_14(pretrained=True)
    assert m.image_size == 224


def test_missing_weight_file_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(RuntimeError, match="mobilenet_v3_small-047dcff4.pth"):
        models.mobilenet_v3_small(weights=models.MobileNet_V3_Small_Weights.DEFAULT)


def test_weights_load_from_hub_cache(tmp_path, monkeypatch):
    """A torchvision-written file in torch.hub's cache loads through ``weights=``."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(0)
    tm = tv.models.mobilenet_v3_small()
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(tm.state_dict(), tmp_path / "hub" / "checkpoints" / "mobilenet_v3_small-047dcff4.pth")
    em = models.mobilenet_v3_small(weights="IMAGENET1K_V1")
    np.testing.assert_array_equal(em.classifier[3].weight.detach().numpy(), tm.classifier[3].weight.detach().numpy())


def test_registry_lists_and_builds_them():
    listed = models.list_models()
    assert set(BUILDERS) <= set(listed)
    assert models.get_model_weights("swin_v2_b") is models.Swin_V2_B_Weights
    assert models.get_model_weights(models.regnet_y_128gf) is models.RegNet_Y_128GF_Weights
    assert models.get_weight("ViT_H_14_Weights.IMAGENET1K_SWAG_E2E_V1").meta["min_size"] == (518, 518)
    assert models.get_model("mobilenet_v3_small", num_classes=3).classifier[3].out_features == 3


def test_interpolate_embeddings_matches_torchvision():
    torch.manual_seed(0)
    pos = torch.randn(1, 1 + 16, 6, dtype=torch.float64)
    t = tv.models.vision_transformer.interpolate_embeddings(24, 4, {"encoder.pos_embedding": pos, "heads.head.w": pos},
                                                           reset_heads=True)
    e = e_vit.interpolate_embeddings(24, 4, {"encoder.pos_embedding": ember.tensor(pos.numpy()),
                                             "heads.head.w": ember.tensor(pos.numpy())}, reset_heads=True)
    assert list(e) == list(t)
    np.testing.assert_allclose(e["encoder.pos_embedding"].numpy(), t["encoder.pos_embedding"].numpy(), rtol=1e-12)


def test_layer_norm_2d_and_relative_index_helpers():
    x = np.random.default_rng(0).standard_normal((2, 6, 3, 4))
    tln, eln = tv.models.convnext.LayerNorm2d(6, eps=1e-6), e_convnext.LayerNorm2d(6, eps=1e-6)
    np.testing.assert_allclose(eln(ember.tensor(x, dtype=ember.float32)).detach().numpy(),
                               tln(torch.tensor(x, dtype=torch.float32)).detach().numpy(), rtol=1e-5, atol=1e-6)
    ta = tv.models.swin_transformer.ShiftedWindowAttention(8, [3, 5], [1, 2], 2)
    ea = e_swin.ShiftedWindowAttention(8, [3, 5], [1, 2], 2)
    np.testing.assert_array_equal(ea.relative_position_index.numpy(), ta.relative_position_index.numpy())
    assert ea.relative_position_index.dtype == ember.int64
