"""The bed's cluster database, keys and known_hosts, written with snflow's own API.

The database is the one ``snflow sim up`` writes (:func:`snflow.sim.database.write_cluster`:
nodes, ``servicenode=sn1,sn2`` pairs, groups, postscripts, consoles, MACs, ``site``), then
moved onto the bed's addresses with a :class:`~snflow.models.changes.Staging` change set:
``networks`` "a" and "b" and the MN's ``hosts.ip``. Everything else is the same rows: what
differs between the virtual cluster and the bed is data only.
"""

from __future__ import annotations

from pathlib import Path

from snflow.models.changes import Staging, apply_changes
from snflow.models.db import transaction
from snflow.models.settings import SETTINGS_FILE
from snflow.sim.database import write_cluster
from snflow.sim.keys import (
    ensure_client_key,
    ensure_host_keys,
    known_hosts_line,
    set_port_setting,
    update_known_hosts,
)

from .plan import NET_A, NET_B, BedPlan

__all__ = ["KEYS_DIR", "write_database", "write_keys", "write_settings"]

KEYS_DIR = "bed-keys"
SSH_PORT = 22


def write_database(url: str, plan: BedPlan) -> None:
    """Replace the cluster definition in ``url`` with the bed's (one transaction)."""
    with transaction(url) as conn:
        write_cluster(conn, plan.layout, force=True)
        staging = Staging(conn)
        staging.prefetch("networks", None)
        nets = {"a": NET_A, "b": NET_B}
        for key in staging.keys("networks"):
            row = staging.get("networks", key) or {}
            net = nets.get(row.get("netname") or "")
            if net is None:
                continue
            staging.delete("networks", key)
            new_key = (str(net.network_address), str(net.netmask))
            for column, value in row.items():
                if column not in ("net", "mask"):
                    staging.set("networks", new_key, column, value)
        staging.set("hosts", (plan.mn.name,), "ip", plan.mn.address)
        apply_changes(conn, staging.changes())


def write_keys(home: Path, plan: BedPlan) -> tuple[Path, dict[str, Path], str]:
    """The client key, one host key per host, ``known_hosts`` and ``settings.env`` in
    ``home``; returns (client key, host -> host key path, the known_hosts lines)."""
    client = ensure_client_key(home)
    names = [h.name for h in plan.hosts]
    public = ensure_host_keys(home / KEYS_DIR, names)
    entries = {}
    for host in plan.hosts:
        entries[host.name] = known_hosts_line(host.name, host.address, SSH_PORT, public[host.name])
        if host.b_name:
            b = host.link("b").address
            entries[host.b_name] = known_hosts_line(host.b_name, b, SSH_PORT, public[host.name])
    replaced = set(entries) | {h.address for h in plan.hosts}
    update_known_hosts(home / "known_hosts", entries, replaced)
    set_port_setting(home, SSH_PORT)
    keys = {name: home / KEYS_DIR / name for name in names}
    return client, keys, "".join(f"{line}\n" for line in entries.values())


def write_settings(home: Path, values: dict[str, str]) -> None:
    """Set ``values`` (``SNFLOW_*`` name -> value) in ``home/settings.env``, keeping other lines."""
    path = home / SETTINGS_FILE
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    lines = [line for line in lines if line.partition("=")[0].strip() not in values]
    lines += [f"{name}={value}" for name, value in values.items()]
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
