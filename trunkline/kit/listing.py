"""One query shape for every list endpoint: org-scoped, filtered, counted, ordered, paged."""

from sqlalchemy import ColumnElement, Connection, Subquery, Table, func, select

from trunkline.kit.lookup import owner


def fetch_page(
    conn: Connection,
    table: Table | Subquery,
    org_id: int | None,
    where: list[ColumnElement],
    order_by: list,
    skip: int,
    top: int,
):
    """(total matching, rows of this page), confined to one organization.

    `org_id=None` lifts the confinement: for the operator's organization list, and for a
    table expression confined already (the products catalog joins the organization's choices).
    """
    conditions = list(where)
    if org_id is not None:
        conditions.insert(0, owner(table) == org_id)
    count = conn.execute(select(func.count()).select_from(table).where(*conditions)).scalar_one()
    rows = conn.execute(select(table).where(*conditions).order_by(*order_by).offset(skip).limit(top)).all()
    return count, rows
