"""``snflow serve``: serve the catalogue's deployments from this process.

:func:`build_deployments` turns catalogue entries into Prefect deployments (module-path
entry points, so the runner finds the flows in the installed package; the parameter schema
enforced by the server; dry run on in the forms that move nodes). :func:`prepare_server`
creates what the deployments rely on (the global ``snmove`` concurrency limit) and sets the
opt-in takeover automation. :func:`serve_forever` runs them with a cap on concurrent runs.

Nothing here talks to a cluster: the flows do, in the runs this process starts.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import FrameType
from typing import Any

from snflow.deployments.catalog import CATALOG, MOVE_LIMIT, DeploymentSpec
from snflow.models.errors import SnflowError
from snflow.models.settings import Settings, get_settings

__all__ = [
    "ServePlan",
    "build_deployments",
    "ensure_move_limit",
    "plan_serve",
    "prepare_server",
    "serve_forever",
    "window_schedules",
]

_log = logging.getLogger(__name__)


@dataclass
class ServePlan:
    """What ``snflow serve`` will serve, and what it had to leave out (with why)."""

    specs: list[DeploymentSpec]
    missing: dict[str, str]

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.specs]


def plan_serve(names: Sequence[str] = ()) -> ServePlan:
    """The catalogue entries to serve (``names``, or all), split by whether their flow exists."""
    known = {s.name for s in CATALOG}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SnflowError(
            f"unknown deployment(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    chosen = [s for s in CATALOG if not names or s.name in names]
    specs: list[DeploymentSpec] = []
    missing: dict[str, str] = {}
    for entry in chosen:
        try:
            entry.load_flow()
        except (ImportError, AttributeError) as exc:
            missing[entry.name] = f"flow {entry.flow_path} not available ({exc})"
            continue
        specs.append(entry)
    return ServePlan(specs=specs, missing=missing)


def window_schedules(settings: Settings) -> list[Any]:
    """The maintenance windows of ``SNFLOW_SERVE_WINDOWS`` as Prefect schedules, each with
    its own parameters (a bad entry is an error naming it)."""
    from prefect.schedules import Cron, RRule

    from snflow.models.maintenance import WindowSchedule

    schedules = []
    for number, raw in enumerate(settings.serve.windows, start=1):
        try:
            window = WindowSchedule.model_validate(raw)
        except ValueError as exc:
            raise SnflowError(f"SNFLOW_SERVE_WINDOWS entry {number}: {exc}") from None
        parameters = {"request": window.request.model_dump(mode="json")}
        if window.cron is not None:
            schedules.append(
                Cron(
                    window.cron,
                    timezone=window.timezone,
                    active=window.active,
                    parameters=parameters,
                )
            )
        else:
            schedules.append(
                RRule(
                    window.rrule or "",
                    timezone=window.timezone,
                    active=window.active,
                    parameters=parameters,
                )
            )
    return schedules


def _schedules(entry: DeploymentSpec, settings: Settings) -> list[Any]:
    from prefect.schedules import Interval

    if entry.name == "sn-health" and settings.health.interval > 0:
        return [Interval(timedelta(seconds=settings.health.interval))]
    if entry.name == "maintenance-window":
        return window_schedules(settings)
    return []


def build_deployments(specs: Sequence[DeploymentSpec], settings: Settings | None = None) -> list:
    """Prefect ``RunnerDeployment`` objects for ``specs``."""
    from prefect.types.entrypoint import EntrypointType

    settings = settings or get_settings()
    deployments = []
    for entry in specs:
        flow = entry.load_flow()
        deployments.append(
            flow.to_deployment(
                name=entry.name,
                description=entry.description,
                parameters=entry.defaults,
                tags=list(entry.tags),
                concurrency_limit=entry.concurrency,
                schedules=_schedules(entry, settings),
                paused=False,
                enforce_parameter_schema=True,
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
        )
    return deployments


def ensure_move_limit(limit: int = 1) -> None:
    """Create (or correct) the global concurrency limit every node move holds."""
    from prefect import get_client
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            current = client.read_global_concurrency_limit_by_name(MOVE_LIMIT)
        except ObjectNotFound:
            client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=MOVE_LIMIT, limit=limit)
            )
            return
        if current.limit != limit or not current.active:
            client.update_global_concurrency_limit(
                MOVE_LIMIT, GlobalConcurrencyLimitUpdate(limit=limit, active=True)
            )


def prepare_server(plan: ServePlan, takeover_after: int) -> str:
    """What the served deployments need on the server (applied already); returns a line
    saying whether automatic takeover is on. The automation is managed only by a serve
    that serves ``snmove`` (a second ``snflow serve xdsh`` leaves it alone)."""
    from snflow.deployments.automations import set_takeover_automation

    ensure_move_limit()
    if "snmove" not in plan.names:
        if takeover_after > 0:
            raise SnflowError("automatic takeover needs the snmove deployment to be served")
        return "automatic takeover: not managed here (snmove is not served)"
    return set_takeover_automation(takeover_after)


def _stop_on_sigterm() -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def serve_forever(deployments: list, limit: int, poll: float) -> None:
    """Run the deployments' flow runs until SIGINT/SIGTERM (at most ``limit`` at once)."""
    from prefect import serve

    _stop_on_sigterm()
    serve(
        *deployments,
        limit=limit,
        query_seconds=poll,
        print_starting_message=False,
    )
