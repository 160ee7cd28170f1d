"""Unit tests for the invoice document's formatting and its message catalogues."""

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from app.core.locales import locale_tag, parse_locale
from app.invoices import pdf
from app.invoices.fonts import face_for, print_face
from app.invoices.localization import (
    TRANSLATIONS_DIR,
    DocumentLocale,
    last_day,
    minor_units,
    tender_currencies,
    to_major_units,
)
from app.invoices.typesetting import clean, fits_standard_fonts

CATALOGUES = sorted(TRANSLATIONS_DIR.glob("*/LC_MESSAGES/invoices.po"))


@pytest.mark.parametrize(
    ("currency", "digits"), [("jpy", 0), ("krw", 0), ("eur", 2), ("usd", 2), ("bhd", 3), ("kwd", 3)]
)
def test_minor_units_follow_iso_4217(currency: str, digits: int) -> None:
    assert minor_units(currency) == digits


def test_major_units_are_exact_decimals() -> None:
    assert to_major_units(12345, "bhd") == Decimal("12.345")
    assert to_major_units(1500, "jpy") == Decimal("1500")
    assert to_major_units(-5, "eur") == Decimal("-0.05")
    assert str(to_major_units(1000, "eur")) == "10.00"


def test_tender_currencies_leave_out_codes_nobody_pays_in() -> None:
    currencies = tender_currencies()
    assert {"eur", "usd", "jpy", "bhd", "xaf", "xof", "chf"} <= currencies
    assert not {"xxx", "xts", "xau", "xdr", "abc"} & currencies


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        (datetime(2026, 11, 1, tzinfo=UTC), date(2026, 10, 31)),
        (datetime(2026, 11, 1, 0, 0, 1, tzinfo=UTC), date(2026, 11, 1)),
        (datetime(2026, 10, 15, 12, tzinfo=UTC), date(2026, 10, 15)),
    ],
)
def test_a_period_covers_the_days_before_its_exclusive_end(end: datetime, expected: date) -> None:
    assert last_day(end) == expected


def test_period_prints_both_days_inclusive() -> None:
    start, end = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
    assert DocumentLocale.for_tag("en").period(start, end) == "Oct 1 – 31, 2026"
    assert DocumentLocale.for_tag("fr").period(start, end) == "1–31 oct. 2026"
    assert DocumentLocale.for_tag("zh-CN").period(start, end) == "2026年10月1日至31日"
    across = DocumentLocale.for_tag("en").period(start, datetime(2026, 12, 1, tzinfo=UTC))
    assert across == "Oct 1 – Nov 30, 2026"


def test_money_uses_plain_spaces_the_standard_fonts_have() -> None:
    assert DocumentLocale.for_tag("fr").money(123456, "eur") == "1\u00a0234,56\u00a0€"
    assert DocumentLocale.for_tag("en").money(-500, "usd") == "-$5.00"
    assert DocumentLocale.for_tag("de").number(1500) == "1.500"


@pytest.mark.parametrize("tag", ["en", "fr", "de-CH", "zh-CN", "zh-Hans-CN", "pt-BR", "ar"])
def test_known_locales_parse(tag: str) -> None:
    parse_locale(tag)
    assert locale_tag(tag) == tag


def test_locale_tags_are_spelled_with_hyphens() -> None:
    assert locale_tag("zh_CN") == "zh-CN"


@pytest.mark.parametrize("tag", ["xx", "english", "", "en-", "zz-ZZ"])
def test_unknown_locales_are_refused(tag: str) -> None:
    with pytest.raises(ValueError, match="unknown locale"):
        parse_locale(tag)


def test_labels_come_from_the_closest_catalogue() -> None:
    assert DocumentLocale.for_tag("fr-CA").gettext("Invoice") == "Facture"
    assert DocumentLocale.for_tag("zh-Hans-CN").gettext("Invoice") == "发票"
    assert DocumentLocale.for_tag("ja").gettext("Invoice") == "Invoice"
    assert DocumentLocale.for_tag(None).gettext("Amount due") == "Amount due"
    assert DocumentLocale.for_tag("de").gettext("Invoice {number}", number="7") == "Rechnung 7"


def test_catalogues_translate_every_message_the_pdf_uses() -> None:
    used = {
        message
        for _, message, _, _ in extract_from_file(
            "python", pdf.__file__, keywords={"gettext": None, "N_": None}
        )
    }
    assert len(used) > 30
    assert {path.parent.parent.name for path in CATALOGUES} >= {"en", "fr", "de", "es", "zh_CN"}
    for path in CATALOGUES:
        with path.open("rb") as po_file:
            catalogue = read_po(po_file)
        translated = {message.id: message.string for message in catalogue if message.id}
        assert used <= set(translated), path
        if path.parent.parent.name != "en":
            assert all(translated[message] for message in used), path
            for message in used:  # the placeholders survive translation
                for placeholder in ("{amount}", "{date}", "{number}", "{page}", "{pages}"):
                    assert (placeholder in message) == (placeholder in translated[message])


@pytest.mark.parametrize("po_path", CATALOGUES, ids=lambda path: path.parent.parent.name)
def test_compiled_catalogues_match_their_sources(po_path: Path) -> None:
    with po_path.open("rb") as po_file:
        source = {message.id: message.string for message in read_po(po_file) if message.id}
    with po_path.with_suffix(".mo").open("rb") as mo_file:
        compiled = {message.id: message.string for message in read_mo(mo_file) if message.id}
    assert compiled == {key: value for key, value in source.items() if value}


def test_clean_composes_and_drops_invisible_characters() -> None:
    assert clean("Zoe\u0308") == "Zoë"
    assert clean("a\u200fb\u200bc") == "abc"
    assert clean("tab\there") == "tab here"
    assert clean("ی\u200cک") == "ی\u200cک"  # a zero-width non-joiner shapes Persian words


def test_the_standard_fonts_fit_windows_1252_text_once_cleaned() -> None:
    assert fits_standard_fonts(["Zoë Müller", "12,34 €", "Œuvre – „Straße“", None, ""])
    assert fits_standard_fonts(["Zoe\u0308", "a\u200fb"])  # composed; marks dropped
    assert not fits_standard_fonts(["Acme", "Łódź"])
    assert not fits_standard_fonts(["Ωμέγα"])
    assert not fits_standard_fonts(["山田"])


def test_cjk_characters_print_in_one_face_whatever_their_slice() -> None:
    assert face_for("山", "") != face_for("田", "")  # two slices of the CJK font
    assert print_face("山", "") == print_face("田", "") == print_face("김", "B")
    assert print_face("a", "") == face_for("a", "")
    assert print_face("ω", "B") == face_for("ω", "B")
    assert print_face("ش", "") == face_for("ش", "")
