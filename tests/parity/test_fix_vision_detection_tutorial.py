"""PyTorch's "TorchVision Object Detection Finetuning Tutorial" on ember against torch + torchvision.

The tutorial (pytorch/tutorials intermediate_source/torchvision_tutorial.py) was run unchanged but
shrunk (synthetic PennFudan-format PNGs, ``weights=None``, 96x128 images, two SGD iterations, no COCO
evaluator) on both, with torch's random draws replayed on ember and torch's initial state_dict loaded
into ember: it ran end to end, iteration 0's losses, the sample/prediction structure and the drawn
images agreed, and nothing in ember had to change. These tests keep that: the tutorial's dataset
class and transforms on both libraries, then one Mask R-CNN (ResNet-50-FPN, the tutorial's replaced
box and mask predictors) train step on the same weights and batch, compared loss by loss.

torchvision's compiled ops can't load here, so its side uses the NumPy-backed ``nms`` / ``roi_align``
of test_fix_vision_models_detection and decodes PNGs with PIL (the documented ``read_image`` result:
uint8 ``[C, H, W]``).
"""

from __future__ import annotations

import os
import types
import warnings

import ember
import ember.vision
import ember.vision.io
import ember.vision.ops.boxes
import ember.vision.transforms.v2
import ember.vision.transforms.v2.functional
import ember.vision.tv_tensors
import ember.vision.utils
import numpy as np
import pytest
from reference_torchvision import import_torchvision

torch = pytest.importorskip("torch")
tv = import_torchvision()
PIL = pytest.importorskip("PIL.Image")
import test_fix_vision_models_detection as _det  # noqa: E402  (tests/parity is on sys.path)
import torchvision.io  # noqa: E402
import torchvision.ops.boxes  # noqa: E402
import torchvision.transforms.v2  # noqa: E402
import torchvision.transforms.v2.functional  # noqa: E402
import torchvision.utils  # noqa: E402


@pytest.fixture(autouse=True)
def _tv_ops(monkeypatch):
    import torchvision.models.detection.roi_heads as tv_roi_heads
    import torchvision.ops.poolers as tv_poolers

    monkeypatch.setattr(torchvision.ops.boxes, "nms", _det._nms_np)
    monkeypatch.setattr(tv_poolers, "roi_align", _det._roi_align_torch)
    monkeypatch.setattr(tv_roi_heads, "roi_align", _det._roi_align_torch)


def _read_image_pil(path):
    a = np.asarray(PIL.open(path))
    a = a[:, :, None] if a.ndim == 2 else a
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Two PennFudan-format samples: an RGB image and a mask whose pixel values are instance ids."""
    root = tmp_path_factory.mktemp("PennFudanPed")
    os.makedirs(root / "PNGImages")
    os.makedirs(root / "PedMasks")
    rng = np.random.RandomState(0)
    for i, rects in enumerate(([(8, 10, 40, 70), (60, 20, 95, 88)], [(30, 5, 62, 60)])):
        img = (rng.rand(96, 128, 3) * 80).astype(np.uint8)
        mask = np.zeros((96, 128), np.uint8)
        for k, (x0, y0, x1, y1) in enumerate(rects, 1):
            mask[y0:y1, x0:x1] = k
            img[y0:y1, x0:x1] = (np.array([200, 120, 60]) * (0.7 + 0.3 * rng.rand(y1 - y0, x1 - x0, 1))).astype(np.uint8)
        PIL.fromarray(img).save(root / "PNGImages" / f"FudanPed{i:05d}.png")
        PIL.fromarray(mask, mode="L").save(root / "PedMasks" / f"FudanPed{i:05d}_mask.png")
    return str(root)


def _libs(side):
    if side == "torch":
        return types.SimpleNamespace(torch=torch, tv=tv, read_image=_read_image_pil, masks_to_boxes=torchvision.ops.boxes.masks_to_boxes,
                                     tv_tensors=tv.tv_tensors, F=torchvision.transforms.v2.functional,
                                     T=torchvision.transforms.v2)
    ev = ember.vision
    return types.SimpleNamespace(torch=ember, tv=ev, read_image=ev.io.read_image, masks_to_boxes=ev.ops.boxes.masks_to_boxes,
                                 tv_tensors=ev.tv_tensors, F=ev.transforms.v2.functional, T=ev.transforms.v2)


def _dataset(L, root, train):
    """The tutorial's PennFudanDataset and get_transform, written against the libraries in ``L``."""
    torch_, T = L.torch, L.T

    class PennFudanDataset(torch_.utils.data.Dataset):
        def __init__(self, root, transforms):
            self.root, self.transforms = root, transforms
            self.imgs = list(sorted(os.listdir(os.path.join(root, "PNGImages"))))
            self.masks = list(sorted(os.listdir(os.path.join(root, "PedMasks"))))

        def __getitem__(self, idx):
            img = L.read_image(os.path.join(self.root, "PNGImages", self.imgs[idx]))
            mask = L.read_image(os.path.join(self.root, "PedMasks", self.masks[idx]))
            obj_ids = torch_.unique(mask)[1:]
            num_objs = len(obj_ids)
            masks = (mask == obj_ids[:, None, None]).to(dtype=torch_.uint8)
            boxes = L.masks_to_boxes(masks)
            labels = torch_.ones((num_objs,), dtype=torch_.int64)
            area = (boxes[:, 3] - boxes[:, 1]) * (boxes[:, 2] - boxes[:, 0])
            iscrowd = torch_.zeros((num_objs,), dtype=torch_.int64)
            img = L.tv_tensors.Image(img)
            target = {"boxes": L.tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=L.F.get_size(img)),
                      "masks": L.tv_tensors.Mask(masks), "labels": labels, "image_id": idx, "area": area,
                      "iscrowd": iscrowd}
            if self.transforms is not None:
                img, target = self.transforms(img, target)
            return img, target

        def __len__(self):
            return len(self.imgs)

    tr = [T.RandomHorizontalFlip(1.0)] if train else []  # p=1: the flip always happens, no draw to match
    return PennFudanDataset(root, T.Compose([*tr, T.ToDtype(torch_.float, scale=True), T.ToPureTensor()]))


def _batch(side, root, train=True):
    L = _libs(side)
    loader = L.torch.utils.data.DataLoader(_dataset(L, root, train), batch_size=2, shuffle=False,
                                           collate_fn=lambda b: tuple(zip(*b)))
    return next(iter(loader))


def _np(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def test_dataset_and_transforms(data):
    """Samples through the tutorial's dataset + v2 transforms: types, dtypes, values, flipped boxes."""
    for train in (True, False):
        (it, tt), (ie, te) = _batch("torch", data, train), _batch("ember", data, train)
        # masks_to_boxes: inclusive pixel extents; the flip maps x to W - x
        flipped = [[89.0, 10.0, 120.0, 69.0], [34.0, 20.0, 68.0, 87.0]]
        assert _np(tt[0]["boxes"]).tolist() == (flipped if train else [[8.0, 10.0, 39.0, 69.0], [60.0, 20.0, 94.0, 87.0]])
        for a, b, ta, tb in zip(it, ie, tt, te):
            assert type(b).__name__ == type(a).__name__ == "Tensor"  # ToPureTensor unwrapped the Image
            assert str(b.dtype) == "ember.float32" and str(a.dtype) == "torch.float32"
            np.testing.assert_array_equal(_np(b), _np(a))
            assert list(tb) == list(ta)
            for k in ta:
                if k == "image_id":
                    assert tb[k] == ta[k]
                    continue
                assert type(tb[k]).__name__ == type(ta[k]).__name__, k
                assert str(tb[k].dtype).split(".")[-1] == str(ta[k].dtype).split(".")[-1], k
                np.testing.assert_array_equal(_np(tb[k]), _np(ta[k]), err_msg=k)


def _models(dtype):
    kw = dict(weights=None, weights_backbone=None, min_size=96, max_size=128,
              rpn_post_nms_top_n_train=64, rpn_post_nms_top_n_test=64,  # fewer RoIs: the reference roi_align is slow
              rpn_batch_size_per_image=100000, box_batch_size_per_image=100000)  # samplers take every candidate
    out = []
    for lib, vis in ((torch, tv), (ember, ember.vision)):
        lib.manual_seed(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = vis.models.detection.maskrcnn_resnet50_fpn(**kw)
        det = vis.models.detection
        in_features = m.roi_heads.box_predictor.cls_score.in_features
        m.roi_heads.box_predictor = det.faster_rcnn.FastRCNNPredictor(in_features, 2)
        m.roi_heads.mask_predictor = det.mask_rcnn.MaskRCNNPredictor(m.roi_heads.mask_predictor.conv5_mask.in_channels,
                                                                     256, 2)
        out.append(m)
    t, e = out
    ts = t.state_dict()
    assert list(e.state_dict()) == list(ts)
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in ts.items()})
    return t.to(getattr(torch, dtype)), e.to(getattr(ember, dtype))


@pytest.mark.parametrize("dtype, rtol", [("float32", 2e-4), ("float64", 1e-8)])
def test_train_step_losses_and_sgd(data, dtype, rtol):
    """One tutorial train step (losses summed, SGD with momentum and weight decay) from equal weights."""
    t, e = _models(dtype)
    outs = []
    for side, m in (("torch", t), ("ember", e)):
        lib = torch if side == "torch" else ember
        images, targets = _batch(side, data)
        images = [i.to(getattr(lib, dtype)) for i in images]
        m.train()
        opt = lib.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=0.005, momentum=0.9, weight_decay=0.0005)
        loss_dict = m(images, targets)
        losses = sum(loss for loss in loss_dict.values())
        opt.zero_grad()
        losses.backward()
        opt.step()
        outs.append((loss_dict, dict(m.named_parameters())))
    (lt, pt), (le, pe) = outs
    assert list(le) == list(lt) == ["loss_classifier", "loss_box_reg", "loss_mask", "loss_objectness", "loss_rpn_box_reg"]
    for k in lt:
        assert str(le[k].dtype).split(".")[-1] == str(lt[k].dtype).split(".")[-1], k
        a, b = float(lt[k].detach()), float(le[k].detach())
        tol = max(rtol, 1e-6) if k == "loss_objectness" else rtol  # float32 in both (float32 labels)
        assert abs(a - b) <= tol * abs(a), (k, a, b)
    for name in ("roi_heads.box_predictor.cls_score.weight", "roi_heads.mask_predictor.mask_fcn_logits.weight"):
        a, b = _np(pt[name]), _np(pe[name])
        assert np.abs(a - b).max() <= rtol * np.abs(a).max(), name


def test_prediction_and_drawing(data):
    """Eval predictions' keys/dtypes/shapes, then the tutorial's drawing code on a fixed prediction."""
    t, e = _models("float32")
    t.eval()
    e.eval()
    (xt,), (xe,) = _batch("torch", data, False)[0][:1], _batch("ember", data, False)[0][:1]
    with torch.no_grad():
        pt = t([xt[:3, ...]])[0]
    with ember.no_grad():
        pe = e([xe[:3, ...]])[0]
    assert list(pe) == list(pt) == ["boxes", "labels", "scores", "masks"]
    for k in pt:
        assert str(pe[k].dtype).split(".")[-1] == str(pt[k].dtype).split(".")[-1], k
        assert tuple(pe[k].shape[1:]) == tuple(pt[k].shape[1:]), k
    imgs = []
    for side in ("torch", "ember"):
        L = _libs(side)
        image = L.read_image(os.path.join(data, "PNGImages", "FudanPed00000.png"))
        image = (255.0 * (image - image.min()) / (image.max() - image.min())).to(L.torch.uint8)[:3, ...]
        pred = {"boxes": L.torch.tensor([[10.4, 12.0, 60.9, 80.0], [50.0, 5.0, 120.0, 90.0]]),
                "scores": L.torch.tensor([0.9, 0.4]),
                "masks": L.torch.tensor(np.linspace(0, 1, 2 * 96 * 128, dtype=np.float32).reshape(2, 1, 96, 128))}
        labels = [f"pedestrian: {score:.3f}" for score in pred["scores"]]
        out = L.tv.utils.draw_bounding_boxes(image, pred["boxes"].long(), labels, colors="red")
        out = L.tv.utils.draw_segmentation_masks(out, (pred["masks"] > 0.7).squeeze(1), alpha=0.5, colors="blue")
        imgs.append(_np(out))
        assert labels == ["pedestrian: 0.900", "pedestrian: 0.400"]
    assert imgs[1].dtype == imgs[0].dtype == np.uint8
    np.testing.assert_array_equal(imgs[1], imgs[0])


def test_empty_prediction_draw_warnings():
    """A prediction with no detections (the shrunk tutorial's untrained model): both draws warn and return
    the image; the warnings are attributed to the drawing module itself, as torchvision's are (ember's
    used ``stacklevel=2``, which named the ``no_grad`` decorator's wrapper in autograd/grad_mode.py)."""
    img = np.arange(3 * 8 * 10, dtype=np.uint8).reshape(3, 8, 10)
    for lib, utils in ((torch, torchvision.utils), (ember, ember.vision.utils)):
        image = lib.tensor(img)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            out = utils.draw_bounding_boxes(image, lib.zeros((0, 4), dtype=lib.int64), [], colors="red")
            out = utils.draw_segmentation_masks(out, lib.zeros((0, 8, 10), dtype=lib.bool), alpha=0.5, colors="blue")
            utils.draw_bounding_boxes(image, lib.tensor([[1, 1, 5, 5]]), font_size=10)
        np.testing.assert_array_equal(_np(out), img)
        assert [str(x.message) for x in w] == ["boxes doesn't contain any box. No box was drawn",
                                               "masks doesn't contain any mask. No mask was drawn",
                                               "Argument 'font_size' will be ignored since 'font' is not set."]
        assert [os.path.basename(x.filename) for x in w] == ["utils.py"] * 3, [x.filename for x in w]
