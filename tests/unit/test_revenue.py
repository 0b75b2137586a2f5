"""Revenue figures from hand-built ledger rows: every definition, its edges, and properties.

Each example runs twice: on the rows in hand (`compute_report`) and through an in-memory
SQLite database (`revenue_report`), so the loader's filters never drop a row that counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from governance.money import Money
from governance.revenue import (
    LedgerRows,
    Period,
    RevenueReport,
    as_of,
    compute_report,
    month_period,
    monthly_amount,
    mrr_at,
    owed_at,
    revenue_report,
    round_half_up,
    week_starts,
)
from storage.models import (
    Base,
    Client,
    LedgerDispute,
    LedgerInvoice,
    LedgerRefund,
    LedgerSubscription,
)

NOVEMBER = month_period("2026-11", datetime(2026, 12, 15, tzinfo=UTC))
START, END = NOVEMBER.start, NOVEMBER.end
LATER = datetime(2027, 1, 10, tzinfo=UTC)  # a `now` after November: t = END
MICRO = timedelta(microseconds=1)
_ids = iter(range(1, 10**9))


def at(day: int, hour: int = 12, month: int = 11, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def usd(minor: int) -> Money:
    return Money(minor, "usd")


def eur(minor: int) -> Money:
    return Money(minor, "eur")


# -- row builders (also used by the view, chart and integration tests) ---------------------


def invoice(
    amount: int = 10000,
    *,
    status: str = "paid",
    paid_at: datetime | None = None,
    currency: str = "usd",
    customer: str | None = "cus_A",
    email: str | None = "a@example.com",
    amount_paid: int | None = None,
    amount_due: int | None = None,
    out_of_band: bool = False,
    finalized_at: datetime | None = None,
    due_at: datetime | None = None,
    voided_at: datetime | None = None,
    stripe_id: str | None = None,
) -> LedgerInvoice:
    """A finalized invoice; `paid` (at `paid_at`, default Nov 10) unless `status` says not."""
    paid = status == "paid"
    if paid and paid_at is None:
        paid_at = at(10)
    due = amount if amount_due is None else amount_due
    got = (due if paid else 0) if amount_paid is None else amount_paid
    created = at(1, 0, 10)
    return LedgerInvoice(
        stripe_id=stripe_id or f"in_{next(_ids)}",
        customer=customer,
        customer_email=email,
        status=status,
        currency=currency,
        amount_due=due,
        amount_paid=got,
        amount_remaining=due - got,
        paid_out_of_band=out_of_band,
        created_at=created,
        due_at=due_at,
        finalized_at=created if finalized_at is None and status != "draft" else finalized_at,
        paid_at=paid_at,
        voided_at=voided_at,
        as_of=0,
        updated_at=created,
    )


def refund(
    amount: int,
    created_at: datetime,
    *,
    status: str = "succeeded",
    currency: str = "usd",
) -> LedgerRefund:
    return LedgerRefund(
        stripe_id=f"re_{next(_ids)}",
        status=status,
        currency=currency,
        amount=amount,
        created_at=created_at,
        as_of=0,
        updated_at=created_at,
    )


def dispute(
    amount: int, created_at: datetime, *, status: str = "lost", currency: str = "usd"
) -> LedgerDispute:
    return LedgerDispute(
        stripe_id=f"dp_{next(_ids)}",
        status=status,
        currency=currency,
        amount=amount,
        created_at=created_at,
        as_of=0,
        updated_at=created_at,
    )


def subscription(
    amount: int,
    interval: str = "month",
    *,
    count: int = 1,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    canceled_at: datetime | None = None,
    status: str = "active",
    currency: str = "usd",
    customer: str | None = "cus_A",
) -> LedgerSubscription:
    started = started_at or datetime(2026, 1, 1, tzinfo=UTC)
    return LedgerSubscription(
        stripe_id=f"sub_{next(_ids)}",
        customer=customer,
        status=status,
        currency=currency,
        amount=amount,
        interval=interval,
        interval_count=count,
        cancel_at_period_end=False,
        started_at=started,
        canceled_at=canceled_at,
        ended_at=ended_at,
        as_of=0,
        updated_at=started,
    )


def client(customer: str, handle: str, *, name: str | None = None, email: str = "") -> Client:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    return Client(
        handle=handle,
        email=email or f"{handle}@example.com",
        name=name,
        stripe_customer=customer,
        notes="",
        created_at=moment,
        updated_at=moment,
    )


Row = TypeVar("Row", bound=Base)


def copy(row: Row) -> Row:
    """A fresh transient copy of a row, for a second session."""
    columns = row.__table__.columns
    return type(row)(**{c.key: getattr(row, c.key) for c in columns if c.key != "id"})


@contextmanager
def memory_session() -> Iterator[Session]:
    engine = create_engine(
        "sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool
    )
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def report(
    *rows: Base,
    period: Period = NOVEMBER,
    now: datetime = LATER,
    top: int = 5,
) -> RevenueReport:
    """The report both ways; they must agree."""
    clients = [row for row in rows if isinstance(row, Client)]
    in_hand = LedgerRows(
        invoices=[row for row in rows if isinstance(row, LedgerInvoice)],
        refunds=[row for row in rows if isinstance(row, LedgerRefund)],
        disputes=[row for row in rows if isinstance(row, LedgerDispute)],
        subscriptions=[row for row in rows if isinstance(row, LedgerSubscription)],
        client_labels={c.stripe_customer: c.name or c.handle for c in clients if c.stripe_customer},
    )
    pure = compute_report(in_hand, period, now, top=top)
    with memory_session() as session:
        session.add_all([copy(row) for row in rows])
        session.commit()
        loaded = revenue_report(session, period, now, top=top)
    assert loaded == pure
    return pure


# -- periods ----------------------------------------------------------------------------------


def test_month_periods() -> None:
    now = datetime(2026, 11, 17, 9, 30, tzinfo=UTC)
    assert month_period("this-month", now) == Period(at(1, 0), at(1, 0, 12), "November 2026")
    assert month_period("last-month", now) == Period(at(1, 0, 10), at(1, 0), "October 2026")
    assert month_period("2026-12", now) == Period(at(1, 0, 12), at(1, 0, 1, 2027), "December 2026")
    january = datetime(2027, 1, 3, tzinfo=UTC)
    assert month_period("last-month", january).label == "December 2026"
    assert month_period("last-month", january).end == datetime(2027, 1, 1, tzinfo=UTC)


def test_month_period_reads_now_in_utc() -> None:
    tokyo_new_year = datetime(2027, 1, 1, 8, tzinfo=timezone(timedelta(hours=9)))
    assert month_period("this-month", tokyo_new_year).label == "December 2026"
    late = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
    assert month_period("this-month", late).label == "November 2026"


@pytest.mark.parametrize(
    "spec", ["2026-13", "2026-00", "26-11", "2026-1", "0000-05", "9999-12", "next-month", ""]
)
def test_month_period_refuses_what_is_no_month(spec: str) -> None:
    with pytest.raises(ValueError, match="not this-month"):
        month_period(spec, LATER)


def test_periods_are_aware_and_not_empty() -> None:
    with pytest.raises(ValueError, match="aware"):
        month_period("this-month", datetime(2026, 11, 1))
    with pytest.raises(ValueError, match="aware"):
        Period(datetime(2026, 11, 1), END, "x")
    with pytest.raises(ValueError, match="after"):
        Period(END, START, "x")


def test_weeks_start_on_mondays_clipped_to_the_period() -> None:
    # November 2026 begins on a Sunday.
    assert week_starts(NOVEMBER) == [at(1, 0), *(at(day, 0) for day in (2, 9, 16, 23, 30))]
    from_monday = Period(at(2, 0), at(16, 0), "two weeks")
    assert week_starts(from_monday) == [at(2, 0), at(9, 0)]
    mid_monday = Period(at(2, 10), at(9, 0) + MICRO, "a week and a moment")
    assert week_starts(mid_monday) == [at(2, 10), at(9, 0)]


def test_as_of_is_now_within_the_period() -> None:
    assert as_of(NOVEMBER, LATER) == END
    assert as_of(NOVEMBER, at(17)) == at(17)
    assert as_of(NOVEMBER, at(1, 0, 10)) == START
    with pytest.raises(ValueError, match="aware"):
        as_of(NOVEMBER, datetime(2026, 11, 3))


# -- paid, refunded, disputed, net ------------------------------------------------------------


def test_paid_counts_invoices_paid_within_the_half_open_period() -> None:
    figures = report(
        invoice(100, paid_at=START),
        invoice(200, paid_at=END - MICRO),
        invoice(400, paid_at=END),
        invoice(800, paid_at=START - MICRO),
        invoice(1600, status="open"),
        invoice(3200, status="void", voided_at=at(3)),
    ).figures("usd")
    assert figures.paid == usd(300)
    assert figures.invoices_paid == 2


def test_out_of_band_payments_count_and_are_shown_apart() -> None:
    figures = report(invoice(5000), invoice(2500, out_of_band=True)).figures("usd")
    assert (figures.paid, figures.paid_out_of_band) == (usd(7500), usd(2500))


def test_paid_is_what_was_paid_not_what_was_due() -> None:
    figures = report(invoice(10000, amount_paid=9000)).figures("usd")
    assert figures.paid == usd(9000)


def test_refunds_in_the_period_that_moved_or_are_moving_money() -> None:
    figures = report(
        invoice(10000),
        refund(2500, at(12)),  # partial
        refund(1000, at(13), status="pending"),
        refund(700, at(14), status="failed"),
        refund(300, at(15), status="canceled"),
        refund(50, START),
        refund(60, END),
        refund(70, START - MICRO),
    ).figures("usd")
    assert figures.refunded == usd(3550)
    assert figures.refunds == 3


def test_disputes_count_unless_won() -> None:
    figures = report(
        invoice(10000),
        dispute(1000, at(5), status="lost"),
        dispute(2000, at(6), status="won"),
        dispute(4000, at(7), status="needs_response"),
        dispute(8000, at(8), status="under_review"),
        dispute(16000, at(9), status="warning_closed"),
        dispute(32000, END, status="lost"),
    ).figures("usd")
    assert figures.disputed == usd(13000)
    assert figures.disputes == 3


def test_net_is_paid_less_refunds_and_disputes() -> None:
    figures = report(
        invoice(10000), refund(2500, at(12)), dispute(10000, at(13), status="lost")
    ).figures("usd")
    assert figures.net == usd(10000 - 2500 - 10000)


def test_currencies_are_never_added_together() -> None:
    result = report(
        invoice(10000),
        invoice(20000, currency="eur"),
        invoice(5, currency="EUR"),  # the ledger might keep Stripe's case: still euros
        refund(300, at(12), currency="eur"),
        subscription(4000, currency="eur"),
    )
    assert [figures.currency for figures in result.currencies] == ["eur", "usd"]
    assert result.figures("usd").paid == usd(10000)
    assert result.figures("EUR").paid == eur(20005)
    assert result.figures("eur").net == eur(19705)
    assert result.figures("usd").mrr_end == usd(0)
    assert result.figures("eur").mrr_end == eur(4000)
    with pytest.raises(KeyError):
        result.figures("gbp")


def test_an_empty_period_has_no_currencies() -> None:
    result = report(
        invoice(100, paid_at=at(10, month=10)),
        refund(50, at(10), status="failed"),
        subscription(1000, ended_at=at(1, month=10)),
    )
    assert result.is_empty
    assert result.currencies == ()


# -- outstanding and overdue ------------------------------------------------------------------

T = at(20)


def unplaced(row: LedgerInvoice) -> LedgerInvoice:
    row.paid_at = None
    return row


@pytest.mark.parametrize(
    ("row", "owed"),
    [
        pytest.param(invoice(1000, status="open"), 1000, id="open"),
        pytest.param(invoice(1000, status="open", amount_paid=400), 600, id="partly-paid"),
        pytest.param(invoice(1000, status="draft"), 0, id="draft"),
        pytest.param(invoice(1000, status="uncollectible"), 0, id="uncollectible"),
        pytest.param(invoice(1000, status="open", finalized_at=T), 1000, id="finalized-at-t"),
        pytest.param(invoice(1000, status="open", finalized_at=T + MICRO), 0, id="finalized-after"),
        pytest.param(invoice(1000, paid_at=T), 0, id="paid-at-t"),
        pytest.param(invoice(1000, paid_at=T - MICRO), 0, id="paid-before"),
        pytest.param(invoice(1000, paid_at=T + MICRO), 1000, id="paid-after"),
        pytest.param(invoice(1000, paid_at=at(25), amount_paid=1000), 1000, id="paid-after-all"),
        pytest.param(invoice(1000, status="void", voided_at=T), 0, id="voided-at-t"),
        pytest.param(invoice(1000, status="void", voided_at=at(25)), 1000, id="voided-after"),
        pytest.param(invoice(1000, status="void"), 0, id="void-unknown-time"),
        pytest.param(unplaced(invoice(1000)), 0, id="paid-unknown-time"),
    ],
)
def test_what_an_invoice_owed_at_a_moment(row: LedgerInvoice, owed: int) -> None:
    assert owed_at(row, T) == owed


def test_outstanding_and_overdue_at_now_within_the_period() -> None:
    now = at(20)
    figures = report(
        invoice(1000, status="open", due_at=at(19)),  # overdue
        invoice(2000, status="open", due_at=now),  # due now: not yet overdue
        invoice(4000, status="open"),  # no due date: never overdue
        invoice(8000, status="open", amount_paid=3000, due_at=at(5)),  # 5000 overdue
        invoice(16000, status="uncollectible", due_at=at(5)),
        invoice(32000, status="draft"),
        now=now,
    ).figures("usd")
    assert figures.outstanding == usd(1000 + 2000 + 4000 + 5000)
    assert figures.overdue == usd(1000 + 5000)
    assert (figures.invoices_outstanding, figures.invoices_overdue) == (4, 2)


def test_a_past_month_takes_outstanding_at_its_end() -> None:
    # Paid on Dec 3: it was owed at the end of November, and overdue since Nov 30.
    late = invoice(5000, paid_at=at(3, month=12), due_at=at(30))
    on_time = invoice(7000, paid_at=at(29), due_at=at(30))
    voided_in_december = invoice(
        900, status="void", voided_at=at(2, month=12), due_at=at(15, month=12)
    )
    figures = report(late, on_time, voided_in_december).figures("usd")
    assert figures.paid == usd(7000)
    assert figures.outstanding == usd(5900)
    assert figures.overdue == usd(5000)


def test_outstanding_alone_makes_a_currency_show() -> None:
    result = report(invoice(1000, status="open", currency="eur"))
    assert [figures.currency for figures in result.currencies] == ["eur"]
    assert result.figures("eur").paid == eur(0)


# -- MRR -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "count", "amount", "monthly"),
    [
        ("month", 1, 5000, Fraction(5000)),
        ("month", 3, 15000, Fraction(5000)),
        ("year", 1, 120000, Fraction(10000)),
        ("year", 2, 1000, Fraction(1000, 24)),
        ("week", 1, 100, Fraction(5200, 12)),
        ("week", 2, 100, Fraction(5200, 24)),
        ("day", 1, 100, Fraction(36500, 12)),
        ("day", 7, 700, Fraction(36500, 12)),
    ],
)
def test_monthly_amounts(interval: str, count: int, amount: int, monthly: Fraction) -> None:
    assert monthly_amount(subscription(amount, interval, count=count)) == monthly


def test_strange_intervals_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown interval"):
        monthly_amount(subscription(100, "fortnight"))
    with pytest.raises(ValueError, match="interval_count"):
        monthly_amount(subscription(100, count=0))


def test_mrr_is_rounded_once_half_up() -> None:
    # Six plans of 6 cents a year: half a cent a month each. Rounded one by one they would
    # make 6 cents; the exact sum is 3.
    assert mrr_at([subscription(6, "year") for _ in range(6)], START) == {"usd": 3}
    assert mrr_at([subscription(6, "year")], START) == {"usd": 1}  # 0.5 → 1
    assert mrr_at([subscription(5, "year")], START) == {"usd": 0}  # 0.4166… → 0
    assert mrr_at([subscription(100, "week")], START) == {"usd": 433}  # 433.33…
    assert mrr_at([subscription(100, "day")], START) == {"usd": 3042}  # 3041.66…


def test_which_subscriptions_are_live() -> None:
    subs = [
        subscription(1, started_at=START),  # starts exactly at the moment: live
        subscription(10, started_at=START + MICRO),  # not yet
        subscription(100, ended_at=START),  # ended exactly then: gone
        subscription(1000, ended_at=START + MICRO),  # still live
        subscription(10000, status="incomplete"),
        subscription(100000, status="incomplete_expired"),
        subscription(1000000, status="canceled", canceled_at=at(1, month=12)),  # no ended_at
        subscription(10000000, status="canceled"),  # canceled, when unknown: never live
        subscription(100000000, status="past_due"),
    ]
    assert mrr_at(subs, START) == {"usd": 100001001}


def test_mrr_at_the_start_and_at_the_end_of_the_period() -> None:
    figures = report(
        subscription(5000),  # all month
        subscription(120000, "year", started_at=at(10)),  # +10000 mid-month
        subscription(100, "week", started_at=at(20)),  # +433.33…
        subscription(3000, ended_at=at(15)),  # −3000 mid-month
        subscription(999, "year", started_at=END),  # starts at the very end: live at END
    ).figures("usd")
    # At the end: 5000 + 10000 + 433.333… + 83.25 = 15516.58… → 15517.
    assert figures.mrr_start == usd(8000)
    assert figures.mrr_end == usd(15517)
    assert figures.mrr_change == usd(7517)
    assert figures.subscriptions_live == 4


def test_mrr_that_fell_shows_a_negative_change() -> None:
    figures = report(subscription(3000, ended_at=at(15)), subscription(1000)).figures("usd")
    assert (figures.mrr_start, figures.mrr_end, figures.mrr_change) == (
        usd(4000),
        usd(1000),
        usd(-3000),
    )


def test_this_month_takes_mrr_at_now() -> None:
    subs = (subscription(1000), subscription(2000, started_at=at(25)))
    figures = report(*subs, now=at(20)).figures("usd")
    assert figures.mrr_end == usd(1000)
    assert [week.mrr for week in figures.weeks] == [usd(1000)] * 6


# -- top clients -------------------------------------------------------------------------------


def test_top_clients_are_named_by_client_then_email_then_customer() -> None:
    figures = report(
        client("cus_A", "acme", name="Acme Corp"),
        client("cus_B", "bolt"),  # no name: its handle
        invoice(1000, customer="cus_A"),
        invoice(2000, customer="cus_A"),
        invoice(2500, customer="cus_B", email="billing@bolt.example"),
        invoice(2000, customer="cus_C", email="carol@example.com"),
        invoice(1500, customer="cus_D", email=None),
        invoice(1200, customer=None, email="walkin@example.com"),
        invoice(100, customer=None, email=None),
        invoice(99999, customer="cus_A", currency="eur"),
    ).figures("usd")
    assert figures.top_clients == (
        ("Acme Corp", usd(3000)),
        ("bolt", usd(2500)),
        ("carol@example.com", usd(2000)),
        ("cus_D", usd(1500)),
        ("walkin@example.com", usd(1200)),
    )


def test_top_clients_ties_read_alphabetically_and_top_limits() -> None:
    rows = [invoice(500, customer=f"cus_{name}", email=f"{name}@x.example") for name in "dcba"]
    figures = report(*rows, top=3).figures("usd")
    assert [label for label, _ in figures.top_clients] == [
        "a@x.example",
        "b@x.example",
        "c@x.example",
    ]
    assert report(*rows, top=0).figures("usd").top_clients == ()
    with pytest.raises(ValueError, match="top"):
        compute_report(LedgerRows(), NOVEMBER, LATER, top=-1)


def test_refunds_and_unpaid_invoices_do_not_make_top_clients() -> None:
    figures = report(
        invoice(1000, customer="cus_A"), invoice(9000, customer="cus_B", status="open")
    ).figures("usd")
    assert [label for label, _ in figures.top_clients] == ["a@example.com"]


# -- weeks -------------------------------------------------------------------------------------


def test_weeks_split_paid_refunded_and_track_mrr() -> None:
    figures = report(
        invoice(100, paid_at=START),  # Sunday Nov 1: the first, one-day part
        invoice(200, paid_at=at(2, 0)),  # Monday 00:00: the second part
        invoice(400, paid_at=at(8, 23)),
        invoice(800, paid_at=at(30, 23)),  # the last part, Monday Nov 30
        refund(50, at(9, 0) - MICRO),
        refund(70, at(9, 0)),
        subscription(1000),
        subscription(3000, started_at=at(12)),
    ).figures("usd")
    assert [week.start for week in figures.weeks] == week_starts(NOVEMBER)
    assert [week.paid.minor for week in figures.weeks] == [100, 600, 0, 0, 0, 800]
    assert [week.refunded.minor for week in figures.weeks] == [0, 50, 70, 0, 0, 0]
    assert [week.mrr.minor for week in figures.weeks] == [1000, 1000, 4000, 4000, 4000, 4000]
    assert figures.weeks[-1].mrr == figures.mrr_end


# -- a pure read -------------------------------------------------------------------------------


def test_the_report_only_reads() -> None:
    with memory_session() as session:
        session.add_all([invoice(1000), refund(10, at(4)), subscription(500)])
        session.commit()
        statements: list[str] = []

        def record(*args: Any) -> None:
            statements.append(args[2])

        event.listen(session.get_bind(), "before_cursor_execute", record)
        revenue_report(session, NOVEMBER, LATER)
        assert statements
        assert all(statement.lstrip().upper().startswith("SELECT") for statement in statements)
        assert not session.new
        assert not session.dirty
        assert not session.deleted


# -- properties --------------------------------------------------------------------------------

CURRENCIES = st.sampled_from(["usd", "eur"])
MOMENTS = st.datetimes(
    min_value=datetime(2026, 10, 1),
    max_value=datetime(2027, 1, 31),
    timezones=st.just(UTC),
)
AMOUNTS = st.integers(min_value=0, max_value=10**9)


@st.composite
def invoices(draw: st.DrawFn) -> LedgerInvoice:
    status = draw(st.sampled_from(["paid", "open", "void", "uncollectible", "draft"]))
    due = draw(AMOUNTS)
    paid_at = draw(MOMENTS) if status == "paid" else None
    return invoice(
        due,
        status=status,
        paid_at=paid_at,
        amount_paid=draw(st.integers(min_value=0, max_value=due)),
        currency=draw(CURRENCIES),
        customer=draw(st.sampled_from([None, "cus_A", "cus_B"])),
        out_of_band=draw(st.booleans()),
        due_at=draw(st.none() | MOMENTS),
        finalized_at=None if status == "draft" else draw(MOMENTS),
        voided_at=draw(MOMENTS) if status == "void" else None,
    )


@st.composite
def subscriptions(draw: st.DrawFn) -> LedgerSubscription:
    started = draw(MOMENTS)
    return subscription(
        draw(AMOUNTS),
        draw(st.sampled_from(["day", "week", "month", "year"])),
        count=draw(st.integers(min_value=1, max_value=12)),
        started_at=started,
        ended_at=draw(st.none() | MOMENTS.filter(lambda moment: moment > started)),
        status=draw(st.sampled_from(["active", "past_due", "trialing", "incomplete"])),
        currency=draw(CURRENCIES),
    )


@st.composite
def periods(draw: st.DrawFn) -> Period:
    start = draw(MOMENTS)
    length = draw(st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=70)))
    return Period(start, start + length, "a span")


@st.composite
def ledgers(draw: st.DrawFn) -> LedgerRows:
    return LedgerRows(
        invoices=draw(st.lists(invoices(), max_size=12)),
        refunds=[
            refund(draw(AMOUNTS), draw(MOMENTS), status=status, currency=draw(CURRENCIES))
            for status in draw(
                st.lists(st.sampled_from(["succeeded", "pending", "failed"]), max_size=6)
            )
        ],
        disputes=[
            dispute(draw(AMOUNTS), draw(MOMENTS), status=status, currency=draw(CURRENCIES))
            for status in draw(
                st.lists(st.sampled_from(["won", "lost", "needs_response"]), max_size=6)
            )
        ],
        subscriptions=draw(st.lists(subscriptions(), max_size=8)),
    )


@settings(max_examples=150, deadline=None)
@given(ledgers(), periods(), MOMENTS)
def test_net_is_always_paid_less_refunded_less_disputed(
    rows: LedgerRows, period: Period, now: datetime
) -> None:
    for figures in compute_report(rows, period, now).currencies:
        assert figures.net.minor == (
            figures.paid.minor - figures.refunded.minor - figures.disputed.minor
        )
        assert figures.mrr_change.minor == figures.mrr_end.minor - figures.mrr_start.minor
        assert 0 <= figures.paid_out_of_band.minor <= figures.paid.minor
        assert 0 <= figures.overdue.minor <= figures.outstanding.minor
        assert {money.currency for money in (figures.net, figures.overdue)} == {figures.currency}


@settings(max_examples=150, deadline=None)
@given(ledgers(), periods(), MOMENTS)
def test_weeks_add_up_to_the_period_exactly(
    rows: LedgerRows, period: Period, now: datetime
) -> None:
    result = compute_report(rows, period, now)
    for figures in result.currencies:
        assert sum(week.paid.minor for week in figures.weeks) == figures.paid.minor
        assert sum(week.refunded.minor for week in figures.weeks) == figures.refunded.minor
        starts = [week.start for week in figures.weeks]
        assert starts[0] == period.start
        assert starts == sorted(set(starts))
        assert all(start.weekday() == 0 for start in starts[1:])
        if result.as_of == period.end:
            assert figures.weeks[-1].mrr == figures.mrr_end


@settings(max_examples=200, deadline=None)
@given(st.lists(subscriptions(), max_size=10), MOMENTS)
def test_mrr_is_the_exact_sum_rounded_once(
    subs: list[LedgerSubscription], moment: datetime
) -> None:
    got = mrr_at(subs, moment)
    for currency in ("usd", "eur"):
        exact = sum(
            (
                monthly_amount(row)
                for row in subs
                if row.currency == currency
                and row.status != "incomplete"
                and row.started_at <= moment
                and (row.ended_at is None or row.ended_at > moment)
            ),
            Fraction(0),
        )
        assert abs(got.get(currency, 0) - exact) <= Fraction(1, 2)
        assert got.get(currency, 0) == round_half_up(exact)


@given(
    st.fractions(min_value=Fraction(-(10**12)), max_value=Fraction(10**12), max_denominator=10**12)
)
def test_rounding_is_half_up_like_decimal(value: Fraction) -> None:
    with localcontext(prec=200):
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        expected = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert round_half_up(value) == expected
