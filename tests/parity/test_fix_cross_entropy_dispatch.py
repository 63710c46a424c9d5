"""cross_entropy and nll_loss choose and check as PyTorch's ``cross_entropy_loss`` and
``nll_loss_nd``: a target shaped like the input holds class probabilities (a non-floating one is an
error), any other target class indices; a negative ``label_smoothing`` is ignored, not refused; the
probability path's weight check, ``ignore_index`` refusal and whole-product reduction; nll's checks in
PyTorch's order (dims, batch, target rank and size, weight shape, target dtype, weight dtype: a float64
weight with float32 logits is PyTorch's error); an empty batch's NaN. Before, ember chose by the
target's dtype, so a long target shaped like the input indexed out of range and a float target of
another batch size met a shape error instead of PyTorch's.
"""

from __future__ import annotations

import math
import warnings

import ember
import pytest

torch = pytest.importorskip("torch")


def _observe(fn, lib, device):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn(lib, device if lib is ember else "cpu")
    except Exception as e:  # noqa: BLE001 - the type and message are compared
        return type(e).__name__, str(e)
    values = out.detach().cpu().reshape(-1).tolist()
    # NaN and zero signs too: PyTorch's reductions leave -0.0 and which NaN they return observable
    return ("ok", [("nan", math.copysign(1, v)) if math.isnan(v) else (round(v, 5), math.copysign(1, v))
                   for v in values], str(out.dtype).split(".")[-1], tuple(out.shape))


def _z(lib, dev, *shape, dtype=None):
    return lib.zeros(*shape, dtype=dtype or lib.float32, device=dev)


def _ramp(lib, dev, *shape):
    n = math.prod(shape)
    return (lib.arange(n, dtype=lib.float32, device=dev).reshape(*shape) / 7).sin()


CASES = {
    "long target shaped like the input": lambda l, d: l.nn.functional.cross_entropy(_z(l, d, 4, 2), _z(l, d, 4, 2, dtype=l.int64)),
    "float target, other batch": lambda l, d: l.nn.functional.cross_entropy(_z(l, d, 4, 2), _z(l, d, 5, 2)),
    "float target of the batch's shape": lambda l, d: l.nn.functional.cross_entropy(_z(l, d, 4, 2), _z(l, d, 4)),
    "float target of the batch's shape, smoothing": lambda l, d: l.nn.functional.cross_entropy(
        _z(l, d, 4, 2), _z(l, d, 4), label_smoothing=0.1),
    "negative smoothing, indices": lambda l, d: l.nn.functional.cross_entropy(
        _ramp(l, d, 4, 3), l.tensor([0, 2, 1, 0], device=d), label_smoothing=-0.1),
    "negative smoothing, probabilities": lambda l, d: l.nn.functional.cross_entropy(
        _ramp(l, d, 4, 3), _ramp(l, d, 4, 3).softmax(1), label_smoothing=-0.1),
    "smoothing above 1, indices": lambda l, d: l.nn.functional.cross_entropy(
        _z(l, d, 4, 2), _z(l, d, 4, dtype=l.int64), label_smoothing=1.1),
    "smoothing above 1, probabilities": lambda l, d: l.nn.functional.cross_entropy(
        _z(l, d, 4, 2), _z(l, d, 4, 2), label_smoothing=1.1),
    "float64 weight, float32 logits": lambda l, d: l.nn.functional.cross_entropy(
        _z(l, d, 4, 2), _z(l, d, 4, dtype=l.int64), weight=_z(l, d, 2, dtype=l.float64) + 1),
    "float64 weight, float32 logits, smoothing": lambda l, d: l.nn.functional.cross_entropy(
        _z(l, d, 4, 2), _z(l, d, 4, dtype=l.int64), weight=_z(l, d, 2, dtype=l.float64) + 1, label_smoothing=0.2),
    "float64 weight, probabilities (promotes)": lambda l, d: l.nn.functional.cross_entropy(
        _ramp(l, d, 4, 2), _z(l, d, 4, 2), weight=_z(l, d, 2, dtype=l.float64) + 1),
    "nll_loss, float64 weight": lambda l, d: l.nn.functional.nll_loss(
        _z(l, d, 4, 2), _z(l, d, 4, dtype=l.int64), weight=_z(l, d, 2, dtype=l.float64) + 1),
    "probabilities, weight of another size": lambda l, d: l.nn.functional.cross_entropy(
        _z(l, d, 4, 2), _z(l, d, 4, 2), weight=_z(l, d, 3) + 1),
    "probabilities, ignore_index": lambda l, d: l.nn.functional.cross_entropy(_z(l, d, 4, 2), _z(l, d, 4, 2), ignore_index=1),
    "0-d input, 0-d long target": lambda l, d: l.nn.functional.cross_entropy(_z(l, d), _z(l, d, dtype=l.int64)),
    "0-d input, 0-d float target": lambda l, d: l.nn.functional.cross_entropy(_z(l, d) + 1, _z(l, d) + 1),
    "0-d input, 1-d target": lambda l, d: l.nn.functional.cross_entropy(_z(l, d), _z(l, d, 3, dtype=l.int64)),
    "0-d input, 1-d target, smoothing": lambda l, d: l.nn.functional.cross_entropy(
        _z(l, d), _z(l, d, 3, dtype=l.int64), label_smoothing=0.1),
    "nll_loss, 0-d input": lambda l, d: l.nn.functional.nll_loss(_z(l, d), _z(l, d, 3, dtype=l.int64)),
    "16-bit probabilities, float32 logits": lambda l, d: l.nn.functional.cross_entropy(_z(l, d, 4, 2), _z(l, d, 4, 2, dtype=l.float16)),
    "probabilities, 1-d": lambda l, d: l.nn.functional.cross_entropy(_ramp(l, d, 3), l.tensor([0.2, 0.3, 0.5], device=d)),
    "probabilities, 1-d, weight": lambda l, d: l.nn.functional.cross_entropy(
        _ramp(l, d, 3), l.tensor([0.2, 0.3, 0.5], device=d), weight=l.tensor([1.0, 2.0, 3.0], device=d)),
    "probabilities, 4-d, weight, none": lambda l, d: l.nn.functional.cross_entropy(
        _ramp(l, d, 2, 3, 2, 2), _ramp(l, d, 2, 3, 2, 2).softmax(1), weight=l.tensor([1.0, 2.0, 3.0], device=d),
        reduction="none"),
    "probabilities, empty batch": lambda l, d: l.nn.functional.cross_entropy(_z(l, d, 0, 3), _z(l, d, 0, 3)),
    "indices, empty batch": lambda l, d: l.nn.functional.cross_entropy(_z(l, d, 0, 3), _z(l, d, 0, dtype=l.int64)),
    "indices, empty batch, smoothing": lambda l, d: l.nn.functional.cross_entropy(
        _z(l, d, 0, 3), _z(l, d, 0, dtype=l.int64), label_smoothing=0.1),
    "nll_loss, empty batch": lambda l, d: l.nn.functional.nll_loss(_z(l, d, 0, 3), _z(l, d, 0, dtype=l.int64)),
    "nll_loss, empty spatial batch": lambda l, d: l.nn.functional.nll_loss(_z(l, d, 0, 3, 2), _z(l, d, 0, 2, dtype=l.int64)),
    "1-d input, 0-d index": lambda l, d: l.nn.functional.cross_entropy(_ramp(l, d, 3), l.tensor(2, device=d)),
    "1-d input, 0-d float target": lambda l, d: l.nn.functional.cross_entropy(_ramp(l, d, 3), l.tensor(2.0, device=d)),
    "1-d input, 1-d target of one": lambda l, d: l.nn.functional.cross_entropy(_ramp(l, d, 3), l.ones(1, dtype=l.int64, device=d)),
    "nll_loss, 1-d input, 1-d target of two": lambda l, d: l.nn.functional.nll_loss(_z(l, d, 3), _z(l, d, 2, dtype=l.int64)),
    "nll_loss, 1-d input, 2-d target": lambda l, d: l.nn.functional.nll_loss(_z(l, d, 3), _z(l, d, 1, 2, dtype=l.int64)),
    "3-d input, float target": lambda l, d: l.nn.functional.cross_entropy(_z(l, d, 2, 3, 4), _z(l, d, 2, 4)),
    "3-d input, wrong spatial size": lambda l, d: l.nn.functional.cross_entropy(_z(l, d, 2, 3, 4), _z(l, d, 2, 5, dtype=l.int64)),
    "5-d input, wrong spatial size": lambda l, d: l.nn.functional.nll_loss(
        _z(l, d, 2, 3, 4, 5, 6), _z(l, d, 2, 4, 5, 7, dtype=l.int64)),
    "4-d input, wrong spatial size": lambda l, d: l.nn.functional.nll_loss(_z(l, d, 2, 3, 4, 5), _z(l, d, 2, 4, 6, dtype=l.int64)),
    "4-d input, 2-d target": lambda l, d: l.nn.functional.nll_loss(_z(l, d, 2, 3, 4, 5), _z(l, d, 2, 4, dtype=l.int64)),
    "2-d input, 2-d target": lambda l, d: l.nn.functional.nll_loss(_z(l, d, 2, 3), _z(l, d, 2, 4, dtype=l.int64)),
    "2-d input, 0-d target": lambda l, d: l.nn.functional.nll_loss(_z(l, d, 2, 3), _z(l, d, dtype=l.int64)),
    "all targets ignored": lambda l, d: l.nn.functional.nll_loss(_z(l, d, 2, 3), l.full((2,), -100, device=d)),
    "module, probabilities, smoothing": lambda l, d: l.nn.CrossEntropyLoss(label_smoothing=0.1)(
        _ramp(l, d, 2, 3), _ramp(l, d, 2, 3).softmax(1)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_cross_entropy_dispatch_matches_pytorch(device, name):
    fn = CASES[name]
    expected, got = _observe(fn, torch, device), _observe(fn, ember, device)
    assert got == expected


@pytest.mark.parametrize("target_kind", ["indices", "probabilities"])
def test_cross_entropy_gradients_match_pytorch(device, target_kind):
    x = torch.randn(5, 4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    t = (torch.tensor([[0, 1, 3], [2, 2, 0], [1, 3, 3], [0, 0, 2], [3, 1, 1]]) if target_kind == "indices"
         else torch.rand(5, 4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1)).softmax(1))
    w = torch.tensor([1.0, 0.5, 2.0, 1.5], dtype=torch.float64)
    for smoothing in (0.0, 0.25, -0.5):
        xt = x.clone().requires_grad_()
        torch.nn.functional.cross_entropy(xt, t, weight=w, label_smoothing=smoothing).backward()
        xe = ember.tensor(x.numpy(), device=device).requires_grad_()
        ember.nn.functional.cross_entropy(xe, ember.tensor(t.numpy(), device=device), weight=ember.tensor(
            w.numpy(), device=device), label_smoothing=smoothing).backward()
        torch.testing.assert_close(torch.from_numpy(xe.grad.cpu().numpy()), xt.grad, rtol=1e-12, atol=1e-12)
