"""transaction signatures

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 15:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "transaction_signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["action_requests.id"],
            name=op.f("fk_transaction_signatures_request_id_action_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transaction_signatures")),
        sa.UniqueConstraint("request_id", name=op.f("uq_transaction_signatures_request_id")),
    )


def downgrade() -> None:
    op.drop_table("transaction_signatures")
