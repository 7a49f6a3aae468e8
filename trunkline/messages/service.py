"""Messaging policy: what may be sent, what it costs, and what each state change does.

A request is accepted whole or not at all, in one transaction: every recipient must have an
SMSC route (409 `NO_SMSC_CONNECTION` otherwise, never a silent success), marketing (MKT) may not
reach a number that opted out (422 naming it; other products may), and a message charged to an
account is priced per segment by the account's SMS plan and reserved from its balance at once
(402 `INSUFFICIENT_BALANCE` when the balance cannot cover the request). A message that ends
rejected or failed gets its price back; delivered, undeliverable and expired ones keep it, as
the SMSC charged for them.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from trunkline.accounts import repository as accounts
from trunkline.accounts.charging import Charge
from trunkline.accounts.schemas import AccountType, TransactionKind
from trunkline.call_rates.deck_cache import PricedDeck
from trunkline.kit import ids
from trunkline.kit.failures import Conflict, Forbidden, Invalid, PaymentRequired
from trunkline.messages import events
from trunkline.messages import repository as store
from trunkline.messages.encoding import MAX_SEGMENTS, measure
from trunkline.messages.schemas import FINAL, REFUNDED, MessageCreate, MessageStatus, SmsProduct
from trunkline.products import repository as products
from trunkline.products.catalog import CATALOG
from trunkline.rating import normalize_number, price_message
from trunkline.smsc import service as smsc

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT"})  # CTIA's opt-out keywords
MAX_PARTS = 10  # segments a message may take: beyond it a text is a document, and costs ten messages


@dataclass(frozen=True)
class Concealed:
    """A text stored and shown masked (`shown`) while the real one travels sealed with the server
    key until it is sent: a passcode is never readable from the database or the API."""

    shown: str
    sealed: str


@dataclass(frozen=True)
class Priced:
    """What one message costs the account it is charged to."""

    account: object
    price: int
    currency: str
    rate_plan_id: int
    prefix: str


def _enabled(conn: Connection, org_id: int, wanted: set[str]) -> None:
    for product in sorted(wanted):
        if products.enabled_at(conn, org_id, product) is None:
            raise Forbidden(f"Product {product} ({CATALOG[product]}) is not enabled for this organization", code="PRODUCT_DISABLED")


def _numbers(request: MessageCreate) -> list[str]:
    numbers = []
    for raw in request.to:
        number = normalize_number(raw)
        if number is None:
            raise Invalid.fields({"name": "to", "reason": f"{raw} is not a number"})
        numbers.append(number)
    return numbers


def payer(conn: Connection, org_id: int, account_id: str):
    """The account messages are charged to, by its code; 422 when there is none or it has no SMS plan."""
    account = accounts.find(conn, org_id, code=account_id)
    if account is None:
        raise Invalid.fields({"name": "account_id", "reason": "no such account"})
    if account.sms_rate_plan_id is None:
        raise Invalid.fields({"name": "account_id", "reason": "the account has no SMS rate plan (sms_rate_plan_id)"})
    return account


def price(account, decks: Callable[[int], PricedDeck], number: str, segments: int, at: datetime) -> Priced:
    """What a message of `segments` to `number` costs `account` (see `payer`), by its SMS plan at
    `at`; 422 when the plan has no rate for the number."""
    rate = decks(account.sms_rate_plan_id).match(number, at)
    if rate is None:
        raise Invalid.fields({"name": "to", "reason": f"the account's SMS plan has no rate for {number}"})
    return Priced(account, price_message(rate, segments), account.currency, account.sms_rate_plan_id, rate.prefix)


def accept(
    conn: Connection, org_id: int, requests: list[MessageCreate], decks: Callable[[int], PricedDeck], now: datetime,
    concealed: Concealed | None = None, callbacks: Callable[[str], int] | None = None,
) -> list[dict]:
    """Store every message of `requests` accepted, its price reserved; what each answer lists.
    With `concealed`, every message stores its text masked and sealed instead. `callbacks` gives
    the webhook that delivers to a callback_url (webhooks.service.callback)."""
    _enabled(conn, org_id, {str(request.product) for request in requests})
    rows, reserved, payers, hooks = [], {}, {}, {}
    for request in requests:
        measured = measure(request.text)
        if measured.segments > MAX_PARTS:
            raise Invalid.fields({"name": "text", "reason": f"{measured.segments} segments of {measured.encoding}; at most {MAX_PARTS} (MAX_SEGMENTS {MAX_SEGMENTS} is SMPP's own)"})
        numbers = _numbers(request)
        if request.product == SmsProduct.MKT:
            refused = sorted(store.opted_out(conn, org_id, numbers))
            if refused:
                raise Invalid.fields(*({"name": "to", "reason": f"{number} opted out of marketing messages"} for number in refused))
        due = max(now, request.scheduled_at) if request.scheduled_at else now
        if request.account_id and request.account_id not in payers:
            payers[request.account_id] = payer(conn, org_id, request.account_id)
        if request.callback_url and request.callback_url not in hooks:
            if callbacks is None:
                raise Invalid.fields({"name": "callback_url", "reason": "not taken here"})
            hooks[request.callback_url] = callbacks(request.callback_url)
        for number in numbers:
            connection_id = smsc.pick(conn, org_id, str(request.product), number)
            if connection_id is None:
                raise Conflict(f"No SMSC connection routes {request.product} messages to +{number}: add one (/api/smsc_connections) and a route (/api/sms_routes)", code="NO_SMSC_CONNECTION")
            priced = price(payers[request.account_id], decks, number, measured.segments, now) if request.account_id else None
            if priced is not None:
                reserved.setdefault(priced.account.id, Charge(0)).amount -= priced.price
            rows.append({
                "id": ids.new_id(), "org_id": org_id, "direction": "out", "product": str(request.product), "sender": request.sender, "recipient": number,
                "text": concealed.shown if concealed else request.text, "sealed_text": concealed and concealed.sealed, "encoding": measured.encoding, "segments": measured.segments, "client_ref": request.client_ref,
                "callback_url": request.callback_url, "callback_id": hooks.get(request.callback_url), "account_id": request.account_id,
                "connection_id": connection_id, "account_ref": priced and priced.account.id, "rate_plan_id": priced and priced.rate_plan_id, "prefix": priced and priced.prefix,
                "price": priced and priced.price, "currency": priced and priced.currency, "status": MessageStatus.accepted.value, "attempts": 0,
                "scheduled_at": request.scheduled_at, "expires_at": due + timedelta(seconds=request.validity), "next_attempt_at": due,
                "created_at": now, "updated_at": now,
            })
    _reserve(conn, org_id, reserved, now)
    store.create(conn, rows, now)
    events.announce(conn, [(org_id, row["id"], MessageStatus.accepted.value) for row in rows], now)
    return rows


def _reserve(conn: Connection, org_id: int, reserved: dict[int, Charge], now: datetime) -> None:
    """Take the prices from the accounts, refusing (and so rolling back) any it would take
    below what the account may spend: checked on the balance after the update, so concurrent
    requests cannot both pass."""
    for ref, (_, balance) in accounts.apply(conn, org_id, TransactionKind.messages, reserved, now).items():
        account = accounts.find(conn, org_id, account_ref=ref)
        floor = -account.credit_limit if account.type == AccountType.postpaid else 0
        if balance < floor:
            raise PaymentRequired(f"Account {account.account_id} cannot pay for these messages: its available balance is too low", code="INSUFFICIENT_BALANCE")


@dataclass(frozen=True)
class Ending:
    """A sent message's final state, with the SMSC's error code and our words for it."""

    message: object
    status: MessageStatus
    error_code: int | None = None
    detail: str | None = None


def finish(conn: Connection, endings: list[Ending], now: datetime) -> None:
    """Move sent messages to their final states, each once (one already final is left as it
    is); a rejected or failed one gets its price back. A few statements for the whole list."""
    endings = [ending for ending in endings if ending.message.status not in FINAL]
    if not endings:
        return
    store.set_statuses(conn, [
        {"message_id": ending.message.id, "status": ending.status.value, "error_code": ending.error_code, "error": ending.detail} for ending in endings
    ], now)
    store.add_events(conn, [(ending.message.id, ending.status.value, ending.error_code, ending.detail) for ending in endings], now)
    events.announce(conn, [(ending.message.org_id, ending.message.id, ending.status.value) for ending in endings], now)
    for ending in endings:
        message = ending.message
        if ending.status in REFUNDED and message.price and message.account_ref is not None:
            accounts.apply(conn, message.org_id, TransactionKind.message_refund, {message.account_ref: Charge(message.price)}, now, note=ids.encode(message.id))


def opt_out_word(text: str) -> str | None:
    """The opt-out keyword an inbound text is, if it is one (alone, any case, trimmed)."""
    word = text.strip().upper()
    return word if word in STOP_WORDS else None
