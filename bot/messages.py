"""Every word the bot shows a person, in one place so wording changes touch one file.

Usage lines are written raw (`<client-email>`); `bot.grammar` escapes them for mrkdwn.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CommandHelp:
    name: str
    usage: str
    summary: str


HELP = CommandHelp("help", "/empire help", "show this list")
INVOICE = CommandHelp(
    "invoice",
    "/empire invoice <client-email> <amount> <description…> [due:<days>]",
    "send a one-off invoice; due in 30 days unless `due:` says otherwise",
)
REFUND = CommandHelp(
    "refund",
    "/empire refund <invoice-id> [<amount>] <reason…>",
    "refund a paid invoice: the amount given, or without one all that is left",
)
COMMANDS = (HELP, INVOICE, REFUND)

HELP_TITLE = "*Business Empire* — every money action waits for approval on a card."
HELP_AMOUNTS = "Amounts: `1500`, `1,500.00`, `$1500`, `1500 USD`, `€200`, `200 EUR`."
HELP_EXAMPLE = "Example: `/empire invoice ada@example.com $1,500 Website redesign due:14`"
USAGE_PREFIX = "Usage:"

# Grammar refusals; `{…}` fields are filled with escaped text.
UNKNOWN_COMMAND = "I don't know the command `{word}`."
MISSING_EMAIL = "Say who to invoice: the client's email address."
INVALID_EMAIL = "`{word}` is not an email address."
MISSING_AMOUNT = "Say how much to invoice."
INVALID_AMOUNT = "{reason}."  # the reason comes from governance.money, capitalised
MISSING_DESCRIPTION = "Say what the invoice is for."
MISSING_INVOICE_ID = "Say which invoice to refund: its id, like `in_1Abc…`."
INVALID_INVOICE_ID = "`{word}` is not an invoice id; invoice ids look like `in_1Abc…`."
MISSING_REASON = "Say why you are refunding."
TOO_LONG = "The {what} is {length} characters long; at most {limit} fit."
INVALID_DUE = "`due:{word}` is not a due date: write `due:` and a whole number of days, 1 to 365."
DUE_TWICE = "`due:` is given more than once."
DESCRIPTION = "description"
REASON = "reason"

# Approval cards.
FIELD_EMPTY = "—"
CONTEXT_REQUESTER = "Requested by {user}"
CONTEXT_RULE = "Rule: *{rule}*"
CONTEXT_APPROVALS = "Approvals: {count} of {required}"
CONTEXT_APPROVED_BY = " ({users})"
CONTEXT_APPROVERS = "Who may approve: {hint}"
CONTEXT_EXPIRES = "Expires {date}"
DATE_FORMAT = "{date_short_pretty} at {time}"
DATE_FALLBACK = "%Y-%m-%d %H:%M UTC"

STATUS_RECEIVED = "Received — checking the policy…"
STATUS_PENDING = "Waiting for approval"
STATUS_EXECUTING = "Approved — executing…"
STATUS_SUCCEEDED = "Executed"
STATUS_FAILED = "Failed"
STATUS_DENIED = "Denied"
STATUS_DENIED_BY = "Denied by {user}"
STATUS_EXPIRED = "Expired"
STATUS_CANCELLED = "Cancelled"
STATUS_REJECTED = "Rejected"
REASON_SUFFIX = ": {reason}"
MORE_LINES = "…"

BUTTON_APPROVE = "Approve"
BUTTON_DENY = "Deny"
BUTTON_RETRY = "Retry"

CARD_FALLBACK = "{title} #{request_id}: {status}"

# The deny modal.
DENY_TITLE = "Deny request #{request_id}"
DENY_SUBMIT = "Deny"
DENY_CLOSE = "Cancel"
DENY_PROMPT = "Why deny request #{request_id}? The requester will see your reason."
DENY_LABEL = "Reason"
DENY_PLACEHOLDER = "e.g. the amount does not match the contract"

# Answers to `/empire` (ephemeral).
SUBMITTED_PENDING = "Request #{request_id} is waiting for {hint}; the card is in <#{channel}>."
SUBMITTED_CHECKING = (
    "Request #{request_id} received: checking it with Stripe before it goes for approval."
)
SUBMITTED_REFUSED = "Request #{request_id} was refused: {reason}"

# Notifications from Stripe events; `{…}` fields are filled with escaped text.
NOTIFY_INVOICE_PAID = ":moneybag: Invoice {invoice} paid: {amount}{client}"
NOTIFY_PAYMENT_FAILED = ":warning: *Payment failed* for invoice {invoice}: {amount} due{client}"
NOTIFY_CHARGE_REFUNDED = ":leftwards_arrow_with_hook: Refunded {amount} of charge {charge}{client}"
NOTIFY_CLIENT = " from {email}"
NOTIFY_LINK = "<{url}|Hosted invoice>"
