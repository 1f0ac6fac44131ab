"""The opt-in takeover automation: an SN down for N probes in a row → take over its nodes.

Off by default: the procedure is a manual switch, and a takeover reconfigures hundreds of
nodes. When enabled (``SNFLOW_HEALTH_TAKEOVER_AFTER=N`` or ``snflow serve --takeover-after
N``), the Prefect server runs the ``snmove/snmove`` deployment, dry run off, with the SN as
source, when ``sn-health`` reports that SN down for the N-th probe in a row. The event
carries that count as the resource label ``snflow.down-probes``, so the trigger fires once
per outage (at exactly N), not again at N+1.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TAKEOVER_AUTOMATION", "set_takeover_automation", "takeover_trigger"]

#: Name of the automation on the Prefect server.
TAKEOVER_AUTOMATION = "snflow-takeover-on-sn-down"
#: The event's service node, as a template the server renders when the automation fires.
_SN = "{{ event.resource['snflow.servicenode'] }}"


def takeover_trigger(after: int) -> Any:
    """The trigger: an SN's down event whose consecutive-down count reached ``after``."""
    from prefect.events.schemas.automations import EventTrigger, Posture

    from snflow.models.health import DOWN_EVENT

    return EventTrigger(
        expect={DOWN_EVENT},
        match={"prefect.resource.id": "snflow.servicenode.*", "snflow.down-probes": str(after)},
        posture=Posture.Reactive,
        threshold=1,
    )


def _existing(name: str) -> Any | None:
    from prefect.automations import Automation

    try:
        return Automation.read(name=name)
    except ValueError:
        return None


def set_takeover_automation(after: int) -> str:
    """Make the server's automation match ``after`` (0: none); return a line saying what holds.

    The ``snmove/snmove`` deployment must exist (``snflow serve`` applies it first).
    """
    from prefect import get_client
    from prefect.automations import Automation
    from prefect.events.actions import RunDeployment

    from snflow.deployments.moves import takeover_parameters

    existing = _existing(TAKEOVER_AUTOMATION)
    if after <= 0:
        if existing is not None:
            existing.delete()
        return "automatic takeover: off (an SN that goes down is reported, nothing moves)"
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("snmove/snmove")
    automation = Automation(
        name=TAKEOVER_AUTOMATION,
        description=f"Take over a service node's nodes once it was down for {after} probes "
        "in a row (snflow: opt-in).",
        enabled=True,
        trigger=takeover_trigger(after),
        actions=[
            RunDeployment(
                source="selected",
                deployment_id=deployment.id,
                parameters=takeover_parameters(_SN),
            )
        ],
    )
    if existing is not None:
        existing.delete()
    automation.create()
    return f"automatic takeover: ON after {after} down probes in a row"
