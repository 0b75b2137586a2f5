"""Money as integer minor units plus an ISO 4217 currency; parsed from text with Decimal.

Never a float: `1,500.00` becomes `Money(150000, "usd")`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext

from governance.errors import InvalidAmount

# Currencies Stripe charges in without a minor unit (Stripe's "zero-decimal" list).
ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
# Currencies with three decimals in Stripe.
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})
KNOWN_CURRENCIES = frozenset(
    """aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd
    bwp byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp
    gel gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw
    kwd kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad
    ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek
    sgd shp sle sos srd std szl thb tjs tnd top try ttd twd tzs uah ugx usd uyu uzs vnd vuv
    wst xaf xcd xof xpf yer zar zmw""".split()
)
SYMBOLS = {"$": "usd", "€": "eur", "£": "gbp", "¥": "jpy"}
_NUMBER = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$", re.ASCII)


def exponent(currency: str) -> int:
    """Digits after the decimal point in `currency`'s minor unit."""
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def is_currency_code(token: str) -> bool:
    return token.lower() in KNOWN_CURRENCIES


@dataclass(frozen=True)
class Money:
    minor: int
    currency: str  # lower-case ISO code, as Stripe writes it

    def __post_init__(self) -> None:
        if self.currency not in KNOWN_CURRENCIES:
            raise InvalidAmount(f"unknown currency {self.currency!r}")

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-exponent(self.currency))

    def format(self) -> str:
        """`$1,500.00` for dollars, `200.00 EUR` otherwise: unambiguous to a reader."""
        digits = exponent(self.currency)
        text = f"{self.decimal:,.{digits}f}"
        if self.currency == "usd":
            return f"-${text[1:]}" if text.startswith("-") else f"${text}"
        return f"{text} {self.currency.upper()}"

    def __str__(self) -> str:
        return self.format()


def parse_amount(text: str, default_currency: str) -> Money:
    """Parse `1500`, `1,500.00`, `$1500`, `1500 USD`, `€200` or `200 EUR`.

    Zero, negative, malformed and over-precise amounts raise `InvalidAmount`.
    """
    raw = text.strip()
    currency: str | None = None
    if raw[:1] in SYMBOLS:
        currency, raw = SYMBOLS[raw[0]], raw[1:].strip()
    parts = raw.rsplit(None, 1)
    if len(parts) == 2 and parts[1].isalpha():
        code = parts[1].lower()
        if not is_currency_code(code):
            raise InvalidAmount(f"unknown currency {parts[1]!r}")
        if currency is not None and currency != code:
            raise InvalidAmount(f"{text.strip()!r} names two currencies")
        currency, raw = code, parts[0]
    currency = currency or default_currency.lower()
    if raw.startswith("-"):
        raise InvalidAmount("the amount must be more than zero")
    if not _NUMBER.match(raw):
        raise InvalidAmount(f"{text.strip()!r} is not an amount")
    try:
        value = Decimal(raw.replace(",", ""))
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
        raise InvalidAmount(f"{text.strip()!r} is not an amount") from exc
    places = exponent(currency)
    with localcontext(prec=len(raw) + places + 4):  # exact: never round before the check
        minor = value.scaleb(places)
    if minor != minor.to_integral_value():
        unit = "whole units" if places == 0 else f"{places} decimal places"
        raise InvalidAmount(f"{currency.upper()} amounts have at most {unit}")
    if minor <= 0:
        raise InvalidAmount("the amount must be more than zero")
    if minor >= 10**12:
        raise InvalidAmount("the amount is too large")
    return Money(int(minor), currency)
