"""Make the simulated SSH servers as lenient as OpenSSH about data after EOF.

A client may legitimately race a last data packet against its EOF on a channel (paramiko
does when a session tunnelled through a ``direct-tcpip`` channel is closed while others are
busy). OpenSSH's sshd ignores such data; asyncssh treats it as a protocol error and drops
the *whole* connection, which on a service node means every tunnel of every compute node.
The virtual cluster stands in for OpenSSH, so it ignores the late packet the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from asyncssh.channel import SSHChannel
from asyncssh.constants import MSG_CHANNEL_DATA, MSG_CHANNEL_EOF, MSG_CHANNEL_EXTENDED_DATA

__all__ = ["install"]

_log = logging.getLogger("snflow.sim")
_installed = False


def _tolerant(msg: int) -> None:
    # Handlers are looked up in the class's table, not as attributes: patch the table.
    original: Callable[..., None] = SSHChannel._packet_handlers[msg]
    name = original.__name__

    def handler(self: Any, pkttype: int, pktid: int, packet: Any) -> None:
        if self._recv_state != "open":
            _log.debug("ignoring %s on a channel after EOF (as OpenSSH does)", name)
            return
        original(self, pkttype, pktid, packet)

    SSHChannel._packet_handlers[msg] = handler


def install() -> None:
    """Patch asyncssh's channel once, in the simulator's process only."""
    global _installed
    if _installed:
        return
    for msg in (MSG_CHANNEL_DATA, MSG_CHANNEL_EXTENDED_DATA, MSG_CHANNEL_EOF):
        _tolerant(msg)
    _installed = True
