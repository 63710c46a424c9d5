"""The cpu backend's register-blocked convolutions (``ember_cpu_numpy.conv_blocks``): forward and
weight gradient against the conformance suite's float64 references over channel counts that fill
one or two register blocks or part of one, paddings, widths that are not whole pixel blocks; the
kernel table taking them for LeNet's second layer; PyTorch's values through the frontend; and the
generated loop module being what its generator writes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("numba")

import ember  # noqa: E402
from ember_conformance import reference as R  # noqa: E402
from ember_cpu_numpy import conv_blocks, nn_kernels  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CASES = [  # (x shape, w shape, padding)
    ((64, 6, 14, 14), (16, 6, 5, 5), (0, 0)),  # LeNet's second layer
    ((3, 4, 9, 11), (12, 4, 3, 3), (1, 2)),  # 12 channels: part of a block; Wo = 13
    ((2, 3, 8, 8), (32, 3, 3, 2), (2, 1)),  # two blocks
    ((1, 2, 7, 6), (20, 2, 1, 1), (0, 0)),  # 1x1 kernel, one image
    ((2, 5, 6, 4), (9, 5, 4, 4), (3, 3)),  # padding of kernel - 1
    ((2, 2, 5, 5), (10, 2, 2, 3), (4, 5)),  # padding past the kernel: rows and columns of bias only
]


@pytest.mark.parametrize("xs,ws,pad", CASES)
def test_forward_and_weight_gradient_match_float64_references(xs, ws, pad):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32)
    assert conv_blocks.applies(x, w, (1, 1), pad, (1, 1), 1)
    got = conv_blocks.conv2d(x, w, b, pad)
    want = R.conv2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), (1, 1), pad, (1, 1), 1)
    assert got.dtype == np.float32 and got.shape == want.shape and got.flags.c_contiguous
    terms = ws[1] * ws[2] * ws[3]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6 * terms)
    g = rng.standard_normal(want.shape).astype(np.float32)
    gw = conv_blocks.weight_grad(g, x, w, pad)
    want_gw = R.conv2d_backward(g.astype(np.float64), x.astype(np.float64), w.astype(np.float64), (1, 1), pad,
                                (1, 1), 1, (False, True, False))[1]
    assert gw.shape == w.shape and gw.dtype == np.float32
    np.testing.assert_allclose(gw, want_gw, rtol=1e-5, atol=2e-6 * g[:, 0].size)


def test_other_convolutions_are_not_taken():
    x = np.zeros((1, 3, 8, 8), np.float32)
    w16 = np.zeros((16, 3, 3, 3), np.float32)
    assert not conv_blocks.applies(x, np.zeros((8, 3, 3, 3), np.float32), (1, 1), (0, 0), (1, 1), 1)  # direct loops
    assert not conv_blocks.applies(x, np.zeros((33, 3, 3, 3), np.float32), (1, 1), (0, 0), (1, 1), 1)  # the GEMM
    assert not conv_blocks.applies(x, w16, (2, 1), (0, 0), (1, 1), 1)
    assert not conv_blocks.applies(x, w16, (1, 1), (0, 0), (2, 1), 1)
    assert not conv_blocks.applies(x.astype(np.float64), w16.astype(np.float64), (1, 1), (0, 0), (1, 1), 1)


def test_kernel_table_uses_them_and_matches_the_gemm_path(monkeypatch):
    """LeNet's second layer through ``nn_kernels``: forward and both gradients equal the GEMM
    path's (which the loops replace) to float32 rounding."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((8, 6, 14, 14)).astype(np.float32)
    w = rng.standard_normal((16, 6, 5, 5)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    g = rng.standard_normal((8, 16, 10, 10)).astype(np.float32)
    args = ((1, 1), (0, 0), (1, 1), 1)
    calls = []
    real = conv_blocks.conv2d
    monkeypatch.setattr(conv_blocks, "conv2d", lambda *a: calls.append(1) or real(*a))
    out = nn_kernels.conv2d(x, w, b, *args)
    grads = nn_kernels.conv2d_backward(g, x, w, *args, (True, True, True))
    assert calls
    monkeypatch.setattr(conv_blocks, "applies", lambda *a: False)
    ref_out = nn_kernels.conv2d(x, w, b, *args)
    ref_grads = nn_kernels.conv2d_backward(g, x, w, *args, (True, True, True))
    np.testing.assert_allclose(out, ref_out, rtol=1e-5, atol=1e-4)
    for got, want in zip(grads, ref_grads):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)


def test_frontend_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 3, 11, 9)).astype(np.float32)
    w = rng.standard_normal((20, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(20).astype(np.float32)
    gy = rng.standard_normal((4, 20, 11, 9)).astype(np.float32)
    res = []
    for lib in (torch, ember):
        t = [lib.tensor(a, requires_grad=True) for a in (x, w, b)]
        y = lib.nn.functional.conv2d(*t, padding=1)
        y.backward(lib.tensor(gy))
        res.append([y.detach().numpy()] + [a.grad.numpy() for a in t])
    for e, t in zip(res[1], res[0]):
        np.testing.assert_allclose(e, t, rtol=1e-4, atol=1e-4)


def test_generated_module_is_current():
    spec = importlib.util.spec_from_file_location("gen_conv_blocks", ROOT / "scripts" / "gen_conv_blocks.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.TARGET.read_text() == gen.source(), "regenerate: python scripts/gen_conv_blocks.py"


def test_numba_slp_flag_is_only_on_while_the_loops_compile():
    """ember switches numba's SLP vectoriser on for its own loops' compilation only: other numba code
    in the process keeps numba's default."""
    from numba.core import config

    before = config.SLP_VECTORIZE
    conv_blocks._COMPILED.discard("fwd_o16")  # the next call goes through the switch again
    x, w = np.ones((1, 2, 6, 6), np.float32), np.ones((16, 2, 3, 3), np.float32)
    seen = []
    real = conv_blocks._loops().fwd_o16
    try:
        conv_blocks._MODULE[0].fwd_o16 = lambda *a: (seen.append(config.SLP_VECTORIZE), real(*a))[1]
        out = conv_blocks.conv2d(x, w, None, (0, 0))
    finally:
        conv_blocks._MODULE[0].fwd_o16 = real
    assert seen == [1] and config.SLP_VECTORIZE == before
    np.testing.assert_array_equal(out, np.full((1, 16, 4, 4), 18, np.float32))
