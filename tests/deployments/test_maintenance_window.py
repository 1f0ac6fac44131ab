"""The maintenance window end to end: takeover, pause with a form, resume, switch-back."""

from __future__ import annotations

from served_api import artifacts, call, create_run, wait_final, wait_state
from served_helpers import SN1_NODES, noderes
from served_stack import Served

from snflow.flows.maintenance import maintenance_window
from snflow.models.maintenance import MaintenanceRequest


def test_the_window_pauses_is_resumed_through_the_api_with_input_and_switches_back(
    served: Served,
) -> None:
    before = noderes(SN1_NODES)
    run = create_run(
        served.api,
        "maintenance-window/maintenance-window",
        {"request": {"service_node": "sn1", "deadline_minutes": 120, "dry_run": False}},
    )
    paused = wait_state(served.api, run["id"], {"PAUSED"}, timeout=180)
    assert paused["state"]["state_details"]["pause_key"] == "window-end"
    assert all(v["servicenode"] == "sn2,sn1" for v in noderes(SN1_NODES).values())
    keyset = paused["state"]["state_details"]["run_input_keyset"]
    schema = call(served.api, "GET", f"/flow_runs/{run['id']}/input/{keyset['schema']}")
    assert "sn_is_back" in str(schema)  # the form the UI shows

    call(
        served.api,
        "POST",
        f"/flow_runs/{run['id']}/resume",
        {"run_input": {"sn_is_back": True, "note": "fan replaced"}},
    )
    done = wait_final(served.api, run["id"], timeout=180)
    assert done["state"]["type"] == "COMPLETED", done["state"]["message"]
    assert noderes(SN1_NODES) == before
    summary = artifacts(served.api, run["id"])["maintenance-window-summary"]["data"]
    assert "sn_is_back=True fan replaced" in summary
    assert "switch-back to sn1: Completed" in summary


def test_at_the_deadline_the_window_ends_by_itself_and_switches_back(served: Served) -> None:
    before = noderes(SN1_NODES)
    state = maintenance_window(
        MaintenanceRequest(service_node="sn1", deadline_minutes=0.05), return_state=True
    )
    assert state.is_completed(), state.message
    assert "moved away from sn1 and back" in state.message
    assert noderes(SN1_NODES) == before


def test_a_dry_run_window_shows_the_plan_and_does_not_pause(served: Served) -> None:
    before = noderes(SN1_NODES)
    state = maintenance_window(
        MaintenanceRequest(service_node="sn1", dry_run=True), return_state=True
    )
    assert state.is_completed(), state.message
    assert state.message.startswith("dry run: cn[001-008] would move away from sn1")
    assert noderes(SN1_NODES) == before


def test_a_window_from_the_settings_is_a_cron_schedule_in_its_time_zone(served: Served) -> None:
    dep = call(served.api, "GET", "/deployments/name/maintenance-window/maintenance-window")
    (schedule,) = dep["schedules"]
    assert schedule["schedule"]["cron"] == "0 2 * * 6"
    assert schedule["schedule"]["timezone"] == "Europe/Paris"
    assert schedule["active"] is False
    assert schedule["parameters"]["request"]["service_node"] == "sn1"
    assert schedule["parameters"]["request"]["dry_run"] is False


def test_a_takeover_failing_on_one_node_still_ends_with_the_switch_back(served: Served) -> None:
    """The nodes moved in the database even where a postscript failed: the window goes on
    (the SN is going away), brings them back, and ends Failed naming the takeover's node."""
    before = noderes(SN1_NODES)
    scripts = served.home / "postscripts"
    scripts.mkdir(exist_ok=True)
    (scripts / "fails-on-cn003").write_text(
        '#!/bin/sh\n[ "$NODE" != cn003 ] || { echo broken >&2; exit 3; }\n'
    )
    try:
        state = maintenance_window(
            MaintenanceRequest(
                service_node="sn1", postscripts="fails-on-cn003", deadline_minutes=0.05
            ),
            return_state=True,
        )
    finally:
        (scripts / "fails-on-cn003").unlink()
    assert state.is_failed()
    assert state.message.startswith("takeover: ") and "cn003" in state.message
    assert "; switch-back to sn1: " in state.message  # cn003 fails it there too
    assert noderes(SN1_NODES) == before
