"""`empire api-token create | list | revoke` on real databases, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from bot.api import tokens
from bot.api.pepper import PEPPER_FILE
from bot.cli import app
from storage.models import ApiToken, AuditEntry


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EMPIRE_API_PEPPER", raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return CliRunner()


def run(cli: CliRunner, *args: str) -> tuple[int, str, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_a_token_is_shown_once_and_stored_hashed(
    cli: CliRunner, sessions: sessionmaker[Session]
) -> None:
    code, out, err = run(cli, "api-token", "create", "crm", "--scopes", "payments:write")
    assert code == 0, err
    shown = dict(line.split(": ", 1) for line in out.splitlines())
    token, secret = shown["token"], shown["callback secret"]
    assert token.startswith("emp_")
    assert secret.startswith("cbsec_")
    assert "not shown again" in err
    pepper = PEPPER_FILE.read_text().strip().encode()
    with sessions.begin() as session:
        row = session.execute(select(ApiToken)).scalar_one()
        assert row.token_hash == tokens.token_hash(pepper, token)
        assert row.prefix == token[:12]
        assert row.scopes == ["payments:write"]
        assert tokens.callback_secret(pepper, row.token_hash) == secret
        entry = session.execute(
            select(AuditEntry).where(AuditEntry.kind == "api_token.created")
        ).scalar_one()
        assert token not in entry.payload
        assert json.loads(entry.payload)["name"] == "crm"


def test_tokens_are_listed_without_their_value_and_revoked_by_name(cli: CliRunner) -> None:
    run(cli, "api-token", "create", "crm", "--scopes", "payments:write,actions:read")
    _, out, _ = run(cli, "api-token", "create", "agent", "--scopes", "actions:read")
    token = out.splitlines()[0].removeprefix("token: ")
    code, listed, _ = run(cli, "api-token", "list")
    assert code == 0
    assert listed.splitlines()[0].split() == [
        "NAME",
        "PREFIX",
        "SCOPES",
        "CREATED",
        "LAST",
        "USED",
        "REVOKED",
    ]
    assert "payments:write,actions:read" in listed
    assert token not in listed
    assert token[:12] in listed
    assert run(cli, "api-token", "revoke", "agent")[0] == 0
    _, listed, _ = run(cli, "api-token", "list")
    agent = next(line for line in listed.splitlines() if line.startswith("agent"))
    assert agent.split()[-1] != "-"  # revoked: when
    assert run(cli, "api-token", "revoke", "nobody")[0] == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("bad name!", "--scopes", "actions:read"), "token name"),
        (("crm", "--scopes", "payments:delete"), "unknown scope"),
        (("crm", "--scopes", ""), "at least one scope"),
    ],
)
def test_bad_names_and_scopes_are_refused(cli: CliRunner, args: tuple[str, ...], says: str) -> None:
    code, _, err = run(cli, "api-token", "create", *args)
    assert code == 2
    assert says in err


def test_a_name_is_used_once(cli: CliRunner) -> None:
    assert run(cli, "api-token", "create", "crm", "--scopes", "actions:read")[0] == 0
    code, _, err = run(cli, "api-token", "create", "crm", "--scopes", "actions:read")
    assert code == 2
    assert "exists already" in err


def test_no_tokens_yet(cli: CliRunner) -> None:
    code, out, _ = run(cli, "api-token", "list")
    assert code == 0
    assert "No API tokens" in out
