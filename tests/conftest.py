"""Shared fixtures: an isolated ``SNFLOW_HOME`` for every test, and databases.

Every database test runs twice through :func:`db_url`: on SQLite and on a real PostgreSQL
server that this test session starts itself (see ``tests/pg.py``). Without the server's
binaries the PostgreSQL half is skipped, except under CI (env ``CI`` set), where it fails.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pg import PostgresServer, find_bindir
from ports import free_port

POSTGRES_MISSING = (
    "PostgreSQL server binaries not found (run ./scripts/test as root to install them)"
)

_database_numbers = itertools.count(1)


def _dispose_engines() -> None:
    try:
        from snflow.models.db import dispose_engines
    except ImportError:
        return
    dispose_engines()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session, on 127.0.0.1 at a free port."""
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{POSTGRES_MISSING}; CI must not skip the PostgreSQL tests")
        pytest.skip(POSTGRES_MISSING)
    with PostgresServer(bindir) as server:
        yield server


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for this test: SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/cluster.sqlite"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"t{next(_database_numbers)}"
    url = server.create_database(name)
    try:
        yield url
    finally:
        _dispose_engines()
        server.drop_database(name)


@pytest.fixture
def use_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Make :func:`db_url`'s database snflow's database (``SNFLOW_DATABASE_URL``)."""
    monkeypatch.setenv("SNFLOW_DATABASE_URL", db_url)
    return db_url


@pytest.fixture(autouse=True)
def snflow_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``SNFLOW_HOME`` in a temporary directory; no other ``SNFLOW_*`` from the environment.

    So no test reads or writes ``~/.snflow`` or a developer's own database.
    """
    for name in list(os.environ):
        if name.startswith("SNFLOW_"):
            monkeypatch.delenv(name)
    home = tmp_path / "snflow_home"
    home.mkdir()
    monkeypatch.setenv("SNFLOW_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def _dispose_engines_after_test() -> Iterator[None]:
    """Close snflow's pooled connections after each test (no leak between databases)."""
    yield
    _dispose_engines()


@pytest.fixture(scope="session")
def prefect_api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real Prefect server for the session (snflow's local server, in a temp home).

    Flow tests run against it, as the CLI does: never Prefect's ephemeral mode, which
    loses run history.
    """
    from snflow.deployments import local
    from snflow.models.settings import PrefectSettings, Settings

    settings = Settings(
        home=tmp_path_factory.mktemp("prefect-session"),
        prefect=PrefectSettings(port=free_port(), api_url=None),
    )
    saved = os.environ.pop("PREFECT_API_URL", None)
    try:
        status, _ = local.start_server(settings)
    finally:
        if saved is not None:
            os.environ["PREFECT_API_URL"] = saved
    try:
        yield status.api_url
    finally:
        _drain_prefect_clients()
        local.stop_server(settings)


def _drain_prefect_clients() -> None:
    """Send what Prefect's background workers still hold before the server goes away
    (otherwise they retry against a stopped server at exit, for a minute)."""
    import sys

    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=10)


@pytest.fixture
def prefect_server(prefect_api_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point snflow and Prefect (in this process) at the session's server."""
    monkeypatch.setenv("SNFLOW_PREFECT_API_URL", prefect_api_url)
    monkeypatch.setenv("PREFECT_API_URL", prefect_api_url)
    monkeypatch.setenv("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    from prefect.context import refresh_global_settings_context

    refresh_global_settings_context()
    yield prefect_api_url
    monkeypatch.undo()
    refresh_global_settings_context()
