"""Object name rules (xCAT's ``isobjnamevalid``): what a node or group may be called.

Names end up in shell commands, file names and DHCP configuration on the nodes, so
snflow refuses anything outside ``[A-Za-z0-9_-]`` (or an IP address, which xCAT allows).
"""

from __future__ import annotations

import ipaddress
import re

from snflow.models.errors import NodeNameError

__all__ = ["check_object_name", "has_capitals"]

_VALID = re.compile(r"[A-Za-z0-9_-]+")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def check_object_name(name: str) -> str:
    """Return ``name`` if it is a valid object name, else raise :class:`NodeNameError`.

    >>> check_object_name("cn001")
    'cn001'
    """
    if _VALID.fullmatch(name) or _is_ip(name):
        return name
    if "." in name and _VALID.fullmatch(name.replace(".", "")):
        raise NodeNameError(
            f"The object name '{name}' is invalid, Cannot use '.' in node name.", name
        )
    raise NodeNameError(
        f"The object name '{name}' is invalid, please refer to \"man xcatdb\" for the valid "
        '"xCAT Object Name Format"',
        name,
    )


def has_capitals(name: str) -> bool:
    """xCAT warns about capitals: DNS may not resolve them as typed."""
    return name != name.lower()
