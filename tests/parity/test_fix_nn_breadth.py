"""Issue #14 section 2 (nn breadth): padding modules, pixel (un)shuffle, Upsample and the interpolate
modes (nearest-exact, bicubic, area, trilinear), conv1d/3d and their transposes, 1-d/3-d pooling,
adaptive max pooling with indices, LPPool, max_unpool, Fold/Unfold and ``Tensor.unfold``.

Each case runs on real PyTorch and on ember (every device): values, dtypes, shapes, exception types
and the gradients of every floating input (weights included) must agree. Modules also compare their
``state_dict`` keys and shapes and their repr with PyTorch's.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

R = np.random.default_rng(14)
CONV_TOL = 20.0  # composites sum in another order than PyTorch's kernels


def RND(*shape: int, grad: bool = True) -> Arg:
    return Arg(R.standard_normal(shape).astype(np.float32), grad=grad)


def F(lib):
    return lib.nn.functional


# ---- padding modules -----------------------------------------------------------------------------
PAD = [("ZeroPad1d", (2,), (2, 3, 5)), ("ZeroPad1d", ((1, -1),), (3, 5)), ("ZeroPad2d", ((1, 2, 0, 3),), (1, 2, 4, 5)),
       ("ZeroPad2d", (1,), (2, 3, 3)), ("ZeroPad3d", (1,), (1, 2, 3, 3, 3)), ("ZeroPad3d", ((0, 1, 2, 0, 1, 1),), (2, 2, 3, 2)),
       ("ConstantPad1d", (2, 1.5), (2, 3, 4)), ("ConstantPad1d", (1, 2.0), (3,)),
       ("ConstantPad2d", ((1, 0, 2, 1), -2.0), (2, 3, 3)), ("ConstantPad3d", ((1, 1, 0, 2, 1, 0), 0.5), (2, 2, 2, 3)),
       ("ReflectionPad1d", (2,), (2, 3, 5)), ("ReflectionPad1d", ((3, 1),), (4, 4)), ("ReflectionPad1d", (5,), (2, 3)),
       ("ReflectionPad2d", ((1, 2, 2, 0),), (1, 2, 4, 5)), ("ReflectionPad2d", (1,), (3, 3)),
       ("ReflectionPad3d", (1,), (1, 1, 3, 3, 3)), ("ReflectionPad3d", ((2, 0, 1, 1, 0, 1),), (2, 3, 3, 4)),
       ("ReplicationPad1d", ((3, 1),), (2, 2, 3)), ("ReplicationPad2d", (2,), (1, 2, 3, 4)),
       ("ReplicationPad2d", ((1, -1, 0, 2),), (2, 3, 4)), ("ReplicationPad3d", ((1, 2, 0, 1, 2, 0),), (1, 1, 2, 3, 2)),
       ("ReplicationPad3d", (1,), (3, 3, 3)),
       ("CircularPad1d", (2,), (2, 3, 4)), ("CircularPad1d", (1,), (3,)), ("CircularPad2d", ((1, 0, 2, 1),), (1, 2, 3, 3)),
       ("CircularPad2d", (1,), (2, 3)), ("CircularPad3d", (1,), (1, 1, 2, 3, 3)),
       ("ZeroPad2d", ((1, 2, 3),), (1, 2, 3, 3))]


@pytest.mark.parametrize("name,args,shape", PAD, ids=[f"{c[0]}-{i}" for i, c in enumerate(PAD)])
def test_padding_modules(device, name, args, shape):
    check(lambda L, x: getattr(L.nn, name)(*args)(x), (RND(*shape),), {}, device)


@pytest.mark.parametrize("name,args", [(c[0], c[1]) for c in PAD[:-1]], ids=[f"{c[0]}-{i}" for i, c in enumerate(PAD[:-1])])
def test_padding_module_attrs(name, args):
    t, e = getattr(torch.nn, name)(*args), getattr(ember.nn, name)(*args)
    assert repr(e) == repr(t) and e.padding == t.padding
    assert list(e.state_dict()) == list(t.state_dict()) == []


# ---- pixel shuffle -------------------------------------------------------------------------------
SHUFFLE = [((1, 8, 3, 3), 2), ((2, 3, 9, 2, 2), 3), ((0, 4, 2, 2), 2), ((4, 1, 1), 2), ((8, 2, 2), 1),
           ((4, 4), 2), ((3, 4, 4), 2), ((4, 4, 4), 0), ((4, 4, 4), -1), ((4, 4, 4), 2.0)]


@pytest.mark.parametrize("shape,r", SHUFFLE, ids=range(len(SHUFFLE)))
def test_pixel_shuffle(device, shape, r):
    x = RND(*shape, grad=0 not in shape)  # PyTorch's backward fails on an empty batch
    check(lambda L, t: F(L).pixel_shuffle(t, r), (x,), {}, device)
    check(lambda L, t: L.nn.PixelShuffle(r)(t), (x,), {}, device)


UNSHUFFLE = [((1, 2, 6, 6), 2), ((2, 3, 1, 6, 9), 3), ((3, 4, 4), 4), ((4, 4), 2), ((4, 5, 4), 2), ((4, 4, 5), 2),
             ((4, 4, 4), 0)]


@pytest.mark.parametrize("shape,r", UNSHUFFLE, ids=range(len(UNSHUFFLE)))
def test_pixel_unshuffle(device, shape, r):
    check(lambda L, x: F(L).pixel_unshuffle(x, r), (RND(*shape),), {}, device)
    check(lambda L, x: L.nn.PixelUnshuffle(r)(x), (RND(*shape),), {}, device)


# ---- interpolate / Upsample ----------------------------------------------------------------------
INTERP = [((1, 2, 5), {"size": 8, "mode": "nearest-exact"}), ((1, 2, 4, 5), {"scale_factor": 1.7, "mode": "nearest-exact"}),
          ((1, 1, 7, 6), {"size": (3, 4), "mode": "nearest-exact"}), ((1, 1, 3, 3, 4), {"size": (5, 2, 7), "mode": "nearest-exact"}),
          ((1, 2, 4, 5), {"size": (7, 9), "mode": "bicubic"}), ((1, 2, 4, 5), {"size": (7, 9), "mode": "bicubic",
                                                                            "align_corners": True}),
          ((2, 1, 6, 7), {"size": (3, 4), "mode": "bicubic"}), ((2, 1, 6, 7), {"size": (3, 4), "mode": "bicubic",
                                                                             "align_corners": True}),
          ((1, 1, 4, 4), {"scale_factor": 2.5, "mode": "bicubic"}), ((1, 1, 5, 4), {"scale_factor": (0.6, 1.5), "mode": "bicubic"}),
          ((1, 1, 3, 3), {"size": 1, "mode": "bicubic", "align_corners": True}),
          ((1, 2, 7), {"size": 3, "mode": "area"}), ((1, 2, 6, 7), {"size": (4, 3), "mode": "area"}),
          ((1, 2, 6, 7), {"scale_factor": 0.5, "mode": "area"}), ((1, 1, 4, 5, 6), {"size": (2, 3, 4), "mode": "area"}),
          ((1, 1, 3, 4, 5), {"size": (5, 3, 7), "mode": "trilinear"}),
          ((1, 1, 3, 4, 5), {"scale_factor": 1.5, "mode": "trilinear", "align_corners": True}),
          ((1, 2, 5), {"scale_factor": 1.3, "mode": "linear"}), ((1, 2, 5, 4), {"scale_factor": 2, "mode": "nearest"}),
          ((1, 2, 5, 4), {"size": (3, 3), "mode": "bilinear", "align_corners": False}),
          ((1, 2, 5), {"size": 3, "mode": "bicubic"}), ((1, 2, 5, 5, 5), {"size": 3, "mode": "bicubic"}),
          ((1, 2, 5, 5), {"size": 3, "mode": "area", "align_corners": True}),
          ((1, 2, 5, 5), {"size": 3, "mode": "nearest-exact", "align_corners": False}),
          ((1, 2, 5), {"size": 3, "mode": "linear", "antialias": True}), ((1, 2, 5), {"size": 3, "mode": "bilinear"}),
          ((1, 2, 5, 5), {"size": 3, "mode": "trilinear"}), ((1, 2, 5, 5), {"size": 3, "mode": "foo"}),
          ((1, 2, 5, 5), {"size": 3, "scale_factor": 2.0}), ((1, 2, 5, 5), {}),
          ((1, 2, 5, 5), {"size": 3, "recompute_scale_factor": True}), ((1, 2, 5, 5), {"size": (3, 3, 3)}),
          ((1, 2, 9, 11), {"size": (4, 5), "mode": "bilinear", "antialias": True}),
          ((1, 2, 9, 11), {"size": (4, 5), "mode": "bicubic", "antialias": True, "align_corners": True}),
          ((1, 2, 9, 11), {"scale_factor": (0.37, 1.6), "mode": "bicubic", "antialias": True}),
          ((1, 2, 9, 11), {"size": (3, 17), "mode": "bilinear", "antialias": True, "align_corners": True})]


@pytest.mark.parametrize("shape,kwargs", INTERP, ids=range(len(INTERP)))
def test_interpolate_modes(device, shape, kwargs):
    check(lambda L, x: F(L).interpolate(x, **kwargs), (RND(*shape),), {}, device, tol=5.0)


@pytest.mark.parametrize("name,kwargs", [("upsample_nearest", {"scale_factor": 2}), ("upsample_nearest", {"size": 5}),
                                         ("upsample_bilinear", {"size": (3, 7)}),
                                         ("upsample_bilinear", {"scale_factor": 1.5})])
def test_deprecated_upsample_functions(device, name, kwargs):
    with pytest.warns(UserWarning, match="deprecated"):
        check(lambda L, x: getattr(F(L), name)(x, **kwargs), (RND(1, 2, 4, 3),), {}, device)


def test_interpolate_uint8_nearest_exact(device):
    x = Arg(R.integers(0, 256, (1, 2, 5, 7)).astype(np.uint8))
    check(lambda L, t: F(L).interpolate(t, size=(8, 4), mode="nearest-exact"), (x,), {}, device)


UPSAMPLE = [("Upsample", {"scale_factor": 2}), ("Upsample", {"size": (5, 7), "mode": "bicubic", "align_corners": True}),
            ("Upsample", {"scale_factor": (1.5, 2.0), "mode": "bilinear"}), ("Upsample", {"size": 3, "mode": "area"}),
            ("Upsample", {"scale_factor": 2, "mode": "nearest-exact"}),
            ("UpsamplingNearest2d", {"size": 5}), ("UpsamplingNearest2d", {"scale_factor": 3}),
            ("UpsamplingBilinear2d", {"scale_factor": 1.5}), ("UpsamplingBilinear2d", {"size": (2, 6)})]


@pytest.mark.parametrize("name,kwargs", UPSAMPLE, ids=range(len(UPSAMPLE)))
def test_upsample_modules(device, name, kwargs):
    check(lambda L, x: getattr(L.nn, name)(**kwargs)(x), (RND(1, 2, 4, 3),), {}, device, tol=5.0)
    t, e = getattr(torch.nn, name)(**kwargs), getattr(ember.nn, name)(**kwargs)
    assert repr(e) == repr(t)
    assert (e.size, e.scale_factor, e.mode, e.align_corners) == (t.size, t.scale_factor, t.mode, t.align_corners)


# ---- convolutions --------------------------------------------------------------------------------
CONV1 = [((2, 4, 9), (6, 4, 3), {}), ((2, 4, 9), (6, 2, 3), {"groups": 2, "stride": 2, "padding": 1}),
         ((4, 10), (3, 4, 4), {"dilation": 2, "padding": "same"}), ((1, 3, 8), (3, 3, 2), {"padding": "valid", "stride": 3}),
         ((1, 3, 8), (3, 3, 9), {}), ((1, 3, 8), (3, 2, 2), {}), ((1, 3, 8, 2), (3, 3, 2), {}),
         ((1, 3, 8), (3, 3, 2), {"stride": 0}), ((1, 3, 8), (3, 3, 2), {"padding": "full"})]


@pytest.mark.parametrize("xs,ws,kw", CONV1, ids=range(len(CONV1)))
@pytest.mark.parametrize("bias", [False, True])
def test_conv1d(device, xs, ws, kw, bias):
    args = (RND(*xs), RND(*ws), RND(ws[0]) if bias else None)
    check(lambda L, x, w, b: F(L).conv1d(x, w, b, **kw), args, {}, device, tol=CONV_TOL)


CONV3 = [((1, 2, 4, 5, 6), (3, 2, 2, 3, 2), {}), ((2, 4, 5, 5, 4), (4, 2, 3, 1, 2), {"groups": 2, "stride": (2, 1, 2), "padding": 1}),
         ((2, 5, 6, 5), (2, 2, 3, 2, 2), {"dilation": (2, 1, 2), "padding": (1, 0, 2)}),
         ((1, 2, 5, 4, 6), (2, 2, 2, 3, 4), {"padding": "same"}), ((1, 2, 5, 4, 6), (2, 2, 3, 3, 3), {"padding": "same", "dilation": 2}),
         ((1, 1, 3, 3, 3), (1, 1, 4, 2, 2), {}), ((1, 2, 3, 3, 3), (1, 1, 2, 2, 2), {}),
         ((1, 1, 3, 3, 3), (1, 1, 2, 2, 2), {"stride": 0}), ((1, 1, 3, 3, 3), (1, 1, 2, 2, 2), {"padding": -1}),
         ((1, 1, 3, 3, 3), (1, 1, 2, 2), {}), ((1, 1, 3, 3, 3), (1, 1, 2, 2, 2), {"padding": "same", "stride": 2})]


@pytest.mark.parametrize("xs,ws,kw", CONV3, ids=range(len(CONV3)))
@pytest.mark.parametrize("bias", [False, True])
def test_conv3d(device, xs, ws, kw, bias):
    args = (RND(*xs), RND(*ws), RND(ws[0]) if bias else None)
    check(lambda L, x, w, b: F(L).conv3d(x, w, b, **kw), args, {}, device, tol=CONV_TOL)


CONVT1 = [((2, 4, 5), (4, 3, 3), {}), ((2, 4, 5), (4, 2, 3), {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}),
          ((3, 6), (3, 2, 2), {"dilation": 3, "stride": 2, "padding": 2}), ((2, 4, 5), (4, 3, 3), {"output_padding": 1}),
          ((2, 3, 5), (4, 3, 3), {}), ((2, 4, 5, 2), (4, 3, 3), {}), ((2, 4, 5), (4, 3, 3), {"stride": 0}),
          ((2, 4, 5), (4, 3, 3), {"padding": -1})]


@pytest.mark.parametrize("xs,ws,kw", CONVT1, ids=range(len(CONVT1)))
@pytest.mark.parametrize("bias", [False, True])
def test_conv_transpose1d(device, xs, ws, kw, bias):
    cout = ws[1] * kw.get("groups", 1)
    args = (RND(*xs), RND(*ws), RND(cout) if bias else None)
    check(lambda L, x, w, b: F(L).conv_transpose1d(x, w, b, **kw), args, {}, device, tol=CONV_TOL)


CONVT3 = [((1, 2, 3, 4, 3), (2, 3, 2, 3, 2), {}),
          ((2, 4, 3, 2, 3), (4, 1, 3, 2, 3), {"stride": (2, 1, 3), "padding": (1, 0, 1), "output_padding": (1, 0, 2),
                                              "groups": 2}),
          ((2, 3, 3, 3), (2, 2, 2, 2, 2), {"dilation": 2, "stride": 2, "padding": 1}),
          ((1, 2, 3, 3), (2, 1, 2, 2, 2), {}), ((1, 2, 3, 3, 3), (2, 1, 2, 2, 2), {"output_padding": 2, "stride": 2}),
          ((1, 2, 3, 3, 3), (2, 1, 2, 2, 2), {"padding": -1})]


@pytest.mark.parametrize("xs,ws,kw", CONVT3, ids=range(len(CONVT3)))
@pytest.mark.parametrize("bias", [False, True])
def test_conv_transpose3d(device, xs, ws, kw, bias):
    cout = ws[1] * kw.get("groups", 1)
    args = (RND(*xs), RND(*ws), RND(cout) if bias else None)
    check(lambda L, x, w, b: F(L).conv_transpose3d(x, w, b, **kw), args, {}, device, tol=CONV_TOL)


CONV_MODULES = [("Conv3d", (4, 6, 3), {"stride": 2, "padding": 1, "groups": 2}, (2, 4, 5, 6, 5)),
                ("Conv3d", (2, 3, (1, 2, 3)), {"bias": False, "padding_mode": "reflect", "padding": 1}, (2, 4, 4, 4)),
                ("Conv3d", (2, 2, 3), {"padding": "same", "padding_mode": "circular"}, (1, 2, 3, 4, 5)),
                ("ConvTranspose3d", (4, 2, 3), {"stride": 2, "output_padding": 1, "groups": 2}, (1, 4, 2, 3, 2)),
                ("ConvTranspose3d", (2, 3, (2, 1, 3)), {"bias": False, "dilation": 2}, (2, 3, 2, 2)),
                ("Conv1d", (4, 6, 3), {"stride": 2, "padding": 1, "groups": 2, "padding_mode": "replicate"}, (2, 4, 7)),
                ("ConvTranspose1d", (4, 2, 3), {"stride": 2, "output_padding": 1}, (1, 4, 5))]


@pytest.mark.parametrize("name,args,kw,shape", CONV_MODULES, ids=range(len(CONV_MODULES)))
def test_conv_modules(device, name, args, kw, shape):
    """Same repr, state_dict keys and shapes as PyTorch; with PyTorch's weights loaded, the same
    output and the same input and weight gradients."""
    t = getattr(torch.nn, name)(*args, **kw)
    e = getattr(ember.nn, name)(*args, **kw, device=device)
    assert repr(e) == repr(t)
    assert [(k, tuple(v.shape)) for k, v in e.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    e.load_state_dict({k: ember.tensor(v.numpy(), device=device) for k, v in t.state_dict().items()})
    x = R.standard_normal(shape).astype(np.float32)
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, device=device, requires_grad=True)
    to, eo = t(tx), e(ex)
    np.testing.assert_allclose(eo.detach().cpu().numpy(), to.detach().numpy(), rtol=1e-4, atol=1e-4)
    (to ** 2).sum().backward()
    (eo ** 2).sum().backward()
    np.testing.assert_allclose(ex.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    for (pname, tp), ep in zip(t.named_parameters(), e.parameters()):
        np.testing.assert_allclose(ep.grad.cpu().numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-4, err_msg=pname)


# ---- pooling -------------------------------------------------------------------------------------
MAXPOOL3 = [((1, 2, 4, 5, 6), (2,), {}), ((2, 5, 5, 4), (3,), {"stride": 2, "padding": 1}),
            ((1, 1, 5, 6, 7), ((2, 3, 2),), {"stride": (1, 2, 3), "dilation": (2, 1, 2), "ceil_mode": True}),
            ((1, 2, 5, 5, 5), (3,), {"stride": 2, "ceil_mode": True, "padding": 1}),
            ((2, 3, 3), (2,), {}), ((1, 2, 3, 3, 3), (2,), {"padding": 2}), ((1, 2, 3, 3, 3), (4,), {}),
            ((1, 2, 3, 3, 3), (2,), {"stride": 0}), ((1, 2, 3, 3, 3), (0,), {"stride": 1}),
            ((1, 2, 3, 3, 3), (2,), {"dilation": 0}), ((1, 2, 3, 3, 3), (2,), {"padding": -1})]


@pytest.mark.parametrize("shape,args,kw", MAXPOOL3, ids=range(len(MAXPOOL3)))
@pytest.mark.parametrize("indices", [False, True])
def test_max_pool3d(device, shape, args, kw, indices):
    check(lambda L, x: F(L).max_pool3d(x, *args, return_indices=indices, **kw), (RND(*shape),), {}, device)


AVGPOOL3 = [((1, 2, 4, 5, 6), (2,), {}), ((2, 5, 5, 4), (3,), {"stride": 2, "padding": 1}),
            ((2, 5, 5, 4), (3,), {"stride": 2, "padding": 1, "count_include_pad": False}),
            ((1, 1, 5, 6, 7), ((2, 3, 2),), {"stride": (1, 2, 3), "ceil_mode": True}),
            ((1, 1, 5, 6, 7), ((2, 3, 2),), {"stride": 2, "ceil_mode": True, "padding": 1, "count_include_pad": False}),
            ((1, 2, 4, 4, 4), (2,), {"divisor_override": 3}),
            ((2, 3, 3), (2,), {}), ((1, 2, 3, 3, 3), (2,), {"padding": 2}), ((1, 2, 3, 3, 3), (4,), {}),
            ((1, 2, 3, 3, 3), (2,), {"stride": 0}), ((1, 2, 3, 3, 3), (2,), {"divisor_override": 0})]


@pytest.mark.parametrize("shape,args,kw", AVGPOOL3, ids=range(len(AVGPOOL3)))
def test_avg_pool3d(device, shape, args, kw):
    check(lambda L, x: F(L).avg_pool3d(x, *args, **kw), (RND(*shape),), {}, device, tol=5.0)


POOL1 = [("max_pool1d", (2, 3, 9), (3,), {"stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True}),
         ("max_pool1d", (3, 8), (2,), {"return_indices": True}),
         ("avg_pool1d", (2, 3, 9), (3,), {"stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False}),
         ("avg_pool1d", (3, 8), (4,), {})]


@pytest.mark.parametrize("fn,shape,args,kw", POOL1, ids=range(len(POOL1)))
def test_pool1d(device, fn, shape, args, kw):
    check(lambda L, x: getattr(F(L), fn)(x, *args, **kw), (RND(*shape),), {}, device)


ADAPTIVE = [("adaptive_avg_pool3d", (1, 2, 5, 6, 7), (2, 3, 4)), ("adaptive_avg_pool3d", (2, 4, 4, 4), 2),
            ("adaptive_avg_pool3d", (2, 4, 4, 4), (None, 3, 1)), ("adaptive_avg_pool3d", (2, 3, 3), 2),
            ("adaptive_max_pool3d", (1, 2, 5, 6, 7), (2, 3, 4)), ("adaptive_max_pool3d", (2, 4, 5, 4), 3),
            ("adaptive_max_pool3d", (2, 3, 3), 2), ("adaptive_max_pool3d", (1, 3, 3, 3), (2, 2))]


@pytest.mark.parametrize("fn,shape,out", ADAPTIVE, ids=range(len(ADAPTIVE)))
def test_adaptive_3d(device, fn, shape, out):
    check(lambda L, x: getattr(F(L), fn)(x, out), (RND(*shape),), {}, device)


ADAPTIVE_IDX = [(1, (2, 3, 7), 3), (1, (3, 8), 5), (1, (2, 3, 7), (2, 2)), (2, (1, 2, 5, 7), (3, 4)), (2, (2, 6, 6), 4),
                (2, (1, 2, 5, 7), (None, 3)), (2, (2, 4, 4), (4, 4)), (2, (3, 3), 2), (2, (1, 3, 3), -1),
                (3, (1, 2, 5, 6, 7), (2, 3, 4)), (3, (2, 4, 5, 3), 2)]


@pytest.mark.parametrize("nd,shape,out", ADAPTIVE_IDX, ids=range(len(ADAPTIVE_IDX)))
def test_adaptive_max_indices(device, nd, shape, out):
    check(lambda L, x: getattr(F(L), f"adaptive_max_pool{nd}d")(x, out, return_indices=True), (RND(*shape),), {},
          device)
    check(lambda L, x: getattr(L.nn, f"AdaptiveMaxPool{nd}d")(out, return_indices=True)(x), (RND(*shape),), {},
          device)


LP = [(1, (2, 3, 9), 2.0, 3, None, False), (1, (3, 8), 3.0, 2, 3, True), (2, (1, 2, 6, 7), 2.0, 2, None, False),
      (2, (2, 5, 5), 1.5, (2, 3), (1, 2), True), (3, (1, 2, 4, 5, 6), 2.0, 2, None, False),
      (3, (2, 4, 4, 5), 3.0, (2, 1, 2), 2, True)]


@pytest.mark.parametrize("nd,shape,p,k,s,ceil", LP, ids=range(len(LP)))
def test_lp_pool(device, nd, shape, p, k, s, ceil):
    x = Arg(np.abs(R.standard_normal(shape)).astype(np.float32) + 0.1)  # x ** p with a non-integer p needs x > 0
    check(lambda L, t: getattr(F(L), f"lp_pool{nd}d")(t, p, k, s, ceil), (x,), {}, device, tol=5.0)
    check(lambda L, t: getattr(L.nn, f"LPPool{nd}d")(p, k, s, ceil)(t), (x,), {}, device, tol=5.0)


UNPOOL = [(1, (2, 3, 8), 2, {}), (1, (3, 9), 3, {"stride": 2, "padding": 1}),
          (2, (1, 2, 4, 6), 2, {}), (2, (2, 5, 5), 3, {"stride": 2, "padding": 1}),
          (2, (1, 2, 5, 5), 2, {"output_size": (5, 5)}), (2, (1, 2, 4, 4), 2, {"output_size": (1, 2, 5, 5)}),
          (2, (1, 2, 4, 4), 2, {"output_size": (7, 7)}), (2, (1, 2, 4, 4), 2, {"output_size": (5,)}),
          (3, (1, 2, 4, 4, 6), 2, {}), (3, (2, 5, 4, 5), 3, {"stride": 2, "padding": 1})]


@pytest.mark.parametrize("nd,shape,k,kw", UNPOOL, ids=range(len(UNPOOL)))
def test_max_unpool(device, nd, shape, k, kw):
    pool_kw = {key: v for key, v in kw.items() if key != "output_size"}

    def fn(L, x):
        out, idx = getattr(F(L), f"max_pool{nd}d")(x, k, return_indices=True, **pool_kw)
        return getattr(F(L), f"max_unpool{nd}d")(out, idx, k, **kw)

    def mod(L, x):
        out, idx = getattr(L.nn, f"MaxPool{nd}d")(k, return_indices=True, **pool_kw)(x)
        return getattr(L.nn, f"MaxUnpool{nd}d")(k, **pool_kw)(out, idx, output_size=kw.get("output_size"))
    check(fn, (RND(*shape),), {}, device)
    check(mod, (RND(*shape),), {}, device)


def test_max_unpool_errors(device):
    x = RND(1, 2, 2, 2)
    bad = Arg(np.full((1, 2, 2, 2), 10, dtype=np.int64), grad=False)
    check(lambda L, t, i: F(L).max_unpool2d(t, i, 2), (x, bad), {}, device)  # index out of range
    check(lambda L, t, i: F(L).max_unpool2d(t, i.float(), 2), (x, bad), {}, device)
    check(lambda L, t, i: F(L).max_unpool2d(t[0, 0], i[0, 0], 2), (x, bad), {}, device)
    check(lambda L, t, i: F(L).max_unpool2d(t, i[:, :, :1], 2), (x, bad), {}, device)


POOL_MODULES = [("MaxPool3d", (2,), {"stride": 1, "padding": 1, "ceil_mode": True}, (1, 2, 3, 4, 5)),
                ("MaxPool3d", (2,), {"return_indices": True}, (2, 4, 4, 4)),
                ("AvgPool3d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}, (1, 2, 5, 4, 5)),
                ("AdaptiveAvgPool3d", ((2, 1, 3),), {}, (1, 2, 5, 4, 5)), ("AdaptiveMaxPool3d", (2,), {}, (2, 5, 4, 5)),
                ("Fold", ((4, 5), 2), {"stride": 1, "padding": 1}, (2, 12, 30)),
                ("Unfold", ((2, 3),), {"dilation": (1, 2), "stride": 2}, (2, 3, 6, 7))]


@pytest.mark.parametrize("name,args,kw,shape", POOL_MODULES, ids=range(len(POOL_MODULES)))
def test_pool_and_fold_modules(device, name, args, kw, shape):
    check(lambda L, x: getattr(L.nn, name)(*args, **kw)(x), (RND(*shape),), {}, device)
    assert repr(getattr(ember.nn, name)(*args, **kw)) == repr(getattr(torch.nn, name)(*args, **kw))


def test_module_reprs():
    for name, args in [("LPPool1d", (2, 3)), ("LPPool2d", (2.0, (2, 3), 1, True)), ("LPPool3d", (1, 2)),
                       ("MaxUnpool1d", (2,)), ("MaxUnpool2d", ((2, 3), 1)), ("MaxUnpool3d", (2, None, 1)),
                       ("PixelShuffle", (3,)), ("PixelUnshuffle", (2,)), ("Fold", (5, 2)), ("Unfold", (2, 1, 0, 2))]:
        t, e = getattr(torch.nn, name)(*args), getattr(ember.nn, name)(*args)
        assert repr(e) == repr(t), name
        assert list(e.state_dict()) == list(t.state_dict()) == [], name


# ---- Tensor.unfold -------------------------------------------------------------------------------
UNFOLD = [((10,), 0, 3, 2), ((10,), 0, 2, 2), ((10,), 0, 1, 3), ((3, 7, 5), 1, 2, 1), ((3, 7, 5), -1, 5, 1),
          ((10,), 0, 0, 1), ((4, 6), 0, 4, 4), ((4, 6), 1, 3, 3), ((2, 9, 3), 1, 4, 3), ((), 0, 1, 1),
          ((10,), 0, 11, 2), ((10,), 0, 3, 0), ((10,), 0, -1, 1), ((10,), 1, 3, 1), ((), 0, 2, 1)]


@pytest.mark.parametrize("shape,dim,size,step", UNFOLD, ids=range(len(UNFOLD)))
def test_tensor_unfold(device, shape, dim, size, step):
    check(lambda L, x: x.unfold(dim, size, step), (RND(*shape),), {}, device)
    if len(shape) >= 2:  # a non-contiguous (transposed) input
        storage = R.standard_normal((*shape[:-2], shape[-1], shape[-2])).astype(np.float32)
        check(lambda L, x: x.unfold(dim, size, step) * 2, (Arg(storage, layout="T", shape=shape),), {}, device)


@pytest.mark.parametrize("shape,dim,size,step", [((10,), 0, 2, 2), ((4, 6), 1, 3, 3), ((3, 8), 1, 1, 3)])
def test_tensor_unfold_is_a_view(device, shape, dim, size, step):
    """Non-overlapping windows are views in ember too: an in-place write reaches the base."""
    def fn(L, x):
        base = x.detach().clone()
        base.unfold(dim, size, step).mul_(3)
        return base
    check(fn, (RND(*shape),), {}, device)


@pytest.mark.parametrize("case", range(3))
def test_conv3d_composite_path(device, hide_kernels, case):
    """conv3d / conv_transpose3d on a backend without the optional conv2d kernels (the composite)."""
    hide_kernels({"conv2d", "conv2d_backward"})
    xs, ws, kw = CONV3[case]
    check(lambda L, x, w: F(L).conv3d(x, w, **kw), (RND(*xs), RND(*ws)), {}, device, tol=CONV_TOL)
    xs, ws, kw = CONVT3[case]
    check(lambda L, x, w: F(L).conv_transpose3d(x, w, **kw), (RND(*xs), RND(*ws)), {}, device, tol=CONV_TOL)
