"""Endpoints: bodies and output. The password appears only in the create and rotate responses."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from trunkline import ids
from trunkline.platform.schema import ApiId, Input, Output


class EndpointType(StrEnum):
    """Which `/api/endpoint/...` API the credentials open."""

    cdr_push = "cdr_push"  # POST /api/endpoint/cdr: switches pushing CDRs


class EndpointCreate(Input):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    type: EndpointType


class Endpoint(Output):
    id: ApiId
    name: str
    type: EndpointType
    login: str = Field(description="The Basic-auth user name for the endpoint APIs")
    created_at: datetime
    rotated_at: datetime = Field(description="When the current password was issued")


class EndpointCredentials(Output):
    success: bool
    guid: str
    id: ApiId
    login: str
    password: str = Field(description="Shown this once, stored only as a hash")


def present(row) -> dict:
    return {
        "id": ids.encode(row.id),
        "name": row.name,
        "type": row.type,
        "login": row.login,
        "created_at": row.created_at,
        "rotated_at": row.rotated_at,
    }
