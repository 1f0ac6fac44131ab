"""Ask the destination service nodes for their live addresses (``ip -o addr``), in parallel.

One task run for all destinations. A destination that does not answer is reported with
the reason and gets no addresses: the planner then refuses the nodes going there (the
destination must answer; the source may be down). A destination that is the management
node itself is asked locally.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence

from prefect import task
from prefect.cache_policies import NO_CACHE

from snflow.models.routes import Route
from snflow.models.snmove import Interface, parse_ip_addr
from snflow.tasks.runtime import run_resources
from snflow.tasks.ssh import SshError, map_routes

__all__ = ["IP_ADDR_COMMAND", "probe_destinations"]

#: What a service node is asked; its output is parsed by :func:`parse_ip_addr`.
IP_ADDR_COMMAND = ("ip", "-o", "addr")


def _local(timeout: float) -> tuple[tuple[Interface, ...] | None, str]:
    try:
        done = subprocess.run(
            list(IP_ADDR_COMMAND), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, str(exc)
    if done.returncode != 0:
        return None, done.stderr.strip() or f"exit status {done.returncode}"
    return parse_ip_addr(done.stdout), ""


@task(name="probe-destinations", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def probe_destinations(
    routes: Mapping[str, Route], local: Sequence[str], fanout: int, timeout: float
) -> tuple[dict[str, tuple[Interface, ...]], dict[str, str]]:
    """Each destination's interfaces, and why the others could not be asked."""
    res = run_resources(fanout)
    command = " ".join(IP_ADDR_COMMAND)

    def ask(route: Route) -> tuple[tuple[Interface, ...] | None, str]:
        try:
            result = res.pool.run(route, command, timeout=timeout)
        except SshError as exc:
            return None, str(exc)
        if result.outcome != "ok":
            return None, (result.stderr_text.strip() or result.message)
        return parse_ip_addr(result.stdout_text), ""

    def failed(_: Route, exc: Exception) -> tuple[None, str]:
        return None, str(exc)

    asked = map_routes(ask, list(routes.values()), fanout=fanout, on_error=failed)
    answers = dict(zip(routes, asked, strict=True))
    answers.update({name: _local(timeout) for name in local})
    found = {sn: found for sn, (found, _) in answers.items() if found is not None}
    errors = {sn: why for sn, (found, why) in answers.items() if found is None}
    return found, errors
