"""What running kuangliu/pytorch-cifar (the "CIFAR ResNet" zoo: ResNet, VGG, DenseNet, DPN, ShuffleNet,
EfficientNet, RegNet, DLA, PNASNet...) against ember checked, as general mechanisms.

* Non-int sizes: ShuffleNetG2 builds ``nn.Conv2d(in, out_planes/4, ...)`` (a float), which PyTorch refuses
  with its argument parser's TypeError. ember raised the same type with its own wording; the wording now
  follows PyTorch's parser (which depends on packed vs. separate sizes and on the bad element's position),
  and Linear/Conv/Bilinear pass their weight shape as one tuple, as PyTorch's modules do.
* The building blocks of those models (conv-BN-ReLU residual blocks, grouped/depthwise convs, channel
  shuffle by view/permute/reshape, concatenation, squeeze-excitation gating, drop-connect written with
  ``empty().bernoulli_()`` and in-place ``div_``/``mul_``), trained with SGD(momentum, weight_decay) and
  CosineAnnealingLR, compared with PyTorch in float64: in float32 a deep net's gradients differ from
  PyTorch's (and from PyTorch's own float64) wherever rounding moves a ReLU input across 0, so float64 is
  where a real difference shows.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _err(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e), str(e).splitlines()[0]
    return None


# ---- non-int sizes: PyTorch's argument-parser errors -------------------------------------------------
SIZE_CALLS = [
    ("empty", ((2.0, 3),)), ("empty", ((2, 3.0),)), ("empty", ((2, 3, 4.0),)), ("empty", ([2.0],)),
    ("empty", (2.5, 3)), ("empty", ((None, 2),)), ("empty", ((2, "a"),)), ("zeros", (2.0,)),
    ("zeros", ((2.0, 3),)), ("zeros", (2, 3.0)), ("zeros", (True,)), ("ones", (2, 3.5)), ("ones", ((1.5,),)),
    ("rand", ((2.0,),)), ("rand", (2, 3.0)), ("randn", (2, 3.0)), ("randn", ((2.0, 2),)), ("full", ((2.0,), 1.0)),
    ("full", ((2, 2.0), 1.0)),
]


@pytest.mark.parametrize("name,args", SIZE_CALLS, ids=[f"{n}{a}" for n, a in SIZE_CALLS])
def test_factory_size_errors(device, name, args):
    t = _err(lambda: getattr(torch, name)(*args))
    e = _err(lambda: getattr(ember, name)(*args, device=device))
    assert t is not None and e == t


def test_factory_integer_like_sizes_still_work(device):
    for args in [(np.int64(2), 3), ((np.int32(2), 3),), (torch.tensor(2).item(), 1)]:
        assert tuple(ember.zeros(*args, device=device).shape) == tuple(torch.zeros(*args).shape)


MODULES = [
    ("Linear", (3, 4.0)), ("Linear", (3.0, 4)), ("Conv2d", (3, 4.0, 3)), ("Conv2d", (3.0, 4, 3)),
    ("Conv2d", (4, 8.0, 3), {"groups": 2}), ("ConvTranspose2d", (3, 4.0, 3)), ("Conv1d", (3.0, 4, 3)),
    ("Bilinear", (2, 3, 4.0)), ("BatchNorm2d", (4.0,)),
]


@pytest.mark.parametrize("spec", MODULES, ids=[f"{m[0]}{m[1]}" for m in MODULES])
def test_module_float_sizes_raise_as_pytorch(spec):
    name, args, kw = spec[0], spec[1], (spec[2] if len(spec) > 2 else {})
    t = _err(lambda: getattr(torch.nn, name)(*args, **kw))
    e = _err(lambda: getattr(ember.nn, name)(*args, **kw))
    assert t is not None and e == t


# ---- CIFAR-zoo building blocks, trained one SGD step ---------------------------------------------------
def _blocks(lib):
    nn, F = lib.nn, lib.nn.functional

    def swish(x):
        return x * x.sigmoid()

    def drop_connect(x, drop_ratio):  # EfficientNet's, verbatim
        keep_ratio = 1.0 - drop_ratio
        mask = lib.empty([x.shape[0], 1, 1, 1], dtype=x.dtype, device=x.device)
        mask.bernoulli_(keep_ratio)
        x.div_(keep_ratio)
        x.mul_(mask)
        return x

    class Shuffle(nn.Module):
        def forward(self, x):
            n, c, h, w = x.size()
            return x.view(n, 2, c // 2, h, w).permute(0, 2, 1, 3, 4).reshape(n, c, h, w)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.dw = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8, bias=False)  # depthwise
            self.bn2 = nn.BatchNorm2d(8)
            self.gconv = nn.Conv2d(8, 8, 1, groups=2, bias=True)  # grouped, bias before BN (DenseNet/VGG)
            self.bn3 = nn.BatchNorm2d(8)
            self.short = nn.Sequential(nn.Conv2d(3, 8, 1, stride=2, bias=False), nn.BatchNorm2d(8))
            self.se1, self.se2 = nn.Conv2d(16, 4, 1), nn.Conv2d(4, 16, 1)
            self.fc1, self.fc2 = nn.Linear(16, 6), nn.Linear(6, 16)  # SENet's avg_pool + Linear gate
            self.linear = nn.Linear(16, 10)
            self.shuffle = Shuffle()

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = F.relu(self.bn2(self.dw(out)))
            out = self.shuffle(self.bn3(self.gconv(out)))
            out = drop_connect(out, 0.0) + self.short(x)  # keep ratio 1: the mask is all ones
            y = F.max_pool2d(out, kernel_size=3, stride=1, padding=1)
            out = F.relu(lib.cat([out, y], 1))
            w = swish(self.se1(F.adaptive_avg_pool2d(out, (1, 1))))
            out = out * self.se2(w).sigmoid()
            g = F.avg_pool2d(out, out.size(2)).view(out.size(0), -1)
            g = F.sigmoid(self.fc2(F.relu(self.fc1(g))))
            out = F.avg_pool2d(out, 4)  # 8x8 -> 2x2
            out = F.adaptive_avg_pool2d(out, 1).view(out.size(0), -1) * g
            return self.linear(out)

    return Net()


def _np(t):
    return t.detach().cpu().numpy().copy()  # on CPU numpy() shares memory: a snapshot, not a live view


def _train(lib, net, x, y, device=None):
    """eval logits, then two train steps (loss, grads, BN stats, params), then eval logits again."""
    rec = {}
    net.eval()
    with lib.no_grad():
        rec["eval0"] = _np(net(x))
    net.train()
    opt = lib.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=3)
    for step in range(2):
        opt.zero_grad()
        out = net(x)
        loss = lib.nn.CrossEntropyLoss()(out, y)
        loss.backward()
        rec[f"logits{step}"], rec[f"loss{step}"] = _np(out), np.array(loss.item())
        rec.update({f"grad{step}/{k}": _np(p.grad) for k, p in net.named_parameters()})
        rec.update({f"buf{step}/{k}": _np(b) for k, b in net.named_buffers()})
        opt.step()
        sched.step()
        rec[f"lr{step}"] = np.array(sched.get_last_lr())
        rec.update({f"param{step}/{k}": _np(p) for k, p in net.named_parameters()})
    net.eval()
    with lib.no_grad():
        rec["eval1"] = _np(net(x))
    return rec


@pytest.mark.parametrize("batch", [2, 4])
def test_cifar_blocks_train_step_float64(device, batch):
    torch.manual_seed(batch)
    tnet = _blocks(torch).double()
    with torch.no_grad():  # non-trivial running stats, so eval mode means something
        for k, b in tnet.named_buffers():
            if k.endswith("running_mean"):
                b.copy_(torch.randn_like(b) * 0.1)
            elif k.endswith("running_var"):
                b.copy_(torch.rand_like(b) + 0.5)
    enet = _blocks(ember).double()  # before loading: float32 parameters would round what they receive
    enet.load_state_dict({k: ember.tensor(_np(v)) for k, v in tnet.state_dict().items()})
    enet = enet.to(device)
    x = torch.randn(batch, 3, 8, 8, dtype=torch.float64)
    y = torch.randint(0, 10, (batch,))
    ref = _train(torch, tnet, x, y)
    got = _train(ember, enet, ember.tensor(_np(x), device=device), ember.tensor(_np(y), device=device))
    assert set(got) == set(ref)
    for k, v in ref.items():
        assert got[k].shape == v.shape and got[k].dtype == v.dtype, k
        np.testing.assert_allclose(got[k], v, rtol=1e-9, atol=1e-12, err_msg=k)


def test_cifar_blocks_float32_forward_and_grads(device):
    """float32: forward and first gradients agree to float32 rounding (a small net: no ReLU flips)."""
    torch.manual_seed(0)
    tnet = _blocks(torch)
    enet = _blocks(ember)
    enet.load_state_dict({k: ember.tensor(_np(v)) for k, v in tnet.state_dict().items()})
    enet = enet.to(device)
    x, y = torch.randn(3, 3, 8, 8), torch.tensor([1, 5, 9])
    tnet.train()
    enet.train()
    tl = torch.nn.functional.cross_entropy(tnet(x), y)
    el = ember.nn.functional.cross_entropy(enet(ember.tensor(_np(x), device=device)), ember.tensor(_np(y), device=device))
    tl.backward()
    el.backward()
    np.testing.assert_allclose(el.item(), tl.item(), rtol=1e-5)
    for (k, tp), (_, ep) in zip(tnet.named_parameters(), enet.named_parameters()):
        np.testing.assert_allclose(_np(ep.grad), _np(tp.grad), rtol=1e-4, atol=1e-6, err_msg=k)
    for (k, tb), (_, eb) in zip(tnet.named_buffers(), enet.named_buffers()):
        np.testing.assert_allclose(_np(eb), _np(tb), rtol=1e-5, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("keep", [1.0, 0.5])
def test_drop_connect_inplace_on_nonleaf(device, keep):
    """``mask = empty(...).bernoulli_(p)``, then ``x.div_(p); x.mul_(mask)`` on a non-leaf: values and
    gradient. The random streams differ, so the torch run uses ember's mask for p < 1."""
    base = np.linspace(-1, 1, 48).reshape(2, 3, 2, 4)
    res = []
    for lib, dev in ((ember, device), (torch, "cpu")):
        w = lib.tensor(base, dtype=lib.float32, device=dev, requires_grad=True)
        x = w * 2
        mask = lib.empty([x.shape[0], 1, 1, 1], dtype=x.dtype, device=x.device)
        mask.bernoulli_(keep)
        if res:
            mask.copy_(torch.tensor(res[0][2]))
        assert set(np.unique(_np(mask))) <= {0.0, 1.0}
        x.div_(keep)
        x.mul_(mask)
        (x * x).sum().backward()
        res.append((_np(x), _np(w.grad), _np(mask)))
    for a, b in zip(*res):
        np.testing.assert_allclose(b, a, rtol=1e-6)


# ---- cross_entropy next to large logits --------------------------------------------------------------
# A confident classifier (PNASNetA after one step at lr 0.1 has logits ~500) has a loss far below its
# logits' scale. The fused kernel took x_t - lse, with lse = max + log(sum) already rounded to the logits'
# scale, so float32 losses came out ~1e-4 relative off where PyTorch's (x_t - max) - log(sum) is exact.
@pytest.mark.parametrize("offset,spread", [(400.0, 2.0), (60.0, 5.0), (0.0, 1.0), (-300.0, 3.0)])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_cross_entropy_precision_large_logits(device, offset, spread, reduction):
    rng = np.random.default_rng(int(offset) % 97)
    x = (rng.standard_normal((64, 10)) * spread + offset).astype(np.float32)
    y = rng.integers(0, 10, 64)
    exact = torch.nn.functional.cross_entropy(torch.tensor(x, dtype=torch.float64), torch.tensor(y),
                                              reduction=reduction).numpy()
    t = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(y), reduction=reduction).numpy()
    e = _np(ember.nn.functional.cross_entropy(ember.tensor(x, device=device), ember.tensor(y, device=device),
                                              reduction=reduction))
    t_err = np.abs(t - exact).max() / np.abs(exact).max()
    e_err = np.abs(e - exact).max() / np.abs(exact).max()
    assert e.dtype == t.dtype and e.shape == t.shape
    assert e_err <= max(4 * t_err, 1e-6), (e_err, t_err)


@pytest.mark.parametrize("offset", [400.0, 0.0])
def test_cross_entropy_grad_precision_large_logits(offset):
    """The gradient is softmax(x) - onehot: on the CPU backend the softmax now comes from x itself, not
    from exp(x - lse) (the OpenCL kernel still uses lse: about 1e-5 relative at logits ~400)."""
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((32, 10)) * 2 + offset).astype(np.float32)
    y = rng.integers(0, 10, 32)
    t64 = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.cross_entropy(t64, torch.tensor(y)).backward()
    t32 = torch.tensor(x, requires_grad=True)
    torch.nn.functional.cross_entropy(t32, torch.tensor(y)).backward()
    e = ember.tensor(x, requires_grad=True)
    ember.nn.functional.cross_entropy(e, ember.tensor(y)).backward()
    exact = t64.grad.numpy()
    t_err = np.abs(t32.grad.numpy() - exact).max() / np.abs(exact).max()
    e_err = np.abs(_np(e.grad) - exact).max() / np.abs(exact).max()
    assert e_err <= max(4 * t_err, 1e-6), (e_err, t_err)
