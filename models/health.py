"""Service-node health: the probe's request, what one probe found, and when an SN counts as down.

Pure. A probe of a service node is one SSH command that runs every service check the SN is
responsible for (``servicenode`` table flags) and prints ``<check> <exit status>`` lines;
the checks themselves are settings (shell commands), so a real cluster and the virtual one
differ only in data. An SN is *up* when SSH works and every check exits 0, else *down*.
Consecutive down probes are counted across runs, so an automation can act when an SN
*stays* down for N probes rather than on one lost packet.

>>> script = probe_script({"dhcpserver": "pgrep -x dhcpd"})
>>> parse_probe_output("dhcpserver 0\\n", ["dhcpserver"])
{'dhcpserver': True}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from snflow.models.natsort import fold

__all__ = [
    "DOWN_EVENT",
    "SERVICE_FLAGS",
    "UP_EVENT",
    "HealthReport",
    "HealthRequest",
    "ProbeResult",
    "checks_for",
    "next_down_counts",
    "parse_probe_output",
    "probe_script",
    "resource_id",
]

#: Event names emitted for every SN on every probe.
DOWN_EVENT = "snflow.servicenode.down"
UP_EVENT = "snflow.servicenode.up"

#: ``servicenode`` table columns that say which services an SN runs (xCAT's flags).
SERVICE_FLAGS = ("dhcpserver", "tftpserver", "conserver")

_TRUE = {"1", "yes", "y", "true", "on"}


class HealthRequest(BaseModel):
    """Which service nodes to probe, and how patiently (the ``sn-health`` form)."""

    model_config = ConfigDict(frozen=True)

    service_nodes: str = Field(
        default="",
        description="Service nodes to probe (noderange); empty: every node of the "
        "servicenode table.",
    )
    timeout: float = Field(
        default=20.0, gt=0, le=600, description="Seconds one SN may take to answer its probe."
    )
    fanout: int = Field(default=16, ge=1, le=256, description="Service nodes probed at once.")


class ProbeResult(BaseModel):
    """What one probe found on one service node."""

    model_config = ConfigDict(frozen=True)

    node: str
    ssh: bool = Field(description="The SN answered over SSH and ran the probe.")
    checks: dict[str, bool] = Field(default_factory=dict, description="Service check -> passed.")
    message: str = Field(default="", description="Why the SN is down, when it is.")

    @property
    def up(self) -> bool:
        return self.ssh and all(self.checks.values())

    @property
    def failed_checks(self) -> list[str]:
        return [name for name, ok in self.checks.items() if not ok]

    @property
    def state(self) -> Literal["up", "down"]:
        return "up" if self.up else "down"


class HealthReport(BaseModel):
    """Every probed SN's result and its count of consecutive down probes."""

    results: list[ProbeResult]
    down_probes: dict[str, int] = Field(default_factory=dict)

    @property
    def down(self) -> list[str]:
        return [r.node for r in self.results if not r.up]

    def summary(self) -> list[str]:
        """One line per state, SNs folded: ``sn[1-2]: up``."""
        up = [r.node for r in self.results if r.up]
        lines = [f"{fold(up)}: up"] if up else []
        lines += [
            f"{r.node}: down ({r.message}; {self.down_probes.get(r.node, 1)} probe(s) in a row)"
            for r in self.results
            if not r.up
        ]
        return lines

    def rows(self) -> list[dict[str, object]]:
        """The per-SN table artifact."""
        names = sorted({c for r in self.results for c in r.checks})
        rows: list[dict[str, object]] = []
        for r in self.results:
            row: dict[str, object] = {"service node": r.node, "state": r.state, "ssh": _ok(r.ssh)}
            for name in names:
                row[name] = _ok(r.checks[name]) if name in r.checks else "-"
            row["down probes in a row"] = self.down_probes.get(r.node, 0)
            row["message"] = r.message
            rows.append(row)
        return rows


def _ok(value: bool) -> str:
    return "ok" if value else "FAILED"


def resource_id(node: str) -> str:
    """The Prefect event resource id of service node ``node``."""
    return f"snflow.servicenode.{node}"


def checks_for(flags: Mapping[str, str | None], commands: Mapping[str, str]) -> dict[str, str]:
    """The checks an SN runs: those of its ``servicenode`` flags that are set and have a
    command (an empty command disables a check).

    >>> checks_for({"dhcpserver": "1", "conserver": "0"}, {"dhcpserver": "a", "conserver": "b"})
    {'dhcpserver': 'a'}
    """
    return {
        name: commands[name]
        for name in SERVICE_FLAGS
        if (flags.get(name) or "").strip().lower() in _TRUE and commands.get(name, "").strip()
    }


def probe_script(checks: Mapping[str, str]) -> str:
    """One shell command running every check in a subshell and printing ``name status``.

    Check names are identifiers (the flag names); the commands are the administrator's
    settings, run as written.
    """
    parts = [f"( {command}\n) >/dev/null 2>&1; echo {name} $?" for name, command in checks.items()]
    return "\n".join([*parts, "true"])


def parse_probe_output(text: str, expected: Sequence[str]) -> dict[str, bool]:
    """Each expected check's outcome; a check that printed nothing counts as failed."""
    seen: dict[str, bool] = {}
    for line in text.splitlines():
        name, _, status = line.strip().partition(" ")
        if name in expected and status.strip().isdigit():
            seen[name] = int(status) == 0
    return {name: seen.get(name, False) for name in expected}


def next_down_counts(previous: Mapping[str, int], results: Sequence[ProbeResult]) -> dict[str, int]:
    """Consecutive down probes per SN after this probe (0 when up); SNs not probed keep theirs.

    >>> next_down_counts({"sn1": 2}, [ProbeResult(node="sn1", ssh=False)])
    {'sn1': 3}
    """
    counts = dict(previous)
    for r in results:
        counts[r.node] = 0 if r.up else int(previous.get(r.node, 0)) + 1
    return counts
