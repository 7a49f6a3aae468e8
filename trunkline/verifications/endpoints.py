"""`/api/verifications`: send a one-time passcode by SMS, then check what the user typed."""

from typing import Annotated

from fastapi import Request

from trunkline.call_rates.deck_cache import DeckCache
from trunkline.kit.auth import Principal, caller
from trunkline.kit.clock import utcnow
from trunkline.kit.pagination import ListQuery, list_page
from trunkline.kit.resources import Database, fetch_one, object_id
from trunkline.kit.responses import item, saved
from trunkline.kit.routing import resource_router
from trunkline.kit.schema import page_of, saved_of
from trunkline.verifications import repository as store
from trunkline.verifications import service
from trunkline.verifications.schemas import FIELDS, MAX_ATTEMPTS, Check, CheckResult, Verification, VerificationCreate, present

router = resource_router("/verifications", "verifications")
SCOPES = ("verifications",)
Reader = Annotated[Principal, caller("verifications.read")]

START_HELP = (
    "Draws a code of `code_length` digits, sends it in an SMS (the message as `POST /api/messages` sends it: "
    "routed, priced and reserved from `account_id`, refused with the same errors, and stored with the code masked) "
    f"and answers the pending verification. The code is never shown again: it is kept as a keyed digest. It may be "
    f"checked {MAX_ATTEMPTS} times within `ttl` seconds. Passcodes reach numbers that opted out of marketing."
)
CHECK_HELP = (
    f"Spends one of the {MAX_ATTEMPTS} attempts and compares the code in constant time. Always 200 for a verification "
    "of the organization: `valid` is true only for the check that approves it; otherwise `status` says where it stands "
    "(pending: try again; failed: out of attempts; expired; approved: already used), and nothing tells a wrong code "
    "from an expired one beyond that."
)


@router.post("", response_model=saved_of(Verification), summary="Send a one-time passcode", description=START_HELP)
def start_verification(body: VerificationCreate, request: Request, db: Database, who: Annotated[Principal, caller("verifications.create")]):
    state = request.app.state
    decks: DeckCache = state.decks
    with db.begin() as conn:
        row = service.start(conn, who.org_id, body, lambda plan_id: decks.get(conn, who.org_id, plan_id), state.secrets, utcnow())
    state.messages.wake()
    return saved(present(row))


@router.post("/{id}/check", response_model=CheckResult, summary="Check a passcode", description=CHECK_HELP)
def check_verification(id: str, body: Check, request: Request, db: Database, who: Annotated[Principal, caller("verifications.update")]):
    verification_id = object_id(id, "Verification")
    with db.begin() as conn:
        row, valid = service.check(conn, who.org_id, verification_id, body.code, request.app.state.secrets, utcnow())
    return item({**present(row), "valid": valid})


@router.get("", response_model=page_of(Verification), summary="List verifications")
def list_verifications(request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        return list_page(request, params, conn, store.table, who.org_id, FIELDS, present)


@router.get("/{id}", response_model=Verification, summary="Retrieve a verification")
async def get_verification(id: str, db: Database, who: Reader):
    return item(present(await fetch_one(db, store.table, who.org_id, id, "Verification")))
