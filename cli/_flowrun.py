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
    if started:
        print(
            f"snflow: started the local Prefect server; run history and UI at {status.ui_url}",
            file=sys.stderr,
        )
    return status.ui_url
