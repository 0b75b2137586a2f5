"""Every object the fake Stripe answers with has the shape of Stripe's own example object.

Same keys as the fixture (plus a few justified extras) and the same JSON type for each
value, `null` matching anything because most Stripe fields are nullable. The fake is
driven over plain HTTP, exactly as a client would drive it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrations.local.stripe.objects import FIXTURES
from integrations.local.stripe.server import FakeStripe, run_fake_stripe

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "stripe-fixtures3.json"
RESOURCES: dict[str, Any] = json.loads(REFERENCE.read_text())["resources"]


def test_the_local_stripe_builds_from_the_reference_fixtures_unchanged() -> None:
    assert FIXTURES.read_bytes() == REFERENCE.read_bytes()


# Keys the fake adds to the fixture's shape, each for a reason:
JUSTIFIED_EXTRAS = {
    # the fixture omits the union member; Stripe names the payment intent here
    "invoice_payment.payment.payment_intent",
    # update events carry the changed fields' old values
    "event.data.previous_attributes",
    # present when asked for with expand[]=payments
    "invoice.payments",
    # the fixture's error shows only the required `type`; a decline also says what and why
    *(
        f"payment_intent.last_payment_error.{key}"
        for key in ("charge", "code", "decline_code", "message")
    ),
}
FREE_FORM = {"metadata", "previous_attributes"}


def json_type(value: Any) -> str:
    for kind, python in (
        ("boolean", bool),
        ("integer", int),
        ("number", float),
        ("string", str),
        ("array", list),
        ("object", dict),
    ):
        if isinstance(value, python):
            return kind
    return "null"


def _kind(obj: dict[str, Any]) -> str | None:
    kind = obj.get("object")
    return kind if isinstance(kind, str) else None


def shape_problems(actual: Any, expected: Any, path: str) -> list[str]:
    if isinstance(actual, dict) and _kind(actual) in RESOURCES:
        kind = actual["object"]
        if not isinstance(expected, dict) or expected.get("object") != kind:
            expected, path = RESOURCES[kind], kind  # an embedded or expanded object
    if actual is None or expected is None:
        return []
    if json_type(actual) != json_type(expected):
        return [f"{path}: {json_type(actual)} where Stripe has {json_type(expected)}"]
    if isinstance(actual, list):
        sample = expected[0] if expected else None
        return [p for item in actual for p in shape_problems(item, sample, f"{path}[]")]
    if not isinstance(actual, dict) or path.rsplit(".", 1)[-1] in FREE_FORM:
        return []
    problems = [f"{path}.{key}: missing" for key in expected.keys() - actual.keys()]
    problems += [
        f"{path}.{key}: not in Stripe's object"
        for key in actual.keys() - expected.keys()
        if f"{path}.{key}" not in JUSTIFIED_EXTRAS
    ]
    for key in expected.keys() & actual.keys():
        problems += shape_problems(actual[key], expected[key], f"{path}.{key}")
    return problems


class Driver:
    """Posts forms to the fake and keeps every object it answers with, by kind."""

    def __init__(self, client: httpx.Client, fake: FakeStripe) -> None:
        self.client, self.fake = client, fake
        self.seen: dict[str, list[Any]] = {}

    def call(self, method: str, path: str, **params: Any) -> Any:
        response = self.client.request(
            method,
            path,
            params=params if method == "GET" else None,
            data=params if method == "POST" else None,
        )
        assert response.status_code == 200, response.text
        self.keep(response.json())
        return response.json()

    def keep(self, obj: Any) -> None:
        if isinstance(obj, dict):
            if _kind(obj) not in (None, "list"):
                self.seen.setdefault(obj["object"], []).append(obj)
            for value in obj.values():
                self.keep(value)
        elif isinstance(obj, list):
            for item in obj:
                self.keep(item)


@pytest.fixture(scope="module")
def driver() -> Iterator[Driver]:
    with run_fake_stripe() as fake:
        headers = {"Authorization": f"Bearer {fake.api_key}"}
        with httpx.Client(base_url=fake.url, headers=headers) as client:
            drive = Driver(client, fake)
            _whole_life_of_an_invoice(drive)
            _whole_life_of_a_subscription(drive)
            yield drive


def _whole_life_of_an_invoice(drive: Driver) -> None:
    customer = drive.call(
        "POST",
        "/v1/customers",
        email="ada@example.com",
        name="Ada",
        **{"metadata[empire_action_id]": "act_1"},
    )
    invoice = drive.call(
        "POST",
        "/v1/invoices",
        customer=customer["id"],
        collection_method="send_invoice",
        days_until_due="14",
        currency="usd",
        **{"metadata[empire_action_id]": "act_1"},
    )
    drive.call(
        "POST",
        "/v1/invoiceitems",
        customer=customer["id"],
        invoice=invoice["id"],
        amount="150000",
        currency="usd",
        description="Design work",
    )
    drive.call("POST", f"/v1/invoices/{invoice['id']}/finalize")
    drive.call("POST", f"/v1/invoices/{invoice['id']}/send")
    drive.fake.fail_invoice_payment(invoice["id"])
    drive.fake.pay_invoice(invoice["id"])
    drive.call("GET", f"/v1/invoices/{invoice['id']}", **{"expand[]": "payments"})
    payments = drive.call("GET", "/v1/invoice_payments", invoice=invoice["id"], status="paid")
    intent_id = payments["data"][0]["payment"]["payment_intent"]
    intent = drive.call("GET", f"/v1/payment_intents/{intent_id}", **{"expand[]": "latest_charge"})
    drive.call(
        "POST",
        "/v1/refunds",
        payment_intent=intent_id,
        amount="50000",
        reason="requested_by_customer",
        **{"metadata[empire_action_id]": "act_2"},
    )
    drive.call("GET", f"/v1/charges/{intent['latest_charge']['id']}")
    drive.call("GET", "/v1/refunds", payment_intent=intent_id)
    other = drive.call(
        "POST",
        "/v1/invoices",
        customer=customer["id"],
        collection_method="send_invoice",
        days_until_due="7",
    )
    drive.call(
        "POST",
        "/v1/invoiceitems",
        customer=customer["id"],
        invoice=other["id"],
        amount="900",
        description="Hosting",
    )
    drive.call("POST", f"/v1/invoices/{other['id']}/finalize")
    drive.call("POST", f"/v1/invoices/{other['id']}/void")
    for event in drive.fake.events():
        drive.call("GET", f"/v1/events/{event['id']}")


def _whole_life_of_a_subscription(drive: Driver) -> None:
    customer = drive.call("POST", "/v1/customers", email="bo@example.com")
    card = drive.fake.attach_card(customer["id"])
    drive.call("GET", f"/v1/payment_methods/{card}")
    drive.call(
        "POST",
        f"/v1/customers/{customer['id']}",
        name="Bo",
        **{"invoice_settings[default_payment_method]": card},
    )
    product = drive.call("POST", "/v1/products", name="Retainer")
    drive.call("POST", f"/v1/products/{product['id']}", description="Monthly design work")
    price = drive.call(
        "POST",
        "/v1/prices",
        product=product["id"],
        unit_amount="4900",
        currency="usd",
        **{"recurring[interval]": "month"},
    )
    drive.call("GET", "/v1/prices", product=product["id"], **{"lookup_keys[]": "none"})
    charged = drive.call(
        "POST",
        "/v1/subscriptions",
        customer=customer["id"],
        **{"items[0][price]": price["id"], "expand[]": "latest_invoice"},
    )
    sent = drive.call(
        "POST",
        "/v1/subscriptions",
        customer=customer["id"],
        collection_method="send_invoice",
        days_until_due="7",
        **{"items[0][price]": price["id"]},
    )
    drive.call("POST", f"/v1/subscriptions/{sent['id']}", cancel_at_period_end="true")
    drive.fake.advance(40 * 86_400)
    drive.call("GET", "/v1/subscriptions", status="all")
    drive.call("GET", f"/v1/invoices/{charged['latest_invoice']['id']}/lines")
    drive.call("DELETE", f"/v1/subscriptions/{charged['id']}")
    charge = drive.fake.objects("charge")[0]
    dispute = drive.fake.dispute(charge["id"])
    drive.call("GET", f"/v1/disputes/{dispute['id']}")
    drive.fake.close_dispute(dispute["id"], won=False)
    drive.call("GET", "/v1/disputes", charge=charge["id"])
    for event in drive.fake.events():
        drive.call("GET", f"/v1/events/{event['id']}")


KINDS = [
    "customer",
    "invoice",
    "invoiceitem",
    "line_item",
    "invoice_payment",
    "payment_intent",
    "charge",
    "refund",
    "event",
    "product",
    "price",
    "plan",
    "subscription",
    "subscription_item",
    "payment_method",
    "dispute",
]


@pytest.mark.parametrize("kind", KINDS)
def test_objects_of_each_kind_have_stripes_shape(driver: Driver, kind: str) -> None:
    answered = driver.seen.get(kind, [])
    assert answered, f"the scenario produced no {kind}"
    problems = sorted({p for obj in answered for p in shape_problems(obj, RESOURCES[kind], kind)})
    assert problems == []


def test_lists_have_stripes_list_shape(driver: Driver) -> None:
    listing = driver.call("GET", "/v1/customers", limit="1")
    assert set(listing) == {"object", "data", "has_more", "url"}
    assert listing["object"] == "list"
    assert listing["url"] == "/v1/customers"


def test_events_of_every_kind_carry_objects_of_stripes_shape(driver: Driver) -> None:
    types = {event["type"] for event in driver.seen["event"]}
    assert {
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_failed",
        "charge.refunded",
        "refund.created",
        "invoice.voided",
    } <= types
    for event in driver.seen["event"]:
        obj = event["data"]["object"]
        assert shape_problems(obj, RESOURCES[obj["object"]], obj["object"]) == []


def test_errors_have_stripes_error_shape(driver: Driver) -> None:
    response = driver.client.get("/v1/invoices/in_missing")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "resource_missing"
    assert error["message"] == "No such invoice: 'in_missing'"
    assert response.headers["Request-Id"].startswith("req_")


def test_the_shape_check_catches_a_wrong_type_a_missing_key_and_an_extra_key() -> None:
    customer = json.loads(json.dumps(RESOURCES["customer"]))
    customer["balance"] = "0"
    del customer["email"]
    customer["nickname"] = "Ada"
    assert sorted(shape_problems(customer, RESOURCES["customer"], "customer")) == [
        "customer.balance: string where Stripe has integer",
        "customer.email: missing",
        "customer.nickname: not in Stripe's object",
    ]


def test_ids_carry_stripes_prefixes(driver: Driver) -> None:
    prefixes = {
        "customer": "cus_",
        "invoice": "in_",
        "invoiceitem": "ii_",
        "line_item": "il_",
        "invoice_payment": "inpay_",
        "payment_intent": "pi_",
        "charge": "ch_",
        "refund": "re_",
        "event": "evt_",
        "product": "prod_",
        "price": "price_",
        "subscription": "sub_",
        "subscription_item": "si_",
        "payment_method": "pm_",
        "dispute": "du_",
    }
    for kind, prefix in prefixes.items():
        assert all(obj["id"].startswith(prefix) for obj in driver.seen[kind]), kind
