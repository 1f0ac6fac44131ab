"""``snflow demo``: the procedure's definitions on a sample cluster, command by command.

The demo works in a directory of its own (a temporary one unless ``--home`` is given), so it
never touches the cluster database of ``$SNFLOW_HOME``. It prints each command as an
administrator would type it, then that command's output.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from snflow.cli._common import CONTEXT

__all__ = ["demo", "register"]

#: The xCAT "Setup backup Service Nodes" definitions, as typed at the shell.
SCRIPT: tuple[str, ...] = (
    'snflow chdef node[01-20] groups=compute servicenode="xcatsn1a,xcatsn2a" xcatmaster="xcatsn1b"',
    "snflow mkdef -t group sn1group members=node[01-10]",
    "snflow chdef -t group sn2group members=node[11-20]",
    'snflow chdef sn2group servicenode="xcatsn2a,xcatsn1a" xcatmaster="xcatsn2b"',
    'snflow chdef -t group compute "ip=|\\D+(\\d+)|10.1.0.($1+0)|" netboot=xnba',
    "snflow nodels sn1group",
    "snflow lsdef node05 -i servicenode,xcatmaster,ip",
    "snflow lsdef -c -i servicenode,xcatmaster sn2group",
    "snflow lsdef -z sn1group",
    "snflow tabdump noderes",
)


def _run(line: str) -> int:
    from snflow.cli.main import app

    print(f"\n$ {line}", flush=True)
    try:
        app(shlex.split(line)[1:], prog_name="snflow", standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0)
    except typer.Exit as exc:
        return exc.exit_code
    return 0


def demo(
    home: Annotated[
        Path | None,
        typer.Option("--home", help="Work in this directory (default: a temporary one)."),
    ] = None,
) -> None:
    """Run the procedure's definition steps on a sample cluster database and list it."""
    with tempfile.TemporaryDirectory(prefix="snflow-demo-") as tmp:
        workdir = home or Path(tmp)
        os.environ["SNFLOW_HOME"] = str(workdir)
        os.environ.pop("SNFLOW_DATABASE_URL", None)
        print(f"snflow demo: a sample cluster database in {workdir}")
        failed = [line for line in SCRIPT if _run(line) != 0]
    if failed:
        print(f"\nsnflow demo: {len(failed)} step(s) failed: {failed}")
        raise typer.Exit(1)
    print("\nsnflow demo: done. Takeover and switch-back (snmove) arrive with issue 5.")


def register(app: typer.Typer) -> None:
    """Add this module's command to the ``snflow`` command."""
    app.command("demo", context_settings=CONTEXT)(demo)
