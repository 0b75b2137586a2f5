"""ledger, clients, reconciliation, scheduled jobs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 15:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handle", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("stripe_customer", sa.String(length=80), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
        sa.UniqueConstraint("email", name=op.f("uq_clients_email")),
        sa.UniqueConstraint("handle", name=op.f("uq_clients_handle")),
        sa.UniqueConstraint("stripe_customer", name=op.f("uq_clients_stripe_customer")),
    )
    op.create_table(
        "ledger_disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stripe_id", sa.String(length=80), nullable=False),
        sa.Column("charge", sa.String(length=80), nullable=True),
        sa.Column("payment_intent", sa.String(length=80), nullable=True),
        sa.Column("invoice", sa.String(length=80), nullable=True),
        sa.Column("customer", sa.String(length=80), nullable=True),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=60), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("as_of", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_disputes")),
        sa.UniqueConstraint("stripe_id", name=op.f("uq_ledger_disputes_stripe_id")),
    )
    with op.batch_alter_table("ledger_disputes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_disputes_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ledger_disputes_invoice"), ["invoice"], unique=False)

    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("object_id", sa.String(length=80), nullable=False),
        sa.Column("event_id", sa.String(length=80), nullable=True),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("happened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("object_id", "event_id", name=op.f("uq_ledger_entries_object_id")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_object_id"), ["object_id"], unique=False
        )

    op.create_table(
        "ledger_invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stripe_id", sa.String(length=80), nullable=False),
        sa.Column("customer", sa.String(length=80), nullable=True),
        sa.Column("customer_email", sa.String(length=254), nullable=True),
        sa.Column("subscription", sa.String(length=80), nullable=True),
        sa.Column("number", sa.String(length=80), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_due", sa.BigInteger(), nullable=False),
        sa.Column("amount_paid", sa.BigInteger(), nullable=False),
        sa.Column("amount_remaining", sa.BigInteger(), nullable=False),
        sa.Column("paid_out_of_band", sa.Boolean(), nullable=False),
        sa.Column("payment_intent", sa.String(length=80), nullable=True),
        sa.Column("charge", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finalized_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hosted_invoice_url", sa.Text(), nullable=True),
        sa.Column("invoice_pdf", sa.Text(), nullable=True),
        sa.Column("action_uid", sa.String(length=40), nullable=True),
        sa.Column("as_of", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_invoices")),
        sa.UniqueConstraint("stripe_id", name=op.f("uq_ledger_invoices_stripe_id")),
    )
    with op.batch_alter_table("ledger_invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_invoices_charge"), ["charge"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_invoices_customer"), ["customer"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_invoices_paid_at"), ["paid_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ledger_invoices_payment_intent"), ["payment_intent"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_invoices_subscription"), ["subscription"], unique=False
        )

    op.create_table(
        "ledger_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stripe_id", sa.String(length=80), nullable=False),
        sa.Column("invoice", sa.String(length=80), nullable=True),
        sa.Column("payment_intent", sa.String(length=80), nullable=True),
        sa.Column("charge", sa.String(length=80), nullable=True),
        sa.Column("customer", sa.String(length=80), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action_uid", sa.String(length=40), nullable=True),
        sa.Column("as_of", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_refunds")),
        sa.UniqueConstraint("stripe_id", name=op.f("uq_ledger_refunds_stripe_id")),
    )
    with op.batch_alter_table("ledger_refunds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_refunds_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ledger_refunds_invoice"), ["invoice"], unique=False)

    op.create_table(
        "ledger_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stripe_id", sa.String(length=80), nullable=False),
        sa.Column("customer", sa.String(length=80), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("plan", sa.String(length=200), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("interval", sa.String(length=10), nullable=False),
        sa.Column("interval_count", sa.Integer(), nullable=False),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("action_uid", sa.String(length=40), nullable=True),
        sa.Column("as_of", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_subscriptions")),
        sa.UniqueConstraint("stripe_id", name=op.f("uq_ledger_subscriptions_stripe_id")),
    )
    with op.batch_alter_table("ledger_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_subscriptions_customer"), ["customer"], unique=False
        )

    op.create_table(
        "reconciliation_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=80), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_findings")),
        sa.UniqueConstraint("key", name=op.f("uq_reconciliation_findings_key")),
    )
    op.create_table(
        "scheduled_jobs",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=80), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_result", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduled_jobs")),
    )


def downgrade() -> None:

    op.drop_table("scheduled_jobs")
    op.drop_table("reconciliation_findings")
    with op.batch_alter_table("ledger_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_subscriptions_customer"))

    op.drop_table("ledger_subscriptions")
    with op.batch_alter_table("ledger_refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_refunds_invoice"))
        batch_op.drop_index(batch_op.f("ix_ledger_refunds_created_at"))

    op.drop_table("ledger_refunds")
    with op.batch_alter_table("ledger_invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_invoices_subscription"))
        batch_op.drop_index(batch_op.f("ix_ledger_invoices_payment_intent"))
        batch_op.drop_index(batch_op.f("ix_ledger_invoices_paid_at"))
        batch_op.drop_index(batch_op.f("ix_ledger_invoices_customer"))
        batch_op.drop_index(batch_op.f("ix_ledger_invoices_charge"))

    op.drop_table("ledger_invoices")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_object_id"))

    op.drop_table("ledger_entries")
    with op.batch_alter_table("ledger_disputes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_disputes_invoice"))
        batch_op.drop_index(batch_op.f("ix_ledger_disputes_created_at"))

    op.drop_table("ledger_disputes")
    op.drop_table("clients")
