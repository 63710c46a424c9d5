"""Running the suite for one device and rendering the result: JSON, Markdown and a terminal table.

The JSON report holds ``rows`` (``{level, op, dtype, direction, outcome, detail}``) plus the
backend, package, version, device, device name and date, and a ``summary`` of outcome counts.

Example:
    >>> from ember_conformance.report import run, summary_line
    >>> rep = run("cpu", levels=[1], pattern="kernels/sub/int32")
    >>> summary_line(rep)
    'cpu: 1 rows: 1 pass'
"""

from __future__ import annotations

import datetime
import json
import platform
from collections import Counter, defaultdict
from collections.abc import Callable

import ember

from ember_conformance.suite import FAILING, LEVELS, OUTCOMES, Context, Row, build_cases, run_cases

__all__ = ["run", "make_report", "write_json", "write_markdown", "render_table", "summary_line", "failed"]

_SHORT = {"pass": "ok", "fallback": "FB", "fail": "FAIL", "unsupported": "uns", "unsupported-but-passes": "uns+ok",
          "skip": "-"}


def make_report(ctx: Context, rows: list[Row]) -> dict:
    from ember_conformance import __version__

    package, version = ember.plugins._ensure_loaded().packages.get(ctx.device.type, ("?", "?"))
    return {
        "backend": ctx.device.type,
        "package": package,
        "version": version,
        "device": str(ctx.device),
        "device_name": ctx.backend.device_name(ctx.index),
        "dtypes": list(ctx.dtypes),
        "unsupported": dict(ctx.unsupported),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "ember_version": getattr(ember, "__version__", "?"),
        "conformance_version": __version__,
        "python": platform.python_version(),
        "summary": {k: v for k, v in Counter(r.outcome for r in rows).items()},
        "rows": [r.as_dict() for r in rows],
    }


def run(device: str, levels=None, pattern: str | None = None,
        progress: Callable[[Row], None] | None = None) -> dict:
    """Run the suite on ``device`` ("cpu", "opencl", "opencl:1") and return the JSON report."""
    ctx = Context.for_device(device)
    rows = run_cases(ctx, build_cases(ctx, levels, pattern), progress)
    return make_report(ctx, rows)


def failed(report: dict, strict: bool = False) -> list[dict]:
    """Rows that make the run fail (``strict`` counts fallbacks too)."""
    bad = FAILING + (("fallback",) if strict else ())
    return [r for r in report["rows"] if r["outcome"] in bad]


def summary_line(report: dict) -> str:
    counts = report["summary"]
    parts = [f"{counts[o]} {o}" for o in OUTCOMES if counts.get(o)]
    return f"{report['device']}: {sum(counts.values())} rows: " + ", ".join(parts)


def _grid(report: dict):
    """{(level, op, direction): {dtype: outcome}} and the dtype columns in use."""
    cells: dict = defaultdict(dict)
    dtypes: list[str] = []
    for r in report["rows"]:
        cells[(r["level"], r["op"], r["direction"])][r["dtype"]] = r["outcome"]
        if r["dtype"] not in dtypes:
            dtypes.append(r["dtype"])
    order = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool", "-"]
    return cells, [d for d in order if d in dtypes] + [d for d in dtypes if d not in order]


def render_table(report: dict, only_problems: bool = False) -> str:
    """A terminal table: one line per (level, op, direction), one column per dtype."""
    cells, dtypes = _grid(report)
    width = max([len(f"{LEVELS[k[0]]}/{k[1]}/{k[2][0]}") for k in cells] + [10])
    head = f"{'op':<{width}} " + " ".join(f"{d[:7]:>7}" for d in dtypes)
    lines = [head, "-" * len(head)]
    for (level, op, direction), per in cells.items():
        if only_problems and all(v in ("pass", "skip") for v in per.values()):
            continue
        label = f"{LEVELS[level]}/{op}/{direction[0]}"
        lines.append(f"{label:<{width}} " + " ".join(f"{_SHORT.get(per.get(d, ''), ''):>7}" for d in dtypes))
    return "\n".join(lines)


def write_json(report: dict, path: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=1, sort_keys=False)
        fh.write("\n")


def write_markdown(report: dict, path: str) -> None:
    """A human-readable report: header, summary, per-level tables and the non-passing rows."""
    cells, dtypes = _grid(report)
    out = [f"# ember conformance: {report['device']}", "",
           f"- backend: `{report['backend']}` from `{report['package']}` {report['version']}",
           f"- device: {report['device_name']}",
           f"- dtypes: {', '.join(report['dtypes'])}",
           f"- date: {report['date']}; ember {report['ember_version']}; "
           f"ember-conformance {report['conformance_version']}; Python {report['python']}",
           f"- summary: {summary_line(report).split(': ', 1)[1]}", "",
           "Outcomes: ok = pass, FB = needed a CPU fallback, FAIL = wrong result or error, "
           "uns = declared unsupported, uns+ok = declared unsupported but passes, - = skipped.", ""]
    for level, title in LEVELS.items():
        keys = [k for k in cells if k[0] == level]
        if not keys:
            continue
        cols = [d for d in dtypes if any(d in cells[k] for k in keys)]
        out += [f"## Level {level}: {title}", "", "| op | dir | " + " | ".join(cols) + " |",
                "|---|---|" + "---|" * len(cols)]
        for k in keys:
            out.append(f"| {k[1]} | {k[2]} | " + " | ".join(_SHORT.get(cells[k].get(d, ""), "") for d in cols) + " |")
        out.append("")
    problems = [r for r in report["rows"] if r["outcome"] not in ("pass",)]
    if problems:
        out += ["## Rows that did not pass", "", "| level | op | dtype | dir | outcome | detail |",
                "|---|---|---|---|---|---|"]
        for r in problems:
            detail = r["detail"].replace("|", "\\|").replace("\n", " ")
            out.append(f"| {r['level']} | {r['op']} | {r['dtype']} | {r['direction']} | {r['outcome']} | {detail} |")
        out.append("")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out))
