"""`/api/invoices`: issue an account's invoice for a month that has ended, and read invoices as
JSON, CSV or PDF. Issued invoices never change: there is no update or delete."""

from typing import Annotated

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Engine

from trunkline.invoices import csvfile, pdf, service
from trunkline.invoices import repository as store
from trunkline.invoices.schemas import FIELDS, Invoice, InvoiceCreate, InvoiceDetail, present, present_line
from trunkline.kit import ids
from trunkline.kit.auth import Principal, caller
from trunkline.kit.clock import utcnow
from trunkline.kit.pagination import ListQuery, list_page
from trunkline.kit.resources import Database
from trunkline.kit.responses import item, saved
from trunkline.kit.routing import resource_router
from trunkline.kit.schema import page_of, saved_of

router = resource_router("/invoices", "invoices")
SCOPES = ("invoices",)  # the scope resources these routes guard
Reader = Annotated[Principal, caller("invoices.read")]
CSV = "text/csv"
PDF = "application/pdf"
BINARY = "application/octet-stream"  # the same PDF, for clients that read only generic binaries
_CSV_DOC = {"schema": {"type": "string", "description": "A row per line, then the totals (subtotal, tax, total, credits, due)"}}
_PDF_DOC = {"schema": {"type": "string", "format": "binary", "description": "The invoice as a PDF document"}}


def _detail(conn, org_id: int, invoice_id: int | None) -> tuple[dict, list[dict]]:
    row = service.find(conn, org_id, invoice_id)
    return present(row), [present_line(line) for line in store.lines_of(conn, row.id)]


def _read(db: Engine, org_id: int, id: str) -> tuple[dict, list[dict]]:
    with db.connect() as conn:
        return _detail(conn, org_id, ids.decode(id))


def _as_csv(invoice: dict, lines: list[dict]) -> StreamingResponse:
    disposition = f'attachment; filename="invoice-{invoice["number"]}.csv"'
    return StreamingResponse(csvfile.rows(invoice, lines), media_type=CSV, headers={"Content-Disposition": disposition})


def _as_pdf(invoice: dict, lines: list[dict], media_type: str = PDF) -> Response:
    disposition = f'inline; filename="invoice-{invoice["number"]}.pdf"'
    return Response(pdf.render(invoice, lines), media_type=media_type, headers={"Content-Disposition": disposition})


@router.get("", response_model=page_of(Invoice), summary="List invoices")
def list_invoices(request: Request, params: ListQuery, db: Database, who: Reader):
    with db.connect() as conn:
        return list_page(request, params, conn, store.table, who.org_id, FIELDS, present)


@router.post(
    "",
    response_model=saved_of(InvoiceDetail),
    summary="Issue an invoice",
    description="Issues the account's invoice for a calendar month in the account's timezone, once the month has ended "
    "(409 PERIOD_OPEN before). Usage lines group the month's billed calls by destination and prefix; an adjustment line "
    "carries what earlier calls' cost has become since the previous invoice (re-rated, stored late, or of months no "
    "invoice covered); credit lines list the month's top-ups and adjustments. Tax is the subtotal times the account's "
    "tax_rate. Numbers run 1, 2, 3 … per organization without gaps. 409 DUPLICATE_INVOICE when the month is invoiced, "
    "409 OUT_OF_ORDER when a later month is.",
)
def create_invoice(body: InvoiceCreate, db: Database, who: Annotated[Principal, caller("invoices.create")]):
    with db.begin() as conn:
        invoice_id = service.issue(conn, who.org_id, body.account_id, body.period, utcnow())
        invoice, lines = _detail(conn, who.org_id, invoice_id)
    return saved({**invoice, "lines": lines})


@router.get(
    "/{id}.csv",
    summary="Retrieve an invoice as CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {CSV: _CSV_DOC}, "description": "The invoice"}},
)
def get_invoice_csv(id: str, db: Database, who: Reader):
    return _as_csv(*_read(db, who.org_id, id))


@router.get(
    "/{id}.pdf",
    summary="Retrieve an invoice as PDF",
    description="`application/pdf`; asked for `application/octet-stream` only, the same bytes under that type.",
    response_class=Response,
    responses={200: {"content": {PDF: _PDF_DOC, BINARY: _PDF_DOC}, "description": "The invoice"}},
)
def get_invoice_pdf(id: str, request: Request, db: Database, who: Reader):
    accept = request.headers.get("accept", "")
    return _as_pdf(*_read(db, who.org_id, id), BINARY if BINARY in accept and PDF not in accept else PDF)


@router.get(
    "/{id}",
    response_model=InvoiceDetail,
    summary="Retrieve an invoice",
    description="The invoice with its lines. `Accept: text/csv` answers CSV and `Accept: application/pdf` a PDF, as "
    "`/api/invoices/{id}.csv` and `/api/invoices/{id}.pdf` do.",
    responses={200: {"content": {CSV: _CSV_DOC, PDF: _PDF_DOC}}},
)
def get_invoice(id: str, request: Request, db: Database, who: Reader):
    invoice, lines = _read(db, who.org_id, id)
    accept = request.headers.get("accept", "")
    if PDF in accept:
        return _as_pdf(invoice, lines)
    if CSV in accept:
        return _as_csv(invoice, lines)
    return item({**invoice, "lines": lines})
