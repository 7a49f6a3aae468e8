"""An invoice as CSV: a row per line, then the totals as rows of their own kind (subtotal, tax,
total, credits, due), every row naming its invoice, so invoices concatenate into one sheet."""

from collections.abc import Iterator
from typing import Any

from trunkline.invoices.schemas import percent
from trunkline.kit.csvout import stream_csv

HEADER = ("invoice", "period", "account_id", "currency", "position", "kind", "description", "prefix", "calls", "seconds", "minutes", "amount")


def rows(invoice: dict[str, Any], lines: list[dict[str, Any]]) -> Iterator[str]:
    """The CSV text of an invoice and its lines, as the API presents them."""
    own = (invoice["number"], invoice["period"], invoice["account_id"], invoice["currency"])
    body = [(*own, line["position"], line["kind"], line["description"], line["prefix"], line["calls"], line["seconds"], line["minutes"], line["amount"]) for line in lines]
    totals = (
        ("subtotal", "Usage and adjustment"),
        ("tax", f"Tax {percent(invoice['tax_rate'])}"),
        ("total", "Subtotal and tax"),
        ("credits", "Top-ups and adjustments in the period"),
        ("due", "Total less credits"),
    )
    body += [(*own, None, kind, text, None, None, None, None, invoice[kind]) for kind, text in totals]
    return stream_csv(HEADER, body)
