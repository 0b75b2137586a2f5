"""The fake Slack, driven by the real slack_sdk, behaves as Slack does on the wire."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.webhook import WebhookClient

from integrations.local.slack import payloads as sp
from integrations.local.slack import workspace as ws
from integrations.local.slack.server import FakeSlack, run_fake_slack

CHANNEL = ws.APPROVALS_CHANNEL
MODAL = {
    "type": "modal",
    "callback_id": "deny_reason",
    "private_metadata": "7",
    "title": {"type": "plain_text", "text": "Deny"},
    "submit": {"type": "plain_text", "text": "Deny"},
    "blocks": [
        {
            "type": "input",
            "block_id": "reason",
            "label": {"type": "plain_text", "text": "Reason"},
            "element": {"type": "plain_text_input", "action_id": "text"},
        }
    ],
}


@pytest.fixture(scope="module")
def running_fake() -> Iterator[FakeSlack]:
    with run_fake_slack(users={"U0FIN1": {"real_name": "Fin One"}}) as running:
        yield running


@pytest.fixture
def fake(running_fake: FakeSlack) -> FakeSlack:
    running_fake.reset()
    return running_fake


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=ws.BOT_TOKEN, base_url=fake.api_url)


def test_post_update_and_read_back(fake: FakeSlack, client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Refund* #7"}}]
    posted = client.chat_postMessage(channel=CHANNEL, text="Refund #7", blocks=blocks)
    assert posted["channel"] == CHANNEL
    assert posted["message"]["bot_id"] == ws.BOT_ID

    updated = client.chat_update(channel=CHANNEL, ts=posted["ts"], text="Refund #7: Executed")
    assert updated["ts"] == posted["ts"]

    (message,) = fake.messages(CHANNEL)
    assert message["ts"] == posted["ts"]
    assert message["text"] == "Refund #7: Executed"
    assert message["blocks"] == blocks  # an update without blocks keeps them, as in Slack
    assert fake.message(CHANNEL, posted["ts"])["edited"]["user"] == ws.BOT_USER_ID
    (call,) = fake.calls("chat.update")
    assert call.token == ws.BOT_TOKEN
    assert call.args["ts"] == posted["ts"]


def test_form_encoded_calls_are_understood(fake: FakeSlack, client: WebClient) -> None:
    response = client.api_call(
        "chat.postMessage",
        params={"channel": CHANNEL, "blocks": '[{"type": "divider"}]', "text": "x"},
    )
    assert response["message"]["blocks"] == [{"type": "divider"}]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda c: c.chat_update(channel=CHANNEL, ts="1.000001", text="x"), "message_not_found"),
        (lambda c: c.chat_postMessage(channel="not-a-channel", text="x"), "channel_not_found"),
        (lambda c: c.chat_postMessage(channel=CHANNEL, blocks=[]), "no_text"),
        (lambda c: c.views_open(trigger_id="", view=MODAL), "invalid_arguments"),
        (lambda c: c.users_info(user="U0NOBODY"), "user_not_found"),
        (lambda c: c.api_call("chat.teleport"), "unknown_method"),
    ],
)
@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_errors_raise_slack_api_error(client: WebClient, call: Any, error: str) -> None:
    with pytest.raises(SlackApiError) as raised:
        call(client)
    assert raised.value.response["ok"] is False
    assert raised.value.response["error"] == error


@pytest.mark.parametrize(
    ("token", "error"),
    [("xoxb-wrong", "invalid_auth"), (ws.APP_TOKEN, "not_allowed_token_type")],
)
def test_tokens_are_checked(fake: FakeSlack, token: str, error: str) -> None:
    with pytest.raises(SlackApiError) as raised:
        WebClient(token=token, base_url=fake.api_url).auth_test()
    assert raised.value.response["error"] == error


def test_missing_token_is_not_authed(fake: FakeSlack) -> None:
    response = httpx.post(f"{fake.api_url}auth.test")
    assert response.json() == {"ok": False, "error": "not_authed"}


def test_plain_error_injected(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", error="not_in_channel", status=200)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel=CHANNEL, text="x")
    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == "not_in_channel"
    assert client.chat_postMessage(channel=CHANNEL, text="x")["ok"]


def test_rate_limit_is_retried_after_retry_after(
    fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(random, "random", lambda: 0.0)  # the handler adds up to 1 s of jitter
    fake.fail_next("chat.postMessage", retry_after=0)
    client = WebClient(
        token=ws.BOT_TOKEN,
        base_url=fake.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    assert client.chat_postMessage(channel=CHANNEL, text="x")["ok"]
    assert len(fake.calls("chat.postMessage")) == 2
    assert len(fake.messages(CHANNEL)) == 1


def test_rate_limit_without_retry_handler(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.update", retry_after=30)
    with pytest.raises(SlackApiError) as raised:
        client.chat_update(channel=CHANNEL, ts="1.1", text="x")
    assert raised.value.response.status_code == 429
    headers = {k.lower(): v for k, v in raised.value.response.headers.items()}
    assert headers["retry-after"] == "30"
    assert raised.value.response["error"] == "ratelimited"


def test_delayed_answer_times_the_client_out(fake: FakeSlack) -> None:
    fake.delay("auth.test", 1.0)
    impatient = WebClient(token=ws.BOT_TOKEN, base_url=fake.api_url, timeout=0.2)  # type: ignore[arg-type]
    with pytest.raises(TimeoutError):
        impatient.auth_test()
    assert impatient.auth_test()["ok"]


def test_ephemeral_view_user_and_auth(fake: FakeSlack, client: WebClient) -> None:
    sent = client.chat_postEphemeral(channel=CHANNEL, user="U0FIN1", text="Not yours to approve")
    assert fake.ephemerals == [
        {
            "channel": CHANNEL,
            "user": "U0FIN1",
            "text": "Not yours to approve",
            "blocks": [],
            "message_ts": sent["message_ts"],
        }
    ]
    opened = client.views_open(trigger_id="1.2.abc", view=MODAL)["view"]
    assert opened["callback_id"] == "deny_reason"
    changed = {**MODAL, "title": {"type": "plain_text", "text": "Deny #7"}}
    client.views_update(view_id=opened["id"], hash=opened["hash"], view=changed)
    assert [v["title"]["text"] for v in fake.views] == ["Deny #7"]
    assert client.users_info(user="U0FIN1")["user"]["real_name"] == "Fin One"
    assert client.auth_test()["user_id"] == ws.BOT_USER_ID


def test_dm_and_user_groups() -> None:
    with run_fake_slack(usergroups={"finance-team": ["U0FIN1", "U0FIN2"]}) as fake:
        client = WebClient(token=ws.BOT_TOKEN, base_url=fake.api_url)
        (group,) = client.usergroups_list()["usergroups"]
        assert group["handle"] == "finance-team"
        assert client.usergroups_users_list(usergroup=group["id"])["users"] == ["U0FIN1", "U0FIN2"]
        dm = client.conversations_open(users="U0FIN1")["channel"]["id"]
        client.chat_postMessage(channel=dm, text="Reminder: refund #7 waits for you")
        assert fake.messages(dm)[0]["text"].startswith("Reminder")


def test_response_url_records_and_replaces(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel=CHANNEL, text="Approve refund #7?")["ts"]
    url = fake.response_url("click-1", channel=CHANNEL, message_ts=ts)
    response = WebhookClient(url).send(text="Refund #7 approved", replace_original=True)
    assert response.status_code == 200
    assert fake.responses("click-1") == [{"text": "Refund #7 approved", "replace_original": True}]
    assert fake.message(CHANNEL, ts)["text"] == "Refund #7 approved"
    assert WebhookClient(fake.response_url("other")).send(text="hi").status_code == 200
    assert len(fake.responses()) == 2


def test_files_upload_v2(fake: FakeSlack, client: WebClient) -> None:
    response = client.files_upload_v2(
        channel=CHANNEL, content="id,amount\n7,1500\n", filename="audit.csv", title="Audit"
    )
    assert response["file"]["title"] == "Audit"
    (upload,) = fake.files
    assert upload.content == b"id,amount\n7,1500\n"
    assert upload.channel_id == CHANNEL
    assert fake.messages(CHANNEL)[0]["files"][0]["name"] == "audit.csv"


def test_wait_for_returns_the_value_or_times_out(fake: FakeSlack, client: WebClient) -> None:
    threading.Timer(0.05, lambda: client.chat_postMessage(channel=CHANNEL, text="later")).start()
    assert fake.wait_for(lambda: fake.messages(CHANNEL))[0]["text"] == "later"
    with pytest.raises(TimeoutError):
        fake.wait_for(lambda: fake.messages("C0NONE"), timeout=0.05)


def test_socket_mode_round_trip(fake: FakeSlack) -> None:
    web = WebClient(token=ws.BOT_TOKEN, base_url=fake.api_url)
    socket = SocketModeClient(app_token=ws.APP_TOKEN, web_client=web)
    received: list[SocketModeRequest] = []

    def on_request(client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        received.append(request)
        ack = SocketModeResponse(request.envelope_id, payload={"text": "On it"})
        client.send_socket_mode_response(ack)

    socket.socket_mode_request_listeners.append(on_request)
    with pytest.raises(TimeoutError, match="no Socket Mode client"):
        fake.socket_send("events_api", {"type": "event_callback"}, timeout=0.05)
    try:
        socket.connect()
        assert fake.socket_connected(timeout=5)
        command = sp.slash_command("help", user_id="U0FIN1")
        ack = fake.socket_send(command.envelope_type, command.payload)
    finally:
        # close() joins a reader blocked in a 3 s socket timeout; nothing here needs to wait.
        threading.Thread(target=socket.close, daemon=True).start()
    (request,) = received
    assert request.type == "slash_commands"
    assert request.payload["text"] == "help"
    assert ack == {"envelope_id": request.envelope_id, "payload": {"text": "On it"}}
    assert fake.socket_messages == [ack]
    (opened,) = fake.calls("apps.connections.open")
    assert opened.token == ws.APP_TOKEN


def test_socket_mode_needs_a_ticket(fake: FakeSlack) -> None:
    rejected = httpx.get(
        f"{fake.url}/link/?ticket=made-up",
        headers={
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert rejected.status_code == 403


def test_a_deleted_message_is_gone(fake: FakeSlack) -> None:
    client = WebClient(token=ws.BOT_TOKEN, base_url=fake.api_url)
    ts = client.chat_postMessage(channel=ws.APPROVALS_CHANNEL, text="doomed")["ts"]
    client.chat_delete(channel=ws.APPROVALS_CHANNEL, ts=ts)
    assert fake.messages(ws.APPROVALS_CHANNEL) == []
    with pytest.raises(SlackApiError, match="message_not_found"):
        client.chat_delete(channel=ws.APPROVALS_CHANNEL, ts=ts)
