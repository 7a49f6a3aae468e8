"""`/api/products`: the fixed product catalog and which products the caller's organization has enabled.

Listed like every other resource (skip/top, filter, search, orderby), in the catalog's order by
default. Enabling or disabling is one update: `PATCH` (or `PUT`/`POST`) `/api/products/{code}`
with `{"enabled": true|false}`.
"""

from typing import Annotated

from fastapi import Query, Request

from trunkline.kit.auth import Principal, caller
from trunkline.kit.clock import utcnow
from trunkline.kit.errors import not_found
from trunkline.kit.pagination import ListQuery, list_page
from trunkline.kit.resources import Database
from trunkline.kit.responses import item, saved
from trunkline.kit.routing import resource_router, update_routes
from trunkline.kit.schema import page_of
from trunkline.products import repository as store
from trunkline.products.catalog import CATALOG
from trunkline.products.schemas import Product, ProductUpdate, fields, present

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
    description="The whole catalog, in its own order unless `orderby` says otherwise; `enabled=true|false` "
    "is short for `filter=enabled eq true|false`.",
)
def list_products(
    request: Request,
    params: ListQuery,
    db: Database,
    who: Reader,
    enabled: Annotated[bool | None, Query(description="Only enabled (true) or disabled (false) products")] = None,
):
    products = store.catalog(who.org_id)
    only = [products.c.enabled_at.is_not(None) if enabled else products.c.enabled_at.is_(None)] if enabled is not None else []
    with db.connect() as conn:
        return list_page(request, params, conn, products, None, fields(products), _shown, *only)


def _shown(row) -> dict:
    return present(row.code, row.name, row.enabled_at)


@router.get("/{code}", response_model=Product, summary="Retrieve a product")
def get_product(code: str, db: Database, who: Reader):
    code = _code(code)
    with db.connect() as conn:
        return item(present(code, CATALOG[code], store.enabled_at(conn, who.org_id, code)))


def update_product(code: str, body: ProductUpdate, db: Database, who: Annotated[Principal, caller("products.update")]):
    code = _code(code)
    with db.begin() as conn:
        if body.enabled:
            store.enable(conn, who.org_id, code, utcnow())
        else:
            store.disable(conn, who.org_id, code)
        return saved(present(code, CATALOG[code], store.enabled_at(conn, who.org_id, code)))


update_routes(
    router,
    "/{code}",
    update_product,
    "Enable or disable a product",
    '`{"enabled": true}` or `{"enabled": false}`; idempotent (enabling keeps the first enabled_at).',
    Product,
)
