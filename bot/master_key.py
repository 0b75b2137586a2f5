"""The vault's master key: EMPIRE_MASTER_KEY, or a 0600 key file in the working folder.

Like the signing key it is kept outside the database: whoever can read the database must
not also hold the key that opens the secrets in it. A key file readable by others is
refused.

During a master-key rotation the new key waits in `./.empire-master-key.next` (0600) until
every secret is re-encrypted; while it is there it also reads, so an interrupted rotation
leaves a vault that still opens and a rotation that resumes with the same new key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.key_files import KeyFileError, private_text, write_private
from bot.settings import Settings, secret
from governance.vault import MasterKey, VaultKeyError

KEY_FILE = Path(".empire-master-key")
PENDING_FILE = Path(".empire-master-key.next")
SETTING = "EMPIRE_MASTER_KEY"


class MasterKeyError(Exception):
    """The key is missing, malformed or its file cannot be trusted; said in one line."""


@dataclass(frozen=True)
class Configured:
    key: MasterKey
    source: str  # "EMPIRE_MASTER_KEY" or the key file's path


def configured_key(settings: Settings) -> Configured | None:
    """The master key from the settings, else from the key file; None when neither."""
    if settings.EMPIRE_MASTER_KEY is not None:
        try:
            return Configured(MasterKey(secret(settings.EMPIRE_MASTER_KEY)), SETTING)
        except VaultKeyError:
            raise MasterKeyError(
                f"{SETTING} is not a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
    if KEY_FILE.exists():
        return Configured(read_key_file(KEY_FILE), f"./{KEY_FILE}")
    return None


def pending_key() -> MasterKey | None:
    """The new key of a master-key rotation not yet finished."""
    return read_key_file(PENDING_FILE) if PENDING_FILE.exists() else None


def master_keys(settings: Settings) -> list[MasterKey]:
    """The keys that read the vault, the one that encrypts first; [] when there is none."""
    configured = configured_key(settings)
    keys = [configured.key] if configured else []
    pending = pending_key()
    if pending is not None and pending not in keys:
        keys.append(pending)
    return keys


def read_key_file(path: Path) -> MasterKey:
    try:
        text = private_text(path, SETTING)
    except KeyFileError as exc:
        raise MasterKeyError(str(exc)) from None
    except OSError as exc:
        raise MasterKeyError(f"{SETTING}: cannot read {path}: {exc.strerror}") from None
    try:
        return MasterKey(text)
    except VaultKeyError:
        raise MasterKeyError(f"{SETTING}: {path} holds no Fernet key") from None


def write_key_file(path: Path, key: MasterKey, *, replace: bool = False) -> None:
    """Write the key with mode 0600; without `replace` an existing file is an error, with
    it the file is swapped whole."""
    write_private(path, key.reveal(), replace=replace)
