"""A maintenance window on a service node: the request, the administrator's answer, the plan.

Pure. The ``maintenance-window`` flow takes over the SN's nodes, pauses until the
administrator answers its form ("the SN is back") or the deadline comes,
then switches the moved nodes back to the SN. The two moves are ordinary ``snmove``
requests built here.
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from snflow.models.natsort import fold
from snflow.models.snmove_request import SnmoveRequest

__all__ = [
    "MaintenanceRequest",
    "WindowSchedule",
    "switch_back_request",
    "takeover_request",
]


class MaintenanceRequest(BaseModel):
    """Service ``service_node``: move its nodes away, wait, move them back."""

    model_config = ConfigDict(frozen=True)

    service_node: str = Field(
        min_length=1,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="The service node going into maintenance (its name as the MN knows it).",
    )
    dest: str | None = Field(
        default=None,
        description="Where its nodes go meanwhile (default: each node's backup service node).",
    )
    postscripts: str | None = Field(
        default=None, description="More postscripts to run on moved nodes (comma list), or 'all'."
    )
    deadline_minutes: float = Field(
        default=240.0,
        gt=0,
        le=7 * 24 * 60,
        description="Switch back at the latest this many minutes after the takeover, if the "
        "SN answers by then (the administrator can end the window earlier).",
    )
    dry_run: bool = Field(
        default=False, description="Show both moves' plans; change nothing (no pause)."
    )
    fanout: int = Field(default=64, ge=1, le=1024, description="Nodes worked on at once.")


class WindowSchedule(BaseModel):
    """When a maintenance window starts (``SNFLOW_SERVE_WINDOWS`` entries).

    >>> WindowSchedule.model_validate(
    ...     {"cron": "0 2 * * 6", "timezone": "Europe/Paris", "request": {"service_node": "sn1"}}
    ... ).request.service_node
    'sn1'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    cron: str | None = Field(default=None, description="Cron expression, e.g. '0 2 * * 6'.")
    rrule: str | None = Field(
        default=None, description="RFC 5545 rule, e.g. 'FREQ=MONTHLY;BYDAY=1SU;BYHOUR=3'."
    )
    timezone: str = Field(default="UTC", description="IANA time zone the times are in.")
    active: bool = Field(default=True, description="Whether the schedule creates runs.")
    request: MaintenanceRequest

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _one_rule(self) -> WindowSchedule:
        if (self.cron is None) == (self.rrule is None):
            raise ValueError("a window needs exactly one of cron or rrule")
        return self


def takeover_request(request: MaintenanceRequest) -> SnmoveRequest:
    """``snmove -s SN [-d DEST] [-P ...]``."""
    return SnmoveRequest(
        source=request.service_node,
        dest=request.dest,
        postscripts=request.postscripts,
        dry_run=request.dry_run,
        fanout=request.fanout,
    )


def switch_back_request(request: MaintenanceRequest, moved: Sequence[str]) -> SnmoveRequest:
    """``snmove <moved nodes> -d SN`` (the procedure's switch-back)."""
    return SnmoveRequest(
        noderange=fold(moved),
        dest=request.service_node,
        postscripts=request.postscripts,
        dry_run=request.dry_run,
        fanout=request.fanout,
    )
