"""Running a flow from the CLI: against a real Prefect server, never ephemeral mode.

Call :func:`use_prefect` before importing anything from ``snflow.flows``: it starts the
local server if needed (saying so once, with the UI address) and points Prefect at it.
"""

from __future__ import annotations

import os
import sys

from snflow.deployments import local

__all__ = ["use_prefect"]


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
