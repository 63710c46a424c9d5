"""PyTorch-style ``repr`` of tensors: same number formats, wrapping, summarising and suffixes.

Example:
    >>> import ember
    >>> ember.tensor([1.5, 2.0], dtype=ember.float64)
    tensor([1.5000, 2.0000], dtype=ember.float64)
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any

from ember import dtypes as _dt

__all__ = ["tensor_repr", "set_printoptions", "get_printoptions", "printoptions", "PRINT_OPTS"]


@dataclasses.dataclass
class _PrinterOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrinterOptions()

# the settings each ``profile=`` name restores before the explicit arguments apply (PyTorch's table)
_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}


def set_printoptions(precision: int | None = None, threshold: float | None = None, edgeitems: int | None = None,
                     linewidth: int | None = None, profile: str | None = None,
                     sci_mode: bool | None = None) -> None:
    """As ``torch.set_printoptions``: a ``profile`` resets the four sizes first (an unknown name
    resets nothing), the explicit arguments then win, and ``sci_mode`` is always replaced."""
    for name, value in _PROFILES.get(profile, {}).items():
        setattr(PRINT_OPTS, name, value)
    for name, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                        ("linewidth", linewidth)):
        if value is not None:
            setattr(PRINT_OPTS, name, value)
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """The current options as keyword arguments for :func:`set_printoptions`."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs: Any):
    """Change the print options for the ``with`` block only."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


def _summarized_flat(values: Any, ndim: int) -> list:
    """The values PyTorch's ``get_summarized_data`` hands the formatter, flattened. Its quirks are
    kept: with ``edgeitems=0`` a vector keeps all its values (``v[-0:]`` is the whole vector) while
    a matrix or higher keeps none."""
    edge = PRINT_OPTS.edgeitems
    if ndim == 0:
        return [values]
    if ndim == 1:
        return values[:edge] + values[-edge:] if len(values) > 2 * edge else list(values)
    if not edge:
        return []
    rows = values[:edge] + values[-edge:] if len(values) > 2 * edge else values
    out: list = []
    for row in rows:
        out.extend(_summarized_flat(row, ndim - 1))
    return out


def _flat(values: Any, ndim: int) -> list:
    if ndim == 0:
        return [values]
    if ndim == 1:
        return list(values)
    out: list = []
    for row in values:
        out.extend(_flat(row, ndim - 1))
    return out


class _Formatter:
    """PyTorch's ``_Formatter``: the mode and width come from the non-zero finite values only."""

    def __init__(self, values: list, floating: bool) -> None:
        self.floating = floating
        self.int_mode = True
        self.sci = False
        self.width = 1
        prec = PRINT_OPTS.precision
        if not floating:
            self.width = max([1] + [len(self._plain(v)) for v in values])
            return
        nz = [v for v in values if math.isfinite(v) and v != 0]
        if not nz:
            return
        self.int_mode = all(v == math.ceil(v) for v in nz)
        amax, amin = max(abs(v) for v in nz), min(abs(v) for v in nz)
        if PRINT_OPTS.sci_mode is None:
            self.sci = amax / amin > 1000.0 or amax > 1e8 or amin < 1e-4
        else:
            self.sci = PRINT_OPTS.sci_mode
        if self.sci:
            self.width = max([1] + [len(f"{v:.{prec}e}") for v in nz])
        elif self.int_mode:
            self.width = max([1] + [len(f"{v:.0f}") + 1 for v in nz])
        else:
            self.width = max([1] + [len(f"{v:.{prec}f}") for v in nz])

    @staticmethod
    def _plain(v: Any) -> str:
        return f"{v}"

    def format(self, v: Any) -> str:
        prec = PRINT_OPTS.precision
        if not self.floating:
            s = self._plain(v)
        elif self.sci:
            s = f"{v:{self.width}.{prec}e}"
        elif self.int_mode:
            s = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            s = f"{v:.{prec}f}"
        return s.rjust(self.width)


class _ComplexFormatter:
    """PyTorch's complex printing: the real and imaginary parts each get a ``_Formatter`` of their own
    values, and print as ``re+imj`` (the imaginary part's own sign, ``+`` when it has none)."""

    def __init__(self, values: list) -> None:
        self.re = _Formatter([v.real for v in values], True)
        self.im = _Formatter([v.imag for v in values], True)
        self.width = self.re.width + self.im.width + 1  # PyTorch's element length (+ "j")

    def format(self, v: Any) -> str:
        real_str = self.re.format(v.real)
        imag_str = (self.im.format(v.imag) + "j").lstrip()
        return real_str + imag_str if imag_str[0] in "+-" else real_str + "+" + imag_str


def _vector_str(values: list, fmt: Any, indent: int, summarize: bool) -> str:
    edge = PRINT_OPTS.edgeitems
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / (fmt.width + 2)))
    if summarize and not edge:
        items = ["..."]
    elif summarize and len(values) > 2 * edge:
        items = [fmt.format(v) for v in values[:edge]] + [" ..."] + [fmt.format(v) for v in values[-edge:]]
    else:
        items = [fmt.format(v) for v in values]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _render(values: Any, ndim: int, fmt: Any, indent: int, summarize: bool) -> str:
    if ndim == 0:
        return fmt.format(values)
    if ndim == 1:
        return _vector_str(values, fmt, indent, summarize)
    edge = PRINT_OPTS.edgeitems
    if summarize and len(values) > 2 * edge:
        head = [_render(v, ndim - 1, fmt, indent + 1, summarize) for v in values[:edge]]
        tail = [_render(v, ndim - 1, fmt, indent + 1, summarize) for v in values[len(values) - edge:]]
        parts = head + ["..."] + tail
    else:
        parts = [_render(v, ndim - 1, fmt, indent + 1, summarize) for v in values]
    return "[" + ("," + "\n" * (ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def tensor_body(t: Any, indent: int) -> str:
    """The bracketed values of ``t`` as its repr prints them, continuation lines indented by ``indent``
    (also the ``indices=`` and ``values=`` parts of a sparse tensor's repr)."""
    if t.numel() == 0:
        return "[]"
    ndim = t.dim()
    values = t.detach().cpu().tolist()
    summarize = t.numel() > PRINT_OPTS.threshold
    flat = _summarized_flat(values, ndim) if summarize else _flat(values, ndim)
    fmt = _ComplexFormatter(flat) if t.dtype.is_complex else _Formatter(flat, t.dtype.is_floating_point)
    return _render(values, ndim, fmt, indent, summarize)


def tensor_repr(t: Any, prefix: str = "tensor(") -> str:
    shape = tuple(t.shape)
    n = t.numel()
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    if t.device.type == "meta":  # no values to print: PyTorch prints "..." with the size and dtype
        suffixes.append(f"size={shape}")
        if t.dtype != _dt.get_default_dtype():
            suffixes.append(f"dtype={t.dtype}")
        return _add_suffixes(prefix + "...", suffixes + _autograd_suffixes(t), len(prefix))
    body = tensor_body(t, len(prefix))
    if n == 0:
        if len(shape) != 1:
            suffixes.append(f"size={shape}")
    elif not PRINT_OPTS.edgeitems:
        suffixes.append(f"size={shape}")
    # an empty tensor names every dtype but the default float one (PyTorch's rule)
    default = {_dt.get_default_dtype()} if n == 0 else {
        _dt.get_default_dtype(), _dt.default_complex_dtype(), _dt.int64, _dt.bool_}
    if t.dtype not in default:
        suffixes.append(f"dtype={t.dtype}")
    return _add_suffixes(prefix + body, suffixes + _autograd_suffixes(t), len(prefix))


def _autograd_suffixes(t: Any) -> list[str]:
    if t.grad_fn is not None:
        return [f"grad_fn=<{t.grad_fn.name()}>"]
    return ["requires_grad=True"] if t.requires_grad else []


def _add_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    """PyTorch's rule: a suffix that would pass the line width goes on a line of its own."""
    parts = [text]
    last = len(text) - text.rfind("\n") + 1  # PyTorch's count (one more than the line's length)
    for suffix in suffixes:
        if last + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last += len(suffix) + 2
    return "".join(parts) + ")"
