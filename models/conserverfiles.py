"""makeconservercf on one host: which hosts a request touches, what changed, what to check.
Pure: no I/O.

Targets follow xCAT's dispatch (``snmove.md`` §15): with a noderange, the management
node and the conserver hosts that own those consoles (``nodehm.conserver``); without one
(or with ``-C``), every conserver host. A caller that must clean another host (the old
service node after a move) names it in the request's ``hosts``.

conserver refuses a file without any console (``conserver -S`` exits 65, "no consoles
found"), so a file left empty is checked with a placeholder console added
(:func:`checkable`): the rest of it is still checked, and the task stops conserver there
instead of reloading it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from snflow.models.conserver import ConserverConfig, console_names
from snflow.models.natsort import natural_key
from snflow.models.services import ServiceState, sorted_nodes

__all__ = [
    "PLACEHOLDER",
    "checkable",
    "conserver_targets",
    "console_changes",
    "master_addresses",
]

#: The console added to an empty file for ``conserver -S`` only (never installed).
PLACEHOLDER = "console snflow-check-placeholder {\n  type exec;\n  exec /bin/true;\n}\n"
_MASTER = re.compile(r"^(\s*master )([^\s;]+);", re.M)
_BLOCK = re.compile(r"^#xCAT BEGIN (\S+) CONS\n(.*?)^#xCAT END \1 CONS$", re.M | re.S)


def conserver_targets(
    state: ServiceState,
    configs: dict[str, ConserverConfig],
    nodes: Sequence[str] | None,
    cleanup: bool = False,
) -> list[str]:
    """The planned hosts a request works on when it names none (natural order)."""
    if nodes is None or cleanup:
        return sorted(configs, key=natural_key)
    known = state.node_map()
    mn = state.mn()
    chosen = {mn.name} if mn is not None else set()
    for name in nodes:
        node = known.get(name)
        if node is None or not (node.cons.strip() or node.serialport.strip()):
            continue
        owner = node.conserver.strip() or state.site.master
        host = mn if owner == state.site.master else state.host(owner)
        if host is not None:
            chosen.add(host.name)
    return sorted((h for h in chosen if h in configs), key=natural_key)


def console_blocks(text: str) -> dict[str, str]:
    """node -> its ``#xCAT BEGIN/END <node> CONS`` block body."""
    return {node: body for node, body in _BLOCK.findall(text)}


def console_changes(before: str, after: str) -> tuple[list[str], list[str], list[str]]:
    """Consoles added, removed and rewritten between two files (natural order)."""
    old, new = console_blocks(before), console_blocks(after)
    added = sorted_nodes(set(new) - set(old))
    removed = sorted_nodes(set(old) - set(new))
    updated = sorted_nodes(n for n in set(old) & set(new) if old[n] != new[n])
    return added, removed, updated


def checkable(text: str, addresses: Mapping[str, str] | None = None) -> str:
    """``text`` as ``conserver -S`` can check it quickly: with a placeholder console when it
    has none, and each ``master <host>`` naming that host's address from ``addresses``
    (conserver resolves every ``master`` once per console; where the service nodes' names
    are not in the checking machine's resolver, that took ~0.2 s per console here).

    >>> "snflow-check-placeholder" in checkable("default * {\\n  rw *;\\n}\\n")
    True
    >>> checkable("console a {\\n  master sn1;\\n}\\n", {"sn1": "10.0.0.1"}).splitlines()[1]
    '  master 10.0.0.1;'
    """
    if addresses:
        text = _MASTER.sub(lambda m: f"{m[1]}{addresses.get(m[2], m[2])};", text)
    return text if console_names(text) else text + PLACEHOLDER


def master_addresses(state: ServiceState) -> dict[str, str]:
    """Each service host's name -> its first address (what ``master`` lines name)."""
    return {h.name: h.interfaces[0].address for h in state.hosts if h.interfaces}
