"""The sandbox page and the JSON it reads and writes, added to the bot's own HTTP server.

    GET  /                          the page (bot/sandbox/page/)
    GET  /sandbox/page/<file>       its script and style
    GET  /sandbox/api/state?as=U…   the workspace as that person sees it
    GET  /sandbox/api/stripe        the local Stripe's customers, invoices, refunds, subscriptions
    GET  /sandbox/api/audit         the audit log's last entries and its verification
    GET  /sandbox/files/<id>        a file the bot uploaded (the revenue chart)
    POST /sandbox/api/command       {as, channel, text}: a slash command typed
    POST /sandbox/api/click         {as, channel, ts, action_id, value, block_id}: a button
    POST /sandbox/api/submit        {as, view_id, values}: a modal submitted
    POST /sandbox/api/close         {as, view_id}: a modal dismissed
    POST /sandbox/api/stripe/pay    {invoice}: the client pays it on Stripe's invoice page

Writes answer `{"ok": true}`, or `{"ok": false, "error": …}` for an act that went nowhere,
and 400 for a body that is not what the page sends.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.sandbox import people, state
from bot.sandbox.relay import Outcome, RelayError, SlackRelay
from integrations.local.slack.server import FakeSlack
from integrations.local.stripe.failures import StripeFailure
from integrations.local.stripe.server import FakeStripe

PAGE_PARTS = {"app.js": "text/javascript", "style.css": "text/css"}
_USERS = {person.id for person in people.PEOPLE}
_NO_STORE = {"Cache-Control": "no-store"}


class BadBody(Exception):
    pass


@dataclass(frozen=True)
class Sandbox:
    slack: FakeSlack
    stripe: FakeStripe
    relay: SlackRelay
    sessions: sessionmaker[Session]
    ready: threading.Event = field(default_factory=threading.Event)  # sample history made


def routes(sandbox: Sandbox) -> list[BaseRoute]:
    page = resources.files("bot.sandbox") / "page"

    def page_file(name: str, media_type: str) -> Response:
        path = page / name
        if not path.is_file():
            return Response(status_code=404)
        return FileResponse(str(path), media_type=media_type, headers=_NO_STORE)

    async def index(_: Request) -> Response:
        return page_file("index.html", "text/html")

    async def page_part(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in PAGE_PARTS:
            return Response(status_code=404)
        return page_file(name, PAGE_PARTS[name])

    async def workspace(request: Request) -> Response:
        user = request.query_params.get("as", "")
        if user not in _USERS:
            return JSONResponse({"ok": False, "error": "unknown user"}, status_code=400)
        found = await run_in_threadpool(
            state.workspace, sandbox.slack, sandbox.relay, user, sandbox.ready.is_set()
        )
        return JSONResponse(found, headers=_NO_STORE)

    async def stripe(_: Request) -> Response:
        found = await run_in_threadpool(state.stripe_dashboard, sandbox.stripe)
        return JSONResponse(found, headers=_NO_STORE)

    async def audit(_: Request) -> Response:
        found = await run_in_threadpool(state.audit_panel, sandbox.sessions)
        return JSONResponse(found, headers=_NO_STORE)

    async def file(request: Request) -> Response:
        wanted = request.path_params["file_id"]
        found = next((f for f in sandbox.slack.files if f.id == wanted and f.completed), None)
        if found is None:
            return Response(status_code=404)
        kind = state.media_type(found.filename)
        return Response(found.content, media_type=kind, headers=_NO_STORE)

    def command(body: dict[str, Any]) -> Outcome:
        return sandbox.relay.command(_user(body), _text(body, "channel"), _text(body, "text"))

    def click(body: dict[str, Any]) -> Outcome:
        return sandbox.relay.click(
            _user(body),
            _text(body, "channel"),
            _text(body, "ts"),
            _text(body, "action_id"),
            _text(body, "value", optional=True),
            _text(body, "block_id", optional=True),
        )

    def submit(body: dict[str, Any]) -> Outcome:
        values = body.get("values")
        if not isinstance(values, dict) or not all(
            isinstance(actions, dict) and all(isinstance(v, str) for v in actions.values())
            for actions in values.values()
        ):
            raise BadBody("values: {block_id: {action_id: text}}")
        return sandbox.relay.submit(_user(body), _text(body, "view_id"), values)

    def close(body: dict[str, Any]) -> Outcome:
        sandbox.relay.dismiss(_user(body), _text(body, "view_id"))
        return Outcome()

    def pay(body: dict[str, Any]) -> Outcome:
        invoice = _text(body, "invoice")
        try:
            sandbox.stripe.pay_invoice(invoice)
        except StripeFailure as exc:
            raise RelayError(exc.message) from None
        return Outcome()

    return [
        Route("/", index, methods=["GET"]),
        Route("/sandbox/page/{name}", page_part, methods=["GET"]),
        Route("/sandbox/api/state", workspace, methods=["GET"]),
        Route("/sandbox/api/stripe", stripe, methods=["GET"]),
        Route("/sandbox/api/audit", audit, methods=["GET"]),
        Route("/sandbox/files/{file_id}", file, methods=["GET"]),
        Route("/sandbox/api/command", _act(command), methods=["POST"]),
        Route("/sandbox/api/click", _act(click), methods=["POST"]),
        Route("/sandbox/api/submit", _act(submit), methods=["POST"]),
        Route("/sandbox/api/close", _act(close), methods=["POST"]),
        Route("/sandbox/api/stripe/pay", _act(pay), methods=["POST"]),
    ]


def _act(do: Callable[[dict[str, Any]], Outcome]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"ok": False, "error": "the body is not JSON"}, status_code=400)
        try:
            if not isinstance(body, dict):
                raise BadBody("the body is not a JSON object")
            # Relaying waits for the bot's answer, as Slack does: off the event loop.
            outcome = await run_in_threadpool(do, body)
        except BadBody as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        except RelayError as exc:
            return JSONResponse({"ok": False, "error": str(exc)})
        if outcome.errors:
            return JSONResponse({"ok": False, "errors": outcome.errors})
        return JSONResponse({"ok": True})

    return endpoint


def _user(body: dict[str, Any]) -> str:
    user = _text(body, "as")
    if user not in _USERS:
        raise BadBody(f"as: {user!r} is not someone in the sandbox")
    return user


def _text(body: dict[str, Any], name: str, *, optional: bool = False) -> str:
    value = body.get(name, "" if optional else None)
    if not isinstance(value, str) or (not optional and not value):
        raise BadBody(f"{name}: text expected")
    return value
