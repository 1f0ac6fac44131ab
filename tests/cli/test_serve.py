"""``snflow serve``'s command line (the serving itself: tests/deployments)."""

from __future__ import annotations

from typer.testing import CliRunner

from snflow.cli.main import app


def test_serve_has_help() -> None:
    result = CliRunner().invoke(app, ["serve", "-h"])
    assert result.exit_code == 0
    assert "--takeover-after" in result.stdout and "--limit" in result.stdout


def test_an_unknown_deployment_is_one_error_before_anything_starts() -> None:
    result = CliRunner().invoke(app, ["serve", "xdsh", "nosuch"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: unknown deployment(s): nosuch (known: ")


def test_a_limit_out_of_bounds_is_refused() -> None:
    result = CliRunner().invoke(app, ["serve", "--limit", "0"])
    assert result.exit_code == 2
