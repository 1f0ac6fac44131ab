"""``snflow demo``: a takeover and a switch-back on a virtual cluster, command by command.

The xCAT procedure "Setup backup Service Nodes" as an administrator types it, on a virtual
cluster (2 SNs, 32 CNs) in a directory of its own (a temporary one unless ``--home`` is
given), so it never touches the cluster database of ``$SNFLOW_HOME``. Every move is a flow
run recorded by snflow's usual Prefect server (the one of ``$SNFLOW_HOME``, started if
needed), so the run history stays after the demo; its address is printed at the end.
"""

from __future__ import annotations

import os
import shlex
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer

from snflow.cli._common import CONTEXT
from snflow.deployments import local
from snflow.models.errors import SnflowError

__all__ = ["SCRIPT", "demo", "register"]

_SHOW = "snflow nodels cn001,cn016 noderes.servicenode noderes.xcatmaster nodehm.conserver"
#: The procedure, as typed at the shell, each with what it shows.
SCRIPT: tuple[tuple[str, str], ...] = (
    ("snflow sim up --service-nodes 2 --nodes 32", "a virtual cluster: sn1, sn2, cn001-cn032"),
    (_SHOW, "sn1's nodes (cn001-cn016): their service nodes, and their master as they know it"),
    ("snflow makedhcp -n", "both SNs serve DHCP and TFTP for every node, before any failure"),
    ("snflow makedhcp compute", ""),
    ("snflow nodeset compute", ""),
    ("snflow makeconservercf", ""),
    ("snflow sim power off sn1", "sn1 fails"),
    ("snflow snmove -s sn1 -V", "takeover: sn1's nodes move to their backup, sn2"),
    (_SHOW, ""),
    ("snflow sim power on sn1", "sn1 is repaired"),
    ("snflow snmove sn1group -d sn1", "switch-back: the original layout"),
    (_SHOW, ""),
)
_DOWN = "snflow sim down"


def _run(line: str, note: str = "") -> int:
    from snflow.cli.main import app

    print(f"\n# {note}" if note else "", flush=True)
    print(f"$ {line}", flush=True)
    try:
        code = app(shlex.split(line)[1:], prog_name="snflow", standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0)
    except typer.Exit as exc:
        return exc.exit_code
    except SnflowError as exc:
        print(f"Error: {exc}")
        return 1
    return code if isinstance(code, int) else 0


def demo(
    home: Annotated[
        Path | None,
        typer.Option("--home", help="Work in this directory (default: a temporary one)."),
    ] = None,
) -> None:
    """Takeover and switch-back on a virtual cluster (2 SNs, 32 CNs), command by command."""
    from snflow.cli._flowrun import use_prefect

    start = time.monotonic()
    ui = use_prefect()  # the usual server, so that the history outlives the demo
    prefect_home = local.server_status().home
    with tempfile.TemporaryDirectory(prefix="snflow-demo-") as tmp:
        workdir = (home or Path(tmp)).absolute()
        workdir.mkdir(parents=True, exist_ok=True)
        if prefect_home and not (workdir / "prefect").exists():
            # The demo's home shares the usual Prefect home: same server, same history.
            (workdir / "prefect").symlink_to(prefect_home, target_is_directory=True)
        os.environ["SNFLOW_HOME"] = str(workdir)
        os.environ.pop("SNFLOW_DATABASE_URL", None)
        print(f"snflow demo: a virtual cluster in {workdir}; run history at {ui}")
        failed = []
        try:
            for line, note in SCRIPT:
                if _run(line, note) != 0:
                    failed.append(line)
                    break
        finally:
            _run(_DOWN, "the virtual cluster goes away")
    print(f"\nRun history (every move, its summary and per-node table): {ui}/runs")
    print(f"snflow demo: {time.monotonic() - start:.0f} s")
    if failed:
        print(f"snflow demo: failed at: {failed[0]}")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's command to the ``snflow`` command."""
    app.command("demo", context_settings=CONTEXT)(demo)
