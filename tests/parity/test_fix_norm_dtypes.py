"""Normalization layers with 16-bit inputs, against PyTorch's CPU kernels.

* Mixed precision (a float16/bfloat16 input with float32 weight, bias and running statistics, the
  case of a float model fed 16-bit activations, as under autocast): PyTorch's batch, group and
  instance norm kernels compute in float32 and return the input's dtype; ember promoted to float32.
* PyTorch's mixed-dtype rule for every other combination (``mixed dtype (CPU): ...`` errors),
  shared by layer, group, batch and instance norm.
* batch_norm training with parameters of the input's 16-bit dtype: the statistics rounded where
  PyTorch's kernel rounds them (float16: the saved mean and invstd; bfloat16: its statistics and
  running-statistics arithmetic in bfloat16), the output as ``x * alpha + beta``; instance_norm
  through PyTorch's own route (batch_norm over the N*C planes). About one output in five differed
  by an ulp before, and the running statistics in most channels.
"""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

LOWP = [torch.float16, torch.bfloat16]


def _e(t, device):
    if t is None:
        return None
    return ember.tensor(t.float().numpy(), device=device).to(getattr(ember, str(t.dtype).split(".")[-1]))


def _t(e):
    return torch.from_numpy(e.detach().float().cpu().numpy())


def _case(seed, shape, dt, param_dtype, stats):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(*shape, generator=g) * 3 + 1).to(dt)
    c = shape[1]
    w = b = None
    if param_dtype is not None:
        w, b = torch.randn(c, generator=g).to(param_dtype), torch.randn(c, generator=g).to(param_dtype)
    stat_dtype = param_dtype or dt
    rm = (torch.randn(c, generator=g) * 0.1).to(stat_dtype) if stats else None
    rv = (torch.rand(c, generator=g) + 0.5).to(stat_dtype) if stats else None
    return x, w, b, rm, rv


@pytest.mark.parametrize("dt", LOWP, ids=str)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batch_norm_mixed_precision_matches_pytorch(device, dt, training):
    for seed, shape in itertools.product(range(3), [(4, 3, 5, 5), (6, 3), (2, 3, 4)]):
        x, w, b, rm, rv = _case(seed, shape, dt, torch.float32, stats=True)
        erm, erv = _e(rm, device), _e(rv, device)
        out = torch.nn.functional.batch_norm(x, rm, rv, w, b, training, 0.1, 1e-5)
        got = ember.nn.functional.batch_norm(_e(x, device), erm, erv, _e(w, device), _e(b, device), training, 0.1, 1e-5)
        assert str(got.dtype).split(".")[-1] == str(out.dtype).split(".")[-1]
        assert str(erm.dtype).split(".")[-1] == "float32"
        # float32 statistics and affine map, rounded once: equal but for float32 summation order
        assert (_t(got) != out.float()).float().mean() < 0.01
        torch.testing.assert_close(_t(got).to(dt), out)
        torch.testing.assert_close(_t(erm), rm, rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(_t(erv), rv, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dt", LOWP, ids=str)
@pytest.mark.parametrize("params", ["same", "none"])
def test_batch_norm_16bit_training_rounds_as_pytorch(device, dt, params):
    mismatched = total = 0
    for seed, shape in itertools.product(range(4), [(4, 3, 5, 5), (6, 3), (2, 3, 4)]):
        x, w, b, rm, rv = _case(seed, shape, dt, dt if params == "same" else None, stats=True)
        erm, erv = _e(rm, device), _e(rv, device)
        out = torch.nn.functional.batch_norm(x, rm, rv, w, b, True, 0.1, 1e-5)
        got = ember.nn.functional.batch_norm(_e(x, device), erm, erv, _e(w, device), _e(b, device), True, 0.1, 1e-5)
        assert str(got.dtype).split(".")[-1] == str(out.dtype).split(".")[-1]
        torch.testing.assert_close(_t(got).to(dt), out)
        mismatched += int((_t(got) != out.float()).sum())
        total += out.numel()
        # the running statistics: exactly PyTorch's bits
        assert torch.equal(_t(erm).to(dt), rm), (seed, shape)
        assert torch.equal(_t(erv).to(dt), rv), (seed, shape)
    assert mismatched <= total * 0.002, f"{mismatched} of {total} outputs differ from PyTorch's bits"


@pytest.mark.parametrize("dt", LOWP, ids=str)
@pytest.mark.parametrize("param_dtype", ["same", "float32"])
def test_instance_norm_16bit_matches_pytorch(device, dt, param_dtype):
    pdt = dt if param_dtype == "same" else torch.float32
    for seed in range(3):
        x, w, b, rm, rv = _case(seed, (3, 2, 4, 5), dt, pdt, stats=True)
        erm, erv = _e(rm, device), _e(rv, device)
        out = torch.nn.functional.instance_norm(x, rm, rv, w, b, True, 0.1, 1e-5)
        got = ember.nn.functional.instance_norm(_e(x, device), erm, erv, _e(w, device), _e(b, device), True, 0.1, 1e-5)
        assert str(got.dtype).split(".")[-1] == str(out.dtype).split(".")[-1]
        assert (_t(got) != out.float()).float().mean() < 0.01
        torch.testing.assert_close(_t(got).to(dt), out)
        torch.testing.assert_close(_t(erm).to(rm.dtype), rm)
        torch.testing.assert_close(_t(erv).to(rv.dtype), rv)


@pytest.mark.parametrize("dt", LOWP, ids=str)
def test_group_and_layer_norm_mixed_precision_keep_the_input_dtype(device, dt):
    x, w, b, _, _ = _case(0, (4, 6, 5), dt, torch.float32, stats=False)
    for fn in (lambda lib, x, w, b: lib.nn.functional.group_norm(x, 3, w, b),
               lambda lib, x, w, b: lib.nn.functional.layer_norm(x.transpose(1, 2), (6,), w, b)):
        out = fn(torch, x, w, b)
        got = fn(ember, _e(x, device), _e(w, device), _e(b, device))
        assert str(got.dtype).split(".")[-1] == str(out.dtype).split(".")[-1]
        torch.testing.assert_close(_t(got).to(dt), out)


def test_mixed_precision_gradients_match_pytorch(device):
    x, w, b, rm, rv = _case(1, (4, 3, 5), torch.bfloat16, torch.float32, stats=True)
    xt, wt, bt = (t.clone().requires_grad_() for t in (x, w, b))
    torch.nn.functional.batch_norm(xt, rm, rv, wt, bt, True).float().pow(2).sum().backward()
    xe, we, be = (_e(t, device).requires_grad_() for t in (x, w, b))
    ember.nn.functional.batch_norm(xe, _e(rm, device), _e(rv, device), we, be, True).float().pow(2).sum().backward()
    for e, t in ((xe, xt), (we, wt), (be, bt)):
        assert str(e.grad.dtype).split(".")[-1] == str(t.grad.dtype).split(".")[-1]
        torch.testing.assert_close(_t(e.grad).to(t.grad.dtype), t.grad, rtol=0.05, atol=0.05)


_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
_NORMS = {
    "batch_norm": lambda lib, x, p: lib.nn.functional.batch_norm(x, None, None, p, p, True),
    "batch_norm with running stats": lambda lib, x, p: lib.nn.functional.batch_norm(x, p * 0, p, p, p, True),
    "batch_norm eval": lambda lib, x, p: lib.nn.functional.batch_norm(x, p * 0, p, p, p, False),
    "group_norm": lambda lib, x, p: lib.nn.functional.group_norm(x, 1, p, p),
    "layer_norm": lambda lib, x, p: lib.nn.functional.layer_norm(x, (3,), p, p),
    "instance_norm": lambda lib, x, p: lib.nn.functional.instance_norm(x.reshape(2, 3, 1).expand(2, 3, 2), None, None, p, p),
}


@pytest.mark.parametrize("norm", list(_NORMS))
@pytest.mark.parametrize("x_dtype,p_dtype", [(a, b) for a in _DTYPES for b in _DTYPES if a is not b], ids=str)
def test_norm_dtype_rule_matches_pytorch(device, norm, x_dtype, p_dtype):
    def observe(lib, dev):
        name = lambda d: getattr(lib, str(d).split(".")[-1])  # noqa: E731
        x = lib.ones(2, 3, device=dev).to(name(x_dtype))
        p = lib.ones(3, device=dev).to(name(p_dtype))
        try:
            return str(_NORMS[norm](lib, x, p).dtype).split(".")[-1]
        except RuntimeError as e:
            return "RuntimeError", str(e).replace("(CPU)", "")

    expected = observe(torch, "cpu")
    got = observe(ember, device)
    if isinstance(got, tuple):
        got = got[0], got[1].replace(f"({ember.device(device).type.upper()})", "")
    assert got == expected


def test_bfloat16_running_statistics_use_bfloat16_momentum():
    # PyTorch's kernel blends in bfloat16 with momentum rounded to bfloat16 (0.1 -> 0.10009765625):
    # after many steps the running mean of a constant batch mean converges to the rounded blend
    rm = torch.zeros(1, dtype=torch.bfloat16)
    erm = ember.zeros(1, dtype=ember.bfloat16)
    x = torch.full((8, 1), 3.0, dtype=torch.bfloat16) + torch.arange(8.0).reshape(8, 1).to(torch.bfloat16) / 8
    for _ in range(30):
        torch.nn.functional.batch_norm(x, rm, torch.ones(1, dtype=torch.bfloat16), training=True)
        ember.nn.functional.batch_norm(_e(x, "cpu"), erm, ember.ones(1, dtype=ember.bfloat16), training=True)
        assert np.array_equal(_t(erm).numpy(), rm.float().numpy())
