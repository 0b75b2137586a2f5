"""The API's request bodies: what each field accepts before anything is stored."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bot.api.bodies import InvoiceBody, ProcessBody, RefundBody, SubscriptionBody

BASE = {"client": "acme@example.com", "amount": "1500", "description": "Build"}


def fields_of(error: ValidationError) -> set[str]:
    return {str(part) for item in error.errors() for part in item["loc"]}


@pytest.mark.parametrize(
    ("client", "kept"),
    [
        ("Ann@Example.COM", "Ann@example.com"),
        ("acme", "acme"),
        ("@Acme-2", "acme-2"),
    ],
)
def test_a_client_is_an_email_or_a_handle(client: str, kept: str) -> None:
    assert InvoiceBody.model_validate({**BASE, "client": client}).client == kept


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"client": "two words"}, "client"),
        ({"client": "a@b"}, "client"),
        ({"amount": 1500}, "amount"),
        ({"amount": 1500.5}, "amount"),
        ({"description": "nul\x00inside"}, "description"),
        ({"description": "\ud800"}, "description"),
        ({"description": ""}, "description"),
        ({"due_days": 366}, "due_days"),
        ({"callback_url": "http://"}, "callback_url"),
        ({"callback_url": "https://x.example/a b"}, "callback_url"),
        ({"callback_url": "http://[::1"}, "callback_url"),
        ({"callback_url": "http://x.example:port/"}, "callback_url"),
        ({"currency": "dollars"}, "currency"),
        ({"extra": True}, "extra"),
    ],
)
def test_invoice_bodies_are_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        InvoiceBody.model_validate({**BASE, **changes})
    assert field in fields_of(caught.value)


def test_descriptions_keep_line_breaks_and_lose_outer_spaces() -> None:
    body = InvoiceBody.model_validate({**BASE, "description": "  line one\n\tline two  "})
    assert body.description == "line one\n\tline two"
    assert body.due_days == 30


def test_a_callback_url_is_kept_as_written() -> None:
    url = "https://crm.example.com:8443/hooks/empire?tenant=7"
    assert InvoiceBody.model_validate({**BASE, "callback_url": url}).callback_url == url


def test_out_of_band_needs_a_note_and_a_card_payment_takes_none() -> None:
    assert ProcessBody.model_validate({"invoice_id": "in_1"}).method == "card"
    with pytest.raises(ValidationError, match="required"):
        ProcessBody.model_validate({"invoice_id": "in_1", "method": "out_of_band"})
    with pytest.raises(ValidationError, match="only for"):
        ProcessBody.model_validate({"invoice_id": "in_1", "note": "cash"})


def test_ids_and_intervals_are_checked() -> None:
    with pytest.raises(ValidationError):
        RefundBody.model_validate({"invoice_id": "ch_1", "reason": "x"})
    with pytest.raises(ValidationError):
        SubscriptionBody.model_validate({**BASE, "interval": "day", "plan": "p"})
