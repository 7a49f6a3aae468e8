"""One query shape for every list endpoint: org-scoped, filtered, counted, ordered, paged."""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

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
    counts: tuple["Counts", Hashable] | None = None,
):
    """(total matching, rows of this page), confined to one organization.

    `org_id=None` lifts the confinement: for the operator's organization list, and for a
    table expression confined already (the products catalog joins the organization's choices).
    `counts`: where the total may be found, with what identifies the conditions (see `Counts`).
    """
    conditions = list(where)
    if org_id is not None:
        conditions.insert(0, owner(table) == org_id)

    def count() -> int:
        return conn.execute(select(func.count()).select_from(table).where(*conditions)).scalar_one()

    total = counts[0].get(conn, org_id, counts[1], count) if counts and org_id is not None else count()
    rows = conn.execute(select(table).where(*conditions).order_by(*order_by).offset(skip).limit(top)).all()
    return total, rows


class Counts:
    """Totals of a table's list queries, kept per organization, version and conditions, for a
    table whose every write bumps a version number its organization keeps, in the writing
    transaction (call rates: `deck_version`). Counting 100,000 rows costs several times the
    rest of a page; reading the version is one indexed read, and a total is never served for a
    version other than the one it was counted at, so a committed write is seen at once, in
    every worker."""

    def __init__(self, version: Callable[[Connection, int], int], keep: int = 4096) -> None:
        self.version = version
        self.keep = keep
        self._totals: OrderedDict[tuple, int] = OrderedDict()
        self._lock = threading.Lock()  # list routes run in worker threads

    def get(self, conn: Connection, org_id: int, conditions: Hashable, count: Callable[[], int]) -> int:
        key = (org_id, self.version(conn, org_id), conditions)
        with self._lock:
            total = self._totals.get(key)
            if total is not None:
                self._totals.move_to_end(key)
                return total
        total = count()
        with self._lock:
            self._totals[key] = total
            if len(self._totals) > self.keep:
                self._totals.popitem(last=False)
        return total
