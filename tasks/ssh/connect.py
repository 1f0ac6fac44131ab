"""Open one authenticated SSH connection (a paramiko ``Transport``) to one host.

:func:`connect` makes a TCP socket with ``TCP_NODELAY`` (or, for a compute node behind a
service node, a ``direct-tcpip`` channel on the service node's transport), runs the SSH
handshake with snflow's banner/handshake/auth timeouts, checks the host key against
known_hosts (:mod:`snflow.tasks.ssh.hostkeys`) before authenticating, and logs in with the
identity key (no agent, no password, no other key files). Handshakes towards one host are
bounded (:class:`HandshakeLimiter`); banner errors and connection resets during the
handshake are retried with jittered exponential backoff (``ssh.retries`` times).

Not here: caching connections, choosing a service node, running commands
(:mod:`snflow.tasks.ssh.pool`).
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko

from snflow.models.errors import ConfigError
from snflow.models.routes import Endpoint
from snflow.models.settings import Settings, SshSettings
from snflow.tasks.ssh.errors import ConnectError
from snflow.tasks.ssh.hostkeys import KnownHosts

__all__ = [
    "ForwardError",
    "HandshakeLimiter",
    "connect",
    "identity_path",
    "known_hosts_path",
    "load_identity",
    "open_socket",
    "shared_limiter",
]

_BACKOFF_BASE = 0.05  # seconds before the first retry (then doubled), jittered
_BACKOFF_CAP = 2.0


class ForwardError(ConnectError):
    """A service node could not open a ``direct-tcpip`` channel to the target (refused,
    unreachable, or the service node's connection is gone): another route may work."""


def identity_path(settings: Settings) -> Path:
    """The private key file: ``ssh.identity`` or ``$SNFLOW_HOME/id_ed25519``."""
    return settings.ssh.identity or settings.home / "id_ed25519"


def known_hosts_path(settings: Settings) -> Path:
    """The known_hosts file: ``ssh.known_hosts`` or ``$SNFLOW_HOME/known_hosts``."""
    return settings.ssh.known_hosts or settings.home / "known_hosts"


def load_identity(path: Path) -> paramiko.PKey:
    """The private key at ``path`` (ed25519, ECDSA or RSA, unencrypted).

    :raises ConfigError: missing, unreadable, encrypted or of an unknown type.
    """
    try:
        return paramiko.PKey.from_path(path)
    except FileNotFoundError:
        raise ConfigError(f"SSH identity not found: {path}") from None
    except paramiko.PasswordRequiredException:
        raise ConfigError(
            f"SSH identity {path} is encrypted; snflow needs a key without a passphrase"
        ) from None
    except (paramiko.SSHException, ValueError, OSError) as exc:
        raise ConfigError(f"cannot read SSH identity {path}: {exc}") from None


class HandshakeLimiter:
    """At most ``limit`` handshakes in progress at once towards each host (by name).

    sshd drops handshakes beyond ``MaxStartups`` (10 unauthenticated connections by
    default); a slot is held from the TCP connect until authentication ends.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    @contextlib.contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Hold one of ``host``'s handshake slots for the block."""
        with self._lock:
            sem = self._slots.setdefault(host, threading.BoundedSemaphore(self.limit))
        with sem:
            yield


_shared: dict[int, HandshakeLimiter] = {}
_shared_lock = threading.Lock()


def shared_limiter(limit: int) -> HandshakeLimiter:
    """The process-wide limiter for ``limit`` (so concurrent runs share the bound)."""
    with _shared_lock:
        return _shared.setdefault(limit, HandshakeLimiter(limit))


def open_socket(endpoint: Endpoint, timeout: float) -> socket.socket:
    """A TCP connection to ``endpoint`` with ``TCP_NODELAY`` set.

    :raises ConnectError: refused, unreachable, timed out, or the name does not resolve.
    :raises ConnectionResetError: reset at once (as sshd drops excess handshakes).
    """
    try:
        sock = socket.create_connection((endpoint.address, endpoint.port), timeout=timeout)
    except (ConnectionResetError, ConnectionAbortedError):
        raise  # sshd dropping a connection right away (MaxStartups): the caller may retry
    except TimeoutError:
        raise ConnectError(
            f"cannot connect to {endpoint}: timed out after {timeout:g} s", endpoint.name
        ) from None
    except OSError as exc:
        raise ConnectError(
            f"cannot connect to {endpoint}: {exc.strerror or exc}", endpoint.name
        ) from None
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        sock.close()
        raise
    return sock


def _open_forward(
    endpoint: Endpoint, via: paramiko.Transport, via_name: str, timeout: float
) -> paramiko.Channel:
    """A ``direct-tcpip`` channel from the service node to ``endpoint``."""
    try:
        return via.open_channel(
            "direct-tcpip",
            dest_addr=(endpoint.address, endpoint.port),
            src_addr=("127.0.0.1", 0),
            timeout=timeout,
        )
    except paramiko.ChannelException as exc:
        cause = exc.text or f"channel open failed (code {exc.code})"
    except (paramiko.SSHException, OSError, EOFError) as exc:
        cause = str(exc) or type(exc).__name__
    raise ForwardError(f"cannot connect to {endpoint} through {via_name}: {cause}", endpoint.name)


def _retryable(exc: BaseException) -> bool:
    """Banner errors, resets and EOF in the handshake (sshd's MaxStartups drops);
    not timeouts (a hung host would cost the timeout once per retry)."""
    if isinstance(exc, ConnectionResetError | ConnectionAbortedError | BrokenPipeError | EOFError):
        return True
    if isinstance(exc, paramiko.AuthenticationException | paramiko.ChannelException):
        return False
    if isinstance(exc, paramiko.SSHException):
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, TimeoutError):  # socket.timeout too
            return False
        if isinstance(cause, ConnectionResetError | EOFError | BrokenPipeError):
            return True
        text = str(exc).lower()
        return "banner" in text or "reset" in text
    return False


def _prefer_known_key_types(transport: paramiko.Transport, algorithms: list[str]) -> None:
    if not algorithms:
        return
    options = transport.get_security_options()
    available = list(options.key_types)
    first = [a for a in algorithms if a in available]
    if first:
        options.key_types = [*first, *(a for a in available if a not in first)]


class _Transport(paramiko.Transport):
    """paramiko's transport, its reader thread waking once a second when idle, not ten
    times: a run keeps every node's connection open to its end, and at 1,024 idle
    transports those wake-ups (each taking the GIL) were half the process's CPU time and
    doubled an ``xdsh``'s wall time. Incoming data still wakes the reader at once, and
    ``close()`` does not wait for the wake-up; only paramiko's own timeout checks (banner,
    handshake) get one-second granularity, against timeouts of 10 s and more."""

    _active_check_timeout = 1.0


def _handshake(
    sock: socket.socket | paramiko.Channel,
    endpoint: Endpoint,
    ssh: SshSettings,
    pkey: paramiko.PKey,
    known_hosts: KnownHosts,
) -> paramiko.Transport:
    try:
        transport = _Transport(sock)
    except BaseException:
        sock.close()
        raise
    try:
        transport.banner_timeout = ssh.banner_timeout
        transport.handshake_timeout = ssh.banner_timeout
        transport.auth_timeout = ssh.auth_timeout
        _prefer_known_key_types(
            transport, known_hosts.key_algorithms(endpoint.name, endpoint.address, endpoint.port)
        )
        # Banner, then key exchange, each bounded by paramiko; this wait is the backstop.
        limit = transport.banner_timeout + transport.handshake_timeout + 1.0
        transport.start_client(timeout=limit)
        if not transport.completion_event.is_set():
            raise ConnectError(
                f"SSH handshake with {endpoint} timed out after {limit:g} s", endpoint.name
            )
        known_hosts.verify(
            endpoint.name, endpoint.address, endpoint.port, transport.get_remote_server_key()
        )
        transport.auth_publickey(ssh.user, pkey)
        if not transport.is_authenticated():
            raise paramiko.AuthenticationException("not authenticated")
    except BaseException:
        transport.close()
        raise
    return transport


def connect(
    endpoint: Endpoint,
    *,
    ssh: SshSettings,
    pkey: paramiko.PKey,
    known_hosts: KnownHosts,
    via: tuple[str, paramiko.Transport] | None = None,
    limiter: HandshakeLimiter | None = None,
) -> paramiko.Transport:
    """An authenticated transport to ``endpoint``, directly or through ``via``
    (the service node's name and its transport).

    :raises HostKeyError: the host's key is unknown, changed or revoked (never retried).
    :raises ForwardError: the service node could not reach ``endpoint``.
    :raises ConnectError: anything else (refused, timeouts, authentication, retries spent).
    """
    limiter = limiter or shared_limiter(ssh.handshakes_per_host)
    attempts = ssh.retries + 1
    last: BaseException | None = None
    for attempt in range(attempts):
        if attempt:
            delay = min(_BACKOFF_CAP, _BACKOFF_BASE * 2 ** (attempt - 1))
            time.sleep(delay * random.uniform(0.5, 1.0))  # backoff, not synchronisation
        with limiter.slot(endpoint.name):
            try:
                if via is None:
                    sock: socket.socket | paramiko.Channel = open_socket(
                        endpoint, ssh.connect_timeout
                    )
                else:
                    sock = _open_forward(endpoint, via[1], via[0], ssh.connect_timeout)
                return _handshake(sock, endpoint, ssh, pkey, known_hosts)
            except ConnectError:  # host key refused, refused, forward failed: final
                raise
            except paramiko.AuthenticationException as exc:
                raise ConnectError(
                    f"authentication as {ssh.user} to {endpoint} failed with key "
                    f"{pkey.fingerprint}: {exc}",
                    endpoint.name,
                ) from None
            except (paramiko.SSHException, OSError, EOFError) as exc:
                if not _retryable(exc):
                    raise ConnectError(
                        f"SSH handshake with {endpoint} failed: {_describe(exc)}", endpoint.name
                    ) from None
                last = exc
    raise ConnectError(
        f"SSH handshake with {endpoint} failed after {attempts} attempt(s): {_describe(last)}",
        endpoint.name,
    )


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    text = str(exc).strip()
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause) and str(cause) not in text:
        text = f"{text} ({cause})"
    return text or type(exc).__name__
