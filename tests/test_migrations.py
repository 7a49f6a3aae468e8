"""The Alembic migrations build exactly the schema the code declares, on every backend, and
the ones that move data keep it."""

import json
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from tests.harness import POSTGRES_URL, fresh_postgres_database, require_service
from trunkline.call_rates import quote
from trunkline.call_rates.deck_cache import DeckCache
from trunkline.db.engine import MIGRATIONS, make_engine, migrate
from trunkline.db.tables import EVER, call_rates, calls, metadata
from trunkline.kit.config import Settings
from trunkline.rating import Rate, price

BACKENDS = pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])


def empty_database(backend: str, tmp_path, name: str):
    """An engine on a new, empty database of `backend`."""
    if backend == "postgresql":
        require_service("PostgreSQL", POSTGRES_URL)
        return make_engine(Settings(database_url=fresh_postgres_database(name)).sqlalchemy_url)
    return make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")


@BACKENDS
def test_migrations_match_tables_and_rerun_cleanly(backend, tmp_path, worker_id):
    engine = empty_database(backend, tmp_path, f"{worker_id}_migrations")
    migrate(engine)
    migrate(engine)  # a second worker starting later finds nothing to do
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    engine.dispose()


def _to(engine, revision: str, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


@BACKENDS
def test_0007_keeps_the_rollups_and_downgrade_rebuilds_call_totals(backend, tmp_path, worker_id):
    """Revision 0007 drops call_totals and (SQLite) rebuilds the rollups without rowids: their rows
    survive, and going back recomputes call_totals from the calls."""
    engine = empty_database(backend, tmp_path, f"{worker_id}_m0007")
    _to(engine, "0006")
    rollup = "(1, '2024-05-01', 'acct-1', 'LOCAL', 2, 1, 0, 60, 1200)"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO organizations (id, name, is_operator, created_at, deck_version) VALUES (1, 'o', false, '2024-01-01 00:00:00+00', 0)"))
        for number, billsec, cost in ((1, 60, 1200), (2, 0, None)):
            conn.execute(text(
                "INSERT INTO calls (id, org_id, call_id, account_id, callee, start_at, duration, billsec, rated, cost, prefix, rate_type, created_at, rated_at) "
                f"VALUES ({number}, 1, 'c{number}', 'acct-1', '441', '2024-05-01 10:00:00+00', 65, {billsec}, {'true' if cost else 'false'}, "
                f"{cost or 'NULL'}, '44', 'LOCAL', '2024-05-01 10:00:00+00', '2024-05-01 10:00:00+00')"
            ))
        conn.execute(text(f"INSERT INTO call_totals_by_account (org_id, day, account_id, rate_type, calls, answered, unrated, billsec, cost) VALUES {rollup}"))
    _to(engine, "head")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT org_id, CAST(day AS TEXT), account_id, rate_type, calls, answered, unrated, billsec, cost FROM call_totals_by_account")).all() == [
            (1, "2024-05-01", "acct-1", "LOCAL", 2, 1, 0, 60, 1200)
        ]
        if backend == "sqlite":
            assert "WITHOUT ROWID" in conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'call_totals_by_account'")).scalar()
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    _to(engine, "0006", down=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT org_id, CAST(day AS TEXT), account_id, rate_type, prefix, calls, answered, unrated, billsec, cost FROM call_totals")).all() == [
            (1, "2024-05-01", "acct-1", "LOCAL", "44", 2, 1, 1, 60, 1200)
        ]
    engine.dispose()


@BACKENDS
def test_0008_keeps_each_calls_rate_terms_and_downgrade_restores_the_objects(backend, tmp_path, worker_id):
    """Revision 0008 stores a call's rate as its pricing terms (the rest is in the call's columns);
    a call priced before it still shows the same breakdown, and going back rebuilds the object."""
    engine = empty_database(backend, tmp_path, f"{worker_id}_m0008")
    _to(engine, "0007")
    rate = {"id": 7, "prefix": "44", "type": "LOCAL", "free_seconds": 0, "grace_period": 5, "interval_1": 60, "interval_n": 6,
            "connect_fee": 100, "postcall_surcharge": 0, "price_1": 1200, "price_n": 1000}
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO organizations (id, name, is_operator, created_at, deck_version) VALUES (1, 'o', false, '2024-01-01 00:00:00+00', 0)"))
        for number, breakdown in ((1, json.dumps(rate)), (2, None)):
            conn.execute(text(
                "INSERT INTO calls (id, org_id, call_id, callee, start_at, duration, billsec, rated, cost, rate_id, prefix, rate_type, breakdown, created_at, rated_at) "
                f"VALUES ({number}, 1, 'c{number}', '441', '2024-05-01 10:00:00+00', 125, 125, {'true' if breakdown else 'false'}, 100, 7, '44', 'LOCAL', "
                ":breakdown, '2024-05-01 10:00:00+00', '2024-05-01 10:00:00+00')"
            ), {"breakdown": breakdown})
    _to(engine, "head")
    with engine.connect() as conn:
        rows = conn.execute(select(calls).order_by(calls.c.id)).all()
    assert rows[0].breakdown == [0, 5, 60, 6, 100, 0, 1200, 1000] and rows[1].breakdown is None
    assert quote.breakdown(rows[0]) == quote.shown_breakdown(price(Rate(**rate), 125))
    _to(engine, "0007", down=True)
    with engine.connect() as conn:
        assert conn.execute(select(calls.c.breakdown).order_by(calls.c.id)).scalars().all() == [rate, None]
    engine.dispose()


@BACKENDS
def test_0009_keeps_stored_calls_billed_and_endpoints_reading_utc(backend, tmp_path, worker_id):
    """Calls stored before 0009 were all billed, and endpoints read times as UTC and billed every
    leg they were sent: the new columns default to exactly that, and downgrade drops them."""
    engine = empty_database(backend, tmp_path, f"{worker_id}_m0009")
    _to(engine, "0008")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO organizations (id, name, is_operator, created_at, deck_version) VALUES (1, 'o', false, '2024-01-01 00:00:00+00', 0)"))
        conn.execute(text(
            "INSERT INTO calls (id, org_id, call_id, callee, start_at, duration, billsec, rated, cost, created_at, rated_at) "
            "VALUES (1, 1, 'c1', '441', '2024-05-01 10:00:00+00', 65, 60, true, 1200, '2024-05-01 10:00:00+00', '2024-05-01 10:00:00+00')"
        ))
        conn.execute(text(
            "INSERT INTO endpoints (id, org_id, name, type, login, password_hash, created_at, rotated_at) "
            "VALUES (2, 1, 'fs', 'cdr_push', 'ep_x', 'h', '2024-01-01 00:00:00+00', '2024-01-01 00:00:00+00')"
        ))
    _to(engine, "head")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT billed, leg, linked_id FROM calls")).one() == (True, None, None)
        assert conn.execute(text("SELECT timezone, billed_leg, push_limit FROM endpoints")).one() == ("UTC", "a", None)
    _to(engine, "0008", down=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT call_id FROM calls")).scalars().all() == ["c1"]
        assert "billed" not in {column for column in conn.execute(text("SELECT * FROM calls")).keys()}
    engine.dispose()


@BACKENDS
def test_0013_moves_every_deck_to_its_organizations_default_plan(backend, tmp_path, worker_id):
    """Each organization gets a default plan whose id is its own, its rates move there in force
    from the beginning in every period, and its decks price as before; going back keeps the
    default plans' rates in force."""
    engine = empty_database(backend, tmp_path, f"{worker_id}_m0013")
    _to(engine, "0012")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO organizations (id, name, is_operator, created_at, deck_version) VALUES (1, 'o', false, '2024-01-01 00:00:00+00', 0)"))
        conn.execute(text(
            "INSERT INTO call_rates (id, org_id, prefix, type, free_seconds, grace_period, interval_1, interval_n, connect_fee, "
            "postcall_surcharge, price_1, price_n, created_at, updated_at) "
            "VALUES (7, 1, '44', 'LOCAL', 0, 0, 60, 6, 0, 0, 1200, 1200, '2024-01-01 00:00:00+00', '2024-01-01 00:00:00+00')"
        ))
    _to(engine, "head")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, org_id, name, currency, kind, timezone FROM rate_plans")).one() == (1, 1, "Default", "USD", "sell", "UTC")
        assert conn.execute(select(call_rates.c.plan_id, call_rates.c.period, call_rates.c.effective_from, call_rates.c.effective_to)).one() == (1, "", EVER, None)
        deck = DeckCache().get(conn, 1)
        assert deck.plan.timeless and deck.match("4420", datetime(2026, 1, 1, tzinfo=UTC)).id == 7
    _to(engine, "0012", down=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, prefix FROM call_rates")).all() == [(7, "44")]
    engine.dispose()


@BACKENDS
def test_0015_gives_existing_accounts_utc_and_no_tax(backend, tmp_path, worker_id):
    """Accounts stored before 0015 get the timezone UTC and tax rate 0 (their invoices' months are
    UTC months, untaxed); downgrade drops the invoices and the two columns, and keeps the accounts."""
    engine = empty_database(backend, tmp_path, f"{worker_id}_m0015")
    _to(engine, "0014")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO organizations (id, name, is_operator, created_at, deck_version) VALUES (1, 'o', false, '2024-01-01 00:00:00+00', 0)"))
        conn.execute(text(
            "INSERT INTO accounts (id, org_id, account_id, name, currency, type, balance, credit_limit, created_at, updated_at) "
            "VALUES (2, 1, 'acct-1', 'A', 'USD', 'prepaid', -1200, 0, '2024-01-01 00:00:00+00', '2024-01-01 00:00:00+00')"
        ))
    _to(engine, "head")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT account_id, balance, timezone, tax_rate FROM accounts")).one() == ("acct-1", -1200, "UTC", 0)
    _to(engine, "0014", down=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT account_id, balance FROM accounts")).one() == ("acct-1", -1200)
        assert "timezone" not in set(conn.execute(text("SELECT * FROM accounts")).keys())
    engine.dispose()
