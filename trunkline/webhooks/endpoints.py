"""`/api/webhooks`: subscriptions to events, signed per Standard Webhooks, with every delivery
and attempt to look at, test events and replays. The signing secret is shown at creation and
rotation only."""

from typing import Annotated

from fastapi import Request

from trunkline.db.tables import webhook_attempts, webhook_deliveries, webhooks
from trunkline.kit.auth import Principal, caller
from trunkline.kit.clock import utcnow
from trunkline.kit.errors import not_found
from trunkline.kit.pagination import ListQuery, list_page
from trunkline.kit.resources import Database, changes, fetch_one, object_id, read
from trunkline.kit.responses import JSONResponse, done, item, saved, secret_response
from trunkline.kit.routing import resource_router, update_routes
from trunkline.kit.schema import Done, page_of, saved_of
from trunkline.webhooks import repository as store
from trunkline.webhooks import service
from trunkline.webhooks.schemas import (
    ATTEMPT_FIELDS,
    DELIVERY_FIELDS,
    FIELDS,
    Attempt,
    Delivery,
    DeliveryDetail,
    Redelivery,
    Webhook,
    WebhookCreate,
    WebhookSecret,
    WebhookTest,
    WebhookUpdate,
    present,
    present_attempt,
    present_delivery,
    present_detail,
)

router = resource_router("/webhooks", "webhooks")
SCOPES = ("webhooks",)  # the scope resources these routes guard
Reader = Annotated[Principal, caller("webhooks.read")]
Updater = Annotated[Principal, caller("webhooks.update")]
SIGNING = (
    "Each delivery is a POST of {type, timestamp, data} signed per Standard Webhooks (webhook-id, webhook-timestamp, "
    "webhook-signature; verify with any Standard Webhooks library and the secret)."
)


def _with_secret(conn, org_id: int, webhook_id: int, secret: str) -> JSONResponse:
    return secret_response(present(store.find(conn, org_id, webhook_id)), secret=secret)


@router.get("", response_model=page_of(Webhook), summary="List webhooks")
def list_webhooks(request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        return list_page(request, params, conn, webhooks, who.org_id, FIELDS, present)


@router.post(
    "",
    response_model=WebhookSecret,
    summary="Create a webhook",
    description=f"{SIGNING} The secret is in this response and nowhere else. 422 when the URL's host does not resolve "
    "or resolves to a loopback, private or other non-public address (unless the operator allows them).",
)
def create_webhook(request: Request, body: WebhookCreate, db: Database, who: Annotated[Principal, caller("webhooks.create")]):
    state = request.app.state
    with service.changing(db, who.org_id) as conn:
        webhook_id, secret = service.create(conn, who.org_id, body.model_dump(), state.secrets, state.settings.webhooks_allow_private, utcnow())
        return _with_secret(conn, who.org_id, webhook_id, secret)


@router.get("/{id}", response_model=Webhook, summary="Retrieve a webhook")
async def get_webhook(id: str, db: Database, who: Reader):
    return item(present(await fetch_one(db, webhooks, who.org_id, id, "Webhook")))


def update_webhook(request: Request, id: str, body: WebhookUpdate, db: Database, who: Updater):
    values = changes(body, nullable=frozenset({"description"}))
    webhook_id = object_id(id, "Webhook")
    with service.changing(db, who.org_id) as conn:
        service.change(conn, who.org_id, webhook_id, values, request.app.state.settings.webhooks_allow_private, utcnow())
        return saved(present(store.find(conn, who.org_id, webhook_id)))


update_routes(
    router,
    "/{id}",
    update_webhook,
    "Update a webhook",
    "Changes only the fields sent; POST, PATCH and PUT behave the same. `enabled: true` re-enables a webhook the "
    "server disabled, clears its disabled_reason, and its deliveries still pending go out again.",
    Webhook,
)


@router.delete("/{id}", response_model=Done, summary="Delete a webhook", description="With its deliveries and their attempts.")
def delete_webhook(id: str, db: Database, who: Annotated[Principal, caller("webhooks.delete")]):
    with service.changing(db, who.org_id) as conn:
        service.remove(conn, who.org_id, object_id(id, "Webhook"))
    return done()


@router.post(
    "/{id}/rotate",
    response_model=WebhookSecret,
    summary="Issue a new signing secret",
    description="The new secret is in this response and nowhere else. For a day, deliveries carry a signature by the "
    "old secret beside the new one, so receivers can switch without failing a delivery.",
)
def rotate_webhook_secret(request: Request, id: str, db: Database, who: Updater):
    webhook_id = object_id(id, "Webhook")
    with db.begin() as conn:
        secret = service.rotate(conn, who.org_id, webhook_id, request.app.state.secrets, utcnow())
        return _with_secret(conn, who.org_id, webhook_id, secret)


@router.post(
    "/{id}/test",
    status_code=202,
    response_model=saved_of(Delivery),
    summary="Send a test event",
    description="Sends a `webhook.test` event (data: webhook_id and message) to this webhook alone, whatever its event "
    "types; follow the delivery at /api/webhooks/{id}/deliveries/{delivery_id}. 409 while the webhook is disabled.",
)
def test_webhook(id: str, db: Database, who: Updater, body: WebhookTest | None = None):
    webhook_id = object_id(id, "Webhook")
    with db.begin() as conn:
        delivery_id = service.send_test(conn, who.org_id, webhook_id, (body or WebhookTest()).message, utcnow())
        return saved(present_delivery(store.delivery(conn, who.org_id, webhook_id, delivery_id)), status_code=202)


@router.get(
    "/{id}/deliveries",
    response_model=page_of(Delivery),
    summary="List a webhook's deliveries",
    description="Newest first. A delivery is one event for this webhook: pending (due, or waiting for a retry), "
    "succeeded or failed. Retries follow 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after a failure.",
)
def list_webhook_deliveries(request: Request, id: str, params: ListQuery, db: Database, who: Reader):
    webhook_id = object_id(id, "Webhook")
    with db.connect() as conn:
        service.find(conn, who.org_id, webhook_id)
        condition = webhook_deliveries.c.webhook_id == webhook_id
        return list_page(request, params, conn, webhook_deliveries, who.org_id, DELIVERY_FIELDS, present_delivery, condition)


@router.get("/{id}/deliveries/{delivery_id}", response_model=DeliveryDetail, summary="Retrieve a delivery, with its payload")
async def get_webhook_delivery(id: str, delivery_id: str, db: Database, who: Reader):
    webhook_id, wanted = object_id(id, "Webhook"), object_id(delivery_id, "Delivery")
    row = await read(db, lambda conn: store.delivery(conn, who.org_id, webhook_id, wanted))
    if row is None:
        raise not_found("Delivery")
    return item(present_detail(row))


@router.post(
    "/{id}/deliveries",
    status_code=202,
    response_model=saved_of(Delivery),
    summary="Deliver an event again (replay)",
    description="A new delivery, due at once, of an event this webhook was sent before: the same webhook-id, so a "
    "receiver that got it already can tell. 409 while the webhook is disabled.",
)
def replay_webhook_event(id: str, body: Redelivery, db: Database, who: Updater):
    webhook_id = object_id(id, "Webhook")
    with db.begin() as conn:
        replayed = service.replay(conn, who.org_id, webhook_id, body.event_id, utcnow())
        return saved(present_delivery(store.delivery(conn, who.org_id, webhook_id, replayed)), status_code=202)


@router.get(
    "/{id}/attempts",
    response_model=page_of(Attempt),
    summary="List a webhook's delivery attempts",
    description="Newest first: every attempt of every delivery, with the receiver's status and the start of its answer, "
    "or the error. `filter=delivery_id eq '…'` keeps one delivery's.",
)
def list_webhook_attempts(request: Request, id: str, params: ListQuery, db: Database, who: Reader):
    webhook_id = object_id(id, "Webhook")
    with db.connect() as conn:
        service.find(conn, who.org_id, webhook_id)
        condition = webhook_attempts.c.webhook_id == webhook_id
        return list_page(request, params, conn, webhook_attempts, who.org_id, ATTEMPT_FIELDS, present_attempt, condition)
