"""The cluster database: schema on first use, Alembic head, existing xCAT databases."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from snflow.cli.main import app
from snflow.models import db
from snflow.models.schema import TABLES


def test_head_revision_constant_matches_the_migrations() -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(db.__file__).with_name("migrations")))
    assert ScriptDirectory.from_config(config).get_current_head() == db.HEAD_REVISION


def test_a_fresh_database_gets_every_table_on_first_use(db_url: str) -> None:
    engine = db.get_engine(db_url)
    assert db.current_revision(engine) == db.HEAD_REVISION
    assert set(TABLES) <= set(sa.inspect(engine).get_table_names())


def test_an_existing_xcat_database_keeps_its_tables_and_rows(db_url: str) -> None:
    # An xCAT database: its own nodelist (with a column snflow does not know), no alembic_version.
    raw = sa.create_engine(db_url)
    with raw.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE nodelist (node VARCHAR(128) PRIMARY KEY, groups TEXT, "
                "status TEXT, statustime TEXT, appstatus TEXT, appstatustime TEXT, "
                "primarysn TEXT, hidden TEXT, updatestatus TEXT, updatestatustime TEXT, "
                "zonename TEXT, comments TEXT, disable TEXT, xcatonly TEXT)"
            )
        )
        conn.execute(sa.text("INSERT INTO nodelist (node, groups) VALUES ('cn1', 'compute')"))
    raw.dispose()
    engine = db.get_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT node, groups FROM nodelist")).all()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("nodelist")}
    assert rows == [("cn1", "compute")]
    assert "xcatonly" in columns
    assert db.current_revision(engine) == db.HEAD_REVISION


def test_db_upgrade_command_reports_the_revision(use_db: str) -> None:
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert db.HEAD_REVISION in result.stdout


def test_an_unreachable_database_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNFLOW_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    result = CliRunner().invoke(app, ["nodels"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot open the cluster database")
