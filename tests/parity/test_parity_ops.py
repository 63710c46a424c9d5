"""Every case of the op table (parity_cases.TABLE) on every device, compared with PyTorch."""

from __future__ import annotations

import ember
import pytest

torch = pytest.importorskip("torch")

from known_failures import KNOWN_FAILURES  # noqa: E402
from parity_cases import CASES, Case  # noqa: E402
from parity_compare import check  # noqa: E402

# Some samples provoke PyTorch's advisory UserWarnings on purpose (std with one element, a
# broadcasting loss target); both frameworks warn, and the warnings are not what is compared.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def known_failure(case_id: str, device: str) -> str | None:
    return KNOWN_FAILURES.get(f"{device}-{case_id}") or KNOWN_FAILURES.get(case_id)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_op(case: Case, device: str, request: pytest.FixtureRequest) -> None:
    reason = known_failure(case.id, device)
    if reason:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    args, kwargs = case.materialize()
    check(case.op.fn, args, kwargs, device, tol=case.op.tol, grad_tol=case.op.grad_tol, seed=case.seed,
          random=case.op.random)


def test_known_failures_name_real_cases() -> None:
    """A stale KNOWN_FAILURES key (a typo, a renamed sample) would silently xfail nothing."""
    ids = {case.id for case in CASES}
    ids |= {f"{dev}-{case_id}" for case_id in ids for dev in ember.plugins.device_types()}
    stale = sorted(set(KNOWN_FAILURES) - ids)
    assert not stale, f"KNOWN_FAILURES names no case: {stale}"
