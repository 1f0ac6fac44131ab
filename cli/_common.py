"""What every snflow command shares: printing a report and mapping errors to exit codes.

Library code never prints or exits; this is the one place that turns a
:class:`~snflow.models.report.CommandReport` or a :class:`~snflow.models.errors.SnflowError`
into lines and an exit status, xCAT's way: info on stdout, ``Warning: ...`` and
``Error: ...`` on stderr, exit 1 when anything failed (design decision 1).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn

import typer

from snflow.models.errors import SnflowError
from snflow.models.report import CommandReport

__all__ = ["CONTEXT", "GROUP_CONTEXT", "fail", "print_report", "run_report"]

#: Click settings for every command: xCAT's ``-h``, and options mixed with arguments.
CONTEXT = {"help_option_names": ["-h", "--help"], "allow_interspersed_args": True}
#: For command groups (``snflow``, ``snflow sim``): options stop at the sub-command's name.
GROUP_CONTEXT = {"help_option_names": ["-h", "--help"]}


def print_report(report: CommandReport) -> int:
    """Print ``report``'s messages; return the exit status it calls for."""
    for message in report.messages:
        if message.level == "info":
            print(message.text)
        else:
            prefix = "Warning: " if message.level == "warning" else "Error: "
            print(prefix + message.text, file=sys.stderr)
    sys.stdout.flush()
    return 1 if report.failed else 0


def fail(message: str, code: int = 1) -> NoReturn:
    """Stop the command with one ``Error:`` line."""
    print(f"Error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def run_report(action: Callable[[], CommandReport]) -> None:
    """Run a command body, print its report, and exit with its status."""
    try:
        report = action()
    except SnflowError as exc:
        fail(str(exc))
    code = print_report(report)
    if code:
        raise typer.Exit(code)
