"""What a switch push becomes: the CDRs to store (each billed or not), and the records to hold.

The rule for switch pushes, which cannot edit their history and retry until they get a 2xx:
every CDR that can be read is stored; one that cannot be rated (no destination, no prefix)
is stored unrated with its reason; one that cannot be read at all is held in the quarantine
byte for byte with the error, to be processed again once the endpoint's settings are fixed.
Nothing is dropped without a trace. Only a payload of an unknown media type or with no
record in it is refused.
"""

from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Engine

from trunkline.call_rates.deck_cache import DeckCache
from trunkline.calls.ingest import Incoming, ingest_batch
from trunkline.kit.errors import problems
from trunkline.calls.schemas import SwitchCall
from trunkline.switches import repository as endpoints
from trunkline.quarantine import repository as quarantine
from trunkline.quarantine.repository import Hold
from trunkline.switches.records import SwitchCdrError
from trunkline.switches import asterisk, freeswitch

FREESWITCH = (
    "application/json",
    "application/xml",
    "text/xml",
    freeswitch.FORM,
    freeswitch.PLAINTEXT,
    freeswitch.BASE64,
)
ASTERISK = ("text/csv", "text/plain")
MEDIA_TYPES = FREESWITCH + ASTERISK
BILLED_LEGS = {"a": frozenset("a"), "b": frozenset("b"), "both": frozenset("ab")}
_call = TypeAdapter(SwitchCall)


class UnsupportedMedia(ValueError):
    """The body is of a media type no switch sends here."""


class NothingToRead(ValueError):
    """The body holds no record at all."""


@dataclass(frozen=True, slots=True)
class PushSettings:
    """How an endpoint's CDRs are read and billed."""

    endpoint_id: int | None = None
    timezone: str = "UTC"
    billed_leg: str = "a"

    @property
    def zone(self) -> tzinfo:
        return UTC if self.timezone == "UTC" else ZoneInfo(self.timezone)


def read_push(body: bytes, media_type: str, settings: PushSettings) -> Incoming:
    """The push's CDRs and holds; `UnsupportedMedia` or `NothingToRead` when there is nothing to keep."""
    if media_type not in MEDIA_TYPES:
        raise UnsupportedMedia(f"Unsupported media type {media_type or '(none)'}; send one of {', '.join(MEDIA_TYPES)}")
    if not body.strip():
        raise NothingToRead("Empty body: send a CDR")
    incoming = Incoming([], [], [])
    billed_legs = BILLED_LEGS[settings.billed_leg]
    for raw, line, cdr, error in _records(body, media_type, settings.zone):
        if cdr is not None:
            try:
                call = _call.validate_python(cdr)
            except ValidationError as exc:
                error = _problems(exc)
            else:
                incoming.calls.append(call)
                incoming.billed.append(call.leg is None or call.leg.value in billed_legs)
                continue
        incoming.holds.append(Hold(settings.endpoint_id, media_type, raw, error or "unreadable", line))
    return incoming


def _records(body: bytes, media_type: str, zone: tzinfo) -> list[tuple[bytes, int | None, dict | None, str | None]]:
    """(bytes, line, CDR or None, error or None) per record of the body."""
    if media_type in ASTERISK:
        try:
            return [(line.raw, line.number, line.cdr, line.error) for line in asterisk.lines(body, zone)]
        except SwitchCdrError as exc:
            if exc.reason == "no CDR lines":
                raise NothingToRead("The payload holds no CDR line") from None
            return [(body, None, None, exc.reason)]
    try:
        return [(body, None, cdr, None) for cdr in freeswitch.parse(body, media_type, zone)]
    except SwitchCdrError as exc:
        return [(body, None, None, exc.reason)]


def _problems(exc: ValidationError) -> str:
    return "Invalid CDR: " + "; ".join(f"{problem['name'] or 'cdr'}: {problem['reason']}" for problem in problems(exc))


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
        entries = quarantine.held(conn, org_id, entry_ids, endpoint_id)
        settings = {row.id: PushSettings(row.id, row.timezone, row.billed_leg) for row in endpoints.of(conn, org_id, {entry.endpoint_id for entry in entries})}
    for entry in entries:
        incoming = read_push(entry.body, entry.media_type, settings.get(entry.endpoint_id, PushSettings(entry.endpoint_id)))
        if incoming.holds:
            with engine.begin() as conn:
                quarantine.still_unreadable(conn, entry.id, incoming.holds[0].error)
            outcome.still_held += 1
            continue
        incoming.reprocessed = entry.id
        result = ingest_batch(engine, decks, org_id, lambda: incoming)
        outcome.processed += 1
        outcome.stored_ids += result.stored_ids
        outcome.duplicates += len(result.duplicate_call_ids)
        outcome.unrated += result.unrated
        outcome.not_billed += result.not_billed
    return outcome
