"""One simulated host's SSH server (asyncssh), with the hierarchy, power and counters.

Every host listens on ``<its address>:<port>``. Before SSH starts, a TCP connection from
a peer the host does not accept (see :attr:`~snflow.sim.layout.SimHost.allowed_peers`) is
reset, so a code path that skips the service node fails. Authentication is public key
only, for any user name: the client key, and on a compute node its service nodes' keys
(their own ssh reaches it, :mod:`snflow.sim.hostfiles`). Per connection at most 10
session channels are open at once (OpenSSH's ``MaxSessions``). Sessions run commands
(:mod:`snflow.sim.commands`) or SFTP chrooted to the host's root; an SN forwards
``direct-tcpip`` to network "b" (:mod:`snflow.sim.forward`).

Power off closes the listener (new connections are refused) and resets every open
connection (their commands are killed); power on binds again.

The TCP side is ours: :class:`HostServer` is given to :func:`asyncssh.listen` as the
``tunnel`` (its ``create_server`` hook), so asyncssh hands over its connection factory and
each accepted TCP connection goes through :class:`_Guard` (peer check, byte count) first.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import asyncssh

from snflow.sim.commands import NodeContext, kill_group, run_command
from snflow.sim.forward import b_destination, open_forward, prohibited
from snflow.sim.layout import SimHost
from snflow.sim.models import HostCounters, SimHostStatus
from snflow.sim.nodeenv import HostEnv

__all__ = ["MAX_SESSIONS", "Counters", "HostServer", "bind_listener"]

#: Session channels open at once on one connection (OpenSSH's default ``MaxSessions``).
MAX_SESSIONS = 10
_BACKLOG = 128
_SFTP_VERSION = 3
_log = logging.getLogger("snflow.sim")


@dataclass
class Counters:
    """Mutable counters of one host (or of the whole cluster); see :class:`HostCounters`."""

    accepted: int = 0
    refused: int = 0
    connections: int = 0
    max_connections: int = 0
    bytes_received: int = 0
    sessions: int = 0
    max_sessions: int = 0
    commands: int = 0
    forwards: int = 0
    forwards_refused: int = 0

    def open_connection(self) -> None:
        self.accepted += 1
        self.connections += 1
        self.max_connections = max(self.max_connections, self.connections)

    def open_session(self) -> None:
        self.sessions += 1
        self.max_sessions = max(self.max_sessions, self.sessions)

    def reset(self) -> None:
        """Cumulative counts to zero, high-water marks to the current values."""
        current = (self.connections, self.sessions)
        for name in self.__dataclass_fields__:
            setattr(self, name, 0)
        self.connections, self.sessions = current
        self.max_connections, self.max_sessions = current

    def snapshot(self) -> HostCounters:
        return HostCounters(**asdict(self))


def bind_listener(address: str, port: int) -> socket.socket:
    """A listening TCP socket on ``address:port`` (``OSError`` if it cannot be bound)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(_BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _reset(transport: asyncio.BaseTransport) -> None:
    """Drop a TCP connection with a reset (what a refusing or vanished host looks like)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()  # type: ignore[attr-defined]


class HostServer:
    """The SSH server of one simulated host."""

    def __init__(
        self,
        host: SimHost,
        env: HostEnv,
        host_key: asyncssh.SSHKey,
        authorized: Sequence[asyncssh.SSHKey],
        totals: Counters,
        b_names: Mapping[str, str],
    ) -> None:
        self.host = host
        self.root: Path = env.root
        self.counters = Counters()
        self.totals = totals
        self.powered = True
        self.port = 0
        self.authorized = frozenset(key.public_data for key in authorized)
        self.b_names = b_names
        self.context = NodeContext(env, on_command=self._count_command)
        self._guards: set[_Guard] = set()
        self._server: asyncio.AbstractServer | None = None
        self._sock: socket.socket | None = None
        self._factory: Callable[[str, int], Any] | None = None
        self._options = asyncssh.SSHServerConnectionOptions(
            server_factory=functools.partial(_SSHServer, self),
            server_host_keys=[host_key],
            encoding=None,
            gss_host=None,
            allow_scp=False,
            line_editor=False,
        )

    def _count_command(self) -> None:
        self.counters.commands += 1
        self.totals.commands += 1

    async def start(self, sock: socket.socket, port: int) -> None:
        """Serve on the listening socket ``sock`` (bound to the host's address and ``port``)."""
        self._sock, self.port = sock, port
        await asyncssh.listen(self.host.address, port, tunnel=self, options=self._options)

    # asyncssh's tunnel-listener hook: called once by asyncssh.listen().
    async def create_server(
        self, session_factory: Callable[[str, int], Any], listen_host: str, listen_port: int
    ) -> asyncio.AbstractServer:
        self._factory = session_factory
        assert self._sock is not None
        return await self._serve(self._sock)

    async def _serve(self, sock: socket.socket) -> asyncio.AbstractServer:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Guard(self), sock=sock)
        return self._server

    def power_off(self) -> bool:
        """Stop listening, reset every connection; ``False`` if it was off already."""
        if not self.powered:
            return False
        self.powered = False
        self.close()
        _log.info("%s: powered off", self.host.name)
        return True

    async def power_on(self) -> bool:
        """Listen again; ``False`` if it was on already (``OSError`` if the port is taken)."""
        if self.powered:
            return False
        sock = bind_listener(self.host.address, self.port)
        await self._serve(sock)
        self.powered = True
        _log.info("%s: powered on", self.host.name)
        return True

    def close(self) -> None:
        """Stop listening, reset every connection, kill the commands still running."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for guard in list(self._guards):
            guard.drop()
        for pgid in list(self.context.running):
            kill_group(pgid)

    def status(self) -> SimHostStatus:
        return SimHostStatus(
            name=self.host.name,
            role=self.host.role,
            address=self.host.address,
            b_address=self.host.b_address,
            powered=self.powered,
            counters=self.counters.snapshot(),
        )


class _Guard(asyncio.Protocol):
    """An accepted TCP connection: checks the peer, counts bytes, then runs asyncssh on it."""

    def __init__(self, server: HostServer) -> None:
        self._server = server
        self._conn: Any = None
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        server = self._server
        peer = transport.get_extra_info("peername")
        if not server.powered or not peer or peer[0] not in server.host.allowed_peers:
            server.counters.refused += 1
            server.totals.refused += 1
            _reset(transport)
            return
        assert server._factory is not None
        self._transport = transport
        server._guards.add(self)
        server.counters.open_connection()
        server.totals.open_connection()
        self._conn = server._factory("", 0)
        self._conn.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._server.counters.bytes_received += len(data)
        self._server.totals.bytes_received += len(data)
        self._conn.data_received(data)

    def eof_received(self) -> bool | None:
        return self._conn.eof_received() if self._conn is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is None:
            return
        server = self._server
        server._guards.discard(self)
        server.counters.connections -= 1
        server.totals.connections -= 1
        self._conn.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._conn is not None:
            self._conn.pause_writing()

    def resume_writing(self) -> None:
        if self._conn is not None:
            self._conn.resume_writing()

    def drop(self) -> None:
        if self._transport is not None:
            _reset(self._transport)


class _Session(asyncssh.SSHServerProcess[bytes]):
    """A session channel (exec, shell or sftp) that counts itself open and closed."""

    def __init__(self, owner: _SSHServer) -> None:
        server = owner.host_server
        super().__init__(
            functools.partial(run_command, server.context),
            functools.partial(asyncssh.SFTPServer, chroot=str(server.root).encode()),
            _SFTP_VERSION,
            False,
        )
        self._owner = owner
        owner.sessions += 1
        server.counters.open_session()
        server.totals.open_session()

    def connection_lost(self, exc: Exception | None) -> None:
        owner = self._owner
        owner.sessions -= 1
        owner.host_server.counters.sessions -= 1
        owner.host_server.totals.sessions -= 1
        super().connection_lost(exc)


class _SSHServer(asyncssh.SSHServer):
    """asyncssh's per-connection callbacks for one host."""

    def __init__(self, host_server: HostServer) -> None:
        self.host_server = host_server
        self.sessions = 0

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return key.public_data in self.host_server.authorized

    def session_requested(self) -> _Session:
        if self.sessions >= MAX_SESSIONS:
            raise prohibited("open failed")
        return _Session(self)

    def connection_requested(
        self, dest_host: str, dest_port: int, orig_host: str, orig_port: int
    ) -> Any:
        server = self.host_server
        host = server.host
        if host.role != "sn" or host.b_address is None:
            raise prohibited(f"{host.name} forwards no connections")
        address = b_destination(dest_host, server.b_names)
        if address is None:
            server.counters.forwards_refused += 1
            server.totals.forwards_refused += 1
            raise prohibited(f"{dest_host} is not on network b of {host.name}")
        server.counters.forwards += 1
        server.totals.forwards += 1
        return open_forward(host.b_address, address, dest_port)
