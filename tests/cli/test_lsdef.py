"""``snflow lsdef`` in-process: exact stdout, stderr and exit status for each format."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from typer.testing import CliRunner, Result

from snflow.cli.main import app
from snflow.models import db
from snflow.models.schema import TABLES

CLUSTER: dict[str, list[dict[str, str]]] = {
    "site": [{"key": "domain", "value": "cluster.com"}],
    "nodelist": [
        {"node": "cn1", "groups": "compute,sn1group,all"},
        {"node": "cn2", "groups": "compute,sn1group,all"},
        {"node": "cn10", "groups": "compute,sn2group,all"},
        {"node": "sn1", "groups": "service,all"},
    ],
    "nodegroup": [
        {"groupname": "sn1group", "grouptype": "static", "members": "static"},
        {
            "groupname": "ipmigrp",
            "grouptype": "dynamic",
            "members": "dynamic",
            "wherevals": "mgt==ipmi",
        },
        {"groupname": "emptygrp", "grouptype": "static", "members": "static"},
    ],
    "noderes": [
        {"node": "compute", "servicenode": "sn1,sn2", "xcatmaster": "sn1b"},
        {"node": "cn10", "servicenode": "sn2,sn1", "xcatmaster": "sn2b"},
        {"node": "sn1group", "tftpserver": "sn1b"},
    ],
    "nodehm": [
        {"node": "cn1", "mgt": "ipmi"},
        {"node": "cn2", "mgt": "ipmi"},
        {"node": "cn10", "mgt": "hmc"},
    ],
    "hosts": [{"node": "compute", "ip": "|\\D+(\\d+)|10.0.0.($1+0)|"}],
    "postscripts": [
        {
            "node": "xcatdefaults",
            "postscripts": "syslog,remoteshell,syncfiles",
            "postbootscripts": "otherpkgs",
        },
        {"node": "cn1", "postscripts": "mkresolvconf"},
    ],
    "networks": [
        {"net": "10.0.0.0", "mask": "255.0.0.0", "netname": "net_a", "gateway": "10.0.0.254"}
    ],
}


def seed(url: str, data: Mapping[str, Sequence[Mapping[str, str]]]) -> None:
    with db.transaction(url) as conn:
        for table, rows in data.items():
            for row in rows:  # one by one: rows set different columns
                conn.execute(TABLES[table].insert(), dict(row))


@pytest.fixture
def cluster(use_db: str) -> str:
    seed(use_db, CLUSTER)
    return use_db


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, ["lsdef", *args], input=stdin)


def test_lsdef_without_arguments_lists_node_names(cluster: str) -> None:
    result = run()
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == "cn1  (node)\ncn2  (node)\ncn10  (node)\nsn1  (node)\n"


def test_lsdef_of_a_node_shows_inherited_regex_and_xcatdefaults_values(cluster: str) -> None:
    result = run("cn1")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "Object name: cn1\n"
        "    groups=compute,sn1group,all\n"
        "    ip=10.0.0.1\n"
        "    mgt=ipmi\n"
        "    postbootscripts=otherpkgs\n"
        "    postscripts=syslog,remoteshell,syncfiles,mkresolvconf\n"
        "    servicenode=sn1,sn2\n"
        "    tftpserver=sn1b\n"
        "    xcatmaster=sn1b\n"
    )


def test_lsdef_with_listed_attributes_over_a_group_noderange(cluster: str) -> None:
    result = run("-i", "servicenode,xcatmaster,mgt", "compute")
    assert result.exit_code == 0
    assert result.stdout == (
        "Object name: cn1\n    mgt=ipmi\n    servicenode=sn1,sn2\n    xcatmaster=sn1b\n"
        "Object name: cn2\n    mgt=ipmi\n    servicenode=sn1,sn2\n    xcatmaster=sn1b\n"
        "Object name: cn10\n    mgt=hmc\n    servicenode=sn2,sn1\n    xcatmaster=sn2b\n"
    )


def test_lsdef_compressed_lines(cluster: str) -> None:
    result = run("-c", "-i", "xcatmaster,os", "cn1,cn10")
    assert result.exit_code == 0
    assert result.stdout == "cn1: os=\ncn1: xcatmaster=sn1b\ncn10: os=\ncn10: xcatmaster=sn2b\n"


def test_lsdef_compress_needs_listed_attributes(cluster: str) -> None:
    result = run("-c", "cn1")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "Error: The flags '-c' and '-i' must be used together.\n"


def test_lsdef_with_an_invalid_attribute_reports_it_and_shows_the_rest(cluster: str) -> None:
    result = run("-i", "bogus,mgt", "cn1")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: 'bogus' is not a valid attribute name for an object type of 'node'.\n"
    )
    assert result.stdout == "Object name: cn1\n    mgt=ipmi\n"


def test_lsdef_of_an_unknown_object_fails_but_prints_the_others(cluster: str) -> None:
    result = run("cn1,nosuch", "-i", "mgt")
    assert result.exit_code == 1
    assert result.stderr == "Error: Could not find an object named 'nosuch' of type 'node'.\n"
    assert result.stdout == "Object name: cn1\n    mgt=ipmi\n"


def test_lsdef_of_an_unknown_group_names_the_type(cluster: str) -> None:
    result = run("-t", "group", "-o", "nogroup")
    assert result.exit_code == 1
    assert result.stderr == "Error: Could not find an object named 'nogroup' of type 'group'.\n"


def test_lsdef_of_an_unknown_type(cluster: str) -> None:
    result = run("-t", "osimage")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "Error: Type 'osimage' is not a valid xCAT object type.\n"


def test_lsdef_of_an_empty_group(cluster: str) -> None:
    result = run("emptygrp")
    assert result.exit_code == 1
    assert result.stderr == "Error: No node in 'emptygrp', check the noderange syntax.\n"


def test_lsdef_with_two_noderanges(cluster: str) -> None:
    result = run("cn1", "cn2")
    assert (result.exit_code, result.stderr) == (1, "Error: noderange can not contain spaces.\n")


def test_lsdef_where_lists_the_matching_names(cluster: str) -> None:
    result = run("-w", "mgt==ipmi")
    assert (result.exit_code, result.stdout) == (0, "cn1  (node)\ncn2  (node)\n")
    result = run("-w", "mgt=~^i", "-w", "groups=~sn1", "-l", "-i", "mgt")
    assert result.stdout == "Object name: cn1\n    mgt=ipmi\nObject name: cn2\n    mgt=ipmi\n"


def test_lsdef_where_matching_nothing_has_nothing_to_display(cluster: str) -> None:
    result = run("-w", "mgt==kvm")
    assert (result.exit_code, result.stdout) == (0, "Could not find any objects to display.\n")


def test_lsdef_on_an_empty_database(use_db: str) -> None:
    result = run()
    assert (result.exit_code, result.stdout) == (0, "Could not find any objects to display.\n")


def test_lsdef_of_groups(cluster: str) -> None:
    result = run("-t", "group", "sn1group,ipmigrp")
    assert result.exit_code == 0
    assert result.stdout == (
        "Object name: ipmigrp\n    grouptype=dynamic\n    members=cn1,cn2\n"
        "    wherevals=mgt==ipmi\n"
        "Object name: sn1group\n    grouptype=static\n    members=cn1,cn2\n    tftpserver=sn1b\n"
    )


def test_lsdef_of_networks_and_site(cluster: str) -> None:
    result = run("-t", "network,site", "-l")
    assert result.exit_code == 0
    assert result.stdout == (
        "Object name: net_a  (network)\n    gateway=10.0.0.254\n    mask=255.0.0.0\n"
        "    net=10.0.0.0\n"
        "Object name: clustersite  (site)\n    domain=cluster.com\n"
    )
    assert run("-t", "network").stdout == "net_a  (network)\n"
    assert run("-t", "site").stdout == "clustersite  (site)\n"


def test_lsdef_all_types_names_with_one_space(cluster: str) -> None:
    lines = run("-a").stdout.splitlines()
    assert lines[:2] == ["cn1 (node)", "cn2 (node)"]
    assert "sn1group (group)" in lines and lines[-2:] == ["net_a (network)", "clustersite (site)"]


def test_lsdef_stanza_of_a_node(cluster: str) -> None:
    result = run("-z", "cn10")
    assert result.exit_code == 0
    assert result.stdout == (
        "# <xCAT data object stanza file>\n"
        "\n"
        "cn10:\n"
        "    objtype=node\n"
        "    groups=compute,sn2group,all\n"
        "    ip=10.0.0.10\n"
        "    mgt=hmc\n"
        "    servicenode=sn2,sn1\n"
        "    xcatmaster=sn2b\n"
    )


def test_lsdef_stanza_of_groups(cluster: str) -> None:
    result = run("-z", "-t", "group", "-o", "sn1group,ipmigrp")
    assert result.exit_code == 0
    assert result.stdout == (
        "# <xCAT data object stanza file>\n"
        "\n"
        "ipmigrp:\n"
        "    objtype=group\n"
        "    grouptype=dynamic\n"
        "    wherevals=mgt==ipmi\n"
        "\n"
        "sn1group:\n"
        "    objtype=group\n"
        "    grouptype=static\n"
        "    members=cn1,cn2\n"
        "    tftpserver=sn1b\n"
    )


def test_lsdef_stanza_of_a_static_group_recreates_it_through_mkdef(cluster: str) -> None:
    stanza = run("-z", "-t", "group", "sn1group").stdout
    removed = CliRunner().invoke(app, ["rmdef", "-t", "group", "sn1group"])
    assert removed.exit_code == 0, removed.stderr
    assert run("-t", "group", "sn1group").exit_code == 1
    made = CliRunner().invoke(app, ["mkdef", "-z", "-f"], input=stanza)
    assert made.exit_code == 0, made.stderr
    assert run("-z", "-t", "group", "sn1group").stdout == stanza


def test_lsdef_help_describes_the_command(cluster: str) -> None:
    result = run("--help")
    assert result.exit_code == 0 and "List object definitions" in result.stdout
