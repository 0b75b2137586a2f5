"""A short history for the sandbox to open on, made the way everything else is made.

Sample clients are created in the local Stripe (as a client signing up would be); then the
sample people ask and approve through the bot, exactly as on the page: so the invoices and
the subscription Stripe holds were approved, the ledger saw them paid, and the audit log
tells it all.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import TypeVar

import stripe as stripe_sdk

from bot.sandbox import people
from bot.sandbox.relay import SlackRelay
from integrations.local.server import wait_for
from integrations.local.slack.server import FakeSlack
from integrations.local.slack.store import Json
from integrations.local.stripe.server import FakeStripe

log = logging.getLogger(__name__)
T = TypeVar("T")
WAIT_SECONDS = 30.0

# What the people ask for, in order; each is approved by finance, and the invoices paid.
PAID_INVOICES = (
    "invoice billing@acme.example 1200 Website redesign",
    "invoice ap@globex.example 14500 Platform build, phase 1",
)
SUBSCRIPTION = "subscribe ap@globex.example 500/month Support retainer"
WAITING = "invoice finance@initech.example 800 Logo design"  # left for a newcomer to approve


class SeedError(Exception):
    pass


def seed(slack: FakeSlack, stripe: FakeStripe, relay: SlackRelay) -> None:
    create_clients(stripe)
    for text in PAID_INVOICES:
        before = {invoice["id"] for invoice in stripe.objects("invoice")}
        request = ask_and_approve(slack, relay, text)
        invoice = _wait(functools.partial(_new_open_invoice, stripe, before), f"#{request} sent")
        stripe.pay_invoice(invoice)
    ask_and_approve(slack, relay, SUBSCRIPTION)
    ask(slack, relay, WAITING)
    stripe.wait_for_deliveries(WAIT_SECONDS)


def create_clients(stripe: FakeStripe) -> None:
    client = stripe_sdk.StripeClient(stripe.api_key, base_addresses={"api": stripe.url})
    for sample in people.CLIENTS:
        customer = client.v1.customers.create({"name": sample.name, "email": sample.email})
        if sample.card:
            stripe.attach_card(customer.id)
    # The bot learns its clients from Stripe's `customer.*` webhooks.
    stripe.wait_for_deliveries(WAIT_SECONDS)


def ask(slack: FakeSlack, relay: SlackRelay, text: str) -> int:
    answer = relay.command(people.REQUESTER.id, people.APPROVALS, f"/empire {text}").answer
    found = re.search(r"#(\d+)", answer)
    if found is None:
        raise SeedError(f"/empire {text}: {answer or 'no answer'}")
    request = int(found.group(1))
    _wait(lambda: _card(slack, request), f"the card of #{request}")
    return request


def ask_and_approve(slack: FakeSlack, relay: SlackRelay, text: str) -> int:
    request = ask(slack, relay, text)
    card = _wait(lambda: _card(slack, request, "approve"), f"#{request} ready to approve")
    value, block_id = _button(card, "approve") or ("", "")
    relay.click(people.FINANCE.id, people.APPROVALS, card["ts"], "approve", value, block_id)
    _wait(lambda: _card(slack, request, done="Executed"), f"#{request} executed")
    return request


def _card(slack: FakeSlack, request: int, button: str = "", done: str = "") -> Json | None:
    """The card of `request`, once it has `button` and its text says `done`."""
    for message in slack.messages(people.APPROVALS):
        text = str(message.get("text", ""))
        if f"#{request}" in text and done in text and (not button or _button(message, button)):
            return message
    return None


def _button(card: Json, action_id: str) -> tuple[str, str] | None:
    """The value and block id of the card's `action_id` button."""
    for block in card.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return str(element["value"]), str(block.get("block_id", ""))
    return None


def _new_open_invoice(stripe: FakeStripe, before: set[str]) -> str | None:
    for invoice in stripe.objects("invoice"):
        if invoice["id"] not in before and invoice.get("status") == "open":
            return str(invoice["id"])
    return None


def _wait(found: Callable[[], T | None], what: str) -> T:
    try:
        return wait_for(found, WAIT_SECONDS, what)
    except TimeoutError as exc:
        raise SeedError(str(exc)) from None
