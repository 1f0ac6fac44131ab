"""The opt-in takeover automation: off by default (nothing moves), on when asked."""

from __future__ import annotations

import time

import pytest
from served_api import create_run, runs_of, wait_final
from served_helpers import SN1_NODES, noderes, now_iso, probe, wait_events
from served_stack import Served

from snflow.deployments.automations import (
    TAKEOVER_AUTOMATION,
    set_takeover_automation,
    takeover_trigger,
)


def _canary(after: int) -> object:
    """An automation with the takeover's trigger that does nothing: when it has fired, the
    server has evaluated the N-th down event."""
    from prefect.automations import Automation
    from prefect.events.actions import DoNothing

    return Automation(
        name="test-canary", trigger=takeover_trigger(after), actions=[DoNothing()]
    ).create()


def test_by_default_an_sn_that_stays_down_moves_nothing(served: Served, fresh_counts: None) -> None:
    from prefect.automations import Automation

    assert "off" in set_takeover_automation(0)
    with pytest.raises(ValueError, match="not found"):
        Automation.read(name=TAKEOVER_AUTOMATION)
    runs_before = len(runs_of(served.api, "snmove/snmove"))
    canary = _canary(2)
    try:
        since = now_iso()
        served.cluster().power("sn1", False)
        probe()
        probe()
        fired = wait_events(served.api, "prefect.automation.triggered", since, 1)
        assert any(str(canary.id) in e["resource"]["prefect.resource.id"] for e in fired)
    finally:
        canary.delete()
    assert len(runs_of(served.api, "snmove/snmove")) == runs_before


def wait_new_run(api: str, name: str, known: set[str], timeout: float = 60.0) -> dict:
    """The first run of deployment ``name`` that is not in ``known``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = [r for r in runs_of(api, name) if r["id"] not in known]
        if new:
            return new[0]
        time.sleep(0.5)  # polling the server for the automation's run, bounded
    raise AssertionError(f"no new run of {name} within {timeout} s")


def test_with_the_automation_enabled_an_sn_down_for_n_probes_is_taken_over(
    served: Served, fresh_counts: None
) -> None:
    before = noderes(SN1_NODES)
    known = {r["id"] for r in runs_of(served.api, "snmove/snmove")}
    assert "ON after 2" in set_takeover_automation(2)
    try:
        served.cluster().power("sn1", False)
        probe()
        probe()
        run = wait_new_run(served.api, "snmove/snmove", known)
        assert run["parameters"] == {"request": {"source": "sn1", "dry_run": False}}
        done = wait_final(served.api, run["id"], timeout=180)
        assert done["state"]["type"] == "COMPLETED", done["state"]["message"]
        assert all(v["servicenode"] == "sn2,sn1" for v in noderes(SN1_NODES).values())
    finally:
        set_takeover_automation(0)
        served.cluster().power("sn1", True)
        back = create_run(
            served.api,
            "snmove/switch-back",
            {"request": {"noderange": "sn1group", "dest": "sn1", "dry_run": False}},
        )
        wait_final(served.api, back["id"], timeout=180)
    assert noderes(SN1_NODES) == before
