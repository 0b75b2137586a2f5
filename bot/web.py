"""The HTTP routes of `empire serve`: Slack, Stripe webhooks, a health check, the REST API."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt import App, BoltRequest, BoltResponse
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from bot.foreground import Foreground
from bot.workers import SLACK, Workers
from governance import webhooks
from governance.ports import PaymentGateway
from integrations.stripe_webhooks import InvalidWebhook, verify_event
from storage.db import read_only

log = logging.getLogger(__name__)
MAX_BODY = 1 << 20  # Slack and Stripe payloads are far smaller
Endpoint = Callable[[Request], Awaitable[Response]]


def build_web_app(
    bolt: App,
    sessions: sessionmaker[Session],
    stripe_webhook_secret: str,
    stripe: PaymentGateway,
    workers: Workers,
    foreground: Foreground,
    api: Callable[[Endpoint], ASGIApp] | None = None,
) -> Starlette:
    reads = read_only(sessions)

    async def slack_events(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return Response(status_code=413)
        bolt_request = BoltRequest(
            body=body.decode("utf-8", errors="replace"),
            query=request.url.query,
            headers={key: [value] for key, value in request.headers.items()},
        )
        # Bolt's sync dispatch runs in the thread pool so it never blocks the event loop;
        # the workers it wakes start once Slack has its answer.
        with foreground.serving(), workers.after_response() as wake:
            bolt_response: BoltResponse = await run_in_threadpool(bolt.dispatch, bolt_request)
        return Response(
            content=bolt_response.body,
            status_code=bolt_response.status,
            headers={k: v[0] for k, v in bolt_response.headers.items() if v},
            # Waking is setting events: done on the event loop, no thread hop needed.
            background=BackgroundTask(_on_loop(wake)),
        )

    stripe_webhook = stripe_webhook_endpoint(sessions, stripe_webhook_secret, stripe, workers)

    async def healthz(_: Request) -> Response:
        def ping() -> None:
            with reads.begin() as session:
                session.execute(text("SELECT 1"))

        try:
            await run_in_threadpool(ping)
        except Exception as exc:
            log.warning("health check: database did not answer: %s", exc)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    routes: list[BaseRoute] = [
        Route("/slack/events", slack_events, methods=["POST"]),
        Route("/stripe/webhook", stripe_webhook, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    if api is not None:  # the REST API; `/payments/webhook` there is `stripe_webhook`
        routes.append(Mount("/api/business", app=api(stripe_webhook)))
    return Starlette(routes=routes)


def stripe_webhook_endpoint(
    sessions: sessionmaker[Session],
    stripe_webhook_secret: str,
    stripe: PaymentGateway,
    workers: Workers,
) -> Endpoint:
    """`POST /stripe/webhook` (and its alias in the REST API): Stripe-signed, else 400."""

    async def stripe_webhook(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return Response(status_code=413)
        if not stripe_webhook_secret:
            return JSONResponse({"error": "STRIPE_WEBHOOK_SECRET is not set"}, status_code=400)
        try:
            event = verify_event(
                body, request.headers.get("stripe-signature", ""), stripe_webhook_secret
            )
        except InvalidWebhook as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        receipt = await run_in_threadpool(webhooks.receive, sessions, body, event, stripe)
        workers.wake(SLACK)
        status = 500 if receipt is webhooks.Receipt.FAILED else 200
        return JSONResponse({"received": receipt.value}, status_code=status)

    return stripe_webhook


def _on_loop(call: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        call()

    return run
