"""The invoice PDF: one A4 document per invoice, rendered in memory with fpdf2.

Rendering is a pure function of the invoice and the seller: the same invoice always gives
the same bytes, so a PDF can be cached, compared or re-sent without surprises.

Text is placed with fpdf2's low-level `text()` and measured from the core font's width
table: `cell()` and `multi_cell()` run every string through fpdf2's fragment and line-break
machinery, which made up most of the rendering time, and this layout needs none of it.
"""

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

import pycountry
from fpdf import FPDF

from app.billing_details.schemas import BillingSnapshot
from app.invoices.money import format_amount
from app.invoices.schemas import STATUS_LABELS
from app.models import Invoice, InvoiceStatus


@dataclass(frozen=True, slots=True)
class Seller:
    name: str
    address: str
    email: str


# Countries whose addresses read "City, STATE 12345" rather than "12345 City".
_CITY_FIRST_COUNTRIES = frozenset({"US", "CA", "AU"})

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# Characters NFKD leaves whole although they have an obvious latin-1 spelling: typographic
# punctuation common in pasted descriptions, and letters with a stroke common in European
# names. A "?" in their place would read like a data error.
_SPELLINGS = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": ",",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u2022": "\u00b7",
        "\u20ac": "EUR",
        "\u0141": "L",
        "\u0142": "l",
        "\u0110": "D",
        "\u0111": "d",
        "\u0126": "H",
        "\u0127": "h",
        "\u0131": "i",
        "\u0152": "OE",
        "\u0153": "oe",
        "\u0166": "T",
        "\u0167": "t",
    }
)

_RGB = tuple[int, int, int]
_INK: _RGB = (33, 37, 41)
_MUTED: _RGB = (108, 117, 125)
_RULE: _RGB = (206, 212, 218)
_HEADER_FILL: _RGB = (241, 243, 245)
_GREEN: _RGB = (25, 135, 84)
_RED: _RGB = (200, 35, 51)

# Statuses that settle the invoice for good get a stamp next to the title.
_STAMPS: Mapping[InvoiceStatus, tuple[str, _RGB]] = {
    InvoiceStatus.PAID: ("PAID", _GREEN),
    InvoiceStatus.VOIDED: ("VOID", _RED),
}

# Millimetres on A4 (210 x 297).
_MARGIN = 20.0
_RIGHT = 210.0 - _MARGIN
_CONTENT_WIDTH = _RIGHT - _MARGIN
_FOOTER_TOP = 297.0 - 14.0
_BOTTOM_MARGIN = 22.0

_FONT = "Helvetica"
_BODY = 9.5
_SMALL = 8.0
_LINE = 4.8

_META_LABEL_WIDTH = 34.0
_PARTY_WIDTH = 80.0
_BILL_TO_X = _RIGHT - _PARTY_WIDTH

# Lines table: description | quantity | unit price | amount, with a padded grey header.
_PAD = 2.0
_QTY_WIDTH = 20.0
_MONEY_WIDTH = 32.0
_DESC_WIDTH = _CONTENT_WIDTH - _QTY_WIDTH - 2 * _MONEY_WIDTH
_QTY_RIGHT = _MARGIN + _DESC_WIDTH + _QTY_WIDTH - _PAD
_UNIT_RIGHT = _QTY_RIGHT + _MONEY_WIDTH
_AMOUNT_RIGHT = _RIGHT - _PAD
_HEADER_HEIGHT = 7.0
_ROW_PAD = 1.6

_TOTALS_X = _RIGHT - 80.0
_TOTALS_ROW = 6.0


def pdf_text(text: str) -> str:
    """Make `text` printable with the PDF core fonts, which only cover latin-1.

    The core fonts need no embedding, which keeps rendering fast and files small; the price
    is that fpdf2 refuses any other character. Those are spelled in latin-1 where NFKD can
    decompose them ("Ő" -> "O", "ﬁ" -> "fi") or `_SPELLINGS` knows them, and become "?"
    otherwise. Control characters become spaces; invisible format characters (zero-width
    space, direction marks) are dropped.
    """
    if text.isascii() and text.isprintable():
        return text
    out: list[str] = []
    for char in text.translate(_SPELLINGS):
        code = ord(char)
        if 0x20 <= code < 0x7F or 0xA0 <= code <= 0xFF:
            out.append(char)
            continue
        category = unicodedata.category(char)
        if category == "Cc":
            out.append(" ")
        elif category != "Cf":
            out.append(_transliterate(char))
    return "".join(out)


def _transliterate(char: str) -> str:
    parts = [p for p in unicodedata.normalize("NFKD", char) if not unicodedata.combining(p)]
    if parts and all(0x20 <= ord(p) <= 0xFF for p in parts):
        return "".join(parts)
    return "?"


def format_date(value: datetime) -> str:
    """The date as "November 25, 2026", whatever the process locale."""
    return f"{_MONTHS[value.month - 1]} {value.day}, {value.year}"


@lru_cache(maxsize=512)
def _country_name(code: str) -> str:
    country: Any = pycountry.countries.get(alpha_2=code.upper())
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


def _bill_to_lines(invoice: Invoice) -> list[str]:
    # Finalized invoices (the only ones with a PDF) always carry their snapshot.
    snapshot = BillingSnapshot.model_validate(invoice.billing_snapshot)
    address = snapshot.address
    city, postal_code, country = address.city, address.postal_code, address.country
    state = address.state or ""
    lines = [snapshot.name, address.line1, address.line2 or ""]
    if country.upper() in _CITY_FIRST_COUNTRIES:
        region = " ".join(part for part in (state, postal_code) if part)
        lines.append(", ".join(part for part in (city, region) if part))
    else:
        lines.append(" ".join(part for part in (postal_code, city) if part))
        lines.append(state)
    lines.append(_country_name(country) if country else "")
    lines.append(snapshot.email)
    if snapshot.vat_id:
        lines.append(f"VAT ID: {snapshot.vat_id}")
    return [line for line in lines if line]


def _headline(invoice: Invoice) -> str:
    if invoice.status is InvoiceStatus.VOIDED:
        voided = f" on {format_date(invoice.voided_at)}" if invoice.voided_at else ""
        return f"Voided{voided}: this invoice will not be charged"
    if invoice.status is InvoiceStatus.PAID:
        paid = f" on {format_date(invoice.paid_at)}" if invoice.paid_at else ""
        return f"{format_amount(invoice.amount_paid, invoice.currency)} paid{paid}"
    due = f" by {format_date(invoice.due_date)}" if invoice.due_date else ""
    return f"{format_amount(invoice.amount_due, invoice.currency)} due{due}"


class _InvoiceDocument(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self._footer_text = footer_text
        # Cells flush with the margins, like the text placed with `put()`.
        self.c_margin = 0

    def footer(self) -> None:
        self.style(_SMALL, _MUTED)
        # A cell, not `put()`: only cells get the page-count alias replaced at output. It is
        # left-aligned and last on its line because the count's width is unknown until then.
        self.set_xy(_MARGIN, _FOOTER_TOP)
        self.cell(_CONTENT_WIDTH, _LINE, f"Page {self.page_no()} of {self.str_alias_nb_pages}")
        self.put(_RIGHT, _FOOTER_TOP, self._footer_text, "R")

    def style(self, size: float, color: _RGB, bold: bool = False) -> None:
        self.set_font(_FONT, "B" if bold else "", size)
        self.set_text_color(*color)

    def width(self, text: str) -> float:
        assert self.current_font is not None
        width: float = self.current_font.get_text_width(text, self.font_size_pt, None)[1]
        return width / self.k

    def put(self, x: float, top: float, text: str, align: Literal["L", "R"] = "L") -> None:
        """Print one line in the current style, its box starting at `top`, left- or
        right-aligned on `x`."""
        if align == "R":
            x -= self.width(text)
        self.text(x, top + 0.5 * _LINE + 0.3 * self.font_size, text)

    def wrap(self, text: str, width: float) -> list[str]:
        """`text` broken into lines no wider than `width`, between words where possible."""
        if self.width(text) <= width:
            return [text]
        lines: list[str] = []
        current = ""
        for word in text.split():
            candidate = f"{current} {word}" if current else word
            if self.width(candidate) <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            while self.width(word) > width:
                cut = self._fitting_prefix(word, width)
                lines.append(word[:cut])
                word = word[cut:]
            current = word
        if current:
            lines.append(current)
        return lines or [""]

    def _fitting_prefix(self, word: str, width: float) -> int:
        used = 0.0
        for index, char in enumerate(word):
            used += self.width(char)
            if used > width:
                return max(index, 1)
        return len(word)

    def block(self, x: float, top: float, width: float, lines: Sequence[str]) -> float:
        """Print `lines` wrapped to `width` in the current style; return the y below them."""
        for line in lines:
            for part in self.wrap(line, width):
                self.put(x, top, part)
                top += _LINE
        return top

    def rule(self, y: float, x: float = _MARGIN, right: float = _RIGHT) -> None:
        self.set_draw_color(*_RULE)
        self.set_line_width(0.2)
        self.line(x, y, right, y)


def render_invoice_pdf(invoice: Invoice, seller: Seller) -> bytes:
    """The invoice as a PDF; `invoice.lines` must already be loaded."""
    number = invoice.number or "Draft"
    footer = " \u00b7 ".join(part for part in (seller.name, f"Invoice {number}") if part)
    pdf = _InvoiceDocument(pdf_text(footer))
    _set_metadata(pdf, invoice, seller, number)
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(True, margin=_BOTTOM_MARGIN)
    pdf.add_page()

    _title(pdf, invoice)
    y = _meta(pdf, invoice, number)
    y = _parties(pdf, invoice, seller, y + 8)

    pdf.style(14, _INK, bold=True)
    pdf.put(_MARGIN, y + 8, _headline(invoice))
    y += 8 + _LINE + 8

    y = _lines_table(pdf, invoice, y)
    _totals(pdf, invoice, y)
    return bytes(pdf.output())


def _set_metadata(pdf: FPDF, invoice: Invoice, seller: Seller, number: str) -> None:
    # Fixed values only, never "now": fpdf2 derives the file /ID from the content and the
    # creation date, so identical invoices give byte-identical files.
    pdf.set_title(number)
    pdf.set_author(seller.name)
    pdf.set_subject(f"Invoice {number} for {invoice.project_name}")
    pdf.set_creator("billing")
    pdf.set_lang("en")
    pdf.set_creation_date(invoice.finalized_at or invoice.created_at)


def _title(pdf: _InvoiceDocument, invoice: Invoice) -> None:
    pdf.style(24, _INK, bold=True)
    pdf.text(_MARGIN, _MARGIN + 8, "Invoice")
    stamp = _STAMPS.get(invoice.status)
    if stamp is None:
        return
    text, color = stamp
    width, height = 34.0, 11.0
    x, top = _RIGHT - width, _MARGIN - 1
    pdf.set_draw_color(*color)
    pdf.set_line_width(0.8)
    pdf.rect(x, top, width, height)
    pdf.style(18, color, bold=True)
    pdf.text(x + (width - pdf.width(text)) / 2, top + height / 2 + 0.3 * pdf.font_size, text)


def _meta(pdf: _InvoiceDocument, invoice: Invoice, number: str) -> float:
    issued = format_date(invoice.finalized_at) if invoice.finalized_at else "-"
    rows = [("Invoice number", number), ("Date of issue", issued)]
    if invoice.due_date:
        rows.append(("Date due", format_date(invoice.due_date)))
    period = f"{format_date(invoice.period_start)} - {format_date(invoice.period_end)}"
    rows.append(("Service period", period))
    rows.append(("Project", pdf_text(f"{invoice.project_name} ({invoice.project_id})")))
    rows.append(("Status", STATUS_LABELS[invoice.status]))

    y = _MARGIN + 16
    value_x = _MARGIN + _META_LABEL_WIDTH
    for index, (label, value) in enumerate(rows):
        pdf.style(_BODY, _MUTED)
        pdf.put(_MARGIN, y, label)
        pdf.style(_BODY, _INK, bold=index == 0)
        y = pdf.block(value_x, y, _RIGHT - value_x, [value])
    return y


def _parties(pdf: _InvoiceDocument, invoice: Invoice, seller: Seller, top: float) -> float:
    ends = []
    seller_lines = [seller.name, *seller.address.splitlines(), seller.email]
    bill_to_lines = _bill_to_lines(invoice)
    for x, heading, lines in (
        (_MARGIN, "From", seller_lines),
        (_BILL_TO_X, "Bill to", bill_to_lines),
    ):
        pdf.style(_SMALL, _MUTED, bold=True)
        pdf.put(x, top, heading.upper())
        pdf.style(_BODY, _INK, bold=True)
        y = pdf.block(x, top + _LINE + 1, _PARTY_WIDTH, [pdf_text(lines[0])])
        pdf.style(_BODY, _INK)
        ends.append(pdf.block(x, y, _PARTY_WIDTH, [pdf_text(line) for line in lines[1:]]))
    return max(ends)


def _table_header(pdf: _InvoiceDocument, top: float) -> float:
    pdf.set_fill_color(*_HEADER_FILL)
    pdf.rect(_MARGIN, top, _CONTENT_WIDTH, _HEADER_HEIGHT, style="F")
    pdf.style(_SMALL, _MUTED, bold=True)
    text_top = top + (_HEADER_HEIGHT - _LINE) / 2
    pdf.put(_MARGIN + _PAD, text_top, "Description")
    pdf.put(_QTY_RIGHT, text_top, "Qty", "R")
    pdf.put(_UNIT_RIGHT, text_top, "Unit price", "R")
    pdf.put(_AMOUNT_RIGHT, text_top, "Amount", "R")
    return top + _HEADER_HEIGHT


def _lines_table(pdf: _InvoiceDocument, invoice: Invoice, top: float) -> float:
    currency = invoice.currency
    y = _table_header(pdf, top)
    for line in invoice.lines:
        pdf.style(_BODY, _INK)
        description = pdf.wrap(pdf_text(line.description), _DESC_WIDTH - 2 * _PAD)
        height = len(description) * _LINE + 2 * _ROW_PAD
        pdf.set_y(y)
        if pdf.will_page_break(height):
            pdf.add_page()
            y = _table_header(pdf, _MARGIN)
            pdf.style(_BODY, _INK)
        row_top = y + _ROW_PAD
        # The figures go right after the first description line so that text extraction
        # reads each row in order.
        pdf.put(_MARGIN + _PAD, row_top, description[0])
        pdf.put(_QTY_RIGHT, row_top, f"{line.quantity:,}", "R")
        pdf.put(_UNIT_RIGHT, row_top, format_amount(line.unit_amount, currency), "R")
        pdf.put(_AMOUNT_RIGHT, row_top, format_amount(line.amount, currency), "R")
        pdf.block(_MARGIN + _PAD, row_top + _LINE, _DESC_WIDTH, description[1:])
        y += height
        pdf.rule(y)
    return y


def _totals(pdf: _InvoiceDocument, invoice: Invoice, top: float) -> None:
    rows = (
        ("Subtotal", invoice.subtotal, False),
        ("Tax", invoice.tax, False),
        ("Total", invoice.total, True),
        ("Amount paid", invoice.amount_paid, False),
        ("Amount due", invoice.amount_due, True),
    )
    pdf.set_y(top)
    if pdf.will_page_break(4 + len(rows) * _TOTALS_ROW):
        pdf.add_page()
        top = _MARGIN
    y = top + 4
    for label, amount, bold in rows:
        if bold:
            pdf.rule(y, _TOTALS_X + _PAD)
        pdf.style(_BODY + (0.5 if bold else 0), _INK, bold=bold)
        pdf.put(_TOTALS_X + _PAD, y + 0.6, label)
        pdf.put(_AMOUNT_RIGHT, y + 0.6, format_amount(amount, invoice.currency), "R")
        y += _TOTALS_ROW
