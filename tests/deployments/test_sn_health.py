"""``sn-health`` on the virtual cluster: probes, up/down events, failing service checks."""

from __future__ import annotations

from pathlib import Path

from served_helpers import now_iso, probe, wait_events
from served_stack import Served


def test_a_powered_off_sn_is_reported_down_with_an_event(
    served: Served, fresh_counts: None
) -> None:
    since = now_iso()
    served.cluster().power("sn1", False)
    first = probe()
    second = probe()
    assert second.down == ["sn1"]
    result = {r.node: r for r in second.results}
    assert not result["sn1"].ssh and result["sn2"].up
    assert second.down_probes == {"sn1": 2, "sn2": 0}
    assert first.down_probes["sn1"] == 1
    down = wait_events(served.api, "snflow.servicenode.down", since, 2)
    assert [e["resource"]["snflow.down-probes"] for e in down] == ["2", "1"]  # newest first
    assert {e["resource"]["prefect.resource.id"] for e in down} == {"snflow.servicenode.sn1"}
    up = wait_events(served.api, "snflow.servicenode.up", since, 2)
    assert {e["resource"]["snflow.servicenode"] for e in up} == {"sn2"}

    served.cluster().power("sn1", True)
    assert probe().down == []  # back: the count starts again
    again = wait_events(served.api, "snflow.servicenode.up", since, 4)
    assert any(e["resource"]["snflow.servicenode"] == "sn1" for e in again)


def test_a_failing_service_check_makes_the_sn_down(served: Served, fresh_counts: None) -> None:
    marker = Path(served.home, "sim", "sn2", "var", "run", "conserver.down")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    try:
        report = probe()
    finally:
        marker.unlink()
    result = {r.node: r for r in report.results}
    assert result["sn2"].ssh and not result["sn2"].up
    assert result["sn2"].failed_checks == ["conserver"]
    assert result["sn2"].checks["dhcpserver"] and result["sn1"].up
    assert "check failed: conserver" in " ".join(report.summary())
