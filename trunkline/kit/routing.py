"""Resource routers: every route under /api, documented with the shared error bodies.

`mount` puts each resource's routes on the application's router as one `Resource` (see
`resource_routes`).
"""

from collections.abc import Callable, Iterable

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from trunkline.kit.openapi import ERROR_RESPONSES
from trunkline.kit.resource_routes import Resource
from trunkline.kit.schema import Output, saved_of

API = "/api"


def operation_id(route: APIRoute) -> str:
    """An operation's id is its route function's name (`create_call_rate`), which generated
    clients take for the method's name."""
    return route.name


def resource_router(path: str, tag: str) -> APIRouter:
    """The router of one resource module, rooted at `/api{path}`."""
    return APIRouter(prefix=API + path, tags=[tag], responses=ERROR_RESPONSES, generate_unique_id_function=operation_id)


def update_routes(router: APIRouter, path: str, endpoint: Callable, summary: str, description: str, model: type[Output]) -> None:
    """One update under each verb clients use for it (POST, PATCH or PUT), each its own
    documented operation, answering the updated `model` in the success envelope."""
    for method in ("POST", "PATCH", "PUT"):
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            response_model=saved_of(model),
            summary=summary,
            description=description,
            operation_id=f"{endpoint.__name__}_{method.lower()}",
        )


def mount(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Add the routes of `routers`, in order, to the application's own router, one `Resource`
    per path prefix."""
    grouped: dict[str, list[BaseRoute]] = {}
    for router in routers:
        grouped.setdefault(router.prefix, []).extend(router.routes)
    app.router.routes.extend(Resource(prefix, routes) for prefix, routes in grouped.items())
