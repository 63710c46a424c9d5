"""The cpu backend's numba optimizer loops (``ember_cpu_numpy.numba_optim``): bitwise the NumPy
kernels' results over every option, float32 and float64, NaN included; PyTorch's numbers through
the frontend; and the NumPy path wherever the loops do not apply."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

pytest.importorskip("numba")

from ember_cpu_numpy import numba_optim, xp_kernels  # noqa: E402

NUMPY = xp_kernels.optim_kernels(np)
SIZES = (1, 7, 1000)


@pytest.fixture(autouse=True)
def _numba_on(monkeypatch):
    monkeypatch.delenv("EMBER_CPU_NUMBA", raising=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("wd,momentum,dampening,nesterov,maximize,first",
                         [c for c in itertools.product((0.0, 0.1), (0.0, 0.9), (0.0, 0.3), (False, True),
                                                       (False, True), (False, True))])
def test_sgd_loop_is_bitwise_the_numpy_kernel(dtype, wd, momentum, dampening, nesterov, maximize, first):
    rng = np.random.default_rng(hash((wd, momentum, dampening, nesterov, maximize, first)) % 2**32)
    for size in SIZES:
        p, g, buf = (rng.standard_normal(size).astype(dtype) for _ in range(3))
        p2, buf2 = p.copy(), buf.copy()
        NUMPY["sgd_step"](p, g, buf, 0.01, momentum, dampening, wd, nesterov, maximize, first)
        assert numba_optim.sgd_step(p2, g, buf2, 0.01, momentum, dampening, wd, nesterov, maximize, first)
        np.testing.assert_array_equal(p2, p)
        if momentum:
            np.testing.assert_array_equal(buf2, buf)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("wd,amsgrad,maximize,decoupled,beta1",
                         [c for c in itertools.product((0.0, 0.01), (False, True), (False, True), (False, True),
                                                       (0.9, 0.3))])
def test_adam_loop_is_bitwise_the_numpy_kernel(dtype, wd, amsgrad, maximize, decoupled, beta1):
    rng = np.random.default_rng(5)
    for size in SIZES:
        p, g, m = (rng.standard_normal(size).astype(dtype) for _ in range(3))
        v, vmax = rng.random(size).astype(dtype), rng.random(size).astype(dtype)
        if size > 10:  # NaN in either second moment, and a zero denominator's neighbourhood
            v[:2], vmax[3:5], g[6], v[6], m[6] = np.nan, np.nan, 0.0, 0.0, 0.0
        mine = [a.copy() for a in (p, m, v, vmax)]
        NUMPY["adam_step"](p, g, m, v, vmax if amsgrad else None, 7, 1e-3, beta1, 0.999, 1e-8, wd, amsgrad, maximize,
                           decoupled)
        assert numba_optim.adam_step(mine[0], g, mine[1], mine[2], mine[3] if amsgrad else None, 7, 1e-3, beta1,
                                     0.999, 1e-8, wd, amsgrad, maximize, decoupled)
        for ours, want in zip(mine, (p, m, v, vmax)):
            np.testing.assert_array_equal(ours, want)


def test_other_operands_take_the_numpy_path(monkeypatch):
    p = np.ones((4, 4), np.float32)
    assert not numba_optim.sgd_step(p.T, np.ones((4, 4), np.float32).T, None, 0.1, 0.0, 0.0, 0.0, False, False, True)
    assert numba_optim.sgd_step(p, np.ones((4, 4), np.float32), None, 0.1, 0.0, 0.0, 0.0, False, False, True)
    assert not numba_optim.sgd_step(p, np.ones((4, 4), np.float64), None, 0.1, 0.0, 0.0, 0.0, False, False, True)
    half = np.ones(3, np.float16)
    assert not numba_optim.adam_step(half, half, half.copy(), half.copy(), None, 1, 0.1, 0.9, 0.999, 1e-8, 0.0,
                                     False, False, False)
    monkeypatch.setenv("EMBER_CPU_NUMBA", "0")
    assert not numba_optim.sgd_step(p, np.ones((4, 4), np.float32), None, 0.1, 0.0, 0.0, 0.0, False, False, True)


@pytest.mark.parametrize("opt_name", ["SGD", "Adam", "AdamW"])
def test_training_matches_pytorch_and_the_numpy_path(monkeypatch, opt_name):
    """A small model trained 5 steps through ember.optim: PyTorch's parameters (float32 tolerance),
    and bit for bit what the NumPy kernels give (EMBER_CPU_NUMBA=0)."""
    torch = pytest.importorskip("torch")
    import ember

    kwargs = {"SGD": {"lr": 0.1, "momentum": 0.9, "nesterov": True}, "Adam": {"lr": 0.01, "amsgrad": True},
              "AdamW": {"lr": 0.01, "weight_decay": 0.1}}[opt_name]
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((40000,)).astype(np.float32)  # large enough to vectorise
    xs = [rng.standard_normal(40000).astype(np.float32) for _ in range(5)]

    def run_ember() -> np.ndarray:
        w = ember.nn.Parameter(ember.tensor(w0))
        opt = getattr(ember.optim, opt_name)([w], **kwargs)
        for x in xs:
            opt.zero_grad()
            ((w * ember.tensor(x)).sin().sum()).backward()
            opt.step()
        return w.detach().numpy()

    with_numba = run_ember()
    monkeypatch.setenv("EMBER_CPU_NUMBA", "0")
    np.testing.assert_array_equal(run_ember(), with_numba)
    tw = torch.nn.Parameter(torch.tensor(w0))
    topt = getattr(torch.optim, opt_name)([tw], foreach=False, **kwargs)
    for x in xs:
        topt.zero_grad()
        ((tw * torch.tensor(x)).sin().sum()).backward()
        topt.step()
    np.testing.assert_allclose(with_numba, tw.detach().numpy(), rtol=1e-5, atol=1e-6)
