"""``Tensor``: a backend array plus dtype, device and autograd state.

The class is thin on purpose: math lives in ``ember.functions`` (each op a ``Function`` with its
backward beside it), and those modules attach their methods and operators to ``Tensor``.

Example:
    >>> import ember
    >>> t = ember.tensor([[1.0, 2.0]], requires_grad=True)
    >>> (t * 2).sum()
    tensor(6., grad_fn=<SumBackward0>)
"""

from __future__ import annotations

import operator as _operator
import weakref as _weakref
from collections.abc import Callable
from typing import Any

from ember import _value_range, dispatch
from ember import dtypes as _dt
from ember.autograd import function as _function
from ember.autograd.function import AccumulateGrad
from ember.autograd.grad_mode import STATE
from ember.device import device as _device_cls
from ember.size import Size

_new_tuple = tuple.__new__  # Size(ints) without Size.__new__'s element checks (a hot path)

__all__ = ["Tensor"]


class Tensor:
    """A multi-dimensional array on one device, with optional gradient tracking."""

    __slots__ = ("_data", "_dtype", "_device", "_kt", "_requires_grad", "_grad", "grad_fn", "_output_nr",
                 "_version", "_base", "_accum", "_retains_grad", "__weakref__", "__dict__")

    # ---- construction -------------------------------------------------------------------
    def __new__(cls, *args: Any, **kwargs: Any) -> Tensor:
        # Legacy constructor: Tensor(2, 3) is uninitialised float; Tensor([1, 2]) copies data.
        from ember.functions import creation

        if cls is not Tensor and not args and not kwargs:
            return object.__new__(cls)
        dev = kwargs.pop("device", None)
        if kwargs:
            raise TypeError(f"Tensor() got unexpected keyword arguments {sorted(kwargs)}")
        if len(args) == 1 and not isinstance(args[0], int) and args[0].__class__ is not Size:
            src = args[0]
            if isinstance(src, Tensor):
                return src
            out = creation.tensor(src, dtype=_dt.get_default_dtype(), device=dev)
        else:  # ``Tensor()`` is an empty 1-d tensor, as PyTorch's legacy constructor makes
            out = creation.empty(*(args or (0,)), device=dev)
        return out

    @staticmethod
    def _make(data: Any, dtype: _dt.dtype, device: _device_cls, kt: dispatch.KernelTable,
              cls: type | None = None) -> Tensor:
        t = object.__new__(cls or Tensor)  # ``cls``: a subclass built the same way (ember.sparse)
        t._data = data
        t._dtype = dtype
        t._device = device
        t._kt = kt
        t._requires_grad = False
        t._grad = None
        t.grad_fn = None
        t._output_nr = 0
        t._version = [0]
        t._base = None
        t._accum = None
        t._retains_grad = False
        if STATE.inference:  # an inference tensor (PyTorch's inference_mode): refused by autograd later
            t._inference = True
        return t

    # ---- .grad: PyTorch's checks on assignment and its warning for a non-leaf's -------------
    @property
    def grad(self) -> Tensor | None:
        """The gradient backward accumulated into this leaf (or a ``retain_grad`` tensor), else None."""
        g = self._grad
        if g is None and self.grad_fn is not None and not self._retains_grad:
            import warnings

            warnings.warn(_NON_LEAF_GRAD, UserWarning, stacklevel=2)
        return g

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            _check_grad(self, value)
        self._grad = value

    def _new(self, data: Any, dtype: _dt.dtype | None = None) -> Tensor:
        """A tensor on this tensor's device holding ``data`` (a kernel's output)."""
        t = object.__new__(Tensor)
        t._data = data
        t._dtype = self._dtype if dtype is None else dtype
        t._device = self._device
        t._kt = self._kt
        t._requires_grad = False
        t._grad = None
        t.grad_fn = None
        t._output_nr = 0
        t._version = [0]
        t._base = None
        t._accum = None
        t._retains_grad = False
        if STATE.inference:  # an inference tensor (PyTorch's inference_mode): refused by autograd later
            t._inference = True
        return t

    # A differentiable view remembers how to rebuild itself from its base (``_view_fn``, a
    # composition of view ops) and which history of the base it was derived from (``_view_src``).
    # They live in ``__dict__`` and default to these class attributes, so non-views pay nothing.
    # An in-place op on such a view rewrites the base's history (``ember.autograd.inplace``).
    _view_fn: Callable[[Tensor], Tensor] | None = None
    _view_src: Any = None
    _multi_view = False  # an output of split/unbind, or a view of one: no in-place op when it requires grad
    _bounds_record: tuple | None = None  # host-known bounds of a small integer tensor (ember._value_range)
    _inference = False  # made in inference mode: no autograd use, no in-place write outside that mode
    # The version counter of the storage this tensor's memory belongs to, where its own counter is
    # another (``.data`` and views of it): overlap checks compare storages, not counters.
    _storage_key: Any = None
    # A differentiable view made in no_grad mode of a tensor requiring grad (1, or 3 when its source
    # was such a view too), or a view of one made in grad mode (2): PyTorch refuses to modify it in
    # place with grad mode on (``autograd.inplace``).
    _no_grad_view = 0

    def _view_of(self, data: Any, view_fn: Callable[[Tensor], Tensor] | None = None) -> Tensor:
        """A tensor sharing storage (and version counter) with ``self``.

        ``view_fn(b)`` redoes this view on any tensor ``b`` shaped like ``self`` (differentiably);
        views made without one (``detach``) are not differentiable views of their base.
        """
        t = self._new(data)
        t._version = self._version
        if self._storage_key is not None:
            t._storage_key = self._storage_key
        if self._inference is not t._inference:  # a view is an inference tensor iff its source is
            t._inference = self._inference
        if self._bounds_record is not None:  # a small integer tensor whose bounds the host knows
            _value_range.inherit(t, self, is_copy=False)
        base = self._base
        if base is None:
            t._base = self
            if view_fn is not None:
                t._view_fn = view_fn
                t._view_src = self.grad_fn
        else:
            t._base = base
            parent = self._view_fn
            if view_fn is not None and parent is not None:
                t._view_fn = _ComposedView(parent, view_fn)
                t._view_src = base.grad_fn
                if self._multi_view:
                    t._multi_view = True
        if view_fn is not None and not STATE.enabled and (self._requires_grad or self._no_grad_view):
            # PyTorch: a view of a tensor requiring grad, made in no_grad mode, requires grad too (a
            # leaf of its own), and writing into it (or a view of it) in grad mode is refused. A
            # recorded op's forward runs with grad mode off too: ``_apply_recording`` then turns 1
            # into "not such a view" and 3 into 2.
            t._no_grad_view = 3 if self._no_grad_view else 1
            t._requires_grad = True
        return t

    def _alias(self) -> Tensor:
        t = self._view_of(self._data)
        t._base = self._base
        return t

    # ---- attributes ---------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return _new_tuple(Size, self._data.shape)  # a backend's shape holds ints: no per-element check

    def size(self, dim: int | None = None) -> Size | int:
        shape = self._data.shape
        if dim is None:
            return _new_tuple(Size, shape)
        return shape[_wrap_dim(dim, len(shape))]

    @property
    def dtype(self) -> _dt.dtype:
        return self._dtype

    @property
    def device(self) -> _device_cls:
        return self._device

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self._device.type == "cpu"

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        n = 1
        for s in self._data.shape:
            n *= s
        return n

    nelement = numel

    def element_size(self) -> int:
        return self._dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self._dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.numel() * self._dtype.itemsize

    def is_floating_point(self) -> bool:
        return self._dtype.is_floating_point

    def is_contiguous(self, memory_format: Any = None) -> bool:
        if memory_format is not None:  # channels_last asks about the real strides (ember keeps C order)
            from ember.functions.layout import is_contiguous_as

            return is_contiguous_as(self, memory_format)
        return bool(self._kt["is_contiguous"](self._data))

    def get_device(self) -> int:
        return -1 if self._device.type == "cpu" else self._device.index

    # ---- autograd state -----------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return _function._requires_grad_now(self) if self._base is not None else self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None:
            if not value:
                raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to "
                                   "use a computed variable in a subgraph that doesn't require differentiation "
                                   "use var_no_grad = var.detach().")
            return
        if value and not self._dtype.is_differentiable:
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        if value and self._inference and not STATE.inference:
            raise RuntimeError("Setting requires_grad=True on inference tensor outside InferenceMode is not allowed.")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and not self._dtype.is_differentiable:  # (PyTorch's wording differs from the setter's)
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    @property
    def data(self) -> Tensor:
        # PyTorch's ``.data``: a detached alias with a version counter of its own, so writes
        # through it are hidden from autograd's saved-tensor checks (unlike ``detach()``'s). The
        # host-known bounds go: those writes would not retire them.
        t = self.detach()
        t._storage_key = self._storage_key if self._storage_key is not None else self._version
        t._version = [0]
        if t._inference and not STATE.inference:  # PyTorch lets an inference tensor's .data be written
            t._inference = False
        if self._bounds_record is not None:
            _value_range.forget(self)
        return t

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        if self.requires_grad and not value._dtype.is_differentiable:  # (Module.type(int) hits it too)
            raise RuntimeError("data set to a tensor that requires gradients must be floating point or complex dtype")
        self._data, self._dtype, self._device, self._kt = value._data, value._dtype, value._device, value._kt

    @property
    def _version_count(self) -> int:
        return self._version[0]

    def _bump_version(self) -> None:
        self._version[0] += 1

    def detach(self) -> Tensor:
        """A tensor sharing storage with this one, outside the graph."""
        t = self._view_of(self._data)
        t._base = None  # PyTorch: not a view (``_base`` is None) though it shares storage and version
        return t

    def detach_(self) -> Tensor:
        if self._base is not None:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel (DDP) "
                "for training, and gradient_as_bucket_view is set as True, gradients are views of DDP buckets, and "
                "hence detach_() cannot be called on these gradients. To fix this error, please refer to the "
                "Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.")
        self.grad_fn = None
        self._requires_grad = False
        return self

    def _grad_accumulator(self) -> AccumulateGrad:
        # Held weakly, as in PyTorch: the graph keeps the accumulator (and through it the leaf)
        # alive while it exists; a strong link back would make every parameter a reference
        # cycle that only the cyclic GC frees. Hooks live on the tensor so they outlast it.
        ref = self._accum
        acc = ref() if ref is not None else None
        if acc is None:
            acc = AccumulateGrad(self)
            hooks = self.__dict__.get("_leaf_hooks")
            if hooks is not None:
                acc._pre_hooks = {0: hooks}
            self._accum = _weakref.ref(acc)
        return acc

    def _accumulate_grad(self, g: Tensor, create_graph: bool) -> None:
        prev = STATE.enabled
        STATE.enabled = create_graph
        try:
            self._grad_accumulator().apply([g])
        finally:
            STATE.enabled = prev

    def backward(self, gradient: Tensor | None = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see ``ember.autograd.backward``)."""
        from ember.autograd import engine

        if isinstance(gradient, (list, tuple)):  # PyTorch reads a sequence as one gradient per output
            bad = next((g for g in gradient if g is not None and not isinstance(g, Tensor)), None)
            if bad is None and len(gradient) == 1:
                gradient = gradient[0]
            else:
                gradient = bad if bad is not None else gradient
        if gradient is not None and not isinstance(gradient, Tensor):
            raise TypeError(f"gradients can be either Tensors or None, but got {type(gradient).__name__}")
        engine.backward([self], None if gradient is None else [gradient], retain_graph, create_graph, inputs=inputs)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> _RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:  # a leaf: the hook belongs to the tensor, whichever accumulator runs it
            hooks = self.__dict__.get("_leaf_hooks")
            if hooks is None:
                hooks = self.__dict__["_leaf_hooks"] = []
                self._grad_accumulator()._pre_hooks = {0: hooks}
            hooks.append(hook)
            return _RemovableHandle(None, 0, hook, hooks)
        node, nr = self.grad_fn, self._output_nr
        node._tensor_prehook(nr, hook)
        return _RemovableHandle(node, nr, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> _RemovableHandle:
        """Call ``hook(tensor)`` after backward has accumulated into this leaf's ``.grad`` (as PyTorch).

        Example:
            >>> w = ember.ones(2, requires_grad=True)
            >>> h = w.register_post_accumulate_grad_hook(lambda p: print(p.grad))
            >>> (3 * w).sum().backward()
            tensor([3., 3.])
        """
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        hooks = self.__dict__.setdefault("_post_acc_hooks", [])
        hooks.append(hook)
        return _RemovableHandle(None, 0, hook, hooks)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None:
            return
        if self._retains_grad:
            return
        self._retains_grad = True
        import weakref

        ref = weakref.ref(self)

        def keep(grad: Tensor) -> None:
            t = ref()
            if t is not None:
                t.grad = grad.detach() if t.grad is None else t.grad + grad.detach()

        self.__dict__["_retain_hook"] = keep  # moved to the new grad_fn by an in-place op (autograd.inplace)
        self.grad_fn._retain_hook(self._output_nr, keep)  # (runs after the tensor hooks, as in PyTorch)

    # ---- host access ----------------------------------------------------------------------
    def item(self) -> Any:
        if self.numel() != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to Scalar")
        if self._device.type == "meta":
            raise RuntimeError("Tensor.item() cannot be called on meta tensors")
        return self._kt["to_host"](self._data).item()

    def tolist(self) -> Any:
        return self._kt["to_host"](self._data).tolist()

    def numpy(self, *, force: bool = False) -> Any:
        """The CPU tensor's NumPy array, sharing memory (PyTorch's rules and errors)."""
        if self._device.type != "cpu":
            if not force:
                raise TypeError(f"can't convert {self._device} device type tensor to numpy. Use Tensor.cpu() "
                                "to copy the tensor to host memory first.")
            return self._kt["to_host"](self._data)
        if self._requires_grad and not force and STATE.enabled:  # PyTorch refuses only while grad mode is on
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        """NumPy's view of the tensor: PyTorch's ``__array__`` is ``numpy()`` (so a tensor that
        requires grad is refused), and ``np.array(t)`` copies while ``np.asarray(t)`` shares a CPU
        tensor's memory (NumPy passes ``copy``; ignoring it would hand out the storage itself)."""
        if self._requires_grad and STATE.enabled:  # PyTorch's __array__ is numpy(): refused under grad mode only
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if self._device.type == "meta":
            return self.numpy()  # PyTorch's TypeError: a meta tensor has no values to hand NumPy
        host = self._kt["to_host"](self._data)
        if dtype is not None and host.dtype != dtype:
            return host.astype(dtype)  # a new array anyway
        if copy and self._device.type == "cpu":
            return host.copy()
        return host

    # NumPy's binary operators defer to a Tensor's reflected ones (``np.float32(2) * t`` is a
    # Tensor, as in PyTorch, not an array computed off the graph)
    __array_priority__ = 1000

    def __array_wrap__(self, array: Any, context: Any = None, return_scalar: bool = False) -> Any:
        """A NumPy ufunc applied to a tensor returns a (CPU) tensor, as in PyTorch (``np.exp(t)``)."""
        import numpy as np

        from ember.functions.creation import from_numpy

        return from_numpy(np.ascontiguousarray(array))

    def __contains__(self, element: Any) -> bool:
        """``element in t``: whether any element equals it (a number or a tensor), as in PyTorch."""
        if isinstance(element, (Tensor, int, float, complex)):
            return bool((element == self).any().item())
        raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a {type(element)}.")

    # ---- DLPack: zero-copy exchange with NumPy, CuPy, PyTorch, JAX... -------------------------
    def __dlpack__(self, *, stream: Any = None, max_version: tuple[int, int] | None = None,
                   dl_device: Any = None, copy: bool | None = None) -> Any:
        """A DLPack capsule sharing this tensor's memory (the array API's ``__dlpack__`` protocol).

        The backend's ``to_dlpack`` hook makes it; ``stream`` is the consumer's stream, as in
        PyTorch. Example (CPU)::

            >>> import numpy as np, ember
            >>> t = ember.arange(3.0)
            >>> np.from_dlpack(t)
            array([0., 1., 2.], dtype=float32)
        """
        if self._requires_grad:
            raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
        _value_range.forget(self)  # another framework may write this memory without our version counter
        return self._dlpack_hook("to_dlpack")(self._data, stream=stream, max_version=max_version,
                                              dl_device=dl_device, copy=copy)

    def __dlpack_device__(self) -> tuple[int, int]:
        """``(DLPack device type, device index)``, e.g. ``(1, 0)`` for the CPU, ``(2, 0)`` for cuda:0."""
        kind, index = self._dlpack_hook("dlpack_device")(self._data)
        return int(kind), int(index)

    def _dlpack_hook(self, name: str) -> Callable[..., Any]:
        kt = self._kt
        if not kt.has(name):
            raise BufferError(f"the {self._device.type} backend has no DLPack support ({name} hook missing): "
                              f"copy the tensor to the CPU with .cpu() first")
        return kt[name]

    # ---- device and dtype moves ----------------------------------------------------------
    # ``to`` is declared with the conversions (``ember/functions/conversion.py``) and bound by the registry
    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device: Any = None, non_blocking: bool = False) -> Tensor:
        if device is None:
            device = "cuda"
        elif isinstance(device, int):
            device = f"cuda:{device}"
        return self.to(device)

    # ``Tensor.opencl()`` / ``Tensor.is_opencl`` and those of every other registered device type are
    # generated from its backend (ember._device_module), as PyTorch does for a privateuse1 backend.

    def type(self, dtype: Any = None, non_blocking: bool = False, **kwargs: Any) -> Tensor | str:
        """The legacy type name (``'ember.FloatTensor'``), or this tensor converted to ``dtype``: a
        dtype, a legacy type (``ember.DoubleTensor``) or its name (``'torch.DoubleTensor'``, also
        with a device: ``'torch.cuda.FloatTensor'``)."""
        if dtype is None:
            return self._type_name()
        if isinstance(dtype, _dt.dtype):
            return self.to(dtype)
        if isinstance(dtype, str):
            return self._to_type_name(dtype, dtype)
        if isinstance(dtype, type):
            if issubclass(dtype, Tensor):
                return self
            import ember

            for d, name in _TYPE_NAMES.items():
                if getattr(ember, name, None) is dtype:
                    return self.to(d)
            raise ValueError(f"invalid type: '{dtype.__module__ + '.' if dtype.__module__ != 'builtins' else ''}"
                             f"{dtype.__qualname__}'")
        raise TypeError("dtype must be a type, str, or dtype object")

    def _to_type_name(self, name: str, shown: str) -> Tensor:
        """``type('torch.cuda.FloatTensor')``: PyTorch's module prefix (``torch`` or ``ember``), an
        optional device type, and a legacy type name; anything else is its ValueError."""
        parts = name.split(".")
        if len(parts) in (2, 3) and parts[0] in ("torch", "ember"):
            if parts[-1] == "Tensor" and len(parts) == 2:
                return self
            d = _LEGACY_TYPE_NAMES.get(parts[-1])
            if d is not None:
                return self.to(d) if len(parts) == 2 else self.to(parts[1], d)
        raise ValueError(f"invalid type: '{shown}'")

    def _type_name(self) -> str:
        name = _TYPE_NAMES[self._dtype]
        return f"ember.{name}" if self._device.type == "cpu" else f"ember.{self._device.type}.{name}"

    # ``memory_format`` is keyword-only in PyTorch's signatures (``x.float(fmt)`` is a TypeError)
    def float(self, *, memory_format: Any = None) -> Tensor:
        return self.to(_dt.float32) if memory_format is None else self.to(_dt.float32, memory_format=memory_format)

    def double(self, *, memory_format: Any = None) -> Tensor:
        return self.to(_dt.float64) if memory_format is None else self.to(_dt.float64, memory_format=memory_format)

    def half(self, *, memory_format: Any = None) -> Tensor:
        return self.to(_dt.float16) if memory_format is None else self.to(_dt.float16, memory_format=memory_format)

    def bfloat16(self, *, memory_format: Any = None) -> Tensor:
        return self.to(_dt.bfloat16) if memory_format is None else self.to(_dt.bfloat16, memory_format=memory_format)

    def long(self, *, memory_format: Any = None) -> Tensor:
        return self.to(_dt.int64) if memory_format is None else self.to(_dt.int64, memory_format=memory_format)

    def int(self, *, memory_format: Any = None) -> Tensor:
        return self.to(_dt.int32) if memory_format is None else self.to(_dt.int32, memory_format=memory_format)

    def short(self, *, memory_format: Any = None) -> Tensor:
        return self.to(_dt.int16) if memory_format is None else self.to(_dt.int16, memory_format=memory_format)

    def char(self, *, memory_format: Any = None) -> Tensor:
        return self.to(_dt.int8) if memory_format is None else self.to(_dt.int8, memory_format=memory_format)

    def byte(self, *, memory_format: Any = None) -> Tensor:
        return self.to(_dt.uint8) if memory_format is None else self.to(_dt.uint8, memory_format=memory_format)

    def bool(self, *, memory_format: Any = None) -> Tensor:
        return self.to(_dt.bool_) if memory_format is None else self.to(_dt.bool_, memory_format=memory_format)

    # ---- Python protocols ---------------------------------------------------------------
    def __repr__(self) -> str:
        from ember._tensor_str import tensor_repr

        return tensor_repr(self)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def _python_scalar(self) -> Any:
        # float()/int()/complex() raise ValueError where item() raises RuntimeError (PyTorch).
        if self.numel() != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.item()

    def _real_scalar(self, target: str) -> Any:
        """A complex element converts to a real Python number only when its imaginary part is 0;
        otherwise PyTorch's checked conversion raises (``float(tensor(1+2j))``)."""
        v = self._python_scalar()
        if isinstance(v, complex):
            if v.imag != 0:
                raise RuntimeError(f"value cannot be converted to type {target} without overflow")
            v = v.real
        return v

    def __float__(self) -> float:
        return float(self._real_scalar("double"))

    def __int__(self) -> int:
        return int(self._real_scalar("int64_t"))

    def __index__(self) -> int:
        if self._dtype.is_floating_point or self._dtype.is_complex or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __complex__(self) -> complex:
        return complex(self._python_scalar())

    def __hash__(self) -> int:
        return id(self)  # PyTorch's identity hash (``hash(t) == id(t)``)

    def __reduce_ex__(self, protocol: int) -> Any:
        from ember.serialization import _rebuild_tensor_pickle

        return _rebuild_tensor_pickle, (self.detach().cpu().numpy(), str(self._device), self._requires_grad)

    def __copy__(self) -> Tensor:
        """``copy.copy``: a new leaf sharing this tensor's memory (PyTorch rebuilds it from the same
        storage), with its ``requires_grad`` and attributes."""
        out = self.detach()
        if type(self) is not Tensor:
            out = type(self)._from_tensor(out, self.requires_grad)
        else:
            out._requires_grad = self.requires_grad
        _copy_user_attrs(self, out, None)
        return out

    def __deepcopy__(self, memo: dict) -> Tensor:
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol "
                               "at the moment.  If you were attempting to deepcopy a module, this may be because of a "
                               "ember.nn.utils.weight_norm usage, see https://github.com/pytorch/pytorch/pull/103001")
        out = _deepcopy_data(self, memo)
        if type(self) is not Tensor:
            out = type(self)._from_tensor(out, self._requires_grad)
        else:
            out._requires_grad = self._requires_grad
        if self._grad is not None:
            out.grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = out
        _copy_user_attrs(self, out, memo)
        return out


def _copy_user_attrs(src: Tensor, dst: Tensor, memo: dict | None) -> None:
    """The attributes a user set on ``src`` (``x.foo = ...``), copied as PyTorch copies a tensor's
    ``__dict__`` (deep copies for deepcopy); ember's own bookkeeping there starts with ``_``."""
    import copy

    for k, v in src.__dict__.items():
        if not k.startswith("_"):
            dst.__dict__[k] = copy.deepcopy(v, memo) if memo is not None else v


def _deepcopy_data(t: Tensor, memo: dict) -> Tensor:
    """A detached copy of ``t`` as PyTorch's deepcopy makes it: its storage is copied once per
    ``deepcopy`` call (views copied together still share memory) and ``t``'s sizes, strides and
    storage offset are kept. A backend without the view kernels gives a contiguous copy."""
    from ember.functions.creation import _clone_raw
    from ember.functions.torch_surface import _has_view_kernels, _storage_id

    if not t.numel() or not _has_view_kernels(t):
        return _clone_raw(t)
    key = ("ember.storage", id(_storage_id(t)))
    storage = memo.get(key)
    if storage is None:
        n = int(t._kt["storage_size"](t._data))
        storage = memo[key] = _clone_raw(t.detach().as_strided((n,), (1,), 0))
        memo.setdefault(id(memo), []).append(_storage_id(t))  # keeps the id of the key alive, as deepcopy does
    return storage.as_strided(tuple(t.shape), tuple(t.stride()), t.storage_offset()).detach()


_TYPE_NAMES = {_dt.float32: "FloatTensor", _dt.float64: "DoubleTensor", _dt.float16: "HalfTensor",
               _dt.bfloat16: "BFloat16Tensor",
               _dt.int64: "LongTensor", _dt.int32: "IntTensor", _dt.int16: "ShortTensor",
               _dt.int8: "CharTensor", _dt.uint8: "ByteTensor", _dt.bool_: "BoolTensor",
               _dt.complex64: "ComplexFloatTensor", _dt.complex128: "ComplexDoubleTensor"}
_LEGACY_TYPE_NAMES = {v: k for k, v in _TYPE_NAMES.items()}


_NON_LEAF_GRAD = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute won't be "
    "populated during autograd.backward(). If you indeed want the .grad field to be populated for a non-leaf Tensor, "
    "use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure you access "
    "the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 for more informations.")

# C++'s names for the element types, as PyTorch's messages about assigned gradients print them
_CPP_TYPE = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
             "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
             "uint8": "unsigned char", "bool": "bool", "complex64": "c10::complex<float>",
             "complex128": "c10::complex<double>"}


def _check_grad(t: Tensor, g: Any) -> None:
    """PyTorch's checks on ``t.grad = g``: a tensor of t's dtype, device type and size."""
    if not isinstance(g, Tensor):
        raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type {type(g).__name__}")
    if g._dtype is not t._dtype:
        from ember.functions.complex_ops import type_word

        raise RuntimeError(f"attempting to assign a gradient with dtype '{_CPP_TYPE.get(g._dtype.name, g._dtype.name)}' "
                           f"to a tensor with grad_dtype '{type_word(t._dtype)}'. The "
                           "gradient must match the tensor's grad_dtype (defaults to the tensor's dtype). You can set "
                           "the tensor's grad_dtype attribute with a specific dtype, or None to allow any dtype. Set "
                           "grad_dtype with caution. Diverging the dtypes of a tensor and its gradient may break "
                           "downstream systems that assume they match.")
    if g._device.type != t._device.type:
        raise RuntimeError(f"attempting to assign a gradient with device type '{g._device.type}' to a tensor with "
                           f"device type '{t._device.type}'. Please ensure that the gradient and the tensor are on the "
                           "same device")
    if g._device != t._device:
        raise RuntimeError(f"attempting to assign a gradient located on device with index '{g._device.index}' to a "
                           f"tensor located on device with index '{t._device.index}'. Please ensure that the gradient "
                           "and the tensor are on the same device")
    gshape = tuple(g.shape) if g.is_sparse else g._data.shape  # (a sparse gradient, SparseAdam's, has no dense _data)
    if gshape != t._data.shape:
        raise RuntimeError(f"attempting to assign a gradient of size '{list(gshape)}' to a tensor of size "
                           f"'{list(t._data.shape)}'. Please ensure that the gradient and the tensor are the same size")


def _wrap_dim(dim: int, ndim: int) -> int:
    """Normalise a possibly negative axis, with PyTorch's IndexError. Any integer type is a dim
    (NumPy's, a one-element integer tensor), as in PyTorch; a float is a TypeError."""
    if dim.__class__ is not int:
        dim = _operator.index(dim)
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim + n if dim < 0 else dim


def _wrap_dims(dims: Any, ndim: int) -> list:
    """Wrap each of ``dims`` (an int or a sequence), refusing a dim named twice, as PyTorch does."""
    if not isinstance(dims, (int, tuple, list)):
        # a tensor names its elements as dims (PyTorch reads it as an int list); NumPy's ints are one dim
        dims = dims.tolist() if isinstance(dims, Tensor) else _operator.index(dims)
    wrapped = [_wrap_dim(d, ndim) for d in ((dims,) if isinstance(dims, int) else dims)]
    seen: set = set()
    for d in wrapped:
        if d in seen:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        seen.add(d)
    return wrapped


class _RemovableHandle:
    def __init__(self, node, nr: int, hook, hooks: list | None = None) -> None:
        self._node, self._nr, self._hook, self._hooks = node, nr, hook, hooks

    def remove(self) -> None:
        hooks = self._hooks if self._hooks is not None else (self._node._pre_hooks or {}).get(self._nr, [])
        if self._hook in hooks:
            hooks.remove(self._hook)


class _ComposedView:
    """The view function of a view of a view: redo the parent's, then the child's. A linked chain
    walked in a loop, so a view taken through thousands of view ops never nests Python calls."""

    __slots__ = ("parent", "child")

    def __init__(self, parent: Callable[[Tensor], Tensor], child: Callable[[Tensor], Tensor]) -> None:
        self.parent, self.child = parent, child

    def __call__(self, b: Tensor) -> Tensor:
        steps, fn = [], self
        while type(fn) is _ComposedView:
            steps.append(fn.child)
            fn = fn.parent
        b = fn(b)
        for step in reversed(steps):
            b = step(b)
        return b


_function._Tensor[0] = Tensor
