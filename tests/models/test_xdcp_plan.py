"""xdcp's pure planning: the request's rules, what is staged, what each node group gets,
and xCAT's messages."""

from __future__ import annotations

import doctest

import pytest

from snflow.models import xdcp, xdcp_report, xdcp_shell
from snflow.models.synclist import SynclistError, parse_synclist
from snflow.models.xdcp import LocalItem, XdcpRequest, plan_xdcp
from snflow.models.xdcp_report import StagingResult, XdcpNodeResult, XdcpReport


@pytest.mark.parametrize("module", [xdcp, xdcp_report, xdcp_shell])
def test_docstring_examples_hold(module: object) -> None:
    assert doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


def f(path: str) -> tuple[LocalItem, ...]:
    return (LocalItem(path=path, kind="file"),)


def d(path: str) -> tuple[LocalItem, ...]:
    return (LocalItem(path=path, kind="dir"),)


NODES = {"cn1": ("sn1",), "cn3": ("sn2",), "cn4": ("sn1", "sn2"), "cn9": ()}


# --- the request -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"stage_only": True, "sources": ("/a",), "target": "/b"},
         "If -s option is use, then -F must point to the syncfile."),
        ({"sources": ("/a",)}, "Missing target_path"),
        ({"target": "/b"}, "Missing file arguments"),
        ({"pull": True, "sources": ("/a", "/b"), "target": "/t"},
         "Cannot pull more than one file from targets."),
        ({"synclist": "/s", "pull": True}, "-P and -F cannot be used together."),
        ({"sources": ("/a",), "target": "tmp/x"}, "tmp/x: paths must be absolute"),
        ({"sources": ("/a",), "target": "/tmp/../etc"}, "the target path cannot contain"),
    ],
)  # fmt: skip
def test_requests_that_cannot_run_are_refused(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(")):
        XdcpRequest(noderange="cn1", **fields)


# --- plain copies ----------------------------------------------------------------------------


def test_plain_copy_is_staged_on_every_sn_of_every_pool_at_its_source_path() -> None:
    request = XdcpRequest(noderange="x", sources=("/etc/hosts",), target="/tmp/hosts")
    plan = plan_xdcp(request, nodes=NODES, inventory={"/etc/hosts": f("/etc/hosts")})
    assert plan.service_nodes == ("sn1", "sn2")
    assert [(p.staged, p.local) for p in plan.staged] == [("etc/hosts", "/etc/hosts")]
    (group,) = plan.groups
    assert group.nodes == ("cn1", "cn3", "cn4", "cn9")
    assert [p.member for p in group.placements] == ["hosts"]


def test_several_sources_go_into_the_target_directory() -> None:
    request = XdcpRequest(noderange="x", sources=("/a/x", "/b/tree"), target="/opt",
                          recursive=True)  # fmt: skip
    plan = plan_xdcp(request, nodes={"cn1": ("sn1",)},
                     inventory={"/a/x": f("/a/x"), "/b/tree": d("/b/tree")})  # fmt: skip
    assert [(p.member, p.staged) for p in plan.groups[0].placements] == [
        ("x", "a/x"),
        ("tree", "b/tree"),
    ]
    assert "Not a directory" in plan.groups[0].command


@pytest.mark.parametrize(
    ("inventory", "recursive", "message"),
    [
        ({}, False, "File:/a/x does not exist."),
        ({"/a/x": d("/a/x")}, False, "/a/x is a directory (use -R)"),
    ],
)
def test_missing_sources_and_directories_without_r_are_errors(
    inventory: dict, recursive: bool, message: str
) -> None:
    request = XdcpRequest(noderange="x", sources=("/a/x",), target="/t", recursive=recursive)
    with pytest.raises(SynclistError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan_xdcp(request, nodes={"cn1": ()}, inventory=inventory)


# --- synclists --------------------------------------------------------------------------------


def sync_plan(text: str, inventory: dict, filters: dict | None = None, nodes: dict = NODES):
    request = XdcpRequest(noderange="x", synclist="/s")
    return plan_xdcp(
        request, nodes=nodes, inventory={**inventory, "/s": f("/s")},
        synclist=parse_synclist(text), filters=filters or {}, run_name="r1",
    )  # fmt: skip


def test_synclist_members_are_named_as_on_the_node() -> None:
    plan = sync_plan(
        "/src/hosts /src/passwd -> /etc\n/src/motd -> /etc/motd.new\n/src/*.conf -> /opt/\n",
        {"/src/hosts": f("/src/hosts"), "/src/passwd": f("/src/passwd"),
         "/src/motd": f("/src/motd"),
         "/src/*.conf": (*f("/src/a.conf"), *f("/src/b.conf"))},
    )  # fmt: skip
    members = {p.member: p.staged for p in plan.groups[0].placements}
    assert members == {
        "etc/hosts": "src/hosts",
        "etc/passwd": "src/passwd",
        "etc/motd.new": "src/motd",
        "opt/a.conf": "src/a.conf",
        "opt/b.conf": "src/b.conf",
    }
    staged = [p.staged for p in plan.staged]
    assert staged == ["src/hosts", "src/passwd", "src/motd", "src/a.conf", "src/b.conf", "s"]


def test_noderange_filters_split_nodes_into_groups_and_idle_nodes() -> None:
    plan = sync_plan(
        "/src/a -> (cn1,cn4) /etc/a\n/src/b -> (cn4) /etc/b\n",
        {"/src/a": f("/src/a"), "/src/b": f("/src/b")},
        filters={0: frozenset({"cn1", "cn4"}), 1: frozenset({"cn4"})},
    )
    groups = {g.nodes: sorted(p.member for p in g.placements) for g in plan.groups}
    assert groups == {("cn1",): ["etc/a"], ("cn4",): ["etc/a", "etc/b"]}
    assert plan.idle == ("cn3", "cn9")
    assert plan.service_nodes == ("sn1", "sn2")  # staging ignores the filters


def test_a_later_line_wins_and_a_path_cannot_be_both_whole_and_inside() -> None:
    plan = sync_plan("/x/one -> /etc/f\n/x/two -> /etc/f\n",
                     {"/x/one": f("/x/one"), "/x/two": f("/x/two")})  # fmt: skip
    assert [(p.member, p.staged) for p in plan.groups[0].placements] == [("etc/f", "x/two")]
    with pytest.raises(SynclistError, match="/opt/tree is both copied whole"):
        sync_plan("/x/tree -> /opt/\n/x/f -> /opt/tree/f\n",
                  {"/x/tree": d("/x/tree"), "/x/f": f("/x/f")})  # fmt: skip


def test_clause_files_travel_in_a_control_directory_and_execute_watches_the_file() -> None:
    plan = sync_plan(
        "/s/file2 -> /tmp/file2\n/s/file2.post -> /tmp/file2.post\nAPPEND:\n/s/add -> /etc/hosts\n"
        "EXECUTE:\n/s/file2.post\nEXECUTEALWAYS:\n/s/always\n",
        {p: f(p) for p in ("/s/file2", "/s/file2.post", "/s/add", "/s/always")},
    )
    (group,) = plan.groups
    members = {p.member: p.staged for p in group.placements}
    assert members["tmp/.snflow-xdcp-r1/a0"] == "s/add"
    assert members["tmp/.snflow-xdcp-r1/x0"] == "s/file2.post"
    assert members["tmp/.snflow-xdcp-r1/y0"] == "s/always"
    assert "cksum < tmp/file2" in group.command
    assert "var/xcat/node/syncfiles/org/etc/hosts" in group.command


# --- the report ------------------------------------------------------------------------------


def report(bad: list[str], results: list[tuple[str, str, str | None]]) -> XdcpReport:
    return XdcpReport(
        staging=[StagingResult(service_node=s, ok=False, message="down") for s in bad],
        results=[XdcpNodeResult(node=n, outcome=o, via=v) for n, o, v in results],  # type: ignore[arg-type]
    )


def test_bad_service_nodes_are_named_without_a_trailing_comma() -> None:
    r = report(["sn1", "sn2"], [("cn1", "not-updated", None), ("cn3", "not-updated", None)])
    assert r.messages() == [
        "The following servicenodes: sn1, sn2 have errors and cannot be updated",
        "Until the error is fixed, xdcp will not work to nodes serviced by these service nodes.",
    ]
    assert not r.ok and r.unserved == ["cn1", "cn3"]


def test_the_warning_only_when_some_nodes_had_no_working_service_node() -> None:
    r = report(["sn1"], [("cn4", "ok", "sn2")])
    assert r.messages() == ["The following servicenodes: sn1 have errors and cannot be updated"]
    assert not r.ok and r.failed == []


def test_the_summary_says_who_served_which_nodes() -> None:
    r = report([], [("cn1", "ok", "sn1"), ("cn2", "ok", "sn1"), ("cn9", "ok", None),
                    ("cn3", "failed", "sn2"), ("cn5", "nothing", None)])  # fmt: skip
    assert r.summary() == [
        "cn[1-2]: copied through sn1",
        "cn9: copied from the management node",
        "cn5: nothing to copy",
        "cn3: failed",
    ]
    assert r.ok is False and r.failed == ["cn3"]
