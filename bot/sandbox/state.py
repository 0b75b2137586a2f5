"""What the sandbox page shows: the workspace as one person sees it, Stripe, and the audit log.

Plain JSON for `bot/sandbox/page/app.js`; the page polls it and redraws when `version`
changes.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.sandbox import people
from bot.sandbox.relay import SlackRelay
from governance import audit
from governance.money import Money
from integrations.local.slack.server import FakeSlack
from integrations.local.slack.store import Json
from integrations.local.stripe.server import FakeStripe

AUDIT_SHOWN = 50


def workspace(slack: FakeSlack, relay: SlackRelay, user: str, ready: bool) -> Json:
    channels = [
        {"id": cid, "name": name, "kind": "channel", "messages": _messages(slack, cid)}
        for cid, name in people.CHANNELS.items()
    ]
    direct = slack.direct_channel(user)
    if direct is not None:
        messages = _messages(slack, direct)
        channels.append({"id": direct, "name": people.BOT_NAME, "kind": "dm", "messages": messages})
    state: Json = {
        "workspace": "Business Empire sandbox",
        "ready": ready,  # false while the sample history is being made
        "me": user,
        "users": [{"id": p.id, "name": p.name, "role": p.role} for p in people.PEOPLE],
        "names": {**people.names(), **people.CHANNELS},
        "channels": channels,
        "ephemerals": relay.ephemerals(user),
        "view": _view(relay.open_view(user)),
    }
    return versioned(state)


def versioned(state: Json) -> Json:
    """`state` with `version`, a digest of the rest: the page redraws when it changes."""
    digest = hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode())
    return {**state, "version": digest.hexdigest()[:16]}


def _messages(slack: FakeSlack, channel: str) -> list[Json]:
    names = people.names()
    return [
        {
            "ts": message["ts"],
            "user": message.get("user", ""),
            "name": names.get(message.get("user", ""), message.get("user", "")),
            "bot": "bot_id" in message,
            "text": message.get("text", ""),
            "blocks": message.get("blocks") or [],
            "files": [_file(f) for f in message.get("files", [])],
            "edited": "edited" in message,
        }
        for message in slack.messages(channel)
    ]


def _file(shared: Json) -> Json:
    name = str(shared.get("name") or "")
    return {
        "id": shared["id"],
        "title": shared.get("title") or name,
        "url": f"/sandbox/files/{shared['id']}",
        "mimetype": media_type(name),
    }


def media_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _view(view: Json | None) -> Json | None:
    if view is None:
        return None
    keys = ("id", "title", "submit", "close", "blocks", "errors")
    return {key: view.get(key) for key in keys}


# -- Stripe ----------------------------------------------------------------------------------


def stripe_dashboard(stripe: FakeStripe) -> Json:
    customers = {c["id"]: c for c in stripe.objects("customer")}

    def who(customer_id: Any) -> str:
        customer = customers.get(str(customer_id)) or {}
        return str(customer.get("name") or customer.get("email") or customer_id or "")

    invoices = stripe.objects("invoice")
    products = {p["id"]: str(p.get("name") or p["id"]) for p in stripe.objects("product")}
    paid_by = _invoice_numbers_by_payment(stripe, invoices)
    return versioned(
        {
            "customers": [
                {
                    "id": c["id"],
                    "name": c.get("name") or "",
                    "email": c.get("email") or "",
                    "card": bool((c.get("invoice_settings") or {}).get("default_payment_method")),
                }
                for c in customers.values()
            ],
            "invoices": [
                {
                    "id": i["id"],
                    "number": i.get("number") or i["id"],
                    "customer": who(i.get("customer")),
                    "amount": _money(i.get("amount_due"), i.get("currency")),
                    "status": i.get("status") or "",
                    "description": i.get("description") or _first_line(i),
                    "payable": i.get("status") == "open" and not i.get("amount_paid"),
                }
                for i in invoices
            ],
            "refunds": [
                {
                    "id": r["id"],
                    "amount": _money(r.get("amount"), r.get("currency")),
                    "status": r.get("status") or "",
                    "invoice": paid_by.get(str(r.get("payment_intent")), ""),
                }
                for r in stripe.objects("refund")
            ],
            "subscriptions": [
                _subscription(s, who(s.get("customer")), products)
                for s in stripe.objects("subscription")
            ],
        }
    )


def _subscription(sub: Json, customer: str, products: dict[str, str]) -> Json:
    items = (sub.get("items") or {}).get("data") or [{}]
    price = items[0].get("price") or {}
    recurring = price.get("recurring") or {}
    product = price.get("product")
    plan = products.get(product, str(product)) if isinstance(product, str) else ""
    every = recurring.get("interval", "")
    return {
        "id": sub["id"],
        "customer": customer,
        "plan": plan,
        "price": f"{_money(price.get('unit_amount'), price.get('currency'))} / {every}",
        "status": sub.get("status") or "",
    }


def _first_line(invoice: Json) -> str:
    lines = (invoice.get("lines") or {}).get("data") or []
    return str(lines[0].get("description") or "") if lines else ""


def _invoice_numbers_by_payment(stripe: FakeStripe, invoices: list[Json]) -> dict[str, str]:
    """The number of each paid invoice, by its payment intent (what a refund names)."""
    numbers = {i["id"]: str(i.get("number") or i["id"]) for i in invoices}
    return {
        str(paid["payment"]["payment_intent"]): numbers.get(str(paid["invoice"]), "")
        for paid in stripe.objects("invoice_payment")
        if (paid.get("payment") or {}).get("payment_intent")
    }


def _money(minor: Any, currency: Any) -> str:
    if not isinstance(minor, int) or not isinstance(currency, str):
        return ""
    return Money(minor, currency).format()


# -- audit -------------------------------------------------------------------------------------


def audit_panel(sessions: sessionmaker[Session]) -> Json:
    names = people.names()
    with sessions.begin() as session:
        verdict = audit.verify(session)
        entries = audit.latest(session, AUDIT_SHOWN)
    text = (
        f"OK: {verdict.entries} entries"
        if verdict.ok
        else f"BROKEN at entry {verdict.bad_seq}: {verdict.reason}"
    )
    return versioned(
        {
            "verify": {"ok": verdict.ok, "text": text},
            "entries": [
                {
                    "id": e.seq,
                    "at": e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    "actor": e.actor,
                    "actor_name": names.get(e.actor, e.actor),
                    "event": e.kind,
                    "detail": _detail(e.payload),
                    "request": e.request_id,
                    "hash": e.hash[:12] + "…",
                }
                for e in reversed(entries)
            ],
        }
    )


def _detail(payload: str) -> str:
    """What a Stripe event was, or which step ran: the entry's kind says the rest."""
    try:
        found = json.loads(payload)
    except ValueError:
        return ""
    if not isinstance(found, dict):
        return ""
    return str(found.get("type") or found.get("step") or "")
