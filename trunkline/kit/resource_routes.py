"""One resource's routes on the application's router, matched as one.

A request is matched against the routes of its own resource only, after one prefix comparison
per resource. Flat, the 74 routes were matched in turn, each with a regular expression: 47 of
them, about 50 µs, before `GET /api/accounts/{id}/authorize`. FastAPI (0.165) keeps an included
router as a nested branch instead, and matches every level twice. The request pipeline is
FastAPI's own: its router picks the `Resource`, the `Resource` hands the request to the route.
"""

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.telemetry._api import _route_selected  # private: the span's route name (TRUNKLINE_TELEMETRY)
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send


class Resource(BaseRoute):
    """The routes under one path prefix, matched as one: a path outside the prefix costs one
    comparison, a path inside is matched against these routes in order, as a router would."""

    def __init__(self, prefix: str, routes: list[BaseRoute]) -> None:
        self.prefix = prefix
        self.routes = routes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = get_route_path(scope)  # as Starlette's routes match it: without the root path
        if not path.startswith(self.prefix) or len(path) > len(self.prefix) and path[len(self.prefix)] != "/":
            return Match.NONE, {}
        partial = None
        for route in self.routes:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return match, child_scope
            if match is Match.PARTIAL and partial is None:
                partial = child_scope
        return (Match.PARTIAL, partial) if partial is not None else (Match.NONE, {})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = scope["route"]  # the route `matches` chose: FastAPI's routes put themselves in the scope
        if "fastapi.telemetry" in scope:  # FastAPI names the span after the route it selected: this one
            _route_selected(scope=scope, path=route.path_format)
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params):
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)


def api_routes(app: FastAPI) -> Iterator[BaseRoute]:
    """Every route of the application, each resource's own among them (for documents and checks)."""
    for route in app.routes:
        yield from route.routes if isinstance(route, Resource) else (route,)
