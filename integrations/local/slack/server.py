"""A fake Slack on 127.0.0.1: the Web API, response URLs, file uploads and Socket Mode.

It speaks Slack's wire format and is driven by the real `slack_sdk`:

    with run_fake_slack(users=["U0FIN1"]) as fake:
        client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
        ts = client.chat_postMessage(channel="C0APPROVALS", text="hi")["ts"]
        assert fake.message("C0APPROVALS", ts)["text"] == "hi"

Routes: `/api/<method>` (Web API), `/response/<key>` (response URLs and incoming
webhooks), `/upload/v1/<file id>` (upload URLs), `/link/` (the Socket Mode websocket).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute

from integrations.local.server import serving, wait_for
from integrations.local.slack import workspace as ws
from integrations.local.slack.api import APP_TOKEN_METHODS, METHODS, CallContext, SlackMethodError
from integrations.local.slack.api.chat import apply_response_url_post
from integrations.local.slack.faults import Fault, FaultPlan
from integrations.local.slack.socket import SocketModeHub
from integrations.local.slack.store import (
    ApiCall,
    Json,
    ResponseUrlPost,
    ResponseUrlTarget,
    SlackStore,
    UploadedFile,
    user_object,
    usergroups_by_handle,
    users_by_id,
)
from integrations.local.slack.wire import json_response, read_call, read_webhook_body

T = TypeVar("T")

# A response URL post must carry at least one of these, else Slack answers `no_text`.
_RESPONSE_CONTENT = ("text", "blocks", "attachments", "delete_original")


class FakeSlack:
    def __init__(
        self,
        *,
        bot_token: str = ws.BOT_TOKEN,
        app_token: str = ws.APP_TOKEN,
        users: Mapping[str, Mapping[str, Any]] | Iterable[str] = (),
        usergroups: Mapping[str, Iterable[str]] | None = None,
        channels: Iterable[str] | None = None,
    ) -> None:
        """`users`: IDs `users.info` knows (with field overrides); `usergroups`: handle to
        member IDs; `channels`: the only channel IDs that exist (default: any well-formed ID).
        """
        self.bot_token = bot_token
        self.app_token = app_token
        self._store = SlackStore(
            known_channels=None if channels is None else set(channels),
            users=users_by_id(users),
            usergroups=usergroups_by_handle(usergroups or {}),
        )
        self._faults = FaultPlan()
        self._socket = SocketModeHub()
        self._url: str | None = None
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._web_api, methods=["GET", "POST"]),
                Route("/response/{key}", self._response_url, methods=["POST"]),
                Route("/upload/v1/{file_id}", self._upload, methods=["POST"]),
                WebSocketRoute("/link/", self._socket.serve),
            ]
        )

    # -- where it lives ---------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the fake Slack is not running; use run_fake_slack()")
        return self._url

    @url.setter
    def url(self, value: str) -> None:
        self._url = value.rstrip("/")

    @property
    def api_url(self) -> str:
        """The base URL for `WebClient(base_url=…)` and `SLACK_API_URL`."""
        return f"{self.url}/api/"

    def response_url(
        self, key: str, *, channel: str | None = None, message_ts: str | None = None
    ) -> str:
        """A response URL (or incoming webhook) that records what is posted to it.

        Given the message it belongs to, `replace_original` and `delete_original` act on
        that stored message and `response_type: in_channel` posts into its channel.
        """
        with self._store.lock:
            self._store.response_targets[key] = ResponseUrlTarget(channel, message_ts)
        return f"{self.url}/response/{key}"

    # -- inspection ---------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[ApiCall]:
        with self._store.lock:
            return [c for c in self._store.calls if method is None or c.method == method]

    def messages(self, channel: str) -> list[Json]:
        """The channel's messages as they are now (after updates), oldest first."""
        with self._store.lock:
            return copy.deepcopy(self._store.messages.get(channel, []))

    def message(self, channel: str, ts: str) -> Json:
        with self._store.lock:
            found = self._store.find_message(channel, ts)
            if found is None:
                raise KeyError(f"no message {ts} in {channel}")
            return copy.deepcopy(found)

    @property
    def views(self) -> list[Json]:
        """Every view opened, as it is now (after `views.update`), oldest first."""
        with self._store.lock:
            return copy.deepcopy(list(self._store.views.values()))

    @property
    def ephemerals(self) -> list[Json]:
        """`{channel, user, text, blocks, message_ts}` of each `chat.postEphemeral`."""
        with self._store.lock:
            return copy.deepcopy(self._store.ephemerals)

    @property
    def files(self) -> list[UploadedFile]:
        with self._store.lock:
            return [copy.copy(f) for f in self._store.files.values()]

    def responses(self, key: str | None = None) -> list[Json]:
        """JSON bodies posted to response URLs (all of them, or those of `key`), in order."""
        with self._store.lock:
            return [
                copy.deepcopy(p.body)
                for p in self._store.response_posts
                if key is None or p.key == key
            ]

    def response_posts(self) -> list[ResponseUrlPost]:
        """Every post to a response URL, in order, with the key and time it came."""
        with self._store.lock:
            return [copy.deepcopy(post) for post in self._store.response_posts]

    def direct_channel(self, user_id: str) -> str | None:
        """The DM the bot has opened with `user_id`, if any."""
        with self._store.lock:
            return self._store.direct_channels.get(user_id)

    def view_trigger(self, view_id: str) -> str | None:
        """The trigger id that opened the view: who it was shown to."""
        with self._store.lock:
            return self._store.view_triggers.get(view_id)

    def next_ts(self) -> str:
        """A fresh message timestamp on this workspace's clock."""
        return self._store.next_ts()

    def add_user(self, user_id: str, **fields: Any) -> None:
        with self._store.lock:
            self._store.users[user_id] = user_object(user_id, fields)

    def reset(self) -> None:
        """Forget messages, views, calls and pending faults; keep users and channels."""
        self._store.clear()
        self._faults.clear()

    wait_for = staticmethod(wait_for)

    # -- fault injection ----------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        error: str = "ratelimited",
        status: int = 429,
        retry_after: int | None = 1,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with `{"ok": false, "error": error}`.

        The default is Slack's rate limit (429 with `Retry-After`); `status=200` gives a
        plain API error such as `channel_not_found`.
        """
        self._faults.fail(method, Fault(error, status, retry_after), times)

    def delay(self, method: str, seconds: float, times: int = 1) -> None:
        """Hold the next `times` answers of `method` back by `seconds`."""
        self._faults.delay(method, seconds, times)

    # -- Socket Mode ----------------------------------------------------------------------

    def socket_connected(self, timeout: float = 5.0) -> bool:
        return self._socket.wait_connected(timeout)

    def socket_send(self, envelope_type: str, payload: Json, timeout: float = 5.0) -> Json:
        """Push a `slash_commands`, `interactive` or `events_api` envelope to the connected
        client; returns its ack, `{"envelope_id": …, "payload": …}`."""
        return self._socket.send(envelope_type, payload, timeout)

    @property
    def socket_messages(self) -> list[Json]:
        """Everything Socket Mode clients have sent (acks included)."""
        return copy.deepcopy(self._socket.received())

    # -- routes -------------------------------------------------------------------------

    async def _web_api(self, request: Request) -> Response:
        name = request.path_params["method"]
        try:
            args, token = await read_call(request)
        except ValueError:
            return json_response({"ok": False, "error": "invalid_json"})
        with self._store.lock:
            self._store.calls.append(ApiCall(name, args, token))
        seconds = self._faults.take_delay(name)
        if seconds:
            await asyncio.sleep(seconds)
        handler = METHODS.get(name)
        if handler is None:
            return json_response({"ok": False, "error": "unknown_method"})
        fault = self._faults.take_fault(name)
        if fault is not None:
            body = {"ok": False, "error": fault.error}
            return json_response(body, status=fault.status, headers=fault.headers())
        auth_error = self._auth_error(name, token)
        if auth_error is not None:
            return json_response({"ok": False, "error": auth_error})
        ctx = CallContext(self._store, str(request.base_url), self._socket.issue_ticket)
        try:
            with self._store.lock:
                return json_response(handler(ctx, args))
        except SlackMethodError as error:
            return json_response(error.body())

    def _auth_error(self, method: str, token: str | None) -> str | None:
        if not token:
            return "not_authed"
        if token not in (self.bot_token, self.app_token):
            return "invalid_auth"
        wanted = self.app_token if method in APP_TOKEN_METHODS else self.bot_token
        return None if token == wanted else "not_allowed_token_type"

    async def _response_url(self, request: Request) -> Response:
        key = request.path_params["key"]
        try:
            body = read_webhook_body(await request.body())
        except ValueError:
            return PlainTextResponse("invalid_payload", status_code=400)
        with self._store.lock:
            self._store.response_posts.append(ResponseUrlPost(key, body, self._store.next_ts()))
            if not any(body.get(part) for part in _RESPONSE_CONTENT):
                return json_response({"ok": False, "error": "no_text"}, status=400)
            target = self._store.response_targets.get(key)
            if target is not None:
                ctx = CallContext(self._store, str(request.base_url), self._socket.issue_ticket)
                apply_response_url_post(ctx, target, body)
        return json_response({"ok": True})

    async def _upload(self, request: Request) -> Response:
        file_id = request.path_params["file_id"]
        content = await request.body()
        with self._store.lock:
            upload = self._store.files.get(file_id)
            if upload is None:
                return PlainTextResponse("file_not_found", status_code=404)
            upload.content = content
        return PlainTextResponse(f"OK - {len(content)}")


@contextmanager
def run_fake_slack(**kwargs: Any) -> Iterator[FakeSlack]:
    """Start a `FakeSlack(**kwargs)` on a free port of 127.0.0.1 and stop it afterwards."""
    fake = FakeSlack(**kwargs)
    with serving(fake.app) as server:
        fake.url = server.url
        yield fake
