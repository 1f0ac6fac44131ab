"""Errors of the SSH layer, each naming the host and the cause.

They derive from :class:`~snflow.models.errors.SnflowError` (and ``RuntimeError``), so the
CLI maps them like any other user-visible error. Nothing here connects to anything.
"""

from __future__ import annotations

from snflow.models.errors import SnflowError

__all__ = ["CommandTimeout", "ConnectError", "HostKeyError", "SshError", "TransferError"]


class SshError(SnflowError, RuntimeError):
    """Something went wrong talking to ``host`` over SSH."""

    def __init__(self, message: str, host: str) -> None:
        super().__init__(message)
        self.host = host


class ConnectError(SshError):
    """``host`` could not be reached or logged into (TCP, banner, key exchange, auth,
    or every service node of its route)."""


class HostKeyError(ConnectError):
    """``host`` presented a key that known_hosts does not vouch for (unknown, changed or
    revoked). Never retried."""


class CommandTimeout(SshError):
    """A command on ``host`` ran longer than ``timeout`` seconds; its channel was closed.

    ``stdout`` and ``stderr`` hold what arrived before the deadline; ``via`` is the service
    node that carried the session (``None``: direct).
    """

    def __init__(
        self,
        message: str,
        host: str,
        timeout: float,
        stdout: bytes = b"",
        stderr: bytes = b"",
        via: str | None = None,
    ) -> None:
        super().__init__(message, host)
        self.timeout = timeout
        self.stdout = stdout
        self.stderr = stderr
        self.via = via


class TransferError(SshError):
    """An SFTP transfer to or from ``host`` failed; ``path`` is the remote file."""

    def __init__(self, message: str, host: str, path: str) -> None:
        super().__init__(message, host)
        self.path = path
