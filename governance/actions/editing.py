"""Reading edited values: the same rules as the slash command's, one field at a time."""

from __future__ import annotations

from governance.errors import InvalidAmount, InvalidEdit
from governance.money import Money, parse_amount

TEXT_MAX = 500  # Stripe's limit on a metadata value, where descriptions and reasons end up
DAYS_MAX = 365


def amount(values: dict[str, str], field: str, currency: str) -> Money:
    text = values.get(field, "").strip()
    try:
        return parse_amount(text, currency)
    except InvalidAmount as exc:
        raise InvalidEdit(field, str(exc)[:1].upper() + str(exc)[1:] + ".") from None


def text(values: dict[str, str], field: str, what: str) -> str:
    written = " ".join(values.get(field, "").split())
    if not written:
        raise InvalidEdit(field, f"Say what the {what} is.")
    if len(written) > TEXT_MAX:
        raise InvalidEdit(field, f"The {what} is {len(written)} characters; at most {TEXT_MAX}.")
    return written


def days(values: dict[str, str], field: str) -> int:
    written = values.get(field, "").strip()
    shaped = written.isascii() and written.isdigit() and len(written) <= len(str(DAYS_MAX))
    if not (shaped and 1 <= int(written) <= DAYS_MAX):
        raise InvalidEdit(field, f"Write a whole number of days, 1 to {DAYS_MAX}.")
    return int(written)
