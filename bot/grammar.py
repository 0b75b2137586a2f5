"""The `/empire` command text, parsed into commands; anything else is a `UsageError`.

Slack delivers the text with its own markup: `&`, `<`, `>` as entities, e-mail addresses
as `<mailto:a@b.com|a@b.com>`, links and mentions in angle brackets, and whatever spaces
and quotes the person's keyboard produced. `_normalise` undoes all of that first, so the
grammar below sees only words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot import messages
from bot.escape import escape_mrkdwn
from governance.errors import InvalidAmount
from governance.money import SYMBOLS, Money, is_currency_code, parse_amount

TEXT_MAX = 500  # Stripe's limit on a metadata value, where descriptions and reasons end up
DUE_DAYS_DEFAULT = 30
DUE_DAYS_MAX = 365
_ECHO_MAX = 40  # how much of a wrong word an error repeats

_SLACK_MARKUP = re.compile(r"<([^<>]*)>")
_SMART_QUOTES = str.maketrans("‘’‚‛“”„‟′″", "''''\"\"\"\"'\"")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_INVOICE_ID = re.compile(r"in_[A-Za-z0-9]{1,250}")
_DUE = re.compile(r"due:(.*)", re.IGNORECASE)
_CODE_AFTER_NUMBER = re.compile(r"(.*\d)([A-Za-z]{3})")
_CODE_BEFORE_NUMBER = re.compile(r"([A-Za-z]{3})([-+]?[\d.].*)")
# Codes people write in lower case too; other lower-case words after a number are text
# ("500 top priority fixes" is not Tongan paʻanga).
_LOWER_CASE_CODES = frozenset(SYMBOLS.values())


@dataclass(frozen=True)
class HelpCommand:
    pass


@dataclass(frozen=True)
class InvoiceCommand:
    client_email: str
    amount: Money
    description: str
    due_days: int = DUE_DAYS_DEFAULT


@dataclass(frozen=True)
class RefundCommand:
    invoice_id: str
    amount: Money | None  # None: all that is left to refund
    reason: str


Command = HelpCommand | InvoiceCommand | RefundCommand


class UsageError(ValueError):
    """What was wrong and the usage line to show with it; both are mrkdwn, safe to post."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


def usage_line(command: messages.CommandHelp) -> str:
    return f"{messages.USAGE_PREFIX} `{escape_mrkdwn(command.usage)}`"


_COMMAND_OF_ACTION = {"payments.invoice": messages.INVOICE, "payments.refund": messages.REFUND}


def usage_of_action(action: str) -> str | None:
    """The usage line of the command that asks for `action`, if a command does."""
    command = _COMMAND_OF_ACTION.get(action)
    return usage_line(command) if command else None


def help_text() -> str:
    lines = [messages.HELP_TITLE]
    lines += [
        f"• `{escape_mrkdwn(command.usage)}` — {command.summary}" for command in messages.COMMANDS
    ]
    lines += [messages.HELP_AMOUNTS, messages.HELP_EXAMPLE]
    return "\n".join(lines)


def parse_command(text: str, default_currency: str) -> Command:
    words = _normalise(text).split()
    if not words or words[0].lower() == messages.HELP.name:
        return HelpCommand()
    name, rest = words[0].lower(), words[1:]
    if name == messages.INVOICE.name:
        return _parse_invoice(rest, default_currency)
    if name == messages.REFUND.name:
        return _parse_refund(rest, default_currency)
    raise UsageError(messages.UNKNOWN_COMMAND.format(word=_echo(words[0])), help_text())


def _parse_invoice(words: list[str], default_currency: str) -> InvoiceCommand:
    usage = usage_line(messages.INVOICE)
    if not words:
        raise UsageError(messages.MISSING_EMAIL, usage)
    email = _email(words[0], usage)
    if len(words) < 2:
        raise UsageError(messages.MISSING_AMOUNT, usage)
    amount_text, rest = _split_amount(words[1:])
    if amount_text is None:  # not even shaped like an amount: parse_amount says why
        amount_text, rest = words[1], words[2:]
    amount = _amount(amount_text, default_currency, usage)
    due_days, rest = _split_due(rest, usage)
    description = _free_text(rest, messages.DESCRIPTION, messages.MISSING_DESCRIPTION, usage)
    return InvoiceCommand(email, amount, description, due_days)


def _parse_refund(words: list[str], default_currency: str) -> RefundCommand:
    usage = usage_line(messages.REFUND)
    if not words:
        raise UsageError(messages.MISSING_INVOICE_ID, usage)
    if not _INVOICE_ID.fullmatch(words[0]):
        raise UsageError(messages.INVALID_INVOICE_ID.format(word=_echo(words[0])), usage)
    amount_text, rest = _split_amount(words[1:])
    amount = None if amount_text is None else _amount(amount_text, default_currency, usage)
    reason = _free_text(rest, messages.REASON, messages.MISSING_REASON, usage)
    return RefundCommand(words[0], amount, reason)


def _normalise(text: str) -> str:
    text = _SLACK_MARKUP.sub(lambda match: _markup_label(match.group(1)), text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = text.translate(_SMART_QUOTES).translate(_INVISIBLE)
    # Control characters are dropped; tabs and newlines separate words like spaces.
    return "".join(
        " " if char.isspace() else char
        for char in text
        if char.isspace() or unicodedata.category(char) != "Cc"
    )


def _markup_label(inner: str) -> str:
    """What a person sees for Slack markup: `<mailto:a@b|a@b>` is `a@b`, `<@U1|ann>` `@ann`."""
    target, _, label = inner.partition("|")
    if target.startswith("mailto:"):
        return target.removeprefix("mailto:")
    if target.startswith("!") and not label:
        return "@" + target[1:].split("^")[0]
    if target[:1] in ("@", "#") and label:
        return target[0] + label.lstrip("@#")
    return label or target


def _email(word: str, usage: str) -> str:
    address = word.removeprefix("mailto:")
    local, _, domain = address.rpartition("@")
    if len(address) > 254 or len(local) > 64 or not _EMAIL.fullmatch(address):
        raise UsageError(messages.INVALID_EMAIL.format(word=_echo(word)), usage)
    return f"{local}@{domain.lower()}"


def _split_amount(words: list[str]) -> tuple[str | None, list[str]]:
    """The amount at the front of `words`, as text for `parse_amount`, and the words after it.

    Anything that starts like a number or a currency symbol is an amount, valid or not, so
    that a mistyped `5OO` is refused rather than read as the start of a reason.
    """
    if not words:
        return None, words
    first, rest = _token(words[0]), words[1:]
    if first in SYMBOLS and rest:  # `$ 1500`
        first, rest = first + _token(rest[0]), rest[1:]
    glued_before = _CODE_BEFORE_NUMBER.fullmatch(first)
    if glued_before and is_currency_code(glued_before.group(1)):  # `USD1500`
        return f"{glued_before.group(2)} {glued_before.group(1)}", rest
    if _is_code(first) and rest and _starts_like_number(_token(rest[0])):  # `USD 1500`
        return f"{_token(rest[0])} {first}", rest[1:]
    if not _starts_like_number(first):
        return None, words
    glued_after = _CODE_AFTER_NUMBER.fullmatch(first)
    if glued_after and is_currency_code(glued_after.group(2)):  # `1500USD`
        return f"{glued_after.group(1)} {glued_after.group(2)}", rest
    if rest and _is_code(rest[0]):  # `1500 USD`
        return f"{first} {rest[0]}", rest[1:]
    return first, rest


def _token(word: str) -> str:
    # Full-width digits and symbols from East Asian keyboards, and a typographic minus.
    return unicodedata.normalize("NFKC", word).replace("−", "-")


def _starts_like_number(word: str) -> bool:
    unsigned = word.lstrip("+-–")
    return (
        unsigned[:1].isdecimal()
        or unsigned[:1] in SYMBOLS
        or (unsigned[:1] == "." and unsigned[1:2].isdecimal())
    )


def _is_code(word: str) -> bool:
    return is_currency_code(word) and (word.isupper() or word.lower() in _LOWER_CASE_CODES)


def _amount(text: str, default_currency: str, usage: str) -> Money:
    try:
        return parse_amount(text, default_currency)
    except InvalidAmount as exc:
        reason = escape_mrkdwn(str(exc), 200)
        reason = reason[:1].upper() + reason[1:]
        raise UsageError(messages.INVALID_AMOUNT.format(reason=reason), usage) from exc


def _split_due(words: list[str], usage: str) -> tuple[int, list[str]]:
    found: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(words):
        match = _DUE.fullmatch(words[index])
        following = words[index + 1] if index + 1 < len(words) else ""
        if match is None:
            rest.append(words[index])
        elif match.group(1):
            found.append(match.group(1))
        elif _token(following)[:1].isdecimal():  # `due: 14`
            found.append(following)
            index += 1
        else:  # "payment due: on receipt" is description
            rest.append(words[index])
        index += 1
    if len(found) > 1:
        raise UsageError(messages.DUE_TWICE, usage)
    return (_due_days(found[0], usage) if found else DUE_DAYS_DEFAULT), rest


def _due_days(text: str, usage: str) -> int:
    days = _token(text).lstrip("0") or "0"
    # The length check keeps int() away from absurdly long digit strings.
    shaped = days.isascii() and days.isdigit() and len(days) <= len(str(DUE_DAYS_MAX))
    if not shaped or not 1 <= int(days) <= DUE_DAYS_MAX:
        raise UsageError(messages.INVALID_DUE.format(word=_echo(text)), usage)
    return int(days)


def _free_text(words: list[str], what: str, missing: str, usage: str) -> str:
    text = " ".join(words)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    if not text:
        raise UsageError(missing, usage)
    if len(text) > TEXT_MAX:
        message = messages.TOO_LONG.format(what=what, length=len(text), limit=TEXT_MAX)
        raise UsageError(message, usage)
    return text


def _echo(word: str) -> str:
    """A word of the person's text, safe to repeat inside backticks."""
    return escape_mrkdwn(word.replace("`", "'"), _ECHO_MAX)
