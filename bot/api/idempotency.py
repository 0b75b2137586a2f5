"""`Idempotency-Key`: the first answer to a POST is kept and replayed for the same body.

The key is claimed (a row with status 0) before the request is submitted, so two
concurrent calls with one key cannot both create a request: the second is told the first
is still in progress (409). The same key with another body is refused (409).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from governance.canonical import canonical_json, sha256_hex
from storage.models import ApiIdempotency
from storage.types import utcnow

IN_PROGRESS = 0


@dataclass(frozen=True)
class Claimed:
    row_id: int


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Conflict:
    in_progress: bool


def request_hash(method: str, path: str, body: dict[str, Any]) -> str:
    """What "the same request" means: the route and the body as validated (defaults in)."""
    return sha256_hex(canonical_json({"method": method, "path": path, "body": body}))


def claim(
    sessions: sessionmaker[Session], token_id: int, key: str, hashed: str
) -> Claimed | Replay | Conflict:
    try:
        with sessions.begin() as session:
            row = ApiIdempotency(
                token_id=token_id,
                key=key,
                request_hash=hashed,
                status=IN_PROGRESS,
                body={},
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            return Claimed(row.id)
    except IntegrityError:
        pass
    with sessions.begin() as session:
        found = session.execute(
            select(ApiIdempotency).where(
                ApiIdempotency.token_id == token_id, ApiIdempotency.key == key
            )
        ).scalar_one_or_none()
        if found is None:  # released meanwhile by a call that failed: try once more
            return Conflict(in_progress=True)
        if found.request_hash != hashed:
            return Conflict(in_progress=False)
        if found.status == IN_PROGRESS:
            return Conflict(in_progress=True)
        return Replay(found.status, dict(found.body))


def keep(sessions: sessionmaker[Session], claimed: Claimed, status: int, body: Any) -> None:
    with sessions.begin() as session:
        session.execute(
            update(ApiIdempotency)
            .where(ApiIdempotency.id == claimed.row_id)
            .values(status=status, body=body)
            .execution_options(synchronize_session=False)
        )


def release(sessions: sessionmaker[Session], claimed: Claimed) -> None:
    """The call failed before creating anything: the key may be used again."""
    with sessions.begin() as session:
        session.execute(delete(ApiIdempotency).where(ApiIdempotency.id == claimed.row_id))
