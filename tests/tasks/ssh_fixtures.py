"""A small SSH test bed for the SSH layer: asyncssh servers on 127.x loopback addresses.

One asyncio loop in a background thread serves every host. Hosts:

* service nodes ``sn1`` (127.31.0.1) and ``sn2`` (127.31.0.2): exec and SFTP, and
  ``direct-tcpip`` only into 127.32.0.0/16, the outgoing socket bound to their network
  "b" address (127.32.0.1, 127.32.0.2);
* compute nodes ``cn1``..``cnN`` (127.32.1.x): accept TCP only from 127.32.0.1/127.32.0.2
  (any other peer is reset before SSH starts, so the management node cannot reach them
  directly);
* ``blackhole`` (127.31.0.8): accepts TCP and never answers (a hung SN); nothing listens
  on 127.31.0.9 (a dead SN).

Exec runs ``/bin/sh -c`` with a fixed environment; closing the channel kills the command's
process group. SFTP is chrooted to the host's own directory. Counters record accepted
connections, unauthenticated connections at once, sessions at once (per host and for the
whole bed), commands, forwards and the peers seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import signal
import socket
import struct
import threading
from collections.abc import Coroutine, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncssh
import pytest
from asyncssh.forward import SSHForwarder

from snflow.models.routes import Route, plan_routes
from snflow.models.settings import Settings, SshSettings

T = TypeVar("T")

B_NETWORK = ipaddress.ip_network("127.32.0.0/16")
SN_ADDRESSES = {"sn1": ("127.31.0.1", "127.32.0.1"), "sn2": ("127.31.0.2", "127.32.0.2")}
BLACKHOLE = ("blackhole", "127.31.0.8")
DEAD = ("deadsn", "127.31.0.9")
CN_COUNT = 12


@dataclass
class Counters:
    """What one host (or the whole bed) saw. Mutated on the loop thread only."""

    accepted: int = 0
    connections: int = 0
    unauthenticated: int = 0
    max_unauthenticated: int = 0
    sessions: int = 0
    max_sessions: int = 0
    commands: int = 0
    forwards: int = 0
    peers: list[str] = field(default_factory=list)


@dataclass
class FakeHost:
    name: str
    address: str
    key: asyncssh.SSHKey
    root: Path
    allowed_peers: frozenset[str] | None = None
    forward_from: str | None = None  # network "b" address of an SN
    auth_delay: float = 0.0  # a slow sshd (simulated load, not synchronisation)
    drop_next: int = 0  # reset this many new connections (sshd's MaxStartups drops)
    counters: Counters = field(default_factory=Counters)

    @property
    def public_key(self) -> str:
        return " ".join(self.key.export_public_key("openssh").decode().split()[:2])


class _Server(asyncssh.SSHServer):
    def __init__(self, bed: SshTestBed, host: FakeHost, state: dict[str, bool]) -> None:
        self.bed, self.host, self.state = bed, host, state

    def begin_auth(self, username: str) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if self.host.auth_delay:
            await asyncio.sleep(self.host.auth_delay)
        return key.public_data in self.bed.authorized

    def auth_completed(self) -> None:
        self.bed.authenticated(self.host, self.state)

    def connection_lost(self, exc: Exception | None) -> None:
        self.bed.lost(self.host, self.state)

    def connection_requested(
        self, dest_host: str, dest_port: int, orig_host: str, orig_port: int
    ) -> Any:
        source = self.host.forward_from
        try:
            inside = ipaddress.ip_address(dest_host) in B_NETWORK
        except ValueError:
            inside = False
        if source is None or not inside:
            raise asyncssh.ChannelOpenError(
                asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, f"no forwarding to {dest_host}"
            )
        for c in (self.host.counters, self.bed.total):
            c.forwards += 1
        return self._forward(source, dest_host, dest_port)

    async def _forward(self, source: str, dest_host: str, dest_port: int) -> SSHForwarder:
        loop = asyncio.get_running_loop()
        try:
            _, peer = await loop.create_connection(
                SSHForwarder, dest_host, dest_port, local_addr=(source, 0)
            )
        except OSError as exc:
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_CONNECT_FAILED, str(exc)) from None
        return SSHForwarder(peer)


class SshTestBed:
    """The servers, their keys and counters, and helpers to build client settings."""

    def __init__(self, workdir: Path, cn_count: int = CN_COUNT) -> None:
        self.workdir = workdir
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._idle = threading.Condition()
        self.total = Counters()
        self.blackhole = Counters()
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key_path = workdir / "id_ed25519"
        self.client_key.write_private_key(str(self.client_key_path), "openssh")
        self.client_key_path.chmod(0o600)
        self.authorized = {self.client_key.public_data}
        self.hosts: dict[str, FakeHost] = {}
        for name, (address, b_address) in SN_ADDRESSES.items():
            self._add(name, address, forward_from=b_address)
        sn_b = frozenset(b for _, b in SN_ADDRESSES.values())
        for i in range(1, cn_count + 1):
            self._add(f"cn{i}", f"127.32.1.{i}", allowed_peers=sn_b)
        self.servicenodes = {f"cn{i}": "sn1,sn2" for i in range(1, cn_count + 1)}
        self.addresses = {name: h.address for name, h in self.hosts.items()}
        self.addresses[BLACKHOLE[0]] = BLACKHOLE[1]
        self.addresses[DEAD[0]] = DEAD[1]
        self.port = 0
        self._listeners: list[socket.socket] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._procs: set[asyncio.subprocess.Process] = set()
        self._writers: list[socket.socket] = []

    def _add(self, name: str, address: str, **kwargs: Any) -> None:
        root = self.workdir / "roots" / name
        root.mkdir(parents=True)
        key = asyncssh.generate_private_key("ssh-ed25519")
        self.hosts[name] = FakeHost(name, address, key, root, **kwargs)

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()
        self.port = self.call(self._listen_all())

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.call(self._shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _listen_all(self) -> int:
        for _ in range(20):
            first = _listener(next(iter(self.hosts.values())).address, 0)
            port = first.getsockname()[1]
            sockets = [first]
            try:
                for host in list(self.hosts.values())[1:]:
                    sockets.append(_listener(host.address, port))
                sockets.append(_listener(BLACKHOLE[1], port))
            except OSError:
                for s in sockets:
                    s.close()
                continue
            self._listeners = sockets
            for host, sock in zip(self.hosts.values(), sockets, strict=False):
                self._tasks.append(asyncio.create_task(self._accept(host, sock)))
            self._tasks.append(asyncio.create_task(self._blackhole(sockets[-1])))
            return port
        raise RuntimeError("no port free on every test address")

    async def _shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        for sock in [*self._listeners, *self._writers]:
            sock.close()
        for proc in list(self._procs):
            _kill(proc)

    async def _blackhole(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            sock, _ = await loop.sock_accept(listener)
            self.blackhole.accepted += 1
            self._writers.append(sock)  # held open, silent, until the bed stops

    async def _accept(self, host: FakeHost, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            sock, peer = await loop.sock_accept(listener)
            host.counters.peers.append(peer[0])
            refused = host.allowed_peers is not None and peer[0] not in host.allowed_peers
            if refused or host.drop_next > 0:
                host.drop_next -= 0 if refused else 1
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()  # reset
                continue
            for c in (host.counters, self.total):
                c.accepted += 1
            state = {"authenticated": False, "lost": False}
            self._count_unauthenticated(host, +1)
            self._tasks.append(asyncio.create_task(self._serve(host, sock, state)))

    async def _serve(self, host: FakeHost, sock: socket.socket, state: dict[str, bool]) -> None:
        try:
            await asyncssh.run_server(
                sock,
                server_factory=lambda: _Server(self, host, state),
                server_host_keys=[host.key],
                process_factory=lambda process: self._exec(host, process),
                sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(host.root)),
                encoding=None,
            )
        except Exception:
            self.lost(host, state)

    # --- counters -------------------------------------------------------------------------
    def _count_unauthenticated(self, host: FakeHost, delta: int) -> None:
        for c in (host.counters, self.total):
            c.unauthenticated += delta
            c.max_unauthenticated = max(c.max_unauthenticated, c.unauthenticated)

    def authenticated(self, host: FakeHost, state: dict[str, bool]) -> None:
        if not state["authenticated"]:
            state["authenticated"] = True
            self._count_unauthenticated(host, -1)
            for c in (host.counters, self.total):
                c.connections += 1

    def lost(self, host: FakeHost, state: dict[str, bool]) -> None:
        if state["lost"]:
            return
        state["lost"] = True
        if state["authenticated"]:
            for c in (host.counters, self.total):
                c.connections -= 1
        else:
            self._count_unauthenticated(host, -1)
        with self._idle:
            self._idle.notify_all()

    def reset_counters(self) -> None:
        """Counts to zero, high-water marks to the current values (on the loop thread)."""

        async def reset() -> None:
            for c in [self.total, self.blackhole, *(h.counters for h in self.hosts.values())]:
                c.accepted = c.commands = c.forwards = 0
                c.max_unauthenticated = c.unauthenticated
                c.max_sessions = c.sessions
                c.peers.clear()
            for h in self.hosts.values():
                h.auth_delay, h.drop_next = 0.0, 0

        self.call(reset())

    def set_host(self, name: str, **values: Any) -> None:
        """Change a host's behaviour (``auth_delay``, ``drop_next``) on the loop thread."""

        async def change() -> None:
            for key, value in values.items():
                setattr(self.hosts[name], key, value)

        self.call(change())

    def authorize(self, public_blob: bytes) -> None:
        """Accept one more client key (its SSH wire-format public blob)."""
        self.authorized = self.authorized | {public_blob}

    def wait_no_connections(self, timeout: float = 10.0) -> bool:
        """Wait until the servers hold no connection (notified on each close)."""
        with self._idle:
            return self._idle.wait_for(lambda: self.total.connections == 0, timeout)

    # --- exec -----------------------------------------------------------------------------
    async def _exec(self, host: FakeHost, process: asyncssh.SSHServerProcess[bytes]) -> None:
        for c in (host.counters, self.total):
            c.sessions += 1
            c.max_sessions = max(c.max_sessions, c.sessions)
            c.commands += 1
        try:
            await self._run(host, process)
        finally:
            for c in (host.counters, self.total):
                c.sessions -= 1

    async def _run(self, host: FakeHost, process: asyncssh.SSHServerProcess[bytes]) -> None:
        if not process.command:
            process.exit(1)
            return
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(host.root)}
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-c",
            process.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=host.root,
            env=env,
            start_new_session=True,
        )
        self._procs.add(proc)
        assert proc.stdin and proc.stdout and proc.stderr

        async def feed() -> None:
            with contextlib.suppress(Exception):
                while data := await process.stdin.read(65536):
                    proc.stdin.write(data)
                    await proc.stdin.drain()
            with contextlib.suppress(Exception):
                proc.stdin.close()

        async def pump(src: asyncio.StreamReader, dst: asyncssh.SSHWriter[bytes]) -> None:
            while data := await src.read(65536):
                with contextlib.suppress(Exception):
                    dst.write(data)

        async def watch() -> None:
            await process.channel.wait_closed()
            _kill(proc)  # the client closed the channel: like sshd, end the command

        feeder = asyncio.create_task(feed())
        watcher = asyncio.create_task(watch())
        try:
            await asyncio.gather(
                pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)
            )
            status = await proc.wait()
        finally:
            self._procs.discard(proc)
            feeder.cancel()
        with contextlib.suppress(Exception):
            process.exit(status if status >= 0 else 128 - status)
        watcher.cancel()

    # --- client side ------------------------------------------------------------------------
    def known_hosts_text(self, names: Iterable[str] | None = None, *, by: str = "both") -> str:
        lines = []
        for name in names if names is not None else self.hosts:
            host = self.hosts[name]
            patterns = {
                "both": f"[{name}]:{self.port},[{host.address}]:{self.port}",
                "name": f"[{name}]:{self.port}",
                "address": f"[{host.address}]:{self.port}",
            }[by]
            lines.append(f"{patterns} {host.public_key}\n")
        return "".join(lines)

    def settings(self, home: Path, *, known_hosts: str | None = None, **ssh: Any) -> Settings:
        """Client settings for this bed; known_hosts holds every host unless given."""
        path = home / "known_hosts"
        path.write_text(self.known_hosts_text() if known_hosts is None else known_hosts)
        values: dict[str, Any] = {
            "identity": self.client_key_path,
            "known_hosts": path,
            "port": self.port,
            "connect_timeout": 3.0,
            "banner_timeout": 3.0,
            "auth_timeout": 3.0,
            "command_timeout": 20.0,
            "retries": 1,
        }
        values.update(ssh)
        return Settings(home=home, ssh=SshSettings(**values), fanout=16)

    def routes(self, *nodes: str, servicenodes: dict[str, str] | None = None) -> dict[str, Route]:
        return plan_routes(
            nodes, {**self.servicenodes, **(servicenodes or {})}, self.addresses, {"mn"}, self.port
        )

    def route(self, node: str, servicenode: str | None = None) -> Route:
        extra = {node: servicenode} if servicenode is not None else None
        return self.routes(node, servicenodes=extra)[node]


@pytest.fixture(scope="session")
def ssh_bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshTestBed]:
    """The running test bed (one per test module that imports it)."""
    bed = SshTestBed(tmp_path_factory.mktemp("sshbed"))
    bed.start()
    try:
        yield bed
    finally:
        bed.stop()


@pytest.fixture
def bed(ssh_bed: SshTestBed) -> SshTestBed:
    """The test bed with fresh counters."""
    ssh_bed.reset_counters()
    return ssh_bed


def _listener(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
