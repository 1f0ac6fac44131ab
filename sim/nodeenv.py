"""What a command on a simulated host sees: its own ``/tmp``, its own ``ip``, its environment.

Each command runs in a private mount namespace (``unshare --mount``, plus ``--map-root-user``
when the daemon is not root) where the host's ``<root>/tmp`` is bind-mounted on ``/tmp``,
and ``<root>/var/xcat``, ``<root>/opt/xcat``, ``<root>/tftpboot`` on those paths where they
exist on this machine (a mount needs an existing mount point; the virtual cluster creates
none). ``/etc`` is the machine's: files a node owns there are always written under
``${NODEROOT:-}/etc``. So ``ls /tmp/file1`` on ``cn4`` sees ``cn4``'s file.

When the simulation's directory lies under one of those paths (a test's home under
``/tmp``), binding over ``/tmp`` would hide every host's root; the simulation's directory is
then bind-mounted first on an *alias* (``/mnt``, else ``/media``, else ``/srv``), and
``NODEROOT`` is ``<alias>/<host>`` inside the namespace. Otherwise ``NODEROOT`` is the real
root directory.

Fallback: when ``unshare`` is missing or refused (no user namespaces, seccomp), or
``SNFLOW_SIM_ISOLATION=0``, commands run as before: the machine's mount namespace,
``NODEROOT`` the real root, ``/tmp`` the machine's. Product code never depends on which:
node-side paths are always written ``${NODEROOT:-}/...``.

Cost: an ``unshare`` exec, a set-up ``sh`` and one ``mount -a`` of the host's own fstab
(``<sim>/.hosts/<host>/fstab``, :func:`render_fstab`) per command: ~2.5 ms of CPU here
(``bench/sim_isolation.py`` prints it).

Every host's ``PATH`` starts with ``<sim>/.hosts/<host>/bin``, holding an ``ip`` that prints
the host's simulated interfaces (:func:`render_ip_wrapper`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from snflow.sim.layout import NETWORK_A, NETWORK_B, SimHost
from snflow.sim.rows import mac_address

__all__ = [
    "ALIAS_CANDIDATES",
    "BIND_TARGETS",
    "ISOLATION_ENV",
    "SYSTEM_PATH",
    "HostEnv",
    "Isolation",
    "bin_dir",
    "fstab_path",
    "host_env",
    "plan_isolation",
    "probe_isolation",
    "render_fstab",
    "render_ip_wrapper",
]

#: ``PATH`` after the host's own bin directory: the standard system path.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: Paths a host has its own copy of (bound where the mount point exists), ``/tmp`` first.
BIND_TARGETS = ("/tmp", "/var/xcat", "/opt/xcat", "/tftpboot")  # noqa: S108 - mount points
#: Where the simulation's directory is bound when a bind target would hide it.
ALIAS_CANDIDATES = ("/mnt", "/media", "/srv")
#: Set to ``0`` to run commands without a private mount namespace.
ISOLATION_ENV = "SNFLOW_SIM_ISOLATION"
_SHELL = "/bin/sh"
_HOSTS = ".hosts"
# Runs inside the new namespace: mount the host's fstab, enter NODEROOT, exec the command.
_SETUP = 'mount -a -T "$1" || exit 125; cd "$2" || exit 125; shift 2; exec "$@"'


@dataclass(frozen=True)
class Isolation:
    """How commands get their private mount namespace (``None`` of it: the fallback)."""

    #: ``unshare`` argv up to the command it runs.
    unshare: tuple[str, ...]
    #: Bind targets that exist on this machine.
    targets: tuple[str, ...]
    #: Where the simulation's directory is bound first, when a target would hide it.
    alias: str | None

    def describe(self) -> str:
        where = f", hosts under {self.alias}" if self.alias else ""
        return f"private mount namespace: {', '.join(self.targets)}{where}"


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def plan_isolation(
    sim_dir: str,
    *,
    existing: Sequence[str],
    euid: int,
    unshare: str = "unshare",
) -> Isolation | str:
    """The isolation for a simulation in ``sim_dir`` (resolved), given which paths of
    :data:`BIND_TARGETS` and :data:`ALIAS_CANDIDATES` exist; or why there is none.

    >>> plan_isolation("/root/.snflow/sim", existing=["/tmp", "/mnt"], euid=0).alias is None
    True
    >>> plan_isolation("/tmp/t/sim", existing=["/tmp", "/mnt"], euid=1000).alias
    '/mnt'
    >>> plan_isolation("/tmp/t/sim", existing=["/tmp"], euid=0)
    'the simulation directory is under /tmp and none of /mnt, /media, /srv exists'
    """
    targets = tuple(t for t in BIND_TARGETS if t in existing)
    if BIND_TARGETS[0] not in targets:
        return f"{BIND_TARGETS[0]} does not exist"
    argv = (unshare, "--mount", "--propagation", "private")
    if euid != 0:
        argv += ("--map-root-user",)
    hidden = next((t for t in targets if _under(sim_dir, t)), None)
    alias = None
    if hidden is not None:
        alias = next((a for a in ALIAS_CANDIDATES if a in existing and not _under(a, hidden)), None)
        if alias is None:
            return (
                f"the simulation directory is under {hidden} and none of "
                f"{', '.join(ALIAS_CANDIDATES)} exists"
            )
    return Isolation(unshare=argv, targets=targets, alias=alias)


@dataclass(frozen=True)
class HostEnv:
    """The environment and argv prefix of every command on one host."""

    name: str
    #: The host's root directory on this machine.
    root: Path
    #: ``NODEROOT`` as the command sees it (the root, or its alias in the namespace).
    noderoot: str
    path: str
    #: Everything before the command's own ``/bin/sh``: empty without isolation.
    prefix: tuple[str, ...] = ()

    @property
    def environ(self) -> dict[str, str]:
        """The whole environment of a command (no rc files, nothing from the daemon)."""
        return {"NODEROOT": self.noderoot, "NODE": self.name, "HOME": self.noderoot,
                "PATH": self.path}  # fmt: skip

    def argv(self, command: str | None) -> list[str]:
        """``/bin/sh -c <command>`` (a shell request, no command: ``/bin/sh`` reading stdin),
        behind the namespace set-up when there is one."""
        shell = [_SHELL] if command is None else [_SHELL, "-c", command]
        return [*self.prefix, *shell]


def bin_dir(sim_dir: Path, name: str) -> Path:
    """The host's own bin directory (first on its ``PATH``), outside its root."""
    return sim_dir / _HOSTS / name / "bin"


def fstab_path(sim_dir: Path, name: str) -> Path:
    """The bind mounts of the host's namespace, read by ``mount -a -T``."""
    return sim_dir / _HOSTS / name / "fstab"


def _fstab_field(path: str) -> str:
    return "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in path)


def render_fstab(name: str, sim_dir: Path, isolation: Isolation) -> str:
    """The host's fstab: the alias first (when there is one), then each bind target.

    >>> print(render_fstab("cn1", Path("/tmp/my h/sim"), plan_isolation(
    ...     "/tmp/my h/sim", existing=["/tmp", "/mnt"], euid=0)), end="")
    /tmp/my\\040h/sim /mnt none bind 0 0
    /mnt/cn1/tmp /tmp none bind 0 0
    """
    base = isolation.alias or str(sim_dir)
    pairs = [(str(sim_dir), isolation.alias)] if isolation.alias else []
    pairs += [(f"{base}/{name}{target}", target) for target in isolation.targets]
    return "".join(f"{_fstab_field(s)} {_fstab_field(t)} none bind 0 0\n" for s, t in pairs)


def host_env(name: str, sim_dir: Path, isolation: Isolation | None) -> HostEnv:
    """The environment of host ``name`` whose root is ``sim_dir/name`` (the fstab that
    ``isolation`` needs is written by :mod:`snflow.sim.hostfiles`).

    >>> env = host_env("cn1", Path("/tmp/h/sim"), plan_isolation(
    ...     "/tmp/h/sim", existing=["/tmp", "/mnt"], euid=0))
    >>> env.noderoot, env.path.split(":")[0]
    ('/mnt/cn1', '/mnt/.hosts/cn1/bin')
    >>> env.argv("ls")[-5:]  # doctest: +NORMALIZE_WHITESPACE
    ['/tmp/h/sim/.hosts/cn1/fstab', '/mnt/cn1', '/bin/sh', '-c', 'ls']
    """
    root = sim_dir / name
    if isolation is None:
        return HostEnv(name, root, str(root), f"{bin_dir(sim_dir, name)}:{SYSTEM_PATH}")
    base = Path(isolation.alias or sim_dir)
    noderoot = str(base / name)
    prefix = (
        *isolation.unshare, _SHELL, "-c", _SETUP, "snflow-sim", str(fstab_path(sim_dir, name)),
        noderoot,
    )  # fmt: skip
    return HostEnv(name, root, noderoot, f"{bin_dir(base, name)}:{SYSTEM_PATH}", prefix)


def probe_isolation(sim_dir: Path) -> Isolation | str:
    """Plan the isolation for ``sim_dir`` and try it once (a bind of the directory on
    itself in a new namespace); the isolation, or why commands run without one."""
    if os.environ.get(ISOLATION_ENV, "1").strip() in ("0", "no", "false", "off"):
        return f"{ISOLATION_ENV}={os.environ[ISOLATION_ENV]}"
    unshare = shutil.which("unshare", path=SYSTEM_PATH)
    if unshare is None:
        return "unshare is not installed"
    resolved = str(sim_dir.resolve())
    existing = [p for p in (*BIND_TARGETS, *ALIAS_CANDIDATES) if os.path.isdir(p)]
    plan = plan_isolation(resolved, existing=existing, euid=os.geteuid(), unshare=unshare)
    if isinstance(plan, str):
        return plan
    probe = sim_dir / _HOSTS / "probe.fstab"
    probe.parent.mkdir(parents=True, exist_ok=True)
    probe.write_text(f"{_fstab_field(resolved)} {_fstab_field(resolved)} none bind 0 0\n")
    argv = [*plan.unshare, _SHELL, "-c", _SETUP, "probe", str(probe), "/", "true"]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare failed: {exc}"
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        return f"unshare failed: {reason[-1] if reason else f'exit status {done.returncode}'}"
    return plan


# --- the ip wrapper -----------------------------------------------------------------------


def _interfaces(host: SimHost) -> list[tuple[str, str, int, str]]:
    """(ifname, address, prefix length, broadcast) of the host's simulated interfaces."""

    def entry(ifname: str, address: str, network: tuple[str, str]) -> tuple[str, str, int, str]:
        length = sum(bin(int(o)).count("1") for o in network[1].split("."))
        net = [int(o) for o in network[0].split(".")]
        mask = [int(o) for o in network[1].split(".")]
        brd = ".".join(str(n | (255 ^ m)) for n, m in zip(net, mask, strict=True))
        return ifname, address, length, brd

    if host.role == "sn":
        out = [entry("eth0", host.address, NETWORK_A)]
        if host.b_address:
            out.append(entry("eth1", host.b_address, NETWORK_B))
        return out
    return [entry("eth0", host.address, NETWORK_B)]


_LINK = "<BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000"
_LO = "<LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000"
_LFT = "valid_lft forever preferred_lft forever"


def _ip_outputs(host: SimHost) -> dict[str, str]:
    """The output of ``ip [-4|-6] [-o] addr`` per form key (``4o``, ``4``, ``o``, ``""``, ...)
    and interface, in iproute2's format."""
    ifaces = [(1, "lo", "127.0.0.1", 8, "", "00:00:00:00:00:00")]
    for index, (ifname, address, length, brd) in enumerate(_interfaces(host), start=2):
        ifaces.append((index, ifname, address, length, brd, mac_address(address)))
    out: dict[str, str] = {}
    for family in ("", "4", "6"):
        for oneline in ("", "o"):
            for only in ("", *(i[1] for i in ifaces)):
                lines: list[str] = []
                for index, ifname, address, length, brd, mac in ifaces:
                    if only and ifname != only:
                        continue
                    lo = ifname == "lo"
                    v4 = f"inet {address}/{length}" + ("" if lo else f" brd {brd}")
                    v4 += f" scope {'host' if lo else 'global'} {ifname}"
                    v6 = "inet6 ::1/128 scope host " if lo else ""
                    if oneline:
                        if family != "6":
                            lines.append(f"{index}: {ifname}    {v4}\\       {_LFT}")
                        if family != "4" and v6:
                            lines.append(f"{index}: {ifname}    {v6}\\       {_LFT}")
                        continue
                    if family == "6" and not v6:
                        continue
                    lines.append(f"{index}: {ifname}: {_LO if lo else _LINK}")
                    if not family:
                        kind = "loopback" if lo else "ether"
                        brd_mac = "00:00:00:00:00:00" if lo else "ff:ff:ff:ff:ff:ff"
                        lines.append(f"    link/{kind} {mac} brd {brd_mac}")
                    if family != "6":
                        lines += [f"    {v4}", f"       {_LFT}"]
                    if family != "4" and v6:
                        lines += [f"    {v6}", f"       {_LFT}"]
                out[f"{family}{oneline}:{only}"] = "\n".join(lines)
    return out


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def render_ip_wrapper(host: SimHost) -> str:
    """A POSIX sh ``ip`` for ``host``: ``ip [-4|-6] [-o] addr|a|address [show|list]
    [[dev] IFNAME]`` prints the host's simulated interfaces as iproute2 does; anything
    else is refused (exit 2), so a code path that needs more of ``ip`` shows up in tests."""
    cases = "\n".join(
        f"    {_sh_quote(key)}) printf '%s\\n' {_sh_quote(text)} ;;"
        for key, text in _ip_outputs(host).items()
        if text
    )
    return f"""#!/bin/sh
# The virtual cluster's "ip" on {host.name}: its simulated interfaces, iproute2's format.
family= oneline=
while [ $# -gt 0 ]; do
    case $1 in
    -4) family=4 ;;
    -6) family=6 ;;
    -o|-oneline) oneline=o ;;
    -*) break ;;
    *) break ;;
    esac
    shift
done
case ${{1-}} in a|ad|add|addr|addre|addres|address) shift ;; *) set -- refused ;; esac
case ${{1-}} in show|list|ls|lst) shift ;; esac
[ "${{1-}}" = dev ] && shift
if [ $# -gt 1 ] || [ "${{1-}}" = refused ]; then
    echo "ip: only 'ip [-4|-6] [-o] addr [show [dev IFNAME]]' is simulated on {host.name}" >&2
    exit 2
fi
case "$family$oneline:${{1-}}" in
{cases}
    *:) ;;
    *) echo "Device \\"$1\\" does not exist." >&2; exit 1 ;;
esac
"""
