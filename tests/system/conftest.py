"""System tests: snflow against real OpenSSH, dhcpd, tftpd-hpa and conserver, on the namespace
cluster (:mod:`nsbed`). Root only; CI runs them as root (``scripts/test``).

One bed for the whole session (stale beds of killed runs are cleaned first), always taken
down. Every test gets it with every link up again afterwards. snflow runs on the MN: inside
its network namespace, which has no default route; the routes from there to every bed
address are checked before the first command (:meth:`nsbed.Bed.check_routes`).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nsbed import Bed, cleanup_stale

HOW_TO_RUN = (
    "the system tests need root and network namespaces: run them with "
    "`sudo ./scripts/test tests/system -m system` (CI runs them as root)"
)
_TOOLS = ("ip", "unshare", "nsenter", "sshd", "dhcpd", "in.tftpd", "conserver", "busybox")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def bed_session() -> Iterator[Bed]:
    """The session's bed (2 SNs, 8 CNs, a Prefect server on the MN)."""
    if os.geteuid() != 0:
        pytest.skip(HOW_TO_RUN)
    missing = [
        t for t in _TOOLS if shutil.which(t, path=f"/usr/sbin:/sbin:{os.environ['PATH']}") is None
    ]
    if missing:
        message = f"missing {', '.join(missing)}: run ./scripts/test as root to install them"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    cleanup_stale()
    bed = Bed.up()
    try:
        bed.check_routes(bed.plan.mn.netns, bed.all_addresses())
        yield bed
    finally:
        bed.down()


@pytest.fixture
def bed(bed_session: Bed) -> Iterator[Bed]:
    """The session's bed; every link is up again after the test."""
    yield bed_session
    for host in bed_session.plan.hosts:
        for link in host.links:
            if not bed_session.link_up(host.name, link.network):
                bed_session.set_link(host.name, link.network, True)


@pytest.fixture
def booted(bed: Bed) -> Iterator[Bed]:
    """The bed as the procedure starts: DHCP entries, boot files and consoles written by
    snflow on both SNs (and the MN); afterwards the database, the CNs' files and routes are
    put back (:meth:`nsbed.Bed.reset`), whatever the test moved."""
    try:
        for args in (["makedhcp", "-a"], ["nodeset", "compute"], ["makeconservercf"]):
            run = bed.snflow(*args)
            assert run.returncode == 0, f"snflow {' '.join(args)}: {run.stderr}"
        yield bed
    finally:
        bed.reset()
