"""A few calls of Prefect's REST API, as another tool would make them (plain HTTP + JSON)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


class ApiError(RuntimeError):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def call(api: str, method: str, path: str, body: Any = None, retries: int = 5) -> Any:
    """One request; the decoded JSON answer (None when empty). :class:`ApiError` on >= 400.

    A 503 (the server's SQLite busy under load) is retried with backoff, as Prefect's own
    client does.
    """
    data = None if body is None else json.dumps(body).encode()
    for attempt in range(retries + 1):
        request = urllib.request.Request(  # noqa: S310 - the test's own server on 127.0.0.1
            f"{api}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310 - 127.0.0.1
                raw = resp.read()
            return json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            if exc.code == 503 and attempt < retries:
                time.sleep(0.5 * 2**attempt)  # backoff before retrying a busy server
                continue
            raise ApiError(exc.code, exc.read().decode(errors="replace")) from None
    raise AssertionError("unreachable")


def deployment(api: str, name: str) -> dict[str, Any]:
    """The deployment ``flow/deployment``."""
    return call(api, "GET", f"/deployments/name/{name}")


def create_run(api: str, name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """``POST /deployments/{id}/create_flow_run``: what the UI's Run button does."""
    dep = deployment(api, name)
    return call(
        api, "POST", f"/deployments/{dep['id']}/create_flow_run", {"parameters": parameters}
    )


def flow_run(api: str, run_id: str) -> dict[str, Any]:
    return call(api, "GET", f"/flow_runs/{run_id}")


def wait_state(api: str, run_id: str, types: set[str], timeout: float = 120.0) -> dict[str, Any]:
    """Poll the run until its state type is one of ``types``; the run."""
    deadline = time.monotonic() + timeout
    while True:
        run = flow_run(api, run_id)
        if run["state"]["type"] in types:
            return run
        if run["state"]["type"] in FINAL or time.monotonic() > deadline:
            raise AssertionError(
                f"run {run_id} is {run['state']['type']} ({run['state'].get('message')}), "
                f"expected {sorted(types)}"
            )
        time.sleep(0.3)  # polling the server for a state change, bounded by the deadline


def wait_final(api: str, run_id: str, timeout: float = 120.0) -> dict[str, Any]:
    return wait_state(api, run_id, FINAL, timeout)


def artifacts(api: str, run_id: str) -> dict[str, dict[str, Any]]:
    """The run's artifacts by key (unkeyed ones by type)."""
    found = call(
        api, "POST", "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [run_id]}}}
    )
    return {a["key"] or a["type"]: a for a in found}


def events(api: str, prefix: str, since: str | None = None) -> list[dict[str, Any]]:
    """Events whose name starts with ``prefix`` (newest first), optionally after ``since``."""
    flt: dict[str, Any] = {"event": {"prefix": [prefix]}}
    if since:
        flt["occurred"] = {"since": since}
    return call(api, "POST", "/events/filter", {"filter": flt, "limit": 50})["events"]


def runs_of(api: str, name: str) -> list[dict[str, Any]]:
    """Every flow run of deployment ``flow/deployment``."""
    dep = deployment(api, name)
    return call(api, "POST", "/flow_runs/filter", {"deployments": {"id": {"any_": [dep["id"]]}}})
