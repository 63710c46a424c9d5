"""ember-conformance: checks an ember backend against NumPy references and the CPU backend.

Run it as ``ember-conformance --backend opencl`` or ``pytest --pyargs ember_conformance
--ember-backend opencl``; both are driven by one op table (:mod:`ember_conformance.optable`).

Example:
    >>> import ember_conformance
    >>> report = ember_conformance.run("cpu", levels=[1], pattern="kernels/mul/float32")
    >>> [(r["op"], r["outcome"]) for r in report["rows"] if r["level"] == 1]
    [('mul', 'native')]
"""

from __future__ import annotations

from ember_conformance.report import make_report, run
from ember_conformance.suite import FAILING, LEVELS, OUTCOMES, PASSING, Case, Context, Row, build_cases, run_cases

__version__ = "0.1.0"

__all__ = ["__version__", "run", "make_report", "Row", "Case", "Context", "build_cases", "run_cases", "OUTCOMES",
           "PASSING", "FAILING", "LEVELS"]
