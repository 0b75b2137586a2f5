"""Checks that a webhook delivery really comes from Stripe, with the SDK's verification.

Stripe signs `"{t}.{raw body}"` with the endpoint's secret (HMAC-SHA256) and sends
`Stripe-Signature: t=…,v1=…`. A delivery older than `tolerance` seconds is refused, so a
captured request cannot be replayed later.
"""

from __future__ import annotations

import json
from typing import Any

import stripe


class InvalidWebhook(Exception):
    """Not a genuine, fresh Stripe event; `reason` is safe to log and show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify_event(
    payload: bytes, signature_header: str, secret: str, tolerance: int = 300
) -> dict[str, Any]:
    """The event as a plain dict, once its signature and age have been checked."""
    if not secret:
        raise InvalidWebhook("no webhook secret is configured")
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature_header, secret, tolerance)
    except UnicodeDecodeError as exc:
        raise InvalidWebhook("the body is not UTF-8 text") from exc
    except stripe.SignatureVerificationError as exc:
        raise InvalidWebhook(f"bad Stripe signature: {exc.user_message}") from exc
    try:
        event = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidWebhook("the body is not JSON") from exc
    if not isinstance(event, dict) or event.get("object") != "event" or "id" not in event:
        raise InvalidWebhook("the body is not a Stripe event")
    return event
