"""Webhooks over real HTTP and real sockets: Standard Webhooks signatures checked by a live
receiver, a receiver that fails and then answers, the retry schedule walked with a fake clock
until the webhook is disabled, replays, the address guard, a server killed mid-delivery, and
two dispatchers sharing one outbox."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine, event, select
from typer.testing import CliRunner

from tests.harness import POSTGRES_URL, Org, Server, bootstrap_operator, free_port, new_org, require_service, settings_for, start_server
from tests.helpers import assert_error, cdr, make_token, ok, rate
from tests.webhook_receiver import Receiver
from trunkline.cli import app as cli
from trunkline.db.engine import make_engine
from trunkline.db.tables import webhook_attempts, webhook_deliveries, webhook_events
from trunkline.kit import ids
from trunkline.kit.clock import utcnow
from trunkline.kit.config import Settings
from trunkline.kit.secretbox import SecretBox, server_box
from trunkline.webhooks import claims, outbox
from trunkline.webhooks.dispatcher import Dispatcher
from trunkline.webhooks.schedule import ATTEMPTS, JITTER, RETRY_DELAYS

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@dataclass
class Hooks:
    """A server whose webhooks may reach this machine, with a database handle and its key."""

    server: Server
    engine: Engine
    box: SecretBox

    def dispatcher(self, **options) -> Dispatcher:
        return Dispatcher(self.engine, self.box, **{"allow_private": True, **options})


def _hooks(request, tmp_path_factory, worker_id: str, name: str, **overrides):
    backend = request.param
    if backend == "postgresql":
        require_service("PostgreSQL", POSTGRES_URL)
    settings = settings_for(backend, tmp_path_factory, f"{worker_id}_{name}", webhooks_allow_private=True, **overrides)
    token = bootstrap_operator(settings)
    uv, thread, url = start_server(settings)
    engine = make_engine(settings.sqlalchemy_url)
    yield Hooks(Server(backend, url, settings, token), engine, server_box(None, settings.data_dir))
    engine.dispose()
    uv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module", params=BACKENDS)
def live(request, tmp_path_factory, worker_id):
    """A server delivering webhooks itself, as `trunkline serve` does."""
    yield from _hooks(request, tmp_path_factory, worker_id, "hooks_live")


@pytest.fixture(scope="module", params=BACKENDS)
def quiet(request, tmp_path_factory, worker_id):
    """A server that delivers nothing itself (TRUNKLINE_DISPATCH=false): the tests run dispatchers."""
    yield from _hooks(request, tmp_path_factory, worker_id, "hooks_quiet", dispatch=False)


@pytest.fixture
def receiver():
    started = Receiver()
    yield started
    started.close()


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def webhook(org: Org, url: str, *event_types: str, **fields) -> dict:
    return ok(org.client.post("/api/webhooks", json={"url": url, "event_types": list(event_types or ["*"]), **fields}))


def send_test(org: Org, hook: dict, **body) -> dict:
    answer = org.client.post(f"/api/webhooks/{hook['id']}/test", json=body or None)
    assert answer.status_code == 202, answer.text
    return answer.json()


def delivery(org: Org, hook: dict, delivery_id: str) -> dict:
    return ok(org.client.get(f"/api/webhooks/{hook['id']}/deliveries/{delivery_id}"))


def settled(org: Org, hook: dict, delivery_id: str, seconds: float = 20) -> dict:
    """The delivery once it is no longer pending."""
    deadline = time.monotonic() + seconds
    while (found := delivery(org, hook, delivery_id))["status"] == "pending":
        assert time.monotonic() < deadline, found
        time.sleep(0.05)
    return found


def attempts(org: Org, hook: dict, delivery_id: str | None = None) -> list[dict]:
    params = {"filter": f"delivery_id eq '{delivery_id}'"} if delivery_id else {}
    return ok(org.client.get(f"/api/webhooks/{hook['id']}/attempts", params=params))["items"]


def deliveries(org: Org, hook: dict) -> list[dict]:
    return ok(org.client.get(f"/api/webhooks/{hook['id']}/deliveries"))["items"]


def publish(hooks: Hooks, org: Org, event_type: str, data: dict) -> int | None:
    with hooks.engine.begin() as conn:
        return outbox.publish(conn, ids.decode(org.id), event_type, data, utcnow())


def dispatch_once(dispatcher: Dispatcher) -> int:
    async def once() -> int:
        async with dispatcher.lanes() as lanes:
            return await dispatcher.run_once(lanes)

    return asyncio.run(once())


def test_crud_validation_scopes_and_the_secret_shown_once(live, receiver):
    org = new_org(live.server)
    created = webhook(org, receiver.url, "message.*", "call.rated", "message.*", description="CRM")
    assert created["secret"].startswith("whsec_") and created["event_types"] == ["message.*", "call.rated"]
    assert (created["enabled"], created["disabled_reason"], created["description"]) == (True, None, "CRM")
    shown = ok(org.client.get(f"/api/webhooks/{created['id']}"))
    assert "secret" not in shown and shown["url"] == receiver.url
    assert [hook["id"] for hook in ok(org.client.get("/api/webhooks", params={"search": "CRM"}))["items"]] == [created["id"]]
    for body, field in (
        ({"url": receiver.url, "event_types": ["message.sent"]}, "event_types"),
        ({"url": "ftp://example.com/x", "event_types": ["*"]}, "url"),
        ({"url": "http:///nohost", "event_types": ["*"]}, "url"),
    ):
        problem = assert_error(org.client.post("/api/webhooks", json=body), 422)
        assert field in problem["message"], problem
    assert_error(org.client.patch(f"/api/webhooks/{created['id']}", json={"disabled_reason": None}), 422)
    changed = ok(org.client.patch(f"/api/webhooks/{created['id']}", json={"event_types": ["verification.*"], "description": None}))
    assert (changed["event_types"], changed["description"]) == (["verification.*"], None)
    rotated = ok(org.client.post(f"/api/webhooks/{created['id']}/rotate"))
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    other = new_org(live.server)
    assert_error(other.client.get(f"/api/webhooks/{created['id']}"), 404)
    assert_error(other.client.post(f"/api/webhooks/{created['id']}/test"), 404)
    _, token = make_token(org.client, ["webhooks.read"])
    with live.server.client(token) as reader:
        assert ok(reader.get("/api/webhooks"))["count"] == 1
        assert_error(reader.post("/api/webhooks", json={"url": receiver.url, "event_types": ["*"]}), 403)
        assert_error(reader.post(f"/api/webhooks/{created['id']}/test"), 403)
    ok(org.client.delete(f"/api/webhooks/{created['id']}"))
    assert_error(org.client.get(f"/api/webhooks/{created['id']}"), 404)


def test_a_test_event_arrives_signed_and_its_attempt_is_logged(live, receiver):
    org = new_org(live.server)
    hook = webhook(org, receiver.url, "call.rated")
    sent = send_test(org, hook, message="hello")
    assert (sent["event_type"], sent["status"], sent["attempts"]) == ("webhook.test", "pending", 0)
    done = settled(org, hook, sent["id"])
    assert (done["status"], done["attempts"], done["last_status_code"], done["next_attempt_at"]) == ("succeeded", 1, 200, None)
    [received] = receiver.wait_for(1)
    payload = received.verify(hook["secret"])
    assert payload == done["payload"] and payload["type"] == "webhook.test"
    assert payload["data"] == {"webhook_id": hook["id"], "message": "hello"}
    assert received.event_id == done["event_id"] and received.headers["content-type"] == "application/json"
    [attempt] = attempts(org, hook)
    assert (attempt["delivery_id"], attempt["attempt"], attempt["status_code"], attempt["succeeded"], attempt["response"]) == (sent["id"], 1, 200, True, "ok")


def test_publish_reaches_the_subscribers_in_the_callers_transaction_and_costs_nothing_without_them(live, receiver):
    org = new_org(live.server)
    org_id = ids.decode(org.id)
    statements = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(live.engine, "before_cursor_execute", count)
    try:
        assert publish(live, org, "message.delivered", {"id": "m1"}) is None  # no webhook: one read ...
        read = len(statements)
        for _ in range(100):
            assert publish(live, org, "message.delivered", {"id": "m1"}) is None  # ... then nothing reaches the database
        assert len(statements) == read
    finally:
        event.remove(live.engine, "before_cursor_execute", count)
    messages = webhook(org, receiver.url, "message.*")
    calls = webhook(org, receiver.url, "call.rated")
    everything = webhook(org, receiver.url, "*", enabled=False)
    assert publish(live, org, "verification.created", {"id": "v1"}) is None
    with live.engine.begin() as conn:
        outbox.publish(conn, org_id, "message.failed", {"id": "rolled back"}, utcnow())
        conn.rollback()  # the change it reported did not happen: neither did the event
    assert publish(live, org, "message.delivered", {"id": "m2", "price": 0.0123}) is not None
    assert publish(live, org, "call.rated", {"call_id": "c1"}) is not None
    received = {json.loads(r.body)["type"]: r for r in receiver.wait_for(2)}
    assert received["message.delivered"].verify(messages["secret"])["data"] == {"id": "m2", "price": 0.0123}
    assert received["call.rated"].verify(calls["secret"])["data"] == {"call_id": "c1"}
    time.sleep(0.5)
    assert len(receiver.received) == 2  # and nothing else on its way
    assert [d["event_type"] for d in deliveries(org, messages)] == ["message.delivered"]
    assert [d["event_type"] for d in deliveries(org, calls)] == ["call.rated"]
    assert deliveries(org, everything) == []


def test_a_receiver_that_fails_then_answers_gets_each_event_once(live):
    """500 on the first attempt of each event, 200 on the retry 5 s later."""
    receiver = Receiver(lambda request, seen: 500 if seen == 0 else 200)
    try:
        org = new_org(live.server)
        hook = webhook(org, receiver.url, "message.*")
        for n in range(3):
            publish(live, org, "message.delivered", {"id": f"m{n}"})
        done = [settled(org, hook, found["id"], seconds=30) for found in deliveries(org, hook)]
        assert [(found["status"], found["attempts"]) for found in done] == [("succeeded", 2)] * 3
        answered = Counter((r.event_id, r.status) for r in receiver.received)
        assert answered == Counter({(found["event_id"], status): 1 for found in done for status in (500, 200)})
        for found in done:
            assert [(a["attempt"], a["status_code"]) for a in attempts(org, hook, found["id"])] == [(2, 200), (1, 500)]
        assert all(r.verify(hook["secret"]) for r in receiver.received)
    finally:
        receiver.close()


def test_the_retry_schedule_runs_about_a_day_and_then_disables_the_webhook(quiet):
    receiver = Receiver(lambda request, seen: 500)
    try:
        org = new_org(quiet.server)
        hook = webhook(org, receiver.url, "message.*")
        sent = send_test(org, hook)
        clock = FakeClock(utcnow())
        dispatcher = quiet.dispatcher(clock=clock)
        for number in range(1, ATTEMPTS + 1):
            assert dispatch_once(dispatcher) == 1
            found = delivery(org, hook, sent["id"])
            assert (found["attempts"], found["last_status_code"], found["last_error"]) == (number, 500, "HTTP 500")
            if number == ATTEMPTS:
                break
            due = datetime.fromisoformat(found["next_attempt_at"])
            wait = RETRY_DELAYS[number - 1]
            assert wait * (1 - JITTER) - timedelta(seconds=1) <= due - clock.now <= wait * (1 + JITTER)
            assert dispatch_once(dispatcher) == 0  # not due yet
            clock.now = due + timedelta(seconds=1)
        assert sum(RETRY_DELAYS, timedelta()) > timedelta(hours=27)
        assert (found["status"], found["next_attempt_at"]) == ("failed", None)
        assert [a["attempt"] for a in attempts(org, hook)] == list(range(ATTEMPTS, 0, -1))
        assert len(receiver.received) == ATTEMPTS and len({r.event_id for r in receiver.received}) == 1
        disabled = ok(org.client.get(f"/api/webhooks/{hook['id']}"))
        assert disabled["enabled"] is False and f"after {ATTEMPTS} attempts (last: HTTP 500)" in disabled["disabled_reason"]
        assert_error(org.client.post(f"/api/webhooks/{hook['id']}/test"), 409, "WEBHOOK_DISABLED")
        assert_error(org.client.post(f"/api/webhooks/{hook['id']}/deliveries", json={"event_id": sent["event_id"]}), 409, "WEBHOOK_DISABLED")
        enabled = ok(org.client.patch(f"/api/webhooks/{hook['id']}", json={"enabled": True}))
        assert (enabled["enabled"], enabled["disabled_reason"]) == (True, None)
    finally:
        receiver.close()


def test_a_receiver_refusing_one_event_stays_enabled_and_410_disables_at_once(quiet):
    refused = set()
    receiver = Receiver(lambda request, seen: 400 if request.event_id in refused else 410 if "gone" in request.body else 200)
    try:
        org = new_org(quiet.server)
        hook = webhook(org, receiver.url, "message.*")
        clock = FakeClock(utcnow() + timedelta(minutes=1))
        dispatcher = quiet.dispatcher(clock=clock)
        bad = send_test(org, hook)
        refused.add(bad["event_id"])
        for _ in range(ATTEMPTS):
            publish(quiet, org, "message.delivered", {"id": "fine"})  # others get through meanwhile
            assert dispatch_once(dispatcher) == 2
            clock.now += timedelta(hours=11)
        assert delivery(org, hook, bad["id"])["status"] == "failed"
        assert ok(org.client.get(f"/api/webhooks/{hook['id']}"))["enabled"] is True
        gone = publish(quiet, org, "message.expired", {"id": "gone"})
        assert dispatch_once(dispatcher) == 1
        [last] = [d for d in deliveries(org, hook) if d["event_id"] == ids.encode(gone)]
        assert (last["status"], last["attempts"], last["last_status_code"]) == ("failed", 1, 410)
        disabled = ok(org.client.get(f"/api/webhooks/{hook['id']}"))
        assert disabled["enabled"] is False and "410 Gone" in disabled["disabled_reason"]
    finally:
        receiver.close()


def test_replay_sends_the_same_event_again_and_rotation_signs_with_both_secrets(live, receiver):
    org = new_org(live.server)
    hook = webhook(org, receiver.url, "message.*")
    first = settled(org, hook, send_test(org, hook)["id"])
    rotated = ok(org.client.post(f"/api/webhooks/{hook['id']}/rotate"))["secret"]
    replay = org.client.post(f"/api/webhooks/{hook['id']}/deliveries", json={"event_id": first["event_id"]})
    assert replay.status_code == 202, replay.text
    again = settled(org, hook, replay.json()["id"])
    assert again["id"] != first["id"] and again["event_id"] == first["event_id"] and again["status"] == "succeeded"
    before, after = receiver.wait_for(2)
    assert before.event_id == after.event_id == first["event_id"] and before.body == after.body
    assert after.verify(rotated) == after.verify(hook["secret"])  # for a day, both secrets sign
    assert len(after.headers["webhook-signature"].split(" ")) == 2
    unknown = assert_error(org.client.post(f"/api/webhooks/{hook['id']}/deliveries", json={"event_id": ids.encode(12345)}), 422)
    assert unknown["invalidInputVars"][0]["name"] == "event_id"
    other = new_org(live.server)
    assert_error(other.client.post(f"/api/webhooks/{hook['id']}/deliveries", json={"event_id": first["event_id"]}), 404)


def test_urls_reaching_private_addresses_are_refused_unless_the_operator_allows_them(org, live, receiver):
    """The shared server keeps the default (refuse); `live` allows them, as a development setup would."""
    for url in ("http://127.0.0.1:8080/x", "http://localhost/x", "http://10.1.2.3/x", "http://169.254.169.254/latest", "http://[::1]/x",
                "http://[::ffff:192.168.0.1]/x", "http://0.0.0.0/x", "http://224.0.0.1/x", "http://no-such-host.invalid/x"):
        problem = assert_error(org.client.post("/api/webhooks", json={"url": url, "event_types": ["*"]}), 422)
        assert problem["invalidInputVars"][0]["name"] == "url", problem
    assert "not a public address" in assert_error(org.client.post("/api/webhooks", json={"url": "http://127.0.0.1/x", "event_types": ["*"]}), 422)["message"]
    public = webhook(org, "https://93.184.215.14/hooks")
    assert_error(org.client.patch(f"/api/webhooks/{public['id']}", json={"url": "http://192.168.1.1/"}), 422)
    assert ok(org.client.get(f"/api/webhooks/{public['id']}"))["url"] == "https://93.184.215.14/hooks"  # unchanged
    assert webhook(new_org(live.server), receiver.url)["url"] == receiver.url


def test_the_guard_holds_again_at_delivery_time(quiet, receiver):
    """A URL accepted earlier (here: while private addresses were allowed) is refused when the
    address it resolves to is not public, and nothing is sent."""
    org = new_org(quiet.server)
    hook = webhook(org, receiver.url.replace("127.0.0.1", "localhost"))
    sent = send_test(org, hook)
    assert dispatch_once(quiet.dispatcher(allow_private=False)) == 1
    [attempt] = attempts(org, hook)
    assert attempt["status_code"] is None and "resolves to 127.0.0.1, which is not a public address" in attempt["error"]
    assert receiver.received == [] and delivery(org, hook, sent["id"])["status"] == "pending"


def test_two_dispatchers_never_deliver_one_event_twice(quiet, receiver):
    """Two dispatchers with their own connections claim from one outbox at once (PostgreSQL:
    FOR UPDATE SKIP LOCKED; SQLite: one writer at a time): each event arrives exactly once."""
    org = new_org(quiet.server)
    webhook(org, receiver.url, "message.*")
    with quiet.engine.begin() as conn:
        for n in range(300):
            outbox.publish(conn, ids.decode(org.id), "message.delivered", {"id": n}, utcnow())
    engines = [make_engine(quiet.server.settings.sqlalchemy_url) for _ in range(2)]
    claimed = []

    def work(engine: Engine) -> None:
        dispatcher = Dispatcher(engine, quiet.box, allow_private=True, batch=20)

        async def drain() -> None:
            async with dispatcher.lanes() as lanes:
                while (count := await dispatcher.run_once(lanes)) > 0:
                    claimed.append(count)

        asyncio.run(drain())

    try:
        workers = [threading.Thread(target=work, args=(engine,)) for engine in engines]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join(60)
    finally:
        for engine in engines:
            engine.dispose()
    assert sum(claimed) == 300 and len(claimed) >= 15
    assert Counter(Counter(r.event_id for r in receiver.received).values()) == {1: 300}
    with quiet.engine.connect() as conn:
        rows = conn.execute(select(webhook_deliveries.c.status, webhook_deliveries.c.attempts).where(webhook_deliveries.c.org_id == ids.decode(org.id))).all()
    assert Counter(rows) == {("succeeded", 1): 300}


def test_old_finished_events_are_purged_with_their_deliveries_and_attempts(quiet, receiver):
    org = new_org(quiet.server)
    hook = webhook(org, receiver.url, "message.*")
    done = send_test(org, hook)
    assert dispatch_once(quiet.dispatcher()) == 1
    waiting = send_test(org, hook)
    with quiet.engine.begin() as conn:
        claims.purge(conn, utcnow() + timedelta(days=1))
    assert [d["id"] for d in deliveries(org, hook)] == [waiting["id"]]
    with quiet.engine.connect() as conn:
        assert conn.execute(select(webhook_events.c.id).where(webhook_events.c.id == ids.decode(done["event_id"]))).first() is None
        assert conn.execute(select(webhook_attempts.c.id).where(webhook_attempts.c.delivery_id == ids.decode(done["id"]))).first() is None


def test_a_server_killed_mid_delivery_still_delivers_after_restart(tmp_path, receiver):
    """`kill -9` of `trunkline serve` while its receiver holds the request: once the claim ends,
    `trunkline worker` (the dispatcher without HTTP) delivers the event, at least once."""
    settings = Settings(data_dir=tmp_path, argon2_fast=True)
    token = bootstrap_operator(settings)
    env = {**os.environ, "TRUNKLINE_DATA_DIR": str(tmp_path), "TRUNKLINE_WEBHOOKS_ALLOW_PRIVATE": "true", "TRUNKLINE_WEBHOOK_TIMEOUT": "1"}
    command = os.path.join(os.path.dirname(sys.executable), "trunkline")
    port = free_port()
    served = subprocess.Popen([command, "serve", "--port", str(port)], env=env, start_new_session=True, stderr=subprocess.DEVNULL)
    worker = None
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/api/auth/me", timeout=1)
                break
            except httpx.TransportError:
                assert served.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.05)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
            hook = ok(client.post("/api/webhooks", json={"url": receiver.url, "event_types": ["*"]}))
            receiver.hold()
            sent = client.post(f"/api/webhooks/{hook['id']}/test").json()
        assert receiver.arrived.wait(10)
        os.killpg(served.pid, signal.SIGKILL)  # mid-delivery: the receiver has the request, the server no answer
        served.wait(10)
        receiver.release()
        worker = subprocess.Popen([command, "worker"], env=env, start_new_session=True, stderr=subprocess.PIPE, text=True)
        first, second = receiver.wait_for(2, seconds=30)
        assert first.event_id == second.event_id == sent["event_id"] and second.verify(hook["secret"])["type"] == "webhook.test"
        engine = make_engine(settings.sqlalchemy_url)
        try:
            deadline = time.monotonic() + 10
            while (found := _delivery_row(engine, sent["id"])).status == "pending":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            with engine.connect() as conn:
                logged = conn.execute(select(webhook_attempts.c.attempt, webhook_attempts.c.status_code)).all()
        finally:
            engine.dispose()
        assert (found.status, found.attempts) == ("succeeded", 2) and logged == [(2, 200)]  # the killed attempt left no answer
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(15) == 0
        assert "delivering webhooks" in worker.stderr.read()
    finally:
        for process in (served, worker):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _delivery_row(engine: Engine, delivery_id: str):
    with engine.connect() as conn:
        return conn.execute(select(webhook_deliveries).where(webhook_deliveries.c.id == ids.decode(delivery_id))).one()


def test_rated_calls_and_a_balance_crossing_its_low_mark_are_announced(live, receiver):
    org = new_org(live.server)
    hook = webhook(org, receiver.url, "call.rated", "account.balance_low")
    ok(org.client.post("/api/call_rates", json=rate(prefix="44", price_1="0.6", price_n="0.6")))
    account = ok(org.client.post("/api/accounts", json={"account_id": "acct-1", "name": "Alerts", "low_balance": "0.5"}))
    ok(org.client.post(f"/api/accounts/{account['id']}/credit", json={"amount": "1"}))
    stored = ok(org.client.post("/api/calls", json=[cdr("c1", billsec=60), cdr("c2", billsec=0)]))  # 0.60 of 1.00: below 0.5
    ok(org.client.post("/api/calls", json=cdr("c3", billsec=30)))  # lower still (-0.2): no second alert
    arrived = [received.verify(hook["secret"]) for received in receiver.wait_for(4)]
    time.sleep(1)  # nothing more comes
    assert len(receiver.received) == 4
    rated = [event["data"] for event in arrived if event["type"] == "call.rated"]
    assert sorted((call["call_id"], call["status"], call["cost"]) for call in rated) == [("c1", "rated", 0.6), ("c2", "rated", 0), ("c3", "rated", 0.6)]  # a first interval of 60 s
    assert {call["id"] for call in rated if call["call_id"] != "c3"} == set(stored["ids"])
    [low] = [event["data"] for event in arrived if event["type"] == "account.balance_low"]
    assert (low["account_id"], low["balance"], low["previous_balance"], low["low_balance"]) == ("acct-1", 0.4, 1, 0.5)


def test_the_worker_command_says_what_it_runs():
    shown = CliRunner().invoke(cli, ["worker", "--help"])
    said = " ".join(shown.output.split())
    assert shown.exit_code == 0 and "webhook dispatcher" in said and "message dispatcher" in said and "TRUNKLINE_DISPATCH=false" in said
