"""A scripted month and a bit of billing in the fake Stripe, done as the bot does it.

The bot's own calls go through `StripeGateway` (customers, invoices, subscriptions,
refunds, cancellations, a payment marked out of band); what clients and banks do goes
through the fake's controls (paying on the hosted page, a declined card, disputes), and
time through `fake.advance`. Days are counted from the first of the scripted month, at
10:00 UTC unless said otherwise: day -6 is six days before that month begins.

    day -6  clients acme, bolt, cyan, dune (EUR), echo; acme saves a card
            acme: monthly Retainer $199.99 charged to the card
            bolt: weekly Support $49.99 invoiced (due in 7 days)
            acme: invoice A1 $1,234.56
    day -5  bolt pays Support's first invoice; dune saves a card and subscribes to the
            yearly Licence €1,199.99, charged
    day -4  acme pays A1 by card; echo: monthly Hosting $33.33 invoiced (due in 10 days)
    day -3  bolt: invoices B1 $500.05 (due in 14 days) and B0 $300.00 (due in a day)
    day -2  cyan saves a card: monthly Care $75.50 charged
    day -1  echo pays Hosting's first invoice
    day  1  Support renews (invoice sent); dune: invoice D1 €3,333.33
    day  2  B1 is marked paid out of band; acme: invoice A2 $2,500.01
    day  3  A1 refunded in full; bolt pays Support's first renewal
    day  4  echo: invoice E2 $450.00, paid at once by card
    day  5  acme pays A2
    day  6  cyan: invoice C1 $880.80
    day  7  cyan's first try to pay C1 is declined, the second succeeds
    day  8  Support renews; dune pays D1
    day  9  A2 partly refunded, $250.00
    day 10  dune: invoice D2 €777.77 (due in 14 days); echo's Hosting cancelled now
    day 12  cyan disputes C1 in full; echo: invoice E1 $99.99 (due in 30 days);
            bolt pays Support's second renewal
    day 13  bolt pays B0, overdue since day -2, by card
    day 14  D1 partly refunded, €333.33
    day 15  Support renews, and that invoice is never paid; echo: invoice F $60.00
    day 16  dune disputes €1,000.00 of D1
    day 17  Support set to cancel at the end of its period
    day 18  F voided
    day 20  A2 partly refunded again, $100.01
    day 22  Support ends; its last invoice is overdue
    day 23  cyan's card is replaced by one that declines
    day 24  C1's dispute is lost; D2 is overdue
    day 25  Retainer renews, charged
    day 26  D1's dispute is won
    day 27  echo disputes $123.45 of E2, left open
    day 29  Care renews and the card declines: past_due
    day 30  the end (18:00)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from governance.money import Money
from governance.ports import CallScope
from integrations.local.stripe.server import FakeStripe
from integrations.stripe_gateway import StripeGateway

DAY = 86_400
HOUR = 3_600


def scripted_month(after: datetime) -> datetime:
    """The first month of 31 days that begins at least a week after `after`."""
    start = (after + timedelta(days=7)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while True:
        start = (start + timedelta(days=32)).replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        if (following - start).days == 31:
            return start


def usd(minor: int) -> Money:
    return Money(minor, "usd")


def eur(minor: int) -> Money:
    return Money(minor, "eur")


@dataclass
class Script:
    """What the script did, by name, for the test to point at."""

    month_start: datetime
    customers: dict[str, str] = field(default_factory=dict)  # name → cus_…
    invoices: dict[str, str] = field(default_factory=dict)  # name → in_…
    subscriptions: dict[str, str] = field(default_factory=dict)  # name → sub_…
    disputes: dict[str, str] = field(default_factory=dict)  # name → du_…
    refunds: list[str] = field(default_factory=list)


class MonthScript:
    def __init__(self, fake: FakeStripe, gateway: StripeGateway) -> None:
        self.fake = fake
        self.gateway = gateway
        now = datetime.fromtimestamp(fake.now(), UTC)
        self.script = Script(scripted_month(now))
        self._steps = itertools.count(1)

    # -- helpers ---------------------------------------------------------------------

    def go(self, day: int, hour: int = 10) -> None:
        """Move the fake's clock to `day` (from the month's first) at `hour`:00 UTC."""
        target = int(self.script.month_start.timestamp()) + day * DAY + hour * HOUR
        self.fake.advance(max(target - self.fake.now(), 0))

    def scope(self, what: str) -> CallScope:
        step = next(self._steps)
        return CallScope(action_id=f"act_{step}", idempotency_key=f"act_{step}:{what}")

    def customer(self, name: str, card: bool = False) -> str:
        made = self.gateway.create_customer(f"{name}@example.com", self.scope("customer"))
        self.script.customers[name] = made.id
        if card:
            self.fake.attach_card(made.id)
        return made.id

    def invoice(self, name: str, client: str, amount: Money, due_days: int) -> str:
        """An invoice as the bot makes one: draft, one line, finalized, sent."""
        scope = self.scope("invoice")
        customer = self.script.customers[client]
        draft = self.gateway.create_invoice(customer, amount.currency, due_days, name, scope)
        self.gateway.add_invoice_line(draft.id, amount, name, self.scope("line"))
        self.gateway.finalize_invoice(draft.id, self.scope("finalize"))
        self.gateway.send_invoice(draft.id, self.scope("send"))
        self.script.invoices[name] = draft.id
        return draft.id

    def subscribe(
        self, name: str, client: str, amount: Money, interval: str, *, charge: bool, due: int = 7
    ) -> str:
        product = self.gateway.create_product(name, self.scope("product"))
        price = self.gateway.create_price(product, amount, interval, self.scope("price"))
        made = self.gateway.create_subscription(
            self.script.customers[client],
            price.id,
            self.scope("subscribe"),
            charge_automatically=charge,
            due_days=due,
        )
        self.script.subscriptions[name] = made.id
        return made.id

    def latest_invoice(self, subscription: str) -> str:
        latest = self.gateway.get_subscription(subscription).latest_invoice
        assert latest is not None
        return latest

    def refund(self, invoice: str, amount: Money) -> None:
        payment = self.gateway.invoice_payment(invoice)
        made = self.gateway.create_refund(
            payment.payment_intent, amount, "requested_by_customer", self.scope("refund")
        )
        self.script.refunds.append(made.id)

    def dispute(self, name: str, invoice: str, amount: int) -> None:
        charge = self.gateway.invoice_payment(invoice).charge
        self.script.disputes[name] = str(self.fake.dispute(charge, amount)["id"])

    # -- the month -------------------------------------------------------------------

    def run(self) -> Script:
        fake, gateway, s = self.fake, self.gateway, self.script
        self.go(-6)
        for name in ("acme", "bolt", "cyan", "dune", "echo"):
            self.customer(name, card=name == "acme")
        self.subscribe("Retainer", "acme", usd(19999), "month", charge=True)
        self.subscribe("Support", "bolt", usd(4999), "week", charge=False, due=7)
        self.invoice("A1", "acme", usd(123456), due_days=30)

        self.go(-5)
        fake.pay_invoice(self.latest_invoice(s.subscriptions["Support"]))
        fake.attach_card(s.customers["dune"])
        self.subscribe("Licence", "dune", eur(119999), "year", charge=True)

        self.go(-4)
        fake.pay_invoice(s.invoices["A1"])
        self.go(-4, 12)
        self.subscribe("Hosting", "echo", usd(3333), "month", charge=False, due=10)

        self.go(-3)
        self.invoice("B1", "bolt", usd(50005), due_days=14)
        self.invoice("B0", "bolt", usd(30000), due_days=1)

        self.go(-2)
        fake.attach_card(s.customers["cyan"])
        self.subscribe("Care", "cyan", usd(7550), "month", charge=True)

        self.go(-1)
        fake.pay_invoice(self.latest_invoice(s.subscriptions["Hosting"]))

        self.go(1, 12)  # Support's first renewal (it started at day -6, 10:00)
        s.invoices["Support 2"] = self.latest_invoice(s.subscriptions["Support"])
        self.invoice("D1", "dune", eur(333333), due_days=30)

        self.go(2)
        gateway.pay_invoice(s.invoices["B1"], self.scope("pay"), out_of_band=True)
        self.invoice("A2", "acme", usd(250001), due_days=30)

        self.go(3)
        self.refund(s.invoices["A1"], usd(123456))
        fake.pay_invoice(s.invoices["Support 2"])

        self.go(4)
        self.invoice("E2", "echo", usd(45000), due_days=30)
        fake.pay_invoice(s.invoices["E2"])

        self.go(5)
        fake.pay_invoice(s.invoices["A2"])

        self.go(6)
        self.invoice("C1", "cyan", usd(88080), due_days=30)

        self.go(7)
        fake.fail_invoice_payment(s.invoices["C1"])
        self.go(7, 14)
        fake.pay_invoice(s.invoices["C1"])

        self.go(8, 12)  # Support renews again
        s.invoices["Support 3"] = self.latest_invoice(s.subscriptions["Support"])
        fake.pay_invoice(s.invoices["D1"])

        self.go(9)
        self.refund(s.invoices["A2"], usd(25000))

        self.go(10)
        self.invoice("D2", "dune", eur(77777), due_days=14)
        gateway.cancel_subscription(
            s.subscriptions["Hosting"], self.scope("cancel"), at_period_end=False
        )

        self.go(12)
        self.dispute("C1", s.invoices["C1"], 88080)
        self.invoice("E1", "echo", usd(9999), due_days=30)
        fake.pay_invoice(s.invoices["Support 3"])

        self.go(13)
        fake.pay_invoice(s.invoices["B0"])

        self.go(14)
        self.refund(s.invoices["D1"], eur(33333))

        self.go(15, 12)  # Support renews a third time; this one stays unpaid
        s.invoices["Support 4"] = self.latest_invoice(s.subscriptions["Support"])
        self.invoice("F", "echo", usd(6000), due_days=30)

        self.go(16)
        self.dispute("D1", s.invoices["D1"], 100000)

        self.go(17)
        gateway.cancel_subscription(
            s.subscriptions["Support"], self.scope("cancel"), at_period_end=True
        )

        self.go(18)
        fake.void_invoice(s.invoices["F"])

        self.go(20)
        self.refund(s.invoices["A2"], usd(10001))

        self.go(22, 14)  # Support ends; its last invoice is past due

        self.go(23)
        fake.attach_declining_card(s.customers["cyan"])

        self.go(24, 12)
        fake.close_dispute(s.disputes["C1"], won=False)

        self.go(25, 12)  # Retainer renews, charged to acme's card

        self.go(26)
        fake.close_dispute(s.disputes["D1"], won=True)

        self.go(27)
        self.dispute("E2", s.invoices["E2"], 12345)

        self.go(30, 18)  # Care renews, and cyan's card declines
        return s
