"""``snflow serve``: serve snflow's deployments (UI forms, schedules, API triggers).

Runs until interrupted (Ctrl-C or SIGTERM). Flow runs started from the Prefect UI, by a
schedule, by ``prefect deployment run`` or through the REST API run in processes this
command starts, at most ``--limit`` at once.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from snflow.cli._common import CONTEXT, fail
from snflow.models.errors import SnflowError
from snflow.models.settings import get_settings

__all__ = ["register", "serve"]


def serve(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Deployments to serve (default: all): snmove switch-back xdsh ..."),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", "-l", min=1, max=256, help="Flow runs at once (SNFLOW_SERVE_LIMIT)."
        ),
    ] = None,
    takeover_after: Annotated[
        int | None,
        typer.Option(
            "--takeover-after",
            min=0,
            max=1000,
            help="Opt-in: take over an SN's nodes once it was down for N probes in a row; "
            "0 = never (SNFLOW_HEALTH_TAKEOVER_AFTER, default 0).",
        ),
    ] = None,
) -> None:
    """Serve snflow's deployments: snmove, switch-back, maintenance-window, xdsh, xdcp,
    makedhcp, makeconservercf, sn-health."""
    from snflow.cli._flowrun import use_prefect

    settings = get_settings()
    after = settings.health.takeover_after if takeover_after is None else takeover_after
    try:
        from snflow.deployments import serve as serving

        plan = serving.plan_serve(names or [])
        if not plan.specs:
            fail("no deployment can be served: " + "; ".join(plan.missing.values()))
        ui = use_prefect()
        deployments = serving.build_deployments(plan.specs, settings)
        for deployment in deployments:
            deployment.apply()
        automation = serving.prepare_server(plan, after)
    except SnflowError as exc:
        fail(str(exc))
    for name, why in plan.missing.items():
        print(f"Warning: not serving {name}: {why}", file=sys.stderr)
    served = ", ".join(s.name for s in plan.specs)
    print(f"snflow serve: {served}; {automation}")
    print(f"Start runs from {ui}/deployments or the API; Ctrl-C stops.", flush=True)
    serving.serve_forever(deployments, limit or settings.serve.limit, settings.serve.poll)


def register(app: typer.Typer) -> None:
    """Add this module's command to the ``snflow`` command."""
    app.command("serve", context_settings=CONTEXT)(serve)
