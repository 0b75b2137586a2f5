"""Secret settings that name a vault secret (`STRIPE_API_KEY=vault:stripe-api-key`).

They are resolved once, when a process starts, into plain `SecretStr` values: the rest of
the code never knows where a value came from. Each read is access-logged with the actor
and the purpose `settings`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from bot.master_key import MasterKeyError, master_keys
from bot.settings import Settings, secret
from governance.vault import NO_KEY, PREFIX, Vault, VaultError
from storage.types import utcnow

VAULT_SETTINGS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "STRIPE_API_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "EMPIRE_SIGNING_KEY",
    "EMPIRE_API_PEPPER",
)
PURPOSE = "settings"


class VaultSettingError(Exception):
    """A setting that names a vault secret cannot be resolved; one line naming it."""


def vault_references(settings: Settings) -> dict[str, str]:
    """Setting name → the vault secret it names, for the settings that name one."""
    found: dict[str, str] = {}
    for field in VAULT_SETTINGS:
        value = secret(getattr(settings, field))
        if value.startswith(PREFIX):
            found[field] = value[len(PREFIX) :].strip()
    return found


def resolve(settings: Settings, sessions: sessionmaker[Session], actor: str) -> Settings:
    """The settings with each `vault:` reference replaced by the secret's value."""
    references = vault_references(settings)
    if not references:
        return settings
    first = next(iter(references))
    try:
        keys = master_keys(settings)
    except MasterKeyError as exc:
        raise VaultSettingError(f"{first}: {exc}") from None
    if not keys:
        raise VaultSettingError(f"{first}: names a vault secret, but {NO_KEY}")
    vault = Vault(sessions, keys, utcnow)
    values = {}
    for field, name in references.items():
        try:
            values[field] = vault.get(name, actor, PURPOSE)
        except VaultError as exc:
            raise VaultSettingError(f"{field}: {exc}") from None
    return settings.model_copy(update=values)
