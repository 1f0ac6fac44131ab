"""``direct-tcpip`` through a simulated service node: to its network "b" only, from its
"b" address.

An SN forwards a channel only to an address inside 127.20.0.0/16 or to a compute node's
name (resolved to its address); the outgoing TCP connection is bound to the SN's own
network "b" address, so the compute node sees the SN as the peer. Anything else is an
SSH channel-open failure, "administratively prohibited"; a refused TCP connection is
"connect failed".
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Mapping

import asyncssh

__all__ = ["B_NETWORK", "b_destination", "open_forward", "prohibited"]

#: Network "b" (SNs-CNs): where a service node forwards to.
B_NETWORK = ipaddress.IPv4Network("127.20.0.0/16")


def b_destination(dest_host: str, names: Mapping[str, str]) -> str | None:
    """The network "b" address ``dest_host`` stands for (an address in it, or a name in
    ``names``); ``None`` if it is not on network "b".

    >>> b_destination("127.20.1.7", {}), b_destination("cn001", {"cn001": "127.20.1.1"})
    ('127.20.1.7', '127.20.1.1')
    >>> b_destination("127.10.0.2", {}) is None, b_destination("example.org", {}) is None
    (True, True)
    """
    try:
        address = ipaddress.IPv4Address(dest_host)
    except ValueError:
        return names.get(dest_host)
    return str(address) if address in B_NETWORK else None


def prohibited(message: str) -> asyncssh.ChannelOpenError:
    return asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, message)


class _ChannelSide(asyncssh.SSHTCPSession[bytes]):
    """The SSH channel's end of a forward; holds the TCP transport of the other end."""

    def __init__(self) -> None:
        self.chan: asyncssh.SSHTCPChannel[bytes] | None = None
        self.peer: asyncio.Transport | None = None
        self._early: list[bytes] = []  # TCP data that arrived before the channel was open
        self._early_eof = False
        self._early_close = False

    # --- asyncssh SSHTCPSession -----------------------------------------------------------
    def connection_made(self, chan: asyncssh.SSHTCPChannel[bytes]) -> None:  # type: ignore[override]
        self.chan = chan
        for data in self._early:
            chan.write(data)
        self._early.clear()
        if self._early_close:
            chan.close()
        elif self._early_eof:
            chan.write_eof()

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        if self.peer is not None and not self.peer.is_closing():
            self.peer.write(data)

    def eof_received(self) -> bool:
        if self.peer is not None and not self.peer.is_closing() and self.peer.can_write_eof():
            self.peer.write_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None:
            self.peer.close()

    def pause_writing(self) -> None:
        if self.peer is not None:
            self.peer.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None:
            self.peer.resume_reading()

    # --- from the TCP end -------------------------------------------------------------------
    def from_peer(self, data: bytes) -> None:
        if self.chan is None:
            self._early.append(data)
            return
        try:
            self.chan.write(data)
        except (OSError, asyncssh.Error):
            self.peer_lost()

    def peer_eof(self) -> None:
        if self.chan is None:
            self._early_eof = True
            return
        try:
            self.chan.write_eof()
        except (OSError, asyncssh.Error):
            self.peer_lost()

    def peer_lost(self) -> None:
        if self.chan is None:
            self._early_close = True
        else:
            self.chan.close()


class _SocketSide(asyncio.Protocol):
    """The TCP connection's end of a forward."""

    def __init__(self, channel_side: _ChannelSide) -> None:
        self._other = channel_side

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._other.peer = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._other.from_peer(data)

    def eof_received(self) -> bool:
        self._other.peer_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._other.peer_lost()

    def pause_writing(self) -> None:
        if self._other.chan is not None:
            self._other.chan.pause_reading()

    def resume_writing(self) -> None:
        if self._other.chan is not None:
            self._other.chan.resume_reading()


async def open_forward(source: str, address: str, port: int) -> asyncssh.SSHTCPSession[bytes]:
    """Connect from ``source`` to ``address:port``; the session that bridges it to the channel."""
    loop = asyncio.get_running_loop()
    bridge = _ChannelSide()
    try:
        await loop.create_connection(
            lambda: _SocketSide(bridge), address, port, local_addr=(source, 0)
        )
    except OSError as exc:
        raise asyncssh.ChannelOpenError(
            asyncssh.OPEN_CONNECT_FAILED, f"connect to {address} port {port} failed: {exc}"
        ) from None
    return bridge
