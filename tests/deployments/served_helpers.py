"""Helpers shared by the deployment tests: the cluster database as the tests check it, probes."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from served_api import events

from snflow.flows.health import sn_health
from snflow.models import db
from snflow.models.cluster import ClusterView
from snflow.models.defspec import Column
from snflow.models.health import HealthReport, HealthRequest

SN1_NODES = [f"cn{i:03d}" for i in range(1, 9)]
NODERES = [Column("noderes", c) for c in ("servicenode", "xcatmaster", "tftpserver")]


def noderes(nodes: list[str]) -> dict[str, dict[str, str]]:
    """The nodes' effective noderes values that a move changes."""
    with db.read_connection() as conn:
        values = ClusterView(conn).node_attributes(nodes, NODERES)
    return {n: {c.column: v for c, v in cols.items()} for n, cols in values.items()}


def probe() -> HealthReport:
    """One sn-health run in this process."""
    state = sn_health(HealthRequest(timeout=10), return_state=True)
    report = state.result()
    assert isinstance(report, HealthReport)
    return report


def wait_events(api: str, name: str, since: str, count: int, timeout: float = 30.0) -> list[dict]:
    """At least ``count`` events ``name`` since ``since`` (they arrive asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in events(api, name, since) if e["event"] == name]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.3)  # polling the server's event store, bounded by the deadline


def now_iso() -> str:
    return datetime.now(UTC).isoformat()
