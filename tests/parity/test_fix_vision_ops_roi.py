"""ember.vision.ops' RoI ops (roi_align, roi_pool, ps_roi_align, ps_roi_pool, MultiScaleRoIAlign).

torchvision's RoI ops are compiled C++ that does not load here, so each is checked against a NumPy
transcription of its documented definition written below, independent of ember's code: a plain loop
over RoIs, bins and sampling points (RoI Align: the average of ``sampling_ratio`` x ``sampling_ratio``
bilinear samples per bin, the box shifted by -0.5 when ``aligned``; RoI Pool: the maximum over each
bin's integer window), plus values worked out by hand, finite-difference gradient checks, the
gradient's routing to the first maximum, and the same calls on every device. MultiScaleRoIAlign is
compared with torchvision's own module, whose roi_align is pointed at the NumPy reference.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import ember
import numpy as np
import pytest
from ember.vision import ops
from reference_torchvision import import_torchvision

torch = pytest.importorskip("torch")
tv = import_torchvision()


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


# ---- NumPy references ------------------------------------------------------------------------

def _bilinear(img: np.ndarray, y: float, x: float) -> np.ndarray:
    """Bilinear sample of ``img [C, H, W]`` at ``(y, x)``: 0 outside ``[-1, H] x [-1, W]``; coordinates
    below 0 read row/column 0, and beyond the last one read the last."""
    _, h, w = img.shape
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return np.zeros(img.shape[0])
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(y), int(x)
    if y0 >= h - 1:
        y0 = y1 = h - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= w - 1:
        x0 = x1 = w - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    hy, hx = 1 - ly, 1 - lx
    return hy * hx * img[:, y0, x0] + hy * lx * img[:, y0, x1] + ly * hx * img[:, y1, x0] + ly * lx * img[:, y1, x1]


def _align_ref(x, rois, out, scale=1.0, sr=-1, aligned=False, ps=False):
    """RoI Align / PS RoI Align as documented: per bin, the mean of a grid of bilinear samples."""
    ph_n, pw_n = out
    n, c, h, w = x.shape
    c_out = c // (ph_n * pw_n) if ps else c
    res = np.zeros((len(rois), c_out, ph_n, pw_n))
    for k, (b, x1, y1, x2, y2) in enumerate(rois):
        off = 0.5 if (aligned or ps) else 0.0
        sw, sh, ew, eh = x1 * scale - off, y1 * scale - off, x2 * scale - off, y2 * scale - off
        rw, rh = ew - sw, eh - sh
        if not (aligned or ps):
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / ph_n, rw / pw_n
        gh = sr if sr > 0 else math.ceil(rh / ph_n)
        gw = sr if sr > 0 else math.ceil(rw / pw_n)
        count = gh * gw if ps else max(gh * gw, 1)
        for i in range(ph_n):
            for j in range(pw_n):
                chans = [((co * ph_n + i) * pw_n + j) for co in range(c_out)] if ps else list(range(c))
                img = x[int(b)][chans]
                acc = np.zeros(len(chans))
                for iy in range(max(gh, 0)):
                    yy = sh + i * bh + (iy + 0.5) * bh / gh
                    for ix in range(max(gw, 0)):
                        xx = sw + j * bw + (ix + 0.5) * bw / gw
                        acc += _bilinear(img, yy, xx)
                with np.errstate(invalid="ignore", divide="ignore"):
                    res[k, :, i, j] = acc / count
    return res


def _c_round(v: float) -> int:
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def _pool_ref(x, rois, out, scale=1.0, ps=False):
    """RoI Pool (max; both box ends included) / PS RoI Pool (mean; size x2 - x1; windows clipped to
    size - 1), on each bin's integer window [floor(p * bin), ceil((p + 1) * bin)). Also returns, for
    RoI Pool, each bin's argmax (first maximum in row-major order) as a flat index into x."""
    ph_n, pw_n = out
    n, c, h, w = x.shape
    c_out = c // (ph_n * pw_n) if ps else c
    res = np.zeros((len(rois), c_out, ph_n, pw_n))
    arg = -np.ones((len(rois), c_out, ph_n, pw_n), dtype=np.int64)
    for k, (b, x1, y1, x2, y2) in enumerate(rois):
        sw, sh, ew, eh = (_c_round(v * scale) for v in (x1, y1, x2, y2))
        extra = 0 if ps else 1
        rw, rh = max(ew - sw + extra, 1), max(eh - sh + extra, 1)
        bh, bw = rh / ph_n, rw / pw_n
        lim_h, lim_w = (h - 1, w - 1) if ps else (h, w)
        for i in range(ph_n):
            for j in range(pw_n):
                hs = min(max(math.floor(i * bh) + sh, 0), lim_h)
                he = min(max(math.ceil((i + 1) * bh) + sh, 0), lim_h)
                ws = min(max(math.floor(j * bw) + sw, 0), lim_w)
                we = min(max(math.ceil((j + 1) * bw) + sw, 0), lim_w)
                for co in range(c_out):
                    ch = (co * ph_n + i) * pw_n + j if ps else co
                    win = x[int(b), ch, hs:he, ws:we]
                    if win.size == 0:
                        continue
                    if ps:
                        res[k, co, i, j] = win.mean()
                    else:
                        best = -np.finfo(np.float32).max
                        for r in range(hs, he):
                            for s in range(ws, we):
                                if x[int(b), ch, r, s] > best:
                                    best = x[int(b), ch, r, s]
                                    arg[k, co, i, j] = ((int(b) * c + ch) * h + r) * w + s
                        res[k, co, i, j] = best
    return res, arg


def _random_case(seed, n=2, c=3, h=7, w=9, k=6, spread=1.0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w))
    xy = rng.uniform(-1.5, max(h, w) * spread, size=(k, 2))
    wh = rng.uniform(0.2, 6.0, size=(k, 2))
    rois = np.concatenate([rng.integers(0, n, size=(k, 1)), xy, xy + wh], axis=1)
    return x, rois


# ---- roi_align -------------------------------------------------------------------------------

@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sr", [-1, 1, 2, 3])
@pytest.mark.parametrize("out,scale", [((2, 2), 1.0), ((3, 2), 0.5), ((1, 4), 1.3)])
def test_roi_align_matches_reference(aligned, sr, out, scale):
    x, rois = _random_case(int(aligned) * 100 + sr + 10 * out[0], spread=1.0 / scale)
    rois[0, 1:] = [2.0, 2.0, 2.1, 2.05]  # smaller than a pixel (stretched to 1x1 when not aligned)
    rois[1, 1:] = [3.0, 1.0, 2.5, 4.0]  # reversed in x
    got = ops.roi_align(ember.tensor(x), ember.tensor(rois), out, spatial_scale=scale, sampling_ratio=sr,
                        aligned=aligned)
    assert got.dtype == ember.float64 and tuple(got.shape) == (len(rois), 3, *out)
    np.testing.assert_allclose(_np(got), _align_ref(x, rois, out, scale, sr, aligned), rtol=1e-12, atol=1e-12)
    got32 = ops.roi_align(ember.tensor(x, dtype=ember.float32), ember.tensor(rois, dtype=ember.float32), out,
                          spatial_scale=scale, sampling_ratio=sr, aligned=aligned)
    assert got32.dtype == ember.float32
    np.testing.assert_allclose(_np(got32), _align_ref(x, rois, out, scale, sr, aligned), rtol=1e-4, atol=1e-5)


def test_roi_align_hand_computed_values():
    # x[r, c] = 4r + c is linear, so inside the map a bilinear sample is 4 * y + x exactly
    x = ember.arange(16.0, dtype=ember.float64).view(1, 1, 4, 4)

    def one(box, out=1, sr=-1, aligned=False, scale=1.0):
        return _np(ops.roi_align(x, ember.tensor([[0.0, *box]], dtype=ember.float64), out, scale, sr, aligned))[0, 0]

    assert one((0, 0, 2, 2), sr=1) == 5.0  # one sample at (1, 1)
    assert one((0, 0, 2, 2), sr=1, aligned=True) == 2.5  # shifted to (0.5, 0.5)
    np.testing.assert_array_equal(one((1, 1, 3, 3), out=2, sr=2), [[7.5, 8.5], [11.5, 12.5]])
    np.testing.assert_array_equal(one((2, 2, 6, 6), out=2, sr=2, scale=0.5), [[7.5, 8.5], [11.5, 12.5]])
    assert one((2, 2, 4, 4), sr=2) == 13.75  # samples at 2.5 and 3.5; 3.5 reads the last row (3)
    assert one((0, 0, 3, 3)) == 7.5  # adaptive: 3 x 3 samples at 0.5, 1.5, 2.5
    assert one((1, 1, 1.2, 1.2)) == 7.5  # legacy: stretched to 1x1, sampled at 1.5
    assert one((1, 1, 1.2, 1.2), aligned=True) == pytest.approx(3.0)  # aligned: sampled at 0.6
    np.testing.assert_array_equal(one((5, 5, 9, 9), out=2, sr=1), 0.0)  # every sample beyond the map
    assert one((-1.5, -1.5, -0.5, -0.5), sr=1) == 0.0  # sample at -1.0: inside [-1, H], reads row 0
    assert one((-2.5, -2.5, -1.5, -1.5), sr=1) == 0.0  # sample at -2.0: outside, 0
    y = ops.roi_align(x + 1, ember.tensor([[0.0, -1.5, -1.5, -0.5, -0.5]], dtype=ember.float64), 1, 1.0, 1)
    assert float(y) == 1.0  # (-1, -1) reads pixel (0, 0)


def test_roi_align_boxes_as_list_and_module():
    x, rois = _random_case(3, n=2)
    per_image = [rois[rois[:, 0] == i][:, 1:] for i in range(2)]
    ordered = np.concatenate([np.concatenate([np.full((len(b), 1), i), b], 1) for i, b in enumerate(per_image)])
    got = ops.roi_align(ember.tensor(x), [ember.tensor(b) for b in per_image], (2, 3), 1.0, 2, True)
    np.testing.assert_allclose(_np(got), _align_ref(x, ordered, (2, 3), 1.0, 2, True), rtol=1e-12, atol=1e-12)
    m = ops.RoIAlign((2, 3), spatial_scale=1.0, sampling_ratio=2, aligned=True)
    np.testing.assert_array_equal(_np(m(ember.tensor(x), ember.tensor(ordered))), _np(got))
    assert repr(m) == repr(tv.ops.RoIAlign((2, 3), spatial_scale=1.0, sampling_ratio=2, aligned=True))
    empty = ops.roi_align(ember.tensor(x), ember.zeros(0, 5, dtype=ember.float64), 2)
    assert tuple(empty.shape) == (0, 3, 2, 2)


def test_roi_align_groups_and_chunks_keep_roi_order(monkeypatch):
    # many RoIs of different sizes (adaptive grids), cut into tiny gathers: same values, same order
    x, rois = _random_case(4, k=40, h=12, w=12)
    expected = _align_ref(x, rois, (2, 2), 1.0, -1, False)
    monkeypatch.setattr(ops._roi_utils, "_MAX_GATHER", 200)
    got = ops.roi_align(ember.tensor(x), ember.tensor(rois), 2)
    np.testing.assert_allclose(_np(got), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("aligned,sr", [(False, -1), (True, 2)])
def test_roi_align_gradient(aligned, sr):
    x, rois = _random_case(5, n=2, c=1, h=4, w=5, k=4)
    xe = ember.tensor(x, requires_grad=True)
    re = ember.tensor(rois)
    assert ember.autograd.gradcheck(lambda t: ops.roi_align(t, re, (2, 2), 1.0, sr, aligned), (xe,), eps=1e-6,
                                    atol=1e-7)
    # roi_align is linear in x: the gradient of sum(w * out) is the reference's response to w
    wgt = np.random.default_rng(6).standard_normal((4, 1, 2, 2))
    out = ops.roi_align(xe, re, (2, 2), 1.0, sr, aligned)
    (out * ember.tensor(wgt)).sum().backward()
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        basis = np.zeros_like(x)
        basis[idx] = 1.0
        grad[idx] = (_align_ref(basis, rois, (2, 2), 1.0, sr, aligned) * wgt).sum()
    np.testing.assert_allclose(_np(xe.grad), grad, rtol=1e-10, atol=1e-12)


# ---- roi_pool --------------------------------------------------------------------------------

@pytest.mark.parametrize("out,scale", [((2, 2), 1.0), ((3, 2), 0.5), ((1, 4), 1.0), ((4, 3), 2.0)])
def test_roi_pool_matches_reference(out, scale):
    x, rois = _random_case(7 + out[0], spread=1.0 / scale)
    rois[0, 1:] = [2.0, 2.0, 1.0, 1.0]  # reversed: one pixel
    rois[1, 1:] = [-3.0, -3.0, -1.0, -2.0]  # outside the map: empty bins give 0
    ref, _ = _pool_ref(x, rois, out, scale)
    got = ops.roi_pool(ember.tensor(x), ember.tensor(rois), out, spatial_scale=scale)
    np.testing.assert_array_equal(_np(got), ref)
    got32 = ops.roi_pool(ember.tensor(x, dtype=ember.float32), ember.tensor(rois, dtype=ember.float32), out, scale)
    assert got32.dtype == ember.float32
    np.testing.assert_allclose(_np(got32), ref, rtol=1e-6)


def test_roi_pool_hand_computed_values_and_module():
    x = ember.arange(16.0).view(1, 1, 4, 4)

    def one(box, out=1):
        return _np(ops.roi_pool(x, ember.tensor([[0.0, *box]]), out))[0, 0]

    np.testing.assert_array_equal(one((0, 0, 3, 3), 2), [[5, 7], [13, 15]])
    assert one((1, 1, 2, 2)) == 10
    np.testing.assert_array_equal(one((1.4, 1.4, 1.4, 1.4), 2), [[5, 5], [5, 5]])  # one pixel, every bin
    assert one((2.5, 2.5, 2.5, 2.5)) == 15  # C's round: 2.5 -> 3 (NumPy's round would give 2)
    assert one((-0.5, -0.5, -0.5, -0.5)) == 0  # -0.5 -> -1: the window lies outside the map
    assert one((-0.4, -0.4, -0.4, -0.4)) == 0  # -0.4 -> 0: pixel (0, 0), whose value is 0
    neg = ops.roi_pool(-x - 1, ember.tensor([[0.0, 0, 0, 1, 1]]), 1)
    assert float(neg) == -1.0
    m = ops.RoIPool((2, 2), 0.5)
    assert repr(m) == repr(tv.ops.RoIPool((2, 2), 0.5))
    np.testing.assert_array_equal(_np(m(x, [ember.tensor([[0.0, 0, 6, 6]])])), [[[[5, 7], [13, 15]]]])


def test_roi_pool_gradient_goes_to_the_first_maximum():
    x, rois = _random_case(9, n=1, c=2, h=5, w=5, k=5)
    xe = ember.tensor(x, requires_grad=True)
    re = ember.tensor(rois)
    assert ember.autograd.gradcheck(lambda t: ops.roi_pool(t, re, (2, 3)), (xe,), eps=1e-6, atol=1e-7)
    # ties: every value equal, so each bin's gradient goes to its first pixel in row-major order
    flat = np.zeros((1, 2, 5, 5))
    flat[0, 1, 2:, :] = 3.0
    rois = np.array([[0, 0, 0, 4, 4], [0, 1, 1, 3, 4], [0, 0, 0, 0.4, 0.4]])
    for values in (flat, np.round(np.random.default_rng(10).uniform(0, 2, size=(1, 2, 5, 5)))):
        xe = ember.tensor(values, requires_grad=True)
        out = ops.roi_pool(xe, ember.tensor(rois), (2, 2))
        wgt = np.arange(1.0, out.numel() + 1).reshape(tuple(out.shape))
        (out * ember.tensor(wgt)).sum().backward()
        ref, arg = _pool_ref(values, rois, (2, 2))
        np.testing.assert_array_equal(_np(out), ref)
        expected = np.zeros(values.size)
        np.add.at(expected, arg.ravel()[arg.ravel() >= 0], wgt.ravel()[arg.ravel() >= 0])
        np.testing.assert_array_equal(_np(xe.grad).ravel(), expected)


# ---- position-sensitive ops ------------------------------------------------------------------

@pytest.mark.parametrize("sr", [-1, 2])
@pytest.mark.parametrize("out,scale", [((2, 2), 1.0), ((3, 2), 0.5)])
def test_ps_roi_align_matches_reference(sr, out, scale):
    rng_c = out[0] * out[1] * 2
    x, rois = _random_case(11 + sr, c=rng_c, spread=1.0 / scale)
    rois[0, 1:] = [3.0, 1.0, 2.5, 4.0]  # reversed in x: a negative adaptive grid, no samples
    got = ops.ps_roi_align(ember.tensor(x), ember.tensor(rois), out, spatial_scale=scale, sampling_ratio=sr)
    assert tuple(got.shape) == (len(rois), 2, *out)
    np.testing.assert_allclose(_np(got), _align_ref(x, rois, out, scale, sr, ps=True), rtol=1e-12, atol=1e-12,
                               equal_nan=True)
    if out == (2, 2):  # a finite-difference check on one output channel
        xe = ember.tensor(x[:1, :4, :5, :5], requires_grad=True)
        re = ember.tensor(np.array([[0, 0.5, 0.3, 4.0, 3.2], [0, 1.0, 2.0, 2.5, 4.4]]))
        assert ember.autograd.gradcheck(lambda t: ops.ps_roi_align(t, re, out, 1.0, sr), (xe,), eps=1e-6, atol=1e-7)


def test_ps_roi_align_hand_computed_and_empty_grid():
    # channel c constant c: each bin reads its own channel
    x = ember.arange(8.0, dtype=ember.float64).view(1, 8, 1, 1).expand(1, 8, 3, 3)
    got = ops.ps_roi_align(x, ember.tensor([[0.0, 0.0, 0.0, 3.0, 3.0]], dtype=ember.float64), 2, sampling_ratio=2)
    np.testing.assert_array_equal(_np(got), [[[[0, 1], [2, 3]], [[4, 5], [6, 7]]]])
    # a zero-size box with an adaptive grid has 0 samples, and torchvision divides by that 0
    nan = ops.ps_roi_align(x, ember.tensor([[0.0, 1.0, 1.0, 1.0, 1.0]], dtype=ember.float64), 2)
    assert np.isnan(_np(nan)).all()
    m = ops.PSRoIAlign(2, 0.5, 2)
    assert repr(m) == repr(tv.ops.PSRoIAlign(2, 0.5, 2))


@pytest.mark.parametrize("out,scale", [((2, 2), 1.0), ((3, 2), 0.5), ((2, 3), 2.0)])
def test_ps_roi_pool_matches_reference(out, scale):
    x, rois = _random_case(13 + out[1], c=out[0] * out[1] * 2, spread=1.0 / scale)
    rois[0, 1:] = [2.0, 2.0, 1.0, 1.0]
    got = ops.ps_roi_pool(ember.tensor(x), ember.tensor(rois), out, spatial_scale=scale)
    ref, _ = _pool_ref(x, rois, out, scale, ps=True)
    np.testing.assert_allclose(_np(got), ref, rtol=1e-12, atol=1e-12)
    if out == (2, 2):  # a finite-difference check on one output channel
        xe = ember.tensor(x[:1, :4, :6, :6], requires_grad=True)
        re = ember.tensor(np.array([[0, 0.2, 0.7, 4.0, 3.2], [0, 1.0, 2.0, 3.6, 5.4]]))
        assert ember.autograd.gradcheck(lambda t: ops.ps_roi_pool(t, re, out, 1.0), (xe,), eps=1e-6, atol=1e-7)


def test_ps_roi_pool_hand_computed_values():
    # x[c, r, s] = 100 c + 4 r + s
    x = (ember.arange(4.0).view(1, 4, 1, 1) * 100 + ember.arange(16.0).view(1, 1, 4, 4)).contiguous()
    got = ops.ps_roi_pool(x, ember.tensor([[0.0, 0, 0, 2, 2]]), 2)
    np.testing.assert_array_equal(_np(got), [[[[0, 101], [204, 305]]]])
    # bins are clipped to size - 1, so the last row and column are never read
    got = ops.ps_roi_pool(x, ember.tensor([[0.0, 2, 2, 4, 4]]), 2)
    np.testing.assert_array_equal(_np(got), [[[[10, 0], [0, 0]]]])
    assert repr(ops.PSRoIPool(2, 0.5)) == repr(tv.ops.PSRoIPool(2, 0.5))


def test_roi_errors():
    x = ember.zeros(1, 4, 3, 3)
    with pytest.raises(AssertionError, match=r"not correct as Tensor\[K, 5\]"):
        ops.roi_align(x, ember.zeros(2, 4), 2)
    with pytest.raises(AssertionError, match=r"not correct as List\[Tensor\[L, 4\]\]"):
        ops.roi_pool(x, [ember.zeros(2, 5)], 2)
    with pytest.raises(AssertionError, match="boxes is expected to be"):
        ops.roi_align(x, np.zeros((2, 5)), 2)
    with pytest.raises(RuntimeError, match="input should have the same type as rois"):
        ops.roi_align(x, ember.zeros(1, 5, dtype=ember.float64), 2)
    with pytest.raises(RuntimeError, match="input and rois must have the same dtype"):
        ops.roi_pool(x, ember.zeros(1, 5, dtype=ember.float64), 2)
    for fn in (ops.ps_roi_align, ops.ps_roi_pool):
        with pytest.raises(RuntimeError, match="input channels must be a multiple of pooling height"):
            fn(x, ember.zeros(1, 5), 3)


# ---- every device ----------------------------------------------------------------------------

def test_roi_ops_on_device(device):
    x, rois = _random_case(15, c=8, k=5)
    x32, r32 = x.astype(np.float32), rois.astype(np.float32)
    calls = [
        (ops.roi_align, dict(output_size=(2, 2), sampling_ratio=-1, aligned=True), _align_ref(x, rois, (2, 2), 1.0,
                                                                                               -1, True)),
        (ops.roi_pool, dict(output_size=(2, 2)), _pool_ref(x, rois, (2, 2))[0]),
        (ops.ps_roi_align, dict(output_size=2, sampling_ratio=2), _align_ref(x, rois, (2, 2), 1.0, 2, ps=True)),
        (ops.ps_roi_pool, dict(output_size=2), _pool_ref(x, rois, (2, 2), ps=True)[0]),
    ]
    for fn, kw, ref in calls:
        xe = ember.tensor(x32, device=device, requires_grad=True)
        out = fn(xe, ember.tensor(r32, device=device), **kw)
        assert out.device.type == device
        np.testing.assert_allclose(_np(out), ref, rtol=1e-4, atol=1e-5)
        out.sum().backward()
        xc = ember.tensor(x32, requires_grad=True)
        fn(xc, ember.tensor(r32), **kw).sum().backward()
        np.testing.assert_allclose(_np(xe.grad), _np(xc.grad), rtol=1e-5, atol=1e-5)
    # deform_conv2d: input and offset gradients too
    rng = np.random.default_rng(19)
    args = [rng.standard_normal((1, 2, 5, 5)), rng.uniform(-1.5, 1.5, (1, 18, 3, 3)), rng.standard_normal((3, 2, 3, 3))]
    outs, grads = [], []
    for dev in (device, "cpu"):
        ts = [ember.tensor(a.astype(np.float32), device=dev, requires_grad=True) for a in args]
        out = ops.deform_conv2d(*ts)
        out.sum().backward()
        outs.append(_np(out))
        grads.append([_np(t.grad) for t in ts])
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-5)
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


# ---- MultiScaleRoIAlign ----------------------------------------------------------------------

def _torch_roi_align_reference(input, boxes, output_size, spatial_scale=1.0, sampling_ratio=-1, aligned=False):
    out = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    ref = _align_ref(input.detach().double().numpy(), boxes.detach().double().numpy(), tuple(out), spatial_scale,
                     sampling_ratio, aligned)
    return torch.tensor(ref, dtype=input.dtype)


@pytest.mark.parametrize("names,sizes", [(["p2", "p3", "p4"], None), (["p3"], None), (["p2", "p4"], (1, 3))])
def test_multiscale_roi_align_matches_torchvision(monkeypatch, names, sizes):
    poolers = pytest.importorskip("torchvision.ops.poolers")
    monkeypatch.setattr(poolers, "roi_align", _torch_roi_align_reference)
    rng = np.random.default_rng(16)
    feats = OrderedDict((f"p{i}", rng.standard_normal((2, 3, 64 // 2**i, 48 // 2**i))) for i in range(2, 5))
    boxes = [np.array([[0, 0, 20, 16], [10, 4, 60, 40], [1, 1, 250, 180], [5, 5, 8, 9]], dtype=np.float64),
             np.array([[30, 20, 140, 120], [0, 0, 3, 3]], dtype=np.float64)]
    image_shapes = [(256, 192), (250, 180)]
    kwargs = dict(canonical_scale=112, canonical_level=3) if sizes else {}
    t = tv.ops.MultiScaleRoIAlign(names, 2, 2, **kwargs)
    e = ops.MultiScaleRoIAlign(names, 2, 2, **kwargs)
    assert repr(e) == repr(t)
    to = t(OrderedDict((k, torch.tensor(v)) for k, v in feats.items()), [torch.tensor(b) for b in boxes],
           image_shapes)
    xe = OrderedDict((k, ember.tensor(v, requires_grad=True)) for k, v in feats.items())
    eo = e(xe, [ember.tensor(b) for b in boxes], image_shapes)
    assert e.scales == t.scales
    assert (e.map_levels.k_min, e.map_levels.k_max) == (t.map_levels.k_min, t.map_levels.k_max)
    np.testing.assert_allclose(_np(eo), to.numpy(), rtol=1e-12, atol=1e-12)
    eo.sum().backward()
    assert any(np.abs(_np(v.grad)).sum() > 0 for k, v in xe.items() if k in names)


# ---- deform_conv2d ---------------------------------------------------------------------------

def _deform_bilinear(img: np.ndarray, y: float, x: float) -> float:
    """The deformable-conv sample: 0 unless -1 < y < H and -1 < x < W; corners outside read 0."""
    h, w = img.shape
    if y <= -1 or y >= h or x <= -1 or x >= w:
        return 0.0
    y0, x0 = math.floor(y), math.floor(x)
    ly, lx = y - y0, x - x0
    total = 0.0
    for yy, xx, wt in ((y0, x0, (1 - ly) * (1 - lx)), (y0, x0 + 1, (1 - ly) * lx), (y0 + 1, x0, ly * (1 - lx)),
                       (y0 + 1, x0 + 1, ly * lx)):
        if 0 <= yy < h and 0 <= xx < w:
            total += wt * img[yy, xx]
    return total


def _deform_ref(x, off, weight, bias, stride, pad, dil, mask):
    """Deformable convolution as documented: tap (i, j) of output (oy, ox) samples channel c at
    (oy * s - p + i * d + dy, ox * s - p + j * d + dx), dy/dx from c's offset group, times the mask."""
    b_n, c_in, h, w = x.shape
    c_out, cpw, kh, kw = weight.shape
    groups = c_in // cpw
    oh = (h + 2 * pad[0] - (dil[0] * (kh - 1) + 1)) // stride[0] + 1
    ow = (w + 2 * pad[1] - (dil[1] * (kw - 1) + 1)) // stride[1] + 1
    n_off = off.shape[1] // (2 * kh * kw)
    out = np.zeros((b_n, c_out, oh, ow))
    for b in range(b_n):
        cols = np.zeros((c_in, kh, kw, oh, ow))
        for c in range(c_in):
            g = c // (c_in // n_off)
            for i in range(kh):
                for j in range(kw):
                    t = i * kw + j
                    for oy in range(oh):
                        for ox in range(ow):
                            yy = oy * stride[0] - pad[0] + i * dil[0] + off[b, g * 2 * kh * kw + 2 * t, oy, ox]
                            xx = ox * stride[1] - pad[1] + j * dil[1] + off[b, g * 2 * kh * kw + 2 * t + 1, oy, ox]
                            m = 1.0 if mask is None else mask[b, g * kh * kw + t, oy, ox]
                            cols[c, i, j, oy, ox] = m * _deform_bilinear(x[b, c], yy, xx)
        for o in range(c_out):
            gi = o // (c_out // groups)
            chunk = cols[gi * cpw:(gi + 1) * cpw]
            out[b, o] = np.einsum("cij,cijyx->yx", weight[o], chunk) + (0 if bias is None else bias[o])
    return out


@pytest.mark.parametrize("stride,pad,dil,groups,offset_groups,use_mask", [
    (1, 0, 1, 1, 1, False), (1, 1, 1, 2, 2, True), (2, 1, 2, 1, 2, True), ((1, 2), (0, 1), (2, 1), 2, 1, False)])
def test_deform_conv2d_matches_reference(stride, pad, dil, groups, offset_groups, use_mask):
    rng = np.random.default_rng(17)
    s, p, d = (v if isinstance(v, tuple) else (v, v) for v in (stride, pad, dil))
    b, c_in, h, w, c_out, k = 2, 4, 6, 7, 4, 3
    oh = (h + 2 * p[0] - (d[0] * (k - 1) + 1)) // s[0] + 1
    ow = (w + 2 * p[1] - (d[1] * (k - 1) + 1)) // s[1] + 1
    x = rng.standard_normal((b, c_in, h, w))
    off = rng.uniform(-2.5, 2.5, size=(b, 2 * offset_groups * k * k, oh, ow))
    weight = rng.standard_normal((c_out, c_in // groups, k, k))
    bias = rng.standard_normal(c_out)
    mask = rng.uniform(size=(b, offset_groups * k * k, oh, ow)) if use_mask else None
    got = ops.deform_conv2d(ember.tensor(x), ember.tensor(off), ember.tensor(weight), ember.tensor(bias), stride=stride,
                            padding=pad, dilation=dil, mask=None if mask is None else ember.tensor(mask))
    np.testing.assert_allclose(_np(got), _deform_ref(x, off, weight, bias, s, p, d, mask), rtol=1e-10, atol=1e-10)
    # zero offsets: an ordinary (grouped, strided, dilated) convolution
    plain = ops.deform_conv2d(ember.tensor(x), ember.zeros(b, 2 * offset_groups * k * k, oh, ow, dtype=ember.float64),
                              ember.tensor(weight), None, stride, pad, dil)
    ref = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(weight), None, s, p, d, groups)
    np.testing.assert_allclose(_np(plain), ref.numpy(), rtol=1e-10, atol=1e-10)


def test_deform_conv2d_gradients_module_and_errors():
    rng = np.random.default_rng(18)
    x = ember.tensor(rng.standard_normal((1, 2, 4, 4)), requires_grad=True)
    off = ember.tensor(rng.uniform(-1.7, 1.7, size=(1, 2 * 2 * 4, 3, 3)), requires_grad=True)
    mask = ember.tensor(rng.uniform(size=(1, 2 * 4, 3, 3)), requires_grad=True)
    weight = ember.tensor(rng.standard_normal((2, 2, 2, 2)), requires_grad=True)
    bias = ember.tensor(rng.standard_normal(2), requires_grad=True)
    assert ember.autograd.gradcheck(lambda *a: ops.deform_conv2d(a[0], a[1], a[3], a[4], mask=a[2]),
                                    (x, off, mask, weight, bias), eps=1e-6, atol=1e-6)
    m = ops.DeformConv2d(4, 8, kernel_size=3, padding=1, groups=2)
    assert repr(m) == repr(tv.ops.DeformConv2d(4, 8, kernel_size=3, padding=1, groups=2))
    assert repr(ops.DeformConv2d(2, 2, 1, bias=False, dilation=2)) == repr(tv.ops.DeformConv2d(2, 2, 1, bias=False,
                                                                                              dilation=2))
    assert tuple(m.weight.shape) == (8, 2, 3, 3) and tuple(m.bias.shape) == (8,)
    bound = 1 / math.sqrt(2 * 9)  # kaiming_uniform(a=sqrt(5)) and the bias bound of nn.Conv2d
    assert np.abs(_np(m.weight)).max() <= bound and np.abs(_np(m.bias)).max() <= bound
    out = m(ember.ones(1, 4, 5, 5), ember.zeros(1, 18, 5, 5))
    assert tuple(out.shape) == (1, 8, 5, 5)
    with pytest.raises(RuntimeError, match="the shape of the offset tensor at dimension 1 is not valid"):
        ops.deform_conv2d(ember.ones(1, 4, 5, 5), ember.zeros(1, 4, 3, 3), ember.ones(2, 4, 3, 3))
    for c_in, c_out in ((3, 4), (4, 3)):
        with pytest.raises(ValueError) as ee:
            ops.DeformConv2d(c_in, c_out, 3, groups=2)
        with pytest.raises(ValueError) as te:
            tv.ops.DeformConv2d(c_in, c_out, 3, groups=2)
        assert str(ee.value) == str(te.value)
