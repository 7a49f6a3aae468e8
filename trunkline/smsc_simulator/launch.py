"""Runs the simulator: the SMPP server and the control API on one event loop, until a signal."""

import asyncio
import socket
from collections.abc import Callable

import uvicorn
import uvloop

from trunkline.smsc_simulator.behaviour import Behaviour
from trunkline.smsc_simulator.control import create_app
from trunkline.smsc_simulator.server import Session, Simulator


async def serve(simulator: Simulator, host: str, port: int, control_port: int, ready: Callable[[str, str], None]) -> None:
    """Calls `ready(smpp address, control URL)` once both listen, with the ports they got
    (port 0 picks a free one)."""
    listener = socket.create_server((host, control_port))  # bound here, so that a port in use is an OSError like SMPP's
    smpp = await asyncio.get_running_loop().create_server(lambda: Session(simulator), host, port)
    control = uvicorn.Server(uvicorn.Config(create_app(simulator), log_level="warning", access_log=False, lifespan="off"))
    serving = asyncio.create_task(control.serve(sockets=[listener]))  # uvicorn's signal handling ends it, and so the simulator
    try:
        while not control.started and not serving.done():
            await asyncio.sleep(0.02)
        if control.started:
            ready(f"{host}:{smpp.sockets[0].getsockname()[1]}", f"http://{host}:{listener.getsockname()[1]}")
        await serving
    finally:
        smpp.close()
        simulator.drop_all()


def run(system_id: str, password: str, behaviour: Behaviour, host: str, port: int, control_port: int, ready: Callable[[str, str], None]) -> None:
    uvloop.run(serve(Simulator(system_id, password, behaviour), host, port, control_port, ready))
