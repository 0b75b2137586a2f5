"""`verify_event`: only genuine, fresh Stripe events get through."""

from __future__ import annotations

import json
import time

import pytest

from integrations.local.stripe.webhook_sender import signature_header
from integrations.stripe_webhooks import InvalidWebhook, verify_event

SECRET = "whsec_test_secret"
EVENT = {"id": "evt_1", "object": "event", "type": "invoice.paid", "data": {"object": {}}}


def signed(body: str, *, secret: str = SECRET, age: int = 0) -> tuple[bytes, str]:
    return body.encode(), signature_header(body, secret, int(time.time()) - age)


def test_a_correctly_signed_event_is_returned() -> None:
    payload, header = signed(json.dumps(EVENT))
    assert verify_event(payload, header, SECRET) == EVENT


def test_any_of_several_signatures_may_match_during_secret_rotation() -> None:
    payload, header = signed(json.dumps(EVENT))
    _, old = signed(json.dumps(EVENT), secret="whsec_old")
    rotated = f"{header},v1={old.split('v1=')[1]}"
    assert verify_event(payload, rotated, SECRET)["id"] == "evt_1"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("", "No Stripe-Signature header"),
        ("garbage", "Unable to extract timestamp"),
        ("t=1700000000", "No signatures found with expected scheme"),
    ],
)
def test_a_missing_or_malformed_header_is_refused(header: str, reason: str) -> None:
    with pytest.raises(InvalidWebhook, match=reason):
        verify_event(json.dumps(EVENT).encode(), header, SECRET)


def test_a_signature_made_with_another_secret_is_refused() -> None:
    payload, header = signed(json.dumps(EVENT), secret="whsec_someone_else")
    with pytest.raises(InvalidWebhook, match="No signatures found matching"):
        verify_event(payload, header, SECRET)


def test_a_changed_body_is_refused() -> None:
    payload, header = signed(json.dumps(EVENT))
    with pytest.raises(InvalidWebhook):
        verify_event(payload.replace(b"invoice.paid", b"invoice.void"), header, SECRET)


def test_an_old_delivery_is_refused() -> None:
    payload, header = signed(json.dumps(EVENT), age=301)
    with pytest.raises(InvalidWebhook, match="tolerance"):
        verify_event(payload, header, SECRET)
    assert verify_event(payload, header, SECRET, tolerance=600)["id"] == "evt_1"


@pytest.mark.parametrize(
    ("body", "reason"),
    [("not json", "not JSON"), ("[1, 2]", "not a Stripe event"), ('{"object": "plan"}', "not a")],
)
def test_a_signed_body_that_is_not_an_event_is_refused(body: str, reason: str) -> None:
    payload, header = signed(body)
    with pytest.raises(InvalidWebhook, match=reason):
        verify_event(payload, header, SECRET)


def test_a_body_that_is_not_text_is_refused() -> None:
    with pytest.raises(InvalidWebhook, match="UTF-8"):
        verify_event(b"\xff\xfe", "t=1,v1=00", SECRET)


def test_without_a_secret_nothing_is_accepted() -> None:
    payload, header = signed(json.dumps(EVENT), secret=" ")
    with pytest.raises(InvalidWebhook, match="no webhook secret"):
        verify_event(payload, header, "")
