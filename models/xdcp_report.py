"""What ``xdcp`` did: per service node (staging), per node (delivery), and xCAT's messages.

Pure. The report says, besides each node's outcome, *which* service node served it, so
xCAT's confusing case (a staging error printed, yet the copy worked through the backup)
is explicit in the summary:

>>> report = XdcpReport(
...     staging=[StagingResult(service_node="service1", ok=False, message="connection refused"),
...              StagingResult(service_node="rhsn", ok=True)],
...     results=[XdcpNodeResult(node="cn4", outcome="ok", via="rhsn")],
... )
>>> report.messages()
['The following servicenodes: service1 have errors and cannot be updated']
>>> report.summary()
['cn4: copied through rhsn']
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from snflow.models.natsort import fold, natural_key

__all__ = [
    "NOT_RESPONDING",
    "StagingResult",
    "XdcpNodeResult",
    "XdcpOutcome",
    "XdcpReport",
    "bad_sn_message",
]

XdcpOutcome = Literal["ok", "failed", "timeout", "unreachable", "not-updated", "nothing", "staged"]
#: Outcomes that are not an error.
_FINE = frozenset({"ok", "nothing", "staged"})

NOT_RESPONDING = (
    "{host} is not responding, make sure it is a node object and is defined in xCATdb. "
    "No command will be issued to this host."
)
UNTIL_FIXED = (
    "Until the error is fixed, xdcp will not work to nodes serviced by these service nodes."
)


class StagingResult(BaseModel):
    """Whether the files were staged on one service node."""

    model_config = ConfigDict(frozen=True)

    service_node: str
    ok: bool
    message: str = ""
    output: str = ""
    bytes_sent: int = Field(default=0, description="Bytes of the archive sent to it.")


class XdcpNodeResult(BaseModel):
    """What happened to one node."""

    model_config = ConfigDict(frozen=True)

    node: str
    outcome: XdcpOutcome
    via: str | None = Field(default=None, description="The SN that served it; None: the MN.")
    output: str = Field(default="", description="What the copy printed on the node.")
    message: str = Field(default="", description="Why it failed, when it did.")

    @property
    def ok(self) -> bool:
        return self.outcome in _FINE


def bad_sn_message(service_nodes: Iterable[str]) -> str:
    """xCAT's message naming the SNs where staging failed (without its trailing comma).

    >>> bad_sn_message(["sn1", "sn2"])
    'The following servicenodes: sn1, sn2 have errors and cannot be updated'
    """
    return (
        f"The following servicenodes: {', '.join(service_nodes)} have errors and cannot be updated"
    )


class XdcpReport(BaseModel):
    """Staging per SN and delivery per node (natural order)."""

    staging: list[StagingResult] = Field(default_factory=list)
    results: list[XdcpNodeResult] = Field(default_factory=list)
    task_runs: int = 0
    #: Bytes sent to each SN for staging (the management node's side of its link).
    staged_bytes: dict[str, int] = Field(default_factory=dict)
    #: ``-P``: files came from the nodes (onto the serving SN, or here).
    pulled: bool = False

    @property
    def bad_service_nodes(self) -> list[str]:
        """SNs whose staging failed, in the order they were reported."""
        return [s.service_node for s in self.staging if not s.ok]

    @property
    def unserved(self) -> list[str]:
        """Nodes none of whose service nodes could be used."""
        return [r.node for r in self.results if r.outcome == "not-updated"]

    @property
    def failed(self) -> list[str]:
        """Nodes that did not get the files (the exit status is 1 if any, or any bad SN)."""
        return [r.node for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.bad_service_nodes

    def messages(self) -> list[str]:
        """xCAT's lines about failed service nodes: which ones, and, only when some nodes
        could not be served at all, the warning (the nodes are named by their own lines)."""
        bad = self.bad_service_nodes
        if not bad:
            return []
        lines = [bad_sn_message(bad)]
        if self.unserved:
            lines.append(UNTIL_FIXED)
        return lines

    def summary(self) -> list[str]:
        """One line per outcome and serving host, nodes folded: ``cn[1-8]: copied through sn1``."""
        groups: dict[tuple[int, str], list[str]] = {}
        for r in self.results:
            if r.outcome == "ok" and self.pulled:
                key = (0, f"pulled onto {r.via}" if r.via else "pulled onto the management node")
            elif r.outcome == "ok":
                key = (0, f"copied through {r.via}" if r.via else "copied from the management node")
            elif r.outcome == "staged":
                key = (1, r.message or "staged")
            elif r.outcome == "nothing":
                key = (2, "nothing to copy")
            else:
                key = (3, r.outcome.replace("-", " "))
            groups.setdefault(key, []).append(r.node)
        ordered = sorted(groups, key=lambda k: (k[0], natural_key(groups[k][0])))
        return [f"{fold(groups[k])}: {k[1]}" for k in ordered]
