"""The one database read of a service flow: the cluster as the planners see it, the
nodes asked for, and how to reach every service host.

Service nodes are nodes of the database: they are reached by their own route
(:func:`~snflow.tasks.ssh.routes_for`, direct). The management node is this machine; its
files live under ``services.mn_root`` (empty on a real cluster).
"""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict

from snflow.models import db
from snflow.models.cluster import ClusterView
from snflow.models.services import ServiceState
from snflow.models.servicestate import load_service_state
from snflow.models.settings import ServicesSettings, get_settings
from snflow.tasks.servicehost import ServiceTarget
from snflow.tasks.ssh import routes_for

__all__ = ["ServiceContext", "read_service_context"]


class ServiceContext(BaseModel):
    """What a service flow plans from: the state, the noderange's nodes, the targets."""

    model_config = ConfigDict(frozen=True)

    state: ServiceState
    nodes: tuple[str, ...] | None = None
    targets: dict[str, ServiceTarget]
    settings: ServicesSettings


@task(name="read-service-state", cache_policy=NO_CACHE)
def read_service_context(noderange: str = "") -> ServiceContext:
    """Read the cluster for a service flow; ``noderange`` (may be empty) is expanded,
    unknown names being an error (:class:`~snflow.models.errors.NoderangeError`)."""
    settings = get_settings()  # once: it is not safe to call from several threads at once
    with db.read_connection(settings.effective_database_url) as conn:
        view = ClusterView(conn)
        nodes = view.expand_or_raise(noderange) if noderange else None
        state = load_service_state(view)
        sns = [h.name for h in state.hosts if not h.is_mn]
        routes = routes_for(view, sns, port=settings.ssh.port)
    root, fanout = settings.services.mn_root, settings.fanout
    targets = {h.name: ServiceTarget(name=h.name, root=root) for h in state.hosts if h.is_mn}
    targets |= {name: ServiceTarget(name=name, route=routes[name], fanout=fanout) for name in sns}
    return ServiceContext(state=state, nodes=nodes, targets=targets, settings=settings.services)
