"""The invoice PDF in every script and language, read back with pypdf.

These render in memory (the HTTP tests in test_invoices.py cover the route): the invoices
are transient ORM objects, whose `lines` collection can be assigned without a session.
"""

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fontTools.pens.recordingPen import DecomposingRecordingPen, RecordingPen
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from app.invoices.embedding import FontTables, font_program
from app.invoices.fonts import FONT_DIR
from app.invoices.pdf import Seller, render_invoice_pdf
from app.models import Invoice, InvoiceLine, InvoiceStatus

SELLER = Seller(name="Cloud Platform Inc.", address="1 Way\n10115 Berlin", email="b@cloud.example")


def make_invoice(
    *,
    name: str = "Ada Lovelace",
    city: str = "Berlin",
    country: str = "DE",
    locale: str | None = None,
    currency: str = "eur",
    unit_amount: int = 1234,
    status: InvoiceStatus = InvoiceStatus.PAYMENT_DUE,
    description: str = "Compute: 720 vCPU-hours",
    lines: int = 1,
) -> Invoice:
    finalized = datetime(2026, 11, 1, 0, 5, tzinfo=UTC)
    snapshot: dict[str, Any] = {
        "name": name,
        "email": "ada@example.com",
        "address": {
            "line1": "Hauptstraße 5",
            "line2": None,
            "city": city,
            "postal_code": "10115",
            "state": None,
            "country": country,
        },
        "vat_id": None,
        "source": "account",
    }
    if locale is not None:
        snapshot["preferred_locale"] = locale
    total = unit_amount * lines
    invoice = Invoice(
        id="in_test",
        account_id="acct_1",
        project_id="proj_1",
        project_name="Web shop",
        number="INV-000042",
        status=status,
        currency=currency,
        subtotal=total,
        tax=0,
        total=total,
        amount_paid=total if status is InvoiceStatus.PAID else 0,
        period_start=datetime(2026, 10, 1, tzinfo=UTC),
        period_end=datetime(2026, 11, 1, tzinfo=UTC),
        created_at=finalized - timedelta(minutes=5),
        finalized_at=finalized,
        due_date=finalized + timedelta(days=14),
        paid_at=finalized if status is InvoiceStatus.PAID else None,
        voided_at=None,
        billing_snapshot=snapshot,
    )
    invoice.lines = [
        InvoiceLine(
            position=position,
            description=description,
            quantity=1,
            unit_amount=unit_amount,
            amount=unit_amount,
        )
        for position in range(lines)
    ]
    return invoice


def pdf_text(data: bytes) -> str:
    """The document's text, with every kind of space read as a plain one."""
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text.replace("\u00a0", " ").replace("\u202f", " ").replace("\u2009", " ")


@pytest.mark.parametrize(
    ("name", "city"),
    [
        ("Zoë Ωμέγα 山田", "Łódź"),
        ("Ærøskøbing Ŝŧřïņğ Œuvre ẞtraße", "Ďábel Ňůž"),
        ("Иван Петров", "Москва"),
        ("שרה כהן", "ירושלים"),
        ("شركة النور", "دبي"),
        ("김민준", "서울"),
        ("株式会社サンプル", "東京"),
        ("王小明", "北京"),
    ],
)
def test_names_print_exactly_in_every_script(name: str, city: str) -> None:
    text = pdf_text(render_invoice_pdf(make_invoice(name=name, city=city), SELLER))
    assert name in text
    assert city in text


def test_decomposed_diacritics_print_composed() -> None:
    text = pdf_text(render_invoice_pdf(make_invoice(name="Zoe\u0308 Lo\u0301dz"), SELLER))
    assert "Zoë Lódz" in text


@pytest.mark.parametrize(
    ("locale", "currency", "amount", "expected"),
    [
        ("en", "eur", 1234, "€12.34"),
        ("fr", "eur", 1234, "12,34 €"),
        ("de", "eur", 123456, "1.234,56 €"),
        ("es", "eur", 1234, "12,34 €"),
        ("zh-CN", "cny", 1234, "¥12.34"),
        ("en", "jpy", 1500, "¥1,500"),
        ("en", "bhd", 12345, "BHD12.345"),
        ("fr", "usd", 1999, "19,99 $US"),
    ],
)
def test_amounts_follow_the_locale_and_the_currency_minor_units(
    locale: str, currency: str, amount: int, expected: str
) -> None:
    invoice = make_invoice(locale=locale, currency=currency, unit_amount=amount)
    assert expected in pdf_text(render_invoice_pdf(invoice, SELLER))


@pytest.mark.parametrize(
    ("locale", "labels"),
    [
        (None, ["Invoice", "Amount due", "Service period", "Oct 1 – 31, 2026", "Bill to".upper()]),
        ("fr", ["Facture", "Montant dû", "Période de service", "1–31 oct. 2026", "Allemagne"]),
        ("de", ["Rechnung", "Offener Betrag", "Leistungszeitraum", "1.–31. Okt. 2026"]),
        ("es", ["Factura", "Importe pendiente", "Periodo de servicio", "1–31 oct 2026"]),
        (
            "zh-CN",
            ["发票", "应付金额", "服务期间", "2026年10月1日至31日", "德国", "第 1 页，共 1 页"],
        ),
    ],
)
def test_labels_dates_and_country_follow_the_locale(locale: str | None, labels: list[str]) -> None:
    text = pdf_text(render_invoice_pdf(make_invoice(locale=locale), SELLER))
    for label in labels:
        assert label in text


def test_the_period_ends_on_its_last_day_not_the_next_periods_first() -> None:
    text = pdf_text(render_invoice_pdf(make_invoice(), SELLER))
    assert "Oct 1 – 31, 2026" in text
    assert "Nov 1" not in text.split("Service period")[1].splitlines()[0]


def test_a_locale_without_a_catalogue_keeps_english_labels_and_its_own_dates() -> None:
    text = pdf_text(render_invoice_pdf(make_invoice(locale="ja"), SELLER))
    assert "Amount due" in text
    assert "2026年11月15日" in text


def test_a_paid_stamp_is_translated() -> None:
    invoice = make_invoice(locale="de", status=InvoiceStatus.PAID)
    assert "BEZAHLT" in pdf_text(render_invoice_pdf(invoice, SELLER))


def test_windows_1252_documents_use_the_standard_fonts() -> None:
    # Western names, € and the French and German labels need no embedded font.
    for locale in ("en", "fr", "de", "es"):
        data = render_invoice_pdf(make_invoice(name="Zoë Müller", locale=locale), SELLER)
        assert b"/FontFile2" not in data, locale
    data = render_invoice_pdf(make_invoice(name="Łukasz"), SELLER)
    assert b"/FontFile2" in data


def test_a_symbol_outside_windows_1252_in_an_amount_switches_to_the_embedded_fonts() -> None:
    # The customer's text fits the standard fonts; only the amounts' "₪" does not, which
    # is found while drawing, and the document is drawn again with the shipped fonts.
    data = render_invoice_pdf(make_invoice(name="Zoë Müller", currency="ils"), SELLER)
    assert b"/FontFile2" in data
    assert "₪12.34" in pdf_text(data)
    assert "Zoë Müller" in pdf_text(data)


def test_rendering_is_deterministic() -> None:
    invoice = make_invoice(name="Zoë Ωμέγα 山田", locale="zh-CN")
    assert render_invoice_pdf(invoice, SELLER) == render_invoice_pdf(invoice, SELLER)


def test_long_invoices_break_onto_numbered_pages() -> None:
    data = render_invoice_pdf(make_invoice(name="Ωμέγα", lines=60), SELLER)
    assert len(PdfReader(io.BytesIO(data)).pages) == 3
    assert "Page 3 of 3" in pdf_text(data)


def test_embedded_font_program_numbers_glyphs_as_asked_and_keeps_composite_parts() -> None:
    original = TTFont(FONT_DIR / "NotoSans-Regular.ttf")
    tables = FontTables.read(original)
    glyph_order, cmap = original.getGlyphOrder(), original.getBestCmap()
    wanted = [glyph_order.index(cmap[ord(char)]) for char in "Łódź"]
    # Glyph 1 left empty, as for a character code a document does not use.
    program = TTFont(io.BytesIO(font_program([(tables, 0), None, *((tables, g) for g in wanted)])))
    order = program.getGlyphOrder()
    assert program["glyf"][order[1]].numberOfContours == 0
    source_glyphs, glyphs = original.getGlyphSet(), program.getGlyphSet()
    for new_id, old_id in enumerate(wanted, start=2):
        assert program["hmtx"][order[new_id]] == original["hmtx"][glyph_order[old_id]]
        drawn, expected = DecomposingRecordingPen(glyphs), DecomposingRecordingPen(source_glyphs)
        glyphs[order[new_id]].draw(drawn)
        source_glyphs[glyph_order[old_id]].draw(expected)
        assert drawn.value == expected.value
    # The accented letters are composites: their parts follow, and nothing else.
    assert any(original["glyf"][glyph_order[g]].isComposite() for g in wanted)
    assert len(order) < 12


def test_a_font_program_can_join_the_slices_of_one_font() -> None:
    paths = {
        char: next(FONT_DIR.glob(f"NotoSansCJKsc-Regular.{first}-*.ttf"))
        for char, first in (("山", "5a95"), ("田", "7495"))
    }
    fonts = {char: TTFont(path) for char, path in paths.items()}
    sources = [
        (FontTables.read(font), font.getGlyphID(font.getBestCmap()[ord(char)]))
        for char, font in fonts.items()
    ]
    program = TTFont(io.BytesIO(font_program([(sources[0][0], 0), *sources])))
    glyphs = program.getGlyphSet()
    for new_id, char in enumerate(fonts, start=1):
        drawn, expected = RecordingPen(), RecordingPen()
        glyphs[program.getGlyphName(new_id)].draw(drawn)
        fonts[char].getGlyphSet()[fonts[char].getBestCmap()[ord(char)]].draw(expected)
        assert drawn.value == expected.value


def test_cjk_text_embeds_one_font_whatever_slices_its_characters_are_in() -> None:
    # Characters from five slices of the CJK font, and Korean and kana.
    name = "王小明 山田 김민준 サンプル"
    data = render_invoice_pdf(make_invoice(name=name, city="北京", locale="zh-CN"), SELLER)
    assert name in pdf_text(data)
    # Noto Sans regular and bold for the Latin text, and one CJK font.
    assert data.count(b"/FontFile2") == 3
