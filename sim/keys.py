"""SSH keys of the virtual cluster, and the client-side files that name them.

* The client key ``$SNFLOW_HOME/id_ed25519`` (+ ``.pub``): snflow's default identity, the
  one key every simulated host authorizes. Created when absent, never replaced.
* One ed25519 host key per simulated host, ``$SNFLOW_HOME/sim/keys/<host>`` (+ ``.pub``),
  created once and kept, so ``known_hosts`` stays valid across ``sim down``/``sim up``.
* ``$SNFLOW_HOME/known_hosts``: one line per host, ``[name]:port,[address]:port ssh-ed25519 ...``;
  stale lines for the same names or addresses are replaced, every other line is kept.
* ``$SNFLOW_HOME/settings.env``: the ``SNFLOW_SSH_PORT=`` line and the virtual cluster's
  service settings (:func:`set_settings`); other lines are kept.

Files are written whole to a temporary name and renamed into place.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from snflow.models.settings import SETTINGS_FILE

__all__ = [
    "CLIENT_KEY",
    "KNOWN_HOSTS",
    "ensure_client_key",
    "ensure_host_keys",
    "host_key_path",
    "known_hosts_line",
    "merge_known_hosts",
    "set_port_setting",
    "set_settings",
    "update_known_hosts",
]

CLIENT_KEY = "id_ed25519"
KNOWN_HOSTS = "known_hosts"
_KEY_COMMENT = "snflow"


def _write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _new_key(path: Path, comment: str) -> str:
    """Write a new ed25519 key pair at ``path`` (OpenSSH format, no passphrase)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode("ascii")
    )
    _write_atomically(path, private, 0o600)
    _write_atomically(path.with_name(path.name + ".pub"), f"{public} {comment}\n".encode(), 0o644)
    return public


def _read_public(path: Path) -> str | None:
    """``ssh-ed25519 AAAA...`` from ``path.pub`` when both files exist."""
    pub = path.with_name(path.name + ".pub")
    if not (path.is_file() and pub.is_file()):
        return None
    fields = pub.read_text(encoding="ascii").split()
    return " ".join(fields[:2]) if len(fields) >= 2 else None


def ensure_client_key(home: Path) -> Path:
    """The client key ``home/id_ed25519``, created if absent; returns its path."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / CLIENT_KEY
    if _read_public(path) is None:
        _new_key(path, _KEY_COMMENT)
    return path


def host_key_path(keys_dir: Path, name: str) -> Path:
    return keys_dir / name


def ensure_host_keys(keys_dir: Path, names: Iterable[str]) -> dict[str, str]:
    """Host key of each of ``names`` (created if absent): name -> ``ssh-ed25519 AAAA...``."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    keys_dir.chmod(0o700)
    public = {}
    for name in names:
        path = host_key_path(keys_dir, name)
        public[name] = _read_public(path) or _new_key(path, f"root@{name}")
    return public


def known_hosts_line(name: str, address: str, port: int, public_key: str) -> str:
    """``[name]:port,[address]:port ssh-ed25519 AAAA...`` (plain names for port 22).

    >>> known_hosts_line("sn1", "127.10.0.1", 2222, "ssh-ed25519 AAAA")
    '[sn1]:2222,[127.10.0.1]:2222 ssh-ed25519 AAAA'
    >>> known_hosts_line("sn1", "127.10.0.1", 22, "ssh-ed25519 AAAA")
    'sn1,127.10.0.1 ssh-ed25519 AAAA'
    """
    if port == 22:
        return f"{name},{address} {public_key}"
    return f"[{name}]:{port},[{address}]:{port} {public_key}"


def _line_hosts(line: str) -> set[str]:
    """The host names/addresses an OpenSSH known_hosts line is for (ports stripped)."""
    fields = line.split()
    if not fields or line.lstrip().startswith("#"):
        return set()
    patterns = fields[1] if fields[0].startswith("@") and len(fields) > 1 else fields[0]
    hosts = set()
    for pattern in patterns.split(","):
        if pattern.startswith("[") and "]:" in pattern:
            pattern = pattern[1 : pattern.index("]:")]
        hosts.add(pattern)
    return hosts


def merge_known_hosts(existing: str, entries: Mapping[str, str], replaced: set[str]) -> str:
    """``existing`` without lines for any of ``replaced`` names/addresses, then ``entries``
    (host -> line) in order.

    >>> merge_known_hosts("[sn1]:22 ssh-rsa X\\nother ssh-rsa Y\\n", {"sn1": "[sn1]:2 k"}, {"sn1"})
    'other ssh-rsa Y\\n[sn1]:2 k\\n'
    """
    kept = [line for line in existing.splitlines() if not _line_hosts(line) & replaced]
    return "".join(f"{line}\n" for line in [*kept, *entries.values()])


def update_known_hosts(path: Path, entries: Mapping[str, str], replaced: set[str]) -> None:
    """Rewrite the known_hosts file at ``path`` with :func:`merge_known_hosts`."""
    existing = path.read_text(encoding="utf-8") if path.is_file() else ""
    _write_atomically(path, merge_known_hosts(existing, entries, replaced).encode(), 0o644)


def set_port_setting(home: Path, port: int) -> Path:
    """Write ``SNFLOW_SSH_PORT=<port>`` into ``home/settings.env``, keeping other lines."""
    path = home / SETTINGS_FILE
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    lines = [line for line in lines if line.partition("=")[0].strip() != "SNFLOW_SSH_PORT"]
    lines.append(f"SNFLOW_SSH_PORT={port}")
    _write_atomically(path, "".join(f"{line}\n" for line in lines).encode(), 0o644)
    return path


def set_settings(home: Path, values: Mapping[str, str]) -> Path:
    """Write ``NAME=value`` lines into ``home/settings.env``, replacing lines of the same
    names and keeping every other line."""
    path = home / SETTINGS_FILE
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    lines = [line for line in lines if line.partition("=")[0].strip() not in values]
    lines += [f"{name}={value}" for name, value in values.items()]
    _write_atomically(path, "".join(f"{line}\n" for line in lines).encode(), 0o644)
    return path
