"""The virtual cluster's service settings: where the management node's files live, and
reload commands that record themselves instead of restarting daemons.

Written into ``$SNFLOW_HOME/settings.env`` by ``sim up`` (data, never a code branch): the
service flows install files on the simulated hosts exactly as on real ones, and each
reload appends one line (``reload dhcpd``, ``reload kea``, ``reload conserver``,
``stop conserver``) to the host's ``var/log/snflow-actions.log``, so tests and the demo
can see which hosts were reloaded. The management node's files live in
``$SNFLOW_HOME/sim/mn``. The SN health checks (``SNFLOW_HEALTH_CHECKS``) are data too: a
simulated service runs unless a marker ``var/run/<role>.down`` exists in the SN's root.

>>> service_settings(Path("/h"))["SNFLOW_SERVICES_MN_ROOT"]
'/h/sim/mn'
"""

from __future__ import annotations

import json
from pathlib import Path

from snflow.sim import paths
from snflow.sim.layout import MN_NAME

__all__ = ["ACTIONS_LOG", "HEALTH_CHECKS", "record_command", "service_settings"]

#: Where a simulated host's reload commands record themselves (under its root).
ACTIONS_LOG = "var/log/snflow-actions.log"
#: sn-health's service checks on the virtual cluster, per servicenode role.
HEALTH_CHECKS = {
    role: f'test ! -e "$NODEROOT/var/run/{role}.down"'
    for role in ("dhcpserver", "tftpserver", "conserver")
}


def record_command(action: str) -> str:
    """A shell command appending ``action`` to the host's actions log.

    >>> print(record_command("reload dhcpd").split(" && ")[1])
    echo 'reload dhcpd' >> "$NODEROOT/var/log/snflow-actions.log"
    """
    directory = ACTIONS_LOG.rpartition("/")[0]
    return f'mkdir -p "$NODEROOT/{directory}" && echo \'{action}\' >> "$NODEROOT/{ACTIONS_LOG}"'


def service_settings(home: Path) -> dict[str, str]:
    """``SNFLOW_SERVICES_*`` settings of the virtual cluster in ``home``."""
    return {
        "SNFLOW_SERVICES_MN_ROOT": str(paths.host_root(home, MN_NAME)),
        "SNFLOW_SERVICES_DHCPD_RELOAD": record_command("reload dhcpd"),
        "SNFLOW_SERVICES_KEA_RELOAD": record_command("reload kea"),
        "SNFLOW_SERVICES_CONSERVER_RELOAD": record_command("reload conserver"),
        "SNFLOW_SERVICES_CONSERVER_STOP": record_command("stop conserver"),
        "SNFLOW_HEALTH_CHECKS": json.dumps(HEALTH_CHECKS),
    }
