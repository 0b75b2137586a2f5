"""Verification signatures of executed transactions.

Each executed request gets a canonical record (what was done, to which Stripe object, for
how much, approved by whom, when) and its HMAC-SHA256 under a key kept outside the
database. Someone able to rewrite the database, and so to recompute the audit chain,
still cannot make a changed transaction verify.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from governance.canonical import canonical_json
from governance.requests import State
from storage.models import ActionRequest, TransactionSignature


def transaction_record(
    request: ActionRequest, approved_by: Iterable[str], executed_at: datetime
) -> dict[str, Any]:
    return {
        "request": request.id,
        "uid": request.uid,
        "action": request.action,
        "payload_hash": request.payload_hash,
        "amount_minor": request.amount_minor,
        "currency": request.currency,
        "object_id": request.result.get("object_id"),
        "approved_by": sorted(approved_by),
        "executed_at": executed_at.isoformat(timespec="microseconds"),
    }


def sign(key: bytes, record_text: str) -> str:
    return hmac.new(key, record_text.encode("utf-8"), hashlib.sha256).hexdigest()


def add(session: Session, key: bytes, record: dict[str, Any], at: datetime) -> None:
    text = canonical_json(record)
    session.add(
        TransactionSignature(
            request_id=record["request"], record=text, signature=sign(key, text), created_at=at
        )
    )


@dataclass(frozen=True)
class SignatureVerdict:
    ok: bool
    signed: int
    bad_request: int | None = None
    reason: str | None = None


# What a signed record must still say about its request.
_FIELDS = ("uid", "action", "payload_hash", "amount_minor", "currency")


def verify(session: Session, key: bytes) -> SignatureVerdict:
    """Every executed request is signed, and every signature fits its record and request."""
    signed = 0
    rows = session.execute(
        select(ActionRequest, TransactionSignature)
        .outerjoin(TransactionSignature, TransactionSignature.request_id == ActionRequest.id)
        .where(ActionRequest.state == State.SUCCEEDED.value)
        .order_by(ActionRequest.id)
    ).all()
    for request, signature in rows:
        problem = _problem(request, signature, key)
        if problem:
            return SignatureVerdict(False, signed, request.id, problem)
        signed += 1
    return SignatureVerdict(True, signed)


def _problem(
    request: ActionRequest, signature: TransactionSignature | None, key: bytes
) -> str | None:
    if signature is None:
        return "executed but not signed"
    if not hmac.compare_digest(sign(key, signature.record), signature.signature):
        return "its signature does not match its record"
    record = json.loads(signature.record)
    for field in _FIELDS:
        if record.get(field) != getattr(request, field):
            return f"its {field} differs from the signed record"
    if record.get("object_id") != request.result.get("object_id"):
        return "its object_id differs from the signed record"
    return None
