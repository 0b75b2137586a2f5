"""The sandbox's relay: a person's act becomes the signed request Slack would send, and what
comes back only for that person is kept for that person.

A local Slack and a small stub "bot" (which checks Slack's signature as Bolt does, and
answers what each test tells it to) stand on either side of the relay.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.sandbox import people
from bot.sandbox.relay import RelayError, SlackRelay
from integrations.local.server import BackgroundServer, serving
from integrations.local.slack import workspace as ws
from integrations.local.slack.server import FakeSlack, run_fake_slack
from tests.fakes.ports import free_port

Json = dict[str, Any]

APPROVALS = people.APPROVALS
RILEY, FRAN, KIM, OTTO = "U0SALES1", "U0FIN1", "U0FIN3", "U0OUTSIDER"
FORM = "application/x-www-form-urlencoded"
DENY_MODAL: Json = {
    "type": "modal",
    "callback_id": "deny_reason",
    "private_metadata": "7:abc",
    "title": {"type": "plain_text", "text": "Deny request #7"},
    "submit": {"type": "plain_text", "text": "Deny"},
    "close": {"type": "plain_text", "text": "Cancel"},
    "blocks": [
        {
            "type": "input",
            "block_id": "reason",
            "label": {"type": "plain_text", "text": "Reason"},
            "element": {"type": "plain_text_input", "action_id": "reason"},
        }
    ],
}
CARD_BLOCKS: list[Json] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Invoice #7: Waiting for approval"}},
    {
        "type": "actions",
        "block_id": "decision",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "value": "7:abc",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Approve"},
            },
            {
                "type": "button",
                "action_id": "deny",
                "value": "7:abc",
                "style": "danger",
                "text": {"type": "plain_text", "text": "Deny"},
            },
        ],
    },
]


@dataclass
class Received:
    """One request that reached the stub bot, its signature checked."""

    kind: str  # "command", or the interactive payload's type ("block_actions", …)
    payload: Json
    body: bytes
    headers: dict[str, str]


def _no_answer(_: Received) -> Response:
    return Response(status_code=200)


@dataclass
class StubBot:
    """`/slack/events` refusing unsigned requests with 401, as Bolt does; `answer` is called
    (off the event loop, so it may call Slack) for each request that passes."""

    verifier: SignatureVerifier
    received: list[Received] = field(default_factory=list)
    answer: Callable[[Received], Response] = _no_answer

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/slack/events", self._events, methods=["POST"])])

    async def _events(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        if not self.verifier.is_valid_request(body, headers):
            return PlainTextResponse("invalid request", status_code=401)
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        if "payload" in form:
            payload = json.loads(form["payload"])
            received = Received(str(payload["type"]), payload, body, headers)
        else:
            received = Received("command", form, body, headers)
        self.received.append(received)
        return await run_in_threadpool(self.answer, received)


@pytest.fixture(scope="module")
def running_slack() -> Iterator[FakeSlack]:
    with run_fake_slack(users=people.slack_users(), channels=people.CHANNELS) as running:
        yield running


@pytest.fixture
def slack(running_slack: FakeSlack) -> FakeSlack:
    running_slack.reset()
    return running_slack


@pytest.fixture(scope="module")
def stub() -> Iterator[tuple[StubBot, BackgroundServer]]:
    bot = StubBot(SignatureVerifier(ws.SIGNING_SECRET))
    with serving(bot.app()) as server:
        yield bot, server


@pytest.fixture
def bot(stub: tuple[StubBot, BackgroundServer]) -> StubBot:
    found, _ = stub
    found.received.clear()
    found.answer = _no_answer
    return found


@pytest.fixture
def events_url(stub: tuple[StubBot, BackgroundServer]) -> str:
    return f"{stub[1].url}/slack/events"


@pytest.fixture
def relay(slack: FakeSlack, bot: StubBot, events_url: str) -> Iterator[SlackRelay]:
    made = SlackRelay(slack, events_url, ws.SIGNING_SECRET)
    yield made
    made.close()


def web(slack: FakeSlack) -> WebClient:
    return WebClient(token=ws.BOT_TOKEN, base_url=slack.api_url)


def a_card(slack: FakeSlack) -> str:
    """A card with Approve and Deny in #approvals, as the bot posts it; its ts."""
    posted = web(slack).chat_postMessage(channel=APPROVALS, text="Invoice #7", blocks=CARD_BLOCKS)
    return str(posted["ts"])


def click(relay: SlackRelay, user: str, ts: str, action_id: str = "approve") -> None:
    relay.click(user, APPROVALS, ts, action_id, "7:abc", "decision")


def reply_to_response_url(body: Json) -> Callable[[Received], Response]:
    """The bot acks at once and answers through the act's response URL (a refusal, say)."""

    def answer(received: Received) -> Response:
        httpx.post(received.payload["response_url"], json=body).raise_for_status()
        return Response(status_code=200)

    return answer


def open_deny_modal(slack: FakeSlack) -> Callable[[Received], Response]:
    """The bot opens the reason modal with the click's trigger id, then acks."""

    def answer(received: Received) -> Response:
        web(slack).views_open(trigger_id=received.payload["trigger_id"], view=DENY_MODAL)
        return Response(status_code=200)

    return answer


def texts(ephemerals: list[Json]) -> list[str]:
    return [str(e["text"]) for e in ephemerals]


# -- what the bot receives -----------------------------------------------------------------


def test_a_command_is_sent_signed_as_slack_sends_a_slash_command(
    relay: SlackRelay, bot: StubBot, slack: FakeSlack
) -> None:
    bot.answer = lambda _: JSONResponse({"text": "Request #7 is waiting for 1 approval."})

    outcome = relay.command(RILEY, APPROVALS, "  /empire invoice acme 1200 Website  ")

    assert outcome.answer == "Request #7 is waiting for 1 approval."
    [received] = bot.received  # the stub only keeps what its signature check let through
    assert received.kind == "command"
    assert received.headers["content-type"] == FORM
    assert SignatureVerifier(ws.SIGNING_SECRET).is_valid_request(received.body, received.headers)
    assert not SignatureVerifier("another-secret").is_valid_request(received.body, received.headers)
    payload = received.payload
    assert payload["command"] == "/empire"
    assert payload["text"] == "invoice acme 1200 Website"
    assert (payload["user_id"], payload["channel_id"]) == (RILEY, APPROVALS)
    assert payload["team_id"] == ws.TEAM_ID
    assert payload["response_url"].startswith(f"{slack.url}/response/")
    assert payload["trigger_id"]


def test_a_click_is_sent_signed_as_the_block_actions_of_that_message(
    relay: SlackRelay, bot: StubBot, slack: FakeSlack
) -> None:
    ts = a_card(slack)

    click(relay, FRAN, ts)

    [received] = bot.received
    assert received.kind == "block_actions"
    assert received.headers["content-type"] == FORM
    assert SignatureVerifier(ws.SIGNING_SECRET).is_valid_request(received.body, received.headers)
    payload = received.payload
    assert payload["user"]["id"] == FRAN
    [action] = payload["actions"]
    assert (action["action_id"], action["value"], action["block_id"]) == (
        "approve",
        "7:abc",
        "decision",
    )
    assert payload["container"]["message_ts"] == ts
    assert payload["channel"]["id"] == APPROVALS
    assert payload["message"]["ts"] == ts
    assert payload["message"]["blocks"] == slack.message(APPROVALS, ts)["blocks"]
    assert payload["response_url"].startswith(f"{slack.url}/response/")
    assert payload["trigger_id"]


def test_only_empire_commands_go_to_the_bot(relay: SlackRelay, bot: StubBot) -> None:
    for text in ("/giphy cats", "hello", "/empirex help", ""):
        with pytest.raises(RelayError, match="/empire"):
            relay.command(RILEY, APPROVALS, text)
    assert bot.received == []


def test_a_click_on_a_message_that_is_not_there_goes_nowhere(
    relay: SlackRelay, bot: StubBot
) -> None:
    with pytest.raises(RelayError, match="gone"):
        click(relay, FRAN, "1764180000.000100")
    assert bot.received == []


# -- what comes back for one person --------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        (JSONResponse({"text": "Request #7 is waiting."}), "Request #7 is waiting."),
        (PlainTextResponse("Working on it"), "Working on it"),  # Bolt's plain-text ack
        (JSONResponse({"response_type": "in_channel", "text": "For everyone"}), None),
        (Response(status_code=200), None),  # a bare ack says nothing
    ],
)
def test_the_answer_to_a_command_is_an_ephemeral_of_that_person_only(
    relay: SlackRelay, bot: StubBot, slack: FakeSlack, answer: Response, shown: str | None
) -> None:
    bot.answer = lambda _: answer

    relay.command(RILEY, APPROVALS, "/empire invoice acme 1200 Website")

    mine = relay.ephemerals(RILEY)
    assert texts(mine) == ([shown] if shown else [])
    if shown:
        assert mine[0]["channel"] == APPROVALS
        assert mine[0]["blocks"] == []
        assert float(mine[0]["ts"]) > 0
    for other in (FRAN, OTTO):
        assert relay.ephemerals(other) == []
    assert slack.messages(APPROVALS) == []  # nothing was posted in the channel


def test_a_reply_to_the_response_url_is_an_ephemeral_of_whoever_acted(
    relay: SlackRelay, bot: StubBot, slack: FakeSlack
) -> None:
    ts = a_card(slack)
    card = slack.message(APPROVALS, ts)

    bot.answer = reply_to_response_url({"text": "Rule “defaults” does not let you decide #7."})
    click(relay, OTTO, ts)
    bot.answer = reply_to_response_url({"response_type": "ephemeral", "text": "Approved."})
    click(relay, FRAN, ts)

    otto = relay.ephemerals(OTTO)
    assert texts(otto) == ["Rule “defaults” does not let you decide #7."]
    assert otto[0]["channel"] == APPROVALS
    assert texts(relay.ephemerals(FRAN)) == ["Approved."]
    assert relay.ephemerals(RILEY) == []
    assert slack.message(APPROVALS, ts) == card  # the card itself is as it was
    assert len(slack.messages(APPROVALS)) == 1


def test_a_later_reply_to_a_commands_response_url_is_that_persons(
    relay: SlackRelay, bot: StubBot, slack: FakeSlack
) -> None:
    relay.command(RILEY, APPROVALS, "/empire revenue")
    response_url = bot.received[0].payload["response_url"]

    httpx.post(response_url, json={"text": "Here is the revenue."}).raise_for_status()

    assert texts(relay.ephemerals(RILEY)) == ["Here is the revenue."]
    assert relay.ephemerals(FRAN) == []


@pytest.mark.parametrize(
    "body",
    [
        {"replace_original": True, "text": "Invoice #7: Approved", "blocks": CARD_BLOCKS[:1]},
        {"delete_original": True},
    ],
)
def test_a_post_acting_on_the_original_message_is_not_an_ephemeral(
    relay: SlackRelay, bot: StubBot, slack: FakeSlack, body: Json
) -> None:
    ts = a_card(slack)
    bot.answer = reply_to_response_url(body)

    click(relay, FRAN, ts)

    assert relay.ephemerals(FRAN) == []
    if body.get("replace_original"):
        assert slack.message(APPROVALS, ts)["text"] == "Invoice #7: Approved"
    else:
        assert slack.messages(APPROVALS) == []


def test_an_in_channel_reply_is_a_message_of_the_channel_not_an_ephemeral(
    relay: SlackRelay, bot: StubBot, slack: FakeSlack
) -> None:
    ts = a_card(slack)
    bot.answer = reply_to_response_url({"response_type": "in_channel", "text": "For everyone"})

    click(relay, FRAN, ts)

    assert relay.ephemerals(FRAN) == []
    assert [m["text"] for m in slack.messages(APPROVALS)] == ["Invoice #7", "For everyone"]


# -- modals ----------------------------------------------------------------------------------


def test_a_view_opened_with_the_trigger_of_a_click_is_open_for_that_person_only(
    relay: SlackRelay, bot: StubBot, slack: FakeSlack
) -> None:
    ts = a_card(slack)
    bot.answer = open_deny_modal(slack)

    click(relay, KIM, ts, "deny")

    [opened] = slack.views
    view = relay.open_view(KIM)
    assert view is not None
    assert view["id"] == opened["id"]
    assert view["title"] == DENY_MODAL["title"]
    assert view["errors"] == {}
    assert slack.view_trigger(opened["id"]) == bot.received[0].payload["trigger_id"]
    for other in (FRAN, RILEY, OTTO):
        assert relay.open_view(other) is None


def test_a_view_the_bot_opened_with_a_trigger_of_its_own_is_nobodys(
    relay: SlackRelay, slack: FakeSlack
) -> None:
    web(slack).views_open(trigger_id="12345.67890.abcdef", view=DENY_MODAL)
    assert [relay.open_view(person.id) for person in people.PEOPLE] == [None] * len(people.PEOPLE)


def refuse_an_empty_reason(received: Received) -> Response:
    if received.kind != "view_submission":
        return Response(status_code=200)
    values = received.payload["view"]["state"]["values"]
    if not values["reason"]["reason"]["value"].strip():
        errors = {"reason": "Say why the request is denied."}
        return JSONResponse({"response_action": "errors", "errors": errors})
    return Response(status_code=200)  # an empty ack: Slack closes the modal


def test_a_submission_answered_with_errors_stays_open_and_an_empty_answer_closes_it(
    relay: SlackRelay, bot: StubBot, slack: FakeSlack
) -> None:
    ts = a_card(slack)
    bot.answer = open_deny_modal(slack)
    click(relay, KIM, ts, "deny")
    view = relay.open_view(KIM)
    assert view is not None
    bot.answer = refuse_an_empty_reason

    refused = relay.submit(KIM, view["id"], {"reason": {"reason": "  "}})

    assert refused.errors == {"reason": "Say why the request is denied."}
    still = relay.open_view(KIM)
    assert still is not None
    assert still["id"] == view["id"]
    assert still["errors"] == {"reason": "Say why the request is denied."}
    submitted = bot.received[-1]
    assert submitted.kind == "view_submission"
    assert SignatureVerifier(ws.SIGNING_SECRET).is_valid_request(submitted.body, submitted.headers)
    assert submitted.payload["user"]["id"] == KIM
    assert submitted.payload["view"]["id"] == view["id"]
    assert submitted.payload["view"]["callback_id"] == "deny_reason"
    assert submitted.payload["view"]["private_metadata"] == "7:abc"

    accepted = relay.submit(KIM, view["id"], {"reason": {"reason": "Not in the budget"}})

    assert accepted.errors == {}
    assert relay.open_view(KIM) is None
    values = bot.received[-1].payload["view"]["state"]["values"]
    assert values["reason"]["reason"]["value"] == "Not in the budget"
    with pytest.raises(RelayError, match="no longer open"):
        relay.submit(KIM, view["id"], {"reason": {"reason": "Again"}})


def test_only_the_person_a_view_is_open_for_can_submit_or_dismiss_it(
    relay: SlackRelay, bot: StubBot, slack: FakeSlack
) -> None:
    ts = a_card(slack)
    bot.answer = open_deny_modal(slack)
    click(relay, KIM, ts, "deny")
    view = relay.open_view(KIM)
    assert view is not None
    sent = len(bot.received)

    with pytest.raises(RelayError, match="no longer open"):
        relay.submit(FRAN, view["id"], {"reason": {"reason": "Not mine to deny"}})
    relay.dismiss(FRAN, view["id"])

    assert len(bot.received) == sent  # nothing went to the bot
    found = relay.open_view(KIM)
    assert found is not None
    assert found["id"] == view["id"]


def test_dismissing_a_view_closes_it(relay: SlackRelay, bot: StubBot, slack: FakeSlack) -> None:
    ts = a_card(slack)
    bot.answer = open_deny_modal(slack)
    click(relay, KIM, ts, "deny")
    view = relay.open_view(KIM)
    assert view is not None

    relay.dismiss(KIM, view["id"])

    assert relay.open_view(KIM) is None
    with pytest.raises(RelayError, match="no longer open"):
        relay.submit(KIM, view["id"], {"reason": {"reason": "Too late"}})


# -- when the bot is not there, or refuses -----------------------------------------------------


def test_a_relay_to_a_port_nobody_listens_on_raises_relay_error(slack: FakeSlack) -> None:
    nowhere = SlackRelay(slack, f"http://127.0.0.1:{free_port()}/slack/events", ws.SIGNING_SECRET)
    try:
        with pytest.raises(RelayError, match="did not answer"):
            nowhere.command(RILEY, APPROVALS, "/empire help")
    finally:
        nowhere.close()


def test_a_bot_refusing_the_signature_raises_relay_error(
    slack: FakeSlack, bot: StubBot, events_url: str
) -> None:
    wrong = SlackRelay(slack, events_url, "not-the-signing-secret")
    ts = a_card(slack)
    try:
        with pytest.raises(RelayError, match="HTTP 401"):
            wrong.command(RILEY, APPROVALS, "/empire help")
        with pytest.raises(RelayError, match="HTTP 401"):
            wrong.click(FRAN, APPROVALS, ts, "approve", "7:abc", "decision")
    finally:
        wrong.close()
    assert bot.received == []
    assert wrong.ephemerals(RILEY) == []
