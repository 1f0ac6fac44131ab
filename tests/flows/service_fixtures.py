"""Helpers for the service-flow tests on the virtual cluster: a clean slate of service
files, database edits that are undone, the hosts' files and recorded reloads."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from snflow.models import db
from snflow.models.schema import TABLES
from snflow.sim import SimCluster

HOSTS = ("mn", "sn1", "sn2")
_SERVICE_PATHS = ("etc/dhcp", "etc/kea", "etc/conserver.cf", "tftpboot/*", "var/log")


def root(sim: SimCluster, host: str) -> Path:
    """The host's private root directory (the MN's files: ``sim/mn``)."""
    return sim.home / "sim" / host


def clean_services(sim: SimCluster) -> None:
    """Remove every service file and recorded action from the MN and all SNs (the
    directories the virtual cluster made, like ``tftpboot``, stay)."""
    for host in HOSTS:
        for rel in _SERVICE_PATHS:
            for path in root(sim, host).glob(rel):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)


def actions(sim: SimCluster, host: str) -> list[str]:
    """The reloads recorded on ``host`` (the virtual cluster's reload commands)."""
    log = root(sim, host) / "var/log/snflow-actions.log"
    return log.read_text().splitlines() if log.is_file() else []


def read(sim: SimCluster, host: str, path: str) -> str:
    return (root(sim, host) / path.lstrip("/")).read_text()


@contextmanager
def db_values(table: str, key: str, **values: str | None) -> Iterator[None]:
    """Set columns of one row (inserted if missing) for the block, then restore them."""
    tab = TABLES[table]
    key_col = tab.c[next(iter(tab.primary_key.columns)).name]
    with db.transaction() as conn:
        row = conn.execute(sa.select(tab).where(key_col == key)).mappings().first()
        if row is None:
            conn.execute(tab.insert().values({key_col.name: key, **values}))
        else:
            conn.execute(tab.update().where(key_col == key).values(**values))
    try:
        yield
    finally:
        with db.transaction() as conn:
            if row is None:
                conn.execute(tab.delete().where(key_col == key))
            else:
                old = {c: row[c] for c in values}
                conn.execute(tab.update().where(key_col == key).values(**old))


def checker(name: str) -> str:
    """The daemon's checker; missing: skip, or fail under CI."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if path is None:
        reason = f"{name} is not installed"
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{reason}; CI must not skip the checker tests")
        pytest.skip(reason)
    return path


def run_checker(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [checker(argv[0]), *argv[1:]], capture_output=True, text=True, check=False
    )
