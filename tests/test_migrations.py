"""The Alembic migrations build exactly the schema the code declares, on every backend."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.conftest import POSTGRES_URL, fresh_postgres_database, require_service
from trunkline.config import Settings
from trunkline.store.db import make_engine, migrate
from trunkline.store.tables import metadata


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_migrations_match_tables_and_rerun_cleanly(backend, tmp_path, worker_id):
    if backend == "postgresql":
        require_service("PostgreSQL", POSTGRES_URL)
        url = Settings(database_url=fresh_postgres_database(f"{worker_id}_migrations")).sqlalchemy_url
    else:
        url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    migrate(engine)  # a second worker starting later finds nothing to do
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    engine.dispose()
