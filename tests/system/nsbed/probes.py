"""What a compute node does at network boot, done for real inside its namespace.

:func:`dhcp_exchange` runs busybox ``udhcpc`` on the CN's interface: DISCOVER, OFFER,
REQUEST, ACK with whichever DHCP server answers first; its script only reports the lease
(the interface keeps its address). :func:`tftp_get` fetches a file as the boot loader
would, with busybox ``tftp``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from .bed import Bed

__all__ = ["Lease", "dhcp_exchange", "tftp_get"]

_SCRIPT = "/tmp/bed-udhcpc-report"
_REPORT = """\
#!/bin/sh
# udhcpc script of the bed: report the lease, change nothing.
[ "$1" = bound ] || exit 0
echo "lease ip=$ip serverid=$serverid siaddr=$siaddr boot_file=$boot_file router=$router dns=$dns"
"""


class Lease(BaseModel):
    """The DHCP answer a CN got."""

    model_config = ConfigDict(frozen=True)

    ip: str
    server: str  # the server identifier: who answered
    next_server: str  # siaddr
    boot_file: str
    router: str = ""
    dns: str = ""


def dhcp_exchange(bed: Bed, node: str, tries: int = 3) -> Lease | None:
    """A DHCP exchange from ``node``'s ``eth0``; its lease, or None if no server answered
    within ``tries`` DISCOVERs (one second apart)."""
    script = bed.path(node, _SCRIPT)
    script.write_text(_REPORT)
    script.chmod(0o755)
    argv = ["busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", str(tries), "-T", "1"]
    proc = bed.host_run(node, [*argv, "-s", _SCRIPT], timeout=30 + 3 * tries)
    for line in proc.stdout.splitlines():
        if line.startswith("lease "):
            values = dict(p.split("=", 1) for p in line.split()[1:] if "=" in p)
            return Lease(
                ip=values.get("ip", ""),
                server=values.get("serverid", ""),
                next_server=values.get("siaddr", ""),
                boot_file=values.get("boot_file", ""),
                router=values.get("router", ""),
                dns=values.get("dns", ""),
            )
    return None


def tftp_get(bed: Bed, node: str, server: str, remote: str) -> str | None:
    """File ``remote`` fetched over TFTP from ``server`` by ``node``; None if refused."""
    proc = bed.host_run(
        node, ["busybox", "tftp", "-g", "-r", remote, "-l", "/dev/stdout", server], timeout=30
    )
    return proc.stdout if proc.returncode == 0 else None
