"""Levels 4-8: nn layers and losses, optimizers, small training runs, device semantics, compiled code.

Levels 4-6 compare the device with the CPU backend (the same module, the same inputs); level 7
checks what a device must do beyond math: transfers, errors, checkpoints, random numbers; level 8 runs
layers, an elementwise chain and training steps through ``ember.compile`` and compares them with the
same code run eagerly on the device (so a backend's ``compile_elementwise`` is checked too). Level 0
(runtime) gets the write-through rows: writes through views must reach the base tensor.
Rows whose ember feature is missing (``ember.nn``, ``ember.optim``, ``ember.save``) read
``skip`` with "not available".

Example:
    >>> from ember_conformance.suite import Context
    >>> from ember_conformance.model_cases import build
    >>> sorted({c.level for c in build(Context.for_device("cpu"), [7])})
    [7]
"""

from __future__ import annotations

import copy
import io
from collections.abc import Callable

import ember
import numpy as np

from ember_conformance.suite import Case, Context, Skip, _under_test, compare

__all__ = ["build", "NN_LAYERS", "LOSSES", "OPTIMIZERS", "WRITE_THROUGH"]

_NN_TOL = 20.0  # tolerance scale for layer outputs: sums over many products


def _require(path: str):
    obj = ember
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise Skip(f"not available: ember.{path} is missing")
    return obj


def _host(t) -> np.ndarray:
    with ember.fallback_policy("allow"):
        return t.detach().cpu().numpy()


def _pair_modules(ctx: Context, factory: Callable):
    ember.manual_seed(0)
    cpu_mod = factory(ember.nn)
    dev_mod = copy.deepcopy(cpu_mod)
    with ember.fallback_policy("allow"):
        dev_mod = dev_mod.to(ctx.device)
    return cpu_mod, dev_mod


def _params(mod) -> list:
    return list(mod.parameters()) if hasattr(mod, "parameters") else []


# ---- level 4: layers and losses ------------------------------------------------------------------
#: name -> (factory(nn), input shape(s), input kind)
NN_LAYERS: dict[str, tuple[Callable, tuple, str]] = {
    "Linear": (lambda nn: nn.Linear(5, 3), (4, 5), "float"),
    "Conv2d": (lambda nn: nn.Conv2d(2, 3, 3, padding=1), (2, 2, 6, 6), "float"),
    "Conv2d-stride-groups": (lambda nn: nn.Conv2d(4, 4, 3, stride=2, groups=2), (1, 4, 7, 7), "float"),
    "MaxPool2d": (lambda nn: nn.MaxPool2d(2), (2, 3, 6, 6), "float"),
    "AvgPool2d": (lambda nn: nn.AvgPool2d(3, stride=2, padding=1), (1, 2, 7, 7), "float"),
    "AdaptiveAvgPool2d": (lambda nn: nn.AdaptiveAvgPool2d((1, 1)), (2, 3, 4, 4), "float"),
    "BatchNorm1d": (lambda nn: nn.BatchNorm1d(5), (6, 5), "float"),
    "BatchNorm2d": (lambda nn: nn.BatchNorm2d(3), (2, 3, 4, 4), "float"),
    "LayerNorm": (lambda nn: nn.LayerNorm(5), (3, 5), "float"),
    "Embedding": (lambda nn: nn.Embedding(10, 4), (3, 5), "index"),
    "Dropout-eval": (lambda nn: nn.Dropout(0.5).eval(), (4, 5), "float"),
    "ReLU": (lambda nn: nn.ReLU(), (3, 4), "float"),
    "GELU": (lambda nn: nn.GELU(), (3, 4), "float"),
    "Sigmoid": (lambda nn: nn.Sigmoid(), (3, 4), "float"),
    "Tanh": (lambda nn: nn.Tanh(), (3, 4), "float"),
    "Softmax": (lambda nn: nn.Softmax(dim=1), (3, 4), "float"),
    "LogSoftmax": (lambda nn: nn.LogSoftmax(dim=1), (3, 4), "float"),
    "Flatten": (lambda nn: nn.Flatten(), (2, 3, 4), "float"),
    "Sequential-MLP": (lambda nn: nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2)), (4, 5), "float"),
}

#: name -> (factory(nn), input shape, target kind)
LOSSES: dict[str, tuple[Callable, tuple, str]] = {
    "MSELoss": (lambda nn: nn.MSELoss(), (4, 3), "float"),
    "L1Loss": (lambda nn: nn.L1Loss(), (4, 3), "float"),
    "SmoothL1Loss": (lambda nn: nn.SmoothL1Loss(), (4, 3), "float"),
    "CrossEntropyLoss": (lambda nn: nn.CrossEntropyLoss(), (4, 5), "class"),
    "NLLLoss": (lambda nn: nn.NLLLoss(), (4, 5), "class"),
    "BCELoss": (lambda nn: nn.BCELoss(), (4, 3), "prob"),
    "BCEWithLogitsLoss": (lambda nn: nn.BCEWithLogitsLoss(), (4, 3), "prob"),
}


def _nn_case(name: str, dt: str, direction: str) -> Case:
    factory, shape, kind = NN_LAYERS[name]

    def run(ctx: Context) -> tuple[str, str]:
        _require("nn.Linear")
        if dt not in ctx.dtypes:
            return "unsupported", f"the device does not support {dt}"
        try:
            cpu_mod, dev_mod = _pair_modules(ctx, factory)
        except AttributeError as exc:
            raise Skip(f"not available: {exc}") from None
        rng = np.random.default_rng(len(name))
        x = rng.integers(0, 10, size=shape) if kind == "index" else rng.standard_normal(shape).astype(np.float32)
        xc = ember.tensor(x)
        xd = ember.tensor(x, device=ctx.device)
        if kind == "float":
            xc.requires_grad_(True)
            xd.requires_grad_(True)
        yc = cpu_mod(xc)
        with _under_test():
            yd = dev_mod(xd)
        compare(_host(yd), _host(yc), dt, _NN_TOL, "output: ")
        if direction == "forward":
            return "native", f"output {tuple(yc.shape)}"
        v = rng.standard_normal(tuple(yc.shape)).astype(np.float32)
        (yc * ember.tensor(v)).sum().backward()
        with _under_test():
            (yd * ember.tensor(v, device=ctx.device)).sum().backward()
        if kind == "float":
            compare(_host(xd.grad), _host(xc.grad), dt, _NN_TOL, "input grad: ")
        for (pname, pc), (_, pd) in zip(cpu_mod.named_parameters(), dev_mod.named_parameters()):
            if pc.grad is not None or pd.grad is not None:
                if pd.grad is None or pc.grad is None:
                    raise AssertionError(f"grad of {pname}: one side is None")
                compare(_host(pd.grad), _host(pc.grad), dt, _NN_TOL, f"grad of {pname}: ")
        return "native", ""

    return Case(4, f"nn.{name}", dt, direction, run)


def _loss_case(name: str, dt: str, direction: str) -> Case:
    factory, shape, kind = LOSSES[name]

    def run(ctx: Context) -> tuple[str, str]:
        _require("nn.Linear")
        try:
            loss_c = factory(ember.nn)
        except AttributeError as exc:
            raise Skip(f"not available: {exc}") from None
        rng = np.random.default_rng(len(name) + 1)
        x = rng.standard_normal(shape).astype(np.float32)
        if kind == "class":
            tgt = rng.integers(0, shape[1], size=shape[0])
            if name == "NLLLoss":
                x = x - np.log(np.exp(x).sum(1, keepdims=True))
        elif kind == "prob":
            tgt = rng.uniform(0, 1, size=shape).astype(np.float32)
            if name == "BCELoss":
                x = 1 / (1 + np.exp(-x))
        else:
            tgt = rng.standard_normal(shape).astype(np.float32)
        xc, xd = ember.tensor(x, requires_grad=True), ember.tensor(x, device=ctx.device).requires_grad_(True)
        lc = loss_c(xc, ember.tensor(tgt))
        with _under_test():
            ld = factory(ember.nn)(xd, ember.tensor(tgt, device=ctx.device))
        compare(_host(ld), _host(lc), dt, _NN_TOL, "loss: ")
        if direction == "backward":
            lc.backward()
            with _under_test():
                ld.backward()
            compare(_host(xd.grad), _host(xc.grad), dt, _NN_TOL, "input grad: ")
        return "native", ""

    return Case(4, f"nn.{name}", dt, direction, run)


# ---- level 5: optimizers ---------------------------------------------------------------------------
OPTIMIZERS: dict[str, Callable] = {
    "SGD": lambda optim, p: optim.SGD(p, lr=0.1),
    "SGD-momentum-nesterov-wd": lambda optim, p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True,
                                                           weight_decay=0.01),
    "Adam": lambda optim, p: optim.Adam(p, lr=0.01),
    "AdamW": lambda optim, p: optim.AdamW(p, lr=0.01, weight_decay=0.1),
    "RMSprop": lambda optim, p: optim.RMSprop(p, lr=0.01),
    "Adagrad": lambda optim, p: optim.Adagrad(p, lr=0.1),
}


def _optim_case(name: str) -> Case:
    def run(ctx: Context) -> tuple[str, str]:
        _require("optim.SGD")
        rng = np.random.default_rng(3)
        w0 = rng.standard_normal((3, 4)).astype(np.float32)
        target = rng.standard_normal((3, 4)).astype(np.float32)
        results = []
        for dev in ("cpu", ctx.device):
            w = ember.tensor(w0, device=dev).requires_grad_(True)
            tgt = ember.tensor(target, device=dev)
            try:
                opt = OPTIMIZERS[name](ember.optim, [w])
            except AttributeError as exc:
                raise Skip(f"not available: {exc}") from None
            with _under_test():
                for _ in range(4):
                    opt.zero_grad()
                    ((w - tgt) ** 2).sum().backward()
                    opt.step()
            results.append(_host(w))
        compare(results[1], results[0], "float32", 10.0, "parameters after 4 steps: ")
        return "native", "4 steps"

    return Case(5, f"optim.{name}", "float32", "backward", run)


# ---- level 6: tiny training runs ---------------------------------------------------------------------
def _mlp(nn):
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))


def _cnn(nn):
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 3))


def _train_case(name: str, factory: Callable, shape: tuple) -> Case:
    def run(ctx: Context) -> tuple[str, str]:
        _require("nn.Linear")
        _require("optim.SGD")
        rng = np.random.default_rng(11)
        x = rng.standard_normal((8,) + shape).astype(np.float32)
        y = rng.integers(0, 3, size=8)
        try:
            cpu_mod, dev_mod = _pair_modules(ctx, factory)
        except AttributeError as exc:
            raise Skip(f"not available: {exc}") from None
        losses = []
        for dev, mod in (("cpu", cpu_mod), (ctx.device, dev_mod)):
            opt = ember.optim.SGD(mod.parameters(), lr=0.1, momentum=0.9)
            loss_fn = ember.nn.CrossEntropyLoss()
            xs, ys = ember.tensor(x, device=dev), ember.tensor(y, device=dev)
            seq = []
            with _under_test():
                for _ in range(5):
                    opt.zero_grad()
                    loss = loss_fn(mod(xs), ys)
                    loss.backward()
                    opt.step()
                    seq.append(float(loss.item()))
            losses.append(np.array(seq, dtype=np.float32))
        compare(losses[1], losses[0], "float32", 100.0, "losses over 5 steps: ")
        return "native", "losses " + ", ".join(f"{v:.4f}" for v in losses[1])

    return Case(6, f"train.{name}", "float32", "backward", run)


# ---- level 8: compiled (ember.compile) equals eager, on the device ----------------------------------------
def _compiled_layer_case(name: str) -> Case:
    """The layer compiled and called until it replays, against the same layer run eagerly."""
    factory, shape, kind = NN_LAYERS[name]

    def run(ctx: Context) -> tuple[str, str]:
        compile_ = _require("compile")
        try:
            _, dev_mod = _pair_modules(ctx, factory)
        except AttributeError as exc:
            raise Skip(f"not available: {exc}") from None
        twin = copy.deepcopy(dev_mod)
        compiled = compile_(dev_mod)
        rng = np.random.default_rng(len(name))
        for call in range(4):  # two captures, then replays
            x = rng.integers(0, 10, size=shape) if kind == "index" else rng.standard_normal(shape).astype(np.float32)
            xs = [ember.tensor(x, device=ctx.device) for _ in range(2)]
            if kind == "float":
                for t in xs:
                    t.requires_grad_(True)
            with _under_test():
                got = compiled(xs[0])
            want = twin(xs[1])
            compare(_host(got), _host(want), "float32", 4.0, f"call {call + 1} output: ")
            v = ember.tensor(rng.standard_normal(tuple(want.shape)).astype(np.float32), device=ctx.device)
            if got.requires_grad:
                with _under_test():
                    (got * v).sum().backward()
                (want * v).sum().backward()
                if kind == "float":
                    compare(_host(xs[0].grad), _host(xs[1].grad), "float32", 4.0, f"call {call + 1} input grad: ")
                for (pname, pc), pd in zip(twin.named_parameters(), dev_mod.parameters()):
                    compare(_host(pd.grad), _host(pc.grad), "float32", 4.0, f"call {call + 1} grad of {pname}: ")
                    pc.grad = pd.grad = None
        stats = compiled.stats
        if not stats.replays:
            return "failing", "never replayed: " + "; ".join(stats.graph_breaks) if stats.graph_breaks else "never replayed"
        return "native", f"{stats.kernels_captured} kernels -> {stats.kernels_replayed} ({stats.fused_groups} fused)"

    return Case(8, f"compiled.{name}", "float32", "backward", run)


def _compiled_chain_case() -> Case:
    """An elementwise chain through the backend's ``compile_elementwise`` (or replayed unfused)."""

    def run(ctx: Context) -> tuple[str, str]:
        compile_ = _require("compile")

        def chain(a, b):
            return ((a * b + b).relu() - 0.5).exp().tanh().sqrt().neg().abs() / (b.abs() + 1.0)

        fn = compile_(chain)
        rng = np.random.default_rng(8)
        for call in range(4):
            a, b = (ember.tensor(rng.standard_normal((5, 7)).astype(np.float32), device=ctx.device) for _ in range(2))
            with _under_test():
                got = fn(a, b)
            compare(_host(got), _host(chain(a, b)), "float32", 2.0, f"call {call + 1}: ")
        stats = fn.stats
        how = f"{stats.fused_groups} fused group(s)" if stats.fused_groups else "unfused (no compile_elementwise)"
        return "native", f"{stats.kernels_captured} kernels -> {stats.kernels_replayed}, {how}"

    return Case(8, "compiled.elementwise-chain", "float32", "forward", run)


def _compiled_train_case(name: str, factory: Callable, shape: tuple) -> Case:
    """Five SGD steps, the whole step compiled, against the same steps run eagerly on the device."""

    def run(ctx: Context) -> tuple[str, str]:
        compile_ = _require("compile")
        rng = np.random.default_rng(12)
        x = ember.tensor(rng.standard_normal((8,) + shape).astype(np.float32), device=ctx.device)
        y = ember.tensor(rng.integers(0, 3, size=8), device=ctx.device)
        _, mod = _pair_modules(ctx, factory)
        twin = copy.deepcopy(mod)
        steps = []
        for m in (mod, twin):
            opt = ember.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
            loss_fn = ember.nn.CrossEntropyLoss()

            def step(m=m, opt=opt, loss_fn=loss_fn):
                opt.zero_grad()
                loss = loss_fn(m(x), y)
                loss.backward()
                opt.step()
                return loss

            steps.append(step)
        compiled = compile_(steps[0])
        for i in range(5):
            with _under_test():
                got = compiled()
            want = steps[1]()
            compare(_host(got), _host(want), "float32", 4.0, f"loss of step {i + 1}: ")
        for (pname, p), q in zip(twin.named_parameters(), mod.parameters()):
            compare(_host(q), _host(p), "float32", 8.0, f"{pname} after 5 steps: ")
        if not compiled.stats.replays:
            return "failing", "never replayed: " + "; ".join(compiled.stats.graph_breaks)
        return "native", f"{compiled.stats.kernels_captured} kernels -> {compiled.stats.kernels_replayed}"

    return Case(8, f"compiled.train-{name}", "float32", "backward", run)


# ---- level 7: device semantics ------------------------------------------------------------------------
def _setitem_int(t):
    t[0] = 5


def _setitem_slice(t):
    t[1:3] = 1


def _fill_select(t):
    if isinstance(t, np.ndarray):
        t[0].fill(7)
    else:
        t[0].fill_(7)


def _view_add(t):
    if isinstance(t, np.ndarray):
        t.reshape(6)[...] += 1  # a view, as t.view(6) is
    else:
        t.view(6).add_(1)


def _transposed_copy(t):
    src = np.arange(6, dtype=np.float32).reshape(2, 3) * 10
    if isinstance(t, np.ndarray):
        t.T[...] = src
    else:
        t.t().copy_(ember.tensor(src, device=t.device))


def _strided_mul(t):
    if isinstance(t, np.ndarray):
        t[:, ::2] *= 3
    else:
        t[:, ::2].mul_(3)


def _column_zero(t):
    if isinstance(t, np.ndarray):
        t[:, 1] = 0
    else:
        t[:, 1].zero_()


def _base_write_seen_by_view(t):
    """A view made before a write to its base must show the write (it is not a snapshot)."""
    view = t[1]
    if isinstance(t, np.ndarray):
        t += 100
        return view.copy()
    t.add_(100)
    return view


#: Writes through views (name -> write): each must reach the base tensor, as on the CPU. A
#: backend whose view kernels return copies loses them; one lacking view kernels must raise.
WRITE_THROUGH: dict[str, Callable] = {
    "setitem-int": _setitem_int, "setitem-slice": _setitem_slice, "fill_-on-select": _fill_select,
    "view-add_": _view_add, "transposed-copy_": _transposed_copy, "strided-slice-mul_": _strided_mul,
    "column-zero_": _column_zero, "base-write-seen-by-view": _base_write_seen_by_view,
}


def _write_through_case(name: str, write: Callable) -> Case:
    def run(ctx: Context) -> tuple[str, str]:
        base = np.arange(6, dtype=np.float32).reshape(3, 2)
        want = base.copy()
        want_out = write(want)
        # Fallbacks are allowed: the point is that none of them may turn a view into a lost write.
        t = ember.tensor(base, device=ctx.device)
        with _under_test():
            got_out = write(t)
        compare(_host(t), want, "float32", 0.0, f"{name}: the base after the write: ")
        if want_out is not None:
            compare(_host(got_out), want_out, "float32", 0.0, f"{name}: the view after the write: ")
        return "native", ""

    return Case(0, f"write-through/{name}", "float32", "forward", run)


def _semantics_cases() -> list[Case]:
    def roundtrip(dt):
        def run(ctx):
            if dt not in ctx.dtypes:
                return "unsupported", f"the device does not support {dt}"
            rng = np.random.default_rng(5)
            from ember_conformance.samples import values

            x = values(rng, (3, 5), dt)
            t = ember.tensor(x).to(ctx.device)
            if t.device != ctx.device:
                raise AssertionError(f".to({ctx.device}) gave a tensor on {t.device}")
            back = t.cpu().numpy()
            compare(back, x, dt, 0.0, "cpu -> device -> cpu: ")
            with ember.fallback_policy("allow"):
                view = ember.tensor(x, device=ctx.device).transpose(0, 1).cpu().numpy()
            compare(view, x.T, dt, 0.0, "transposed view -> cpu: ")
            return "native", ""
        return Case(7, "transfer-roundtrip", dt, "forward", run)

    def cross_device(ctx):
        if ctx.device.type == "cpu":
            raise Skip("needs a device other than the cpu")
        a = ember.ones(2, device=ctx.device)
        b = ember.ones(2)
        try:
            a + b
        except Exception as exc:
            msg = str(exc)
            if "cpu" not in msg or str(ctx.device.type) not in msg:
                raise AssertionError(f"the error must name both devices: {type(exc).__name__}: {msg}") from None
            return "native", f"{type(exc).__name__}: {msg[:120]}"
        raise AssertionError(f"adding a {ctx.device} tensor and a cpu tensor did not raise")

    def unsupported_dtype(ctx):
        from ember_conformance.samples import ALL

        missing = [d for d in ALL if d not in ctx.dtypes]
        if not missing:
            raise Skip("the device supports every dtype")
        for d in missing:
            try:
                ember.zeros(2, dtype=getattr(ember, d), device=ctx.device)
            except TypeError as exc:
                if d not in str(exc):
                    raise AssertionError(f"the error for {d} does not name the dtype: {exc}") from None
                continue
            raise AssertionError(f"creating a {d} tensor on {ctx.device} (unsupported) did not raise TypeError")
        return "native", f"clear TypeError for {', '.join(missing)}"

    def state_dict(ctx):
        _require("nn.Linear")
        mod = ember.nn.Linear(3, 2)
        with ember.fallback_policy("allow"):
            mod = mod.to(ctx.device)
        buf = io.BytesIO()
        try:
            ember.save(mod.state_dict(), buf)
        except NotImplementedError as exc:
            raise Skip(f"not available: ember.save raises NotImplementedError ({exc})") from None
        buf.seek(0)
        loaded = ember.load(buf)
        for k, v in mod.state_dict().items():
            if loaded[k].device != ctx.device:
                raise AssertionError(f"{k} loaded on {loaded[k].device}, saved from {ctx.device}")
            compare(_host(loaded[k]), _host(v), "float32", 0.0, f"{k}: ")
        buf.seek(0)
        on_cpu = ember.load(buf, map_location="cpu")
        if any(t.device.type != "cpu" for t in on_cpu.values()):
            raise AssertionError("map_location='cpu' left tensors on the device")
        fresh = ember.nn.Linear(3, 2)
        fresh.load_state_dict(on_cpu)
        return "native", ""

    def seeded(ctx):
        out = []
        for dev in ("cpu", ctx.device):
            ember.manual_seed(1234)
            with _under_test():
                out.append([_host(ember.rand(3, 4, device=dev)), _host(ember.randn(5, device=dev)),
                            _host(ember.randint(0, 10, (6,), device=dev))])
        for name, a, b in zip(("rand", "randn", "randint"), out[1], out[0]):
            compare(a, b, str(b.dtype), 1.0, f"{name} after manual_seed(1234): ")
        return "native", ""

    from ember_conformance.samples import ALL

    cases = [roundtrip(dt) for dt in ALL]
    cases += [Case(7, "cross-device-error", "-", "forward", cross_device),
              Case(7, "unsupported-dtype-error", "-", "forward", unsupported_dtype),
              Case(7, "state_dict-save-load", "float32", "forward", state_dict),
              Case(7, "same-seed-same-numbers", "float32", "forward", seeded)]
    return cases


def build(ctx: Context, levels) -> list[Case]:
    cases: list[Case] = []
    if 0 in levels:
        cases += [_write_through_case(name, fn) for name, fn in WRITE_THROUGH.items()]
    if 4 in levels:
        if getattr(getattr(ember, "nn", None), "Linear", None) is None:
            cases.append(Case(4, "nn", "-", "forward", lambda c: (_ for _ in ()).throw(
                Skip("not available: ember.nn.Linear is missing"))))
        else:
            for name in NN_LAYERS:
                cases += [_nn_case(name, "float32", "forward"), _nn_case(name, "float32", "backward")]
            for name in LOSSES:
                cases += [_loss_case(name, "float32", "forward"), _loss_case(name, "float32", "backward")]
    if 5 in levels:
        if getattr(getattr(ember, "optim", None), "SGD", None) is None:
            cases.append(Case(5, "optim", "-", "backward", lambda c: (_ for _ in ()).throw(
                Skip("not available: ember.optim.SGD is missing"))))
        else:
            cases += [_optim_case(name) for name in OPTIMIZERS]
    if 6 in levels:
        cases += [_train_case("mlp", _mlp, (6,)), _train_case("cnn", _cnn, (1, 8, 8))]
    if 7 in levels:
        cases += _semantics_cases()
    if 8 in levels:
        cases.append(_compiled_chain_case())
        cases += [_compiled_layer_case(name) for name in NN_LAYERS]
        cases += [_compiled_train_case("mlp", _mlp, (6,)), _compiled_train_case("cnn", _cnn, (1, 8, 8))]
    return cases
