"""The database schema, as SQLAlchemy 2 typed models. Migrations live in storage/migrations."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
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


def table_of(model: type[Base]) -> Table:
    """The Core table behind a model, for statements built once and reused."""
    return cast(Table, model.__table__)
