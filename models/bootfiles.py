"""nodeset, planned: the network-boot files of each node on every TFTP server of its pool.

:func:`plan_bootfiles` writes what xCAT's ``pxe``, ``xnba`` and ``grub2`` plugins write
(``boot-and-postscripts.md`` §1) for an ``osimage`` (``nodetype.provmethod`` or the one
given), on every TFTP service node of the node's ``servicenode`` pool (the management
node for a node without one), design decision 11. File names and contents:

* pxe: ``pxelinux.cfg/<node>``, symlinks ``pxelinux.cfg/<HEXIP>`` -> ``<node>``;
* xnba: ``xcat/xnba/nodes/<node>`` and ``<node>.uefi`` (iPXE scripts; the kernel and
  initrd are fetched from ``${next-server}``, which DHCP sets);
* grub2 (``grub2``, ``grub2-tftp``, ``grub2-http``): ``boot/grub2/<node>``, copies
  ``grub.cfg-<HEXIP>`` and ``grub.cfg-01-<mac>`` (xCAT hard-links them), symlink
  ``grub2-<node>`` -> ``grub2.<arch>`` (the loader DHCP names).

The server a copy names (grub2 ``set root``, ``imgurl``/``inst.repo`` host) is
``noderes.nfsserver``/``tftpserver`` when set and not ``<xcatmaster>``, else the writing
host's own address on the node's network; ``XCAT=`` (xcatd) is always that address. So the
backup's copy already names the backup. The kernel is assumed to carry an EFI stub (the
``.uefi`` script boots it directly; xCAT reads the kernel to decide). Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from snflow.models.natsort import natural_key
from snflow.models.services import (
    Facing,
    NodeInfo,
    OsImage,
    ServiceConfigError,
    ServiceState,
    check_header,
    facing,
    hex_ip,
    parse_macs,
    pool_hosts,
    server_address,
)

__all__ = ["BootFiles", "plan_bootfiles"]

_IMAGE_NAME = re.compile(
    r"^(?P<os>.+)-(?P<arch>[^-]+)-(?P<pm>install|netboot|statelite)-(?P<p>.+)$"
)
_NETBOOTS = ("pxe", "xnba", "grub2", "grub2-tftp", "grub2-http")
_FILES = {
    "install": ("vmlinuz", "initrd.img"),
    "netboot": ("kernel", "initrd-stateless.gz"),
    "statelite": ("kernel", "initrd-statelite.gz"),
}


class BootFiles(BaseModel):
    """The boot files one TFTP host holds for the planned nodes.

    ``files`` and ``symlinks`` are keyed by path relative to ``tftpdir``; a symlink's
    target is relative to the link's directory.
    """

    model_config = ConfigDict(frozen=True)

    host: str
    tftpdir: str
    files: dict[str, str]
    symlinks: dict[str, str]


def plan_bootfiles(
    state: ServiceState, nodes: Sequence[str], osimage: str | None = None, *, header: str
) -> dict[str, BootFiles]:
    """The boot files of ``nodes`` for each TFTP host, by MN-facing host name.

    ``osimage`` overrides every node's ``provmethod``. ``header`` is the one-line header
    (:func:`~snflow.models.services.make_header`) each file carries as a comment. Every
    problem is collected and raised as one :class:`ServiceConfigError`.
    """
    header = check_header(header)
    problems: list[str] = []
    known = state.node_map()
    files: dict[str, dict[str, str]] = {}
    links: dict[str, dict[str, str]] = {}
    owner: dict[tuple[str, str], str] = {}  # (host, path) -> node
    for name in sorted(set(nodes), key=natural_key):
        node = known.get(name)
        if node is None:
            problems.append(f"{name}: unknown node")
            continue
        image = _image(state, node, osimage, problems)
        if not node.ip.strip() or not node.mac.strip():
            what = "IP address (hosts table)" if not node.ip.strip() else "MAC address"
            problems.append(f"{name}: no {what}, needed for its boot files")
            continue
        netboot = node.netboot.strip()
        if not netboot:
            problems.append(
                f"{name}: Unable to identify plugin for this command, "
                "check relevant tables: noderes.netboot"
            )
        elif netboot not in _NETBOOTS:
            problems.append(f"{name}: netboot {netboot!r} is not supported (pxe, xnba, grub2)")
        if netboot.startswith("grub2") and not ((image.arch if image else "") or node.arch):
            problems.append(f"{name}: no arch (nodetype.arch) to choose the grub2 loader")
        hosts, found = pool_hosts(state, node, "tftpserver")
        problems.extend(found)
        for host in hosts:
            here = facing(state, host, node.ip)
            if here is None:
                problems.append(f"{name}: {node.ip} is on no network that {host.name} serves")
            elif image is not None and netboot in _NETBOOTS:
                mine = _node_files(state, node, image, here, header, problems)
                for path in [*mine[0], *mine[1]]:
                    other = owner.setdefault((host.name, path), name)
                    if other != name:
                        problems.append(f"{other} and {name} both need {path} on {host.name}")
                files.setdefault(host.name, {}).update(mine[0])
                links.setdefault(host.name, {}).update(mine[1])
    ServiceConfigError.raise_if_any(problems)
    return {
        host: BootFiles(
            host=host,
            tftpdir=state.site.tftpdir,
            files=dict(sorted(files[host].items())),
            symlinks=dict(sorted(links.get(host, {}).items())),
        )
        for host in sorted(files, key=natural_key)
    }


def _image(
    state: ServiceState, node: NodeInfo, osimage: str | None, problems: list[str]
) -> OsImage | None:
    """The node's image: defined in the state, else read from its name (os-arch-type-profile)."""
    name = (osimage or node.provmethod).strip()
    if not name:
        problems.append(f"{node.name}: no osimage given and nodetype.provmethod is not set")
        return None
    if name in _FILES:
        problems.append(
            f'{node.name}: The options "install", "netboot", and "statelite" have been '
            'deprecated, use "osimage=<osimage_name>" instead.'
        )
        return None
    for image in state.images:
        if image.name == name:
            return image
    match = _IMAGE_NAME.match(name)
    if match is None:
        problems.append(f"{node.name}: unknown osimage {name!r}")
        return None
    return OsImage(
        name=name, provmethod=match["pm"], os=match["os"], arch=match["arch"], profile=match["p"]
    )


def _node_files(
    state: ServiceState,
    node: NodeInfo,
    image: OsImage,
    here: Facing,
    header: str,
    problems: list[str],
) -> tuple[dict[str, str], dict[str, str]]:
    """One node's files and symlinks on the host that meets it at ``here``."""
    site = state.site
    tftp, bad = server_address(state, node, node.tftpserver, here, "tftpserver")
    problems.extend([bad] if bad else [])
    images = node.nfsserver if node.nfsserver.strip() not in ("", "<xcatmaster>") else tftp
    imgsrv, bad = server_address(state, node, images, here, "nfsserver")
    problems.extend([bad] if bad else [])
    os, arch, profile = image.os or node.os, image.arch or node.arch, image.profile or node.profile
    state_line = f"#{image.provmethod} {os}-{arch}-{profile}"
    kernel, initrd = (f"xcat/osimage/{image.name}/{f}" for f in _FILES[image.provmethod])
    port = site.httpport
    rootimgdir = image.rootimgdir.rstrip("/") or f"/install/netboot/{os}/{arch}/{profile}"
    master = f"XCAT={here.address}:{site.xcatdport} NODE={node.name} FC=0 XCATHTTPPORT={port}"
    if image.provmethod == "install":
        repo = f"http://{imgsrv}:{port}/install"
        args = f"inst.repo={repo}/{os}/{arch} inst.ks={repo}/autoinst/{node.name} ip=dhcp"
    elif image.provmethod == "netboot":
        args = f"imgurl=http://{imgsrv}:{port}{rootimgdir}/rootimg.cpio.gz {master}"
    else:
        args = f"NFSROOT={imgsrv}:{rootimgdir} STATEMNT= {master}"
    if node.serialport.strip():
        speed = f",{node.serialspeed.strip()}" if node.serialspeed.strip() else ""
        args += f" console=tty0 console=ttyS{node.serialport.strip()}{speed}"
    if image.provmethod != "install" and re.match(r"^rhels(7|8|9|10)", os):
        args += " selinux=0"
    ips = [node.ip, *(ip for ip in node.aliases.values() if ip)]
    macs = parse_macs(node.name, node.mac)
    problems.extend(macs[1])
    head = f"{state_line}\n# {header}\n"
    netboot = node.netboot.strip()
    if netboot == "pxe":
        text = (
            f"{head}DEFAULT xCAT\nLABEL xCAT\n KERNEL {kernel}\n"
            f" APPEND initrd={initrd} {args}\n  IPAPPEND 2\n"
        )
        links = {f"pxelinux.cfg/{hex_ip(ip)}": node.name for ip in ips}
        return {f"pxelinux.cfg/{node.name}": text}, links
    if netboot == "xnba":
        url = "http://${next-server}" + ("" if port == 80 else f":{port}") + "/tftpboot"
        bootif = "BOOTIF=01-${netX/mac:hexhyp}"
        script = (
            f"#!gpxe\n{head}imgfetch -n kernel {url}/{kernel}\nimgload kernel\n"
            f"imgargs kernel {args} {bootif}@EFI@\n"
            f"imgfetch -n initrd {url}/{initrd}\nimgexec kernel\n"
        )
        base = f"xcat/xnba/nodes/{node.name}"
        return {
            base: script.replace("@EFI@", ""),
            f"{base}.uefi": script.replace("@EFI@", " initrd=initrd"),
        }, {}
    proto = "http" if netboot == "grub2-http" else "tftp"
    root = f"{tftp}:{port}" if proto == "http" and port != 80 else tftp
    prefix = site.tftpdir.rstrip("/") + "/" if proto == "http" else "/"
    efi = "efi" if re.search("x86", arch, re.IGNORECASE) else ""
    text = (
        f'{head}set timeout=5\nset default="xCAT OS Deployment"\n'
        'menuentry "xCAT OS Deployment" {\n    insmod http\n    insmod tftp\n'
        f"    set root={proto},{root}\n    echo Loading Install kernel ...\n"
        f"    linux{efi} {prefix}{kernel} {args} BOOTIF=$net_default_mac\n"
        f"    echo Loading initial ramdisk ...\n    initrd{efi} {prefix}{initrd}\n}}\n"
    )
    names = [node.name, *(f"grub.cfg-{hex_ip(ip)}" for ip in ips)]
    plain = [m for m in macs[0] if not m.alias] or macs[0]
    if plain:
        names.append(f"grub.cfg-01-{plain[0].mac.replace(':', '-')}")
    loader = "grub2.ppc" if arch.startswith("ppc64") else f"grub2.{arch}"
    links = {f"boot/grub2/grub2-{node.name}": loader}
    return {f"boot/grub2/{name}": text for name in names}, links
