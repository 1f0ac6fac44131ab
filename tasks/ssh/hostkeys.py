"""snflow's known_hosts: verify the key a host presents; record new keys only when asked.

The file is OpenSSH's format. A host is looked up by its name (``[name]:port`` when the
port is not 22), then by its address; hashed entries (``|1|...``) match too, and a key
listed under ``@revoked`` is always refused. An unknown key is refused unless
``accept_new`` is set, in which case a line ``[name]:port,[address]:port <type> <b64>``
is appended under a lock (threads and processes). A changed key is always refused.

Not supported: ``@cert-authority`` lines (skipped), wildcard and negated patterns
(compared literally). This module never opens a network connection.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import paramiko
from paramiko.hostkeys import HostKeyEntry, HostKeys

from snflow.tasks.ssh.errors import HostKeyError

__all__ = ["KnownHosts", "host_pattern", "known_hosts_line"]

_log = logging.getLogger(__name__)

# Host key algorithms to ask for when known_hosts holds a key of this type.
_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256")}


def host_pattern(host: str, port: int) -> str:
    """The known_hosts form of ``host`` at ``port``.

    >>> host_pattern("sn1", 22), host_pattern("sn1", 2222)
    ('sn1', '[sn1]:2222')
    """
    return host if port == 22 else f"[{host}]:{port}"


def known_hosts_line(name: str, address: str, port: int, key: paramiko.PKey) -> str:
    """The line recording ``key`` for ``name`` and ``address`` (no newline)."""
    patterns = [host_pattern(name, port)]
    if address != name:
        patterns.append(host_pattern(address, port))
    return f"{','.join(patterns)} {key.get_name()} {key.get_base64()}"


@dataclass(frozen=True)
class _Entry:
    hostnames: tuple[str, ...]
    key: paramiko.PKey

    def matches(self, pattern: str) -> bool:
        for h in self.hostnames:
            if h == pattern:
                return True
            if h.startswith("|1|") and HostKeys.hash_host(pattern, h) == h:
                return True
        return False


def _same(a: paramiko.PKey, b: paramiko.PKey) -> bool:
    return a.get_name() == b.get_name() and a.asbytes() == b.asbytes()


def _parse(text: str) -> tuple[list[_Entry], list[paramiko.PKey]]:
    entries: list[_Entry] = []
    revoked: list[paramiko.PKey] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = " ".join(raw.split())
        if not line or line.startswith("#"):
            continue
        marker = ""
        if line.startswith("@"):
            marker, _, line = line.partition(" ")
            if marker not in ("@revoked",):
                continue
        try:
            entry = HostKeyEntry.from_line(line, lineno)
        except Exception as exc:  # malformed or unsupported key: skip the line, like ssh
            _log.debug("known_hosts line %d skipped: %s", lineno, exc)
            continue
        if entry is None:
            continue
        if marker == "@revoked":
            revoked.append(entry.key)
        else:
            entries.append(_Entry(tuple(entry.hostnames), entry.key))
    return entries, revoked


class KnownHosts:
    """One known_hosts file, read once, shared by every connection of a run (thread-safe).

    :param path: the file (need not exist yet).
    :param accept_new: append and accept the key of a host that has no entry yet.
    """

    def __init__(self, path: Path, *, accept_new: bool = False) -> None:
        self.path = Path(path)
        self.accept_new = accept_new
        self._lock = threading.Lock()
        self._loaded = False
        self._entries: list[_Entry] = []
        self._revoked: list[paramiko.PKey] = []
        # Lookups by pattern: one per connection, thousands per run, so plain host names
        # are indexed (a scan of every entry made a 1,024-node xdsh quadratic). Entries
        # with hashed names can only be tried one by one. Values: (file position, key).
        self._plain: dict[str, list[tuple[int, paramiko.PKey]]] = {}
        self._hashed: list[tuple[int, _Entry]] = []

    def _load(self) -> None:
        with self._lock:
            if not self._loaded:
                self._reload()
                self._loaded = True

    def _reload(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            text = ""
        entries, self._revoked = _parse(text)
        self._index(entries)

    def _index(self, entries: list[_Entry]) -> None:
        plain: dict[str, list[tuple[int, paramiko.PKey]]] = {}
        hashed: list[tuple[int, _Entry]] = []
        for position, entry in enumerate(entries):
            if any(h.startswith("|1|") for h in entry.hostnames):
                hashed.append((position, entry))
            for h in dict.fromkeys(entry.hostnames):
                if not h.startswith("|1|"):
                    plain.setdefault(h, []).append((position, entry.key))
        self._entries, self._plain, self._hashed = entries, plain, hashed

    def _known(self, pattern: str) -> list[paramiko.PKey]:
        """The keys recorded for ``pattern``, in file order."""
        found = list(self._plain.get(pattern, ()))
        if self._hashed:
            seen = {position for position, _ in found}
            found += [
                (position, entry.key)
                for position, entry in self._hashed
                if position not in seen and entry.matches(pattern)
            ]
            found.sort(key=lambda item: item[0])
        return [key for _, key in found]

    def _candidates(self, name: str, address: str, port: int) -> tuple[str, list[paramiko.PKey]]:
        """The first of name, address that has entries, and its keys."""
        for host in dict.fromkeys((name, address)):
            pattern = host_pattern(host, port)
            keys = self._known(pattern)
            if keys:
                return pattern, keys
        return "", []

    def key_algorithms(self, name: str, address: str, port: int) -> list[str]:
        """Host key algorithms to prefer in key exchange for this host (known types first)."""
        self._load()
        _, keys = self._candidates(name, address, port)
        algorithms: dict[str, None] = {}
        for key in keys:
            for alg in _ALGORITHMS.get(key.get_name(), (key.get_name(),)):
                algorithms.setdefault(alg, None)
        return list(algorithms)

    def verify(self, name: str, address: str, port: int, key: paramiko.PKey) -> None:
        """Accept ``key`` for host ``name`` (at ``address:port``) or raise :class:`HostKeyError`.

        With ``accept_new``, an unknown host's key is appended to the file and accepted.
        """
        self._load()
        self._check(name, address, port, key)
        if self._accepted(name, address, port, key):
            return
        if not self.accept_new:
            raise HostKeyError(
                f"Host key for {name} is not known (known_hosts: {self.path}); "
                "add it or accept new keys explicitly",
                name,
            )
        self._append(name, address, port, key)

    def _accepted(self, name: str, address: str, port: int, key: paramiko.PKey) -> bool:
        _, keys = self._candidates(name, address, port)
        return any(_same(k, key) for k in keys)

    def _check(self, name: str, address: str, port: int, key: paramiko.PKey) -> None:
        """Raise for a revoked key or one that differs from the recorded ones."""
        if any(_same(k, key) for k in self._revoked):
            raise HostKeyError(
                f"Host key for {name} ({key.fingerprint}) is marked @revoked in "
                f"{self.path}; refusing to connect",
                name,
            )
        pattern, keys = self._candidates(name, address, port)
        if keys and not any(_same(k, key) for k in keys):
            recorded = ", ".join(sorted({f"{k.get_name()} {k.fingerprint}" for k in keys}))
            raise HostKeyError(
                f"HOST KEY CHANGED for {name} ({address}:{port}): it presents "
                f"{key.get_name()} {key.fingerprint}, {self.path} has {recorded} for "
                f"{pattern}; refusing to connect",
                name,
            )

    def _append(self, name: str, address: str, port: int, key: paramiko.PKey) -> None:
        line = known_hosts_line(name, address, port, key)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
            with os.fdopen(fd, "r+b") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
                self._reload()  # another thread or process may have recorded it meanwhile
                self._check(name, address, port, key)
                if self._accepted(name, address, port, key):
                    return
                size = handle.seek(0, os.SEEK_END)
                if size:
                    handle.seek(size - 1)
                    if handle.read(1) != b"\n":
                        line = "\n" + line
                handle.write(f"{line}\n".encode())
                handle.flush()
                os.fsync(handle.fileno())
                self._index([*self._entries, *_parse(line)[0]])
        _log.warning("recorded new host key for %s in %s: %s", name, self.path, key.fingerprint)

    def recorded(self, name: str, address: str, port: int) -> Sequence[paramiko.PKey]:
        """The keys on record for this host (by name, else address)."""
        self._load()
        return self._candidates(name, address, port)[1]
