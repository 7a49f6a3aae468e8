"""How large a request body may be: checked before a byte is read, and again while it streams.

A declared Content-Length over the route's limit is 413 at once; a chunked body is counted as
it arrives and is 413 as soon as it passes the limit, so no route (nor the body decoder, nor
FastAPI reading a JSON body) ever holds more than the limit in memory. Imports and CDR batches
get `upload` bytes (TRUNKLINE_MAX_UPLOAD_BYTES), every other route `default`
(TRUNKLINE_MAX_BODY_BYTES).

FastAPI's own `max_body_size` is applied once a route is matched; here the limit must hold
before that, while the body decoder reads form and multipart bodies, so it is kept by path.
"""

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trunkline.kit.errors import ApiError, error_response


class BodyTooLarge(HTTPException):
    """Raised from `receive` while a body streams in; an HTTPException, so FastAPI reading a
    JSON body passes it on instead of calling it a parse error."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body larger than {_mib(limit)} on this route")


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:g} MiB"


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, default: int, upload: int, upload_paths: frozenset[str]) -> None:
        self.app = app
        self.default = default
        self.upload = upload
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload if scope["path"] in self.upload_paths else self.default
        declared = next((value for name, value in scope["headers"] if name == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            error = ApiError(413, BodyTooLarge(limit).detail) if declared.isdigit() else ApiError(400, "Malformed Content-Length")
            await error_response(error, scope.setdefault("state", {}))(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)
