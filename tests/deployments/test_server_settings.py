"""Point 1 of issue 7, as the running server reports it: telemetry off, loopback only."""

from __future__ import annotations

from urllib.parse import urlparse

from served_api import call

from snflow.deployments import local
from snflow.models.settings import get_settings


def test_the_local_server_runs_with_telemetry_off_on_loopback(prefect_api_url: str) -> None:
    settings = call(prefect_api_url, "GET", "/admin/settings")
    assert settings["server"]["analytics_enabled"] is False
    assert settings["server"]["ui"]["show_promotional_content"] is False
    assert urlparse(prefect_api_url).hostname == "127.0.0.1"


def test_clients_get_the_same_environment() -> None:
    env = local.prefect_environment(get_settings())
    assert env["DO_NOT_TRACK"] == "1"
    assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert env["PREFECT_HOME"].endswith("/prefect")
    assert env["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"
