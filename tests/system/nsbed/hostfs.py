"""Each bed host's own files: the directories mounted over ``/etc``, ``/var``, ``/opt/xcat``,
``/tftpboot`` and ``/tmp`` in its private mount namespace, and what they start with.

``/etc`` is built, not copied: the few files the dynamic loader, sshd and the daemons need
from the machine (``ld.so.cache``, ``alternatives``, ``services`` ...), and the bed's own
accounts, name service (files only), ``hosts``, sshd configuration and keys. No init scripts
and no shell rc files: a node's commands run in ``/bin/sh -c`` with a fixed ``PATH``
(sshd's ``SetEnv``), so nothing of the machine's configuration leaks into a test.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .plan import BedHost, BedPlan

__all__ = ["MOUNTS", "PATH", "host_dirs", "host_root", "populate"]

#: Mount point inside the host -> directory under ``hosts/<name>/`` (the same path, so
#: ``hosts/<name>`` stands for the host's ``/`` for these directories).
MOUNTS = {
    "/etc": "etc",
    "/var": "var",
    "/opt/xcat": "opt/xcat",
    "/tftpboot": "tftpboot",
    "/tmp": "tmp",
}
#: A CN's stand-ins for daemons the bed does not run (last on PATH).
BED_SBIN = "/var/lib/snflow-bed/sbin"
#: Every command a node runs sees this PATH and nothing from a login shell.
PATH = f"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:{BED_SBIN}"

#: Daemons a CN's postscripts require to be installed, which the bed does not run: rsyslog
#: (no log traffic to the SNs is needed) and chrony (a CN shares the machine's clock, which it
#: must never set). The postscripts write their configuration, which the tests check; their
#: restart finds no service manager and is reported as not done.
_PLACEHOLDERS = ("rsyslogd", "chronyd")
_PLACEHOLDER = """\
#!/bin/sh
# {name} of a namespace-bed compute node: installed, never run (see tests/system/nsbed/hostfs.py).
echo "{name}: not run on the namespace test bed" >&2
exit 1
"""

#: Copied from the machine's /etc (files, directories or symbolic links), when present.
_FROM_MACHINE = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "services",
    "protocols",
    "localtime",
    "mtab",
    "os-release",
    "debian_version",
    "shells",
    "ssh/moduli",
)
#: Accounts copied from the machine's passwd/group (the daemons' users), root is the bed's.
_SYSTEM_USERS = ("daemon", "nobody", "sshd", "tftp", "conservr", "_kea", "_chrony", "dhcpd")
_SYSTEM_GROUPS = ("daemon", "nogroup", "tftp", "dialout", "_kea", "_chrony", "dhcpd", "shadow")
_ROOT_HOME = "/var/root"

_SSHD_CONFIG = """\
# sshd of bed host {name}: its own keys and accounts, a fixed environment.
ListenAddress {address}
Port 22
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /var/run/sshd.pid
AuthorizedKeysFile /etc/ssh/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
PrintLastLog no
UseDNS no
PermitUserEnvironment no
AllowTcpForwarding yes
MaxStartups 64:30:128
SetEnv PATH={path} LC_ALL=C
Subsystem sftp internal-sftp
"""


def host_root(root: Path, name: str) -> Path:
    """The directory that stands for ``/`` of host ``name`` (for :data:`MOUNTS` only)."""
    return root / "hosts" / name


def host_dirs(root: Path, name: str) -> dict[str, Path]:
    """Mount point -> the directory holding host ``name``'s files."""
    base = host_root(root, name)
    return {mount: base / sub for mount, sub in MOUNTS.items()}


def _copy_from_machine(etc: Path, shared: Path) -> None:
    """The machine's files of :data:`_FROM_MACHINE` in ``etc``; a directory is copied once
    per bed into ``shared`` (read by every host, written by none) and linked from ``etc``."""
    for rel in _FROM_MACHINE:
        src, dst = Path("/etc") / rel, etc / rel
        if not (src.exists() or src.is_symlink()):
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        elif src.is_dir():
            if not (shared / rel).exists():
                shutil.copytree(src, shared / rel, symlinks=True)
            os.symlink(shared / rel, dst)
        else:
            shutil.copy2(src, dst)


def _accounts(etc: Path) -> None:
    def pick(path: str, names: tuple[str, ...]) -> list[str]:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        return [line for line in lines if line.split(":", 1)[0] in names]

    root_user = f"root:x:0:0:root:{_ROOT_HOME}:/bin/sh"
    (etc / "passwd").write_text("\n".join([root_user, *pick("/etc/passwd", _SYSTEM_USERS)]) + "\n")
    (etc / "group").write_text("\n".join(["root:x:0:", *pick("/etc/group", _SYSTEM_GROUPS)]) + "\n")
    users = ["root", *(line.split(":", 1)[0] for line in pick("/etc/passwd", _SYSTEM_USERS))]
    shadow = etc / "shadow"
    # '*': no password, but not locked ('!' would make sshd refuse the key too).
    shadow.write_text("".join(f"{u}:*:19000:0:99999:7:::\n" for u in users))
    shadow.chmod(0o600)


def _hosts_file(plan: BedPlan) -> str:
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    for host in plan.hosts:
        lines.append(f"{host.address}\t{host.name}")
        if host.b_name:
            lines.append(f"{host.link('b').address}\t{host.b_name}")
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)


def populate(
    root: Path,
    plan: BedPlan,
    host: BedHost,
    host_key: Path,
    client_key: Path,
    known_hosts: str,
) -> dict[str, Path]:
    """Create host ``host``'s directories and files; return :func:`host_dirs`.

    :param host_key: its ed25519 host key (``.pub`` beside it).
    :param client_key: the MN's client key (``.pub`` beside it), authorized for root on every
        host; a service node's root has it too, as xCAT gives SNs root's key, so an SN's own
        ``ssh`` reaches its compute nodes (xdcp's SN-to-node hop).
    :param known_hosts: every bed host's key line (``/etc/ssh/ssh_known_hosts``).
    """
    client_public = client_key.with_name(client_key.name + ".pub").read_text()
    dirs = host_dirs(root, host.name)
    for path in dirs.values():
        path.mkdir(parents=True)
    dirs["/tmp"].chmod(0o1777)
    etc, var = dirs["/etc"], dirs["/var"]
    _copy_from_machine(etc, root / "shared" / "etc")
    _accounts(etc)
    _write(
        etc / "nsswitch.conf",
        "passwd: files\ngroup: files\nshadow: files\nhosts: files\nnetworks: files\n"
        "protocols: files\nservices: files\n",
    )
    _write(etc / "hosts", _hosts_file(plan))
    _write(etc / "hostname", f"{host.name}\n")
    ssh = etc / "ssh"
    _write(
        ssh / "sshd_config", _SSHD_CONFIG.format(name=host.name, address=host.address, path=PATH)
    )
    _write(ssh / "ssh_host_ed25519_key", host_key.read_text(), 0o600)
    _write(ssh / "ssh_host_ed25519_key.pub", host_key.with_name(host_key.name + ".pub").read_text())
    _write(ssh / "authorized_keys", client_public.strip() + "\n")
    _write(ssh / "ssh_known_hosts", known_hosts)
    for sub in ("run", "log", "tmp", "lib", "cache", "spool"):
        (var / sub).mkdir(exist_ok=True)
    (var / "tmp").chmod(0o1777)
    home = var / _ROOT_HOME.removeprefix("/var/")
    home.mkdir(mode=0o700)
    if host.role == "sn":
        _write(home / ".ssh" / "id_ed25519", client_key.read_text(), 0o600)
        _write(home / ".ssh" / "id_ed25519.pub", client_public)
    if host.role == "cn":
        for name in _PLACEHOLDERS:
            _write(
                var / BED_SBIN.removeprefix("/var/") / name, _PLACEHOLDER.format(name=name), 0o755
            )
    return dirs
