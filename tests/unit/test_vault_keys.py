"""The vault's master key: Fernet round trips, fingerprints, where the key comes from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from bot.master_key import (
    KEY_FILE,
    PENDING_FILE,
    MasterKeyError,
    configured_key,
    master_keys,
    read_key_file,
    write_key_file,
)
from bot.notifications import render
from bot.settings import Settings
from bot.vault_settings import VAULT_SETTINGS, vault_references
from governance.vault import MasterKey, VaultError, VaultKeyError, check_name, fingerprint

VALUE = "sk_live_unit-9f1e2d3c4b5a"


@pytest.fixture(autouse=True)
def in_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EMPIRE_MASTER_KEY", raising=False)
    return tmp_path


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_a_value_round_trips_through_fernet_and_the_token_holds_no_plain_text() -> None:
    key = MasterKey.generate()
    token = key.fernet.encrypt(VALUE.encode())
    assert VALUE.encode() not in token
    assert key.fernet.decrypt(token).decode() == VALUE
    assert MasterKey(key.reveal()).fernet.decrypt(token).decode() == VALUE


def test_multifernet_reads_with_the_old_key_and_rotates_to_the_new() -> None:
    old, new = MasterKey.generate(), MasterKey.generate()
    token = old.fernet.encrypt(VALUE.encode())
    both = MultiFernet([new.fernet, old.fernet])
    rotated = both.rotate(token)
    assert new.fernet.decrypt(rotated).decode() == VALUE
    with pytest.raises(InvalidToken):
        old.fernet.decrypt(rotated)


def test_fingerprints_are_short_stable_distinct_and_reveal_nothing() -> None:
    raw = Fernet.generate_key()
    first, again = MasterKey(raw), MasterKey(raw.decode() + "\n")
    other = MasterKey.generate()
    assert first.key_id == again.key_id == fingerprint(raw)
    assert len(first.key_id) == 12
    assert int(first.key_id, 16) >= 0
    assert first.key_id != other.key_id
    assert first == again
    assert first != other
    assert first.key_id not in raw.decode()
    assert raw.decode() not in repr(first) + str(first)
    assert repr(first) == f"MasterKey(key_id={first.key_id!r})"


def test_a_malformed_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(VaultKeyError) as caught:
        MasterKey("not-a-key-but-a-password-1234")
    assert "not-a-key-but-a-password-1234" not in str(caught.value)
    assert "Fernet key" in str(caught.value)


def test_the_setting_wins_over_the_key_file() -> None:
    on_file, in_setting = MasterKey.generate(), MasterKey.generate()
    write_key_file(KEY_FILE, on_file)
    given = configured_key(settings(EMPIRE_MASTER_KEY=SecretStr(in_setting.reveal())))
    assert given is not None
    assert given.key == in_setting
    assert given.source == "EMPIRE_MASTER_KEY"
    from_file = configured_key(settings())
    assert from_file is not None
    assert from_file.key == on_file


def test_no_key_anywhere_is_none() -> None:
    assert configured_key(settings()) is None
    assert master_keys(settings()) == []


def test_a_malformed_setting_names_the_setting_not_the_value() -> None:
    with pytest.raises(MasterKeyError) as caught:
        configured_key(settings(EMPIRE_MASTER_KEY=SecretStr("hunter2-hunter2")))
    assert "EMPIRE_MASTER_KEY" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_the_key_file_is_written_0600_and_never_overwritten_unless_replacing() -> None:
    first, second = MasterKey.generate(), MasterKey.generate()
    write_key_file(KEY_FILE, first)
    assert KEY_FILE.stat().st_mode & 0o777 == 0o600
    with pytest.raises(FileExistsError):
        write_key_file(KEY_FILE, second)
    write_key_file(KEY_FILE, second, replace=True)
    assert KEY_FILE.stat().st_mode & 0o777 == 0o600
    assert read_key_file(KEY_FILE) == second


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_key_file_readable_by_others_is_refused(mode: int) -> None:
    write_key_file(KEY_FILE, MasterKey.generate())
    os.chmod(KEY_FILE, mode)
    with pytest.raises(MasterKeyError, match="readable by others"):
        configured_key(settings())


def test_a_key_file_without_a_key_is_refused() -> None:
    KEY_FILE.write_text("nothing here\n")
    os.chmod(KEY_FILE, 0o600)
    with pytest.raises(MasterKeyError, match="holds no Fernet key"):
        read_key_file(KEY_FILE)


def test_a_pending_rotation_key_also_reads() -> None:
    current, pending = MasterKey.generate(), MasterKey.generate()
    write_key_file(KEY_FILE, current)
    write_key_file(PENDING_FILE, pending)
    assert master_keys(settings()) == [current, pending]


def test_secret_names_are_checked() -> None:
    assert check_name("stripe-api-key") == "stripe-api-key"
    for bad in ("", "-x", "a b", "a/b", "x" * 121):
        with pytest.raises(VaultError):
            check_name(bad)


def test_only_the_secret_settings_may_name_a_vault_secret() -> None:
    given = settings(
        STRIPE_API_KEY=SecretStr("vault:stripe-api-key"),
        SLACK_BOT_TOKEN=SecretStr("xoxb-plain"),
        EMPIRE_APPROVALS_CHANNEL="vault:nope",
    )
    assert vault_references(given) == {"STRIPE_API_KEY": "stripe-api-key"}
    assert "EMPIRE_SIGNING_KEY" in VAULT_SETTINGS


def test_rotation_reminders_read_well_and_overdue_ones_are_loud() -> None:
    secrets = [{"name": "stripe-api-key", "owner": "ops", "due": "2026-12-01T06:00:00+00:00"}]
    quiet = render({"event": "vault.rotation_due", "facts": {"secrets": secrets}})
    assert "stripe-api-key" in quiet
    assert "2026-12-01" in quiet
    assert "<!here>" not in quiet
    loud = render(
        {
            "event": "vault.rotation_due",
            "facts": {"secrets": secrets, "overdue": True},
            "loud": True,
        }
    )
    assert "<!here>" in loud
    assert "overdue" in loud
    attack = [{"name": "<!channel>", "owner": "<@U0BOSS>", "due": "x"}]
    text = render({"event": "vault.rotation_due", "facts": {"secrets": attack}})
    assert "<!channel>" not in text
    assert "<@U0BOSS>" not in text
