"""nodeset planning: boot files on every TFTP server of a node's pool, naming that server."""

from __future__ import annotations

import pytest

from snflow.models.bootfiles import BootFiles, plan_bootfiles
from snflow.models.services import (
    Interface,
    Network,
    NodeInfo,
    OsImage,
    ServiceConfigError,
    ServiceHost,
    ServiceState,
    Site,
    make_header,
)

HEADER = make_header("run-9", "nodeset")
IMAGE = "rhels8.8-x86_64-netboot-compute"
NETBOOTS = ("pxe", "xnba", "grub2", "pxe")


def make_state(**site: object) -> ServiceState:
    """sn1, sn2 on network b; cn1-4 pool sn1,sn2, cn5-8 pool sn2,sn1; pxe/xnba/grub2."""
    nodes = []
    for i in range(1, 9):
        pool = ("sn1", "sn2") if i <= 4 else ("sn2", "sn1")
        nodes.append(
            NodeInfo(
                name=f"cn{i}",
                mac=f"02:00:00:00:00:{i:02x}",
                ip=f"127.20.1.{i}",
                servicenode=pool,
                xcatmaster=f"{pool[0]}-b",
                netboot=NETBOOTS[(i - 1) % 4],
                provmethod=IMAGE,
                arch="x86_64",
            )
        )
    hosts = (
        ServiceHost(name="mn", is_mn=True, interfaces=(Interface(address="127.10.0.1"),)),
        *(
            ServiceHost(
                name=f"sn{i}",
                interfaces=(
                    Interface(name=f"sn{i}", address=f"127.10.0.1{i}"),
                    Interface(name=f"sn{i}-b", address=f"127.20.0.{i}"),
                ),
            )
            for i in (1, 2)
        ),
    )
    networks = (
        Network(netname="a", net="127.10.0.0", mask="255.255.0.0"),
        Network(netname="b", net="127.20.0.0", mask="/16"),
    )
    return ServiceState(
        site=Site(master="127.10.0.1", **site), hosts=hosts, networks=networks, nodes=tuple(nodes)
    )


def with_node(state: ServiceState, name: str, **changes: object) -> ServiceState:
    nodes = tuple(
        NodeInfo.model_validate(n.model_dump() | changes) if n.name == name else n
        for n in state.nodes
    )
    return state.model_copy(update={"nodes": nodes})


def plan(state: ServiceState, nodes: list[str], osimage: str | None = None) -> dict[str, BootFiles]:
    return plan_bootfiles(state, nodes, osimage, header=HEADER)


@pytest.mark.parametrize(
    ("node", "files", "symlinks"),
    [
        pytest.param("cn1", ["pxelinux.cfg/cn1"], {"pxelinux.cfg/7F140101": "cn1"}, id="pxe"),
        pytest.param("cn2", ["xcat/xnba/nodes/cn2", "xcat/xnba/nodes/cn2.uefi"], {}, id="xnba"),
        pytest.param(
            "cn3",
            [
                "boot/grub2/cn3",
                "boot/grub2/grub.cfg-01-02-00-00-00-00-03",
                "boot/grub2/grub.cfg-7F140103",
            ],
            {"boot/grub2/grub2-cn3": "grub2.x86_64"},
            id="grub2",
        ),
    ],
)
def test_each_netboot_writes_its_files_on_both_service_nodes_of_the_pool(
    node: str, files: list[str], symlinks: dict[str, str]
) -> None:
    result = plan(make_state(), [node])
    assert sorted(result) == ["sn1", "sn2"]
    for boot in result.values():
        assert list(boot.files) == files
        assert boot.symlinks == symlinks
        assert boot.tftpdir == "/tftpboot"


@pytest.mark.parametrize(
    ("node", "sn", "server"),
    [("cn3", "sn1", "127.20.0.1"), ("cn3", "sn2", "127.20.0.2"), ("cn7", "sn1", "127.20.0.1")],
)
def test_every_copy_names_the_service_node_that_holds_it(node: str, sn: str, server: str) -> None:
    text = plan(make_state(), [node])[sn].files[f"boot/grub2/{node}"]
    assert f"    set root=tftp,{server}\n" in text
    assert f"imgurl=http://{server}:80/install/netboot/rhels8.8/x86_64/compute/" in text
    assert f"XCAT={server}:3001 NODE={node} " in text


@pytest.mark.parametrize("tftpserver", ["sn1-b", "127.20.0.1", "sn1"])
def test_an_explicit_tftpserver_is_named_by_every_copy(tftpserver: str) -> None:
    state = with_node(make_state(), "cn3", tftpserver=tftpserver)
    for boot in plan(state, ["cn3"]).values():
        text = boot.files["boot/grub2/cn3"]
        assert "set root=tftp,127.20.0.1\n" in text
        assert "imgurl=http://127.20.0.1:80/" in text


def test_the_nfsserver_serves_the_image_when_set() -> None:
    state = with_node(make_state(), "cn1", nfsserver="127.20.9.9")
    text = plan(state, ["cn1"])["sn2"].files["pxelinux.cfg/cn1"]
    assert "imgurl=http://127.20.9.9:80/" in text and "XCAT=127.20.0.2:3001" in text


def test_pxelinux_file_reads_as_xcat_writes_it() -> None:
    state = with_node(make_state(), "cn1", serialport="0", serialspeed="115200")
    assert plan(state, ["cn1"])["sn1"].files["pxelinux.cfg/cn1"] == (
        f"#netboot rhels8.8-x86_64-compute\n# {HEADER}\n"
        "DEFAULT xCAT\nLABEL xCAT\n"
        f" KERNEL xcat/osimage/{IMAGE}/kernel\n"
        f" APPEND initrd=xcat/osimage/{IMAGE}/initrd-stateless.gz "
        "imgurl=http://127.20.0.1:80/install/netboot/rhels8.8/x86_64/compute/rootimg.cpio.gz "
        "XCAT=127.20.0.1:3001 NODE=cn1 FC=0 XCATHTTPPORT=80 "
        "console=tty0 console=ttyS0,115200 selinux=0\n"
        "  IPAPPEND 2\n"
    )


def test_xnba_fetches_from_next_server_and_boots_uefi_with_the_stub() -> None:
    files = plan(make_state(), ["cn2"])["sn1"].files
    bios, uefi = files["xcat/xnba/nodes/cn2"], files["xcat/xnba/nodes/cn2.uefi"]
    assert bios.startswith("#!gpxe\n#netboot rhels8.8-x86_64-compute\n")
    kernel = f"imgfetch -n kernel http://${{next-server}}/tftpboot/xcat/osimage/{IMAGE}/kernel\n"
    assert kernel in bios
    assert "BOOTIF=01-${netX/mac:hexhyp}\n" in bios
    assert "BOOTIF=01-${netX/mac:hexhyp} initrd=initrd\n" in uefi


def test_grub2_http_takes_paths_under_the_tftp_root_and_the_http_port() -> None:
    state = with_node(make_state(httpport=8080), "cn3", netboot="grub2-http")
    text = plan(state, ["cn3"])["sn2"].files["boot/grub2/cn3"]
    assert "set root=http,127.20.0.2:8080\n" in text
    assert f"linuxefi /tftpboot/xcat/osimage/{IMAGE}/kernel " in text


@pytest.mark.parametrize(
    ("provmethod", "kernel", "initrd", "argument"),
    [
        ("install", "vmlinuz", "initrd.img", "inst.repo=http://127.20.0.1:80/install/rhels8.8/"),
        ("netboot", "kernel", "initrd-stateless.gz", "imgurl=http://127.20.0.1:80/srv/img/"),
        ("statelite", "kernel", "initrd-statelite.gz", "NFSROOT=127.20.0.1:/srv/img STATEMNT="),
    ],
)
def test_the_image_type_chooses_kernel_initrd_and_command_line(
    provmethod: str, kernel: str, initrd: str, argument: str
) -> None:
    image = OsImage(
        name="myimg",
        provmethod=provmethod,
        os="rhels8.8",
        arch="x86_64",
        profile="compute",
        rootimgdir="/srv/img",
    )
    state = make_state().model_copy(update={"images": (image,)})
    text = plan(state, ["cn1"], "myimg")["sn1"].files["pxelinux.cfg/cn1"]
    assert text.startswith(f"#{provmethod} rhels8.8-x86_64-compute\n")
    assert f" KERNEL xcat/osimage/myimg/{kernel}\n" in text
    assert f"initrd=xcat/osimage/myimg/{initrd} {argument}" in text


def test_osimage_overrides_provmethod() -> None:
    text = plan(make_state(), ["cn1"], "sles15-x86_64-install-compute")["sn1"].files
    assert "xcat/osimage/sles15-x86_64-install-compute/vmlinuz" in text["pxelinux.cfg/cn1"]


def test_aliases_get_their_own_hex_ip_names() -> None:
    state = with_node(
        make_state(),
        "cn1",
        mac="02:00:00:00:00:01|02:00:00:00:0a:01!cn1-ib",
        aliases={"cn1-ib": "127.20.2.1"},
    )
    assert plan(state, ["cn1"])["sn1"].symlinks == {
        "pxelinux.cfg/7F140101": "cn1",
        "pxelinux.cfg/7F140201": "cn1",
    }


def test_a_service_node_without_the_tftp_role_gets_nothing() -> None:
    state = make_state()
    hosts = tuple(h.model_copy(update={"tftpserver": h.name == "sn1"}) for h in state.hosts)
    assert sorted(plan(state.model_copy(update={"hosts": hosts}), ["cn5"])) == ["sn1"]


@pytest.mark.parametrize(
    ("changes", "osimage", "message"),
    [
        pytest.param(
            {"provmethod": ""},
            None,
            "cn1: no osimage given and nodetype.provmethod is not set",
            id="no-image",
        ),
        pytest.param(
            {},
            "netboot",
            'cn1: The options "install", "netboot", and "statelite" have been '
            'deprecated, use "osimage=<osimage_name>" instead.',
            id="deprecated-word",
        ),
        pytest.param({}, "myimage", "cn1: unknown osimage 'myimage'", id="unknown-image"),
        pytest.param(
            {"netboot": ""},
            None,
            "cn1: Unable to identify plugin for this command, check "
            "relevant tables: noderes.netboot",
            id="no-netboot",
        ),
        pytest.param(
            {"netboot": "yaboot"},
            None,
            "cn1: netboot 'yaboot' is not supported (pxe, xnba, grub2)",
            id="unsupported-netboot",
        ),
        pytest.param(
            {"ip": "10.1.1.1"},
            None,
            "cn1: 10.1.1.1 is on no network that sn1 serves",
            id="off-network",
        ),
        pytest.param(
            {"mac": ""}, None, "cn1: no MAC address, needed for its boot files", id="no-mac"
        ),
        pytest.param(
            {"netboot": "grub2", "arch": ""},
            "myimage-x",
            "cn1: unknown osimage 'myimage-x'",
            id="grub2-unknown-image",
        ),
    ],
)
def test_bad_node_data_is_a_clear_error(
    changes: dict[str, str], osimage: str | None, message: str
) -> None:
    with pytest.raises(ServiceConfigError) as caught:
        plan(with_node(make_state(), "cn1", **changes), ["cn1", "cn2"], osimage)
    assert message in caught.value.problems


def test_rendering_is_deterministic_and_every_file_carries_the_header() -> None:
    state = make_state()
    names = [f"cn{i}" for i in range(8, 0, -1)]
    first = plan(state, names)
    assert first == plan(state.model_copy(update={"nodes": tuple(reversed(state.nodes))}), names)
    for boot in first.values():
        assert list(boot.files) == sorted(boot.files)
        for text in boot.files.values():
            assert f"# {HEADER}\n" in text


def test_two_nodes_needing_the_same_file_name_is_an_error() -> None:
    state = with_node(make_state(), "cn4", ip="127.20.1.1")
    with pytest.raises(ServiceConfigError) as caught:
        plan(state, ["cn1", "cn4"])
    assert "cn1 and cn4 both need pxelinux.cfg/7F140101 on sn1" in caught.value.problems
