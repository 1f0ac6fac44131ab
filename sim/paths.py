"""Where the virtual cluster keeps its files, all under ``$SNFLOW_HOME``.

``sim/<host>/`` each host's root directory, ``sim/keys/<host>`` host keys,
``sim/layout.json`` the hosts served, ``sim/state.json`` the running daemon,
``sim/control.sock`` its control socket, ``sim/daemon.log`` its output;
``id_ed25519`` the client key.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from snflow.sim.keys import CLIENT_KEY, KNOWN_HOSTS

__all__ = [
    "RESERVED_NAMES",
    "client_key",
    "control_socket",
    "host_key",
    "host_root",
    "keys_dir",
    "known_hosts",
    "layout_file",
    "log_file",
    "sim_dir",
    "state_file",
    "unix_address",
]

#: Names a simulated host cannot have: they are taken in ``sim/``.
RESERVED_NAMES = frozenset({"keys"})
# Unix socket paths longer than this (sun_path is 108 bytes) go through /proc/self/fd.
_SUN_PATH_MAX = 100


def sim_dir(home: Path) -> Path:
    return home / "sim"


def keys_dir(home: Path) -> Path:
    return sim_dir(home) / "keys"


def host_key(home: Path, name: str) -> Path:
    return keys_dir(home) / name


def host_root(home: Path, name: str) -> Path:
    return sim_dir(home) / name


def layout_file(home: Path) -> Path:
    return sim_dir(home) / "layout.json"


def state_file(home: Path) -> Path:
    return sim_dir(home) / "state.json"


def control_socket(home: Path) -> Path:
    return sim_dir(home) / "control.sock"


def log_file(home: Path) -> Path:
    return sim_dir(home) / "daemon.log"


def client_key(home: Path) -> Path:
    return home / CLIENT_KEY


def known_hosts(home: Path) -> Path:
    return home / KNOWN_HOSTS


@contextlib.contextmanager
def unix_address(path: Path, *, create: bool = False) -> Iterator[str]:
    """A name for the unix socket ``path`` short enough to bind or connect to: the path
    itself, or ``/proc/self/fd/<dir>/<name>`` through an open descriptor of its directory."""
    if len(os.fsencode(path)) <= _SUN_PATH_MAX:
        yield str(path)
        return
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)
