"""Revenue figures checked to the cent against a scripted month of activity in Stripe.

`month_script` runs a month and a bit of billing in the fake Stripe (through the bot's
`StripeGateway` and the fake's customer controls); every event the fake emitted is then
fed to `webhooks.receive`, shuffled and some twice, and the report of the ledger is
compared with figures computed here, plainly, from the fake's own objects.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from governance import webhooks
from governance.money import Money
from governance.revenue import (
    ClientRevenue,
    CurrencyFigures,
    Period,
    RevenueReport,
    WeekFigures,
    month_period,
    revenue_report,
)
from governance.webhooks import Receipt
from integrations.local.stripe.server import FakeStripe
from integrations.stripe_gateway import StripeGateway
from storage.db import make_engine, make_session_factory, read_only
from storage.models import (
    Client,
    LedgerDispute,
    LedgerInvoice,
    LedgerRefund,
    LedgerSubscription,
    WebhookEvent,
)
from tests.databases import fresh_postgres, fresh_sqlite
from tests.integration.month_script import MonthScript, Script

SEED = 20270101
Json = dict[str, Any]


# -- the figures, computed from the fake's own objects ------------------------------------


def at(timestamp: int | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp else None


def moment(timestamp: int | None) -> datetime:
    found = at(timestamp)
    assert found is not None
    return found


def rounded(value: Fraction) -> int:
    """Half up, to a whole minor unit (the amounts are never negative)."""
    assert value >= 0
    whole, rest = divmod(value.numerator, value.denominator)
    return whole + (1 if 2 * rest >= value.denominator else 0)


MONTHS_IN = {"week": Fraction(52, 12), "month": Fraction(1), "year": Fraction(1, 12)}


class Expected:
    """The report's figures for one period, from `fake.objects(...)` alone."""

    def __init__(self, fake: FakeStripe, script: Script) -> None:
        self.invoices = fake.objects("invoice")
        self.refunds = fake.objects("refund")
        self.disputes = fake.objects("dispute")
        self.subscriptions = fake.objects("subscription")
        self.paid_in_stripe = {
            payment["invoice"]
            for payment in fake.objects("invoice_payment")
            if payment["status"] == "paid"
        }
        self.names = {customer: name for name, customer in script.customers.items()}

    def report(self, period: Period, now: datetime) -> RevenueReport:
        t = min(period.end, max(period.start, now))
        figures = tuple(self.figures(currency, period, t) for currency in ("eur", "usd"))
        return RevenueReport(period=period, as_of=t, generated_at=now, currencies=figures)

    def paid(self, currency: str, start: datetime, end: datetime) -> list[Json]:
        return [
            invoice
            for invoice in self.invoices
            if invoice["currency"] == currency
            and invoice["status"] == "paid"
            and start <= moment(invoice["status_transitions"]["paid_at"]) < end
        ]

    def refunded(self, currency: str, start: datetime, end: datetime) -> list[Json]:
        return [
            refund
            for refund in self.refunds
            if refund["currency"] == currency
            and refund["status"] in ("succeeded", "pending")
            and start <= moment(refund["created"]) < end
        ]

    def disputed(self, currency: str, start: datetime, end: datetime) -> list[Json]:
        return [
            dispute
            for dispute in self.disputes
            if dispute["currency"] == currency
            and dispute["status"] not in ("won", "warning_closed", "prevented")
            and start <= moment(dispute["created"]) < end
        ]

    def owed(self, currency: str, t: datetime) -> list[tuple[Json, int]]:
        """Each invoice that owed something at `t`, and how much."""
        owed = []
        for invoice in self.invoices:
            transitions = invoice["status_transitions"]
            finalized, paid = at(transitions["finalized_at"]), at(transitions["paid_at"])
            voided = at(transitions["voided_at"])
            if invoice["currency"] != currency or invoice["status"] in ("draft", "uncollectible"):
                continue
            if finalized is None or finalized > t:
                continue
            if (paid is not None and paid <= t) or (voided is not None and voided <= t):
                continue
            # Paid later: the whole of it was owed at t.
            amount = invoice["amount_due"] - (0 if paid else invoice["amount_paid"])
            if amount > 0:
                owed.append((invoice, amount))
        return owed

    def live(self, currency: str, x: datetime) -> list[Json]:
        live = []
        for subscription in self.subscriptions:
            price = subscription["items"]["data"][0]["price"]
            ended = at(subscription["ended_at"])
            if (
                price["currency"] == currency
                and subscription["status"] not in ("incomplete", "incomplete_expired")
                and moment(subscription["start_date"]) <= x
                and (ended > x if ended else subscription["status"] != "canceled")
            ):
                live.append(subscription)
        return live

    def mrr(self, currency: str, x: datetime) -> int:
        total = Fraction(0)
        for subscription in self.live(currency, x):
            item = subscription["items"]["data"][0]
            recurring = item["price"]["recurring"]
            amount = item["price"]["unit_amount"] * (item.get("quantity") or 1)
            total += amount * MONTHS_IN[recurring["interval"]] / recurring["interval_count"]
        return rounded(total)

    def figures(self, currency: str, period: Period, t: datetime) -> CurrencyFigures:
        def money(minor: int) -> Money:
            return Money(minor, currency)

        start, end = period.start, period.end
        paid = self.paid(currency, start, end)
        refunds = self.refunded(currency, start, end)
        disputes = self.disputed(currency, start, end)
        owed = self.owed(currency, t)
        overdue = [
            amount
            for invoice, amount in owed
            if invoice["due_date"] and moment(invoice["due_date"]) < t
        ]
        paid_total = sum(invoice["amount_paid"] for invoice in paid)
        refunded_total = sum(refund["amount"] for refund in refunds)
        disputed_total = sum(dispute["amount"] for dispute in disputes)
        by_client: dict[str, int] = defaultdict(int)
        for invoice in paid:
            by_client[invoice["customer"]] += invoice["amount_paid"]
        ranked = sorted(by_client, key=lambda c: (-by_client[c], self.names[c]))
        cuts = [start]
        monday = start.replace(hour=0) + timedelta(days=7 - start.weekday())
        while monday < end:
            cuts.append(monday)
            monday += timedelta(days=7)
        weeks = tuple(
            WeekFigures(
                week_start,
                money(sum(i["amount_paid"] for i in self.paid(currency, week_start, week_end))),
                money(sum(r["amount"] for r in self.refunded(currency, week_start, week_end))),
                money(self.mrr(currency, min(week_end, t))),
            )
            for week_start, week_end in zip(cuts, [*cuts[1:], end], strict=True)
        )
        return CurrencyFigures(
            currency=currency,
            paid=money(paid_total),
            paid_out_of_band=money(
                sum(i["amount_paid"] for i in paid if i["id"] not in self.paid_in_stripe)
            ),
            refunded=money(refunded_total),
            disputed=money(disputed_total),
            net=money(paid_total - refunded_total - disputed_total),
            outstanding=money(sum(amount for _, amount in owed)),
            overdue=money(sum(overdue)),
            mrr_start=money(self.mrr(currency, start)),
            mrr_end=money(self.mrr(currency, t)),
            mrr_change=money(self.mrr(currency, t) - self.mrr(currency, start)),
            top_clients=tuple(
                ClientRevenue(self.names[c], money(by_client[c])) for c in ranked[:5]
            ),
            weeks=weeks,
            invoices_paid=len(paid),
            refunds=len(refunds),
            disputes=len(disputes),
            invoices_outstanding=len(owed),
            invoices_overdue=len(overdue),
            subscriptions_live=len(self.live(currency, t)),
        )


# -- delivering the events -----------------------------------------------------------------


def shuffled_with_repeats(events: list[Json], seed: int) -> tuple[list[Json], int]:
    """The events in a seeded random order, one in eight of them delivered a second time."""
    rng = random.Random(seed)
    order = list(events)
    rng.shuffle(order)
    repeats = rng.sample(events, len(events) // 8)
    for event in repeats:
        order.insert(rng.randrange(len(order) + 1), event)
    return order, len(repeats)


def deliver(
    sessions: sessionmaker[Session], events: list[Json], gateway: StripeGateway
) -> dict[Receipt, int]:
    receipts: dict[Receipt, int] = defaultdict(int)
    for event in events:
        raw = json.dumps(event).encode()
        receipts[webhooks.receive(sessions, raw, json.loads(raw), gateway)] += 1
    return dict(receipts)


@contextmanager
def another_database(database_url: str, folder: Path) -> Iterator[sessionmaker[Session]]:
    """A second empty, migrated database of the same kind as `database_url`."""
    if database_url.startswith("sqlite"):
        folder.mkdir()
        opened = fresh_sqlite(folder)
    else:
        opened = fresh_postgres()
    with opened as url:
        engine = make_engine(url)
        try:
            yield make_session_factory(engine)
        finally:
            engine.dispose()


def report_of(sessions: sessionmaker[Session], period: Period, now: datetime) -> RevenueReport:
    with read_only(sessions)() as session:
        return revenue_report(session, period, now)


# -- the test --------------------------------------------------------------------------------


@contextmanager
def connected(fake: FakeStripe) -> Iterator[StripeGateway]:
    gateway = StripeGateway(fake.api_key, fake.url, max_network_retries=0, timeout=10.0)
    try:
        yield gateway
    finally:
        gateway.close()


def test_revenue_agrees_to_the_cent_with_a_scripted_month(
    fake: FakeStripe, sessions: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    with connected(fake) as gateway:
        script = MonthScript(fake, gateway).run()
    now = datetime.fromtimestamp(fake.now(), UTC)
    month, previous = month_period("this-month", now), month_period("last-month", now)
    assert month.start == script.month_start
    events = fake.events()
    shuffled, repeated = shuffled_with_repeats(events, SEED)

    # Shuffled (some twice) here, and in Stripe's order into a second database meanwhile.
    with (
        another_database(database_url, tmp_path / "in-order") as in_order,
        connected(fake) as reader,
        connected(fake) as other_reader,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        in_stripe_order = pool.submit(deliver, in_order, events, other_reader)
        receipts = deliver(sessions, shuffled, reader)
        assert in_stripe_order.result() == {Receipt.PROCESSED: len(events)}
        assert receipts == {Receipt.PROCESSED: len(events), Receipt.DUPLICATE: repeated}
        reports = {period: report_of(sessions, period, now) for period in (month, previous)}
        assert {period: report_of(in_order, period, now) for period in reports} == reports
        assert ledger(in_order) == ledger(sessions)

    expected = Expected(fake, script)
    for period, report in reports.items():
        wanted = expected.report(period, now)
        assert (report.period, report.as_of) == (wanted.period, wanted.as_of)
        assert [f.currency for f in report.currencies] == ["eur", "usd"]
        for currency in ("eur", "usd"):
            assert report.figures(currency) == wanted.figures(currency), (period.label, currency)
        assert report == wanted

    the_script_in_numbers(reports[month], reports[previous])
    the_ledger_matches_stripe(sessions, fake, events)


def the_script_in_numbers(month: RevenueReport, previous: RevenueReport) -> None:
    """The headline figures, added up by hand from the script in `month_script`."""
    usd, eur = month.figures("usd"), month.figures("eur")
    # Support 2 and 3, B1 (out of band), E2, A2, C1, B0, Retainer's renewal.
    assert usd.paid.minor == 4999 + 50005 + 45000 + 250001 + 88080 + 4999 + 30000 + 19999
    assert usd.paid_out_of_band.minor == 50005
    assert usd.refunded.minor == 123456 + 25000 + 10001  # A1 in full, A2 twice
    assert usd.disputed.minor == 88080 + 12345  # C1 lost, E2 open
    assert usd.net.minor == 493083 - 158457 - 100425
    assert usd.outstanding.minor == 4999 + 9999 + 7550  # Support 4, E1, Care's renewal
    assert usd.overdue.minor == 4999
    # Retainer + Support 4999·52/12 + Care + Hosting = 52544.33…; then Retainer + Care.
    assert (usd.mrr_start.minor, usd.mrr_end.minor) == (52544, 27549)
    assert (eur.paid.minor, eur.refunded.minor, eur.disputed.minor) == (333333, 33333, 0)
    assert (eur.outstanding.minor, eur.overdue.minor) == (77777, 77777)  # D2
    assert (eur.mrr_start.minor, eur.mrr_end.minor) == (10000, 10000)  # 119999/12
    before_usd, before_eur = previous.figures("usd"), previous.figures("eur")
    assert before_usd.paid.minor == 19999 + 4999 + 123456 + 7550 + 3333
    assert (before_usd.refunded.minor, before_usd.disputed.minor) == (0, 0)
    assert before_usd.outstanding.minor == 50005 + 30000  # B1 (paid later), B0
    assert before_usd.overdue.minor == 30000
    assert (before_usd.mrr_start.minor, before_usd.mrr_end.minor) == (0, 52544)
    assert (before_eur.paid.minor, before_eur.mrr_end.minor) == (119999, 10000)


def ledger(sessions: sessionmaker[Session]) -> list[tuple[object, ...]]:
    """The ledger's rows, without the columns that tell when and how they were written."""
    skipped = {"id", "as_of", "updated_at"}  # and a client's created_at, also local
    found: list[tuple[object, ...]] = []
    with read_only(sessions)() as session:
        for model in (Client, LedgerInvoice, LedgerRefund, LedgerDispute, LedgerSubscription):
            for row in session.execute(select(model)).scalars():
                columns = sorted(c.key for c in row.__table__.columns if c.key not in skipped)
                if model is Client:
                    columns.remove("created_at")
                found.append((model.__name__, *(getattr(row, c) for c in columns)))
    return sorted(found, key=repr)


def the_ledger_matches_stripe(
    sessions: sessionmaker[Session], fake: FakeStripe, events: list[Json]
) -> None:
    with read_only(sessions)() as session:
        stored = session.execute(select(WebhookEvent)).scalars().all()
        assert len(stored) == len(events)
        assert [e for e in stored if e.processed_at is None or e.error is not None] == []

        invoices = {row.stripe_id: row for row in session.execute(select(LedgerInvoice)).scalars()}
        assert set(invoices) == {invoice["id"] for invoice in fake.objects("invoice")}
        paid_in_stripe = {
            p["invoice"] for p in fake.objects("invoice_payment") if p["status"] == "paid"
        }
        for invoice in fake.objects("invoice"):
            row, transitions = invoices[invoice["id"]], invoice["status_transitions"]
            assert (
                row.status,
                row.currency,
                row.customer,
                row.amount_due,
                row.amount_paid,
                row.amount_remaining,
                row.finalized_at,
                row.paid_at,
                row.voided_at,
                row.due_at,
                row.paid_out_of_band,
            ) == (
                invoice["status"],
                invoice["currency"],
                invoice["customer"],
                invoice["amount_due"],
                invoice["amount_paid"],
                invoice["amount_remaining"],
                at(transitions["finalized_at"]),
                at(transitions["paid_at"]),
                at(transitions["voided_at"]),
                at(invoice["due_date"]),
                invoice["status"] == "paid" and invoice["id"] not in paid_in_stripe,
            ), invoice["id"]

        refunds = {row.stripe_id: row for row in session.execute(select(LedgerRefund)).scalars()}
        assert {
            key: (row.status, row.amount, row.currency, row.created_at)
            for key, row in refunds.items()
        } == {
            r["id"]: (r["status"], r["amount"], r["currency"], at(r["created"]))
            for r in fake.objects("refund")
        }
        disputes = {row.stripe_id: row for row in session.execute(select(LedgerDispute)).scalars()}
        assert {
            key: (row.status, row.amount, row.currency, row.created_at)
            for key, row in disputes.items()
        } == {
            d["id"]: (d["status"], d["amount"], d["currency"], at(d["created"]))
            for d in fake.objects("dispute")
        }
        subscriptions = {
            row.stripe_id: row for row in session.execute(select(LedgerSubscription)).scalars()
        }
        assert {
            key: (row.status, row.amount, row.interval, row.started_at, row.ended_at)
            for key, row in subscriptions.items()
        } == {
            s["id"]: (
                s["status"],
                s["items"]["data"][0]["price"]["unit_amount"],
                s["items"]["data"][0]["price"]["recurring"]["interval"],
                at(s["start_date"]),
                at(s["ended_at"]),
            )
            for s in fake.objects("subscription")
        }
