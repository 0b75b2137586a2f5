"""Fresh, migrated databases for tests: a SQLite file, or a PostgreSQL database.

PostgreSQL databases are cloned from a template migrated once per test process, so each
test gets an empty schema in a few milliseconds.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from storage.db import make_engine
from storage.migrate import upgrade

ADMIN_URL = os.environ.get(
    "EMPIRE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_template: str | None = None


def _admin_dsn() -> str:
    url = make_url(ADMIN_URL)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_available() -> bool:
    try:
        with psycopg.connect(_admin_dsn(), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _url_for(name: str) -> str:
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _execute(sql: str) -> None:
    with psycopg.connect(_admin_dsn(), autocommit=True) as connection:
        connection.execute(sql)  # type: ignore[arg-type]


def _postgres_template() -> str:
    global _template
    if _template is None:
        name = f"empire_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        _execute(f'CREATE DATABASE "{name}"')
        engine = make_engine(_url_for(name))
        upgrade(engine)
        engine.dispose()
        _template = name
    return _template


def drop_template() -> None:
    global _template
    if _template is not None:
        _execute(f'DROP DATABASE IF EXISTS "{_template}" WITH (FORCE)')
        _template = None


@contextmanager
def fresh_postgres() -> Iterator[str]:
    name = f"empire_t_{uuid.uuid4().hex[:12]}"
    _execute(f'CREATE DATABASE "{name}" TEMPLATE "{_postgres_template()}"')
    try:
        yield _url_for(name)
    finally:
        _execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_empty_postgres() -> Iterator[str]:
    """A database with no schema at all, for tests of migrating itself."""
    if not postgres_available():
        import pytest

        pytest.skip("PostgreSQL is not reachable")
    name = f"empire_e_{uuid.uuid4().hex[:12]}"
    _execute(f'CREATE DATABASE "{name}"')
    try:
        yield _url_for(name)
    finally:
        _execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_sqlite(folder: Path) -> Iterator[str]:
    url = f"sqlite:///{folder / 'empire.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
