"""Mixed-precision probes that differed from PyTorch 2.13 (autocast, GradScaler, 16-bit op values).

Fixed: ``autocast`` checks its device type even when ``dtype`` is given (PyTorch's device-string
error; "meta" and other types without autocast kernels are PyTorch's "unsupported autocast
device_type"), refuses a non-dtype ``dtype`` on entering, and ``__exit__`` returns False;
``torch.cpu.amp.autocast`` defaults to bfloat16 whatever the current autocast dtype;
``torch.cpu.amp.GradScaler`` exists; ``GradScaler.scale`` of a non-list iterable is PyTorch's lazy
``map``; a pickled scaler keeps its per-optimizer state dict; fused optimizers (``fused=True``)
accept float16 gradients and optimizers that set ``_step_supports_amp_scaling`` get
``grad_scale``/``found_inf``; 16-bit ``softshrink``, ``glu``, ``logcumsumexp`` and ``logspace``
compute in float32 and round once; 16-bit ``cdist`` raises where PyTorch has no kernel; 16-bit
``nll_loss``/``cross_entropy`` sum and mean are PyTorch's 16-bit cascade sums.
"""

from __future__ import annotations

import pickle
import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

LOW = ("bfloat16", "float16")


def _err(fn):  # noqa: ANN001, ANN202
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the type and message are compared
        return type(exc).__name__, str(exc).replace("torch.", "").split("\n")[0][:80]
    return None


def _vals(t):  # noqa: ANN001, ANN202
    return str(t.dtype).split(".")[-1], tuple(t.shape), t.detach().float().tolist()


# ---- autocast arguments -------------------------------------------------------------------------
AUTOCAST_ERRORS = {
    "unknown_type_with_dtype": lambda L: L.autocast("foo", dtype=L.float16),
    "upper_case_type": lambda L: L.autocast("CPU", dtype=L.bfloat16),
    "meta": lambda L: L.autocast("meta", dtype=L.bfloat16),
    "lazy": lambda L: L.autocast("lazy"),
    "dtype_str": lambda L: L.autocast("cpu", dtype="bfloat16").__enter__(),
    "available_foo": lambda L: L.amp.is_autocast_available("foo"),
}


@pytest.mark.parametrize("name", sorted(AUTOCAST_ERRORS))
def test_autocast_argument_errors_match_torch(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e, t = _err(lambda: AUTOCAST_ERRORS[name](ember)), _err(lambda: AUTOCAST_ERRORS[name](torch))
    assert e is not None and t is not None and e[0] == t[0]
    assert e[1][:40] == t[1][:40]
    assert not ember.is_autocast_enabled("cpu") and ember.get_autocast_dtype("cpu") is ember.bfloat16


@pytest.mark.parametrize("dev", ["cpu", "cuda", "cuda:0", "mps", "xpu", "hpu", "xla", "mtia", "maia", "ipu",
                                 "privateuseone", "meta", "lazy", "vulkan"])
def test_is_autocast_available_matches_torch(dev: str) -> None:
    assert ember.amp.is_autocast_available(dev) == torch.amp.is_autocast_available(dev)


def test_exit_returns_false_and_deprecated_cpu_autocast_defaults_to_bfloat16() -> None:
    def run(L):  # noqa: ANN001, ANN202
        a = L.autocast("cpu")
        a.__enter__()
        out = [a.__exit__(None, None, None)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with L.autocast("cpu", dtype=L.float16):
                inner = L.cpu.amp.autocast()
                out.append(str(inner.fast_dtype))
                with inner:
                    out.append(str((L.ones(2, 2) @ L.ones(2, 2)).dtype))
        return [str(v).replace("torch.", "").replace("ember.", "") for v in out]

    assert run(ember) == run(torch)


# ---- GradScaler ----------------------------------------------------------------------------------
def test_cpu_amp_gradscaler_is_the_deprecated_spelling() -> None:
    def run(L):  # noqa: ANN001, ANN202
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            s = L.cpu.amp.GradScaler(init_scale=8.0)
        return ([(x.category.__name__, str(x.message).replace("torch", "T").replace("ember", "T")) for x in w],
                s._device, s.get_scale(), s.is_enabled())

    assert run(ember) == run(torch)


def test_scale_of_iterables_is_lazy_like_torch() -> None:
    def run(L):  # noqa: ANN001, ANN202
        s = L.amp.GradScaler("cpu", init_scale=4.0)
        gen = s.scale(x for x in [L.ones(2), L.full((3,), 2.0)])
        lazy_dict = s.scale({"a": L.ones(2)})
        nested = s.scale((L.ones(1), [L.ones(2) * 3]))
        return (type(gen).__name__, [v.tolist() for v in gen], type(lazy_dict).__name__, type(s.scale("x")).__name__,
                type(nested).__name__, type(nested[1]).__name__, nested[1][0].tolist(),
                _err(lambda: s.scale(3.0)))

    assert run(ember) == run(torch)


def test_pickled_scaler_state_matches_torch() -> None:
    def run(L):  # noqa: ANN001, ANN202
        p = L.nn.Parameter(L.ones(3))
        o = L.optim.SGD([p], lr=0.1)
        s = L.amp.GradScaler("cpu", init_scale=8.0, growth_interval=1)
        s.scale((p * 3).sum()).backward()
        s.step(o)
        s.update()
        state = s.__getstate__()
        back = pickle.loads(pickle.dumps(s))
        return (type(state["_per_optimizer_states"]).__name__, state["_init_scale"], back.state_dict(),
                type(back._per_optimizer_states).__name__)

    assert run(ember) == run(torch)


def _train(L, opt: str, pdt: str, bad: tuple, okw: dict, kw: dict, unscale: bool = False):  # noqa: ANN001, ANN202
    p = L.nn.Parameter(L.tensor([1.0, -2.0, 3.0]).to(getattr(L, pdt)))
    q = L.nn.Parameter(L.tensor([0.5, 0.25]).to(getattr(L, pdt)))
    o = getattr(L.optim, opt)([p, q], lr=0.1, **okw)
    s = L.amp.GradScaler("cpu", **kw)
    scales = []
    for i in range(10):
        o.zero_grad()
        loss = (p.float() ** 2).sum() + (q.float() * 3).sum()
        if i in bad:
            loss = loss * float("inf")
        s.scale(loss).backward()
        if unscale:
            s.unscale_(o)
        s.step(o)
        s.update()
        scales.append(s.get_scale())
    return scales, p.detach().float().tolist(), q.detach().float().tolist(), s.state_dict()


FUSED = {
    "adam_fp16": ("Adam", "float16", (5,), {}, {}, 1e-3),
    "adamw_fp16": ("AdamW", "float16", (5,), {}, {"growth_interval": 2, "init_scale": 1024.0}, 1e-3),
    "adam_bf16": ("Adam", "bfloat16", (5,), {}, {}, 1e-2),
    "sgd_fp16": ("SGD", "float16", (5,), {}, {}, 2e-3),
    "adagrad_fp16": ("Adagrad", "float16", (5,), {}, {}, 2e-3),
    "adam_fp32_unscaled_first": ("Adam", "float32", (2,), {}, {}, 1e-5),
    "sgd_fp32": ("SGD", "float32", (2, 3), {"momentum": 0.9}, {"growth_interval": 2}, 1e-5),
}


@pytest.mark.parametrize("name", sorted(FUSED))
def test_fused_optimizers_with_gradscaler_match_torch(name: str) -> None:
    opt, pdt, bad, okw, kw, tol = FUSED[name]
    args = (opt, pdt, bad, {**okw, "fused": True}, kw, name.endswith("unscaled_first"))
    e, t = _train(ember, *args), _train(torch, *args)
    assert e[0] == t[0] and e[3] == t[3]  # the scale history (float16 gradients overflow at first) and state
    np.testing.assert_allclose(e[1] + e[2], t[1] + t[2], rtol=tol, atol=tol)


def test_optimizer_with_step_supports_amp_scaling_gets_grad_scale_and_found_inf() -> None:
    def run(L):  # noqa: ANN001, ANN202
        class Opt(L.optim.SGD):
            _step_supports_amp_scaling = True
            seen: list = []

            def step(self, closure=None):  # noqa: ANN001, ANN202
                type(self).seen.append((float(self.grad_scale), float(self.found_inf)))
                return "stepped"

        p = L.nn.Parameter(L.ones(3))
        o = Opt([p], lr=0.1)
        s = L.amp.GradScaler("cpu", init_scale=8.0)
        out = []
        for bad in (False, True, False):
            o.zero_grad()
            s.scale((p * (float("inf") if bad else 2.0)).sum()).backward()
            out.append((s.step(o), hasattr(o, "grad_scale"), hasattr(o, "found_inf"), p.grad.tolist()))
            s.update()
            out.append(s.get_scale())
        return out, Opt.seen

    assert run(ember) == run(torch)


# ---- 16-bit values -----------------------------------------------------------------------------------
def _x(L, dt: str, n: int = 256, seed: int = 7):  # noqa: ANN001, ANN202
    return L.tensor(np.random.default_rng(seed).standard_normal(n).astype(np.float32)).to(getattr(L, dt))


VALUES = {
    "softshrink": lambda L, x: L.nn.functional.softshrink(x, 0.3),
    "softshrink_big_lambd": lambda L, x: L.nn.functional.softshrink(x * 3, 1.1),
    "glu": lambda L, x: L.nn.functional.glu(x.reshape(4, 64)),
    "glu_dim0": lambda L, x: L.nn.functional.glu(x.reshape(8, 32), 0),
    "logcumsumexp": lambda L, x: L.logcumsumexp(x, 0),
    "logcumsumexp_2d": lambda L, x: L.logcumsumexp(x.reshape(16, 16), 1),
    "logspace": lambda L, x: L.logspace(0, 1, 7, dtype=x.dtype),
    "logspace_wide": lambda L, x: L.logspace(-3, 3, 64, dtype=x.dtype),
    "logspace_base": lambda L, x: L.logspace(-30, 30, 64, base=1.5, dtype=x.dtype),
}


@pytest.mark.parametrize("dt", LOW)
@pytest.mark.parametrize("name", sorted(VALUES))
def test_16bit_values_are_rounded_once_like_torch(name: str, dt: str) -> None:
    assert _vals(VALUES[name](ember, _x(ember, dt))) == _vals(VALUES[name](torch, _x(torch, dt)))


CDIST = {
    "small_p2": ((3, 4), (5, 4), {}),
    "wide_p2": ((3, 4), (30, 4), {}),
    "wide_p1": ((3, 4), (30, 4), {"p": 1.0}),
    "empty_p1": ((0, 4), (3, 4), {"p": 1.0}),
    "use_mm": ((3, 4), (3, 4), {"compute_mode": "use_mm_for_euclid_dist"}),
    "donot_use_mm": ((30, 4), (3, 4), {"compute_mode": "donot_use_mm_for_euclid_dist"}),
}


@pytest.mark.parametrize("dt", LOW)
@pytest.mark.parametrize("name", sorted(CDIST))
def test_16bit_cdist_refuses_like_torch(name: str, dt: str) -> None:
    a, b, kw = CDIST[name]

    def run(L):  # noqa: ANN001, ANN202
        x, y = L.ones(*a, dtype=getattr(L, dt)), L.ones(*b, dtype=getattr(L, dt))
        return _err(lambda: L.cdist(x, y, **kw)) or str(L.cdist(x, y, **kw).dtype).split(".")[-1]

    assert run(ember) == run(torch)


@pytest.mark.parametrize("dt", LOW)
@pytest.mark.parametrize("fn", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n", [1, 17, 257, 1000])
def test_16bit_nll_reduction_is_torchs_cascade(n: int, weighted: bool, reduction: str, fn: str, dt: str) -> None:
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, 5)).astype(np.float32)
    t = rng.integers(0, 5, n)
    t[::7] = -100  # ignored rows also skip their flush of the cascade
    if n > 16:
        t[16] = -100
    w = rng.random(5).astype(np.float32) + 0.5

    def run(L):  # noqa: ANN001, ANN202
        xi = L.tensor(x).to(getattr(L, dt)).requires_grad_()
        wi = L.tensor(w).to(getattr(L, dt)) if weighted else None
        out = getattr(L.nn.functional, fn)(xi, L.tensor(t), weight=wi, reduction=reduction)
        out.backward()
        return out.item(), str(out.dtype).split(".")[-1], out.grad_fn.name(), xi.grad.float().numpy()

    e, tr = run(ember), run(torch)
    assert e[1:3] == tr[1:3]
    assert e[0] == tr[0] or (e[0] != e[0] and tr[0] != tr[0])
    np.testing.assert_allclose(e[3], tr[3], rtol=2e-2, atol=1e-3)


def test_16bit_nll_1d_input_and_all_ignored() -> None:
    def run(L):  # noqa: ANN001, ANN202
        x = L.tensor([0.3, -1.7, 2.2]).bfloat16()
        F = L.nn.functional
        return (F.nll_loss(x, L.tensor(1)).item(), F.cross_entropy(x, L.tensor(2), reduction="sum").item(),
                str(F.nll_loss(x.reshape(1, 3), L.tensor([-100])).item()))

    assert run(ember) == run(torch)
