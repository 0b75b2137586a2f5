"""request timing and edits, policy versions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("action_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("editable", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("edits", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("approvals_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("fresh_for_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalate_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("escalate_to", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("escalation_hint", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.create_index(
            batch_op.f("ix_action_requests_remind_at"), ["remind_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_action_requests_escalate_at"), ["escalate_at"], unique=False
        )
    op.create_table(
        "policy_versions",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_policy_versions")),
    )


def downgrade() -> None:
    op.drop_table("policy_versions")
    with op.batch_alter_table("action_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_requests_escalate_at"))
        batch_op.drop_index(batch_op.f("ix_action_requests_remind_at"))
        for column in (
            "escalation_hint",
            "escalate_to",
            "escalate_at",
            "remind_at",
            "fresh_for_seconds",
            "approved_at",
            "approvals_since",
            "edits",
            "editable",
        ):
            batch_op.drop_column(column)
