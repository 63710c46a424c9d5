"""Divergences from PyTorch found by probing torch.nn.functional, each checked on real PyTorch and on
ember (every device): values, dtypes and gradients.

cross_entropy / nll_loss when every target is ignored (0 gradients, NaN loss) and of an empty batch
(NaN); lp_pool over an all-zero window (gradient 0); threshold, hardshrink and softshrink keeping NaN;
interpolate as w0 x0 + w1 x1 next to an infinity; the activations' gradients at their kinks and at
NaN (PyTorch's backward formulas); grid_sample at NaN and infinite grid coordinates; mse/l1/huber
``weight=``; and the errors PyTorch raises (type and message) for integer/complex inputs of losses,
softmax, adaptive pooling and normalization, one-sided running statistics, pooling ranks and
output sizes, layer_norm/rms_norm shape arguments, linear/bilinear/convolution operand dtypes and
shapes, affine_grid batches, rrelu bounds and RNN/GRU ``proj_size``.
"""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, builtin_base, check  # noqa: E402

F32, F64 = np.float32, np.float64
NAN, INF = math.nan, math.inf
R = np.random.default_rng(23)


def A(values, dtype=F32, grad=True) -> Arg:
    return Arg(np.array(values, dtype=dtype), grad=grad)


def I(values) -> Arg:  # noqa: E743 - class indices
    return Arg(np.array(values, dtype=np.int64))


def RND(*shape: int, dtype=F32) -> Arg:
    return Arg(R.standard_normal(shape).astype(dtype))


X22 = [[1.0, 2.0], [3.0, 0.5]]


# ---- 1. cross_entropy / nll_loss: every target ignored, zero weights, empty batches ------------------
CE = [
    ((A(X22), I([-100, -100])), {}),
    ((A(X22), I([-100, -100])), {"label_smoothing": 0.1}),
    ((A(X22), I([-100, -100])), {"weight": A([1.0, 2.0], grad=False)}),
    ((A(X22), I([-100, -100])), {"weight": A([1.0, 2.0], grad=False), "label_smoothing": 0.2}),
    ((A(X22), I([1, 1])), {"ignore_index": 1}),
    ((A(X22), I([0, 0])), {"weight": A([0.0, 1.0], grad=False)}),  # 0 / 0 without ignoring: NaN gradients
    ((A(X22), I([0, -100])), {"weight": A([0.0, 1.0], grad=False)}),
    ((A(X22), I([0, 0])), {"weight": A([0.0, 1.0], grad=False), "label_smoothing": 0.2}),
    ((A([[-INF, 0.0], [1.0, 2.0]]), I([-100, 1])), {}),
    ((A([[[1.0, 2.0], [3.0, 0.5]]]), I([[-100, -100]])), {}),
    ((A([[[1.0, 2.0], [3.0, 0.5]]]), I([[-100, -100]])), {"label_smoothing": 0.3}),
    ((A([1.0, 2.0]), I(-100)), {}),
    ((A([1.0, 2.0]), I(-100)), {"label_smoothing": 0.3}),
    ((A(X22, F64), I([-100, -100])), {}),
    ((RND(4, 5), I([1, -100, 3, -100])), {"label_smoothing": 0.25}),
    ((RND(4, 5), I([1, -100, 3, 0])), {"weight": A([1.0, 2.0, 0.5, 3.0, 1.0], grad=False), "label_smoothing": 0.1}),
    ((Arg(np.zeros((0, 3), F32)), I(np.zeros(0, np.int64))), {}),
    ((Arg(np.zeros((0, 3), F32)), I(np.zeros(0, np.int64))), {"label_smoothing": 0.1}),
    ((Arg(np.zeros((0, 3), F32)), I(np.zeros(0, np.int64))), {"weight": A([1.0, 1.0, 1.0], grad=False)}),
    ((Arg(np.zeros((0, 3), F32)), Arg(np.zeros((0, 3), F32), grad=False)), {}),
    ((Arg(np.zeros((2, 3, 0), F32)), I(np.zeros((2, 0), np.int64))), {}),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("args,kwargs", CE, ids=range(len(CE)))
def test_cross_entropy_ignored_and_empty(device, args, kwargs, reduction):
    check(lambda L, x, t, **kw: L.nn.functional.cross_entropy(x, t, **kw), args, {**kwargs, "reduction": reduction},
          device)


NLL = [
    ((A(X22), I([-100, -100])), {}),
    ((A(X22), I([0, 0])), {"weight": A([0.0, 1.0], grad=False)}),
    ((A(X22), I([0, -100])), {"weight": A([0.0, 1.0], grad=False)}),
    ((A([[-INF, 0.0], [1.0, 2.0]]), I([-100, 1])), {}),
    ((A([[INF, 0.0], [1.0, 2.0]]), I([-100, 1])), {"weight": A([1.0, 2.0], grad=False)}),
    ((A([[[1.0, 2.0], [3.0, 0.5]]]), I([[-100, -100]])), {}),
    ((Arg(np.zeros((0, 3), F32)), I(np.zeros(0, np.int64))), {}),
    ((Arg(np.zeros((2, 3, 0), F32)), I(np.zeros((2, 0), np.int64))), {}),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("args,kwargs", NLL, ids=range(len(NLL)))
def test_nll_loss_ignored_and_empty(device, args, kwargs, reduction):
    check(lambda L, x, t, **kw: L.nn.functional.nll_loss(x, t, **kw), args, {**kwargs, "reduction": reduction}, device)


def test_cross_entropy_ignored_double_backward(device):
    """create_graph runs the backward in ember ops: it must skip the ignored rows too."""
    def fn(L, x, t):
        loss = L.nn.functional.cross_entropy(x, t)
        (g,) = L.autograd.grad(loss, x, create_graph=True)
        return g
    check(fn, (A(X22), I([-100, -100])), {}, device)
    check(fn, (RND(3, 4), I([2, -100, 0])), {}, device)


# ---- 2. lp_pool over an all-zero window --------------------------------------------------------------
LP1 = [(2.0, [[[0.0, 0.0, 1.0, 2.0]]]), (3.0, [[[0.0, 0.0, 1.0, 2.0]]]), (1.5, [[[0.0, 0.0, 1.0, 2.0]]]),
       (2.0, [[[0.0, 0.0, -1.0, -2.0]]]), (3.0, [[[0.0, 0.0, -1.0, -2.0]]]), (1.0, [[[0.0, 0.0, 3.0, -1.0]]])]


@pytest.mark.parametrize("p,x", LP1, ids=range(len(LP1)))
def test_lp_pool1d_zero_window(device, p, x):
    check(lambda L, t: L.nn.functional.lp_pool1d(t, p, 2), (A(x),), {}, device)


@pytest.mark.parametrize("p", [2.0, 3.0, 1.5])
def test_lp_pool2d_zero_window(device, p):
    x = np.zeros((1, 2, 4, 4), F32)
    x[0, 1, 2:, 2:] = [[1.0, 2.0], [0.5, 3.0]]
    check(lambda L, t: L.nn.functional.lp_pool2d(t, p, 2), (Arg(x),), {}, device)
    check(lambda L, t: L.nn.functional.lp_pool2d(t, p, (2, 1), stride=1), (Arg(x),), {}, device)


def test_lp_pool3d_zero_window(device):
    x = np.zeros((1, 1, 2, 4, 4), F32)
    x[0, 0, :, :2, :2] = 1.5
    check(lambda L, t: L.nn.functional.lp_pool3d(t, 2.0, 2), (Arg(x),), {}, device)


# ---- 3. threshold / hardshrink / softshrink keep NaN -------------------------------------------------
SPECIAL = [NAN, 1.0, 2.0, 0.0, -1.0, 0.5, -0.5, 0.2, -0.2, INF, -INF, 0.7]
# PyTorch's gradient at NaN is its scalar formula's (1) only below one vector of elements: its
# vectorized shrink backward gives 0 there. These rows stay under a vector (float64: 8 elements).
SHORT = [NAN, 1.0, -0.5, 0.2, -0.2, INF, 0.7]


def test_threshold_nan(device):
    check(lambda L, x: L.nn.functional.threshold(x, 1.0, 5.0), (A(SPECIAL),), {}, device)
    check(lambda L, x: L.nn.functional.threshold(x, 0.0, -3.0), (A(SPECIAL, F64),), {}, device)  # (no vector quirk)
    check(lambda L, x: L.nn.Threshold(0.5, 2.0)(x), (A(SPECIAL),), {}, device)
    check(lambda L, x: L.nn.functional.threshold(x * 1, 1.0, 5.0, inplace=True), (A(SPECIAL),), {}, device)
    check(lambda L, x: L.nn.functional.threshold(x, 1, 7), (Arg(np.array([0, 1, 2, 3], np.int64)),), {}, device)


@pytest.mark.parametrize("lambd", [0.5, 0.0, 1.0])
def test_shrink_nan(device, lambd):
    check(lambda L, x: L.nn.functional.hardshrink(x, lambd), (A(SPECIAL),), {}, device)
    check(lambda L, x: L.nn.functional.softshrink(x, lambd), (A(SPECIAL),), {}, device)
    check(lambda L, x: L.nn.Hardshrink(lambd)(x), (A(SHORT, F64),), {}, device)
    check(lambda L, x: L.nn.Softshrink(lambd)(x), (A(SHORT, F64),), {}, device)


def test_softshrink_signed_zero(device):
    out = ember.nn.functional.softshrink(ember.tensor([-0.3, 0.3], device=device), 0.5)
    assert np.signbit(out.cpu().numpy()).tolist() == [True, False]  # PyTorch's x * 0


# ---- 4. interpolate next to an infinity; the weights and the order --------------------------------------
def _interp(L, x, **kw):
    return L.nn.functional.interpolate(x, **kw)


INTERP_INF = [
    ([[[1.0, INF, 3.0]]], {"size": 5, "mode": "linear"}),
    ([[[1.0, INF, 3.0]]], {"size": 3, "mode": "linear"}),  # same size: PyTorch's weights 1 and 0
    ([[[1.0, -INF, 3.0, 4.0]]], {"size": 7, "mode": "linear", "align_corners": True}),
    ([[[1.0, INF, 3.0]]], {"scale_factor": 2.0, "mode": "linear"}),
    ([[[[1.0, INF, 3.0]]]], {"size": (1, 5), "mode": "bilinear"}),
    ([[[[1.0, INF, 3.0], [1.0, 2.0, 3.0]]]], {"size": (3, 5), "mode": "bilinear"}),
    ([[[[1.0, INF, 3.0], [1.0, 2.0, 3.0]]]], {"size": (3, 5), "mode": "bicubic", "align_corners": True}),
    ([[[[[1.0, INF], [3.0, 4.0]]]]], {"size": (1, 3, 3), "mode": "trilinear"}),
]


@pytest.mark.parametrize("x,kwargs", INTERP_INF, ids=range(len(INTERP_INF)))
def test_interpolate_infinity(device, x, kwargs):
    check(_interp, (A(x),), kwargs, device)


INTERP = [
    ((2, 3, 5), {"size": 7, "mode": "linear"}),
    ((2, 3, 5), {"size": 13, "mode": "linear"}),
    ((2, 3, 6), {"size": 4, "mode": "linear", "align_corners": True}),
    ((1, 2, 5), {"scale_factor": 1.7, "mode": "linear"}),
    ((1, 2, 4, 5), {"size": (7, 3), "mode": "bilinear"}),
    ((1, 2, 4, 5), {"scale_factor": (2.5, 0.7), "mode": "bilinear", "align_corners": False}),
    ((1, 2, 4, 5), {"size": (6, 9), "mode": "bicubic"}),
    ((1, 2, 4, 5), {"size": (3, 8), "mode": "bicubic", "align_corners": True}),
    ((1, 1, 3, 4, 2), {"size": (5, 2, 3), "mode": "trilinear"}),
]


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("shape,kwargs", INTERP, ids=range(len(INTERP)))
def test_interpolate_values(device, shape, kwargs, dtype):
    check(_interp, (RND(*shape, dtype=dtype),), kwargs, device)


@pytest.mark.parametrize("mode,size", [("linear", (9,)), ("linear", (13,)), ("linear", (3,)),
                                       ("bicubic", (3, 7))])
def test_interpolate_half_bitwise(device, mode, size):
    """float16: PyTorch's weights (1 - lambda taken in half) and float accumulation, bit for bit (its
    bilinear/trilinear kernels for small outputs are other, vectorized ones: within an ulp)."""
    x = R.standard_normal((1, 2) + (4,) * len(size)).astype(np.float16)
    t = torch.nn.functional.interpolate(torch.from_numpy(x), size=size, mode=mode).numpy()
    e = ember.nn.functional.interpolate(ember.tensor(x, device=device), size=size, mode=mode).cpu().numpy()
    np.testing.assert_array_equal(e, t)


def test_interpolate_weights_bitwise():
    """The taps' weights are PyTorch's bit for bit (an identity input reads them back)."""
    for n in range(2, 7):
        for out_n in range(2, 12):
            for align in (False, True):
                x = np.eye(n, dtype=F32).reshape(n, 1, n)
                t = torch.nn.functional.interpolate(torch.from_numpy(x), size=out_n, mode="linear",
                                                    align_corners=align).numpy()
                e = ember.nn.functional.interpolate(ember.tensor(x), size=out_n, mode="linear",
                                                    align_corners=align).numpy()
                np.testing.assert_array_equal(e, t, err_msg=f"{n} -> {out_n}, align_corners={align}")


# ---- 5. activation gradients at the kinks and at NaN -----------------------------------------------------
KINKS = [-3.0, 3.0, 0.0, -1.0, 1.0, 6.0, 0.5, -0.5, 2.5, -4.0, 7.0, INF, -INF, 20.0, 25.0, -2.0, 1e-3, 5.0]
# PyTorch's gradient at NaN is its scalar formula's (NaN passes as x) only outside its vectorized
# loops, whose comparisons give 0 (hardtanh, relu6, the shrinks) or NaN (hardswish, the elu family):
# ember follows the formula, so the NaN rows stay under one vector of elements (float64: 8).
NAN_ROW = [NAN, -3.0, 3.0, 0.0, 6.0, -1.0, 1.0]
ACTIVATIONS = {
    "relu6": lambda L, x: L.nn.functional.relu6(x),
    "hardtanh": lambda L, x: L.nn.functional.hardtanh(x),
    "hardtanh_-2_3": lambda L, x: L.nn.functional.hardtanh(x, -2.0, 3.0),
    "hardswish": lambda L, x: L.nn.functional.hardswish(x),
    "hardsigmoid": lambda L, x: L.nn.functional.hardsigmoid(x),
    "prelu": lambda L, x: L.nn.functional.prelu(x, L.tensor([0.25], dtype=x.dtype)),
    "rrelu_eval": lambda L, x: L.nn.functional.rrelu(x, training=False),
    "leaky_relu": lambda L, x: L.nn.functional.leaky_relu(x, 0.2),
    "softplus": lambda L, x: L.nn.functional.softplus(x),
    "softplus_beta": lambda L, x: L.nn.functional.softplus(x, beta=2.0, threshold=5.0),
    "elu": lambda L, x: L.nn.functional.elu(x),
    "elu_alpha": lambda L, x: L.nn.functional.elu(x, alpha=2.0),
    "selu": lambda L, x: L.nn.functional.selu(x),
    "celu": lambda L, x: L.nn.functional.celu(x, alpha=1.5),
    "ReLU6": lambda L, x: L.nn.ReLU6()(x),
    "Hardswish": lambda L, x: L.nn.Hardswish()(x),
    "Hardsigmoid": lambda L, x: L.nn.Hardsigmoid()(x),
    "Hardtanh_inplace": lambda L, x: L.nn.functional.hardtanh(x * 1, inplace=True),
}


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_kinks(device, name, dtype):
    check(ACTIVATIONS[name], (A(KINKS, dtype),), {}, device)
    check(ACTIVATIONS[name], (A(NAN_ROW, dtype),), {}, device)
    check(ACTIVATIONS[name], (RND(3, 7, dtype=dtype),), {}, device)


def test_prelu_weight_gradient_at_zero(device):
    check(lambda L, x, w: L.nn.functional.prelu(x, w), (A([[0.0, NAN, -1.0], [2.0, 0.0, -3.0]]), A([0.25, -0.5, 1.5])),
          {}, device)


@pytest.mark.parametrize("name", ["relu6", "hardswish", "softplus", "elu", "hardtanh"])  # (PyTorch has no hardsigmoid double backward)
def test_activation_double_backward(device, name):
    def fn(L, x):
        y = ACTIVATIONS[name](L, x)
        (g,) = L.autograd.grad(y.sum(), x, create_graph=True)
        return g * x
    check(fn, (A([-4.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.5, 3.0, 7.0], F64),), {}, device)


def test_hardtanh_integer_keeps_clamp(device):
    check(lambda L, x: L.nn.functional.hardtanh(x, -2, 3), (Arg(np.array([-5, -2, 0, 3, 9], np.int64)),), {}, device)


def test_rrelu_training_nan_gradient(device):
    """Training draws a slope where x <= 0: NaN keeps slope 1 (its gradient)."""
    x = ember.tensor([NAN, 1.0], device=device, requires_grad=True)
    ember.nn.functional.rrelu(x, training=True).sum().backward()
    assert x.grad.cpu().numpy().tolist() == [1.0, 1.0]


# ---- 6. grid_sample at NaN and infinite coordinates -------------------------------------------------------
GRID2 = [[NAN, 0.0], [0.0, NAN], [INF, 0.0], [-INF, 0.3], [0.2, INF], [0.1, -INF], [NAN, NAN], [0.5, 0.2],
         [1.0, -1.0]]
GRID3 = [[NAN, 0.0, 0.1], [0.0, NAN, 0.2], [0.1, 0.0, NAN], [INF, 0.0, 0.1], [0.3, -INF, 0.0], [0.2, 0.1, -0.3]]


def _gs(L, x, g, **kw):
    return L.nn.functional.grid_sample(x, g, **kw)


def _img(*spatial: int) -> Arg:
    return Arg(np.arange(1.0, 1 + math.prod(spatial), dtype=F32).reshape(1, 1, *spatial))


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_grid_sample_2d_nonfinite(device, mode, padding_mode, align_corners):
    kw = {"mode": mode, "padding_mode": padding_mode, "align_corners": align_corners}
    grid = Arg(np.array(GRID2, F32).reshape(1, 1, len(GRID2), 2))
    if mode == "bilinear" and padding_mode != "zeros":
        # PyTorch's 2-D CPU backward reads out of bounds here (it crashes): the values only
        grid = Arg(grid.array, grad=False)
        check(_gs, (Arg(_img(3, 4).array, grad=False), grid), kw, device)
        return
    check(_gs, (_img(3, 4), grid), kw, device)


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_grid_sample_3d_nonfinite(device, mode, padding_mode, align_corners):
    kw = {"mode": mode, "padding_mode": padding_mode, "align_corners": align_corners}
    check(_gs, (_img(2, 3, 4), Arg(np.array(GRID3, F32).reshape(1, 1, 1, len(GRID3), 3))), kw, device)


# ---- 7. weighted mse/l1/huber losses, huber's delta ----------------------------------------------------
def _fn(path: str):
    """``L.nn.functional.<path>`` (or ``L.<path>``) as a check() expression."""
    def run(L, *args, **kwargs):
        obj = L
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj(*args, **kwargs)
    return run


WEIGHTED = [(name, red, extra) for name in ("mse_loss", "l1_loss", "huber_loss") for red in ("mean", "sum", "none")
            for extra in ({}, {"delta": 0.4})
            if not (extra and name != "huber_loss")]


@pytest.mark.parametrize("name,reduction,extra", WEIGHTED)
def test_weighted_pointwise_losses(device, name, reduction, extra):
    """PyTorch 2.13's weight=: mse/l1 'mean' divide by the weights' sum, huber's by the count."""
    x, y, w = RND(3, 4), RND(3, 4), Arg(R.random((3, 4)).astype(F32))
    check(_fn("nn.functional." + name), (x, y), {"weight": w, "reduction": reduction, **extra}, device)


ERRORS = {
    # losses
    "huber delta 0": lambda L, x: L.nn.functional.huber_loss(x, x, delta=0.0),
    "huber delta <0": lambda L, x: L.nn.functional.huber_loss(x, x, delta=-1.0),
    "mse weight shape": lambda L, x: L.nn.functional.mse_loss(x, x, weight=L.ones(4)),
    "mse weight reduction": lambda L, x: L.nn.functional.mse_loss(x, x, weight=L.ones(3, 4), reduction="bad"),
    "huber weight reduction": lambda L, x: L.nn.functional.huber_loss(x, x, weight=L.ones(3, 4), reduction="bad"),
    "cross_entropy int": lambda L, x: L.nn.functional.cross_entropy(x.int(), L.tensor([0, 1, 2])),
    "cross_entropy int 3d": lambda L, x: L.nn.functional.cross_entropy(x.long().unsqueeze(-1), L.zeros(3, 1).long()),
    "cross_entropy int 1d": lambda L, x: L.nn.functional.cross_entropy(x[0].long(), L.tensor(1)),
    "cross_entropy complex": lambda L, x: L.nn.functional.cross_entropy(x.to(L.complex64), L.tensor([0, 1, 2])),
    "cross_entropy int smoothing": lambda L, x: L.nn.functional.cross_entropy(x.int(), L.tensor([0, 1, 2]),
                                                                              label_smoothing=0.1),
    "nll_loss int": lambda L, x: L.nn.functional.nll_loss(x.int(), L.tensor([0, 1, 2])),
    "nll_loss int shape first": lambda L, x: L.nn.functional.nll_loss(x.int(), L.tensor([0, 1])),
    "nll_loss int 3d": lambda L, x: L.nn.functional.nll_loss(x.int().unsqueeze(-1), L.zeros(3, 1).long()),
    "nll_loss bool": lambda L, x: L.nn.functional.nll_loss(x > 0, L.tensor([0, 1, 2])),
    "softmax int lastdim": lambda L, x: L.softmax(x.int(), 1),
    "softmax int dim 0": lambda L, x: L.softmax(x.int(), 0),
    "log_softmax bool": lambda L, x: L.log_softmax(x > 0, 0),
    "log_softmax int 0-d": lambda L, x: L.log_softmax(x[0, 0].int(), 0),
    # pooling
    "adaptive_avg_pool2d empty H": lambda L, x: L.nn.functional.adaptive_avg_pool2d(x[:, :0].unsqueeze(0), 2),
    "adaptive_avg_pool2d 2d": lambda L, x: L.nn.functional.adaptive_avg_pool2d(x, 2),
    "adaptive_avg_pool2d size 1": lambda L, x: L.nn.functional.adaptive_avg_pool2d(x.unsqueeze(0), (2,)),
    "adaptive_avg_pool2d size 3": lambda L, x: L.nn.functional.adaptive_avg_pool2d(x.unsqueeze(0), (2, 2, 2)),
    "adaptive_avg_pool1d empty L": lambda L, x: L.nn.functional.adaptive_avg_pool1d(x[:, :0], 2),
    "adaptive_avg_pool1d 1d": lambda L, x: L.nn.functional.adaptive_avg_pool1d(x[0], 2),
    "adaptive_max_pool1d 1d": lambda L, x: L.nn.functional.adaptive_max_pool1d(x[0], 2),
    "adaptive_max_pool2d 2d": lambda L, x: L.nn.functional.adaptive_max_pool2d(x, 2),
    "adaptive_max_pool2d 2d indices": lambda L, x: L.nn.functional.adaptive_max_pool2d(x, 2, return_indices=True),
    "adaptive_avg_pool2d 2d tuple": lambda L, x: L.nn.functional.adaptive_avg_pool2d(x, (2, 2)),
    "adaptive_max_pool2d 2d tuple": lambda L, x: L.nn.functional.adaptive_max_pool2d(x, (2, 2)),
    "adaptive_max_pool2d size 3": lambda L, x: L.nn.functional.adaptive_max_pool2d(x.reshape(1, 1, 3, 4), (2, 2, 2)),
    "adaptive_max_pool2d size 3 idx": lambda L, x: L.nn.functional.adaptive_max_pool2d(x.reshape(1, 1, 3, 4),
                                                                                       (2, 2, 2), return_indices=True),
    "adaptive_avg_pool3d 3d tuple": lambda L, x: L.nn.functional.adaptive_avg_pool3d(x.reshape(1, 3, 4), (2, 2, 2)),
    "adaptive_max_pool3d 3d tuple": lambda L, x: L.nn.functional.adaptive_max_pool3d(x.reshape(1, 3, 4), (2, 2, 2)),
    "adaptive_avg_pool1d size 2": lambda L, x: L.nn.functional.adaptive_avg_pool1d(x, (2, 2)),
    "adaptive_max_pool1d size 2": lambda L, x: L.nn.functional.adaptive_max_pool1d(x, (2, 2)),
    "adaptive_max_pool1d size 2 idx": lambda L, x: L.nn.functional.adaptive_max_pool1d(x, (2, 2), return_indices=True),
    "adaptive_avg_pool3d empty C": lambda L, x: L.nn.functional.adaptive_avg_pool3d(L.zeros(1, 0, 3, 3, 3), 2),
    "adaptive_avg_pool3d empty D": lambda L, x: L.nn.functional.adaptive_avg_pool3d(L.zeros(1, 2, 0, 3, 3), 2),
    "avg_pool2d 2d": lambda L, x: L.nn.functional.avg_pool2d(x, 2),
    "avg_pool2d 1d": lambda L, x: L.nn.functional.avg_pool2d(x[0], 2),
    "avg_pool2d 5d": lambda L, x: L.nn.functional.avg_pool2d(x.reshape(1, 1, 1, 3, 4), 2),
    "avg_pool1d 1d": lambda L, x: L.nn.functional.avg_pool1d(x[0], 2),
    "avg_pool1d 4d": lambda L, x: L.nn.functional.avg_pool1d(x.reshape(1, 1, 3, 4), 2),
    "lp_pool2d 2d": lambda L, x: L.nn.functional.lp_pool2d(x, 2, 2),
    "adaptive_avg_pool2d int": lambda L, x: L.nn.functional.adaptive_avg_pool2d(x.long().unsqueeze(0), 2),
    "adaptive_avg_pool2d bool": lambda L, x: L.nn.functional.adaptive_avg_pool2d(x.unsqueeze(0) > 0, 2),
    "adaptive_avg_pool2d complex": lambda L, x: L.nn.functional.adaptive_avg_pool2d(
        x.unsqueeze(0).to(L.complex64), 2),
    "adaptive_max_pool2d int": lambda L, x: L.nn.functional.adaptive_max_pool2d(x.long().unsqueeze(0), 2),
    "adaptive_max_pool2d int idx": lambda L, x: L.nn.functional.adaptive_max_pool2d(x.long().unsqueeze(0), 2,
                                                                                    return_indices=True),
    "adaptive_avg_pool1d int": lambda L, x: L.nn.functional.adaptive_avg_pool1d(x.long(), 2),
    "adaptive_max_pool1d int": lambda L, x: L.nn.functional.adaptive_max_pool1d(x.long(), 2),
    "adaptive_avg_pool3d int": lambda L, x: L.nn.functional.adaptive_avg_pool3d(x.long().reshape(1, 1, 3, 4), 2),
    "adaptive_max_pool3d int": lambda L, x: L.nn.functional.adaptive_max_pool3d(x.long().reshape(1, 1, 3, 4), 2),
    # normalization dtypes and running statistics
    "batch_norm int": lambda L, x: L.nn.functional.batch_norm(x.long(), None, None, training=True),
    "batch_norm int eval": lambda L, x: L.nn.functional.batch_norm(x.long(), L.zeros(4), L.ones(4)),
    "batch_norm bool": lambda L, x: L.nn.functional.batch_norm(x > 0, None, None, training=True),
    "batch_norm complex": lambda L, x: L.nn.functional.batch_norm(x.to(L.complex64), None, None, training=True),
    "batch_norm int size first": lambda L, x: L.nn.functional.batch_norm(x.long(), L.zeros(3), L.ones(3)),
    "batch_norm int batch 1": lambda L, x: L.nn.functional.batch_norm(x[:1].long(), None, None, training=True),
    "BatchNorm1d int": lambda L, x: L.nn.BatchNorm1d(4)(x.long()),
    "batch_norm mean only": lambda L, x: L.nn.functional.batch_norm(x, L.zeros(4), None, training=True),
    "batch_norm var only": lambda L, x: L.nn.functional.batch_norm(x, None, L.ones(4), training=True),
    "batch_norm int mean only": lambda L, x: L.nn.functional.batch_norm(x.long(), L.zeros(4), None, training=True),
    "batch_norm mean only bad size": lambda L, x: L.nn.functional.batch_norm(x, L.zeros(3), None, training=True),
    "batch_norm var only eval": lambda L, x: L.nn.functional.batch_norm(x, None, L.ones(4)),
    "group_norm int": lambda L, x: L.nn.functional.group_norm(x.long(), 2),
    "group_norm complex": lambda L, x: L.nn.functional.group_norm(x.to(L.complex64), 2),
    "group_norm int groups first": lambda L, x: L.nn.functional.group_norm(x.long(), 3),
    "group_norm int float weight": lambda L, x: L.nn.functional.group_norm(x.long(), 2, weight=L.ones(4)),
    "GroupNorm int": lambda L, x: L.nn.GroupNorm(2, 4)(x.long()),
    "instance_norm int": lambda L, x: L.nn.functional.instance_norm(x.long().unsqueeze(0)),
    "instance_norm int stats": lambda L, x: L.nn.functional.instance_norm(x.long().unsqueeze(0), L.zeros(3),
                                                                          L.ones(3)),
    "instance_norm mean only": lambda L, x: L.nn.functional.instance_norm(x.unsqueeze(0), running_mean=L.zeros(3)),
    "instance_norm var only": lambda L, x: L.nn.functional.instance_norm(x.unsqueeze(0), running_var=L.ones(3)),
    # convolution bias dtypes
    "conv2d bias double": lambda L, x: L.nn.functional.conv2d(x.reshape(1, 1, 3, 4), L.ones(1, 1, 2, 2),
                                                              L.ones(1).double()),
    "conv2d bias half": lambda L, x: L.nn.functional.conv2d(x.reshape(1, 1, 3, 4), L.ones(1, 1, 2, 2),
                                                            L.ones(1).half()),
    "conv2d double bias float": lambda L, x: L.nn.functional.conv2d(x.reshape(1, 1, 3, 4).double(),
                                                                    L.ones(1, 1, 2, 2).double(), L.ones(1)),
    "conv2d double bias bfloat16": lambda L, x: L.nn.functional.conv2d(x.reshape(1, 1, 3, 4).double(),
                                                                       L.ones(1, 1, 2, 2).double(),
                                                                       L.ones(1).bfloat16()),
    "conv1d bias double": lambda L, x: L.nn.functional.conv1d(x.unsqueeze(0), L.ones(1, 3, 2), L.ones(1).double()),
    "conv3d bias double": lambda L, x: L.nn.functional.conv3d(x.reshape(1, 1, 1, 3, 4), L.ones(1, 1, 1, 2, 2),
                                                              L.ones(1).double()),
    "conv_transpose3d bias double": lambda L, x: L.nn.functional.conv_transpose3d(
        x.reshape(1, 1, 1, 3, 4), L.ones(1, 1, 1, 2, 2), L.ones(1).double()),
    # affine_grid
    "affine_grid batch": lambda L, x: L.nn.functional.affine_grid(L.eye(2, 3).unsqueeze(0), (2, 1, 2, 3),
                                                                  align_corners=False),
    # layer_norm / rms_norm
    "layer_norm int shape": lambda L, x: L.nn.functional.layer_norm(x, 4),
    "layer_norm float shape": lambda L, x: L.nn.functional.layer_norm(x, (4.0,)),
    "layer_norm empty shape": lambda L, x: L.nn.functional.layer_norm(x, ()),
    "rms_norm int shape": lambda L, x: L.nn.functional.rms_norm(x, 4),
    "rms_norm empty shape": lambda L, x: L.nn.functional.rms_norm(x, ()),
    "rms_norm bad shape": lambda L, x: L.nn.functional.rms_norm(x, (3,)),
    "rms_norm bad shape 2": lambda L, x: L.nn.functional.rms_norm(x, (2, 4)),
    # linear / bilinear
    "linear bias double": lambda L, x: L.nn.functional.linear(x, L.ones(2, 4), L.ones(2).double()),
    "linear bias double 3d": lambda L, x: L.nn.functional.linear(x.unsqueeze(0), L.ones(2, 4), L.ones(2).double()),
    "linear bias double 1d": lambda L, x: L.nn.functional.linear(x[0], L.ones(2, 4), L.ones(2).double()),
    "linear input double": lambda L, x: L.nn.functional.linear(x.double(), L.ones(2, 4), L.ones(2)),
    "linear weight double": lambda L, x: L.nn.functional.linear(x, L.ones(2, 4).double(), L.ones(2)),
    "linear both double": lambda L, x: L.nn.functional.linear(x, L.ones(2, 4).double(), L.ones(2).double()),
    "linear bias half": lambda L, x: L.nn.functional.linear(x, L.ones(2, 4), L.ones(2).half()),
    "linear int bias": lambda L, x: L.nn.functional.linear(x.long(), L.ones(2, 4).long(), L.ones(2).int()),
    "linear 3d weight": lambda L, x: L.nn.functional.linear(x, L.ones(2, 2, 4)),
    "bilinear input2": lambda L, x: L.nn.functional.bilinear(x, x[:, :3], L.ones(5, 4, 4)),
    "bilinear input1": lambda L, x: L.nn.functional.bilinear(x[:, :3], x, L.ones(5, 4, 4)),
    "bilinear batch": lambda L, x: L.nn.functional.bilinear(x, x[:2], L.ones(5, 4, 4)),
    "bilinear batch dim 1": lambda L, x: L.nn.functional.bilinear(x.unsqueeze(0), x[:2].unsqueeze(0),
                                                                  L.ones(5, 4, 4)),
    "bilinear dims": lambda L, x: L.nn.functional.bilinear(x, x.unsqueeze(0), L.ones(5, 4, 4)),
    "bilinear bias": lambda L, x: L.nn.functional.bilinear(x, x, L.ones(5, 4, 4), L.ones(4)),
    "bilinear 2d weight": lambda L, x: L.nn.functional.bilinear(x, x, L.ones(3, 4)),
    # activations / RNN constructors
    "rrelu bounds": lambda L, x: L.nn.functional.rrelu(x, 0.3, 0.1),
    "rrelu bounds training": lambda L, x: L.nn.functional.rrelu(x, 0.3, 0.1, training=True),
    "rrelu bounds int": lambda L, x: L.nn.functional.rrelu(x.long(), 0.3, 0.1),
    "RReLU bounds": lambda L, x: L.nn.RReLU(0.3, 0.1)(x),
    "GRU proj_size": lambda L, x: L.nn.GRU(3, 4, proj_size=2),
    "GRU proj_size 0": lambda L, x: L.nn.GRU(3, 4, proj_size=0),
    "RNN proj_size": lambda L, x: L.nn.RNN(3, 4, proj_size=1),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_pytorch(name):
    """The error PyTorch raises, same type and same message."""
    x = np.arange(12, dtype=F32).reshape(3, 4) / 7 - 0.5
    with pytest.raises(Exception) as want:
        ERRORS[name](torch, torch.from_numpy(x))
    with pytest.raises(builtin_base(type(want.value))) as got:
        ERRORS[name](ember, ember.tensor(x))
    assert str(got.value).replace("ember.Size", "torch.Size") == str(want.value)


VALID = {
    "adaptive_avg_pool2d empty C": lambda L, x: L.nn.functional.adaptive_avg_pool2d(x.reshape(1, 0, 3, 3), 2),
    "adaptive_avg_pool2d empty N": lambda L, x: L.nn.functional.adaptive_avg_pool2d(x.reshape(0, 2, 3, 3), 2),
    "adaptive_avg_pool1d empty N": lambda L, x: L.nn.functional.adaptive_avg_pool1d(x.reshape(0, 3), 2),
    "adaptive_avg_pool3d empty N": lambda L, x: L.nn.functional.adaptive_avg_pool3d(x.reshape(0, 3, 3, 3), 2),
    "adaptive_avg_pool2d None": lambda L, x: L.nn.functional.adaptive_avg_pool2d(x.reshape(2, 2, 2), (None, 1)),
    "adaptive_max_pool2d None": lambda L, x: L.nn.functional.adaptive_max_pool2d(x.reshape(2, 2, 2), (1, None)),
    "adaptive_max_pool3d None": lambda L, x: L.nn.functional.adaptive_max_pool3d(x.reshape(1, 2, 2, 2), (None, 1, 1)),
    "layer_norm Size": lambda L, x: L.nn.functional.layer_norm(x.reshape(2, 4), L.Size([4])),
    "layer_norm list": lambda L, x: L.nn.functional.layer_norm(x.reshape(2, 4), [np.int64(4)]),
    "rms_norm list": lambda L, x: L.nn.functional.rms_norm(x.reshape(2, 4), [4]),
    "linear bias broadcast": lambda L, x: L.nn.functional.linear(x.reshape(2, 4), x.new_ones(3, 4), x.new_ones(2, 3)),
    "bilinear batched": lambda L, x: L.nn.functional.bilinear(x.reshape(2, 4), x.reshape(2, 4), x.new_ones(3, 4, 4),
                                                              x.new_ones(3)),
    "rrelu equal bounds": lambda L, x: L.nn.functional.rrelu(x, 0.2, 0.2),
    # (PyTorch returns an empty integer input as it is)
    "instance_norm int empty": lambda L, x: L.nn.functional.instance_norm(x.long().reshape(0, 3, 4)),
    "batch_norm int empty": lambda L, x: L.nn.functional.batch_norm(x.long().reshape(0, 3), None, None,
                                                                                training=True),
    # PyTorch's 1-d/2-d transposed convolutions add a bias of another dtype in the input's
    "conv_transpose2d bias double": lambda L, x: L.nn.functional.conv_transpose2d(
        x.reshape(1, 1, 2, 4), x.new_ones(1, 1, 2, 2), x.new_ones(1).double()),
    "conv_transpose1d bias double": lambda L, x: L.nn.functional.conv_transpose1d(
        x.reshape(1, 2, 4), x.new_ones(2, 1, 2), x.new_ones(1).double()),
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_neighbours(device, name):
    """The cases next to the refused ones still compute PyTorch's values."""
    size = 0 if "empty" in name else 8
    # (PyTorch's adaptive_avg_pool2d backward refuses the 0 channels its forward accepts: values only)
    check(VALID[name], (Arg(R.standard_normal(size).astype(F32), grad="empty C" not in name),), {}, device)


# ---- F.linear with a bias that would broadcast the result (it must not: PyTorch's expand error) ----
LINEAR_BIAS_SHAPES = [
    ((3, 4), (1, 4), (2,)), ((2, 3, 4), (1, 4), (2,)), ((4,), (1, 4), (2,)), ((3, 4), (2, 4), (3, 2)),
    ((3, 4), (2, 4), (1, 2)), ((3, 4), (2, 4), (3, 1)), ((3, 4), (2, 4), (2, 3, 2)), ((2, 3, 4), (2, 4), (3, 2)),
    ((2, 3, 4), (2, 4), (2,)), ((2, 3, 4), (2, 4), (2, 1, 2)), ((5, 2, 3, 4), (2, 4), (4, 2)),
    ((2, 3, 4), (2, 4), (2, 2, 3, 2)), ((2, 3, 4), (2, 4), (5, 1, 2)), ((2, 3, 4), (2, 4), (4, 2)),
]


@pytest.mark.parametrize("xs,ws,bs", LINEAR_BIAS_SHAPES)
def test_linear_bias_never_broadcasts_the_result(xs, ws, bs):
    import torch as _torch

    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in (xs, ws, bs)]

    def run(lib):
        try:
            return lib.nn.functional.linear(*(lib.tensor(a) for a in arrays)).numpy()
        except RuntimeError as e:
            return ("RuntimeError", str(e).replace("torch.", "").replace("ember.", ""))

    want, got = run(_torch), run(ember)
    if isinstance(want, tuple):
        assert got == want
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
