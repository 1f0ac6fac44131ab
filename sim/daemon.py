"""The virtual cluster's background process: every host's SSH server in one asyncio loop.

Started by ``snflow sim up`` (:func:`snflow.sim.control.start_daemon`) as
``python -m snflow.sim.daemon --home H [--port P] --ready-fd N``; it forks once more so
it is nobody's child, and runs in its own session. It reads ``sim/layout.json`` and the
keys, binds every host (``--port``, else 2222 when free on every address, else another
free port), listens on ``sim/control.sock`` (JSON lines: ``status``, ``power``, ``reset``,
``shutdown``), writes ``sim/state.json``, and only then writes one JSON line on the ready
descriptor: ``{"ok": true, "pid": ..., "port": ...}`` or ``{"ok": false, "error": ...}``.
SIGTERM and SIGINT shut it down like ``shutdown``.

Before serving it decides once how commands are isolated (:mod:`snflow.sim.nodeenv`: a
private mount namespace per command, or the documented fallback, logged and reported in
the status) and writes each host's files (:mod:`snflow.sim.hostfiles`: its ``ip``, a
service node's SSH client set-up); a compute node also authorizes its service nodes' keys.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import resource
import signal
import socket
import sys
import warnings
from pathlib import Path
from typing import Any

import asyncssh

from snflow.sim import lenient, paths
from snflow.sim.hostfiles import authorized_keys, ensure_sn_keys, write_host_files
from snflow.sim.layout import SimLayout
from snflow.sim.models import SimStatus
from snflow.sim.nodeenv import Isolation, host_env, probe_isolation
from snflow.sim.server import Counters, HostServer, bind_listener

__all__ = ["DEFAULT_PORT", "main"]

DEFAULT_PORT = 2222
_PORT_TRIES = 40
_ROOT_DIRS = ("etc", "opt/xcat", "var/xcat", "tftpboot", "tmp")
_log = logging.getLogger("snflow.sim")


def _raise_open_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if needed > hard:
        raise OSError(f"{needed} open files needed, the limit is {hard}")


def _bind_all(addresses: list[str], port: int) -> dict[str, socket.socket]:
    socks: dict[str, socket.socket] = {}
    try:
        for address in addresses:
            socks[address] = bind_listener(address, port)
    except OSError:
        for sock in socks.values():
            sock.close()
        raise
    return socks


def bind_hosts(addresses: list[str], port: int | None) -> tuple[int, dict[str, socket.socket]]:
    """Listening sockets for every address on one port: ``port``, else 2222, else another."""
    if port:
        try:
            return port, _bind_all(addresses, port)
        except OSError as exc:
            raise OSError(f"port {port} is not free on every host address: {exc}") from None
    candidates = [DEFAULT_PORT, *random.sample(range(20000, 30000), _PORT_TRIES)]
    for candidate in candidates:
        with contextlib.suppress(OSError):
            return candidate, _bind_all(addresses, candidate)
    raise OSError("no port is free on every host address")


def _use_pidfd_watcher() -> None:
    # Python 3.11 watches children with a thread each; pidfds scale to 1,000 commands.
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        return
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        watcher = asyncio.PidfdChildWatcher()
        watcher.attach_loop(asyncio.get_running_loop())
        asyncio.set_child_watcher(watcher)


class Daemon:
    """The virtual cluster's hosts, control socket and state file."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.layout = SimLayout.model_validate_json(paths.layout_file(home).read_bytes())
        self.totals = Counters()
        self.servers: dict[str, HostServer] = {}
        self.port = 0
        self.isolation: Isolation | str = "not decided yet"
        self._stop = asyncio.Event()
        self._control: asyncio.AbstractServer | None = None

    def _make_servers(self) -> None:
        client_key = asyncssh.read_public_key(str(paths.client_key(self.home)) + ".pub")
        b_names = {h.name: h.address for h in self.layout.compute_nodes}
        sim_dir = paths.sim_dir(self.home)
        self.isolation = probe_isolation(sim_dir)
        isolation = self.isolation if isinstance(self.isolation, Isolation) else None
        if isolation is None:
            _log.warning("commands run without a private /tmp: %s", self.isolation)
        else:
            _log.info("commands run in a %s", isolation.describe())
        for host in self.layout.hosts:
            for sub in _ROOT_DIRS:
                (paths.host_root(self.home, host.name) / sub).mkdir(parents=True, exist_ok=True)
        sn_keys = ensure_sn_keys(sim_dir, self.layout)
        for host in self.layout.hosts:
            key = asyncssh.read_private_key(paths.host_key(self.home, host.name))
            authorized = [client_key] + [
                asyncssh.import_public_key(k) for k in authorized_keys(host, sn_keys)
            ]
            env = host_env(host.name, sim_dir, isolation)
            self.servers[host.name] = HostServer(host, env, key, authorized, self.totals, b_names)

    def _write_host_files(self) -> None:
        keys = {}
        for host in self.layout.hosts:
            pub = Path(f"{paths.host_key(self.home, host.name)}.pub")
            keys[host.name] = " ".join(pub.read_text(encoding="ascii").split()[:2])
        isolation = self.isolation if isinstance(self.isolation, Isolation) else None
        write_host_files(paths.sim_dir(self.home), self.layout, self.port, keys, isolation)

    async def start(self, port: int | None) -> None:
        _raise_open_files(len(self.layout.hosts) + 256)
        self._make_servers()
        self.port, socks = bind_hosts([h.address for h in self.layout.hosts], port)
        self._write_host_files()
        for server in self.servers.values():
            await server.start(socks[server.host.address], self.port)
        with paths.unix_address(paths.control_socket(self.home), create=True) as address:
            self._control = await asyncio.start_unix_server(self._handle, path=address)
            os.chmod(address, 0o600)  # whoever can use it can power hosts off
        self.write_state()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stop.set)
        _log.info("serving %d hosts on port %d", len(self.servers), self.port)

    async def run_until_stopped(self) -> None:
        await self._stop.wait()
        _log.info("shutting down")
        if self._control is not None:
            self._control.close()
        for server in self.servers.values():
            server.close()
        await asyncio.sleep(0)  # let the resets and kills be processed
        for path in (paths.control_socket(self.home), paths.state_file(self.home)):
            path.unlink(missing_ok=True)

    # --- state and status -------------------------------------------------------------------
    def write_state(self) -> None:
        state = {
            "pid": os.getpid(),
            "port": self.port,
            "isolation": self._isolation_text(),
            "hosts": [
                {
                    "name": s.host.name,
                    "role": s.host.role,
                    "address": s.host.address,
                    "b_address": s.host.b_address,
                    "powered": s.powered,
                }
                for s in self.servers.values()
            ],
        }
        path = paths.state_file(self.home)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)

    def _isolation_text(self) -> str:
        if isinstance(self.isolation, Isolation):
            return self.isolation.describe()
        return f"none ({self.isolation})"

    def status(self) -> SimStatus:
        return SimStatus(
            pid=os.getpid(),
            port=self.port,
            isolated=isinstance(self.isolation, Isolation),
            isolation=self._isolation_text(),
            hosts=tuple(s.status() for s in self.servers.values()),
            totals=self.totals.snapshot(),
        )

    # --- control socket -------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    reply = await self._dispatch(json.loads(line))
                except (ValueError, KeyError, TypeError) as exc:
                    reply = {"ok": False, "error": f"bad request: {exc}"}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
                if reply.get("stopping"):
                    self._stop.set()
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass  # the client went away, or the daemon is stopping
        finally:
            writer.close()

    async def _dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request["op"]
        if op == "status":
            return {"ok": True, "status": self.status().model_dump(mode="json")}
        if op == "power":
            name, state = request["host"], request["state"]
            server = self.servers.get(name)
            if server is None:
                return {"ok": False, "error": f'unknown host: "{name}"'}
            if state not in ("on", "off"):
                return {"ok": False, "error": f'invalid power state: "{state}" (on or off)'}
            try:
                changed = server.power_off() if state == "off" else await server.power_on()
            except OSError as exc:
                return {"ok": False, "error": f"{name}: cannot power on: {exc}"}
            if changed:
                self.write_state()
            return {"ok": True, "changed": changed}
        if op == "reset":
            self.totals.reset()
            for server in self.servers.values():
                server.counters.reset()
            return {"ok": True}
        if op == "shutdown":
            return {"ok": True, "stopping": True}
        return {"ok": False, "error": f'unknown request: "{op}"'}


class _Ready:
    """The descriptor ``sim up`` waits on: written once, then closed."""

    def __init__(self, fd: int | None) -> None:
        self._fd = fd

    def starting(self) -> None:
        """Say which PID is starting (so a caller that gives up can stop it)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.write(self._fd, json.dumps({"pid": os.getpid()}).encode() + b"\n")

    def send(self, message: dict[str, Any]) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.write(fd, json.dumps(message).encode() + b"\n")
        with contextlib.suppress(OSError):
            os.close(fd)


async def _serve(home: Path, port: int | None, ready: _Ready) -> None:
    _use_pidfd_watcher()
    daemon = Daemon(home)
    await daemon.start(port)
    ready.send({"ok": True, "pid": os.getpid(), "port": daemon.port})
    await daemon.run_until_stopped()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m snflow.sim.daemon")
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-fd", type=int, default=None)
    parser.add_argument("--foreground", action="store_true", help="do not fork")
    args = parser.parse_args(argv)
    if not args.foreground and os.fork() > 0:
        os._exit(0)  # the parent returns at once; the child is adopted by init
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    lenient.install()
    asyncssh.set_log_level(int(os.environ.get("SNFLOW_SIM_ASYNCSSH_LOG", logging.WARNING)))
    ready = _Ready(args.ready_fd)
    ready.starting()
    try:
        asyncio.run(_serve(args.home.resolve(), args.port or None, ready))
    except Exception as exc:
        _log.exception("the virtual cluster failed")
        ready.send({"ok": False, "error": str(exc)})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
