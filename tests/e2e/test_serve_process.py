"""The `empire` program as a person runs it: starting, refusing to start, and its other commands."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest
from sqlalchemy import func, select, update

from integrations.local.slack.server import FakeSlack
from integrations.local.stripe.server import FakeStripe
from storage.db import make_engine
from storage.models import ActionRequest, AuditEntry
from tests.audit_tamper import unguarded
from tests.e2e.flows import ask, card_saying, click
from tests.e2e.harness import ServeProcess, serve_env

pytestmark = pytest.mark.e2e

NOWHERE = "http://127.0.0.1:9"  # refuses at once; none of these commands should call out

BROKEN_POLICY = dedent(
    """\
    version: 1
    groups:
      finance: [U0FIN1, U0FIN2, U0FIN3]
    defaults:
      approvers: [finance]
      approvals: 1
      expires_after: soon
    rules:
      - name: big
        action: payments.refund
        colour: red
    """
)


def cli_env(folder: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    url = database_url or f"sqlite:///{folder / 'cli.db'}"
    return serve_env(url, folder, f"{NOWHERE}/api/", NOWHERE, **extra)


def empire(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# -- serve ----------------------------------------------------------------------------


def test_serve_without_required_settings_names_them_in_one_line(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    del env["SLACK_BOT_TOKEN"], env["EMPIRE_APPROVALS_CHANNEL"]
    result = empire("serve", "--port", "9", env=env, cwd=tmp_path, timeout=15)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SLACK_BOT_TOKEN" in lines[0]
    assert "EMPIRE_APPROVALS_CHANNEL" in lines[0]
    assert "SLACK_SIGNING_SECRET" not in lines[0]


def test_serve_with_an_invalid_policy_names_the_setting_and_the_line(tmp_path: Path) -> None:
    policy = tmp_path / "broken.yml"
    policy.write_text(BROKEN_POLICY, encoding="utf-8")
    env = cli_env(tmp_path, EMPIRE_POLICY_FILE=str(policy))
    result = empire("serve", "--port", "9", env=env, cwd=tmp_path, timeout=15)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "EMPIRE_POLICY_FILE" in lines[0]
    assert "broken.yml:7:" in lines[0]
    assert "expires_after" in lines[0]


UNREACHABLE_DATABASE = "postgresql+psycopg://empire:s3cr%40t@127.0.0.1:9/empire"


@pytest.mark.parametrize("command", [("serve", "--port", "9"), ("db", "upgrade")])
def test_an_unreachable_database_is_one_line_that_never_shows_the_password(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    env = cli_env(tmp_path, UNREACHABLE_DATABASE)
    result = empire(*command, env=env, cwd=tmp_path, timeout=20)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "DATABASE_URL" in lines[0]
    assert "s3cr" not in result.stderr + result.stdout


def test_healthz_answers_ok(bot: ServeProcess) -> None:
    response = bot.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_python_dash_m_bot_is_the_empire_command(tmp_path: Path) -> None:
    result = empire("--help", env=cli_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "empire" in result.stdout
    for command in ("init", "serve", "audit", "policy", "db"):
        assert re.search(rf"^\s*│?\s*{command}\b", result.stdout, re.MULTILINE), command


# -- audit verify ---------------------------------------------------------------------


def run_invoice_flow(bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe) -> None:
    request_id = ask(bot, fake_slack, "invoice acme@example.com $1,500 Website")
    click(bot, fake_slack, request_id, "approve", "U0FIN1")
    card_saying(fake_slack, request_id, "Executed")
    assert len(fake_stripe.objects("invoice")) == 1
    fake_stripe.wait_for_deliveries(timeout=10)


def audit_count(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
            )
    finally:
        engine.dispose()


def test_audit_verify_accepts_the_chain_and_names_a_tampered_entry(
    bot: ServeProcess,
    fake_slack: FakeSlack,
    fake_stripe: FakeStripe,
    database_url: str,
    tmp_path: Path,
) -> None:
    run_invoice_flow(bot, fake_slack, fake_stripe)
    bot.stop()  # nothing appends while the chain is checked
    entries = audit_count(database_url)
    assert entries >= 4

    result = empire("audit", "verify", env=bot.env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"OK: {entries} entries, 1 transaction signatures"

    tampered = 3
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection, unguarded(connection):
            changed = connection.execute(
                update(AuditEntry)
                .where(AuditEntry.seq == tampered)
                .values(payload='{"approvals":99}')
            )
            assert changed.rowcount == 1
    finally:
        engine.dispose()

    result = empire("audit", "verify", env=bot.env, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(rf"\bentry {tampered}\b", result.stdout), result.stdout
    assert "OK" not in result.stdout


def test_audit_verify_names_an_executed_transaction_changed_behind_its_back(
    bot: ServeProcess,
    fake_slack: FakeSlack,
    fake_stripe: FakeStripe,
    database_url: str,
    tmp_path: Path,
) -> None:
    run_invoice_flow(bot, fake_slack, fake_stripe)
    bot.stop()
    key_file = tmp_path / ".empire-signing-key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(update(ActionRequest).values(amount_minor=1))
    finally:
        engine.dispose()
    result = empire("audit", "verify", env=bot.env, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "request #1" in result.stdout
    assert "amount_minor" in result.stdout


def test_audit_verify_on_a_database_without_the_schema_says_so_in_one_line(
    tmp_path: Path,
) -> None:
    # A person in the wrong folder: the default SQLite file there is new and empty.
    env = cli_env(tmp_path, f"sqlite:///{tmp_path / 'elsewhere.db'}")
    result = empire("audit", "verify", env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert "OK" not in result.stdout
    output = (result.stdout + result.stderr).strip()
    assert "Traceback" not in output, output[:400]
    assert len(output.splitlines()) == 1, output[:400]
    assert "DATABASE_URL" in output or "empire db upgrade" in output


# -- policy check and init ------------------------------------------------------------


def test_policy_check_lists_each_error_with_file_and_line(tmp_path: Path) -> None:
    policy = tmp_path / "broken.yml"
    policy.write_text(BROKEN_POLICY, encoding="utf-8")
    result = empire("policy", "check", str(policy), env=cli_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    found = [re.fullmatch(r"(.+):(\d+): (.+)", line) for line in lines]
    assert all(found), lines
    assert [(m.group(1), int(m.group(2))) for m in found if m] == [
        (str(policy), 7),
        (str(policy), 11),
    ]
    assert "expires_after" in lines[0]
    assert "colour" in lines[1]


def test_policy_check_accepts_a_good_file(tmp_path: Path) -> None:
    env = cli_env(tmp_path)  # writes the standard policy into tmp_path
    result = empire("policy", "check", str(tmp_path / "policy.yml"), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK")


def test_init_writes_the_starter_files_once_and_never_overwrites(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    first = empire("init", env=env, cwd=fresh)
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in fresh.iterdir()) == [".env.example", "policy.yml"]
    env_example = (fresh / ".env.example").read_text(encoding="utf-8")
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "EMPIRE_APPROVALS_CHANNEL"):
        assert name in env_example
    assert "#" in (fresh / "policy.yml").read_text(encoding="utf-8")  # commented
    check = empire("policy", "check", "policy.yml", env=env, cwd=fresh)
    assert check.returncode == 0, check.stdout + check.stderr

    own_policy = "# ours\n" + BROKEN_POLICY
    (fresh / "policy.yml").write_text(own_policy, encoding="utf-8")
    second = empire("init", env=env, cwd=fresh)
    assert second.returncode == 0, second.stderr
    assert (fresh / "policy.yml").read_text(encoding="utf-8") == own_policy
    assert (fresh / ".env.example").read_text(encoding="utf-8") == env_example
    assert sorted(p.name for p in fresh.iterdir()) == [".env.example", "policy.yml"]
