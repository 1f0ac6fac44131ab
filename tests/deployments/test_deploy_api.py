"""Deployments served by ``snflow serve``, driven through the API as another tool would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from served_api import ApiError, artifacts, call, create_run, deployment, wait_final
from served_stack import Served

from snflow.deployments.catalog import CATALOG


def test_every_available_deployment_is_served_with_a_form(served: Served) -> None:
    names = {d["name"] for d in call(served.api, "POST", "/deployments/filter", {})}
    assert {"xdsh", "sn-health"} <= names
    dep = deployment(served.api, "xdsh/xdsh")
    assert dep["entrypoint"] == "snflow.flows.xdsh.xdsh"
    assert dep["enforce_parameter_schema"] is True
    schema = dep["parameter_openapi_schema"]
    fields = schema["definitions"]["XdshRequest"]["properties"]
    assert all(field.get("description") for field in fields.values())
    assert fields["fanout"]["maximum"] == 1024  # bounded fanout
    served_specs = [s for s in CATALOG if s.name in names]
    for entry in served_specs:
        assert deployment(served.api, f"{_flow_name(served, entry.name)}/{entry.name}")


def _flow_name(served: Served, name: str) -> str:
    found = call(
        served.api, "POST", "/deployments/filter", {"deployments": {"name": {"any_": [name]}}}
    )
    flow = call(served.api, "GET", f"/flows/{found[0]['flow_id']}")
    return flow["name"]


def test_a_run_triggered_through_the_rest_api_runs_and_records_its_table(served: Served) -> None:
    run = create_run(
        served.api, "xdsh/xdsh", {"request": {"noderange": "cn00[1-3]", "command": "echo $NODE"}}
    )
    done = wait_final(served.api, run["id"])
    assert done["state"]["type"] == "COMPLETED", done["state"]
    found = artifacts(served.api, run["id"])
    table = found["xdsh-nodes"]
    assert table["type"] == "table"
    assert "cn002" in table["data"] and "ok" in table["data"]
    assert "cn[001-003]: ok" in found["xdsh-summary"]["data"]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"noderange": "cn001", "fanout": 5000}, "5000 is greater than the maximum of 1024"),
        ({"command": "true"}, "'noderange' is a required property"),
        ({"noderange": "cn001", "fanout": "many"}, "'many' is not of type 'integer'"),
    ],
)
def test_invalid_parameters_are_refused_by_the_server_before_a_run_exists(
    served: Served, request_: dict, message: str
) -> None:
    with pytest.raises(ApiError) as caught:
        create_run(served.api, "xdsh/xdsh", {"request": request_})
    assert caught.value.status == 409
    assert message in caught.value.body


def test_prefect_deployment_run_starts_a_run(served: Served, tmp_path: Path) -> None:
    env = {**os.environ, "PREFECT_API_URL": served.api, "PREFECT_HOME": str(tmp_path)}
    prefect = str(Path(sys.executable).with_name("prefect"))
    out = subprocess.run(
        [
            prefect,
            "deployment",
            "run",
            "xdsh/xdsh",
            "--param",
            'request={"noderange": "cn016", "command": "echo via-cli"}',
            "--watch",
            "--watch-timeout",
            "120",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Completed" in out.stdout
