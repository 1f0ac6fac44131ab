"""``snflow db``: the cluster database's schema (Alembic migrations)."""

from __future__ import annotations

import typer

from snflow.cli._common import GROUP_CONTEXT, fail
from snflow.models import db as _db
from snflow.models.errors import SnflowError
from snflow.models.settings import get_settings

app = typer.Typer(
    help="The cluster database's schema.", context_settings=GROUP_CONTEXT, no_args_is_help=True
)


@app.command("upgrade")
def upgrade() -> None:
    """Bring the cluster database ($SNFLOW_DATABASE_URL) to the current schema."""
    url = get_settings().effective_database_url
    try:
        engine = _db.get_engine(url)
        _db.upgrade(engine)
        print(
            f"Database {engine.url.render_as_string(hide_password=True)} is at revision "
            f"{_db.current_revision(engine)}."
        )
    except SnflowError as exc:
        fail(str(exc))


@app.command("current")
def current() -> None:
    """Print the schema revision of the cluster database."""
    try:
        engine = _db.get_engine()
        print(_db.current_revision(engine) or "none")
    except SnflowError as exc:
        fail(str(exc))


def register(parent: typer.Typer) -> None:
    """Add this module's command to the ``snflow`` command."""
    parent.add_typer(app, name="db")
