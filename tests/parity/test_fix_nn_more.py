"""Issue #14 (PyTorch surface): the rest of ``torch.nn``: the margin/ranking/likelihood loss
modules, Hardshrink/Softshrink/RReLU/Softmax2d, RMSNorm, LocalResponseNorm, InstanceNorm3d,
ChannelShuffle, Dropout3d, FeatureAlphaDropout, PairwiseDistance/CosineSimilarity, the in-place
activation functions, ``*_with_indices``, gumbel_softmax, and ``ember.finfo``/``ember.iinfo``.

Values, gradients, errors, reprs and state_dict keys are compared with real PyTorch on every device;
random layers are checked against the statistics PyTorch's definitions imply.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

R = np.random.default_rng(1414)


def RND(*shape: int, grad: bool = True) -> Arg:
    return Arg(R.standard_normal(shape).astype(np.float32), grad=grad)


def SIGN(*shape: int) -> Arg:
    return Arg(np.where(R.random(shape) < 0.5, -1.0, 1.0).astype(np.float32), grad=False)


# ---- modules: value, gradient, repr ----------------------------------------------------------------
MODULES = [
    ("MarginRankingLoss", (), {"margin": 0.2}, lambda: (RND(5), RND(5), SIGN(5))),
    ("HingeEmbeddingLoss", (), {"margin": 0.5, "reduction": "sum"}, lambda: (RND(3, 4), SIGN(3, 4))),
    ("SoftMarginLoss", (), {}, lambda: (RND(3, 4), SIGN(3, 4))),
    ("CosineEmbeddingLoss", (), {"margin": 0.1}, lambda: (RND(4, 3), RND(4, 3), SIGN(4))),
    ("TripletMarginLoss", (), {"margin": 0.5, "p": 1.0, "swap": True}, lambda: (RND(4, 3), RND(4, 3), RND(4, 3))),
    ("TripletMarginWithDistanceLoss", (), {"margin": 0.5}, lambda: (RND(4, 3), RND(4, 3), RND(4, 3))),
    ("MultiMarginLoss", (), {"p": 2}, lambda: (RND(4, 5), Arg(R.integers(0, 5, 4)))),
    ("MultiLabelMarginLoss", (), {}, lambda: (RND(3, 4), Arg(np.array([[3, 0, -1, 1], [1, -1, 0, 0], [0, 1, 2, 3]])))),
    ("MultiLabelSoftMarginLoss", (), {"reduction": "none"}, lambda: (RND(3, 4), Arg(R.random((3, 4)).astype(np.float32)))),
    ("GaussianNLLLoss", (), {"full": True}, lambda: (RND(4, 3), RND(4, 3), Arg(R.random((4, 1)).astype(np.float32) + 0.1))),
    ("PoissonNLLLoss", (), {"log_input": False}, lambda: (Arg(R.random((3, 4)).astype(np.float32) + 0.1),
                                                         Arg(R.integers(0, 4, (3, 4)).astype(np.float32)))),
    ("Hardshrink", (0.3,), {}, lambda: (RND(3, 4),)),
    ("Softshrink", (), {}, lambda: (RND(3, 4),)),
    ("Softmax2d", (), {}, lambda: (RND(2, 3, 2, 2),)),
    ("LocalResponseNorm", (3,), {"alpha": 0.2}, lambda: (RND(2, 4, 3, 3),)),
    ("ChannelShuffle", (2,), {}, lambda: (RND(2, 4, 3),)),
    ("PairwiseDistance", (), {"p": 3.0, "keepdim": True}, lambda: (RND(4, 3), RND(4, 3))),
    ("CosineSimilarity", (), {"dim": 0}, lambda: (RND(4, 3), RND(4, 3))),
]


@pytest.mark.parametrize("name,args,kwargs,inputs", MODULES, ids=[m[0] for m in MODULES])
def test_module_matches_pytorch(device, name, args, kwargs, inputs):
    check(lambda L, *xs: getattr(L.nn, name)(*args, **kwargs)(*xs), inputs(), {}, device, tol=4)
    assert repr(getattr(ember.nn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs))


@pytest.mark.parametrize("make", [
    lambda L: L.nn.MultiMarginLoss(p=3), lambda L: L.nn.MultiMarginLoss(weight=L.ones(2, 2)),
    lambda L: L.nn.TripletMarginWithDistanceLoss(margin=0.0), lambda L: L.nn.Dropout3d(p=1.5),
], ids=["p3", "weight2d", "margin0", "p1.5"])
def test_module_constructor_errors(make):
    with pytest.raises(Exception) as t_err:
        make(torch)
    with pytest.raises(type(t_err.value)) as e_err:
        make(ember)
    assert str(e_err.value) == str(t_err.value)


def test_rmsnorm_module(device):
    for kwargs in ({}, {"eps": 1e-2}, {"elementwise_affine": False}):
        t, e = torch.nn.RMSNorm((3, 4), **kwargs), ember.nn.RMSNorm((3, 4), **kwargs)
        assert repr(e) == repr(t) and list(e.state_dict()) == list(t.state_dict())
        if t.weight is not None:
            with torch.no_grad():
                t.weight.copy_(torch.randn(3, 4))
            e.load_state_dict({"weight": ember.tensor(t.weight.detach().numpy())})
        e.to(device)
        x = R.standard_normal((2, 3, 4)).astype(np.float32)
        np.testing.assert_allclose(e(ember.tensor(x, device=device)).detach().cpu().numpy(),
                                   t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_instancenorm3d(device):
    t, e = torch.nn.InstanceNorm3d(3, affine=True), ember.nn.InstanceNorm3d(3, affine=True)
    assert repr(e) == repr(t) and list(e.state_dict()) == list(t.state_dict())
    check(lambda L, x: L.nn.InstanceNorm3d(3)(x), (RND(2, 3, 2, 3, 2),), {}, device, tol=4)
    check(lambda L, x: L.nn.InstanceNorm3d(3)(x), (RND(3, 2, 3, 2),), {}, device, tol=4)


@pytest.mark.parametrize("cls,shape", [("InstanceNorm1d", (4, 3, 5)), ("InstanceNorm2d", (2, 3, 4, 4)),
                                       ("InstanceNorm3d", (2, 3, 2, 3, 3))])
def test_instancenorm_running_stats(device, cls, shape):
    """track_running_stats: training updates the buffers as PyTorch does, eval normalises with them
    (ember used to ignore both)."""
    t = getattr(torch.nn, cls)(3, affine=True, track_running_stats=True, momentum=0.3, bias=False)
    e = getattr(ember.nn, cls)(3, affine=True, track_running_stats=True, momentum=0.3, bias=False).to(device)
    assert repr(e) == repr(t) and list(e.state_dict()) == list(t.state_dict())
    for _ in range(2):
        x = R.standard_normal(shape).astype(np.float32) * 2 + 1
        t(torch.tensor(x)), e(ember.tensor(x, device=device))
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(getattr(e, name).cpu().numpy(), getattr(t, name).numpy(), rtol=1e-5, atol=1e-6)
    x = R.standard_normal(shape).astype(np.float32)
    t.eval(), e.eval()
    np.testing.assert_allclose(e(ember.tensor(x, device=device)).detach().cpu().numpy(),
                               t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_rrelu_eval_and_training(device):
    check(lambda L, x: L.nn.RReLU(0.1, 0.3).eval()(x), (RND(3, 4),), {}, device)
    x = ember.full((20000,), -1.0, device=device)
    slopes = -ember.nn.RReLU(0.1, 0.3)(x).cpu().numpy()  # training mode: slope ~ U(0.1, 0.3)
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3
    assert abs(slopes.mean() - 0.2) < 0.005 and abs(slopes.var() - 0.2 ** 2 / 12) < 0.0005
    pos = ember.nn.RReLU()(ember.ones(5, device=device))
    assert pos.cpu().tolist() == [1.0] * 5


@pytest.mark.parametrize("name,args", [("elu_", ()), ("celu_", (0.5,)), ("selu_", ()), ("leaky_relu_", (0.2,)),
                                       ("hardtanh_", (-0.5, 0.5)), ("threshold_", (0.1, -2.0)), ("rrelu_", (0.2, 0.2))])
def test_inplace_activation_functions(device, name, args):
    def run(L, x):
        y = x * 1.0
        out = getattr(L.nn.functional, name)(y, *args)
        assert out is y
        return y
    check(run, (RND(3, 4),), {}, device)


def test_with_indices_match_pytorch(device):
    x = RND(1, 2, 6, 6)
    for name, args in [("max_pool2d_with_indices", (2,)), ("adaptive_max_pool2d_with_indices", ((3, 2),))]:
        check(lambda L, x, name=name, args=args: getattr(L.nn.functional, name)(x, *args), (x,), {}, device)
    check(lambda L, x: L.nn.functional.max_pool1d_with_indices(x, 3, 2), (RND(2, 3, 7),), {}, device)
    check(lambda L, x: L.nn.functional.max_pool3d_with_indices(x, 2), (RND(1, 1, 4, 4, 4),), {}, device)


def test_dropout3d_and_feature_alpha_dropout_statistics(device):
    x = ember.ones(400, 8, 2, 2, 2, device=device)
    y = ember.nn.Dropout3d(0.25)(x).cpu().numpy()
    per_channel = y.reshape(400, 8, -1)
    assert np.all(per_channel.min(-1) == per_channel.max(-1))  # whole channels are dropped or kept
    kept = per_channel[:, :, 0] != 0
    assert abs(kept.mean() - 0.75) < 0.03 and np.allclose(per_channel[kept], 1 / 0.75)
    assert ember.nn.Dropout3d().eval()(x) is x
    z = ember.nn.FeatureAlphaDropout(0.2)(ember.zeros(2000, 4, 3, device=device)).cpu().numpy()
    assert np.all(z.min(-1) == z.max(-1))
    t = torch.nn.FeatureAlphaDropout(0.2)(torch.zeros(2000, 4, 3)).numpy()  # same two values as PyTorch's
    assert np.allclose(np.unique(z.round(5)), np.unique(t.round(5)))


def test_gumbel_softmax(device):
    logits = ember.tensor(np.log([[0.7, 0.2, 0.1]] * 4000).astype(np.float32), device=device, requires_grad=True)
    soft = ember.nn.functional.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.sum(-1).detach().cpu().numpy(), 1.0, rtol=1e-5)
    hard = ember.nn.functional.gumbel_softmax(logits, hard=True)
    h = hard.detach().cpu().numpy()
    assert set(np.unique(h)) == {0.0, 1.0} and np.all(h.sum(-1) == 1)
    np.testing.assert_allclose(h.mean(0), [0.7, 0.2, 0.1], atol=0.03)  # Gumbel-max samples the categorical
    (hard * ember.tensor([1.0, 2.0, 3.0], device=device)).sum().backward()
    assert logits.grad is not None and np.isfinite(logits.grad.cpu().numpy()).all()


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo(name):
    e, t = ember.finfo(getattr(ember, name)), torch.finfo(getattr(torch, name))
    assert repr(e) == repr(t)
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(e, attr) == getattr(t, attr), attr


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo(name):
    e, t = ember.iinfo(getattr(ember, name)), torch.iinfo(getattr(torch, name))
    assert repr(e) == repr(t) and (e.bits, e.min, e.max, e.dtype) == (t.bits, t.min, t.max, t.dtype)


def test_type_info_errors_and_default():
    assert ember.finfo().dtype == torch.finfo().dtype
    for make in (lambda L: L.finfo(L.int32), lambda L: L.iinfo(L.float32), lambda L: L.iinfo(L.bool)):
        with pytest.raises(TypeError) as t_err:
            make(torch)
        with pytest.raises(TypeError) as e_err:
            make(ember)
        assert str(e_err.value) == str(t_err.value)


def test_embedding_bag_module(device):
    """The text-classification pattern: flat token ids + offsets into an EmbeddingBag, then Linear."""
    for kwargs in ({}, {"mode": "sum", "padding_idx": 2}, {"mode": "max", "include_last_offset": True}):
        t, e = torch.nn.EmbeddingBag(6, 3, **kwargs), ember.nn.EmbeddingBag(6, 3, **kwargs)
        assert repr(e) == repr(t) and list(e.state_dict()) == list(t.state_dict())
        weights = R.standard_normal((6, 3)).astype(np.float32)
        offsets = [0, 2, 5] if not kwargs.get("include_last_offset") else [0, 2, 5, 8]
        text = R.integers(0, 6, 8)
        check(lambda L, w, x, o, kw=kwargs: L.nn.EmbeddingBag.from_pretrained(w, freeze=False, **kw)(x, o),
              (Arg(weights), Arg(text), Arg(np.array(offsets))), {}, device)
    frozen = ember.nn.EmbeddingBag.from_pretrained(ember.ones(3, 2))
    assert not frozen.weight.requires_grad


def test_ctc_loss_module(device):
    """nn.CTCLoss on log_softmax outputs, lengths as tensors (the speech-recognition pattern)."""
    assert repr(ember.nn.CTCLoss(blank=1, zero_infinity=True)) == repr(torch.nn.CTCLoss(blank=1, zero_infinity=True))
    x = R.standard_normal((9, 2, 4)).astype(np.float32)
    targets = np.array([[1, 2, 2], [3, 1, 0]])

    def run(L, x, t, il, tl):
        return L.nn.CTCLoss(blank=0)(x.log_softmax(2), t, il, tl)
    check(run, (Arg(x), Arg(targets), Arg(np.array([9, 6])), Arg(np.array([3, 2]))), {}, device, tol=8)


LAZY = [("LazyLinear", (4,), (3, 7)), ("LazyConv1d", (4, 3), (2, 3, 9)), ("LazyConv2d", (4, 3), (2, 3, 6, 6)),
        ("LazyConv2d", (4, 3), (3, 6, 6)), ("LazyConv3d", (2, 2), (1, 2, 4, 4, 4)),
        ("LazyConvTranspose1d", (4, 3), (2, 3, 5)), ("LazyConvTranspose2d", (2, 3, 2), (1, 3, 4, 4)),
        ("LazyConvTranspose3d", (2, 2), (1, 2, 3, 3, 3)), ("LazyBatchNorm1d", (), (4, 5)),
        ("LazyBatchNorm2d", (), (2, 3, 4, 4)), ("LazyBatchNorm3d", (), (2, 3, 2, 2, 2)),
        ("LazyInstanceNorm1d", (), (2, 5, 6)), ("LazyInstanceNorm2d", (), (2, 3, 4, 4)),
        ("LazyInstanceNorm3d", (), (2, 3, 2, 2, 2))]


@pytest.mark.parametrize("name,args,shape", LAZY, ids=[f"{c[0]}-{len(c[2])}d" for c in LAZY])
def test_lazy_modules(device, name, args, shape):
    """The first forward infers the size, materialises the parameters and turns the module into its
    regular class, as PyTorch's; a torch state_dict then loads and both compute the same output."""
    t, e = getattr(torch.nn, name)(*args), getattr(ember.nn, name)(*args)
    assert repr(e) == repr(t) and isinstance(e.weight, ember.nn.UninitializedParameter) == e.has_uninitialized_params()
    x = R.standard_normal(shape).astype(np.float32)
    t(torch.tensor(x))
    e.to(device)(ember.tensor(x, device=device))
    assert type(e).__name__ == type(t).__name__ and repr(e) == repr(t)
    assert {k: tuple(v.shape) for k, v in e.state_dict().items()} == {k: tuple(v.shape) for k, v in t.state_dict().items()}
    assert all(type(p) is ember.nn.Parameter for p in e.parameters())
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    t.eval(), e.eval()
    np.testing.assert_allclose(e(ember.tensor(x, device=device)).detach().cpu().numpy(),
                               t(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_lazy_module_loads_a_checkpoint_before_its_first_forward(device):
    t = torch.nn.Linear(5, 3)
    e = ember.nn.LazyLinear(3)
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    assert not e.has_uninitialized_params() and tuple(e.weight.shape) == (3, 5)
    x = R.standard_normal((2, 5)).astype(np.float32)
    out = e.to(device)(ember.tensor(x, device=device))
    assert type(e) is ember.nn.Linear and e.in_features == 5
    np.testing.assert_allclose(out.detach().cpu().numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_lazy_conv_rejects_wrong_rank():
    with pytest.raises(RuntimeError) as t_err:
        torch.nn.LazyConv2d(4, 3)(torch.zeros(2, 3))
    with pytest.raises(RuntimeError) as e_err:
        ember.nn.LazyConv2d(4, 3)(ember.zeros(2, 3))
    assert str(e_err.value).replace("ember.Size", "torch.Size") == str(t_err.value)


def _load_from_torch(e_module, t_module, device):
    e_module.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t_module.state_dict().items()})
    return e_module.to(device)


@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax(device, head_bias):
    t = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs=[3, 7], div_value=2.0, head_bias=head_bias)
    e = ember.nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs=[3, 7], div_value=2.0, head_bias=head_bias)
    assert repr(e) == repr(t) and list(e.state_dict()) == list(t.state_dict())
    e = _load_from_torch(e, t, device)
    x = R.standard_normal((7, 8)).astype(np.float32)
    y = np.array([0, 2, 3, 6, 7, 9, 4])
    ot, oe = t(torch.tensor(x), torch.tensor(y)), e(ember.tensor(x, device=device), ember.tensor(y, device=device))
    np.testing.assert_allclose(oe.output.detach().cpu().numpy(), ot.output.detach().numpy(), rtol=1e-5, atol=1e-5)
    ot.loss.backward(), oe.loss.backward()
    for (name, pt), pe in zip(t.named_parameters(), e.parameters(), strict=True):
        np.testing.assert_allclose(pe.grad.cpu().numpy(), pt.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=name)
    with torch.no_grad():
        np.testing.assert_allclose(e.log_prob(ember.tensor(x, device=device)).detach().cpu().numpy(),
                                   t.log_prob(torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-5)
        assert e.predict(ember.tensor(x, device=device)).cpu().tolist() == t.predict(torch.tensor(x)).tolist()
    one = e(ember.tensor(x[0], device=device), ember.tensor(y[0], device=device))
    assert one.output.dim() == 0
    for bad in (lambda L, m: m(L.zeros(2, 8), L.tensor([0, 10])), lambda L, m: m(L.zeros(2, 8), L.tensor([[0]]))):
        with pytest.raises(RuntimeError) as t_err:
            bad(torch, t)
        with pytest.raises(RuntimeError) as e_err:
            bad(ember, e.cpu())
        assert str(e_err.value) == str(t_err.value)


def test_adaptive_log_softmax_cutoff_errors():
    for cutoffs in ([], [5, 3], [0, 3], [3, 10], [3, 3]):
        with pytest.raises(ValueError) as t_err:
            torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs=cutoffs)
        with pytest.raises(ValueError) as e_err:
            ember.nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs=cutoffs)
        assert str(e_err.value) == str(t_err.value)


def test_stack_dataset_matches_pytorch():
    from ember.utils.data import DataLoader, StackDataset, TensorDataset

    e = StackDataset(a=TensorDataset(ember.arange(6.0)), b=list(range(6)))
    t = torch.utils.data.StackDataset(a=torch.utils.data.TensorDataset(torch.arange(6.0)), b=list(range(6)))
    assert len(e) == len(t) == 6
    got = next(iter(DataLoader(e, batch_size=4)))
    want = next(iter(torch.utils.data.DataLoader(t, batch_size=4)))
    assert got["a"][0].tolist() == want["a"][0].tolist() and got["b"].tolist() == want["b"].tolist()
    for make in (lambda m: m.StackDataset(), lambda m: m.StackDataset([1], b=[2]), lambda m: m.StackDataset([1], [1, 2])):
        with pytest.raises(ValueError) as t_err:
            make(torch.utils.data)
        with pytest.raises(ValueError) as e_err:
            make(ember.utils.data)
        assert str(e_err.value) == str(t_err.value)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_nllloss2d_is_nllloss(device):
    with pytest.warns(FutureWarning, match="NLLLoss2d"):
        ember.nn.NLLLoss2d()
    x, y = RND(2, 3, 4, 4), Arg(R.integers(0, 3, (2, 4, 4)))
    check(lambda L, x, y: L.nn.NLLLoss2d()(x.log_softmax(1), y), (x, y), {}, device)


FRACTIONAL = [(2, (2, 3, 9, 8), 2, {"output_size": (4, 5)}), (2, (3, 7, 7), (3, 2), {"output_size": (3, 4)}),
              (2, (1, 2, 10, 9), 3, {"output_ratio": 0.5}), (2, (1, 1, 5, 5), 3, {"output_size": 1}),
              (3, (1, 2, 6, 7, 8), 2, {"output_size": (3, 4, 5)}), (3, (2, 6, 7, 8), (2, 3, 1), {"output_size": (3, 4, 5)}),
              (2, (1, 1, 4, 4), 3, {"output_size": 3})]


@pytest.mark.parametrize("nd,shape,kernel,kw", FRACTIONAL, ids=[f"{c[0]}d-{i}" for i, c in enumerate(FRACTIONAL)])
def test_fractional_max_pool_with_fixed_samples(device, nd, shape, kernel, kw):
    """Given the same ``_random_samples``, the windows, maxima, indices and gradients are PyTorch's."""
    n = shape[0] if len(shape) == nd + 2 else 1
    samples = Arg(R.random((n, shape[-nd - 1], nd)).astype(np.float32), grad=False)

    def run(L, x, s):
        fn = getattr(L.nn.functional, f"fractional_max_pool{nd}d")
        return fn(x, kernel, return_indices=True, _random_samples=s, **kw)
    check(run, (RND(*shape), samples), {}, device)


def test_fractional_max_pool_modules(device):
    for make in (lambda L: L.nn.FractionalMaxPool2d(2), lambda L: L.nn.FractionalMaxPool2d(2, 3, 0.5),
                 lambda L: L.nn.FractionalMaxPool3d(2, output_ratio=1.5)):
        with pytest.raises(ValueError) as t_err:
            make(torch)
        with pytest.raises(ValueError) as e_err:
            make(ember)
        assert str(e_err.value) == str(t_err.value)
    t, e = torch.nn.FractionalMaxPool2d(2, output_ratio=0.5), ember.nn.FractionalMaxPool2d(2, output_ratio=0.5)
    assert repr(e) == repr(t)
    y = e(ember.arange(64.0, device=device).reshape(1, 1, 8, 8))
    assert tuple(y.shape) == (1, 1, 4, 4)
    # random windows: every output is the maximum of some 2x2 window, and rows/columns increase
    v = y.cpu().numpy()[0, 0]
    assert np.all(np.diff(v, axis=0) > 0) and np.all(np.diff(v, axis=1) > 0)


def test_embedding_bag_refuses_decreasing_offsets(device):
    """Decreasing offsets describe no bags; PyTorch's kernel reads past them (it computes something or
    trips an internal check depending on the sizes), ember refuses them with a clear error."""
    with pytest.raises(RuntimeError, match="non-decreasing"):
        ember.nn.functional.embedding_bag(ember.tensor([0, 1, 2, 1, 0, 2, 1], device=device),
                                          ember.ones(3, 2, device=device), ember.tensor([0, 5, 2], device=device))
