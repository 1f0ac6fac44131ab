"""Finding beds, and removing those whose test run died."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from . import netns
from .bed import _STATE, BASE, Bed, BedError
from .plan import PREFIX
from .procs import stop_pids

__all__ = ["cleanup_stale", "list_beds"]

#: A bed directory without a state file older than this (seconds) is a crashed start.
_HALF_BORN = 60


def list_beds(base: Path = BASE) -> list[Bed]:
    """Every bed with a state file in ``base``."""
    beds = []
    for root in sorted(base.glob(f"{PREFIX}*")) if base.is_dir() else []:
        try:
            beds.append(Bed.attach(root.name, base))
        except (BedError, KeyError):
            continue
    return beds


def cleanup_stale(base: Path = BASE, *, everything: bool = False) -> list[str]:
    """Take down beds whose owner died (``everything``: every bed), and namespaces named
    like a bed's that no bed directory claims; the bed ids (or namespaces) removed."""
    removed = []
    for bed in list_beds(base):
        if everything or not bed.owner_alive():
            bed.down()
            removed.append(bed.bed_id)
    # Namespaces first: a bed's directory exists before its namespaces, so a namespace
    # listed here whose directory is missing below belongs to no bed (never a new one).
    names = netns.list_namespaces()
    dirs = list(base.glob(f"{PREFIX}*")) if base.is_dir() else []
    for root in dirs:
        if not (root / _STATE).exists() and time.time() - root.stat().st_mtime > _HALF_BORN:
            shutil.rmtree(root, ignore_errors=True)  # died between mkdir and its state file
    claimed = {p.name for p in dirs}
    for name in names:
        if name.split("-", 1)[0] not in claimed:
            stop_pids(netns.netns_pids(name))
            netns.delete_namespaces([name])
            removed.append(name)
    return removed
