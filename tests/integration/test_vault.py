"""The vault on SQLite and PostgreSQL: storing, reading (logged), rotating, re-encrypting
under a new master key (interrupted and resumed), wrong keys, reminders, settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.master_key import KEY_FILE, PENDING_FILE, write_key_file
from bot.settings import Settings
from bot.vault_settings import VaultSettingError, resolve
from governance.vault import (
    MasterKey,
    SecretNotFound,
    Vault,
    VaultError,
    VaultKeyError,
)
from storage.models import AuditEntry, OutboxMessage, Secret, SecretAccess

NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def table(sessions: sessionmaker[Session], model: Any) -> list[Any]:
    with sessions.begin() as session:
        return list(session.execute(select(model)).scalars().all())


def accesses(sessions: sessionmaker[Session]) -> list[tuple[str, str, str, str]]:
    with sessions.begin() as session:
        rows = session.execute(select(SecretAccess).order_by(SecretAccess.id)).scalars()
        return [(r.name, r.action, r.actor, r.purpose) for r in rows]


def fill(vault: Vault, count: int) -> dict[str, str]:
    values = {f"secret-{i:02d}": f"value-{i:02d}-{'x' * i}" for i in range(count)}
    for name, value in values.items():
        vault.set(name, value, "tester")
    return values


def test_set_get_rotate_delete_and_every_access_is_logged(
    sessions: sessionmaker[Session],
) -> None:
    clock = Clock(NOON)
    key = MasterKey.generate()
    vault = Vault(sessions, [key], clock)
    info = vault.set("stripe-api-key", "sk_test_abc", "cli:ann", owner="ops")
    assert (info.owner, info.key_id, info.rotate_every_days) == ("ops", key.key_id, 90)
    assert info.next_rotation == NOON + timedelta(days=90)
    [row] = table(sessions, Secret)
    assert "sk_test_abc" not in row.ciphertext
    assert row.key_id == key.key_id

    value = vault.get("stripe-api-key", "empire serve", "settings")
    assert isinstance(value, SecretStr)
    assert value.get_secret_value() == "sk_test_abc"
    assert "sk_test_abc" not in repr(value) + str(value)

    clock.now = NOON + timedelta(days=10)
    rotated = vault.rotate("stripe-api-key", SecretStr("sk_test_def"), "cli:bob")
    assert rotated.rotated_at == clock.now
    assert rotated.owner == "ops"
    assert vault.get("stripe-api-key", "cli:bob", "check").get_secret_value() == "sk_test_def"

    vault.delete("stripe-api-key", "cli:ann")
    with pytest.raises(SecretNotFound, match="stripe-api-key"):
        vault.get("stripe-api-key", "cli:ann", "check")
    assert vault.list() == []
    assert accesses(sessions) == [
        ("stripe-api-key", "set", "cli:ann", "set"),
        ("stripe-api-key", "read", "empire serve", "settings"),
        ("stripe-api-key", "rotate", "cli:bob", "rotation"),
        ("stripe-api-key", "read", "cli:bob", "check"),
        ("stripe-api-key", "delete", "cli:ann", "delete"),
    ]
    kinds = [(e.kind, e.actor) for e in table(sessions, AuditEntry)]
    assert kinds == [
        ("vault.secret_created", "cli:ann"),
        ("vault.secret_rotated", "cli:bob"),
        ("vault.secret_deleted", "cli:ann"),
    ]


def test_list_shows_age_next_rotation_and_overdue_never_values(
    sessions: sessionmaker[Session],
) -> None:
    clock = Clock(NOON)
    vault = Vault(sessions, [MasterKey.generate()], clock)
    vault.set("b-token", "value-b", "ann", rotate_every_days=30)
    vault.set("a-token", "value-a", "ann", owner="bob")
    clock.now = NOON + timedelta(days=31)
    listed = Vault(sessions, [], clock).list()  # no key needed to list
    assert [i.name for i in listed] == ["a-token", "b-token"]
    a, b = listed
    assert (a.owner, a.age, a.overdue) == ("bob", timedelta(days=31), False)
    assert (b.owner, b.overdue, b.next_rotation) == ("ann", True, NOON + timedelta(days=30))
    assert "value-" not in repr(listed)


def test_a_wrong_master_key_gives_one_clear_error_and_changes_nothing(
    sessions: sessionmaker[Session],
) -> None:
    right, wrong = MasterKey.generate(), MasterKey.generate()
    fill(Vault(sessions, [right], Clock(NOON)), 3)
    before = (table(sessions, Secret), accesses(sessions), len(table(sessions, AuditEntry)))
    impostor = Vault(sessions, [wrong], Clock(NOON))
    attempts = [
        lambda: impostor.get("secret-01", "x", "y"),
        lambda: impostor.set("new-one", "v", "x"),
        lambda: impostor.rotate("secret-01", "v", "x"),
        lambda: impostor.verify("x"),
        lambda: impostor.reencrypt(MasterKey.generate(), "x"),
    ]
    for attempt in attempts:
        with pytest.raises(VaultKeyError) as caught:
            attempt()
        message = str(caught.value)
        assert "\n" not in message
        assert f"written with key {right.key_id}" in message
        assert wrong.key_id in message
    after = (table(sessions, Secret), accesses(sessions), len(table(sessions, AuditEntry)))
    assert [(r.name, r.ciphertext, r.key_id) for r in after[0]] == [
        (r.name, r.ciphertext, r.key_id) for r in before[0]
    ]
    assert after[1:] == before[1:]
    with pytest.raises(VaultKeyError, match="no master key"):
        Vault(sessions, [], Clock(NOON)).get("secret-01", "x", "y")


def test_an_altered_ciphertext_is_named_as_such(sessions: sessionmaker[Session]) -> None:
    key = MasterKey.generate()
    vault = Vault(sessions, [key], Clock(NOON))
    vault.set("token", "value-1", "ann")
    with sessions.begin() as session:
        row = session.get(Secret, "token")
        assert row is not None
        row.ciphertext = key.fernet.encrypt(b"x")[:-4].decode() + "AAAA"
    with pytest.raises(VaultKeyError, match="altered"):
        vault.get("token", "ann", "check")


class Interrupted(Exception):
    pass


def test_reencrypt_interrupted_midway_resumes_where_it_stopped(
    sessions: sessionmaker[Session],
) -> None:
    old, new = MasterKey.generate(), MasterKey.generate()
    values = fill(Vault(sessions, [old], Clock(NOON)), 11)
    steps: list[int] = []

    def stop_after_first_batch(moved: int) -> None:
        steps.append(moved)
        raise Interrupted

    with pytest.raises(Interrupted):
        Vault(sessions, [old], Clock(NOON)).reencrypt(
            new, "cli:ann", stop_after_first_batch, batch=4
        )
    by_key = {r.name: r.key_id for r in table(sessions, Secret)}
    assert sorted(by_key.values()).count(new.key_id) == 4  # the first batch committed
    assert steps == [4]

    # Both keys read while the rotation is under way; the old one alone does not.
    both = Vault(sessions, [old, new], Clock(NOON))
    assert {n: both.get(n, "t", "t").get_secret_value() for n in values} == values
    with pytest.raises(VaultKeyError, match=new.key_id):
        Vault(sessions, [old], Clock(NOON)).verify("t")

    # The second run skips what is done and carries on.
    progress: list[int] = []
    result = Vault(sessions, [old], Clock(NOON)).reencrypt(new, "cli:ann", progress.append, batch=4)
    assert (result.total, result.already, result.reencrypted) == (11, 4, 7)
    assert progress == [4, 4, 3]
    assert {r.key_id for r in table(sessions, Secret)} == {new.key_id}
    only_new = Vault(sessions, [new], Clock(NOON))
    assert {n: only_new.get(n, "t", "t").get_secret_value() for n in values} == values
    with pytest.raises(VaultKeyError, match=f"written with key {new.key_id}"):
        Vault(sessions, [old], Clock(NOON)).get("secret-00", "t", "t")
    reencrypted = [a for a in accesses(sessions) if a[1] == "reencrypt"]
    assert len(reencrypted) == 11
    assert table(sessions, AuditEntry)[-1].kind == "vault.master_key_rotated"

    again = Vault(sessions, [new], Clock(NOON)).reencrypt(new, "cli:ann")
    assert (again.already, again.reencrypted) == (11, 0)


def test_an_interruption_inside_a_batch_rolls_that_batch_back(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = MasterKey.generate(), MasterKey.generate()
    fill(Vault(sessions, [old], Clock(NOON)), 5)
    calls = {"n": 0}
    real_log = Vault._log

    def failing_log(self: Vault, *args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise Interrupted
        real_log(self, *args, **kwargs)

    monkeypatch.setattr(Vault, "_log", failing_log)
    with pytest.raises(Interrupted):
        Vault(sessions, [old], Clock(NOON)).reencrypt(new, "t", batch=10)
    assert {r.key_id for r in table(sessions, Secret)} == {old.key_id}
    monkeypatch.setattr(Vault, "_log", real_log)
    assert Vault(sessions, [old], Clock(NOON)).reencrypt(new, "t").reencrypted == 5


def test_rotation_reminders_once_per_due_date_and_loud_when_overdue(
    sessions: sessionmaker[Session],
) -> None:
    clock = Clock(NOON)
    vault = Vault(sessions, [MasterKey.generate()], clock)
    vault.set("soon", "v1", "ann", rotate_every_days=10)
    vault.set("later", "v2", "ann", rotate_every_days=90)
    reminders = Vault(sessions, [], clock)

    def posted() -> list[dict[str, Any]]:
        return [m.body for m in table(sessions, OutboxMessage)]

    assert reminders.remind() == {"soon": 0, "overdue": 0}
    clock.now = NOON + timedelta(days=3, hours=1)  # due within a week
    assert reminders.remind() == {"soon": 1, "overdue": 0}
    assert reminders.remind() == {"soon": 0, "overdue": 0}  # once per due date
    [quiet] = posted()
    assert quiet["event"] == "vault.rotation_due"
    assert quiet["loud"] is False
    assert [s["name"] for s in quiet["facts"]["secrets"]] == ["soon"]

    clock.now = NOON + timedelta(days=10)
    assert reminders.remind() == {"soon": 0, "overdue": 1}
    assert reminders.remind() == {"soon": 0, "overdue": 0}
    loud = posted()[-1]
    assert loud["loud"] is True
    assert loud["facts"]["overdue"] is True

    vault.rotate("soon", "v3", "ann")  # a new due date: reminded again in time
    clock.now += timedelta(days=4)
    assert reminders.remind() == {"soon": 1, "overdue": 0}
    assert len(posted()) == 3
    assert all("v1" not in str(body) and "v3" not in str(body) for body in posted())


def test_the_first_run_after_a_long_time_posts_only_the_loud_one(
    sessions: sessionmaker[Session],
) -> None:
    clock = Clock(NOON)
    Vault(sessions, [MasterKey.generate()], clock).set("old", "v", "ann", rotate_every_days=1)
    clock.now = NOON + timedelta(days=30)
    assert Vault(sessions, [], clock).remind() == {"soon": 0, "overdue": 1}
    assert Vault(sessions, [], clock).remind() == {"soon": 0, "overdue": 0}


def test_bad_input_is_refused(sessions: sessionmaker[Session]) -> None:
    vault = Vault(sessions, [MasterKey.generate()], Clock(NOON))
    with pytest.raises(VaultError, match="empty"):
        vault.set("x", "", "ann")
    with pytest.raises(VaultError, match="name"):
        vault.set("bad name", "v", "ann")
    with pytest.raises(VaultError, match="days"):
        vault.set("x", "v", "ann", rotate_every_days=0)
    with pytest.raises(SecretNotFound):
        vault.rotate("missing", "v", "ann")
    with pytest.raises(SecretNotFound):
        vault.delete("missing", "ann")
    assert table(sessions, Secret) == []


# -- settings naming vault secrets ------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EMPIRE_MASTER_KEY", raising=False)
    return tmp_path


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_settings_naming_vault_secrets_are_resolved_and_the_reads_logged(
    sessions: sessionmaker[Session], folder: Path
) -> None:
    key = MasterKey.generate()
    write_key_file(KEY_FILE, key)
    vault = Vault(sessions, [key], Clock(NOON))
    vault.set("stripe", "sk_test_resolved", "ann")
    vault.set("signing", "s" * 40, "ann")
    given = settings(
        STRIPE_API_KEY=SecretStr("vault:stripe"),
        EMPIRE_SIGNING_KEY=SecretStr("vault:signing"),
        SLACK_BOT_TOKEN=SecretStr("xoxb-plain"),
    )
    resolved = resolve(given, sessions, "empire serve")
    assert resolved.STRIPE_API_KEY is not None
    assert resolved.STRIPE_API_KEY.get_secret_value() == "sk_test_resolved"
    assert resolved.EMPIRE_SIGNING_KEY is not None
    assert resolved.EMPIRE_SIGNING_KEY.get_secret_value() == "s" * 40
    assert resolved.SLACK_BOT_TOKEN == given.SLACK_BOT_TOKEN
    assert "sk_test_resolved" not in repr(resolved)
    reads = [a for a in accesses(sessions) if a[1] == "read"]
    assert sorted(reads) == [
        ("signing", "read", "empire serve", "settings"),
        ("stripe", "read", "empire serve", "settings"),
    ]
    plain = settings(STRIPE_API_KEY=SecretStr("sk_plain"))
    assert resolve(plain, sessions, "empire serve") is plain


def test_a_pending_rotation_still_resolves(sessions: sessionmaker[Session], folder: Path) -> None:
    old, new = MasterKey.generate(), MasterKey.generate()
    write_key_file(KEY_FILE, old)
    write_key_file(PENDING_FILE, new)
    Vault(sessions, [new], Clock(NOON)).set("stripe", "sk_test_pending", "ann")
    resolved = resolve(settings(STRIPE_API_KEY=SecretStr("vault:stripe")), sessions, "t")
    assert resolved.STRIPE_API_KEY is not None
    assert resolved.STRIPE_API_KEY.get_secret_value() == "sk_test_pending"


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("missing", "STRIPE_API_KEY: no secret named 'nope' in the vault"),
        ("no key", "STRIPE_API_KEY: names a vault secret, but there is no master key"),
        ("wrong key", "STRIPE_API_KEY: the master key does not open the vault"),
        ("open file", "STRIPE_API_KEY: EMPIRE_MASTER_KEY: .empire-master-key is readable"),
    ],
)
def test_an_unresolvable_setting_is_one_line_naming_it(
    sessions: sessionmaker[Session], folder: Path, case: str, words: str
) -> None:
    right = MasterKey.generate()
    Vault(sessions, [right], Clock(NOON)).set("stripe", "sk_test_hidden", "ann")
    name = "nope" if case == "missing" else "stripe"
    if case in ("missing", "open file"):
        write_key_file(KEY_FILE, right)
    if case == "wrong key":
        write_key_file(KEY_FILE, MasterKey.generate())
    if case == "open file":
        KEY_FILE.chmod(0o644)
    with pytest.raises(VaultSettingError) as caught:
        resolve(settings(STRIPE_API_KEY=SecretStr(f"vault:{name}")), sessions, "empire serve")
    message = str(caught.value)
    assert message.startswith(words), message
    assert "\n" not in message
    assert "sk_test_hidden" not in message
    with sessions.begin() as session:
        reads = session.execute(
            select(func.count()).select_from(SecretAccess).where(SecretAccess.action == "read")
        ).scalar_one()
    assert reads == 0
