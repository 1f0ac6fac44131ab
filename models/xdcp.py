"""``xdcp``: the request, and the pure plan of what is staged where and what each node gets.

The flow reads the cluster (each node's ``servicenode`` list, ``site.SNsyncfiledir``) and
the local files (:class:`LocalItem`, globs expanded), then :func:`plan_xdcp` decides:

* what is staged on **every** service node of every pool the nodes use (primary and
  backups): each source at ``<SNsyncfiledir><source path>`` (for ``-F``: every source of
  every line, noderange filters ignored, and the synclist itself);
* which nodes get the same files, in *delivery groups*: each group's payload is a list of
  :class:`Placement` (the name a file has in the payload -> where it is staged, and where
  it is on the management node for nodes reached directly) and the node command that
  unpacks it (:mod:`snflow.models.xdcp_shell`).

Which SN delivers to a node (the first of its list that staged the files) is decided by
the flow once staging is done. Not here: any I/O.

>>> plan = plan_xdcp(
...     XdcpRequest(noderange="cn1", sources=("/tmp/lissa/file1",), target="/tmp/file1"),
...     nodes={"cn1": ("sn1", "sn2")},
...     inventory={"/tmp/lissa/file1": (LocalItem(path="/tmp/lissa/file1", kind="file"),)},
... )
>>> plan.service_nodes, [p.staged for p in plan.staged], plan.groups[0].placements[0].member
(('sn1', 'sn2'), ['tmp/lissa/file1'], 'file1')
"""

from __future__ import annotations

import itertools
import posixpath
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from snflow.models.natsort import natural_sorted
from snflow.models.synclist import SyncList, SynclistError
from snflow.models.xdcp_shell import plain_push_command, rel, sync_push_command

__all__ = [
    "DEFAULT_NODESYNCDIR",
    "DEFAULT_SYNCDIR",
    "DeliveryGroup",
    "LocalItem",
    "Placement",
    "XdcpPlan",
    "XdcpRequest",
    "plan_xdcp",
]

#: ``site.SNsyncfiledir`` when unset: where files are staged on service nodes.
DEFAULT_SYNCDIR = "/var/xcat/syncfiles"
#: ``site.nodesyncfiledir`` when unset: where APPEND/MERGE keep a node file's original.
DEFAULT_NODESYNCDIR = "/var/xcat/node/syncfiles"


class XdcpRequest(BaseModel):
    """``xdcp <noderange> [-f N] [-t S] [-p] [-R] [-P] [-F synclist] [-s] [-v] [-o opts]
    [-l user] SRC... DST``."""

    model_config = ConfigDict(frozen=True)

    noderange: str = Field(description="Nodes to copy to (xCAT noderange).", min_length=1)
    sources: tuple[str, ...] = Field(default=(), description="Files or directories (-R).")
    target: str | None = Field(default=None, description="Destination path on the nodes.")
    synclist: str | None = Field(default=None, description="-F: a synclist file.")
    fanout: int = Field(default=64, ge=1, le=1024, description="-f: nodes worked on at once.")
    timeout: float | None = Field(
        default=None, gt=0, le=86400, description="-t: seconds one node may take."
    )
    preserve: bool = Field(default=False, description="-p: keep modification times.")
    recursive: bool = Field(default=False, description="-R: copy directories.")
    pull: bool = Field(default=False, description="-P: copy from the nodes (file._node).")
    stage_only: bool = Field(default=False, description="-s: stage on the SNs only.")
    verify: bool = Field(default=False, description="-v: report unreachable hosts as such.")
    node_options: str = Field(default="", description="-o: options for the SN-side ssh.")
    user: str | None = Field(default=None, description="-l: remote user on the nodes.")

    @model_validator(mode="after")
    def _consistent(self) -> XdcpRequest:
        if self.stage_only and not self.synclist:
            raise ValueError("If -s option is use, then -F must point to the syncfile.")
        if self.synclist:
            if self.pull:
                raise ValueError("-P and -F cannot be used together.")
            if self.sources or self.target:
                raise ValueError("With -F, files come from the synclist: give no other files.")
            return self
        if not self.sources:
            raise ValueError("Missing file arguments")
        if not self.target:
            raise ValueError("Missing target_path")
        if self.pull and len(self.sources) > 1:
            raise ValueError("Cannot pull more than one file from targets.")
        for path in (*self.sources, self.target):
            if not path.startswith("/") and not self.pull:
                raise ValueError(f"{path}: paths must be absolute")
            if "\n" in path:
                raise ValueError(f"{path!r}: a path cannot contain a newline")
        if any(part in (".", "..") for part in self.target.split("/")):
            raise ValueError(f"{self.target}: the target path cannot contain . or ..")
        return self


class LocalItem(BaseModel):
    """A file or directory on the management node, as a source was expanded."""

    model_config = ConfigDict(frozen=True)

    path: str
    kind: Literal["file", "dir"]


class Placement(BaseModel):
    """One file (or directory) of a payload: its name in the payload, where it is staged
    (relative to the staging directory) and where it is on the management node."""

    model_config = ConfigDict(frozen=True)

    member: str
    staged: str
    local: str


class DeliveryGroup(BaseModel):
    """Nodes that get the same payload, unpacked by the same node command."""

    model_config = ConfigDict(frozen=True)

    name: str
    nodes: tuple[str, ...]
    placements: tuple[Placement, ...]
    command: str


class XdcpPlan(BaseModel):
    """What to stage (the same on every SN) and what each group of nodes gets."""

    model_config = ConfigDict(frozen=True)

    staged: tuple[Placement, ...]
    service_nodes: tuple[str, ...]
    groups: tuple[DeliveryGroup, ...]
    #: Nodes of a synclist that no line applies to (nothing to do).
    idle: tuple[str, ...] = ()


def _join(directory: str, name: str) -> str:
    """``directory/name`` for payload members (``directory`` ``.`` is the root)."""
    return name if directory == "." else f"{directory}/{name}"


def _staged(item: LocalItem) -> Placement:
    return Placement(member=rel(item.path), staged=rel(item.path), local=item.path)


def _items(inventory: Mapping[str, Sequence[LocalItem]], pattern: str) -> Sequence[LocalItem]:
    found = inventory.get(pattern)
    if not found:
        raise SynclistError(f"File:{pattern} does not exist.")
    return found


def _entry_placements(
    synclist: SyncList, index: int, inventory: Mapping[str, Sequence[LocalItem]]
) -> list[Placement]:
    entry = synclist.entries[index]
    out = []
    for pattern in entry.sources:
        for item in _items(inventory, pattern):
            if entry.dest_is_dir:
                member = _join(rel(entry.dest), posixpath.basename(item.path.rstrip("/")))
            else:
                member = rel(entry.dest)
            out.append(Placement(member=member, staged=rel(item.path), local=item.path))
    return out


def _check_members(placements: Sequence[Placement]) -> None:
    members = sorted(p.member for p in placements)
    for first, second in itertools.pairwise(members):
        if second.startswith(first + "/"):
            raise SynclistError(f"/{first} is both copied whole and written inside of")


def _sync_groups(
    synclist: SyncList,
    nodes: Sequence[str],
    filters: Mapping[int, frozenset[str]],
    inventory: Mapping[str, Sequence[LocalItem]],
    nodesyncdir: str,
    run_name: str,
) -> tuple[list[DeliveryGroup], list[str]]:
    control = f"tmp/.snflow-xdcp-{run_name}"
    extras: list[Placement] = []
    appends, merges, execute, always = [], [], [], []
    for kind, entries, bucket in (("a", synclist.appends, appends), ("m", synclist.merges, merges)):
        for i, entry in enumerate(entries):
            item = _items(inventory, entry.source)[0]
            member = f"{control}/{kind}{i}"
            extras.append(Placement(member=member, staged=rel(item.path), local=item.path))
            bucket.append((member, entry.dest, posixpath.join(nodesyncdir, "org", rel(entry.dest))))
    for i, script in enumerate(synclist.execute):
        item = _items(inventory, script)[0]
        extras.append(Placement(member=f"{control}/x{i}", staged=rel(item.path), local=item.path))
        watched = [
            posixpath.join(e.dest, posixpath.basename(script[:-5])) if e.dest_is_dir else e.dest
            for e in synclist.entries
            if script[:-5] in e.sources
        ]
        execute.append((f"{control}/x{i}", watched[0] if watched else script[:-5]))
    for i, script in enumerate(synclist.execute_always):
        item = _items(inventory, script)[0]
        extras.append(Placement(member=f"{control}/y{i}", staged=rel(item.path), local=item.path))
        always.append(f"{control}/y{i}")
    command = sync_push_command(
        control=control, appends=appends, merges=merges, execute=execute, always=always
    )
    by_key: dict[tuple[int, ...], list[str]] = {}
    for node in nodes:
        key = tuple(
            i for i in range(len(synclist.entries)) if i not in filters or node in filters[i]
        )
        by_key.setdefault(key, []).append(node)
    groups, idle = [], []
    for key, members in by_key.items():
        if not key and not extras:
            idle.extend(members)
            continue
        placed: dict[str, Placement] = {}
        for index in key:
            for p in _entry_placements(synclist, index, inventory):
                placed[p.member] = p  # a later line wins, as a later rsync would
        placements = [*placed.values(), *extras]
        _check_members(placements)
        name = f"g{len(groups) + 1}"
        groups.append(DeliveryGroup(name=name, nodes=tuple(members),
                                    placements=tuple(placements), command=command))  # fmt: skip
    return groups, idle


def plan_xdcp(
    request: XdcpRequest,
    *,
    nodes: Mapping[str, Sequence[str]],
    inventory: Mapping[str, Sequence[LocalItem]],
    synclist: SyncList | None = None,
    filters: Mapping[int, frozenset[str]] | None = None,
    nodesyncdir: str = DEFAULT_NODESYNCDIR,
    run_name: str = "0",
) -> XdcpPlan:
    """Plan a push (not ``-P``) of ``request`` to ``nodes`` (node -> its service nodes in
    ``servicenode`` order, empty when reached directly).

    :param inventory: each source (or glob) as written -> what it is on the management node.
    :param filters: synclist entry index -> the nodes its ``(noderange)`` selects.
    :param run_name: a per-run name part (the control directory on the nodes).
    :raises SynclistError: a source that does not exist, a directory without ``-R``, two
        lines that write the same path both whole and inside.
    """
    sns: dict[str, None] = {}
    for servers in nodes.values():
        sns.update(dict.fromkeys(servers))
    order = natural_sorted(nodes)
    if synclist is None:
        items = [_items(inventory, source)[0] for source in request.sources]
        for item in items:
            if item.kind == "dir" and not request.recursive:
                raise SynclistError(f"{item.path} is a directory (use -R)")
        placements = tuple(
            Placement(member=posixpath.basename(i.path.rstrip("/")) or ".",
                      staged=rel(i.path), local=i.path)
            for i in items
        )  # fmt: skip
        assert request.target is not None
        command = plain_push_command(
            request.target, [p.member for p in placements], request.preserve
        )
        group = DeliveryGroup(name="g1", nodes=tuple(order), placements=placements,
                              command=command)  # fmt: skip
        return XdcpPlan(staged=tuple(_staged(i) for i in items),
                        service_nodes=tuple(natural_sorted(sns)), groups=(group,))  # fmt: skip
    staged: dict[str, Placement] = {}
    for pattern in synclist.sources():
        for item in _items(inventory, pattern):
            staged.setdefault(item.path, _staged(item))
    if request.synclist and request.synclist in inventory:
        for item in inventory[request.synclist]:
            staged.setdefault(item.path, _staged(item))
    # -F keeps modification times always (xCAT's rsync -t), -p or not.
    groups, idle = _sync_groups(synclist, order, filters or {}, inventory, nodesyncdir, run_name)
    return XdcpPlan(
        staged=tuple(staged.values()),
        service_nodes=tuple(natural_sorted(sns)),
        groups=tuple(groups),
        idle=tuple(idle),
    )
