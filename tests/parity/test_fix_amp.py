"""Mixed precision against PyTorch (issue #18): the bfloat16/float16 dtypes (promotion, finfo,
printing, rounding), autocast (which dtype each op runs in, nesting, the decorator form, an MLP's
loss curve), GradScaler (scale history and skipped steps) and 16-bit checkpoints."""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

LOW = ("bfloat16", "float16")
DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64")


def _e(name: str) -> ember.dtype:
    return getattr(ember, name)


def _t(name: str) -> torch.dtype:
    return getattr(torch, name)


# ---- the dtypes ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("a", "b"), list(itertools.combinations_with_replacement(DTYPES, 2)))
def test_promote_types_matches_torch(a: str, b: str) -> None:
    assert str(ember.promote_types(_e(a), _e(b))).split(".")[-1] == str(torch.promote_types(_t(a), _t(b))).split(".")[-1]


@pytest.mark.parametrize("name", LOW)
def test_finfo_matches_torch(name: str) -> None:
    e, t = ember.finfo(_e(name)), torch.finfo(_t(name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(e, attr) == getattr(t, attr), attr
    assert repr(e) == repr(t)


@pytest.mark.parametrize("name", LOW)
def test_rounding_printing_and_host_values(name: str, device: str) -> None:
    rng = np.random.default_rng(0)
    # random values, ties (exactly halfway between two bfloat16/float16 values), overflow, NaN, -0.0
    vals = np.concatenate([rng.standard_normal(200) * 10.0 ** rng.integers(-6, 6, 200),
                           1 + (2 * np.arange(8) + 1) * 2.0 ** -9, 1 + (2 * np.arange(8) + 1) * 2.0 ** -11,
                           [65520.0, 3.3e38, -0.0, np.inf]]).astype(np.float32)
    t = torch.from_numpy(vals).to(_t(name))
    e = ember.tensor(vals, device=device).to(_e(name))
    assert e.tolist() == t.tolist()
    assert e[3].item() == t[3].item()
    assert e.dtype is _e(name) and e.element_size() == 2
    assert e.float().tolist() == t.float().tolist()
    assert ember.tensor(vals.tolist(), dtype=_e(name), device=device).tolist() == torch.tensor(vals.tolist(), dtype=_t(name)).tolist()
    small = torch.tensor([1.0, 2.5, 1 / 3], dtype=_t(name))
    printed = repr(ember.tensor([1.0, 2.5, 1 / 3], dtype=_e(name))).replace("ember", "torch")
    assert printed == repr(small)
    assert (getattr(ember.ones(2, device=device), name if name == "bfloat16" else "half")().dtype) is _e(name)


def test_nan_stays_nan(device: str) -> None:
    for name in LOW:
        e = ember.tensor([float("nan"), float("-inf")], device=device).to(_e(name))
        assert np.isnan(e.tolist()[0]) and e.tolist()[1] == float("-inf")


def test_legacy_type_names() -> None:
    assert ember.ones(2, dtype=ember.bfloat16).type() == torch.ones(2, dtype=torch.bfloat16).type().replace("torch", "ember")
    assert ember.BFloat16Tensor([1.0]).dtype is ember.bfloat16


# ---- autocast -------------------------------------------------------------------------------------
def _pair(shape: tuple, seed: int = 0) -> tuple:
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return a


# name -> expression over (lib, F, x, y, w, b, tgt, lo) with x (4, 6), y (6, 5), w (5, 6), b (5,),
# tgt (4,) class indices, lo: x already in bfloat16. The dtypes of every output are compared.
AUTOCAST_EXPRS = {
    "matmul": lambda L, F, x, y, w, b, tgt, lo: (x @ y, L.matmul(x, y), x.matmul(y)),
    "mm_bmm": lambda L, F, x, y, w, b, tgt, lo: (L.mm(x, y), L.bmm(x[None], y[None]), L.baddbmm((x @ y)[None], x[None], y[None])),
    "addmm": lambda L, F, x, y, w, b, tgt, lo: (L.addmm(b, x, y[:, :5]),),
    "linear": lambda L, F, x, y, w, b, tgt, lo: (F.linear(x, w, b), F.linear(x, w)),
    "conv": lambda L, F, x, y, w, b, tgt, lo: (F.conv1d(x[None], w[:, :4, None]), F.conv2d(x[None, None], w[None, None, :2, :2])),
    "elementwise_stays": lambda L, F, x, y, w, b, tgt, lo: (x + 1, x.exp(), x.log_softmax(1), F.softmax(x, 1), x.sum(), lo.exp(), lo * 2),
    "fp32_losses": lambda L, F, x, y, w, b, tgt, lo: (F.cross_entropy(lo, tgt), F.mse_loss(lo, lo), F.l1_loss(lo, lo),
                                                       F.nll_loss(lo.log_softmax(1), tgt), F.smooth_l1_loss(lo, lo)),
    "fp32_prod": lambda L, F, x, y, w, b, tgt, lo: (lo.prod(), L.prod(lo, 1)),
    "promote": lambda L, F, x, y, w, b, tgt, lo: (L.cat([lo, x]), L.stack([lo, x]), L.cat([lo, lo])),
    "float64_untouched": lambda L, F, x, y, w, b, tgt, lo: (x.double() @ y.double(), F.linear(x.double(), w.double())),
    "mixed_after_matmul": lambda L, F, x, y, w, b, tgt, lo: ((x @ y) + b, F.relu(x @ y), (x @ y).float().sum()),
    "nn_modules": lambda L, F, x, y, w, b, tgt, lo: (F.layer_norm(x, (6,)), F.gelu(F.linear(x, w, b))),
}


def _autocast_inputs(lib: object) -> tuple:
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in ((4, 6), (6, 5), (5, 6), (5,))]
    tensors = [lib.tensor(a.tolist()) for a in arrays]
    tgt = lib.tensor([0, 2, 4, 1])
    return (*tensors, tgt, tensors[0].to(lib.bfloat16))


def _dtypes(out: tuple) -> list[str]:
    return [str(t.dtype).split(".")[-1] for t in out]


@pytest.mark.parametrize("low", LOW)
@pytest.mark.parametrize("name", sorted(AUTOCAST_EXPRS))
def test_autocast_op_dtypes_match_torch(name: str, low: str) -> None:
    fn = AUTOCAST_EXPRS[name]

    def run(lib: object) -> object:
        try:
            with lib.autocast("cpu", dtype=getattr(lib, low)):
                return _dtypes(fn(lib, lib.nn.functional, *_autocast_inputs(lib)))
        except RuntimeError as exc:  # float16 autocast meeting a bfloat16 input in cat: both refuse
            return type(exc).__name__, str(exc)

    assert run(ember) == run(torch)


def test_autocast_values_match_torch() -> None:
    x, y, w, b, *_ = _autocast_inputs(torch)
    ex, ey, ew, eb, *_ = _autocast_inputs(ember)
    with torch.autocast("cpu"):
        t = (torch.nn.functional.linear(x, w, b), x @ y)
    with ember.autocast("cpu"):
        e = (ember.nn.functional.linear(ex, ew, eb), ex @ ey)
    for a, r in zip(e, t):
        np.testing.assert_allclose(np.array(a.float().tolist()), r.float().numpy(), rtol=1.6e-2, atol=1e-2)


def test_autocast_on_other_devices(device: str) -> None:
    """Every device type autocasts (accelerator lists off the cpu: float16 by default, exp in float32)."""
    x = ember.randn(3, 4, device=device)
    with ember.autocast(device):
        assert (x @ x.T).dtype is (ember.bfloat16 if device == "cpu" else ember.float16)
        assert x.exp().dtype is ember.float32
        assert F_linear_dtype(x) is (ember.bfloat16 if device == "cpu" else ember.float16)
    assert (x @ x.T).dtype is ember.float32


def F_linear_dtype(x: ember.Tensor) -> ember.dtype:  # noqa: N802
    return ember.nn.functional.linear(x, ember.ones(2, 4, device=x.device)).dtype


def test_autocast_nesting_enabled_false_and_state() -> None:
    a = ember.ones(2, 2)
    assert not ember.is_autocast_enabled("cpu")
    with ember.autocast("cpu"):
        assert ember.is_autocast_enabled("cpu") and ember.get_autocast_dtype("cpu") is ember.bfloat16
        with ember.autocast("cpu", enabled=False):
            assert not ember.is_autocast_enabled("cpu")
            assert (a @ a).dtype is ember.float32
        with ember.autocast("cpu", dtype=ember.float16):
            assert (a @ a).dtype is ember.float16
        assert (a @ a).dtype is ember.bfloat16
    assert not ember.is_autocast_enabled("cpu") and (a @ a).dtype is ember.float32
    assert ember.get_autocast_dtype("cpu") is ember.bfloat16 and ember.get_autocast_dtype("cuda") is ember.float16
    assert str(torch.get_autocast_dtype("cpu")).split(".")[-1] == "bfloat16"


def test_autocast_decorator_and_aliases() -> None:
    @ember.autocast("cpu")
    def f(a: ember.Tensor) -> ember.Tensor:
        return a @ a

    @torch.autocast("cpu")
    def g(a: torch.Tensor) -> torch.Tensor:
        return a @ a

    assert _dtypes((f(ember.ones(2, 2)),)) == _dtypes((g(torch.ones(2, 2)),))
    assert ember.amp.autocast is ember.autocast
    for mod, tmod in ((ember.cpu.amp, torch.cpu.amp), (ember.cuda.amp, torch.cuda.amp)):
        with pytest.warns(FutureWarning) as ew:
            mod.autocast(enabled=False)
        with pytest.warns(FutureWarning) as tw:
            tmod.autocast(enabled=False)
        assert str(ew[0].message) == str(tw[0].message)
    with pytest.warns(FutureWarning, match="deprecated"):
        ember.cpu.amp.autocast()


def test_autocast_refusals_match_torch() -> None:
    for dt in ("float32", "float64"):
        with pytest.warns(UserWarning) as tw:
            torch.autocast("cpu", dtype=_t(dt))
        with pytest.warns(UserWarning) as ew:
            ctx = ember.autocast("cpu", dtype=_e(dt))
        assert str(ew[0].message) == str(tw[0].message)
        with ctx:
            assert not ember.is_autocast_enabled("cpu")
    with pytest.raises(ValueError, match="device_type"):
        torch.autocast(3)
    with pytest.raises(ValueError, match="device_type"):
        ember.autocast(3)


def test_autocast_gradients_reach_float32_params() -> None:
    w = ember.nn.Parameter(ember.randn(3, 4))
    with ember.autocast("cpu"):
        loss = ember.nn.functional.linear(ember.randn(2, 4), w).float().pow(2).sum()
    loss.backward()
    assert w.grad is not None and w.grad.dtype is ember.float32


def test_autocast_is_per_thread() -> None:
    import threading

    seen = []
    with ember.autocast("cpu"):
        t = threading.Thread(target=lambda: seen.append(ember.is_autocast_enabled("cpu")))
        t.start()
        t.join()
    assert seen == [False]


def _mlp_losses(lib: object, steps: int = 30, low: object = None) -> list[float]:
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((64, 8)).astype(np.float32)
    ys = (xs[:, :1] * 2 - xs[:, 1:2] + 0.1 * rng.standard_normal((64, 1))).astype(np.float32)
    w1 = rng.standard_normal((16, 8)).astype(np.float32) * 0.3
    w2 = rng.standard_normal((1, 16)).astype(np.float32) * 0.3
    model = lib.nn.Sequential(lib.nn.Linear(8, 16), lib.nn.Tanh(), lib.nn.Linear(16, 1))
    with lib.no_grad():
        model[0].weight.copy_(lib.tensor(w1.tolist()))
        model[0].bias.zero_()
        model[2].weight.copy_(lib.tensor(w2.tolist()))
        model[2].bias.zero_()
    opt = lib.optim.SGD(model.parameters(), lr=0.05)
    x, y = lib.tensor(xs.tolist()), lib.tensor(ys.tolist())
    out = []
    for _ in range(steps):
        opt.zero_grad()
        with lib.autocast("cpu", dtype=low):
            loss = lib.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        out.append(float(loss.item()))
    return out


def test_mlp_loss_curve_under_bf16_autocast_matches_torch() -> None:
    t = _mlp_losses(torch, low=torch.bfloat16)
    e = _mlp_losses(ember, low=ember.bfloat16)
    assert t[-1] < 0.5 * t[0]  # it trains
    np.testing.assert_allclose(e, t, rtol=0.03, atol=1e-3)


# ---- GradScaler -----------------------------------------------------------------------------------
def _scaler_run(lib: object, device: str, steps: int = 12, inject: tuple = (2, 3, 7)) -> tuple:
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((3, 4)).astype(np.float32)
    xs = rng.standard_normal((8, 4)).astype(np.float32)
    w = lib.nn.Parameter(lib.tensor(w0.tolist(), device=device))
    x = lib.tensor(xs.tolist(), device=device)
    opt = lib.optim.SGD([w], lr=0.01)
    scaler = lib.amp.GradScaler(device, init_scale=2.0**10, growth_factor=2.0, backoff_factor=0.5, growth_interval=3)
    scales, skipped, trackers = [], [], []
    for i in range(steps):
        opt.zero_grad()
        loss = (x @ w.T).pow(2).mean()
        scaler.scale(loss).backward()
        if i in inject:  # an overflowing gradient (inf), or a NaN one
            with lib.no_grad():
                w.grad[0, 0] = float("inf") if i != 7 else float("nan")
        before = w.detach().clone()
        scaler.step(opt)
        scaler.update()
        skipped.append(bool((w.detach() == before).all().item()))
        scales.append(scaler.get_scale())
        trackers.append(scaler.state_dict()["_growth_tracker"])
    return scales, skipped, trackers, np.array(w.detach().cpu().tolist()), scaler.state_dict()


def test_grad_scaler_history_matches_torch(device: str) -> None:
    t = _scaler_run(torch, "cpu")
    e = _scaler_run(ember, device)
    assert e[0] == t[0]  # scale after every update
    assert e[1] == t[1]  # which steps were skipped
    assert e[2] == t[2]  # the growth tracker
    np.testing.assert_allclose(e[3], t[3], rtol=1e-5, atol=1e-6)
    assert e[4] == t[4]


def test_grad_scaler_unscale_clip_and_errors() -> None:
    def run(lib: object) -> tuple:
        w = lib.nn.Parameter(lib.ones(3))
        opt = lib.optim.SGD([w], lr=0.1)
        scaler = lib.amp.GradScaler("cpu", init_scale=8.0)
        scaler.scale((w * lib.tensor([1.0, 2.0, 3.0])).sum()).backward()
        scaled = w.grad.tolist()
        scaler.unscale_(opt)
        unscaled = w.grad.tolist()
        errs = []
        for call in (lambda: scaler.unscale_(opt), lambda: (scaler.step(opt), scaler.step(opt))):
            try:
                call()
            except RuntimeError as exc:
                errs.append(str(exc))
        return scaled, unscaled, errs, w.tolist()

    assert run(ember) == run(torch)


@pytest.mark.filterwarnings("ignore:torch.cuda.amp.GradScaler is enabled:UserWarning")
def test_grad_scaler_state_dict_round_trip_and_disabled() -> None:
    s = ember.amp.GradScaler("cpu", init_scale=128.0, growth_interval=5)
    s.load_state_dict({"scale": 32.0, "growth_factor": 3.0, "backoff_factor": 0.25, "growth_interval": 7,
                       "_growth_tracker": 2})
    t = torch.amp.GradScaler("cpu", init_scale=128.0, growth_interval=5)
    t.load_state_dict({"scale": 32.0, "growth_factor": 3.0, "backoff_factor": 0.25, "growth_interval": 7,
                       "_growth_tracker": 2})
    assert s.state_dict() == t.state_dict()
    assert s.scale(ember.ones(2)).tolist() == t.scale(torch.ones(2)).tolist()
    off = ember.amp.GradScaler("cpu", enabled=False)
    assert off.state_dict() == {} and off.get_scale() == 1.0 and not off.is_enabled()
    with pytest.raises(RuntimeError, match="state dict is empty"):
        ember.amp.GradScaler("cpu").load_state_dict({})
    with pytest.warns(FutureWarning) as ew:
        ember.cuda.amp.GradScaler()
    with pytest.warns(FutureWarning) as tw:
        torch.cuda.amp.GradScaler()
    assert str(ew[0].message) == str(tw[0].message)


# ---- checkpoints keep 16-bit dtypes ---------------------------------------------------------------
def _lowp_tensors() -> dict:
    g = torch.Generator().manual_seed(0)
    return {"bf": torch.randn(3, 4, generator=g).bfloat16(), "half": torch.randn(5, generator=g).half(),
            "bf_view": torch.randn(2, 6, generator=g).bfloat16()[:, ::2], "bf0d": torch.tensor(1 / 3).bfloat16()}


@pytest.mark.filterwarnings("error::UserWarning")  # no "converted to float32" warning any more
def test_torch_pt_with_bfloat16_loads_as_bfloat16(tmp_path: object, device: str) -> None:
    ref = _lowp_tensors()
    torch.save(ref, tmp_path / "w.pt")
    got = ember.load(tmp_path / "w.pt", map_location=device)
    for k, t in ref.items():
        assert str(got[k].dtype).split(".")[-1] == str(t.dtype).split(".")[-1], k
        assert got[k].tolist() == t.tolist() and got[k].device.type == device
    ember.save(got, tmp_path / "e.pt")  # ember's own format keeps them too
    again = ember.load(tmp_path / "e.pt")
    assert {k: (v.dtype, v.tolist()) for k, v in again.items()} == {k: (v.dtype, v.tolist()) for k, v in got.items()}


def test_safetensors_bf16_f16_both_ways(tmp_path: object, device: str) -> None:
    st = pytest.importorskip("safetensors.torch")
    ref = {k: v.contiguous() for k, v in _lowp_tensors().items()}
    st.save_file(ref, str(tmp_path / "t.safetensors"))
    got = ember.load_safetensors(tmp_path / "t.safetensors", device=device) if _takes_device() else \
        ember.load_safetensors(tmp_path / "t.safetensors")
    for k, t in ref.items():
        assert got[k].dtype is _e(str(t.dtype).split(".")[-1]) and got[k].tolist() == t.tolist()
    ember.save_safetensors(got, tmp_path / "e.safetensors")
    back = st.load_file(str(tmp_path / "e.safetensors"))
    for k, t in ref.items():
        assert back[k].dtype == t.dtype and torch.equal(back[k], t)


def _takes_device() -> bool:
    import inspect

    return "device" in inspect.signature(ember.load_safetensors).parameters


def test_small_transformer_loss_curve_under_bf16_autocast_matches_torch() -> None:
    """Embedding + TransformerEncoderLayer + Linear, Adam, bf16 autocast: same start weights (torch's
    state dict loaded into ember), same batches; the two loss curves agree within bfloat16 noise."""
    torch.manual_seed(0)

    def build(lib: object) -> object:
        return lib.nn.Sequential(lib.nn.Embedding(20, 16),
                                 lib.nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True),
                                 lib.nn.Flatten(), lib.nn.Linear(16 * 6, 20))

    tm, em = build(torch), build(ember)
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(0)
    xs, ys = rng.integers(0, 20, (8, 6)).tolist(), rng.integers(0, 20, (8,)).tolist()

    def run(lib: object, model: object) -> list[float]:
        opt = lib.optim.Adam(model.parameters(), lr=1e-2)
        x, y, out = lib.tensor(xs), lib.tensor(ys), []
        for _ in range(12):
            opt.zero_grad()
            with lib.autocast("cpu", dtype=lib.bfloat16):
                loss = lib.nn.functional.cross_entropy(model(x), y)
            assert loss.dtype == lib.float32
            loss.backward()
            opt.step()
            out.append(float(loss.item()))
        return out

    t, e = run(torch, tm), run(ember, em)
    assert t[-1] < 0.1 * t[0]
    np.testing.assert_allclose(e, t, rtol=0.05, atol=2e-3)


def test_custom_fwd_bwd_match_torch() -> None:
    def make(lib: object) -> type:
        class Mul(lib.autograd.Function):
            @staticmethod
            @lib.amp.custom_fwd(device_type="cpu", cast_inputs=lib.float32)
            def forward(ctx, a, b):  # noqa: ANN001, ANN205
                ctx.save_for_backward(a, b)
                ctx.seen = (str(a.dtype), lib.is_autocast_enabled("cpu"))
                return a @ b

            @staticmethod
            @lib.amp.custom_bwd(device_type="cpu")
            def backward(ctx, g):  # noqa: ANN001, ANN205
                a, b = ctx.saved_tensors
                ctx.seen_bwd = lib.is_autocast_enabled("cpu")
                return g @ b.T, a.T @ g

        return Mul

    def run(lib: object) -> tuple:
        a = lib.ones(2, 3, requires_grad=True)
        b = lib.ones(3, 2).to(lib.bfloat16).requires_grad_()
        with lib.autocast("cpu"):
            out = make(lib).apply(a, b)
        out.sum().backward()
        return str(out.dtype).split(".")[-1], str(a.grad.dtype).split(".")[-1], str(b.grad.dtype).split(".")[-1]

    assert run(ember) == run(torch)


def test_autocast_module_outputs_match_torch() -> None:
    def run(lib: object) -> list[str]:
        nn, x = lib.nn, lib.randn(1, 3, 8, 8)
        lib.manual_seed(0)
        mods = [(nn.Conv2d(3, 4, 3), (x,)), (nn.Conv1d(3, 4, 3), (x[:, :, 0],)), (nn.ConvTranspose2d(3, 4, 3), (x,)),
                (nn.Linear(8, 2), (x,)), (nn.MultiheadAttention(8, 2, batch_first=True), (x[0], x[0], x[0])),
                (nn.LSTM(8, 4, batch_first=True), (x[0],)), (nn.Bilinear(8, 8, 2), (x[0, 0], x[0, 0])),
                (nn.LayerNorm(8), (x,)), (nn.BatchNorm2d(3), (x,)), (nn.Embedding(5, 4), (lib.tensor([1, 2]),))]
        out = []
        with lib.autocast("cpu"):
            for m, args in mods:
                y = m(*args)
                out.append(str((y[0] if isinstance(y, tuple) else y).dtype).split(".")[-1])
        return out

    assert run(ember) == run(torch)
