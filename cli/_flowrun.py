"""Running a flow from the CLI: against a real Prefect server, never ephemeral mode.

Call :func:`use_prefect` before importing anything from ``snflow.flows``: it starts the
local server if needed (saying so once, with the UI address) and points Prefect at it.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel

from snflow.cli._common import fail
from snflow.deployments import local
from snflow.models.errors import SnflowError

__all__ = ["FlowRun", "run_flow", "use_prefect"]

ReportT = TypeVar("ReportT")


class FlowRun(NamedTuple):
    """What a CLI command needs of its finished flow run."""

    report: Any
    ui: str
    run_id: str


def run_flow(name: str, request: BaseModel, report_type: type[ReportT]) -> FlowRun:
    """Run the flow ``snflow.flows.<name>.<name>`` on ``request`` against the server.

    Exits with ``Error: ...`` when no server can be used or the run produced no report
    of ``report_type`` (it crashed before making one). The flow's module is imported only
    after :func:`use_prefect`, as Prefect reads its settings at import.
    """
    try:
        ui = use_prefect()
    except SnflowError as exc:
        fail(str(exc))
    flow = getattr(importlib.import_module(f"snflow.flows.{name}"), name)
    state = flow(request, return_state=True)
    report = state.result(raise_on_failure=False)
    if not isinstance(report, report_type):
        fail(f"{name} flow run failed: {state.message or report}")
    return FlowRun(report, ui, str(state.state_details.flow_run_id))


def use_prefect() -> str:
    """Make sure flow runs are recorded by a running server; return its UI address."""
    status, started = local.start_server()
    os.environ.update(local.prefect_environment())
    if "prefect.context" in sys.modules:
        # Prefect read its settings when it was imported: make it see the server too.
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()
    _without_cli_heartbeats()
    if started:
        print(
            f"snflow: started the local Prefect server; run history and UI at {status.ui_url}",
            file=sys.stderr,
        )
    return status.ui_url


def _without_cli_heartbeats() -> None:
    """No flow-run heartbeats for flows run by the CLI, unless configured explicitly.

    Prefect's heartbeat thread sleeps in one-second steps and the engine joins it when a
    sync flow ends, which adds up to a second to every command. A CLI run has a person
    watching its output, and snflow's own journal and lock survive a killed process, so
    the heartbeat buys nothing here. Deployments served by ``snflow serve`` keep Prefect's
    default. Setting ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` turns heartbeats back on.
    """
    import prefect.context
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY

    if any(
        name in os.environ
        for name in ("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "PREFECT_RUNNER_HEARTBEAT_FREQUENCY")
    ):
        return
    current = prefect.context.GLOBAL_SETTINGS_CONTEXT
    settings = current.settings.copy_with_update(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
    prefect.context.GLOBAL_SETTINGS_CONTEXT = prefect.context.SettingsContext(
        profile=current.profile, settings=settings
    )
