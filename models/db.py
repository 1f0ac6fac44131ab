"""Connections to the cluster database, and its schema kept current by Alembic.

SQLite (the default file ``$SNFLOW_HOME/cluster.sqlite``) and PostgreSQL are supported.
A database is brought to the current schema on first use: an empty one is created, an
existing xCAT database gets only what snflow adds (its own tables are left as they are).
Work is done on SQLAlchemy Core connections: one :func:`transaction` per command, so a
command either writes everything or nothing.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from snflow.models.errors import DatabaseError
from snflow.models.settings import get_settings

__all__ = [
    "HEAD_REVISION",
    "current_revision",
    "dispose_engines",
    "get_engine",
    "read_connection",
    "transaction",
    "upgrade",
]

#: The newest migration in ``models/migrations/versions``; a test checks it against Alembic.
HEAD_REVISION = "0002_snmove_journal"

_MIGRATIONS = Path(__file__).with_name("migrations")
_engines: dict[str, Engine] = {}
_ready: set[str] = set()
_lock = threading.Lock()


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            # WAL lets readers (lsdef, a flow's reads) go on while a command writes.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url`` (default: the configured database), schema brought up to date."""
    url = url or get_settings().effective_database_url
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            try:
                engine = _create_engine(url)
            except (sa.exc.ArgumentError, ImportError) as exc:
                raise DatabaseError(f"invalid database URL {url!r}: {exc}") from exc
            _engines[url] = engine
        if url not in _ready:
            try:
                if current_revision(engine) != HEAD_REVISION:
                    upgrade(engine)
            except sa.exc.OperationalError as exc:
                raise DatabaseError(f"cannot open the cluster database: {exc.orig}") from exc
            _ready.add(url)
    return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests and long-lived processes between databases)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _ready.clear()


def current_revision(engine: Engine) -> str | None:
    """The schema revision recorded in the database; ``None`` if snflow never touched it."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the Alembic migrations up to ``revision`` (what ``snflow db upgrade`` does)."""
    from alembic import command  # imported here: Alembic costs ~0.2 s and is rarely needed
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


@contextlib.contextmanager
def transaction(url: str | None = None) -> Iterator[Connection]:
    """One transaction: committed when the block ends normally, rolled back on any error."""
    with get_engine(url).begin() as conn:
        yield conn


@contextlib.contextmanager
def read_connection(url: str | None = None) -> Iterator[Connection]:
    """A connection for reads only (nothing it does is committed)."""
    with get_engine(url).connect() as conn:
        yield conn
