"""`/api/accounts`: customer accounts, their ledger, and the switch's question "may this call start?".

`{id}` is the account's id, or `code:<account_id>` (the operator's code, which switches
know), on every route here.
"""

from typing import Annotated

from fastapi import Path, Query, Request
from pydantic import AwareDatetime

from trunkline.accounts import repository as store
from trunkline.accounts import service
from trunkline.accounts.authorize import authorize
from trunkline.accounts.schemas import (
    FIELDS,
    TRANSACTION_FIELDS,
    Account,
    AccountCreate,
    AccountUpdate,
    Authorization,
    Credit,
    CreditResult,
    Transaction,
    TransactionKind,
    available_units,
    present,
    present_transaction,
)
from trunkline.call_rates.service import current_deck
from trunkline.kit import ids
from trunkline.kit.auth import Principal, caller
from trunkline.kit.clock import utcnow
from trunkline.kit.errors import not_found
from trunkline.kit.pagination import ListQuery, list_page
from trunkline.kit.resources import Database, changes
from trunkline.kit.responses import done, item, saved
from trunkline.kit.routing import resource_router, update_routes
from trunkline.kit.schema import Done, page_of, saved_of
from trunkline.rating.money import from_units, to_units

router = resource_router("/accounts", "accounts")
SCOPES = ("accounts",)  # the scope resources these routes guard
Reader = Annotated[Principal, caller("accounts.read")]
Updater = Annotated[Principal, caller("accounts.update")]
CODE = "code:"
AccountRef = Annotated[str, Path(description="The account's id, or code:<account_id> (its code, URL-encoded)")]


def _plan_of(account) -> int | None:
    return account.rate_plan_id


def _find(conn, org_id: int, id: str, read=store.find):
    """The account named by `id` (its id, or code:<account_id>), as `read` finds it; 404 otherwise."""
    if id.startswith(CODE):
        row = read(conn, org_id, code=id.removeprefix(CODE))
    else:
        account_ref = ids.decode(id)
        row = read(conn, org_id, account_ref) if account_ref is not None else None
    if row is None:
        raise not_found("Account")
    return row


@router.get("", response_model=page_of(Account), summary="List accounts")
def list_accounts(request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        return list_page(request, params, conn, store.table, who.org_id, FIELDS, present)


@router.post(
    "",
    response_model=saved_of(Account),
    summary="Create an account",
    description="Calls whose account_id is this account's code are charged to it from now on. "
    "The balance starts at 0; fund it with POST /api/accounts/{id}/credit.",
)
def create_account(body: AccountCreate, db: Database, who: Annotated[Principal, caller("accounts.create")]):
    with db.begin() as conn:
        account_ref = service.create(conn, who.org_id, body.model_dump(), utcnow())
        return saved(present(store.find(conn, who.org_id, account_ref)))


@router.get("/{id}", response_model=Account, summary="Retrieve an account")
def get_account(id: AccountRef, db: Database, who: Reader):
    with db.connect() as conn:
        row = _find(conn, who.org_id, id)
    return item(present(row))


def update_account(id: AccountRef, body: AccountUpdate, db: Database, who: Updater):
    values = changes(body, nullable=frozenset({"rate_plan_id", "sms_rate_plan_id", "low_balance"}))
    with db.begin() as conn:
        account = _find(conn, who.org_id, id)
        service.change(conn, who.org_id, account, values, utcnow())
        return saved(present(store.find(conn, who.org_id, account.id)))


update_routes(
    router,
    "/{id}",
    update_account,
    "Update an account",
    "Changes only the fields sent; POST, PATCH and PUT behave the same. The balance moves only "
    "through POST /api/accounts/{id}/credit and charged calls. Changing account_id changes which future "
    "calls are charged here; calls already charged stay with this account.",
    Account,
)


@router.delete(
    "/{id}",
    response_model=Done,
    summary="Delete an account",
    description="Only an account without history: one with ledger entries (top-ups, adjustments, charged calls) "
    "or invoices is refused with 409, so the ledger, the calls charged to it and its invoices are never lost.",
)
def delete_account(id: AccountRef, db: Database, who: Annotated[Principal, caller("accounts.delete")]):
    with db.begin() as conn:
        store.remove(conn, who.org_id, _find(conn, who.org_id, id).id)
    return done()


@router.post(
    "/{id}/credit",
    response_model=CreditResult,
    summary="Top up or adjust the balance",
    description="`topup` (the default) adds a positive amount; `adjustment` corrects either way (a negative "
    "amount takes money away). Recorded in the ledger with the note.",
)
def credit_account(id: AccountRef, body: Credit, db: Database, who: Updater):
    with db.begin() as conn:
        row = _find(conn, who.org_id, id)
        entry = store.credit(conn, who.org_id, row.id, to_units(body.amount), TransactionKind(body.kind), body.note, utcnow())
        row = store.find(conn, who.org_id, row.id) if entry is not None else None
    if row is None:
        raise not_found("Account")
    return done(id=ids.encode(entry), balance=from_units(row.balance), available=from_units(available_units(row)))


@router.get(
    "/{id}/transactions",
    response_model=page_of(Transaction),
    summary="List an account's ledger",
    description="Every change of the balance, newest first: top-ups, adjustments, calls charged (one entry "
    "per account per ingest batch, `calls` saying how many) and re-rating.",
)
def list_transactions(id: AccountRef, request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        account = _find(conn, who.org_id, id)
        ledger = store.ledger
        return list_page(request, params, conn, ledger, who.org_id, TRANSACTION_FIELDS, present_transaction, ledger.c.account_ref == account.id)


@router.get(
    "/{id}/authorize",
    response_model=Authorization,
    summary="May a call start, and for how long",
    description="The switch's real-time question. Matches `number` against the deck as rating does and answers "
    "the longest call (billable seconds, at most 86,400) whose cost, connect fee, intervals, grace period, "
    "free seconds and surcharge included, fits in what the account has available: its balance, plus "
    "credit_limit when postpaid. Calls that cost nothing are always authorized. Not authorized (max_seconds 0) "
    "with a reason: `invalid_number`, `no_matching_prefix`, or `insufficient_balance` (not even the "
    "cheapest charged call fits). Needs only `accounts.read`.",
)
async def authorize_call(
    id: AccountRef,
    request: Request,
    db: Database,
    who: Reader,
    number: Annotated[str, Query(min_length=1, max_length=64, description="Dialled number")],
    at: Annotated[AwareDatetime | None, Query(description="When the call starts (default: now): the rates in force then, in its period")] = None,
):
    deck, row = await current_deck(
        db, request.app.state.decks, who.org_id, also=lambda conn: _find(conn, who.org_id, id, store.spendable), plan_of=_plan_of
    )
    available = available_units(row)
    return done(
        **authorize(deck, number, available, at or utcnow()),
        account_id=row.account_id,
        currency=row.currency,
        balance=from_units(row.balance),
        available=from_units(available),
    )
