"""snflow's SSH layer (paramiko): one connection per host per run, hierarchy through
service nodes, host keys checked against snflow's known_hosts, bounded handshakes and
fanout, quoted command lines.

>>> from snflow.tasks.ssh import SshPool, build_command, run_many  # doctest: +SKIP
>>> with SshPool() as pool:  # doctest: +SKIP
...     results = run_many(pool, routes_for(view, nodes), build_command(["uptime"]))
"""

from snflow.tasks.ssh.connect import ForwardError, HandshakeLimiter, connect, shared_limiter
from snflow.tasks.ssh.errors import (
    CommandTimeout,
    ConnectError,
    HostKeyError,
    SshError,
    TransferError,
)
from snflow.tasks.ssh.fanout import failed_result, map_routes, run_many
from snflow.tasks.ssh.hostkeys import KnownHosts
from snflow.tasks.ssh.pool import MAX_SESSIONS, CommandResult, SshPool
from snflow.tasks.ssh.quote import build_command, join_commands, quote
from snflow.tasks.ssh.routing import master_names, routes_for

__all__ = [
    "MAX_SESSIONS",
    "CommandResult",
    "CommandTimeout",
    "ConnectError",
    "ForwardError",
    "HandshakeLimiter",
    "HostKeyError",
    "KnownHosts",
    "SshError",
    "SshPool",
    "TransferError",
    "build_command",
    "connect",
    "failed_result",
    "join_commands",
    "map_routes",
    "master_names",
    "quote",
    "routes_for",
    "run_many",
    "shared_limiter",
]
