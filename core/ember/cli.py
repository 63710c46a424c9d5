"""The ``ember`` command: ``ember devices`` and ``ember train``.

Example:
    $ ember devices
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _devices(args: argparse.Namespace) -> int:
    from ember import plugins

    rows = plugins.report()
    print(f"{'type':<10} {'package':<22} {'version':<9} {'status':<12} {'kernels':>7}  devices / reason")
    for r in rows:
        status = "available" if r.available else ("error" if r.error else "unavailable")
        if r.available:
            detail = ", ".join(r.devices)
        else:  # a broken plugin: what went wrong ("failed to load", "lacks runtime kernels"...) and why
            detail = f"{r.reason}: {r.error}" if r.error and r.reason else (r.error or r.reason)
        print(f"{r.device_type:<10} {r.package:<22} {r.version:<9} {status:<12} {r.native_kernels:>7}  {detail}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ember", description="ember command line")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("devices", help="list backends, their devices and status").set_defaults(fn=_devices)
    try:
        from ember.train import add_train_parser

        add_train_parser(sub)
    except ImportError:
        pass
    args = parser.parse_args(argv)
    return int(args.fn(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
