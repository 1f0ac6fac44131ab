"""Files each simulated host has: its ``ip``, and a service node's SSH client set-up.

A real service node reaches its compute nodes with OpenSSH: its own key, its nodes' host
keys in ``known_hosts``, their names resolvable, its node-facing ("b") address as the
source. The virtual cluster gives each SN the same, as data under its root:

* ``<root>/root/.ssh/id_ed25519`` (+ ``.pub``): the SN's key, created once and kept;
  every compute node it serves authorizes it (:func:`authorized_keys`).
* ``<root>/root/.ssh/known_hosts``: the host keys of the compute nodes it serves.
* ``<root>/root/.ssh/config``: ``Host <cn>`` / ``HostName <address>`` for each of them
  (the SN's "/etc/hosts"), then ``BindAddress`` = its "b" address, the simulation's port,
  that key and known_hosts (``${NODEROOT}``-relative), strict host key checking, batch mode.

OpenSSH reads ``~/.ssh/config`` from the passwd home, not ``$HOME``, so the product runs the
SN's ssh as the setting ``SNFLOW_SN_SSH_COMMAND`` says; ``sim up`` sets it to
:data:`SN_SSH_COMMAND`. Every host's ``ip`` is written to its bin directory
(:func:`~snflow.sim.nodeenv.render_ip_wrapper`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from snflow.sim.keys import ensure_host_keys, known_hosts_line
from snflow.sim.layout import SimHost, SimLayout
from snflow.sim.nodeenv import Isolation, bin_dir, fstab_path, render_fstab, render_ip_wrapper

__all__ = [
    "SN_SSH_COMMAND",
    "authorized_keys",
    "ensure_sn_keys",
    "render_sn_ssh_config",
    "sn_ssh_dir",
    "write_host_files",
]

#: The SN-side ssh command on the virtual cluster (``SNFLOW_SN_SSH_COMMAND``).
SN_SSH_COMMAND = "ssh -F ${NODEROOT:-}/root/.ssh/config"
_KEY = "id_ed25519"


def sn_ssh_dir(root: Path) -> Path:
    """``<root>/root/.ssh``: where an SN keeps its SSH client files."""
    return root / "root" / ".ssh"


def _write(path: Path, text: str, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def ensure_sn_keys(sim_dir: Path, layout: SimLayout) -> dict[str, str]:
    """Each SN's client key (created if absent): SN name -> ``ssh-ed25519 AAAA...``."""
    public: dict[str, str] = {}
    for sn in layout.service_nodes:
        ssh_dir = sn_ssh_dir(sim_dir / sn.name)
        ssh_dir.mkdir(parents=True, exist_ok=True)
        public[sn.name] = ensure_host_keys(ssh_dir, [_KEY])[_KEY]
        ssh_dir.chmod(0o700)
    return public


def authorized_keys(host: SimHost, sn_keys: Mapping[str, str]) -> tuple[str, ...]:
    """The keys (besides the client key) that ``host`` accepts: those of its SNs."""
    return tuple(sn_keys[s] for s in host.service_nodes if s in sn_keys)


def render_sn_ssh_config(sn: SimHost, served: list[SimHost], port: int) -> str:
    """The SSH client configuration of service node ``sn`` (see the module docstring).

    >>> from snflow.sim.layout import plan_layout
    >>> layout = plan_layout(1, 1)
    >>> print(render_sn_ssh_config(layout.host("sn1"), [layout.host("cn001")], 2222))
    ... # doctest: +ELLIPSIS
    # The virtual cluster's ssh client configuration of service node sn1.
    Host cn001
        HostName 127.20.1.1
    <BLANKLINE>
    Host *
        User root
        Port 2222
        BindAddress 127.20.0.1
        IdentityFile ${NODEROOT}/root/.ssh/id_ed25519
    ...
    """
    lines = [f"# The virtual cluster's ssh client configuration of service node {sn.name}."]
    for cn in served:
        lines += [f"Host {cn.name}", f"    HostName {cn.address}", ""]
    lines += [
        "Host *",
        "    User root",
        f"    Port {port}",
        f"    BindAddress {sn.b_address}",
        f"    IdentityFile ${{NODEROOT}}/root/.ssh/{_KEY}",
        "    IdentitiesOnly yes",
        "    UserKnownHostsFile ${NODEROOT}/root/.ssh/known_hosts",
        "    GlobalKnownHostsFile /dev/null",
        "    StrictHostKeyChecking yes",
        "    CheckHostIP no",
        "    BatchMode yes",
        "    PasswordAuthentication no",
        "    ConnectTimeout 10",
        "    LogLevel ERROR",
    ]
    return "\n".join(lines) + "\n"


def write_host_files(
    sim_dir: Path,
    layout: SimLayout,
    port: int,
    host_keys: Mapping[str, str],
    isolation: Isolation | None,
) -> None:
    """Write every host's ``ip`` (and fstab, with ``isolation``), and every SN's ssh config
    and known_hosts (keys must exist: :func:`ensure_sn_keys`). ``host_keys``: host name ->
    its public host key."""
    for host in layout.hosts:
        directory = bin_dir(sim_dir, host.name)
        directory.mkdir(parents=True, exist_ok=True)
        _write(directory / "ip", render_ip_wrapper(host), 0o755)
        if isolation is not None:
            text = render_fstab(host.name, sim_dir, isolation)
            _write(fstab_path(sim_dir, host.name), text, 0o644)
    for sn in layout.service_nodes:
        served = [cn for cn in layout.compute_nodes if sn.name in cn.service_nodes]
        ssh_dir = sn_ssh_dir(sim_dir / sn.name)
        _write(ssh_dir / "config", render_sn_ssh_config(sn, served, port), 0o600)
        known = [known_hosts_line(c.name, c.address, port, host_keys[c.name]) for c in served]
        _write(ssh_dir / "known_hosts", "".join(f"{line}\n" for line in known), 0o600)
