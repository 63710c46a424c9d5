"""``ember-conformance``: run the suite against a backend and print an op x dtype table.

Example::

    ember-conformance --backend opencl --report opencl.json
    ember-conformance --backend cpu --level 1,2 -k "ops/add"
    ember-conformance --backend toy --level runtime --json > toy.json
    ember-conformance --write-contract docs/kernel-contract.md
    ember-conformance --write-reports docs/conformance/

Every row is checked with CPU fallbacks allowed and labelled native, via fallback or failing;
the kernels that fell back are ranked by how many rows each would turn native. The exit code is
1 when a row the backend does not declare unsupported fails, or when from_host/to_host do not
round-trip (with ``--strict``, also when a row needed a fallback); 2 when the device cannot be
used (its plugin failed to load, say: the error is shown).
"""

from __future__ import annotations

import argparse
import json
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
    from ember_conformance.suite import LEVELS

    parser.add_argument("--level", help="levels to run: numbers or names, comma-separated ("
                                        + ", ".join(f"{k} {v}" for k, v in LEVELS.items()) + ")")
    parser.add_argument("-k", dest="pattern", help="only cases whose id (level/op/dtype/direction) contains "
                                                   "or glob-matches one of these comma-separated patterns")
    parser.add_argument("--strict", action="store_true", help="count 'via fallback' rows as failures")
    parser.add_argument("--all-rows", action="store_true", help="print every row, not only the failing ones")
    parser.add_argument("--json", action="store_true", help="print the JSON report to stdout instead of the table")
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

    from ember_conformance.report import run, write_json, write_markdown

    device = args.device or args.backend
    if args.backend and args.device and not args.device.split(":")[0] == args.backend:
        parser.error(f"--device {args.device} is not a {args.backend} device")
    try:
        levels = _parse_levels(args.level)
    except (KeyError, ValueError) as exc:
        parser.error(f"--level: unknown level {exc}")
    warnings.simplefilter("ignore", RuntimeWarning)  # NumPy overflow warnings from references
    problem = _unusable(device)
    if problem:
        print(f"ember-conformance: error: {problem}", file=sys.stderr)
        return 2
    report = run(device, levels, args.pattern)
    if args.json:
        json.dump(report, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        _print_report(report, args.all_rows, args.strict)
    if args.report:
        (write_markdown if args.report.endswith(".md") else write_json)(report, args.report)
        print(f"report written to {os.path.abspath(args.report)}", file=sys.stderr if args.json else sys.stdout)
    return 1 if _failed(report, args.strict) else 0


def _failed(report: dict, strict: bool) -> list[dict]:
    from ember_conformance.report import failed

    return failed(report, strict)


def _print_report(report: dict, all_rows: bool, strict: bool) -> None:
    from ember_conformance.report import render_next_kernels, render_table, summary_line, transfer_problem

    broken = transfer_problem(report)
    if broken:
        print(broken)
        print(summary_line(report))
        return
    print(render_table(report, only_problems=not all_rows, strict=strict))
    bad = _failed(report, strict)
    for r in bad[:50]:
        print(f"{r['outcome'].upper()}: level {r['level']} {r['op']} [{r['dtype']}, {r['direction']}]: {r['detail']}")
    if len(bad) > 50:
        print(f"... and {len(bad) - 50} more")
    ranked = render_next_kernels(report)
    if ranked:
        print(ranked)
    print(summary_line(report))


def _unusable(device: str) -> str:
    """Why ``device`` cannot be tested (its plugin failed to import, no such device...), or ""."""
    import ember

    try:
        ember.dispatch.canonical_device(device)
    except Exception as exc:  # DeviceError, or a backend raising while asked about its devices
        text = str(exc)
        dev_type = device.split(":")[0]
        others = [r for r in ember.plugins.load_errors() if r.device_type != dev_type]
        if others and dev_type not in ember.plugins.device_types():
            # an entry point named differently from its device type may be the one that broke
            text += "; backend plugins that failed to load: " + "; ".join(
                f"{r.device_type!r} from package {r.package!r} ({r.error})" for r in others)
        return text
    return ""


if __name__ == "__main__":
    sys.exit(main())
