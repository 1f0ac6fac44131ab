"""Takeover and switch-back started through the REST API, checked in the database and the
run's artifacts, as the issue's acceptance test asks."""

from __future__ import annotations

import pytest
from served_api import artifacts, call, create_run, deployment, wait_final
from served_helpers import SN1_NODES, noderes
from served_stack import Served

from snflow.deployments.catalog import CATALOG


def test_deployments_that_move_nodes_show_dry_run_on_and_share_one_limit(served: Served) -> None:
    for entry in (e for e in CATALOG if e.moves_nodes):
        flow = "snmove" if entry.name != "maintenance-window" else entry.name
        dep = deployment(served.api, f"{flow}/{entry.name}")
        assert dep["parameters"]["request"]["dry_run"] is True, entry.name
    limit = call(served.api, "GET", "/v2/concurrency_limits/snmove")
    assert limit["limit"] == 1 and limit["active"]


def test_takeover_through_the_rest_api_then_switch_back(served: Served) -> None:
    before = noderes(SN1_NODES)
    assert all(v["servicenode"].startswith("sn1,") for v in before.values())

    run = create_run(served.api, "snmove/snmove", {"request": {"source": "sn1", "dry_run": False}})
    done = wait_final(served.api, run["id"], timeout=180)
    assert done["state"]["type"] == "COMPLETED", done["state"]["message"]
    after = noderes(SN1_NODES)
    assert all(v["servicenode"] == "sn2,sn1" for v in after.values()), after
    assert {v["xcatmaster"] for v in after.values()} != {v["xcatmaster"] for v in before.values()}
    found = artifacts(served.api, run["id"])
    table = found["snmove-nodes"]
    assert table["type"] == "table"
    for node in SN1_NODES:
        assert node in table["data"]
    assert "cn[001-008]: moved (sn1 -> sn2)" in found["snmove-summary"]["data"]

    back = create_run(
        served.api,
        "snmove/switch-back",
        {"request": {"noderange": "sn1group", "dest": "sn1", "dry_run": False}},
    )
    done = wait_final(served.api, back["id"], timeout=180)
    assert done["state"]["type"] == "COMPLETED", done["state"]["message"]
    assert noderes(SN1_NODES) == before


def test_a_dry_run_from_the_form_defaults_changes_nothing(served: Served) -> None:
    before = noderes(SN1_NODES)
    dep = deployment(served.api, "snmove/snmove")
    request = {**dep["parameters"]["request"], "source": "sn1"}  # the form: dry run ticked
    run = create_run(served.api, "snmove/snmove", {"request": request})
    done = wait_final(served.api, run["id"], timeout=180)
    assert done["state"]["type"] == "COMPLETED", done["state"]["message"]
    assert noderes(SN1_NODES) == before
    assert "cn[001-008]" in artifacts(served.api, run["id"])["snmove-summary"]["data"]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"source": "sn1", "fanout": 0}, "0 is less than the minimum of 1"),
        ({"source": "sn1", "dry_run": "yes"}, "'yes' is not of type 'boolean'"),
    ],
)
def test_the_server_refuses_an_invalid_move(served: Served, request_: dict, message: str) -> None:
    from served_api import ApiError

    with pytest.raises(ApiError) as caught:
        create_run(served.api, "snmove/snmove", {"request": request_})
    assert caught.value.status == 409 and message in caught.value.body
