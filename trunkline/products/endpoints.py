"""`/api/products`: the fixed product catalog and which products the caller's organization has enabled.

The catalog is a constant, so lists are paged in memory: `skip`/`top` (or `offset`/`limit`),
`search` (case-insensitive substring of code or name) and `enabled=true|false`; `filter` and
`orderby` are refused with 400 (the order is the catalog's). Enabling or disabling is one
update: `PATCH` (or `PUT`/`POST`) `/api/products/{code}` with `{"enabled": true|false}`.
"""

from typing import Annotated

from fastapi import Query, Request

from trunkline.kit.clock import utcnow
from trunkline.kit.auth import Principal, caller
from trunkline.kit.errors import ApiError, not_found
from trunkline.kit.pagination import ListQuery, page
from trunkline.kit.resources import Database
from trunkline.kit.responses import item, saved
from trunkline.kit.routing import resource_router, update_routes
from trunkline.kit.schema import page_of
from trunkline.products.catalog import CATALOG
from trunkline.products.schemas import Product, ProductUpdate, present
from trunkline.products import repository as store

router = resource_router("/products", "products")
SCOPES = ("products",)  # the scope resources these routes guard
Reader = Annotated[Principal, caller("products.read")]


def _code(code: str) -> str:
    """Codes are matched case-insensitively; unknown ones are 404."""
    if code.upper() not in CATALOG:
        raise not_found("Product")
    return code.upper()


@router.get(
    "",
    response_model=page_of(Product),
    summary="List products",
    description="The whole catalog in seed order. Supports skip/top (offset/limit), `search` over code "
    "and name, and `enabled`; `filter` and `orderby` are not supported here (400).",
)
def list_products(
    request: Request,
    params: ListQuery,
    db: Database,
    who: Reader,
    enabled: Annotated[bool | None, Query(description="Only enabled (true) or disabled (false) products")] = None,
):
    for name in ("filter", "orderby"):
        if getattr(params, name):
            reason = f"{name} is not supported on products; use search or enabled"
            raise ApiError(400, reason, code="INVALID_QUERY", invalidInputVars=[{"name": name, "reason": reason}])
    with db.connect() as conn:
        on = store.enabled(conn, who.org_id)
    needle = (params.search or "").casefold()
    rows = [
        present(code, name, on.get(code))
        for code, name in CATALOG.items()
        if needle in code.casefold() or needle in name.casefold()
    ]
    if enabled is not None:
        rows = [row for row in rows if row["enabled"] is enabled]
    return page(request, params, len(rows), rows[params.skip : params.skip + params.top])


@router.get("/{code}", response_model=Product, summary="Retrieve a product")
def get_product(code: str, db: Database, who: Reader):
    code = _code(code)
    with db.connect() as conn:
        on = store.enabled(conn, who.org_id)
    return item(present(code, CATALOG[code], on.get(code)))


def update_product(code: str, body: ProductUpdate, db: Database, who: Annotated[Principal, caller("products.update")]):
    code = _code(code)
    with db.begin() as conn:
        if body.enabled:
            store.enable(conn, who.org_id, code, utcnow())
        else:
            store.disable(conn, who.org_id, code)
        on = store.enabled(conn, who.org_id)
    return saved(present(code, CATALOG[code], on.get(code)))


update_routes(
    router,
    "/{code}",
    update_product,
    "Enable or disable a product",
    '`{"enabled": true}` or `{"enabled": false}`; idempotent (enabling keeps the first enabled_at).',
    Product,
)
