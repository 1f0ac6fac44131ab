"""What each bed host runs, and the files its daemons start from.

Every host runs OpenSSH's sshd (started by the bed, in the foreground) on the address the MN
knows it by. A service node has *services* on its network "b" interface (``eth1``), the
MN on its network "a" interface (it serves the SNs, as in xCAT): ISC dhcpd, tftpd-hpa,
conserver, and Kea (installed, not started). Each is driven by a
small init script in the SN's own ``/etc/init.d`` (``start|stop|restart|reload|status``, as
Debian's ``service`` would call it; the machine's init scripts are never used): the daemon
runs in the foreground of a background job, its PID in ``/var/run/<service>.pid``, its output
in ``/var/log/<service>.log``, and ``start`` returns once it listens, or fails with the log.
snflow's reload settings point there (:data:`SERVICE_SETTINGS`): data, not code.

The start files are a freshly installed SN's: dhcpd serving network "b" without host entries
(as after ``makedhcp -n``), an empty ``/tftpboot``, a conserver with one site console that is
not xCAT's (``makeconservercf`` keeps it).
"""

from __future__ import annotations

import shlex

from pydantic import BaseModel, ConfigDict

from .plan import NET_A, NET_B, BedHost, Link

__all__ = ["SERVICE_SETTINGS", "Service", "init_script", "services_of", "sshd_argv", "start_files"]

CONSERVER_PORT = 782
DHCPD_INCLUDE = "/etc/dhcp/snflow.conf"
KEA_CONF = "/etc/kea/kea-dhcp4.conf"

#: Boot loaders under /tftpboot that DHCP answers name (nodeset writes only their
#: configuration; ``boot/grub2/grub2-<node>`` links to ``grub2.x86_64``).
LOADERS = ("pxelinux.0", "xcat/xnba.kpxe", "xcat/xnba.efi", "boot/grub2/grub2.x86_64")

#: ``settings.env`` lines of the bed's MN: how snflow reloads the SNs' daemons.
SERVICE_SETTINGS = {
    "SNFLOW_SERVICES_DHCPD_RELOAD": "/etc/init.d/isc-dhcp-server restart",
    "SNFLOW_SERVICES_KEA_RELOAD": "/etc/init.d/kea-dhcp4-server reload",
    "SNFLOW_SERVICES_CONSERVER_RELOAD": "/etc/init.d/conserver-server reload",
    "SNFLOW_SERVICES_CONSERVER_STOP": "/etc/init.d/conserver-server stop",
}


class Service(BaseModel):
    """One daemon of a service node, run by its init script."""

    model_config = ConfigDict(frozen=True)

    name: str  # the init script: isc-dhcp-server
    argv: tuple[str, ...]  # the daemon in the foreground
    #: ("tcp"|"udp", port) it listens on once ready.
    listens: tuple[str, int]
    autostart: bool = True


def sshd_argv() -> tuple[str, ...]:
    return ("/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/sshd_config")


def services_of(host: BedHost) -> list[Service]:
    """The services of ``host`` in start order: an SN serves network "b", the MN network
    "a" (its DHCP entries are the SNs'); a CN has none."""
    if host.role == "cn":
        return []
    b = _served(host)
    return [
        Service(
            name="isc-dhcp-server",
            argv=(
                "/usr/sbin/dhcpd", "-d", "-4", "-cf", "/etc/dhcp/dhcpd.conf",
                "-lf", "/var/lib/dhcp/dhcpd.leases", "-pf", "/var/run/dhcpd.pid", b.ifname,
            ),
            listens=("udp", 67),
        ),
        Service(
            name="kea-dhcp4-server",
            argv=(
                "env", "KEA_PIDFILE_DIR=/var/run/kea", "KEA_LOCKFILE_DIR=/var/run/kea",
                "/usr/sbin/kea-dhcp4", "-c", KEA_CONF,
            ),
            listens=("udp", 67),
            autostart=False,
        ),
        Service(
            name="tftpd-hpa",
            argv=(
                "/usr/sbin/in.tftpd", "--listen", "--foreground", "--verbose", "--secure",
                "--user", "tftp", "--address", f"{b.address}:69", "/tftpboot",
            ),
            listens=("udp", 69),
        ),
        Service(
            name="conserver-server",
            argv=(
                "/usr/sbin/conserver", "-C", "/etc/conserver.cf", "-M", b.address,
                "-p", str(CONSERVER_PORT),
            ),
            listens=("tcp", CONSERVER_PORT),
        ),
    ]  # fmt: skip


_INIT = """\
#!/bin/sh
# {name}: the bed's init script (start|stop|restart|reload|status).
NAME={name}
PIDFILE=/var/run/$NAME.pid
LOG=/var/log/$NAME.log

running() {{
    [ -s "$PIDFILE" ] && pid=$(cat "$PIDFILE") && kill -0 "$pid" 2>/dev/null
}}

listening() {{
    [ -n "$(ss -Hln{flag} 'sport = :{port}' 2>/dev/null)" ]
}}

start() {{
    running && return 0
    setsid {argv} >>"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    pid=$!
    tries=0
    until listening; do
        if ! kill -0 "$pid" 2>/dev/null || [ "$tries" -ge 400 ]; then
            echo "$NAME did not start:" >&2
            tail -n 20 "$LOG" >&2
            stop
            return 1
        fi
        tries=$((tries + 1))
        sleep 0.025
    done
}}

stop() {{
    running || {{ rm -f "$PIDFILE"; return 0; }}
    kill "$pid"
    tries=0
    while kill -0 "$pid" 2>/dev/null; do
        [ "$tries" -eq 200 ] && kill -9 "$pid"
        tries=$((tries + 1))
        sleep 0.025
    done
    rm -f "$PIDFILE"
}}

case "$1" in
    start) start ;;
    stop) stop ;;
    restart) stop && start ;;
    reload) if running; then kill -HUP "$pid"; else start; fi ;;
    status) running ;;
    *) echo "usage: $0 start|stop|restart|reload|status" >&2; exit 2 ;;
esac
"""


def _served(host: BedHost) -> Link:
    """The link a service host serves: "b" for an SN, "a" for the MN."""
    return host.link("b" if host.role == "sn" else "a")


def init_script(service: Service) -> str:
    proto, port = service.listens
    return _INIT.format(
        name=service.name,
        argv=shlex.join(service.argv),
        flag="u" if proto == "udp" else "t",
        port=port,
    )


def start_files(host: BedHost) -> dict[str, str]:
    """Files (absolute path on the host -> text) a host starts with, beyond accounts and
    sshd (:mod:`.hostfs`)."""
    if host.role == "cn":
        primary = host.gateway or ""
        return {  # as installed from its primary SN
            "/etc/resolv.conf": f"search cluster.snflow\nnameserver {primary}\n",
            "/opt/xcat/xcatinfo": f"XCATSERVER={primary}\n",
            "/etc/rsyslog.d/remote.conf": (
                "# xCAT settings START\n# Entries between the START and END lines will be "
                "replaced on the next xCAT install or update\n"
                f"*.* @{primary}\n# xCAT settings END\n"
            ),
            "/etc/chrony/chrony.conf": f"server {primary} iburst\n",
        }
    if host.role not in ("mn", "sn"):
        return {}
    b = _served(host)
    net = NET_B if b.network == "b" else NET_A
    files = {
        "/etc/dhcp/dhcpd.conf": (
            "# bed start file: dhcpd reads snflow's file\n"
            f'authoritative;\nddns-update-style none;\ninclude "{DHCPD_INCLUDE}";\n'
        ),
        DHCPD_INCLUDE: (
            f'# bed start file: network "{b.network}" without host entries (as after makedhcp -n)\n'
            f"subnet {net.network_address} netmask {net.netmask} {{\n}}\n"
        ),
        "/var/lib/dhcp/dhcpd.leases": "",
        "/var/run/kea/.keep": "",
        "/var/lib/kea/.keep": "",
        "/etc/conserver.cf": (
            "# bed start file: one site console that is not xCAT's\n"
            "access * {\n  trusted 127.0.0.1;\n}\n"
            "default * {\n  rw *;\n  master localhost;\n}\n"
            f"console bed-{host.name} {{\n  type exec;\n  exec /bin/cat;\n"
            f"  master {b.address};\n  options ondemand;\n}}\n"
        ),
        "/etc/conserver.passwd": "",
        "/var/log/consoles/.keep": "",
    }
    for loader in LOADERS:  # what xCAT's packages install in the TFTP root
        files[f"/tftpboot/{loader}"] = f"bed placeholder of the boot loader {loader}\n"
    for service in services_of(host):
        files[f"/etc/init.d/{service.name}"] = init_script(service)
    return files
