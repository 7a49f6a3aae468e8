"""Unknown query parameters are refused (400, naming them) on every route, instead of silently
ignored: a misspelt `fliter=` would otherwise answer the whole unfiltered list.

Every route checks, through its credential dependency. The known ones are what the matched
route declares (its own and its dependencies' query parameters, and the fields of its body,
which a client may also send in the query string as long as both agree), and the credential
and verb override every route takes. For a GET or
DELETE the body decoder has moved body fields into the query string, so they are held to the
same list.
"""

from typing import get_args

from fastapi import Request
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute
from pydantic import BaseModel

from trunkline.kit.errors import bad_query

ALWAYS = frozenset({"access_token", "_method"})
_known: dict[int, frozenset[str]] = {}


def _declared(route: APIRoute) -> frozenset[str]:
    names = _known.get(id(route))
    if names is None:
        # every parameter the route and its dependencies declare (path and header names too: harmless)
        names = _known[id(route)] = ALWAYS | {param.alias for param in get_flat_params(route.dependant)} | _body_fields(route)
    return names


def _body_fields(route: APIRoute) -> set[str]:
    if route.body_field is None:
        return set()
    annotation = route.body_field.field_info.annotation
    options = get_args(annotation) or (annotation,)
    return {name for option in options if isinstance(option, type) and issubclass(option, BaseModel) for name in option.model_fields}


def known_query_parameters(request: Request) -> None:
    """400 for any query parameter the route does not take. Called by the credential checks
    (`authorize`, the endpoint guard) once the caller is known, so the refusal is logged with
    its organization and an unauthenticated client learns nothing; a public route declares it
    as a dependency."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.scope.get("query_string"):
        return
    unknown = sorted({name for name in request.query_params if name not in _declared(route)})
    if unknown:
        raise bad_query([{"name": name, "reason": "unknown query parameter"} for name in unknown])
