"""What resource routes share: the database handle, path ids, timestamps, update bodies."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine

from trunkline import ids
from trunkline.platform.errors import ApiError, invalid, not_found
from trunkline.platform.schema import Input


async def _engine(request: Request) -> Engine:
    return request.app.state.engine


Database = Annotated[Engine, Depends(_engine)]


def object_id(text: str, what: str) -> int:
    """An API id from the path; anything malformed is simply not found."""
    value = ids.decode(text)
    if value is None:
        raise not_found(what)
    return value


def utcnow() -> datetime:
    return datetime.now(UTC)


def changes(body: Input, nullable: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields an update body sets; null only where the field may be empty."""
    values = body.model_dump(exclude_unset=True)
    if not values:
        raise ApiError(400, "Send at least one field to change")
    nulls = sorted(name for name, value in values.items() if value is None and name not in nullable)
    if nulls:
        raise invalid([{"name": name, "reason": "may not be null"} for name in nulls])
    return values
