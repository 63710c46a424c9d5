"""PyTorch-style ``repr`` of tensors: same number formats, wrapping, summarising and suffixes.

Example:
    >>> import ember
    >>> ember.tensor([1.5, 2.0], dtype=ember.float64)
    tensor([1.5000, 2.0000], dtype=ember.float64)
"""

from __future__ import annotations

import math
from typing import Any

from ember import dtypes as _dt

__all__ = ["tensor_repr", "set_printoptions"]

_opts = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}


def set_printoptions(precision: int | None = None, threshold: int | None = None, edgeitems: int | None = None,
                     linewidth: int | None = None, sci_mode: bool | None = None, profile: str | None = None) -> None:
    """As ``torch.set_printoptions``."""
    if profile == "default":
        _opts.update(precision=4, threshold=1000, edgeitems=3, linewidth=80)
    for k, v in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                 ("linewidth", linewidth)):
        if v is not None:
            _opts[k] = v
    _opts["sci_mode"] = sci_mode


def _summarise(values: Any, shape: tuple, edge: int) -> Any:
    """Nested lists with '...' where PyTorch elides."""
    if not shape:
        return values
    n = shape[0]
    if n > 2 * edge:
        head = [_summarise(v, shape[1:], edge) for v in values[:edge]]
        tail = [_summarise(v, shape[1:], edge) for v in values[-edge:]]
        return head + [Ellipsis] + tail
    return [_summarise(v, shape[1:], edge) for v in values]


def _flat(values: Any) -> list:
    if isinstance(values, list):
        out = []
        for v in values:
            out.extend(_flat(v))
        return out
    return [] if values is Ellipsis else [values]


class _Formatter:
    """PyTorch's ``_Formatter``: the mode and width come from the non-zero finite values only."""

    def __init__(self, values: list, dtype: _dt.dtype) -> None:
        self.floating = dtype.is_floating_point
        self.int_mode = True
        self.sci = False
        prec = _opts["precision"]
        if not self.floating:
            self.width = max((len(self._plain(v)) for v in values), default=1)
            return
        nz = [abs(v) for v in values if isinstance(v, float) and math.isfinite(v) and v != 0]
        for v in nz:
            if v != math.ceil(v):
                self.int_mode = False
                break
        if nz:
            amax, amin = max(nz), min(nz)
            if self.int_mode:
                self.sci = amax / amin > 1000.0 or amax > 1e8
            else:
                self.sci = amax / amin > 1000.0 or amax > 1e8 or amin < 1e-4
        if _opts["sci_mode"] is not None:
            self.sci = _opts["sci_mode"]
        self.fmt = f"{{:.{prec}e}}" if self.sci else ("{:.0f}." if self.int_mode else f"{{:.{prec}f}}")
        signed = [v for v in values if isinstance(v, float) and math.isfinite(v) and v != 0]
        self.width = max((len(self.format(v, pad=False)) for v in signed), default=1)

    @staticmethod
    def _plain(v: Any) -> str:
        return str(v) if not isinstance(v, bool) else ("True" if v else "False")

    def format(self, v: Any, pad: bool = True) -> str:
        if not self.floating:
            s = self._plain(v)
        elif math.isnan(v):
            s = "nan"
        elif math.isinf(v):
            s = "inf" if v > 0 else "-inf"
        else:
            s = self.fmt.format(v)
        return s.rjust(self.width) if pad else s


class _ComplexFormatter:
    """PyTorch's complex printing: the real and imaginary parts each get a ``_Formatter`` of their own
    values, and print as ``re+imj`` (the imaginary part's own sign, ``+`` when it has none)."""

    def __init__(self, values: list) -> None:
        self.re = _Formatter([v.real for v in values], _dt.float64)
        self.im = _Formatter([v.imag for v in values], _dt.float64)
        self.width = self.re.width + self.im.width + 1  # PyTorch's element length (+ "j")

    def format(self, v: Any, pad: bool = True) -> str:
        real_str = self.re.format(v.real, pad)
        imag_str = (self.im.format(v.imag) + "j").lstrip()
        return real_str + imag_str if imag_str[0] in "+-" else real_str + "+" + imag_str


def _render(values: Any, fmt: _Formatter, indent: int) -> str:
    if not isinstance(values, list):
        return fmt.format(values)
    if not values or not isinstance(values[0], list) and not (values[0] is Ellipsis and len(values) > 1 and isinstance(values[-1], list)):
        items = [" ..." if v is Ellipsis else fmt.format(v) for v in values]
        per_line = max(1, (_opts["linewidth"] - indent) // (fmt.width + 2))
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    depth = 1
    probe = values[0] if values[0] is not Ellipsis else values[-1]
    while isinstance(probe, list) and probe:
        depth += 1
        probe = probe[0]
    sep = "," + "\n" * (depth - 1) + " " * (indent + 1)
    parts = ["..." if v is Ellipsis else _render(v, fmt, indent + 1) for v in values]
    return "[" + sep.join(parts) + "]"


def tensor_body(t: Any, indent: int) -> str:
    """The bracketed values of ``t`` as its repr prints them, continuation lines indented by ``indent``
    (also the ``indices=`` and ``values=`` parts of a sparse tensor's repr)."""
    shape = tuple(t.shape)
    n = t.numel()
    if n == 0:
        return "[]"
    values = t.detach().cpu().tolist()
    if n > _opts["threshold"]:
        values = _summarise(values, shape, _opts["edgeitems"])
    flat = _flat(values) if shape else [values]
    fmt = _ComplexFormatter(flat) if t.dtype.is_complex else _Formatter(flat, t.dtype)
    return _render(values, fmt, indent)


def tensor_repr(t: Any, prefix: str = "tensor(") -> str:
    shape = tuple(t.shape)
    n = t.numel()
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    body = tensor_body(t, len(prefix))
    if n == 0 and shape != (0,):
        suffixes.append(f"size={tuple(shape)}")
    # an empty tensor names every dtype but the default float one (PyTorch's rule)
    default = {_dt.get_default_dtype()} if n == 0 else {
        _dt.get_default_dtype(), _dt.default_complex_dtype(), _dt.int64, _dt.bool_}
    if t.dtype not in default:
        suffixes.append(f"dtype={t.dtype}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, len(prefix))


def _add_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    """PyTorch's rule: a suffix that would pass the line width goes on a line of its own."""
    parts = [text]
    last = len(text) - text.rfind("\n") + 1  # PyTorch's count (one more than the line's length)
    for suffix in suffixes:
        if last + len(suffix) + 2 > _opts["linewidth"]:
            parts.append(",\n" + " " * indent + suffix)
            last = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last += len(suffix) + 2
    return "".join(parts) + ")"
