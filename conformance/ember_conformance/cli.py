"""``ember-conformance``: run the suite against a backend and print an op x dtype table.

Example::

    ember-conformance --backend opencl --report opencl.json
    ember-conformance --backend cpu --level 1,2 -k "ops/add"
    ember-conformance --write-contract docs/kernel-contract.md
    ember-conformance --write-reports docs/conformance/

The exit code is 1 when any row fails (with ``--strict``, also when any row needed a fallback).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

__all__ = ["main"]


def _parse_levels(text: str | None) -> list[int] | None:
    if not text:
        return None
    from ember_conformance.suite import LEVELS

    names = {v: k for k, v in LEVELS.items()}
    out = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        out.append(int(part) if part.isdigit() else names[part])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ember-conformance", description=__doc__.split("\n")[0])
    parser.add_argument("--backend", help="device type to test (cpu, opencl, ...)")
    parser.add_argument("--device", help="a device of that type, e.g. opencl:1 (default: TYPE:0)")
    parser.add_argument("--report", help="write the JSON report here (a .md path writes Markdown)")
    parser.add_argument("--level", help="levels to run: numbers or names, comma-separated "
                                        "(1 kernels, 2 ops, 3 gradients, 4 nn, 5 optim, 6 training, 7 semantics)")
    parser.add_argument("-k", dest="pattern", help="only cases whose id (level/op/dtype/direction) contains "
                                                   "or glob-matches one of these comma-separated patterns")
    parser.add_argument("--strict", action="store_true", help="count fallback rows as failures")
    parser.add_argument("--all-rows", action="store_true", help="print every row, not only the ones that did not pass")
    parser.add_argument("--write-contract", metavar="PATH", help="write the kernel contract Markdown and exit")
    parser.add_argument("--write-reports", metavar="DIR", help="write the reports of cpu and every other available device type to DIR")
    args = parser.parse_args(argv)

    if args.write_contract:
        from ember_conformance.contract import write_contract

        write_contract(args.write_contract)
        print(f"wrote {args.write_contract}")
        return 0
    if args.write_reports:
        from ember_conformance.regenerate import regenerate

        return regenerate(args.write_reports)
    if not args.backend and not args.device:
        parser.error("--backend (or --device) is required")

    from ember_conformance.report import failed, render_table, run, summary_line, write_json, write_markdown

    device = args.device or args.backend
    if args.backend and args.device and not args.device.startswith(args.backend):
        parser.error(f"--device {args.device} is not a {args.backend} device")
    warnings.simplefilter("ignore", RuntimeWarning)  # NumPy overflow warnings from references
    report = run(device, _parse_levels(args.level), args.pattern)
    print(render_table(report, only_problems=not args.all_rows))
    bad = failed(report, args.strict)
    for r in bad[:50]:
        print(f"{r['outcome'].upper()}: level {r['level']} {r['op']} [{r['dtype']}, {r['direction']}]: {r['detail']}")
    if len(bad) > 50:
        print(f"... and {len(bad) - 50} more")
    print(summary_line(report))
    if args.report:
        (write_markdown if args.report.endswith(".md") else write_json)(report, args.report)
        print(f"report written to {os.path.abspath(args.report)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
