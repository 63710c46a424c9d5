"""The ``ember`` command: ``ember devices``, ``ember train``, ``ember new-backend``, ``ember --version``.

An application built on the library, kept apart from it: ``main`` parses the command line, sets
up ``logging`` (what the commands report goes to stdout through the ``ember.cli`` logger; errors
go to stderr) and turns a user's mistake (:class:`UsageError`) into one line on stderr and exit
status 2, as argparse does for a bad flag. Ctrl-C ends with status 130.

Example:
    $ ember devices
    $ ember train --model mlp --epochs 1
"""

from __future__ import annotations

import argparse
import logging
import sys

from .errors import TrainingError, UsageError

__all__ = ["main", "UsageError", "TrainingError"]

log = logging.getLogger("ember.cli")


def _version() -> str:
    """The installed distribution's version, without importing ember itself (fast ``--version``)."""
    from importlib import metadata

    try:
        return metadata.version("ember")
    except metadata.PackageNotFoundError:
        import ember

        return ember.__version__


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage block): ``ember train: error: ...``."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Shows each flag's default, except where there is none or the help text already says it;
    descriptions and examples keep their line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default is None or action.default is False or action.default == argparse.SUPPRESS \
                or "default" in text:
            return text
        return super()._get_help_string(action) or text


def build_parser() -> argparse.ArgumentParser:
    from . import devices, new_backend, train

    parser = _Parser(prog="ember", description="ember command line", formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"ember {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{devices,train,new-backend}",
                                parser_class=_Parser)
    devices.add_parser(sub, _Formatter)
    train.add_parser(sub, _Formatter)
    new_backend.add_parser(sub, _Formatter)
    return parser


def _setup_logging(quiet: bool) -> None:
    """Reports go to stdout as plain lines, warnings and errors to stderr; ``--quiet`` keeps only the latter."""
    out = logging.StreamHandler(sys.stdout)
    out.addFilter(lambda record: record.levelno < logging.WARNING)
    err = logging.StreamHandler(sys.stderr)
    err.setLevel(logging.WARNING)
    for handler in (out, err):
        handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [out, err]
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False


def main(argv: list[str] | None = None) -> int:
    """Run ``ember <command>``; return the exit status (0 ok, 1 failure, 2 usage error, 130 Ctrl-C)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(getattr(args, "quiet", False))
    prog = f"ember {args.command}"
    try:
        return int(args.fn(args) or 0)
    except UsageError as e:
        sys.stdout.flush()
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except TrainingError as e:
        sys.stdout.flush()
        print(f"{prog}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        sys.stdout.flush()
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
