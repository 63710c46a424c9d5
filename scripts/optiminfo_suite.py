"""Run PyTorch's own OptimizerInfo database against ember's optimizers: an optimizer suite nobody here wrote.

PyTorch describes every ``torch.optim`` optimizer with an ``OptimizerInfo`` entry
(``torch.testing._internal.common_optimizers.optim_db``): the constructor configurations its own
optimizer tests use (``optim_inputs_func``: lr as a Tensor, weight decay, maximize, amsgrad,
nesterov, momentum, decoupled weight decay...; with each supported ``foreach``/``fused``/
``differentiable`` flag switched on in turn, as PyTorch's ``_get_optim_inputs_including_global_cliquey_kwargs``
does) and the bad arguments with the error type and message regex PyTorch expects
(``optim_error_inputs_func``). For each configuration this script builds the same parameters in
PyTorch and in ember (a 0-d one, a vector, a non-contiguous leaf made from a transpose, a matrix; two
param groups with their own lr where the optimizer has groups), feeds both the same gradients for a
few steps (one step leaves a parameter without a gradient; LBFGS gets a closure on a fixed quadratic
loss), and compares the parameters after every step, the ``state_dict()`` (state tensors, step
counts, param_groups keys and hyperparameters), and an ember optimizer that loads PyTorch's
``state_dict`` half way (converted) and must go on matching. Error inputs run on ember and must raise
(or warn) with PyTorch's type and a message matching PyTorch's regex.

    .venv/bin/python scripts/optiminfo_suite.py
    .venv/bin/python scripts/optiminfo_suite.py --optims Adam,SGD -v --device opencl
    .venv/bin/python scripts/optiminfo_suite.py --schedulers -v

``--schedulers`` runs the LR schedulers instead (configurations written here in the style of
PyTorch's test/optim/test_lrscheduler.py): 30 epochs, ``get_last_lr()`` and the optimizer's lr after
each, and a ``state_dict`` round trip half way.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import math
import re
import sys
import types
import unittest
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

try:
    import expecttest  # noqa: F401
except ImportError:  # only its TestCase is imported by torch.testing._internal.common_utils
    _stub = types.ModuleType("expecttest")
    _stub.TestCase = unittest.TestCase  # type: ignore[attr-defined]
    sys.modules["expecttest"] = _stub

import ember  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.testing._internal.common_optimizers import (  # noqa: E402
    OptimizerErrorEnum,
    _get_optim_inputs_including_global_cliquey_kwargs,
    optim_db,
)

_DTYPES = {"float32": torch.float32, "float64": torch.float64, "complex64": torch.complex64}
STEPS = 6  # steps per configuration; PyTorch's state dict is loaded into a second ember optimizer after MID
MID = 3


class _Raised(Exception):
    """One side raised where the other did not (or a different type): the row's detail."""


# ---- conversion ------------------------------------------------------------------------------
def _ember_dtype(dt: torch.dtype) -> Any:
    return getattr(ember, str(dt).split(".")[-1])


def to_ember(value: Any, device: str = "cpu", memo: dict | None = None) -> Any:
    """PyTorch's objects as ember's: tensors (sparse COO ones too) copied, a ``Parameter`` as an
    ``ember.nn.Parameter``, a tensor's ``.grad`` carried along; one tensor passed twice stays one."""
    memo = {} if memo is None else memo
    if isinstance(value, torch.Tensor):
        if id(value) in memo:
            return memo[id(value)]
        t = value.detach()
        if t.layout == torch.sparse_coo:
            e = ember.tensor(t.to_dense().numpy()).to_sparse()
        else:
            e = ember.tensor(t.resolve_conj().numpy().copy())
        if device != "cpu":
            e = e.to(device)
        if isinstance(value, torch.nn.Parameter):
            e = ember.nn.Parameter(e, requires_grad=value.requires_grad)
        elif value.requires_grad:
            e.requires_grad_(True)
        if value.grad is not None:
            e.grad = to_ember(value.grad, device, memo)
        memo[id(value)] = e
        return e
    if isinstance(value, (list, tuple)):
        return type(value)(to_ember(v, device, memo) for v in value)
    if isinstance(value, dict):
        return {k: to_ember(v, device, memo) for k, v in value.items()}
    return value


def _to_np(t: Any) -> np.ndarray:
    t = t.detach()
    if isinstance(t, torch.Tensor):
        return t.resolve_conj().cpu().numpy()
    return np.asarray(t.cpu().numpy())


#: float32 tolerances of the optimizer under comparison (set per configuration by ``_compare_config``)
_TOL = [{"rtol": 2e-5, "atol": 2e-5}]
#: LBFGS in float32: its curvature products are dot products of gradient differences (cancellation),
#: PyTorch's BLAS sums a float32 dot in another order than NumPy's, and 20 iterations a step on a
#: quadratic reach the float32 noise floor within the first step. There the state's scalars (``ro``
#: ~1e8, ``al``) and even the number of closure calls follow rounding noise: in float32 the state
#: dict is compared for its keys, types, dtypes and shapes, the parameters to 1e-3 (float64 is
#: compared in full at the default tolerances).
_NOISY_FLOAT32 = {"LBFGS": {"rtol": 1e-3, "atol": 1e-3}}


def _tensor_diff(where: str, e: torch.Tensor, a: Any, exact_dtype: bool = True) -> str:
    """"" when ember's tensor ``a`` holds PyTorch's ``e`` (dtype, shape, values), else what differs."""
    if not isinstance(a, ember.Tensor):
        return f"{where}: {type(a).__name__}, PyTorch a {e.dtype} tensor"
    if exact_dtype and str(a.dtype).split(".")[-1] != str(e.dtype).split(".")[-1]:
        return f"{where}: dtype {a.dtype}, PyTorch {e.dtype}"
    if tuple(a.shape) != tuple(e.shape):
        return f"{where}: shape {tuple(a.shape)}, PyTorch {tuple(e.shape)}"
    exp, act = torch.from_numpy(_to_np(e).copy()), torch.from_numpy(_to_np(a).copy())
    if act.dtype != exp.dtype:
        act = act.to(exp.dtype)
    try:
        # Several steps of float32 arithmetic in a different order: a little above assert_close's
        # one-op tolerances (Adam's 1/sqrt(v) amplifies a 1-ulp difference in v).
        tol = dict(_TOL[0]) if exp.dtype in (torch.float32, torch.complex64) else {}
        torch.testing.assert_close(act, exp, equal_nan=True, **tol)
    except AssertionError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        return f"{where}: values differ: " + "; ".join(lines[1:4])
    return ""


def _value_diff(where: str, e: Any, a: Any) -> str:
    """Compare one state-dict value: tensors, numbers, strings, None, and lists/tuples/dicts of them."""
    if isinstance(e, torch.Tensor):
        return _tensor_diff(where, e, a)
    if isinstance(e, (list, tuple)):
        if not isinstance(a, (list, tuple)) or len(a) != len(e):
            return f"{where}: {a!r:.80}, PyTorch {e!r:.80}"
        if type(a) is not type(e):
            return f"{where}: a {type(a).__name__}, PyTorch a {type(e).__name__}"
        for i, (x, y) in enumerate(zip(e, a)):
            d = _value_diff(f"{where}[{i}]", x, y)
            if d:
                return d
        return ""
    if isinstance(e, dict):
        if not isinstance(a, dict) or set(a) != set(e):
            return f"{where}: keys {sorted(map(str, a)) if isinstance(a, dict) else a!r}, PyTorch {sorted(map(str, e))}"
        for k in e:
            d = _value_diff(f"{where}[{k!r}]", e[k], a[k])
            if d:
                return d
        return ""
    if isinstance(a, ember.Tensor):
        return f"{where}: an ember tensor, PyTorch {e!r}"
    if isinstance(e, float) and isinstance(a, (int, float)) and not isinstance(a, bool):
        if not (math.isclose(e, a, rel_tol=2e-5, abs_tol=1e-12) or (math.isnan(e) and math.isnan(a))):
            return f"{where}: {a!r}, PyTorch {e!r}"
        return ""
    if type(e) is not type(a) or e != a:
        return f"{where}: {a!r}, PyTorch {e!r}"
    return ""


def _kind_diff(where: str, e: Any, a: Any) -> str:
    """What ``_value_diff`` checks short of the values: types, tensor dtypes and shapes."""
    if isinstance(e, torch.Tensor):
        if not isinstance(a, ember.Tensor):
            return f"{where}: {type(a).__name__}, PyTorch a {e.dtype} tensor"
        if str(a.dtype).split(".")[-1] != str(e.dtype).split(".")[-1] or tuple(a.shape) != tuple(e.shape):
            return f"{where}: {a.dtype} {tuple(a.shape)}, PyTorch {e.dtype} {tuple(e.shape)}"
        return ""
    # (a list's length and its entries follow how many iterations ran: rounding noise here)
    return "" if type(a) is type(e) else f"{where}: a {type(a).__name__}, PyTorch a {type(e).__name__}"


def compare_state_dicts(t_sd: dict, e_sd: dict, values: bool = True) -> str:
    """PyTorch's ``state_dict()`` against ember's: the same keys everywhere, same values (``values=False``:
    same types, dtypes and shapes)."""
    if set(e_sd) != set(t_sd):
        return f"state_dict keys {sorted(e_sd)}, PyTorch {sorted(t_sd)}"
    if set(e_sd["state"]) != set(t_sd["state"]):
        return f"state entries {sorted(e_sd['state'])}, PyTorch {sorted(t_sd['state'])}"
    for k, t_st in t_sd["state"].items():
        e_st = e_sd["state"][k]
        if set(e_st) != set(t_st):
            return f"state[{k}] keys {sorted(e_st)}, PyTorch {sorted(t_st)}"
        for name, v in t_st.items():
            d = _value_diff(f"state[{k}][{name!r}]", v, e_st[name]) if values else \
                _kind_diff(f"state[{k}][{name!r}]", v, e_st[name])
            if d:
                return d
    if len(e_sd["param_groups"]) != len(t_sd["param_groups"]):
        return f"{len(e_sd['param_groups'])} param_groups, PyTorch {len(t_sd['param_groups'])}"
    for i, (tg, eg) in enumerate(zip(t_sd["param_groups"], e_sd["param_groups"])):
        if set(eg) != set(tg):
            return f"param_groups[{i}] keys: ember has {sorted(set(eg) - set(tg))} more, " \
                   f"lacks {sorted(set(tg) - set(eg))}"
        for name, v in tg.items():
            d = _value_diff(f"param_groups[{i}][{name!r}]", v, eg[name])
            if d:
                return d
    return ""


# ---- building both sides -----------------------------------------------------------------------
def _make_params(dtype: torch.dtype, two_d_only: bool = False, contiguous: bool = False) -> list[torch.Tensor]:
    """The parameters every configuration optimizes: 0-d, a vector, a non-contiguous leaf, a matrix.

    ``contiguous``: the transposed leaf is made contiguous (LBFGS: PyTorch's flattens every
    gradient with ``view(-1)``, which refuses a transposed parameter's gradient; ember's reshapes)."""
    g = torch.Generator().manual_seed(0)
    if two_d_only:
        shapes: list[tuple] = [(2, 3), (4, 3)]
    else:
        shapes = [(), (3,), (4, 5)]
    params = [torch.randn(s, generator=g, dtype=dtype) for s in shapes]
    # a leaf whose strides are a transpose's (PyTorch keeps them; the update must too)
    t = torch.randn(3, 2, generator=g, dtype=dtype).t()
    params.insert(2, t.contiguous() if contiguous else t)
    return [p.requires_grad_(True) for p in params]


def _groups(params: list, kwargs: dict, grouped: bool) -> list:
    """Two param groups (the second with its own lr) where the optimizer takes groups."""
    if not grouped:
        return list(params)
    lr = kwargs.get("lr", 1e-3)
    lr = float(lr) if not isinstance(lr, (torch.Tensor, ember.Tensor)) else float(lr.item())
    return [{"params": params[:2]}, {"params": params[2:], "lr": lr * 0.5}]


def _grads(step: int, params: list[torch.Tensor]) -> list[torch.Tensor | None]:
    """Step ``step``'s gradients (seeded): on step 2 the first parameter has none (it must be skipped)."""
    g = torch.Generator().manual_seed(1000 + step)
    out: list[torch.Tensor | None] = [torch.randn(p.shape, generator=g, dtype=p.dtype) for p in params]
    if step == 2:
        out[0] = None
    return out


def _set_grads(t_params: list[list], e_params_list: list[list], step: int, device: str) -> None:
    for i, gr in enumerate(_grads(step, t_params[0])):
        for tps in t_params:
            # PyTorch's autograd gives a gradient the parameter's strides, and its fused cpu SGD
            # pairs elements by memory order (a contiguous gradient on a transposed parameter
            # updates the wrong elements there): feed it what backward would
            tps[i].grad = None if gr is None else torch.empty_like(tps[i]).copy_(gr)
        for e_params in e_params_list:
            e_params[i].grad = None if gr is None else to_ember(gr, device)


def _quadratic(lib: Any, params: list, step: int) -> Any:
    """LBFGS's closure loss: a fixed positive-definite quadratic plus a linear term per parameter."""
    g = torch.Generator().manual_seed(7)
    total = None
    for p in params:
        w = torch.rand(tuple(p.shape), generator=g, dtype=torch.float64) + 0.5
        b = torch.randn(tuple(p.shape), generator=g, dtype=torch.float64)
        if lib is torch:
            w, b = w.to(p.dtype), b.to(p.dtype)
        else:
            w, b = (ember.tensor(x.numpy()).to(_ember_dtype(p.dtype) if isinstance(p.dtype, torch.dtype)
                                               else p.dtype).to(p.device) for x in (w, b))
        term = (w * p * p).sum() + (b * p).sum()
        total = term if total is None else total + term
    return total


def _closure(lib: Any, opt: Any, params: list, step: int) -> Callable[[], Any]:
    def closure() -> Any:
        opt.zero_grad()
        loss = _quadratic(lib, params, step)
        loss.backward()
        return loss

    return closure


# ---- the optimizer rows ----------------------------------------------------------------------------
def _configs(oi: Any, dtype: torch.dtype) -> list[Any]:
    """PyTorch's cpu configurations with each supported implementation flag switched on in turn;
    ``foreach=True`` is added too in float32 (PyTorch leaves it out on the cpu, where it is still
    accepted; ember has one implementation, so the flag changes nothing but the param_groups)."""
    inputs = _get_optim_inputs_including_global_cliquey_kwargs("cpu", dtype, oi)
    if "foreach" in oi.supported_impls and dtype == torch.float32:  # (one dtype is enough for a no-op flag)
        extra = []
        for inp in inputs:
            # (every configuration with no other implementation flag on: on the cpu PyTorch's own
            # list never holds a ``foreach`` key, since its foreach kernels are for accelerators)
            if not any(inp.kwargs.get(f) for f in ("fused", "differentiable", "foreach")):
                kw = dict(inp.kwargs, foreach=True)
                extra.append(types.SimpleNamespace(params=None, kwargs=kw, desc=f"{inp.desc} & foreach"))
        inputs = list(inputs) + extra
    return inputs


def _describe_kwargs(kwargs: dict) -> str:
    return ", ".join(f"{k}={v.tolist() if isinstance(v, torch.Tensor) else v}" for k, v in kwargs.items())


def run(names: set[str] | None, dtypes: list[torch.dtype], verbose: bool, device: str = "cpu",
        errors: bool = True) -> list[dict]:
    """One row per (optimizer, dtype, configuration) and per error input: status ``ok``, ``differs``,
    ``ember-raises``, ``torch-raises`` (both raise alike: fine) or ``missing``."""
    rows: list[dict] = []
    for oi in optim_db:
        name = oi.name
        if names and name not in names:
            continue
        ecls = getattr(ember.optim, name, None)
        if ecls is None:
            rows.append({"optim": name, "status": "missing"})
            continue
        for dt in dtypes:
            if dt.is_complex and not oi.supports_complex:
                continue
            for k, inp in enumerate(_configs(oi, dt)):
                row = _compare_config(oi, ecls, dt, inp, device)
                row.update(optim=name, dtype=str(dt).split(".")[-1], input=k, desc=inp.desc,
                           kwargs=_describe_kwargs(inp.kwargs))
                rows.append(row)
                if verbose and row["status"] not in ("ok", "torch-raises"):
                    print(json.dumps(row))
        if errors and oi.optim_error_inputs_func is not None:
            for k, ei in enumerate(oi.optim_error_inputs_func(device="cpu", dtype=torch.float32)):
                row = _check_error(ecls, ei, device)
                row.update(optim=name, dtype="float32", input=f"error {k}", desc=ei.optimizer_error_input.desc)
                rows.append(row)
                if verbose and row["status"] != "ok":
                    print(json.dumps(row))
    return rows


def _compare_config(oi: Any, ecls: Any, dt: torch.dtype, inp: Any, device: str) -> dict:
    name = oi.name
    t_params = _make_params(dt, two_d_only=name == "Muon", contiguous=oi.step_requires_closure)
    grouped = oi.supports_param_groups
    kwargs = copy.deepcopy(inp.kwargs)
    sparse = oi.only_supports_sparse_grads
    noisy = name in _NOISY_FLOAT32 and dt == torch.float32
    _TOL[0] = _NOISY_FLOAT32[name] if noisy else {"rtol": 2e-5, "atol": 2e-5}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            t_opt = oi.optim_cls(_groups(t_params, kwargs, grouped), **kwargs)
        except Exception as exc:  # noqa: BLE001 - PyTorch refuses the configuration: ember must too
            return _both_raise("constructing", exc, lambda: ecls(
                _groups(to_ember(t_params, device), to_ember(kwargs), grouped), **to_ember(kwargs)))
        try:
            e_params = to_ember(t_params, device)
            e_opt = ecls(_groups(e_params, kwargs, grouped), **to_ember(kwargs))
        except Exception as exc:  # noqa: BLE001
            return {"status": "ember-raises", "detail": f"constructing: {type(exc).__name__}: {str(exc)[:300]}"}
        d = compare_state_dicts(t_opt.state_dict(), e_opt.state_dict())
        if d:
            return {"status": "differs", "detail": f"fresh state_dict: {d}"}
        # half way, PyTorch's state dict is loaded into a fresh PyTorch optimizer and (converted) into
        # a fresh ember one: both go on, and ember's must follow PyTorch's (loading casts state
        # buffers to the parameter's dtype, so the twin is the reference, not the original)
        pairs: list[tuple[Any, list, Any, list, str]] = [(t_opt, t_params, e_opt, e_params, "")]
        for step in range(STEPS):
            if step == MID:
                saved = t_opt.state_dict()
                t_params2 = [p.detach().clone().requires_grad_(True) for p in t_params]
                t_loaded = oi.optim_cls(_groups(t_params2, kwargs, grouped), **kwargs)
                t_loaded.load_state_dict(copy.deepcopy(saved))
                try:
                    e_params2 = to_ember(t_params2, device)
                    e_loaded = ecls(_groups(e_params2, kwargs, grouped), **to_ember(kwargs))
                    e_loaded.load_state_dict(to_ember(copy.deepcopy(saved)))
                except Exception as exc:  # noqa: BLE001
                    return {"status": "ember-raises",
                            "detail": f"load_state_dict: {type(exc).__name__}: {str(exc)[:300]}"}
                d = compare_state_dicts(t_loaded.state_dict(), e_loaded.state_dict())
                if d:
                    return {"status": "differs", "detail": f"after load_state_dict: {d}"}
                pairs.append((t_loaded, t_params2, e_loaded, e_params2, "loaded "))
            if not oi.step_requires_closure:
                _set_grads([tp for _, tp, _, _, _ in pairs], [ep for _, _, _, ep, _ in pairs], step, device)
            for t_o, t_ps, e_o, e_ps, which in pairs:
                try:
                    t_loss = _step(torch, oi, t_o, t_ps, step, sparse)
                except Exception as exc:  # noqa: BLE001
                    return _both_raise(f"{which}step {step}", exc, functools.partial(_step, ember, oi, e_o, e_ps, step, sparse))
                try:
                    e_loss = _step(ember, oi, e_o, e_ps, step, sparse)
                except Exception as exc:  # noqa: BLE001
                    return {"status": "ember-raises", "detail": f"{which}step {step}: {type(exc).__name__}: "
                                                                f"{str(exc)[:300]}"}
                if oi.step_requires_closure and not noisy:
                    d = _value_diff(f"{which}step {step} loss", t_loss.detach(), e_loss)
                    if d:
                        return {"status": "differs", "detail": d}
                for i, (tp, ep) in enumerate(zip(t_ps, e_ps)):
                    d = _tensor_diff(f"{which}step {step}: param {i}", tp, ep)
                    if d:
                        return {"status": "differs", "detail": d}
                d = compare_state_dicts(t_o.state_dict(), e_o.state_dict(), values=not noisy)
                if d:
                    return {"status": "differs", "detail": f"{which}step {step}: state_dict: {d}"}
    return {"status": "ok"}


def _step(lib: Any, oi: Any, opt: Any, params: list, step: int, sparse: bool) -> Any:
    """One ``step()``: with the quadratic closure (LBFGS), or after making the gradients sparse (SparseAdam)."""
    if oi.step_requires_closure:
        return opt.step(_closure(lib, opt, params, step))
    if sparse:
        for p in params:
            if p.grad is not None and not p.grad.is_sparse:
                p.grad = p.grad.to_sparse()
    return opt.step()


def _both_raise(where: str, t_exc: BaseException, ember_call: Callable[[], Any]) -> dict:
    """PyTorch raised ``t_exc``: ember must raise the same type (the row is then ``torch-raises``)."""
    try:
        ember_call()
    except Exception as exc:  # noqa: BLE001
        if type(exc) is type(t_exc) or isinstance(exc, type(t_exc)):
            return {"status": "torch-raises", "detail": f"{where}: {type(t_exc).__name__}"}
        return {"status": "differs", "detail": f"{where}: ember raises {type(exc).__name__}: {str(exc)[:200]}, "
                                               f"PyTorch {type(t_exc).__name__}: {str(t_exc)[:200]}"}
    return {"status": "differs", "detail": f"{where}: PyTorch raises {type(t_exc).__name__}: {str(t_exc)[:200]}; "
                                           "ember does not"}


def _check_error(ecls: Any, ei: Any, device: str) -> dict:
    """One ``ErrorOptimizerInput``: ember raises (or warns) PyTorch's type with a matching message."""
    inp = ei.optimizer_error_input
    try:
        params = to_ember(inp.params, device)
        kwargs = to_ember(inp.kwargs)
    except Exception as exc:  # noqa: BLE001
        if device != "cpu":  # a dtype the device lacks (complex on OpenCL): nothing to compare there
            return {"status": "skipped", "detail": f"converting: {type(exc).__name__}: {str(exc)[:200]}"}
        return {"status": "ember-raises", "detail": f"converting: {type(exc).__name__}: {exc}"}
    expected, regex = ei.error_type, ei.error_regex
    on_step = ei.error_on == OptimizerErrorEnum.STEP_ERROR

    def act() -> None:
        if on_step:
            opt = ecls(params, **kwargs)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                opt.step()
        else:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                ecls(params, **kwargs)
        if issubclass(expected, Warning):
            hits = [w for w in caught if issubclass(w.category, expected) and re.search(regex, str(w.message))]
            if not hits:
                raise _Raised(f"no {expected.__name__} matching {regex!r} (warned: "
                              f"{[str(w.message)[:100] for w in caught]})")

    try:
        act()
    except _Raised as exc:
        return {"status": "differs", "detail": str(exc)}
    except Exception as exc:  # noqa: BLE001
        if issubclass(expected, Warning):
            return {"status": "ember-raises", "detail": f"{type(exc).__name__}: {str(exc)[:300]}"}
        if not isinstance(exc, expected):
            return {"status": "differs", "detail": f"{type(exc).__name__}: {str(exc)[:200]}, PyTorch "
                                                   f"{expected.__name__} matching {regex!r}"}
        if not re.search(regex, str(exc)):
            return {"status": "differs", "detail": f"message {str(exc)[:200]!r} does not match {regex!r}"}
        return {"status": "ok"}
    if issubclass(expected, Warning):
        return {"status": "ok"}
    return {"status": "differs", "detail": f"no error; PyTorch raises {expected.__name__} matching {regex!r}"}


# ---- the LR schedulers -------------------------------------------------------------------------------
def _scheduler_configs() -> list[tuple[str, Callable[[Any, Any], Any], dict]]:
    """``(description, build(lib, optimizer), optimizer kwargs)``; ``lib`` is ``torch`` or ``ember``."""

    def s(cls: str, *args: Any, **kw: Any) -> Callable[[Any, Any], Any]:
        return lambda lib, opt: getattr(lib.optim.lr_scheduler, cls)(opt, *args, **kw)

    def chained(lib: Any, opt: Any) -> Any:
        m = lib.optim.lr_scheduler
        return m.ChainedScheduler([m.ExponentialLR(opt, gamma=0.9), m.StepLR(opt, step_size=4, gamma=0.5)])

    def sequential(lib: Any, opt: Any) -> Any:
        m = lib.optim.lr_scheduler
        return m.SequentialLR(opt, [m.LinearLR(opt, start_factor=0.1, total_iters=5),
                                    m.CosineAnnealingLR(opt, T_max=10)], milestones=[5])

    def lam(lib: Any, opt: Any) -> Any:
        return lib.optim.lr_scheduler.LambdaLR(opt, lr_lambda=[lambda e: 0.95 ** e, lambda e: 1 / (1 + e)])

    def mult(lib: Any, opt: Any) -> Any:
        return lib.optim.lr_scheduler.MultiplicativeLR(opt, lr_lambda=lambda e: 0.9)

    sgd = {"lr": 0.05, "momentum": 0.9}
    return [
        ("StepLR", s("StepLR", step_size=3, gamma=0.5), sgd),
        ("MultiStepLR", s("MultiStepLR", milestones=[2, 5, 5, 9], gamma=0.1), sgd),
        ("ConstantLR", s("ConstantLR", factor=0.5, total_iters=4), sgd),
        ("LinearLR", s("LinearLR", start_factor=0.25, end_factor=0.9, total_iters=7), sgd),
        ("ExponentialLR", s("ExponentialLR", gamma=0.9), sgd),
        ("PolynomialLR", s("PolynomialLR", total_iters=12, power=2.0), sgd),
        ("CosineAnnealingLR", s("CosineAnnealingLR", T_max=8, eta_min=0.001), sgd),
        ("CosineAnnealingWarmRestarts", s("CosineAnnealingWarmRestarts", T_0=4, T_mult=2, eta_min=1e-4), sgd),
        ("CyclicLR triangular", s("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=3), sgd),
        ("CyclicLR triangular2", s("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=2, step_size_down=3,
                                   mode="triangular2"), sgd),
        ("CyclicLR exp_range", s("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=4, mode="exp_range",
                                 gamma=0.9), sgd),
        ("OneCycleLR cos", s("OneCycleLR", max_lr=0.1, total_steps=31), sgd),
        ("OneCycleLR linear three_phase", s("OneCycleLR", max_lr=0.1, total_steps=31, anneal_strategy="linear",
                                            three_phase=True), sgd),
        ("OneCycleLR Adam betas", s("OneCycleLR", max_lr=0.1, epochs=3, steps_per_epoch=11), {"lr": 0.01}),
        ("ReduceLROnPlateau", s("ReduceLROnPlateau", factor=0.5, patience=2, threshold=0.1, cooldown=1), sgd),
        ("ReduceLROnPlateau max abs", s("ReduceLROnPlateau", mode="max", factor=0.5, patience=1,
                                        threshold_mode="abs", min_lr=[0.01, 0.005]), sgd),
        ("LambdaLR", lam, sgd),
        ("MultiplicativeLR", mult, sgd),
        ("ChainedScheduler", chained, sgd),
        ("SequentialLR", sequential, sgd),
    ]


def _plateau_metric(epoch: int) -> float:
    # falls, then stalls, then rises: every branch of ReduceLROnPlateau
    return [1.0, 0.8, 0.7, 0.69, 0.69, 0.7, 0.5, 0.5, 0.5, 0.6][epoch % 10] + (epoch // 10) * 0.01


def _lrs(opt: Any) -> list[float]:
    return [float(g["lr"]) for g in opt.param_groups]


def _hyper(opt: Any) -> list[dict]:
    """Every group's hyperparameters (momentum and betas cycle under CyclicLR and OneCycleLR)."""
    return [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]


def run_schedulers(names: set[str] | None, verbose: bool, epochs: int = 30) -> list[dict]:
    """One row per scheduler configuration: ``get_last_lr()``, the groups' lr after every epoch,
    the scheduler's ``state_dict()`` keys and values, and a fresh scheduler loading PyTorch's
    ``state_dict`` half way that goes on matching."""
    rows = []
    for desc, build, okw in _scheduler_configs():
        if names and desc.split()[0] not in names and desc not in names:
            continue
        row = {"scheduler": desc, **_compare_scheduler(build, okw, epochs)}
        rows.append(row)
        if verbose and row["status"] != "ok":
            print(json.dumps(row))
    return rows


def _sched_sides(lib: Any, build: Callable, okw: dict) -> tuple[Any, Any]:
    p1, p2 = lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)
    cls = lib.optim.SGD if "momentum" in okw else lib.optim.Adam
    opt = cls([{"params": [p1]}, {"params": [p2], "lr": okw["lr"] * 2}], **okw)
    return opt, build(lib, opt)


def _sched_state(sd: dict) -> dict:
    # callables (lr_lambda objects, _schedulers' sub-dicts hold plain data) are not compared
    return {k: v for k, v in sd.items() if not callable(v)}


def _compare_scheduler(build: Callable, okw: dict, epochs: int) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            t_opt, t_s = _sched_sides(torch, build, okw)
        except Exception as exc:  # noqa: BLE001
            return {"status": "torch-raises", "detail": repr(exc)[:200]}
        try:
            e_opt, e_s = _sched_sides(ember, build, okw)
        except Exception as exc:  # noqa: BLE001
            return {"status": "ember-raises", "detail": f"building: {type(exc).__name__}: {str(exc)[:300]}"}
        plateau = type(t_s).__name__ == "ReduceLROnPlateau"
        e2_opt = e2_s = None
        for epoch in range(epochs):
            if epoch == epochs // 2:
                try:
                    e2_opt, e2_s = _sched_sides(ember, build, okw)
                    e2_opt.load_state_dict(to_ember(copy.deepcopy(t_opt.state_dict())))
                    e2_s.load_state_dict(to_ember(copy.deepcopy(t_s.state_dict())))
                except Exception as exc:  # noqa: BLE001
                    return {"status": "ember-raises", "detail": f"load_state_dict: {type(exc).__name__}: {exc}"}
            t_opt.step()
            t_s.step(_plateau_metric(epoch)) if plateau else t_s.step()
            for which, opt, sch in (("", e_opt, e_s), ("loaded ", e2_opt, e2_s)):
                if opt is None:
                    continue
                try:
                    opt.step()
                    sch.step(_plateau_metric(epoch)) if plateau else sch.step()
                except Exception as exc:  # noqa: BLE001
                    return {"status": "ember-raises", "detail": f"{which}epoch {epoch}: {type(exc).__name__}: {exc}"}
                d = _value_diff(f"{which}epoch {epoch}: group lr", _lrs(t_opt), _lrs(opt)) or \
                    _value_diff(f"{which}epoch {epoch}: get_last_lr()", [float(x) for x in t_s.get_last_lr()],
                                [float(x) for x in sch.get_last_lr()]) or \
                    _value_diff(f"{which}epoch {epoch}: state_dict", _sched_state(t_s.state_dict()),
                                _sched_state(sch.state_dict())) or \
                    _value_diff(f"{which}epoch {epoch}: param_groups", _hyper(t_opt), _hyper(opt))
                if d:
                    return {"status": "differs", "detail": d}
    return {"status": "ok"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--optims", default="", help="comma-separated optimizer (or scheduler) names (default: all)")
    p.add_argument("--dtypes", default="float32,float64")
    p.add_argument("--device", default="cpu")
    p.add_argument("--schedulers", action="store_true", help="run the LR schedulers instead")
    p.add_argument("--json", default="")
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args(argv)
    names = set(a.optims.split(",")) if a.optims else None
    if a.schedulers:
        rows = run_schedulers(names, a.verbose)
        key = "scheduler"
    else:
        rows = run(names, [_DTYPES[d] for d in a.dtypes.split(",")], a.verbose, device=a.device)
        key = "optim"
    if a.json:
        with open(a.json, "w") as fh:
            for r in rows:
                fh.write(json.dumps(r) + "\n")
    print(dict(Counter(r["status"] for r in rows)))
    bad = Counter(r[key] for r in rows if r["status"] in ("differs", "ember-raises"))
    print(f"with a differing or raising input: {dict(bad)}")
    print("missing:", ", ".join(sorted({r[key] for r in rows if r["status"] == "missing"})))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
