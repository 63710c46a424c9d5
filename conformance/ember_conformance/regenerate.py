"""Regenerate the checked-in reports: ``python -m ember_conformance.regenerate [DIR]``.

Writes ``DIR/cpu.json`` and ``DIR/cpu.md`` (default DIR: ``docs/conformance``), and the same for
every other registered device type with a device here (``opencl`` on PoCL, ``cuda`` on a GPU).
"""

from __future__ import annotations

import os
import sys
import warnings

from ember_conformance.report import run, summary_line, write_json, write_markdown

__all__ = ["regenerate"]


def regenerate(directory: str = "docs/conformance") -> int:
    import ember

    warnings.simplefilter("ignore", RuntimeWarning)
    os.makedirs(directory, exist_ok=True)
    devices = ["cpu"] + [t for t in ember.plugins.device_types()
                         if t != "cpu" and ember.plugins.backend(t).is_available()]
    for dev in devices:
        report = run(dev)
        write_json(report, os.path.join(directory, f"{dev}.json"))
        write_markdown(report, os.path.join(directory, f"{dev}.md"))
        print(summary_line(report))
    return 0


if __name__ == "__main__":
    sys.exit(regenerate(sys.argv[1] if len(sys.argv) > 1 else "docs/conformance"))
