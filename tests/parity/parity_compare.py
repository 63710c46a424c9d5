"""Run one expression on real PyTorch and on ember, and compare everything a user can observe.

An expression is ``fn(lib, *args, **kwargs)`` where ``lib`` is the ``torch`` or the ``ember`` module,
so one lambda serves both frameworks (``lambda lib, x: lib.nn.functional.gelu(x)``). Its tensor
inputs are :class:`Arg` objects: a NumPy array (the storage) plus a layout that both sides apply in
the same way, so a transposed, strided or expanded input is non-contiguous in both frameworks.

:func:`check` compares, in this order: that both raise or neither does (and with the same builtin
exception type), the structure of the result, every tensor's shape, dtype, device, requires_grad (ember
may not require grad where PyTorch does not) and values (NaN where PyTorch has NaN), then the gradient of every floating input under one random
upstream gradient per floating output.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ember
import numpy as np
import torch

# (rtol, atol) per dtype, close to torch.testing.assert_close's defaults; an op row may scale them.
TOLERANCES: dict[str, tuple[float, float]] = {
    "float16": (1e-3, 1e-3),
    "bfloat16": (1.6e-2, 1e-2),  # 8 significant bits; results rounded once vs. per composite step
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
}

# A layout is "how the storage becomes the input": the same view op on both sides. The storage
# shape each layout needs is made by ``storage_shape``.
LAYOUTS: dict[str, Callable[[Any, tuple[int, ...]], Any]] = {
    "contiguous": lambda t, shape: t,
    "T": lambda t, shape: t.transpose(-2, -1),
    "step": lambda t, shape: t[..., ::2],
    "expand": lambda t, shape: t.expand(*shape),
    "permute": lambda t, shape: t.permute(1, 2, 0),
}


def storage_shape(shape: tuple[int, ...], layout: str) -> tuple[int, ...]:
    """The array shape whose ``layout`` view has ``shape``."""
    if layout == "T":
        return (*shape[:-2], shape[-1], shape[-2])
    if layout == "step":
        return (*shape[:-1], 2 * shape[-1])
    if layout == "expand":
        return (1, *shape[1:])
    if layout == "permute":
        return (shape[2], shape[0], shape[1])
    return shape


# In args/kwargs: "the device under test" (PyTorch's side runs on its CPU), for factory functions.
DEVICE = "device:under-test"
# A string "dtype:<name>" in args/kwargs becomes that framework's dtype object.


@dataclass
class Arg:
    """One tensor input: ``array`` is the storage, ``layout`` the view both frameworks take of it,
    ``shape`` the input's final shape (needed by the expand layout)."""

    array: np.ndarray
    layout: str = "contiguous"
    shape: tuple[int, ...] | None = None
    grad: bool = True

    def __post_init__(self) -> None:
        self.array = np.asarray(self.array)  # NumPy returns scalars, not 0-d arrays, for some 0-d results
        if self.shape is None:
            self.shape = self.array.shape

    def view(self, t: Any) -> Any:
        return LAYOUTS[self.layout](t, self.shape)


def _is_float(array: np.ndarray) -> bool:
    return array.dtype.kind == "f" or array.dtype.name == "bfloat16"  # ml_dtypes' kind is "V"


class _Side:
    """Builds one framework's inputs from the shared arrays and remembers the grad leaves."""

    def __init__(self, lib: Any, device: str):
        self.lib = lib
        self.device = device
        self.leaves: list[Any] = []

    def tensor(self, arg: Arg) -> Any:
        array = arg.array.copy()
        wants_grad = arg.grad and _is_float(array)
        if self.lib is torch and array.dtype.name == "bfloat16":  # torch.from_numpy has no bfloat16
            leaf = torch.from_numpy(array.astype(np.float32)).bfloat16().requires_grad_(wants_grad)
        elif self.lib is torch:
            leaf = torch.from_numpy(array).requires_grad_(wants_grad)
        else:
            leaf = ember.tensor(array, device=self.device, requires_grad=wants_grad)
        if wants_grad:
            self.leaves.append(leaf)
        return arg.view(leaf)

    def build(self, value: Any) -> Any:
        if isinstance(value, Arg):
            return self.tensor(value)
        if isinstance(value, list):
            return [self.build(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.build(v) for v in value)
        if isinstance(value, dict):
            return {k: self.build(v) for k, v in value.items()}
        if isinstance(value, str) and value.startswith("dtype:"):
            return getattr(self.lib, value[len("dtype:"):])
        if isinstance(value, str) and value == DEVICE:
            return "cpu" if self.lib is torch else self.device
        return value


def _run(fn: Callable, side: _Side, args: Sequence, kwargs: dict) -> tuple[Any, BaseException | None]:
    built_args, built_kwargs = side.build(tuple(args)), side.build(dict(kwargs))
    try:
        return fn(side.lib, *built_args, **built_kwargs), None
    except Exception as exc:  # noqa: BLE001 - the exception is what we compare
        return None, exc


def builtin_base(exc_type: type) -> type:
    """The first builtin class in an exception's MRO: PyTorch's own subclasses
    (``torch._C._LinAlgError``...) compare as the builtin error they derive from."""
    for klass in exc_type.__mro__:
        if klass.__module__ == "builtins":
            return klass
    return Exception


def _check_errors(t_exc: BaseException | None, e_exc: BaseException | None, what: str) -> bool:
    """Assert both or neither raised; True when both did (nothing more to compare)."""
    if t_exc is None and e_exc is None:
        return False
    if t_exc is None:
        raise AssertionError(f"{what}: ember raised {type(e_exc).__name__}: {e_exc}; PyTorch did not") from e_exc
    if e_exc is None:
        raise AssertionError(f"{what}: PyTorch raised {type(t_exc).__name__}: {t_exc}; ember did not")
    base = builtin_base(type(t_exc))
    if not isinstance(e_exc, base):
        raise AssertionError(
            f"{what}: PyTorch raised {base.__name__} ({t_exc}); ember raised {type(e_exc).__name__} ({e_exc})"
        ) from e_exc
    return True


def _leaves(value: Any) -> list[Any]:
    """Flatten tuples/lists (namedtuples included) into their leaf values."""
    if isinstance(value, (tuple, list)) and not isinstance(value, (torch.Size, ember.Size)):
        out: list[Any] = []
        for v in value:
            out.extend(_leaves(v))
        return out
    return [value]


def dtype_name(dtype: Any) -> str:
    return str(dtype).rsplit(".", 1)[-1]


def _to_numpy(t: Any) -> np.ndarray:
    if str(t.dtype).endswith("bfloat16"):  # compared in float32 (exact): torch has no NumPy bfloat16
        t = t.float()
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return t.detach().cpu().numpy()


def assert_values(actual: np.ndarray, expected: np.ndarray, dtype: str, tol: float, what: str) -> None:
    if dtype in TOLERANCES:
        rtol, atol = TOLERANCES[dtype]
        np.testing.assert_allclose(actual, expected, rtol=rtol * tol, atol=atol * tol, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)


def assert_tensor(e: Any, t: torch.Tensor, device: str, tol: float | None, what: str) -> None:
    """Shape, dtype, device, requires_grad, then values (unless ``tol`` is None) of one result tensor."""
    if not isinstance(e, ember.Tensor):
        raise AssertionError(f"{what}: PyTorch returned a tensor, ember a {type(e).__name__}: {e!r}")
    assert tuple(e.shape) == tuple(t.shape), f"{what}: shape {tuple(e.shape)} != PyTorch {tuple(t.shape)}"
    assert dtype_name(e.dtype) == dtype_name(t.dtype), f"{what}: dtype {e.dtype} != PyTorch {t.dtype}"
    assert e.device.type == device, f"{what}: result on {e.device}, inputs on {device}"
    # PyTorch marks some outputs requires_grad without a derivative (floor_divide: backward raises);
    # ember may leave those off, which assert_grads then checks as "both fail in backward".
    assert t.requires_grad or not e.requires_grad, f"{what}: ember's result requires grad, PyTorch's does not"
    if tol is not None:
        assert_values(_to_numpy(e), _to_numpy(t), dtype_name(t.dtype), tol, what)


def assert_result(e_out: Any, t_out: Any, device: str, tol: float | None) -> None:
    e_leaves, t_leaves = _leaves(e_out), _leaves(t_out)
    assert len(e_leaves) == len(t_leaves), f"ember returned {len(e_leaves)} values, PyTorch {len(t_leaves)}"
    for i, (e, t) in enumerate(zip(e_leaves, t_leaves)):
        what = f"output {i}"
        if isinstance(t, torch.Tensor):
            assert_tensor(e, t, device, tol, what)
        elif isinstance(t, builtins.float) and tol is not None:
            np.testing.assert_allclose(e, t, rtol=1e-6 * tol, equal_nan=True, err_msg=what)
        elif isinstance(t, torch.dtype):
            assert dtype_name(e) == dtype_name(t), f"{what}: {e} != PyTorch {t}"
        elif isinstance(t, torch.Size):
            assert tuple(e) == tuple(t), f"{what}: {e} != PyTorch {t}"
        else:
            assert type(e) is type(t) and e == t, f"{what}: {e!r} != PyTorch {t!r}"


def _grad_outputs(t_out: Any, e_out: Any, rng: np.random.Generator) -> tuple[list, list, list]:
    """The floating outputs PyTorch differentiates, each with one random upstream gradient."""
    t_sel, e_sel, upstream = [], [], []
    for t, e in zip(_leaves(t_out), _leaves(e_out)):
        if isinstance(t, torch.Tensor) and t.requires_grad and t.dtype.is_floating_point:
            t_sel.append(t)
            e_sel.append(e)
            upstream.append(rng.standard_normal(tuple(t.shape)).astype(dtype_name(t.dtype)))
    return t_sel, e_sel, upstream


def _backward(side: _Side, outs: list, upstream: list) -> BaseException | None:
    try:
        grads = [side.build(Arg(g, grad=False)) for g in upstream]
        side.lib.autograd.backward(outs, grads)
    except Exception as exc:  # noqa: BLE001 - compared against PyTorch's
        return exc
    return None


def assert_grads(t_side: _Side, e_side: _Side, t_out: Any, e_out: Any, rng: np.random.Generator,
                 device: str, tol: float) -> None:
    t_sel, e_sel, upstream = _grad_outputs(t_out, e_out, rng)
    if not t_sel:
        return
    if _check_errors(_backward(t_side, t_sel, upstream), _backward(e_side, e_sel, upstream), "backward"):
        return
    for i, (tl, el) in enumerate(zip(t_side.leaves, e_side.leaves)):
        what = f"grad of input {i}"
        if tl.grad is None or el.grad is None:
            assert tl.grad is None and el.grad is None, f"{what}: ember {el.grad is not None}, PyTorch {tl.grad is not None}"
            continue
        assert_tensor(el.grad, tl.grad, device, tol, what)


def check(fn: Callable, args: Sequence, kwargs: dict | None, device: str, *, tol: float = 1.0,
          grad_tol: float | None = None, seed: int = 0, random: bool = False) -> None:
    """Run ``fn`` on both frameworks and assert they agree (errors, results, gradients). A ``random``
    expression draws from each framework's own generator: only errors, structure, shapes, dtypes and
    devices can agree, so values and gradients are not compared."""
    kwargs = kwargs or {}
    t_side, e_side = _Side(torch, "cpu"), _Side(ember, device)
    t_out, t_exc = _run(fn, t_side, args, kwargs)
    e_out, e_exc = _run(fn, e_side, args, kwargs)
    if _check_errors(t_exc, e_exc, "forward"):
        return
    assert_result(e_out, t_out, device, None if random else tol)
    if random:
        return
    assert_grads(t_side, e_side, t_out, e_out, np.random.default_rng(seed), device, grad_tol or tol)
