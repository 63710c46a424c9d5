"""Run the model under the tracer and assemble the ONNX model from what it recorded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import onnx

from ember.onnx import ExportError
from ember.onnx._graph import Graph
from ember.onnx._ops import MAPPING
from ember.onnx._trace import tracing


def _tensors(obj: Any) -> list:
    """The tensors of a (nested) tuple/list/dict, in order."""
    from ember.tensor import Tensor

    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _tensors(o)]
    if isinstance(obj, Mapping):
        return [t for o in obj.values() for t in _tensors(o)]
    return []


def _axes(spec: Any, name: str) -> dict[int, str]:
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        return {int(k): str(v) for k, v in spec.items()}
    return {int(k): f"{name}_dynamic_axes_{int(k) + 1}" for k in spec}


def _names(given: Any, n: int, prefix: str) -> list[str]:
    given = list(given or [])
    return given[:n] + [f"{prefix}_{i}" for i in range(len(given), n)]


def build(model: Any, args: tuple, kwargs: dict, *, export_params: bool, input_names: Any, output_names: Any,
          opset: int, dynamic_axes: Mapping, fold: bool, keep_initializers_as_inputs: bool) -> onnx.ModelProto:
    import ember

    inputs = _tensors((args, kwargs))
    in_names = _names(input_names, len(inputs), "input")
    first = inputs[0] if inputs else next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
    kt = first._kt if first is not None else ember.dispatch.table("cpu")
    # symbolic sizes: traced size -> axis name (a size no static axis shares is the safest to trace with)
    dyn_sizes: dict[int, str] = {}
    for t, name in zip(inputs, in_names, strict=True):
        for axis, label in _axes(dynamic_axes.get(name), name).items():
            dyn_sizes.setdefault(int(t.shape[axis]), label)
    to_host = kt["to_host"]
    g = Graph(lambda a: a if isinstance(a, np.ndarray) else to_host(a), opset, dyn_sizes, fold)
    for t, name in zip(inputs, in_names, strict=True):
        axes = _axes(dynamic_axes.get(name), name)
        g.add_input(t._data, name, tuple(axes.get(i, int(s)) for i, s in enumerate(t.shape)))
    _add_state(g, model, export_params)

    with ember.no_grad(), tracing(model) as tracer:
        result = model(*args, **kwargs)
    outputs = _tensors(result)
    if not outputs:
        raise ExportError("ember.onnx.export: the model returned no tensor")
    out_names = _names(output_names, len(outputs), "output")
    for call in tracer.calls:
        g.add_call(call, MAPPING)
    specs = []
    for t, name in zip(outputs, out_names, strict=True):
        axes = _axes(dynamic_axes.get(name), name)
        dims = tuple(axes.get(i, g.dyn_sizes.get(int(s)) if g.is_dynamic(t._data, i) else int(s))
                     for i, s in enumerate(t.shape))
        specs.append((t._data, name, dims))
    proto = g.model(specs, ember.__version__)
    if keep_initializers_as_inputs:  # the old IR-3 layout some tools still expect
        proto.graph.input.extend(onnx.helper.make_tensor_value_info(t.name, t.data_type, t.dims)
                                  for t in proto.graph.initializer)
    onnx.checker.check_model(proto)
    return proto


def _add_state(g: Graph, model: Any, export_params: bool) -> None:
    """Parameters and buffers: initializers named by their state_dict keys (graph inputs without
    ``export_params``); a tensor shared under several keys keeps its first name."""
    if not hasattr(model, "state_dict"):
        return
    for key, t in model.state_dict(keep_vars=True).items():
        if t is None or id(t._data) in g.names:
            continue
        if export_params:
            g.add_initializer(np.asarray(g.host(t._data)), key, param=True)
        else:
            g.inputs.append(onnx.helper.make_tensor_value_info(key, _onnx_type(t), tuple(t.shape)))
            g.params.add(key)
        g.names[id(t._data)] = key


def _onnx_type(t: Any) -> int:
    from ember.onnx._graph import onnx_type

    return onnx_type(t.dtype)
