"""PyTorch's ``autograd_function_db`` (``torch.testing._internal.autograd_function_db``), run
against ember: custom ``autograd.Function`` classes in PyTorch 2's style (``forward`` without
``ctx`` plus ``setup_context``), with NumPy inside (NumpyCube, NumpyMul, NumpySort, NumpyTake), with
``mark_dirty``/``mark_non_differentiable``/``once_differentiable``/``save_for_forward``, their own
``vmap`` and ``jvp`` staticmethods or ``generate_vmap_rule = True``, and a ``forward`` with default
arguments. Each class is re-created for ember (the same method bodies, re-bound so that ``torch``
means ``ember``, subclassing ``ember.autograd.Function``) and each sample is compared with PyTorch's:
forward values, in-place variant, float64 gradients, and the transforms PyTorch's functorch tests
(``test/functorch/test_ops.py``) apply to this database: ``vmap`` over every batched-argument
combination (batch dims 0 and -1), ``vjp``, ``jvp`` (where the entry supports forward AD),
``grad`` and ``jacrev``. A transform PyTorch refuses must be refused by ember too.
"""

from __future__ import annotations

import itertools
import types
from typing import Any

import pytest
from script_suites import load_script

torch = pytest.importorskip("torch")

suite = load_script("opinfo_suite")  # (also stubs expecttest for torch.testing)

import ember  # noqa: E402
from torch.testing._internal import autograd_function_db as adb  # noqa: E402

#: the database module's globals with ``torch`` read as ``ember``: the re-bound method bodies and
#: lambdas look their names up here, so ``NumpyMul.apply`` inside a backward is ember's class too
_G: dict = dict(vars(adb))
_G["torch"] = ember


def _rebind(fn: types.FunctionType) -> Any:
    """``fn``'s code with ``_G`` as its globals (``once_differentiable`` re-applied as ember's)."""
    inner = getattr(fn, "__wrapped__", None)
    if inner is not None:
        return ember.autograd.function.once_differentiable(_rebind(inner))
    out = types.FunctionType(fn.__code__, _G, fn.__name__, fn.__defaults__, fn.__closure__)
    out.__kwdefaults__ = fn.__kwdefaults__
    return out


for _name, _obj in list(vars(adb).items()):
    if isinstance(_obj, type) and issubclass(_obj, torch.autograd.Function) and _obj.__module__ == adb.__name__:
        _attrs = {k: staticmethod(_rebind(v.__func__)) if isinstance(v, staticmethod) else v
                  for k, v in _obj.__dict__.items() if isinstance(v, staticmethod) or not k.startswith("__")}
        _G[_name] = type(_name, (ember.autograd.Function,), _attrs)
    elif isinstance(_obj, types.FunctionType) and _name == "to_numpy":
        _G[_name] = _rebind(_obj)


def _ember_fn(fn: Any) -> Any:
    if isinstance(fn, types.MethodType):  # Class.apply
        return getattr(_G[fn.__self__.__name__], fn.__name__)
    return _rebind(fn)  # a lambda of the entry


_OPS = {op.name: op for op in adb.autograd_function_db}

#: device type -> entry -> why it differs there only (the reference runs on PyTorch's cpu)
KNOWN_ON: dict[str, dict[str, str]] = {
    "opencl": {"NumpyExpMarkDirtyAutogradFunction": "writes exp through x.cpu().numpy(), a copy for a device tensor "
                                                    "(as for a CUDA tensor in PyTorch), so x keeps its values"},
}

#: entry -> why ember's answer differs (xfail while it does)
KNOWN: dict[str, str] = {
    "CubeGenVmapAutogradFunction": "ember.func.jvp differentiates a vector-Jacobian product twice, so it runs a custom "
                                   "Function's backward, not its jvp staticmethod; this entry's jvp and backward "
                                   "deliberately disagree (PyTorch's func.jvp calls jvp)",
}


def _floats(out: Any) -> tuple:
    """The floating outputs (what PyTorch's gradcheck_wrapper keeps: sort's values, not its indices)."""
    outs = out if isinstance(out, tuple) else (out,)
    return tuple(o for o in outs if o.dtype.is_floating_point)


def _both(t_call: Any, e_call: Any) -> str:
    """Run both; "" when they agree or both raise, else what differs."""
    try:
        expected = t_call()
    except Exception as exc:  # noqa: BLE001 - PyTorch refuses: ember must too
        try:
            e_call()
        except Exception:  # noqa: BLE001
            return ""
        return f"PyTorch raises {type(exc).__name__} ({str(exc)[:150]}), ember does not"
    try:
        actual = e_call()
    except Exception as exc:  # noqa: BLE001
        return f"ember raises {type(exc).__name__}: {str(exc)[:300]}"
    return suite.compare(expected, actual)


def _batched(lib: Any, t: Any, bdim: int | None) -> Any:
    """``t`` stacked over a batch of 3 (distinct float values; index tensors repeated) at ``bdim``."""
    if bdim is None or not isinstance(t, lib.Tensor):
        return t
    parts = [t * (1 + 0.125 * k) if t.dtype.is_floating_point else t for k in range(3)]
    return lib.stack(parts).movedim(0, bdim)


def _check(name: str, device: str) -> list[str]:
    op = _OPS[name]
    e_op = _ember_fn(op.op)
    suite.DEVICE[0] = device
    problems = []
    for dt in (torch.float32, torch.float64):
        torch.manual_seed(0)
        for k, s in enumerate(op.sample_inputs("cpu", dt, requires_grad=dt == torch.float64)):
            problems += [f"{str(dt)[6:]} sample {k}: {p}" for p in _check_sample(op, e_op, s, dt == torch.float64)]
    return problems


def _check_sample(op: Any, e_op: Any, s: Any, float64: bool) -> list[str]:
    memo: dict = {}
    t_args = [s.input, *s.args]
    e_args = suite.to_ember(t_args, memo)
    kw_t, kw_e = dict(s.kwargs), suite.to_ember(dict(s.kwargs), memo)
    checks = [("forward", lambda: op.op(*t_args, **kw_t), lambda: e_op(*e_args, **kw_e))]
    if op.inplace_variant is not None:  # NumpyExp_ (mark_dirty): on a copy of the input
        e_in = _ember_fn(op.inplace_variant)
        checks.append(("in-place", lambda: op.inplace_variant(t_args[0].detach().clone()),
                       lambda: e_in(e_args[0].detach().clone())))
    if float64:
        checks.append(("backward", lambda: suite.grads_of(op.op, torch, t_args[0], t_args[1:], kw_t),
                       lambda: suite.grads_of(e_op, ember, e_args[0], e_args[1:], kw_e)))
        checks += _transform_checks(op, e_op, t_args, e_args)
    return [f"{what}: {d}" for what, tc, ec in checks if (d := _both(tc, ec))]


def _transform_checks(op: Any, e_op: Any, t_args: list, e_args: list) -> list:
    """torch.func against ember.func on one float64 sample, as functorch's test_ops.py uses them."""
    tensor_pos = [i for i, a in enumerate(t_args) if isinstance(a, torch.Tensor)]
    diff_pos = [i for i in tensor_pos if t_args[i].dtype.is_floating_point]

    def over(lib: Any, fn: Any, args: list, pos: list) -> Any:
        """``fn`` as a function of the tensors at ``pos`` (the other arguments fixed), floating outputs."""
        base = [a.detach() if isinstance(a, lib.Tensor) else a for a in args]

        def f(*xs: Any) -> Any:
            full = list(base)
            for i, x in zip(pos, xs):
                full[i] = x
            outs = _floats(fn(*full))
            return outs[0] if len(outs) == 1 else outs
        return f, [base[i] for i in pos]

    checks = []
    for dims in itertools.product((None, 0, -1), repeat=len(tensor_pos)):
        if all(d is None for d in dims):
            continue
        in_dims = [None] * len(t_args)
        for i, d in zip(tensor_pos, dims):
            in_dims[i] = d

        def run_vmap(lib: Any, fn: Any, args: list, in_dims: list = in_dims) -> Any:
            batched = [_batched(lib, a.detach() if isinstance(a, lib.Tensor) else a, d) for a, d in zip(args, in_dims)]
            return lib.func.vmap(fn, in_dims=tuple(in_dims))(*batched)
        checks.append((f"vmap in_dims={in_dims}", lambda r=run_vmap: r(torch, op.op, t_args),
                       lambda r=run_vmap: r(ember, e_op, e_args)))

    def run_vjp(lib: Any, fn: Any, args: list) -> Any:
        f, primals = over(lib, fn, args, diff_pos)
        out, pullback = lib.func.vjp(f, *primals)
        cot = tuple(lib.ones_like(o) * 0.5 for o in out) if isinstance(out, tuple) else lib.ones_like(out) * 0.5
        return out, pullback(cot)
    checks.append(("vjp", lambda: run_vjp(torch, op.op, t_args), lambda: run_vjp(ember, e_op, e_args)))

    def run_grad(lib: Any, fn: Any, args: list) -> Any:
        f, primals = over(lib, fn, args, diff_pos[:1])
        return lib.func.grad(lambda x: (f(x)[0] if isinstance(f(x), tuple) else f(x)).sum())(primals[0])
    checks.append(("grad", lambda: run_grad(torch, op.op, t_args), lambda: run_grad(ember, e_op, e_args)))

    def run_jacrev(lib: Any, fn: Any, args: list) -> Any:
        f, primals = over(lib, fn, args, diff_pos[:1])
        return lib.func.jacrev(f)(primals[0])
    checks.append(("jacrev", lambda: run_jacrev(torch, op.op, t_args), lambda: run_jacrev(ember, e_op, e_args)))

    if op.supports_forward_ad:
        def run_jvp(lib: Any, fn: Any, args: list) -> Any:
            f, primals = over(lib, fn, args, diff_pos)
            tangents = tuple(p * 0.25 + 1 for p in primals)
            return lib.func.jvp(f, tuple(primals), tangents)
        checks.append(("jvp", lambda: run_jvp(torch, op.op, t_args), lambda: run_jvp(ember, e_op, e_args)))
    return checks


@pytest.mark.parametrize("name", sorted(_OPS))
def test_autograd_function_db_matches_pytorch(device, name):
    problems = _check(name, device)
    reason = KNOWN.get(name) or KNOWN_ON.get(ember.device(device).type, {}).get(name)
    if problems and reason:
        pytest.xfail(reason)
    assert not problems, "\n".join(problems[:6])
