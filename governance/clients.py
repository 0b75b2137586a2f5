"""The client registry: the people the business bills, each with a short handle.

Stripe's customers are the source of truth for who exists; the registry keeps them by
e-mail with a handle people can type (`/empire invoice acme 500 …`) and notes of our own.
It is filled from Stripe (`sync_from_stripe`, the daily job) and from customer events.
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from governance.ports import Customer
from storage.models import Client
from storage.types import utcnow

HANDLE_MAX = 40
_NOT_HANDLE = re.compile(r"[^a-z0-9]+")


def handle_from(name: str | None, email: str) -> str:
    """A readable handle: the name's words (or the address's local part), hyphenated."""
    source = name or email.partition("@")[0]
    ascii_text = unicodedata.normalize("NFKD", source).encode("ascii", "ignore").decode()
    handle = _NOT_HANDLE.sub("-", ascii_text.lower()).strip("-")[:HANDLE_MAX].strip("-")
    return handle or "client"


def _free_handle(session: Session, wanted: str) -> str:
    taken = set(
        session.execute(select(Client.handle).where(Client.handle.like(f"{wanted}%"))).scalars()
    )
    if wanted not in taken:
        return wanted
    number = 2
    while True:
        suffix = f"-{number}"
        candidate = wanted[: HANDLE_MAX - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        number += 1


def remember(session: Session, customer: Customer) -> Client:
    """Add or refresh the client behind a Stripe customer; the handle, once given, stays."""
    email = customer.email.lower()
    client = (
        session.execute(
            select(Client).where(
                (Client.stripe_customer == customer.id) | (func.lower(Client.email) == email)
            )
        )
        .scalars()
        .first()
    )
    now = utcnow()
    if client is None:
        created = _add(session, customer, email)
        if created is not None:
            return created
        # Another transaction registered the same customer meanwhile: use theirs.
        return remember(session, customer)
    # Stripe allows several customers per address: the one the registry met first stays.
    client.stripe_customer = client.stripe_customer or customer.id
    if client.stripe_customer == customer.id:
        client.email = email
    client.name = customer.name or client.name
    client.updated_at = now
    return client


def _add(session: Session, customer: Customer, email: str) -> Client | None:
    """A new client, or None when a concurrent transaction took the email or handle first."""
    now = utcnow()
    client = Client(
        handle=_free_handle(session, handle_from(customer.name, email)),
        email=email,
        name=customer.name,
        stripe_customer=customer.id,
        notes="",
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(client)
    except IntegrityError:
        return None
    return client


def sync_from_stripe(session: Session, customers: list[Customer]) -> int:
    """Remember every customer; returns how many clients the registry holds."""
    for customer in customers:
        if customer.email:
            remember(session, customer)
    return int(session.execute(select(func.count(Client.id))).scalar_one())


def find(session: Session, *, email: str | None = None, handle: str | None = None) -> Client | None:
    if handle is not None:
        return session.execute(
            select(Client).where(Client.handle == handle.lower())
        ).scalar_one_or_none()
    if email is not None:
        return session.execute(
            select(Client).where(func.lower(Client.email) == email.lower())
        ).scalar_one_or_none()
    return None


def all_clients(session: Session) -> list[Client]:
    return list(session.execute(select(Client).order_by(Client.handle)).scalars())
