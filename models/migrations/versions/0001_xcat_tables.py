"""The xCAT tables snflow uses.

Tables that already exist (snflow pointed at an xCAT database) are left untouched, so this
revision only creates what is missing.

Revision ID: 0001_xcat_tables
Revises:
"""

from alembic import op

from snflow.models.schema import metadata

revision = "0001_xcat_tables"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    metadata.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    # Never drop an administrator's xCAT tables: downgrading past the first revision
    # only forgets that snflow initialised them.
    pass
