"""Route planning (models/routes.py): pure, a table of cases."""

from __future__ import annotations

import pytest

from snflow.models.errors import NodeNameError
from snflow.models.routes import (
    Endpoint,
    Route,
    parse_servicenodes,
    plan_routes,
    validate_node_name,
)

ADDRESSES = {
    "cn1": "10.1.0.1",
    "cn2": "10.1.0.2",
    "sn1a": "192.0.2.1",
    "sn2a": "192.0.2.2",
    "mn": "192.0.2.254",
}


def plan(
    servicenodes: dict[str, str | None], nodes: tuple[str, ...] = ("cn1",)
) -> dict[str, Route]:
    return plan_routes(nodes, servicenodes, ADDRESSES, {"mn", "mn.cluster"}, 2222)


def via(route: Route) -> list[str]:
    return [e.name for e in route.via]


@pytest.mark.parametrize(
    ("servicenode", "expected_via", "fallback"),
    [
        ("sn1a,sn2a", ["sn1a", "sn2a"], False),
        ("sn2a,sn1a", ["sn2a", "sn1a"], False),
        (" sn1a , sn2a ,sn1a,", ["sn1a", "sn2a"], False),
        (None, [], False),
        ("", [], False),
        ("mn", [], False),
        ("mn,sn1a", [], False),  # the MN comes first: direct
        ("192.0.2.254,sn1a", [], False),  # the MN by address
        ("sn1a,mn.cluster", ["sn1a"], True),  # the MN as backup: direct is the last resort
        ("sn1a,cn1", ["sn1a"], False),  # a node is never its own hop
    ],
)
def test_a_route_lists_service_nodes_in_order_until_the_management_node(
    servicenode: str | None, expected_via: list[str], fallback: bool
) -> None:
    route = plan({"cn1": servicenode})["cn1"]
    assert (via(route), route.direct_fallback, route.direct) == (
        expected_via,
        fallback,
        not expected_via,
    )


def test_endpoints_carry_the_addresses_each_side_uses() -> None:
    route = plan({"cn1": "sn1a,sn2a"})["cn1"]
    assert route.target == Endpoint(name="cn1", address="10.1.0.1", port=2222)
    assert route.via[0] == Endpoint(name="sn1a", address="192.0.2.1", port=2222)
    assert route.node == "cn1"
    assert route.describe() == "cn1 (10.1.0.1:2222) via sn1a, sn2a"


def test_a_name_without_an_address_is_its_own_address() -> None:
    route = plan({"cn9": "sn9"}, nodes=("cn9",))["cn9"]
    assert (route.target.address, route.via[0].address) == ("cn9", "sn9")


def test_routes_follow_the_order_of_the_nodes() -> None:
    assert list(plan({}, nodes=("cn2", "cn1"))) == ["cn2", "cn1"]


def test_routes_are_frozen() -> None:
    route = plan({})["cn1"]
    with pytest.raises(ValueError):
        route.target = route.target  # type: ignore[misc]


@pytest.mark.parametrize("name", ["cn1", "cn-01", "cn_1", "cn1.cluster.example", "a", "1"])
def test_valid_node_names(name: str) -> None:
    assert validate_node_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "cn1;reboot",
        "cn 1",
        "-oProxyCommand=x",
        "cn1.",
        ".cn1",
        "cn$(x)",
        "cn1\n",
        "é",
        "a" * 254,
    ],
)
def test_invalid_node_names_are_refused_and_named(name: str) -> None:
    with pytest.raises(NodeNameError) as err:
        validate_node_name(name)
    assert err.value.name == name
    assert str(err.value) == f'invalid node name: "{name}"'


@pytest.mark.parametrize(
    ("servicenodes", "addresses", "bad"),
    [
        ({"cn1": "sn1a,bad;sn"}, ADDRESSES, "bad;sn"),
        ({"cn1": None}, {"cn1": "10.0.0.1 ; x"}, "10.0.0.1 ; x"),
    ],
)
def test_bad_service_node_names_and_addresses_are_refused(
    servicenodes: dict[str, str | None], addresses: dict[str, str], bad: str
) -> None:
    with pytest.raises(NodeNameError) as err:
        plan_routes(["cn1"], servicenodes, addresses, set(), 22)
    assert err.value.name == bad


def test_ipv6_addresses_are_accepted() -> None:
    route = plan_routes(["cn1"], {}, {"cn1": "fd00::1"}, set(), 22)["cn1"]
    assert route.target.address == "fd00::1"


def test_parse_servicenodes() -> None:
    assert parse_servicenodes("a,,b, a") == ("a", "b")
    assert parse_servicenodes(None) == ()
