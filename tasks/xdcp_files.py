"""xdcp's local side: what the sources are on the management node, and the tar streams.

* :func:`read_synclist` reads and parses a synclist file.
* :func:`inventory` expands sources (globs, a synclist's ``dir/`` contents) into
  :class:`~snflow.models.xdcp.LocalItem` records, reading the file system only.
* :func:`staging_tar` is what every service node unpacks under its staging directory;
  :func:`payload_tar` what a node reached directly unpacks; :func:`control_tar` the
  delivery scripts, configuration and per-group *views* (relative symbolic links into the
  staged tree, named as the files land on the node) sent to a service node.

Symbolic links among the sources are followed (as xCAT's ``rsync -L``). Archives are built
in memory: fine for the configuration files and trees xdcp is for, not for disk images.
"""

from __future__ import annotations

import glob
import io
import os
import tarfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from snflow.models.synclist import SyncList, SynclistError, is_glob, parse_synclist
from snflow.models.xdcp import DeliveryGroup, LocalItem, Placement
from snflow.models.xdcp_shell import DELIVER_SCRIPT, ONE_SCRIPT, config_text

__all__ = ["control_tar", "inventory", "payload_tar", "read_synclist", "staging_tar"]


def read_synclist(path: str) -> SyncList:
    """Parse the synclist file at ``path`` (xCAT's message when it does not exist)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        raise SynclistError(f"File:{path} does not exist.") from None
    return parse_synclist(text, path)


def _item(path: str) -> LocalItem | None:
    if os.path.isdir(path):
        return LocalItem(path=os.path.normpath(path), kind="dir")
    if os.path.isfile(path):
        return LocalItem(path=os.path.normpath(path), kind="file")
    return None


def inventory(
    patterns: Iterable[str], *, contents: bool = False
) -> dict[str, tuple[LocalItem, ...]]:
    """Each pattern -> what it names on this machine (sorted; empty when nothing).

    A glob matches like the shell (hidden files only when the pattern says so). With
    ``contents`` (synclists), ``dir/`` stands for the directory's entries.
    """
    found: dict[str, tuple[LocalItem, ...]] = {}
    for pattern in patterns:
        if is_glob(pattern):
            paths = sorted(glob.glob(pattern))
        elif contents and pattern.endswith("/") and os.path.isdir(pattern):
            paths = sorted(os.path.join(pattern, name) for name in os.listdir(pattern))
        else:
            paths = [pattern]
        items = [i for i in (_item(p) for p in paths) if i is not None]
        if "\n" in "".join(i.path for i in items):
            raise ValueError(f"{pattern}: file names with a newline are not supported")
        found[pattern] = tuple(items)
    return found


def _archive(entries: Iterable[tuple[str, str]]) -> bytes:
    """A tar of (local path, name in the archive) pairs, directories recursively."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, dereference=True) as tar:
        for local, name in entries:
            tar.add(local, arcname=name, recursive=True)
    return buffer.getvalue()


def staging_tar(staged: Sequence[Placement]) -> bytes:
    """The sources at their staged paths (relative to the staging directory)."""
    return _archive((p.local, p.staged) for p in staged)


def payload_tar(placements: Sequence[Placement]) -> bytes:
    """What a node reached directly unpacks: the sources under their payload names."""
    return _archive((p.local, p.member) for p in placements)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, int(time.time())
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str, seen: set[str]) -> None:
    if name in seen or name in (".", ""):
        return
    parent = name.rpartition("/")[0]
    if parent:
        _add_dir(tar, parent, seen)
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, int(time.time())
    tar.addfile(info)
    seen.add(name)


def control_tar(
    groups: Sequence[DeliveryGroup], config: Mapping[str, str], *, push: bool = True
) -> bytes:
    """The control files a service node unpacks in a run directory of its staging
    directory: ``deliver``, ``one``, ``config``, and per group ``nodes``, ``command`` and,
    to push, ``members`` and ``view/`` (each link reaches the staged file from its depth:
    ``view`` is three levels below the staging directory)."""
    buffer = io.BytesIO()
    seen: set[str] = set()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add_bytes(tar, "deliver", DELIVER_SCRIPT.encode())
        _add_bytes(tar, "one", ONE_SCRIPT.encode())
        _add_bytes(tar, "config", config_text(config).encode())
        for group in groups:
            g = group.name
            _add_bytes(tar, f"{g}/nodes", "".join(f"{n}\n" for n in group.nodes).encode())
            _add_bytes(tar, f"{g}/command", config_text({"node_command": group.command}).encode())
            if not push:
                continue
            members = "".join(f"./{p.member}\n" for p in group.placements)
            _add_bytes(tar, f"{g}/members", members.encode())
            _add_dir(tar, f"{g}/view", seen)
            for p in group.placements:
                name = f"{g}/view/{p.member}"
                _add_dir(tar, name.rpartition("/")[0], seen)
                info = tarfile.TarInfo(name)
                info.type = tarfile.SYMTYPE
                info.linkname = "../" * (3 + p.member.count("/")) + p.staged
                info.mtime = int(time.time())
                tar.addfile(info)
    return buffer.getvalue()
