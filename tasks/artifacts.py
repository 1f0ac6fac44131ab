"""Tasks that write a flow run's history: summary, per-node table, progress.

Per-node results go into one table artifact per run (never one task run per node, so the
run history stays complete on large clusters).
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from prefect import task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE

__all__ = ["publish_report", "start_progress", "update_progress"]

_CELL = 200  # characters of output kept per cell: the artifact is a summary, not a log


def _cell(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _CELL else text[: _CELL - 1] + "…"


@task(name="publish-report", cache_policy=NO_CACHE)
def publish_report(
    key: str, title: str, summary: Sequence[str], rows: Sequence[dict[str, object]]
) -> None:
    """A markdown summary and a per-node table, both keyed (listed under Artifacts)."""
    lines = [f"# {title}", "", *(f"- `{line}`" for line in summary)]
    create_markdown_artifact(markdown="\n".join(lines), key=f"{key}-summary", description=title)
    table = [{k: _cell(str(v)) if isinstance(v, str) else v for k, v in r.items()} for r in rows]
    create_table_artifact(table=list(table), key=f"{key}-nodes", description=f"{title}: per node")


def start_progress(description: str) -> UUID | None:
    """A progress artifact at 0 % (called in the flow body, not as a task)."""
    return create_progress_artifact(progress=0.0, description=description)


def update_progress(artifact_id: UUID | None, done: int, total: int) -> None:
    """Move the progress artifact to ``done``/``total``."""
    if artifact_id is not None and total:
        update_progress_artifact(artifact_id=artifact_id, progress=100.0 * done / total)
