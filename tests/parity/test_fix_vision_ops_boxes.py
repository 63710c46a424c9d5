"""ember.vision.ops' box utilities, losses, DropBlock, FPN and level mapper against torchvision 0.28.

torchvision's Python functions are the reference (box_area/iou variants, box_convert, clipping, the
box losses and focal loss, drop_block with its random draw made the same on both sides, the FPN with
its extra blocks, LevelMapper): same inputs, values and dtypes compared, and one backward's gradients.
``nms`` is compiled C++ in torchvision (not loadable here), so it is compared with a NumPy transcription
of its documented greedy rule, and ``batched_nms`` with per-category NMS built on that reference.
"""

from __future__ import annotations

from collections import OrderedDict

import ember
import numpy as np
import pytest
from ember.vision import ops
from reference_torchvision import import_torchvision

torch = pytest.importorskip("torch")
tv = import_torchvision()
tvops = tv.ops


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def _pair(data, dtype="float64", grad=False):
    """The same values as a torch tensor and as an ember tensor."""
    a = np.asarray(data, dtype=dtype)
    t = torch.tensor(a, requires_grad=grad)
    e = ember.tensor(a, requires_grad=grad)
    return t, e


def _same(e, t, rtol=1e-12, atol=1e-12) -> None:
    assert str(e.dtype).replace("ember.", "") == str(t.dtype).replace("torch.", "")
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(_np(e), _np(t), rtol=rtol, atol=atol, equal_nan=True)


def _random_boxes(rng, n, lead=(), scale=20.0) -> np.ndarray:
    xy = rng.uniform(0, scale, size=(*lead, n, 2))
    wh = rng.uniform(0.5, scale / 2, size=(*lead, n, 2))
    return np.concatenate([xy, xy + wh], axis=-1)


# ---- box_area / box_iou family / box_convert -------------------------------------------------

@pytest.mark.parametrize("fmt", ["xyxy", "xywh", "cxcywh"])
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int64", "int16"])
def test_box_area_and_iou_match_torchvision(fmt, dtype):
    rng = np.random.default_rng(0)
    b1 = _random_boxes(rng, 5)
    b2 = _random_boxes(rng, 4)
    if dtype.startswith("int"):
        b1, b2 = np.round(b1), np.round(b2)
    t1, e1 = _pair(b1, dtype)
    t2, e2 = _pair(b2, dtype)
    tol = {"float16": 1e-3, "float32": 1e-6}.get(dtype, 1e-12)
    _same(ops.box_area(e1, fmt=fmt), tvops.box_area(t1, fmt=fmt), rtol=tol, atol=tol)
    _same(ops.box_iou(e1, e2, fmt=fmt), tvops.box_iou(t1, t2, fmt=fmt), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["box_iou", "generalized_box_iou", "distance_box_iou", "complete_box_iou"])
def test_pairwise_ious_values_batched_and_gradients(name):
    rng = np.random.default_rng(1)
    b1 = _random_boxes(rng, 4, lead=(2,))
    b2 = _random_boxes(rng, 3, lead=(2,))
    b2[0, 0] = b1[0, 0]  # an identical pair, and disjoint ones below
    b2[1, 1] = b1[1, 1] + 100
    t1, e1 = _pair(b1, grad=True)
    t2, e2 = _pair(b2, grad=True)
    te = getattr(tvops, name)(t1, t2)
    ee = getattr(ops, name)(e1, e2)
    _same(ee, te)
    w = np.random.default_rng(2).standard_normal(te.shape)
    (te * torch.tensor(w)).sum().backward()
    (ee * ember.tensor(w)).sum().backward()
    np.testing.assert_allclose(_np(e1.grad), _np(t1.grad), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_np(e2.grad), _np(t2.grad), rtol=1e-10, atol=1e-12)
    # float32 too
    t1f, e1f = _pair(b1[0], "float32")
    t2f, e2f = _pair(b2[0], "float32")
    _same(getattr(ops, name)(e1f, e2f), getattr(tvops, name)(t1f, t2f), rtol=1e-5, atol=1e-6)


def test_iou_known_values():
    a = ember.tensor([[0.0, 0.0, 2.0, 2.0]])
    b = ember.tensor([[1.0, 0.0, 3.0, 2.0], [4.0, 0.0, 5.0, 2.0], [0.0, 0.0, 2.0, 2.0]])
    np.testing.assert_allclose(_np(ops.box_iou(a, b)), [[1 / 3, 0.0, 1.0]], rtol=1e-6)
    # GIoU of disjoint boxes: 0 - (enclosing 10 - union 6) / 10
    np.testing.assert_allclose(_np(ops.generalized_box_iou(a, b))[0, 1], -0.4, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
def test_box_convert_all_pairs(dtype):
    rng = np.random.default_rng(3)
    boxes = np.round(_random_boxes(rng, 6, lead=(2,))) if dtype == "int64" else _random_boxes(rng, 6, lead=(2,))
    t, e = _pair(boxes, dtype)
    fmts = ["xyxy", "xywh", "cxcywh"]
    for a in fmts:
        for b in fmts:
            _same(ops.box_convert(e, a, b), tvops.box_convert(t, a, b), rtol=1e-6, atol=1e-5)
    rot = np.concatenate([boxes[..., :4], rng.uniform(-90, 90, size=(2, 6, 1))], axis=-1)
    if dtype == "int64":
        rot = np.round(rot)
    t, e = _pair(rot, dtype)
    for a, b in [("xywhr", "cxcywhr"), ("cxcywhr", "xywhr"), ("xywhr", "xyxyxyxy"), ("cxcywhr", "xyxyxyxy")]:
        te, ee = tvops.box_convert(t, a, b), ops.box_convert(e, a, b)
        _same(ee, te, rtol=1e-5, atol=1e-4 if dtype == "float32" else 1e-9)
        _same(ops.box_convert(ee, b, a), tvops.box_convert(te, b, a), rtol=1e-5, atol=1e-3)


def test_box_convert_errors_and_clone():
    e = ember.tensor([[0.0, 0.0, 1.0, 1.0]])
    out = ops.box_convert(e, "xyxy", "xyxy")
    assert out is not e and out.tolist() == e.tolist()
    for args in [("xyxy", "bad"), ("foo", "xyxy")]:
        with pytest.raises(ValueError) as te:
            tvops.box_convert(torch.tensor([[0.0, 0.0, 1.0, 1.0]]), *args)
        with pytest.raises(ValueError) as ee:
            ops.box_convert(e, *args)
        assert str(ee.value) == str(te.value)
    with pytest.raises(ValueError, match="Unsupported Bounding Box area"):
        ops.box_area(e, fmt="xywhr")


def test_clip_remove_small_and_masks_to_boxes():
    rng = np.random.default_rng(4)
    boxes = rng.uniform(-5, 25, size=(3, 5, 4))
    t, e = _pair(boxes)
    _same(ops.clip_boxes_to_image(e, (10, 15)), tvops.clip_boxes_to_image(t, (10, 15)))
    t2, e2 = _pair(boxes[0], "float32")
    _same(ops.remove_small_boxes(e2, 3.0), tvops.remove_small_boxes(t2, 3.0))
    masks = (rng.uniform(size=(4, 6, 7)) > 0.8).astype(np.float32)
    masks[1] = 0  # an empty mask gives zeros
    masks[2] = 0
    masks[2, 3, 4] = 1  # a single pixel
    tm, em = _pair(masks, "float32")
    _same(ops.masks_to_boxes(em), tvops.masks_to_boxes(tm))
    _same(ops.masks_to_boxes(ember.zeros(0, 3, 3)), tvops.masks_to_boxes(torch.zeros(0, 3, 3)))


# ---- nms / batched_nms against a NumPy reference ---------------------------------------------

def _nms_reference(boxes: np.ndarray, scores: np.ndarray, thr: float) -> list[int]:
    """torchvision's documented rule: visit boxes by decreasing score (ties: lower index first) and
    keep each one that no kept box overlaps with IoU > thr; IoUs in the boxes' dtype."""
    order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))
    keep: list[int] = []
    t = boxes.dtype.type
    for i in order:
        ok = True
        for j in keep:
            w = max(t(0), min(boxes[i, 2], boxes[j, 2]) - max(boxes[i, 0], boxes[j, 0]))
            h = max(t(0), min(boxes[i, 3], boxes[j, 3]) - max(boxes[i, 1], boxes[j, 1]))
            inter = w * h
            area_i = (boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1])
            area_j = (boxes[j, 2] - boxes[j, 0]) * (boxes[j, 3] - boxes[j, 1])
            if float(inter / (area_j + area_i - inter)) > thr:
                ok = False
                break
        if ok:
            keep.append(i)
    return keep


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("thr", [0.0, 0.3, 0.5, 0.9])
def test_nms_matches_reference(dtype, thr, device):
    rng = np.random.default_rng(5)
    boxes = _random_boxes(rng, 60, scale=30.0).astype(dtype)
    scores = rng.uniform(size=60).astype(dtype)
    keep = ops.nms(ember.tensor(boxes, device=device), ember.tensor(scores, device=device), thr)
    assert keep.dtype == ember.int64 and keep.device.type == device
    assert keep.tolist() == _nms_reference(boxes, scores, thr)
    kept_scores = scores[keep.tolist()]
    assert np.all(np.diff(kept_scores) <= 0)  # decreasing scores


def test_nms_ties_threshold_edges_and_empty():
    # equal scores: index order; IoU exactly at the threshold is kept (the rule is IoU > threshold)
    boxes = np.array([[0, 0, 2, 2], [1, 0, 3, 2], [0, 0, 2, 2], [10, 10, 11, 11]], dtype=np.float32)
    scores = np.array([0.5, 0.5, 0.5, 0.5], dtype=np.float32)
    for thr in (1 / 3, 0.3, 0.34, 1.0, 0.1):
        keep = ops.nms(ember.tensor(boxes), ember.tensor(scores), thr).tolist()
        assert keep == _nms_reference(boxes, scores, thr), thr
    # a float32 IoU equal to float32(0.1) stays below the double threshold 0.1 only by widening: the
    # kernel compares in double (0.1f > 0.1), so the box is suppressed
    iou_box = np.array([[0, 0, 10, 1], [0, 0, 1, 1]], dtype=np.float32)  # IoU = 1/10
    keep = ops.nms(ember.tensor(iou_box), ember.tensor([0.9, 0.8]), 0.1).tolist()
    assert keep == ([0] if float(np.float32(1) / np.float32(10)) > 0.1 else [0, 1])
    empty = ops.nms(ember.zeros(0, 4), ember.zeros(0), 0.5)
    assert empty.dtype == ember.int64 and tuple(empty.shape) == (0,)


def test_nms_errors():
    with pytest.raises(RuntimeError, match="boxes should be a 2d tensor, got 1D"):
        ops.nms(ember.zeros(4), ember.zeros(1), 0.5)
    with pytest.raises(RuntimeError, match="boxes should have 4 elements in dimension 1, got 5"):
        ops.nms(ember.zeros(2, 5), ember.zeros(2), 0.5)
    with pytest.raises(RuntimeError, match="scores should be a 1d tensor, got 2D"):
        ops.nms(ember.zeros(2, 4), ember.zeros(2, 1), 0.5)
    with pytest.raises(RuntimeError, match="same number of elements in dimension 0, got 2 and 3"):
        ops.nms(ember.zeros(2, 4), ember.zeros(3), 0.5)


def _batched_reference(boxes, scores, idxs, thr) -> list[int]:
    kept = []
    for c in np.unique(idxs):
        members = np.flatnonzero(idxs == c)
        kept += [int(members[k]) for k in _nms_reference(boxes[members], scores[members], thr)]
    return sorted(kept, key=lambda i: (-float(scores[i]), i))


@pytest.mark.parametrize("n", [40, 1200])  # 1200 boxes (4800 values) take the per-category path
def test_batched_nms_both_strategies(n):
    rng = np.random.default_rng(6)
    boxes = _random_boxes(rng, n, scale=40.0).astype(np.float32)
    scores = rng.uniform(size=n).astype(np.float32)
    idxs = rng.integers(0, 4, size=n)
    expected = _batched_reference(boxes, scores, idxs, 0.5) if n <= 40 else None
    eb, es, ei = ember.tensor(boxes), ember.tensor(scores), ember.tensor(idxs)
    got = ops.batched_nms(eb, es, ei, 0.5).tolist()
    trick = ops.boxes._batched_nms_coordinate_trick(eb, es, ei, 0.5).tolist()
    vanilla = ops.boxes._batched_nms_vanilla(eb, es, ei, 0.5).tolist()
    assert got == trick == vanilla
    if expected is not None:
        assert got == expected
    assert ops.batched_nms(ember.zeros(0, 4), ember.zeros(0), ember.zeros(0, dtype=ember.int64), 0.5).tolist() == []


# ---- losses ----------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("alpha,gamma", [(0.25, 2), (-1, 0), (0.5, 1.5)])
def test_sigmoid_focal_loss(reduction, alpha, gamma):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 5)) * 3
    y = (rng.uniform(size=(3, 5)) > 0.5).astype(np.float64)
    tx, ex = _pair(x, grad=True)
    ty, ey = _pair(y)
    tl = tvops.sigmoid_focal_loss(tx, ty, alpha=alpha, gamma=gamma, reduction=reduction)
    el = ops.sigmoid_focal_loss(ex, ey, alpha=alpha, gamma=gamma, reduction=reduction)
    _same(el, tl)
    tl.sum().backward()
    el.sum().backward()
    np.testing.assert_allclose(_np(ex.grad), _np(tx.grad), rtol=1e-10, atol=1e-14)


def test_focal_loss_errors():
    for kw in [dict(alpha=2.0), dict(reduction="avg")]:
        with pytest.raises(ValueError) as te:
            tvops.sigmoid_focal_loss(torch.zeros(2), torch.zeros(2), **kw)
        with pytest.raises(ValueError) as ee:
            ops.sigmoid_focal_loss(ember.zeros(2), ember.zeros(2), **kw)
        assert str(ee.value) == str(te.value)


@pytest.mark.parametrize("name", ["generalized_box_iou_loss", "distance_box_iou_loss", "complete_box_iou_loss"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_box_losses(name, reduction):
    rng = np.random.default_rng(8)
    b1 = _random_boxes(rng, 6)
    b2 = _random_boxes(rng, 6)
    b2[0] = b1[0]
    b2[1] = b1[1] + 50  # disjoint
    t1, e1 = _pair(b1, grad=True)
    t2, e2 = _pair(b2, grad=True)
    tl = getattr(tvops, name)(t1, t2, reduction=reduction)
    el = getattr(ops, name)(e1, e2, reduction=reduction)
    _same(el, tl)
    tl.sum().backward()
    el.sum().backward()
    np.testing.assert_allclose(_np(e1.grad), _np(t1.grad), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(_np(e2.grad), _np(t2.grad), rtol=1e-9, atol=1e-12)
    # a single box pair, integer boxes (computed in float32), and an empty batch
    t1, e1 = _pair(b1[2], "float32")
    _same(getattr(ops, name)(e1, e1 + 1), getattr(tvops, name)(t1, t1 + 1), rtol=1e-5, atol=1e-6)
    ti, ei = _pair(np.round(b1), "int64")
    _same(getattr(ops, name)(ei, ei + 1, reduction=reduction), getattr(tvops, name)(ti, ti + 1, reduction=reduction),
          rtol=1e-5, atol=1e-6)
    te, ee = _pair(np.zeros((0, 4)))
    _same(getattr(ops, name)(ee, ee, reduction=reduction), getattr(tvops, name)(te, te, reduction=reduction))
    with pytest.raises(ValueError, match="Invalid Value for arg 'reduction'"):
        getattr(ops, name)(ee, ee, reduction="bad")


# ---- drop_block ------------------------------------------------------------------------------

def _fixed_bernoulli(draws: list):
    """A bernoulli_ that records p and fills the tensor with a fixed 0/1 pattern (the same on both sides)."""
    def fill(self, p=0.5, *args, **kwargs):
        draws.append(p)
        n = self.numel()
        pattern = (np.arange(n) * 7919 % 11 == 0).astype(np.float64).reshape(tuple(self.shape))
        with (torch.no_grad() if isinstance(self, torch.Tensor) else ember.no_grad()):
            self.copy_((torch if isinstance(self, torch.Tensor) else ember).tensor(pattern, dtype=self.dtype))
        return self
    return fill


@pytest.mark.parametrize("dims,block", [(2, 3), (2, 5), (2, 4), (3, 3)])
def test_drop_block_matches_torchvision_with_the_same_draw(monkeypatch, dims, block):
    shape = (2, 3, 7, 9) if dims == 2 else (1, 2, 5, 6, 7)
    x = np.random.default_rng(9).standard_normal(shape)
    tfn = getattr(tvops, f"drop_block{dims}d")
    efn = getattr(ops, f"drop_block{dims}d")
    t_draws, e_draws = [], []
    monkeypatch.setattr(torch.Tensor, "bernoulli_", _fixed_bernoulli(t_draws))
    monkeypatch.setattr(ember.Tensor, "bernoulli_", _fixed_bernoulli(e_draws))
    tx, ex = _pair(x, grad=True)
    if block % 2 == 0:
        with pytest.raises(ValueError) as te:
            tfn(tx, 0.3, block)
        with pytest.raises(ValueError) as ee:
            efn(ex, 0.3, block)
        assert str(ee.value) == str(te.value)
        return
    to, eo = tfn(tx, 0.3, block), efn(ex, 0.3, block)
    _same(eo, to)
    assert e_draws == pytest.approx(t_draws, rel=1e-15)  # the same gamma
    to.sum().backward()
    eo.sum().backward()
    np.testing.assert_allclose(_np(ex.grad), _np(tx.grad), rtol=1e-12)
    # modules, eval mode and p=0 are identities, inplace writes the input
    m = getattr(ops, f"DropBlock{dims}d")(0.3, block)
    assert repr(m) == repr(getattr(tvops, f"DropBlock{dims}d")(0.3, block))
    m.eval()
    e = ember.tensor(x)
    assert m(e) is e
    assert efn(e, 0.0, block) is e
    e2 = ember.tensor(x)
    out = efn(e2, 0.3, block, inplace=True)
    assert out is e2
    np.testing.assert_allclose(_np(e2), _np(to), rtol=1e-12)


def test_drop_block_errors():
    for fn, tfn, bad_shape in [(ops.drop_block2d, tvops.drop_block2d, (2, 3)), (ops.drop_block3d, tvops.drop_block3d,
                                                                              (1, 2, 3, 3))]:
        for args in [(ember.zeros(1, 1, 3, 3, 3), 1.5, 3), (ember.zeros(*bad_shape), 0.1, 3)]:
            with pytest.raises(ValueError) as ee:
                fn(*args)
            with pytest.raises(ValueError) as te:
                tfn(torch.zeros(tuple(args[0].shape)), *args[1:])
            assert str(ee.value) == str(te.value)


def test_drop_block_statistics():
    # p = 0.2 with 3x3 blocks: about a fifth of the elements dropped, whole blocks at a time
    ember.manual_seed(0)
    y = ops.drop_block2d(ember.ones(8, 8, 16, 16), 0.2, 3)
    kept = _np(y) != 0
    assert 0.7 < kept.mean() < 0.87
    np.testing.assert_allclose(_np(y)[kept], kept.size / kept.sum(), rtol=1e-4)


# ---- FeaturePyramidNetwork -------------------------------------------------------------------

def _copy_weights(t_module, e_module) -> None:
    state = {k: ember.tensor(v.detach().numpy()) for k, v in t_module.state_dict().items()}
    e_module.load_state_dict(state)


@pytest.mark.parametrize("extra", [None, "maxpool", "p6p7", "p6p7_from_c5"])
@pytest.mark.parametrize("norm", [None, "bn"])
def test_fpn_matches_torchvision(extra, norm):
    in_channels, out = [3, 5, 6], 4
    if extra == "p6p7":
        tx, ex = tvops.feature_pyramid_network.LastLevelP6P7(out, out), ops.feature_pyramid_network.LastLevelP6P7(out, out)
    elif extra == "p6p7_from_c5":
        tx, ex = (tvops.feature_pyramid_network.LastLevelP6P7(6, out),
                  ops.feature_pyramid_network.LastLevelP6P7(6, out))
    elif extra == "maxpool":
        tx, ex = tvops.feature_pyramid_network.LastLevelMaxPool(), ops.feature_pyramid_network.LastLevelMaxPool()
    else:
        tx = ex = None
    tn = torch.nn.BatchNorm2d if norm else None
    en = ember.nn.BatchNorm2d if norm else None
    t = tvops.FeaturePyramidNetwork(in_channels, out, extra_blocks=tx, norm_layer=tn).double()
    e = ops.FeaturePyramidNetwork(in_channels, out, extra_blocks=ex, norm_layer=en).double()
    ts, es = t.state_dict(), e.state_dict()
    assert list(es) == list(ts)
    for k, v in ts.items():
        assert tuple(es[k].shape) == tuple(v.shape) and str(es[k].dtype).replace("ember.", "") == str(v.dtype)[6:]
    # kaiming_uniform(a=1) weights (bound sqrt(3 / fan_in)), zero biases
    w = _np(e.inner_blocks[0][0].weight)
    assert np.abs(w).max() <= np.sqrt(3 / 3) and np.abs(w).max() > 0.3
    if norm is None:
        assert not _np(e.layer_blocks[1][0].bias).any()
    _copy_weights(t, e)
    rng = np.random.default_rng(10)
    feats = [rng.standard_normal((2, c, s, s + 1)) for c, s in zip(in_channels, (9, 5, 3))]
    tin = OrderedDict((f"f{i}", torch.tensor(f, requires_grad=True)) for i, f in enumerate(feats))
    ein = OrderedDict((f"f{i}", ember.tensor(f, requires_grad=True)) for i, f in enumerate(feats))
    for mode in ("eval", "train"):
        getattr(t, mode)()
        getattr(e, mode)()
        to, eo = t(tin), e(ein)
        assert list(eo) == list(to)
        for k in to:
            _same(eo[k], to[k], rtol=1e-10, atol=1e-12)
    sum(v.sum() * (i + 1) for i, v in enumerate(to.values())).backward()
    sum(v.sum() * (i + 1) for i, v in enumerate(eo.values())).backward()
    for k in tin:
        np.testing.assert_allclose(_np(ein[k].grad), _np(tin[k].grad), rtol=1e-9, atol=1e-10)
    for (k, tp), (_, ep) in zip(t.named_parameters(), e.named_parameters()):
        np.testing.assert_allclose(_np(ep.grad), _np(tp.grad), rtol=1e-9, atol=1e-10, err_msg=k)


def test_fpn_old_checkpoint_keys_and_errors():
    t = tvops.FeaturePyramidNetwork([2, 3], 4)
    e = ops.FeaturePyramidNetwork([2, 3], 4)
    old = {k.replace(".0.weight", ".weight").replace(".0.bias", ".bias"): ember.tensor(v.numpy())
           for k, v in t.state_dict().items()}
    assert "inner_blocks.0.weight" in old
    # a checkpoint saved at version 1 (plain convs) loads into the version-2 layout
    state = OrderedDict(old)
    state._metadata = OrderedDict({"": {"version": 1}})
    e.load_state_dict(state)
    np.testing.assert_array_equal(_np(e.inner_blocks[1][0].weight), t.inner_blocks[1][0].weight.detach().numpy())
    with pytest.raises(ValueError, match="in_channels=0 is currently not supported"):
        ops.FeaturePyramidNetwork([0, 2], 4)
    with pytest.raises(TypeError, match="extra_blocks should be of type ExtraFPNBlock"):
        ops.FeaturePyramidNetwork([2], 4, extra_blocks=ember.nn.ReLU())


# ---- LevelMapper -------------------------------------------------------------------------------

def test_level_mapper_matches_torchvision():
    from torchvision.ops.poolers import LevelMapper as TLevelMapper

    rng = np.random.default_rng(11)
    boxes = [_random_boxes(rng, 7, scale=600.0), _random_boxes(rng, 3, scale=60.0)]
    boxes[0][0] = [0, 0, 224, 224]  # exactly canonical: level 4
    boxes[0][1] = [0, 0, 112, 112]
    for dtype in ("float32", "float64"):
        for args in [(2, 5), (3, 6, 112, 3)]:
            t = TLevelMapper(*args)([torch.tensor(b.astype(dtype)) for b in boxes])
            e = ops.poolers.LevelMapper(*args)([ember.tensor(b.astype(dtype)) for b in boxes])
            assert e.dtype == ember.int64
            assert e.tolist() == t.tolist()
