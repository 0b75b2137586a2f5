"""The database schema, as SQLAlchemy 2 typed models. Migrations live in storage/migrations."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Json = JSON()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ActionRequest(Base):
    """One thing someone asked the bot to do, from request to outcome."""

    __tablename__ = "action_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(40), unique=True)
    action: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(20), index=True)
    requester: Mapped[str] = mapped_column(String(80))
    origin: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    payload_hash: Mapped[str] = mapped_column(String(64))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    rule_name: Mapped[str | None] = mapped_column(String(120))
    approvals_required: Mapped[int] = mapped_column(Integer, default=1)
    approvers: Mapped[list[str]] = mapped_column(Json, default=list)
    approver_hint: Mapped[str] = mapped_column(String(200), default="")
    policy_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decision_note: Mapped[str | None] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer, default=1)  # executions, Retry included
    key_generation: Mapped[int] = mapped_column(Integer, default=1)  # part of idempotency keys
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    result: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    card_channel: Mapped[str | None] = mapped_column(String(40))
    card_ts: Mapped[str | None] = mapped_column(String(40))
    card_version: Mapped[int] = mapped_column(Integer, default=1)
    card_synced_version: Mapped[int] = mapped_column(Integer, default=0)
    card_lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    editable: Mapped[bool] = mapped_column(Boolean, default=False)  # the card has Edit
    edits: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)  # who changed what
    # Approvals given before this moment no longer count (freshness lapsed).
    approvals_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    fresh_for_seconds: Mapped[int | None] = mapped_column(Integer)
    remind_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    escalate_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    escalate_to: Mapped[list[str]] = mapped_column(Json, default=list)  # Slack user IDs
    escalation_hint: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (Index("ix_action_requests_card_sync", "card_synced_version", "card_version"),)


class Approval(Base):
    """One person's approval of one exact payload (its hash) of a request."""

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("action_requests.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(80))
    payload_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (UniqueConstraint("request_id", "user_id", "payload_hash"),)


class ActionStep(Base):
    """A step of an execution that an outside service has confirmed; never run again."""

    __tablename__ = "action_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("action_requests.id"), index=True)
    step: Mapped[str] = mapped_column(String(60))
    key_generation: Mapped[int] = mapped_column(Integer)
    result: Mapped[dict[str, Any]] = mapped_column(Json)
    completed_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (UniqueConstraint("request_id", "step"),)


class TransactionSignature(Base):
    """An executed transaction's canonical record and its HMAC-SHA256, keyed outside the DB."""

    __tablename__ = "transaction_signatures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("action_requests.id"), unique=True)
    record: Mapped[str] = mapped_column(Text)  # canonical JSON, signed as stored
    signature: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditEntry(Base):
    """A link of the hash chain: `hash` = SHA-256(prev_hash + canonical JSON of the entry)."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(60))
    request_id: Mapped[int | None] = mapped_column(Integer, index=True)
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, hashed as stored
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The single row every append locks, so appends form one chain."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class OutboxMessage(Base):
    """A message to Slack written in the same transaction as the change it reports."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # ephemeral | notify
    body: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)


class WebhookEvent(Base):
    """A Stripe event as delivered, stored raw before it is processed, once per event id."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(80), unique=True)
    type: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    deliveries: Mapped[int] = mapped_column(Integer, default=1)


class Client(Base):
    """Someone the business bills: kept in step with a Stripe customer, named by a short handle."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handle: Mapped[str] = mapped_column(String(40), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    stripe_customer: Mapped[str | None] = mapped_column(String(80), unique=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LedgerInvoice(Base):
    """The latest known state of a Stripe invoice, as its events and re-reads told it.

    Amounts are integer minor units in `currency`; `as_of` is the Stripe time (event
    `created`) of the snapshot applied last, so an older event never overwrites a newer one.
    """

    __tablename__ = "ledger_invoices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stripe_id: Mapped[str] = mapped_column(String(80), unique=True)
    customer: Mapped[str | None] = mapped_column(String(80), index=True)
    customer_email: Mapped[str | None] = mapped_column(String(254))
    subscription: Mapped[str | None] = mapped_column(String(80), index=True)
    number: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20))  # draft|open|paid|uncollectible|void
    currency: Mapped[str] = mapped_column(String(3))
    amount_due: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_remaining: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_out_of_band: Mapped[bool] = mapped_column(Boolean, default=False)
    payment_intent: Mapped[str | None] = mapped_column(String(80), index=True)
    charge: Mapped[str | None] = mapped_column(String(80), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finalized_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    voided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    hosted_invoice_url: Mapped[str | None] = mapped_column(Text)
    invoice_pdf: Mapped[str | None] = mapped_column(Text)
    action_uid: Mapped[str | None] = mapped_column(String(40))  # metadata.empire_action_id
    as_of: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LedgerRefund(Base):
    __tablename__ = "ledger_refunds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stripe_id: Mapped[str] = mapped_column(String(80), unique=True)
    invoice: Mapped[str | None] = mapped_column(String(80), index=True)
    payment_intent: Mapped[str | None] = mapped_column(String(80))
    charge: Mapped[str | None] = mapped_column(String(80))
    customer: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20))  # pending|succeeded|failed|canceled
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    action_uid: Mapped[str | None] = mapped_column(String(40))
    as_of: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LedgerDispute(Base):
    __tablename__ = "ledger_disputes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stripe_id: Mapped[str] = mapped_column(String(80), unique=True)
    charge: Mapped[str | None] = mapped_column(String(80))
    payment_intent: Mapped[str | None] = mapped_column(String(80))
    invoice: Mapped[str | None] = mapped_column(String(80), index=True)
    customer: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(40))  # needs_response|…|won|lost
    reason: Mapped[str | None] = mapped_column(String(60))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    as_of: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LedgerSubscription(Base):
    """A subscription's price per interval and the span it was live, for MRR at any time."""

    __tablename__ = "ledger_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stripe_id: Mapped[str] = mapped_column(String(80), unique=True)
    customer: Mapped[str | None] = mapped_column(String(80), index=True)
    status: Mapped[str] = mapped_column(String(20))
    plan: Mapped[str | None] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)  # per interval
    interval: Mapped[str] = mapped_column(String(10))  # day|week|month|year
    interval_count: Mapped[int] = mapped_column(Integer, default=1)
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    current_period_end: Mapped[datetime | None] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    canceled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    action_uid: Mapped[str | None] = mapped_column(String(40))
    as_of: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LedgerEntry(Base):
    """One line of an object's history (`/empire status`): what happened, when, how much."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_id: Mapped[str] = mapped_column(String(80), index=True)  # in_…, sub_…
    event_id: Mapped[str | None] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(60))  # the Stripe event type, or empire.*
    happened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("object_id", "event_id"),)


class ReconciliationFinding(Base):
    """Something that moved in Stripe without an approved request; reported once."""

    __tablename__ = "reconciliation_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)  # kind:object id
    kind: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(80))
    detail: Mapped[dict[str, Any]] = mapped_column(Json)
    found_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PolicyVersion(Base):
    """Each policy file the bot has run under, by digest; `seen_at`: when it last became the
    one in force. The newest is the policy in force: a change is announced once."""

    __tablename__ = "policy_versions"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ScheduledJob(Base):
    """A periodic job's next run and the lease that makes one process run it."""

    __tablename__ = "scheduled_jobs"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UtcDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_run_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_result: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class Secret(Base):
    """A credential, Fernet-encrypted under the master key; the value never leaves encrypted."""

    __tablename__ = "secrets"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    ciphertext: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(16))  # which master key encrypted it
    owner: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    rotated_at: Mapped[datetime] = mapped_column(UtcDateTime())  # when the value last changed
    rotate_every_days: Mapped[int] = mapped_column(Integer, default=90)
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SecretAccess(Base):
    """Every read and change of a secret: who or what, when, why. Never the value."""

    __tablename__ = "secret_access_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    action: Mapped[str] = mapped_column(String(20))  # read | set | rotate | reencrypt | delete
    actor: Mapped[str] = mapped_column(String(120))
    purpose: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApiToken(Base):
    """A bearer token of the REST API, kept as a peppered hash; its scopes limit it."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists, to tell tokens apart
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(Json, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ApiIdempotency(Base):
    """The first answer to a POST with an `Idempotency-Key`, replayed for the same body."""

    __tablename__ = "api_idempotency"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (UniqueConstraint("token_id", "key"),)


def table_of(model: type[Base]) -> Table:
    """The Core table behind a model, for statements built once and reused."""
    return cast(Table, model.__table__)


class AuditCheckpoint(Base):
    """A state of the audit chain posted outside the database: its head's number and hash.

    The checkpoint's own audit entry is that head, so nothing new since means no new one.
    """

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
