"""Run PyTorch's own ModuleInfo database against ember's ``nn`` modules: a module suite nobody here wrote.

PyTorch describes ~110 ``nn.Module`` classes with ``ModuleInfo`` entries
(``torch.testing._internal.common_modules.module_db``): constructor arguments and forward inputs
that PyTorch's own module tests use (training and eval mode, batched and unbatched, every option
combination they list). For each, this script builds the PyTorch module, builds ember's module of the
same name with the same arguments, copies PyTorch's parameters and buffers into it
(``load_state_dict``), runs both forwards and compares outputs, then (float64) the gradients of the
outputs' sum with respect to the inputs and every parameter, and the buffers after the forward
(BatchNorm's running statistics). Modules that draw random numbers (dropout, fractional pooling) are
skipped: ember's generator is not PyTorch's.

    .venv/bin/python scripts/moduleinfo_suite.py --dtypes float32,float64
    .venv/bin/python scripts/moduleinfo_suite.py --modules LSTM,Conv2d -v --device opencl
"""

from __future__ import annotations

import argparse
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
from torch.testing._internal.common_modules import module_db  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import opinfo_suite as _op  # noqa: E402  (the value conversion and comparison of the op suite)

#: modules whose forward draws random numbers (ember's generator differs from PyTorch's by design)
_RANDOM = {"FractionalMaxPool2d", "FractionalMaxPool3d", "RReLU", "Dropout", "Dropout1d", "Dropout2d",
           "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"}


def _ember_module_class(cls: type) -> Any:
    return getattr(ember.nn, cls.__name__, None)


def _no_dropout(args: tuple, kwargs: dict) -> bool:
    """False when the constructor asks for dropout (Transformer, RNNs, attention): random draws."""
    p = kwargs.get("dropout", 0.0)
    return not p


def _params(mod: Any) -> list:
    return [p for _, p in sorted(mod.named_parameters(), key=lambda kv: kv[0])]


def run(names: set[str] | None, dtypes: list[torch.dtype], max_inputs: int, verbose: bool,
        device: str | None = None) -> list[dict]:
    if device is not None:
        _op.DEVICE[0] = device
    rows = []
    for mi in module_db:
        cls = mi.module_cls
        name = cls.__name__ + (f".{mi.variant_name}" if getattr(mi, "variant_name", "") else "")
        if names and cls.__name__ not in names and name not in names:
            continue
        if cls.__name__ in _RANDOM or cls.__name__.startswith("Lazy"):
            continue
        ecls = _ember_module_class(cls)
        if ecls is None:
            rows.append({"module": name, "status": "missing"})
            continue
        for dt in dtypes:
            if dt not in mi.dtypes:
                continue
            for training in (True, False):
                try:
                    inputs = mi.module_inputs_func(mi, device="cpu", dtype=dt, requires_grad=dt == torch.float64,
                                                   training=training)[:max_inputs]
                except Exception as exc:  # noqa: BLE001 - PyTorch's own generator failing here
                    rows.append({"module": name, "status": "no-inputs", "detail": repr(exc)[:200]})
                    continue
                for k, mod_input in enumerate(inputs):
                    row = _compare_one(name, cls, ecls, mod_input, dt, training, k)
                    rows.append(row)
                    if verbose and row["status"] not in ("ok", "skipped"):
                        print(json.dumps(row))
    return rows


def _compare_one(name: str, cls: type, ecls: Any, mod_input: Any, dt: torch.dtype, training: bool,
                 k: int) -> dict:
    ctor, fwd = mod_input.constructor_input, mod_input.forward_input
    row: dict[str, Any] = {"module": name, "dtype": str(dt).split(".")[-1], "training": training, "input": k}
    if not _no_dropout(ctor.args, ctor.kwargs):
        return {**row, "status": "skipped", "detail": "dropout"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        try:
            t_mod = cls(*ctor.args, **ctor.kwargs).to(dt)
        except Exception as exc:  # noqa: BLE001
            return {**row, "status": "torch-raises", "detail": type(exc).__name__}
        try:
            e_mod = ecls(*_op.to_ember(list(ctor.args)), **_op.to_ember(dict(ctor.kwargs)))
            e_mod = e_mod.to(_op._ember_dtype(dt))
            t_mod.train(training)
            e_mod.train(training)
            state = t_mod.state_dict()
            if state:
                e_mod.load_state_dict({k2: _op.to_ember(v) for k2, v in state.items()})
            if _op.DEVICE[0] != "cpu":
                e_mod = e_mod.to(_op.DEVICE[0])
            memo: dict = {}
            e_args, e_kwargs = _op.to_ember(list(fwd.args), memo), _op.to_ember(dict(fwd.kwargs), memo)
        except _op.Unconvertible as exc:
            return {**row, "status": "skipped", "detail": str(exc)}
        except Exception as exc:  # noqa: BLE001
            return {**row, "status": "ember-raises", "detail": f"building: {type(exc).__name__}: {str(exc)[:300]}",
                    "ctor": _op._describe(types.SimpleNamespace(input=None, args=ctor.args, kwargs=ctor.kwargs))}
        try:
            expected = t_mod(*fwd.args, **fwd.kwargs)
        except Exception as exc:  # noqa: BLE001
            return {**row, "status": "torch-raises", "detail": type(exc).__name__}
        try:
            actual = e_mod(*e_args, **e_kwargs)
        except Exception as exc:  # noqa: BLE001
            return {**row, "status": "ember-raises", "detail": f"{type(exc).__name__}: {str(exc)[:300]}",
                    "ctor": repr((ctor.args, ctor.kwargs))[:200]}
        try:
            diff = _op.compare(expected, actual)
            if not diff:
                diff = _op.compare([b for _, b in sorted(t_mod.named_buffers())],
                                   [b for _, b in sorted(e_mod.named_buffers())])
                diff = f"buffers: {diff}" if diff else ""
            if not diff and dt == torch.float64:
                diff = _compare_grads(t_mod, e_mod, fwd, e_args, e_kwargs, expected, actual)
        except Exception as exc:  # noqa: BLE001
            diff = f"comparing raised {type(exc).__name__}: {str(exc)[:200]}"
    if diff:
        return {**row, "status": "differs", "detail": diff, "ctor": repr((ctor.args, ctor.kwargs))[:200]}
    return {**row, "status": "ok"}


def _compare_grads(t_mod: Any, e_mod: Any, fwd: Any, e_args: list, e_kwargs: dict, expected: Any,
                   actual: Any) -> str:
    t_outs = [o for o in _op._flatten(expected) if isinstance(o, torch.Tensor) and o.requires_grad]
    e_outs = [o for o in _op._flatten(actual) if isinstance(o, ember.Tensor) and o.requires_grad]
    if not t_outs:
        return ""
    t_leaves = [t for t in _op._flatten([list(fwd.args), list(fwd.kwargs.values())])
                if isinstance(t, torch.Tensor) and t.requires_grad] + _params(t_mod)
    e_leaves = [t for t in _op._flatten([e_args, list(e_kwargs.values())])
                if isinstance(t, ember.Tensor) and t.requires_grad] + _params(e_mod)
    t_total = sum(o.sum() for o in t_outs)
    e_total = sum(o.sum() for o in e_outs)
    tg = torch.autograd.grad(t_total, t_leaves, allow_unused=True)
    eg = ember.autograd.grad(e_total, e_leaves, allow_unused=True)
    tg = [g if g is not None else torch.zeros_like(t) for g, t in zip(tg, t_leaves)]
    eg = [g if g is not None else ember.zeros_like(t) for g, t in zip(eg, e_leaves)]
    d = _op.compare(tg, eg)
    return f"gradient: {d}" if d else ""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--modules", default="", help="comma-separated class names (default: all)")
    p.add_argument("--dtypes", default="float32,float64")
    p.add_argument("--max-inputs", type=int, default=16)
    p.add_argument("--json", default="")
    p.add_argument("--device", default="cpu")
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args(argv)
    rows = run(set(a.modules.split(",")) if a.modules else None, [_op._DTYPES[d] for d in a.dtypes.split(",")],
               a.max_inputs, a.verbose, device=a.device)
    if a.json:
        with open(a.json, "w") as fh:
            for r in rows:
                fh.write(json.dumps(r) + "\n")
    print(dict(Counter(r["status"] for r in rows)))
    bad = Counter(r["module"] for r in rows if r["status"] in ("differs", "ember-raises"))
    print(f"modules with a differing or raising input: {len(bad)}")
    print("missing:", ", ".join(sorted({r['module'] for r in rows if r['status'] == 'missing'})))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
