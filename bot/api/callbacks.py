"""Deliver API callbacks: the outcome of a request, POSTed signed to the client's URL.

`Empire-Signature: t=<unix time>,v1=<hex>` where hex is HMAC-SHA256 of `<t>.<body>` under
the token's callback secret (shown once by `empire api-token create`), as Stripe signs its
webhooks. A delivery that is not answered 2xx is tried again with growing pauses, up to
the outbox's attempt limit. Redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from bot.api.bodies import Outcome
from bot.api.tokens import callback_secret
from storage import outbox
from storage.models import ApiToken

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "Empire-Signature"
LEASE = timedelta(seconds=60)
TIMEOUT = 10.0
BACKOFF = (5, 30, 120, 600, 1800, 3600, 7200)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(
    secret: str, body: bytes, header: str, tolerance: int = 300, now: int | None = None
) -> bool:
    """What a receiver does (a reference for the README and the tests)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else int(time.time())) - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


class CallbackSender:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        pepper: bytes,
        post: Callable[[str, bytes, dict[str, str]], int] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessions
        self._pepper = pepper
        self._post = post or _post
        self._clock = clock

    def run_once(self) -> int:
        with self._sessions.begin() as session:
            if not outbox.has_due(session, (outbox.CALLBACK,)):
                return 0
            due = [
                (message.id, dict(message.body), message.attempts)
                for message in outbox.claim_due(session, LEASE, limit=5, kinds=(outbox.CALLBACK,))
            ]
        for message_id, body, attempts in due:
            self._settle(message_id, attempts, self._deliver(message_id, body))
        return len(due)

    def _deliver(self, message_id: int, body: dict[str, Any]) -> str | None:
        url = str(body.get("callback_url") or "")
        token_id = body.get("token_id")
        hashed = None
        if isinstance(token_id, int):
            with self._sessions.begin() as session:
                token = session.get(ApiToken, token_id)
                hashed = token.token_hash if token is not None else None
        if not url or hashed is None:
            return "no callback URL or token"
        content = json.dumps(
            Outcome.model_validate(body["outcome"]).model_dump(mode="json"),
            separators=(",", ":"),
        ).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "business-empire-callbacks/1",
            SIGNATURE_HEADER: sign(
                callback_secret(self._pepper, hashed), content, int(self._clock())
            ),
            "Empire-Delivery": str(message_id),
            "Empire-Request-Id": str(body.get("request_id")),
        }
        try:
            status = self._post(url, content, headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:500]
        return None if 200 <= status < 300 else f"answered {status}"

    def _settle(self, message_id: int, attempts: int, failure: str | None) -> None:
        if failure is not None:
            log.warning("callback %s not delivered: %s", message_id, failure)
        with self._sessions.begin() as session:
            outbox.settle(session, message_id, attempts, failure, BACKOFF)


def _post(url: str, content: bytes, headers: dict[str, str]) -> int:
    response = httpx.post(
        url, content=content, headers=headers, timeout=TIMEOUT, follow_redirects=False
    )
    return response.status_code
