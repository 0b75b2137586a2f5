"""The shipped migrations build exactly the schema the models describe, safely in parallel."""

from __future__ import annotations

import threading

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Base
from tests.databases import fresh_empty_postgres


def test_the_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrading_twice_changes_nothing(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() == "0006"


def test_two_processes_starting_on_a_fresh_postgresql_database_both_migrate() -> None:
    errors: list[BaseException] = []
    with fresh_empty_postgres() as url:
        engines = [make_engine(url), make_engine(url)]
        barrier = threading.Barrier(2)

        def start(engine: Engine) -> None:
            barrier.wait()
            try:
                upgrade(engine)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=start, args=(e,)) for e in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        for engine in engines:
            engine.dispose()
    assert errors == []
