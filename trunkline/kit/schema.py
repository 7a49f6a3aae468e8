"""Base models for request bodies and shared field types (create, update and read-only fields)."""

from decimal import Decimal
from functools import cache
from types import UnionType
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator
from pydantic_core import PydanticCustomError

EXACT_MONEY = (
    "At most five decimal places. Send a decimal string (\"0.01234\") to keep it exact: a JSON number "
    "is read as written, but a client computing in binary floating point may not write what it meant."
)


def _money_in(sign: str, minimum: dict) -> WithJsonSchema:
    """A money input: a decimal string or a JSON number, each read exactly (rating.money)."""
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": f"^{sign}[0-9]{{1,9}}(\\.[0-9]{{1,5}})?$", "examples": ["0.01234"]},
                {"type": "number", "multipleOf": 0.00001, **minimum},
            ],
            "description": EXACT_MONEY,
        }
    )


MoneyIn = Annotated[Decimal, _money_in("", {"minimum": 0})]
SignedMoneyIn = Annotated[Decimal, _money_in("-?", {})]
MoneyOut = Annotated[Decimal, WithJsonSchema({"type": "number"})]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 alphabetic code, e.g. USD, EUR", examples=["USD"])]
ApiId = Annotated[str, WithJsonSchema({"type": "string", "description": "Snowflake id, base64 of its decimal string", "examples": ["NzAwNTUxOTA5NzczMTQ4MTYw"]})]


class Input(BaseModel):
    """A request body: unknown fields are 422, read-only fields are 422 naming them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    read_only: ClassVar[frozenset[str]] = frozenset({"id"})

    @model_validator(mode="before")
    @classmethod
    def _reject_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            sent = sorted(cls.read_only.intersection(data))
            if sent:
                raise PydanticCustomError("read_only", "read-only fields: {names}", {"fields": sent, "names": ", ".join(sent)})
            lists = _list_fields(cls)
            if lists and any(isinstance(data.get(name), str) for name in lists):
                # a form sends a one-item list as a single value (scopes=calls.read)
                data = {name: [value] if name in lists and isinstance(value, str) else value for name, value in data.items()}
        return data

    @field_validator("*")
    @classmethod
    def _reject_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL and no field means one: 422 on every backend, never a 500.
        if any(isinstance(item, str) and "\x00" in item for item in (value if isinstance(value, list) else [value])):
            raise ValueError("contains a NUL character")
        return value


@cache
def _list_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields of `model` that take a list (optional or not)."""
    found = set()
    for name, info in model.model_fields.items():
        options = get_args(info.annotation) if get_origin(info.annotation) in (Union, UnionType) else (info.annotation,)
        if any(get_origin(option) is list or option is list for option in options):
            found.add(name)
    return frozenset(found)


class Output(BaseModel):
    """A response schema, used to document (routes render with msgspec, see responses.py)."""

    model_config = ConfigDict(extra="forbid")


@cache
def saved_of(model: type[Output]) -> type[Output]:
    """The answer of a create or update: `model`'s fields in the success envelope."""
    return type(f"{model.__name__}Saved", (model,), {"__annotations__": {"success": bool, "guid": str}})


class Done(Output):
    success: bool
    guid: str


def page_of(model: type[Output]) -> type[Output]:
    """The list envelope schema around `model`."""
    meta = type("PageMeta", (Output,), {"__annotations__": {"skip": int, "top": int, "has_more": bool}})
    return type(
        f"{model.__name__}Page",
        (Output,),
        {"__annotations__": {"success": bool, "guid": str, "count": int, "items": list[model], "meta": meta}},
    )
