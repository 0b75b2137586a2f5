"""The vault as a person uses it: `python -m bot secrets …` as processes, and `empire serve`
taking its Stripe key, webhook secret and Slack signing secret from the vault."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.master_key import KEY_FILE
from integrations.local.slack import workspace as ws
from integrations.local.slack.server import FakeSlack
from integrations.local.stripe.server import FakeStripe
from storage.db import make_engine, make_session_factory
from storage.models import SecretAccess
from tests.e2e.flows import ask, card_saying, click
from tests.e2e.harness import STRIPE_KEY, WEBHOOK_SECRET, ServeProcess, serve_env

pytestmark = pytest.mark.e2e


def secrets(
    env: dict[str, str], cwd: Path, *args: str, value: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "secrets", *args],
        cwd=cwd,
        env=env,
        input=value,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def env(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> dict[str, str]:
    return serve_env(database_url, tmp_path, fake_slack.api_url, fake_stripe.url)


def test_set_list_rotate_master_key_and_read_with_the_new_key_only(
    env: dict[str, str], tmp_path: Path
) -> None:
    made = secrets(env, tmp_path, "set", "stripe-api-key", "--owner", "ops", value="sk_e2e_1\n")
    assert made.returncode == 0, made.stdout + made.stderr
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
    old_key = (tmp_path / KEY_FILE).read_text().strip()
    listed = secrets(env, tmp_path, "list")
    assert listed.returncode == 0
    assert "stripe-api-key" in listed.stdout
    assert "sk_e2e_1" not in listed.stdout

    rotated = secrets(env, tmp_path, "rotate-master-key")
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    assert "re-encrypting" in rotated.stderr  # the progress bar
    new_key = (tmp_path / KEY_FILE).read_text().strip()
    assert new_key != old_key
    assert new_key in rotated.stdout

    assert secrets(env, tmp_path, "verify").returncode == 0  # the key file: the new key
    (tmp_path / KEY_FILE).unlink()
    with_new = secrets({**env, "EMPIRE_MASTER_KEY": new_key}, tmp_path, "verify")
    assert with_new.returncode == 0, with_new.stderr
    with_old = secrets({**env, "EMPIRE_MASTER_KEY": old_key}, tmp_path, "verify")
    assert with_old.returncode == 2
    assert with_old.stderr.count("\n") == 1
    assert "does not open the vault" in with_old.stderr
    assert old_key not in with_old.stderr + with_old.stdout


def test_serve_takes_its_secrets_from_the_vault(
    env: dict[str, str],
    tmp_path: Path,
    database_url: str,
    fake_slack: FakeSlack,
    fake_stripe: FakeStripe,
) -> None:
    for name, value in (
        ("stripe-api-key", STRIPE_KEY),
        ("stripe-webhook", WEBHOOK_SECRET),
        ("slack-signing", ws.SIGNING_SECRET),
    ):
        stored = secrets(env, tmp_path, "set", name, value=value)
        assert stored.returncode == 0, stored.stderr
    references = {
        "STRIPE_API_KEY": "vault:stripe-api-key",
        "STRIPE_WEBHOOK_SECRET": "vault:stripe-webhook",
        "SLACK_SIGNING_SECRET": "vault:slack-signing",
    }
    bot = ServeProcess({**env, **references}, tmp_path).start()
    try:
        # Slack-signed requests are accepted and Stripe answers: both secrets resolved.
        request_id = ask(bot, fake_slack, "invoice acme@example.com $900 Vaulted work")
        click(bot, fake_slack, request_id, "approve", "U0FIN1")
        card_saying(fake_slack, request_id, "Executed")
    finally:
        bot.stop()
    log = bot.log.read_text()
    for value in (STRIPE_KEY, WEBHOOK_SECRET, ws.SIGNING_SECRET):
        assert value not in log
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            reads = session.execute(
                select(SecretAccess.name, SecretAccess.actor, SecretAccess.purpose).where(
                    SecretAccess.action == "read"
                )
            ).all()
    finally:
        engine.dispose()
    assert sorted(reads) == [
        ("slack-signing", "empire serve", "settings"),
        ("stripe-api-key", "empire serve", "settings"),
        ("stripe-webhook", "empire serve", "settings"),
    ]


def test_serve_refuses_to_start_when_a_vault_setting_cannot_be_resolved(
    env: dict[str, str], tmp_path: Path
) -> None:
    def serve() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "serve", "--port", "9"],
            cwd=tmp_path,
            env={**env, "STRIPE_API_KEY": "vault:stripe-api-key"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    no_key = serve()
    assert no_key.returncode == 2
    assert (
        no_key.stderr.strip()
        .splitlines()[-1]
        .startswith("empire: STRIPE_API_KEY: names a vault secret, but there is no master key")
    )
    secrets(env, tmp_path, "set", "other", value="x")  # makes the key file
    missing = serve()
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines()[-1] == (
        "empire: STRIPE_API_KEY: no secret named 'stripe-api-key' in the vault"
    )
