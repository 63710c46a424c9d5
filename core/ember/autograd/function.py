"""``Function``: an op with its forward and backward side by side, and the graph nodes.

Backward is written in ember ops, so ``create_graph=True`` records it and higher-order
gradients work on every backend.

Example:
    >>> import ember
    >>> class Cube(ember.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x * x
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_tensors
    ...         return grad * 3 * x * x
    >>> x = ember.tensor([2.0], requires_grad=True)
    >>> Cube.apply(x).backward()
    >>> x.grad
    tensor([12.])
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

from ember.autograd.grad_mode import STATE, no_grad

__all__ = ["Function", "FunctionCtx", "Node", "BackwardNode", "AccumulateGrad", "once_differentiable", "name_grad_fn", "grad_fn_name"]

_FREED_MSG = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward.")


# An input that takes no gradient: PyTorch's ``(None, 0)`` entry of ``next_functions`` (graph walkers
# such as torchviz unpack every entry)
_NO_EDGE = (None, 0)
# How many ``ember.func.vmap`` calls are running (Function.apply then checks a user's vmap rule)
_VMAP_DEPTH = [0]
# The same pair, as another object, for an argument that is not a tensor (a dim, a scalar): the engine
# needs one entry per ``forward`` argument, but PyTorch's ``next_functions`` has none for most of these
# (ember.autograd.saved_names says which ones it keeps). Told apart by identity, so recording pays nothing
# (built at run time: two equal tuple literals would be compiled into one object).
_NOT_TENSOR = tuple([None, 0])


# Keys of ``Node._pre_hooks`` besides the output numbers (whose lists hold ``Tensor.register_hook``
# hooks): one dict keeps every kind of hook, so the engine reads a single attribute per node.
RETAIN, NODE_PRE, NODE_POST = "retain", "pre", "post"


class GradientEdge(NamedTuple):
    """An edge of the graph: the gradient flowing into ``node``'s input ``output_nr`` (PyTorch's
    ``torch.autograd.graph.GradientEdge``); ``autograd.grad``/``backward`` accept it in place of a
    tensor."""

    node: Any
    output_nr: int
    ownership_token: Any = None


class _NodeHookHandle:
    """What ``Node.register_hook``/``register_prehook`` return: ``remove()`` drops the hook."""

    def __init__(self, hooks: list, hook: Callable) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class Node:
    """A node of the backward graph (what ``tensor.grad_fn`` holds)."""

    # (node, output_nr) per input, as the engine walks them (for a BackwardNode: one per ``forward``
    # argument, aligned with what ``backward`` returns); ``next_functions`` is PyTorch's view of it
    _edges: tuple = ()
    # output_nr -> [tensor hook]; RETAIN -> {output_nr: retain_grad hook}; NODE_PRE/NODE_POST -> [node hook]
    _pre_hooks: dict | None = None

    @property
    def next_functions(self) -> tuple:
        return self._edges

    @next_functions.setter
    def next_functions(self, edges: tuple) -> None:
        self._edges = tuple(edges)

    def name(self) -> str:
        return type(self).__name__

    def apply(self, grads: list) -> tuple:  # pragma: no cover - abstract
        raise NotImplementedError

    def release(self) -> None:
        """Free what backward needed (called after a backward without retain_graph)."""

    @property
    def metadata(self) -> dict:
        """A dict of the user's own, kept with the node (PyTorch's ``Node.metadata``); read-only."""
        meta = self.__dict__.get("_metadata")
        if meta is None:
            meta = self.__dict__["_metadata"] = {}
        return meta

    def _hook_list(self, key: Any) -> list:
        hooks = self._pre_hooks
        if hooks is None:
            hooks = self._pre_hooks = {}
        return hooks.setdefault(key, [])

    def register_prehook(self, fn: Callable) -> _NodeHookHandle:
        """``fn(grad_outputs) -> tuple | None`` before the node runs; a tuple replaces the
        gradients (PyTorch's ``Node.register_prehook``). Runs after the tensors' own hooks."""
        hooks = self._hook_list(NODE_PRE)
        hooks.append(fn)
        return _NodeHookHandle(hooks, fn)

    def register_hook(self, fn: Callable) -> _NodeHookHandle:
        """``fn(grad_inputs, grad_outputs) -> tuple | None`` after the node ran; a tuple replaces
        the gradients it passes on (PyTorch's ``Node.register_hook``)."""
        hooks = self._hook_list(NODE_POST)
        hooks.append(fn)
        return _NodeHookHandle(hooks, fn)

    def _tensor_prehook(self, output_nr: int, hook: Callable) -> None:
        """``Tensor.register_hook`` of this node's output ``output_nr``: ``hook(grad)``."""
        self._hook_list(output_nr).append(hook)

    def _retain_hook(self, output_nr: int, hook: Callable) -> None:
        """``Tensor.retain_grad`` of output ``output_nr``: runs after that output's tensor hooks and
        before the node's pre-hooks, whatever the order they were registered in (PyTorch)."""
        hooks = self._pre_hooks
        if hooks is None:
            hooks = self._pre_hooks = {}
        hooks.setdefault(RETAIN, {})[output_nr] = hook

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"  # (the class, not name(), as PyTorch)


class AccumulateGrad(Node):
    """The sink of a leaf tensor: adds the incoming gradient into ``leaf.grad``."""

    __slots__ = ("variable", "_pre_hooks")

    def __init__(self, variable) -> None:
        self.variable = variable
        self._pre_hooks = None

    @property
    def next_functions(self) -> tuple:
        return ()

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"  # PyTorch's C++ name; the class is AccumulateGrad

    def apply(self, grads: list) -> tuple:
        grad = grads[0]
        if grad is None:
            return ()
        leaf = self.variable
        create_graph = STATE.enabled
        if grad._device is not leaf._device:  # a 0-d CPU leaf used with device tensors (PyTorch moves it back)
            grad = grad.to(leaf.device)
        if grad._dtype is not leaf._dtype:  # PyTorch's engine casts each gradient to its input's dtype
            grad = grad.to(leaf._dtype)
        if leaf._grad is None:
            shared = grad._base is not None or grad is leaf  # a view or the leaf: .grad gets its own buffer
            if not create_graph:
                grad = grad.detach()
            if not grad.is_contiguous() and leaf.is_contiguous():
                # PyTorch's layout contract: a contiguous leaf's .grad is contiguous (an expanded
                # gradient, say of ``sum``, would otherwise be a stride-0 buffer no in-place op can write)
                grad = grad.contiguous()
            elif shared:
                grad = grad.clone()
            leaf.grad = grad
        elif create_graph:
            leaf.grad = leaf._grad + grad
        else:
            with no_grad():
                leaf.grad.add_(grad)
        post = leaf.__dict__.get("_post_acc_hooks")
        if post:  # Tensor.register_post_accumulate_grad_hook: called with the leaf, its .grad updated
            for hook in list(post):
                res = hook(leaf)
                if res is not None:  # PyTorch checks the result's type first, then that it is None
                    if not isinstance(res, type(leaf)):
                        raise TypeError(f"expected Variable, but hook returned '{type(res).__name__}'")
                    raise RuntimeError("Tensor post accumulate grad hooks should return None.")
        return ()


class FunctionCtx:
    """What ``forward`` and ``backward`` receive as ``ctx``: saved tensors and flags."""

    needs_input_grad: tuple = ()
    materialize_grads = True
    _saved: tuple | None = ()
    _non_differentiable: tuple = ()
    _dirty: tuple = ()

    def save_for_backward(self, *tensors) -> None:
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable = tensors

    def save_for_forward(self, *tensors) -> None:
        """Tensors (or None) that ``jvp`` reads back as ``ctx.saved_tensors`` (forward-mode AD)."""
        Tensor = _Tensor[0]
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise AssertionError("save_for_forward expects all arguments to be tensors; you should save "
                                     "non-tensors as attributes on ctx.")
        self._saved_forward = tensors

    def mark_dirty(self, *tensors) -> None:
        if isinstance(self, BackwardNode):  # (recorded: an in-place write into a leaf is refused, as PyTorch)
            for t in tensors:
                if t._requires_grad and t.grad_fn is None and not STATE.inference:
                    raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)

    @property
    def saved_tensors(self) -> tuple:
        saved = self._saved
        if saved is None:
            raise RuntimeError(_FREED_MSG)
        out = []
        for item in saved:
            if item is None:
                out.append(None)
                continue
            tensor, version, is_output = item
            if version is _PACKED:  # packed by a saved_tensors_hooks pack hook: unpack on every access
                value = tensor.unpack_hook(tensor.packed)
                if not isinstance(value, _Tensor[0]):
                    raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but got result of "
                                    f"type {type(value).__name__}")
                out.append(value)
                continue
            if tensor._version[0] != version:
                raise RuntimeError(_version_error(self, tensor, version, is_output))
            if is_output:
                tensor.grad_fn = self  # re-link for double backward; freed with the node
            out.append(tensor)
        return tuple(out)

    saved_variables = saved_tensors


def _version_error(node: Any, tensor: Any, version: int, is_output: bool) -> str:
    """PyTorch's message for a saved tensor modified in place since: it names the op that made the
    tensor (for an input, its current history; for an output, this node), without "Backward0"."""
    import re

    from ember.autograd.anomaly import STATE as ANOMALY

    msg = ("one of the variables needed for gradient computation has been modified by an inplace operation: "
           f"[{tensor._type_name()} {list(tensor.shape)}]")
    maker = node if is_output else tensor.grad_fn
    if maker is not None:
        msg += f", which is output {tensor._output_nr} of {re.sub(r'Backward[0-9]*$', '', maker.name())},"
    msg += f" is at version {tensor._version[0]}; expected version {version} instead."
    if ANOMALY.enabled:
        return msg + (" Hint: the backtrace further above shows the operation that failed to compute its gradient. "
                      "The variable in question was changed in there or anywhere later. Good luck!")
    return msg + (" Hint: enable anomaly detection to find the operation that failed to compute its gradient, with "
                  "torch.autograd.set_detect_anomaly(True, check_nan=False).")


class BackwardNode(FunctionCtx, Node):
    """The graph node of one ``Function.apply`` call; also that call's ``ctx``."""

    _function: type = None  # the Function subclass
    _output_meta: tuple = ()
    _user_function = False  # a Function defined outside ember: its gradients are checked (``_validate``)

    def apply(self, grads: list) -> tuple:
        if self.materialize_grads:
            from ember.functions.creation import zeros

            grads = [g if g is not None or meta is None else zeros(meta[0], dtype=meta[1], device=meta[2])
                     for g, meta in zip(grads, self._output_meta)]
        result = self._function.backward(self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self._edges)
        if len(result) != n:
            if len(result) > n and all(r is None for r in result[n:]):
                result = result[:n]
            else:
                raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients "
                                   f"(expected {n}, got {len(result)})")
        if self._user_function:
            result = self._validate(result)
        return result

    def _validate(self, result: tuple) -> tuple:
        """PyTorch's checks of the gradients a user's ``backward`` returned (ember's own ops are
        trusted): each is None or a tensor shaped like its input, or one that input broadcasts to
        (summed back), in that input's dtype."""
        from ember.functions.elementwise import unbroadcast

        Tensor = _Tensor[0]
        out = list(result)
        for i, (g, (node, nr)) in enumerate(zip(result, self._edges)):
            if g is None:
                continue
            if not isinstance(g, Tensor):
                raise RuntimeError(f"expected Variable or None (got {type(g).__name__})")
            if node is None:
                continue
            if type(node) is AccumulateGrad:
                shape, dtype = tuple(node.variable._data.shape), node.variable._dtype
            else:
                meta = node._output_meta[nr] if nr < len(node._output_meta) else None
                if meta is None:
                    continue
                shape, dtype = meta[0], meta[1]
            gshape = tuple(g._data.shape)
            if gshape != shape:
                lead = len(gshape) - len(shape)
                if lead < 0 or any(s != 1 and s != gs for s, gs in zip(shape, gshape[lead:])):
                    raise RuntimeError(f"Function {self.name()} returned an invalid gradient at index {i} - got "
                                       f"{list(gshape)} but expected shape compatible with {list(shape)}")
                g = unbroadcast(g, shape)
            if g._dtype is not dtype and dtype.is_differentiable:
                g = g.to(dtype)
            out[i] = g
        return tuple(out)

    def release(self) -> None:
        self._saved = None

    def _type_name(self) -> str:
        return self.name()

    # PyTorch's graph introspection, built on demand from what the op kept (nothing on the recording
    # path): ``next_functions`` without the entries PyTorch has no edge for, ``_saved_<name>`` and
    # ``_raw_saved_<name>`` as PyTorch names them per op (ember.autograd.saved_names holds the table)
    @property
    def next_functions(self) -> tuple:
        from ember.autograd.saved_names import public_edges

        return public_edges(self)

    @next_functions.setter
    def next_functions(self, edges: tuple) -> None:
        self._edges = tuple(edges)

    def __getattr__(self, name: str) -> Any:
        # (only reached when ordinary lookup fails, so ops' own ctx attributes cost nothing extra)
        if name.startswith(("_saved_", "_raw_saved_")):
            from ember.autograd.saved_names import saved_attribute

            return saved_attribute(self, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'", name=name, obj=self)

    def __dir__(self) -> list:
        from ember.autograd.saved_names import saved_attribute_names

        return sorted(set(super().__dir__()) | set(saved_attribute_names(self)))


class Function:
    """Subclass with ``forward(ctx, *args)`` and ``backward(ctx, *grads)`` static methods and
    call ``apply``. ``backward`` returns one gradient (or None) per ``forward`` argument."""

    _backward_name: str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """PyTorch 2's style: a ``forward`` without ``ctx`` plus ``setup_context(ctx, inputs,
        output)``. The two are joined here, once per class, into the ``forward(ctx, *args)`` that
        ``apply`` calls, so neither style costs anything per call."""
        super().__init_subclass__(**kwargs)
        if "vjp" in cls.__dict__ or "backward" in cls.__dict__:
            _join_backward_and_vjp(cls)
        setup = cls.setup_context
        if setup is Function.setup_context or not ("forward" in cls.__dict__ or "setup_context" in cls.__dict__):
            return
        user_forward = cls.__dict__.get("forward") or cls.__dict__.get("_user_forward") or cls._user_forward
        user_forward = getattr(user_forward, "__func__", user_forward)  # a staticmethod's function
        cls._user_forward = staticmethod(user_forward)
        # PyTorch binds the call to forward's signature first (defaults applied, keywords placed), so
        # setup_context's ``inputs`` hold every parameter; binding is needed only when a call omits one
        import inspect

        try:
            sig = inspect.signature(user_forward)
        except (TypeError, ValueError):  # a builtin or partial without a signature
            sig = None
        n_params = len(sig.parameters) if sig is not None else 0

        def forward(ctx: FunctionCtx, *args: Any, **kw: Any) -> Any:
            if sig is not None and (kw or len(args) < n_params):
                bound = sig.bind(*args, **kw)
                bound.apply_defaults()
                args, kw = bound.args, bound.kwargs
            output = user_forward(*args, **kw)
            setup(ctx, args, output)
            return output

        cls.forward = staticmethod(forward)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn(f"{type(self)} should not be instantiated. Methods on autograd functions are all static, so you "
                      "should invoke them on the class itself. Instantiating an autograd function will raise an error "
                      "in a future version of PyTorch.", DeprecationWarning, stacklevel=2)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Legacy autograd function with non-static forward method is deprecated. Please use "
                           "new-style autograd function with static forward method. (Example: "
                           "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> Any:
        """Override (with a ``forward`` that takes no ``ctx``) to fill ``ctx`` after forward ran."""
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx: FunctionCtx, *grads: Any) -> Any:  # pragma: no cover
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward  # PyTorch's alias: a subclass may define either one

    @staticmethod
    def jvp(ctx: Any, *grad_inputs: Any) -> Any:
        """Override for forward-mode AD (``ember.autograd.forward_ad``); without it ember derives the
        tangent from ``backward``."""
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use it "
                                  "with forward mode AD.")

    generate_vmap_rule = False

    @staticmethod
    def vmap(info: Any, in_dims: Any, *args: Any) -> Any:
        raise NotImplementedError("To use autograd.Function with vmap, you must either override the vmap "
                                  "staticmethod or set generate_vmap_rule=True.")

    @classmethod
    def _node_class(cls) -> type:
        node_cls = cls.__dict__.get("_node_cls")
        if node_cls is None:
            name = cls._backward_name if "_backward_name" in cls.__dict__ and cls._backward_name else cls.__name__ + "Backward"
            node_cls = type(name, (BackwardNode,), {
                "_function": cls, "_forward_cls": cls, "__module__": cls.__module__,
                "_user_function": not (cls.__module__ or "").startswith("ember.")})
            cls._node_cls = node_cls
        return node_cls

    @classmethod
    def _check_vmap_rule(cls) -> None:
        """PyTorch's refusal to vmap a user's Function that has no vmap rule (or two): ember's vmap
        loops over slices and needs none, but code written for ember must run under PyTorch."""
        if (cls.__module__ or "").startswith("ember."):
            return
        overridden = cls.vmap is not Function.vmap
        if overridden and cls.generate_vmap_rule:
            raise RuntimeError(f"You tried to vmap over {cls.__name__}, but it has both generate_vmap_rule=True and an "
                               "overridden vmap staticmethod. Please set generate_vmap_rule=False or delete the "
                               "overridden vmap staticmethod to avoid ambiguity. For more details, please see "
                               "https://pytorch.org/docs/main/notes/extending.func.html")
        if not overridden and not cls.generate_vmap_rule:
            raise RuntimeError(f"You tried to vmap over {cls.__name__}, but it does not have vmap support. Please "
                               "override and implement the vmap staticmethod or set generate_vmap_rule=True. For "
                               "more details, please see https://pytorch.org/docs/main/notes/extending.func.html")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        if _VMAP_DEPTH[0]:  # inside ember.func.vmap (a list read otherwise)
            cls._check_vmap_rule()
        fw = _FW[0]
        if fw is not None:  # a forward-AD dual level is active: dual inputs get their outputs' tangents
            out = fw.apply(cls, args, kwargs)
            if out is not NotImplemented:
                return out
        state = STATE
        if not state.enabled:  # the fast path: no graph, no context manager
            return cls.forward(FunctionCtx(), *args, **kwargs)
        tensor_cls = _Tensor[0]
        for a in args:
            if isinstance(a, tensor_cls) and (a._requires_grad or (a._base is not None and _stale_view(a)
                                                                   and _requires_grad_now(a))):
                return _apply_recording(cls, args, kwargs)
        state.enabled = False  # forward always runs without recording, as in PyTorch
        try:
            return cls.forward(FunctionCtx(), *args, **kwargs)
        finally:
            state.enabled = True


def _join_backward_and_vjp(cls: type) -> None:
    """``vjp`` and ``backward`` name one method (PyTorch): the engine calls ``backward``, so a class
    that defines ``vjp`` gets it as ``backward`` too; defining both is PyTorch's error, at backward."""
    backward, vjp = cls.__dict__.get("backward"), cls.__dict__.get("vjp")
    base_backward = Function.__dict__["backward"]
    own_backward = cls.backward is not base_backward.__func__
    own_vjp = cls.vjp is not base_backward.__func__
    if own_backward and own_vjp:
        def both(ctx: Any, *grads: Any) -> Any:
            raise RuntimeError("Implementing both 'backward' and 'vjp' for a custom Function is not allowed. You "
                               "should only implement one of them.")

        cls.backward = staticmethod(both)
    elif vjp is not None and backward is None:
        cls.backward = vjp if isinstance(vjp, staticmethod) else staticmethod(vjp)


_Tensor: list = [None]  # set by ember.tensor to avoid an import cycle
# The active ``ember.autograd.forward_ad`` level (None outside one, and while it computes a tangent):
# ``apply`` hands it every call, in-place writes report to it (``assign_inplace``).
_FW: list = [None]


def _stale_view(t: Any) -> bool:
    """A differentiable view whose base got a new history (an in-place op) since the view's was set.
    Kept here, small and import-free, because it runs for every view an op reads."""
    return t._view_fn is not None and t._base.grad_fn is not t._view_src


def _refresh_view(t: Any) -> None:
    from ember.autograd.inplace import refresh_view

    refresh_view(t)


def _requires_grad_now(t: Any) -> bool:
    """``t._requires_grad`` after a stale view is given its base's current history: a view of a
    base that an in-place op made require grad requires grad too (PyTorch reads the base's flag)."""
    if t._base is not None and _stale_view(t):
        _refresh_view(t)
    return t._requires_grad


def _apply_recording(cls: type, args: tuple, kwargs: dict) -> Any:
    # Runs once per recorded op: attributes are read directly (not through properties) because
    # this bookkeeping is a visible share of a small model's step time.
    if STATE.inference:  # ``enable_grad`` inside ``inference_mode`` records nothing, as in PyTorch
        STATE.enabled = False
        try:
            return cls.forward(FunctionCtx(), *args, **kwargs)
        finally:
            STATE.enabled = True
    Tensor = _Tensor[0]
    node = cls._node_class()()
    needs, edges = [], []
    for a in args:
        if not isinstance(a, Tensor):
            needs.append(False)
            edges.append(_NOT_TENSOR)
        else:
            if a._base is not None and _stale_view(a):
                if a._no_grad_view & 1 and a._base._requires_grad:
                    # its base was written in grad mode: no history to redo it from (PyTorch's error)
                    from ember.autograd.inplace import NO_GRAD_VIEW_BASE_MSG

                    raise RuntimeError(NO_GRAD_VIEW_BASE_MSG)
                _refresh_view(a)  # its base was modified in place since its history was set
            if a._requires_grad:
                needs.append(True)
                fn = a.grad_fn
                edges.append((fn, a._output_nr) if fn is not None else (a._grad_accumulator(), 0))
            else:
                needs.append(False)
                edges.append(_NO_EDGE)
    if True not in needs:  # only a no_grad view whose base was detached since: nothing to record
        STATE.enabled = False
        try:
            return cls.forward(FunctionCtx(), *args, **kwargs)
        finally:
            STATE.enabled = True
    node.needs_input_grad = tuple(needs)
    node._edges = tuple(edges)
    prev = STATE.enabled
    STATE.enabled = False
    try:
        raw = cls.forward(node, *args, **kwargs)
    finally:
        STATE.enabled = prev
    outputs = raw if isinstance(raw, tuple) else (raw,)
    non_diff = node._non_differentiable
    metas = []
    for i, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            metas.append(None)
            continue
        metas.append((tuple(out._data.shape), out._dtype, out._device))
        if (non_diff and any(out is nd for nd in non_diff)) or not out._dtype.is_differentiable:
            continue
        if out._requires_grad and not any(out is d for d in node._dirty) and any(out is a for a in args):
            # forward returned an input unchanged: give the caller a fresh alias, as PyTorch does
            out = out._alias()
            outputs = outputs[:i] + (out,) + outputs[i + 1:]
        if out._no_grad_view:  # made while forward ran unrecorded: grad mode was on after all
            out._no_grad_view = 2 if out._no_grad_view == 3 else 0
        out._requires_grad = True
        out.grad_fn = node
        out._output_nr = i
    node._output_meta = tuple(metas)
    to_save = node.__dict__.pop("_to_save", None)
    if to_save and SAVED_TENSORS_HOOKS:
        node._saved = _pack_saved(to_save, node)
    elif to_save:
        saved = []
        for t in to_save:
            if t is None:
                saved.append(None)
                continue
            if not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {len(saved)} is of type {type(t).__name__}")
            if t._inference:
                raise RuntimeError(_INFERENCE_SAVED_MSG)
            if t.grad_fn is node:  # an output: saved as an alias, re-linked when unpacked
                t_saved = t._alias()
                t_saved._requires_grad = True
                t_saved._output_nr = t._output_nr  # which output it is: double backward must reach that one
                saved.append((t_saved, t._version[0], True))
            else:
                saved.append((t, t._version[0], False))
        node._saved = tuple(saved)
    return outputs if isinstance(raw, tuple) else outputs[0]


_INFERENCE_SAVED_MSG = (
    "Inference tensors cannot be saved for backward. Please do not use Tensors created in inference mode in "
    "computation tracked by autograd. To work around this, you can make a clone to get a normal tensor and use it "
    "in autograd, or use `torch.no_grad()` instead of `torch.inference_mode()`.")

# (pack, unpack) pairs of the active ``ember.autograd.graph.saved_tensors_hooks``, innermost last
SAVED_TENSORS_HOOKS: list = []
_PACKED = object()  # the version slot of a saved item that holds a pack hook's result


class _Packed:
    """What a pack hook returned (any object) and the unpack hook that turns it back into a tensor.
    ``_version`` is a list of its own, so in-place snapshots (autograd/inplace.py) leave it alone."""

    __slots__ = ("packed", "unpack_hook", "_version", "_data")

    def __init__(self, packed: Any, unpack_hook: Any) -> None:
        self.packed, self.unpack_hook = packed, unpack_hook
        self._version, self._data = [0], None


def _pack_saved(to_save: tuple, node: Any) -> tuple:
    """Saved tensors through the innermost pack hook: each item keeps the hook's result (any
    object) and the unpack hook that turns it back into a tensor when backward reads it."""
    pack, unpack = SAVED_TENSORS_HOOKS[-1]
    saved = []
    for t in to_save:
        if t is None:
            saved.append(None)
            continue
        if not isinstance(t, _Tensor[0]):
            raise TypeError(f"save_for_backward can only save variables, but argument {len(saved)} is of type "
                            f"{type(t).__name__}")
        if t._inference:
            raise RuntimeError(_INFERENCE_SAVED_MSG)
        saved.append((_Packed(pack(t), unpack), _PACKED, False))
    return tuple(saved)


def once_differentiable(fn):
    """Decorator for a ``backward`` that is not itself differentiable (PyTorch's name)."""
    import functools

    @functools.wraps(fn)
    def wrapper(ctx, *grads):
        with no_grad():
            return fn(ctx, *grads)

    return wrapper


_renamed_node_classes: dict = {}


def name_grad_fn(out: Any, name: str, *inputs: Any) -> Any:
    """Give ``out.grad_fn`` PyTorch's node name when ``out`` came from a composite of ember ops.

    A composite (``mse_loss`` as a mean of squares) ends in the node of its last step
    (``MeanBackward0``); programs print ``loss.grad_fn`` and tutorials show PyTorch's name
    (``MseLossBackward0``). The node keeps its behaviour: only its class is swapped for a
    same-layout subclass carrying the name. A node that belongs to one of ``inputs`` (the composite
    returned an input or its existing view) is left alone. Returns ``out``.

    Example:
        >>> import ember
        >>> x = ember.ones(2, requires_grad=True)
        >>> name_grad_fn(x * 2 + 0, "MyOpBackward0").grad_fn.name()
        'MyOpBackward0'
    """
    if not STATE.enabled:  # nothing was recorded (backward's own sums and views come through here)
        return out
    node = getattr(out, "grad_fn", None)
    if not isinstance(node, BackwardNode) or any(getattr(t, "grad_fn", None) is node for t in inputs):
        return out
    cls = type(node)
    key = (cls, name)
    renamed = _renamed_node_classes.get(key)
    if renamed is None:
        base = cls.__dict__.get("_named_from", cls)  # renaming a renamed node starts from its own class
        renamed = _renamed_node_classes[key] = type(name, (base,), {"__module__": base.__module__,
                                                                     "_named_from": base})
    node.__class__ = renamed
    return out


def grad_fn_name(name: str) -> Callable:
    """Decorator form of ``name_grad_fn`` for a composite whose first argument is its input:
    ``@grad_fn_name("MseLossBackward0")`` over ``mse_loss``. An in-place call (the result is the
    input) keeps its own node."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def named(input: Any, *args: Any, **kwargs: Any) -> Any:
            return name_grad_fn(fn(input, *args, **kwargs), name, input)

        return named

    return decorate
