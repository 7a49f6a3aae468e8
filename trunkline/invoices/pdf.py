"""An invoice as a PDF (fpdf2): A4 pages, the charges table carried over as many pages as its lines
need (its heading repeated on each), totals, credits, and "page n of m" at every foot.

Text is set in DejaVu Sans where the system has it (Debian's fonts-dejavu-core), which covers
most scripts; otherwise in the PDF's built-in Helvetica, which shows Latin-1 only (other
characters print as "?"). Amounts are shown exactly, every one of an invoice with as many decimal
places as the most precise needs (two to five), so that they line up.
"""

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from fpdf import FPDF

from trunkline.invoices.schemas import percent

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
GREY = (235, 237, 240)
RULE = (200, 204, 210)
INK = (40, 44, 52)
TOTALS = ("usage", "adjustment", "subtotal", "tax", "total", "credits", "due")
SIZE, LINE = 8.5, 5  # table text: points, and mm per line
# (heading, width in mm, alignment) of each column; the page's text width is 180 mm
CHARGES = (("Destination", 80, "L"), ("Prefix", 26, "L"), ("Calls", 18, "R"), ("Minutes", 24, "R"), ("Amount", 32, "R"))
CREDITS = (("Credit", 148, "L"), ("Amount", 32, "R"))
SUM_WIDTH = 48  # a total: up to 999,999,999,999.99999 in bold


def amounts(values: list[Decimal]) -> Callable[[Decimal], str]:
    """How to write each of `values` exactly with the same number of places, at least two:
    1234.5 and 0.0252 as 1,234.5000 and 0.0252."""
    places = max([2, *(-value.normalize().as_tuple().exponent for value in values if value)])
    return lambda value: f"{value:,.{places}f}"


class _Document(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(format="A4")
        self.title_text = title
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=18)
        if (DEJAVU / "DejaVuSans.ttf").is_file() and (DEJAVU / "DejaVuSans-Bold.ttf").is_file():
            self.add_font("DejaVu", "", DEJAVU / "DejaVuSans.ttf")
            self.add_font("DejaVu", "B", DEJAVU / "DejaVuSans-Bold.ttf")
            self.family, self.unicode = "DejaVu", True
        else:
            self.family, self.unicode = "Helvetica", False
        self.set_title(title)
        self.set_text_color(*INK)
        self.set_draw_color(*RULE)

    def text_of(self, value: Any) -> str:
        text = "" if value is None else str(value)
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")

    def write_line(self, text: str, size: float = 9, bold: bool = False, align: str = "L", height: float = 5) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.cell(0, height, self.text_of(text), align=align, new_x="LMARGIN", new_y="NEXT")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family, "", 7.5)
        self.cell(0, 5, self.text_of(f"{self.title_text} · page {self.page_no()} of {{nb}}"), align="C")


def _count(value: int | Decimal | None) -> str | None:
    return None if value is None else f"{value:,}"


def _heading(pdf: _Document, columns: tuple) -> None:
    pdf.set_font(pdf.family, "B", SIZE)
    pdf.set_fill_color(*GREY)
    for heading, width, align in columns:
        pdf.cell(width, LINE + 1, heading, align=align, fill=True)
    pdf.ln(LINE + 1)
    pdf.set_font(pdf.family, "", SIZE)


def _table(pdf: _Document, columns: tuple, rows: list[tuple]) -> None:
    """A table drawn cell by cell, its heading repeated on every page it runs over; a cell too
    long for its column wraps. (fpdf2's own table lays out every cell as a paragraph: five times
    slower, 8 s for an invoice of 5,000 destinations.)"""
    _heading(pdf, columns)
    room = [width - 2 * pdf.c_margin for _, width, _ in columns]
    for values in rows:
        texts = [pdf.text_of(value) for value in values]
        wrapped = [
            pdf.multi_cell(width, LINE, text, dry_run=True, output="LINES") if pdf.get_string_width(text) > space else [text]
            for (_, width, _), space, text in zip(columns, room, texts)
        ]
        height = LINE * max(map(len, wrapped))
        if pdf.will_page_break(height):
            pdf.add_page()
            _heading(pdf, columns)
        top, x = pdf.get_y(), pdf.l_margin
        for (_, width, align), lines in zip(columns, wrapped):
            for index, line in enumerate(lines):
                pdf.set_xy(x, top + index * LINE)
                pdf.cell(width, LINE, line, align=align)
            x += width
        pdf.set_xy(pdf.l_margin, top + height)
        pdf.line(pdf.l_margin, top + height, x, top + height)


def _sums(pdf: _Document, pairs: list[tuple[str, str]]) -> None:
    """Labelled amounts, right-aligned with the Amount column, the last one in bold."""
    for index, (label, value) in enumerate(pairs):
        bold = index == len(pairs) - 1
        pdf.set_font(pdf.family, "B" if bold else "", 9)
        pdf.cell(pdf.epw - SUM_WIDTH, 5.5, pdf.text_of(label), align="R")
        pdf.cell(SUM_WIDTH, 5.5, pdf.text_of(value), align="R", new_x="LMARGIN", new_y="NEXT")


def render(invoice: dict[str, Any], lines: list[dict[str, Any]]) -> bytes:
    """The PDF of an invoice and its lines, as the API presents them (schemas.present, present_line)."""
    title = f"Invoice {invoice['number']}"
    pdf = _Document(title)
    pdf.add_page()
    pdf.write_line(invoice["issuer"], size=11, bold=True, align="R")
    pdf.write_line(title, size=20, bold=True, height=11)
    pdf.ln(2)
    for label, value in (
        ("Bill to", f"{invoice['account_name']} ({invoice['account_id']})"),
        ("Period", f"{invoice['period']}: {invoice['period_start']} to {invoice['period_end']}, {invoice['timezone']}"),
        ("Issued", invoice["issued_at"].date().isoformat()),
        ("Currency", invoice["currency"]),
    ):
        pdf.write_line(f"{label}: {value}")
    pdf.ln(4)
    amount = amounts([invoice[name] for name in TOTALS] + [line["amount"] for line in lines])
    charges = [line for line in lines if line["kind"] != "credit"]
    _table(pdf, CHARGES, [(line["description"], line["prefix"], _count(line["calls"]), _count(line["minutes"]), amount(line["amount"])) for line in charges])
    pdf.ln(2)
    _sums(pdf, [
        ("Usage", amount(invoice["usage"])),
        ("Adjustment", amount(invoice["adjustment"])),
        ("Subtotal", amount(invoice["subtotal"])),
        (f"Tax {percent(invoice['tax_rate'])}", amount(invoice["tax"])),
        (f"Total {invoice['currency']}", amount(invoice["total"])),
    ])
    credits = [line for line in lines if line["kind"] == "credit"]
    if credits:
        pdf.ln(4)
        _table(pdf, CREDITS, [(line["description"], amount(line["amount"])) for line in credits])
    pdf.ln(2)
    _sums(pdf, [("Credits", amount(invoice["credits"])), (f"Due {invoice['currency']}", amount(invoice["due"]))])
    if invoice["unrated_calls"]:
        pdf.ln(4)
        pdf.write_line(f"{invoice['unrated_calls']:,} answered calls of the period matched no rate: they are not billed.", size=8)
    return bytes(pdf.output())
