"""``ember devices`` and the device checks of ``ember train``: which device to use, and whether it works."""

from __future__ import annotations

import argparse
from typing import Any

from .errors import UsageError

__all__ = ["add_parser", "best_device", "check_device", "list_devices"]


def list_devices(args: argparse.Namespace) -> int:
    """Print each backend: its package, version, status, kernel count, devices or the reason it is unusable."""
    from ember import plugins

    print(f"{'type':<10} {'package':<22} {'version':<9} {'status':<12} {'kernels':>7}  devices / reason")
    for r in plugins.report():
        status = "available" if r.available else ("error" if r.error else "unavailable")
        if r.available:
            detail = ", ".join(r.devices)
        else:  # a broken plugin: what went wrong ("failed to load", "lacks runtime kernels"...) and why
            detail = f"{r.reason}: {r.error}" if r.error and r.reason else (r.error or r.reason)
        print(f"{r.device_type:<10} {r.package:<22} {r.version:<9} {status:<12} {r.native_kernels:>7}  {detail}")
        if r.available:
            print(f"{'':<10} dtypes: {_dtypes_line(r.device_type)}")
    return 0


def _dtypes_line(device_type: str) -> str:
    """The dtypes device 0 of ``device_type`` holds; '*' marks those computed in a wider dtype."""
    from ember import dispatch

    try:
        backend = dispatch.table(device_type).backend
        emulated = set(backend.emulated_dtypes(0))
        names = [d.name + ("*" if d in emulated else "") for d in backend.supported_dtypes(0)]
    except Exception as exc:  # noqa: BLE001 - a listing must not fail on one backend's query
        return f"unknown ({type(exc).__name__}: {exc})"
    return " ".join(names) + ("  (* stored as is, computed in float32)" if emulated else "")


def add_parser(sub: Any, formatter: type) -> None:
    sub.add_parser("devices", help="list backends, their devices and status", formatter_class=formatter,
                   description="List the installed backends, their devices, and why any is unusable.",
                   ).set_defaults(fn=list_devices)


def best_device() -> str:
    """A GPU when one is usable (CUDA, then an OpenCL GPU), else the CPU."""
    import ember

    # CUDA first, then any other backend with an accelerator (an OpenCL GPU, a vendor's device).
    types = sorted(ember.plugins.device_types(), key=lambda t: t != "cuda")
    for dev_type in types:
        backend = ember.plugins.backend(dev_type)
        try:
            if dev_type != "cpu" and backend.is_available():
                for index in range(backend.device_count()):
                    if backend.is_accelerator(index):
                        return f"{dev_type}:{index}"
        except Exception:  # a backend's probe must not stop training on the CPU
            continue
    return "cpu"


def _unavailable_reason(dev_type: str) -> str:
    from ember import plugins

    for r in plugins.report():
        if r.device_type == dev_type and not r.available:
            why = f"{r.reason}: {r.error}" if r.error and r.reason else (r.error or r.reason or "")
            return " ".join(str(why).split())  # one line
    return ""


def check_device(spec: str | None) -> str:
    """``spec`` (or the best device when None) if ember can compute on it; else a :class:`UsageError`."""
    import ember

    if spec is None:
        return best_device()
    known = sorted(ember.plugins.device_types())
    try:
        dev = ember.device(spec)
    except (RuntimeError, ValueError, TypeError) as e:
        raise UsageError(f"--device {spec!r}: {e}") from None
    if dev.type not in known:
        raise UsageError(f"--device {spec!r}: unknown device type {dev.type!r}; installed: {', '.join(known)} "
                         "(see 'ember devices')")
    backend = ember.plugins.backend(dev.type)
    try:
        available, count = bool(backend.is_available()), int(backend.device_count()) if backend.is_available() else 0
    except Exception as e:  # a backend whose probe fails is as good as absent
        available, count = False, 0
        reason = " ".join(str(e).split())
    else:
        reason = _unavailable_reason(dev.type)
    if not available:
        raise UsageError(f"--device {spec!r}: the {dev.type} backend is not available"
                         + (f" ({reason})" if reason else "") + " (see 'ember devices')")
    if dev.index is not None and not 0 <= dev.index < count:
        raise UsageError(f"--device {spec!r}: {dev.type} has {count} device(s), "
                         f"valid indices are 0..{count - 1}")
    return spec
