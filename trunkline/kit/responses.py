"""JSON rendering and the success envelopes every route shares.

msgspec renders Decimal as a JSON number written exactly, so money never passes
through a binary float on its way out (FastAPI's own encoder would make it one).
"""

from contextvars import ContextVar
from typing import Any

import msgspec
from starlette.responses import JSONResponse as StarletteJSONResponse

_guid: ContextVar[str] = ContextVar("request_guid", default="")
_encoder = msgspec.json.Encoder(decimal_format="number")


def current_guid() -> str:
    """The id of the request being served (also its X-Request-Id)."""
    return _guid.get()


def set_guid(guid: str):
    return _guid.set(guid)


class JSONResponse(StarletteJSONResponse):
    """A JSONResponse (so FastAPI documents routes' response models) rendered by msgspec."""

    def render(self, content: Any) -> bytes:
        return _encoder.encode(content)


def item(body: dict[str, Any]) -> JSONResponse:
    """A single resource, returned bare."""
    return JSONResponse(body)


def secret_response(body: dict[str, Any], **secret: str) -> JSONResponse:
    """A created object with a secret shown this once: in the success envelope, and never stored
    by a cache."""
    return JSONResponse({"success": True, "guid": current_guid(), **body, **secret}, headers={"Cache-Control": "no-store"})


def saved(body: dict[str, Any], status_code: int = 200, **extra: Any) -> JSONResponse:
    """A created or updated resource: the envelope (success, guid) around the object as it is
    now stored, so a client needs no second GET."""
    return JSONResponse({"success": True, "guid": current_guid(), **body, **extra}, status_code=status_code)


def done(status_code: int = 200, **extra: Any) -> JSONResponse:
    return JSONResponse({"success": True, "guid": current_guid(), **extra}, status_code=status_code)
