"""The REST API's FastAPI application, mounted by `empire serve` at `/api/business`.

Every mutating payments route builds the payload the slash command builds and submits it
through `Governance.submit`: the same policy, the same card in Slack, the same audit log.
It answers 202 at once; the outcome is read at `status_url` or POSTed to `callback_url`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Header, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from bot.api import idempotency
from bot.api.bodies import (
    IDEMPOTENCY_KEY,
    INVOICE_ID,
    Accepted,
    ActionList,
    ActionView,
    Error,
    InvoiceBody,
    InvoiceStatusView,
    NotYet,
    Outcome,
    ProcessBody,
    RefundBody,
    SubscriptionBody,
)
from bot.api.guard import SCOPE_KEY, Guard, error, guarded_route_class
from bot.api.tokens import Caller
from bot.foreground import Foreground
from bot.workers import PREPARE, SLACK
from governance import clients
from governance.actions.base import Payload
from governance.actions.invoice import invoice_payload
from governance.actions.pay import pay_payload
from governance.actions.refund import refund_payload
from governance.actions.subscription import subscription_payload
from governance.errors import InvalidAmount
from governance.ledger.queries import invoice_status
from governance.money import Money, is_currency_code, parse_amount
from governance.outcomes import API_ROOT, describe, status_url
from governance.requests import State
from governance.service import Governance
from storage.db import read_only
from storage.models import ActionRequest, Approval
from storage.types import utcnow

CALLBACKS = "callbacks"  # the worker loop that delivers callbacks
MAX_ID = 2**31 - 1
Endpoint = Callable[[Request], Awaitable[Response]]
Build = Callable[[Session], tuple[str, Payload]]

_DESCRIPTION = """\
Other programs ask for money actions here; each one waits for approval in Slack under the
same policy as a slash command. Authenticate with `Authorization: Bearer emp_…` (a token
from `empire api-token create`). Mutating calls answer `202` with the request's
`status_url`; send `Idempotency-Key` to make a retry safe, and `callback_url` to have the
outcome POSTed to you, signed with the token's callback secret (`Empire-Signature`).
"""
_REFUSALS: dict[int, str] = {
    401: "No valid token (missing, unknown or revoked). Not audited.",
    403: "The token lacks the scope this route needs. Audited as `api.refused`.",
    404: "Not found.",
    409: "The Idempotency-Key was used with another body, or is still in progress. Audited.",
    413: "The body is over 64 KiB. Audited.",
    501: "Not available yet.",
}


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": Error, "description": _REFUSALS[code]} for code in codes}


def _needs(scope: str | None) -> dict[str, Any]:
    return {SCOPE_KEY: scope, "security": [{"bearerAuth": []}]}


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY,
        description="The same key and body again: the first answer is replayed.",
    ),
]


@dataclass
class ApiDeps:
    sessions: sessionmaker[Session]
    governance: Governance
    pepper: bytes
    currency: str
    wake: Callable[..., None]
    clock: Callable[[], datetime] = utcnow
    stripe_webhook: Endpoint | None = None
    foreground: Foreground | None = None


class _WebhookAnswer(BaseModel):
    received: str


class _WebhookRefusal(BaseModel):
    error: str


def _outcome(
    body: Outcome,
    empire_signature: Annotated[
        str, Header(alias="Empire-Signature", description="`t=<unix time>,v1=<hex HMAC>`")
    ],
) -> None:
    """The outcome, once the request has ended; answer 2xx, or it is sent again later."""


def _callbacks(name: str) -> list[BaseRoute]:
    """The callback a mutating route may make, for its OpenAPI description."""
    router = APIRouter()
    router.add_api_route(
        "{$request.body#/callback_url}",
        _outcome,
        methods=["POST"],
        response_model=None,
        operation_id=f"{name}_outcome",
    )
    return router.routes


def build_api(deps: ApiDeps) -> FastAPI:
    guard = Guard(deps.sessions, deps.pepper, deps.foreground)
    reads = read_only(deps.sessions)
    app = FastAPI(
        title="Business Empire API",
        version="1.0.0",
        description=_DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.router.route_class = guarded_route_class(guard)

    def submit(request: Request, body: BaseModel, key: str | None, build: Build) -> Response:
        caller: Caller = request.state.caller
        claimed: idempotency.Claimed | None = None
        if key is not None:
            hashed = idempotency.request_hash(
                "POST", request.url.path, body.model_dump(mode="json")
            )
            got = idempotency.claim(deps.sessions, caller.id, key, hashed)
            if isinstance(got, idempotency.Replay):
                return JSONResponse(
                    got.body, status_code=got.status, headers={"Idempotent-Replayed": "true"}
                )
            if isinstance(got, idempotency.Conflict):
                detail = (
                    "A request with this Idempotency-Key is still being processed; try again."
                    if got.in_progress
                    else "This Idempotency-Key was already used with a different request."
                )
                return guard.refuse(caller, request, 409, "idempotency_conflict", detail)
            claimed = got
        try:
            with reads.begin() as session:
                action, payload = build(session)
            origin: dict[str, Any] = {
                "via": "api",
                "token_id": caller.id,
                "token_name": caller.name,
            }
            callback_url = getattr(body, "callback_url", None)
            if callback_url:
                origin["callback_url"] = callback_url
            if key is not None:
                origin["idempotency_key"] = key
            submitted = deps.governance.submit(action, payload, caller.actor, origin)
        except BaseException:
            if claimed is not None:
                idempotency.release(deps.sessions, claimed)
            raise
        if submitted.state is State.RECEIVED:
            deps.wake(PREPARE)
        elif submitted.state is State.PENDING:
            deps.wake(SLACK)
        else:
            deps.wake(CALLBACKS)
        answer = Accepted(
            request_id=submitted.request_id,
            state=submitted.state.value,
            status_url=status_url(submitted.request_id),
            action=action,
            approvals_required=submitted.approvals_required,
            approver_hint=submitted.approver_hint,
            reason=submitted.reason,
        ).model_dump(mode="json")
        if claimed is not None:
            idempotency.keep(deps.sessions, claimed, 202, answer)
        return JSONResponse(answer, status_code=202, headers={"Location": answer["status_url"]})

    def money(text: str, currency: str | None) -> Money:
        if currency is not None and not is_currency_code(currency):
            raise _invalid("currency", f"{currency!r} is not an ISO currency code", currency)
        try:
            amount = parse_amount(text, (currency or deps.currency).lower())
        except InvalidAmount as exc:
            raise _invalid("amount", str(exc), text) from None
        if currency is not None and amount.currency != currency.lower():
            raise _invalid("currency", "differs from the currency that `amount` names", currency)
        return amount

    def email_of(session: Session, client: str) -> str:
        if "@" in client:
            return client
        found = clients.find(session, handle=client)
        if found is None:
            raise _invalid("client", f"no client has the handle {client!r}", client)
        return found.email

    def mutating(name: str) -> dict[str, Any]:
        return {
            "status_code": 202,
            "response_model": Accepted,
            "responses": _responses(401, 403, 409, 413),
            "openapi_extra": _needs("payments:write"),
            "callbacks": _callbacks(name),
            "tags": ["payments"],
        }

    @app.post("/payments/invoice", **mutating("invoice"))
    def payments_invoice(
        body: InvoiceBody, request: Request, idempotency_key: IdempotencyKey = None
    ) -> Response:
        """Ask for a one-off invoice (`payments.invoice`), as `/empire invoice` does."""

        def build(session: Session) -> tuple[str, Payload]:
            amount = money(body.amount, body.currency)
            email = email_of(session, body.client)
            return "payments.invoice", invoice_payload(
                email, amount, body.description, body.due_days
            )

        return submit(request, body, idempotency_key, build)

    @app.post("/payments/subscription", **mutating("subscription"))
    def payments_subscription(
        body: SubscriptionBody, request: Request, idempotency_key: IdempotencyKey = None
    ) -> Response:
        """Ask for a subscription (`payments.subscription`), as `/empire subscribe` does."""
        from governance.ledger.queries import mrr_at

        def build(session: Session) -> tuple[str, Payload]:
            amount = money(body.amount, body.currency)
            email = email_of(session, body.client)
            before = mrr_at(session, deps.clock()).get(amount.currency)
            return "payments.subscription", subscription_payload(
                email, amount, body.interval, body.plan, before
            )

        return submit(request, body, idempotency_key, build)

    @app.post("/payments/refund", **mutating("refund"))
    def payments_refund(
        body: RefundBody, request: Request, idempotency_key: IdempotencyKey = None
    ) -> Response:
        """Ask for a refund of a paid invoice (`payments.refund`); no amount: all that is left."""

        def build(session: Session) -> tuple[str, Payload]:
            if body.amount is None and body.currency is not None:
                raise _invalid("currency", "goes with `amount`", body.currency)
            amount = money(body.amount, body.currency) if body.amount is not None else None
            return "payments.refund", refund_payload(body.invoice_id, amount, body.reason)

        return submit(request, body, idempotency_key, build)

    @app.post("/payments/process", **mutating("process"))
    def payments_process(
        body: ProcessBody, request: Request, idempotency_key: IdempotencyKey = None
    ) -> Response:
        """Ask to collect an open invoice (`payments.pay`): card on file, or paid outside."""

        def build(session: Session) -> tuple[str, Payload]:
            note = body.note if body.method == "out_of_band" else None
            return "payments.pay", pay_payload(body.invoice_id, note)

        return submit(request, body, idempotency_key, build)

    @app.get(
        "/payments/status/{invoice_id}",
        response_model=InvoiceStatusView,
        responses=_responses(401, 403, 404),
        openapi_extra=_needs("payments:read"),
        tags=["payments"],
    )
    def payments_status(
        invoice_id: Annotated[str, Path(pattern=INVOICE_ID)],
    ) -> Any:
        """An invoice as the ledger knows it: amounts, history, the requests behind it."""
        with reads.begin() as session:
            status = invoice_status(session, invoice_id)
            if status is None:
                return error(404, "not_found", f"The ledger knows no invoice {invoice_id}.")
            return _invoice_view(status)

    if deps.stripe_webhook is not None:
        stripe_webhook = deps.stripe_webhook

        @app.post(
            "/payments/webhook",
            response_model=_WebhookAnswer,
            responses={
                400: {"model": _WebhookRefusal, "description": "Not signed by Stripe."},
                413: {"description": "The body is over 1 MiB."},
            },
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
            tags=["payments"],
        )
        async def payments_webhook(request: Request) -> Response:
            """Stripe events: the same endpoint as `/stripe/webhook`, Stripe-signed."""
            return await stripe_webhook(request)

    @app.get(
        "/actions/{request_id}",
        response_model=ActionView,
        responses=_responses(401, 403, 404),
        openapi_extra=_needs("actions:read"),
        tags=["actions"],
    )
    def get_action(request_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Any:
        """A request: state, rule, approvals (Slack user IDs), outcome or failure."""
        with reads.begin() as session:
            found = session.get(ActionRequest, request_id)
            if found is None:
                return error(404, "not_found", f"There is no request #{request_id}.")
            return _describe_all(session, [found])[0]

    @app.get(
        "/actions",
        response_model=ActionList,
        responses=_responses(401, 403),
        openapi_extra=_needs("actions:read"),
        tags=["actions"],
    )
    def list_actions(
        state: Annotated[State | None, Query(description="Only requests in this state.")] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        before: Annotated[
            int | None, Query(ge=1, le=MAX_ID, description="Only requests older than this id.")
        ] = None,
    ) -> Any:
        """Requests, newest first."""
        query = select(ActionRequest).order_by(ActionRequest.id.desc()).limit(limit)
        if state is not None:
            query = query.where(ActionRequest.state == state.value)
        if before is not None:
            query = query.where(ActionRequest.id < before)
        with reads.begin() as session:
            found = list(session.execute(query).scalars())
            views = _describe_all(session, found)
        following = None
        if len(found) == limit:
            params: dict[str, Any] = {"limit": limit, "before": found[-1].id}
            if state is not None:
                params["state"] = state.value
            following = f"{API_ROOT}/actions?{urlencode(params)}"
        return {"actions": views, "next": following}

    _not_yet(app, "marketplace", "Marketplace (Upwork)", _MARKETPLACE)
    _not_yet(app, "fiverr", "Fiverr", _FIVERR)

    original_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = original_openapi()
            components = schema.setdefault("components", {})
            components.setdefault("securitySchemes", {})["bearerAuth"] = {
                "type": "http",
                "scheme": "bearer",
                "description": "A token from `empire api-token create`.",
            }
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
    return app


_MARKETPLACE: list[tuple[str, str]] = [
    ("POST", "/marketplace/search"),
    ("POST", "/marketplace/apply"),
    ("GET", "/marketplace/jobs"),
    ("GET", "/marketplace/messages/{client_id}"),
    ("POST", "/marketplace/respond"),
    ("POST", "/marketplace/accept/{job_id}"),
    ("POST", "/marketplace/submit-work"),
    ("POST", "/marketplace/request-payment/{job_id}"),
]
_FIVERR: list[tuple[str, str]] = [("POST", "/fiverr/gig"), ("GET", "/fiverr/orders")]


def _not_yet(app: FastAPI, tag: str, what: str, routes: list[tuple[str, str]]) -> None:
    detail = (
        f"{what} is not available yet: this route is reserved and answers 501 until the "
        "integration lands. Nothing was recorded."
    )

    async def not_yet(request: Request) -> Response:
        return error(501, "not_implemented", detail)

    for method, path in routes:
        codes = (401, 413, 501) if method == "POST" else (401, 501)
        name = method.lower() + path.replace("/", "_").replace("-", "_").replace("{", "").replace(
            "}", ""
        )
        app.add_api_route(
            path,
            not_yet,
            methods=[method],
            name=name,
            operation_id=name,
            status_code=501,
            response_model=NotYet,
            responses=_responses(*codes),
            openapi_extra=_needs(None),
            tags=[tag],
            summary=f"{what}: not available yet (501)",
        )


def _invalid(field: str, message: str, value: Any) -> RequestValidationError:
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body", field), "msg": message, "input": value}]
    )


def _describe_all(session: Session, requests: list[ActionRequest]) -> list[dict[str, Any]]:
    """The requests as the API shows them; approvals read in one query."""
    rows = session.execute(
        select(Approval)
        .where(Approval.request_id.in_([r.id for r in requests]))
        .order_by(Approval.id)
    ).scalars()
    by_request: dict[int, list[Approval]] = {}
    for row in rows:
        by_request.setdefault(row.request_id, []).append(row)
    views = []
    for request in requests:
        counted = [
            {"user_id": a.user_id, "at": a.created_at.isoformat()}
            for a in by_request.get(request.id, [])
            if a.payload_hash == request.payload_hash
            and (request.approvals_since is None or a.created_at >= request.approvals_since)
        ]
        views.append(describe(request, counted))
    return views


def _money(minor: int, currency: str) -> dict[str, Any]:
    return {"minor": minor, "currency": currency, "formatted": Money(minor, currency).format()}


def _invoice_view(status: Any) -> dict[str, Any]:
    invoice = status.invoice
    currency = invoice.currency
    return {
        "invoice_id": invoice.stripe_id,
        "number": invoice.number,
        "status": invoice.status,
        "customer": invoice.customer,
        "client_email": invoice.customer_email,
        "amount_due": _money(invoice.amount_due, currency),
        "amount_paid": _money(invoice.amount_paid, currency),
        "amount_remaining": _money(invoice.amount_remaining, currency),
        "refunded": _money(status.refunded.minor, currency),
        "disputed": _money(status.disputed.minor, currency),
        "paid_out_of_band": invoice.paid_out_of_band,
        "created_at": invoice.created_at,
        "due_at": invoice.due_at,
        "paid_at": invoice.paid_at,
        "voided_at": invoice.voided_at,
        "hosted_invoice_url": invoice.hosted_invoice_url,
        "invoice_pdf": invoice.invoice_pdf,
        "history": [
            {
                "at": line.at,
                "kind": line.kind,
                "amount": _money(line.amount.minor, line.amount.currency) if line.amount else None,
                "note": line.note,
            }
            for line in status.history
        ],
        "requests": [
            {
                "request_id": related.id,
                "action": related.action,
                "state": related.state,
                "status_url": status_url(related.id),
            }
            for related in status.requests
        ],
    }
