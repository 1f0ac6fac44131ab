"""Maintenance windows: the request's two moves and the schedule entries of the settings."""

from __future__ import annotations

import pytest

from snflow.models.maintenance import (
    MaintenanceRequest,
    WindowSchedule,
    switch_back_request,
    takeover_request,
)


def test_the_window_takes_over_the_sn_then_moves_exactly_those_nodes_back() -> None:
    request = MaintenanceRequest(service_node="sn1", postscripts="all", fanout=8)
    away = takeover_request(request)
    assert (away.source, away.noderange, away.dest, away.postscripts) == ("sn1", None, None, "all")
    back = switch_back_request(request, ["cn003", "cn001", "cn002"])
    assert (back.noderange, back.dest, back.fanout) == ("cn[001-003]", "sn1", 8)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"timezone": "UTC", "request": {"service_node": "sn1"}}, "exactly one of cron or rrule"),
        (
            {"cron": "0 2 * * 6", "rrule": "FREQ=DAILY", "request": {"service_node": "sn1"}},
            "exactly one of cron or rrule",
        ),
        (
            {"cron": "0 2 * * 6", "timezone": "Mars/Olympus", "request": {"service_node": "sn1"}},
            "unknown time zone 'Mars/Olympus'",
        ),
        ({"cron": "0 2 * * 6", "request": {"service_node": "sn 1"}}, "service_node"),
        ({"cron": "0 2 * * 6", "request": {"service_node": "sn1"}, "when": 1}, "when"),
    ],
)
def test_a_bad_window_names_its_problem(entry: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WindowSchedule.model_validate(entry)


def test_a_window_in_a_time_zone() -> None:
    window = WindowSchedule.model_validate(
        {"rrule": "FREQ=MONTHLY;BYDAY=1SU;BYHOUR=3", "timezone": "Europe/Paris",
         "request": {"service_node": "sn2", "deadline_minutes": 90}}
    )  # fmt: skip
    assert window.cron is None and window.request.deadline_minutes == 90
