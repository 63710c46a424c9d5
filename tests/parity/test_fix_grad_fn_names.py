"""``out.grad_fn`` carries PyTorch's node name (``MseLossBackward0``, ``TransposeBackward0``, ...)
for ops ember composes from other ops: programs and PyTorch's own autograd tutorial print it.
Compared with PyTorch on every device; the gradients themselves are the parity layer's business."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

import ember  # noqa: E402
import torch  # noqa: E402

R = np.random.default_rng(3)
X = (R.random((4, 6)) - 0.3).astype(np.float32)
T = R.random((4, 6)).astype(np.float32)
V = R.random(6).astype(np.float32)

EXPRS = {
    # reductions
    "sum-dim": lambda L, x, t, v, c: x.sum(0), "mean": lambda L, x, t, v, c: x.mean(),
    "mean-dim": lambda L, x, t, v, c: x.mean(1), "var": lambda L, x, t, v, c: x.var(),
    "std": lambda L, x, t, v, c: x.std(1), "var_mean": lambda L, x, t, v, c: L.var_mean(x, 1)[0],
    "std_mean-mean": lambda L, x, t, v, c: L.std_mean(x)[1], "logsumexp": lambda L, x, t, v, c: x.logsumexp(1),
    "topk": lambda L, x, t, v, c: x.topk(2)[0],
    # views and shapes
    "t": lambda L, x, t, v, c: x.t(), "transpose": lambda L, x, t, v, c: x.transpose(0, 1),
    "unsqueeze": lambda L, x, t, v, c: x.unsqueeze(1), "squeeze-all": lambda L, x, t, v, c: x[None].squeeze(),
    "squeeze-dim": lambda L, x, t, v, c: x[None].squeeze(0), "squeeze-dims": lambda L, x, t, v, c: x[None].squeeze((0,)),
    "select": lambda L, x, t, v, c: x[1], "select-method": lambda L, x, t, v, c: x.select(1, 2),
    "index-tensor": lambda L, x, t, v, c: x[c[:2]], "index-mask": lambda L, x, t, v, c: x[x > 0],
    "index-2d": lambda L, x, t, v, c: x[c[:2], c[1:3]], "index-mixed": lambda L, x, t, v, c: x[1:, c[:2]],
    "split-int": lambda L, x, t, v, c: x.split(3, 1)[1], "chunk": lambda L, x, t, v, c: x.chunk(2)[0],
    "split-sizes": lambda L, x, t, v, c: x.split([1, 3])[0], "unbind": lambda L, x, t, v, c: x.unbind()[2],
    "diagonal": lambda L, x, t, v, c: x.diagonal(), "diagonal-offset": lambda L, x, t, v, c: x.t().diagonal(1),
    "norm": lambda L, x, t, v, c: x.norm(), "norm-p1-dim": lambda L, x, t, v, c: x.norm(1, 0),
    **{f"interpolate-{mode}-{nd}d": (lambda L, x, t, v, c, mode=mode, nd=nd: L.nn.functional.interpolate(
        x.reshape((1, 1) + {1: (24,), 2: (4, 6), 3: (2, 3, 4)}[nd]), scale_factor=2, mode=mode))
       for nd, modes in {1: ("nearest", "nearest-exact", "linear", "area"), 2: ("nearest", "bilinear", "bicubic", "area"),
                         3: ("nearest", "trilinear", "area")}.items() for mode in modes},
    "stack": lambda L, x, t, v, c: L.stack([x, x]), "roll": lambda L, x, t, v, c: x.roll(1, 0),
    "roll-flat": lambda L, x, t, v, c: x.roll(2), "repeat": lambda L, x, t, v, c: x.repeat(2, 1),
    "tril": lambda L, x, t, v, c: x.tril(), "triu": lambda L, x, t, v, c: x.triu(1),
    # products
    "dot": lambda L, x, t, v, c: v @ v, "mv": lambda L, x, t, v, c: x @ v, "addmm": lambda L, x, t, v, c: L.addmm(x, x, L.eye(6, device=x.device)),
    "trace": lambda L, x, t, v, c: x[:, :4].trace(), "linear-no-bias": lambda L, x, t, v, c: L.nn.functional.linear(x, x),
    "linear-bias": lambda L, x, t, v, c: L.nn.functional.linear(x, x, v[:4]),
    # pointwise composites
    "masked_fill": lambda L, x, t, v, c: x.masked_fill(x > 0, 0.0), "square": lambda L, x, t, v, c: x.square(),
    "reciprocal": lambda L, x, t, v, c: x.reciprocal(), "frac": lambda L, x, t, v, c: x.frac(),
    "log1p": lambda L, x, t, v, c: x.log1p(), "lerp": lambda L, x, t, v, c: L.lerp(x, t, 0.3),
    "addcmul": lambda L, x, t, v, c: L.addcmul(x, x, t), "addcdiv": lambda L, x, t, v, c: L.addcdiv(x, x, t + 1),
    "nan_to_num": lambda L, x, t, v, c: x.nan_to_num(),
    # activations
    "elu": lambda L, x, t, v, c: L.nn.functional.elu(x), "selu": lambda L, x, t, v, c: L.nn.functional.selu(x),
    "celu": lambda L, x, t, v, c: L.nn.functional.celu(x), "leaky_relu": lambda L, x, t, v, c: L.nn.functional.leaky_relu(x),
    "glu": lambda L, x, t, v, c: L.nn.functional.glu(x), "logsigmoid": lambda L, x, t, v, c: L.nn.functional.logsigmoid(x),
    "softplus": lambda L, x, t, v, c: L.nn.functional.softplus(x), "silu": lambda L, x, t, v, c: L.nn.functional.silu(x),
    "mish": lambda L, x, t, v, c: L.nn.functional.mish(x), "hardswish": lambda L, x, t, v, c: L.nn.functional.hardswish(x),
    "hardsigmoid": lambda L, x, t, v, c: L.nn.functional.hardsigmoid(x),
    "hardtanh": lambda L, x, t, v, c: L.nn.functional.hardtanh(x), "relu6": lambda L, x, t, v, c: L.nn.functional.relu6(x),
    "threshold": lambda L, x, t, v, c: L.nn.functional.threshold(x, 0.1, 0.0),
    "hardshrink": lambda L, x, t, v, c: L.nn.functional.hardshrink(x),
    "softshrink": lambda L, x, t, v, c: L.nn.functional.softshrink(x),
    "prelu": lambda L, x, t, v, c: L.nn.functional.prelu(x, L.tensor([0.25], device=x.device)),
    # losses, every reduction
    **{f"{name}-{red}": (lambda L, x, t, v, c, f=f, red=red: f(L)(x, t, reduction=red))
       for name, f in {"mse": lambda L: L.nn.functional.mse_loss, "smooth_l1": lambda L: L.nn.functional.smooth_l1_loss,
                       "huber": lambda L: L.nn.functional.huber_loss,
                       "bce_logits": lambda L: L.nn.functional.binary_cross_entropy_with_logits,
                       "soft_margin": lambda L: L.nn.functional.soft_margin_loss}.items()
       for red in ("none", "mean", "sum")},
    "bce": lambda L, x, t, v, c: L.nn.functional.binary_cross_entropy(x.sigmoid(), t),
    "nll": lambda L, x, t, v, c: L.nn.functional.nll_loss(x, c), "cross_entropy": lambda L, x, t, v, c: L.nn.functional.cross_entropy(x, c),
    "multi_margin": lambda L, x, t, v, c: L.nn.functional.multi_margin_loss(x, c),
    # layers
    "batch_norm": lambda L, x, t, v, c: L.nn.functional.batch_norm(x, None, None, training=True),
    "group_norm": lambda L, x, t, v, c: L.nn.functional.group_norm(x.reshape(1, 2, 12), 2),
    "pixel_shuffle": lambda L, x, t, v, c: L.nn.functional.pixel_shuffle(x.reshape(1, 4, 3, 2), 2),
    "adaptive_avg_pool2d": lambda L, x, t, v, c: L.nn.functional.adaptive_avg_pool2d(x.reshape(1, 1, 4, 6), 2),
    "unfold": lambda L, x, t, v, c: L.nn.functional.unfold(x.reshape(1, 1, 4, 6), 2),
}


def _node(lib, name, device):
    x = lib.tensor(X, requires_grad=True) if lib is torch else ember.tensor(X, device=device, requires_grad=True)
    mk = (lambda a, dt=None: torch.tensor(a, dtype=dt)) if lib is torch else \
        (lambda a, dt=None: ember.tensor(a, dtype=dt, device=device))
    out = EXPRS[name](lib, x, mk(T), mk(V).requires_grad_(), mk([0, 1, 2, 3], lib.int64))
    return type(out.grad_fn).__name__


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(EXPRS))
def test_grad_fn_name_matches_pytorch(device, name):
    assert _node(ember, name, device) == _node(torch, name, "cpu")


def test_renamed_node_still_differentiates():
    """The renamed node is the composite's own last node: gradients are unchanged (finite differences)."""
    x = ember.tensor(X.astype(np.float64), requires_grad=True)
    t = ember.tensor(T.astype(np.float64))
    loss = ember.nn.functional.mse_loss(x, t)
    assert type(loss.grad_fn).__name__ == "MseLossBackward0"
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (X.astype(np.float64) - T) / X.size, rtol=1e-12)


def test_in_place_activation_keeps_its_own_node():
    x = ember.tensor(X, requires_grad=True) * 1.0
    before = x.grad_fn
    y = ember.nn.functional.leaky_relu(x, inplace=True)
    assert y is x and y.grad_fn is not before and type(y.grad_fn).__name__ != "LeakyReluBackward0"
