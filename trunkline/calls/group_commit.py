"""Group commit: small batches of one organization that arrive together are written in one
transaction.

A switch posts one CDR per call leg. Written one transaction each, pushes queue for the write
turn (one writer at a time per SQLite file) and each pays a whole transaction for one row.
Here a batch that arrives while its organization's last transaction is being written waits for
it, and then goes with every other that waited, in the next one. There is no timer: on a quiet
server a batch is written at once. Every caller is answered after the transaction that holds
its calls has committed, with its own outcome, so a 200 still means stored.

Large bodies are parsed inside the write turn, as before (`ingest.ingest_batch`): reading
them costs more than a transaction, and they would hold the small ones up.
"""

import asyncio
from collections.abc import Callable, Sequence

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from trunkline.call_rates.deck_cache import DeckCache
from trunkline.calls.ingest import Incoming, Ingested, as_incoming, ingest_batch, ingest_together
from trunkline.calls.parsing import Cdr
from trunkline.calls.schemas import CallIn

SMALL_BODY = 64 * 1024  # bytes: a body up to this size is read on the event loop and grouped
MOST_CALLS = 5_000  # calls in one grouped transaction; the rest wait for the next


class GroupCommit:
    def __init__(self, engine: Engine, decks: DeckCache) -> None:
        self.engine = engine
        self.decks = decks
        self._waiting: dict[int, list[tuple[Incoming, asyncio.Future]]] = {}
        self._writers: dict[int, asyncio.Task] = {}

    async def store(self, org_id: int, size: int, read: Callable[[], Sequence[CallIn | Cdr] | Incoming]) -> Ingested:
        """Store the batch `read` parses from a body of `size` bytes; answers once it is committed."""
        if size > SMALL_BODY:
            return await run_in_threadpool(ingest_batch, self.engine, self.decks, org_id, read)
        waited = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(org_id, []).append((as_incoming(read()), waited))
        if org_id not in self._writers:
            self._writers[org_id] = asyncio.create_task(self._write(org_id))
        return await waited

    async def _write(self, org_id: int) -> None:
        """Write the organization's waiting batches, a transaction at a time, until none wait."""
        try:
            while waiting := self._waiting.pop(org_id, None):
                taken, calls = 0, 0
                while taken < len(waiting) and (taken == 0 or calls + len(waiting[taken][0].calls) <= MOST_CALLS):
                    calls += len(waiting[taken][0].calls)
                    taken += 1
                if taken < len(waiting):
                    self._waiting[org_id] = waiting[taken:] + self._waiting.get(org_id, [])
                await self._commit(org_id, waiting[:taken])
        finally:
            del self._writers[org_id]

    async def _commit(self, org_id: int, group: list[tuple[Incoming, asyncio.Future]]) -> None:
        batches = [batch for batch, _ in group]
        try:
            outcomes = await run_in_threadpool(ingest_together, self.engine, self.decks, org_id, lambda: batches)
        except Exception as error:  # noqa: BLE001 - handed to the waiting request, which answers it as usual
            if len(group) == 1:
                _answer(group[0][1], error=error)
                return
            for one in group:  # each alone: only the batch that cannot be written fails
                await self._commit(org_id, [one])
            return
        for (_, waited), outcome in zip(group, outcomes):
            _answer(waited, outcome)


def _answer(waited: asyncio.Future, outcome: Ingested | None = None, error: Exception | None = None) -> None:
    if waited.done():  # its client went away; the calls are stored all the same
        return
    if error is not None:
        waited.set_exception(error)
    else:
        waited.set_result(outcome)
