"""Request ids and the summary of each request for the request log (the debug guid).

Every response carries `X-Request-Id`, a time-ordered UUID
(version 7), so each new log entry lands at the end of the guid index instead of on a
random page. A summary of
each request is buffered in memory and written in batches, so logging costs no
database round trip on the request path. Secrets never reach the log: credentials are recorded as the token
id only, and secret-looking query parameters are masked.
"""

import logging
import random
import time
import traceback
from typing import Protocol
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trunkline.kit.errors import ApiError, error_response
from trunkline.kit.responses import set_guid

access_log = logging.getLogger("trunkline.access")
error_log = logging.getLogger("trunkline.error")

# A parameter whose name contains any of these (admin_password, refresh_token, x-api-key…) is masked.
SECRET_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey", "api-key", "authorization", "signature")
MASK = "[redacted]"


def _is_secret(name: str) -> bool:
    name = name.lower()
    return any(word in name for word in SECRET_WORDS)


def redact_query(query: str) -> str:
    """The query string with the values of secret-bearing parameters masked."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, MASK if _is_secret(k) else v) for k, v in pairs])


def new_guid() -> str:
    """A UUID version 7 (RFC 9562) as text: Unix milliseconds, then 74 random bits. Written here
    because `uuid6.uuid7` draws every id's bits from the OS (`secrets`: a system call, 4 % of a
    served request's samples under py-spy) and builds a UUID object only to print it. A request
    id must be unique and time-ordered, not secret: Python's generator, seeded by the OS, does."""
    bits = random.getrandbits(74)
    value = (time.time_ns() // 1_000_000) << 80 | 0x7000 << 64 | (bits >> 62) << 64 | 0b10 << 62 | bits & (1 << 62) - 1
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class RequestSink(Protocol):
    """Where summaries go: the app wires in the request log's writer (`request_log.repository`)."""

    def add(self, record: tuple) -> None:
        """One summary: guid, org_id, token_id, method, path, query, status, error_code,
        client_ip, latency_ms, and the time it was made (`time.time()`)."""


class RequestLogMiddleware:
    """Outermost middleware: assigns the guid, adds headers (the guid, `nosniff` on every answer,
    `Cache-Control: no-store` on authenticated ones), turns crashes into a clean 500."""

    def __init__(self, app: ASGIApp, writer: RequestSink) -> None:
        self.app = app
        self.writer = writer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        guid = new_guid()
        set_guid(guid)
        state = scope.setdefault("state", {})
        state["guid"] = guid
        started = time.perf_counter()
        status = 500
        response_started = recorded = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started, recorded
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", guid.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                if "principal" in state and not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))  # an organization's data stays out of shared caches
                headers.extend(state.get("extra_headers", ()))
                message["headers"] = headers
            elif message["type"] == "http.response.body" and not message.get("more_body", False) and not recorded:
                # Before the last byte leaves: a client that looks its guid up at once must find it.
                recorded = True
                self._record(scope, state, guid, status, started)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            error_log.error("unhandled error in request %s\n%s", guid, traceback.format_exc())
            if not response_started:
                response = error_response(
                    ApiError(500, "Internal server error; quote the guid to support"), state
                )
                await response(scope, receive, send_with_headers)
        finally:
            if not recorded:
                self._record(scope, state, guid, status, started)

    def _record(self, scope: Scope, state: dict, guid: str, status: int, started: float) -> None:
        latency_ms = int((time.perf_counter() - started) * 1000)
        query = redact_query(scope.get("query_string", b"").decode("latin-1"))
        client = scope.get("client")
        principal = state.get("principal")
        self.writer.add((
            guid,
            principal.org_id if principal else None,
            principal.token_id if principal else None,
            scope["method"],
            scope["path"].replace("\x00", "%00"),  # PostgreSQL text cannot hold NUL
            query,
            status,
            state.get("error_code") or (None if status < 400 else "ERROR"),
            client[0] if client else None,
            latency_ms,
            time.time(),
        ))
        if access_log.isEnabledFor(logging.INFO):
            path = scope["path"] + (f"?{query}" if query else "")
            access_log.info("%s %s %s %sms %s", scope["method"], path, status, latency_ms, guid)
