"""Locales as the API takes them: BCP 47 tags ("fr", "zh-CN") that Babel's CLDR data knows."""

from babel import Locale, UnknownLocaleError

DEFAULT_LOCALE = "en"


def parse_locale(tag: str) -> Locale:
    """The Babel locale for a BCP 47 tag ("fr", "zh-CN", "pt_BR"); ValueError when unknown."""
    try:
        return Locale.parse(tag.replace("_", "-"), sep="-")
    except (UnknownLocaleError, ValueError, TypeError) as error:
        raise ValueError(f"unknown locale {tag!r}") from error


def locale_tag(tag: str) -> str:
    """`tag` checked and spelled with hyphens, as BCP 47 has it ("pt_BR" -> "pt-BR")."""
    parse_locale(tag)
    return tag.replace("_", "-")
