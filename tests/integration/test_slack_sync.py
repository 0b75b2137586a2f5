"""Cards follow their requests in Slack, once each, even when two workers race."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

import bot.slack_sync
from bot.slack_sync import SlackSync
from governance.actions.invoice import invoice_payload
from governance.money import Money
from governance.service import Governance
from integrations.local.slack import workspace as ws
from integrations.local.slack.server import FakeSlack, run_fake_slack
from storage.models import ActionRequest
from tests.policies import standard_policy


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with run_fake_slack() as running:
        yield running


def syncer(sessions: sessionmaker[Session], fake: FakeSlack) -> SlackSync:
    client = WebClient(token=ws.BOT_TOKEN, base_url=fake.api_url)
    return SlackSync(sessions, client, ws.APPROVALS_CHANNEL, "C0NOTIFY")


def pending_request(sessions: sessionmaker[Session]) -> int:
    policy = standard_policy()
    governance = Governance(sessions, lambda: policy)
    payload = invoice_payload("a@example.com", Money(1000, "usd"), "Card", 30)
    return governance.submit("payments.invoice", payload, "U0REQ", {}).request_id


def test_a_new_request_gets_one_card_and_a_change_updates_it(
    sessions: sessionmaker[Session], fake: FakeSlack
) -> None:
    request_id = pending_request(sessions)
    sync = syncer(sessions, fake)
    assert sync.run_once() == 1
    assert sync.run_once() == 0
    [card] = fake.messages(ws.APPROVALS_CHANNEL)
    with sessions.begin() as session:
        stored = session.get(ActionRequest, request_id)
        assert stored is not None
        assert stored.card_ts == card["ts"]
        stored.card_version += 1
    assert sync.run_once() == 1
    assert len(fake.calls("chat.update")) == 1


def test_a_worker_overtaken_while_posting_removes_its_own_copy(
    sessions: sessionmaker[Session], fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.slack_sync, "LEASE", timedelta(milliseconds=200))
    pending_request(sessions)
    fake.delay("chat.postMessage", 1.0)  # the first worker's post hangs past its lease
    slow, quick = syncer(sessions, fake), syncer(sessions, fake)
    first = threading.Thread(target=slow.sync_cards)
    first.start()
    time.sleep(0.5)
    assert quick.sync_cards() == 1
    first.join(5)
    assert len(fake.calls("chat.postMessage")) == 2
    assert len(fake.messages(ws.APPROVALS_CHANNEL)) == 1


def test_a_slack_error_leaves_the_card_to_a_later_pass(
    sessions: sessionmaker[Session], fake: FakeSlack
) -> None:
    pending_request(sessions)
    fake.fail_next("chat.postMessage", error="channel_not_found", status=200)
    sync = syncer(sessions, fake)
    assert sync.sync_cards() == 0
    assert fake.messages(ws.APPROVALS_CHANNEL) == []
