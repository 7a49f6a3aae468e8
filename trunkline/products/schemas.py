"""Products: the catalog entry and whether the caller's organization has it enabled."""

from datetime import datetime

from pydantic import Field
from sqlalchemy import Subquery

from trunkline.kit import query
from trunkline.kit.schema import Input, Output


class Product(Output):
    code: str = Field(examples=["SIPT"])
    name: str = Field(examples=["Outbound voice"])
    enabled: bool
    enabled_at: datetime | None = Field(description="When the organization enabled it; null when disabled")


class ProductUpdate(Input):
    read_only = frozenset({"code", "name", "enabled_at"})

    enabled: bool = Field(description="Switch the product on or off for the organization")


def present(code: str, name: str, enabled_at: datetime | None) -> dict:
    return {"code": code, "name": name, "enabled": enabled_at is not None, "enabled_at": enabled_at}


def fields(products: Subquery) -> query.Fields:
    """The list's fields over an organization's catalog (`repository.catalog`)."""
    p = products.c
    return query.Fields(
        fields={
            "code": query.Field(p.code, "str"),
            "name": query.Field(p.name, "str"),
            "enabled": query.Field(p.enabled_at.is_not(None), "bool"),
            "enabled_at": query.Field(p.enabled_at, "datetime"),
            "position": query.Field(p.position, "int", filterable=False),
        },
        search=(p.code, p.name),
        default_order=("position",),
    )
