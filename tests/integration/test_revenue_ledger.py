"""Revenue reports read from real databases (SQLite and PostgreSQL) through the ORM."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from governance.money import Money
from governance.revenue import LedgerRows, Period, compute_report, month_period, revenue_report
from storage.db import read_only
from storage.models import (
    Base,
    Client,
    LedgerDispute,
    LedgerInvoice,
    LedgerRefund,
    LedgerSubscription,
)
from tests.unit.test_revenue import (
    END,
    LATER,
    MICRO,
    NOVEMBER,
    START,
    at,
    client,
    copy,
    dispute,
    invoice,
    refund,
    subscription,
)


def ledger() -> list[Base]:
    return [
        client("cus_A", "acme", name="Acme Corp"),
        client("cus_B", "bolt"),
        # Paid: the edges of the half-open period, to the microsecond.
        invoice(100000, customer="cus_A", paid_at=START),
        invoice(20000, customer="cus_B", paid_at=END - MICRO, out_of_band=True),
        invoice(40000, customer="cus_A", paid_at=END),  # December
        invoice(80000, customer="cus_A", paid_at=START - MICRO),  # October
        invoice(30000, customer="cus_E", email="eve@example.com", currency="eur"),
        # Owed at the end of November.
        invoice(5000, customer="cus_B", status="open", due_at=at(20)),  # overdue
        invoice(7000, customer="cus_B", status="open", amount_paid=2000, due_at=END),
        invoice(9000, customer="cus_A", paid_at=at(2, month=12), due_at=at(25)),  # overdue
        invoice(11000, status="uncollectible"),
        invoice(13000, status="draft"),
        invoice(17000, status="void", voided_at=at(15)),
        # Refunds and disputes.
        refund(10000, at(10)),
        refund(500, at(11), status="pending"),
        refund(999, at(12), status="failed"),
        refund(3000, at(5), currency="eur"),
        dispute(20000, at(14), status="lost"),
        dispute(40000, at(16), status="won"),
        # MRR.
        subscription(10000),
        subscription(120000, "year", started_at=at(10)),
        subscription(500, "week", started_at=at(20)),
        subscription(3000, ended_at=at(15)),
        subscription(7000, status="incomplete"),
        subscription(2000, "month", count=3, currency="eur"),
    ]


def insert(sessions: sessionmaker[Session], rows: list[Base]) -> None:
    with sessions() as session:
        session.add_all(rows)
        session.commit()


def snapshot(session: Session) -> list[tuple[object, ...]]:
    found: list[tuple[object, ...]] = []
    for model in (Client, LedgerInvoice, LedgerRefund, LedgerDispute, LedgerSubscription):
        for row in session.execute(select(model).order_by(model.id)).scalars():
            columns = row.__table__.columns
            found.append(tuple(getattr(row, column.key) for column in columns))
    return found


def test_a_month_of_the_ledger(sessions: sessionmaker[Session]) -> None:
    rows = ledger()
    expected = compute_report(in_hand(rows), NOVEMBER, LATER)
    insert(sessions, [copy(row) for row in rows])
    with read_only(sessions)() as session:
        before = snapshot(session)
        report = revenue_report(session, NOVEMBER, LATER)
        assert snapshot(session) == before
        assert not session.new
        assert not session.dirty

    assert report == expected
    assert report.as_of == END
    assert [figures.currency for figures in report.currencies] == ["eur", "usd"]
    usd = report.figures("usd")
    assert usd.paid == Money(120000, "usd")
    assert usd.paid_out_of_band == Money(20000, "usd")
    assert usd.refunded == Money(10500, "usd")
    assert usd.disputed == Money(20000, "usd")
    assert usd.net == Money(120000 - 10500 - 20000, "usd")
    assert usd.outstanding == Money(5000 + 5000 + 9000, "usd")
    assert usd.overdue == Money(5000 + 9000, "usd")
    # 10000 + 10000 + 500·52/12 = 22166.66… at the end; 10000 + 3000 at the start.
    assert (usd.mrr_start, usd.mrr_end) == (Money(13000, "usd"), Money(22167, "usd"))
    assert usd.mrr_change == Money(9167, "usd")
    assert usd.top_clients == (
        ("Acme Corp", Money(100000, "usd")),
        ("bolt", Money(20000, "usd")),
    )
    assert [week.paid.minor for week in usd.weeks] == [100000, 0, 0, 0, 0, 20000]
    assert sum(week.refunded.minor for week in usd.weeks) == usd.refunded.minor
    eur = report.figures("eur")
    assert (eur.paid, eur.refunded, eur.net) == (
        Money(30000, "eur"),
        Money(3000, "eur"),
        Money(27000, "eur"),
    )
    assert eur.mrr_end == Money(667, "eur")  # 2000 every 3 months: 666.66… → 667
    assert eur.top_clients == (("eve@example.com", Money(30000, "eur")),)


def test_the_month_so_far(sessions: sessionmaker[Session]) -> None:
    insert(sessions, ledger())
    now = at(18)
    with sessions() as session:
        report = revenue_report(session, month_period("this-month", now), now)
    usd = report.figures("usd")
    assert report.as_of == now
    # Owed on Nov 18: the two open invoices (the one due Nov 20 not yet overdue), and the
    # three paid later: at END - 1µs, at END, and in December.
    assert usd.outstanding == Money(5000 + 5000 + 20000 + 40000 + 9000, "usd")
    assert usd.overdue == Money(0, "usd")
    assert usd.mrr_end == Money(20000, "usd")


def test_bounds_in_another_time_zone_mean_the_same_instants(
    sessions: sessionmaker[Session],
) -> None:
    insert(sessions, ledger())
    paris = timezone(timedelta(hours=1))
    shifted = Period(START.astimezone(paris), END.astimezone(paris), NOVEMBER.label)
    with sessions() as session:
        assert revenue_report(session, shifted, LATER).currencies == (
            revenue_report(session, NOVEMBER, LATER).currencies
        )


def test_an_empty_ledger(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        report = revenue_report(session, NOVEMBER, datetime(2026, 11, 5, tzinfo=UTC))
    assert report.is_empty


def in_hand(rows: list[Base]) -> LedgerRows:
    return LedgerRows(
        invoices=[row for row in rows if isinstance(row, LedgerInvoice)],
        refunds=[row for row in rows if isinstance(row, LedgerRefund)],
        disputes=[row for row in rows if isinstance(row, LedgerDispute)],
        subscriptions=[row for row in rows if isinstance(row, LedgerSubscription)],
        client_labels={
            row.stripe_customer: row.name or row.handle
            for row in rows
            if isinstance(row, Client) and row.stripe_customer
        },
    )
