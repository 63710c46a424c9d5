"""Parity cases that fail today, each with the reason. A case id is ``op-sample-dtype`` (every
device) or ``device-op-sample-dtype`` (that device only, as in the pytest id). Each entry is applied as a strict xfail:
when a fix makes the case pass, the test fails (XPASS) until its entry is removed here."""

from __future__ import annotations

KNOWN_FAILURES: dict[str, str] = {}
