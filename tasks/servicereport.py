"""The end of a service flow: its report as artifacts, and the run's final state.

A markdown summary (outcomes folded by host, entries added/removed, warnings, the error
that stopped the run) and a table with one row per host, both keyed by the command so the
Prefect UI lists their versions.
"""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, Failed, State

from snflow.models.natsort import fold
from snflow.models.servicerun import ServiceReport

__all__ = ["finish_report", "publish_service_report"]


@task(name="publish-report", cache_policy=NO_CACHE)
def publish_service_report(key: str, report: ServiceReport) -> None:
    """A markdown summary and a per-host table, keyed ``<key>-summary``/``<key>-hosts``."""
    lines = [f"# {report.command}", "", *(f"- `{line}`" for line in report.summary())]
    lines += [f"- warning: `{w}`" for w in report.warnings]
    if report.error:
        lines += ["", "```", report.error, "```"]
    create_markdown_artifact(
        markdown="\n".join(lines), key=f"{key}-summary", description=report.command
    )
    if report.results:
        create_table_artifact(
            table=[r.row() for r in report.results],
            key=f"{key}-hosts",
            description=f"{report.command}: per host",
        )


def finish_report(key: str, report: ServiceReport) -> State:
    """Publish ``report``; Completed when every host succeeded, else Failed."""
    publish_service_report(key, report)
    if report.error:
        return Failed(message=report.error.splitlines()[0], data=report)
    if report.failed:
        return Failed(message=f"failed on {fold(report.failed)}", data=report)
    return Completed(message="; ".join(report.summary()), data=report)
