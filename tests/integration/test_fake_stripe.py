"""The fake Stripe server driven by the real `stripe` SDK over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from integrations.local.server import serving
from integrations.local.stripe.server import FakeStripe

SECRET = "whsec_test_secret"


def sdk(fake: FakeStripe, retries: int = 0, api_key: str | None = None) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key or fake.api_key,
        base_addresses={"api": fake.url},
        http_client=stripe.HTTPXClient(timeout=5, allow_sync_methods=True),
        max_network_retries=retries,
    )


@pytest.fixture
def client(fake: FakeStripe) -> stripe.StripeClient:
    return sdk(fake)


def open_invoice(client: stripe.StripeClient, amount: int = 150000) -> stripe.Invoice:
    customer = client.v1.customers.create(params={"email": "ada@example.com"})
    invoice = client.v1.invoices.create(
        params={
            "customer": customer.id,
            "collection_method": "send_invoice",
            "days_until_due": 14,
            "currency": "usd",
        }
    )
    client.v1.invoice_items.create(
        params={"customer": customer.id, "invoice": invoice.id, "amount": amount}
    )
    return client.v1.invoices.finalize_invoice(invoice.id)


def paid_intent(fake: FakeStripe, client: stripe.StripeClient) -> str:
    invoice = open_invoice(client)
    fake.pay_invoice(invoice.id)
    payments = client.v1.invoice_payments.list(params={"invoice": invoice.id, "status": "paid"})
    intent = payments.data[0].payment.payment_intent
    assert isinstance(intent, str)
    return intent


# -- authentication and wire format ----------------------------------------------------


def test_a_wrong_api_key_is_refused_with_401(fake: FakeStripe) -> None:
    with pytest.raises(stripe.AuthenticationError) as caught:
        sdk(fake, api_key="sk_test_wrong_key_1234").v1.customers.list()
    assert caught.value.http_status == 401
    assert fake.count("GET", "/v1/customers", status=401) == 1
    assert fake.objects("customer") == []


def test_unknown_parameters_are_refused_like_stripe_does(fake: FakeStripe) -> None:
    response = httpx.post(
        f"{fake.url}/v1/customers",
        data={"email": "ada@example.com", "colour": "blue"},
        headers={"Authorization": f"Bearer {fake.api_key}"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parameter_unknown"
    assert response.json()["error"]["param"] == "colour"
    assert response.headers["Request-Id"].startswith("req_")


def test_nested_form_keys_arrive_as_nested_values(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    client.v1.customers.create(
        params={"email": "ada@example.com", "metadata": {"empire_action_id": "act_1"}},
        options={"idempotency_key": "key-1"},
    )
    (call,) = fake.calls("POST", "/v1/customers")
    assert call.params == {"email": "ada@example.com", "metadata": {"empire_action_id": "act_1"}}
    assert call.idempotency_key == "key-1"
    assert call.status == 200


def test_lists_page_newest_first_and_filter_by_email(client: stripe.StripeClient) -> None:
    created = [
        client.v1.customers.create(params={"email": f"c{n}@example.com"}).id for n in range(3)
    ]
    client.v1.customers.create(params={"email": "c1@example.com"})
    first = client.v1.customers.list(params={"limit": 2})
    assert first.has_more is True
    everyone = [c.id for c in client.v1.customers.list(params={"limit": 2}).auto_paging_iter()]
    assert everyone[1:] == created[::-1]
    matching = client.v1.customers.list(params={"email": "c1@example.com"}).data
    assert [c.email for c in matching] == ["c1@example.com", "c1@example.com"]


# -- idempotency ------------------------------------------------------------------------


def test_the_same_key_and_params_replay_the_first_answer(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    params: Any = {"email": "ada@example.com"}
    first = client.v1.customers.create(params=params, options={"idempotency_key": "k"})
    again = client.v1.customers.create(params=params, options={"idempotency_key": "k"})
    assert again.id == first.id
    assert again.last_response is not None
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(fake.objects("customer")) == 1
    assert len(fake.events("customer.created")) == 1


def test_a_forgotten_key_runs_the_request_again(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    params: Any = {"email": "ada@example.com"}
    client.v1.customers.create(params=params, options={"idempotency_key": "k"})
    fake.forget_idempotency_keys()
    client.v1.customers.create(params=params, options={"idempotency_key": "k"})
    assert len(fake.objects("customer")) == 2


def test_the_same_key_with_other_params_is_an_idempotency_error(
    client: stripe.StripeClient,
) -> None:
    client.v1.customers.create(params={"email": "a@example.com"}, options={"idempotency_key": "k"})
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create(
            params={"email": "b@example.com"}, options={"idempotency_key": "k"}
        )


def test_an_answer_to_failed_validation_is_not_kept_for_the_key(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.invoices.create(params={"currency": "usd"}, options={"idempotency_key": "k"})
    assert caught.value.code == "parameter_missing"
    customer = client.v1.customers.create(params={"email": "a@example.com"})
    invoice = client.v1.invoices.create(
        params={"customer": customer.id, "currency": "usd"}, options={"idempotency_key": "k2"}
    )
    assert invoice.status == "draft"


def test_a_refusal_after_execution_began_is_replayed(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    intent = paid_intent(fake, client)
    too_much: Any = {"payment_intent": intent, "amount": 999999}
    for _ in range(2):
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.refunds.create(params=too_much, options={"idempotency_key": "k"})
    assert fake.calls("POST", "/v1/refunds")[-1].replayed is True


def test_a_429_is_retried_by_the_sdk_and_not_kept_for_the_key(fake: FakeStripe) -> None:
    fake.fail_next("POST", "/v1/customers", status=429)
    customer = sdk(fake, retries=1).v1.customers.create(params={"email": "a@example.com"})
    assert [call.status for call in fake.calls("POST", "/v1/customers")] == [429, 200]
    assert fake.objects("customer")[0]["id"] == customer.id


def test_a_request_still_running_makes_a_second_one_with_its_key_wait(fake: FakeStripe) -> None:
    fake.delay("POST", "/v1/customers", 0.5)
    impatient = stripe.StripeClient(
        fake.api_key,
        base_addresses={"api": fake.url},
        http_client=stripe.HTTPXClient(timeout=0.1, allow_sync_methods=True),
    )
    params: Any = {"email": "a@example.com"}
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.customers.create(params=params, options={"idempotency_key": "k"})
    with pytest.raises(stripe.APIError) as caught:
        impatient.v1.customers.create(params=params, options={"idempotency_key": "k"})
    assert caught.value.http_status == 409
    fake.wait_until_idle()
    customer = impatient.v1.customers.create(params=params, options={"idempotency_key": "k"})
    assert [c["id"] for c in fake.objects("customer")] == [customer.id]


# -- faults -----------------------------------------------------------------------------


def test_a_lost_response_hides_an_operation_that_happened(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    fake.fail_next("POST", "/v1/customers", status=502, after_processing=True)
    params: Any = {"email": "a@example.com"}
    with pytest.raises(stripe.APIError):
        client.v1.customers.create(params=params, options={"idempotency_key": "k"})
    assert len(fake.objects("customer")) == 1
    again = client.v1.customers.create(params=params, options={"idempotency_key": "k"})
    assert again.id == fake.objects("customer")[0]["id"]


def test_injected_faults_carry_stripes_error_types(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    fake.fail_next("GET", "/v1/customers/{id}", status=402)
    fake.fail_next("GET", "/v1/customers/{id}", status=500)
    with pytest.raises(stripe.CardError) as declined:
        client.v1.customers.retrieve("cus_x")
    assert declined.value.code == "card_declined"
    with pytest.raises(stripe.APIError) as broken:
        client.v1.customers.retrieve("cus_x")
    assert broken.value.http_status == 500
    assert broken.value.headers is not None
    assert broken.value.headers["Stripe-Should-Retry"] == "true"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.customers.retrieve("cus_x")
    assert missing.value.http_status == 404


# -- invoices ---------------------------------------------------------------------------


def test_an_invoice_goes_from_draft_to_open_to_paid(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    invoice = open_invoice(client, amount=150000)
    assert invoice.status == "open"
    assert invoice.number is not None
    assert invoice.number.endswith("-0001")
    assert invoice.hosted_invoice_url
    assert invoice.invoice_pdf
    finalized_at = invoice.status_transitions.finalized_at
    assert finalized_at is not None
    assert invoice.due_date == finalized_at + 14 * 86400
    assert (invoice.amount_due, invoice.amount_paid, invoice.amount_remaining) == (
        150000,
        0,
        150000,
    )
    client.v1.invoices.send_invoice(invoice.id)
    fake.pay_invoice(invoice.id)
    paid = client.v1.invoices.retrieve(invoice.id)
    assert paid.status == "paid"
    assert (paid.amount_paid, paid.amount_remaining) == (150000, 0)
    (payment,) = client.v1.invoice_payments.list(params={"invoice": invoice.id}).data
    assert (payment.status, payment.amount_paid) == ("paid", 150000)


def test_invoice_items_add_lines_and_totals_to_a_draft(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"email": "a@example.com"})
    invoice = client.v1.invoices.create(
        params={"customer": customer.id, "collection_method": "send_invoice", "days_until_due": 7}
    )
    for amount in (1000, 2500):
        client.v1.invoice_items.create(
            params={"customer": customer.id, "invoice": invoice.id, "amount": amount}
        )
    draft = client.v1.invoices.retrieve(invoice.id)
    assert [line.amount for line in draft.lines.data] == [1000, 2500]
    assert (draft.subtotal, draft.total, draft.amount_due) == (3500, 3500, 3500)


def test_pending_items_join_an_invoice_only_when_asked(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"email": "a@example.com"})
    client.v1.invoice_items.create(
        params={"customer": customer.id, "amount": 700, "currency": "usd"}
    )
    excluded = client.v1.invoices.create(
        params={"customer": customer.id, "pending_invoice_items_behavior": "exclude"}
    )
    included = client.v1.invoices.create(
        params={"customer": customer.id, "pending_invoice_items_behavior": "include"}
    )
    assert (excluded.amount_due, included.amount_due) == (0, 700)


def test_finalizing_twice_is_refused(client: stripe.StripeClient) -> None:
    invoice = open_invoice(client)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.invoices.finalize_invoice(invoice.id)
    assert caught.value.http_status == 400
    assert "already finalized" in (caught.value.user_message or "")


def test_adding_a_line_to_a_finalized_invoice_is_refused(client: stripe.StripeClient) -> None:
    invoice = open_invoice(client)
    line: Any = {"customer": invoice.customer, "invoice": invoice.id, "amount": 5}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.invoice_items.create(params=line)
    assert caught.value.code == "invoice_not_editable"
    assert client.v1.invoices.retrieve(invoice.id).amount_due == 150000


def test_only_open_invoices_are_sent_paid_or_voided(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"email": "a@example.com"})
    draft = client.v1.invoices.create(
        params={"customer": customer.id, "collection_method": "send_invoice", "days_until_due": 7}
    )
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.send_invoice(draft.id)
    invoice = open_invoice(client)
    voided = client.v1.invoices.void_invoice(invoice.id)
    assert voided.status == "void"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.pay(invoice.id, params={"paid_out_of_band": True})


def test_paying_out_of_band_leaves_no_stripe_payment(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    invoice = open_invoice(client)
    paid = client.v1.invoices.pay(invoice.id, params={"paid_out_of_band": True})
    assert (paid.status, paid.amount_paid) == ("paid", 150000)
    assert (
        client.v1.invoice_payments.list(params={"invoice": invoice.id, "status": "paid"}).data == []
    )
    assert fake.objects("charge") == []


def test_a_declined_card_answers_402_and_leaves_the_invoice_open(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    invoice = open_invoice(client)
    with pytest.raises(stripe.CardError) as caught:
        client.v1.invoices.pay(invoice.id, params={"payment_method": "pm_card_chargeDeclined"})
    assert caught.value.code == "card_declined"
    still = client.v1.invoices.retrieve(invoice.id)
    assert (still.status, still.attempt_count, still.attempted) == ("open", 1, True)
    assert [c["status"] for c in fake.objects("charge")] == ["failed"]
    assert len(fake.events("invoice.payment_failed")) == 1


def test_a_customer_can_fail_then_succeed_to_pay(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    invoice = open_invoice(client)
    fake.fail_invoice_payment(invoice.id)
    fake.pay_invoice(invoice.id)
    assert client.v1.invoices.retrieve(invoice.id).attempt_count == 2
    assert [c["status"] for c in fake.objects("charge")] == ["succeeded", "failed"]


# -- payments and refunds ---------------------------------------------------------------


def test_a_payment_intent_expands_its_latest_charge(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    intent = client.v1.payment_intents.retrieve(
        paid_intent(fake, client), params={"expand": ["latest_charge"]}
    )
    assert intent.status == "succeeded"
    assert isinstance(intent.latest_charge, stripe.Charge)
    assert (intent.latest_charge.amount_captured, intent.latest_charge.amount_refunded) == (
        150000,
        0,
    )
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.retrieve(intent.id, params={"expand": ["amount"]})


def test_refunds_draw_down_the_charge_until_nothing_is_left(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    intent = paid_intent(fake, client)
    part = client.v1.refunds.create(
        params={"payment_intent": intent, "amount": 50000, "metadata": {"empire_action_id": "a"}}
    )
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create(params={"payment_intent": intent, "amount": 100001})
    assert "greater than unrefunded amount" in (too_much.value.user_message or "")
    rest = client.v1.refunds.create(params={"payment_intent": intent})
    assert (part.amount, rest.amount) == (50000, 100000)
    charge = client.v1.charges.retrieve(str(part.charge))
    assert (charge.amount_refunded, charge.refunded) == (150000, True)
    with pytest.raises(stripe.InvalidRequestError) as nothing_left:
        client.v1.refunds.create(params={"payment_intent": intent})
    assert nothing_left.value.code == "charge_already_refunded"
    listed = client.v1.refunds.list(params={"payment_intent": intent}).data
    assert [r.id for r in listed] == [rest.id, part.id]
    assert [e["type"] for e in fake.events("charge.refunded")] == ["charge.refunded"] * 2


def test_a_refund_needs_a_payment_and_a_known_reason(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as neither:
        client.v1.refunds.create(params={"amount": 100})
    assert neither.value.code == "parameter_missing"
    intent = paid_intent(fake, client)
    with pytest.raises(stripe.InvalidRequestError) as bad_reason:
        client.v1.refunds.create(params={"payment_intent": intent, "reason": "changed_mind"})
    assert bad_reason.value.param == "reason"


# -- events and webhooks ----------------------------------------------------------------


class Receiver:
    """A webhook endpoint that records what it gets; `hold` keeps it from answering."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, str]] = []
        self.hold = threading.Event()
        self.hold.set()
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> JSONResponse:
        await anyio.to_thread.run_sync(self.hold.wait, 10)
        self.received.append((await request.body(), request.headers["stripe-signature"]))
        return JSONResponse({"received": True})


@pytest.fixture
def receiver(fake: FakeStripe) -> Iterator[Receiver]:
    endpoint = Receiver()
    with serving(endpoint.app) as server:
        fake.add_webhook_endpoint(f"{server.url}/hook", SECRET)
        yield endpoint


def test_events_name_the_request_that_caused_them(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    client.v1.customers.create(params={"email": "a@example.com"}, options={"idempotency_key": "k"})
    (event,) = fake.events("customer.created")
    (call,) = fake.calls("POST", "/v1/customers")
    assert event["request"] == {"id": call.request_id, "idempotency_key": "k"}
    assert client.v1.events.retrieve(event["id"]).type == "customer.created"


def test_webhooks_are_signed_so_the_sdk_accepts_them(
    fake: FakeStripe, client: stripe.StripeClient, receiver: Receiver
) -> None:
    invoice = open_invoice(client)
    fake.pay_invoice(invoice.id)
    deliveries = fake.wait_for_deliveries()
    assert {d.status for d in deliveries} == {200}
    types = []
    for body, signature in receiver.received:
        event = stripe.Webhook.construct_event(body, signature, SECRET)
        types.append(event.type)
    assert types == [e["type"] for e in fake.events()]
    assert "invoice.paid" in types


def test_a_slow_endpoint_never_holds_up_the_api(
    fake: FakeStripe, client: stripe.StripeClient, receiver: Receiver
) -> None:
    receiver.hold.clear()
    customer = client.v1.customers.create(params={"email": "a@example.com"})
    assert customer.id
    assert fake.deliveries == []
    receiver.hold.set()
    assert [d.status for d in fake.wait_for_deliveries()] == [200]


def test_duplicate_bad_and_stale_deliveries_can_be_sent(
    fake: FakeStripe, client: stripe.StripeClient, receiver: Receiver
) -> None:
    client.v1.customers.create(params={"email": "a@example.com"})
    fake.wait_for_deliveries()
    (event,) = fake.events()
    fake.deliver_again(event["id"])
    fake.deliver_with_bad_signature(event["id"])
    fake.deliver_with_old_timestamp(event["id"], age=600)
    (body, _), (again, again_signature), (_, bad), (_, stale) = receiver.received
    assert body == again
    assert stripe.Webhook.construct_event(again, again_signature, SECRET).id == event["id"]
    with pytest.raises(stripe.SignatureVerificationError, match="No signatures found"):
        stripe.Webhook.construct_event(body, bad, SECRET)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(body, stale, SECRET)
    assert [d.variant for d in fake.deliveries] == [
        "normal",
        "duplicate",
        "bad_signature",
        "old_timestamp",
    ]
