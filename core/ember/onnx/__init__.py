"""``ember.onnx``: export a model to ONNX, as ``torch.onnx.export``.

The export traces at the kernel level: the model runs once on the example inputs (under
``no_grad``, in eval mode) while every kernel call is recorded, and each kernel becomes one or a
few ONNX nodes. Parameters and buffers become initializers named by their ``state_dict`` keys. The
``onnx`` package builds and checks the model (``pip install 'ember[onnx]'``).

Example:
    >>> import io, ember
    >>> from ember import nn
    >>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    >>> buf = io.BytesIO()
    >>> proto = ember.onnx.export(model, ember.randn(2, 4), buf, input_names=["x"], output_names=["y"],
    ...                           dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    >>> [n.op_type for n in proto.graph.node]
    ['Transpose', 'MatMul', 'Add', 'Relu', 'Identity']
    >>> sorted(i.name for i in proto.graph.initializer)
    ['0.bias', '0.weight']
    >>> len(buf.getvalue()) > 0
    True
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["export", "is_in_onnx_export", "dynamo_export", "ExportError", "DEFAULT_OPSET"]

#: the opset written when ``opset_version`` is not given (PyTorch's TorchScript exporter's default)
DEFAULT_OPSET = 17
_MIN_OPSET = 13
_exporting = False


class ExportError(RuntimeError):
    """Raised for a model ember cannot express in ONNX; the message names the kernel and the module."""


def is_in_onnx_export() -> bool:
    """True while :func:`export` runs the model to trace it."""
    return _exporting


def dynamo_export(*args: Any, **kwargs: Any) -> Any:
    """Not available: ember has no dynamo; use :func:`export`."""
    raise NotImplementedError("ember.onnx.dynamo_export is not available: ember has no dynamo; use ember.onnx.export")


def export(model: Any, args: Any = (), f: Any = None, export_params: bool = True, verbose: bool = False,
           input_names: Sequence[str] | None = None, output_names: Sequence[str] | None = None,
           opset_version: int | None = None,
           dynamic_axes: Mapping[str, Mapping[int, str] | Sequence[int]] | None = None,
           do_constant_folding: bool = True, kwargs: dict | None = None, *, training: Any = None,
           keep_initializers_as_inputs: bool = False, **ignored: Any) -> Any:
    """Export ``model`` run on ``args`` to the ONNX file (path or binary file object) ``f``.

    ``args`` is a tensor or a tuple of positional arguments (a trailing dict holds keyword
    arguments, as in PyTorch); tensors among them become the graph's inputs, named by
    ``input_names`` (else ``input_0``...). ``dynamic_axes`` maps an input or output name to the
    axes that may change size (a list, or ``{axis: name}``). The file is written only once the model
    passes ``onnx.checker``, through a temporary file, so a failed export leaves no half-written
    file. Returns the ``onnx.ModelProto`` (PyTorch returns None). Raises :class:`ExportError` for a
    kernel with no ONNX mapping, naming the kernel and the module that ran it.

    >>> import io, ember
    >>> _ = ember.onnx.export(ember.nn.Linear(2, 2), ember.ones(1, 2), io.BytesIO())
    """
    global _exporting
    try:
        import onnx  # noqa: F401 - a clear message before anything runs
    except ImportError as err:
        raise ImportError("ember.onnx.export needs the onnx package: pip install 'ember[onnx]' "
                          "(or pip install onnx)") from err
    from ember.onnx import _build

    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if opset < _MIN_OPSET:
        raise ValueError(f"ember.onnx.export supports opset_version >= {_MIN_OPSET}, got {opset}")
    positional, kw = _split_args(args, kwargs)
    was_training = [(m, m.training) for m in model.modules()] if hasattr(model, "modules") else []
    if hasattr(model, "eval") and not _wants_training(training):
        model.eval()
    _exporting = True
    try:
        proto = _build.build(model, positional, kw, export_params=export_params, input_names=input_names,
                             output_names=output_names, opset=opset, dynamic_axes=dynamic_axes or {},
                             fold=do_constant_folding, keep_initializers_as_inputs=keep_initializers_as_inputs)
    finally:
        _exporting = False
        for m, mode in was_training:
            m.training = mode
    if verbose:
        print(onnx.helper.printable_graph(proto.graph))
    if f is not None:
        _write(proto.SerializeToString(), f)
    return proto


def _wants_training(training: Any) -> bool:
    """TrainingMode.TRAINING and PRESERVE keep the model's mode; None and EVAL export in eval mode."""
    return training is not None and any(w in str(training).upper() for w in ("TRAINING", "PRESERVE"))


def _split_args(args: Any, kwargs: dict | None) -> tuple[tuple, dict]:
    if not isinstance(args, tuple):
        args = (args,)
    kw = dict(kwargs or {})
    if args and isinstance(args[-1], dict):
        kw.update(args[-1])
        args = args[:-1]
    return args, kw


def _write(data: bytes, f: Any) -> None:
    """Write whole or not at all: to a temporary file beside the target, then renamed over it."""
    if hasattr(f, "write"):
        f.write(data)
        return
    path = os.fspath(f)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".ember-onnx-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
