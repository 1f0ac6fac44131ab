"""makeconservercf planning, rendering and merging, checked by the real ``conserver -S``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from snflow.models.conserver import (
    console_names,
    merge_conserver,
    plan_conserver,
    render_conserver,
)
from snflow.models.services import (
    Interface,
    NodeInfo,
    ServiceConfigError,
    ServiceHost,
    ServiceState,
    Site,
    make_header,
)

HEADER = make_header("run-7", "makeconservercf")


def make_state(**site: object) -> ServiceState:
    """MN + sn1, sn2; cn1-4 consoles on sn1, cn5-8 on sn2 (ipmi), cn9 on the MN."""
    nodes = [
        NodeInfo(name=f"cn{i}", cons="ipmi", conserver="sn1" if i <= 4 else "sn2")
        for i in range(1, 9)
    ]
    nodes.append(NodeInfo(name="cn9", cons="kvm"))
    nodes.append(NodeInfo(name="quiet"))  # no cons, no serialport: no console at all
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
    return ServiceState(site=Site(master="127.10.0.1", **site), hosts=hosts, nodes=tuple(nodes))


def with_node(state: ServiceState, name: str, **changes: object) -> ServiceState:
    nodes = tuple(
        NodeInfo.model_validate(n.model_dump() | changes) if n.name == name else n
        for n in state.nodes
    )
    return state.model_copy(update={"nodes": nodes})


def stanza(text: str, node: str) -> str:
    found = re.search(rf"^#xCAT BEGIN {node} CONS\n(.*?)^#xCAT END {node} CONS$", text, re.M | re.S)
    return found.group(1) if found else ""


def files(state: ServiceState, **options: object) -> dict[str, str]:
    return {h: render_conserver(c, HEADER) for h, c in plan_conserver(state, **options).items()}


# --- planning and rendering ---------------------------------------------------------------


def test_the_mn_points_at_the_owning_service_node_and_the_sn_runs_the_console() -> None:
    out = files(make_state())
    assert stanza(out["mn"], "cn1") == "console cn1 {\n  type exec;\n  master sn1;\n}\n"
    assert stanza(out["mn"], "cn5") == "console cn5 {\n  type exec;\n  master sn2;\n}\n"
    exec_line = "  exec PERL_BADLANG=0 /opt/xcat/share/xcat/cons/ipmi cn1;\n"
    assert stanza(out["sn1"], "cn1") == f"console cn1 {{\n  type exec;\n{exec_line}}}\n"
    assert stanza(out["mn"], "cn9") == (
        "console cn9 {\n  type exec;\n  exec /opt/xcat/share/xcat/cons/kvm cn9;\n}\n"
    )


@pytest.mark.parametrize(
    ("host", "consoles"),
    [
        ("mn", [f"cn{i}" for i in range(1, 10)]),
        ("sn1", ["cn1", "cn2", "cn3", "cn4"]),
        ("sn2", ["cn5", "cn6", "cn7", "cn8"]),
    ],
)
def test_each_host_holds_the_consoles_it_knows_in_natural_order(
    host: str, consoles: list[str]
) -> None:
    assert console_names(files(make_state())[host]) == consoles


def test_the_access_and_default_blocks_are_as_xcat_writes_them() -> None:
    text = files(make_state(consoleondemand="yes"))["sn1"]
    assert text.startswith(
        f"# {HEADER}\n"
        "default cyclades { type host; portbase 7000; portinc 1; }\n"
        "default mrv { type host; portbase 2000; portinc 100; }\n"
        "access * {\n  trusted 127.0.0.1;\n  trusted 127.10.0.1;\n"
        "  trusted 127.10.0.11,127.20.0.1;\n}\n"
        "default * {\n  logfile /var/log/consoles/&;\n  timestamp 1lab;\n  rw *;\n"
        "  master localhost;\n  options ondemand;\n}\n"
    )


@pytest.mark.parametrize(
    ("site", "node", "option"),
    [
        ("no", "yes", "  options ondemand;\n"),
        ("yes", "no", "  options !ondemand;\n"),
        ("yes", "yes", ""),
        ("no", "", ""),
    ],
)
def test_a_node_overrides_the_sites_console_on_demand(site: str, node: str, option: str) -> None:
    state = with_node(make_state(consoleondemand=site), "cn1", consoleondemand=node)
    assert stanza(files(state)["sn1"], "cn1").endswith(f"cn1;\n{option}}}\n")


def test_a_terminal_server_console_includes_its_server_block() -> None:
    state = with_node(make_state(), "cn2", cons="cyclades", termserver="ts1", termport="3")
    out = files(state)
    block = (
        "#xCAT BEGIN ts1 TS\ndefault ts1 {\n  include cyclades;\n  host ts1;\n}\n#xCAT END ts1 TS"
    )
    assert block in out["sn1"] and block in out["mn"]
    assert stanza(out["sn1"], "cn2") == "console cn2 {\n include ts1;\n port 3;\n}\n"
    assert stanza(out["mn"], "cn2") == "console cn2 {\n include ts1;\n port 3;\n  master sn1;\n}\n"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param(
            {"cons": "", "serialport": "0"},
            "cn2: Bad configuration, check attributes under the nodehm category",
            id="serialport-without-mgt",
        ),
        pytest.param(
            {"cons": "mrv", "termserver": "ts1"},
            "cn2: Bad configuration, check attributes under the nodehm category",
            id="terminal-server-without-port",
        ),
        pytest.param(
            {"conserver": "sn9"}, "cn2: conserver 'sn9' is not a known service host", id="unknown"
        ),
    ],
)
def test_bad_console_attributes_are_a_clear_error(changes: dict[str, str], message: str) -> None:
    with pytest.raises(ServiceConfigError) as caught:
        plan_conserver(with_node(make_state(), "cn2", **changes))
    assert message in caught.value.problems


def test_serialport_alone_uses_the_mgt_method() -> None:
    state = with_node(make_state(), "cn2", cons="", serialport="0", mgt="openbmc")
    assert "/cons/openbmc cn2;" in stanza(files(state)["sn1"], "cn2")


def test_rendering_is_deterministic_and_carries_the_header() -> None:
    state = make_state()
    shuffled = state.model_copy(update={"nodes": tuple(reversed(state.nodes))})
    assert files(state) == files(shuffled)
    assert all(t.splitlines()[0] == f"# {HEADER}" for t in files(state).values())


# --- merging ------------------------------------------------------------------------------

USER_FILE = """\
# site notes: keep me
default * {
  logfile /var/log/old/&;
}
access * { trusted 10.9.9.9; }
console mylab {
  type exec;
  exec /usr/local/bin/lab;
}
#xCAT BEGIN cn1 CONS
console cn1 {
  type exec;
  exec /old/cn1;
}
#xCAT END cn1 CONS
#xCAT BEGIN old7 CONS
console old7 {
  type exec;
  exec /old/old7;
}
#xCAT END old7 CONS
"""


def test_merge_keeps_unrelated_content_and_replaces_managed_blocks() -> None:
    merged = merge_conserver(USER_FILE, plan_conserver(make_state(), ["cn1"])["sn1"], HEADER)
    assert "# site notes: keep me\nconsole mylab {" in merged
    assert (
        "/old/cn1" not in merged and "PERL_BADLANG=0 /opt/xcat/share/xcat/cons/ipmi cn1" in merged
    )
    assert "exec /old/old7;" in merged  # not in the noderange: left alone
    assert "/var/log/old" not in merged and "10.9.9.9" not in merged
    assert merged.count("access * {") == 1 and merged.count("default * {") == 1


@pytest.mark.parametrize(
    ("nodes", "options"),
    [
        pytest.param(["cn1"], {}, id="noderange"),
        pytest.param(None, {}, id="all"),
        pytest.param(["cn1"], {"delete": True}, id="delete"),
        pytest.param(["cn1"], {"cleanup": True}, id="cleanup"),
    ],
)
def test_merging_twice_changes_nothing(nodes: list[str] | None, options: dict[str, bool]) -> None:
    state = make_state(conserver_ssl=True)
    for config in plan_conserver(state, nodes, **options).values():
        once = merge_conserver(USER_FILE, config, HEADER)
        assert merge_conserver(once, config, HEADER) == once


def test_a_moved_console_leaves_the_old_service_node() -> None:
    before = files(make_state())
    moved = with_node(make_state(), "cn1", conserver="sn2")
    plan = plan_conserver(moved, ["cn1"])
    old = merge_conserver(before["sn1"], plan["sn1"], HEADER)
    new = merge_conserver(before["sn2"], plan["sn2"], HEADER)
    mn = merge_conserver(before["mn"], plan["mn"], HEADER)
    assert "cn1" not in console_names(old) and console_names(old) == ["cn2", "cn3", "cn4"]
    assert console_names(new)[-1] == "cn1"
    assert "master sn2;" in stanza(mn, "cn1")


def test_delete_removes_the_stanza_from_every_host() -> None:
    plan = plan_conserver(make_state(), ["cn5"], delete=True)
    assert sorted(plan) == ["mn", "sn1", "sn2"]
    for host, text in files(make_state()).items():
        assert "cn5" not in console_names(merge_conserver(text, plan[host], HEADER))


def test_cleanup_drops_stanzas_of_nodes_no_longer_defined() -> None:
    config = plan_conserver(make_state(), ["cn1"], cleanup=True)["sn1"]
    assert "old7" not in merge_conserver(USER_FILE, config, HEADER)


def test_an_unterminated_managed_block_is_an_error_not_a_truncation() -> None:
    broken = "#xCAT BEGIN cn1 CONS\nconsole cn1 {\n"
    with pytest.raises(ServiceConfigError, match="has no END line"):
        merge_conserver(broken, plan_conserver(make_state())["sn1"], HEADER)


# --- the real checker -----------------------------------------------------------------------


def conserver_check(tmp_path: Path, text: str, *flags: str) -> subprocess.CompletedProcess[str]:
    path = shutil.which("conserver") or shutil.which("conserver", path="/usr/sbin")
    if path is None:
        reason = "conserver is not installed (apt-get install conserver-server)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{reason}; CI must not skip the checker tests")
        pytest.skip(reason)
    (tmp_path / "conserver.cf").write_text(text)
    command = [path, *(flags or ("-S",)), "-C", str(tmp_path / "conserver.cf")]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def checked_state() -> ServiceState:
    state = with_node(make_state(conserver_ssl=True), "cn2", cons="mrv", termserver="ts1")
    state = with_node(state, "cn2", termport="4", consoleondemand="yes")
    return with_node(state, "cn3", serialport="0", cons="", mgt="ipmi")


@pytest.mark.parametrize("host", ["mn", "sn1", "sn2"])
def test_generated_files_pass_conserver(tmp_path: Path, host: str) -> None:
    result = conserver_check(tmp_path, files(checked_state())[host])
    assert result.returncode == 0, result.stderr


def test_conserver_lists_each_console_with_its_owning_host(tmp_path: Path) -> None:
    listed = conserver_check(tmp_path, files(checked_state())["mn"], "-SS").stdout
    owners = dict(re.findall(r"\{(\w+):([\w.]+):", listed))
    assert owners == {"cn1": "sn1", "cn2": "sn1", "cn3": "sn1", "cn4": "sn1"} | {
        f"cn{i}": "sn2" for i in range(5, 9)
    } | {"cn9": "localhost"}
    assert "{cn2:sn1::!:ts1,2400}" in listed  # mrv: portbase 2000 + 100 * port 4


def test_conserver_rejects_a_broken_file(tmp_path: Path) -> None:
    broken = "console bad {\n  type exec;\n  bogus 1;\n}\n"
    text = merge_conserver(broken, plan_conserver(make_state())["sn1"], HEADER)
    result = conserver_check(tmp_path, text)
    assert result.returncode == 65
    assert "invalid keyword 'bogus'" in result.stderr


def test_a_host_left_without_consoles_has_a_file_conserver_refuses(tmp_path: Path) -> None:
    text = files(make_state(), nodes=None, delete=True)["sn1"]
    assert console_names(text) == []
    result = conserver_check(tmp_path, text)
    assert result.returncode == 65 and "no consoles found" in result.stderr
