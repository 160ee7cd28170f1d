"""Unit tests for the CSV rows of the invoice export (the HTTP tests are in
test_invoice_export.py)."""

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from app.invoices.export import COLUMNS, header, lines
from app.models import InvoiceStatus


@dataclass
class Row:
    number: str | None = "INV-000001"
    project_id: str = "proj_1"
    project_name: str = "Web shop"
    status: InvoiceStatus = InvoiceStatus.PAID
    currency: str = "eur"
    total: int = 1999
    amount_paid: int = 1999
    amount_due: int = 0
    period_start: datetime = datetime(2026, 10, 1, tzinfo=UTC)
    period_end: datetime = datetime(2026, 11, 1, tzinfo=UTC)
    created_at: datetime = datetime(2026, 11, 1, 0, 5, tzinfo=UTC)
    finalized_at: datetime | None = datetime(2026, 11, 1, 0, 5, 30, tzinfo=UTC)
    paid_at: datetime | None = None


def read(text: str) -> list[dict[str, str]]:
    data = text.encode("utf-8")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_header_starts_with_a_byte_order_mark_and_names_every_column() -> None:
    text = header()
    assert text.startswith("\ufeffnumber,project_id,project_name,status,currency,total,")
    assert text.endswith("created_at,finalized_at,paid_at\r\n")
    assert read(text) == []
    assert next(csv.reader(io.StringIO(text.lstrip("\ufeff")))) == list(COLUMNS)


def test_amounts_are_major_units_by_the_currency_minor_units() -> None:
    rows = read(
        header()
        + lines(
            [
                Row(currency="eur", total=1999, amount_paid=0, amount_due=1999),
                Row(currency="jpy", total=1500, amount_paid=1500, amount_due=0),
                Row(currency="bhd", total=12345, amount_paid=5, amount_due=12340),
            ]
        )
    )
    assert [(r["total"], r["amount_paid"], r["amount_due"]) for r in rows] == [
        ("19.99", "0.00", "19.99"),
        ("1500", "1500", "0"),
        ("12.345", "0.005", "12.340"),
    ]


def test_timestamps_are_rfc_3339_utc_and_missing_ones_empty() -> None:
    paris = timezone(timedelta(hours=1))
    row = read(
        header() + lines([Row(number=None, paid_at=datetime(2026, 11, 2, 1, tzinfo=paris))])
    )[0]
    assert row["number"] == ""
    assert row["period_start"] == "2026-10-01T00:00:00Z"
    assert row["finalized_at"] == "2026-11-01T00:05:30Z"
    assert row["paid_at"] == "2026-11-02T00:00:00Z"
    assert row["status"] == "paid"


def test_names_with_commas_quotes_newlines_and_any_script_survive() -> None:
    names = ['Zoë "Ωμέγα", 山田', "line\nbreak", "שרה כהן"]
    rows = read(header() + lines([Row(project_name=name) for name in names]))
    assert [r["project_name"] for r in rows] == names


def test_free_text_that_a_spreadsheet_would_run_as_a_formula_is_defused() -> None:
    rows = read(
        header() + lines([Row(project_name='=HYPERLINK("http://x")'), Row(project_name="-1")])
    )
    assert [r["project_name"] for r in rows] == ['\'=HYPERLINK("http://x")', "'-1"]
