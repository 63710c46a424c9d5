"""Run PyTorch's legacy ``common_nn`` test tables against ember's ``nn``: module configurations nobody here chose.

``torch.testing._internal.common_nn`` holds the old tables of ``test_nn.py``: ``module_tests``,
``get_new_module_tests()`` and ``criterion_tests`` (with the unbatched ``*_criterion_no_batch``
rows). Each entry is a dict naming a module (``module_name`` + ``constructor_args``) or giving a
``constructor`` (a lambda, or ``wrap_functional(F.xxx, **kwargs)``), an input (``input_size`` or
``input_fn``) and, for criteria, a target. They cover what ModuleInfo (scripts/moduleinfo_suite.py)
may not: padding modes, dilations, groups, ``ceil_mode``, reductions, class weights,
``ignore_index``, unbatched inputs, the functional forms of the losses with ``reduction='none'``.

For every entry this script builds PyTorch's module and ember's (a lambda is re-bound so ``torch``,
``nn`` and ``F`` mean ember's, and the tensors it closes over become ember tensors), copies
PyTorch's parameters and buffers into ember's (``load_state_dict``), draws the input (and target)
once with PyTorch's generator from a fixed seed, converts it, and compares the forward outputs in
float32 and float64, the buffers after the forward, and in float64 the gradients of the outputs'
sum with respect to the inputs, every parameter and (where PyTorch differentiates it) a floating
target. Entries that draw random numbers (RReLU in training, dropout, fractional pooling) or only
run on CUDA are skipped.

    .venv/bin/python scripts/nn_tests_suite.py
    .venv/bin/python scripts/nn_tests_suite.py --entries Conv2d_dilated,NLLLoss_no_reduce -v --device opencl
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import sys
import types
import unittest
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

try:
    import expecttest  # noqa: F401
except ImportError:  # only its TestCase is imported by torch.testing._internal.common_utils
    _stub = types.ModuleType("expecttest")
    _stub.TestCase = unittest.TestCase  # type: ignore[attr-defined]
    sys.modules["expecttest"] = _stub

import ember  # noqa: E402
import torch  # noqa: E402
from torch.testing._internal import common_nn  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import opinfo_suite as _op  # noqa: E402  (the value conversion and comparison of the op suite)

#: module classes whose forward draws random numbers (ember's generator is not PyTorch's)
_RANDOM = {
    "RReLU",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "AlphaDropout",
    "FeatureAlphaDropout",
    "FractionalMaxPool2d",
    "FractionalMaxPool3d",
}
#: functionals whose result is random
_RANDOM_FUNCTIONS = {
    "dropout",
    "alpha_dropout",
    "feature_alpha_dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "rrelu",
    "fractional_max_pool2d",
    "fractional_max_pool3d",
}

#: entries ember deliberately does not match, with the reason (name -> reason)
KNOWN: dict[str, str] = {
    "Embedding_sparse": "ember has no sparse tensors: sparse=True raises NotImplementedError (docs/parity.md)",
    "EmbeddingBag_sparse": "ember has no sparse tensors: sparse=True raises NotImplementedError (docs/parity.md)",
}

_SEED = 0


def _entry_name(d: dict) -> str:
    if d.get("fullname"):
        return d["fullname"]
    ctor = d.get("constructor")
    base = d.get("module_name") or getattr(ctor, "__name__", "?")
    return base + (f"_{d['desc']}" if d.get("desc") else "")


@functools.cache
def entries() -> list[tuple[str, dict, bool]]:
    """(name, entry, is_criterion) for every table row, names made unique (built once: the tables'
    closures hold tensors drawn when they are built)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = [(d, False) for d in common_nn.module_tests + common_nn.get_new_module_tests()]
    rows += [(d, True) for d in common_nn.criterion_tests]
    out, seen = [], Counter()
    for d, crit in rows:
        name = _entry_name(d)
        seen[name] += 1
        if seen[name] > 1:
            name = f"{name}#{seen[name]}"
        out.append((name, d, crit))
    return out


def _to_ember_deep(value: Any) -> Any:
    """``_op.to_ember`` that also maps PyTorch's functions (``activation=F.gelu``) to ember's."""
    if isinstance(value, (list, tuple)):
        return type(value)(_to_ember_deep(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_ember_deep(v) for k, v in value.items()}
    if callable(value) and not isinstance(value, (type, torch.Tensor)):
        return _ember_callable(value)
    return _op.to_ember(value)


def _remap(fn: types.FunctionType) -> types.FunctionType:
    """``fn`` with ``torch``/``nn``/``F`` read as ember's and the tensors in its closure as ember tensors."""
    out = _op._remap_function(fn)  # the globals; the closure is rebuilt from ``fn``'s own cells below
    if not fn.__closure__:
        return out
    cells = []
    for cell in fn.__closure__:
        try:
            content = cell.cell_contents
        except ValueError:
            cells.append(types.CellType())
            continue
        if isinstance(content, types.FunctionType) and (content.__module__ or "").startswith("torch.testing"):
            content = _remap(content)  # a helper such as ``kwargs(i)`` closing over a weight tensor
        elif callable(content) and getattr(content, "__module__", "") in ("torch", "torch._C._VariableFunctions"):
            content = getattr(ember, content.__name__, content)
        elif isinstance(content, torch.Tensor):
            content = _op.to_ember(content)
        elif isinstance(content, type) and issubclass(content, torch.nn.Module):
            content = getattr(ember.nn, content.__name__)
        cells.append(types.CellType(content))
    new = types.FunctionType(out.__code__, out.__globals__, out.__name__, out.__defaults__, tuple(cells))
    new.__kwdefaults__ = out.__kwdefaults__
    return new


def _ember_callable(fn: Any) -> Any:
    """ember's counterpart of a function a ``wrap_functional`` module calls."""
    if isinstance(fn, types.FunctionType) and (fn.__module__ or "").startswith("torch.testing"):
        return _remap(fn)
    mod = getattr(fn, "__module__", "") or ""
    # F.gelu is torch._C._nn.gelu: the nn namespaces are ember.nn.functional's, the rest ember's
    nn_first = mod.startswith(("torch.nn.functional", "torch._C._nn"))
    spaces = (ember.nn.functional, ember) if nn_first else (ember, ember.nn.functional)
    out = next((getattr(sp, fn.__name__) for sp in spaces if hasattr(sp, fn.__name__)), None)
    if out is None:
        raise _op.Unconvertible(f"ember lacks {mod}.{fn.__name__}")
    return out


def _functional_parts(cls: type) -> tuple[Any, dict] | None:
    """(fn, kwargs) of a ``wrap_functional`` module class, or None for any other class."""
    if cls.__name__ != "FunctionalModule" or not cls.forward.__closure__:
        return None
    names = cls.forward.__code__.co_freevars
    cells = dict(zip(names, (c.cell_contents for c in cls.forward.__closure__)))
    return cells["fn"], cells.get("kwargs", {})


def _build_ember(d: dict, t_ctor: Any, ctor_args: tuple) -> Any:
    """ember's module for an entry (``t_ctor`` is PyTorch's constructor)."""
    if isinstance(t_ctor, type) and issubclass(t_ctor, torch.nn.Module):
        parts = _functional_parts(t_ctor)
        if parts is not None:
            fn, kwargs = parts
            efn, ekw = _ember_callable(fn), _to_ember_deep(dict(kwargs))

            class FunctionalModule(ember.nn.Module):
                def forward(self, *args: Any) -> Any:
                    return efn(*args, **ekw)

            return FunctionalModule()
        ecls = getattr(ember.nn, t_ctor.__name__, None)
        if ecls is None:
            raise LookupError(t_ctor.__name__)
        return ecls(*_to_ember_deep(list(ctor_args)))
    if isinstance(t_ctor, types.FunctionType):
        return _remap(t_ctor)(*_to_ember_deep(list(ctor_args)))
    raise _op.Unconvertible(f"constructor {t_ctor!r}")


def _bind_reduction(name: str, ctor: Any) -> Any:
    """The ``*_no_batch_dim_{none,mean,sum}`` criteria's lambdas read the module global ``reduction``
    of their loop, so in PyTorch's table all of them build ``reduction='sum'`` (the loop's last
    value); here each is bound to the reduction its name says, for PyTorch and ember alike."""
    suffix = name.rsplit("_", 1)[-1]
    if (
        not isinstance(ctor, types.FunctionType)
        or "reduction" not in ctor.__code__.co_names
        or suffix not in ("none", "mean", "sum")
    ):
        return ctor
    out = types.FunctionType(
        ctor.__code__, {**ctor.__globals__, "reduction": suffix}, ctor.__name__, ctor.__defaults__, ctor.__closure__
    )
    out.__kwdefaults__ = ctor.__kwdefaults__
    return out


def _is_random(t_mod: Any) -> bool:
    """Whether the forward draws random numbers: dropout with p > 0 (a Transformer's p=0 dropout
    layers are deterministic), RReLU in training, fractional pooling, random functionals."""
    for m in t_mod.modules():
        kind = type(m).__name__
        if kind == "RReLU":
            continue  # deterministic in eval mode, where it is compared
        if kind in _RANDOM and ("Dropout" not in kind or getattr(m, "p", 1) > 0):
            return True
        if isinstance(getattr(m, "dropout", None), float) and m.dropout > 0:  # MultiheadAttention, RNNs
            return True
    parts = _functional_parts(type(t_mod))
    if parts is not None:
        fn = parts[0]
        names = set(getattr(getattr(fn, "__code__", None), "co_names", ())) | {getattr(fn, "__name__", "")}
        if names & _RANDOM_FUNCTIONS:
            return True
    return False


def _cast(value: Any, dt: torch.dtype) -> Any:
    """PyTorch's ``to_single``/``to_double`` of test_nn.py: floating tensors to ``dt``, complex alike."""
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            out = value.detach().to(torch.complex64 if dt == torch.float32 else torch.complex128)
        elif value.is_floating_point():
            out = value.detach().to(dt)
        else:
            return value
        return out.requires_grad_(value.requires_grad)
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(v, dt) for v in value)
    return value


def _requires_grad(value: Any) -> Any:
    """InputVariableMixin: floating and complex inputs require grad."""
    if isinstance(value, torch.Tensor):
        if value.is_floating_point() or value.is_complex():
            value.requires_grad_(True)
        return value
    return type(value)(_requires_grad(v) for v in value)


def _draw(d: dict, key: str) -> Any:
    """PyTorch's ``TestBase._get_arg``: the value, its ``_fn`` or ``randn`` of its ``_size``."""
    if key in d:
        return d[key]
    if key + "_fn" in d:
        return d[key + "_fn"]()
    sizes = d[key + "_size"]

    def make(s: Any) -> Any:
        if isinstance(s, list):
            return [make(x) for x in s]
        if isinstance(s, torch.Tensor):
            return s.double()
        return torch.randn(s)

    return make(sizes)


def run(names: set[str] | None, dtypes: list[torch.dtype], verbose: bool, device: str | None = None) -> list[dict]:
    if device is not None:
        _op.DEVICE[0] = device
    rows = []
    for name, d, crit in entries():
        if names and name not in names:
            continue
        for dt in dtypes:
            row = _compare_one(name, d, crit, dt)
            if name in KNOWN and row["status"] in ("differs", "ember-raises"):
                row = {**row, "status": "known", "reason": KNOWN[name]}
            rows.append(row)
            if verbose and row["status"] not in ("ok", "skipped"):
                print(json.dumps(row))
    return rows


def _compare_one(name: str, d: dict, crit: bool, dt: torch.dtype) -> dict:
    row: dict[str, Any] = {"entry": name, "dtype": str(dt).split(".")[-1]}
    if d.get("test_cpu") is False:
        return {**row, "status": "skipped", "detail": "CUDA only"}
    t_ctor = d["constructor"] if "constructor" in d else getattr(torch.nn, d["module_name"])
    t_ctor = _bind_reduction(name, t_ctor)
    ctor_args = tuple(d.get("constructor_args", ()))
    default = d.get("default_dtype") or torch.get_default_dtype()
    with warnings.catch_warnings(), _default_dtype(default):
        warnings.simplefilter("ignore")
        torch.manual_seed(_SEED)
        try:
            t_mod = t_ctor(*ctor_args)
            inp = _requires_grad(_draw(d, "input"))
            target = _draw(d, "target") if crit else None
        except Exception as exc:  # noqa: BLE001 - PyTorch's own table failing here
            return {**row, "status": "torch-raises", "detail": f"building: {type(exc).__name__}: {exc}"[:200]}
    if _is_random(t_mod):
        return {**row, "status": "skipped", "detail": "random"}
    t_mod = t_mod.to(dt)
    # RReLU draws its slopes in training; in eval mode it is leaky_relu with the mean slope
    training = not any(type(m).__name__ == "RReLU" for m in t_mod.modules())
    t_mod.train(training)
    inputs = _cast(inp if isinstance(inp, tuple) else (inp,), dt)
    if crit and (target.is_floating_point() or target.is_complex()):
        target = _cast(target, dt)
    extra = tuple(d.get("extra_args", ()))
    grad = dt == torch.float64
    if grad and crit and target.is_floating_point():
        target_grad = _target_differentiable(t_mod, inputs, target, extra)
        if target_grad:
            target = target.detach().requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            e_mod = _build_ember(d, t_ctor, ctor_args)
            e_mod = e_mod.to(_op._ember_dtype(dt))
            e_mod.train(training)
            state = t_mod.state_dict()
            if state:
                e_mod.load_state_dict({k: _op.to_ember(v) for k, v in state.items()})
            if _op.DEVICE[0] != "cpu":
                e_mod = e_mod.to(_op.DEVICE[0])
            memo: dict = {}
            e_inputs = _op.to_ember(list(inputs), memo)
            e_target = _op.to_ember(target, memo) if crit else None
            e_extra = _op.to_ember(list(extra), memo)
        except _op.Unconvertible as exc:
            return {**row, "status": "skipped", "detail": str(exc)}
        except LookupError as exc:
            return {**row, "status": "missing", "detail": f"ember has no nn.{exc.args[0]}"}
        except Exception as exc:  # noqa: BLE001
            return {**row, "status": "ember-raises", "detail": f"building: {type(exc).__name__}: {str(exc)[:300]}"}
        t_args = list(inputs) + ([target] if crit else []) + list(extra)
        e_args = list(e_inputs) + ([e_target] if crit else []) + list(e_extra)
        try:
            expected = t_mod(*t_args)
        except Exception as exc:  # noqa: BLE001
            return {**row, "status": "torch-raises", "detail": f"{type(exc).__name__}: {exc}"[:200]}
        try:
            actual = e_mod(*e_args)
        except Exception as exc:  # noqa: BLE001
            return {**row, "status": "ember-raises", "detail": f"{type(exc).__name__}: {str(exc)[:300]}"}
        try:
            diff = _op.compare(expected, actual)
            # test_nn.py prints every module; the class's own repr (not the wrap_functional shell's)
            if not diff and type(t_mod).__name__ != "FunctionalModule" and repr(t_mod) != repr(e_mod):
                diff = f"repr: {repr(e_mod)[:150]!r}, PyTorch {repr(t_mod)[:150]!r}"
            if not diff:
                diff = _op.compare(
                    [b for _, b in sorted(t_mod.named_buffers())], [b for _, b in sorted(e_mod.named_buffers())]
                )
                diff = f"buffers: {diff}" if diff else ""
            if not diff and grad:
                diff = _compare_grads(
                    t_mod, e_mod, t_args, e_args, expected, actual, gradgrad=d.get("check_gradgrad", True)
                )
        except Exception as exc:  # noqa: BLE001
            diff = f"comparing raised {type(exc).__name__}: {str(exc)[:200]}"
    if diff:
        return {**row, "status": "differs", "detail": diff}
    return {**row, "status": "ok"}


def _target_differentiable(t_mod: Any, inputs: tuple, target: torch.Tensor, extra: tuple) -> bool:
    """Whether PyTorch differentiates the criterion with respect to its (floating) target."""
    probe = target.detach().requires_grad_(True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = t_mod(*[i.detach() for i in inputs], probe, *extra)
            torch.autograd.grad(out.sum(), probe, allow_unused=True)
    except Exception:  # noqa: BLE001 - "the derivative for 'target' is not implemented"
        return False
    return True


@contextlib.contextmanager
def _default_dtype(dt: torch.dtype) -> Any:
    old = torch.get_default_dtype()
    torch.set_default_dtype(dt)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def _cotangents(outs: list) -> list:
    """Fixed random weights for each output (drawn once with PyTorch's generator): a backward that
    mixes up elements or ignores the incoming gradient's values passes with ``out.sum()``'s ones."""
    gen = torch.Generator().manual_seed(_SEED + 1)
    return [torch.randn(o.shape, generator=gen, dtype=o.real.dtype).to(o.dtype) for o in outs]


def _weighted(outs: list, ws: list) -> Any:
    return sum(
        (o * w).sum() if not o.is_complex() else (o * w).real.sum() + (o * w).imag.sum() for o, w in zip(outs, ws)
    )


def _compare_grads(
    t_mod: Any, e_mod: Any, t_args: list, e_args: list, expected: Any, actual: Any, gradgrad: bool
) -> str:
    """First derivatives of ``sum(out * w)`` (``w`` fixed random) with respect to the inputs, the
    parameters and a differentiable target; with ``gradgrad``, the second derivatives too (PyTorch's
    table runs ``gradgradcheck`` for those entries): the gradient of ``sum(grads * v)``."""
    t_outs = [o for o in _op._flatten(expected) if isinstance(o, torch.Tensor) and o.requires_grad]
    e_outs = [o for o in _op._flatten(actual) if isinstance(o, ember.Tensor) and o.requires_grad]
    if not t_outs:
        return ""
    if len(t_outs) != len(e_outs):
        return f"gradient: {len(e_outs)} outputs require grad, PyTorch {len(t_outs)}"
    t_leaves = [t for t in _op._flatten(t_args) if isinstance(t, torch.Tensor) and t.requires_grad]
    e_leaves = [t for t in _op._flatten(e_args) if isinstance(t, ember.Tensor) and t.requires_grad]
    t_leaves += [p for _, p in sorted(t_mod.named_parameters()) if p.requires_grad]
    e_leaves += [p for _, p in sorted(e_mod.named_parameters()) if p.requires_grad]
    if len(t_leaves) != len(e_leaves):
        return f"gradient: {len(e_leaves)} leaves require grad, PyTorch {len(t_leaves)}"
    ws = _cotangents(t_outs)
    tg = torch.autograd.grad(_weighted(t_outs, ws), t_leaves, allow_unused=True, create_graph=gradgrad)
    eg = ember.autograd.grad(_weighted(e_outs, _op.to_ember(ws)), e_leaves, allow_unused=True, create_graph=gradgrad)
    d = _op.compare(
        [g if g is not None else torch.zeros_like(t) for g, t in zip(tg, t_leaves)],
        [g if g is not None else ember.zeros_like(t) for g, t in zip(eg, e_leaves)],
    )
    if d:
        return f"gradient: {d}"
    if not gradgrad:
        return ""
    pairs = [(a, b) for a, b in zip(tg, eg) if a is not None and a.requires_grad]
    if not pairs:
        return ""
    vs = _cotangents([a for a, _ in pairs])
    tgg = torch.autograd.grad(_weighted([a for a, _ in pairs], vs), t_leaves, allow_unused=True)
    # a gradient that is constant in ember (a bias's, NLLLoss's) may still carry a graph in PyTorch,
    # whose derivative is then zero: only the values of the second derivatives are compared
    e_pairs = [(b, v) for (_, b), v in zip(pairs, _op.to_ember(vs)) if b is not None and b.requires_grad]
    if e_pairs:
        egg = ember.autograd.grad(
            _weighted([b for b, _ in e_pairs], [v for _, v in e_pairs]), e_leaves, allow_unused=True
        )
    else:
        egg = [None] * len(e_leaves)
    d = _op.compare(
        [g if g is not None else torch.zeros_like(t) for g, t in zip(tgg, t_leaves)],
        [g if g is not None else ember.zeros_like(t) for g, t in zip(egg, e_leaves)],
    )
    return f"second derivative: {d}" if d else ""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--entries", default="", help="comma-separated entry names (default: all)")
    p.add_argument("--dtypes", default="float32,float64")
    p.add_argument("--json", default="")
    p.add_argument("--device", default="cpu")
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args(argv)
    rows = run(
        set(a.entries.split(",")) if a.entries else None,
        [_op._DTYPES[x] for x in a.dtypes.split(",")],
        a.verbose,
        device=a.device,
    )
    if a.json:
        with open(a.json, "w") as fh:
            for r in rows:
                fh.write(json.dumps(r) + "\n")
    print(dict(Counter(r["status"] for r in rows)))
    bad = sorted({r["entry"] for r in rows if r["status"] in ("differs", "ember-raises")})
    print(f"entries with a differing or raising dtype: {len(bad)}")
    print("skipped:", dict(Counter(r.get("detail", "") for r in rows if r["status"] == "skipped")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
