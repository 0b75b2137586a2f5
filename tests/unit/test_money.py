"""Money: every amount form of the contract, the refusals, and format → parse round trips."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance.errors import InvalidAmount
from governance.money import Money, exponent, is_currency_code, parse_amount


@pytest.mark.parametrize(
    ("text", "default", "expected"),
    [
        ("1500", "usd", Money(150000, "usd")),
        ("1,500.00", "usd", Money(150000, "usd")),
        ("$1500", "usd", Money(150000, "usd")),
        ("1500 USD", "usd", Money(150000, "usd")),
        ("€200", "usd", Money(20000, "eur")),
        ("200 EUR", "usd", Money(20000, "eur")),
        ("£5", "usd", Money(500, "gbp")),
        ("¥1500", "usd", Money(1500, "jpy")),
        ("1500 usd", "eur", Money(150000, "usd")),
        ("1500", "eur", Money(150000, "eur")),
        ("1500", "EUR", Money(150000, "eur")),
        ("$ 1500", "usd", Money(150000, "usd")),
        ("€200 EUR", "usd", Money(20000, "eur")),
        ("1500\u00a0USD", "usd", Money(150000, "usd")),
        ("  1500  ", "usd", Money(150000, "usd")),
        ("0.01", "usd", Money(1, "usd")),
        ("12.5", "usd", Money(1250, "usd")),
        ("1,234,567.89", "usd", Money(123456789, "usd")),
        ("9999999999.99", "usd", Money(999999999999, "usd")),
    ],
)
def test_accepts_every_written_form(text: str, default: str, expected: Money) -> None:
    assert parse_amount(text, default) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1500 JPY", Money(1500, "jpy")),
        ("1,500 JPY", Money(1500, "jpy")),
        ("1500.00 JPY", Money(1500, "jpy")),  # trailing zeros lose nothing
        ("1.234 KWD", Money(1234, "kwd")),
        ("1,000.5 BHD", Money(1000500, "bhd")),
        ("7 KRW", Money(7, "krw")),
    ],
)
def test_zero_and_three_decimal_currencies(text: str, expected: Money) -> None:
    assert parse_amount(text, "usd") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "the amount must be more than zero"),
        ("0.00", "the amount must be more than zero"),
        ("$0", "the amount must be more than zero"),
        ("-5", "the amount must be more than zero"),
        ("$-5", "the amount must be more than zero"),
        ("-$5", "the amount must be more than zero"),
        ("1.001", "USD amounts have at most 2 decimal places"),
        ("1500.5 JPY", "JPY amounts have at most whole units"),
        ("¥0.5", "JPY amounts have at most whole units"),
        ("1.2345 KWD", "KWD amounts have at most 3 decimal places"),
        ("10000000000", "the amount is too large"),
        ("1500 XYZ", "unknown currency 'XYZ'"),
        ("$1500 EUR", "'$1500 EUR' names two currencies"),
        ("abc", "'abc' is not an amount"),
        ("", "'' is not an amount"),
        ("$", "'$' is not an amount"),
        ("1,50", "'1,50' is not an amount"),
        ("1,5000", "'1,5000' is not an amount"),
        ("1.", "'1.' is not an amount"),
        (".5", "'.5' is not an amount"),
        ("1e3", "'1e3' is not an amount"),
        ("+5", "'+5' is not an amount"),
        ("5OO", "'5OO' is not an amount"),
        ("1500USD", "'1500USD' is not an amount"),
        ("USD 1500", "'USD 1500' is not an amount"),
        ("1 500", "'1 500' is not an amount"),
        ("NaN", "'NaN' is not an amount"),
        ("Infinity", "'Infinity' is not an amount"),
    ],
)
def test_refuses_with_a_clear_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidAmount) as caught:
        parse_amount(text, "usd")
    assert str(caught.value) == message


def test_an_unknown_default_currency_is_refused() -> None:
    with pytest.raises(InvalidAmount, match="unknown currency"):
        parse_amount("1500", "xyz")


@pytest.mark.parametrize(
    "text", ["1.000000000000000000000000000001", "99999999.9999999999999999999999999999"]
)
def test_refuses_over_precise_amounts_beyond_28_significant_digits(text: str) -> None:
    with pytest.raises(InvalidAmount):
        parse_amount(text, "usd")


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(150000, "usd"), "$1,500.00"),
        (Money(5, "usd"), "$0.05"),
        (Money(-500, "usd"), "-$5.00"),
        (Money(20000, "eur"), "200.00 EUR"),
        (Money(1500, "jpy"), "1,500 JPY"),
        (Money(1234, "kwd"), "1.234 KWD"),
        (Money(123456789, "gbp"), "1,234,567.89 GBP"),
    ],
)
def test_format_is_unambiguous(money: Money, text: str) -> None:
    assert money.format() == text
    assert str(money) == text


def test_decimal_and_exponent() -> None:
    assert Money(150000, "usd").decimal == Decimal("1500.00")
    assert Money(1500, "jpy").decimal == Decimal("1500")
    assert (exponent("usd"), exponent("jpy"), exponent("kwd")) == (2, 0, 3)


def test_money_takes_only_known_lower_case_currencies() -> None:
    with pytest.raises(InvalidAmount):
        Money(100, "USD")
    with pytest.raises(InvalidAmount):
        Money(100, "xyz")


def test_currency_codes_ignore_case() -> None:
    assert is_currency_code("usd")
    assert is_currency_code("EUR")
    assert not is_currency_code("xyz")
    assert not is_currency_code("")


@given(
    minor=st.integers(min_value=1, max_value=10**12 - 1),
    currency=st.sampled_from(["usd", "eur", "jpy", "kwd"]),
    default=st.sampled_from(["usd", "eur", "jpy"]),
)
def test_format_then_parse_gives_the_same_money(minor: int, currency: str, default: str) -> None:
    money = Money(minor, currency)
    assert parse_amount(money.format(), default) == money


@given(st.text(max_size=40), st.sampled_from(["usd", "eur", "jpy"]))
def test_any_text_is_money_or_invalid_amount(text: str, default: str) -> None:
    try:
        money = parse_amount(text, default)
    except InvalidAmount:
        return
    assert 0 < money.minor < 10**12
