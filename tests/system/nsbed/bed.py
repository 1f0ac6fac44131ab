"""A running namespace cluster: bring it up, run commands in it, take it down.

>>> with Bed.up() as bed:  # doctest: +SKIP
...     bed.mn_run(["snflow", "xdsh", "compute", "hostname"])

Everything of bed ``<id>`` (``snfb`` + 6 hex digits) lives in ``/run/snflow-bed/<id>/``:
``state.json`` (written before anything is created, so an aborted run can always be found
and cleaned), ``home/`` (the MN's ``SNFLOW_HOME``: database, keys, known_hosts, Prefect
server), ``hosts/<host>/`` (each host's private files), ``logs/``. Namespaces are called
``<id>-<host>`` and ``<id>-sw``. :meth:`Bed.down` stops every recorded PID (after checking
the process is still in the bed's namespace), then every process left in each namespace,
deletes the namespaces and the directory. :func:`.stale.cleanup_stale` does that for beds
whose owning process has died.

Safety: commands towards bed addresses run only inside bed namespaces (the MN has no
default route, the SNs forward nothing), and :meth:`Bed.check_routes` verifies with
``ip route get`` from the namespace that will connect before the first command.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from . import netns
from .daemons import SERVICE_SETTINGS, services_of, sshd_argv, start_files
from .database import write_database, write_keys, write_settings
from .hostfs import MOUNTS, PATH, host_dirs, populate
from .netns import BedError
from .plan import PREFIX, BedHost, BedPlan, plan_bed
from .procs import holder_argv, start_daemon, start_holders, stop_pids, wait_listening

__all__ = ["BASE", "Bed", "BedError"]

#: Where beds keep their state and files (root only); SNFLOW_BED_BASE overrides it.
BASE = Path(os.environ.get("SNFLOW_BED_BASE", "/run/snflow-bed"))
_STATE = "state.json"


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (tells a live owner from a reused PID)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _keep_in_view(dirs: Mapping[str, Path]) -> dict[Path, Path]:
    """This checkout and the Python running it, for each that a private mount of ``dirs``
    would hide: machine path -> its mount point inside that private directory (created)."""
    wanted = [Path(__file__).resolve().parents[3], Path(sys.prefix), Path(sys.base_prefix)]
    keep: dict[Path, Path] = {}
    for path in wanted:
        for mount, source in dirs.items():
            if path.is_relative_to(mount) and path != Path(mount):
                inside = source / path.relative_to(mount)
                if not any(path.is_relative_to(k) for k in keep):
                    inside.mkdir(parents=True, exist_ok=True)
                    keep[path] = inside
    return keep


class Bed:
    """One namespace cluster (see the module docstring)."""

    def __init__(self, plan: BedPlan, root: Path, state: dict) -> None:
        self.plan = plan
        self.root = root
        self.state = state
        self._routes_checked: set[str] = set()

    # --- paths and names ---------------------------------------------------------------------
    @property
    def bed_id(self) -> str:
        return self.plan.bed_id

    @property
    def home(self) -> Path:
        """The MN's ``SNFLOW_HOME``."""
        return self.root / "home"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.home / 'cluster.sqlite'}"

    def path(self, host: str, path: str) -> Path:
        """Where the file ``path`` of ``host`` (e.g. ``/etc/resolv.conf``) is seen from
        outside the bed: its private directory."""
        for mount, source in sorted(host_dirs(self.root, host).items(), key=lambda m: -len(m[0])):
            if path == mount or path.startswith(mount + "/"):
                return source / path[len(mount) :].lstrip("/")
        raise BedError(f"{path} is not one of a bed host's own directories ({', '.join(MOUNTS)})")

    def mn_env(self) -> dict[str, str]:
        """Environment of snflow commands on the MN: the bed's home, nothing else of ours."""
        venv = str(Path(sys.executable).parent)
        return {
            "PATH": f"{venv}:{PATH}",
            "HOME": "/var/root",
            "SNFLOW_HOME": str(self.home),
            "LC_ALL": "C.UTF-8",
            "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }

    # --- bringing up -------------------------------------------------------------------------
    @classmethod
    def up(
        cls,
        *,
        service_nodes: int = 2,
        nodes: int = 8,
        owner: int | None = None,
        base: Path = BASE,
        prefect: bool = True,
    ) -> Bed:
        """Build and start a bed; ``owner`` is the PID whose death makes it stale (default
        this process; ``0``: none, a bed brought up by hand). Anything that fails takes
        down what was built and raises :class:`BedError`."""
        if os.geteuid() != 0:
            raise BedError("the namespace cluster needs root")
        netns.check_free_ranges(plan_bed("check").networks.values())
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        while True:
            bed_id = f"{PREFIX}{secrets.token_hex(3)}"
            try:
                (base / bed_id).mkdir(mode=0o700)
                break
            except FileExistsError:
                continue
        owner = os.getpid() if owner is None else owner
        plan = plan_bed(bed_id, service_nodes, nodes)
        state = {
            "bed_id": bed_id,
            "service_nodes": service_nodes,
            "nodes": nodes,
            "owner": owner or None,
            "owner_start": _start_time(owner) if owner else None,
            "started": time.time(),
            "pids": {},
        }
        bed = cls(plan, base / bed_id, state)
        bed._save()
        try:
            bed._build()
            if prefect:
                bed._start_prefect()
        except BaseException:
            bed.down()
            raise
        return bed

    def _save(self) -> None:
        tmp = self.root / f".{_STATE}.tmp"
        tmp.write_text(json.dumps(self.state, indent=1))
        tmp.replace(self.root / _STATE)

    def _build(self) -> None:
        for mount in MOUNTS:  # mount points on the machine (empty directories, kept)
            Path(mount).mkdir(parents=True, exist_ok=True)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation
        logs = self.root / "logs"
        logs.mkdir()
        netns.create_network(self.plan)
        self.home.mkdir()
        write_database(self.database_url, self.plan)
        client, host_keys, known = write_keys(self.home, self.plan)
        write_settings(self.home, SERVICE_SETTINGS)
        argvs = {}
        for host in self.plan.hosts:
            dirs = populate(self.root, self.plan, host, host_keys[host.name], client, known)
            for path, text in start_files(host).items():
                target = self.path(host.name, path)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
                target.chmod(0o755 if path.startswith("/etc/init.d/") else 0o644)
            keep = _keep_in_view(dirs) if host.role == "mn" else {}
            argvs[host.name] = holder_argv(host.netns, host.name, dirs, keep)
        holders = start_holders(argvs, logs)
        self.state["holders"] = holders
        for name, pid in holders.items():
            self._record(name, {f"{name}/holder": pid})
        waits, log_paths = [], {}
        for host in self.plan.hosts:
            label = f"{host.name}/sshd"
            log_paths[label] = logs / f"{host.name}-sshd.log"
            pid = start_daemon(holders[host.name], sshd_argv(), log_paths[label])
            self._record(host.name, {label: pid})
            waits.append((label, pid, ("tcp", host.address, 22)))
        for host in self.plan.hosts:
            for service in services_of(host):
                if service.autostart:
                    self.service(host.name, service.name, "start")
        wait_listening(waits, log_paths)

    def service(self, host: str, name: str, action: str) -> None:
        """Run ``/etc/init.d/NAME ACTION`` on ``host``; record the daemon's PID after a
        start; :class:`BedError` with its output if it fails."""
        proc = self.host_run(host, [f"/etc/init.d/{name}", action], check_routes=False)
        if proc.returncode != 0:
            raise BedError(f"{name} {action} on {host} failed: {proc.stderr.strip()}")
        pidfile = self.path(host, f"/var/run/{name}.pid")
        if pidfile.exists():
            self._record(host, {f"{host}/{name}": int(pidfile.read_text().split()[0])})

    def _record(self, host: str, pids: Mapping[str, int]) -> None:
        """Remember PIDs started on ``host`` with the identity of its network namespace, so
        a PID reused by another process is never signalled."""
        identity = netns.netns_inode(self.plan.host(host).netns)
        for label, pid in pids.items():
            self.state["pids"][label] = {"pid": pid, "netns": identity}
        self._save()

    def _start_prefect(self) -> None:
        proc = self.mn_run(["snflow", "server", "start"], timeout=180)
        if proc.returncode != 0:
            raise BedError(f"the MN's Prefect server did not start: {proc.stderr.strip()}")

    # --- finding -----------------------------------------------------------------------------
    @classmethod
    def attach(cls, bed_id: str, base: Path = BASE) -> Bed:
        """The bed ``bed_id`` as its state file describes it."""
        root = base / bed_id
        try:
            state = json.loads((root / _STATE).read_text())
        except (OSError, ValueError) as exc:
            raise BedError(f"no bed {bed_id} in {base}: {exc}") from None
        plan = plan_bed(bed_id, state["service_nodes"], state["nodes"])
        return cls(plan, root, state)

    def owner_alive(self) -> bool:
        """Whether the process that owns this bed still runs (a bed without owner: True)."""
        owner = self.state.get("owner")
        if not owner:
            return True
        return _start_time(owner) is not None and _start_time(owner) == self.state["owner_start"]

    # --- running things ----------------------------------------------------------------------
    def check_routes(self, netns_name: str, addresses: Sequence[str]) -> None:
        """Refuse (:class:`BedError`) unless, from ``netns_name``, every address is either
        on a link of the bed (no gateway) or unreachable, and there is no default route
        that could leave through anything but a bed service node."""
        host = next((h for h in self.plan.hosts if h.netns == netns_name), None)
        if host is None:
            raise BedError(f"{netns_name} is not a namespace of bed {self.bed_id}")
        own = {link.ifname for link in host.links} | {"lo"}
        sn_b = {sn.link("b").address for sn in self.plan.service_nodes}
        for address in addresses:
            route = netns.route_get(netns_name, address)
            if route is None:
                continue
            gateway = route.get("gateway")
            if route.get("dev") not in own or (gateway and gateway not in sn_b):
                raise BedError(
                    f"refusing to connect to {address} from {netns_name}: route {route} "
                    "does not stay inside the bed"
                )

    def _check_once(self, host: BedHost, addresses: Sequence[str]) -> None:
        if host.name not in self._routes_checked:
            self.check_routes(host.netns, addresses)
            self._routes_checked.add(host.name)

    def all_addresses(self) -> list[str]:
        return [link.address for h in self.plan.hosts for link in h.links]

    def mn_run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        timeout: float | None = 300,
        input: str | None = None,
        capture: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` on the MN, after the route check: in its network, mount and UTS
        namespaces (its own ``/etc``, ``/var``, ``/tftpboot``... as on a real MN, with this
        checkout and venv in view) and the bed's ``SNFLOW_HOME``; output captured as text."""
        self._check_once(self.plan.mn, self.all_addresses())
        return subprocess.run(
            [*self._enter(self.plan.mn.name), *argv],
            env={**self.mn_env(), **(env or {})},
            capture_output=capture,
            text=True,
            timeout=timeout,
            input=input,
            check=False,
        )

    def _enter(self, host: str) -> list[str]:
        holder = self.state["holders"][host]
        return ["nsenter", f"--target={holder}", "--mount", "--net", "--uts", "--wd=/"]

    def snflow(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``snflow ARGS`` on the MN."""
        return self.mn_run(["snflow", *args], timeout=timeout)

    def host_run(
        self,
        host: str,
        argv: Sequence[str],
        *,
        timeout: float | None = 60,
        input: str | None = None,
        capture: bool = True,
        check_routes: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` on bed host ``host``: its namespaces and private files, the nodes'
        fixed environment; after the route check from its namespace (``check_routes``:
        skipped only for the bed's own local commands, which connect nowhere)."""
        if check_routes:
            self._check_once(self.plan.host(host), self.all_addresses())
        return subprocess.run(
            [*self._enter(host), *argv],
            env={"PATH": PATH, "HOME": "/var/root", "LC_ALL": "C"},
            capture_output=capture,
            text=True,
            timeout=timeout,
            input=input,
            check=False,
        )

    def set_link(self, host: str, network: str, up: bool) -> None:
        """Take ``host``'s link on ``network`` ("a" or "b") down or bring it back up."""
        bed_host = self.plan.host(host)
        netns.set_link(bed_host.netns, bed_host.link(network).ifname, up)

    def link_up(self, host: str, network: str) -> bool:
        bed_host = self.plan.host(host)
        out = netns.ip(["-n", bed_host.netns, "-j", "link", "show", bed_host.link(network).ifname])
        return "UP" in json.loads(out)[0].get("flags", [])

    def reset(self) -> None:
        """Back to the state :meth:`up` left, as far as tests change it: every link up, the
        cluster database written anew (journal and locks of moves gone too), each CN's own
        files and default route. The service hosts' DHCP, boot and console files are left
        to the tests, which write them with snflow's commands."""
        for host in self.plan.hosts:
            for link in host.links:
                if not self.link_up(host.name, link.network):
                    self.set_link(host.name, link.network, True)
        from snflow.models.db import dispose_engines

        dispose_engines()
        database = self.home / "cluster.sqlite"
        for suffix in ("", "-wal", "-shm", "-journal"):
            database.with_name(database.name + suffix).unlink(missing_ok=True)
        write_database(self.database_url, self.plan)
        for host in self.plan.compute_nodes:
            for path, text in start_files(host).items():
                self.path(host.name, path).write_text(text)
            netns.ip(["-n", host.netns, "route", "replace", "default", "via", host.gateway or ""])

    # --- taking down -------------------------------------------------------------------------
    def down(self) -> None:
        """Stop every process of the bed by PID, delete its namespaces and files."""
        recorded = {v["pid"]: tuple(v["netns"]) if v["netns"] else None for v in self._pids()}
        stop_pids(recorded, recorded)
        for name in self.plan.namespaces:
            stop_pids(netns.netns_pids(name))
        netns.delete_namespaces(self.plan.namespaces)
        shutil.rmtree(self.root, ignore_errors=True)

    def _pids(self) -> list[dict]:
        return list(self.state.get("pids", {}).values())

    def __enter__(self) -> Bed:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()
