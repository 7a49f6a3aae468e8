"""FreeSWITCH over its inbound event socket (mod_event_socket).

One short connection per call: wait for `auth/request`, `auth <password>`, expect `+OK accepted`,
send `bgapi originate <dial string>` with our own `Job-UUID`, and read the `+OK Job-UUID: …` reply.
An accepted job marks the request `dialing`; anything else marks it `failed` with the reason.

The dial string is a `string.Template` (setting TRUNKLINE_ESL_DIAL_STRING) with `$callee`
(digits), `$text` (the whisper text), `$account_id` and `$id`; FreeSWITCH's own `{…}` and
`${…}` pass through untouched.
"""

import asyncio
import re
import uuid
from string import Template

from trunkline.kit import ids
from trunkline.kit.config import DEFAULT_DIAL_STRING
from trunkline.voice.dialer import CallRequest, DialResult, Progress, no_progress

_UNSAFE = re.compile(r"[\x00-\x1f\x7f']")  # newlines end an ESL command; quotes end the app argument


class EslError(Exception):
    """The event socket refused us or spoke something unexpected."""


async def read_message(reader: asyncio.StreamReader) -> tuple[dict[str, str], bytes]:
    """One ESL message: header lines up to a blank line, then Content-Length bytes of body."""
    headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if not line:
            raise EslError("connection closed by FreeSWITCH")
        line = line.rstrip(b"\r\n")
        if not line:
            if headers:
                break
            continue
        name, _, value = line.decode("utf-8", "replace").partition(":")
        headers[name.strip()] = value.strip()
    length = int(headers.get("Content-Length", "0") or 0)
    body = await reader.readexactly(length) if length else b""
    return headers, body


async def _reply(reader: asyncio.StreamReader) -> str:
    """The next command/reply's Reply-Text, skipping events and notices."""
    while True:
        headers, _ = await read_message(reader)
        if headers.get("Content-Type") == "command/reply":
            return headers.get("Reply-Text", "")
        if headers.get("Content-Type") == "text/disconnect-notice":
            raise EslError("FreeSWITCH disconnected")


class FreeSwitchDialer:
    name = "freeswitch"

    def __init__(self, host: str, port: int, password: str, dial_string: str = DEFAULT_DIAL_STRING, timeout: float = 5.0):
        self.host, self.port, self.password = host, port, password
        self.template = Template(dial_string)
        self.timeout = timeout

    def command(self, request: CallRequest) -> str:
        """The originate command for this request (no trailing newlines)."""
        values = {
            "callee": request.callee,
            "text": _UNSAFE.sub(" ", request.whisper_text),
            "account_id": _UNSAFE.sub("", request.account_id),
            "id": ids.encode(request.id),
        }
        return "originate " + self.template.safe_substitute(values)

    async def originate(self, request: CallRequest, progress: Progress = no_progress) -> DialResult:
        try:
            return await asyncio.wait_for(self._originate(request), self.timeout)
        except TimeoutError:
            return DialResult("failed", f"FreeSWITCH at {self.host}:{self.port} did not answer within {self.timeout:g}s")
        except OSError as exc:
            return DialResult("failed", f"Cannot connect to FreeSWITCH at {self.host}:{self.port}: {exc.strerror or exc}")
        except (EslError, asyncio.IncompleteReadError, ValueError) as exc:
            return DialResult("failed", f"FreeSWITCH event socket error: {exc}")

    async def _originate(self, request: CallRequest) -> DialResult:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            headers, _ = await read_message(reader)
            if headers.get("Content-Type") != "auth/request":
                raise EslError(f"expected auth/request, got {headers.get('Content-Type')!r}")
            writer.write(f"auth {self.password}\n\n".encode())
            await writer.drain()
            reply = await _reply(reader)
            if not reply.startswith("+OK"):
                return DialResult("failed", f"FreeSWITCH authentication failed: {reply}")
            job = str(uuid.uuid4())
            writer.write(f"bgapi {self.command(request)}\nJob-UUID: {job}\n\n".encode())
            await writer.drain()
            reply = await _reply(reader)
            if not reply.startswith("+OK"):
                return DialResult("failed", f"FreeSWITCH refused the originate: {reply}")
            accepted = reply.removeprefix("+OK").strip().removeprefix("Job-UUID:").strip() or job
            writer.write(b"exit\n\n")
            await writer.drain()
            return DialResult("dialing", f"FreeSWITCH accepted the originate, Job-UUID {accepted}", accepted)
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
