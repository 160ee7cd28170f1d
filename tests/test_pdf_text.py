"""How invoice text is prepared for the PDF: characters, dates and amounts."""

from datetime import UTC, datetime

import pytest

from app.invoices.money import format_amount
from app.invoices.pdf import format_date, pdf_text


class TestPdfText:
    def test_plain_ascii_is_untouched(self):
        assert pdf_text("Compute: 720 vCPU-hours") == "Compute: 720 vCPU-hours"

    def test_latin_1_letters_stay(self):
        assert pdf_text("Müller Straße, Café") == "Müller Straße, Café"

    def test_other_accents_lose_only_the_accent(self):
        assert pdf_text("Dvořák Őz") == "Dvorák Oz"

    def test_typographic_punctuation_is_spelled_plainly(self):
        assert pdf_text("\u201cQuoted\u201d \u2013 it\u2019s") == '"Quoted" - it\'s'

    def test_ligatures_are_decomposed(self):
        assert pdf_text("\ufb01le") == "file"

    def test_control_characters_become_spaces_and_invisible_ones_vanish(self):
        assert pdf_text("a\tb\u200bc") == "a bc"

    def test_what_has_no_latin_1_spelling_is_a_question_mark(self):
        assert pdf_text("東京") == "??"


class TestFormats:
    def test_dates_are_written_in_english_whatever_the_locale(self):
        assert format_date(datetime(2026, 11, 5, 23, 59, tzinfo=UTC)) == "November 5, 2026"

    @pytest.mark.parametrize(
        ("amount", "currency", "written"),
        [
            (1999, "eur", "EUR 19.99"),
            (5, "usd", "USD 0.05"),
            (123456789, "gbp", "GBP 1,234,567.89"),
            (1500, "jpy", "JPY 1,500"),
            (-500, "eur", "EUR -5.00"),
        ],
    )
    def test_amounts_use_the_currency_exponent(self, amount, currency, written):
        assert format_amount(amount, currency) == written
