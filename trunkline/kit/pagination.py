"""Lists: skip/top or offset/limit, filter, search, orderby.

`ListQuery` is the dependency every list route takes; `page()` renders the
envelope `{success, guid, count, items, meta}` with a `Link: rel="next"` header.
`SelectionQuery` is the same filter, search and orderby without paging (an export).
"""

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from sqlalchemy import ColumnElement, Connection, Subquery, Table

from trunkline.kit import query
from trunkline.kit.errors import ApiError
from trunkline.kit.listing import Counts, fetch_page
from trunkline.kit.responses import JSONResponse, current_guid

MAX_TOP = 100


Filter = Annotated[
    str | None, Query(max_length=query.MAX_LENGTH, description="OData-style filter, e.g. prefix eq '44' and price_1 gt 0.01")
]
Search = Annotated[str | None, Query(max_length=500, description="Free text over the text fields")]
OrderBy = Annotated[str | None, Query(max_length=500, description="field [asc|desc], …")]


@dataclass(frozen=True)
class Selection:
    """Which rows, in which order: a list's query without its paging."""

    filter: str | None
    search: str | None
    orderby: str | None

    def clauses(self, fields: query.Fields) -> tuple[list[ColumnElement], list]:
        """WHERE conditions and ORDER BY terms for the resource's documented fields."""
        try:
            where = []
            if self.filter:
                where.append(query.parse_filter(self.filter, fields))
            if self.search:
                where.append(query.search_clause(self.search, fields))
            return where, query.parse_orderby(self.orderby, fields)
        except query.QueryError as exc:
            raise ApiError(
                400, str(exc), code="INVALID_QUERY", invalidInputVars=[{"name": exc.param, "reason": str(exc)}]
            ) from None


@dataclass(frozen=True)
class ListParams(Selection):
    skip: int
    top: int
    names: tuple[str, str]  # the paging names the client used, echoed in Link


async def selection(filter: Filter = None, search: Search = None, orderby: OrderBy = None) -> Selection:
    return Selection(filter=filter, search=search, orderby=orderby)


SelectionQuery = Annotated[Selection, Depends(selection)]


def _one(name_a: str, a: int | None, name_b: str, b: int | None, default: int) -> int:
    if a is not None and b is not None and a != b:
        raise ApiError(409, f"Conflicting values for {name_a} and {name_b}", conflicts=[name_a, name_b])
    return a if a is not None else b if b is not None else default


async def list_params(
    skip: Annotated[int | None, Query(ge=0, le=2**31 - 1, description="Items to skip (alias: offset)")] = None,
    top: Annotated[int | None, Query(ge=1, le=MAX_TOP, description="Page size, 1–100 (alias: limit)")] = None,
    offset: Annotated[int | None, Query(ge=0, le=2**31 - 1, description="Alias of skip")] = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_TOP, description="Alias of top")] = None,
    filter: Filter = None,
    search: Search = None,
    orderby: OrderBy = None,
) -> ListParams:
    names = ("offset", "limit") if (offset is not None or limit is not None) and skip is None and top is None else ("skip", "top")
    return ListParams(
        skip=_one("skip", skip, "offset", offset, 0),
        top=_one("top", top, "limit", limit, MAX_TOP),
        filter=filter,
        search=search,
        orderby=orderby,
        names=names,
    )


ListQuery = Annotated[ListParams, Depends(list_params)]


def _link(request: Request, params: ListParams, skip: int, rel: str) -> str:
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("skip", "top", "offset", "limit", "access_token")]
    kept += [(params.names[0], str(skip)), (params.names[1], str(params.top))]
    return f'<{request.url.replace(query=urlencode(kept))}>; rel="{rel}"'


def page(request: Request, params: ListParams, count: int, items: list[dict[str, Any]]) -> JSONResponse:
    has_more = params.skip + len(items) < count
    links = []
    if has_more:
        links.append(_link(request, params, params.skip + params.top, "next"))
    if params.skip > 0:
        links.append(_link(request, params, max(0, params.skip - params.top), "prev"))
    body = {
        "success": True,
        "guid": current_guid(),
        "count": count,
        "items": items,
        "meta": {"skip": params.skip, "top": params.top, "has_more": has_more},
    }
    return JSONResponse(body, headers={"Link": ", ".join(links)} if links else None)


def list_page(
    request: Request,
    params: ListParams,
    conn: Connection,
    table: Table | Subquery,
    org_id: int | None,
    fields: query.Fields,
    shown: Callable[[Any], dict[str, Any]],
    *conditions: ColumnElement[bool],
    counts: Counts | None = None,
    counted_as: Hashable = None,
) -> JSONResponse:
    """A list endpoint's answer: the organization's `table` rows within `conditions` and the
    client's filter, ordered and paged as asked, each rendered by `shown`. With `counts`, the
    total comes from there when it was counted at the table's current version; a route with
    `conditions` of its own names them in `counted_as` (with the client's filter and search,
    they identify the total)."""
    if counts and conditions and counted_as is None:
        raise TypeError("a list with conditions of its own and kept totals must say what its conditions are (counted_as)")
    where, order_by = params.clauses(fields)
    known = (counts, (counted_as, params.filter, params.search)) if counts else None
    count, rows = fetch_page(conn, table, org_id, [*conditions, *where], order_by, params.skip, params.top, known)
    return page(request, params, count, [shown(row) for row in rows])
