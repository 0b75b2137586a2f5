"""Every word the bot shows a person, in one place so wording changes touch one file.

Usage lines are written raw (`<client>`); `bot.grammar` escapes them for mrkdwn.
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
    "/empire invoice <client> <amount> <description…> [due:<days>]",
    "send a one-off invoice; due in 30 days unless `due:` says otherwise",
)
SUBSCRIBE = CommandHelp(
    "subscribe",
    "/empire subscribe <client> <amount>/<week|month|year> <plan name…>",
    "charge a client every week, month or year",
)
CANCEL = CommandHelp(
    "cancel",
    "/empire cancel <subscription-id> [now] | /empire cancel #<request>",
    "end a subscription when its current period ends, or at once with `now`; "
    "or withdraw a request you made",
)
PAY = CommandHelp(
    "pay",
    "/empire pay <invoice-id> [out-of-band <note…>]",
    "collect an open invoice now, or record with `out-of-band` that it was paid another way",
)
REFUND = CommandHelp(
    "refund",
    "/empire refund <invoice-id> [<amount>] <reason…>",
    "refund a paid invoice: the amount given, or without one all that is left",
)
CLIENTS = CommandHelp("clients", "/empire clients", "list the clients")
STATUS = CommandHelp("status", "/empire status <invoice-id>", "show where an invoice stands")
REVENUE = CommandHelp(
    "revenue",
    "/empire revenue [this-month|last-month|YYYY-MM]",
    "show the revenue of a month; this month unless another is named",
)
AUDIT = CommandHelp(
    "audit",
    "/empire audit [recent|verify]",
    "show the latest audit log entries, or check the whole chain with `verify`",
)
POLICY = CommandHelp(
    "policy",
    "/empire policy [<action> [<amount>]]",
    "show the approval policy in force, or which rule applies to such a request and why",
)
COMMANDS = (HELP, INVOICE, SUBSCRIBE, CANCEL, PAY, REFUND, CLIENTS, STATUS, REVENUE, AUDIT, POLICY)

HELP_TITLE = "*Business Empire* — every money action waits for approval on a card."
HELP_CLIENTS = (
    "`<client>` is the client's email address or handle, like `ada@example.com` or `acme`."
)
HELP_AMOUNTS = "Amounts: `1500`, `1,500.00`, `$1500`, `1500 USD`, `€200`, `200 EUR`."
HELP_EXAMPLE = (
    "Examples: `/empire invoice ada@example.com $1,500 Website redesign due:14`, "
    "`/empire subscribe acme $500/month Retainer`"
)
USAGE_PREFIX = "Usage:"

# Grammar refusals; `{…}` fields are filled with escaped text.
UNKNOWN_COMMAND = "I don't know the command `{word}`."
UNEXPECTED_WORDS = "Nothing more goes there: `{word}` is one word too many."
MISSING_INVOICE_CLIENT = "Say who to invoice: the client's email address or handle."
MISSING_SUBSCRIBE_CLIENT = "Say who to subscribe: the client's email address or handle."
UNKNOWN_CLIENT = "No client has the handle `{handle}`; `/empire clients` lists them."
INVALID_EMAIL = "`{word}` is not an email address."
INVALID_CLIENT = (
    "`{word}` is neither an email address nor a client handle; "
    "handles are up to 40 letters, digits and dashes, like `acme`."
)
CLIENT_IS_MENTION = (
    "`{word}` is a Slack mention, not a client: "
    "write the client's email address, or their handle without the `@`."
)
MISSING_AMOUNT = "Say how much to invoice."
INVALID_AMOUNT = "{reason}."  # the reason comes from governance.money, capitalised
MISSING_DESCRIPTION = "Say what the invoice is for."
MISSING_SUBSCRIBE_AMOUNT = "Say how much to charge and how often, like `500/month`."
MISSING_INTERVAL = (
    "Say how often to charge: `/week`, `/month` or `/year` right after the amount, "
    "like `500/month`."
)
INVALID_INTERVAL = "`{word}` is not an interval: charge every `week`, `month` or `year`."
MISSING_PLAN = "Say what the plan is called, after the amount and interval."
MISSING_SUBSCRIPTION_ID = "Say which subscription to cancel: its id, like `sub_1Abc…`."
INVALID_SUBSCRIPTION_ID = (
    "`{word}` is not a subscription id; subscription ids look like `sub_1Abc…`."
)
CANCEL_UNEXPECTED = (
    "`{word}` is not understood after the subscription id: only `now` may follow it; "
    "without it the subscription ends with its current period."
)
MISSING_INVOICE_ID = "Say which invoice to refund: its id, like `in_1Abc…`."
MISSING_PAY_INVOICE_ID = "Say which invoice to pay: its id, like `in_1Abc…`."
MISSING_STATUS_INVOICE_ID = "Say which invoice to look up: its id, like `in_1Abc…`."
INVALID_INVOICE_ID = "`{word}` is not an invoice id; invoice ids look like `in_1Abc…`."
PAY_UNEXPECTED = (
    "`{word}` is not understood after the invoice id: only `out-of-band` and a note "
    "on how it was paid may follow it."
)
MISSING_PAY_NOTE = "Say how the invoice was paid, after `out-of-band`: a cheque, a transfer…"
MISSING_REASON = "Say why you are refunding."
INVALID_PERIOD = (
    "`{word}` is not a month: write `this-month`, `last-month` or a month like `2026-03` "
    "(years 2000 to 2100)."
)
INVALID_AUDIT = "`{word}` is not something `audit` does: write `recent` or `verify`."
TOO_LONG = "The {what} is {length} characters long; at most {limit} fit."
INVALID_DUE = "`due:{word}` is not a due date: write `due:` and a whole number of days, 1 to 365."
DUE_TWICE = "`due:` is given more than once."
DESCRIPTION = "description"
REASON = "reason"
PLAN = "plan name"
NOTE = "note"

# Approval cards.
FIELD_EMPTY = "—"
CONTEXT_REQUESTER = "Requested by {user}"
API_CLIENT = "API client `{name}`"
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
BUTTON_EDIT = "Edit"
EDITED_BY = (
    ":pencil2: Edited by {user}: {changes}. Approvals given before the edit no longer count."
)
EDITED_TIMES = " (edited {count} times)"
EDIT_CHANGE = "{label} {before} → {after}"
STATUS_WITHDRAWN_BY = "Withdrawn by {user}"

CARD_FALLBACK = "{title} #{request_id}: {status}"

# The deny modal.
EDIT_TITLE = "Edit request #{request_id}"
EDIT_SUBMIT = "Save"
EDIT_PROMPT = "Change what is asked. Approvals given so far will no longer count."
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
WITHDRAWN = "Request #{request_id} is withdrawn; its card says so."
SUBMITTED_REFUSED = "Request #{request_id} was refused: {reason}"

# Notifications from Stripe events; `{…}` fields are filled with escaped text.
NOTIFY_INVOICE_PAID = ":moneybag: Invoice {invoice} paid: {amount}{client}"
NOTIFY_PAYMENT_FAILED = ":warning: *Payment failed* for invoice {invoice}: {amount} due{client}"
NOTIFY_CHARGE_REFUNDED = ":leftwards_arrow_with_hook: Refunded {amount} of charge {charge}{client}"
NOTIFY_INVOICE_PAID_OUT_OF_BAND = (
    ":moneybag: Invoice {invoice} marked paid outside Stripe: {amount}{client}"
)
NOTIFY_INVOICE_VOIDED = ":wastebasket: Invoice {invoice} was voided: {amount}{client}"
NOTIFY_INVOICE_UNCOLLECTIBLE = ":x: Invoice {invoice} was marked uncollectible: {amount}{client}"
NOTIFY_INVOICE_OVERDUE = ":hourglass: Invoice {invoice} is overdue: {amount} due{client}"
NOTIFY_SUBSCRIPTION_STARTED = (
    ":repeat: Subscription {subscription} started: {plan}, {price}{client}"
)
NOTIFY_SUBSCRIPTION_ENDING = (
    ":calendar: Subscription {subscription} ({plan}, {price}) will end at the end of its period"
)
NOTIFY_SUBSCRIPTION_RESUMED = ":repeat: Subscription {subscription} ({plan}) will renew again"
NOTIFY_SUBSCRIPTION_STATUS = "Subscription {subscription} ({plan}, {price}) is now *{status}*"
NOTIFY_SUBSCRIPTION_ENDED = ":end: Subscription {subscription} ended: {plan}, {price}"
NOTIFY_DISPUTE = "*Dispute opened* on invoice {invoice}: {amount}, reason {reason}"
NOTIFY_DISPUTE_CLOSED = ":scales: Dispute {dispute} closed: *{status}*, {amount}"
NOTIFY_PAYMENT_INTENT_FAILED = "*A payment failed*: {payment_intent}, {amount}{note}"
NOTIFY_UNAPPROVED = "*Not approved here:* {finding}"
NOTIFY_AUDIT_CHECKPOINT = ":lock: Audit checkpoint: {entries} entries, head #{seq} `{hash}`"
NOTIFY_POLICY_CHANGED = ":scroll: *The approval policy changed* (now `{digest}`):"
NOTIFY_POLICY_REFUSED = (
    "*The policy file {file} no longer loads*; the previous policy stays in force until it does:"
)
NOTIFY_SECRETS_DUE = ":key: Secrets due for rotation within a week (`empire secrets rotate NAME`):"
NOTIFY_SECRETS_OVERDUE = ":key: *Secrets overdue for rotation* (`empire secrets rotate NAME`):"
NOTIFY_ROTATION_DUE_LINE = "• `{name}` (owner {owner}): due {due}"
NOTIFY_ROTATION_OVERDUE_LINE = "• `{name}` (owner {owner}): *overdue* since {due}"
NOTIFY_LOUD = ":rotating_light: <!here> "
DM_REMINDER = (
    ":hourglass: Request #{request_id} ({title}: {fields}) from {requester} is still waiting "
    "for your decision{where}."
)
DM_ESCALATION = (
    ":arrow_up: Request #{request_id} ({title}: {fields}) from {requester} has waited too long; "
    "you may now approve or deny it{where}."
)
DM_WHERE = " — the card is in <#{channel}>"
NOTIFY_CLIENT = " from {email}"
NOTIFY_LINK = "<{url}|Hosted invoice>"

# `/empire audit` and `/empire policy` (ephemeral); `{…}` fields are filled with escaped text.
AUDIT_EMPTY = "The audit log is empty: nothing has happened yet."
AUDIT_RECENT_TITLE = "*Audit log* — the last {shown} of {total} entries:"
AUDIT_RECENT_LINE = "• `{seq}` {at} UTC — {actor} `{kind}`{request}"
AUDIT_RECENT_REQUEST = " · request #{request_id}"
AUDIT_RECENT_FOOTER = "`/empire audit verify` checks the whole chain."
AUDIT_VERIFY_OK = (
    ":white_check_mark: *The audit log verifies*: {entries} entries chained from the first "
    "to head #{seq} `{hash}`."
)
AUDIT_VERIFY_EMPTY = ":white_check_mark: *The audit log verifies*: it is empty."
AUDIT_VERIFY_LAST_CHECKPOINT = "Last checkpoint: #{seq} `{hash}`, {at} UTC."
AUDIT_VERIFY_NO_CHECKPOINT = "No checkpoint has been posted yet."
AUDIT_VERIFY_FAILED = ":rotating_light: *The audit log does not verify*: entry {seq}: {reason}."
AUDIT_VERIFY_SIGNATURES = (
    "Transaction signatures are checked by `empire audit verify`, where the signing key is."
)
INVALID_ACTION = "`{word}` is not an action name; they look like `payments.refund`."
