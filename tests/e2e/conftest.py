from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from integrations.local.slack.server import FakeSlack, run_fake_slack
from integrations.local.stripe.server import FakeStripe, run_fake_stripe
from tests.e2e.harness import STRIPE_KEY, WEBHOOK_SECRET, ServeProcess, serve_env

pytestmark = pytest.mark.e2e

USERS = ["U0REQ", "U0FIN1", "U0FIN2", "U0FIN3", "U0SALES1", "U0OUTSIDER"]


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with run_fake_slack(users=USERS) as fake:
        yield fake


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    with run_fake_stripe(api_key=STRIPE_KEY) as fake:
        yield fake


@pytest.fixture
def serve_factory(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> Iterator[type]:
    started: list[ServeProcess] = []

    class Factory:
        @staticmethod
        def start(**extra: str) -> ServeProcess:
            env = serve_env(database_url, tmp_path, fake_slack.api_url, fake_stripe.url, **extra)
            process = ServeProcess(env, tmp_path).start()
            started.append(process)
            return process

    yield Factory
    for process in started:
        process.stop()


@pytest.fixture
def bot(serve_factory: type, fake_stripe: FakeStripe) -> ServeProcess:
    process: ServeProcess = serve_factory.start()  # type: ignore[attr-defined]
    fake_stripe.add_webhook_endpoint(f"{process.url}/stripe/webhook", WEBHOOK_SECRET)
    return process
