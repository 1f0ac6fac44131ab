"""The ``snflow`` command: xCAT's commands, one module each, composed here.

Every module of :mod:`snflow.cli` whose name does not start with ``_`` defines
``register(app)``, which adds its command (or command group) to ``snflow``. Modules are
found rather than listed, so adding a command touches only its own module.

Commands are thin: parse the xCAT-style command line, call one query, definition
operation or flow, print its report. Modules that need Prefect import it inside the
command, so plain queries (``lsdef``, ``nodels``) start fast.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

import snflow.cli
from snflow.cli._common import GROUP_CONTEXT

__all__ = ["app", "main"]

app = typer.Typer(
    name="snflow",
    help="Service-node failover for HPC clusters (xCAT's snmove, xdcp, ...) as Prefect flows.",
    context_settings=GROUP_CONTEXT,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _register_commands(target: typer.Typer) -> None:
    for info in sorted(pkgutil.iter_modules(snflow.cli.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name == "main":
            continue
        module = importlib.import_module(f"snflow.cli.{info.name}")
        module.register(target)


_register_commands(app)


def main() -> None:
    """Entry point of the ``snflow`` console script."""
    app()
