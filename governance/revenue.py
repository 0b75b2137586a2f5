"""Revenue figures for a period, read from the local ledger that Stripe's events keep.

Everything is integer minor units per currency, never a float and never a sum across
currencies, so each figure agrees with Stripe to the cent. The report is a pure read.

Definitions (`t` is the report's `as_of`: `min(period.end, now)`, never before
`period.start`):

- **paid** — `amount_paid` of invoices whose status is `paid` and whose `paid_at` falls in
  the period, paid out of band included; **paid_out_of_band** is the out-of-band part.
- **refunded** — refunds created in the period whose status is `succeeded` or `pending`
  (the money has left or is leaving); `failed` and `canceled` refunds moved nothing.
- **disputed** — disputes created in the period that can still cost or have cost money:
  every status but `won`, and but the two that never withdrew anything — `warning_closed`
  (an inquiry closed without becoming a chargeback) and `prevented`.
- **net** — paid − refunded − disputed.
- **outstanding** at `t` — over invoices finalized at or before `t`, not paid by `t`, not
  voided by `t`, and neither `draft` nor `uncollectible` now: an invoice paid after `t`
  owed its whole `amount_due` at `t` (the ledger keeps when it was paid in full, not
  when any earlier part was); any other owes `amount_due − amount_paid` (Stripe's
  `amount_remaining`, computed so that a void invoice's zeroed remainder cannot hide what
  it owed before it was voided). An invoice `paid` without `paid_at`, or `void` without
  `voided_at`, counts as settled at every `t`. `uncollectible` carries no timestamp, so
  an invoice that is uncollectible now is left out at every `t`.
- **overdue** — the part of outstanding whose `due_at` is before `t`.
- **MRR** at a moment `x` — over subscriptions live at `x` (`started_at ≤ x`, and
  `ended_at` missing or after `x`; never `incomplete` or `incomplete_expired`, nor a
  `canceled` one without `ended_at`, as `governance.ledger.queries.mrr_at` has it), the
  amount per interval as a month, exactly as a `Fraction`: month → a/n, year → a/(12n),
  week → 52a/(12n), day → 365a/(12n) for `interval_count` n. The fractions are summed per
  currency and rounded once, half up, to the minor unit. **mrr_start** is MRR at
  `period.start`, **mrr_end** at `t`.
- **top_clients** — by paid in the period, grouped by Stripe customer (or, without one, by
  the invoice's email), named by the client's name, handle or email, else the invoice's
  email, else the customer id.
- **weeks** — the period cut at every Monday 00:00 UTC: paid and refunded of each part
  (they add up to the period's exactly) and MRR at the part's end (never after `t`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import NamedTuple

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from governance.money import Money
from storage.models import (
    Client,
    LedgerDispute,
    LedgerInvoice,
    LedgerRefund,
    LedgerSubscription,
)

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
REFUND_COUNTED = frozenset({"succeeded", "pending"})
DISPUTE_NOT_COUNTED = frozenset({"won", "warning_closed", "prevented"})
SUBSCRIPTION_NEVER_LIVE = frozenset({"incomplete", "incomplete_expired"})
INVOICE_NEVER_OWED = frozenset({"draft", "uncollectible"})
_MONTHS_PER_YEAR = {"month": Fraction(12), "year": Fraction(1), "week": Fraction(52)}
_DAYS_PER_YEAR = 365
_MONTH_SPEC = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
UNKNOWN_CLIENT = "unknown customer"


# -- periods ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """The half-open span `[start, end)` in UTC, and how to name it to a person."""

    start: datetime
    end: datetime
    label: str

    def __post_init__(self) -> None:
        if self.start.utcoffset() is None or self.end.utcoffset() is None:
            raise ValueError("a period's bounds must be timezone-aware")
        if self.start >= self.end:
            raise ValueError("a period must end after it starts")

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= moment < self.end


def month_period(spec: str, now: datetime) -> Period:
    """The calendar month (UTC) of `this-month`, `last-month` or `YYYY-MM`."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    today = now.astimezone(UTC)
    if spec == "this-month":
        year, month = today.year, today.month
    elif spec == "last-month":
        year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    else:
        matched = _MONTH_SPEC.fullmatch(spec)
        if matched is None or not 1 <= int(matched[2]) <= 12 or not 1 <= int(matched[1]) < 9999:
            raise ValueError(f"{spec!r} is not this-month, last-month or a month like 2026-11")
        year, month = int(matched[1]), int(matched[2])
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC) if month == 12 else start.replace(month=month + 1)
    return Period(start, end, f"{MONTH_NAMES[month - 1]} {year}")


def week_starts(period: Period) -> list[datetime]:
    """Where the period's weekly parts begin: its start, then every Monday 00:00 UTC in it."""
    start = period.start.astimezone(UTC)
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    monday = midnight - timedelta(days=midnight.weekday()) + timedelta(weeks=1)
    starts = [period.start]
    while monday < period.end:
        starts.append(monday)
        monday += timedelta(weeks=1)
    return starts


# -- the report ---------------------------------------------------------------------------


class ClientRevenue(NamedTuple):
    label: str  # outside text: escape it before showing it
    paid: Money


class WeekFigures(NamedTuple):
    start: datetime
    paid: Money
    refunded: Money
    mrr: Money  # at the end of the part, or at `as_of` if that comes first


@dataclass(frozen=True)
class CurrencyFigures:
    currency: str
    paid: Money
    paid_out_of_band: Money
    refunded: Money
    disputed: Money
    net: Money
    outstanding: Money
    overdue: Money
    mrr_start: Money
    mrr_end: Money
    mrr_change: Money
    top_clients: tuple[ClientRevenue, ...]
    weeks: tuple[WeekFigures, ...]
    invoices_paid: int = 0
    refunds: int = 0
    disputes: int = 0
    invoices_outstanding: int = 0
    invoices_overdue: int = 0
    subscriptions_live: int = 0  # at `as_of`


@dataclass(frozen=True)
class RevenueReport:
    period: Period
    as_of: datetime  # the moment outstanding, overdue and the ending MRR are taken at
    generated_at: datetime  # `now` when the ledger was read
    currencies: tuple[CurrencyFigures, ...] = field(default=())  # by currency code

    @property
    def is_empty(self) -> bool:
        return not self.currencies

    def figures(self, currency: str) -> CurrencyFigures:
        for figures in self.currencies:
            if figures.currency == currency.lower():
                return figures
        raise KeyError(currency)


@dataclass(frozen=True)
class LedgerRows:
    """The ledger rows a report is computed from; rows outside the period are ignored."""

    invoices: Sequence[LedgerInvoice] = ()
    refunds: Sequence[LedgerRefund] = ()
    disputes: Sequence[LedgerDispute] = ()
    subscriptions: Sequence[LedgerSubscription] = ()
    client_labels: Mapping[str, str] = field(default_factory=dict)  # Stripe customer → label


def revenue_report(
    session: Session, period: Period, now: datetime, *, top: int = 5
) -> RevenueReport:
    """The period's figures per currency, from the ledger tables; reads, never writes."""
    return compute_report(load_rows(session, period, now), period, now, top=top)


def as_of(period: Period, now: datetime) -> datetime:
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return min(period.end, max(period.start, now))


def load_rows(session: Session, period: Period, now: datetime) -> LedgerRows:
    """Every ledger row that can count in the period (a superset; `compute_report` sorts)."""
    t = as_of(period, now)
    paid = select(LedgerInvoice).where(
        LedgerInvoice.status == "paid",
        LedgerInvoice.paid_at >= period.start,
        LedgerInvoice.paid_at < period.end,
    )
    owed = select(LedgerInvoice).where(
        LedgerInvoice.finalized_at <= t,
        LedgerInvoice.status.not_in(sorted(INVOICE_NEVER_OWED)),
        or_(LedgerInvoice.paid_at.is_(None), LedgerInvoice.paid_at > t),
        or_(LedgerInvoice.voided_at.is_(None), LedgerInvoice.voided_at > t),
    )
    invoices = {row.stripe_id: row for row in session.execute(paid).scalars()}
    invoices.update((row.stripe_id, row) for row in session.execute(owed).scalars())
    refunds = session.execute(
        select(LedgerRefund).where(
            LedgerRefund.created_at >= period.start,
            LedgerRefund.created_at < period.end,
            LedgerRefund.status.in_(sorted(REFUND_COUNTED)),
        )
    ).scalars()
    disputes = session.execute(
        select(LedgerDispute).where(
            LedgerDispute.created_at >= period.start,
            LedgerDispute.created_at < period.end,
        )
    ).scalars()
    subscriptions = session.execute(
        select(LedgerSubscription).where(
            LedgerSubscription.started_at <= t,
            LedgerSubscription.status.not_in(sorted(SUBSCRIPTION_NEVER_LIVE)),
        )
    ).scalars()
    customers = {row.customer for row in invoices.values() if row.customer}
    labels: dict[str, str] = {}
    if customers:
        clients = session.execute(
            select(Client).where(Client.stripe_customer.in_(sorted(customers)))
        ).scalars()
        labels = {
            client.stripe_customer: client_label(client)
            for client in clients
            if client.stripe_customer
        }
    return LedgerRows(
        invoices=list(invoices.values()),
        refunds=list(refunds),
        disputes=list(disputes),
        subscriptions=list(subscriptions),
        client_labels=labels,
    )


def client_label(client: Client) -> str:
    for candidate in (client.name, client.handle, client.email):
        if candidate and candidate.strip():
            return candidate.strip()
    return UNKNOWN_CLIENT


def compute_report(
    rows: LedgerRows, period: Period, now: datetime, *, top: int = 5
) -> RevenueReport:
    """The report of `revenue_report`, from rows in hand: every definition lives here."""
    if top < 0:
        raise ValueError("top must not be negative")
    t = as_of(period, now)
    starts = week_starts(period)
    ends = [*starts[1:], period.end]
    mrr_moments = [period.start, t, *(min(end, t) for end in ends)]
    paid = [row for row in rows.invoices if _paid_in(row, period)]
    refunds = [row for row in rows.refunds if _refund_counts(row, period)]
    disputes = [row for row in rows.disputes if _dispute_counts(row, period)]
    owed = [(row, owed_at(row, t)) for row in rows.invoices]
    owed = [(row, amount) for row, amount in owed if amount > 0]
    mrr = {moment: mrr_at(rows.subscriptions, moment) for moment in set(mrr_moments)}
    live = [row for row in rows.subscriptions if is_live(row, t)]

    currencies = sorted(
        {_cur(row.currency) for row in paid}
        | {_cur(row.currency) for row in refunds}
        | {_cur(row.currency) for row in disputes}
        | {_cur(row.currency) for row, _ in owed}
        | {currency for figures in mrr.values() for currency in figures}
    )
    report: list[CurrencyFigures] = []
    for currency in currencies:

        def money(minor: int, currency: str = currency) -> Money:
            return Money(minor, currency)

        mine = [row for row in paid if _cur(row.currency) == currency]
        my_refunds = [row for row in refunds if _cur(row.currency) == currency]
        my_disputes = [row for row in disputes if _cur(row.currency) == currency]
        my_owed = [(row, amount) for row, amount in owed if _cur(row.currency) == currency]
        overdue = [amount for row, amount in my_owed if row.due_at is not None and row.due_at < t]
        paid_minor = sum(row.amount_paid for row in mine)
        refunded_minor = sum(row.amount for row in my_refunds)
        disputed_minor = sum(row.amount for row in my_disputes)
        mrr_start = mrr[period.start].get(currency, 0)
        mrr_end = mrr[t].get(currency, 0)
        weeks = tuple(
            WeekFigures(
                start,
                money(sum(row.amount_paid for row in mine if start <= _aware(row.paid_at) < end)),
                money(sum(row.amount for row in my_refunds if start <= row.created_at < end)),
                money(mrr[min(end, t)].get(currency, 0)),
            )
            for start, end in zip(starts, ends, strict=True)
        )
        figures = CurrencyFigures(
            currency=currency,
            paid=money(paid_minor),
            paid_out_of_band=money(sum(row.amount_paid for row in mine if row.paid_out_of_band)),
            refunded=money(refunded_minor),
            disputed=money(disputed_minor),
            net=money(paid_minor - refunded_minor - disputed_minor),
            outstanding=money(sum(amount for _, amount in my_owed)),
            overdue=money(sum(overdue)),
            mrr_start=money(mrr_start),
            mrr_end=money(mrr_end),
            mrr_change=money(mrr_end - mrr_start),
            top_clients=_top_clients(mine, rows.client_labels, currency, top),
            weeks=weeks,
            invoices_paid=len(mine),
            refunds=len(my_refunds),
            disputes=len(my_disputes),
            invoices_outstanding=len(my_owed),
            invoices_overdue=len(overdue),
            subscriptions_live=sum(1 for row in live if _cur(row.currency) == currency),
        )
        if _matters(figures):
            report.append(figures)
    return RevenueReport(period=period, as_of=t, generated_at=now, currencies=tuple(report))


# -- the definitions, one row at a time ---------------------------------------------------


def _cur(currency: str) -> str:
    return currency.lower()


def _aware(moment: datetime | None) -> datetime:
    assert moment is not None  # callers filtered the rows without one
    return moment


def _paid_in(row: LedgerInvoice, period: Period) -> bool:
    return row.status == "paid" and row.paid_at is not None and row.paid_at in period


def _refund_counts(row: LedgerRefund, period: Period) -> bool:
    return row.status in REFUND_COUNTED and row.created_at in period


def _dispute_counts(row: LedgerDispute, period: Period) -> bool:
    return row.status not in DISPUTE_NOT_COUNTED and row.created_at in period


def owed_at(row: LedgerInvoice, t: datetime) -> int:
    """What the invoice still owed at `t`, in minor units; 0 if it owed nothing then."""
    if row.status in INVOICE_NEVER_OWED or row.finalized_at is None or row.finalized_at > t:
        return 0
    if row.status == "paid" and row.paid_at is None:
        return 0  # paid, at a moment the ledger does not know
    if row.status == "void" and row.voided_at is None:
        return 0
    if row.paid_at is not None and row.paid_at <= t:
        return 0
    if row.voided_at is not None and row.voided_at <= t:
        return 0
    if row.paid_at is not None:  # paid in full after t: all of it was owed at t
        return max(row.amount_due, 0)
    return max(row.amount_due - row.amount_paid, 0)


def is_live(row: LedgerSubscription, moment: datetime) -> bool:
    """Whether the subscription counted towards MRR at `moment`."""
    if row.status in SUBSCRIPTION_NEVER_LIVE or row.started_at > moment:
        return False
    if row.ended_at is None:
        return row.status != "canceled"  # ended, but the ledger does not know when
    return row.ended_at > moment


def monthly_amount(row: LedgerSubscription) -> Fraction:
    """The subscription's amount per interval as an exact amount per month (minor units)."""
    try:
        return monthly(row.amount, row.interval, row.interval_count)
    except ValueError as exc:
        raise ValueError(f"subscription {row.stripe_id}: {exc}") from None


def monthly(amount: int, interval: str, count: int = 1) -> Fraction:
    """`amount` every `count` `interval`s, as an exact amount per month."""
    if count < 1:
        raise ValueError(f"interval_count {count}")
    if interval == "day":
        return Fraction(amount * _DAYS_PER_YEAR, 12 * count)
    per_year = _MONTHS_PER_YEAR.get(interval)
    if per_year is None:
        raise ValueError(f"unknown interval {interval!r}")
    return Fraction(amount) * per_year / (12 * count)


def round_half_up(value: Fraction) -> int:
    """The nearest integer; halves go away from zero (up, for the amounts here)."""
    if value < 0:
        return -round_half_up(-value)
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


def mrr_at(subscriptions: Iterable[LedgerSubscription], moment: datetime) -> dict[str, int]:
    """MRR per currency at `moment`: exact monthly amounts summed, then rounded once."""
    totals: dict[str, Fraction] = defaultdict(Fraction)
    for row in subscriptions:
        if is_live(row, moment):
            totals[_cur(row.currency)] += monthly_amount(row)
    return {currency: round_half_up(total) for currency, total in totals.items()}


def _top_clients(
    paid: Sequence[LedgerInvoice], labels: Mapping[str, str], currency: str, top: int
) -> tuple[ClientRevenue, ...]:
    totals: dict[str, int] = defaultdict(int)
    names: dict[str, str] = {}
    for row in sorted(paid, key=lambda row: (_aware(row.paid_at), row.stripe_id)):
        email = (row.customer_email or "").strip()
        key = f"customer:{row.customer}" if row.customer else f"email:{email.lower()}"
        totals[key] += row.amount_paid
        if key not in names or names[key] == UNKNOWN_CLIENT:
            known = labels.get(row.customer) if row.customer else None
            names[key] = known or email or row.customer or UNKNOWN_CLIENT
    ranked = sorted(totals, key=lambda key: (-totals[key], names[key].lower(), key))
    return tuple(ClientRevenue(names[key], Money(totals[key], currency)) for key in ranked[:top])


def _matters(figures: CurrencyFigures) -> bool:
    amounts = (
        figures.paid,
        figures.refunded,
        figures.disputed,
        figures.outstanding,
        figures.mrr_start,
        figures.mrr_end,
    )
    counts = (figures.invoices_paid, figures.refunds, figures.disputes)
    return any(amount.minor for amount in amounts) or any(counts) or figures.subscriptions_live > 0
