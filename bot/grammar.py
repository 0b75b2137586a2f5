"""The `/empire` command text, parsed into commands; anything else is a `UsageError`.

Slack delivers the text with its own markup: `&`, `<`, `>` as entities, e-mail addresses
as `<mailto:a@b.com|a@b.com>`, links and mentions in angle brackets, and whatever spaces
and quotes the person's keyboard produced. `_words` undoes all of that first, so the
grammar below sees only words; it remembers which of them Slack sent as mentions, so that
`<@U123>` is never taken for a client's handle.
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
_SUBSCRIPTION_ID = re.compile(r"sub_[A-Za-z0-9]{1,250}")
_ACTION = re.compile(r"[a-z][a-z_]*(?:\.[a-z][a-z_]*)+")
_REQUEST_ID = re.compile(r"#?(\d{1,9})", re.ASCII)
_HANDLE = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_WORD = re.compile(r"\S+")
_MENTION_SIGILS = ("@", "#", "!")
_DASHES = re.compile(r"[-_\u2010\u2011\u2012\u2013\u2014]")
_MONTH = re.compile(r"(\d{4})[-/](\d{1,2})", re.ASCII)
YEAR_MIN, YEAR_MAX = 2000, 2100
INTERVALS = ("week", "month", "year")
THIS_MONTH, LAST_MONTH = "this-month", "last-month"
AUDIT_RECENT, AUDIT_VERIFY = "recent", "verify"
AUDIT_VIEWS = (AUDIT_RECENT, AUDIT_VERIFY)
_PERIOD_NAMES = {
    "thismonth": THIS_MONTH,
    "lastmonth": LAST_MONTH,
}
_OUT_OF_BAND = "outofband"  # `out-of-band`, `out_of_band`, `outofband`; or `out of band`
_DUE = re.compile(r"due:(.*)", re.IGNORECASE)
_CODE_AFTER_NUMBER = re.compile(r"(.*\d)([A-Za-z]{3})")
_CODE_BEFORE_NUMBER = re.compile(r"([A-Za-z]{3})([-+]?[\d.].*)")
# Codes people write in lower case too; other lower-case words after a number are text
# ("500 top priority fixes" is not Tongan paʻanga).
_LOWER_CASE_CODES = frozenset(SYMBOLS.values())


@dataclass(frozen=True)
class ClientRef:
    """A client as the person named them: by email address or by short handle, never both."""

    email: str | None = None
    handle: str | None = None  # lower case, without the `@` people may write before it

    def __post_init__(self) -> None:
        if (self.email is None) == (self.handle is None):
            raise ValueError("a client is named by exactly one of email and handle")

    @property
    def text(self) -> str:
        """The email address or the handle, normalised."""
        return self.email or self.handle or ""


@dataclass(frozen=True)
class HelpCommand:
    pass


@dataclass(frozen=True)
class InvoiceCommand:
    client: ClientRef
    amount: Money
    description: str
    due_days: int = DUE_DAYS_DEFAULT


@dataclass(frozen=True)
class SubscribeCommand:
    client: ClientRef
    amount: Money  # charged every `interval`
    interval: str  # one of INTERVALS
    plan: str


@dataclass(frozen=True)
class CancelCommand:
    subscription_id: str
    now: bool  # False: at the end of the current period


@dataclass(frozen=True)
class WithdrawCommand:
    request_id: int  # `/empire cancel #12`: the requester takes their request back


@dataclass(frozen=True)
class PayCommand:
    invoice_id: str
    out_of_band_note: str | None  # None: collect through Stripe; else how it was paid


@dataclass(frozen=True)
class ClientsCommand:
    pass


@dataclass(frozen=True)
class StatusCommand:
    invoice_id: str


@dataclass(frozen=True)
class RevenueCommand:
    period: str  # THIS_MONTH, LAST_MONTH or `YYYY-MM`


@dataclass(frozen=True)
class AuditCommand:
    what: str  # one of AUDIT_VIEWS


@dataclass(frozen=True)
class PolicyCommand:
    action: str | None = None  # with it: which rule applies to such a request, and why
    amount: Money | None = None


@dataclass(frozen=True)
class RefundCommand:
    invoice_id: str
    amount: Money | None  # None: all that is left to refund
    reason: str


Command = (
    HelpCommand
    | InvoiceCommand
    | SubscribeCommand
    | CancelCommand
    | PayCommand
    | RefundCommand
    | ClientsCommand
    | StatusCommand
    | RevenueCommand
    | AuditCommand
    | PolicyCommand
    | WithdrawCommand
)


class UsageError(ValueError):
    """What was wrong and the usage line to show with it; both are mrkdwn, safe to post."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


def usage_line(command: messages.CommandHelp) -> str:
    return f"{messages.USAGE_PREFIX} `{escape_mrkdwn(command.usage)}`"


_COMMAND_OF_ACTION = {
    "payments.invoice": messages.INVOICE,
    "payments.refund": messages.REFUND,
    "payments.subscription": messages.SUBSCRIBE,
    "payments.cancel_subscription": messages.CANCEL,
    "payments.pay": messages.PAY,
}


def usage_of_action(action: str) -> str | None:
    """The usage line of the command that asks for `action`, if a command does."""
    command = _COMMAND_OF_ACTION.get(action)
    return usage_line(command) if command else None


def help_text() -> str:
    lines = [messages.HELP_TITLE]
    lines += [
        f"• `{escape_mrkdwn(command.usage)}` — {command.summary}" for command in messages.COMMANDS
    ]
    lines += [escape_mrkdwn(messages.HELP_CLIENTS), messages.HELP_AMOUNTS, messages.HELP_EXAMPLE]
    return "\n".join(lines)


def parse_command(text: str, default_currency: str) -> Command:
    words = _words(text)
    if not words or words[0].lower() == messages.HELP.name:
        return HelpCommand()
    name, rest = words[0].lower(), words[1:]
    if name == messages.INVOICE.name:
        return _parse_invoice(rest, default_currency)
    if name == messages.SUBSCRIBE.name:
        return _parse_subscribe(rest, default_currency)
    if name == messages.REFUND.name:
        return _parse_refund(rest, default_currency)
    if name == messages.CANCEL.name:
        return _parse_cancel(rest)
    if name == messages.PAY.name:
        return _parse_pay(rest)
    if name == messages.CLIENTS.name:
        _nothing_more(rest, usage_line(messages.CLIENTS))
        return ClientsCommand()
    if name == messages.STATUS.name:
        return _parse_status(rest)
    if name == messages.REVENUE.name:
        return _parse_revenue(rest)
    if name == messages.AUDIT.name:
        return _parse_audit(rest)
    if name == messages.POLICY.name:
        return _parse_policy(rest, default_currency)
    raise UsageError(messages.UNKNOWN_COMMAND.format(word=_echo(words[0])), help_text())


def _parse_invoice(words: list[str], default_currency: str) -> InvoiceCommand:
    usage = usage_line(messages.INVOICE)
    if not words:
        raise UsageError(messages.MISSING_INVOICE_CLIENT, usage)
    client = _client(words[0], usage)
    if len(words) < 2:
        raise UsageError(messages.MISSING_AMOUNT, usage)
    amount_text, rest = _split_amount(words[1:])
    if amount_text is None:  # not even shaped like an amount: parse_amount says why
        amount_text, rest = words[1], words[2:]
    amount = _amount(amount_text, default_currency, usage)
    due_days, rest = _split_due(rest, usage)
    description = _free_text(rest, messages.DESCRIPTION, messages.MISSING_DESCRIPTION, usage)
    return InvoiceCommand(client, amount, description, due_days)


def _parse_subscribe(words: list[str], default_currency: str) -> SubscribeCommand:
    usage = usage_line(messages.SUBSCRIBE)
    if not words:
        raise UsageError(messages.MISSING_SUBSCRIBE_CLIENT, usage)
    client = _client(words[0], usage)
    words = _split_slash(words[1:])
    if not words or words[0] == "/":
        raise UsageError(messages.MISSING_SUBSCRIBE_AMOUNT, usage)
    amount_text, rest = _split_amount(words)
    if amount_text is None:  # not even shaped like an amount: parse_amount says why
        amount_text, rest = words[0], words[1:]
    amount = _amount(amount_text, default_currency, usage)
    if len(rest) < 2 or rest[0] != "/":
        raise UsageError(messages.MISSING_INTERVAL, usage)
    interval = _token(rest[1]).lower()
    if interval not in INTERVALS:
        raise UsageError(messages.INVALID_INTERVAL.format(word=_echo(rest[1])), usage)
    plan = _free_text(rest[2:], messages.PLAN, messages.MISSING_PLAN, usage)
    return SubscribeCommand(client, amount, interval, plan)


def _parse_refund(words: list[str], default_currency: str) -> RefundCommand:
    usage = usage_line(messages.REFUND)
    invoice_id = _invoice_id(words, messages.MISSING_INVOICE_ID, usage)
    amount_text, rest = _split_amount(words[1:])
    amount = None if amount_text is None else _amount(amount_text, default_currency, usage)
    reason = _free_text(rest, messages.REASON, messages.MISSING_REASON, usage)
    return RefundCommand(invoice_id, amount, reason)


def _parse_policy(words: list[str], default_currency: str) -> PolicyCommand:
    usage = usage_line(messages.POLICY)
    if not words:
        return PolicyCommand()
    action = words[0].lower()
    if not _ACTION.fullmatch(action):
        raise UsageError(messages.INVALID_ACTION.format(word=_echo(words[0])), usage)
    if len(words) == 1:
        return PolicyCommand(action)
    amount_text, rest = _split_amount(words[1:])
    if amount_text is None:
        amount_text, rest = words[1], words[2:]
    amount = _amount(amount_text, default_currency, usage)
    _nothing_more(rest, usage)
    return PolicyCommand(action, amount)


def _parse_cancel(words: list[str]) -> CancelCommand | WithdrawCommand:
    usage = usage_line(messages.CANCEL)
    if not words:
        raise UsageError(messages.MISSING_SUBSCRIPTION_ID, usage)
    request = _REQUEST_ID.fullmatch(_token(words[0]))
    if request:  # `cancel #12`: the requester withdraws a request
        if words[1:]:
            raise UsageError(
                messages.CANCEL_UNEXPECTED.format(word=_echo(" ".join(words[1:]))), usage
            )
        return WithdrawCommand(int(request.group(1)))
    if not _SUBSCRIPTION_ID.fullmatch(words[0]):
        raise UsageError(messages.INVALID_SUBSCRIPTION_ID.format(word=_echo(words[0])), usage)
    rest = words[1:]
    if rest and not (len(rest) == 1 and _token(rest[0]).lower() == "now"):
        raise UsageError(messages.CANCEL_UNEXPECTED.format(word=_echo(" ".join(rest))), usage)
    return CancelCommand(words[0], now=bool(rest))


def _parse_pay(words: list[str]) -> PayCommand:
    usage = usage_line(messages.PAY)
    invoice_id = _invoice_id(words, messages.MISSING_PAY_INVOICE_ID, usage)
    rest = words[1:]
    if not rest:
        return PayCommand(invoice_id, None)
    keyword_words = _out_of_band_words(rest)
    if not keyword_words:
        raise UsageError(messages.PAY_UNEXPECTED.format(word=_echo(rest[0])), usage)
    note = _free_text(rest[keyword_words:], messages.NOTE, messages.MISSING_PAY_NOTE, usage)
    return PayCommand(invoice_id, note)


def _parse_status(words: list[str]) -> StatusCommand:
    usage = usage_line(messages.STATUS)
    invoice_id = _invoice_id(words, messages.MISSING_STATUS_INVOICE_ID, usage)
    _nothing_more(words[1:], usage)
    return StatusCommand(invoice_id)


def _parse_revenue(words: list[str]) -> RevenueCommand:
    usage = usage_line(messages.REVENUE)
    if not words:
        return RevenueCommand(THIS_MONTH)
    text = " ".join(_token(word) for word in words).lower()
    named = _PERIOD_NAMES.get(_DASHES.sub("", text).replace(" ", ""))
    if named:
        return RevenueCommand(named)
    month = _MONTH.fullmatch(text)
    if month and YEAR_MIN <= int(month.group(1)) <= YEAR_MAX and 1 <= int(month.group(2)) <= 12:
        return RevenueCommand(f"{month.group(1)}-{int(month.group(2)):02d}")
    raise UsageError(messages.INVALID_PERIOD.format(word=_echo(" ".join(words))), usage)


def _parse_audit(words: list[str]) -> AuditCommand:
    usage = usage_line(messages.AUDIT)
    if not words:
        return AuditCommand(AUDIT_RECENT)
    what = _token(words[0]).lower()
    if what not in AUDIT_VIEWS:
        raise UsageError(messages.INVALID_AUDIT.format(word=_echo(words[0])), usage)
    _nothing_more(words[1:], usage)
    return AuditCommand(what)


class _Mention(str):
    """A word Slack sent as a mention (`<@U123>`, `<#C123|general>`, `<!here>`), not as typed."""

    __slots__ = ()


def _words(text: str) -> list[str]:
    """The words of `text` as the person saw them; those Slack sent as mentions are `_Mention`s."""
    cleaned = ""
    mentions: list[tuple[int, int]] = []
    position = 0
    for markup in _SLACK_MARKUP.finditer(text):
        cleaned += _clean(text[position : markup.start()])
        label = _clean(_markup_label(markup.group(1)))
        if markup.group(1).startswith(_MENTION_SIGILS):
            mentions.append((len(cleaned), len(cleaned) + len(label)))
        cleaned += label
        position = markup.end()
    cleaned += _clean(text[position:])
    return [
        _Mention(word.group())
        if any(start < word.end() and word.start() < end for start, end in mentions)
        else word.group()
        for word in _WORD.finditer(cleaned)
    ]


def _clean(text: str) -> str:
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


def _client(word: str, usage: str) -> ClientRef:
    """An email address, or a handle like `acme` (people may write `@acme`)."""
    if isinstance(word, _Mention):
        raise UsageError(messages.CLIENT_IS_MENTION.format(word=_echo(word)), usage)
    token = _token(word)
    if "@" in token.removeprefix("@"):
        return ClientRef(email=_email(word, usage))
    handle = token.removeprefix("@").lower()
    if not (handle.isascii() and _HANDLE.fullmatch(handle)):
        raise UsageError(messages.INVALID_CLIENT.format(word=_echo(word)), usage)
    return ClientRef(handle=handle)


def _email(word: str, usage: str) -> str:
    address = _token(word).removeprefix("mailto:")
    local, _, domain = address.rpartition("@")
    if len(address) > 254 or len(local) > 64 or not _EMAIL.fullmatch(address):
        raise UsageError(messages.INVALID_EMAIL.format(word=_echo(word)), usage)
    return f"{local}@{domain.lower()}"


def _invoice_id(words: list[str], missing: str, usage: str) -> str:
    """The invoice id that `words` start with."""
    if not words:
        raise UsageError(missing, usage)
    if not _INVOICE_ID.fullmatch(words[0]):
        raise UsageError(messages.INVALID_INVOICE_ID.format(word=_echo(words[0])), usage)
    return words[0]


def _nothing_more(words: list[str], usage: str) -> None:
    if words:
        raise UsageError(messages.UNEXPECTED_WORDS.format(word=_echo(words[0])), usage)


def _out_of_band_words(words: list[str]) -> int:
    """How many of the words at the front say `out-of-band`: 0 when they do not."""
    first = _DASHES.sub("", _token(words[0]).lower().removesuffix(":"))
    if first == _OUT_OF_BAND:
        return 1
    three = " ".join(_token(word).lower() for word in words[:3]).removesuffix(":")
    return 3 if three == "out of band" else 0


def _split_slash(words: list[str]) -> list[str]:
    """`words` with the first `/` among the amount's words made a word of its own.

    `500/month`, `500USD/month`, `$ 500 USD/ month` and `500 / month` all become
    `… / month`; an amount takes at most three words, so the slash is in the first four.
    """
    for index, word in enumerate(words[:4]):
        token = _token(word)
        if "/" in token:
            before, _, after = token.partition("/")
            return [*words[:index], *filter(None, (before, "/", after)), *words[index + 1 :]]
    return words


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
