"""snflow's own tables for snmove: the journal, per-node work of each move, node locks.

Revision ID: 0002_snmove_journal
Revises: 0001_xcat_tables
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_snmove_journal"
down_revision = "0001_xcat_tables"
branch_labels = None
depends_on = None

_RUN = sa.String(64)
_NODE = sa.String(128)


def upgrade() -> None:
    op.create_table(
        "snflow_moves",
        sa.Column("run_id", _RUN, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target_run", _RUN),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("services", sa.String(16), nullable=False),
        sa.Column("created", sa.String(32), nullable=False),
        sa.Column("updated", sa.String(32), nullable=False),
        sa.Column("notes", sa.Text),
    )
    op.create_table(
        "snflow_journal",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", _RUN, nullable=False),
        sa.Column("node", _NODE, nullable=False),
        sa.Column("tbl", sa.String(64), nullable=False),
        sa.Column("col", sa.String(64), nullable=False),
        sa.Column("old_value", sa.Text),
        sa.Column("new_value", sa.Text),
        sa.Column("old_effective", sa.Text),
        sa.Column("row_created", sa.Boolean, nullable=False),
    )
    op.create_index("ix_snflow_journal_run_id", "snflow_journal", ["run_id"])
    op.create_table(
        "snflow_move_nodes",
        sa.Column("run_id", _RUN, primary_key=True),
        sa.Column("node", _NODE, primary_key=True),
        sa.Column("old_sn", sa.Text),
        sa.Column("new_sn", sa.Text, nullable=False),
        sa.Column("old_master", sa.Text),
        sa.Column("new_master", sa.Text, nullable=False),
        sa.Column("master_ip", sa.Text),
        sa.Column("gateway", sa.Text),
        sa.Column("scripts", sa.Text, nullable=False),
        sa.Column("run_on_node", sa.Boolean, nullable=False),
        sa.Column("provmethod", sa.Text),
        sa.Column("changed", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("updated", sa.String(32), nullable=False),
    )
    op.create_table(
        "snflow_locks",
        sa.Column("node", _NODE, primary_key=True),
        sa.Column("run_id", _RUN, nullable=False),
        sa.Column("holder", _RUN, nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("since", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    for table in ("snflow_locks", "snflow_move_nodes", "snflow_journal", "snflow_moves"):
        op.drop_table(table)
