"""torchvision.transforms (v1) parity for the colour, geometry and augmentation transforms.

Every functional op runs on the same image in ember and in torchvision 0.28: uint8 tensors (batched
and not) and PIL images must match exactly, float tensors to rounding; the tensor paths also run
on the OpenCL device. ember's generator is not PyTorch's (docs/parity.md), so random transforms
are checked two ways: either torchvision's own transform runs with ``torch.rand``/``randint``/
``randperm`` answered from ember's generator (same seed, same draw order: the whole transform must
agree), or ember's ``get_params`` is re-drawn under the same seed and torchvision's functional
form is applied with those parameters. ``RandomOrder``/``RandomChoice`` use Python's ``random``,
like torchvision, so they agree under ``random.seed``.
"""

from __future__ import annotations

import random

import ember
import numpy as np
import pytest
from ember.vision import transforms as ET
from ember.vision.transforms import functional as EF
from PIL import Image
from reference_torchvision import import_torchvision

torch = pytest.importorskip("torch")
tv = import_torchvision()
TT = tv.transforms
TF = tv.transforms.functional

RS = np.random.RandomState(0)
U8 = RS.randint(0, 256, (2, 3, 11, 13)).astype(np.uint8)
F32 = RS.rand(2, 3, 11, 13).astype(np.float32)
F64 = RS.rand(3, 9, 10)
GRAY = RS.randint(0, 256, (1, 10, 9)).astype(np.uint8)


def _pil(arr: np.ndarray = U8[0]) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(arr.transpose(1, 2, 0)))


def _opencl_available() -> bool:
    return "opencl" in ember.plugins.device_types() and ember.opencl.is_available()


def _np(x):
    if isinstance(x, Image.Image):
        return np.asarray(x)
    if isinstance(x, (tuple, list)):
        return np.stack([_np(v) for v in x])
    return x.detach().cpu().numpy() if isinstance(x, (ember.Tensor, torch.Tensor)) else np.asarray(x)


def _same(a, b) -> None:
    """Exact for integer images and PIL, float tolerance for float tensors."""
    a, b = _np(a), _np(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    if np.issubdtype(a.dtype, np.floating):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_array_equal(a, b)


M = tv.transforms.InterpolationMode
EM = EF.InterpolationMode


def _mode(F, name):
    return getattr(EM if F is EF else M, name)


# name -> (F, x) -> result, with F either functional module; inputs are made per case below
CASES = {
    "brightness": lambda F, x: F.adjust_brightness(x, 1.37),
    "contrast": lambda F, x: F.adjust_contrast(x, 0.63),
    "contrast_zero": lambda F, x: F.adjust_contrast(x, 0.0),
    "saturation": lambda F, x: F.adjust_saturation(x, 1.7),
    "hue": lambda F, x: F.adjust_hue(x, 0.23),
    "hue_negative": lambda F, x: F.adjust_hue(x, -0.41),
    "gamma": lambda F, x: F.adjust_gamma(x, 0.7, 1.1),
    "sharpness": lambda F, x: F.adjust_sharpness(x, 1.8),
    "blur_sharpness": lambda F, x: F.adjust_sharpness(x, 0.3),
    "invert": lambda F, x: F.invert(x),
    "solarize": lambda F, x: F.solarize(x, 0.5 if getattr(x, "is_floating_point", lambda: False)() else 128),
    "autocontrast": lambda F, x: F.autocontrast(x),
    "gaussian_blur": lambda F, x: F.gaussian_blur(x, [3, 5], [0.8, 1.3]),
    "gaussian_blur_default_sigma": lambda F, x: F.gaussian_blur(x, 3),
    "affine": lambda F, x: F.affine(x, 23.0, [2, -1], 1.1, [7.0, -4.0]),
    "affine_bilinear_fill": lambda F, x: F.affine(x, -33.0, [1, 1], 0.9, 12.0, interpolation=_mode(F, "BILINEAR"),
                                                  fill=[10.0] * F.get_dimensions(x)[0]),
    "affine_center": lambda F, x: F.affine(x, 45, (0, 0), 1.0, [0.0, 20.0], center=[2, 3]),
    "rotate": lambda F, x: F.rotate(x, 37.0),
    "rotate_90": lambda F, x: F.rotate(x, 90.0),
    "rotate_expand_fill": lambda F, x: F.rotate(x, 30.0, expand=True, fill=[7.0]),
    "rotate_bilinear_center": lambda F, x: F.rotate(x, -50.0, _mode(F, "BILINEAR"), center=[3, 4]),
    "perspective": lambda F, x: F.perspective(x, [[0, 0], [12, 0], [12, 10], [0, 10]],
                                              [[1, 2], [11, 0], [10, 9], [2, 10]]),
    "perspective_nearest_fill": lambda F, x: F.perspective(x, [[0, 0], [8, 0], [8, 8], [0, 8]],
                                                           [[1, 2], [7, 0], [8, 9], [0, 6]], _mode(F, "NEAREST"),
                                                           fill=[5.0]),
    "five_crop": lambda F, x: F.five_crop(x, [4, 6]),
    "ten_crop": lambda F, x: F.ten_crop(x, 5, vertical_flip=True),
    "ten_crop_h": lambda F, x: F.ten_crop(x, [3]),
}
UINT8_ONLY = {
    "posterize": lambda F, x: F.posterize(x, 3),
    "equalize": lambda F, x: F.equalize(x),
}
INPUTS = {"u8_batch": U8, "u8": U8[0], "gray_u8": GRAY, "f32_batch": F32, "f64": F64}


def _run(name, fn, arr, device="cpu"):
    out = fn(EF, ember.tensor(arr).to(device))
    ref = fn(TF, torch.tensor(arr))
    _same(out, ref)


@pytest.mark.parametrize("inp", list(INPUTS))
@pytest.mark.parametrize("name", list(CASES))
def test_functional_tensor(name, inp):
    _run(name, CASES[name], INPUTS[inp])


@pytest.mark.parametrize("inp", ["u8_batch", "u8", "gray_u8"])
@pytest.mark.parametrize("name", list(UINT8_ONLY))
def test_functional_uint8_only(name, inp):
    _run(name, UINT8_ONLY[name], INPUTS[inp])


@pytest.mark.parametrize("name", list(CASES) + list(UINT8_ONLY))
@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_functional_pil(name, mode):
    fn = {**CASES, **UINT8_ONLY}[name]
    img = _pil() if mode == "RGB" else Image.fromarray(GRAY[0])
    _same(fn(EF, img), fn(TF, img))


@pytest.mark.skipif(not _opencl_available(), reason="no OpenCL device")
@pytest.mark.parametrize("name", list(CASES) + list(UINT8_ONLY))
def test_functional_opencl(name):
    fn = {**CASES, **UINT8_ONLY}[name]
    out = fn(EF, ember.tensor(U8).to("opencl"))
    assert (out[0] if isinstance(out, tuple) else out).device.type == "opencl"
    _same(out, fn(TF, torch.tensor(U8)))
    if name not in UINT8_ONLY:
        _same(fn(EF, ember.tensor(F32).to("opencl")), fn(TF, torch.tensor(F32)))


def test_erase_and_elastic_transform():
    x = ember.tensor(U8[0])
    t = torch.tensor(U8[0])
    _same(EF.erase(x, 2, 3, 4, 5, ember.tensor([[[7]], [[8]], [[9]]])),
          TF.erase(t, 2, 3, 4, 5, torch.tensor([[[7]], [[8]], [[9]]])))
    assert x.tolist() == t.tolist()  # not in place by default
    noise = RS.randn(3, 4, 5).astype(np.float32)
    y = ember.tensor(F32[0])
    out = EF.erase(y, 1, 1, 4, 5, ember.tensor(noise), inplace=True)
    _same(out, TF.erase(torch.tensor(F32[0]), 1, 1, 4, 5, torch.tensor(noise)))
    _same(y, out)  # in place
    disp = (RS.rand(1, 11, 13, 2).astype(np.float32) - 0.5) * 0.3
    for arr, kw in ((U8, {}), (F32[0], {"fill": [0.5]}), (U8[0], {"interpolation": "NEAREST", "fill": [9.0, 1, 2]})):
        kw_e = {k: (getattr(EM, v) if k == "interpolation" else v) for k, v in kw.items()}
        kw_t = {k: (getattr(M, v) if k == "interpolation" else v) for k, v in kw.items()}
        _same(EF.elastic_transform(ember.tensor(arr), ember.tensor(disp), **kw_e),
              TF.elastic_transform(torch.tensor(arr), torch.tensor(disp), **kw_t))
    _same(EF.elastic_transform(_pil(), ember.tensor(disp)), TF.elastic_transform(_pil(), torch.tensor(disp)))


def _errors(fn_e, fn_t):
    with pytest.raises(Exception) as ref:
        fn_t()
    with pytest.raises(type(ref.value)) as got:
        fn_e()
    assert str(got.value).replace("ember.", "torch.") == str(ref.value), (got.value, ref.value)


def _ctor_errors(name, *bad_kwargs):
    """Each set of constructor arguments fails in ember as in torchvision (type and message)."""
    for kw in bad_kwargs:
        _errors(lambda kw=kw: getattr(ET, name)(**kw), lambda kw=kw: getattr(TT, name)(**kw))


@pytest.mark.parametrize("call", [
    lambda F, x: F.posterize(x.float(), 2),
    lambda F, x: F.posterize(x, 9),
    lambda F, x: F.equalize(x.float()),
    lambda F, x: F.adjust_hue(x, 0.6),
    lambda F, x: F.adjust_brightness(x, -1),
    lambda F, x: F.adjust_saturation(x, -0.5),
    lambda F, x: F.adjust_gamma(x, -1.0),
    lambda F, x: F.adjust_sharpness(x, -1.0),
    lambda F, x: F.invert(x[0, 0]),
    lambda F, x: F.solarize(x, 300),
    lambda F, x: F.autocontrast(x[:2]),
    lambda F, x: F.gaussian_blur(x, 4),
    lambda F, x: F.gaussian_blur(x, [3, 3], -1.0),
    lambda F, x: F.gaussian_blur(x, [3, 3, 3]),
    lambda F, x: F.five_crop(x, 20),
    lambda F, x: F.perspective(x, [[0, 0]] * 3, [[0, 0]] * 4),
    lambda F, x: F.affine(x, 0.0, [0, 0], 0.0, 0.0),
    lambda F, x: F.affine(x, 0.0, [0], 1.0, 0.0),
    lambda F, x: F.affine(x, 0.0, [0, 0], 1.0, [1.0, 2.0, 3.0]),
    lambda F, x: F.affine(x, 0.0, [0, 0], 1.0, 0.0, interpolation=_mode(F, "BICUBIC")),
    lambda F, x: F.rotate(x, 10.0, fill=[1.0, 2.0]),
    lambda F, x: F.rotate(x, "10"),
    lambda F, x: F.erase(_pil(), 0, 0, 1, 1, 0),
    lambda F, x: F.elastic_transform(x, (torch if F is TF else ember).zeros(1, 3, 3, 2)),
])
def test_functional_errors(call):
    _errors(lambda: call(EF, ember.tensor(U8[0])), lambda: call(TF, torch.tensor(U8[0])))


# ---- random transforms ---------------------------------------------------------------------------
@pytest.fixture
def ember_draws(monkeypatch):
    """Make torch.rand/randint/randperm draw from ember's generator, so a seeded torchvision transform
    consumes exactly the numbers ember's does."""

    def conv(t):
        return torch.from_numpy(np.ascontiguousarray(t.numpy()))

    def rand(*size, **kw):
        kw.pop("dtype", None)
        return conv(ember.rand(*size))

    def randint(*args, **kw):
        if "dtype" in kw:
            kw["dtype"] = ember.int64
        return conv(ember.randint(*args, **kw))

    def randperm(n, **kw):
        return conv(ember.randperm(n))

    monkeypatch.setattr(torch, "rand", rand)
    monkeypatch.setattr(torch, "randint", randint)
    monkeypatch.setattr(torch, "randperm", randperm)


def _both(make, seed, img_e, img_t):
    ember.manual_seed(seed)
    out = make(ET)(img_e)
    ember.manual_seed(seed)
    return out, make(TT)(img_t)


@pytest.mark.parametrize("make", [
    lambda T: T.RandomGrayscale(p=0.5),
    lambda T: T.RandomInvert(),
    lambda T: T.RandomPosterize(3),
    lambda T: T.RandomSolarize(100),
    lambda T: T.RandomAdjustSharpness(2.0),
    lambda T: T.RandomAutocontrast(),
    lambda T: T.RandomEqualize(),
    lambda T: T.RandomPerspective(0.6, p=0.7),
    lambda T: T.RandomPerspective(0.4, p=1.0, interpolation=T.InterpolationMode.NEAREST, fill=3),
    lambda T: T.ElasticTransform(alpha=20.0, sigma=2.0),
    lambda T: T.ElasticTransform(alpha=[5.0, 9.0], sigma=[1.0, 1.5], fill=(1, 2, 3)),
    lambda T: T.AutoAugment(T.AutoAugmentPolicy.IMAGENET),
    lambda T: T.AutoAugment(T.AutoAugmentPolicy.CIFAR10, fill=[4, 5, 6]),
    lambda T: T.AutoAugment(T.AutoAugmentPolicy.SVHN, interpolation=T.InterpolationMode.BILINEAR),
    lambda T: T.RandAugment(),
    lambda T: T.RandAugment(num_ops=3, magnitude=5, num_magnitude_bins=11, fill=7),
    lambda T: T.TrivialAugmentWide(),
    lambda T: T.TrivialAugmentWide(num_magnitude_bins=7, interpolation=T.InterpolationMode.BILINEAR),
])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_whole_random_transform_with_shared_draws(make, seed, ember_draws):
    for arr in (U8[0], U8):
        out, ref = _both(make, seed, ember.tensor(arr), torch.tensor(arr))
        _same(out, ref)
    out, ref = _both(make, seed, _pil(), _pil())
    _same(out, ref)


def _fixed_dirichlet(lib, rows, width, seed):
    w = np.random.RandomState(seed).dirichlet([1.0] * width, size=rows).astype(np.float32)
    return lib.tensor(w)


@pytest.mark.parametrize("kw", [{}, {"severity": 5, "mixture_width": 2, "chain_depth": 2, "all_ops": False}])
@pytest.mark.parametrize("seed", [0, 1])
def test_augmix_with_shared_draws(kw, seed, ember_draws):
    class EAug(ET.AugMix):
        def _sample_dirichlet(self, params):
            return _fixed_dirichlet(ember, params.shape[0], params.shape[1], params.shape[1])

    class TAug(TT.AugMix):
        def _sample_dirichlet(self, params):
            return _fixed_dirichlet(torch, params.shape[0], params.shape[1], params.shape[1])

    for e_in, t_in in ((ember.tensor(U8), torch.tensor(U8)), (ember.tensor(U8[0]), torch.tensor(U8[0])),
                       (_pil(), _pil())):
        ember.manual_seed(seed)
        out = EAug(**kw)(e_in)
        ember.manual_seed(seed)
        ref = TAug(**kw)(t_in)
        _same(out, ref)


def test_augmix_and_autoaugment_defaults_and_repr():
    img = ember.tensor(U8[0])
    ember.manual_seed(0)
    out = ET.AugMix()(img)  # the real Dirichlet draw
    assert out.shape == img.shape and out.dtype == ember.uint8
    for name in ("AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix"):
        assert repr(getattr(ET, name)()) == repr(getattr(TT, name)())
    assert [p.value for p in ET.AutoAugmentPolicy] == [p.value for p in TT.AutoAugmentPolicy]
    for policy in ET.AutoAugmentPolicy:
        assert ET.AutoAugment(policy).policies == TT.AutoAugment(TT.AutoAugmentPolicy(policy.value)).policies
    with pytest.raises(ValueError, match="severity"):
        ET.AugMix(severity=11)
    assert isinstance(ET.AutoAugment(), ember.nn.Module)


@pytest.mark.parametrize("seed", range(6))
def test_color_jitter_params_order_and_values(seed):
    ranges = dict(brightness=0.4, contrast=(0.5, 1.5), saturation=0.3, hue=0.2)
    cj = ET.ColorJitter(**ranges)
    ember.manual_seed(seed)
    out = cj(ember.tensor(U8))
    ember.manual_seed(seed)
    order, b, c, s, h = ET.ColorJitter.get_params(cj.brightness, cj.contrast, cj.saturation, cj.hue)
    assert sorted(order.tolist()) == [0, 1, 2, 3]
    assert 0.6 <= b <= 1.4 and 0.5 <= c <= 1.5 and 0.7 <= s <= 1.3 and -0.2 <= h <= 0.2
    ref, ref_pil = torch.tensor(U8), _pil()
    for fn_id in order.tolist():
        fn, factor = [(TF.adjust_brightness, b), (TF.adjust_contrast, c), (TF.adjust_saturation, s),
                      (TF.adjust_hue, h)][fn_id]
        ref, ref_pil = fn(ref, factor), fn(ref_pil, factor)
    _same(out, ref)
    ember.manual_seed(seed)
    out_pil = cj(_pil())
    _same(out_pil, ref_pil)
    tj = TT.ColorJitter(**ranges)
    assert (cj.brightness, cj.contrast, cj.saturation, cj.hue) == (tj.brightness, tj.contrast, tj.saturation, tj.hue)
    assert repr(cj) == repr(tj)


def test_color_jitter_argument_checks():
    assert ET.ColorJitter().brightness is None and ET.ColorJitter(brightness=(1, 1)).brightness is None
    _ctor_errors("ColorJitter", {"brightness": -1}, {"hue": 0.7}, {"contrast": (2, 1)}, {"saturation": [1, 2, 3]})


@pytest.mark.parametrize("seed", range(4))
def test_random_affine_params(seed):
    kw = dict(degrees=(-20, 30), translate=(0.2, 0.1), scale=(0.8, 1.2), shear=(-5, 5, -8, 8), fill=3,
              interpolation=EM.BILINEAR)
    ember.manual_seed(seed)
    out = ET.RandomAffine(**kw)(ember.tensor(U8))
    out_pil = ET.RandomAffine(**kw)(_pil())
    ember.manual_seed(seed)
    params = ET.RandomAffine.get_params([-20.0, 30.0], (0.2, 0.1), (0.8, 1.2), [-5.0, 5.0, -8.0, 8.0], [13, 11])
    params_pil = ET.RandomAffine.get_params([-20.0, 30.0], (0.2, 0.1), (0.8, 1.2), [-5.0, 5.0, -8.0, 8.0], [13, 11])
    angle, (tx, ty), scale, (shx, shy) = params
    assert -20 <= angle <= 30 and abs(tx) <= round(0.2 * 13) and abs(ty) <= round(0.1 * 11)
    assert 0.8 <= scale <= 1.2 and -5 <= shx <= 5 and -8 <= shy <= 8
    _same(out, TF.affine(torch.tensor(U8), *params, interpolation=M.BILINEAR, fill=[3.0] * 3))
    _same(out_pil, TF.affine(_pil(), *params_pil, interpolation=M.BILINEAR, fill=3))
    t = TT.RandomAffine(**{**kw, "interpolation": M.BILINEAR})
    e = ET.RandomAffine(**kw)
    assert repr(e) == repr(t) and e.degrees == t.degrees and e.shear == t.shear
    _ctor_errors("RandomAffine", {"degrees": -1}, {"degrees": 0, "translate": (2, 0)}, {"degrees": 0, "scale": (0, 1)},
                {"degrees": 0, "shear": (1, 2, 3)}, {"degrees": 0, "fill": object()})


@pytest.mark.parametrize("seed", range(4))
def test_random_rotation_and_gaussian_blur_params(seed):
    ember.manual_seed(seed)
    out = ET.RandomRotation(40, interpolation=EM.BILINEAR, fill=2)(ember.tensor(U8))
    ember.manual_seed(seed)
    angle = ET.RandomRotation.get_params([-40.0, 40.0])
    assert -40 <= angle <= 40
    _same(out, TF.rotate(torch.tensor(U8), angle, M.BILINEAR, fill=[2.0] * 3))
    ember.manual_seed(seed)
    out = ET.GaussianBlur((3, 5), sigma=(0.5, 2.0))(ember.tensor(U8))
    ember.manual_seed(seed)
    sigma = ET.GaussianBlur.get_params(0.5, 2.0)
    assert 0.5 <= sigma <= 2.0
    _same(out, TF.gaussian_blur(torch.tensor(U8), [3, 5], [sigma, sigma]))
    assert repr(ET.GaussianBlur(3)) == repr(TT.GaussianBlur(3))
    _ctor_errors("GaussianBlur", {"kernel_size": 4}, {"kernel_size": 3, "sigma": -1}, {"kernel_size": 3, "sigma": (2.0, 1.0)})


@pytest.mark.parametrize("value", [0, (1, 2, 3), "random"])
@pytest.mark.parametrize("seed", range(3))
def test_random_erasing(value, seed):
    for arr in (F32[0], U8):
        img = ember.tensor(arr)
        ember.manual_seed(seed)
        out = ET.RandomErasing(p=1.0, value=value)(img)
        ember.manual_seed(seed)
        assert ember.rand(1).item() < 1.0  # the p draw comes first
        i, j, h, w, v = ET.RandomErasing.get_params(
            img, (0.02, 0.33), (0.3, 3.3), None if value == "random" else list(np.atleast_1d(value).astype(float)))
        assert 0 <= i <= arr.shape[-2] - h and 0 <= j <= arr.shape[-1] - w
        assert 0 < h < arr.shape[-2] and 0 < w < arr.shape[-1]
        _same(out, TF.erase(torch.tensor(arr), i, j, h, w, torch.tensor(v.numpy())))
    img = ember.tensor(F32[0])
    before = img.clone()
    ET.RandomErasing(p=1.0, inplace=True)(img)
    assert not ember.equal(before, img)
    assert ET.RandomErasing(p=0.0)(img) is img
    assert repr(ET.RandomErasing()) == repr(TT.RandomErasing())
    _ctor_errors("RandomErasing", {"value": "x"}, {"scale": (0.5, 2)}, {"p": 2}, {"value": object()})
    with pytest.raises(ValueError, match="number of input channels"):
        ET.RandomErasing(p=1.0, value=(1, 2))(ember.tensor(F32[0]))


def test_random_erasing_gives_up_after_ten_tries():
    img = ember.tensor(F32[0])
    i, j, h, w, v = ET.RandomErasing.get_params(img, (1.0, 1.0), (1.0, 1.0), [0.0])
    assert (i, j, h, w) == (0, 0, 11, 13) and v is img


def test_elastic_transform_params():
    ember.manual_seed(0)
    d = ET.ElasticTransform.get_params([50.0, 20.0], [1.0, 0.5], [11, 13])
    assert tuple(d.shape) == (1, 11, 13, 2) and d.dtype == ember.float32
    assert float(d[..., 1].abs().max()) <= 20.0 / 11 and float(d[..., 0].abs().max()) <= 50.0 / 13
    _ctor_errors("ElasticTransform", {"alpha": 1}, {"alpha": [1.0]}, {"sigma": [1, 2]}, {"fill": "x"})
    assert repr(ET.ElasticTransform()) == repr(TT.ElasticTransform()).replace("torchvision.transforms.", "")


def test_random_order_and_choice_use_python_random():
    fns = [lambda x: x * 2, lambda x: x + 3, lambda x: x - 7, lambda x: x * x]
    for seed in range(5):
        random.seed(seed)
        got = [ET.RandomOrder(fns)(1.5) for _ in range(4)] + [ET.RandomChoice(fns, p=[1, 2, 3, 4])(2.0)]
        random.seed(seed)
        want = [TT.RandomOrder(fns)(1.5) for _ in range(4)] + [TT.RandomChoice(fns, p=[1, 2, 3, 4])(2.0)]
        assert got == want
    _errors(lambda: ET.RandomChoice(fns, p=3), lambda: TT.RandomChoice(fns, p=3))


def test_five_ten_crop_and_linear_transformation():
    _same(ET.FiveCrop(4)(ember.tensor(U8)), TT.FiveCrop(4)(torch.tensor(U8)))
    _same(ET.TenCrop((3, 5), vertical_flip=True)(_pil()), TT.TenCrop((3, 5), vertical_flip=True)(_pil()))
    assert repr(ET.TenCrop(3)) == repr(TT.TenCrop(3)) and repr(ET.FiveCrop([2])) == repr(TT.FiveCrop([2]))
    d = 3 * 4 * 5
    mat = RS.randn(d, d).astype(np.float32)
    mean = RS.randn(d).astype(np.float32)
    x = RS.rand(2, 3, 4, 5).astype(np.float32)
    e = ET.LinearTransformation(ember.tensor(mat), ember.tensor(mean))
    t = TT.LinearTransformation(torch.tensor(mat), torch.tensor(mean))
    _same(e(ember.tensor(x)), t(torch.tensor(x)))
    _same(e(ember.tensor(x[0])), t(torch.tensor(x[0])))
    for args in ((RS.randn(3, 4), RS.randn(3)), (RS.randn(3, 3), RS.randn(4))):
        _errors(lambda args=args: ET.LinearTransformation(*(ember.tensor(a) for a in args)),
                lambda args=args: TT.LinearTransformation(*(torch.tensor(a) for a in args)))
    _errors(lambda: e(ember.zeros(2, 3, 3)), lambda: t(torch.zeros(2, 3, 3)))


def test_exports_match_torchvision():
    missing = [n for n in dir(TF) if not n.startswith("_") and callable(getattr(TF, n))
               and getattr(getattr(TF, n), "__module__", "").startswith("torchvision") and not hasattr(EF, n)]
    assert missing == []
    assert EF.pil_modes_mapping == {EM[k.name]: v for k, v in TF.pil_modes_mapping.items()}
    assert sorted(set(TT.__all__ if hasattr(TT, "__all__") else []) - set(ET.__all__)) == []
    wanted = [n for n in dir(TT) if not n.startswith("_") and isinstance(getattr(TT, n), type)]
    assert [n for n in wanted if not hasattr(ET, n) and n != "RandomTransforms"] == []


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
@pytest.mark.parametrize("padding", [1, [2, 1], [1, 2, 3, 1], [-1, 2, 0, 1]])
def test_pad_tensor_in_ember_ops(mode, padding):
    for arr in (U8, U8[0], F32):
        _same(EF.pad(ember.tensor(arr), padding, 3, mode), TF.pad(torch.tensor(arr), padding, 3, mode))
    if _opencl_available():
        out = EF.pad(ember.tensor(U8).to("opencl"), padding, 3, mode)
        assert out.device.type == "opencl"
        _same(out, TF.pad(torch.tensor(U8), padding, 3, mode))
