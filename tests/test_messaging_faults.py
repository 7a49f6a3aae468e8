"""Processes killed with -9 in the middle of sending. The server: after a restart every accepted
message is still delivered (the queue is the database), each at least once. The SMSC: what it
acknowledged is not sent again, and what it never answered goes to the SMSC that takes its
place."""

import os
import signal
import subprocess
import sys
import time

import httpx

from tests.harness import Server, bootstrap_operator, free_port, new_org, settings_for
from tests.helpers import ok
from tests.test_messaging_smpp import PASSWORD, texting_on
from tests.test_smsc_simulator import started

LAUNCH = "import uvicorn; uvicorn.run('trunkline.app:create_app', factory=True, host='127.0.0.1', port={port}, log_level='warning')"


def serving(env: dict, port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", LAUNCH.format(port=port)], env=env)
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/openapi.json", timeout=1)
            return process
        except httpx.HTTPError:
            assert time.monotonic() < deadline and process.poll() is None, "server did not start"
            time.sleep(0.1)


def test_kill_9_mid_dispatch_loses_no_accepted_message(tmp_path_factory, worker_id):
    settings = settings_for("sqlite", tmp_path_factory, f"{worker_id}_kill")
    token = bootstrap_operator(settings)
    env = {**os.environ, "TRUNKLINE_DATA_DIR": str(settings.data_dir), "TRUNKLINE_ARGON2_FAST": "true"}
    port = free_port()
    # Receipts come late, so a part of the messages is submitted and a part still queued at the kill.
    with started("--system-id", "acme", "--password", PASSWORD, "--receipt-delay", "0.5", "--throttle-per-second", "400") as sim:
        server = serving(env, port)
        try:
            org = new_org(Server("sqlite", f"http://127.0.0.1:{port}", settings, token))
            texting_on(org, sim)
            numbers = [f"+4477009{n:05d}" for n in range(400)]
            answer = org.client.post("/api/messages/batch", json={"messages": [{"product": "A2P", "from": "Trunkline", "to": numbers, "text": "Kill test"}]})
            assert answer.status_code == 202, answer.text
            time.sleep(0.3)
        finally:
            server.send_signal(signal.SIGKILL)
            server.wait(10)
        sent_before = len(sim.get("/submits", limit=1000)["submits"])
        server = serving(env, port)
        try:
            deadline = time.monotonic() + 90
            while ok_count(org, "status ne 'delivered'"):
                assert time.monotonic() < deadline, ok_count(org, "status ne 'delivered'")
                time.sleep(0.2)
            assert ok_count(org, "status eq 'delivered'") == 400
        finally:
            server.terminate()
            server.wait(10)
        submitted = {s["destination_addr"] for s in sim.get("/submits", limit=5000)["submits"]}
        assert submitted == {number.lstrip("+") for number in numbers}
        assert 0 < sent_before < 400, sent_before  # the kill came mid-dispatch
        org.client.close()


def ok_count(org, condition: str) -> int:
    response = org.client.get("/api/messages", params={"filter": condition, "top": 1})
    assert response.status_code == 200, response.text
    return response.json()["count"]


def test_an_smsc_killed_mid_stream_loses_nothing_and_gets_nothing_it_acknowledged_again(org):
    port = str(free_port())
    flags = ("--port", port, "--system-id", "acme", "--password", PASSWORD, "--receipt-delay", "0.05")
    first = [f"+4477009{n:05d}" for n in range(100)]
    second = [f"+4477008{n:05d}" for n in range(200)]
    with started(*flags) as doomed:
        texting_on(org, doomed)
        batch(org, first)
        wait_until(org, "status ne 'delivered'", 0)
        doomed.post("/disconnect", {"after_submits": 10**6})  # from now on every submit goes unanswered
        batch(org, second)
        deadline = time.monotonic() + 20
        while doomed.get("/stats")["counters"].get("unanswered", 0) < 50:  # a full window waits on it
            assert time.monotonic() < deadline, doomed.get("/stats")
            time.sleep(0.05)
        acknowledged = {s["destination_addr"] for s in doomed.get("/submits", limit=1000)["submits"]}
        doomed.process.send_signal(signal.SIGKILL)
        doomed.process.wait(10)
    assert acknowledged == {number.lstrip("+") for number in first}
    assert ok_count(org, "status eq 'submitted' or status eq 'delivered'") == 100  # none of the second batch
    with started(*flags) as successor:
        wait_until(org, "status ne 'delivered'", 0, seconds=90)
        resent = [s["destination_addr"] for s in successor.get("/submits", limit=1000)["submits"]]
    assert sorted(set(resent)) == sorted(number.lstrip("+") for number in second)  # each unanswered one, and no acknowledged one
    assert ok(org.client.get("/api/messages", params={"top": 1}))["count"] == 300


def batch(org, numbers: list[str]) -> None:
    answer = org.client.post("/api/messages/batch", json={"messages": [{"product": "A2P", "from": "Trunkline", "to": numbers, "text": "SMSC kill test"}]})
    assert answer.status_code == 202, answer.text


def wait_until(org, condition: str, count: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while (found := ok_count(org, condition)) != count:
        assert time.monotonic() < deadline, f"{found} messages where {condition}"
        time.sleep(0.1)
