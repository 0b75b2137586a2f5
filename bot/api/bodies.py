"""What the REST API reads and answers, as pydantic models: they make its OpenAPI schema."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

TEXT_MAX = 500  # as in Slack: Stripe's limit on a metadata value
URL_MAX = 2048
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_HANDLE = re.compile(r"@?[a-z0-9][a-z0-9-]{0,39}")
INVOICE_ID = r"^in_[A-Za-z0-9]{1,250}$"
IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,255}$"


def _text(value: str) -> str:
    """Free text: trimmed, not empty, no control characters but line breaks and tabs."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in value):
        raise ValueError("must not contain control characters")
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def _client(value: str) -> str:
    value = value.strip()
    if "@" in value.removeprefix("@"):
        local, _, domain = value.rpartition("@")
        if len(value) > 254 or len(local) > 64 or not _EMAIL.fullmatch(value):
            raise ValueError("is not an email address")
        return f"{local}@{domain.lower()}"
    if not _HANDLE.fullmatch(value.lower()):
        raise ValueError("is neither an email address nor a client handle")
    return value.lower().removeprefix("@")


def _callback_url(value: str) -> str:
    if any(c.isspace() or unicodedata.category(c) == "Cc" for c in value):
        raise ValueError("must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError("is not a URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


Text = Annotated[str, Field(min_length=1, max_length=TEXT_MAX), AfterValidator(_text)]
Client = Annotated[
    str,
    Field(
        min_length=1,
        max_length=254,
        description="The client's email address, or their handle in the client registry.",
        examples=["acme@example.com", "acme"],
    ),
    AfterValidator(_client),
]
Amount = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        description=(
            "Written as in Slack, in major units: `1500`, `1,500.00`, `$1500`, `200 EUR`. "
            "Never a JSON number, so that no amount passes through a float."
        ),
        examples=["1500.00", "200 EUR"],
    ),
]
Currency = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z]{3}$",
        description="ISO currency of `amount` when it names none (default: the business's).",
        examples=["usd"],
    ),
]
CallbackUrl = Annotated[
    str,
    Field(
        min_length=1,
        max_length=URL_MAX,
        description="Where the outcome is POSTed, signed, once the request has ended.",
        examples=["https://crm.example.com/empire/outcomes"],
    ),
    AfterValidator(_callback_url),
]
InvoiceId = Annotated[str, Field(pattern=INVOICE_ID, examples=["in_1Q2w3E4r5T6y"])]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InvoiceBody(_Body):
    client: Client
    amount: Amount
    currency: Currency | None = None
    description: Text
    due_days: int = Field(default=30, ge=1, le=365, description="Days after sending.")
    callback_url: CallbackUrl | None = None


class SubscriptionBody(_Body):
    client: Client
    amount: Amount
    currency: Currency | None = None
    interval: Literal["week", "month", "year"]
    plan: Text
    callback_url: CallbackUrl | None = None


class RefundBody(_Body):
    invoice_id: InvoiceId
    amount: Amount | None = Field(
        default=None, description="Omitted: the whole refundable rest of the invoice."
    )
    currency: Currency | None = None
    reason: Text
    callback_url: CallbackUrl | None = None


class ProcessBody(_Body):
    invoice_id: InvoiceId
    method: Literal["card", "out_of_band"] = Field(
        default="card",
        description="`card`: charge the card on file; `out_of_band`: mark paid outside Stripe.",
    )
    note: Text | None = Field(
        default=None, description="How it was paid; required for `out_of_band`, else refused."
    )
    callback_url: CallbackUrl | None = None

    @model_validator(mode="after")
    def _note_goes_with_out_of_band(self) -> ProcessBody:
        if self.method == "out_of_band" and self.note is None:
            raise ValueError("`note` is required when `method` is `out_of_band`")
        if self.method == "card" and self.note is not None:
            raise ValueError("`note` is only for `method: out_of_band`")
        return self


class Accepted(BaseModel):
    request_id: int
    state: str = Field(description="`pending` (waiting in Slack), `received`, or `rejected`.")
    status_url: str
    action: str
    approvals_required: int
    approver_hint: str = Field(description="Who may approve, as the card says it.")
    reason: str | None = Field(default=None, description="Why it was refused, when rejected.")


class Error(BaseModel):
    error: str = Field(description="A stable code: `unauthorized`, `forbidden`, `not_found`, …")
    detail: str


class ApprovalView(BaseModel):
    user_id: str = Field(description="A Slack user ID.")
    at: datetime


class ActionView(BaseModel):
    request_id: int
    action: str
    state: str
    requester: str = Field(description="A Slack user ID, or `api:<token name>`.")
    api_client: str | None = Field(description="The token's name, when an API client asked.")
    origin: dict[str, Any]
    payload: dict[str, Any]
    rule: str | None
    approvals_required: int
    approvals: list[ApprovalView]
    approver_hint: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    decided_by: str | None = Field(description="Who denied or withdrew it.")
    decision_note: str | None = Field(description="The reason given with a denial.")
    result: dict[str, Any] | None = Field(
        description="What the execution produced: `object_id`, `summary`, links."
    )
    failure_reason: str | None
    status_url: str


class Outcome(ActionView):
    """The body of a callback: the request as `GET /actions/{id}` shows it, once ended."""

    event: Literal["action.outcome"]


class ActionList(BaseModel):
    actions: list[ActionView]
    next: str | None = Field(description="The next page, when there is one.")


class MoneyView(BaseModel):
    minor: int = Field(description="Integer minor units (cents).")
    currency: str
    formatted: str


class HistoryView(BaseModel):
    at: datetime
    kind: str
    amount: MoneyView | None
    note: str


class RelatedView(BaseModel):
    request_id: int
    action: str
    state: str
    status_url: str


class InvoiceStatusView(BaseModel):
    invoice_id: str
    number: str | None
    status: str
    customer: str | None
    client_email: str | None
    amount_due: MoneyView
    amount_paid: MoneyView
    amount_remaining: MoneyView
    refunded: MoneyView
    disputed: MoneyView
    paid_out_of_band: bool
    created_at: datetime
    due_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None
    hosted_invoice_url: str | None
    invoice_pdf: str | None
    history: list[HistoryView]
    requests: list[RelatedView]


class NotYet(Error):
    """The answer of marketplace and Fiverr routes until their issues land."""
