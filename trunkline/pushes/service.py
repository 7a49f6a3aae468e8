"""Switch pushes: store what a push can be read into, hold the rest, and read held records again.

A switch retries any non-2xx answer and cannot edit its history, so every CDR that can be read
is stored (through the same rating path as `POST /api/calls`) and every record that cannot is
held in the quarantine byte for byte, in the same transaction: nothing is dropped without a
trace, and a push sent again is stored and held once.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine

from trunkline.call_rates.deck_cache import DeckCache
from trunkline.calls.group_commit import GroupCommit
from trunkline.calls.ingest import Incoming, Ingested, ingest_batch
from trunkline.pushes import repository
from trunkline.switches import repository as endpoints
from trunkline.switches.intake import Push, PushSettings, read_push


def _incoming(org_id: int, push: Push, reprocessed: int | None = None) -> Incoming:
    """The push as a batch whose transaction also holds its unreadable records and, when it
    re-reads held entry `reprocessed`, marks that entry processed."""

    def also(conn: Connection, result: Ingested, now: datetime) -> None:
        result.held_ids = repository.hold(conn, org_id, push.holds, now)
        if reprocessed is not None:
            repository.processed(conn, reprocessed, result.stored_ids, now)

    return Incoming(push.calls, push.billed, len(push.holds), also)


async def accept(commits: GroupCommit, org_id: int, body: bytes, media_type: str, settings: PushSettings) -> Ingested:
    """Store a push, committed with the pushes that arrive with it (see `calls.group_commit`);
    `intake.UnsupportedMedia` or `intake.NothingToRead` when there is nothing to keep."""
    return await commits.store(org_id, len(body), lambda: _incoming(org_id, read_push(body, media_type, settings)))


@dataclass
class Reprocessed:
    processed: int = 0
    still_held: int = 0
    stored_ids: list[int] = field(default_factory=list)
    duplicates: int = 0
    unrated: int = 0
    not_billed: int = 0


def reprocess(engine: Engine, decks: DeckCache, org_id: int, entry_ids: list[int] | None, endpoint_id: int | None) -> Reprocessed:
    """Read held records again with their endpoint's current settings. Each that reads now is
    stored (rated and billed as if pushed now, a duplicate if its CDR was stored meanwhile) and
    marked processed in the same transaction; the others stay held with the new error."""
    outcome = Reprocessed()
    with engine.connect() as conn:
        entries = repository.held(conn, org_id, entry_ids, endpoint_id)
        settings = {row.id: PushSettings(row.id, row.timezone, row.billed_leg) for row in endpoints.of(conn, org_id, {entry.endpoint_id for entry in entries})}
    for entry in entries:
        push = read_push(entry.body, entry.media_type, settings.get(entry.endpoint_id, PushSettings(entry.endpoint_id)))
        if push.holds:
            with engine.begin() as conn:
                repository.still_unreadable(conn, entry.id, push.holds[0].error)
            outcome.still_held += 1
            continue
        result = ingest_batch(engine, decks, org_id, lambda: _incoming(org_id, push, reprocessed=entry.id))
        outcome.processed += 1
        outcome.stored_ids += result.stored_ids
        outcome.duplicates += len(result.duplicate_call_ids)
        outcome.unrated += result.unrated
        outcome.not_billed += result.not_billed
    return outcome
