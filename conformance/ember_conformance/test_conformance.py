"""The suite as pytest tests: collected by ``pytest --pyargs ember_conformance --ember-backend TYPE``.

One test per row of the op table (level/op/dtype/direction); see :mod:`ember_conformance.pytest_plugin`.
"""

from __future__ import annotations

import warnings

import pytest

from ember_conformance.suite import FAILING, TRANSFER_OP, run_case


def test_conformance(ember_case, request):
    ctx, case = ember_case
    broken = getattr(ctx, "broken_transfer", None)
    if broken and case.op != TRANSFER_OP:
        pytest.skip(f"not run: from_host/to_host do not round-trip {broken}; fix the transfer first")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        row = run_case(ctx, case)
    if row.op == TRANSFER_OP and row.outcome in FAILING:
        ctx.broken_transfer = row.dtype  # the transfer rows run first: the rest would fail for its sake
    if row.outcome == "via fallback" and request.config.getoption("--ember-strict"):
        pytest.fail(f"via fallback: {row.detail}", pytrace=False)
    if row.outcome == "unsupported":
        pytest.skip(f"unsupported: {row.detail}")
    if row.outcome == "skip":
        pytest.skip(row.detail)
    if row.outcome in FAILING:
        pytest.fail(row.detail, pytrace=False)
