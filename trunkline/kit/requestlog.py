"""Request ids and the summary of each request for the request log (the debug guid).

Every response carries `X-Request-Id`, a time-ordered UUID
(version 7), so each new log entry lands at the end of the guid index instead of on a
random page. A summary of
each request is buffered in memory and written in batches, so logging costs no
database round trip on the request path. Secrets never reach the log: credentials are recorded as the token
id only, and secret-looking query parameters are masked.
"""

import logging
import time
import traceback
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uuid6 import uuid7

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


class RequestSink(Protocol):
    """Where summaries go: the app wires in the request log's writer (`request_log.repository`)."""

    def add(self, record: dict) -> None: ...


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
        guid = str(uuid7())
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
        self.writer.add(
            {
                "guid": guid,
                "org_id": principal.org_id if principal else None,
                "token_id": principal.token_id if principal else None,
                "method": scope["method"],
                "path": scope["path"].replace("\x00", "%00"),  # PostgreSQL text cannot hold NUL
                "query": query,
                "status": status,
                "error_code": state.get("error_code") or (None if status < 400 else "ERROR"),
                "client_ip": client[0] if client else None,
                "latency_ms": latency_ms,
                "created_at": datetime.now(UTC),
            }
        )
        if access_log.isEnabledFor(logging.INFO):
            path = scope["path"] + (f"?{query}" if query else "")
            access_log.info("%s %s %s %sms %s", scope["method"], path, status, latency_ms, guid)
