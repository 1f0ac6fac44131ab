"""The namespace cluster: a test bed of network namespaces running real OpenSSH, ISC dhcpd,
tftpd-hpa and conserver (root only). See :mod:`.bed` and ``tests/system/bed.py``."""

from .bed import BASE, Bed, BedError
from .plan import BedHost, BedPlan, plan_bed
from .stale import cleanup_stale, list_beds

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
