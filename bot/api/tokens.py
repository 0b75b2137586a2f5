"""API tokens: made once and shown once, kept only as a peppered hash, revoked by name.

A token is `emp_` and 43 URL-safe characters. The database holds HMAC-SHA256(pepper,
token) and the first 12 characters (to tell tokens apart in lists). Each token also has a
callback secret that signs the outcomes POSTed to its callback URLs; it is derived from the
stored hash with the pepper, so nothing more needs keeping.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import ApiToken
from storage.types import utcnow

TOKEN_PREFIX = "emp_"  # noqa: S105 - a prefix, not a secret
PREFIX_SHOWN = 12
SCOPES = {
    "payments:write": "ask for invoices, payments, subscriptions and refunds",
    "payments:read": "read an invoice's status from the ledger",
    "actions:read": "read action requests: state, approvals, outcome",
}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,59}")
_TOKEN = re.compile(r"emp_[A-Za-z0-9_-]{43}")
# `last used` is written at most this often per token, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


class TokenError(ValueError):
    """A name or scope that cannot be used; said in one line."""


@dataclass(frozen=True)
class Caller:
    """The token behind an authenticated request."""

    id: int
    name: str
    scopes: frozenset[str]
    token_hash: str
    last_use_stale: bool = False  # `last used` is older than TOUCH_EVERY

    @property
    def actor(self) -> str:
        """Who the audit log and the request record: `api:<name>`."""
        return f"api:{self.name}"


@dataclass(frozen=True)
class Created:
    name: str
    token: str
    callback_secret: str
    scopes: tuple[str, ...]


def token_hash(pepper: bytes, token: str) -> str:
    return hmac.new(pepper, token.encode("utf-8"), hashlib.sha256).hexdigest()


def callback_secret(pepper: bytes, hashed: str) -> str:
    """The key that signs this token's callbacks (`Empire-Signature`)."""
    derived = hmac.new(pepper, f"callback:{hashed}".encode(), hashlib.sha256).hexdigest()
    return f"cbsec_{derived}"


def parse_scopes(text: str) -> tuple[str, ...]:
    scopes = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise TokenError(
            f"unknown scope {unknown[0]!r}; the scopes are {', '.join(sorted(SCOPES))}"
        )
    if not scopes:
        raise TokenError("give at least one scope")
    return scopes


def create(session: Session, pepper: bytes, name: str, scopes: tuple[str, ...]) -> Created:
    if not NAME.fullmatch(name):
        raise TokenError(
            "a token name is 1 to 60 letters, digits, dots, dashes or underscores, "
            "starting with a letter or digit"
        )
    if session.execute(select(ApiToken.id).where(ApiToken.name == name)).first():
        raise TokenError(f"a token named {name!r} exists already (revoked ones keep their name)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    hashed = token_hash(pepper, token)
    session.add(
        ApiToken(
            name=name,
            prefix=token[:PREFIX_SHOWN],
            token_hash=hashed,
            scopes=list(scopes),
            created_at=utcnow(),
        )
    )
    try:
        session.flush()
    except IntegrityError:
        raise TokenError(f"a token named {name!r} exists already") from None
    return Created(name, token, callback_secret(pepper, hashed), scopes)


def all_tokens(session: Session) -> list[ApiToken]:
    return list(session.execute(select(ApiToken).order_by(ApiToken.id)).scalars())


def revoke(session: Session, name: str) -> ApiToken:
    found = session.execute(
        select(ApiToken).where(ApiToken.name == name).with_for_update()
    ).scalar_one_or_none()
    if found is None:
        raise TokenError(f"there is no token named {name!r}")
    if found.revoked_at is None:
        found.revoked_at = utcnow()
    return found


def authenticate(session: Session, pepper: bytes, token: str) -> Caller | None:
    """The live token `token` is, or None (a read: `touch` records the use)."""
    if not _TOKEN.fullmatch(token):
        return None
    found = session.execute(
        select(ApiToken).where(ApiToken.token_hash == token_hash(pepper, token))
    ).scalar_one_or_none()
    if found is None or found.revoked_at is not None:
        return None
    stale = found.last_used_at is None or utcnow() - found.last_used_at >= TOUCH_EVERY
    return Caller(found.id, found.name, frozenset(found.scopes), found.token_hash, stale)


def touch(session: Session, caller: Caller) -> None:
    """Record that the token was used now."""
    session.execute(
        update(ApiToken)
        .where(ApiToken.id == caller.id)
        .values(last_used_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def describe_time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"
