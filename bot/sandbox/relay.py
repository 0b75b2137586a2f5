"""What Slack does when a person types or clicks: the signed request to the bot, and after it.

Each act becomes the request Slack itself would send (`integrations.local.slack.payloads`),
signed with the app's signing secret and posted to the bot's `/slack/events`. What comes back
only for that person (a slash command's answer, an ephemeral reply to its response URL, a
modal) is kept here, per person, as the Slack client would show it.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

from integrations.local.slack import payloads
from integrations.local.slack.server import FakeSlack
from integrations.local.slack.store import Json

COMMAND = "/empire"
_REPLACES = ("replace_original", "delete_original")


class RelayError(Exception):
    """What to tell the person, in one line: the act went nowhere."""


@dataclass
class Outcome:
    """The bot's answer to one act: the text it answered with, and a modal's field errors
    by block id."""

    answer: str = ""
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class _Seen:
    user: str
    channel: str


class SlackRelay:
    def __init__(self, slack: FakeSlack, events_url: str, signing_secret: str) -> None:
        self._slack = slack
        self._events_url = events_url
        self._secret = signing_secret
        self._http = httpx.Client(timeout=15.0)
        self._lock = threading.Lock()
        self._serial = 0
        self._keys: dict[str, _Seen] = {}  # response URL key: who acted, where
        self._triggers: dict[str, str] = {}  # trigger id: who acted
        self._answers: list[tuple[str, Json]] = []  # (who, ephemeral) the bot answered with
        self._closed: set[str] = set()  # views dismissed or submitted
        self._view_errors: dict[str, dict[str, str]] = {}

    def close(self) -> None:
        self._http.close()

    # -- acts -----------------------------------------------------------------------------

    def command(self, user: str, channel: str, text: str) -> Outcome:
        """`/empire …` typed into `channel` by `user`."""
        command, _, rest = text.strip().partition(" ")
        if command != COMMAND:
            raise RelayError(f"only {COMMAND} commands go to the bot here: try {COMMAND} help")
        response_url = self._response_url(user, channel, None)
        request = payloads.slash_command(
            rest.strip(),
            user_id=user,
            channel_id=channel,
            command=COMMAND,
            response_url=response_url,
            trigger_id=self._trigger(user),
        )
        answer = self._post(request)
        self._answer_in(channel, user, answer)
        return Outcome(str(answer.get("text") or ""))

    def click(
        self, user: str, channel: str, ts: str, action_id: str, value: str, block_id: str
    ) -> Outcome:
        """A button pressed on the message `ts` of `channel`."""
        try:
            message = self._slack.message(channel, ts)
        except KeyError:
            raise RelayError("that message is gone") from None
        request = payloads.block_action(
            action_id,
            value,
            user_id=user,
            channel_id=channel,
            message=message,
            block_id=block_id or None,
            response_url=self._response_url(user, channel, ts),
            trigger_id=self._trigger(user),
        )
        self._answer_in(channel, user, self._post(request))
        return Outcome()

    def submit(self, user: str, view_id: str, values: dict[str, dict[str, str]]) -> Outcome:
        """The modal `view_id`, open for `user`, submitted with `values`."""
        view = self.open_view(user)
        if view is None or view["id"] != view_id:
            raise RelayError("that form is no longer open")
        request = payloads.view_submission(
            str(view.get("callback_id", "")),
            str(view.get("private_metadata", "")),
            values,
            user_id=user,
            view=view,
            trigger_id=self._trigger(user),
        )
        answer = self._post(request)
        action = answer.get("response_action")
        with self._lock:
            if action == "errors":
                errors = {str(k): str(v) for k, v in (answer.get("errors") or {}).items()}
                self._view_errors[view_id] = errors
                return Outcome(errors=errors)
            if action not in ("update", "push"):  # nothing, or `clear`: Slack closes it
                self._closed.add(view_id)
        return Outcome()

    def dismiss(self, user: str, view_id: str) -> None:
        view = self.open_view(user)
        if view is not None and view["id"] == view_id:
            with self._lock:
                self._closed.add(view_id)

    # -- what one person sees ------------------------------------------------------------

    def open_view(self, user: str) -> Json | None:
        """The modal open for `user` now (the latest opened and not closed), with its errors."""
        with self._lock:
            mine = {t for t, who in self._triggers.items() if who == user}
            closed = set(self._closed)
            errors = copy.deepcopy(self._view_errors)
        for view in reversed(self._slack.views):
            if view["id"] not in closed and self._slack.view_trigger(view["id"]) in mine:
                view["errors"] = errors.get(view["id"], {})
                return view
        return None

    def ephemerals(self, user: str) -> list[Json]:
        """What only `user` sees, oldest first: answers, ephemeral posts and replies."""
        with self._lock:
            seen = [dict(answer) for who, answer in self._answers if who == user]
            keys = dict(self._keys)
        seen += [
            _ephemeral(e["channel"], e["message_ts"], e)
            for e in self._slack.ephemerals
            if e["user"] == user
        ]
        for post in self._slack.response_posts():
            who = keys.get(post.key)
            body = post.body
            if who is None or who.user != user or any(body.get(k) for k in _REPLACES):
                continue
            if body.get("response_type") != "in_channel":
                seen.append(_ephemeral(who.channel, post.ts, body))
        return sorted(seen, key=lambda e: float(e["ts"]))

    # -- plumbing ---------------------------------------------------------------------------

    def _post(self, request: payloads.SlackRequest) -> Json:
        body, headers = request.signed(self._secret)
        try:
            response = self._http.post(self._events_url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise RelayError(f"the bot did not answer: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise RelayError(f"the bot answered HTTP {response.status_code}")
        if not response.content.strip():
            return {}
        try:
            answer: Any = response.json()
        except ValueError:
            return {"text": response.text}  # Bolt acks with plain text at times
        return answer if isinstance(answer, dict) else {}

    def _answer_in(self, channel: str, user: str, answer: Json) -> None:
        if not (answer.get("text") or answer.get("blocks")):
            return
        if answer.get("response_type") == "in_channel":
            return  # Slack posts those in the channel itself; the bot does so via the API
        # On the local Slack's clock, so answers sort among its messages.
        ephemeral = _ephemeral(channel, self._slack.next_ts(), answer)
        with self._lock:
            self._answers.append((user, ephemeral))

    def _response_url(self, user: str, channel: str, message_ts: str | None) -> str:
        with self._lock:
            self._serial += 1
            key = f"sandbox-{self._serial}"
            self._keys[key] = _Seen(user, channel)
        return self._slack.response_url(key, channel=channel, message_ts=message_ts)

    def _trigger(self, user: str) -> str:
        trigger = payloads.new_trigger_id()
        with self._lock:
            self._triggers[trigger] = user
        return trigger


def _ephemeral(channel: str, ts: str, body: Json) -> Json:
    blocks = body.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return {"channel": channel, "ts": ts, "text": str(body.get("text") or ""), "blocks": blocks}
