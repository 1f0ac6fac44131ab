"""What the service commands share (``makedhcp``, ``nodeset``, ``makeconservercf``): check
the request before Prefect starts, run the flow, print one line per host and the summary.

Output: ``<host>: changed: added cn[001-016]; reloaded`` (or ``unchanged``) on stdout,
query lines on stdout, ``Warning: ...`` and ``Error: <host>: <why>`` on stderr, then the
summary and the run's address on stderr. Exit 1 when the run stopped or any host failed.
"""

from __future__ import annotations

import sys
from typing import TypeVar

import typer
from pydantic import BaseModel, ValidationError

from snflow.cli._common import fail
from snflow.models import db
from snflow.models.cluster import ClusterView
from snflow.models.errors import SnflowError
from snflow.models.servicerun import HostResult, ServiceReport, names_text

__all__ = ["build_request", "host_line", "run_service_flow"]

R = TypeVar("R", bound=BaseModel)


def build_request(model: type[R], **fields: object) -> R:
    """The request, or one ``Error:`` line naming what is wrong with it."""
    try:
        request = model(**fields)
    except ValidationError as exc:
        fail("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()))
    noderange = str(fields.get("noderange") or "")
    if noderange:
        try:
            with db.read_connection() as conn:
                ClusterView(conn).expand_or_raise(noderange)
        except SnflowError as exc:
            fail(str(exc))
    return request


def host_line(result: HostResult) -> str:
    """``sn1: changed: added cn[001-002]; removed cn005; 3 updated; reloaded``."""
    parts = []
    if result.added:
        parts.append(f"added {names_text(result.added)}")
    if result.removed:
        parts.append(f"removed {names_text(result.removed)}")
    if result.updated:
        parts.append(f"{len(result.updated)} updated")
    if result.reloaded:
        parts.append("reloaded")
    if result.message and result.outcome != "failed":
        parts.append(result.message)
    return f"{result.host}: {result.outcome}" + (f": {'; '.join(parts)}" if parts else "")


def run_service_flow(name: str, request: BaseModel) -> None:
    """Run the flow ``name`` on ``request`` against the Prefect server, print the report, exit."""
    from snflow.cli._flowrun import run_flow

    report, ui, run_id = run_flow(name, request, ServiceReport)
    for warning in report.warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    if report.error:
        fail(report.error)
    out = []
    for result in report.results:
        out.extend(result.details)
        if result.outcome == "failed":
            print(f"Error: {result.host}: {result.message}", file=sys.stderr)
        elif not result.details:  # a query's lines say it all
            out.append(host_line(result))
    if out:
        sys.stdout.write("\n".join(out) + "\n")
        sys.stdout.flush()
    summary = "; ".join(report.summary()) if report.results else "no host to work on"
    print(f"{name}: {summary} (run {ui}/runs/flow-run/{run_id})", file=sys.stderr)
    if report.failed:
        raise typer.Exit(1)
