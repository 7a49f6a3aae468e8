"""Rapid-response calls: nothing is dialled that could not be paid for.

The organization must have outbound voice (product SIPT) enabled, `account_id` must name one of
its accounts, and that account must be able to pay for the call to `callee` as
`accounts.authorize` answers it (a rate matches, and the balance covers at least the cheapest
charged call). The request is then stored `queued` and handed to the dispatcher.
"""

from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from trunkline.accounts import repository as accounts
from trunkline.accounts.authorize import INSUFFICIENT_BALANCE, authorize
from trunkline.accounts.schemas import available_units
from trunkline.call_rates.deck_cache import DeckCache
from trunkline.kit.auth import Principal
from trunkline.kit.clock import utcnow
from trunkline.kit.failures import Forbidden, Invalid, PaymentRequired
from trunkline.products import repository as products
from trunkline.products.catalog import CATALOG
from trunkline.voice import repository
from trunkline.voice.dialer import CallRequest
from trunkline.voice.dispatcher import Dispatcher

PRODUCT = "SIPT"  # outbound voice


def _payable(conn: Connection, decks: DeckCache, org_id: int, account_id: str, callee: str) -> None:
    if products.enabled_at(conn, org_id, PRODUCT) is None:
        raise Forbidden(f"Product {PRODUCT} ({CATALOG[PRODUCT]}) is not enabled for this organization", code="PRODUCT_DISABLED")
    account = accounts.find(conn, org_id, code=account_id)
    if account is None:
        raise Invalid.fields({"name": "account_id", "reason": "no such account"})
    answer = authorize(decks.get(conn, org_id, account.rate_plan_id), callee, available_units(account), utcnow())
    if answer["reason"] == INSUFFICIENT_BALANCE:
        raise PaymentRequired(f"Account {account_id} cannot pay for this call: its available balance is too low", code="INSUFFICIENT_BALANCE")
    if not answer["authorized"]:
        raise Invalid.fields({"name": "callee", "reason": "no rate matches this number"})


def store_request(engine: Engine, decks: DeckCache, dialer: str, who: Principal, account_id: str, callee: str, whisper_text: str) -> CallRequest:
    """Check the call may be dialled and store it `queued`; runs in a worker thread."""
    with engine.begin() as conn:
        _payable(conn, decks, who.org_id, account_id, callee)
        request_id = repository.create(conn, who.org_id, account_id, callee, whisper_text, dialer, utcnow())
    return CallRequest(request_id, account_id, callee, whisper_text)


async def start(engine: Engine, decks: DeckCache, dispatcher: Dispatcher, who: Principal, account_id: str, callee: str, whisper_text: str) -> int:
    """Store a payable call request and have the dispatcher place it in the background; its id."""
    request = await run_in_threadpool(store_request, engine, decks, dispatcher.dialer.name, who, account_id, callee, whisper_text)
    dispatcher.submit(request)
    return request.id
