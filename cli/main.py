"""The ``snflow`` command: xCAT's commands, one module each, composed here.

Every module of :mod:`snflow.cli` whose name does not start with ``_`` defines
``register(app)``, which adds its command (or command group) to ``snflow``. Modules are
found rather than listed, so adding a command touches only its own module (and
:data:`MODULE_OF`, when its name differs from the module's).

Commands are thin: parse the xCAT-style command line, call one query, definition
operation or flow, print its report. Modules that need Prefect import it inside the
command, so plain queries (``lsdef``, ``nodels``) start fast; and ``snflow CMD`` imports
only CMD's module (every module's models cost ~0.4 s of start-up together), while
``snflow --help`` and an unknown command see them all.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

import snflow.cli
from snflow.cli._common import GROUP_CONTEXT

__all__ = ["MODULE_OF", "command_modules", "main", "new_app"]  # and app, built on use

#: Commands whose module is not named after them.
MODULE_OF = {"mkdef": "defs", "chdef": "defs", "rmdef": "defs", "noderm": "defs"}


def new_app(modules: list[str] | None = None) -> typer.Typer:
    """The ``snflow`` command with the commands of ``modules`` (default: every module)."""
    app = typer.Typer(
        name="snflow",
        help="Service-node failover for HPC clusters (xCAT's snmove, xdcp, ...) as Prefect flows.",
        context_settings=GROUP_CONTEXT,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    # A group even with one command registered: ``snflow nodels ...`` must not take
    # "nodels" for the command's first argument.
    app.callback()(_group)
    for name in command_modules() if modules is None else modules:
        importlib.import_module(f"snflow.cli.{name}").register(app)
    return app


def _group() -> None:
    pass


def command_modules() -> list[str]:
    """Every module that registers commands, by name."""
    names = (i.name for i in pkgutil.iter_modules(snflow.cli.__path__))
    return sorted(n for n in names if not n.startswith("_") and n != "main")


def __getattr__(name: str) -> typer.Typer:
    """``app``, the whole command (tests, the demo), built on first use."""
    if name != "app":
        raise AttributeError(name)
    app = new_app()
    globals()["app"] = app
    return app


def main() -> None:
    """Entry point of the ``snflow`` console script."""
    first = next((a for a in sys.argv[1:2] if not a.startswith("-")), None)
    module = MODULE_OF.get(first or "", first)
    if module in command_modules():
        new_app([module])()
    else:
        new_app()()
