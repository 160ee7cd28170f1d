"""The invoice PDF: one A4 document per invoice, rendered in memory with fpdf2.

Rendering is a pure function of the invoice and the seller: the same invoice always gives
the same bytes, so a PDF can be cached, compared or re-sent without surprises. It speaks
the locale of the billing snapshot (`preferred_locale`), and prints every script with the
fonts shipped in app/invoices/fonts/ (see typesetting.py for how).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.billing_details.schemas import BillingSnapshot
from app.invoices.localization import N_, DocumentLocale
from app.invoices.typesetting import (
    LINE,
    RGB,
    InvoiceCanvas,
    NeedsEmbeddedFonts,
    fits_standard_fonts,
)
from app.models import Invoice, InvoiceStatus


@dataclass(frozen=True, slots=True)
class Seller:
    name: str
    address: str
    email: str


# Countries whose addresses read "City, STATE 12345" rather than "12345 City".
_CITY_FIRST_COUNTRIES = frozenset({"US", "CA", "AU"})

_INK: RGB = (33, 37, 41)
_MUTED: RGB = (108, 117, 125)
_RULE: RGB = (206, 212, 218)
_HEADER_FILL: RGB = (241, 243, 245)
_GREEN: RGB = (25, 135, 84)
_RED: RGB = (200, 35, 51)

# The frontend's status labels, as the document's catalogue translates them.
_STATUS_TEXT: Mapping[InvoiceStatus, str] = {
    InvoiceStatus.PAYMENT_PENDING: N_("Payment pending"),
    InvoiceStatus.PAID: N_("Paid"),
    InvoiceStatus.PAYMENT_DUE: N_("Payment due"),
    InvoiceStatus.NOT_PAID: N_("Not paid"),
    InvoiceStatus.VOIDED: N_("Voided"),
}
# Statuses that settle the invoice for good get a stamp next to the title.
_STAMPS: Mapping[InvoiceStatus, tuple[str, RGB]] = {
    InvoiceStatus.PAID: (N_("PAID"), _GREEN),
    InvoiceStatus.VOIDED: (N_("VOID"), _RED),
}

# Millimetres on A4 (210 x 297).
_MARGIN = 20.0
_RIGHT = 210.0 - _MARGIN
_CONTENT_WIDTH = _RIGHT - _MARGIN
_FOOTER_TOP = 297.0 - 14.0
_BOTTOM_MARGIN = 22.0

_BODY = 9.5
_SMALL = 8.0

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


class _InvoiceDocument(InvoiceCanvas):
    def __init__(self, loc: DocumentLocale, embedded: bool) -> None:
        super().__init__(embedded)
        self.loc = loc

    def rule(self, y: float, x: float = _MARGIN, right: float = _RIGHT) -> None:
        self.set_draw_color(*_RULE)
        self.set_line_width(0.2)
        self.line(x, y, right, y)


def render_invoice_pdf(invoice: Invoice, seller: Seller) -> bytes:
    """The invoice as a PDF; `invoice.lines` must already be loaded."""
    # Finalized invoices (the only ones with a PDF) always carry their snapshot.
    snapshot = BillingSnapshot.model_validate(invoice.billing_snapshot)
    loc = DocumentLocale.for_tag(snapshot.preferred_locale)
    if fits_standard_fonts(_varying_texts(invoice, snapshot, seller, loc)):
        try:
            return _render(invoice, snapshot, seller, loc, embedded=False)
        except NeedsEmbeddedFonts:
            pass  # a label, date or amount in another script
    return _render(invoice, snapshot, seller, loc, embedded=True)


def _varying_texts(
    invoice: Invoice, snapshot: BillingSnapshot, seller: Seller, loc: DocumentLocale
) -> list[str | None]:
    """The customer's and the seller's text, and a label and a date in the document's
    locale: what decides, for nearly every document, whether it needs embedded fonts."""
    address = snapshot.address
    return [
        *(snapshot.name, snapshot.email, snapshot.vat_id, invoice.number, invoice.project_name),
        *(address.line1, address.line2, address.city, address.postal_code, address.state),
        loc.country(address.country) if address.country else None,
        *(seller.name, seller.address, seller.email, loc.gettext("Invoice")),
        loc.date(invoice.finalized_at or invoice.created_at),
        *(line.description for line in invoice.lines),
    ]


def _render(
    invoice: Invoice,
    snapshot: BillingSnapshot,
    seller: Seller,
    loc: DocumentLocale,
    embedded: bool,
) -> bytes:
    number = invoice.number or loc.gettext("Draft")
    pdf = _InvoiceDocument(loc, embedded)
    _set_metadata(pdf, invoice, seller, number)
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(True, margin=_BOTTOM_MARGIN)
    pdf.add_page()

    _title(pdf, invoice)
    y = _meta(pdf, invoice, number)
    y = _parties(pdf, snapshot, seller, y + 8)

    pdf.style(14, _INK, bold=True)
    pdf.put(_MARGIN, y + 8, _headline(loc, invoice))
    y += 8 + LINE + 8

    y = _lines_table(pdf, invoice, y)
    _totals(pdf, invoice, y)
    _footers(pdf, seller, number)
    return pdf.render()


def _footers(pdf: _InvoiceDocument, seller: Seller, number: str) -> None:
    # Written once every page exists, so that "Page 1 of 2" needs no page-count alias (which
    # only fpdf2's `cell()` replaces, in the current font whatever script it is).
    text = " \u00b7 ".join(
        part for part in (seller.name, pdf.loc.gettext("Invoice {number}", number=number)) if part
    )
    pages = pdf.pages_count
    for page in range(1, pages + 1):
        pdf.page = page
        # The font fpdf2 believes set is the last page's, not this one's.
        pdf.current_font_is_set_on_page = False
        pdf.style(_SMALL, _MUTED)
        label = pdf.loc.gettext("Page {page} of {pages}", page=str(page), pages=str(pages))
        pdf.put(_MARGIN, _FOOTER_TOP, label)
        pdf.put(_RIGHT, _FOOTER_TOP, text, "R")


def _bill_to_lines(loc: DocumentLocale, snapshot: BillingSnapshot) -> list[str]:
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
    lines.append(loc.country(country) if country else "")
    lines.append(snapshot.email)
    if snapshot.vat_id:
        lines.append(loc.gettext("VAT ID: {vat_id}", vat_id=snapshot.vat_id))
    return [line for line in lines if line]


def _headline(loc: DocumentLocale, invoice: Invoice) -> str:
    if invoice.status is InvoiceStatus.VOIDED:
        if invoice.voided_at:
            return loc.gettext(
                "Voided on {date}: this invoice will not be charged",
                date=loc.date(invoice.voided_at),
            )
        return loc.gettext("Voided: this invoice will not be charged")
    if invoice.status is InvoiceStatus.PAID:
        paid = loc.money(invoice.amount_paid, invoice.currency)
        if invoice.paid_at:
            return loc.gettext(
                "{amount} paid on {date}", amount=paid, date=loc.date(invoice.paid_at)
            )
        return loc.gettext("{amount} paid", amount=paid)
    due = loc.money(invoice.amount_due, invoice.currency)
    if invoice.due_date:
        return loc.gettext("{amount} due by {date}", amount=due, date=loc.date(invoice.due_date))
    return loc.gettext("{amount} due", amount=due)


def _set_metadata(pdf: _InvoiceDocument, invoice: Invoice, seller: Seller, number: str) -> None:
    # Fixed values only, never "now": fpdf2 derives the file /ID from the content and the
    # creation date, so identical invoices give byte-identical files.
    pdf.set_title(number)
    pdf.set_author(seller.name)
    pdf.set_subject(
        pdf.loc.gettext(
            "Invoice {number} for {project}", number=number, project=invoice.project_name
        )
    )
    pdf.set_creator("billing")
    pdf.set_lang(pdf.loc.language_tag)
    pdf.set_creation_date(invoice.finalized_at or invoice.created_at)


def _title(pdf: _InvoiceDocument, invoice: Invoice) -> None:
    pdf.style(24, _INK, bold=True)
    pdf.put(_MARGIN, _MARGIN + 8 - 0.5 * LINE - 0.3 * pdf.font_size, pdf.loc.gettext("Invoice"))
    stamp = _STAMPS.get(invoice.status)
    if stamp is None:
        return
    message, color = stamp
    text = pdf.loc.gettext(message)
    pdf.style(18, color, bold=True)
    text_width = pdf.width(text)
    width, height = max(34.0, text_width + 8), 11.0
    x, top = _RIGHT - width, _MARGIN - 1
    pdf.set_draw_color(*color)
    pdf.set_line_width(0.8)
    pdf.rect(x, top, width, height)
    pdf.put(x + (width - text_width) / 2, top + (height - LINE) / 2, text)


def _meta(pdf: _InvoiceDocument, invoice: Invoice, number: str) -> float:
    loc = pdf.loc
    issued = loc.date(invoice.finalized_at) if invoice.finalized_at else "-"
    rows = [(loc.gettext("Invoice number"), number), (loc.gettext("Date of issue"), issued)]
    if invoice.due_date:
        rows.append((loc.gettext("Date due"), loc.date(invoice.due_date)))
    rows.append(
        (loc.gettext("Service period"), loc.period(invoice.period_start, invoice.period_end))
    )
    rows.append((loc.gettext("Project"), f"{invoice.project_name} ({invoice.project_id})"))
    rows.append((loc.gettext("Status"), loc.gettext(_STATUS_TEXT[invoice.status])))

    y = _MARGIN + 16
    value_x = _MARGIN + _META_LABEL_WIDTH
    for index, (label, value) in enumerate(rows):
        pdf.style(_BODY, _MUTED)
        pdf.put(_MARGIN, y, label)
        pdf.style(_BODY, _INK, bold=index == 0)
        y = pdf.block(value_x, y, _RIGHT - value_x, [value])
    return y


def _parties(pdf: _InvoiceDocument, snapshot: BillingSnapshot, seller: Seller, top: float) -> float:
    ends = []
    seller_lines = [seller.name, *seller.address.splitlines(), seller.email]
    for x, heading, lines in (
        (_MARGIN, pdf.loc.gettext("From"), seller_lines),
        (_BILL_TO_X, pdf.loc.gettext("Bill to"), _bill_to_lines(pdf.loc, snapshot)),
    ):
        pdf.style(_SMALL, _MUTED, bold=True)
        pdf.put(x, top, heading.upper())
        pdf.style(_BODY, _INK, bold=True)
        y = pdf.block(x, top + LINE + 1, _PARTY_WIDTH, lines[:1])
        pdf.style(_BODY, _INK)
        ends.append(pdf.block(x, y, _PARTY_WIDTH, lines[1:]))
    return max(ends)


def _table_header(pdf: _InvoiceDocument, top: float) -> float:
    pdf.set_fill_color(*_HEADER_FILL)
    pdf.rect(_MARGIN, top, _CONTENT_WIDTH, _HEADER_HEIGHT, style="F")
    pdf.style(_SMALL, _MUTED, bold=True)
    text_top = top + (_HEADER_HEIGHT - LINE) / 2
    loc = pdf.loc
    pdf.put(_MARGIN + _PAD, text_top, loc.gettext("Description"))
    pdf.put(_QTY_RIGHT, text_top, loc.gettext("Qty"), "R")
    pdf.put(_UNIT_RIGHT, text_top, loc.gettext("Unit price"), "R")
    pdf.put(_AMOUNT_RIGHT, text_top, loc.gettext("Amount"), "R")
    return top + _HEADER_HEIGHT


def _lines_table(pdf: _InvoiceDocument, invoice: Invoice, top: float) -> float:
    loc, currency = pdf.loc, invoice.currency
    y = _table_header(pdf, top)
    for line in invoice.lines:
        pdf.style(_BODY, _INK)
        description = pdf.wrap(line.description, _DESC_WIDTH - 2 * _PAD)
        height = len(description) * LINE + 2 * _ROW_PAD
        pdf.set_y(y)
        if pdf.will_page_break(height):
            pdf.add_page()
            y = _table_header(pdf, _MARGIN)
            pdf.style(_BODY, _INK)
        row_top = y + _ROW_PAD
        # The figures go right after the first description line so that text extraction
        # reads each row in order.
        pdf.put(_MARGIN + _PAD, row_top, description[0])
        pdf.put(_QTY_RIGHT, row_top, loc.number(line.quantity), "R")
        pdf.put(_UNIT_RIGHT, row_top, loc.money(line.unit_amount, currency), "R")
        pdf.put(_AMOUNT_RIGHT, row_top, loc.money(line.amount, currency), "R")
        pdf.block(_MARGIN + _PAD, row_top + LINE, _DESC_WIDTH, description[1:])
        y += height
        pdf.rule(y)
    return y


def _totals(pdf: _InvoiceDocument, invoice: Invoice, top: float) -> None:
    loc = pdf.loc
    rows: Sequence[tuple[str, int, bool]] = (
        (loc.gettext("Subtotal"), invoice.subtotal, False),
        (loc.gettext("Tax"), invoice.tax, False),
        (loc.gettext("Total"), invoice.total, True),
        (loc.gettext("Amount paid"), invoice.amount_paid, False),
        (loc.gettext("Amount due"), invoice.amount_due, True),
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
        pdf.put(_AMOUNT_RIGHT, y + 0.6, loc.money(amount, invoice.currency), "R")
        y += _TOTALS_ROW
