"""The command line's error type: a mistake of the user's, reported in one line with exit 2."""

from __future__ import annotations

__all__ = ["UsageError", "TrainingError"]


class UsageError(Exception):
    """A bad flag value, a missing file, an absent optional dependency: what the user can fix.

    ``ember.cli.main`` prints ``ember <command>: error: <message>`` on stderr and exits with 2.
    The message must be one line.
    """


class TrainingError(Exception):
    """Training itself failed (a diverging loss...): one line on stderr, exit 1."""
