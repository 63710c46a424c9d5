"""Turn the recorded kernel calls into an ONNX graph (``onnx.helper`` nodes and initializers)."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ember.onnx import ExportError
from ember.onnx._trace import Call

_INT64_MAX = np.iinfo(np.int64).max
_CREATION = frozenset({"empty", "full", "arange", "from_host"})
_VIEWS = frozenset({"reshape", "permute", "slice", "expand"})
_EMBER_TO_ONNX = {"float32": TensorProto.FLOAT, "float64": TensorProto.DOUBLE, "float16": TensorProto.FLOAT16,
                  "bfloat16": TensorProto.BFLOAT16, "int64": TensorProto.INT64, "int32": TensorProto.INT32,
                  "int16": TensorProto.INT16, "int8": TensorProto.INT8, "uint8": TensorProto.UINT8,
                  "bool": TensorProto.BOOL}


def onnx_type(dtype: Any) -> int:
    """ONNX element type of an ember dtype or a NumPy-like dtype."""
    name = getattr(dtype, "name", None)
    if name in _EMBER_TO_ONNX:
        return _EMBER_TO_ONNX[name]
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


class Graph:
    """The ONNX graph under construction: values are named, arrays map to names by ``id``."""

    def __init__(self, host: Any, opset: int, dyn_sizes: dict[int, str], fold: bool) -> None:
        self.host = host                 # array -> numpy (the kernel table's to_host)
        self.opset = opset
        self.dyn_sizes = dyn_sizes       # traced size of a dynamic axis -> its symbolic name
        self.dyn_source: dict[int, tuple[str, int]] = {}  # that size -> (graph input, axis)
        self.fold = fold
        self.nodes: list = []
        self.initializers: list = []
        self.inputs: list = []
        self.names: dict[int, str] = {}  # id(array) -> value name
        self.derived: set[str] = set()   # values computed from the graph inputs
        self.params: set[str] = set()    # values that are (or come from) parameters
        self.dims: dict[str, tuple] = {}  # value name -> per-axis symbolic flag (derived values only)
        self.unavailable: dict[str, str] = {}  # value name -> why reading it cannot be exported
        self.views: dict[int, tuple] = {}  # id(view) -> (base array, view kernel, its argument)
        self._counter = 0
        self._consts: dict[tuple, str] = {}

    # ---- names ----------------------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        self._counter += 1
        return f"{hint}_{self._counter}"

    def add_input(self, array: Any, name: str, dims: tuple) -> None:
        self.names[id(array)] = name
        self.derived.add(name)
        self.dims[name] = tuple(d is not None and not isinstance(d, int) for d in dims)
        for axis in range(len(dims)):
            if self.dims[name][axis]:
                self.dyn_source.setdefault(int(array.shape[axis]), (name, axis))
        self.inputs.append(helper.make_tensor_value_info(name, onnx_type(array.dtype), dims))

    def add_initializer(self, value: np.ndarray, name: str, param: bool = False) -> str:
        # np.array(..., order="C"), not ascontiguousarray: that one makes 0-d arrays 1-d
        self.initializers.append(numpy_helper.from_array(np.array(value, order="C"), name))
        if param:
            self.params.add(name)
        return name

    def const(self, value: Any, dtype: Any = None) -> str:
        """A (shared) constant initializer: Python numbers and small shape/axes vectors."""
        arr = np.asarray(value, dtype=dtype)
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        name = self._consts.get(key)
        if name is None:
            name = self._consts[key] = self.add_initializer(arr, self.fresh("const"))
        return name

    def ints(self, values: Any) -> str:
        return self.const(np.asarray(list(values), dtype=np.int64))

    def name_of(self, array: Any) -> str:
        """The value name of an array, making arrays from outside the trace constants."""
        name = self.names.get(id(array))
        if name is None:
            name = self.add_initializer(np.asarray(self.host(array)), self.fresh("const"))
            self.names[id(array)] = name
        if name in self.unavailable:
            raise ExportError(self.unavailable[name])
        return name

    def operand(self, x: Any, like: Any) -> str:
        """An array's name, or a Python number as a 0-d constant of ``like``'s dtype."""
        if hasattr(x, "shape"):
            return self.name_of(x)
        return self.const(x, dtype=np.dtype(like.dtype))

    def node(self, op: str, inputs: list, n_out: int = 1, **attrs: Any) -> Any:
        outs = [self.fresh(op) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, **attrs))
        return outs[0] if n_out == 1 else outs

    def runtime_dim(self, size: int) -> str:
        """A 1-element int64 value holding, at run time, the size traced as ``size`` (a dynamic axis)."""
        key = ("dim", size)
        if key not in self._consts:
            name, axis = self.dyn_source[size]
            self._consts[key] = self.node("Slice", [self.node("Shape", [name]), self.ints([axis]),
                                                    self.ints([axis + 1])])
        return self._consts[key]

    def shape_value(self, spec: list, runtime: set) -> str:
        """A shape input: constants, except the positions in ``runtime`` (sizes of dynamic axes)."""
        if not runtime:
            return self.ints(spec)
        parts = [self.runtime_dim(int(s)) if i in runtime else self.ints([s]) for i, s in enumerate(spec)]
        return self.node("Concat", parts, axis=0)

    def is_dynamic(self, array: Any, axis: int) -> bool:
        flags = self.dims.get(self.names.get(id(array), ""), ())
        return axis < len(flags) and flags[axis]

    # ---- calls ----------------------------------------------------------------------------------
    def arrays_in(self, args: Any) -> list:
        found = []
        for a in args:
            if isinstance(a, (list, tuple)):
                found += self.arrays_in(a)
            elif hasattr(a, "shape") and hasattr(a, "dtype"):
                found.append(a)
        return found

    def add_call(self, call: Call, mapping: dict) -> None:
        ins = self.arrays_in((*call.args, *call.kwargs.values()))
        outs = list(call.out) if isinstance(call.out, tuple) else [call.out]
        if call.kernel == "copy_":
            self._copy_into(call)
            return
        if call.kernel in _VIEWS and call.out is not call.args[0]:
            self.views[id(call.out)] = (call.args[0], call.kernel, call.args[1])
        if call.kernel in _CREATION or (ins and self.fold and self._static(ins)):
            self._constant_outputs(call, outs)
            return
        mapper = mapping.get(call.kernel)
        if mapper is None or isinstance(mapper, str):
            why = f": {mapper}" if isinstance(mapper, str) else ""
            raise ExportError(f"ember.onnx.export: kernel {call.kernel!r} (run by module {call.module or 'the model'}) "
                              f"has no ONNX mapping{why}")
        before = {id(a) for a in ins}
        names = mapper(self, *call.args, **call.kwargs, out=call.out)
        names = list(names) if isinstance(names, (list, tuple)) else [names]
        derived = any(self.names.get(id(a)) in self.derived for a in ins)
        from_param = any(self.names.get(id(a)) in self.params for a in ins)
        for arr, name in zip(outs, names, strict=False):
            if not hasattr(arr, "shape") or id(arr) in before:  # a kernel returning its input: same value
                continue
            if name is None:  # an output with no ONNX counterpart (max_pool2d's indices...)
                self.names[id(arr)] = self._unavailable(
                    f"ember.onnx.export: an output of kernel {call.kernel!r} (run by module "
                    f"{call.module or 'the model'}) has no ONNX counterpart, and the model uses it")
                continue
            self.names[id(arr)] = name
            if derived:
                self.derived.add(name)
                self.dims[name] = tuple(int(s) in self.dyn_sizes for s in arr.shape)
            if from_param:
                self.params.add(name)

    def _static(self, ins: list) -> bool:
        """True when every input is a plain constant (neither from the inputs nor a parameter)."""
        names = [self.names.get(id(a)) for a in ins]
        return all(n is None or (n not in self.derived and n not in self.params) for n in names)

    def _constant_outputs(self, call: Call, outs: list) -> None:
        shape = [int(s) for s in getattr(call.out, "shape", ())]
        if call.kernel == "full" and 0 not in shape and any(s in self.dyn_source for s in shape):
            self._dynamic_full(call)
            return
        for arr in outs:
            if not hasattr(arr, "shape"):
                continue
            value = np.asarray(self.host(arr))
            if call.kernel == "empty":  # uninitialised memory: zeros make the graph deterministic
                value = np.zeros_like(value)
            self.names[id(arr)] = self.add_initializer(value, self.fresh(call.kernel))

    def _dynamic_full(self, call: Call) -> None:
        """``full`` of a shape holding a dynamic size (an RNN's zero state...): ConstantOfShape of a shape
        read from the graph input that has that axis, so it follows the input's size."""
        out = call.out
        shape = self.shape_value([int(s) for s in out.shape],
                                 {i for i, s in enumerate(out.shape) if int(s) in self.dyn_source})
        value = numpy_helper.from_array(np.asarray(self.host(out)).reshape(-1)[:1].copy(), "value")
        name = self.node("ConstantOfShape", [shape], value=value)
        self.names[id(out)] = name
        self.derived.add(name)
        self.dims[name] = tuple(int(s) in self.dyn_sizes for s in out.shape)

    def _unavailable(self, why: str) -> str:
        name = self.fresh("unavailable")
        self.unavailable[name] = why
        return name

    def _copy_into(self, call: Call) -> None:
        """``copy_(dst, src)`` (every in-place op's last step): ``dst`` names a new value from now on, and
        so does each array ``dst`` is a view of (Reshape / Transpose back, ScatterND into a slice)."""
        dst, src = call.args
        value = self.operand(src, dst)
        if tuple(getattr(src, "shape", ())) != tuple(dst.shape):
            value = self.node("Expand", [value, self.ints(dst.shape)])
        self._rebind(dst, value)
        rebound = {id(dst)}
        while id(dst) in self.views:
            base, kind, arg = self.views[id(dst)]
            value = self._write_back(base, kind, arg, value, call)
            self._rebind(base, value)
            dst = base
            rebound.add(id(base))
        self._stale_views(rebound, call)

    def _write_back(self, base: Any, kind: str, arg: Any, value: str, call: Call) -> str:
        """The new value of ``base`` after its view (``kind`` of ``arg``) was set to ``value``."""
        if kind == "reshape":
            return self.node("Reshape", [value, self.ints(base.shape)])
        if kind == "permute":
            return self.node("Transpose", [value], perm=[int(i) for i in np.argsort(arg)])
        if kind == "slice":
            axes = [np.arange(start, stop, step) for start, stop, step in arg]
            idx = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).astype(np.int64)
            out = self.node("ScatterND", [self.name_of(base), self.const(idx), value])
            if self.names.get(id(base)) in self.derived:
                self.derived.add(out)
            return out
        raise ExportError(f"ember.onnx.export: kernel 'copy_' (run by module {call.module or 'the model'}) writes "
                          f"through a view made by {kind!r}, which an ONNX graph cannot express")

    def _rebind(self, array: Any, value: str) -> None:
        self.names[id(array)] = value
        if value in self.derived:
            self.dims[value] = tuple(int(s) in self.dyn_sizes for s in array.shape)

    def _stale_views(self, rebound: set, call: Call) -> None:
        """Other views of a rewritten array now show the write: reading them is refused (rare in inference)."""
        stale = set(rebound)
        changed = True
        while changed:
            changed = False
            for vid, (base, _, _) in self.views.items():
                if id(base) in stale and vid not in stale:
                    stale.add(vid)
                    changed = True
                    if vid not in rebound:
                        self.names[vid] = self._unavailable(
                            f"ember.onnx.export: the model reads a view of an array written in place (by module "
                            f"{call.module or 'the model'}) after the write, which the export cannot follow")

    def model(self, outputs: list[tuple[Any, str, tuple]], producer: str) -> onnx.ModelProto:
        infos = []
        for array, name, dims in outputs:
            src = self.name_of(array)
            self.nodes.append(helper.make_node("Identity", [src], [name]))
            infos.append(helper.make_tensor_value_info(name, onnx_type(array.dtype), dims))
        used = {i for n in self.nodes for i in n.input}
        inits = [t for t in self.initializers if t.name in used]  # num_batches_tracked, folded leftovers...
        graph = helper.make_graph(self.nodes, "ember", self.inputs, infos, inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                                 producer_name="ember", producer_version=producer)
