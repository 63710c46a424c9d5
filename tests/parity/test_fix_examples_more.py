"""Gaps found by running more of PyTorch's official examples (time_sequence_prediction,
reinforcement_learning, siamese_network, super_resolution, fast_neural_style, mnist_rnn, regression,
mnist_forward_forward, language_translation) against ember, each checked against real PyTorch for
the mechanism in general (not the example itself).

- a whole module saved by ``torch.save(model)`` (protocol 2: ``__builtin__`` names) loads with the
  ember classes marked safe (``safe_globals([Net, nn.Conv2d, ...])``: ``torch.nn.modules.conv.Conv2d``
  is ember's here).
- ``load(weights_only=False)`` trusts a PyTorch file as PyTorch does (any global; ``torch.X`` is
  ember's ``X``); the default still refuses.
- ``x ** 3`` and ``x ** -2`` round as PyTorch's kernel computes them (``x*x*x``, ``1/(x*x)``), not as C's pow.
- ``models.VGG16_Weights.IMAGENET1K_V1`` and the other weight enums exist; a builder given weights
  loads the file from torch.hub's cache (``$TORCH_HOME/hub/checkpoints``).
"""

from __future__ import annotations

import io

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

R = np.random.default_rng(5)


def _np(t):
    return t.detach().cpu().numpy()


# ---- PyTorch checkpoints holding more than tensors ---------------------------------------------------
def _torch_bytes(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def test_load_weights_only_default_still_refuses_like_torch():
    blob = _torch_bytes({"data": R.standard_normal(3)})
    with pytest.raises(Exception, match="Weights only load failed"):
        torch.load(io.BytesIO(blob))
    with pytest.raises(Exception, match="Weights only load failed"):
        ember.load(io.BytesIO(blob))


def _torch_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.PixelShuffle(2))


def test_load_torch_file_trusted_with_weights_only_false():
    """``torch.load(f, weights_only=False)``: the caller trusts the file, so any global loads, as in
    PyTorch (time_sequence_prediction saves a whole model; training scripts save an argparse
    Namespace beside the weights); ``torch.X`` classes come back as ember's."""
    import argparse

    model = _torch_model()
    blob = _torch_bytes({"model": model, "args": argparse.Namespace(lr=0.1, epochs=3), "step": 7,
                         "mixed": [np.float32(2.5), {"k": torch.arange(3)}]})
    want = torch.load(io.BytesIO(blob), weights_only=False)
    got = ember.load(io.BytesIO(blob), weights_only=False)
    assert vars(got["args"]) == vars(want["args"]) and got["step"] == want["step"] == 7
    assert got["mixed"][0] == want["mixed"][0] and _np(got["mixed"][1]["k"]).tolist() == [0, 1, 2]
    assert type(got["model"]) is ember.nn.Sequential and isinstance(got["model"][2], ember.nn.PixelShuffle)
    x = R.standard_normal((2, 1, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(_np(got["model"](ember.tensor(x))), want["model"](torch.tensor(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-6)
    with pytest.raises(Exception, match="Weights only load failed"):  # the default still refuses, as torch's
        ember.load(io.BytesIO(blob))


def test_load_whole_torch_module_with_ember_safe_globals():
    model = _torch_model()
    blob = _torch_bytes(model)
    x = R.standard_normal((2, 1, 5, 5)).astype(np.float32)
    want = model(torch.tensor(x)).detach().numpy()
    safe = [ember.nn.Sequential, ember.nn.Conv2d, ember.nn.ReLU, ember.nn.PixelShuffle]
    with ember.serialization.safe_globals(safe):
        got = ember.load(io.BytesIO(blob))
    assert type(got) is ember.nn.Sequential and isinstance(got[0], ember.nn.Conv2d)
    np.testing.assert_allclose(_np(got(ember.tensor(x))), want, rtol=1e-6, atol=1e-6)
    # the loaded module trains: parameters are ember Parameters with gradients
    got(ember.tensor(x)).sum().backward()
    assert got[0].weight.grad is not None and tuple(got[0].weight.grad.shape) == (4, 1, 3, 3)


def test_load_protocol2_builtins_set():
    blob = _torch_bytes({"s": {1, 2}, "w": torch.ones(2)})
    with ember.serialization.safe_globals([set]):
        got = ember.load(io.BytesIO(blob))
    assert got["s"] == torch.load(io.BytesIO(blob))["s"]


# ---- pow with exponents 3 and -2: PyTorch's products, bit for bit ---------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("exponent", [3, -2, 3.0, -2.0, 2, -1, 2.0, -1.0])
def test_pow_small_integer_exponents_bit_exact(device, dtype, exponent):
    x = (R.standard_normal(4000) * 3).astype(dtype)
    x[:5] = [0.0, -0.0, np.inf, -np.inf, 1e-30]
    want = (torch.tensor(x) ** exponent).numpy()
    got = _np(ember.tensor(x, device=device) ** exponent)
    np.testing.assert_array_equal(got, want)


def test_pow_three_bfloat16_bit_exact():
    x = (R.standard_normal(2000) * 3).astype(np.float32)
    for e in (3, -2, 2, -1):
        want = (torch.tensor(x).bfloat16() ** e).float().numpy()
        got = _np((ember.tensor(x).to(ember.bfloat16) ** e).float())
        np.testing.assert_array_equal(got, want)


def test_pow_three_gradient_matches():
    x = R.standard_normal(50).astype(np.float64)
    for e in (3, -2, 2, -1):
        t = torch.tensor(x, requires_grad=True)
        (t ** e).sum().backward()
        m = ember.tensor(x, requires_grad=True)
        (m ** e).sum().backward()
        np.testing.assert_allclose(_np(m.grad), t.grad.numpy(), rtol=1e-13)


# ---- torchvision's weight enums, loaded from torch.hub's cache --------------------------------------
def test_weights_enum_loads_torch_saved_file_from_hub_cache(tmp_path, monkeypatch):
    from ember.vision import models

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    w = models.VGG11_Weights.IMAGENET1K_V1
    src = models.vgg11(num_classes=1000)
    state = {k: torch.tensor(_np(v)) for k, v in src.state_dict().items()}
    ckpt = tmp_path / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    torch.save(state, str(ckpt / w.url.rsplit("/", 1)[1]))
    m = models.vgg11(weights=w)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(_np(v), state[k].numpy())
    assert models.vgg11(weights="VGG11_Weights.IMAGENET1K_V1").features[0].weight.shape == (64, 3, 3, 3)
    assert repr(models.VGG16_Weights.DEFAULT) == "VGG16_Weights.IMAGENET1K_V1"
    with pytest.raises(TypeError, match="expected VGG11_Weights"):
        models.vgg11(weights=models.VGG16_Weights.DEFAULT)


def test_weights_transforms_preset():
    from ember.vision import models

    t = models.ResNet50_Weights.IMAGENET1K_V2.transforms()
    assert t.resize_size == [232] and t.crop_size == [224]
    img = ember.tensor(R.integers(0, 256, (3, 260, 300), dtype=np.uint8))
    out = t(img)
    assert tuple(out.shape) == (3, 224, 224) and out.dtype == ember.float32
    # the normalization is torchvision's: (x/255 - mean) / std of the resized, cropped image
    from ember.vision.transforms import functional as F

    ref = F.center_crop(F.resize(img, [232], antialias=True), [224])
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    want = ((torch.tensor(_np(ref)).float() / 255) - mean) / std
    np.testing.assert_allclose(_np(out), want.numpy(), rtol=1e-6, atol=1e-6)
