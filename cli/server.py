"""``snflow server``: the local Prefect server that keeps every run's history."""

from __future__ import annotations

import typer

from snflow.cli._common import GROUP_CONTEXT, fail
from snflow.deployments import local
from snflow.models.errors import SnflowError

__all__ = ["app", "register"]

app = typer.Typer(
    help="The local Prefect server (run history and UI).",
    context_settings=GROUP_CONTEXT,
    no_args_is_help=True,
)


@app.command("start")
def start() -> None:
    """Start the local Prefect server (127.0.0.1; home $SNFLOW_HOME/prefect)."""
    try:
        status, started = local.start_server()
    except SnflowError as exc:
        fail(str(exc))
    verb = "started" if started else "already running"
    print(f"Prefect server {verb}: UI {status.ui_url}, API {status.api_url}")


@app.command("stop")
def stop() -> None:
    """Stop the local Prefect server (by its PID)."""
    try:
        stopped = local.stop_server()
    except SnflowError as exc:
        fail(str(exc))
    print("Prefect server stopped." if stopped else "The local Prefect server is not running.")


@app.command("status")
def status() -> None:
    """Say whether the Prefect server answers, where, and whether snflow manages it."""
    st = local.server_status()
    state = "running" if st.running else "not running"
    owner = f"local, pid {st.pid}, home {st.home}" if st.managed else "configured"
    print(f"Prefect server {state} ({owner}): UI {st.ui_url}, API {st.api_url}")
    if not st.running:
        raise typer.Exit(1)


def register(parent: typer.Typer) -> None:
    """Add this module's command to the ``snflow`` command."""
    parent.add_typer(app, name="server")
