"""``ember.autograd.forward_ad``: PyTorch's dual-tensor API for forward-mode AD.

Inside a :class:`dual_level`, :func:`make_dual` pairs a tensor (the primal) with a tangent, every op
on such a *dual tensor* gives its outputs their tangent (the Jacobian-vector product), and
:func:`unpack_dual` reads it back. Tangents of a level are dropped when it exits.

How ember computes tangents. ember's ops have no forward-mode formulas; every differentiable op is
an ``autograd.Function`` whose ``backward`` is written in ember ops. While a level is active,
``Function.apply`` hands each call to the level; when an input carries a tangent the level runs the
op once, on inputs it can differentiate, and gets the op's exact JVP ``J v`` by differentiating the
op's own vector-Jacobian product ``u -> J^T u`` (linear in ``u``) with respect to ``u``, with ``v``
as the cotangent: the double-vjp trick of ``ember.func.jvp``, applied op by op. So it is exact for
every op that has a differentiable backward, and eager, like PyTorch's: tangents exist as soon as
the op returns, also under ``no_grad`` (forward AD ignores grad mode, as in PyTorch). An output that
is a view of a dual tensor gets the same view of its tangent (a real view, as in PyTorch). A custom
``Function`` with a ``jvp`` static method uses it instead (PyTorch's forward-mode extension point).

Same as PyTorch: the API and its errors (``make_dual`` outside a level, non-float primal or
tangent, a tangent of another size, a primal that is already dual, a wrong level, nested levels);
``make_dual`` keeps the tangent as is when its strides match the primal's (else a contiguous copy);
non-dual inputs count as zero tangent; integer and bool outputs and ops with no derivative
(comparisons, ``argmax``, ``detach``, ``zeros_like``) have no tangent; piecewise-constant ops
(``sign``, ``floor``) give a zero tangent; in-place ops on a dual tensor (or writing a dual into a
plain tensor, ``x[i] = dual``, ``fill_``, ``zero_``) update its tangent in place, and an in-place
op on a view of a dual updates the base's tangent; tangents flow through backward passes run
inside the level (forward-over-reverse Hessian-vector products) and are differentiable when
needed (reverse-over-forward); the ``repr`` shows ``tangent=``.

Differences: each op on dual tensors costs one forward and two backward passes of that op
(PyTorch's per-op formulas cost about one more forward): about 3x a plain forward for an MLP under
``no_grad``, about 10x when its parameters require grad (the graph is then kept so tangents stay
differentiable). Inside a level a plain dual's ``type()`` is a private subclass of ``Tensor``
(``isinstance`` holds; ``deepcopy`` and ``ember.save`` give plain tensors, as in PyTorch).
``make_dual``'s result shares the primal's memory and version counter but has no ``_base``. An op
whose backward were not differentiable would get a zero tangent (no ember op has one). Levels are
process-wide, not per thread. ``ember.func`` transforms detach their inputs, so they do not see an
outer level's tangents (use them around forward AD, as in the tests, not on duals).

Example:
    >>> import ember
    >>> import ember.autograd.forward_ad as fwAD
    >>> x, v = ember.tensor([1.0, 2.0]), ember.tensor([1.0, 0.5])
    >>> with fwAD.dual_level():
    ...     y = fwAD.make_dual(x, v) ** 2
    ...     fwAD.unpack_dual(y).tangent
    tensor([2., 2.])
"""

from __future__ import annotations

import functools
import weakref
from typing import Any, NamedTuple

from ember.autograd import engine as _engine
from ember.autograd import function as _function
from ember.autograd.function import BackwardNode, Function, FunctionCtx
from ember.autograd.grad_mode import STATE, enable_grad, no_grad

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "dual_level"]

_KEY = "_fw_tangent"  # where a dual tensor keeps its tangent (its __dict__)
_current_level = -1


def _tensor_cls() -> type:
    from ember.tensor import Tensor

    return Tensor


def _tangent(t: Any) -> Any:
    """``t``'s tangent at the active level, or None."""
    d = getattr(t, "__dict__", None)
    return None if d is None else d.get(_KEY)


@functools.cache
def _dual_cls() -> type:
    """Plain dual tensors get this class: the eager fast paths of the ops (``type(x) is Tensor``)
    then skip them and every op reaches ``Function.apply``; the level gives them back ``Tensor``."""
    Tensor = _tensor_cls()

    class DualTensor(Tensor):
        __slots__ = ()

        def __repr__(self, *args: Any, **kwargs: Any) -> str:
            return _dual_repr(self, Tensor.__repr__(self, *args, **kwargs))

        @classmethod
        def _from_tensor(cls, t: Any, requires_grad: bool) -> Any:  # deepcopy: a plain copy, as in PyTorch
            t._requires_grad = requires_grad
            return t

    DualTensor.__name__ = DualTensor.__qualname__ = "Tensor"
    DualTensor.__module__ = Tensor.__module__
    return DualTensor


def _dual_repr(t: Any, text: str) -> str:
    """PyTorch's ``tangent=`` suffix, on a new line when the last one would exceed 80 columns."""
    tangent = _tangent(t)
    if tangent is None or not text.endswith(")"):
        return text
    body = text[:-1]
    suffix = f"tangent={tangent!r}"
    last = len(body) - body.rfind("\n") + 1
    if last + len(suffix) + 2 > 80:
        return body + ",\n" + " " * len("tensor(") + suffix + ")"
    return body + ", " + suffix + ")"


class _Level:
    """The active dual level: the tensors that carry a tangent, and the hooks ``Function.apply``
    and in-place writes call."""

    def __init__(self, index: int) -> None:
        self.index = index
        self._duals: list = []  # weak references: tangents go away with their tensors

    # ---- bookkeeping -------------------------------------------------------------------------
    def attach(self, t: Any, tangent: Any) -> None:
        t.__dict__[_KEY] = tangent
        if type(t) is _tensor_cls():
            t.__class__ = _dual_cls()
        self._duals.append(weakref.ref(t))
        if len(self._duals) > 1024 and len(self._duals) & (len(self._duals) - 1) == 0:
            self._duals = [r for r in self._duals if r() is not None]

    def close(self) -> None:
        Tensor, dual = _tensor_cls(), _dual_cls()
        for ref in self._duals:
            t = ref()
            if t is not None:
                t.__dict__.pop(_KEY, None)
                if type(t) is dual:
                    t.__class__ = Tensor
        self._duals = []

    # ---- Function.apply ------------------------------------------------------------------------
    def apply(self, cls: type, args: tuple, kwargs: dict) -> Any:
        tangents = None
        for i, a in enumerate(args):
            tg = _tangent(a)
            if tg is not None:
                if tangents is None:
                    tangents = [None] * len(args)
                tangents[i] = tg
        if tangents is None:
            return NotImplemented  # no dual input: the ordinary path
        _function._FW[0] = None  # the level's own computations are not forward-differentiated
        try:
            if cls.jvp is not _function.Function.jvp:  # (the base class's jvp only raises)
                return self._apply_custom(cls, args, kwargs, tangents)
            return self._apply_jvp(cls, args, kwargs, tangents)
        finally:
            _function._FW[0] = self

    def _apply_jvp(self, cls: type, args: tuple, kwargs: dict, tangents: list) -> Any:
        Tensor = _tensor_cls()
        grad_on = STATE.enabled
        # the caller's graph is kept when grad mode would record this op; otherwise outputs are plain
        keep = grad_on and any(isinstance(a, Tensor) and a.requires_grad for a in args)
        inputs, wrt = list(args), []
        with enable_grad():
            for i, tg in enumerate(tangents):
                a = args[i]
                if tg is None:
                    if not keep and isinstance(a, Tensor) and a.requires_grad:
                        inputs[i] = a.detach()  # nothing records this op: no gradient work for a
                    continue
                x = a.view_as(a) if keep and a.requires_grad else a.detach().requires_grad_()
                self.attach(x, tg)  # saved for backward, x keeps the tangent: forward-over-reverse
                inputs[i] = x
                wrt.append(i)
            raw = cls.apply(*inputs, **kwargs)
        outs = raw if isinstance(raw, tuple) else (raw,)
        out_tangents = self._out_tangents(outs, [inputs[i] for i in wrt], [tangents[i] for i in wrt], grad_on, keep)
        if not keep:  # nothing records this op: outputs (and the private leaves they may view) are plain
            for o in (*outs, *(inputs[i] for i in wrt)):
                if isinstance(o, Tensor):
                    o.grad_fn, o._requires_grad = None, False
        for o, tg in zip(outs, out_tangents):
            if tg is not None:
                self._attach_output(o, tg)
        return raw

    def _out_tangents(self, outs: tuple, xs: list, vs: list, grad_on: bool, keep: bool) -> list:
        """The tangent of each output: a view of its base's tangent for a view, else ``J v`` by
        double vjp (None where the output is not differentiable or does not depend on the duals)."""
        from ember.functions.creation import ones_like, zeros_like

        Tensor = _tensor_cls()
        result: list = [None] * len(outs)
        need = []
        for k, o in enumerate(outs):
            if not isinstance(o, Tensor) or not o._dtype.is_differentiable or not o._requires_grad:
                continue
            base_tangent = _tangent(o._base) if o._view_fn is not None else None
            if base_tangent is not None and tuple(base_tangent.shape) == tuple(o._base.shape):
                result[k] = o._view_fn(base_tangent)
                continue
            need.append(k)
        if not need:
            return result
        diff = [outs[k] for k in need]
        with enable_grad():
            # J^T u is linear in u, but some backward formulas take log|u| (logcumsumexp): u = 1, not 0
            us = [ones_like(o).requires_grad_() for o in diff]
            gs = _engine.grad(diff, xs, us, retain_graph=True, create_graph=True, allow_unused=True)
            used = [(g, v) for g, v in zip(gs, vs) if g is not None]
            if not used:
                return result  # the outputs do not depend on the dual inputs
            live = [(g, v if v._dtype is g._dtype else v.to(g._dtype)) for g, v in used if g._requires_grad]
            jv: Any = [None] * len(us)
            if live:
                graph = grad_on and (keep or any(v._requires_grad for _, v in live))
                jv = _engine.grad([g for g, _ in live], us, [v for _, v in live], retain_graph=True,
                                  create_graph=graph, allow_unused=True)
        for k, j, o in zip(need, jv, diff):
            # no path from u to J^T u: the derivative is a constant zero (sign, floor, ...)
            result[k] = j if j is not None else zeros_like(o)
        return result

    def _attach_output(self, o: Any, tangent: Any) -> None:
        self.attach(o, tangent)
        node = o.grad_fn
        saved = getattr(node, "_saved", None) if isinstance(node, BackwardNode) else None
        for item in saved or ():  # the output's saved alias, which backward reads
            if item is not None and item[2] and item[0]._data is o._data:
                self.attach(item[0], tangent)

    def _apply_custom(self, cls: type, args: tuple, kwargs: dict, tangents: list) -> Any:
        """A custom Function with a ``jvp`` static method: forward (recorded when grad mode would
        record it), then ``jvp(ctx, *input_tangents)``; zeros for tensors without one."""
        from ember.functions.creation import zeros_like

        Tensor = _tensor_cls()
        keep = STATE.enabled and any(isinstance(a, Tensor) and a.requires_grad for a in args)
        if keep:
            raw = _function._apply_recording(cls, args, kwargs)
            outs = raw if isinstance(raw, tuple) else (raw,)
            ctx = next((o.grad_fn for o in outs if isinstance(o, Tensor) and isinstance(o.grad_fn, BackwardNode)
                        and o.grad_fn._function is cls), None) or FunctionCtx()
        else:
            ctx = FunctionCtx()
            with no_grad():
                raw = cls.forward(ctx, *args, **kwargs)
            outs = raw if isinstance(raw, tuple) else (raw,)
        ins = [tg if tg is not None else (zeros_like(a) if isinstance(a, Tensor) else None)
               for a, tg in zip(args, tangents)]
        fwd = ctx.__dict__.get("_saved_forward")
        jv = cls.jvp(_JvpCtx(ctx, fwd) if fwd is not None else ctx, *ins)
        jv = jv if isinstance(jv, tuple) else (jv,)
        for o, tg in zip(outs, jv):
            if isinstance(o, Tensor) and tg is not None:
                self._attach_output(o, tg)
        return raw

    def carry(self, src: Any, dst: Any) -> None:
        """``dst`` (a detached ``src``) keeps ``src``'s tangent."""
        tangent = _tangent(src)
        if tangent is not None:
            self.attach(dst, tangent)

    # ---- in-place writes -------------------------------------------------------------------------
    def involves(self, *values: Any) -> bool:
        """Whether any of ``values`` carries a tangent (an in-place write must then go through
        ``assign_inplace`` so the tangent follows)."""
        return any(_tangent(v) is not None for v in values)

    def after_inplace(self, t: Any, result: Any) -> None:
        """``t`` now holds ``result`` (``None``: a constant): update the tangents, in place as in
        PyTorch (the tangent of ``t``, or the region of its base's tangent that ``t`` views)."""
        new = _tangent(result) if result is not None else None
        own = _tangent(t)
        base = t._base if t._view_fn is not None else None
        base_tangent = _tangent(base) if base is not None else None
        if new is None and own is None and base_tangent is None:
            return
        from ember.functions.creation import zeros_like

        _function._FW[0] = None
        try:
            with no_grad():
                if base is not None and (base_tangent is not None or new is not None):
                    if base_tangent is None:
                        base_tangent = zeros_like(base)
                        self.attach(base, base_tangent)
                    region = t._view_fn(base_tangent)
                    _write(region, new)
                    self.attach(t, region)
                elif own is not None:
                    _write(own, new)
                else:
                    self.attach(t, new.expand(tuple(t.shape)).to(t.dtype).clone())
        finally:
            _function._FW[0] = self


class _JvpCtx:
    """``ctx`` as ``jvp`` sees it after ``ctx.save_for_forward``: ``saved_tensors`` are the tensors
    saved for forward mode (PyTorch's split), everything else is the forward's ``ctx``."""

    def __init__(self, ctx: Any, saved: tuple) -> None:
        object.__setattr__(self, "_ctx", ctx)
        object.__setattr__(self, "saved_tensors", saved)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._ctx, name, value)


def _write(dst: Any, src: Any) -> None:
    if src is None:
        dst.zero_()
    else:
        dst.copy_(src)


class _MakeDual(Function):
    """``make_dual`` of a primal that requires grad: shares its memory, gradient passes through."""

    _backward_name = "ViewBackward0"

    @staticmethod
    def forward(ctx, x):
        out = x._new(x._data)
        out._version = x._version
        return out

    @staticmethod
    def backward(ctx, g):
        return g


_ACTIVE: list = [None]  # the active level even while it computes (when _FW[0] is None)


def enter_dual_level() -> int:
    """Enter a new forward-AD level and return its index (PyTorch supports one level at a time).

    Example:
        >>> import ember.autograd.forward_ad as fwAD
        >>> fwAD.enter_dual_level()
        0
        >>> fwAD.exit_dual_level()
    """
    global _current_level
    if _ACTIVE[0] is not None:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    level = _Level(_current_level + 1)
    _ACTIVE[0] = level
    _function._FW[0] = level
    _current_level = level.index
    return level.index


def exit_dual_level(*, level: int | None = None) -> None:
    """Exit the current forward-AD level: every tangent made in it is dropped.

    Example:
        >>> import ember
        >>> import ember.autograd.forward_ad as fwAD
        >>> fwAD.enter_dual_level()
        0
        >>> d = fwAD.make_dual(ember.zeros(2), ember.ones(2))
        >>> fwAD.exit_dual_level()
        >>> fwAD.unpack_dual(d).tangent is None
        True
    """
    global _current_level
    if level is None:
        level = _current_level
    if level != _current_level:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created. "
                           "This is not supported.")
    if level < 0:
        raise RuntimeError("Dual level must be a positive number.")
    active = _ACTIVE[0]
    _ACTIVE[0] = None
    _function._FW[0] = None
    if active is not None:
        active.close()
    _current_level = level - 1


def make_dual(tensor: Any, tangent: Any, *, level: int | None = None) -> Any:
    """A dual tensor: ``tensor``'s values (sharing its memory) with ``tangent`` attached (as is when
    its strides match ``tensor``'s, else a copy). Backward-differentiable with respect to ``tensor``.

    Example:
        >>> import ember
        >>> import ember.autograd.forward_ad as fwAD
        >>> with fwAD.dual_level():
        ...     d = fwAD.make_dual(ember.tensor([0.0, 1.0]), ember.tensor([1.0, 1.0]))
        ...     fwAD.unpack_dual(d.exp()).tangent
        tensor([1.0000, 2.7183])
    """
    if level is None:
        level = _current_level
    if level < 0:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
                           "enter_dual_level() first.")
    if not (tensor.is_floating_point() or tensor.is_complex()):
        raise ValueError(f"Expected primal to be floating point or complex, but got: {tensor.dtype}")
    if not (tangent.is_floating_point() or tangent.is_complex()):
        raise ValueError(f"Expected tangent to be floating point or complex, but got: {tangent.dtype}")
    active = _ACTIVE[0]
    if active is None or level != active.index:
        raise RuntimeError("Invalid level given to _make_dual")
    if _tangent(tensor) is not None:
        raise RuntimeError("Making a dual Tensor based on a Tensor that already has a forward gradient at the same "
                           f"level {level} is not supported.")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError("Trying to set a forward gradient that has a different size than that of the original "
                           f"Tensor, this is not supported. Tensor is of size {list(tensor.shape)} while the given "
                           f"forward gradient is of size {list(tangent.shape)}.")
    if tangent.device != tensor.device:
        tangent = tangent.to(tensor.device)
    elif tangent.stride() != tensor.stride():
        tangent = tangent.clone(memory_format=_contiguous())
    _function._FW[0] = None
    try:
        if STATE.enabled and tensor.requires_grad:
            dual = _MakeDual.apply(tensor)
        else:
            dual = tensor._new(tensor._data)
            dual._version = tensor._version
    finally:
        _function._FW[0] = active
    active.attach(dual, tangent)
    return dual


def _contiguous() -> Any:
    import ember

    return ember.contiguous_format


class UnpackedDualTensor(NamedTuple):
    """What :func:`unpack_dual` returns: ``primal`` and ``tangent`` (None for a non-dual tensor)."""

    primal: Any
    tangent: Any


def unpack_dual(tensor: Any, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of ``tensor``: the primal is a view of it without tangent (backward-
    differentiable); the tangent is the tensor's own (None when it has none, or outside a level).

    Example:
        >>> import ember
        >>> import ember.autograd.forward_ad as fwAD
        >>> with fwAD.dual_level():
        ...     d = fwAD.make_dual(ember.tensor([3.0]), ember.tensor([2.0]))
        ...     primal, tangent = fwAD.unpack_dual(d * d)
        >>> primal, tangent
        (tensor([9.]), tensor([12.]))
    """
    if level is None:
        level = _current_level
    tangent = _tangent(tensor)
    if level < 0 or tangent is None:
        return UnpackedDualTensor(tensor, None)
    active = _ACTIVE[0]
    if active is None or level != active.index:
        raise RuntimeError("Invalid level given to _fw_primal")
    prev = _function._FW[0]
    _function._FW[0] = None
    try:
        primal = tensor.view_as(tensor)
    finally:
        _function._FW[0] = prev
    primal.__dict__.pop(_KEY, None)
    if type(primal) is _dual_cls():
        primal.__class__ = _tensor_cls()
    return UnpackedDualTensor(primal, tangent)


class dual_level:
    """Context manager (and decorator) in which forward-AD computations happen: enters a level,
    and on exit drops every tangent made in it. Only one level at a time, as in PyTorch.

    Example:
        >>> import ember
        >>> import ember.autograd.forward_ad as fwAD
        >>> with fwAD.dual_level():
        ...     out = fwAD.make_dual(ember.ones(2), ember.ones(2)).sin()
        ...     grad = fwAD.unpack_dual(out).tangent
        >>> grad is None, fwAD.unpack_dual(out).tangent is None
        (False, True)
    """

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc: Any) -> None:
        exit_dual_level()

    def __call__(self, fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with dual_level():
                return fn(*args, **kwargs)

        return wrapper
