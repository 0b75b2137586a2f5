"""The API tokens' pepper: EMPIRE_API_PEPPER (best kept in the vault, as
`EMPIRE_API_PEPPER=vault:api-token-pepper`), or a 0600 file made once.

Tokens are stored as HMAC-SHA256(pepper, token): a copy of the database alone lets nobody
check a guessed token.
"""

from __future__ import annotations

from pathlib import Path

from bot.key_files import KeyFileError, setting_or_file
from bot.settings import Settings, secret

PEPPER_FILE = Path(".empire-api-pepper")


class PepperError(KeyFileError):
    pass


def api_pepper(settings: Settings, *, create: bool) -> bytes | None:
    """The pepper from the settings, else from the pepper file (made when `create`)."""
    given = secret(settings.EMPIRE_API_PEPPER) if settings.EMPIRE_API_PEPPER else None
    try:
        return setting_or_file(given, PEPPER_FILE, "EMPIRE_API_PEPPER", create=create)
    except KeyFileError as exc:
        raise PepperError(str(exc)) from None
