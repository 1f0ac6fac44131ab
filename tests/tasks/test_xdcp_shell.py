"""xdcp's shell, run for real with ``/bin/sh`` on directories standing for hosts.

The service node's side (:func:`stage_command`, :func:`deliver_command` with the delivery
scripts) runs with ``NODEROOT`` = a directory standing for the SN; its ssh is a fake that
runs the node command with ``NODEROOT`` = the node's directory (or fails like ssh for nodes
called ``down*``); a node's directory starts with ``tmp/``. Every command starts with
``cd "${NODEROOT:-}/"``, so ``NODEROOT`` is always set here: nothing can touch this
machine's files.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
from io import BytesIO
from pathlib import Path

import pytest

from snflow.models.synclist import parse_synclist
from snflow.models.xdcp import LocalItem, XdcpPlan, XdcpRequest, plan_xdcp
from snflow.models.xdcp_shell import (
    deliver_command,
    parse_deliveries,
    pull_command,
    stage_command,
)
from snflow.tasks.xdcp_files import control_tar, inventory, payload_tar, staging_tar

SYNCDIR = "/var/xcat/syncfiles"
FAKE_SSH = """#!/bin/sh
while [ $# -gt 2 ]; do shift; done
case $1 in down*) echo "ssh: connect to host $1 port 22: Connection refused" >&2; exit 255;; esac
mkdir -p "$FAKE_BASE/$1/tmp"
NODEROOT="$FAKE_BASE/$1" NODE=$1 exec /bin/sh -c "$2"
"""


def sh(command: str, root: Path, stdin: bytes = b"", **env: str) -> subprocess.CompletedProcess:
    assert str(root) not in ("", "/") and root.is_dir()
    return subprocess.run(
        ["/bin/sh", "-c", command],
        input=stdin,
        capture_output=True,
        env={"PATH": os.environ["PATH"], "NODEROOT": str(root), **env},
        check=False,
        timeout=60,
    )


class Bed:
    """An SN directory, node directories under ``nodes/``, sources under ``src/``."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.sn = tmp / "sn"
        self.nodes = tmp / "nodes"
        self.src = tmp / "src"
        for path in (self.sn, self.nodes, self.src):
            path.mkdir()
        self.ssh = tmp / "fake-ssh"
        self.ssh.write_text(FAKE_SSH)

    def file(self, name: str, text: str, mode: int = 0o644) -> str:
        path = self.src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
        return str(path)

    def node(self, name: str) -> Path:
        return self.nodes / name

    def run(self, plan: XdcpPlan, request: XdcpRequest, syncdir: str = SYNCDIR, **extra: str):
        staged = sh(stage_command(syncdir), self.sn, staging_tar(plan.staged))
        assert staged.returncode == 0, staged.stderr
        config = {"mode": "pull" if request.pull else "push", "marker": "M", "fanout": "4",
                  "limit": "", "ssh_command": f"sh {self.ssh}", "ssh_options": "-l root",
                  **extra}  # fmt: skip
        control = control_tar(plan.groups, config, push=not request.pull)
        done = sh(deliver_command(syncdir), self.sn, control, FAKE_BASE=str(self.nodes))
        assert not list((self.sn / syncdir.strip("/")).glob(".snflow-xdcp.*"))  # cleaned up
        return done, parse_deliveries(done.stdout.decode(), "M")


@pytest.fixture
def bed(tmp_path: Path) -> Bed:
    return Bed(tmp_path)


def plain(bed: Bed, nodes: list[str], sources: list[str], target: str, **options: object):
    request = XdcpRequest(noderange="x", sources=tuple(sources), target=target, **options)
    found = inventory(sources)
    plan = plan_xdcp(request, nodes=dict.fromkeys(nodes, ("sn",)), inventory=found)
    return bed.run(plan, request)


def test_a_file_is_staged_at_its_source_path_and_delivered_with_its_mode(bed: Bed) -> None:
    src = bed.file("lissa/file1", "hello\n", 0o640)
    done, results = plain(bed, ["cn1", "cn2"], [src], "/tmp/file1")
    assert done.returncode == 0, done.stderr
    assert {n: r.status for n, r in results.items()} == {"cn1": 0, "cn2": 0}
    staged = bed.sn / SYNCDIR.strip("/") / src.strip("/")
    assert staged.read_text() == "hello\n"
    for node in ("cn1", "cn2"):
        copy = bed.node(node) / "tmp" / "file1"
        assert copy.read_text() == "hello\n"
        assert copy.stat().st_mode & 0o777 == 0o640


def test_an_existing_directory_target_receives_the_file_under_its_own_name(bed: Bed) -> None:
    src = bed.file("hosts", "h\n")
    (bed.node("cn1") / "tmp" / "d").mkdir(parents=True)
    _, results = plain(bed, ["cn1"], [src], "/tmp/d")
    assert results["cn1"].status == 0
    assert (bed.node("cn1") / "tmp" / "d" / "hosts").read_text() == "h\n"


def test_a_renamed_copy_replaces_only_its_target(bed: Bed) -> None:
    src = bed.file("hosts", "new\n")
    (bed.node("cn1") / "tmp").mkdir(parents=True)
    (bed.node("cn1") / "tmp" / "hosts").write_text("untouched\n")
    _, results = plain(bed, ["cn1"], [src], "/tmp/hosts.copy")
    assert results["cn1"].status == 0
    assert (bed.node("cn1") / "tmp" / "hosts.copy").read_text() == "new\n"
    assert (bed.node("cn1") / "tmp" / "hosts").read_text() == "untouched\n"
    assert sorted(p.name for p in (bed.node("cn1") / "tmp").iterdir()) == ["hosts", "hosts.copy"]


def test_a_missing_directory_and_a_non_directory_target_are_node_errors(bed: Bed) -> None:
    a, b = bed.file("a", "a"), bed.file("b", "b")
    _, results = plain(bed, ["cn1"], [a], "/no/such/file")
    assert results["cn1"].status == 1
    assert results["cn1"].output.strip() == "/no/such: No such directory"
    _, results = plain(bed, ["cn1"], [a, b], "/tmp/x")
    assert (results["cn1"].status, results["cn1"].output.strip()) == (1, "/tmp/x: Not a directory")


def test_modification_times_are_kept_only_with_p(bed: Bed) -> None:
    src = bed.file("t", "t")
    os.utime(src, (1_000_000_000, 1_000_000_000))
    plain(bed, ["cn1"], [src], "/tmp/kept", preserve=True)
    plain(bed, ["cn1"], [src], "/tmp/now")
    assert (bed.node("cn1") / "tmp" / "kept").stat().st_mtime == 1_000_000_000
    assert (bed.node("cn1") / "tmp" / "now").stat().st_mtime > 1_000_000_000


def test_a_tree_is_copied_with_r_and_an_unreachable_node_fails_alone(bed: Bed) -> None:
    for i in range(200):
        bed.file(f"tree/d{i % 7}/f{i}", f"{i}\n", 0o600 if i % 2 else 0o644)
    (bed.node("cn1") / "opt").mkdir(parents=True)
    (bed.node("down1") / "opt").mkdir(parents=True)
    _, results = plain(bed, ["cn1", "down1"], [str(bed.src / "tree")], "/opt", recursive=True)
    assert results["cn1"].status == 0 and results["down1"].status == 255
    assert "Connection refused" in results["down1"].output
    copied = sorted(p for p in (bed.node("cn1") / "opt" / "tree").rglob("*") if p.is_file())
    assert len(copied) == 200
    assert (bed.node("cn1") / "opt/tree/d3/f3").stat().st_mode & 0o777 == 0o600


def synced(bed: Bed, text: str, nodes: list[str], filters: dict | None = None):
    path = bed.file("synclist", text)
    synclist = parse_synclist(text)
    request = XdcpRequest(noderange="x", synclist=path)
    found = inventory([*synclist.sources(), path], contents=True)
    plan = plan_xdcp(request, nodes=dict.fromkeys(nodes, ("sn",)), inventory=found,
                     synclist=synclist, filters=filters or {}, run_name="t1")  # fmt: skip
    return bed.run(plan, request)


def test_a_synclist_syncs_renames_filters_and_runs_its_clauses(bed: Bed) -> None:
    s = bed.src
    bed.file("hosts", "10.0.0.1 mn\n")
    bed.file("hosts.post", '#!/bin/sh\necho post ran >> "$NODEROOT/var/post.log"\n')
    bed.file("always", "#!/bin/sh\necho always on $NODE\n")
    bed.file("add", "appended\n")
    bed.file("passwd.add", "alice:x:1001:1001::/home/alice:/bin/sh\nroot:x:0:0:new:/root:/bin/sh\n")
    bed.file("conf/a.conf", "a")
    bed.file("conf/b.conf", "b")
    for node in ("cn1", "cn2"):
        (bed.node(node) / "etc").mkdir(parents=True)
        (bed.node(node) / "etc" / "motd").write_text("welcome\n")
        (bed.node(node) / "etc" / "passwd").write_text(
            "root:x:0:0:root:/root:/bin/bash\nbob:x:1:1::/:/bin/sh\n"
        )
    text = (
        f"{s}/hosts -> /etc/hosts\n{s}/hosts.post -> /tmp/hosts.post\n"
        f"{s}/conf/*.conf -> (cn2) /opt/conf/\n{s}/hosts -> /etc/hosts.copy\n"
        f"APPEND:\n{s}/add -> /etc/motd\nMERGE:\n{s}/passwd.add -> /etc/passwd\n"
        f"EXECUTE:\n{s}/hosts.post\nEXECUTEALWAYS:\n{s}/always\n"
    )
    for _ in range(2):  # the second run changes nothing and runs only EXECUTEALWAYS
        done, results = synced(bed, text, ["cn1", "cn2"], {2: frozenset({"cn2"})})
        assert {n: r.status for n, r in results.items()} == {"cn1": 0, "cn2": 0}, done
        assert results["cn1"].output.strip() == "always on cn1"
    for node in ("cn1", "cn2"):
        root = bed.node(node)
        assert (root / "etc/hosts").read_text() == (root / "etc/hosts.copy").read_text()
        assert (root / "etc/motd").read_text() == "welcome\nappended\n"
        assert (root / "var/xcat/node/syncfiles/org/etc/motd").read_text() == "welcome\n"
        assert (root / "etc/passwd").read_text() == (
            "root:x:0:0:new:/root:/bin/sh\nbob:x:1:1::/:/bin/sh\n"
            "alice:x:1001:1001::/home/alice:/bin/sh\n"
        )
        assert (root / "var/post.log").read_text() == "post ran\n"
        assert (root / "tmp/hosts.post").stat().st_mode & 0o777 == 0o644
        assert not list((root / "tmp").glob(".snflow-xdcp-*"))
    assert not (bed.node("cn1") / "opt").exists()
    assert sorted(p.name for p in (bed.node("cn2") / "opt/conf").iterdir()) == ["a.conf", "b.conf"]
    staged = bed.sn / SYNCDIR.strip("/")
    assert (staged / str(s / "synclist").strip("/")).read_text() == text
    bed.file("hosts", "10.0.0.2 mn\n")  # changed: EXECUTE runs again
    synced(bed, text, ["cn1"])
    assert (bed.node("cn1") / "var/post.log").read_text() == "post ran\npost ran\n"


def test_a_node_that_takes_too_long_is_stopped_by_the_limit(bed: Bed) -> None:
    bed.file("slow", "#!/bin/sh\nsleep 30\n")
    text = f"{bed.src}/slow -> /tmp/slow\nEXECUTEALWAYS:\n{bed.src}/slow\n"
    path = bed.file("synclist", text)
    synclist = parse_synclist(text)
    request = XdcpRequest(noderange="x", synclist=path, timeout=1)
    found = inventory([*synclist.sources(), path], contents=True)
    plan = plan_xdcp(request, nodes={"cn1": ("sn",)}, inventory=found, synclist=synclist)
    _, results = bed.run(plan, request, limit="1")
    assert results["cn1"].status == 124


def test_staging_in_the_root_puts_files_at_their_own_paths_on_the_sn(bed: Bed) -> None:
    src = bed.file("etc/hosts", "h\n")
    request = XdcpRequest(noderange="x", sources=(src,), target="/tmp/hosts")
    plan = plan_xdcp(request, nodes={"cn1": ("sn",)}, inventory=inventory([src]))
    _, results = bed.run(plan, request, syncdir="/")
    assert results["cn1"].status == 0
    assert (bed.sn / src.strip("/")).read_text() == "h\n"
    assert (bed.node("cn1") / "tmp/hosts").read_text() == "h\n"


def test_a_pull_lands_on_the_sn_as_name_dot_underscore_node(bed: Bed) -> None:
    for node in ("cn1", "cn2"):
        (bed.node(node) / "var/log").mkdir(parents=True)
        (bed.node(node) / "var/log/messages").write_text(f"log of {node}\n")
    request = XdcpRequest(noderange="x", sources=("/var/log/messages",), target="/tmp/logs",
                          pull=True)  # fmt: skip
    from snflow.models.xdcp import DeliveryGroup

    group = DeliveryGroup(name="g1", nodes=("cn1", "cn2"), placements=(),
                          command=pull_command("/var/log/messages"))  # fmt: skip
    plan = XdcpPlan(staged=(), service_nodes=("sn",), groups=(group,))
    extra = {"pull_dir": "/tmp/logs", "pull_member": "./var/log/messages", "pull_name": "messages"}
    done, _ = bed.run(plan, request, **extra)
    assert done.returncode == 3
    assert b"Cannot copy to target /tmp/logs. Directory does not exist." in done.stderr
    (bed.sn / "tmp/logs").mkdir(parents=True)
    _, results = bed.run(plan, request, **extra)
    assert {n: r.status for n, r in results.items()} == {"cn1": 0, "cn2": 0}
    for node in ("cn1", "cn2"):
        assert (bed.sn / f"tmp/logs/messages._{node}").read_text() == f"log of {node}\n"


def test_the_direct_payload_holds_the_files_under_their_node_names(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("a")
    items = {"/x": (LocalItem(path=str(tmp_path / "a"), kind="file"),)}
    request = XdcpRequest(noderange="x", sources=("/x",), target="/etc/b")
    plan = plan_xdcp(request, nodes={"cn9": ()}, inventory=items)
    with tarfile.open(fileobj=BytesIO(payload_tar(plan.groups[0].placements))) as tar:
        assert tar.getnames() == ["a"]
