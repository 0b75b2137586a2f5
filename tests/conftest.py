from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_session_factory
from tests.databases import drop_template, fresh_postgres, fresh_sqlite, postgres_available

_POSTGRES = postgres_available()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    drop_template()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database; every test using it runs on both kinds."""
    if request.param == "sqlite":
        with fresh_sqlite(tmp_path) as url:
            yield url
        return
    if not _POSTGRES:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable, and CI must test on it")
        pytest.skip("PostgreSQL is not reachable")
    with fresh_postgres() as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)
