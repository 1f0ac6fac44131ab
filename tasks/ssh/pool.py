"""One run's SSH connections: one per host, reused for every command and file transfer.

:class:`SshPool` connects on first use and keeps the transport until :meth:`SshPool.close`.
A compute node behind service nodes is reached with a ``direct-tcpip`` channel on the
service node's connection (one SN connection carries all its nodes), trying the route's
service nodes in order; a service node that failed is remembered for the run, so its other
nodes go straight to the next one. A host that could not be reached at all is remembered
too (the run does not wait for its timeout twice). At most ``max_sessions`` session
channels (commands, SFTP) are open at once on one connection (sshd's ``MaxSessions``).

Command timeouts are enforced here, on the channel (a Prefect timeout cannot interrupt a
blocked thread). On timeout the channel is closed; the remote process is not signalled
(without a pty, sshd does not kill it).

Not here: choosing routes (:mod:`snflow.models.routes`), running many nodes at once
(:mod:`snflow.tasks.ssh.fanout`), building command lines (:mod:`snflow.tasks.ssh.quote`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import paramiko

from snflow.models.routes import Route
from snflow.models.settings import Settings, get_settings
from snflow.tasks.ssh.command import CommandResult, Deadline, collect_output
from snflow.tasks.ssh.connect import (
    ForwardError,
    HandshakeLimiter,
    connect,
    identity_path,
    known_hosts_path,
    load_identity,
)
from snflow.tasks.ssh.errors import (
    CommandTimeout,
    ConnectError,
    HostKeyError,
    SshError,
    TransferError,
)
from snflow.tasks.ssh.hostkeys import KnownHosts

__all__ = ["MAX_SESSIONS", "CommandResult", "SshPool"]

#: Session channels open at once on one connection (OpenSSH's default ``MaxSessions``).
MAX_SESSIONS = 10
_log = logging.getLogger(__name__)
#: Threads closing connections at the end of a run (each close waits for its thread).
_CLOSE_THREADS = 32


@dataclass(eq=False)
class _Host:
    """One host's connection state (guarded by ``lock`` while connecting)."""

    sessions: threading.BoundedSemaphore
    lock: threading.Lock = field(default_factory=threading.Lock)
    transport: paramiko.Transport | None = None
    via: str | None = None
    error: ConnectError | None = None
    sftp: paramiko.SFTPClient | None = None
    sftp_lock: threading.Lock = field(default_factory=threading.Lock)


class SshPool:
    """SSH connections of one run (a context manager; thread-safe).

    :param settings: snflow's settings (default :func:`get_settings`): user, identity,
        known_hosts, timeouts, handshake bound, retries.
    :param limiter: handshake bound shared with other pools (default: the process-wide one).
    :param max_sessions: session channels open at once per connection.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        limiter: HandshakeLimiter | None = None,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        self.settings = settings or get_settings()
        self._ssh = self.settings.ssh
        self._limiter = limiter
        self._max_sessions = max_sessions
        self.known_hosts = KnownHosts(
            known_hosts_path(self.settings), accept_new=self._ssh.accept_new_host_keys
        )
        self._pkey: paramiko.PKey | None = None
        self._lock = threading.Lock()
        self._hosts: dict[str, _Host] = {}
        self._closed = False

    def __enter__(self) -> SshPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- connections --------------------------------------------------------------------
    @property
    def failures(self) -> dict[str, str]:
        """Hosts that could not be reached in this run -> why."""
        with self._lock:
            return {name: str(h.error) for name, h in self._hosts.items() if h.error}

    def connect(self, route: Route) -> str | None:
        """Connect to the route's target (or reuse the connection); the service node that
        carries it, ``None`` when direct. Raises :class:`ConnectError`."""
        return self._connected(route)[0].via

    def _identity(self) -> paramiko.PKey:
        with self._lock:
            if self._pkey is None:
                self._pkey = load_identity(identity_path(self.settings))
            return self._pkey

    def _host(self, name: str) -> _Host:
        with self._lock:
            if self._closed:
                raise SshError(f"cannot reach {name}: the SSH pool is closed", name)
            host = self._hosts.get(name)
            if host is None:
                host = self._hosts[name] = _Host(threading.BoundedSemaphore(self._max_sessions))
            return host

    def _connected(self, route: Route) -> tuple[_Host, paramiko.Transport]:
        """The target's host entry and live transport (connecting if needed)."""
        host = self._host(route.node)
        with host.lock:
            if host.transport is not None and host.transport.is_active():
                return host, host.transport
            if host.error is not None:
                raise host.error
            if host.transport is not None:  # died since last use (host or its SN rebooted)
                self._close_host(route.node, host)
            try:
                host.transport, host.via = self._establish(route)
            except ConnectError as exc:
                host.error = exc
                raise
            return host, host.transport

    def _connect(
        self, route: Route, via: tuple[str, paramiko.Transport] | None = None
    ) -> paramiko.Transport:
        return connect(
            route.target,
            ssh=self._ssh,
            pkey=self._identity(),
            known_hosts=self.known_hosts,
            via=via,
            limiter=self._limiter,
        )

    def _establish(self, route: Route) -> tuple[paramiko.Transport, str | None]:
        if route.direct:
            return self._connect(route), None
        causes: list[str] = []
        for sn in route.via:
            try:
                _, sn_transport = self._connected(Route(target=sn))
            except ConnectError as exc:
                causes.append(f"service node {sn.name}: {exc}")
                _log.warning("%s: %s; trying its next service node", route.node, causes[-1])
                continue
            try:
                return self._connect(route, via=(sn.name, sn_transport)), sn.name
            except ForwardError as exc:
                causes.append(str(exc))
                _log.warning("%s: %s; trying its next service node", route.node, causes[-1])
        if route.direct_fallback:
            try:
                return self._connect(route), None
            except HostKeyError:
                raise
            except ConnectError as exc:
                causes.append(f"directly: {exc}")
        raise ConnectError(
            f"cannot reach {route.node} through any of its service nodes: {'; '.join(causes)}",
            route.node,
        )

    # --- commands -----------------------------------------------------------------------
    @contextlib.contextmanager
    def _session(
        self,
        route: Route,
        host: _Host,
        transport: paramiko.Transport,
        limit: float,
        deadline: float,
    ) -> Iterator[paramiko.Channel]:
        if not host.sessions.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise CommandTimeout(
                f"command on {route.node} timed out after {limit:g} s waiting for a free "
                "SSH session",
                route.node,
                limit,
                via=host.via,
            )
        try:
            chan = self._open_session(route, transport)
            try:
                yield chan
            finally:
                chan.close()
        finally:
            host.sessions.release()

    def _open_session(self, route: Route, transport: paramiko.Transport) -> paramiko.Channel:
        # Opening a channel has no effect on the host, so a timeout (a host or service
        # node too busy to answer in time) is retried once while the connection lives.
        for attempt in (1, 2):
            try:
                return transport.open_session(timeout=self._ssh.connect_timeout)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                if attempt == 1 and transport.is_active() and "Timeout" in str(exc):
                    _log.info("opening a session on %s timed out; retrying", route.node)
                    continue
                raise SshError(
                    f"cannot open a session on {route.node}: {exc}", route.node
                ) from None
        raise AssertionError("unreachable")

    def run(
        self,
        route: Route,
        command: str,
        timeout: float | None = None,
        stdin: bytes | None = None,
    ) -> CommandResult:
        """Run ``command`` (one shell command line, already quoted) on the route's target.

        :param timeout: seconds the command may take (default ``ssh.command_timeout``).
        :param stdin: bytes fed to the command's standard input (then EOF).
        :returns: the exit status and output; ``outcome`` is ``ok`` only for exit 0.
        :raises ConnectError: the node could not be reached.
        :raises CommandTimeout: the command did not finish in time (its channel is closed).
        :raises SshError: the connection failed while the command ran.
        """
        limit = timeout if timeout is not None else self._ssh.command_timeout
        deadline = time.monotonic() + limit
        host, transport = self._connected(route)
        with self._session(route, host, transport, limit, deadline) as chan:
            try:
                chan.exec_command(command)
                out, err, status = collect_output(chan, deadline, stdin or b"")
            except Deadline as exc:
                raise CommandTimeout(
                    f"command on {route.node} timed out after {limit:g} s",
                    route.node,
                    limit,
                    exc.stdout,
                    exc.stderr,
                    host.via,
                ) from None
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise SshError(f"command on {route.node} failed: {exc}", route.node) from None
        if status is None:
            return CommandResult(
                node=route.node,
                outcome="failed",
                stdout=out,
                stderr=err,
                via=host.via,
                message="the command ended without an exit status (killed by a signal?)",
            )
        return CommandResult(
            node=route.node,
            outcome="ok" if status == 0 else "failed",
            exit_status=status,
            stdout=out,
            stderr=err,
            via=host.via,
            message="" if status == 0 else f"exit status {status}",
        )

    # --- files --------------------------------------------------------------------------
    def _sftp(
        self, route: Route, host: _Host, transport: paramiko.Transport
    ) -> paramiko.SFTPClient:
        """The host's SFTP client (holds one session slot until closed); ``sftp_lock`` held."""
        if host.sftp is not None:
            channel = host.sftp.get_channel()
            if channel is not None and channel.active and channel.get_transport() is transport:
                return host.sftp
            self._drop_sftp(route.node, host)
        if not host.sessions.acquire(timeout=self._ssh.command_timeout):
            raise SshError(f"no free SSH session on {route.node} for SFTP", route.node)
        try:
            sftp = paramiko.SFTPClient.from_transport(transport)
            if sftp is None:
                raise paramiko.SSHException("SFTP subsystem refused")
        except (paramiko.SSHException, OSError, EOFError) as exc:
            host.sessions.release()
            raise SshError(f"cannot start SFTP on {route.node}: {exc}", route.node) from None
        sftp.get_channel().settimeout(self._ssh.command_timeout)
        host.sftp = sftp
        return sftp

    def put(self, route: Route, data: bytes | Path, remote_path: str, mode: int = 0o644) -> None:
        """Write ``data`` (bytes, or a local file) to ``remote_path`` on the target with
        ``mode``: written to a temporary name beside it, then renamed over it.

        :raises ConnectError: the node could not be reached.
        :raises TransferError: the file could not be written.
        """
        host, transport = self._connected(route)
        tmp = f"{remote_path}.snflow-{uuid.uuid4().hex[:12]}"
        with host.sftp_lock:
            sftp = self._sftp(route, host, transport)
            try:
                if isinstance(data, Path):
                    with data.open("rb") as handle:
                        sftp.putfo(handle, tmp)
                else:
                    sftp.putfo(io.BytesIO(data), tmp)
                sftp.chmod(tmp, mode)
                try:
                    sftp.posix_rename(tmp, remote_path)
                except OSError:  # no posix-rename extension: plain rename needs no target
                    with contextlib.suppress(OSError):
                        sftp.remove(remote_path)
                    sftp.rename(tmp, remote_path)
            except (OSError, paramiko.SSHException, EOFError) as exc:
                with contextlib.suppress(OSError, paramiko.SSHException, EOFError):
                    sftp.remove(tmp)
                raise TransferError(
                    f"cannot write {remote_path} on {route.node}: {exc}", route.node, remote_path
                ) from None

    def get(self, route: Route, remote_path: str) -> bytes:
        """The content of ``remote_path`` on the target.

        :raises ConnectError: the node could not be reached.
        :raises TransferError: the file could not be read.
        """
        host, transport = self._connected(route)
        buffer = io.BytesIO()
        with host.sftp_lock:
            sftp = self._sftp(route, host, transport)
            try:
                sftp.getfo(remote_path, buffer)
            except (OSError, paramiko.SSHException, EOFError) as exc:
                raise TransferError(
                    f"cannot read {remote_path} on {route.node}: {exc}", route.node, remote_path
                ) from None
        return buffer.getvalue()

    # --- cleanup ------------------------------------------------------------------------
    def _drop_sftp(self, name: str, host: _Host) -> None:
        if host.sftp is None:
            return
        try:
            host.sftp.close()
        except Exception:
            _log.warning("closing SFTP to %s failed", name, exc_info=True)
        host.sftp = None
        host.sessions.release()

    def _close_host(self, name: str, host: _Host) -> None:
        self._drop_sftp(name, host)
        if host.transport is not None:
            try:
                host.transport.close()
            except Exception:
                _log.warning("closing the connection to %s failed", name, exc_info=True)
            host.transport = None

    def close(self) -> None:
        """Close every connection (nodes behind service nodes first); best effort, each
        host on its own. The pool cannot be used afterwards."""
        with self._lock:
            self._closed = True
            hosts = list(self._hosts.items())
        # Each close joins the transport's thread: done one by one, a thousand nodes take a
        # noticeable fraction of a second, so close in parallel, tunnels before their SNs.
        for tunnelled in (True, False):
            batch = [(n, h) for n, h in hosts if (h.via is not None) is tunnelled]
            if not batch:
                continue
            with ThreadPoolExecutor(max_workers=min(_CLOSE_THREADS, len(batch))) as closer:
                list(closer.map(lambda item: self._close_host(*item), batch))
