"""API tokens, their pepper and the callback signatures, without a database."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.api import tokens
from bot.api.callbacks import sign, verify
from bot.api.pepper import PEPPER_FILE, PepperError, api_pepper
from bot.settings import Settings


@pytest.fixture
def in_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EMPIRE_API_PEPPER", raising=False)
    return tmp_path


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.usefixtures("in_a_folder")
def test_the_pepper_file_is_made_once_readable_by_its_owner_only() -> None:
    assert api_pepper(settings(), create=False) is None
    first = api_pepper(settings(), create=True)
    assert first is not None
    assert len(first) == 64
    assert PEPPER_FILE.stat().st_mode & 0o777 == 0o600
    assert api_pepper(settings(), create=True) == first


@pytest.mark.usefixtures("in_a_folder")
def test_the_pepper_setting_wins_and_must_be_long_enough() -> None:
    api_pepper(settings(), create=True)
    assert api_pepper(settings(EMPIRE_API_PEPPER=SecretStr("s" * 40)), create=False) == b"s" * 40
    with pytest.raises(PepperError, match="at least 32"):
        api_pepper(settings(EMPIRE_API_PEPPER=SecretStr("short")), create=False)


@pytest.mark.usefixtures("in_a_folder")
def test_a_pepper_file_others_can_read_is_refused() -> None:
    api_pepper(settings(), create=True)
    PEPPER_FILE.chmod(0o644)
    with pytest.raises(PepperError, match="chmod 600"):
        api_pepper(settings(), create=False)


def test_a_token_is_stored_as_an_hmac_under_the_pepper() -> None:
    token = "emp_" + "a" * 43
    expected = hmac.new(b"pepper", token.encode(), hashlib.sha256).hexdigest()
    assert tokens.token_hash(b"pepper", token) == expected
    assert tokens.token_hash(b"other", token) != expected


def test_the_callback_secret_is_derived_from_the_hash_and_the_pepper() -> None:
    one = tokens.callback_secret(b"pepper", "ab" * 32)
    assert one.startswith("cbsec_")
    assert one == tokens.callback_secret(b"pepper", "ab" * 32)
    assert one != tokens.callback_secret(b"pepper", "cd" * 32)
    assert one != tokens.callback_secret(b"other", "ab" * 32)


@pytest.mark.parametrize(
    ("text", "scopes"),
    [
        ("payments:write", ("payments:write",)),
        (" payments:read , actions:read,payments:read ", ("payments:read", "actions:read")),
    ],
)
def test_scopes_are_parsed(text: str, scopes: tuple[str, ...]) -> None:
    assert tokens.parse_scopes(text) == scopes


@pytest.mark.parametrize("text", ["", " , ", "payments:delete", "admin"])
def test_unknown_or_no_scopes_are_refused(text: str) -> None:
    with pytest.raises(tokens.TokenError):
        tokens.parse_scopes(text)


def test_a_callback_signature_is_stripes_scheme_with_the_callback_secret() -> None:
    body = b'{"state":"succeeded"}'
    header = sign("cbsec_x", body, 1_700_000_000)
    digest = hmac.new(b"cbsec_x", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={digest}"
    assert verify("cbsec_x", body, header, now=1_700_000_100)
    assert not verify("cbsec_x", body + b" ", header, now=1_700_000_100)
    assert not verify("cbsec_y", body, header, now=1_700_000_100)
    assert not verify("cbsec_x", body, header, now=1_700_001_000)  # too old: a replay
    assert not verify("cbsec_x", body, "garbage", now=1_700_000_100)
