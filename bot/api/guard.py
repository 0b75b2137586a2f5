"""Who may call which route: bearer token, scope, body size; refusals audited as the token.

Checked in this order, before the body is parsed: a missing, unknown or revoked token is
401 (not audited: anyone can send those, and they must not flood the log); a token
without the route's scope is 403; a body over `MAX_BODY` is 413; a body that does not
validate is 422. The last three are audited as `api.refused` with the token as actor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.api import tokens
from bot.foreground import Foreground
from governance import audit
from storage.db import read_only

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024
SCOPE_KEY = "x-empire-scope"  # in a route's openapi_extra: the scope it needs (None: any)
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def error(status: int, code: str, detail: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


def unauthorized() -> JSONResponse:
    return error(
        401,
        "unauthorized",
        "A valid API token is required: `Authorization: Bearer emp_…`.",
        **{"WWW-Authenticate": "Bearer"},
    )


class Guard:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        pepper: bytes,
        foreground: Foreground | None = None,
    ) -> None:
        self._sessions = sessions
        self._reads = read_only(sessions)
        self._pepper = pepper
        self._foreground = foreground or Foreground()

    def caller_of(self, authorization: str | None) -> tokens.Caller | None:
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        with self._reads.begin() as session:
            caller = tokens.authenticate(session, self._pepper, token.strip())
        if caller is not None and caller.last_use_stale:
            with self._sessions.begin() as session:
                tokens.touch(session, caller)
        return caller

    def record_refusal(
        self, caller: tokens.Caller, request: Request, status: int, reason: str
    ) -> None:
        with self._sessions.begin() as session:
            audit.append(
                session,
                "api.refused",
                caller.actor,
                {
                    "method": request.method,
                    "path": request.url.path,
                    "status": status,
                    "reason": reason[:500],
                },
            )

    def refuse(
        self, caller: tokens.Caller, request: Request, status: int, code: str, detail: str
    ) -> JSONResponse:
        """An audited refusal (call from a worker thread)."""
        self.record_refusal(caller, request, status, detail)
        return error(status, code, detail)

    def wrap(self, handler: Handler, scope: str | None) -> Handler:
        async def guarded(request: Request) -> Response:
            caller = await run_in_threadpool(self.caller_of, request.headers.get("authorization"))
            if caller is None:
                return unauthorized()
            request.state.caller = caller
            if scope is not None and scope not in caller.scopes:
                detail = f"This token lacks the scope `{scope}` that this route needs."
                return await run_in_threadpool(
                    self.refuse, caller, request, 403, "forbidden", detail
                )
            if request.method == "POST" and not await _read_within(request, MAX_BODY):
                detail = f"The body is larger than {MAX_BODY // 1024} KiB."
                return await run_in_threadpool(
                    self.refuse, caller, request, 413, "too_large", detail
                )
            try:
                if request.method == "POST":
                    _ensure_utf8(await request.body())
                with self._foreground.serving():
                    return await handler(request)
            except RequestValidationError as exc:
                reason = "; ".join(_error_text(e) for e in exc.errors()[:5])
                await run_in_threadpool(self.record_refusal, caller, request, 422, reason)
                raise

        return guarded


def guarded_route_class(guard: Guard) -> type[APIRoute]:
    """An APIRoute whose handler checks the token first, when the route names a scope key."""

    class GuardedRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            handler = super().get_route_handler()
            extra = self.openapi_extra or {}
            if SCOPE_KEY not in extra:
                return handler
            return guard.wrap(handler, extra[SCOPE_KEY])

    return GuardedRoute


async def _read_within(request: Request, limit: int) -> bool:
    """Read the body unless it is over `limit` bytes; False when it is."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        return False
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return False
        chunks.append(chunk)
    request._body = b"".join(chunks)  # what FastAPI then parses
    return True


def _ensure_utf8(body: bytes) -> None:
    """JSON is UTF-8: anything else is malformed (422), as FastAPI says of bad JSON."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", exc.start),
                    "msg": "The body is not UTF-8 text",
                    "input": {},
                }
            ]
        ) from None


def _error_text(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', '')}"
