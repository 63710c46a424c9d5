"""The pytest plugin (entry point ``pytest11``): ``pytest --pyargs ember_conformance --ember-backend TYPE``.

It adds ``--ember-backend``, ``--ember-device``, ``--ember-level`` and ``--ember-strict``; the suite's
test module (:mod:`ember_conformance.test_conformance`) parametrizes over the op table. Rows that
are right via a CPU fallback pass (they fail with ``--ember-strict``), unsupported rows are skipped
with the backend's reason, failing rows fail with the mismatch. When from_host/to_host do not
round-trip (the first tests), the rest are skipped, naming the broken transfer.
"""

from __future__ import annotations


def pytest_addoption(parser):
    group = parser.getgroup("ember-conformance")
    group.addoption("--ember-backend", default=None, help="device type the conformance suite tests (default cpu)")
    group.addoption("--ember-device", default=None, help="device the conformance suite tests, e.g. opencl:1")
    group.addoption("--ember-level", default=None, help="conformance levels, e.g. 1,2,3 or runtime")
    group.addoption("--ember-strict", action="store_true", help="fail conformance rows that needed a fallback")


def pytest_generate_tests(metafunc):
    if "ember_case" not in metafunc.fixturenames:
        return
    from ember_conformance.cli import _parse_levels
    from ember_conformance.suite import Context, build_cases

    cfg = metafunc.config
    device = cfg.getoption("--ember-device") or cfg.getoption("--ember-backend") or "cpu"
    ctx = Context.for_device(device)
    cases = build_cases(ctx, _parse_levels(cfg.getoption("--ember-level")))
    metafunc.parametrize("ember_case", [(ctx, c) for c in cases], ids=[c.id for c in cases])
