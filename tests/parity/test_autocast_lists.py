"""PyTorch's own autocast test lists as a permanent outside check of ``ember.autocast`` (issue #18).

``torch.testing._internal.autocast_test_lists`` holds the ops and arguments PyTorch's autocast
tests run: ``AutocastCPUTestLists`` (test_autocast.py, CPU autocast) and ``AutocastTestLists``
(test_cuda.py, CUDA autocast). Each row runs here as PyTorch's ``_run_autocast_outofplace`` runs it:

* CPU lists, ``ember.autocast("cpu", dtype=bfloat16/float16)``: the output dtype must be the one
  real PyTorch gives under ``torch.autocast("cpu", ...)`` (not only the list's claim), the value
  must equal ember's own op run outside autocast on inputs cast by hand (bitwise, as PyTorch asks
  of itself) and PyTorch's value within the dtype's tolerance;
* CUDA lists on ember's CPU autocast: the same comparison with real PyTorch's CPU autocast (ops
  such as ``exp`` or ``sum`` that the CUDA policy casts must stay as they are on the CPU);
* CUDA lists on the OpenCL device (ember applies PyTorch's CUDA policy to every non-CPU device):
  PyTorch cannot run CUDA autocast here, so the dtype is the list's claim, the value ember's own
  hand-cast run (bitwise) and PyTorch's CPU run of the hand-cast op (tolerance); the "banned"
  ``binary_cross_entropy`` must raise PyTorch's error (PyTorch's CPU autocast does not ban it: on
  the CPU it is an ordinary fp32 row);
* every row under ``enabled=False`` (nested in an enabled block) gives what it gives with no
  autocast at all.

The policy tables themselves are checked without a GPU: the set of ops with an autocast kernel in
PyTorch's dispatcher (``AutocastCPU``/``AutocastCUDA``, read from the installed torch) must be the
set ember lists for ``"cpu"``/``"cuda"``, and each CUDA list row's category must be ember's policy.
Rows ember knowingly cannot run are in ``KNOWN`` with the reason.
"""

from __future__ import annotations

import collections
import sys
import types
import unittest
import warnings
from collections.abc import Callable
from typing import Any

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ember.amp import autocast_mode as _am  # noqa: E402


def _load_lists() -> tuple[Any, Any]:
    """PyTorch's two list objects, built with a fixed seed (the CUDA list's tensors on the CPU)."""
    try:
        import expecttest  # noqa: F401
    except ImportError:  # torch.testing._internal only takes its TestCase base class from it
        stub = types.ModuleType("expecttest")
        stub.TestCase = unittest.TestCase  # type: ignore[attr-defined]
        sys.modules["expecttest"] = stub
    from torch.testing._internal.autocast_test_lists import AutocastCPUTestLists, AutocastTestLists

    with torch.random.fork_rng():
        torch.manual_seed(0)
        return AutocastCPUTestLists("cpu"), AutocastTestLists("cpu")


CPU_LISTS, CUDA_LISTS = _load_lists()
LOW = ("bfloat16", "float16")
F = ember.nn.functional


def _opencl() -> bool:
    backend = ember.plugins.backend("opencl")
    try:
        return backend is not None and bool(backend.is_available())
    except Exception:  # noqa: BLE001 - no usable OpenCL platform
        return False


HAS_OPENCL = _opencl()

#: (list, op) -> why ember cannot run the row (aten-internal ops ember does not expose)
KNOWN: dict[tuple[str, str], str] = {
    ("torch_16", "_addmm_activation"): "aten-internal fused addmm+gelu, not public API; ember has no such op",
    ("torch_16", "_native_multi_head_attention"): "aten-internal fast path of nn.MultiheadAttention",
    ("torch_16", "conv_tbc"): "time-batch-channel convolution (fairseq's), not implemented in ember",
    ("torch_fp16", "conv_tbc"): "time-batch-channel convolution (fairseq's), not implemented in ember",
    ("torch_fp16", "_convolution"): "aten-internal convolution entry point",
    ("torch_fp16", "cudnn_convolution"): "cuDNN-only kernel",
    ("torch_fp16", "cudnn_convolution_transpose"): "cuDNN-only kernel",
}

#: aten ops with an autocast kernel (CPU or CUDA) that ember has no function for, or reaches only
#: through another listed op: aten base name -> reason
KNOWN_ATEN: dict[str, str] = {
    "_convolution": "aten-internal convolution entry point",
    "conv_tbc": "not implemented in ember",
    "_native_multi_head_attention": "aten-internal fast path of nn.MultiheadAttention",
    "_addmm_activation": "aten-internal fused addmm+gelu",
    "mkldnn_rnn_layer": "oneDNN's nn.LSTM layer kernel; ember's nn.LSTM reaches the same 16-bit output "
                        "through its listed matmuls",
    "fake_quantize_per_tensor_affine": "quantization, not implemented in ember",
    "_grid_sampler_2d_cpu_fallback": "aten-internal; ember's grid_sample is one listed op",
    "grid_sampler_2d": "aten-internal; ember's grid_sample is one listed op",
    "grid_sampler_3d": "aten-internal; ember's grid_sample is one listed op",
    "multilabel_margin_loss_forward": "aten-internal forward of multilabel_margin_loss",
    "_thnn_fused_lstm_cell": "aten-internal CUDA fused cell",
    "_thnn_fused_gru_cell": "aten-internal CUDA fused cell",
    "cudnn_convolution": "cuDNN-only kernel",
    "cudnn_convolution_transpose": "cuDNN-only kernel",
    "_scaled_dot_product_flash_attention": "aten-internal backend of scaled_dot_product_attention",
    "native_layer_norm": "aten-internal backend of layer_norm",
}


#: (device type, aten op) that ember lists though PyTorch registers no kernel for it -> why
KNOWN_EXTRA: dict[tuple[str, str], str] = {
    ("cuda", "cross_entropy_loss"): "PyTorch's CUDA runs it as log_softmax (dtype=float32) + nll_loss (fp32); "
                                    "ember's F.cross_entropy is one function, listed fp32: the same result",
}


# ---- torch <-> ember ---------------------------------------------------------------------------
def _edtype(t: torch.dtype) -> ember.dtype:
    return getattr(ember, str(t).split(".")[-1])


def _to_ember(v: Any, device: str) -> Any:
    if isinstance(v, torch.Tensor):
        return ember.tensor(v.to(torch.float64 if v.is_floating_point() else v.dtype).numpy(),
                            device=device).to(_edtype(v.dtype))
    if isinstance(v, (list, tuple)):
        return type(v)(_to_ember(x, device) for x in v)
    if isinstance(v, dict):
        return {k: _to_ember(x, device) for k, x in v.items()}
    return v


def _cast(lib: Any, v: Any, dtype: Any) -> Any:
    """PyTorch's test helper ``cast``: floating tensors to ``dtype``, through containers."""
    if isinstance(v, lib.Tensor):
        return v.to(dtype) if v.is_floating_point() else v
    if isinstance(v, (list, tuple)):
        return type(v)(_cast(lib, x, dtype) for x in v)
    return v


def _dtype_name(v: Any) -> Any:
    if hasattr(v, "dtype") and not isinstance(v, np.ndarray):
        return str(v.dtype).split(".")[-1]
    if isinstance(v, (list, tuple)):
        return [_dtype_name(x) for x in v]
    return type(v).__name__


def _np(v: Any) -> Any:
    if isinstance(v, torch.Tensor):
        return v.detach().to(torch.float64 if v.is_floating_point() else v.dtype).numpy()
    if isinstance(v, ember.Tensor):
        return np.array(v.detach().cpu().to(ember.float64 if v.is_floating_point() else v.dtype).tolist())
    if isinstance(v, (list, tuple)):
        return [_np(x) for x in v]
    return v


def _bitwise(a: Any, b: Any) -> bool:
    """Same dtype and same bits (NaN equal to NaN), through tuples: PyTorch's ``compare``."""
    if isinstance(a, ember.Tensor):
        return a.dtype is b.dtype and np.array_equal(_np(a), _np(b), equal_nan=True)
    if isinstance(a, (list, tuple)):
        return all(_bitwise(x, y) for x, y in zip(a, b, strict=True))
    return a == b


TOL = {"bfloat16": (2e-2, 2e-2), "float16": (3e-3, 3e-3), "float32": (2e-4, 2e-4), "float64": (1e-7, 1e-9)}


def _close(e: Any, t: Any, exact: Any = None) -> None:
    """``e`` within the dtype's tolerance of PyTorch's ``t``; or, for a 16-bit result, at least as close
    as ``t`` to ``exact`` (the op in float64 on the same 16-bit inputs), within that tolerance.

    PyTorch's 16-bit CPU kernels are not the same on every CPU (oneDNN's AVX-512 paths accumulate in
    float32, the AVX2 fallbacks of some convolutions in 16 bits): on a CPU without AVX-512 its float16
    ``conv_transpose1d`` is off by several ulps where terms cancel, while ember accumulates in float32."""
    if isinstance(t, (list, tuple)):
        assert len(e) == len(t)
        for i, (x, y) in enumerate(zip(e, t)):
            _close(x, y, exact[i] if isinstance(exact, (list, tuple)) else None)
        return
    if not isinstance(t, torch.Tensor):
        assert e == t
        return
    rtol, atol = TOL.get(_dtype_name(t), (0, 0))
    try:
        np.testing.assert_allclose(_np(e), _np(t), rtol=rtol, atol=atol)
    except AssertionError:
        if not isinstance(exact, torch.Tensor) or _dtype_name(t) not in ("float16", "bfloat16"):
            raise
        x = _np(exact)
        err_e, err_t = np.abs(_np(e) - x), np.abs(_np(t) - x)
        worse = err_e > err_t + rtol * np.abs(x) + atol
        assert not worse.any(), (f"ember is further from the exact result than PyTorch at {np.argwhere(worse)[:5]}: "
                                 f"ember {_np(e)[worse][:5]}, PyTorch {_np(t)[worse][:5]}, exact {x[worse][:5]}")


def _exact(run: Callable, args: Any, low: str) -> Any:
    """``run`` in float64 on ``args`` rounded to the 16-bit dtype ``low`` (None where it fails)."""
    value, err = _outcome(lambda: run(_cast(torch, _cast(torch, args, getattr(torch, low)), torch.float64)))
    return None if err is not None else value


# ---- the rows ------------------------------------------------------------------------------------
# PyTorch's nn rows call ``torch._C._nn.<aten op>``, whose bindings take no reduction default
# (``l1_loss`` unreduced): both libraries run the public ``nn.functional`` function that calls it.
def _nn(lib: Any, op: str) -> Callable:
    fn = lib.nn.functional
    if op == "reflection_pad1d":
        return lambda x, padding: fn.pad(x, padding, mode="reflect")
    if op == "nll_loss2d":  # what F.nll_loss runs for a 4-d input
        return fn.nll_loss
    return getattr(fn, op)


def _fns(kind: str, op: str) -> tuple[Callable | None, Callable | None, Callable | None, Callable | None]:
    """(torch function, torch method, ember function, ember method) for a row; None where absent."""
    if kind == "nn":
        return _nn(torch, op), None, _nn(ember, op), None
    if kind == "linalg":
        name = op.removeprefix("linalg_")
        return getattr(torch._C._linalg, op), None, getattr(ember.linalg, name), None
    tf = getattr(torch, op, None) if kind == "torch" else None
    ef = getattr(ember, op, None) if kind == "torch" else None
    tm = op if hasattr(torch.Tensor, op) else None
    em = op if hasattr(ember.Tensor, op) else None
    return tf, tm, ef, em


Row = collections.namedtuple("Row", "source list op kind args kwargs run_as out_type")


def _rows() -> list[tuple[Row, str]]:
    """(row, autocast dtype) for every entry of both objects, as PyTorch's tests unpack them."""
    out = []
    c, g = CPU_LISTS, CUDA_LISTS
    for low in LOW:
        lt = getattr(torch, low)
        for lst, kind in (("torch_expect_builtin_promote", "torch"), ("methods_expect_builtin_promote", "method")):
            for i, (op, a_bf, a_h, out_type) in enumerate(getattr(c, lst)):
                out.append((Row("cpu", lst, op, kind, a_bf if low == "bfloat16" else a_h, {}, torch.float32,
                                out_type), low, i))
        for lst, kind, run_as in (("torch_16", "torch", lt), ("nn_16", "nn", lt), ("torch_fp32", "torch", torch.float32),
                                  ("nn_fp32", "nn", torch.float32)):
            for i, entry in enumerate(getattr(c, lst)):
                op, args, kw = (*entry, {})[:3]
                out.append((Row("cpu", lst, op, kind, args, kw, run_as, None), low, i))
        for i, (op, a_bf, a_h) in enumerate(c.torch_need_autocast_promote):
            out.append((Row("cpu", "torch_need_autocast_promote", op, "torch", a_bf if low == "bfloat16" else a_h, {},
                            torch.float32, None), low, i))
        # the CUDA lists (test_cuda.py runs them in float16, and in bfloat16 where the GPU has it)
        for lst, kind in (("torch_expect_builtin_promote", "torch"), ("methods_expect_builtin_promote", "method")):
            for i, (op, args, out_type) in enumerate(getattr(g, lst)):
                out.append((Row("cuda", lst, op, kind, args, {}, torch.float32, out_type), low, i))
        for lst, kind, run_as in (("torch_fp16", "torch", lt), ("nn_fp16", "nn", lt), ("linalg_fp16", "linalg", lt),
                                  ("methods_fp16", "method", lt), ("torch_fp32", "torch", torch.float32),
                                  ("nn_fp32", "nn", torch.float32), ("methods_fp32", "method", torch.float32),
                                  ("torch_need_autocast_promote", "torch", torch.float32)):
            for i, entry in enumerate(getattr(g, lst)):
                if lst == "torch_fp16" and len(entry) == 3 and isinstance(entry[2], bool):
                    entry = entry[:2]  # the TEST_WITH_ROCM flag of the cudnn rows
                if entry[0] == "einsum":  # ("einsum", equation, (a, b)): PyTorch's row would pass the
                    # matrices as kwargs; here the equation goes first, with 4-d views of them
                    op, args, kw = "einsum", (entry[1], *(m.view(1, 8, 1, 8) for m in entry[2])), {}
                else:
                    op, args, kw = (*entry, {})[:3]
                out.append((Row("cuda", lst, op, kind, args, kw, run_as, None), low, i))
    return [(r, low) for r, low, i in sorted(out, key=lambda x: (x[0].source, x[0].list, x[2], x[1]))]


ROWS = _rows()


def _params(devices: tuple[str, ...]) -> list:
    seen: collections.Counter = collections.Counter()
    params = []
    for row, low in ROWS:
        key = f"{row.source}.{row.list}.{row.op}.{low}"
        seen[key] += 1
        for dev in devices:
            if row.source == "cpu" and dev != "cpu":
                continue  # the CPU lists are PyTorch's CPU policy: ember's other devices use the CUDA one
            marks = []
            if dev == "opencl" and not HAS_OPENCL:
                marks.append(pytest.mark.skip(reason="no OpenCL device"))
            if (row.list, row.op) in KNOWN:
                marks.append(pytest.mark.skip(reason=KNOWN[(row.list, row.op)]))
            params.append(pytest.param(row, low, dev, id=f"{dev}-{key}{seen[key] - 1}", marks=marks))
    return params


def _call(lib: Any, row: Row, fn: Callable | None, method: str | None, args: tuple, kw: dict) -> tuple[Any, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = fn(*args, **kw) if fn is not None else None
        m = getattr(args[0], method)(*args[1:], **kw) if method is not None else None
    return a, m


def _pick(a: Any, m: Any) -> Any:
    return a if a is not None else m


def _outcome(run: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    try:
        return run(), None
    except (RuntimeError, NotImplementedError, TypeError, ValueError) as exc:
        return None, exc


def _same_outcome(e: tuple, t: tuple, what: str) -> bool:
    """Both raise (the same exception type) or both return: False when there is nothing to compare.
    A NotImplementedError of PyTorch's (no 16-bit CPU kernel: pdist, avg_pool3d...) lets ember compute."""
    (e_val, e_err), (t_val, t_err) = e, t
    if isinstance(t_err, NotImplementedError):
        return False
    if t_err is not None or e_err is not None:
        assert type(e_err) is type(t_err), f"{what}: ember {e_err!r}, PyTorch {t_err!r}"
        return False
    assert _dtype_name(e_val) == _dtype_name(t_val), what
    return True


def _prioritize_fails(low: str, args: tuple) -> bool:
    """PyTorch's ``at::autocast::prioritize`` (aten/src/ATen/autocast_mode.h) over a promote row's
    floating tensors, from the autocast dtype: float32 wins, float64 is ignored, and two different
    16-bit dtypes are its "Unexpected floating ScalarType" error (the CUDA list's float16 arguments
    under bfloat16 autocast)."""
    current = getattr(torch, low)
    flat = [t for a in args for t in (a if isinstance(a, (list, tuple)) else (a,))]
    for t in flat:
        if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.dtype == torch.float64:
            continue
        if current == torch.float32 or t.dtype == torch.float32:
            current = torch.float32
        elif t.dtype != current:
            return True
    return False


@pytest.mark.parametrize(("row", "low", "device"), _params(("cpu", "opencl")))
def test_autocast_list_row(row: Row, low: str, device: str) -> None:
    tf, tm, ef, em = _fns(row.kind, row.op)
    assert (ef is not None) == (tf is not None) and (em is not None) == (tm is not None), "ember lacks a variant"
    eargs, ekw = _to_ember(row.args, device), _to_ember(row.kwargs, device)
    edt, e_run_as = getattr(ember, low), getattr(ember, str(row.run_as).split(".")[-1])

    def ember_run(args: Any) -> Any:
        e_fn, e_meth = _call(ember, row, ef, em, args, ekw)
        if e_fn is not None and e_meth is not None:  # torch.<op> and Tensor.<op> agree, as PyTorch asks
            assert _bitwise(e_fn, e_meth), f"{row.op}: function and method differ"
        return _pick(e_fn, e_meth)

    def torch_run(args: Any) -> Any:
        return _pick(*_call(torch, row, tf, tm, args, row.kwargs))

    with ember.autocast(device, dtype=edt):
        assert ember.is_autocast_enabled(device)
        e_auto = _outcome(lambda: ember_run(eargs))
        with ember.autocast(device, enabled=False):
            assert not ember.is_autocast_enabled(device)
            e_off = _outcome(lambda: ember_run(eargs))
            e_ctrl = _outcome(lambda: ember_run(_cast(ember, eargs, e_run_as)))
        assert ember.is_autocast_enabled(device)
    assert not ember.is_autocast_enabled(device)
    # enabled=False: as if there were no autocast at all (and what PyTorch gives without autocast)
    e_plain = _outcome(lambda: ember_run(eargs))
    assert type(e_off[1]) is type(e_plain[1])
    if e_off[1] is None:
        assert _bitwise(e_off[0], e_plain[0])
    if _same_outcome(e_plain, _outcome(lambda: torch_run(row.args)), "without autocast"):
        _close(e_plain[0], torch_run(row.args))
    if device == "cpu":  # the reference: real PyTorch's CPU autocast
        with torch.autocast("cpu", dtype=getattr(torch, low)):
            t_auto = _outcome(lambda: torch_run(row.args))
        if _same_outcome(e_auto, t_auto, "under autocast"):
            _close(e_auto[0], t_auto[0], _exact(torch_run, row.args, low))
    else:  # another device: PyTorch's CUDA policy, from the list (PyTorch cannot run it here)
        if row.list == "torch_need_autocast_promote" and _prioritize_fails(low, row.args):
            assert isinstance(e_auto[1], RuntimeError)
            assert str(e_auto[1]) == "Unexpected floating ScalarType in at::autocast::prioritize"
            return
        assert e_auto[1] is None, repr(e_auto[1])
        expected = str(row.out_type or row.run_as).split(".")[-1]
        got = _dtype_name(e_auto[0])
        if isinstance(e_auto[0], (ember.Tensor, list, tuple)):  # ``equal`` returns a bool, as in PyTorch
            assert (got[0] if isinstance(got, list) else got) == expected
        t_ctrl = _outcome(lambda: torch_run(_cast(torch, row.args, row.run_as)))
        if t_ctrl[1] is None:  # else PyTorch's CPU has no 16-bit kernel for the op
            _close(e_auto[0], t_ctrl[0], _exact(torch_run, row.args, low))
    # ember's output under autocast is its own hand-cast run, bit for bit (where the row's list is the
    # device's policy: the CUDA lists' casts are not the CPU's)
    if (row.source == "cpu") == (device == "cpu") and e_auto[1] is None:
        assert e_ctrl[1] is None and _bitwise(e_auto[0], e_ctrl[0]), f"{row.op}: differs from the hand-cast control"



_BANNED = ("torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast.\n"
           "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
           "In this case, combine the two layers using torch.nn.functional.binary_cross_entropy_with_logits\n"
           "or torch.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and BCEWithLogits are\n"
           "safe to autocast.")


@pytest.mark.parametrize("device", ["cpu", "opencl"])
@pytest.mark.parametrize("low", LOW)
def test_banned_row(low: str, device: str) -> None:
    """CUDA's banned list: binary_cross_entropy refuses on accelerators; PyTorch's CPU autocast
    runs it in float32 instead (its CPU list names it fp32), so ember's cpu must too."""
    if device == "opencl" and not HAS_OPENCL:
        pytest.skip("no OpenCL device")
    (op, args, _module), = CUDA_LISTS.banned
    eargs = _to_ember(args, device)
    if device != "cpu":
        with pytest.raises(RuntimeError) as err, ember.autocast(device, dtype=getattr(ember, low)):
            F.binary_cross_entropy(*eargs)
        assert str(err.value) == _BANNED
        with ember.autocast(device, dtype=getattr(ember, low), enabled=False):
            F.binary_cross_entropy(*eargs)  # disabled: allowed
        return
    with torch.autocast("cpu", dtype=getattr(torch, low)):
        t = _nn(torch, op)(*args)
    with ember.autocast("cpu", dtype=getattr(ember, low)):
        e = F.binary_cross_entropy(*eargs)
    assert _dtype_name(e) == _dtype_name(t)
    _close(e, t)


# ---- the policy tables, against PyTorch's dispatcher -------------------------------------------------
def _torch_autocast_ops(key: str) -> set[str]:
    """aten ops (base names) with a real kernel (no fallthrough) for dispatch key ``key``."""
    out = set()
    for name in torch._C._dispatch_get_all_op_names():
        if not name.startswith("aten::"):
            continue
        table = torch._C._dispatch_dump_table(name)
        if any(line.startswith(key + ":") and "fallthrough" not in line for line in table.splitlines()):
            out.add(name[6:].split(".")[0])
    return out


# ember list name -> the aten ops PyTorch registers for it (default: "F."/"linalg."/"fft." dropped)
_ATEN = {
    "F.cross_entropy": ("cross_entropy_loss",), "F.pad": ("reflection_pad1d", "reflection_pad2d", "replication_pad1d",
                                                          "replication_pad2d", "replication_pad3d"),
    "lu": ("_lu_with_info",), "F.grid_sample": ("grid_sampler",), "F.nll_loss": ("nll_loss", "nll_loss2d"),
    "F.ctc_loss": ("ctc_loss",), "F.interpolate": ("upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d",
                                                   "_upsample_nearest_exact1d", "_upsample_nearest_exact2d",
                                                   "_upsample_nearest_exact3d", "upsample_linear1d",
                                                   "upsample_bilinear2d", "upsample_trilinear3d",
                                                   "upsample_bicubic2d", "_upsample_bilinear2d_aa",
                                                   "_upsample_bicubic2d_aa"),
    "F.layer_norm": ("layer_norm", "native_layer_norm"),
}


def _aten(name: str) -> tuple[str, ...]:
    if name in _ATEN:
        return _ATEN[name]
    if name.startswith(("linalg.", "fft.")):
        return (name.replace(".", "_"),)
    return (name.removeprefix("F."),)


@pytest.mark.parametrize("device_type", ["cpu", "cuda"])
def test_policy_table_is_pytorchs(device_type: str) -> None:
    """Without a GPU: the ops ember's table casts for ``device_type`` are exactly the ops PyTorch
    registers an ``Autocast<CPU|CUDA>`` kernel for (read from the installed torch's dispatcher)."""
    torch_ops = _torch_autocast_ops("AutocastCPU" if device_type == "cpu" else "AutocastCUDA")
    table = _am._lists.lists(device_type)
    ember_ops: dict[str, str] = {}
    for policy, names in table.items():
        if policy == "native":
            continue  # ember's own: ops PyTorch runs unlisted, kept unlisted inside ember's composites
        for n in names:
            for a in _aten(n):
                ember_ops[a] = policy
    missing = sorted(a for a in torch_ops - set(ember_ops) if a not in KNOWN_ATEN)
    extra = sorted(a for a in set(ember_ops) - torch_ops if (device_type, a) not in KNOWN_EXTRA)
    assert not missing, f"PyTorch autocasts these on {device_type}, ember does not: {missing}"
    assert not extra, f"ember autocasts these on {device_type}, PyTorch does not: {extra}"


_CATEGORY = {"torch_fp16": "lower", "nn_fp16": "lower", "linalg_fp16": "lower", "methods_fp16": "lower",
             "torch_fp32": ("fp32", "fp32_opt"), "nn_fp32": "fp32", "methods_fp32": "fp32",
             "torch_need_autocast_promote": "promote", "banned": "banned"}


def test_cuda_policy_categories_are_the_lists() -> None:
    """Each row of PyTorch's CUDA lists has ember's matching policy for device type ``"cuda"``
    (checked on the table: ember's cuda backend needs a GPU to run them)."""
    wrong = []
    for lst, want in _CATEGORY.items():
        for entry in getattr(CUDA_LISTS, lst):
            op = entry[0]
            if (lst, op) in KNOWN:
                continue
            names = (_EMBER_NAME.get(op, op), f"F.{op}")
            got = {_am._policy("cuda", n) for n in names} - {None}
            if not got & set((want,) if isinstance(want, str) else want):
                wrong.append((lst, op, got))
    assert not wrong


# aten names of the CUDA lists -> ember's table names
_EMBER_NAME = {
    "linalg_vecdot": "linalg.vecdot", "linalg_multi_dot": "linalg.multi_dot", "linear": "F.linear",
    "softplus": "F.softplus", "nll_loss": "F.nll_loss", "nll_loss2d": "F.nll_loss", "l1_loss": "F.l1_loss",
    "smooth_l1_loss": "F.smooth_l1_loss", "mse_loss": "F.mse_loss", "multilabel_margin_loss": "F.multilabel_margin_loss",
    "soft_margin_loss": "F.soft_margin_loss", "multi_margin_loss": "F.multi_margin_loss",
    "binary_cross_entropy": "F.binary_cross_entropy", "__matmul__": "matmul", "__pow__": "pow",
    "grid_sampler": "F.grid_sample",
}
