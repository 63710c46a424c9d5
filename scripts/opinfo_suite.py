"""Run PyTorch's own OpInfo database against ember: an op suite nobody here wrote.

PyTorch describes ~700 ops with ``OpInfo`` entries (``torch.testing._internal.
common_methods_invocations.op_db``): which dtypes each supports and a generator of sample inputs
(shapes, broadcasting, 0-d and empty tensors, keyword arguments) that PyTorch's own tests run. This
script takes every sample, runs the op on PyTorch and the same-named op on ember (``ember.<name>``,
``ember.nn.functional.<name>``..., or the Tensor method for the ``__r*__`` forms), and compares
values (PyTorch's default ``assert_close`` tolerances for the dtype), dtypes and shapes. With
``--grad`` it also compares the gradient of ``out.sum()`` (float64 samples of differentiable ops).

It reports, per op: samples that agree, that differ, and that raise in ember only; ops ember lacks
are listed once. Random ops are skipped (ember's generator differs from PyTorch's by design).

    .venv/bin/python scripts/opinfo_suite.py --dtypes float32,int64 --json /tmp/opinfo.jsonl
    .venv/bin/python scripts/opinfo_suite.py --ops add,cumsum,nn.functional.conv2d -v

``torch.testing._internal`` imports ``expecttest`` only for its TestCase base class; when that
test-only package is missing, a stub stands in (nothing of it is used here).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import types
import unittest
import warnings
from collections import Counter
from typing import Any

import numpy as np

try:
    import expecttest  # noqa: F401
except ImportError:  # only its TestCase is imported by torch.testing._internal.common_utils
    _stub = types.ModuleType("expecttest")
    _stub.TestCase = unittest.TestCase  # type: ignore[attr-defined]
    sys.modules["expecttest"] = _stub

import ember  # noqa: E402
import torch  # noqa: E402
from torch.testing._internal.common_methods_invocations import op_db  # noqa: E402

#: ops whose values are random draws (ember's generator is not PyTorch's) or that describe memory
_SKIP_WORDS = ("rand", "normal", "bernoulli", "dropout", "multinomial", "uniform", "poisson", "exponential",
               "geometric", "cauchy", "log_normal", "empty", "new_empty", "data_ptr", "storage", "resize",
               "fractional_max_pool", "rrelu", "randint", "randperm")
#: ops whose index outputs among equal values are implementation-defined in PyTorch: only their
#: values (output 0) are compared
_TIE_OPS = {"topk", "sort", "kthvalue", "mode", "argsort", "msort", "median", "nanmedian"}
_RANDOM_OPS = {"nn.functional.scaled_dot_product_attention", "nn.functional.multi_head_attention_forward",
               "nn.functional.alpha_dropout", "nn.functional.feature_alpha_dropout"}
_DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
           "bfloat16": torch.bfloat16, "int64": torch.int64, "int32": torch.int32, "int8": torch.int8, "int16": torch.int16,
           "uint8": torch.uint8, "bool": torch.bool, "complex64": torch.complex64, "complex128": torch.complex128}


class Unconvertible(Exception):
    """A sample holds something this script does not translate (a Generator, a custom object)."""


def _ember_dtype(dt: torch.dtype) -> Any:
    return getattr(ember, str(dt).split(".")[-1])


#: the ember device samples are placed on (``--device``)
DEVICE = ["cpu"]


def to_ember(value: Any, memo: dict | None = None) -> Any:
    """``value`` with PyTorch's objects as ember's; one tensor passed twice stays one tensor (``memo``:
    torch tensor id -> ember tensor, shared by the arguments of one call)."""
    if memo is None:
        memo = {}
    if isinstance(value, torch.Tensor) and id(value) in memo:
        return memo[id(value)]
    if isinstance(value, torch.Tensor):
        if value.layout != torch.strided or value.is_quantized or value.is_nested:
            raise Unconvertible("non-strided tensor")
        t = value.detach()
        if t.dtype in (torch.bfloat16,):
            e = ember.tensor(t.float().numpy()).to(ember.bfloat16)
        elif t.dtype in (torch.uint16, torch.uint32, torch.uint64):
            raise Unconvertible(str(t.dtype))
        else:
            e = ember.tensor(t.resolve_conj().resolve_neg().numpy())
        if DEVICE[0] != "cpu":
            try:
                e = e.to(DEVICE[0])
            except TypeError as exc:  # a dtype the device does not hold
                raise Unconvertible(str(exc)) from exc
        if value.requires_grad:
            e.requires_grad_(True)
        memo[id(value)] = e
        return e
    if isinstance(value, torch.dtype):
        try:
            return _ember_dtype(value)
        except AttributeError as exc:
            raise Unconvertible(str(value)) from exc
    if isinstance(value, torch.device):
        return ember.device(DEVICE[0])
    if isinstance(value, torch.Size):
        return tuple(value)
    if isinstance(value, torch.memory_format):
        return getattr(ember, str(value).split(".")[-1])
    if isinstance(value, torch.layout):
        return getattr(ember, str(value).split(".")[-1])
    if isinstance(value, torch.Generator):
        raise Unconvertible("Generator")
    if isinstance(value, (list, tuple)):
        return type(value)(to_ember(v, memo) for v in value)
    if isinstance(value, dict):
        return {k: DEVICE[0] if k == "device" and isinstance(v, str) else to_ember(v, memo) for k, v in value.items()}
    if callable(value) and not isinstance(value, type):
        raise Unconvertible("callable")
    return value


def to_torch(value: Any) -> Any:
    """ember results as PyTorch objects, for comparing with ``torch.testing.assert_close``."""
    if isinstance(value, ember.Tensor):
        v = value.detach()
        if v.is_sparse:
            v = v.to_dense()
        if v.dtype is ember.bfloat16:
            return torch.from_numpy(v.float().cpu().numpy().copy()).to(torch.bfloat16)
        return torch.from_numpy(np.array(v.cpu().numpy(), copy=True))
    if isinstance(value, (list, tuple)):
        return [to_torch(v) for v in value]
    if isinstance(value, ember.dtype):
        return getattr(torch, value.name)
    return value


def _remap_function(fn: types.FunctionType) -> types.FunctionType:
    """A lambda or helper of PyTorch's test database with ``torch`` read as ``ember`` (its module
    globals and its closure cells), so ``lambda x, n: torch.polygamma(n, x)`` calls ember's."""
    glob = dict(fn.__globals__)
    for key, value in list(glob.items()):
        if isinstance(value, types.ModuleType) and (value.__name__ == "torch" or value.__name__.startswith("torch.")) \
                and not value.__name__.startswith("torch.testing"):
            target: Any = ember
            for part in value.__name__.split(".")[1:]:
                target = getattr(target, part, None)
                if target is None:
                    break
            if target is not None:
                glob[key] = target
    cells = None
    if fn.__closure__:
        cells = []
        for cell in fn.__closure__:
            try:
                content = cell.cell_contents
            except ValueError:  # an empty cell
                cells.append(types.CellType())
                continue
            if isinstance(content, types.FunctionType) and (content.__module__ or "").startswith("torch.testing"):
                content = _remap_function(content)
            elif callable(content) and getattr(content, "__module__", "") in ("torch", "torch._C._VariableFunctions"):
                content = getattr(ember, content.__name__, content)
            cells.append(types.CellType(content))
        cells = tuple(cells)
    out = types.FunctionType(fn.__code__, glob, fn.__name__, fn.__defaults__, cells)
    out.__kwdefaults__ = fn.__kwdefaults__
    return out


def resolve(op: Any) -> Any:
    """ember's callable for an OpInfo, or None when ember has none of that name."""
    if isinstance(op.op, types.FunctionType) and (op.op.__module__ or "").startswith("torch.testing"):
        return _remap_function(op.op)
    name = op.name
    objclass = getattr(op.op, "__objclass__", None)
    if objclass is not None and issubclass(objclass, torch._C.TensorBase):  # a Tensor method (x.cfloat())
        method = op.op.__name__
        return lambda x, *a, **k: getattr(x, method)(*a, **k)
    if name.startswith("__r") and name.endswith("__"):
        return lambda x, *a, **k: getattr(x, name)(*a, **k)
    if name in ("H", "T", "mT", "mH"):
        return lambda x: getattr(x, name)
    if name == "__getitem__":
        return lambda x, idx: x[idx]
    obj: Any = ember
    for part in name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            break
    if obj is not None:
        return obj
    method = getattr(ember.Tensor, name.split(".")[-1], None)
    if method is not None and op.method_variant is not None:
        return lambda x, *a, **k: getattr(x, name.split(".")[-1])(*a, **k)
    return None


def _flatten(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            out.extend(_flatten(v))
        return out
    return [value]


_WIDE = {torch.float32: torch.float64, torch.float16: torch.float64, torch.bfloat16: torch.float64,
         torch.complex64: torch.complex128}


def widened(value: Any) -> Any:
    """``value`` with every float32/16-bit tensor as float64 and complex64 as complex128 (detached)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to(_WIDE[value.dtype]) if value.dtype in _WIDE else value.detach()
    if isinstance(value, (list, tuple)):
        return type(value)(widened(v) for v in value)
    if isinstance(value, dict):
        return {k: widened(v) for k, v in value.items()}
    return value


def exact_of(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn`` on the same inputs widened to float64/complex128 (None where that raises)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*widened(list(args)), **widened(dict(kwargs)))
    except Exception:  # noqa: BLE001 - no wide reference: the plain comparison stands
        return None


def _closer_than_torch(e: torch.Tensor, a: torch.Tensor, x: Any) -> bool:
    """Whether ember's ``a`` is as close as PyTorch's ``e`` to the wide result ``x``, within the dtype's
    tolerance: PyTorch's float32 products and 16-bit convolutions sum in an order (and, for some 16-bit
    kernels, a precision) that depends on the CPU's vector extensions, so its last bits are no fixed
    reference where terms cancel. The tolerance is relative to the output's largest magnitude (a
    sum's rounding error scales with its terms, not with a result that cancelled to near zero)."""
    if not isinstance(x, torch.Tensor) or tuple(x.shape) != tuple(e.shape) or e.dtype not in _WIDE:
        return False
    rtol, atol = {torch.float32: (1.3e-6, 1e-5), torch.complex64: (1.3e-6, 1e-5), torch.float16: (1e-3, 1e-5),
                  torch.bfloat16: (1.6e-2, 1e-5)}[e.dtype]
    xd = x.detach().to(_WIDE[e.dtype])
    err_a = (a.detach().to(xd.dtype) - xd).abs()
    err_e = (e.detach().resolve_conj().resolve_neg().to(xd.dtype) - xd).abs()
    scale = xd.abs().max() if xd.numel() else 0.0
    ok = (err_a <= err_e + rtol * scale + atol) | (a.detach().to(xd.dtype) == e.detach().to(xd.dtype))
    return bool(ok.all())


def compare(expected: Any, actual: Any, exact: Any = None) -> str:
    """"" when ``actual`` (converted to PyTorch) matches ``expected``, else what differs. With
    ``exact`` (the op on float64 copies of the inputs), a float32/complex64/16-bit output also
    passes when it is as close as PyTorch's to that result (see :func:`_closer_than_torch`)."""
    exp, act = _flatten(expected), _flatten(to_torch(actual))
    wide = _flatten(exact) if exact is not None else []
    if len(exp) != len(act):
        return f"{len(act)} outputs, PyTorch {len(exp)}"
    for i, (e, a) in enumerate(zip(exp, act)):
        if isinstance(e, torch.Tensor):
            if not isinstance(a, torch.Tensor):
                return f"output {i}: {type(a).__name__}, PyTorch a tensor"
            if a.dtype != e.dtype:
                return f"output {i}: dtype {a.dtype}, PyTorch {e.dtype}"
            if tuple(a.shape) != tuple(e.shape):
                return f"output {i}: shape {tuple(a.shape)}, PyTorch {tuple(e.shape)}"
            try:
                torch.testing.assert_close(a, e.detach().resolve_conj().resolve_neg(), equal_nan=True,
                                           check_stride=False, check_device=False)
            except AssertionError as exc:
                if len(wide) == len(exp) and _closer_than_torch(e, a, wide[i]):
                    continue
                lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
                return f"output {i}: values differ: " + "; ".join(lines[:4])
        elif isinstance(e, (bool, int, float, complex)) and not isinstance(e, torch.Tensor):
            if isinstance(a, torch.Tensor) and a.dim() == 0:
                a = a.item()
            if not (e == a or (isinstance(e, float) and math.isnan(e) and isinstance(a, float) and math.isnan(a))
                    or (isinstance(e, float) and isinstance(a, (int, float)) and math.isclose(e, a, rel_tol=1e-6))):
                return f"output {i}: {a!r}, PyTorch {e!r}"
    return ""


def grads_of(fn: Any, lib: Any, sample_input: Any, args: Any, kwargs: Any) -> list:
    leaves = [t for t in _flatten([sample_input, list(args), list(kwargs.values())])
              if isinstance(t, lib.Tensor) and t.requires_grad]
    out = fn(sample_input, *args, **kwargs)
    outs = [o for o in _flatten(out) if isinstance(o, lib.Tensor) and o.requires_grad]
    if not outs or not leaves:
        return []
    total = sum(o.sum() if not o.is_complex() else o.real.sum() + o.imag.sum() for o in outs)
    grads = lib.autograd.grad(total, leaves, allow_unused=True)
    return [g if g is not None else lib.zeros_like(t) for g, t in zip(grads, leaves)]


def _compare_inplace(op: Any, s: Any, e_in: Any, e_args: Any, e_kwargs: Any) -> str:
    """The in-place variant (``x.add_(y)``) on both, where PyTorch's accepts the sample: "" when the
    written values, dtype and shape agree (or both refuse), else what differs."""
    fn = op.inplace_variant
    name = getattr(fn, "__name__", "")
    if fn is None or not isinstance(s.input, torch.Tensor) or not name.endswith("_"):  # lambdas, partials
        return ""
    t_in = s.input.detach().clone()
    try:
        fn(t_in, *[a.detach() if isinstance(a, torch.Tensor) else a for a in s.args], **s.kwargs)
    except Exception:  # noqa: BLE001 - PyTorch refuses (a result dtype self cannot hold): so must ember
        try:
            getattr(e_in.detach().clone(), name)(*[a.detach() if isinstance(a, ember.Tensor) else a for a in e_args],
                                                **e_kwargs)
        except Exception:  # noqa: BLE001
            return ""
        return f"in-place {name}: PyTorch refuses the sample, ember accepts it"
    e_copy = e_in.detach().clone()
    try:
        getattr(e_copy, name)(*[a.detach() if isinstance(a, ember.Tensor) else a for a in e_args], **e_kwargs)
    except Exception as exc:  # noqa: BLE001
        return f"in-place {name} raises: {type(exc).__name__}: {str(exc)[:200]}"
    d = compare(t_in, e_copy)
    return f"in-place {name}: {d}" if d else ""


def run(ops_filter: set[str] | None, dtypes: list[torch.dtype], max_samples: int, grad: bool,
        verbose: bool, device: str | None = None, inplace: bool = False) -> list[dict]:
    if device is not None:
        DEVICE[0] = device
    rows = []
    for op in op_db:
        full = op.name + (f".{op.variant_test_name}" if op.variant_test_name else "")
        if ops_filter and op.name not in ops_filter and full not in ops_filter:
            continue
        if any(w in op.name for w in _SKIP_WORDS) or op.name in _RANDOM_OPS:
            continue
        efn = resolve(op)
        if efn is None:
            rows.append({"op": full, "status": "missing"})
            continue
        supported = op.supported_dtypes("cpu")
        for dt in dtypes:
            if dt not in supported:
                continue
            want_grad = grad and dt == torch.float64 and op.supports_autograd
            try:
                samples = list(op.sample_inputs("cpu", dt, requires_grad=want_grad))[:max_samples]
            except Exception as exc:  # noqa: BLE001 - a sample generator that fails here is PyTorch's
                rows.append({"op": full, "dtype": str(dt), "status": "no-samples", "detail": repr(exc)[:200]})
                continue
            for k, s in enumerate(samples):
                row = {"op": full, "dtype": str(dt).split(".")[-1], "sample": k}
                try:
                    memo: dict = {}
                    e_in, e_args, e_kwargs = (to_ember(s.input, memo), to_ember(list(s.args), memo),
                                              to_ember(dict(s.kwargs), memo))
                except Unconvertible as exc:
                    row.update(status="skipped", detail=str(exc))
                    rows.append(row)
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        expected = op.op(s.input, *s.args, **s.kwargs)
                    except Exception as exc:  # noqa: BLE001
                        row.update(status="torch-raises", detail=f"{type(exc).__name__}")
                        rows.append(row)
                        continue
                    try:
                        actual = efn(e_in, *e_args, **e_kwargs)
                    except Exception as exc:  # noqa: BLE001
                        if DEVICE[0] != "cpu" and isinstance(exc, TypeError) and "complex" in str(exc):
                            row.update(status="unsupported", detail=str(exc)[:200])  # a dtype the device lacks
                            rows.append(row)
                            continue
                        row.update(status="ember-raises", detail=f"{type(exc).__name__}: {str(exc)[:300]}",
                                   sample_repr=_describe(s))
                        rows.append(row)
                        if verbose:
                            print(json.dumps(row))
                        continue
                    if op.name in _TIE_OPS and isinstance(expected, tuple):
                        expected, actual = expected[0], actual[0]
                    elif op.name == "argsort" and isinstance(actual, ember.Tensor):  # compare the values picked
                        dim = s.kwargs.get("dim", s.args[0] if s.args else -1)
                        expected = s.input.gather(dim, expected) if s.input.dim() else s.input
                        actual = e_in.gather(dim, actual) if e_in.dim() else e_in
                    try:
                        diff = compare(expected, actual)
                        if "values differ" in diff and op.name not in _TIE_OPS and op.name != "argsort":
                            diff = compare(expected, actual, exact_of(op.op, s.input, *s.args, **s.kwargs))
                    except Exception as exc:  # noqa: BLE001 - an output this script cannot read
                        diff = f"comparing raised {type(exc).__name__}: {str(exc)[:200]}"
                    if not diff and want_grad:
                        try:
                            gt = grads_of(op.op, torch, s.input, s.args, s.kwargs)
                            ge = grads_of(efn, ember, e_in, e_args, e_kwargs)
                            gdiff = compare(gt, ge)
                            diff = f"gradient: {gdiff}" if gdiff else ""
                        except Exception as exc:  # noqa: BLE001
                            diff = f"gradient raises: {type(exc).__name__}: {str(exc)[:200]}"
                    if not diff and inplace:
                        diff = _compare_inplace(op, s, e_in, e_args, e_kwargs)
                row.update(status="differs" if diff else "ok", detail=diff)
                if diff:
                    row["sample_repr"] = _describe(s)
                rows.append(row)
                if verbose and diff:
                    print(json.dumps(row))
    return rows


#: PyTorch's foreach databases (``ForeachFuncInfo``: ``torch._foreach_add`` and its in-place ``_`` form...)
FOREACH_DBS = ("foreach_unary_op_db", "foreach_binary_op_db", "foreach_pointwise_op_db", "foreach_reduce_op_db",
               "foreach_other_op_db")


def foreach_ops() -> list:
    """Every ``ForeachFuncInfo`` of PyTorch's five foreach databases."""
    from torch.testing._internal import common_methods_invocations as cmi

    return [op for db in FOREACH_DBS for op in getattr(cmi, db)]


def _foreach_call(fn: Any, args: tuple, kwargs: dict) -> tuple[Any, BaseException | None]:
    """``fn(*args, **kwargs)`` and what it raised (warnings silenced: PyTorch's deprecations)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(*args, **kwargs), None
        except Exception as exc:  # noqa: BLE001 - compared against the other library's
            return None, exc


def _detached(value: Any, lib: Any) -> Any:
    """``value`` with every tensor a detached copy (in-place forms write into copies)."""
    if isinstance(value, lib.Tensor):
        return value.detach().clone()
    if isinstance(value, (list, tuple)):
        return type(value)(_detached(v, lib) for v in value)
    return value


def _compare_foreach_call(t_fn: Any, e_fn: Any, t_args: tuple, e_args: tuple, kwargs_t: dict, kwargs_e: dict,
                          inplace: bool) -> str:
    """One call on both: "" when both raise the same error type or agree (in-place: on the written
    lists, and the call returns the list it was given), else what differs."""
    if inplace:
        t_args, e_args = _detached(t_args, torch), _detached(e_args, ember)
    t_out, t_exc = _foreach_call(t_fn, t_args, kwargs_t)
    e_out, e_exc = _foreach_call(e_fn, e_args, kwargs_e)
    if t_exc is not None or e_exc is not None:
        if t_exc is None:
            return f"ember raises {type(e_exc).__name__}: {str(e_exc)[:200]}"
        if e_exc is None:
            return f"PyTorch raises {type(t_exc).__name__} ({str(t_exc)[:120]}), ember does not"
        if type(t_exc) is not type(e_exc):
            return f"ember raises {type(e_exc).__name__}: {str(e_exc)[:120]}; PyTorch {type(t_exc).__name__}: " \
                   f"{str(t_exc)[:120]}"
        return ""
    if inplace:
        if (t_out is None) != (e_out is None):
            return f"returns {type(e_out).__name__}, PyTorch {type(t_out).__name__}"
        t_out, e_out = t_args[0], e_args[0]
    elif type(e_out) is not type(t_out):
        return f"returns {type(e_out).__name__}, PyTorch {type(t_out).__name__}"
    diff = compare(t_out, e_out)
    if "values differ" in diff and not inplace:
        diff = compare(t_out, e_out, exact_of(t_fn, *t_args, **kwargs_t))
    return diff


def run_foreach(ops_filter: set[str] | None, dtypes: list[torch.dtype], device: str | None = None,
                num_tensors: tuple[int, ...] = (4,), grad: bool = True, inplace: bool = True,
                verbose: bool = False) -> list[dict]:
    """PyTorch's foreach databases against ``ember._foreach_*``: every sample (lists of tensors with a
    tensor list, number, number list or 0-d tensor operand), out of place and in place, every list
    element's values, dtype and shape, errors by type, and with ``grad`` the float64 gradients of the
    out-of-place forms PyTorch differentiates. Rows as :func:`run`'s, ``op`` the foreach name."""
    if device is not None:
        DEVICE[0] = device
    rows = []
    for op in foreach_ops():
        name = op.name
        if ops_filter and name not in ops_filter:
            continue
        t_fn, t_in = op.op, op.inplace_variant
        e_fn = getattr(ember, t_fn.__name__, None)
        e_in = getattr(ember, t_in.__name__, None) if t_in is not None else None
        if e_fn is None or (t_in is not None and e_in is None):
            rows.append({"op": name, "status": "missing"})
            continue
        out_of_place = not t_fn.__name__.endswith("_")  # _foreach_zero_ / _foreach_copy_ only write
        supported = op.supported_dtypes("cpu")
        for dt in dtypes:
            if dt not in supported:
                continue
            want_grad = grad and out_of_place and dt == torch.float64 and op.supports_autograd
            samples = []
            for noncontiguous in (False, True):  # as test_foreach.py: its slow path's strided inputs too
                random.seed(0)  # the sample scalars (random.random()) and tensors, the same on every run
                torch.manual_seed(0)
                samples += op.sample_inputs("cpu", dt, requires_grad=want_grad, num_input_tensors=list(num_tensors),
                                            noncontiguous=noncontiguous, allow_higher_dtype_scalars=True)
            for k, s in enumerate(samples):
                row = {"op": name, "dtype": str(dt).split(".")[-1], "sample": k}
                try:
                    memo: dict = {}
                    e_args = tuple(to_ember([s.input, *s.args], memo))
                    e_kwargs = to_ember(dict(s.kwargs), memo)
                except Unconvertible as exc:
                    row.update(status="skipped", detail=str(exc))
                    rows.append(row)
                    continue
                t_args = (s.input, *s.args)
                calls = [(t_in, e_in, True)] if inplace and t_in is not None else []
                if out_of_place:
                    calls.append((t_fn, e_fn, False))
                if getattr(op, "supports_scalar_self_arg", False) and s.args and isinstance(s.args[0], (int, float)):
                    calls.append((lambda a, b, f=t_fn: f(b, a), lambda a, b, f=e_fn: f(b, a), False))  # pow(2, xs)
                diff = ""
                for tf, ef, in_place in calls:
                    try:
                        diff = _compare_foreach_call(tf, ef, t_args, e_args, s.kwargs, e_kwargs, in_place)
                    except Exception as exc:  # noqa: BLE001 - an output this script cannot read
                        diff = f"comparing raised {type(exc).__name__}: {str(exc)[:200]}"
                    if diff:
                        diff = f"{getattr(tf, '__name__', name)}: {diff}"
                        break
                if not diff and want_grad:
                    try:
                        gt = grads_of(t_fn, torch, s.input, s.args, s.kwargs)
                    except Exception:  # noqa: BLE001 - PyTorch cannot differentiate this sample (a 0-d
                        gt = None  # tensor operand's "inconsistent range for TensorList output")
                    try:
                        ge = grads_of(e_fn, ember, e_args[0], e_args[1:], e_kwargs) if gt is not None else None
                        gdiff = compare(gt, ge) if gt is not None else ""
                        diff = f"gradient: {gdiff}" if gdiff else ""
                    except Exception as exc:  # noqa: BLE001
                        diff = f"gradient raises: {type(exc).__name__}: {str(exc)[:200]}"
                if diff and DEVICE[0] != "cpu" and "backend has no complex" in diff:
                    row.update(status="unsupported", detail=diff[:200])  # a complex scalar's result: no such dtype there
                else:
                    row.update(status="differs" if diff else "ok", detail=diff)
                if diff:
                    row["sample_repr"] = _describe(s)
                rows.append(row)
                if verbose and diff:
                    print(json.dumps(row))
    return rows


def _describe(s: Any) -> str:
    def d(v: Any) -> str:
        if isinstance(v, torch.Tensor):
            return f"T{tuple(v.shape)}{str(v.dtype).split('.')[-1]}" + ("" if v.is_contiguous() else "nc")
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(d(x) for x in v) + "]"
        return repr(v)[:60]
    return f"input={d(s.input)} args={d(list(s.args))} kwargs={ {k: d(v) for k, v in s.kwargs.items()} }"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ops", default="", help="comma-separated OpInfo names (default: all)")
    p.add_argument("--dtypes", default="float32,float64,int64,bool")
    p.add_argument("--max-samples", type=int, default=12)
    p.add_argument("--grad", action="store_true", help="also compare gradients (float64 samples)")
    p.add_argument("--json", default="", help="write one JSON row per sample here")
    p.add_argument("--inplace", action="store_true", help="also compare each op's in-place variant (x.op_())")
    p.add_argument("--device", default="cpu", help="the ember device the samples go to (cpu, opencl...)")
    p.add_argument("--foreach", action="store_true",
                   help="run PyTorch's foreach databases (torch._foreach_*, in place and out of place) instead")
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args(argv)
    DEVICE[0] = a.device
    if a.foreach:
        rows = run_foreach(set(a.ops.split(",")) if a.ops else None, [_DTYPES[d] for d in a.dtypes.split(",")],
                           grad=a.grad, inplace=a.inplace, verbose=a.verbose)
    else:
        rows = run(set(a.ops.split(",")) if a.ops else None, [_DTYPES[d] for d in a.dtypes.split(",")],
                   a.max_samples, a.grad, a.verbose, inplace=a.inplace)
    if a.json:
        with open(a.json, "w") as fh:
            for r in rows:
                fh.write(json.dumps(r) + "\n")
    counts = Counter(r["status"] for r in rows)
    bad_ops = Counter(r["op"] for r in rows if r["status"] in ("differs", "ember-raises"))
    print(dict(counts))
    print(f"ops with a differing or raising sample: {len(bad_ops)}")
    print("missing:", ", ".join(sorted({r['op'] for r in rows if r['status'] == 'missing'})))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
