"""Vendor bodies and output, and the LCR answer."""

from datetime import datetime
from typing import Annotated

from pydantic import Field

from trunkline.call_rates.schemas import MatchedRate
from trunkline.db.tables import vendors as table
from trunkline.kit import ids, query
from trunkline.kit.schema import ApiId, Input, MoneyOut, Output

Gateway = Annotated[str, Field(min_length=1, max_length=128)]
GATEWAYS_HELP = (
    "The names switches give the routes to this vendor: FreeSWITCH's sip_gateway_name, the trunk of Asterisk's "
    "dstchannel (SIP/<trunk>-0000002a); each name belongs to one vendor of the organization"
)


class VendorCreate(Input):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    rate_plan_id: ApiId = Field(description="The buy plan the vendor charges by")
    gateways: Annotated[list[Gateway], Field(max_length=100, description=GATEWAYS_HELP)] = Field(default_factory=list)
    description: Annotated[str, Field(max_length=1024)] | None = None


class VendorUpdate(Input):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    rate_plan_id: ApiId | None = None
    gateways: Annotated[list[Gateway], Field(max_length=100, description=GATEWAYS_HELP)] | None = None
    description: Annotated[str, Field(max_length=1024)] | None = None


class Vendor(Output):
    id: ApiId
    name: str
    rate_plan_id: ApiId
    gateways: list[str]
    description: str | None
    created_at: datetime
    updated_at: datetime


class Route(Output):
    vendor_id: ApiId
    vendor: str
    rate: MatchedRate = Field(description="The vendor's own longest matching prefix in its buy plan")
    cost: MoneyOut = Field(description="What the vendor charges for the call")
    price: MoneyOut | None = Field(description="What the account pays for it (null: the account's plan has no rate)")
    margin: MoneyOut | None = Field(description="price - cost; negative: the call loses money on this vendor")


class Routing(Output):
    success: bool
    guid: str
    number: str
    normalized: str | None
    duration: int
    at: datetime
    account_id: str | None
    routes: list[Route] = Field(description="Cheapest first; vendors with no rate for the number are left out")


def present(row) -> dict:
    return {
        "id": ids.encode(row.id),
        "name": row.name,
        "rate_plan_id": ids.encode(row.rate_plan_id),
        "gateways": row.gateways,
        "description": row.description,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


c = table.c
FIELDS = query.Fields(
    fields={
        "id": query.Field(c.id, "id"),
        "name": query.Field(c.name, "str"),
        "rate_plan_id": query.Field(c.rate_plan_id, "id"),
        "description": query.Field(c.description, "str"),
        "created_at": query.Field(c.created_at, "datetime"),
        "updated_at": query.Field(c.updated_at, "datetime"),
    },
    search=(c.name, c.description),
    default_order=("id",),
)
