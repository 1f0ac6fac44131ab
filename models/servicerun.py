"""Requests and reports of the service flows: ``makedhcp``, ``nodeset``, ``makeconservercf``.

Each flow takes one request (the Prefect UI builds its form from the model) and returns a
:class:`ServiceReport`: one :class:`HostResult` per target host (``changed``,
``unchanged`` or ``failed``, with the entries added and removed), warnings, and the one
error that stopped the run before any host was touched (a database problem, an unknown
node). Pure: no I/O.

>>> MakedhcpRequest(noderange="cn001", action="delete").describe()
'makedhcp -d cn001'
>>> MakedhcpRequest(action="networks").describe()
'makedhcp -n'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from snflow.models.natsort import fold, natural_sorted
from snflow.models.services import ServiceConfigError, ServiceState

__all__ = [
    "ConservercfRequest",
    "HostOutcome",
    "HostResult",
    "MakedhcpRequest",
    "NodesetRequest",
    "ServiceReport",
    "choose_hosts",
    "names_text",
]

HostOutcome = Literal["changed", "unchanged", "failed"]
_HOSTS = Field(
    default=(),
    description="Only these service hosts (MN-facing names; the management node by "
    "site.master). Empty: every host the request concerns.",
)


class MakedhcpRequest(BaseModel):
    """``makedhcp <noderange> | -a | -d <noderange> | -a -d | -n | -q <noderange>``."""

    model_config = ConfigDict(frozen=True)

    action: Literal["add", "delete", "networks", "query"] = Field(
        default="add",
        description="add entries, delete them (-d), write the networks (-n), query (-q).",
    )
    noderange: str = Field(default="", description="Nodes (xCAT noderange).")
    all_nodes: bool = Field(
        default=False, description="-a: every node with a MAC (with delete: every entry)."
    )
    hosts: tuple[str, ...] = _HOSTS

    @model_validator(mode="after")
    def _one_selection(self) -> MakedhcpRequest:
        if self.action == "networks" and (self.noderange or self.all_nodes):
            raise ValueError("-n takes neither a noderange nor -a")
        if self.action == "query" and (not self.noderange or self.all_nodes):
            raise ValueError("-q needs a noderange")
        if self.action in ("add", "delete") and bool(self.noderange) == self.all_nodes:
            raise ValueError("give a noderange or -a (not both)")
        return self

    def describe(self) -> str:
        """The request as an xCAT command line."""
        flags = {"add": [], "delete": ["-d"], "networks": ["-n"], "query": ["-q"]}[self.action]
        words = ["makedhcp", *(["-a"] if self.all_nodes else []), *flags]
        return " ".join([*words, *([self.noderange] if self.noderange else [])])


class NodesetRequest(BaseModel):
    """``nodeset <noderange> [osimage=<name>]``: the nodes' network-boot files."""

    model_config = ConfigDict(frozen=True)

    noderange: str = Field(min_length=1, description="Nodes (xCAT noderange).")
    osimage: str | None = Field(
        default=None, description="Image to boot; unset: each node's nodetype.provmethod."
    )
    hosts: tuple[str, ...] = _HOSTS

    def describe(self) -> str:
        image = f"osimage={self.osimage}" if self.osimage else "osimage"
        return f"nodeset {self.noderange} {image}"


class ConservercfRequest(BaseModel):
    """``makeconservercf [noderange] [-d] [-C]``."""

    model_config = ConfigDict(frozen=True)

    noderange: str = Field(default="", description="Nodes (xCAT noderange); empty: all.")
    delete: bool = Field(default=False, description="-d: remove the nodes' console entries.")
    cleanup: bool = Field(
        default=False, description="-C: remove entries of nodes that are no longer defined."
    )
    hosts: tuple[str, ...] = _HOSTS

    @model_validator(mode="after")
    def _delete_needs_nodes(self) -> ConservercfRequest:
        if self.delete and not self.noderange:
            raise ValueError("-d needs a noderange")
        return self

    def describe(self) -> str:
        flags = [*(["-d"] if self.delete else []), *(["-C"] if self.cleanup else [])]
        return " ".join(["makeconservercf", *([self.noderange] if self.noderange else []), *flags])


class HostResult(BaseModel):
    """What one run did on one service host."""

    model_config = ConfigDict(frozen=True)

    host: str
    outcome: HostOutcome
    path: str = Field(default="", description="The file (or directory) worked on.")
    added: tuple[str, ...] = Field(default=(), description="Nodes (or files) added.")
    removed: tuple[str, ...] = Field(default=(), description="Nodes (or files) removed.")
    updated: tuple[str, ...] = Field(default=(), description="Nodes (or files) rewritten.")
    reloaded: bool = Field(default=False, description="The service's reload command ran.")
    checked_on: str = Field(default="", description="Where the file was validated.")
    message: str = Field(default="", description="Why it failed, or a note.")
    details: tuple[str, ...] = Field(default=(), description="Query output lines.")

    def row(self) -> dict[str, object]:
        """The host's line of the table artifact."""
        return {
            "host": self.host,
            "outcome": self.outcome,
            "added": names_text(self.added),
            "removed": names_text(self.removed),
            "updated": len(self.updated),
            "reloaded": self.reloaded,
            "checked on": self.checked_on,
            "path": self.path,
            "message": self.message,
        }


def names_text(names: Sequence[str]) -> str:
    """Nodes folded (``cn[001-016]``); file paths (nodeset) counted."""
    if all("/" not in n for n in names):
        return fold(names)
    return f"{len(names)} files"


class ServiceReport(BaseModel):
    """The outcome of one service flow run."""

    command: str
    results: list[HostResult] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    error: str = Field(default="", description="What stopped the run before any host.")

    @property
    def failed(self) -> list[str]:
        """Hosts that failed (in order)."""
        return [r.host for r in self.results if r.outcome == "failed"]

    @property
    def ok(self) -> bool:
        return not self.error and not self.failed

    def result(self, host: str) -> HostResult:
        """The result of ``host`` (``KeyError`` if it was not a target)."""
        for r in self.results:
            if r.host == host:
                return r
        raise KeyError(host)

    def summary(self) -> list[str]:
        """One line per outcome, hosts folded, then totals of entries added and removed."""
        if self.error:
            return [f"error: {self.error.splitlines()[0]}"]
        groups: dict[str, list[str]] = {}
        for r in self.results:
            groups.setdefault(r.outcome, []).append(r.host)
        lines = [
            f"{fold(groups[k])}: {k}" for k in ("changed", "unchanged", "failed") if k in groups
        ]
        added = sum(len(r.added) for r in self.results)
        removed = sum(len(r.removed) for r in self.results)
        reloads = natural_sorted(r.host for r in self.results if r.reloaded)
        lines.append(f"{added} added, {removed} removed; reloaded: {fold(reloads) or 'none'}")
        return lines


def choose_hosts(state: ServiceState, planned: Iterable[str], wanted: Sequence[str]) -> list[str]:
    """The planned hosts to work on: all of them, or those named in ``wanted`` (any name
    of a service host; an unknown name is a :class:`ServiceConfigError`)."""
    planned = natural_sorted(planned)
    if not wanted:
        return planned
    chosen, problems = set(), []
    for name in wanted:
        host = state.host(name)
        if host is None:
            problems.append(f"{name}: not a service host (nor the management node)")
        else:
            chosen.add(host.name)
    ServiceConfigError.raise_if_any(problems)
    return [h for h in planned if h in chosen]
