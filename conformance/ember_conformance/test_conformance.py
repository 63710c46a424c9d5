"""The suite as pytest tests: collected by ``pytest --pyargs ember_conformance --ember-backend TYPE``.

One test per row of the op table (level/op/dtype/direction); see :mod:`ember_conformance.pytest_plugin`.
"""

from __future__ import annotations

import warnings

import pytest

from ember_conformance.suite import run_case


def test_conformance(ember_case, request):
    ctx, case = ember_case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        row = run_case(ctx, case)
    if row.outcome == "fallback":
        if request.config.getoption("--ember-strict"):
            pytest.fail(f"fallback: {row.detail}")
        pytest.xfail(f"fallback: {row.detail}")
    if row.outcome == "unsupported":
        pytest.skip(f"unsupported: {row.detail}")
    if row.outcome == "skip":
        pytest.skip(row.detail)
    if row.outcome == "fail":
        pytest.fail(row.detail, pytrace=False)
