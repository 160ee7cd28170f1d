"""What an invoice document says in the customer's language: labels, dates and amounts.

Labels come from gettext catalogues (app/invoices/translations/<locale>/LC_MESSAGES/
invoices.po, compiled to .mo; `make translations` extracts, updates and compiles them);
dates, amounts and country names from Babel's CLDR data, so every locale Babel knows formats
correctly even where no catalogue translates the labels (those fall back to English).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_interval
from babel.numbers import (
    format_currency,
    format_decimal,
    get_currency_precision,
    get_territory_currencies,
)
from babel.support import NullTranslations, Translations

from app.core.locales import DEFAULT_LOCALE, parse_locale

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
DOMAIN = "invoices"

# Babel separates digit groups and units with thin (U+2009) and narrow no-break (U+202F)
# spaces. The PDF's fast path uses the standard fonts, which have neither, so they become
# the plain and no-break spaces every font has: the same reading, a hair wider.
_PLAIN_SPACES = str.maketrans({"\u2009": " ", "\u202f": "\u00a0"})


def N_(message: str) -> str:  # noqa: N802 - the name gettext's extractors look for
    """Mark `message` for the catalogues where it is defined; it is translated where used."""
    return message


@lru_cache(maxsize=1)
def tender_currencies() -> frozenset[str]:
    """ISO 4217 codes of the currencies that are legal tender somewhere today, lowercase.

    This is stricter than "a code in ISO 4217": it leaves out `xxx` (no currency), `xts`
    (testing), precious metals and fund codes, none of which an invoice can be paid in.
    """
    codes: set[str] = set()
    for territory in map(str, Locale.parse(DEFAULT_LOCALE).territories):
        if territory.isalpha():
            codes.update(get_territory_currencies(territory, tender=True))
    return frozenset(code.lower() for code in codes)


def minor_units(currency: str) -> int:
    """How many decimals the currency's minor units carry (JPY 0, EUR 2, BHD 3)."""
    return int(get_currency_precision(currency.upper()))


def to_major_units(amount: int, currency: str) -> Decimal:
    """`to_major_units(12345, "bhd")` is Decimal("12.345"), exactly."""
    return Decimal(amount).scaleb(-minor_units(currency))


def last_day(period_end: datetime) -> date:
    """The last day a period covers: periods end at an exclusive instant, so a period
    ending at 2026-11-01T00:00Z covers October 31 and not November 1."""
    return (period_end.astimezone(UTC) - timedelta(microseconds=1)).date()


@lru_cache(maxsize=64)
def _catalogue(locale: Locale) -> NullTranslations:
    # Most specific first: "zh_Hans_CN" is served by the zh_CN catalogue, "fr_CA" by fr.
    candidates = [str(locale)]
    if locale.territory:
        candidates.append(f"{locale.language}_{locale.territory}")
    candidates.append(locale.language)
    return Translations.load(TRANSLATIONS_DIR, candidates, DOMAIN)


@dataclass(frozen=True, slots=True)
class DocumentLocale:
    """Formatting and translation for one document, in one locale."""

    locale: Locale

    @classmethod
    def for_tag(cls, tag: str | None) -> "DocumentLocale":
        """The tag's locale; English when the tag is missing or (for documents made before
        a locale was validated) unknown."""
        try:
            return cls(parse_locale(tag or DEFAULT_LOCALE))
        except ValueError:
            return cls(parse_locale(DEFAULT_LOCALE))

    @property
    def language_tag(self) -> str:
        return str(self.locale).replace("_", "-")

    def gettext(self, message: str, **values: str) -> str:
        text = _catalogue(self.locale).gettext(message)
        return text.format(**values) if values else text

    def money(self, amount: int, currency: str) -> str:
        """`money(1234, "eur")` is "€12.34" in en and "12,34 €" in fr."""
        return _money(self.locale, amount, currency)

    def number(self, value: int) -> str:
        """A quantity with the locale's digit grouping: "1,500", "1.500", "1 500"."""
        return _number(self.locale, value)

    def date(self, value: datetime) -> str:
        """The day of `value` in UTC, spelled out: "November 25, 2026", "25 novembre 2026"."""
        text = format_date(value.astimezone(UTC).date(), "long", locale=self.locale)
        return text.translate(_PLAIN_SPACES)

    def period(self, start: datetime, end: datetime) -> str:
        """The days a period covers, both ends included: "Oct 1 - 31, 2026" in en."""
        first, last = start.astimezone(UTC).date(), last_day(end)
        text = format_interval(first, max(first, last), "yMMMd", locale=self.locale)
        return text.translate(_PLAIN_SPACES)

    def country(self, code: str) -> str:
        return str(self.locale.territories.get(code.upper(), code))


# Babel takes some 50 microseconds per amount, a quarter of an invoice's rendering time;
# documents repeat amounts (unit prices, totals), and these caches make the repeats free.
@lru_cache(maxsize=8192)
def _money(locale: Locale, amount: int, currency: str) -> str:
    text = format_currency(to_major_units(amount, currency), currency.upper(), locale=locale)
    return text.translate(_PLAIN_SPACES)


@lru_cache(maxsize=8192)
def _number(locale: Locale, value: int) -> str:
    return str(format_decimal(value, locale=locale)).translate(_PLAIN_SPACES)
