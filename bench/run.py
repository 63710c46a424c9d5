"""Run the benchmark suite on every available ember backend (and PyTorch, when importable).

Usage (from the repository root)::

    python -m bench                       # full run, writes docs/performance.md
    python -m bench --quick               # a fast correctness smoke run (CI), < 60 s
    python -m bench --backends cpu,opencl --workloads mlp,matmul --output /tmp/perf.md

The report is a markdown table of medians, with ember/PyTorch ratios, and the machine it ran
on. Everything after the ``<!-- notes -->`` line of the output file is kept (hand-written notes).
The exit status is 1 when a workload's correctness check fails.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # `python bench/run.py`
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.workloads import TITLES, WORKLOADS, CheckFailed, Config, Measurement, Target  # noqa: E402

__all__ = ["main", "discover_targets", "render"]

MARKER = "<!-- notes -->"
DEFAULT_NOTES = f"""{MARKER}

## Notes

(Hand-written notes below this marker are kept when the table is regenerated.)
"""


@dataclass
class Row:
    workload: str
    target: Target
    result: Measurement | None = None
    error: str = ""
    failed: bool = False  # a correctness check failed (not merely unsupported)
    values: list[float] = field(default_factory=list)  # every round's value (the result is their median)


def discover_targets(backends: list[str] | None, with_torch: bool) -> list[Target]:
    import ember

    targets = []
    for dev_type in ember.plugins.device_types():
        if backends and dev_type not in backends:
            continue
        be = ember.plugins.backend(dev_type)
        try:
            ok = be.is_available()
        except Exception:
            ok = False
        if ok:
            targets.append(Target("ember", ember, dev_type if dev_type == "cpu" else f"{dev_type}:0"))
        else:
            print(f"bench: skipping ember {dev_type}: {be.unavailable_reason()}", file=sys.stderr)
    if with_torch:
        try:
            import torch
        except ImportError:
            print("bench: PyTorch is not importable: reporting ember numbers only", file=sys.stderr)
        else:
            torch.set_num_threads(max(1, os.cpu_count() or 1))
            # torch cpu is the reference for every backend PyTorch has no equivalent device for.
            if not backends or any(b != "cuda" for b in backends):
                targets.append(Target("torch", torch, "cpu"))
            if torch.cuda.is_available() and (not backends or "cuda" in backends):
                targets.append(Target("torch", torch, "cuda:0"))
    return targets


def machine_info() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import ember

    info = {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "NumPy": np.__version__,
        "ember": getattr(ember, "__version__", "?"),
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
    }
    if hasattr(os, "getloadavg"):  # other processes on a small machine skew every number
        info["load average at start"] = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    try:
        import torch

        info["PyTorch"] = f"{torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        info["PyTorch"] = "not installed"
    return info


def run_all(targets: list[Target], workloads: list[str], cfg: Config, rounds: int = 1) -> list[Row]:
    """Measure every workload on every target; with ``rounds`` > 1 the targets take turns
    (ember, torch, ember, torch...) and each row is the median of its rounds, so a machine that
    speeds up or slows down over a few seconds moves both sides of a ratio alike."""
    rows = []
    for name in workloads:
        fn = WORKLOADS[name]
        by_target = {t.label: Row(name, t) for t in targets}
        values: dict[str, list[float]] = {t.label: [] for t in targets}
        for _ in range(rounds):
            for t in targets:
                row = by_target[t.label]
                if row.error:
                    continue
                t0 = time.perf_counter()
                try:
                    result = fn(t, cfg)
                    values[t.label].append(result.value)
                    row.values = list(values[t.label])
                    result.value = statistics.median(values[t.label])
                    row.result = result
                except NotImplementedError as exc:
                    row.error, row.result = f"n/a ({exc})", None
                except CheckFailed as exc:
                    row.error, row.failed, row.result = f"CHECK FAILED: {exc}", True, None
                except Exception as exc:
                    row.error, row.failed, row.result = f"ERROR: {type(exc).__name__}: {exc}", True, None
                    if os.environ.get("BENCH_TRACEBACK"):
                        traceback.print_exc()
                took = time.perf_counter() - t0
                shown = f"{values[t.label][-1]:.4g} {row.result.unit}" if row.result else row.error
                print(f"  {name:<14} {t.label:<14} {shown}  [{took:.1f}s]", file=sys.stderr)
        rows.extend(by_target.values())
    return rows


def _fmt(v: float) -> str:
    return f"{v:.3g}" if v < 100 else f"{v:,.0f}"


def _spread(values: list[float]) -> str:
    """`` (min-max)`` of the rounds, when there were several."""
    return f" ({_fmt(min(values))}-{_fmt(max(values))})" if len(values) > 1 else ""


def _reference(t: Target, targets: list[Target]) -> Target | None:
    """The PyTorch target an ember target is compared with: same device type, else torch cpu."""
    torch_targets = [x for x in targets if x.framework == "torch"]
    kind = t.device.split(":")[0]
    for x in torch_targets:
        if x.device.split(":")[0] == kind:
            return x
    return next((x for x in torch_targets if x.device == "cpu"), None)


def render(rows: list[Row], targets: list[Target], info: dict[str, str], cfg: Config) -> str:
    ember_targets = [t for t in targets if t.framework == "ember"]
    ratio_cols = [(t, _reference(t, targets)) for t in ember_targets]
    ratio_cols = [(e, r) for e, r in ratio_cols if r is not None]
    head = ["workload", "unit"] + [t.label for t in targets] + [f"{e.label} / {r.label}" for e, r in ratio_cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    by_key = {(r.workload, r.target.label): r for r in rows}
    notes = []
    for name in dict.fromkeys(r.workload for r in rows):
        unit, higher = "", False
        cells = []
        for t in targets:
            r = by_key.get((name, t.label))
            if r is None or r.result is None:
                cells.append("n/a" if r is None or not r.failed else "**failed**")
                if r is not None and r.failed:
                    notes.append(f"- {name} on {t.label}: {r.error}")
                continue
            unit, higher = r.result.unit, r.result.higher_is_better
            cells.append(_fmt(r.result.value) + _spread(r.values))
            if r.result.note and t.framework == "ember":
                notes.append(f"- {name} on {t.label}: {r.result.note}")
        for e, ref in ratio_cols:
            a, b = by_key.get((name, e.label)), by_key.get((name, ref.label))
            if a and b and a.result and b.result and b.result.value:
                # each round's own ratio (the two sides ran back to back): their range is the spread
                per_round = [x / y for x, y in zip(a.values, b.values) if y]
                span = f" ({min(per_round):.2f}-{max(per_round):.2f})" if len(per_round) > 1 else ""
                cells.append(f"{a.result.value / b.result.value:.2f}x{span}")
            else:
                cells.append("")
        lines.append(f"| {TITLES.get(name, name).format(n=cfg.size)} | {unit}{' (higher is better)' if higher else ''} | "
                     + " | ".join(cells) + " |")
    machine = "\n".join(f"- **{k}**: {v}" for k, v in info.items())
    mode = "quick (smoke run: few iterations, numbers are rough)" if cfg.quick else "full"
    out = [
        "# Performance",
        "",
        "Generated by `python -m bench` (bench/run.py); do not edit the table by hand, edit below the "
        "notes marker instead. Every number is the median of several timed runs after warm-up; "
        "non-CPU devices are synchronized before the clock stops. With several rounds (the targets "
        "take turns) a cell is the median round with the rounds' range in parentheses, and a ratio "
        "is the ratio of the medians with the range of the per-round ratios.",
        "",
        f"Mode: {mode}.",
        "",
        "## Machine",
        "",
        machine,
        "",
        "## Results",
        "",
        "Ratios are ember's value divided by PyTorch's on the same kind of device (the cpu when PyTorch "
        "has no such device). For times (ms, us) a ratio above 1 means ember is slower; for rates "
        "(GFLOP/s, images/s) a ratio below 1 means ember is slower.",
        "",
        *lines,
        "",
    ]
    if notes:
        out += ["Details:", "", *notes, ""]
    return "\n".join(out)


def write_report(path: Path, body: str) -> None:
    notes = DEFAULT_NOTES
    if path.exists():
        old = path.read_text()
        if MARKER in old:
            notes = old[old.index(MARKER):]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body.rstrip() + "\n\n" + notes.rstrip() + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few iterations: a correctness smoke run (CI)")
    parser.add_argument("--backends", help="comma-separated ember device types (default: every available one; "
                                           "with --quick: cpu)")
    parser.add_argument("--workloads", help=f"comma-separated, from: {', '.join(WORKLOADS)}")
    parser.add_argument("--output", help="markdown file to write (default: docs/performance.md; "
                                         "with --quick nothing is written unless given; '-': none, the "
                                         "table is printed in any case)")
    parser.add_argument("--no-torch", action="store_true", help="don't run PyTorch even when importable")
    parser.add_argument("--rounds", type=int, default=None,
                        help="measure each workload this many times, targets taking turns; the table shows medians "
                             "(default 3, with --quick 1)")
    parser.add_argument("--matmul-size", type=int, default=1024,
                        help="n of the n x n x n matmul workload (the CUDA comparison uses 4096)")
    args = parser.parse_args(argv)

    workloads = args.workloads.split(",") if args.workloads else list(WORKLOADS)
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {', '.join(WORKLOADS)}")
    # The smoke run stays on the cpu backend unless asked (other devices' compile times would blow
    # CI's budget); the full run covers every available backend.
    backends = args.backends.split(",") if args.backends else (["cpu"] if args.quick else None)
    cfg = Config(quick=args.quick, size=args.matmul_size)
    t0 = time.perf_counter()
    targets = discover_targets(backends, with_torch=not args.no_torch)
    if not targets:
        print("bench: no target to run on", file=sys.stderr)
        return 1
    print(f"bench: {', '.join(t.label for t in targets)}; workloads: {', '.join(workloads)}", file=sys.stderr)
    rounds = args.rounds or (1 if args.quick else 3)
    rows = run_all(targets, workloads, cfg, rounds)
    body = render(rows, targets, machine_info(), cfg)
    print(body)
    output = args.output or (None if args.quick else str(ROOT / "docs" / "performance.md"))
    if output and output != "-":
        write_report(Path(output), body)
        print(f"bench: wrote {output}", file=sys.stderr)
    failed = [r for r in rows if r.failed]
    print(f"bench: {len(rows) - len(failed)} passed, {len(failed)} failed in {time.perf_counter() - t0:.1f}s",
          file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
