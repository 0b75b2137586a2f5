"""The `/empire` grammar: every accepted form, every refusal with its message and usage."""

from __future__ import annotations

from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import messages
from bot.escape import ZERO_WIDTH_SPACE
from bot.grammar import (
    ClientRef,
    Command,
    HelpCommand,
    InvoiceCommand,
    RefundCommand,
    UsageError,
    help_text,
    parse_command,
    usage_line,
)
from governance.money import Money, is_currency_code

INVOICE_USAGE = usage_line(messages.INVOICE)
REFUND_USAGE = usage_line(messages.REFUND)


def parse(text: str, default_currency: str = "usd") -> Command:
    return parse_command(text, default_currency)


def refusal(text: str) -> UsageError:
    with pytest.raises(UsageError) as caught:
        parse(text)
    return caught.value


def visible(mrkdwn: str) -> str:
    return mrkdwn.replace(ZERO_WIDTH_SPACE, "")


def invoice(amount: Money, description: str = "Website", due_days: int = 30) -> InvoiceCommand:
    return InvoiceCommand(ADA, amount, description, due_days)


ADA = ClientRef(email="ada@example.com")
USD_1500 = Money(150000, "usd")
AMOUNT_WORDS = ["1500", "$", "€5", "＄", "1.5", "0", ".", "5OO", "-1", "USD", "usd", "JPY"]
OTHER_WORDS = ["all", "due:", "due:3", "in_1", "x", "“", "&lt;", "\u00a0", "<mailto:a@b.co|a@b.co>"]
TRICKY_WORDS = AMOUNT_WORDS + OTHER_WORDS


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP", " help ", "help invoice"])
def test_help(text: str) -> None:
    assert parse(text) == HelpCommand()


def test_help_text_lists_every_command_with_its_usage() -> None:
    text = help_text()
    for command in messages.COMMANDS:
        assert usage_line(command).removeprefix(f"{messages.USAGE_PREFIX} ") in text
    assert "&lt;client&gt;" in text
    assert "<" not in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("invoice ada@example.com 1500 Website", invoice(USD_1500)),
        ("invoice ada@example.com 1,500.00 Website", invoice(USD_1500)),
        ("invoice ada@example.com $1500 Website", invoice(USD_1500)),
        ("invoice ada@example.com 1500 USD Website", invoice(USD_1500)),
        ("invoice ada@example.com 1500 usd Website", invoice(USD_1500)),
        ("invoice ada@example.com €200 Website", invoice(Money(20000, "eur"))),
        ("invoice ada@example.com 200 EUR Website", invoice(Money(20000, "eur"))),
        ("invoice ada@example.com 200 Eur Website", invoice(Money(20000, "eur"))),
        ("invoice ada@example.com ¥1500 Website", invoice(Money(1500, "jpy"))),
        ("invoice ada@example.com 12.5 KWD Website", invoice(Money(12500, "kwd"))),
        ("invoice ada@example.com $ 1500 Website", invoice(USD_1500)),
        ("invoice ada@example.com 1500USD Website", invoice(USD_1500)),
        ("invoice ada@example.com USD1500 Website", invoice(USD_1500)),
        ("invoice ada@example.com USD 1500 Website", invoice(USD_1500)),
        ("invoice ada@example.com １５００ Website", invoice(USD_1500)),
        ("Invoice ada@example.com 1500 Website", invoice(USD_1500)),
    ],
)
def test_invoice_amount_forms(text: str, expected: InvoiceCommand) -> None:
    assert parse(text) == expected


def test_invoice_amount_without_currency_takes_the_default() -> None:
    assert parse("invoice ada@example.com 1500 Website", "eur") == invoice(Money(150000, "eur"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A lower-case word that happens to be a currency code is text, not a currency.
        ("invoice ada@example.com 1500 all hands", invoice(USD_1500, "all hands")),
        ("invoice ada@example.com 1500 top priority", invoice(USD_1500, "top priority")),
        # Written in capitals, it is a currency.
        ("invoice ada@example.com 1500 ALL hands", invoice(Money(150000, "all"), "hands")),
    ],
)
def test_a_currency_word_after_the_number(text: str, expected: InvoiceCommand) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("invoice ada@example.com 1500 Website due:14", invoice(USD_1500, due_days=14)),
        ("invoice ada@example.com 1500 Website DUE:14", invoice(USD_1500, due_days=14)),
        ("invoice ada@example.com 1500 Website due: 14", invoice(USD_1500, due_days=14)),
        ("invoice ada@example.com 1500 due:7 Website", invoice(USD_1500, due_days=7)),
        ("invoice ada@example.com 1500 Website due:1", invoice(USD_1500, due_days=1)),
        ("invoice ada@example.com 1500 Website due:365", invoice(USD_1500, due_days=365)),
        ("invoice ada@example.com 1500 Website due:030", invoice(USD_1500, due_days=30)),
        ("invoice ada@example.com 1500 Website due: ３", invoice(USD_1500, due_days=3)),
        # A bare `due:` followed by words is part of the description.
        (
            "invoice ada@example.com 1500 Payment due: on receipt",
            invoice(USD_1500, "Payment due: on receipt"),
        ),
        ("invoice ada@example.com 1500 Website due:", invoice(USD_1500, "Website due:")),
    ],
)
def test_invoice_due_days(text: str, expected: InvoiceCommand) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # What Slack sends when "Escape channels, users, and links" is on.
        ("invoice <mailto:ada@example.com|ada@example.com> 1500 Website", invoice(USD_1500)),
        ("invoice mailto:ada@example.com 1500 Website", invoice(USD_1500)),
        (
            "invoice Ada@EXAMPLE.com 1500 Website",
            InvoiceCommand(ClientRef(email="Ada@example.com"), USD_1500, "Website", 30),
        ),
        ("invoice\u00a0ada@example.com\u00a01500\u00a0Website", invoice(USD_1500)),
        ("  invoice   ada@example.com \t 1500\n  Website  ", invoice(USD_1500)),
        ("invoice ada@example.com 1500 Website\u200b", invoice(USD_1500)),
        ("invoice ada@example.com 1500 “Website redesign”", invoice(USD_1500, "Website redesign")),
        ("invoice ada@example.com 1500 ‘Website’", invoice(USD_1500, "Website")),
        ("invoice ada@example.com 1500 Ada’s site", invoice(USD_1500, "Ada's site")),
        (
            "invoice ada@example.com 1500 R&amp;D &lt;phase 2&gt;",
            invoice(USD_1500, "R&D <phase 2>"),
        ),
        (
            "invoice ada@example.com 1500 see <https://acme.example|acme.example>",
            invoice(USD_1500, "see acme.example"),
        ),
        ("invoice ada@example.com 1500 for <@U0SALES1|sam>", invoice(USD_1500, "for @sam")),
        ("invoice ada@example.com 1500 ping <!channel>", invoice(USD_1500, "ping @channel")),
        ("invoice ada@example.com 1500 in <#C0GEN|general>", invoice(USD_1500, "in #general")),
    ],
)
def test_invoice_tolerates_slack_text(text: str, expected: InvoiceCommand) -> None:
    assert parse(text) == expected


def test_invoice_description_of_exactly_500_characters() -> None:
    description = "x" * 500
    assert parse(f"invoice ada@example.com 1500 {description}") == invoice(USD_1500, description)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("invoice", messages.MISSING_INVOICE_CLIENT),
        ("invoice ada@example 1500 Website", "`ada@example` is not an email address."),
        ("invoice ada@@example.com 1500 Website", "`ada@@example.com` is not an email address."),
        ("invoice <@U123> 1500 Website", messages.CLIENT_IS_MENTION.format(word="@U123")),
        ("invoice ada@example.com", messages.MISSING_AMOUNT),
        ("invoice ada@example.com Website", "'Website' is not an amount."),
        ("invoice ada@example.com 0 Website", "The amount must be more than zero."),
        ("invoice ada@example.com -5 Website", "The amount must be more than zero."),
        ("invoice ada@example.com $-5 Website", "The amount must be more than zero."),
        ("invoice ada@example.com 1,50 Website", "'1,50' is not an amount."),
        ("invoice ada@example.com 5OO Website", "'5OO' is not an amount."),
        ("invoice ada@example.com 1.001 Website", "USD amounts have at most 2 decimal places."),
        ("invoice ada@example.com ¥1.5 Website", "JPY amounts have at most whole units."),
        ("invoice ada@example.com 10000000000 Website", "The amount is too large."),
        ("invoice ada@example.com €5 USD Website", "'€5 USD' names two currencies."),
        ("invoice ada@example.com 1500", messages.MISSING_DESCRIPTION),
        ("invoice ada@example.com 1500 USD", messages.MISSING_DESCRIPTION),
        ("invoice ada@example.com 1500 due:14", messages.MISSING_DESCRIPTION),
        ("invoice ada@example.com 1500 “”", messages.MISSING_DESCRIPTION),
        ("invoice ada@example.com 1500 Website due:0", messages.INVALID_DUE.format(word="0")),
        ("invoice ada@example.com 1500 Website due:366", messages.INVALID_DUE.format(word="366")),
        ("invoice ada@example.com 1500 Website due:-3", messages.INVALID_DUE.format(word="-3")),
        ("invoice ada@example.com 1500 Website due:1.5", messages.INVALID_DUE.format(word="1.5")),
        ("invoice ada@example.com 1500 Website due:2w", messages.INVALID_DUE.format(word="2w")),
        ("invoice ada@example.com 1500 Website due: 2w", messages.INVALID_DUE.format(word="2w")),
        ("invoice ada@example.com 1500 Website due:soon", messages.INVALID_DUE.format(word="soon")),
        ("invoice ada@example.com 1500 Website due:9" + "9" * 5000, None),
        ("invoice ada@example.com 1500 Website due:3 due:4", messages.DUE_TWICE),
        (
            "invoice ada@example.com 1500 " + "x" * 501,
            messages.TOO_LONG.format(what="description", length=501, limit=500),
        ),
    ],
)
def test_invoice_refusals(text: str, message: str | None) -> None:
    error = refusal(text)
    if message is not None:
        assert visible(error.message) == message
    assert error.usage == INVOICE_USAGE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("refund in_1Abc duplicate charge", RefundCommand("in_1Abc", None, "duplicate charge")),
        ("refund in_1Abc 50 duplicate", RefundCommand("in_1Abc", Money(5000, "usd"), "duplicate")),
        ("refund in_1Abc $50 duplicate", RefundCommand("in_1Abc", Money(5000, "usd"), "duplicate")),
        ("refund in_1Abc €20 duplicate", RefundCommand("in_1Abc", Money(2000, "eur"), "duplicate")),
        ("refund in_1Abc £20 duplicate", RefundCommand("in_1Abc", Money(2000, "gbp"), "duplicate")),
        ("refund in_1Abc ¥20 duplicate", RefundCommand("in_1Abc", Money(20, "jpy"), "duplicate")),
        ("refund in_1Abc 20 EUR dup", RefundCommand("in_1Abc", Money(2000, "eur"), "dup")),
        ("refund in_1Abc 1,000.50 dup", RefundCommand("in_1Abc", Money(100050, "usd"), "dup")),
        ("refund in_1Abc EUR 20 dup", RefundCommand("in_1Abc", Money(2000, "eur"), "dup")),
        ("refund in_1Abc all of it", RefundCommand("in_1Abc", None, "all of it")),
        (
            "refund in_1Abc client paid twice, 2x",
            RefundCommand("in_1Abc", None, "client paid twice, 2x"),
        ),
        ("refund in_1Abc “wrong amount”", RefundCommand("in_1Abc", None, "wrong amount")),
        ("REFUND\u00a0in_1Abc\u00a0\u00a0dup", RefundCommand("in_1Abc", None, "dup")),
    ],
)
def test_refund_forms(text: str, expected: RefundCommand) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("refund", messages.MISSING_INVOICE_ID),
        ("refund ch_123 dup", "`ch_123` is not an invoice id; invoice ids look like `in_1Abc…`."),
        ("refund in_ dup", messages.INVALID_INVOICE_ID.format(word="in_")),
        ("refund IN_123 dup", messages.INVALID_INVOICE_ID.format(word="IN_123")),
        ("refund in_12-3 dup", messages.INVALID_INVOICE_ID.format(word="in_12-3")),
        ("refund 50 in_123 dup", messages.INVALID_INVOICE_ID.format(word="50")),
        ("refund in_123", messages.MISSING_REASON),
        ("refund in_123 50", messages.MISSING_REASON),
        ("refund in_123 $50 “ ”", messages.MISSING_REASON),
        # Anything that starts like an amount must be one, never the start of a reason.
        ("refund in_123 5OO dup", "'5OO' is not an amount."),
        ("refund in_123 2nd try", "'2nd' is not an amount."),
        ("refund in_123 -50 dup", "The amount must be more than zero."),
        ("refund in_123 −50 dup", "The amount must be more than zero."),
        ("refund in_123 $abc dup", "'$abc' is not an amount."),
        ("refund in_123 .5 dup", "'.5' is not an amount."),
        ("refund in_123 0 dup", "The amount must be more than zero."),
        ("refund in_123 50.001 dup", "USD amounts have at most 2 decimal places."),
        (
            "refund in_123 " + "y" * 501,
            messages.TOO_LONG.format(what="reason", length=501, limit=500),
        ),
    ],
)
def test_refund_refusals(text: str, message: str) -> None:
    error = refusal(text)
    assert error.message == message
    assert error.usage == REFUND_USAGE


@pytest.mark.parametrize("word", ["subscription", "frob", "invoices", "/empire", "pays"])
def test_unknown_command_shows_the_general_help(word: str) -> None:
    error = refusal(f"{word} ada@example.com 1500")
    assert error.message == messages.UNKNOWN_COMMAND.format(word=word)
    assert error.usage == help_text()


def test_refusals_never_echo_markup() -> None:
    error = refusal("<!channel> now")
    assert "<" not in error.message
    error = refusal("refund ch_<!here> dup")
    assert "<" not in error.message
    assert "@here" not in error.message
    # A link's label is what the person typed and saw.
    assert parse("refund <http://x.example|in_1> dup") == RefundCommand("in_1", None, "dup")


def test_usage_lines_are_escaped_for_mrkdwn() -> None:
    assert INVOICE_USAGE == (
        "Usage: `/empire invoice &lt;client&gt; &lt;amount&gt; "
        "&lt;description…&gt; [due:&lt;days&gt;]`"
    )
    assert REFUND_USAGE == (
        "Usage: `/empire refund &lt;invoice-id&gt; [&lt;amount&gt;] &lt;reason…&gt;`"
    )


def test_usage_error_is_a_value_error_with_its_message() -> None:
    error = UsageError("what went wrong", "Usage: x")
    assert isinstance(error, ValueError)
    assert str(error) == "what went wrong"


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


@given(st.text())
def test_any_text_is_a_command_or_a_usage_error(text: str) -> None:
    assert_command_or_usage_error(text)


@given(
    st.sampled_from(["invoice ", "invoice ada@example.com ", "refund ", "refund in_1Abc "]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=80),
    st.sampled_from(["usd", "eur", "jpy", "kwd", "xyz"]),
)
def test_any_arguments_are_a_command_or_a_usage_error(
    prefix: str, text: str, default_currency: str
) -> None:
    assert_command_or_usage_error(prefix + text, default_currency)


@given(
    st.lists(
        st.sampled_from(TRICKY_WORDS),
        max_size=8,
    ),
    st.sampled_from(["invoice ada@example.com ", "refund in_1Abc "]),
)
def test_tricky_word_sequences_are_a_command_or_a_usage_error(
    words: list[str], prefix: str
) -> None:
    assert_command_or_usage_error(prefix + " ".join(words))


@given(
    minor=st.integers(min_value=1, max_value=10**11),
    currency=st.sampled_from(["usd", "eur", "jpy"]),
    # A currency code right after the amount belongs to the amount (`5 USD`).
    description=st.text(
        alphabet=st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=50
    ).filter(lambda text: not is_currency_code(text)),
    due_days=st.integers(min_value=1, max_value=365),
)
def test_a_well_formed_invoice_parses_to_what_was_written(
    minor: int, currency: str, description: str, due_days: int
) -> None:
    amount = Money(minor, currency)
    text = f"invoice ada@example.com {amount.format()} {description} due:{due_days}"
    command = parse_command(text, "usd")
    assert isinstance(command, InvoiceCommand)
    assert (command.amount, command.due_days) == (amount, due_days)
    assert command.description.endswith(description)
