"""Webhook bodies and output, the event types and how subscriptions name them."""

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, Field

from trunkline.db.tables import webhook_attempts, webhook_deliveries, webhooks
from trunkline.kit import ids, query
from trunkline.kit.schema import ApiId, Input, Output
from trunkline.webhooks.addresses import parse_url


class EventType(StrEnum):
    """What happened. `webhook.test` is sent only by `POST /api/webhooks/{id}/test`, to that webhook."""

    message_accepted = "message.accepted"
    message_queued = "message.queued"
    message_submitted = "message.submitted"
    message_delivered = "message.delivered"
    message_undeliverable = "message.undeliverable"
    message_expired = "message.expired"
    message_rejected = "message.rejected"
    message_failed = "message.failed"
    message_received = "message.received"
    verification_created = "verification.created"
    verification_approved = "verification.approved"
    verification_expired = "verification.expired"
    verification_failed = "verification.failed"
    call_rated = "call.rated"
    account_balance_low = "account.balance_low"
    webhook_test = "webhook.test"


class DeliveryStatus(StrEnum):
    pending = "pending"  # due, being attempted, or waiting for its next retry
    succeeded = "succeeded"  # a receiver answered 2xx
    failed = "failed"  # every retry failed, or the receiver answered 410 Gone


GROUPS = frozenset(kind.value.split(".")[0] for kind in EventType)
PATTERNS = frozenset({"*", *(f"{group}.*" for group in GROUPS), *EventType})


def covers(patterns: list[str], event_type: str) -> bool:
    """Whether a subscription's patterns take `event_type`: the type itself, its `group.*` or `*`."""
    return event_type in patterns or "*" in patterns or f"{event_type.partition('.')[0]}.*" in patterns


def _pattern(value: str) -> str:
    if value not in PATTERNS:
        raise ValueError(f"not an event type or pattern: use one of {', '.join(sorted(EventType))}, a group such as message.*, or *")
    return value


def _url(value: str) -> str:
    parse_url(value)
    return value


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


Url = Annotated[
    str,
    Field(min_length=1, max_length=2048, description="http or https; refused when its host resolves to a loopback, private or other non-public address"),
    AfterValidator(_url),
]
EventTypes = Annotated[
    list[Annotated[str, Field(max_length=64), AfterValidator(_pattern)]],
    Field(
        max_length=64,
        description="Event types to receive: a type (message.delivered), a group (message.*) or * for all; none for a webhook "
        "that only hears the messages sent with its URL as their callback_url",
    ),
    AfterValidator(_unique),
]
Description = Annotated[str, Field(max_length=1024)]


class WebhookCreate(Input):
    url: Url
    event_types: EventTypes
    description: Description | None = None
    enabled: bool = True


class WebhookUpdate(Input):
    read_only: ClassVar[frozenset[str]] = frozenset({"id", "secret", "disabled_reason", "created_at", "updated_at"})

    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = Field(default=None, description="true re-enables a disabled webhook and clears its disabled_reason")


class WebhookTest(Input):
    message: Annotated[str, Field(min_length=1, max_length=500, description="Carried in the event's data, to tell test events apart")] = (
        "A test event: this endpoint receives Trunkline webhooks"
    )


class Redelivery(Input):
    event_id: ApiId = Field(description="An event this webhook was sent before: a delivery's event_id")


class Webhook(Output):
    id: ApiId
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None = Field(description="Why deliveries stopped, when the server disabled the webhook")
    created_at: datetime
    updated_at: datetime


class WebhookSecret(Webhook):
    success: bool
    guid: str
    secret: str = Field(description="The Standard Webhooks signing secret (whsec_…), in this response and nowhere else")


class Delivery(Output):
    id: ApiId
    webhook_id: ApiId
    event_id: ApiId = Field(description="Also the webhook-id header: the same on every attempt and replay, for receivers to drop duplicates")
    event_type: EventType
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = Field(description="When the next attempt is due (null once finished)")
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


class DeliveryDetail(Delivery):
    payload: dict[str, Any] = Field(description="The body sent: {type, timestamp, data}")


class Attempt(Output):
    id: ApiId
    webhook_id: ApiId
    delivery_id: ApiId
    attempt: int = Field(description="1 for a delivery's first attempt, 2 for its first retry, …")
    status_code: int | None = Field(description="The receiver's HTTP status (null: no answer, see error)")
    succeeded: bool
    response: str | None = Field(description="The start of the receiver's answer")
    error: str | None
    duration_ms: int
    created_at: datetime


def present(row) -> dict:
    return {
        "id": ids.encode(row.id),
        "url": row.url,
        "event_types": row.event_types,
        "description": row.description,
        "enabled": row.enabled,
        "disabled_reason": row.disabled_reason,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def present_delivery(row) -> dict:
    return {
        "id": ids.encode(row.id),
        "webhook_id": ids.encode(row.webhook_id),
        "event_id": ids.encode(row.event_id),
        "event_type": row.event_type,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at,
        "last_attempt_at": row.last_attempt_at,
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "created_at": row.created_at,
        "finished_at": row.finished_at,
    }


def present_detail(row) -> dict:
    return {**present_delivery(row), "payload": json.loads(row.body)}


def present_attempt(row) -> dict:
    return {
        "id": ids.encode(row.id),
        "webhook_id": ids.encode(row.webhook_id),
        "delivery_id": ids.encode(row.delivery_id),
        "attempt": row.attempt,
        "status_code": row.status_code,
        "succeeded": row.status_code is not None and 200 <= row.status_code < 300,
        "response": row.response,
        "error": row.error,
        "duration_ms": row.duration_ms,
        "created_at": row.created_at,
    }


w, d, a = webhooks.c, webhook_deliveries.c, webhook_attempts.c
FIELDS = query.Fields(
    fields={
        "id": query.Field(w.id, "id"),
        "url": query.Field(w.url, "str"),
        "description": query.Field(w.description, "str"),
        "enabled": query.Field(w.enabled, "bool"),
        "disabled_reason": query.Field(w.disabled_reason, "str"),
        "created_at": query.Field(w.created_at, "datetime"),
        "updated_at": query.Field(w.updated_at, "datetime"),
    },
    search=(w.url, w.description),
    default_order=("id",),
)
DELIVERY_FIELDS = query.Fields(
    fields={
        "id": query.Field(d.id, "id"),
        "event_id": query.Field(d.event_id, "id"),
        "event_type": query.Field(d.event_type, "enum", choices=tuple(kind.value for kind in EventType)),
        "status": query.Field(d.status, "enum", choices=tuple(status.value for status in DeliveryStatus)),
        "attempts": query.Field(d.attempts, "int"),
        "next_attempt_at": query.Field(d.next_attempt_at, "datetime"),
        "last_status_code": query.Field(d.last_status_code, "int"),
        "created_at": query.Field(d.created_at, "datetime"),
        "finished_at": query.Field(d.finished_at, "datetime"),
    },
    default_order=("id desc",),  # newest first
)
ATTEMPT_FIELDS = query.Fields(
    fields={
        "id": query.Field(a.id, "id"),
        "delivery_id": query.Field(a.delivery_id, "id"),
        "attempt": query.Field(a.attempt, "int"),
        "status_code": query.Field(a.status_code, "int"),
        "duration_ms": query.Field(a.duration_ms, "int"),
        "created_at": query.Field(a.created_at, "datetime"),
    },
    search=(a.error, a.response),
    default_order=("id desc",),  # newest first
)
