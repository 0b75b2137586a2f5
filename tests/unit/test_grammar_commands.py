"""The `/empire` grammar of clients by handle, subscriptions, payments and the read commands."""

from __future__ import annotations

import unicodedata
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import messages
from bot.escape import ZERO_WIDTH_SPACE
from bot.grammar import (
    INTERVALS,
    AuditCommand,
    CancelCommand,
    ClientRef,
    ClientsCommand,
    Command,
    HelpCommand,
    InvoiceCommand,
    PayCommand,
    PolicyCommand,
    RevenueCommand,
    StatusCommand,
    SubscribeCommand,
    UsageError,
    WithdrawCommand,
    help_text,
    parse_command,
    usage_line,
    usage_of_action,
)
from governance.money import Money

INVOICE_USAGE = usage_line(messages.INVOICE)
SUBSCRIBE_USAGE = usage_line(messages.SUBSCRIBE)
CANCEL_USAGE = usage_line(messages.CANCEL)
PAY_USAGE = usage_line(messages.PAY)
CLIENTS_USAGE = usage_line(messages.CLIENTS)
STATUS_USAGE = usage_line(messages.STATUS)
REVENUE_USAGE = usage_line(messages.REVENUE)
AUDIT_USAGE = usage_line(messages.AUDIT)
POLICY_USAGE = usage_line(messages.POLICY)

ACME = ClientRef(handle="acme")
ADA = ClientRef(email="ada@example.com")
USD_500 = Money(50000, "usd")


def parse(text: str, default_currency: str = "usd") -> Command:
    return parse_command(text, default_currency)


def refusal(text: str, default_currency: str = "usd") -> UsageError:
    with pytest.raises(UsageError) as caught:
        parse(text, default_currency)
    return caught.value


def visible(mrkdwn: str) -> str:
    return mrkdwn.replace(ZERO_WIDTH_SPACE, "")


def subscribe(
    amount: Money = USD_500,
    interval: str = "month",
    plan: str = "Gold",
    client: ClientRef = ACME,
) -> SubscribeCommand:
    return SubscribeCommand(client, amount, interval, plan)


# Client references


def test_a_client_is_named_by_exactly_one_of_email_and_handle() -> None:
    assert ClientRef(email="ada@example.com").text == "ada@example.com"
    assert ClientRef(handle="acme").text == "acme"
    with pytest.raises(ValueError, match="exactly one"):
        ClientRef()
    with pytest.raises(ValueError, match="exactly one"):
        ClientRef(email="ada@example.com", handle="acme")


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("acme", ACME),
        ("@acme", ACME),
        ("ACME", ACME),
        ("@Acme", ACME),
        ("＠ａｃｍｅ", ACME),  # full-width, from an East Asian keyboard
        ("acme-co", ClientRef(handle="acme-co")),
        ("acme-", ClientRef(handle="acme-")),
        ("0day", ClientRef(handle="0day")),
        ("7", ClientRef(handle="7")),
        ("a" * 40, ClientRef(handle="a" * 40)),
        ("ada@example.com", ADA),
        ("ada@EXAMPLE.com", ADA),
        ("Ada@example.com", ClientRef(email="Ada@example.com")),
        ("mailto:ada@example.com", ADA),
        ("<mailto:ada@example.com|ada@example.com>", ADA),
        ("ada＠example.com", ADA),
        ("ada+billing@example.co.uk", ClientRef(email="ada+billing@example.co.uk")),
    ],
)
def test_client_forms(word: str, expected: ClientRef) -> None:
    assert parse(f"invoice {word} 500 Website") == InvoiceCommand(expected, USD_500, "Website")
    assert parse(f"subscribe {word} 500/month Gold") == subscribe(client=expected)


@pytest.mark.parametrize(
    ("word", "message"),
    [
        ("-acme", messages.INVALID_CLIENT.format(word="-acme")),
        ("a" * 41, messages.INVALID_CLIENT.format(word="a" * 39 + "…")),
        ("acme_co", messages.INVALID_CLIENT.format(word="acme_co")),
        ("acme.co", messages.INVALID_CLIENT.format(word="acme.co")),
        ("@", messages.INVALID_CLIENT.format(word="@")),
        ("élan", messages.INVALID_CLIENT.format(word="élan")),
        ("acme!", messages.INVALID_CLIENT.format(word="acme!")),
        ("mailto:acme", messages.INVALID_CLIENT.format(word="mailto:acme")),
        # An `@` anywhere but in front makes it an email address, and a bad one.
        ("ada@", messages.INVALID_EMAIL.format(word="ada@")),
        ("ada@example", messages.INVALID_EMAIL.format(word="ada@example")),
        ("@ada@example.com", messages.INVALID_EMAIL.format(word="@ada@example.com")),
        ("@@acme", messages.INVALID_EMAIL.format(word="@@acme")),
        ("ada@@example.com", messages.INVALID_EMAIL.format(word="ada@@example.com")),
        # Slack mentions are people and channels, never clients, whatever they read as.
        ("<@U123>", messages.CLIENT_IS_MENTION.format(word="@U123")),
        ("<@U123|acme>", messages.CLIENT_IS_MENTION.format(word="@acme")),
        ("<!channel>", messages.CLIENT_IS_MENTION.format(word="@channel")),
        ("<!subteam^S1|@team>", messages.CLIENT_IS_MENTION.format(word="@team")),
        ("<#C0GEN|general>", messages.CLIENT_IS_MENTION.format(word="#general")),
        ("x<@U123>", messages.CLIENT_IS_MENTION.format(word="x@U123")),
    ],
)
def test_client_refusals(word: str, message: str) -> None:
    for text, usage in (
        (f"invoice {word} 500 Website", INVOICE_USAGE),
        (f"subscribe {word} 500/month Gold", SUBSCRIBE_USAGE),
    ):
        error = refusal(text)
        assert visible(error.message) == message
        assert error.usage == usage
        assert "<" not in error.message


def test_a_typed_handle_that_looks_like_a_mention_is_a_handle() -> None:
    """Only what Slack marked up is a mention; `@acme` typed as text is a handle."""
    assert parse("subscribe @acme 500/month Gold") == subscribe()
    assert parse("subscribe @u123 500/month Gold") == subscribe(client=ClientRef(handle="u123"))


def test_mentions_later_in_the_text_are_words_as_seen() -> None:
    assert parse("subscribe acme 500/month Gold for <@U0SALES1|sam>") == subscribe(
        plan="Gold for @sam"
    )
    assert parse("invoice acme 500 ping <!here>") == InvoiceCommand(ACME, USD_500, "ping @here")


def test_a_missing_client_says_whom() -> None:
    error = refusal("invoice")
    assert (error.message, error.usage) == (messages.MISSING_INVOICE_CLIENT, INVOICE_USAGE)
    error = refusal("subscribe")
    assert (error.message, error.usage) == (messages.MISSING_SUBSCRIBE_CLIENT, SUBSCRIBE_USAGE)


# Subscriptions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("subscribe acme 500/month Gold", subscribe()),
        ("subscribe acme 1,500.00/month Gold", subscribe(Money(150000, "usd"))),
        ("subscribe acme $500/month Gold", subscribe()),
        ("subscribe acme $ 500/month Gold", subscribe()),
        ("subscribe acme 500 USD/month Gold", subscribe()),
        ("subscribe acme 500 usd/month Gold", subscribe()),
        ("subscribe acme 500USD/month Gold", subscribe()),
        ("subscribe acme USD500/month Gold", subscribe()),
        ("subscribe acme USD 500/month Gold", subscribe()),
        ("subscribe acme $ 500 USD / month Gold", subscribe()),
        ("subscribe acme 500 / month Gold", subscribe()),
        ("subscribe acme 500 /month Gold", subscribe()),
        ("subscribe acme 500/ month Gold", subscribe()),
        ("subscribe acme 500 USD / month Gold", subscribe()),
        ("subscribe acme €200/week Gold", subscribe(Money(20000, "eur"), "week")),
        ("subscribe acme 200 EUR/week Gold", subscribe(Money(20000, "eur"), "week")),
        ("subscribe acme ¥5000/year Gold", subscribe(Money(5000, "jpy"), "year")),
        ("subscribe acme 12.5 KWD/year Gold", subscribe(Money(12500, "kwd"), "year")),
        ("subscribe acme 500/MONTH Gold", subscribe()),
        ("subscribe acme 500/Week Gold", subscribe(interval="week")),
        ("subscribe acme ５００／ｍｏｎｔｈ Gold", subscribe()),
        ("subscribe acme ＄５００ ／ ｍｏｎｔｈ Gold", subscribe()),
        ("Subscribe ACME 500/month Gold", subscribe()),
        ("subscribe acme 500/month Gold plan", subscribe(plan="Gold plan")),
        ("subscribe acme 500/month “Gold plan”", subscribe(plan="Gold plan")),
        ("subscribe acme 500/month Ada’s plan", subscribe(plan="Ada's plan")),
        ("subscribe acme 500/month Gold/Silver", subscribe(plan="Gold/Silver")),
        ("subscribe acme 500/month 2 seats", subscribe(plan="2 seats")),
        ("subscribe acme 500/month R&amp;D &lt;tier 2&gt;", subscribe(plan="R&D <tier 2>")),
        (
            "subscribe <mailto:ada@example.com|ada@example.com> 500/month Gold",
            subscribe(client=ADA),
        ),
        ("subscribe\u00a0acme\u00a0500/month\u00a0Gold\u200b", subscribe()),
        ("  subscribe  acme \t 500/month\n Gold ", subscribe()),
    ],
)
def test_subscribe_forms(text: str, expected: SubscribeCommand) -> None:
    assert parse(text) == expected


def test_subscribe_amount_without_currency_takes_the_default() -> None:
    assert parse("subscribe acme 500/month Gold", "eur") == subscribe(Money(50000, "eur"))


def test_subscribe_plan_of_exactly_500_characters() -> None:
    plan = "p" * 500
    assert parse(f"subscribe acme 500/month {plan}") == subscribe(plan=plan)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("subscribe acme", messages.MISSING_SUBSCRIBE_AMOUNT),
        ("subscribe acme /month Gold", messages.MISSING_SUBSCRIBE_AMOUNT),
        ("subscribe acme / month Gold", messages.MISSING_SUBSCRIBE_AMOUNT),
        ("subscribe acme Gold 500/month", "'Gold' is not an amount."),
        ("subscribe acme 5OO/month Gold", "'5OO' is not an amount."),
        ("subscribe acme 0/month Gold", "The amount must be more than zero."),
        ("subscribe acme -5/month Gold", "The amount must be more than zero."),
        ("subscribe acme $-5/month Gold", "The amount must be more than zero."),
        ("subscribe acme 500.001/month Gold", "USD amounts have at most 2 decimal places."),
        ("subscribe acme ¥1.5/month Gold", "JPY amounts have at most whole units."),
        ("subscribe acme 10000000000/month Gold", "The amount is too large."),
        ("subscribe acme €5 USD/month Gold", "'€5 USD' names two currencies."),
        ("subscribe acme 1,50/month Gold", "'1,50' is not an amount."),
        ("subscribe acme 500", messages.MISSING_INTERVAL),
        ("subscribe acme 500 Gold", messages.MISSING_INTERVAL),
        ("subscribe acme 500 monthly Gold", messages.MISSING_INTERVAL),
        ("subscribe acme 500 month Gold", messages.MISSING_INTERVAL),
        ("subscribe acme 500 per month Gold", messages.MISSING_INTERVAL),
        ("subscribe acme 500/", messages.MISSING_INTERVAL),
        ("subscribe acme 500 /", messages.MISSING_INTERVAL),
        ("subscribe acme 500 gold/month", messages.MISSING_INTERVAL),
        ("subscribe acme 500 Gold plan/month", messages.MISSING_INTERVAL),
        ("subscribe acme 500/day Gold", messages.INVALID_INTERVAL.format(word="day")),
        ("subscribe acme 500/mo Gold", messages.INVALID_INTERVAL.format(word="mo")),
        ("subscribe acme 500/monthly Gold", messages.INVALID_INTERVAL.format(word="monthly")),
        ("subscribe acme 500/months Gold", messages.INVALID_INTERVAL.format(word="months")),
        ("subscribe acme 500/month, Gold", messages.INVALID_INTERVAL.format(word="month,")),
        ("subscribe acme 500/monthGold", messages.INVALID_INTERVAL.format(word="monthGold")),
        ("subscribe acme 500/month/Gold", messages.INVALID_INTERVAL.format(word="month/Gold")),
        ("subscribe acme 500/ 2 Gold", messages.INVALID_INTERVAL.format(word="2")),
        ("subscribe acme 500/month", messages.MISSING_PLAN),
        ("subscribe acme 500 USD/month", messages.MISSING_PLAN),
        ("subscribe acme 500/month “ ”", messages.MISSING_PLAN),
        (
            "subscribe acme 500/month " + "p" * 501,
            messages.TOO_LONG.format(what="plan name", length=501, limit=500),
        ),
    ],
)
def test_subscribe_refusals(text: str, message: str) -> None:
    error = refusal(text)
    assert visible(error.message) == message
    assert error.usage == SUBSCRIBE_USAGE


def test_interval_messages_name_every_interval() -> None:
    for message in (messages.MISSING_INTERVAL, messages.INVALID_INTERVAL):
        assert all(interval in message for interval in INTERVALS)


AMOUNT_FORMS = st.sampled_from(
    [
        "{formatted}",  # `$1,500.00`, `1,500.00 EUR`
        "{plain}",  # the default currency
        "{plain} {CODE}",
        "{plain}{CODE}",
        "{CODE}{plain}",
        "{CODE} {plain}",
        "{plain} {code}",
    ]
)
SLASHES = st.sampled_from(["/", " /", "/ ", " / "])


@given(
    minor=st.integers(min_value=1, max_value=10**12 - 1),
    currency=st.sampled_from(["usd", "eur", "gbp", "jpy", "kwd", "chf"]),
    form=AMOUNT_FORMS,
    slash=SLASHES,
    interval=st.sampled_from(INTERVALS),
    shout=st.booleans(),
    plan=st.text(alphabet=st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=40),
)
def test_a_well_formed_subscription_parses_to_what_was_written(
    minor: int,
    currency: str,
    form: str,
    slash: str,
    interval: str,
    shout: bool,
    plan: str,
) -> None:
    amount = Money(minor, currency)
    written = form.format(
        formatted=amount.format(),
        plain=f"{amount.decimal:f}",
        CODE=currency.upper(),
        code=currency if currency in ("usd", "eur", "gbp", "jpy") else currency.upper(),
    )
    text = f"subscribe acme {written}{slash}{interval.upper() if shout else interval} {plan}"
    command = parse_command(text, currency)
    assert command == SubscribeCommand(ACME, amount, interval, plan)


@given(
    st.text(
        alphabet=st.characters(whitelist_categories=("L",)),
        min_size=1,
        max_size=12,
    ).filter(lambda word: unicodedata.normalize("NFKC", word).lower() not in INTERVALS)
)
def test_any_other_interval_is_refused_naming_the_allowed_ones(word: str) -> None:
    error = refusal(f"subscribe acme 500/{word} Gold")
    assert error.usage == SUBSCRIBE_USAGE
    assert all(interval in error.message for interval in INTERVALS)


# Cancelling subscriptions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cancel sub_1Abc", CancelCommand("sub_1Abc", now=False)),
        ("cancel sub_1Abc now", CancelCommand("sub_1Abc", now=True)),
        ("cancel sub_1Abc NOW", CancelCommand("sub_1Abc", now=True)),
        ("cancel sub_1Abc Now", CancelCommand("sub_1Abc", now=True)),
        ("cancel sub_1Abc ｎｏｗ", CancelCommand("sub_1Abc", now=True)),
        ("CANCEL\u00a0sub_1Abc\u00a0\u00a0now\u200b", CancelCommand("sub_1Abc", now=True)),
        ("cancel <http://x.example|sub_1Abc>", CancelCommand("sub_1Abc", now=False)),
        ("cancel sub_" + "a" * 250, CancelCommand("sub_" + "a" * 250, now=False)),
    ],
)
def test_cancel_forms(text: str, expected: CancelCommand) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cancel", messages.MISSING_SUBSCRIPTION_ID),
        ("cancel now", messages.INVALID_SUBSCRIPTION_ID.format(word="now")),
        ("cancel sub_", messages.INVALID_SUBSCRIPTION_ID.format(word="sub_")),
        ("cancel SUB_1", messages.INVALID_SUBSCRIPTION_ID.format(word="SUB_1")),
        ("cancel sub_1-2", messages.INVALID_SUBSCRIPTION_ID.format(word="sub_1-2")),
        ("cancel in_1Abc", messages.INVALID_SUBSCRIPTION_ID.format(word="in_1Abc")),
        ("cancel sub_1,", messages.INVALID_SUBSCRIPTION_ID.format(word="sub_1,")),
        (
            "cancel sub_" + "a" * 251,
            messages.INVALID_SUBSCRIPTION_ID.format(word="sub_" + "a" * 35 + "…"),
        ),
        ("cancel sub_1 later", messages.CANCEL_UNEXPECTED.format(word="later")),
        ("cancel sub_1 now please", messages.CANCEL_UNEXPECTED.format(word="now please")),
        ("cancel sub_1 now now", messages.CANCEL_UNEXPECTED.format(word="now now")),
        ("cancel sub_1 immediately", messages.CANCEL_UNEXPECTED.format(word="immediately")),
        ("cancel sub_1 <!here>", messages.CANCEL_UNEXPECTED.format(word="@here")),
    ],
)
def test_cancel_refusals(text: str, message: str) -> None:
    error = refusal(text)
    assert visible(error.message) == message
    assert error.usage == CANCEL_USAGE
    assert "<" not in error.message


# Paying invoices


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pay in_1Abc", PayCommand("in_1Abc", None)),
        ("pay in_1Abc out-of-band cheque 1234", PayCommand("in_1Abc", "cheque 1234")),
        ("pay in_1Abc OUT-OF-BAND wire", PayCommand("in_1Abc", "wire")),
        ("pay in_1Abc out_of_band wire", PayCommand("in_1Abc", "wire")),
        ("pay in_1Abc outofband wire", PayCommand("in_1Abc", "wire")),
        ("pay in_1Abc out–of–band wire", PayCommand("in_1Abc", "wire")),  # autocorrected dashes
        ("pay in_1Abc out-of-band: wire", PayCommand("in_1Abc", "wire")),
        ("pay in_1Abc out of band wire", PayCommand("in_1Abc", "wire")),
        ("pay in_1Abc Out Of Band: wire", PayCommand("in_1Abc", "wire")),
        ("pay in_1Abc out-of-band “bank transfer”", PayCommand("in_1Abc", "bank transfer")),
        ("pay in_1Abc out-of-band paid to <@U0FIN1|fin>", PayCommand("in_1Abc", "paid to @fin")),
        ("pay in_1Abc out-of-band R&amp;D budget", PayCommand("in_1Abc", "R&D budget")),
        ("pay in_1Abc out-of-band out-of-band", PayCommand("in_1Abc", "out-of-band")),
        ("PAY\u00a0in_1Abc\u00a0out-of-band\u00a0cash", PayCommand("in_1Abc", "cash")),
        ("pay in_1Abc out-of-band " + "n" * 500, PayCommand("in_1Abc", "n" * 500)),
    ],
)
def test_pay_forms(text: str, expected: PayCommand) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pay", messages.MISSING_PAY_INVOICE_ID),
        ("pay ch_1 out-of-band cash", messages.INVALID_INVOICE_ID.format(word="ch_1")),
        ("pay in_ out-of-band cash", messages.INVALID_INVOICE_ID.format(word="in_")),
        ("pay out-of-band cash", messages.INVALID_INVOICE_ID.format(word="out-of-band")),
        ("pay in_1 out-of-band", messages.MISSING_PAY_NOTE),
        ("pay in_1 out-of-band:", messages.MISSING_PAY_NOTE),
        ("pay in_1 out of band", messages.MISSING_PAY_NOTE),
        ("pay in_1 out-of-band “”", messages.MISSING_PAY_NOTE),
        ("pay in_1 cash", messages.PAY_UNEXPECTED.format(word="cash")),
        ("pay in_1 now", messages.PAY_UNEXPECTED.format(word="now")),
        ("pay in_1 $500", messages.PAY_UNEXPECTED.format(word="$500")),
        ("pay in_1 out of", messages.PAY_UNEXPECTED.format(word="out")),
        ("pay in_1 out-of-bands cash", messages.PAY_UNEXPECTED.format(word="out-of-bands")),
        ("pay in_1 oob cash", messages.PAY_UNEXPECTED.format(word="oob")),
        ("pay in_1 <!channel> cash", messages.PAY_UNEXPECTED.format(word="@channel")),
        (
            "pay in_1 out-of-band " + "n" * 501,
            messages.TOO_LONG.format(what="note", length=501, limit=500),
        ),
    ],
)
def test_pay_refusals(text: str, message: str) -> None:
    error = refusal(text)
    assert visible(error.message) == message
    assert error.usage == PAY_USAGE
    assert "<" not in error.message


# Read-only commands


@pytest.mark.parametrize("text", ["clients", "CLIENTS", " clients\u200b ", "clients\u00a0"])
def test_clients(text: str) -> None:
    assert parse(text) == ClientsCommand()


@pytest.mark.parametrize(
    ("text", "word"),
    [("clients all", "all"), ("clients acme", "acme"), ("clients <!here>", "@here")],
)
def test_clients_takes_no_words(text: str, word: str) -> None:
    error = refusal(text)
    assert visible(error.message) == messages.UNEXPECTED_WORDS.format(word=word)
    assert error.usage == CLIENTS_USAGE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status in_1Abc", StatusCommand("in_1Abc")),
        ("Status in_1Abc", StatusCommand("in_1Abc")),
        ("status\u00a0in_1Abc\u200b", StatusCommand("in_1Abc")),
        ("status <http://x.example|in_1Abc>", StatusCommand("in_1Abc")),
    ],
)
def test_status_forms(text: str, expected: StatusCommand) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("status", messages.MISSING_STATUS_INVOICE_ID),
        ("status sub_1", messages.INVALID_INVOICE_ID.format(word="sub_1")),
        ("status in_", messages.INVALID_INVOICE_ID.format(word="in_")),
        ("status IN_1", messages.INVALID_INVOICE_ID.format(word="IN_1")),
        ("status in_1 please", messages.UNEXPECTED_WORDS.format(word="please")),
        ("status in_1 in_2", messages.UNEXPECTED_WORDS.format(word="in_2")),
    ],
)
def test_status_refusals(text: str, message: str) -> None:
    error = refusal(text)
    assert visible(error.message) == message
    assert error.usage == STATUS_USAGE


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("revenue", "this-month"),
        ("revenue this-month", "this-month"),
        ("revenue THIS-MONTH", "this-month"),
        ("revenue this_month", "this-month"),
        ("revenue thismonth", "this-month"),
        ("revenue this month", "this-month"),
        ("revenue this–month", "this-month"),
        ("revenue last-month", "last-month"),
        ("revenue Last Month", "last-month"),
        ("revenue last_month", "last-month"),
        ("revenue 2026-03", "2026-03"),
        ("revenue 2026-3", "2026-03"),
        ("revenue 2026/03", "2026-03"),
        ("revenue 2000-01", "2000-01"),
        ("revenue 2100-12", "2100-12"),
        ("revenue ２０２６-０３", "2026-03"),
        ("Revenue\u00a02026-03\u200b", "2026-03"),
    ],
)
def test_revenue_forms(text: str, period: str) -> None:
    assert parse(text) == RevenueCommand(period)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("revenue 2026-13", "2026-13"),
        ("revenue 2026-00", "2026-00"),
        ("revenue 2026-0", "2026-0"),
        ("revenue 1999-12", "1999-12"),
        ("revenue 2101-01", "2101-01"),
        ("revenue 2026-003", "2026-003"),
        ("revenue 26-03", "26-03"),
        ("revenue 2026", "2026"),
        ("revenue 2026-03-01", "2026-03-01"),
        ("revenue 03-2026", "03-2026"),
        ("revenue march", "march"),
        ("revenue next-month", "next-month"),
        ("revenue this-year", "this-year"),
        ("revenue this-month please", "this-month please"),
        ("revenue 2026-03 2026-04", "2026-03 2026-04"),
        ("revenue <!here>", "@here"),
    ],
)
def test_revenue_refusals(text: str, word: str) -> None:
    error = refusal(text)
    assert visible(error.message) == messages.INVALID_PERIOD.format(word=word)
    assert error.usage == REVENUE_USAGE
    assert "<" not in error.message


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("audit", "recent"),
        ("audit recent", "recent"),
        ("Audit RECENT", "recent"),
        ("audit verify", "verify"),
        ("audit Verify\u200b", "verify"),
        ("audit\u00a0verify", "verify"),
        ("AUDIT", "recent"),
    ],
)
def test_audit_forms(text: str, what: str) -> None:
    assert parse(text) == AuditCommand(what)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("audit all", messages.INVALID_AUDIT.format(word="all")),
        ("audit export", messages.INVALID_AUDIT.format(word="export")),
        ("audit <!here>", messages.INVALID_AUDIT.format(word="@here")),
        ("audit `x`", messages.INVALID_AUDIT.format(word="'x'")),
        ("audit verify now", messages.UNEXPECTED_WORDS.format(word="now")),
        ("audit recent 20", messages.UNEXPECTED_WORDS.format(word="20")),
    ],
)
def test_audit_refusals(text: str, message: str) -> None:
    error = refusal(text)
    assert visible(error.message) == message
    assert error.usage == AUDIT_USAGE
    assert "<" not in error.message


@pytest.mark.parametrize("text", ["policy", "Policy", " policy\u200b "])
def test_policy(text: str) -> None:
    assert parse(text) == PolicyCommand()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("policy payments.refund", PolicyCommand("payments.refund")),
        ("policy Payments.Refund 12000", PolicyCommand("payments.refund", Money(1_200_000, "usd"))),
        ("policy payments.invoice €200", PolicyCommand("payments.invoice", Money(20_000, "eur"))),
    ],
)
def test_policy_explains_an_action_and_amount(text: str, expected: PolicyCommand) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("policy show", "`show` is not an action name"),
        ("policy <@U1>", "is not an action name"),
        ("policy payments.refund lots", "'lots' is not an amount"),
        ("policy payments.refund 100 more", "one word too many"),
    ],
)
def test_policy_refuses_what_is_not_an_action_and_amount(text: str, says: str) -> None:
    error = refusal(text)
    assert says in visible(error.message)
    assert error.usage == POLICY_USAGE


@given(st.integers(min_value=2000, max_value=2100), st.integers(min_value=1, max_value=12))
def test_any_month_in_range_is_normalised(year: int, month: int) -> None:
    assert parse(f"revenue {year}-{month}") == RevenueCommand(f"{year}-{month:02d}")
    assert parse(f"revenue {year}-{month:02d}") == RevenueCommand(f"{year}-{month:02d}")


@given(st.integers(min_value=1000, max_value=9999), st.integers(min_value=0, max_value=99))
def test_a_month_out_of_range_is_refused(year: int, month: int) -> None:
    if 2000 <= year <= 2100 and 1 <= month <= 12:
        return
    error = refusal(f"revenue {year}-{month:02d}")
    assert error.usage == REVENUE_USAGE


# Help and usage lines


@pytest.mark.parametrize(
    ("action", "command"),
    [
        ("payments.invoice", messages.INVOICE),
        ("payments.refund", messages.REFUND),
        ("payments.subscription", messages.SUBSCRIBE),
        ("payments.cancel_subscription", messages.CANCEL),
        ("payments.pay", messages.PAY),
    ],
)
def test_usage_of_each_action(action: str, command: messages.CommandHelp) -> None:
    assert usage_of_action(action) == usage_line(command)


@pytest.mark.parametrize("action", ["payments.unknown", "", "clients", "payments.*"])
def test_usage_of_other_actions_is_none(action: str) -> None:
    assert usage_of_action(action) is None


def test_help_lists_every_command_with_a_one_line_summary() -> None:
    text = help_text()
    names = [command.name for command in messages.COMMANDS]
    assert names == [
        "help",
        "invoice",
        "subscribe",
        "cancel",
        "pay",
        "refund",
        "clients",
        "status",
        "revenue",
        "audit",
        "policy",
    ]
    for command in messages.COMMANDS:
        line = f"• {usage_line(command).removeprefix(f'{messages.USAGE_PREFIX} ')} — "
        assert line + command.summary in text.splitlines()
        assert "\n" not in command.summary


def test_help_explains_what_a_client_is() -> None:
    text = help_text()
    assert "`&lt;client&gt;` is the client's email address or handle" in text
    assert "<" not in text


def test_usage_lines_of_the_new_commands() -> None:
    assert SUBSCRIBE_USAGE == (
        "Usage: `/empire subscribe &lt;client&gt; &lt;amount&gt;/&lt;week|month|year&gt; "
        "&lt;plan name…&gt;`"
    )
    assert CANCEL_USAGE == (
        "Usage: `/empire cancel &lt;subscription-id&gt; [now] | /empire cancel #&lt;request&gt;`"
    )
    assert PAY_USAGE == "Usage: `/empire pay &lt;invoice-id&gt; [out-of-band &lt;note…&gt;]`"
    assert CLIENTS_USAGE == "Usage: `/empire clients`"
    assert STATUS_USAGE == "Usage: `/empire status &lt;invoice-id&gt;`"
    assert REVENUE_USAGE == "Usage: `/empire revenue [this-month|last-month|YYYY-MM]`"
    assert AUDIT_USAGE == "Usage: `/empire audit [recent|verify]`"
    assert POLICY_USAGE == "Usage: `/empire policy [&lt;action&gt; [&lt;amount&gt;]]`"


def test_help_still_wins_over_everything() -> None:
    assert parse("help subscribe") == HelpCommand()


# Robustness


def assert_command_or_usage_error(text: str, default_currency: str = "usd") -> None:
    outcome: Command | UsageError
    try:
        outcome = parse_command(text, default_currency)
    except UsageError as error:
        outcome = error
    if isinstance(outcome, UsageError):
        assert outcome.message
        assert outcome.usage
        assert "<" not in outcome.message + outcome.usage
    else:
        assert isinstance(outcome, get_args(Command))


@given(
    st.sampled_from(
        [
            "subscribe ",
            "subscribe acme ",
            "subscribe acme 500",
            "subscribe acme 500/",
            "subscribe <@U1> ",
            "invoice acme ",
            "cancel ",
            "cancel sub_1 ",
            "pay ",
            "pay in_1 ",
            "pay in_1 out-of-band ",
            "clients ",
            "status ",
            "status in_1 ",
            "revenue ",
            "audit ",
            "audit verify ",
            "policy ",
        ]
    ),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=80),
    st.sampled_from(["usd", "eur", "jpy", "kwd", "xyz"]),
)
def test_any_arguments_are_a_command_or_a_usage_error(
    prefix: str, text: str, default_currency: str
) -> None:
    assert_command_or_usage_error(prefix + text, default_currency)


TRICKY_WORDS = [
    "500",
    "/",
    "500/",
    "/month",
    "month",
    "$",
    "USD",
    "usd/",
    "€5/week",
    "now",
    "out-of-band",
    "out",
    "of",
    "band",
    "@",
    "@acme",
    "<@U1>",
    "<!here>",
    "“",
    "&lt;",
    "sub_1",
    "in_1",
    "2026-03",
    "this",
]


@given(
    st.lists(st.sampled_from(TRICKY_WORDS), max_size=8),
    st.sampled_from(
        ["subscribe ", "subscribe acme ", "cancel ", "pay ", "revenue ", "status ", "audit "]
    ),
)
def test_tricky_word_sequences_are_a_command_or_a_usage_error(
    words: list[str], prefix: str
) -> None:
    assert_command_or_usage_error(prefix + " ".join(words))


@pytest.mark.parametrize("text", ["cancel #12", "cancel 12", "CANCEL #12"])
def test_cancel_with_a_request_number_withdraws_that_request(text: str) -> None:
    assert parse_command(text, "usd") == WithdrawCommand(12)


@pytest.mark.parametrize("text", ["cancel #12 now", "cancel #12 please"])
def test_a_withdrawal_takes_nothing_more(text: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_command(text, "usd")
    assert raised.value.usage == CANCEL_USAGE
