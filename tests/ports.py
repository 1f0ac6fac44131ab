"""Free loopback ports for servers that the tests start.

A plain module rather than a ``conftest`` function: several ``conftest.py`` files exist under
``tests/``, so ``from conftest import ...`` would depend on which one was imported first.
"""

from __future__ import annotations

import socket

__all__ = ["free_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
