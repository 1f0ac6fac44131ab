"""Tasks that read the cluster database (one read each, set-based)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from snflow.models import db
from snflow.models.cluster import ClusterView
from snflow.models.routes import Route
from snflow.tasks.ssh import routes_for

__all__ = ["read_routes"]


@task(name="read-routes", cache_policy=NO_CACHE)
def read_routes(noderange: str) -> dict[str, Route]:
    """Expand ``noderange`` (unknown names are an error) and plan how to reach each node."""
    with db.read_connection() as conn:
        view = ClusterView(conn)
        nodes = view.expand_or_raise(noderange)
        return routes_for(view, nodes)
