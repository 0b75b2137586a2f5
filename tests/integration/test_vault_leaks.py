"""No leaks: realistic vault flows with unique secret values, then everything they produced
is searched for those values — logs at DEBUG (SQL included), the command line's output,
the audit table, the access log, the outbox and what Slack would be sent, error messages,
and the `repr` of every object handed around. None may hold a value."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from bot import secrets_cli, serve
from bot.cli import app
from bot.master_key import KEY_FILE, read_key_file
from bot.notifications import render
from bot.settings import Settings
from bot.vault_settings import VaultSettingError, resolve
from governance.vault import MasterKey, Vault, VaultError
from storage.models import AuditEntry, OutboxMessage, Secret, SecretAccess
from storage.types import utcnow
from tests.policies import STANDARD

STRIPE = "sk_live_LEAK0stripe0a91c7e3"
STRIPE_ROTATED = "sk_live_LEAK0rotated0b82d6f4"
SLACK = "xoxb-LEAK0slack0c73e5a1"
WEBHOOK = "whsec_LEAK0webhook0d64f8b2"
PROMPTED = "LEAK0prompted0e55a9c3"
VALUES = (STRIPE, STRIPE_ROTATED, SLACK, WEBHOOK, PROMPTED)


class Stop(Exception):
    pass


def test_no_secret_value_leaks_anywhere(
    database_url: str,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")  # statements and parameters
    monkeypatch.chdir(tmp_path)
    for name in ("EMPIRE_MASTER_KEY", "SLACK_BOT_TOKEN", "EMPIRE_NOTIFY_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    (tmp_path / "policy.yml").write_text(STANDARD, encoding="utf-8")
    cli = CliRunner()
    produced: list[str] = []  # everything shown to anyone
    errors: list[str] = []

    def empire(*args: str, input: str | None = None, expect: int = 0) -> str:
        result = cli.invoke(app, ["secrets", *args], input=input)
        produced.extend([result.stdout, result.stderr])
        if result.exception and not isinstance(result.exception, SystemExit):
            errors.append(f"{result.exception!r} {result.exception}")
        assert result.exit_code == expect, result.stdout + result.stderr
        return str(result.stdout)

    # Storing: from stdin and from the hidden prompt.
    empire("set", "stripe-api-key", "--owner", "ops", input=STRIPE + "\n")
    empire("set", "slack-bot-token", input=SLACK)
    empire("set", "webhook-secret", "--rotate-every", "1", input=WEBHOOK)
    monkeypatch.setattr(secrets_cli, "stdin_is_piped", lambda: False)
    empire("set", "prompted", input=f"{PROMPTED}\n{PROMPTED}\n")
    monkeypatch.setattr(secrets_cli, "stdin_is_piped", lambda: True)
    first_key = read_key_file(KEY_FILE)
    empire("list")
    empire("verify")

    # `empire serve` resolving its settings from the vault, up to building the bot.
    built: list[Settings] = []

    def build(settings: Settings, *_: Any) -> Any:
        built.append(settings)
        raise Stop

    monkeypatch.setattr(serve, "build", build)
    references = {
        "STRIPE_API_KEY": "vault:stripe-api-key",
        "SLACK_BOT_TOKEN": "vault:slack-bot-token",
        "STRIPE_WEBHOOK_SECRET": "vault:webhook-secret",
        "SLACK_SIGNING_SECRET": "vault:prompted",
    }
    given = Settings(
        _env_file=None,  # type: ignore[call-arg]
        EMPIRE_APPROVALS_CHANNEL="C0APPROVALS",
        EMPIRE_POLICY_FILE=tmp_path / "policy.yml",
        **{name: SecretStr(value) for name, value in references.items()},
    )
    with pytest.raises(Stop):
        serve.run(given, "127.0.0.1", 0)
    [resolved] = built
    assert resolved.STRIPE_API_KEY is not None
    assert resolved.STRIPE_API_KEY.get_secret_value() == STRIPE  # it did resolve
    produced.extend([repr(resolved), str(resolved), repr(resolved.model_dump())])

    # Rotating a secret and the master key; reading again with the new key.
    empire("rotate", "stripe-api-key", input=STRIPE_ROTATED)
    empire("rotate-master-key", input="")
    new_key = read_key_file(KEY_FILE)
    assert new_key != first_key
    vault = Vault(sessions, [new_key], utcnow)
    assert vault.get("stripe-api-key", "test", "check").get_secret_value() == STRIPE_ROTATED
    produced.extend(
        [repr(vault), repr(vault.list()), repr(new_key), str(new_key), repr(given)]
        + [repr(vault.get(n, "test", "check")) for n in ("slack-bot-token", "prompted")]
        + [str(vault.get("webhook-secret", "test", "check"))]
    )

    # A wrong key: the command, the settings and the core each say so without values.
    wrong = MasterKey.generate()
    monkeypatch.setenv("EMPIRE_MASTER_KEY", wrong.reveal())
    empire("verify", expect=2)
    empire("rotate", "stripe-api-key", input="whatever", expect=2)
    mistaken = given.model_copy(update={"EMPIRE_MASTER_KEY": SecretStr(wrong.reveal())})
    with pytest.raises(VaultSettingError) as caught:
        resolve(mistaken, sessions, "empire serve")
    errors.append(str(caught.value))
    with pytest.raises(serve.ServeError) as refused:
        serve.run(mistaken, "127.0.0.1", 0)
    assert "does not open the vault" in str(refused.value)
    errors.append(str(refused.value))
    for attempt in (
        lambda: Vault(sessions, [wrong], utcnow).get("stripe-api-key", "t", "t"),
        lambda: Vault(sessions, [wrong], utcnow).reencrypt(MasterKey.generate(), "t"),
        lambda: vault.get("missing", "t", "t"),
    ):
        with pytest.raises(VaultError) as failed:
            attempt()
        errors.extend([str(failed.value), repr(failed.value)])

    # Rotation reminders posted (the webhook secret is due every day).
    later = Vault(sessions, [], lambda: utcnow() + timedelta(days=2))
    assert later.remind()["overdue"] == 1

    with sessions.begin() as session:
        audit_rows = session.execute(select(AuditEntry)).scalars().all()
        audit_text = [f"{e.kind} {e.actor} {e.payload}" for e in audit_rows]
        access_text = [
            f"{a.name} {a.action} {a.actor} {a.purpose}"
            for a in session.execute(select(SecretAccess)).scalars()
        ]
        bodies = [m.body for m in session.execute(select(OutboxMessage)).scalars()]
        ciphertexts = [s.ciphertext for s in session.execute(select(Secret)).scalars()]
    slack = [render(body) for body in bodies if body.get("event")]
    assert any("webhook-secret" in text for text in slack)
    assert any("vault.secret_rotated" in text for text in audit_text)
    assert "stripe-api-key read empire serve settings" in access_text

    everything = {
        "logs": caplog.text,
        "output": "\n".join(produced),
        "errors": "\n".join(errors),
        "audit": "\n".join(audit_text),
        "access log": "\n".join(access_text),
        "outbox": repr(bodies),
        "slack": "\n".join(slack),
        "database": "\n".join(ciphertexts),
    }
    assert "INSERT INTO secret_access_log" in caplog.text  # SQL and its parameters too
    for where, text in everything.items():
        for value in VALUES:
            assert value not in text, f"{value} leaked into {where}"
    # The master keys never appear anywhere but the one place a rotation shows the new one.
    for where, text in everything.items():
        for key in (first_key, wrong):
            assert key.reveal() not in text.replace(new_key.reveal(), ""), f"key in {where}"
    assert new_key.reveal() not in caplog.text + everything["audit"] + everything["errors"]
