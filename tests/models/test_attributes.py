"""Effective attributes: node row, then groups in order, hierarchicalattrs, disable, regex."""

from __future__ import annotations

import pytest

from snflow.models.attributes import parse_hierarchicalattrs, resolve
from snflow.models.schema import row_is_disabled


def test_node_row_wins_over_its_groups() -> None:
    rows = {"cn1": {"xcatmaster": "own"}, "g1": {"xcatmaster": "g1"}}
    assert resolve("cn1", ["g1"], rows, ["xcatmaster"]) == {"xcatmaster": "own"}


def test_first_group_in_order_that_defines_the_column_wins() -> None:
    rows = {"g1": {"tftpserver": "t1"}, "g2": {"tftpserver": "t2", "netboot": "pxe"}}
    assert resolve("cn1", ["g1", "g2"], rows, ["tftpserver", "netboot"]) == {
        "tftpserver": "t1",
        "netboot": "pxe",
    }


def test_hierarchical_attributes_concatenate_over_node_and_groups() -> None:
    rows = {"cn1": {"postscripts": "a,b"}, "g1": {"postscripts": "b,c"}, "g2": {}}
    hier = parse_hierarchicalattrs("postscripts")
    assert resolve("cn1", ["g1", "g2"], rows, ["postscripts"], hier) == {"postscripts": "a,b,c"}


def test_hierarchicalattrs_take_a_delimiter() -> None:
    assert parse_hierarchicalattrs("postscripts,nameservers:;") == {
        "postscripts": ",",
        "nameservers": ";",
    }


def test_regex_value_from_a_group_is_evaluated_with_the_node_name() -> None:
    rows = {"compute": {"servicenode": "|\\D+(\\d+)|sn(($1-1)/10+1)|"}}
    assert resolve("cn15", ["compute"], rows, ["servicenode"]) == {"servicenode": "sn2"}


@pytest.mark.parametrize(
    ("disable", "disabled"),
    [
        (None, False),
        ("", False),
        ("0", False),
        ("no", False),
        ("NO", False),
        ("1", True),
        ("yes", True),
    ],
)
def test_disable_values(disable: str | None, disabled: bool) -> None:
    assert row_is_disabled(disable) is disabled
