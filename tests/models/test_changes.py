"""RowChange.changed_columns: the columns an update writes (pure)."""

from __future__ import annotations

import pytest

from snflow.models.changes import RowChange


@pytest.mark.parametrize(
    ("before", "after", "changed"),
    [
        ({"node": "cn1", "xcatmaster": "sn1", "tftpserver": "t"},
         {"node": "cn1", "xcatmaster": "sn2", "tftpserver": "t"}, ["xcatmaster"]),
        ({"node": "cn1", "xcatmaster": "sn1"}, {"node": "cn1", "xcatmaster": None},
         ["xcatmaster"]),
        ({"node": "cn1", "comments": None}, {"node": "cn1", "xcatmaster": "sn2"}, ["xcatmaster"]),
        ({"node": "cn1", "xcatmaster": "sn1"}, {"node": "cn1"}, ["xcatmaster"]),
        ({"node": "cn1", "b": "1", "a": "1"}, {"node": "cn2", "b": "2", "a": "2"},
         ["a", "b", "node"]),
        (None, {"node": "cn1", "xcatmaster": "sn2"}, ["node", "xcatmaster"]),
        ({"node": "cn1", "xcatmaster": "sn1"}, None, ["node", "xcatmaster"]),
        ({"node": "cn1"}, {"node": "cn1"}, []),
    ],
)  # fmt: skip
def test_changed_columns_are_the_sorted_columns_whose_value_differs(
    before: dict[str, str | None] | None, after: dict[str, str | None] | None, changed: list[str]
) -> None:
    change = RowChange(table="noderes", key=("cn1",), before=before, after=after)
    assert change.changed_columns == changed
