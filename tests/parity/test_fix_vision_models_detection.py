"""ember.vision.models.detection against torchvision 0.28's detection models.

torchvision's detectors are Python, but they call its C++ ``nms`` and ``roi_align``, which can't load
here: the tests replace those two where torchvision's modules look them up with NumPy-backed versions
written below from the documented semantics (greedy NMS by decreasing score with IoU > threshold
suppressed; RoI Align as the mean of a grid of bilinear samples per bin, the bilinear weights and
indices computed in NumPy and the weighted sum taken with torch ops so gradients flow). ember's model
runs its own ``ops.nms`` / ``ops.roi_align``. Each model test builds both models with the same
arguments, checks the state_dict (keys in order, shapes, dtypes, module versions), copies
torchvision's tensors into ember and compares, in float64 on one or two small images: the eval
detections (boxes, scores, labels), then the training losses (the samplers are given batch sizes
that take every candidate, so their random permutation only reorders sums) and one backward's
gradients of a few parameters.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict

import ember
import numpy as np
import pytest
from ember.vision import models
from ember.vision.models import detection
from reference_torchvision import import_torchvision

torch = pytest.importorskip("torch")
tv = import_torchvision()
tvd = tv.models.detection


# ---- NumPy-backed references for torchvision's compiled ops -----------------------------------

def _nms_np(boxes, scores, iou_threshold):
    """Greedy NMS: visit boxes by decreasing score (ties: lower index first); drop each box whose IoU
    with a kept one is > iou_threshold."""
    b = boxes.detach().cpu().numpy()
    s = scores.detach().cpu().numpy()
    order = np.lexsort((np.arange(len(s)), -s))
    areas = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    suppressed = np.zeros(len(s), dtype=bool)
    keep = []
    for i in order:
        if suppressed[i]:
            continue
        keep.append(i)
        w = np.clip(np.minimum(b[i, 2], b[:, 2]) - np.maximum(b[i, 0], b[:, 0]), 0, None)
        h = np.clip(np.minimum(b[i, 3], b[:, 3]) - np.maximum(b[i, 1], b[:, 1]), 0, None)
        inter = w * h
        with np.errstate(invalid="ignore"):  # two empty boxes: 0/0 is NaN, not above the threshold
            iou = inter / (areas[i] + areas - inter)
        suppressed |= iou > iou_threshold
    return torch.tensor(np.array(keep, dtype=np.int64))


def _bilinear_taps(coord, size):
    """Indices (low, high) and weights (of low, of high) of 1-D bilinear sampling at ``coord`` in
    ``[0, size)``; ``valid`` is False outside ``[-1, size]`` (those samples count 0)."""
    valid = (coord >= -1.0) & (coord <= size)
    c = np.maximum(coord, 0.0)
    low = np.floor(c).astype(np.int64)
    at_end = low >= size - 1
    low = np.where(at_end, size - 1, low)
    high = np.where(at_end, size - 1, low + 1)
    c = np.where(at_end, low.astype(np.float64), c)
    frac = c - low
    return low, high, 1.0 - frac, frac, valid


def _roi_align_torch(input, boxes, output_size, spatial_scale=1.0, sampling_ratio=-1, aligned=False):
    """RoI Align: each output bin is the mean of a ``gh x gw`` grid of bilinear samples (grid from
    ``sampling_ratio`` or ``ceil(roi size / bins)``); rois ``[K, 5]`` (batch index first) or a list."""
    if isinstance(boxes, (list, tuple)):
        boxes = torch.cat([torch.cat([torch.full_like(b[:, :1], i), b], 1) for i, b in enumerate(boxes)], 0)
    ph, pw = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    n, c, h, w = input.shape
    rois = boxes.detach().double().cpu().numpy()
    out = []
    for bi, x1, y1, x2, y2 in rois:
        off = 0.5 if aligned else 0.0
        sx, sy = x1 * spatial_scale - off, y1 * spatial_scale - off
        rw, rh = (x2 - x1) * spatial_scale, (y2 - y1) * spatial_scale
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / ph, rw / pw
        gh = sampling_ratio if sampling_ratio > 0 else int(np.ceil(rh / ph))
        gw = sampling_ratio if sampling_ratio > 0 else int(np.ceil(rw / pw))
        ys = sy + (np.arange(ph)[:, None] * bh + (np.arange(gh)[None, :] + 0.5) * bh / gh).ravel()  # [ph*gh]
        xs = sx + (np.arange(pw)[:, None] * bw + (np.arange(gw)[None, :] + 0.5) * bw / gw).ravel()
        yl, yh, wyl, wyh, vy = _bilinear_taps(ys, h)
        xl, xh, wxl, wxh, vx = _bilinear_taps(xs, w)
        feat = input[int(bi)]
        val = 0
        for yi, wy in ((yl, wyl * vy), (yh, wyh * vy)):
            for xi, wx in ((xl, wxl * vx), (xh, wxh * vx)):
                tap = feat[:, yi[:, None], xi[None, :]]  # [C, ph*gh, pw*gw]
                val = val + tap * torch.tensor(wy[:, None] * wx[None, :], dtype=input.dtype)
        val = val.reshape(c, ph, gh, pw, gw).sum(dim=(2, 4)) / max(gh * gw, 1)
        out.append(val)
    if not out:
        return input.new_zeros((0, c, ph, pw))
    return torch.stack(out)


@pytest.fixture(autouse=True)
def _tv_ops(monkeypatch):
    """torchvision's nms and roi_align, wherever its detection code looks them up, as the references."""
    import torchvision.models.detection.roi_heads as tv_roi_heads
    import torchvision.ops.boxes as tv_boxes
    import torchvision.ops.poolers as tv_poolers

    monkeypatch.setattr(tv_boxes, "nms", _nms_np)
    monkeypatch.setattr(tv_poolers, "roi_align", _roi_align_torch)
    monkeypatch.setattr(tv_roi_heads, "roi_align", _roi_align_torch)


# ---- helpers ---------------------------------------------------------------------------------

def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def _build(name: str, **kw):
    torch.manual_seed(0)
    ember.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(tvd, name)(**kw), getattr(detection, name)(**kw)


def _check_state_dict(t, e) -> None:
    ts, es = t.state_dict(), e.state_dict()
    assert list(es) == list(ts)
    for k, v in ts.items():
        assert tuple(es[k].shape) == tuple(v.shape), k
        assert str(es[k].dtype) == str(v.dtype).replace("torch.", "ember."), k
    assert dict(es._metadata) == dict(ts._metadata)
    assert [n for n, p in e.named_parameters() if p.requires_grad] == \
        [n for n, p in t.named_parameters() if p.requires_grad]


def _calibrate(t) -> None:
    """Running BatchNorm statistics from one train-mode backbone pass (init-time stats let the signal
    fade or blow up through 50 random layers), then each FPN output level scaled to a mean magnitude
    of 1, so that random RPN / box heads give proposals near the anchors and non-degenerate scores."""
    bns = [m for m in t.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.momentum = 1.0
    t.eval()
    with torch.no_grad():
        x = t.transform([torch.tensor(i, dtype=torch.float32) for i in _images(7)])[0].tensors
        t.train()
        t.backbone(x)
        heads = getattr(t, "roi_heads", None)
        for name, shape in (("box_head", (8, 256, 7, 7)), ("mask_head", (8, 256, 14, 14))):
            head = getattr(heads, name, None)
            if isinstance(head, torch.nn.Sequential) and any(isinstance(m, torch.nn.BatchNorm2d) for m in head.modules()):
                head(torch.randn(*shape))
        for m in bns:
            m.momentum = 0.1
        t.eval()
        feats = list(t.backbone(x).values())
        fpn = getattr(t.backbone, "fpn", None)
        for block, f in zip(fpn.layer_blocks if fpn is not None else [], feats):
            last = block[-1]
            last.weight /= float(f.abs().mean())
            last.bias /= float(f.abs().mean())


def _copy(t, e) -> None:
    ts = t.state_dict()
    sd = OrderedDict((k, ember.tensor(v.numpy())) for k, v in ts.items())
    sd._metadata = ts._metadata
    e.load_state_dict(sd)


def _close(a, b, what="", rtol=1e-9, atol=1e-12) -> None:
    a = _np(a) if hasattr(a, "detach") else np.asarray(a)
    b = _np(b) if hasattr(b, "detach") else np.asarray(b)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    if a.size:
        scale = max(np.abs(b).max(), 1e-30)
        assert np.abs(a - b).max() <= rtol * scale + atol, (what, np.abs(a - b).max(), scale)


def _canonical(d) -> np.ndarray:
    """An order of the detections by score (to 1e-9), then label, then box."""
    b = np.round(_np(d["boxes"]), 6)
    return np.lexsort((b[:, 3], b[:, 2], b[:, 1], b[:, 0], _np(d["labels"]), -np.round(_np(d["scores"]), 9)))


def _images(seed=0, sizes=((3, 64, 64), (3, 48, 64))):
    rng = np.random.RandomState(seed)
    return [rng.rand(*s) for s in sizes]


def _targets():
    return [{"boxes": np.array([[4.0, 6.0, 40.0, 30.0], [20.0, 10.0, 60.0, 48.0]]), "labels": np.array([1, 2])},
            {"boxes": np.array([[2.0, 3.0, 30.0, 50.0]]), "labels": np.array([2])}]


def _compare_detector(t, e, *, train=True, targets=None, grads=("roi_heads.box_predictor.cls_score.weight",
                                                  "rpn.head.cls_logits.weight", "backbone.fpn.layer_blocks.0.0.weight"),
                      n_images=2, min_dets=1) -> None:
    _calibrate(t)
    _copy(t, e)
    t.double()
    e.double()
    _compare_outputs(t, e, train=train, targets=targets, grads=grads, n_images=n_images, min_dets=min_dets)


def _compare_outputs(t, e, *, train=True, targets=None, grads=(), n_images=2, min_dets=1) -> None:
    """eval detections, then training losses and gradients, of two float64 models holding the same weights."""
    t.eval()
    e.eval()
    imgs = _images()[:n_images]
    with torch.no_grad():
        out_t = t([torch.tensor(x) for x in imgs])
    out_e = e([ember.tensor(x) for x in imgs])
    assert len(out_e) == len(out_t)
    for oe, ot in zip(out_e, out_t):
        assert sorted(oe) == sorted(ot)
        assert len(ot["boxes"]) >= min_dets
        # near-ties (scores equal to rounding: proposals pooled from the same padding) may come out of
        # NMS in either order, so both lists are compared in one canonical order
        ie, it = _canonical(oe), _canonical(ot)
        assert _np(oe["labels"])[ie].tolist() == ot["labels"].numpy()[it].tolist()
        for k in ot:
            assert str(oe[k].dtype) == str(ot[k].dtype).replace("torch.", "ember."), k
            _close(_np(oe[k])[ie], _np(ot[k])[it], k)
        assert np.all(np.diff(_np(oe["scores"])) <= 0)
    if not train:
        return
    t.train()
    e.train()
    for m in (*t.modules(), *e.modules()):  # BatchNorm on running stats: two 2x2 maps are too few samples
        if isinstance(m, (torch.nn.BatchNorm2d, ember.nn.BatchNorm2d)):
            m.eval()
    targets = (targets or _targets())[:n_images]
    tg = [{k: torch.tensor(v) for k, v in d.items()} for d in targets]
    eg = [{k: ember.tensor(v) for k, v in d.items()} for d in targets]
    lt = t([torch.tensor(x) for x in imgs], tg)
    le = e([ember.tensor(x) for x in imgs], eg)
    assert list(le) == list(lt)
    for k in lt:  # loss_objectness is float32 in both (its targets are float32 labels)
        assert str(le[k].dtype) == str(lt[k].dtype).replace("torch.", "ember."), k
        _close(le[k], lt[k], k, rtol=1e-8 if lt[k].dtype == torch.float64 else 1e-6)
    sum(lt.values()).backward()
    sum(le.values()).backward()
    tp, ep = dict(t.named_parameters()), dict(e.named_parameters())
    for name in grads:
        assert tp[name].grad is not None and float(tp[name].grad.abs().max()) > 0, name
        _close(ep[name].grad, tp[name].grad, name, rtol=1e-7)


# ---- building blocks --------------------------------------------------------------------------

def test_reference_ops_agree_with_ember_ops():
    """The references above against ember's ops (both against the documented rule), so a mismatch in a
    model test points at the model."""
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 40, (50, 2))
    b = np.concatenate([xy, xy + rng.uniform(1, 20, (50, 2))], 1)
    s = rng.uniform(size=50)
    assert _nms_np(torch.tensor(b), torch.tensor(s), 0.5).tolist() == \
        ember.vision.ops.nms(ember.tensor(b), ember.tensor(s), 0.5).tolist()
    x = rng.standard_normal((2, 3, 9, 11))
    rois = np.array([[0, 1.0, 1.5, 7.0, 6.0], [1, -2.0, 0.5, 12.0, 10.0], [1, 3.0, 3.0, 3.5, 3.2]])
    for sr, aligned in ((2, False), (-1, False), (0, True)):
        ref = _roi_align_torch(torch.tensor(x), torch.tensor(rois), (3, 2), 0.8, sr, aligned)
        got = ember.vision.ops.roi_align(ember.tensor(x), ember.tensor(rois), (3, 2), 0.8, sr, aligned)
        _close(got, ref, f"roi_align {sr} {aligned}", rtol=1e-12)


def test_anchor_generator_and_box_coder():
    sizes, ratios = ((16, 32), (64,)), ((0.5, 1.0, 2.0), (1.0, 2.0))
    ta, ea = tvd.anchor_utils.AnchorGenerator(sizes, ratios), detection.AnchorGenerator(sizes, ratios)
    assert ea.num_anchors_per_location() == ta.num_anchors_per_location() == [6, 2]
    feats_t = [torch.zeros(2, 4, 8, 10, dtype=torch.float64), torch.zeros(2, 4, 4, 5, dtype=torch.float64)]
    il_t = tvd.image_list.ImageList(torch.zeros(2, 3, 32, 40, dtype=torch.float64), [(32, 40), (30, 20)])
    il_e = detection.ImageList(ember.zeros(2, 3, 32, 40, dtype=ember.float64), [(32, 40), (30, 20)])
    at = ta(il_t, feats_t)
    ae = ea(il_e, [ember.tensor(f.numpy()) for f in feats_t])
    assert len(ae) == 2 and ae[0].dtype == ember.float64
    for x, y in zip(ae, at):
        np.testing.assert_array_equal(_np(x), y.numpy())
    rng = np.random.default_rng(1)
    ref = np.abs(rng.standard_normal((7, 4))) * 10
    ref[:, 2:] += ref[:, :2] + 1
    props = ref + rng.uniform(-1, 1, (7, 4))
    for w in ((1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)):
        tc, ec = tvd._utils.BoxCoder(w), detection._utils.BoxCoder(w)
        codes_t = tc.encode([torch.tensor(ref)], [torch.tensor(props)])[0]
        codes_e = ec.encode([ember.tensor(ref)], [ember.tensor(props)])[0]
        _close(codes_e, codes_t, "encode", rtol=1e-13)
        big = rng.standard_normal((7, 8)) * 3  # dw/dh beyond log(1000/16) are clamped
        _close(ec.decode(ember.tensor(big), [ember.tensor(props)]), tc.decode(torch.tensor(big), [torch.tensor(props)]),
               "decode", rtol=1e-13)
    lt, le = tvd._utils.BoxLinearCoder(True), detection._utils.BoxLinearCoder(True)
    _close(le.encode(ember.tensor(ref), ember.tensor(props)), lt.encode(torch.tensor(ref), torch.tensor(props)))
    _close(le.decode(ember.tensor(props), ember.tensor(ref)), lt.decode(torch.tensor(props), torch.tensor(ref)))


@pytest.mark.parametrize("low_quality", [False, True])
def test_matcher_and_sampler(low_quality):
    q = np.array([[0.9, 0.2, 0.5, 0.1, 0.35], [0.1, 0.6, 0.5, 0.05, 0.1]])
    mt = tvd._utils.Matcher(0.7, 0.3, low_quality)(torch.tensor(q))
    me = detection._utils.Matcher(0.7, 0.3, low_quality)(ember.tensor(q))
    assert me.tolist() == mt.tolist()
    assert detection._utils.SSDMatcher(0.5)(ember.tensor(q)).tolist() == \
        tvd._utils.SSDMatcher(0.5)(torch.tensor(q)).tolist()
    with pytest.raises(ValueError, match="No ground-truth boxes"):
        detection._utils.Matcher(0.7, 0.3)(ember.zeros(0, 4))
    labels = ember.tensor([1, 0, 0, -1, 2, 0, 1, 0, 0, 0])
    ember.manual_seed(3)
    pos, neg = detection._utils.BalancedPositiveNegativeSampler(4, 0.25)(labels[None][0:1].reshape(1, -1).unbind(0))
    p, n = pos[0].bool(), neg[0].bool()
    assert pos[0].dtype == ember.uint8 and int(p.sum()) == 1 and int(n.sum()) == 3
    assert bool((labels[p] >= 1).all()) and bool((labels[n] == 0).all())


def test_generalized_rcnn_transform():
    kw = dict(min_size=40, max_size=56, image_mean=[0.4, 0.5, 0.6], image_std=[0.2, 0.25, 0.3], size_divisible=16)
    tt = tvd.transform.GeneralizedRCNNTransform(**kw).eval()
    et = detection.GeneralizedRCNNTransform(**kw).eval()
    assert repr(et) == repr(tt)
    imgs = _images(1, ((3, 30, 45), (3, 50, 21)))
    tgt = _targets()
    with torch.no_grad():
        il_t, tg_t = tt([torch.tensor(x) for x in imgs], [{k: torch.tensor(v) for k, v in d.items()} for d in tgt])
    ecopy = [{k: ember.tensor(v) for k, v in d.items()} for d in tgt]
    il_e, tg_e = et([ember.tensor(x) for x in imgs], ecopy)
    assert il_e.image_sizes == [tuple(s) for s in il_t.image_sizes]
    _close(il_e.tensors, il_t.tensors, "batched images", rtol=1e-13)
    for a, b in zip(tg_e, tg_t):
        _close(a["boxes"], b["boxes"], "target boxes", rtol=1e-13)
    assert ecopy[0]["boxes"].tolist() == tgt[0]["boxes"].tolist()  # the caller's targets are left alone
    det = [{"boxes": torch.tensor([[1.0, 2.0, 30.0, 20.0]], dtype=torch.float64)}]
    back_t = tt.postprocess([dict(d) for d in det], [(40, 60)], [(30, 45)])
    back_e = et.postprocess([{"boxes": ember.tensor(det[0]["boxes"].numpy())}], [(40, 60)], [(30, 45)])
    _close(back_e[0]["boxes"], back_t[0]["boxes"], rtol=1e-13)
    with pytest.raises(TypeError, match="Expected input images to be of floating type"):
        et([ember.zeros(3, 8, 8, dtype=ember.uint8)])


# ---- whole models ------------------------------------------------------------------------------

_SMALL = dict(weights_backbone=None, num_classes=4, min_size=32, max_size=32, rpn_pre_nms_top_n_test=200,
              rpn_post_nms_top_n_test=30, rpn_pre_nms_top_n_train=200, rpn_post_nms_top_n_train=30,
              rpn_batch_size_per_image=100000, box_batch_size_per_image=100000)


def test_fasterrcnn_resnet50_fpn():
    t, e = _build("fasterrcnn_resnet50_fpn", **_SMALL)
    assert isinstance(e, detection.FasterRCNN) and isinstance(e.backbone.body, detection.IntermediateLayerGetter)
    _check_state_dict(t, e)
    _compare_detector(t, e, grads=("roi_heads.box_predictor.cls_score.weight", "roi_heads.box_head.fc6.bias",
                                   "rpn.head.cls_logits.weight", "rpn.head.conv.0.0.weight",
                                   "backbone.fpn.layer_blocks.0.0.weight", "backbone.body.layer4.2.conv3.weight"))


def test_fasterrcnn_resnet50_fpn_v2():
    t, e = _build("fasterrcnn_resnet50_fpn_v2", **{**_SMALL, "rpn_post_nms_top_n_test": 15,
                                                   "rpn_post_nms_top_n_train": 15})
    _check_state_dict(t, e)
    # eval only: the training losses are compared on fasterrcnn_resnet50_fpn (same RPN / RoI heads code)
    _compare_detector(t, e, n_images=1, train=False)


def test_fasterrcnn_mobilenet_v3_large_fpn():
    t, e = _build("fasterrcnn_mobilenet_v3_large_fpn", **{**_SMALL, "rpn_score_thresh": 0.0})
    _check_state_dict(t, e)
    _compare_detector(t, e, n_images=1, grads=("roi_heads.box_predictor.bbox_pred.weight",
                                               "backbone.body.16.0.weight"))


def test_mobilenet_320_defaults_and_trainable_layers():
    t, e = _build("fasterrcnn_mobilenet_v3_large_320_fpn", weights_backbone=None, num_classes=3)
    assert (e.transform.min_size, e.transform.max_size) == (t.transform.min_size, t.transform.max_size) == ((320,), 640)
    assert (e.rpn._pre_nms_top_n, e.rpn.score_thresh) == (t.rpn._pre_nms_top_n, t.rpn.score_thresh)
    _check_state_dict(t, e)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = tvd.backbone_utils._resnet_fpn_extractor(tv.models.resnet18(), 2, returned_layers=[2, 4])
    be = detection.backbone_utils._resnet_fpn_extractor(models.resnet18(), 2, returned_layers=[2, 4])
    _check_state_dict(bt, be)
    with pytest.raises(ValueError, match=r"Trainable layers should be in the range \[0,5\], got 6"):
        detection.backbone_utils._resnet_fpn_extractor(models.resnet18(), 6)


def test_registry_weights_and_pretrained_file(tmp_path, monkeypatch):
    names = [n for n in tv.models.list_models(module=tvd) if n in models.list_models()]
    assert {"fasterrcnn_resnet50_fpn", "fasterrcnn_resnet50_fpn_v2", "fasterrcnn_mobilenet_v3_large_fpn",
            "fasterrcnn_mobilenet_v3_large_320_fpn"} <= set(names)
    for n in names:
        tw, ew = tv.models.get_model_weights(n), models.get_model_weights(n)
        assert ew.__name__ == tw.__name__ and [m.name for m in ew] == [m.name for m in tw]
        for a, b in zip(ew, tw):
            assert a.url == b.url
            assert a.meta == {k: v for k, v in b.meta.items() if k != "_docs"}, n
    assert models.get_model("fasterrcnn_resnet50_fpn", weights_backbone=None, num_classes=5).roi_heads.box_predictor \
        .cls_score.out_features == 5
    # weights= loads the COCO file from torch.hub's cache (FrozenBatchNorm2d with eps 0, 91 classes)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    t, _ = _build("fasterrcnn_mobilenet_v3_large_320_fpn", weights_backbone=None)
    w = detection.FasterRCNN_MobileNet_V3_Large_320_FPN_Weights.COCO_V1
    torch.save(t.state_dict(), cache / w.url.rsplit("/", 1)[1])
    e = detection.fasterrcnn_mobilenet_v3_large_320_fpn(weights=w)
    assert isinstance(e.backbone.body["0"][1], ember.vision.ops.FrozenBatchNorm2d)
    np.testing.assert_array_equal(_np(e.roi_heads.box_predictor.cls_score.weight),
                                  t.roi_heads.box_predictor.cls_score.weight.detach().numpy())
    with pytest.raises(ValueError, match="The parameter 'num_classes' expected value 91 but got 3 instead."):
        detection.fasterrcnn_mobilenet_v3_large_320_fpn(weights=w, num_classes=3)


def test_training_errors():
    e = detection.fasterrcnn_mobilenet_v3_large_320_fpn(weights_backbone=None, num_classes=3)
    e.train()
    with pytest.raises(AssertionError, match="targets should not be none when in training mode"):
        e([ember.rand(3, 32, 32)])
    bad = [{"boxes": ember.tensor([[5.0, 5.0, 5.0, 9.0]]), "labels": ember.tensor([1])}]
    with pytest.raises(AssertionError, match="All bounding boxes should have positive height and width"):
        e([ember.rand(3, 32, 32)], bad)
    with pytest.raises(ValueError, match="num_classes should not be None"):
        detection.FasterRCNN(e.backbone)


def test_retinanet_resnet50_fpn():
    kw = dict(weights_backbone=None, num_classes=3, min_size=32, max_size=32, score_thresh=0.005,
              topk_candidates=40, detections_per_img=30)
    t, e = _build("retinanet_resnet50_fpn", **kw)
    _check_state_dict(t, e)
    _compare_detector(t, e, n_images=1, grads=("head.classification_head.cls_logits.weight",
                                               "head.regression_head.bbox_reg.weight",
                                               "head.regression_head.conv.0.0.weight"))


def test_retinanet_resnet50_fpn_v2():
    kw = dict(weights_backbone=None, num_classes=3, min_size=32, max_size=32, score_thresh=0.005,
              topk_candidates=40, detections_per_img=30)
    t, e = _build("retinanet_resnet50_fpn_v2", **kw)
    assert e.head.regression_head._loss_type == "giou"
    _check_state_dict(t, e)
    _compare_detector(t, e, n_images=1, grads=("head.classification_head.conv.0.1.weight",
                                               "head.regression_head.bbox_reg.weight", "backbone.fpn.extra_blocks.p6.weight"))


def _masks():
    m0 = np.zeros((2, 64, 64), dtype=np.uint8)
    m0[0, 8:28, 6:38] = 1
    m0[1, 12:46, 22:58] = 1
    m1 = np.zeros((1, 48, 64), dtype=np.uint8)
    m1[0, 4:48, 3:28] = 1
    return [m0, m1]


def _rcnn_pair(cls_name, head_kw):
    """torchvision's and ember's ``cls_name`` (MaskRCNN / KeypointRCNN) over a ResNet-18-FPN, with the
    narrow heads ``head_kw(module)`` builds (the default 256- and 512-channel conv stacks are too slow
    for a unit test; the builders' full-size state_dicts are checked on the meta device below)."""
    kw = {k: v for k, v in _SMALL.items() if k not in ("weights_backbone", "num_classes")}
    torch.manual_seed(0)
    ember.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tb = tvd.backbone_utils._resnet_fpn_extractor(tv.models.resnet18(), 5)
        t = getattr(tvd, cls_name)(tb, **kw, **head_kw(tvd))
    eb = detection.backbone_utils._resnet_fpn_extractor(models.resnet18(), 5)
    return t, getattr(detection, cls_name)(eb, **kw, **head_kw(detection))


def test_maskrcnn():
    t, e = _rcnn_pair("MaskRCNN", lambda m: dict(
        num_classes=None, box_predictor=m.faster_rcnn.FastRCNNPredictor(1024, 4), box_detections_per_img=6,
        mask_head=m.mask_rcnn.MaskRCNNHeads(256, (16, 16), 1),
        mask_predictor=m.mask_rcnn.MaskRCNNPredictor(16, 16, 4)))
    _check_state_dict(t, e)
    targets = [{**d, "masks": m} for d, m in zip(_targets(), _masks())]
    _compare_detector(t, e, targets=targets, n_images=1, grads=("roi_heads.mask_predictor.mask_fcn_logits.weight",
                                                                "roi_heads.mask_head.0.0.weight",
                                                                "roi_heads.box_head.fc7.weight"))
    e.eval()
    assert e.roi_heads.has_mask() and not e.roi_heads.has_keypoint()


def test_keypointrcnn():
    t, e = _rcnn_pair("KeypointRCNN", lambda m: dict(
        num_classes=2, box_detections_per_img=4, keypoint_head=m.keypoint_rcnn.KeypointRCNNHeads(256, (16, 16)),
        keypoint_predictor=m.keypoint_rcnn.KeypointRCNNPredictor(16, 3)))
    _check_state_dict(t, e)
    kps = [np.array([[[10.0, 12.0, 1.0], [30.0, 20.0, 1.0], [5.0, 5.0, 0.0]],
                     [[25.0, 20.0, 1.0], [59.0, 40.0, 2.0], [40.0, 30.0, 1.0]]], dtype=np.float32),
           np.array([[[12.0, 20.0, 1.0], [20.0, 40.0, 1.0], [29.0, 49.0, 1.0]]], dtype=np.float32)]
    targets = [{**d, "labels": np.ones_like(d["labels"]), "keypoints": k} for d, k in zip(_targets(), kps)]
    _compare_detector(t, e, targets=targets, n_images=1, grads=("roi_heads.keypoint_predictor.kps_score_lowres.weight",
                                                    "roi_heads.keypoint_head.0.weight"))


def test_fcos_resnet50_fpn():
    kw = dict(weights_backbone=None, num_classes=3, min_size=48, max_size=48, score_thresh=0.05,
              topk_candidates=40, detections_per_img=30)
    t, e = _build("fcos_resnet50_fpn", **kw)
    _check_state_dict(t, e)
    _compare_detector(t, e, n_images=1, grads=("head.classification_head.cls_logits.weight",
                                               "head.regression_head.bbox_ctrness.weight",
                                               "head.regression_head.conv.0.weight"))


def _tiny_backbone(fw):
    """The same two-map conv backbone in torch (``fw=torch``) or ember."""

    class Tiny(fw.nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = fw.nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.c2 = fw.nn.Conv2d(8, 16, 3, stride=2, padding=1)
            self.out_channels = [8, 16]

        def forward(self, x):
            a = fw.relu(self.c1(x))
            return OrderedDict([("0", a), ("1", fw.relu(self.c2(a)))])

    return Tiny()


def test_ssd_and_default_boxes():
    kw = dict(size=(40, 48), num_classes=4, score_thresh=0.05, topk_candidates=50, detections_per_img=40)
    torch.manual_seed(0)
    ember.manual_seed(0)
    ratios = [[2], [2, 3]]
    t = tvd.ssd.SSD(_tiny_backbone(torch), tvd.anchor_utils.DefaultBoxGenerator(ratios, steps=[4, 8]), **kw)
    e = detection.SSD(_tiny_backbone(ember), detection.DefaultBoxGenerator(ratios, steps=[4, 8]), **kw)
    assert repr(e.anchor_generator) == repr(t.anchor_generator)
    _check_state_dict(t, e)
    _copy(t, e)
    t.double()
    e.double()
    # SSD's transform resizes every image to exactly ``size``; the loss mines hard negatives
    _compare_outputs(t, e, grads=("head.classification_head.module_list.1.weight",
                                            "head.regression_head.module_list.0.weight", "backbone.c1.weight"))


@pytest.mark.parametrize("name", ["ssd300_vgg16", "keypointrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn",
                                  "maskrcnn_resnet50_fpn_v2"])
def test_construct_only_on_meta(name):
    """The builders whose full-size heads are too slow to run here: state_dicts built on the meta device."""
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = getattr(tvd, name)(weights_backbone=None)
    with ember.device("meta"):
        e = getattr(detection, name)(weights_backbone=None)
    _check_state_dict(t, e)
    assert sum(p.numel() for p in e.parameters()) == sum(p.numel() for p in t.parameters())
    if name == "keypointrcnn_resnet50_fpn":
        assert e.transform.min_size == t.transform.min_size == (640, 672, 704, 736, 768, 800)
    if name != "ssd300_vgg16":
        return
    assert e.transform.fixed_size == (300, 300) and e.transform.image_std == t.transform.image_std
    assert e.anchor_generator.scales == t.anchor_generator.scales
    assert e.backbone.features[16].ceil_mode and tuple(e.backbone.scale_weight.shape) == (512,)


def test_ssdlite320_mobilenet_v3_large():
    t, e = _build("ssdlite320_mobilenet_v3_large", weights_backbone=None, num_classes=3, score_thresh=0.2,
                  topk_candidates=20, detections_per_img=20)
    _check_state_dict(t, e)
    # eval only: SSD's losses are compared on the small SSD above
    _compare_detector(t, e, n_images=1, train=False)


def test_version_1_checkpoints_and_legacy_flags():
    """Version-1 head checkpoints (bare convs) load under their new names, as in torchvision."""
    torch.manual_seed(0)
    heads = [(tvd.rpn.RPNHead(8, 3), detection.RPNHead(8, 3), {"conv.0.0": "conv"}),
             (tvd.mask_rcnn.MaskRCNNHeads(8, (4, 4), 1), detection.mask_rcnn.MaskRCNNHeads(8, (4, 4), 1),
              {"0.0": "mask_fcn1", "1.0": "mask_fcn2"}),
             (tvd.retinanet.RetinaNetRegressionHead(8, 2), detection.retinanet.RetinaNetRegressionHead(8, 2),
              {f"conv.{i}.0": f"conv.{2 * i}" for i in range(4)})]
    for t, e, renames in heads:
        ts = t.state_dict()
        old = OrderedDict()
        for k, v in ts.items():
            for new, prev in renames.items():
                if k.startswith(new + "."):
                    k = prev + k[len(new):]
            old[k] = ember.tensor(v.numpy())
        old._metadata = OrderedDict((k, dict(v, version=1) if k == "" else v) for k, v in ts._metadata.items())
        e.load_state_dict(old)
        for k, v in e.state_dict().items():
            np.testing.assert_array_equal(_np(v), ts[k].numpy(), err_msg=k)
    # overwrite_eps sets every FrozenBatchNorm2d's eps (the COCO_V1 checkpoints were trained with 0)
    m = detection.backbone_utils.resnet_fpn_backbone(backbone_name="resnet18", weights=None)
    detection._utils.overwrite_eps(m, 0.0)
    frozen = [x for x in m.modules() if isinstance(x, ember.vision.ops.FrozenBatchNorm2d)]
    assert frozen and all(x.eps == 0.0 for x in frozen)
    assert not m.body.conv1.weight.requires_grad and m.body.layer4[0].conv1.weight.requires_grad  # 3 trainable
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        e = detection.fasterrcnn_mobilenet_v3_large_320_fpn(pretrained=False, pretrained_backbone=False,
                                                            num_classes=3)
    assert [str(w.message).split(" is ")[0] for w in caught] == ["The parameter 'pretrained'",
                                                                 "The parameter 'pretrained_backbone'"]
    assert all(w.filename == __file__ for w in caught)  # pointing at the caller, as torchvision's
    assert isinstance(e.backbone.body["1"].block[0][1], ember.nn.BatchNorm2d)  # nothing pretrained: BatchNorm
