"""SMSC connection and SMS route bodies and output. A connection's password goes in, never out:
the output says only `password_set`."""

import ipaddress
import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field

from trunkline.db.tables import sms_routes, smsc_connections
from trunkline.kit import ids, query
from trunkline.kit.schema import ApiId, Input, Output
from trunkline.products.catalog import CATALOG
from trunkline.smsc.addresses import NPIS, TONS


class BindMode(StrEnum):
    """How the session binds: one transceiver bind, or a transmitter bind for submits beside a
    receiver bind for receipts and inbound messages (for SMSCs that take no transceivers)."""

    transceiver = "transceiver"
    transmitter_receiver = "transmitter_receiver"


_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")


def _host(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if not _HOSTNAME.match(value):
            raise ValueError("not a host name or an IP address") from None
    return value


def _npi(value: int) -> int:
    if value not in NPIS:
        raise ValueError(f"not an SMPP 3.4 numbering plan ({', '.join(map(str, NPIS))})")
    return value


def _product(code: str) -> str:
    if code not in CATALOG:
        raise ValueError(f"not a product code ({', '.join(CATALOG)})")
    return code


# SMPP 3.4 C-Octet strings of printable ASCII: system_id at most 15 characters, password 8, system_type 12.
def _smpp_text(most: int, least: int = 1):
    return Field(min_length=least, max_length=most, pattern=r"^[\x21-\x7e]*$")


Name = Annotated[str, Field(min_length=1, max_length=200)]
Host = Annotated[str, Field(min_length=1, max_length=253, examples=["smsc.example.net"]), AfterValidator(_host)]
Port = Annotated[int, Field(ge=1, le=65535)]
SystemId = Annotated[str, _smpp_text(15), Field(description="The ESME's account name at the SMSC (at most 15 characters)")]
Password = Annotated[str, _smpp_text(8), Field(description="Kept encrypted with the server key and never shown again (SMPP 3.4: at most 8 characters)")]
SystemType = Annotated[str, _smpp_text(12, 0), Field(description="What the SMSC asked the ESME to call itself, often empty")]
PerSecond = Annotated[int, Field(ge=1, le=10_000, description="At most this many submit_sm a second, the rate the SMSC agreed to")]
Window = Annotated[int, Field(ge=1, le=100, description="At most this many submit_sm awaiting their response at once")]
Ton = Annotated[int, Field(ge=TONS.start, le=TONS.stop - 1, description="Type of number, 0-6 (SMPP 3.4, 5.2.5)")]
Npi = Annotated[int, AfterValidator(_npi), Field(description="Numbering plan indicator (SMPP 3.4, 5.2.6)")]
SOURCE_HELP = "With source_npi, pins the sender's TON/NPI; null (both): follow each sender's form: alphanumeric 5/0, short code 3/0, number 1/1"
Product = Annotated[str, AfterValidator(_product), Field(description="A product code of /api/products; null: every product", examples=["A2P"])]
Prefix = Annotated[str, Field(max_length=32, pattern=r"^[0-9]*$", description="Destination prefix, digits only; \"\" matches every number")]
Priority = Annotated[int, Field(ge=0, le=9999, description="Among routes of the same product and prefix, the lowest is tried first")]


class ConnectionCreate(Input):
    read_only: ClassVar[frozenset[str]] = frozenset({"id", "password_set", "created_at", "updated_at"})

    name: Name
    host: Host
    port: Port = 2775
    system_id: SystemId
    password: Password
    system_type: SystemType = ""
    bind_mode: BindMode = BindMode.transceiver
    messages_per_second: PerSecond = 100
    window_size: Window = 10
    source_ton: Ton | None = Field(default=None, description=SOURCE_HELP)
    source_npi: Npi | None = None
    dest_ton: Ton = 1
    dest_npi: Npi = 1
    enabled: bool = True


class ConnectionUpdate(Input):
    read_only: ClassVar[frozenset[str]] = frozenset({"id", "password_set", "created_at", "updated_at"})

    name: Name | None = None
    host: Host | None = None
    port: Port | None = None
    system_id: SystemId | None = None
    password: Password | None = None
    system_type: SystemType | None = None
    bind_mode: BindMode | None = None
    messages_per_second: PerSecond | None = None
    window_size: Window | None = None
    source_ton: Ton | None = Field(default=None, description=SOURCE_HELP)
    source_npi: Npi | None = None
    dest_ton: Ton | None = None
    dest_npi: Npi | None = None
    enabled: bool | None = None


class Connection(Output):
    id: ApiId
    name: str
    host: str
    port: int
    system_id: str
    password_set: bool = Field(description="Always true: the password is kept, encrypted, and never shown")
    system_type: str
    bind_mode: BindMode
    messages_per_second: int
    window_size: int
    source_ton: int | None
    source_npi: int | None
    dest_ton: int
    dest_npi: int
    enabled: bool
    created_at: datetime
    updated_at: datetime


class SmsRouteCreate(Input):
    read_only: ClassVar[frozenset[str]] = frozenset({"id", "created_at", "updated_at"})

    product: Product | None = None
    prefix: Prefix = ""
    connection_id: ApiId = Field(description="The SMSC connection that carries these messages")
    priority: Priority = 0


class SmsRouteUpdate(Input):
    read_only: ClassVar[frozenset[str]] = frozenset({"id", "created_at", "updated_at"})

    product: Product | None = None
    prefix: Prefix | None = None
    connection_id: ApiId | None = None
    priority: Priority | None = None


class SmsRoute(Output):
    id: ApiId
    product: str | None
    prefix: str
    connection_id: ApiId
    priority: int
    created_at: datetime
    updated_at: datetime


def present_connection(row) -> dict:
    return {
        "id": ids.encode(row.id),
        "name": row.name,
        "host": row.host,
        "port": row.port,
        "system_id": row.system_id,
        "password_set": True,
        "system_type": row.system_type,
        "bind_mode": row.bind_mode,
        "messages_per_second": row.messages_per_second,
        "window_size": row.window_size,
        "source_ton": row.source_ton,
        "source_npi": row.source_npi,
        "dest_ton": row.dest_ton,
        "dest_npi": row.dest_npi,
        "enabled": row.enabled,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def present_route(row) -> dict:
    return {
        "id": ids.encode(row.id),
        "product": row.product,
        "prefix": row.prefix,
        "connection_id": ids.encode(row.connection_id),
        "priority": row.priority,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


c = smsc_connections.c
CONNECTION_FIELDS = query.Fields(
    fields={
        "id": query.Field(c.id, "id"),
        "name": query.Field(c.name, "str"),
        "host": query.Field(c.host, "str"),
        "port": query.Field(c.port, "int"),
        "system_id": query.Field(c.system_id, "str"),
        "password_set": query.Field(c.password_sealed.is_not(None), "bool"),
        "system_type": query.Field(c.system_type, "str"),
        "bind_mode": query.Field(c.bind_mode, "enum", choices=tuple(BindMode)),
        "messages_per_second": query.Field(c.messages_per_second, "int"),
        "window_size": query.Field(c.window_size, "int"),
        "source_ton": query.Field(c.source_ton, "int"),
        "source_npi": query.Field(c.source_npi, "int"),
        "dest_ton": query.Field(c.dest_ton, "int"),
        "dest_npi": query.Field(c.dest_npi, "int"),
        "enabled": query.Field(c.enabled, "bool"),
        "created_at": query.Field(c.created_at, "datetime"),
        "updated_at": query.Field(c.updated_at, "datetime"),
    },
    search=(c.name, c.host, c.system_id),
    default_order=("id",),
)

r = sms_routes.c
ROUTE_FIELDS = query.Fields(
    fields={
        "id": query.Field(r.id, "id"),
        "product": query.Field(r.product, "enum", choices=tuple(CATALOG)),
        "prefix": query.Field(r.prefix, "str", digits=True),
        "connection_id": query.Field(r.connection_id, "id"),
        "priority": query.Field(r.priority, "int"),
        "created_at": query.Field(r.created_at, "datetime"),
        "updated_at": query.Field(r.updated_at, "datetime"),
    },
    search=(r.prefix, r.product),
    default_order=("id",),
)
