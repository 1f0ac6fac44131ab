"""One command on an open SSH channel: feed stdin, read both streams, get the exit status.

:func:`collect_output` waits in ``poll`` on the channel's event pipe (no busy loop, no
sleeps) until EOF and the exit status, or raises :class:`Deadline`. :class:`CommandResult`
is what a command did on a node. Not here: opening connections or channels
(:mod:`snflow.tasks.ssh.pool`).
"""

from __future__ import annotations

import select
import time

import paramiko
from pydantic import BaseModel, ConfigDict, Field

from snflow.models.remote import NodeOutcome

__all__ = ["CommandResult", "Deadline", "collect_output"]

_CHUNK = 65536
_STDIN_WAIT = 0.05  # seconds between tries while the remote's stdin window is full


class CommandResult(BaseModel):
    """What one command did on one node (or why it could not run)."""

    model_config = ConfigDict(frozen=True)

    node: str
    outcome: NodeOutcome = Field(description="ok: exit 0; failed: non-zero or an error.")
    exit_status: int | None = Field(default=None, description="None when it never finished.")
    stdout: bytes = b""
    stderr: bytes = b""
    via: str | None = Field(default=None, description="Service node that carried the session.")
    message: str = Field(default="", description="Why it failed, when it did.")

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def stdout_text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", errors="replace")


class Deadline(Exception):
    """The deadline passed; ``stdout`` and ``stderr`` hold what had arrived."""

    def __init__(self, stdout: bytearray, stderr: bytearray) -> None:
        super().__init__("deadline")
        self.stdout = bytes(stdout)
        self.stderr = bytes(stderr)


def collect_output(
    chan: paramiko.Channel, deadline: float, stdin: bytes
) -> tuple[bytes, bytes, int | None]:
    """Feed ``stdin``, read stdout and stderr until EOF and the exit status.

    Waits in ``poll`` on the channel's event pipe (no busy loop). Raises :class:`Deadline`
    with the partial output when ``deadline`` passes. The status is ``None`` when the
    channel closed without one.
    """
    out, err = bytearray(), bytearray()
    pending = memoryview(stdin)
    if not pending:
        chan.shutdown_write()
    poller = select.poll()
    poller.register(chan.fileno(), select.POLLIN)
    while True:
        if pending:
            chan.settimeout(0.0)
            try:
                pending = pending[chan.send(pending[:_CHUNK]) :]
            except TimeoutError:
                pass  # the remote's window is full: it has not read yet
            except OSError:
                pending = pending[:0]  # the channel closed: the command ended without reading
            if not pending and not chan.closed:
                chan.shutdown_write()
        while chan.recv_ready():
            out += chan.recv(_CHUNK)
        while chan.recv_stderr_ready():
            err += chan.recv_stderr(_CHUNK)
        if chan.eof_received or chan.closed:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Deadline(out, err)
        wait = min(remaining, _STDIN_WAIT) if pending else remaining
        poller.poll(max(1, int(wait * 1000)))
    remaining = deadline - time.monotonic()
    if not chan.status_event.wait(max(0.0, remaining)) and not chan.closed:
        raise Deadline(out, err)
    chan.settimeout(0.0)
    while chan.recv_ready():
        out += chan.recv(_CHUNK)
    while chan.recv_stderr_ready():
        err += chan.recv_stderr(_CHUNK)
    status = chan.exit_status if chan.exit_status_ready() else -1
    return bytes(out), bytes(err), None if status == -1 else status
