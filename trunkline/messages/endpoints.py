"""`/api/messages`: send SMS (one request, or a batch), count and price a text before sending,
and follow each message through its states."""

from functools import partial
from typing import Annotated

from fastapi import Request

from trunkline.call_rates.deck_cache import DeckCache
from trunkline.kit import ids
from trunkline.kit.auth import Principal, caller
from trunkline.kit.clock import utcnow
from trunkline.kit.pagination import ListQuery, list_page
from trunkline.kit.resources import Database, fetch_one, read
from trunkline.kit.responses import done, item
from trunkline.kit.routing import resource_router
from trunkline.kit.schema import page_of
from trunkline.messages import repository as store
from trunkline.messages import service
from trunkline.messages.encoding import measure
from trunkline.messages.schemas import FIELDS, Accepted, Message, MessageBatch, MessageCreate, MessageDetail, Preview, PreviewResult, present, present_event
from trunkline.rating.money import from_units
from trunkline.webhooks import service as webhooks

router = resource_router("/messages", "messages")
SCOPES = ("messages",)
Reader = Annotated[Principal, caller("messages.read")]
Sender = Annotated[Principal, caller("messages.create")]

SEND_HELP = (
    "Answers 202 once every message is stored `accepted`; the dispatcher then sends each through the SMSC its route "
    "picks: queued → submitted (the SMSC acknowledged every segment) → delivered | undeliverable | expired | rejected | "
    "failed, each state kept with its time and error code (GET /api/messages/{id}). Nothing is stored when anything is "
    "refused: 403 PRODUCT_DISABLED, 409 NO_SMSC_CONNECTION (no route to a recipient), 422 for a recipient who opted out "
    "of marketing (MKT) or a number the account's SMS plan has no rate for, 402 INSUFFICIENT_BALANCE. Charged to "
    "`account_id`, a message is priced per segment by the account's SMS plan and reserved at once; it is refunded "
    "when it ends rejected or failed. With `callback_url`, each state the message reaches is also POSTed there as a "
    "signed message.* event (Standard Webhooks), through the organization's webhook with that URL or one made for it "
    "(GET /api/webhooks; POST /api/webhooks/{id}/rotate to learn its secret). Delivery is at least once: a message whose submit the SMSC never acknowledged "
    "(the connection dropped) is sent again, so a recipient may rarely get it twice."
)


def _accept(request: Request, db, who: Principal, messages: list[MessageCreate]):
    state, now = request.app.state, utcnow()
    decks: DeckCache = state.decks
    with db.begin() as conn:
        callbacks = partial(webhooks.callback, conn, who.org_id, box=state.secrets, allow_private=state.settings.webhooks_allow_private, now=now)
        rows = service.accept(conn, who.org_id, messages, lambda plan_id: decks.get(conn, who.org_id, plan_id), now, callbacks=callbacks)
    request.app.state.messages.wake()
    shown = [{
        "id": ids.encode(row["id"]), "to": row["recipient"], "status": row["status"], "encoding": row["encoding"], "segments": row["segments"],
        "price": None if row["price"] is None else from_units(row["price"]), "currency": row["currency"],
    } for row in rows]
    return done(202, messages=shown)


@router.post("", status_code=202, response_model=Accepted, summary="Send a message to one or more recipients", description=SEND_HELP)
def send_message(body: MessageCreate, request: Request, db: Database, who: Sender):
    return _accept(request, db, who, [body])


@router.post("/batch", status_code=202, response_model=Accepted, summary="Send a batch of messages", description=SEND_HELP + " The batch is accepted whole or not at all.")
def send_batch(body: MessageBatch, request: Request, db: Database, who: Sender):
    return _accept(request, db, who, body.messages)


@router.post(
    "/preview",
    response_model=PreviewResult,
    summary="Count a text's segments, and price it, without sending",
    description="The encoding the text needs (GSM 03.38's default alphabet, where the extension characters ^{}\\[~]|€ "
    "count two, else UCS-2, where a character beyond the BMP counts two), its units and segments (160/153 or 70/67 "
    "per segment). With `to` and `account_id`, also its price at the account's SMS plan now.",
)
def preview_message(body: Preview, request: Request, db: Database, who: Sender):
    measured = measure(body.text)
    price = currency = None
    if body.to and body.account_id:
        decks: DeckCache = request.app.state.decks
        with db.connect() as conn:
            account = service.payer(conn, who.org_id, body.account_id)
            priced = service.price(account, lambda plan_id: decks.get(conn, who.org_id, plan_id), body.to, measured.segments, utcnow())
        price, currency = from_units(priced.price), priced.currency
    return done(encoding=measured.encoding, units=measured.units, segments=measured.segments, per_segment=measured.per_segment, price=price, currency=currency)


@router.get("", response_model=page_of(Message), summary="List messages, sent and received")
def list_messages(request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        return list_page(request, params, conn, store.table, who.org_id, FIELDS, present)


@router.get("/{id}", response_model=MessageDetail, summary="Retrieve a message with its states")
async def get_message(id: str, db: Database, who: Reader):
    row = await fetch_one(db, store.table, who.org_id, id, "Message")
    events = await read(db, lambda conn: store.events_of(conn, row.id))
    return item({**present(row), "events": [present_event(event) for event in events]})
