"""Reading requests the way Slack's servers do, and writing Slack's JSON answers."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from integrations.local.slack.store import Json

# Arguments the SDK sends as JSON strings when it posts a form instead of a JSON body.
_JSON_ARGS = frozenset({"blocks", "attachments", "view", "files", "metadata"})


async def read_call(request: Request) -> tuple[Json, str | None]:
    """A Web API call's arguments (query, form or JSON body) and its token (header or form).

    Raises ValueError for a JSON body that is not an object.
    """
    args: Json = dict(request.query_params)
    raw = await request.body()
    if raw:
        if request.headers.get("content-type", "").startswith("application/json"):
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("a JSON call must be an object")
            args.update(body)
        else:
            args.update(parse_qsl(raw.decode(), keep_blank_values=True))
    for name in _JSON_ARGS & args.keys():
        if isinstance(args[name], str):
            # Left as text if it is not JSON: the method then refuses it the way Slack would.
            with contextlib.suppress(json.JSONDecodeError):
                args[name] = json.loads(args[name])
    form_token = args.pop("token", None)
    authorization = request.headers.get("authorization", "")
    bearer = authorization.removeprefix("Bearer ").strip()
    return args, bearer or form_token


def read_webhook_body(raw: bytes) -> Json:
    """A response URL or incoming webhook post: JSON, or a form whose `payload` is JSON.

    Raises ValueError when neither holds a JSON object.
    """
    if raw.lstrip().startswith(b"{"):
        body = json.loads(raw)
    else:
        fields = dict(parse_qsl(raw.decode()))
        body = json.loads(fields["payload"]) if "payload" in fields else None
    if not isinstance(body, dict):
        raise ValueError("no JSON object in the request")
    return body


def json_response(
    body: Json, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(body),
        status_code=status,
        headers=dict(headers or {}),
        media_type="application/json; charset=utf-8",
    )
