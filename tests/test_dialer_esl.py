"""The FreeSWITCH dialer against a local fake event socket speaking the real ESL protocol
(auth/request, command/reply, api/response, text/disconnect-notice), directly and end to end."""

import asyncio
import threading
import time
import uuid

import pytest

from tests.harness import Server, bootstrap_operator, free_port, new_org, settings_for, start_server
from tests.helpers import ready_to_dial
from trunkline.voice.dialer import CallRequest
from trunkline.voice.freeswitch_esl import FreeSwitchDialer

PASSWORD = "ClueCon"
REQUEST = CallRequest(id=1234567, account_id="12345", callee="442079460000", whisper_text="Your table\nis 'ready'")
DISCONNECT = b"Content-Type: text/disconnect-notice\nContent-Length: 67\n\nDisconnected, goodbye.\nSee you at ZombieCon 2016.\n"


class FakeFreeSwitch:
    """mod_event_socket in miniature, on 127.0.0.1 in its own thread; records what it was sent."""

    def __init__(self, bgapi_reply: str | None = None, noise: bool = False, silent: bool = False):
        self.bgapi_reply = bgapi_reply  # None: accept with the client's Job-UUID
        self.noise = noise  # send an unrelated event (with a body) before each reply
        self.silent = silent  # never greet: the client must time out
        self.received: list[str] = []
        self.sessions: set[asyncio.Task] = set()
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True).start()
        ready.wait(10)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._session, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)

    async def _shutdown(self) -> None:
        self.server.close()
        for task in self.sessions:
            task.cancel()
        await asyncio.gather(*self.sessions, return_exceptions=True)

    async def _send(self, writer, message: bytes) -> None:
        if self.noise:
            body = b"Event-Name: HEARTBEAT\n\n"
            writer.write(b"Content-Type: text/event-plain\nContent-Length: %d\n\n%s" % (len(body), body))
        writer.write(message)
        await writer.drain()

    async def _session(self, reader, writer) -> None:
        task = asyncio.current_task()
        self.sessions.add(task)
        task.add_done_callback(self.sessions.discard)
        try:
            if self.silent:
                await reader.read()
                return
            writer.write(b"Content-Type: auth/request\n\n")
            await writer.drain()
            authed = False
            while True:
                raw = await reader.readuntil(b"\n\n")
                command = raw.decode().strip()
                self.received.append(command)
                line, *headers = command.split("\n")
                if line.startswith("auth "):
                    if line[5:] != PASSWORD:
                        await self._send(writer, b"Content-Type: command/reply\nReply-Text: -ERR invalid\n\n" + DISCONNECT)
                        return
                    authed = True
                    await self._send(writer, b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n")
                elif not authed:
                    await self._send(writer, b"Content-Type: command/reply\nReply-Text: -ERR command not found\n\n")
                elif line == "exit":
                    await self._send(writer, b"Content-Type: command/reply\nReply-Text: +OK bye\n\n" + DISCONNECT)
                    return
                elif line.startswith("api "):
                    body = b"+OK\n" if line == "api status" else b"-ERR " + line[4:].encode() + b" Command not found!\n"
                    await self._send(writer, b"Content-Type: api/response\nContent-Length: %d\n\n%s" % (len(body), body))
                elif line.startswith("bgapi "):
                    job = dict(h.split(": ", 1) for h in headers).get("Job-UUID") or str(uuid.uuid4())
                    reply = self.bgapi_reply or f"+OK Job-UUID: {job}"
                    await self._send(writer, f"Content-Type: command/reply\nReply-Text: {reply}\nJob-UUID: {job}\n\n".encode())
                else:
                    await self._send(writer, b"Content-Type: command/reply\nReply-Text: -ERR command not found\n\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
def fake():
    made: list[FakeFreeSwitch] = []

    def make(**options) -> FakeFreeSwitch:
        made.append(FakeFreeSwitch(**options))
        return made[-1]

    yield make
    for server in made:
        server.close()


def dial(port: int, password: str = PASSWORD, **options):
    return asyncio.run(FreeSwitchDialer("127.0.0.1", port, password, **options).originate(REQUEST))


@pytest.mark.parametrize("noise", [False, True], ids=["plain", "with-events"])
def test_originate_is_sent_and_the_job_uuid_returned(fake, noise):
    server = fake(noise=noise)
    result = dial(server.port)
    assert result.status == "dialing"
    deadline = time.monotonic() + 5  # the dialer does not wait for the reply to its exit
    while len(server.received) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    auth, bgapi, exit_ = server.received
    assert auth == f"auth {PASSWORD}" and exit_ == "exit"
    command, job_header = bgapi.split("\n")
    assert command == (
        "bgapi originate {origination_caller_id_number=12345}sofia/gateway/default/442079460000 "
        "'&speak(flite|kal|Your table is  ready )'"
    )
    job = job_header.removeprefix("Job-UUID: ")
    assert str(uuid.UUID(job)) == job
    assert result.job_uuid == job and job in result.detail


def test_dial_string_template_is_a_setting(fake):
    server = fake()
    template = "{ignore_early_media=true}sofia/gateway/carrier/00$callee &playback(say:$text) ${not_ours} $id"
    assert dial(server.port, dial_string=template).status == "dialing"
    assert server.received[1].split("\n")[0] == (
        "bgapi originate {ignore_early_media=true}sofia/gateway/carrier/00442079460000 "
        "&playback(say:Your table is  ready ) ${not_ours} MTIzNDU2Nw=="
    )


def test_wrong_password_fails_with_the_reason(fake):
    server = fake()
    result = dial(server.port, password="wrong")
    assert result.status == "failed"
    assert result.detail == "FreeSWITCH authentication failed: -ERR invalid"
    assert server.received == ["auth wrong"]


@pytest.mark.parametrize("reply", ["-ERR originate Command not found!", "-ERR no reply"])
def test_err_reply_to_bgapi_fails_with_the_reply(fake, reply):
    result = dial(fake(bgapi_reply=reply).port)
    assert result.status == "failed"
    assert result.detail == f"FreeSWITCH refused the originate: {reply}"


def test_connection_refused_fails_clearly():
    port = free_port()
    result = dial(port)
    assert result.status == "failed"
    assert result.detail.startswith(f"Cannot connect to FreeSWITCH at 127.0.0.1:{port}:")


def test_silent_socket_times_out(fake):
    result = dial(fake(silent=True).port, timeout=0.3)
    assert result.status == "failed"
    assert "did not answer within 0.3s" in result.detail


def test_fake_speaks_api_response(fake):
    """The fake's api/response framing (Content-Length body), as FreeSWITCH sends it."""
    from trunkline.voice.freeswitch_esl import read_message

    async def talk(port: int):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert (await read_message(reader))[0] == {"Content-Type": "auth/request"}
        writer.write(f"auth {PASSWORD}\n\napi status\n\n".encode())
        await read_message(reader)
        headers, body = await read_message(reader)
        writer.close()
        return headers, body

    headers, body = asyncio.run(talk(fake().port))
    assert headers["Content-Type"] == "api/response" and body == b"+OK\n"


@pytest.fixture(scope="module")
def esl_app(tmp_path_factory, worker_id):
    """A separate app (sqlite) whose dialer is FreeSWITCH at a fake event socket."""
    esl = FakeFreeSwitch()
    settings = settings_for("sqlite", tmp_path_factory, worker_id, dialer="freeswitch", esl_port=esl.port, esl_password=PASSWORD)
    token = bootstrap_operator(settings)
    uv, thread, url = start_server(settings)
    yield Server("sqlite", url, settings, token), esl
    uv.should_exit = True
    thread.join(10)
    esl.close()


def poll(client, request_id: str) -> dict:
    deadline = time.monotonic() + 10
    while True:
        body = client.get(f"/api/voice/rapidresponse/{request_id}").json()
        if body["status"] != "queued" or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_end_to_end_through_the_event_socket(esl_app):
    server, esl = esl_app
    org = new_org(server)
    ready_to_dial(org.client, "A-1")
    response = org.client.post("/api/voice/rapidresponse", data={"account_id": "A-1", "callee": "+1 (555) 010-0000", "whisper_text": "Hello"})
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    call = poll(org.client, response.json()["id"])
    assert call["status"] == "dialing" and call["dialer"] == "freeswitch"
    assert call["detail"].startswith("FreeSWITCH accepted the originate, Job-UUID ")
    sent = [c for c in esl.received if c.startswith("bgapi ")]
    assert sent[-1].split("\n")[0] == (
        "bgapi originate {origination_caller_id_number=A-1}sofia/gateway/default/15550100000 '&speak(flite|kal|Hello)'"
    )
    assert call["detail"].endswith(sent[-1].split("Job-UUID: ")[1])


def test_end_to_end_failure_is_recorded(esl_app, monkeypatch):
    server, esl = esl_app
    monkeypatch.setattr(esl, "bgapi_reply", "-ERR originate Command not found!")
    org = new_org(server)
    ready_to_dial(org.client, "1")
    request_id = org.client.post("/api/voice/rapidresponse", json={"account_id": "1", "callee": "4420", "whisper_text": "x"}).json()["id"]
    call = poll(org.client, request_id)
    assert call["status"] == "failed"
    assert call["detail"] == "FreeSWITCH refused the originate: -ERR originate Command not found!"
