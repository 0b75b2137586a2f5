"""The vault: credentials kept Fernet-encrypted in the database under a master key.

The master key lives outside the database (the bot reads it from `EMPIRE_MASTER_KEY` or a
0600 key file); each row records the fingerprint of the key that encrypted it, so a wrong
key is told apart from a damaged row, and a master-key rotation can resume where it
stopped. Every read and change is written to `secret_access_log` (who or what, when, why);
changes are also audited. No value ever appears in a log line, an error, an audit payload
or a `repr`: values travel as `SecretStr`.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from governance import audit
from storage import outbox
from storage.models import Secret, SecretAccess

log = logging.getLogger(__name__)

PREFIX = "vault:"  # a setting whose value is `vault:<name>` names a secret
DEFAULT_ROTATE_EVERY_DAYS = 90
MAX_ROTATE_EVERY_DAYS = 3650
REMIND_BEFORE = timedelta(days=7)
JOB = "vault-reminders"
EVENT = "vault.rotation_due"  # the notification's event, rendered by bot.notifications
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,119}")
NO_KEY = "there is no master key (EMPIRE_MASTER_KEY, or the key file ./.empire-master-key)"


class VaultError(Exception):
    """Said in one line, and never with a value in it."""


class VaultKeyError(VaultError):
    """The master key is missing, malformed, or not the one the vault was written with."""


class SecretNotFound(VaultError):
    pass


def fingerprint(key: bytes) -> str:
    """A short public name of a master key: tells keys apart, reveals nothing of them."""
    raw = base64.urlsafe_b64decode(key)
    return hashlib.sha256(b"empire-vault-master-key\x00" + raw).hexdigest()[:12]


class MasterKey:
    """A Fernet key and its fingerprint; its `repr` shows the fingerprint only."""

    __slots__ = ("_fernet", "_key", "key_id")

    def __init__(self, key: str | bytes) -> None:
        text = (key.encode("ascii", "replace") if isinstance(key, str) else key).strip()
        try:
            self._fernet = Fernet(text)
        except ValueError:
            raise VaultKeyError(
                "the master key is not a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
        self._key = text
        self.key_id = fingerprint(text)

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(Fernet.generate_key())

    def reveal(self) -> str:
        """The key itself, to be written to a key file or printed once to its owner."""
        return self._key.decode("ascii")

    @property
    def fernet(self) -> Fernet:
        return self._fernet

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MasterKey) and other.key_id == self.key_id

    def __hash__(self) -> int:
        return hash(self.key_id)


@dataclass(frozen=True)
class SecretInfo:
    """What may be shown of a secret: never its value."""

    name: str
    owner: str
    key_id: str
    created_at: datetime
    rotated_at: datetime
    rotate_every_days: int
    age: timedelta
    next_rotation: datetime
    overdue: bool


@dataclass(frozen=True)
class Reencrypted:
    total: int
    reencrypted: int
    already: int  # rows found under the new key already (a resumed run)
    key_id: str


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise VaultError(
            "a secret's name is letters, digits, '.', '_' and '-' (up to 120), "
            "starting with a letter or digit"
        )
    return name


def next_rotation(row: Secret) -> datetime:
    return row.rotated_at + timedelta(days=row.rotate_every_days)


class Vault:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        keys: Sequence[MasterKey],
        clock: Callable[[], datetime],
    ) -> None:
        """`keys[0]` encrypts; every key in `keys` reads (several during a rotation)."""
        self._sessions = sessions
        self._keys = list(keys)
        self._now = clock

    def __repr__(self) -> str:
        return f"Vault(keys={[key.key_id for key in self._keys]!r})"

    @property
    def key_ids(self) -> list[str]:
        return [key.key_id for key in self._keys]

    # -- reading ------------------------------------------------------------------------

    def get(self, name: str, actor: str, purpose: str) -> SecretStr:
        """The value, the read logged; nothing logged when it cannot be read."""
        with self._sessions.begin() as session:
            row = self._row(session, name)
            value = self._open(row)
            self._log(session, name, "read", actor, purpose)
        log.info("secret %s read by %s for %s", name, actor, purpose)
        return SecretStr(value)

    def list(self) -> list[SecretInfo]:
        now = self._now()
        with self._sessions.begin() as session:
            rows = session.execute(select(Secret).order_by(Secret.name)).scalars().all()
            return [self._info(row, now) for row in rows]

    def info(self, name: str) -> SecretInfo:
        with self._sessions.begin() as session:
            return self._info(self._row(session, name), self._now())

    def verify(self, actor: str, purpose: str = "verify") -> int:
        """Open every secret (each read logged); the count, or the first error."""
        with self._sessions.begin() as session:
            rows = session.execute(select(Secret).order_by(Secret.name)).scalars().all()
            self._require_opens(session)
            for row in rows:
                self._open(row)
                self._log(session, row.name, "read", actor, purpose)
            return len(rows)

    # -- changing -----------------------------------------------------------------------

    def set(
        self,
        name: str,
        value: str | SecretStr,
        actor: str,
        purpose: str = "set",
        *,
        owner: str | None = None,
        rotate_every_days: int | None = None,
    ) -> SecretInfo:
        """Store a secret, new or replacing the value of one (which counts as a rotation)."""
        check_name(name)
        plain = _plain(value)
        if rotate_every_days is not None and not 1 <= rotate_every_days <= MAX_ROTATE_EVERY_DAYS:
            raise VaultError(f"rotate every: 1 to {MAX_ROTATE_EVERY_DAYS} days")
        now = self._now()
        with self._sessions.begin() as session:
            self._require_opens(session)
            row = session.get(Secret, name, with_for_update=True)
            if row is None:
                row = Secret(
                    name=name,
                    owner=owner or actor,
                    created_at=now,
                    rotate_every_days=rotate_every_days or DEFAULT_ROTATE_EVERY_DAYS,
                )
                session.add(row)
                kind = "vault.secret_created"
            else:
                kind = "vault.secret_replaced"
                if owner:
                    row.owner = owner
                if rotate_every_days:
                    row.rotate_every_days = rotate_every_days
            self._seal(row, plain, now)
            self._log(session, name, "set", actor, purpose)
            audit.append(session, kind, actor, self._payload(row))
            info = self._info(row, now)
        log.info("secret %s set by %s", name, actor)
        return info

    def rotate(self, name: str, new_value: str | SecretStr, actor: str) -> SecretInfo:
        """A new value for an existing secret; its rotation clock starts again."""
        plain = _plain(new_value)
        now = self._now()
        with self._sessions.begin() as session:
            self._require_opens(session)
            row = self._row(session, name, lock=True)
            self._seal(row, plain, now)
            self._log(session, name, "rotate", actor, "rotation")
            audit.append(session, "vault.secret_rotated", actor, self._payload(row))
            info = self._info(row, now)
        log.info("secret %s rotated by %s", name, actor)
        return info

    def delete(self, name: str, actor: str, purpose: str = "delete") -> None:
        with self._sessions.begin() as session:
            row = self._row(session, name, lock=True)
            session.delete(row)
            self._log(session, name, "delete", actor, purpose)
            audit.append(session, "vault.secret_deleted", actor, {"name": name})
        log.info("secret %s deleted by %s", name, actor)

    def reencrypt(
        self,
        new_key: MasterKey,
        actor: str,
        progress: Callable[[int], None] | None = None,
        *,
        batch: int = 20,
    ) -> Reencrypted:
        """Re-encrypt every secret under `new_key`, reading with it and this vault's keys.

        One batch per transaction; rows already under the new key are skipped, so a run
        that was interrupted (between batches, or in one: that batch is rolled back) is
        simply run again. `progress` is told how many rows each step moved on.
        """
        readers = MultiFernet([new_key.fernet, *(key.fernet for key in self._keys)])
        known = {new_key.key_id, *self.key_ids}
        with self._sessions.begin() as session:
            self._require_opens(session, known)
            total = session.execute(select(func.count()).select_from(Secret)).scalar_one()
            already = session.execute(
                select(func.count()).select_from(Secret).where(Secret.key_id == new_key.key_id)
            ).scalar_one()
        if progress and already:
            progress(already)
        moved = 0
        while True:
            with self._sessions.begin() as session:
                rows = (
                    session.execute(
                        select(Secret)
                        .where(Secret.key_id != new_key.key_id)
                        .order_by(Secret.name)
                        .limit(batch)
                        .with_for_update()
                    )
                    .scalars()
                    .all()
                )
                if not rows:
                    break
                now = self._now()
                for row in rows:
                    if row.key_id not in known:
                        raise self._wrong_key(row.key_id)
                    try:
                        token = readers.rotate(row.ciphertext.encode("ascii"))
                    except InvalidToken:
                        raise self._damaged(row) from None
                    row.ciphertext = token.decode("ascii")
                    row.key_id = new_key.key_id
                    self._log(session, row.name, "reencrypt", actor, "master key rotation", now)
            moved += len(rows)
            if progress:
                progress(len(rows))
        with self._sessions.begin() as session:
            audit.append(
                session,
                "vault.master_key_rotated",
                actor,
                {"key_id": new_key.key_id, "secrets": total, "reencrypted": moved},
            )
        log.info("vault re-encrypted under key %s: %d secrets", new_key.key_id, moved)
        return Reencrypted(total, moved, already, new_key.key_id)

    # -- reminders ----------------------------------------------------------------------

    def remind(self) -> dict[str, Any]:
        """Queue reminders of rotations due within a week, loudly for overdue ones."""
        with self._sessions.begin() as session:
            return remind_due(session, self._now())

    # -- inside -------------------------------------------------------------------------

    def _row(self, session: Session, name: str, *, lock: bool = False) -> Secret:
        row = session.get(Secret, check_name(name), with_for_update=lock or None)
        if row is None:
            raise SecretNotFound(f"no secret named {name!r} in the vault")
        return row

    def _require_opens(self, session: Session, known: Collection[str] | None = None) -> None:
        """Refuse before changing anything when a row was written with a key not given."""
        if not self._keys:
            raise VaultKeyError(NO_KEY)
        readable = {*(known or self.key_ids)}
        present = session.execute(select(Secret.key_id).distinct()).scalars().all()
        strangers = sorted({*present} - readable)
        if strangers:
            raise self._wrong_key(strangers[0])

    def _wrong_key(self, key_id: str) -> VaultKeyError:
        given = ", ".join(self.key_ids)
        return VaultKeyError(
            f"the master key does not open the vault (it was written with key {key_id}; "
            f"the key given is {given})"
        )

    def _damaged(self, row: Secret) -> VaultKeyError:
        return VaultKeyError(
            f"secret {row.name!r} does not decrypt under key {row.key_id}: "
            "its ciphertext was altered"
        )

    def _open(self, row: Secret) -> str:
        if not self._keys:
            raise VaultKeyError(NO_KEY)
        if row.key_id not in self.key_ids:
            raise self._wrong_key(row.key_id)
        try:
            plain = MultiFernet([key.fernet for key in self._keys]).decrypt(
                row.ciphertext.encode("ascii")
            )
        except InvalidToken:
            raise self._damaged(row) from None
        return plain.decode("utf-8")

    def _seal(self, row: Secret, plain: str, now: datetime) -> None:
        primary = self._keys[0]
        row.ciphertext = primary.fernet.encrypt(plain.encode("utf-8")).decode("ascii")
        row.key_id = primary.key_id
        row.rotated_at = now
        row.reminded_at = None

    def _log(
        self,
        session: Session,
        name: str,
        action: str,
        actor: str,
        purpose: str,
        at: datetime | None = None,
    ) -> None:
        session.add(
            SecretAccess(
                name=name,
                action=action,
                actor=actor[:120],
                purpose=purpose[:200],
                at=at or self._now(),
            )
        )

    @staticmethod
    def _payload(row: Secret) -> dict[str, Any]:
        return {
            "name": row.name,
            "owner": row.owner,
            "key_id": row.key_id,
            "rotate_every_days": row.rotate_every_days,
        }

    @staticmethod
    def _info(row: Secret, now: datetime) -> SecretInfo:
        due = next_rotation(row)
        return SecretInfo(
            name=row.name,
            owner=row.owner,
            key_id=row.key_id,
            created_at=row.created_at,
            rotated_at=row.rotated_at,
            rotate_every_days=row.rotate_every_days,
            age=now - row.rotated_at,
            next_rotation=due,
            overdue=now >= due,
        )


def _plain(value: str | SecretStr) -> str:
    plain = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not plain:
        raise VaultError("a secret's value cannot be empty")
    return plain


def remind_due(session: Session, now: datetime) -> dict[str, Any]:
    """In the caller's transaction: queue for the notify channel the secrets whose rotation
    is due within `REMIND_BEFORE` (once per due date), and loudly those overdue (once more).

    `reminded_at` remembers the last reminder: one sent before the week before the due date
    was for an earlier due date; one sent before the due date was the quiet one.
    """
    soon: list[dict[str, Any]] = []
    overdue: list[dict[str, Any]] = []
    rows = session.execute(select(Secret).order_by(Secret.name).with_for_update()).scalars()
    for row in rows:
        due = next_rotation(row)
        last = row.reminded_at
        if now >= due:
            if last is not None and last >= due:
                continue
            target = overdue
        elif now >= due - REMIND_BEFORE:
            if last is not None and last >= due - REMIND_BEFORE:
                continue
            target = soon
        else:
            continue
        target.append({"name": row.name, "owner": row.owner, "due": due.isoformat()})
        row.reminded_at = now
    for entries, loud in ((overdue, True), (soon, False)):
        if entries:
            facts = {"secrets": entries, "overdue": loud}
            outbox.enqueue(session, outbox.NOTIFY, {"event": EVENT, "facts": facts, "loud": loud})
    return {"soon": len(soon), "overdue": len(overdue)}
