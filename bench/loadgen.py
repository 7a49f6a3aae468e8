"""A closed-loop HTTP/1.1 load generator: N keep-alive connections, each sending its
next request as soon as the previous response is complete, for a fixed duration.

Hand-written because no maintained Python load generator fits a one-command bench with
no extra install at tens of thousands of requests per second (and wrk is not a dependency).
Runs on uvloop with plain asyncio protocols and pre-built request bytes, so the client
spends as little CPU as possible next to the server it measures on the same machine.
"""

import asyncio
import itertools
import time
from dataclasses import dataclass

import uvloop


@dataclass(frozen=True)
class Result:
    requests: int  # completed inside the measured window
    warmup_requests: int  # completed before it
    seconds: float
    non_2xx: int
    errors: int  # connections lost or refused mid-run
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def request_bytes(method: str, path: str, host: str, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    """One keep-alive HTTP/1.1 request, ready to write."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Window:
    """When latencies count: after the warm-up, until the end."""

    def __init__(self, warmup: float, duration: float) -> None:
        now = time.perf_counter()
        self.start = now + warmup
        self.end = self.start + duration
        self.latencies: list[float] = []
        self.warmup_requests = 0
        self.non_2xx = 0
        self.errors = 0


class _Connection(asyncio.Protocol):
    """One keep-alive connection: parses just enough of each response to find its end."""

    def __init__(self, requests: itertools.cycle, window: _Window, done: asyncio.Future) -> None:
        self.requests = requests
        self.window = window
        self.done = done
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.sent_at = 0.0

    def connection_made(self, transport) -> None:
        self.transport = transport
        self._send()

    def _send(self) -> None:
        self.sent_at = time.perf_counter()
        if self.sent_at >= self.window.end:
            self.transport.close()
            return
        self.transport.write(next(self.requests))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        status = self._complete()
        if status is None:
            return
        now = time.perf_counter()
        window = self.window
        if window.start <= now < window.end:
            window.latencies.append(now - self.sent_at)
            if not 200 <= status < 300:
                window.non_2xx += 1
        elif now < window.start:
            window.warmup_requests += 1
        self._send()

    def _complete(self) -> int | None:
        """The status of the response in the buffer once it is whole (and drop it), else None."""
        buffer = self.buffer
        head_end = buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        head = bytes(buffer[:head_end]).lower()
        body_start = head_end + 4
        at = head.find(b"\r\ncontent-length:")
        if at >= 0:
            stop = head.find(b"\r\n", at + 2)
            length = int(head[at + 17 : stop if stop >= 0 else None])
            end = body_start + length
            if len(buffer) < end:
                return None
        elif b"\r\ntransfer-encoding: chunked" in head:
            end = self._chunked_end(body_start)
            if end is None:
                return None
        else:
            end = body_start  # 204/304 or a bodiless reply
        status = int(buffer[9:12])
        del buffer[:end]
        return status

    def _chunked_end(self, at: int) -> int | None:
        buffer = self.buffer
        while True:
            line_end = buffer.find(b"\r\n", at)
            if line_end < 0:
                return None
            size = int(bytes(buffer[at:line_end]).split(b";")[0], 16)
            at = line_end + 2 + size + 2
            if size == 0:  # no trailers expected
                return at if len(buffer) >= at else None
            if len(buffer) < at:
                return None

    def connection_lost(self, exc) -> None:
        if time.perf_counter() < self.window.end:
            self.window.errors += 1
        if not self.done.done():
            self.done.set_result(None)


async def _run(host: str, port: int, requests: list[bytes], connections: int, duration: float, warmup: float) -> Result:
    loop = asyncio.get_running_loop()
    window = _Window(warmup, duration)
    shared = itertools.cycle(requests)
    pending = []
    for _ in range(connections):
        done = loop.create_future()
        try:
            await loop.create_connection(lambda done=done: _Connection(shared, window, done), host, port)
        except OSError:
            window.errors += 1
            continue
        pending.append(done)
    while pending:
        # A connection the server dropped mid-run is replaced so the concurrency stays N.
        finished, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        pending = [future for future in pending if future not in finished]
        for _ in finished:
            if time.perf_counter() < window.end - 0.05:
                done = loop.create_future()
                try:
                    await loop.create_connection(lambda done=done: _Connection(shared, window, done), host, port)
                    pending.append(done)
                except OSError:
                    window.errors += 1
                    await asyncio.sleep(0.01)
    latencies = sorted(window.latencies)

    def percentile(fraction: float) -> float:
        return latencies[min(len(latencies) - 1, int(fraction * len(latencies)))] * 1000 if latencies else 0.0

    return Result(len(latencies), window.warmup_requests, duration, window.non_2xx, window.errors, percentile(0.50), percentile(0.99))


def run(
    host: str,
    port: int,
    requests: list[bytes],
    connections: int = 32,
    duration: float = 8.0,
    warmup: float = 2.0,
) -> Result:
    """Drive `requests` (cycled across all connections) at the server; measure after `warmup`."""
    return uvloop.run(_run(host, port, requests, connections, duration, warmup))
