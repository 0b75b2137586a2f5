"""The signing key: from the setting, or a file made once with mode 0600."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.settings import Settings
from bot.signing_key import KEY_FILE, SigningKeyError, signing_key


@pytest.fixture(autouse=True)
def in_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_the_key_file_is_made_once_readable_by_its_owner_only() -> None:
    first = signing_key(settings(), create=True)
    assert first is not None
    assert len(first) == 64
    assert KEY_FILE.stat().st_mode & 0o777 == 0o600
    assert signing_key(settings(), create=True) == first


def test_without_create_a_missing_file_gives_no_key() -> None:
    assert signing_key(settings(), create=False) is None
    assert not KEY_FILE.exists()


def test_the_setting_wins_over_the_file() -> None:
    signing_key(settings(), create=True)
    given = settings(EMPIRE_SIGNING_KEY=SecretStr("s" * 40))
    assert signing_key(given, create=False) == b"s" * 40


def test_a_key_file_others_can_read_is_refused() -> None:
    signing_key(settings(), create=True)
    KEY_FILE.chmod(0o644)
    with pytest.raises(SigningKeyError, match="chmod 600"):
        signing_key(settings(), create=False)
