"""`empire secrets …` in-process on SQLite and PostgreSQL: values from stdin or a hidden
prompt, never argv; list; rotate; delete; rotate-master-key, also interrupted and resumed."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from bot import secrets_cli
from bot.cli import app
from bot.master_key import KEY_FILE, PENDING_FILE, read_key_file, write_key_file
from governance.vault import MasterKey, Vault
from storage.models import Secret, SecretAccess
from storage.types import utcnow

ACTOR = f"cli:{getpass.getuser()}"


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    for name in ("EMPIRE_MASTER_KEY", "SLACK_BOT_TOKEN", "EMPIRE_NOTIFY_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return CliRunner()


def run(cli: CliRunner, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = cli.invoke(app, ["secrets", *args], input=input)
    return result.exit_code, result.stdout, result.stderr


def values(sessions: sessionmaker[Session], keys: list[MasterKey]) -> dict[str, str]:
    vault = Vault(sessions, keys, utcnow)
    return {i.name: vault.get(i.name, "test", "check").get_secret_value() for i in vault.list()}


def test_the_first_secret_makes_a_0600_key_file_and_the_value_comes_from_stdin(
    cli: CliRunner, sessions: sessionmaker[Session]
) -> None:
    code, out, err = run(cli, "set", "stripe-api-key", "--owner", "ops", input="sk_test_1\n")
    assert code == 0, out + err
    assert "made a master key" in out
    assert KEY_FILE.stat().st_mode & 0o777 == 0o600
    key = read_key_file(KEY_FILE)
    assert values(sessions, [key]) == {"stripe-api-key": "sk_test_1"}
    code, out, _ = run(cli, "set", "webhook", "--rotate-every", "30", input="whsec_1")
    assert code == 0
    assert "made a master key" not in out
    code, out, _ = run(cli, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "OWNER", "AGE", "NEXT", "ROTATION"]
    assert lines[1].split()[:3] == ["stripe-api-key", "ops", "0h"]
    assert lines[2].split()[:2] == ["webhook", ACTOR]
    assert "sk_test_1" not in out
    with sessions.begin() as session:
        actors = set(session.execute(select(SecretAccess.actor)).scalars())
    assert ACTOR in actors


def test_the_hidden_prompt_asks_twice(
    cli: CliRunner, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets_cli, "stdin_is_piped", lambda: False)
    code, out, err = run(cli, "set", "token", input="abc-1\nabc-1\n")
    assert code == 0, out + err
    assert "abc-1" not in out + err
    assert values(sessions, [read_key_file(KEY_FILE)]) == {"token": "abc-1"}


def test_empty_stdin_and_unknown_names_are_refused(cli: CliRunner) -> None:
    code, _, err = run(cli, "set", "token", input="")
    assert code == 1
    assert "no value on stdin" in err
    run(cli, "set", "token", input="v")
    code, _, err = run(cli, "rotate", "other", input="v2")
    assert code == 2
    assert "no secret named 'other'" in err
    code, _, err = run(cli, "delete", "other", "--yes")
    assert code == 2


def test_rotate_and_delete(cli: CliRunner, sessions: sessionmaker[Session]) -> None:
    run(cli, "set", "token", input="v1")
    code, out, _ = run(cli, "rotate", "token", input="v2\n")
    assert code == 0
    assert "rotated token" in out
    assert values(sessions, [read_key_file(KEY_FILE)]) == {"token": "v2"}
    code, out, _ = run(cli, "delete", "token", "--yes")
    assert code == 0
    assert values(sessions, [read_key_file(KEY_FILE)]) == {}


def test_rotate_master_key_in_the_key_file(cli: CliRunner, sessions: sessionmaker[Session]) -> None:
    run(cli, "set", "a", input="value-a")
    run(cli, "set", "b", input="value-b")
    old = read_key_file(KEY_FILE)
    code, out, err = run(cli, "rotate-master-key", input="")
    assert code == 0, out + err
    new = read_key_file(KEY_FILE)
    assert new != old
    assert KEY_FILE.stat().st_mode & 0o777 == 0o600
    assert not PENDING_FILE.exists()
    assert new.reveal() in out  # shown once
    assert f"under key {new.key_id}" in out
    assert values(sessions, [new]) == {"a": "value-a", "b": "value-b"}
    code, out, _ = run(cli, "verify")
    assert code == 0
    assert out.strip() == f"OK: 2 secrets open with key {new.key_id}"


def test_rotate_master_key_with_the_setting_and_a_key_on_stdin(
    cli: CliRunner, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = MasterKey.generate(), MasterKey.generate()
    monkeypatch.setenv("EMPIRE_MASTER_KEY", old.reveal())
    run(cli, "set", "a", input="value-a")
    assert not KEY_FILE.exists()
    code, out, err = run(cli, "rotate-master-key", input=new.reveal() + "\n")
    assert code == 0, out + err
    assert f"EMPIRE_MASTER_KEY={new.reveal()}" in out
    assert not PENDING_FILE.exists()
    assert not KEY_FILE.exists()
    code, _, err = run(cli, "verify")
    assert code == 2
    assert f"written with key {new.key_id}" in err
    monkeypatch.setenv("EMPIRE_MASTER_KEY", new.reveal())
    assert run(cli, "verify")[0] == 0
    code, _, err = run(cli, "rotate-master-key", input="not a key")
    assert code == 2
    assert "not a Fernet key" in err
    assert "not a key" not in err.replace("not a Fernet key", "")


def test_an_interrupted_master_key_rotation_reads_and_resumes(
    cli: CliRunner, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    old = MasterKey.generate()
    write_key_file(KEY_FILE, old)
    vault = Vault(sessions, [old], utcnow)
    expected = {f"s{i:02d}": f"value-{i}" for i in range(25)}
    for name, value in expected.items():
        vault.set(name, value, "test")
    real_log = Vault._log
    count = {"n": 0}

    def interrupt_in_the_second_batch(self: Vault, *args: Any, **kwargs: Any) -> None:
        if args[2] == "reencrypt":
            count["n"] += 1
            if count["n"] == 21:
                raise KeyboardInterrupt
        real_log(self, *args, **kwargs)

    monkeypatch.setattr(Vault, "_log", interrupt_in_the_second_batch)
    code, out, err = run(cli, "rotate-master-key", input="")
    assert code != 0
    pending = read_key_file(PENDING_FILE)
    assert read_key_file(KEY_FILE) == old
    with sessions.begin() as session:
        ids = list(session.execute(select(Secret.key_id)).scalars())
    assert ids.count(pending.key_id) == 20
    assert values(sessions, [old, pending]) == expected  # both keys read meanwhile

    monkeypatch.setattr(Vault, "_log", real_log)
    other = MasterKey.generate()
    code, _, err = run(cli, "rotate-master-key", input=other.reveal())
    assert code == 2
    assert "under way" in err
    code, out, err = run(cli, "rotate-master-key", input="")
    assert code == 0, out + err
    assert "re-encrypted 5 secrets (20 already were)" in out
    assert read_key_file(KEY_FILE) == pending
    assert not PENDING_FILE.exists()
    assert values(sessions, [pending]) == expected
