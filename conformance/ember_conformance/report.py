"""Running the suite for one device and rendering the result: JSON, Markdown and a terminal table.

The JSON report holds ``rows`` (``{level, op, dtype, direction, outcome, detail, fallbacks}``)
plus the backend, package, version, device, device name and date, a ``summary`` of outcome counts
and ``next_kernels``: the kernels that ran on the CPU, ranked by how many rows each would turn
``native`` (see :func:`next_kernels`).

Example:
    >>> from ember_conformance.report import run, summary_line
    >>> rep = run("cpu", levels=[1], pattern="kernels/sub/int32")
    >>> summary_line(rep)
    'cpu: 10 rows: 10 native'
"""

from __future__ import annotations

import datetime
import json
import platform
from collections import Counter, defaultdict
from collections.abc import Callable

import ember

from ember_conformance.suite import (
    FAILING,
    LEVELS,
    OUTCOMES,
    PASSING,
    TRANSFER_OP,
    Context,
    Row,
    build_cases,
    run_cases,
)

__all__ = ["run", "make_report", "write_json", "write_markdown", "render_table", "summary_line", "failed",
           "next_kernels", "render_next_kernels", "transfer_problem", "passed_line"]

_SHORT = {"native": "ok", "via fallback": "FB", "failing": "FAIL", "unsupported": "uns",
          "unsupported-but-passes": "uns+ok", "skip": "-"}


#: PyTorch's short names of the dtypes whose full names do not fit a 7-character column
_HEAD = {"complex64": "cfloat", "complex128": "cdouble", "bfloat16": "bf16"}

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
        "next_kernels": next_kernels([r.as_dict() for r in rows]),
        "rows": [r.as_dict() for r in rows],
    }


def next_kernels(rows: list[dict]) -> list[dict]:
    """The kernels that ran on the CPU, best first: ``{kernel, turns_native, used_by}``.

    ``turns_native`` counts the ``via fallback`` rows for which this kernel is the only one that
    fell back (writing it turns them ``native``); ``used_by`` counts every row it fell back in
    (it is needed for those too, with others). Ties go to the more widely used kernel, then by name."""
    alone: Counter = Counter()
    used: Counter = Counter()
    for r in rows:
        fell = r.get("fallbacks") or []
        used.update(fell)
        if r["outcome"] == "via fallback" and len(fell) == 1:
            alone[fell[0]] += 1
    ranked = sorted(used, key=lambda k: (-alone[k], -used[k], k))
    return [{"kernel": k, "turns_native": alone[k], "used_by": used[k]} for k in ranked]


def render_next_kernels(report: dict, limit: int = 15) -> str:
    """The ranked list as text, or "" when nothing fell back."""
    ranked = report.get("next_kernels") or []
    if not ranked:
        return ""
    lines = ["kernels to write next (rows each would turn native by itself; rows it falls back in):"]
    for i, k in enumerate(ranked[:limit], 1):
        lines.append(f"{i:>3}. {k['kernel']:<20} {k['turns_native']:>5} rows native  (falls back in {k['used_by']})")
    if len(ranked) > limit:
        lines.append(f"... and {len(ranked) - limit} more (all of them in the JSON report's next_kernels)")
    return "\n".join(lines)


def transfer_problem(report: dict) -> str:
    """One paragraph when from_host/to_host do not round-trip (nothing else was run), else ""."""
    broken = [r for r in report["rows"] if r["op"] == TRANSFER_OP and r["outcome"] in FAILING]
    if not broken:
        return ""
    lines = [f"TRANSFER BROKEN: from_host/to_host of the {report['backend']} backend do not round-trip "
             f"{', '.join(r['dtype'] for r in broken)}; the other rows were not run (each reads through them)."]
    lines += [f"  {r['dtype']}: {r['detail']}" for r in broken]
    return "\n".join(lines)


def run(device: str, levels=None, pattern: str | None = None,
        progress: Callable[[Row], None] | None = None) -> dict:
    """Run the suite on ``device`` ("cpu", "opencl", "opencl:1") and return the JSON report."""
    ctx = Context.for_device(device)
    rows = run_cases(ctx, build_cases(ctx, levels, pattern), progress)
    return make_report(ctx, rows)


def failed(report: dict, strict: bool = False) -> list[dict]:
    """Rows that make the run fail: ``failing`` ones (``strict`` adds ``via fallback``). A row the
    backend declares unsupported never does; a declared-supported row that is wrong always does."""
    bad = FAILING + (("via fallback",) if strict else ())
    return [r for r in report["rows"] if r["outcome"] in bad]


def summary_line(report: dict) -> str:
    counts = report["summary"]
    parts = [f"{counts[o]} {o}" for o in OUTCOMES if counts.get(o)]
    return f"{report['device']}: {sum(counts.values())} rows: " + ", ".join(parts)


def passed_line(report: dict) -> str:
    """"all N rows passed: ..." with what else there was, for a run with nothing failing."""
    c = report["summary"]
    n = sum(c.get(o, 0) for o in PASSING + ("unsupported-but-passes",))
    parts = [f"{c[o]} {o}" for o in PASSING + ("unsupported-but-passes",) if c.get(o)]
    rest = [f"{c[o]} {o}" for o in ("unsupported", "skip") if c.get(o)]
    return f"all {n} rows passed ({', '.join(parts) or 'none run'})" + (f"; {', '.join(rest)}" if rest else "")


def _grid(report: dict):
    """{(level, op, direction): {dtype: outcome}} and the dtype columns in use."""
    cells: dict = defaultdict(dict)
    dtypes: list[str] = []
    for r in report["rows"]:
        cells[(r["level"], r["op"], r["direction"])][r["dtype"]] = r["outcome"]
        if r["dtype"] not in dtypes:
            dtypes.append(r["dtype"])
    order = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool", "-"]
    return cells, [d for d in order if d in dtypes] + [d for d in dtypes if d not in order]


def render_table(report: dict, only_problems: bool = False, strict: bool = False) -> str:
    """A terminal table: one line per (level, op, direction), one column per dtype.

    ``only_problems`` keeps the lines with a ``failing`` or ``unsupported-but-passes`` cell (and
    ``via fallback`` with ``strict``); when none is left, the table is one line: "all N rows passed"."""
    cells, dtypes = _grid(report)
    problems = ("failing", "unsupported-but-passes") + (("via fallback",) if strict else ())

    def _shown(per: dict) -> bool:
        return any(v in problems for v in per.values())

    if only_problems and not any(_shown(per) for per in cells.values()):
        return passed_line(report)
    width = max([len(f"{LEVELS[k[0]]}/{k[1]}/{k[2][0]}") for k in cells] + [10])
    head = f"{'op':<{width}} " + " ".join(f"{_HEAD.get(d, d)[:7]:>7}" for d in dtypes)
    lines = [head, "-" * len(head)]
    for (level, op, direction), per in cells.items():
        if only_problems and not _shown(per):
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
           "Outcomes: ok = native (right, on the device), FB = via fallback (right, with some kernels run "
           "on the CPU), FAIL = failing (wrong result, lost write or error), uns = declared unsupported, "
           "uns+ok = declared unsupported but passes, - = skipped.", ""]
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
    problems = [r for r in report["rows"] if r["outcome"] != "native"]
    if problems:
        out += ["## Rows that did not pass", "", "| level | op | dtype | dir | outcome | detail |",
                "|---|---|---|---|---|---|"]
        for r in problems:
            detail = r["detail"].replace("|", "\\|").replace("\n", " ")
            out.append(f"| {r['level']} | {r['op']} | {r['dtype']} | {r['direction']} | {r['outcome']} | {detail} |")
        out.append("")
    ranked = report.get("next_kernels") or []
    if ranked:
        out += ["## Kernels to write next", "", "Ranked by how many `via fallback` rows each would turn native "
                "by itself; `falls back in` counts every row it ran on the CPU in.", "",
                "| kernel | rows turned native | falls back in |", "|---|---|---|"]
        out += [f"| `{k['kernel']}` | {k['turns_native']} | {k['used_by']} |" for k in ranked]
        out.append("")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out))
