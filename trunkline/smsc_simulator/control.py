"""The control API: HTTP/JSON on a port of its own, for tests and people to see what the
SMSC received and to steer what it does next (the routes are in the package docstring).
Every route is a coroutine, so it runs on the SMPP sessions' event loop, between two PDUs."""

from typing import Literal

from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from trunkline.smsc_simulator.behaviour import QUEUE_FULL, THROTTLED, Behaviour
from trunkline.smsc_simulator.deliveries import MO
from trunkline.smsc_simulator.server import Simulator
from trunkline.smsc_simulator.texts import TooLong

FAILURES = {"throttled": THROTTLED, "queue_full": QUEUE_FULL}


class FailNext(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["throttled", "queue_full"]
    count: int = Field(1, ge=1)


class Disconnect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after_submits: int = Field(0, ge=0, description="0: now; N: once N more submits have come, which are not answered")


def create_app(simulator: Simulator) -> FastAPI:
    api = FastAPI(title="Trunkline SMSC simulator: control API", version="1")

    @api.get("/submits")
    async def submits(since: int = Query(0, ge=0), limit: int | None = Query(None, ge=1)) -> dict:
        """The accepted submits from index `since` on; `next` is the `since` of the next call."""
        chosen = simulator.submits[since : None if limit is None else since + limit]
        return {"submits": [submit.as_json() for submit in chosen], "next": since + len(chosen)}

    @api.post("/mo")
    async def mo(message: MO) -> dict:
        try:
            return simulator.inject(message)
        except TooLong as error:
            raise HTTPException(422, str(error)) from error

    @api.get("/behaviour")
    async def behaviour() -> Behaviour:
        return simulator.behaviour

    @api.post("/behaviour")
    async def change_behaviour(change: Behaviour) -> Behaviour:
        """Sets the fields the body gives and keeps the others."""
        simulator.behaviour = simulator.behaviour.model_copy(update={name: getattr(change, name) for name in change.model_fields_set})
        return simulator.behaviour

    @api.post("/disconnect")
    async def disconnect(order: Disconnect | None = None) -> dict:
        after = (order or Disconnect()).after_submits
        if after:
            simulator.gate.disconnect_after = after
            return {"dropped": 0, "after_submits": after}
        return {"dropped": simulator.drop_all()}

    @api.post("/fail-next")
    async def fail_next(order: FailNext) -> FailNext:
        simulator.gate.fail_next(FAILURES[order.status], order.count)
        return order

    @api.get("/stats")
    async def stats() -> dict:
        return simulator.stats()

    @api.post("/reset")
    async def reset() -> dict:
        simulator.reset()
        return simulator.stats()

    return api
