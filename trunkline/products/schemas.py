"""Products: the catalog entry and whether the caller's organization has it enabled."""

from datetime import datetime

from pydantic import Field

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
