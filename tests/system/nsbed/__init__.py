"""The namespace cluster: a test bed of network namespaces running real OpenSSH, ISC dhcpd,
tftpd-hpa and conserver (root only). See :mod:`.bed` and ``tests/system/bed.py``."""

from .bed import BASE, Bed, BedError, cleanup_stale, list_beds
from .plan import BedHost, BedPlan, plan_bed

__all__ = [
    "BASE",
    "Bed",
    "BedError",
    "BedHost",
    "BedPlan",
    "cleanup_stale",
    "list_beds",
    "plan_bed",
]
