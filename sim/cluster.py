"""The virtual cluster seen from outside: bring it up, ask it, power hosts, take it down.

>>> with SimCluster.up(home, service_nodes=2, nodes=8) as cluster:  # doctest: +SKIP
...     cluster.power("cn003", on=False)
...     cluster.status().host("sn1").counters.bytes_received

:meth:`SimCluster.up` writes the cluster database (or, ``from_db``, serves the nodes it
already defines), creates the keys, starts the daemon and waits until every host listens,
then writes ``SNFLOW_SSH_PORT`` into ``settings.env`` and the host keys into
``known_hosts``. The database change and the start are one step: if the daemon cannot
start, the database is left as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from pathlib import Path
from types import TracebackType

from sqlalchemy.engine import Connection

from snflow.models.db import transaction
from snflow.models.settings import get_settings
from snflow.sim import paths
from snflow.sim.control import is_daemon, request, start_daemon, wait_exit
from snflow.sim.database import fill_from_db, read_definitions, write_cluster
from snflow.sim.errors import SimError
from snflow.sim.hostfiles import SN_SSH_COMMAND
from snflow.sim.keys import (
    ensure_client_key,
    ensure_host_keys,
    known_hosts_line,
    set_port_setting,
    set_settings,
    update_known_hosts,
)
from snflow.sim.layout import SimHost, SimLayout, layout_from_definitions, plan_layout
from snflow.sim.models import SimStatus
from snflow.sim.services import service_settings

__all__ = ["SimCluster", "sim_down"]

_STOP_TIMEOUT = 10.0


def _home(home: Path | str | None) -> Path:
    return Path(home if home is not None else get_settings().home).absolute()


def _database_url(home: Path) -> str:
    settings = get_settings()
    if settings.home.absolute() != home:
        settings = settings.model_copy(update={"home": home})
    return settings.effective_database_url


def _read_state(home: Path) -> dict | None:
    try:
        return json.loads(paths.state_file(home).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _clean_stale(home: Path) -> None:
    for path in (paths.control_socket(home), paths.state_file(home)):
        path.unlink(missing_ok=True)


def _running_pid(home: Path) -> int | None:
    """The PID of the daemon serving ``home``, if one runs (stale files are removed)."""
    state = _read_state(home)
    if state is not None and is_daemon(int(state.get("pid", 0))):
        return int(state["pid"])
    _clean_stale(home)
    return None


def _stop(home: Path, pid: int, timeout: float) -> None:
    with contextlib.suppress(SimError):  # not answering: it is killed below
        request(home, {"op": "shutdown"}, timeout=timeout)
    if not wait_exit(pid, timeout) and is_daemon(pid):
        os.kill(pid, signal.SIGKILL)
        wait_exit(pid, timeout)
    if is_daemon(pid):
        raise SimError(f"the virtual cluster (pid {pid}) did not stop")
    _clean_stale(home)


def sim_down(home: Path | str | None = None, timeout: float = _STOP_TIMEOUT) -> int | None:
    """Stop the virtual cluster of ``home`` if one runs; the PID that was stopped, if any."""
    home = _home(home)
    pid = _running_pid(home)
    if pid is not None:
        _stop(home, pid, timeout)
    return pid


class SimCluster:
    """A running virtual cluster: its home, daemon PID, port and hosts."""

    def __init__(self, home: Path, pid: int, port: int, layout: SimLayout) -> None:
        self.home = home
        self.pid = pid
        self.port = port
        self.layout = layout

    # --- starting and finding ---------------------------------------------------------------
    @classmethod
    def up(
        cls,
        home: Path | str | None = None,
        *,
        service_nodes: int = 2,
        nodes: int = 32,
        port: int | None = None,
        from_db: bool = False,
        force: bool = False,
        database_url: str | None = None,
        timeout: float = 60.0,
    ) -> SimCluster:
        """Bring a virtual cluster up in ``home`` (default ``$SNFLOW_HOME``).

        :param service_nodes: SNs ``sn1..snK`` (ignored with ``from_db``).
        :param nodes: CNs ``cn001..`` split evenly among the SNs (ignored with ``from_db``).
        :param port: the port of every host; default 2222 if free everywhere, else another.
        :param from_db: serve the nodes the database already defines, any names.
        :param force: replace a database holding nodes the simulation did not create.
        :param database_url: default: the configured database (SQLite in ``home``).
        :raises SimError: one already runs, the database is not the simulation's, the port
            is taken, the daemon does not start within ``timeout`` seconds.
        """
        home = _home(home)
        running = _running_pid(home)
        if running is not None:
            raise SimError(
                f"a virtual cluster is already running in {home} (pid {running}); "
                "run 'snflow sim down' first"
            )
        url = database_url or _database_url(home)
        cluster: SimCluster | None = None
        try:
            # One transaction around the start: a daemon that cannot start leaves the
            # database as it was, and a failed commit takes the daemon down.
            with transaction(url) as conn:
                layout = _write_database(conn, service_nodes, nodes, from_db, force)
                ensure_client_key(home)
                public = ensure_host_keys(paths.keys_dir(home), (h.name for h in layout.hosts))
                paths.layout_file(home).write_text(layout.model_dump_json(), encoding="utf-8")
                started = start_daemon(home, port, timeout)
                cluster = cls(home, started.pid, started.port, layout)
                set_port_setting(home, started.port)
                set_settings(home, service_settings(home))
                set_settings(home, {"SNFLOW_SN_SSH_COMMAND": SN_SSH_COMMAND})
                _write_known_hosts(home, layout, started.port, public)
        except BaseException:
            if cluster is not None:
                cluster.down()
            raise
        return cluster

    @classmethod
    def attach(cls, home: Path | str | None = None) -> SimCluster:
        """The virtual cluster running in ``home``; :class:`SimError` if none runs."""
        home = _home(home)
        pid = _running_pid(home)
        state = _read_state(home)
        if pid is None or state is None:
            raise SimError("no virtual cluster is running")
        layout = SimLayout.model_validate_json(paths.layout_file(home).read_bytes())
        return cls(home, pid, int(state["port"]), layout)

    # --- asking ----------------------------------------------------------------------------
    @property
    def hosts(self) -> tuple[SimHost, ...]:
        return self.layout.hosts

    def host(self, name: str) -> SimHost:
        """Host ``name`` (its addresses, peers); :class:`SimError` if unknown."""
        return self.layout.host(name)

    def status(self) -> SimStatus:
        """Every host's power and counters, and the cluster-wide counters."""
        reply = request(self.home, {"op": "status"})
        return SimStatus.model_validate(reply["status"])

    def power(self, host: str, on: bool) -> bool:
        """Power ``host`` on or off; whether anything changed. Off: new connections are
        refused, open ones dropped, its commands killed. On: it listens again."""
        self.layout.host(host)
        reply = request(self.home, {"op": "power", "host": host, "state": "on" if on else "off"})
        return bool(reply["changed"])

    def reset_counters(self) -> None:
        """Cumulative counters to zero, high-water marks to the current values."""
        request(self.home, {"op": "reset"})

    # --- stopping --------------------------------------------------------------------------
    def down(self, timeout: float = _STOP_TIMEOUT) -> None:
        """Stop the daemon (asked, then killed by PID if it does not go within ``timeout``)."""
        if is_daemon(self.pid):
            _stop(self.home, self.pid, timeout)
        else:
            _clean_stale(self.home)

    def __enter__(self) -> SimCluster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()


def _write_database(
    conn: Connection, service_nodes: int, nodes: int, from_db: bool, force: bool
) -> SimLayout:
    if not from_db:
        layout = plan_layout(service_nodes, nodes)
        write_cluster(conn, layout, force=force)
        return layout
    layout = layout_from_definitions(read_definitions(conn))
    reserved = [h.name for h in layout.hosts if h.name in paths.RESERVED_NAMES]
    if reserved:
        raise SimError(f'a host cannot be called "{reserved[0]}" in the simulation')
    fill_from_db(conn, layout)
    return layout


def _write_known_hosts(home: Path, layout: SimLayout, port: int, public: dict[str, str]) -> None:
    entries = {
        h.name: known_hosts_line(h.name, h.address, port, public[h.name]) for h in layout.hosts
    }
    replaced = {h.name for h in layout.hosts} | {h.address for h in layout.hosts}
    update_known_hosts(paths.known_hosts(home), entries, replaced)
