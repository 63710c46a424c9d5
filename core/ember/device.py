"""Device identifiers: ``"cpu"``, ``"cuda:0"``, ``"opencl:1"`` or any registered type.

Example:
    >>> import ember
    >>> ember.device("opencl:1")
    device(type='opencl', index=1)
    >>> str(ember.device("cpu"))
    'cpu'
"""

from __future__ import annotations

__all__ = ["device"]

#: PyTorch's device types (c10 ``DeviceType`` names), in the order its device-string error lists them
TORCH_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia",
                      "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


def check_device_type(device_type: str, allow_index: bool = True) -> None:
    """PyTorch's RuntimeError for a name that is no device type: neither one of PyTorch's nor a
    registered plugin's. ``allow_index`` accepts ``"cuda:0"`` as its type."""
    name = device_type.partition(":")[0] if allow_index else device_type
    if name in TORCH_DEVICE_TYPES:
        return
    from ember import plugins

    if name not in plugins.device_types():
        raise RuntimeError(f"Expected one of {', '.join(TORCH_DEVICE_TYPES)} device type at start of device string: "
                           f"{device_type}")


class device:
    """A device type plus an optional index, parsed from ``"type"`` or ``"type:index"``."""

    __slots__ = ("type", "index", "_hash")

    def __init__(self, type_or_str: str | device, index: int | None = None):
        if isinstance(type_or_str, device):
            if index is not None:
                raise ValueError("ember.device(device, index) takes no index")
            self.type, self.index = type_or_str.type, type_or_str.index
        elif isinstance(type_or_str, str):
            text = type_or_str.strip()
            if ":" in text:
                if index is not None:
                    raise ValueError(f"type (string) must not include an index because index was passed explicitly: {text}")
                kind, _, idx = text.partition(":")
                if not idx.isdigit():
                    raise ValueError(f"Invalid device string: '{type_or_str}' (expected 'type' or 'type:index')")
                index = int(idx)
                text = kind
            if not text or not text.replace("_", "").isalnum():
                raise ValueError(f"Invalid device string: '{type_or_str}'")
            self.type, self.index = text, index
        else:
            raise TypeError(f"ember.device() expects a string or a device, got {type(type_or_str).__name__}")
        if self.index is not None and self.index < 0:
            raise ValueError(f"Device index must not be negative, got {self.index}")
        self._hash = hash((self.type, self.index))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (ValueError, TypeError):
                return False
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __reduce__(self):
        return (device, (str(self),))

    # ``with ember.device("meta"): model = Net()``: factories inside the block default to this
    # device, as with PyTorch's device context manager; the previous default comes back after.
    def __enter__(self) -> device:
        from ember import dispatch

        _entered.append(dispatch._default_device)
        dispatch.set_default_device(dispatch.canonical_device(self))
        return self

    def __exit__(self, *exc: object) -> None:
        from ember import dispatch

        dispatch.set_default_device(_entered.pop())


#: the default device each active ``with device(...)`` block replaced, innermost last
_entered: list = []


CPU = device("cpu")
