"""Request bodies in any of three encodings (JSON, form, multipart), for every verb.

One ASGI middleware normalises what routes see, so no route parses bodies:
- POST/PUT/PATCH: form-urlencoded and text-only multipart bodies become JSON objects;
  JSON passes through; multipart with files passes through for the route to read.
- GET/DELETE: a body (any of the three encodings) is merged into the query string.
- The same parameter in the query and the body with different values is 409.
- HEAD is answered as GET; the server sends the headers only.
- `_method` overrides the verb, only for token-authenticated requests:
  a browser never sends a token on its own, so the override cannot be forged cross-site.
- Any other media type is 415, except the raw formats a path is registered for
  (`raw_bodies`, e.g. CSV and NDJSON CDR batches), which pass through untouched.
"""

import json
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trunkline.kit.errors import ApiError, error_response

META_PARAMS = {"_method", "access_token"}
OVERRIDABLE = {"GET", "POST", "PUT", "PATCH", "DELETE"}
BODY_VERBS = {"POST", "PUT", "PATCH"}


def _media_type(headers: dict[bytes, bytes]) -> str:
    return headers.get(b"content-type", b"").split(b";")[0].strip().lower().decode("latin-1")


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def has_body(headers: dict[bytes, bytes]) -> bool:
    """Whether the request announces a body (a length other than 0, or chunks)."""
    return headers.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in headers


async def _read(receive: Receive) -> bytes:
    """The whole body (its size is capped by BodyLimitMiddleware as it streams in)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(400, "Client disconnected while sending the body")
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _pairs_to_object(pairs: list[tuple[str, str]]) -> dict[str, object]:
    """Form pairs as a JSON object; a repeated key becomes a list."""
    merged: dict[str, object] = {}
    for key, value in pairs:
        if key in merged:
            previous = merged[key]
            merged[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            merged[key] = value
    return merged


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _check_nul(path: str, params: list[tuple[str, str]]) -> None:
    """PostgreSQL text cannot hold NUL and no parameter means one: 400 on every backend, never a 500."""
    names = sorted({key.replace("\x00", "\\0") for key, value in params if "\x00" in key + value})
    if "\x00" in path or names:
        problems = [{"name": name, "reason": "contains a NUL character"} for name in names]
        raise ApiError(400, "NUL characters are not allowed in the path or parameters", invalidInputVars=problems)


def _check_conflicts(query: list[tuple[str, str]], body: dict[str, object]) -> None:
    seen: dict[str, str] = {}
    conflicts = set()
    for key, value in query:
        if key in META_PARAMS:
            continue
        if key in seen and seen[key] != value:
            conflicts.add(key)
        seen[key] = value
    for key, value in body.items():
        if key in seen and not isinstance(value, (dict, list)) and seen[key] != _as_text(value):
            conflicts.add(key)
    if conflicts:
        names = ", ".join(sorted(conflicts))
        raise ApiError(409, f"Conflicting values given for: {names}", conflicts=sorted(conflicts))


class BodyDecodingMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        prefix: str = "/api",
        raw_bodies: dict[str, tuple[str, ...]] | None = None,
        raw_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.raw_bodies = raw_bodies or {}
        self.raw_paths = raw_paths  # routes that read every body themselves, whatever its type

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        try:
            scope, receive = await self._normalise(scope, receive)
        except ApiError as error:
            failure = error
        except HTTPException as error:  # the body limit, while the body streams in
            failure = ApiError(error.status_code, error.detail)
        except RecursionError:  # a body nested deeper than it can be decoded or re-encoded
            failure = ApiError(400, "Malformed body: nested too deeply")
        else:
            await self.app(scope, receive, send)
            return
        await error_response(failure, scope.setdefault("state", {}))(scope, receive, send)

    async def _normalise(self, scope: Scope, receive: Receive) -> tuple[Scope, Receive]:
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        headers = dict(scope["headers"])
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        scope = {**scope, "method": self._method(method, query, headers)}
        _check_nul(scope["path"], query)
        media_type = _media_type(headers)
        if not has_body(headers):
            _check_conflicts(query, {})
            return scope, receive
        body_verb = scope["method"] in BODY_VERBS
        if body_verb and scope["path"] in self.raw_paths:
            return scope, receive
        if body_verb and media_type in self.raw_bodies.get(scope["path"], ()) and not _is_json(media_type):
            _check_conflicts(query, {})
            return scope, receive  # a route that reads this format itself (e.g. CSV CDRs)
        if _is_json(media_type) and body_verb and not any(k not in META_PARAMS for k, _ in query):
            return scope, receive  # the fast path: nothing to merge or compare
        if not (_is_json(media_type) or media_type in ("application/x-www-form-urlencoded", "multipart/form-data")):
            raise ApiError(
                415,
                f"Unsupported media type {media_type or '(none)'}; send application/json, "
                "application/x-www-form-urlencoded or multipart/form-data",
            )
        raw = await _read(receive)
        if media_type == "multipart/form-data":
            try:
                form = await Request(scope, _replay(raw)).form()
            except HTTPException as exc:  # no boundary, or a malformed part: the client's fault
                raise ApiError(400, f"Malformed multipart body: {exc.detail}") from None
            if any(isinstance(value, UploadFile) for _, value in form.multi_items()):
                _check_conflicts(query, {})
                return scope, _replay(raw)  # a file upload: the route reads it itself
            fields = _pairs_to_object([(k, str(v)) for k, v in form.multi_items()])
        elif media_type == "application/x-www-form-urlencoded":
            fields = _pairs_to_object(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        else:
            fields = self._json_object(raw) if raw.strip() else {}
        _check_conflicts(query, fields)
        if body_verb:
            body = json.dumps(fields, default=str).encode()
            return self._with_body(scope, body), _replay(body)
        merged = query + [
            (key, _as_text(item))
            for key, value in fields.items()
            if not any(key == k for k, _ in query)
            for item in (value if isinstance(value, list) else [value])
        ]
        _check_nul("", merged)
        scope["query_string"] = urlencode(merged).encode()
        return scope, _replay(b"")

    @staticmethod
    def _method(method: str, query: list[tuple[str, str]], headers: dict[bytes, bytes]) -> str:
        override = [v for k, v in query if k == "_method"]
        if not override:
            return method
        wanted = override[-1].upper()
        if wanted not in OVERRIDABLE:
            raise ApiError(400, f"_method must be one of {', '.join(sorted(OVERRIDABLE))}")
        token_auth = headers.get(b"authorization", b"").lower().startswith(b"bearer ") or any(
            k == "access_token" for k, _ in query
        )
        if not token_auth:
            raise ApiError(400, "_method is honoured only on requests authenticated with a token")
        if method not in ("GET", "POST"):
            raise ApiError(400, "_method overrides only GET or POST requests")
        return wanted

    @staticmethod
    def _json_object(raw: bytes) -> dict[str, object]:
        try:
            value = json.loads(raw, parse_float=Decimal)
        except RecursionError:
            raise ApiError(400, "Malformed JSON body: nested too deeply") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"Malformed JSON body: {exc}") from None
        if not isinstance(value, dict):
            raise ApiError(422, "The JSON body must be an object", invalidInputVars=[{"name": "body", "reason": "not an object"}])
        return value

    @staticmethod
    def _with_body(scope: Scope, body: bytes) -> Scope:
        headers = [
            (k, v) for k, v in scope["headers"] if k not in (b"content-type", b"content-length", b"transfer-encoding")
        ]
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        return {**scope, "headers": headers}
