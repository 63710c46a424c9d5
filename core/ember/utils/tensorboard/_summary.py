"""``Summary`` protocol buffers for scalars, histograms, images, text and hparams.

The layouts are TensorBoard's own (the ones its plugins read, and PyTorch's writer produces):
``simple_value`` scalars, ``HistogramProto`` with right bucket edges, PNG-encoded images, the
text plugin's string tensor and the hparams plugin's three session records. Only called from
:mod:`ember.utils.tensorboard.writer`, after :func:`require_tensorboard` succeeded.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np


def require_tensorboard() -> None:
    """Import ``tensorboard`` or raise an ImportError that says how to install it."""
    try:
        import tensorboard  # noqa: F401
        from tensorboard.compat.proto import summary_pb2  # noqa: F401
    except ImportError as e:
        raise ImportError(
            "ember.utils.tensorboard needs the 'tensorboard' package (its event-file writer and protocol "
            "buffers): pip install 'ember[tensorboard]' (or: pip install tensorboard)") from e


def to_numpy(x: Any) -> np.ndarray:
    """An ember tensor (any device), a NumPy array or a Python number, as a host array."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        return np.asarray(x.detach().cpu().numpy())
    return np.asarray(x)


def scalar(tag: str, value: Any) -> Any:
    from tensorboard.compat.proto.summary_pb2 import Summary

    arr = to_numpy(value).squeeze()
    if arr.ndim != 0:
        raise ValueError(f"add_scalar expects one value, got an array of shape {tuple(arr.shape)} for {tag!r}")
    return Summary(value=[Summary.Value(tag=tag, simple_value=float(arr))])


def default_bins() -> list[float]:
    """TensorFlow's default histogram edges: +-1e-12 growing by 10% to 1e20, and 0."""
    v, pos = 1e-12, []
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    return [-x for x in reversed(pos)] + [0.0] + pos


def histogram(tag: str, values: Any, bins: Any, max_bins: int | None = None) -> Any:
    from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary

    vals = to_numpy(values).astype(np.float64).reshape(-1)
    if vals.size == 0:
        raise ValueError(f"add_histogram: {tag!r} has no elements")
    if not np.isfinite(vals).all():
        raise ValueError(f"add_histogram: {tag!r} holds NaN or infinite values")
    counts, limits = np.histogram(vals, bins=default_bins() if isinstance(bins, str) and bins == "tensorflow"
                                  else bins)
    if max_bins is not None and len(counts) > max_bins:  # merge neighbouring buckets
        group = math.ceil(len(counts) / max_bins)
        pad = (-len(counts)) % group
        counts = np.pad(counts, (0, pad)).reshape(-1, group).sum(axis=1)
        limits = np.append(limits[:-1:group], limits[-1])
    # TensorBoard stores right edges only: keep the occupied range plus one empty bucket on the left.
    nonzero = np.nonzero(counts)[0]
    first, last = int(nonzero[0]), int(nonzero[-1])
    kept_counts = np.concatenate([[0], counts[first:last + 1]]) if first == 0 else counts[first - 1:last + 1]
    kept_limits = limits[first:last + 2]
    hist = HistogramProto(min=float(vals.min()), max=float(vals.max()), num=int(vals.size), sum=float(vals.sum()),
                          sum_squares=float(vals.dot(vals)), bucket_limit=kept_limits.tolist(),
                          bucket=kept_counts.astype(np.float64).tolist())
    return Summary(value=[Summary.Value(tag=tag, histo=hist)])


def _grid(nchw: np.ndarray) -> np.ndarray:
    """Images (N, C, H, W) tiled into one (C, H', W') image, up to 8 per row, 2 px apart."""
    n, c, h, w = nchw.shape
    cols = min(n, 8)
    rows = math.ceil(n / cols)
    out = np.zeros((c, rows * (h + 2) - 2, cols * (w + 2) - 2), dtype=nchw.dtype)
    for i in range(n):
        r, q = divmod(i, cols)
        out[:, r * (h + 2):r * (h + 2) + h, q * (w + 2):q * (w + 2) + w] = nchw[i]
    return out


def to_hwc(arr: np.ndarray, dataformats: str) -> np.ndarray:
    """An image array in ``dataformats`` (NCHW, NHWC, CHW, HWC, HW) as (H, W, 3 or 4)."""
    fmt = dataformats.upper()
    if len(set(fmt)) != len(fmt) or arr.ndim != len(fmt):
        raise ValueError(f"image of shape {tuple(arr.shape)} does not match dataformats={dataformats!r}")
    if len(fmt) == 4:
        arr = _grid(arr.transpose([fmt.index(ch) for ch in "NCHW"]))
        fmt = "CHW"
    if len(fmt) == 3:
        arr = arr.transpose([fmt.index(ch) for ch in "HWC"])
    else:
        arr = arr.transpose([fmt.index(ch) for ch in "HW"])[:, :, None]
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if arr.shape[2] not in (3, 4):
        raise ValueError(f"an image needs 1, 3 or 4 channels, got {arr.shape[2]}")
    return arr


def image(tag: str, img: Any, dataformats: str) -> Any:
    from PIL import Image
    from tensorboard.compat.proto.summary_pb2 import Summary

    arr = to_hwc(to_numpy(img), dataformats)
    # As PyTorch: uint8 is taken as 0..255, anything else as 0..1.
    scale = 1 if arr.dtype == np.uint8 else 255
    pixels = (arr.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    h, w, c = pixels.shape
    return Summary(value=[Summary.Value(tag=tag, image=Summary.Image(height=h, width=w, colorspace=c,
                                                                     encoded_image_string=buf.getvalue()))])


def text(tag: str, string: str) -> Any:
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboard.plugins.text.plugin_data_pb2 import TextPluginData

    meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(
        plugin_name="text", content=TextPluginData(version=0).SerializeToString()))
    tensor = TensorProto(dtype="DT_STRING", string_val=[string.encode("utf-8")],
                         tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]))
    return Summary(value=[Summary.Value(tag=tag + "/text_summary", metadata=meta, tensor=tensor)])


def _plugin_summary(tag: str, **content: Any) -> Any:
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.plugins.hparams.metadata import PLUGIN_DATA_VERSION, PLUGIN_NAME
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    data = HParamsPluginData(version=PLUGIN_DATA_VERSION, **content).SerializeToString()
    meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name=PLUGIN_NAME, content=data))
    return Summary(value=[Summary.Value(tag=tag, metadata=meta)])


def hparams(hparam_dict: dict, metric_dict: dict, domains: dict | None = None) -> tuple[Any, Any, Any]:
    """The hparams plugin's experiment, session-start and session-end summaries."""
    from google.protobuf import struct_pb2
    from tensorboard.plugins.hparams import metadata
    from tensorboard.plugins.hparams.api_pb2 import DataType, Experiment, HParamInfo, MetricInfo, MetricName, Status
    from tensorboard.plugins.hparams.plugin_data_pb2 import SessionEndInfo, SessionStartInfo

    domains = domains or {}
    start, infos = SessionStartInfo(), []
    for name, value in hparam_dict.items():
        if value is None:
            continue
        if hasattr(value, "detach"):  # a one-element tensor
            value = float(to_numpy(value).reshape(-1)[0])
        # bool before int/float: a bool is an int in Python.
        if isinstance(value, bool):
            start.hparams[name].bool_value, kind, field = value, "DATA_TYPE_BOOL", "bool_value"
        elif isinstance(value, (int, float)):
            start.hparams[name].number_value, kind, field = value, "DATA_TYPE_FLOAT64", "number_value"
        elif isinstance(value, str):
            start.hparams[name].string_value, kind, field = value, "DATA_TYPE_STRING", "string_value"
        else:
            raise ValueError(f"hparam {name!r}: value should be one of int, float, str, bool, or a tensor, "
                             f"got {type(value).__name__}")
        domain = None
        if name in domains:
            domain = struct_pb2.ListValue(values=[struct_pb2.Value(**{field: d}) for d in domains[name]])
        infos.append(HParamInfo(name=name, type=DataType.Value(kind), domain_discrete=domain))
    experiment = Experiment(hparam_infos=infos, metric_infos=[MetricInfo(name=MetricName(tag=k)) for k in metric_dict])
    return (_plugin_summary(metadata.EXPERIMENT_TAG, experiment=experiment),
            _plugin_summary(metadata.SESSION_START_INFO_TAG, session_start_info=start),
            _plugin_summary(metadata.SESSION_END_INFO_TAG,
                            session_end_info=SessionEndInfo(status=Status.Value("STATUS_SUCCESS"))))
