"""A webhook receiver for the tests: a real HTTP server in a thread that records every POST and
answers as the test says."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


@dataclass
class Received:
    headers: dict[str, str]
    body: str
    status: int

    @property
    def event_id(self) -> str:
        return self.headers["webhook-id"]

    def verify(self, secret: str) -> dict:
        """The payload, once its Standard Webhooks signature checks out with `secret`."""
        return Webhook(secret).verify(self.body, self.headers)


class Receiver:
    """Answers each POST with `answer(request, earlier receipts of its webhook-id)`; `hold`
    keeps the next request waiting until `release` (a receiver that hangs)."""

    def __init__(self, answer: Callable[[Received, int], int] = lambda request, seen: 200) -> None:
        self.answer = answer
        self.received: list[Received] = []
        self.arrived = threading.Event()
        self._held = threading.Event()
        self._holding = False
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                request = Received({name.lower(): value for name, value in self.headers.items()}, body, 0)
                with receiver._lock:
                    seen = sum(earlier.event_id == request.headers.get("webhook-id") for earlier in receiver.received)
                    request.status = receiver.answer(request, seen)
                    receiver.received.append(request)
                    hold, receiver._holding = receiver._holding, False
                receiver.arrived.set()
                if hold:
                    receiver._held.wait(30)
                try:
                    self.send_response(request.status)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the sender is gone (killed mid-request)
                    pass

            def log_message(self, *args) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # a dispatcher's whole batch connects at once
            daemon_threads = True

        self.http = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/hook"

    def hold(self) -> None:
        self._holding = True

    def release(self) -> None:
        self._held.set()

    def wait_for(self, count: int, seconds: float = 20) -> list[Received]:
        """The first `count` requests, once they have arrived."""
        deadline = time.monotonic() + seconds
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} requests arrived"
            time.sleep(0.02)
        return self.received[:count]

    def close(self) -> None:
        self.release()
        self.http.shutdown()
        self.http.server_close()
