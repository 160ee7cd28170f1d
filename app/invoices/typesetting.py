"""Placing text on the invoice page in any script: which font prints each character, where
right-to-left text is shaped, and the fast path for documents the standard fonts can print.

Text is placed with fpdf2's low-level `text()`, one call per run of characters in one font,
and measured from the fonts' width tables: `cell()` runs every string through fpdf2's
fragment and line-break machinery, which costs more than the rest of the page. Only text
with Hebrew or Arabic letters goes through `cell()`, whose HarfBuzz shaping joins Arabic
letters and whose bidirectional algorithm puts right-to-left runs in visual order.
"""

import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Literal

from fpdf import FPDF
from fpdf.fonts import CORE_FONTS_CHARWIDTHS

from app.invoices.embedding import EmbeddingOutputProducer
from app.invoices.fonts import Face, Style, advance, attach, covers, face_for, print_face

RGB = tuple[int, int, int]

LINE = 4.8
_CORE_FONT = "Helvetica"
# Windows-1252, which the standard PDF fonts print without embedding anything.
_CORE_ENCODING = "windows-1252"
_JOINERS = frozenset("\u200c\u200d")


class NeedsEmbeddedFonts(Exception):
    """The document has text the standard fonts cannot print; render it with embedded ones."""


def fits_standard_fonts(texts: Iterable[str | None]) -> bool:
    """Whether the standard PDF fonts print every one of `texts` (Windows-1252, once
    cleaned). Checked on a document's customer data before drawing it, this spares most
    documents that need the embedded fonts a first attempt with the standard ones."""
    for text in texts:
        if not text or text.isascii():
            continue
        try:
            clean(text).encode(_CORE_ENCODING)
        except UnicodeEncodeError:
            return False
    return True


@lru_cache(maxsize=4096)
def clean(text: str) -> str:
    """`text` in composed form, control characters as spaces, invisible format characters
    (direction marks, zero-width spaces) dropped: they have no glyph, and their job
    (ordering right-to-left runs) is done by the bidirectional algorithm here."""
    if text.isascii() and text.isprintable():
        return text
    text = unicodedata.normalize("NFC", text)
    out = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cc":
            out.append(" ")
        elif category != "Cf" or char in _JOINERS:
            out.append(char)
    return "".join(out)


@lru_cache(maxsize=8192)
def _core_units(text: str, style: Style) -> float:
    """The width of `text` in the standard Helvetica, in thousandths of the font size."""
    try:
        encoded = text.encode(_CORE_ENCODING).decode("latin-1")
    except UnicodeEncodeError as error:
        raise NeedsEmbeddedFonts from error
    widths = CORE_FONTS_CHARWIDTHS[_CORE_FONT.lower() + style]
    return float(sum(widths[char] for char in encoded))


def _is_right_to_left(text: str) -> bool:
    if text.isascii():
        return False
    return any(unicodedata.bidirectional(char) in ("R", "AL") for char in text)


@lru_cache(maxsize=8192)
def runs(text: str, style: Style) -> tuple[tuple[Face, str, float], ...]:
    """`text` cut into runs of characters printed by the same face, each with its width in
    thousandths of the font size. A space joins the run before it when that face has one
    (the CJK fonts do not), so that runs break only where the script changes."""
    if text.isascii():
        face = print_face("a", style)
        return ((face, text, advance(face, text)),)
    cut: list[tuple[Face, str]] = []
    for char in text:
        face = print_face(char, style)
        if cut and (face == cut[-1][0] or (char == " " and covers(cut[-1][0], char))):
            cut[-1] = (cut[-1][0], cut[-1][1] + char)
        else:
            cut.append((face, char))
    return tuple((face, run, advance(face, run)) for face, run in cut)


class InvoiceCanvas(FPDF):
    """An A4 page in millimetres with the few text operations the invoice layout needs.

    With `embedded=False` it prints with the standard Helvetica and raises
    `NeedsEmbeddedFonts` at the first text outside Windows-1252; the caller then renders
    again with `embedded=True`, which prints every script with the shipped fonts.
    """

    def __init__(self, embedded: bool) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.embedded = embedded
        self.core_fonts_encoding = _CORE_ENCODING
        # Cells flush with the margins, like the text placed with `put()`.
        self.c_margin = 0
        self._style: Style = ""
        self._size = 10.0
        # Shaped text is measured before it is wrapped and again before it is placed.
        self._shaped_widths: dict[tuple[str, Style, float], float] = {}
        if embedded:
            regular = face_for("a", "")
            attach(self, regular)
            self.set_font(regular.family, "", self._size)
            # Any id turns on fpdf2's per-character font fallback in `cell()`;
            # `get_fallback_font` below picks the font itself.
            self._fallback_font_ids = [regular.family]

    def render(self) -> bytes:
        if self.embedded:
            return bytes(self.output(output_producer_class=EmbeddingOutputProducer))
        return bytes(self.output())

    def style(self, size: float, color: RGB, bold: bool = False) -> None:
        self._style = "B" if bold else ""
        self._size = size
        if self.embedded:
            self._use(face_for("a", self._style))
        else:
            self.set_font(_CORE_FONT, self._style, size)
        self.set_text_color(*color)

    def get_fallback_font(self, char: str, style: str = "") -> str | None:
        # Called by `cell()` for characters the current font lacks.
        face = face_for(char, "B" if "B" in style else "")
        attach(self, face)
        return face.family + face.style

    def _use(self, face: Face) -> None:
        font = self.fonts.get(face.family + face.style)
        if font is not None and font is self.current_font and self.font_size_pt == self._size:
            return  # what `set_font` finds after its checks
        attach(self, face)
        self.set_font(face.family, face.style, self._size)

    def width(self, text: str) -> float:
        """The printed width of `text` in the current style, in mm."""
        text = clean(text)
        if not self.embedded:
            return _core_units(text, self._style) * self._size / 1000 / self.k
        if _is_right_to_left(text):
            return self._shaped_width(text)
        total = sum(units for _, _, units in runs(text, self._style))
        return total * self._size / 1000 / self.k

    def _shaped_width(self, text: str) -> float:
        key = (text, self._style, self._size)
        width = self._shaped_widths.get(key)
        if width is None:
            if not self.text_shaping:
                self.set_text_shaping(True)
            self._use(face_for(text[0], self._style))
            width = self._shaped_widths[key] = float(self.get_string_width(text))
        return width

    def put(self, x: float, top: float, text: str, align: Literal["L", "R"] = "L") -> None:
        """Print one line of `text` in the current style, its box starting at `top`, left- or
        right-aligned on `x`."""
        text = clean(text)
        if not text:
            return
        width = self.width(text)
        if align == "R":
            x -= width
        if self.embedded and _is_right_to_left(text):
            self._shaped(x, top, width, text)
            return
        baseline = top + 0.5 * LINE + 0.3 * self.font_size
        if not self.embedded:
            self._show(x, baseline, text.encode(_CORE_ENCODING).decode("latin-1"))
            return
        for face, run, units in runs(text, self._style):
            self._use(face)
            self._show(x, baseline, run)
            x += units * self._size / 1000 / self.k

    def _show(self, x: float, baseline: float, text: str) -> None:
        """What fpdf2's `text()` writes for the invoice's text, without the checks for what
        the invoice never uses (underline, text modes, links), which cost more than the
        rest on a page of short texts."""
        font = self.current_font
        assert font is not None
        if not self.current_font_is_set_on_page:
            self._out(self._set_font_for_page(font, self.font_size_pt))
        origin = f"{x * self.k:.2f} {(self.h - baseline) * self.k:.2f}"
        shown = f"BT {origin} Td {font.encode_text(text)} ET"
        if self.fill_color != self.text_color:
            assert self.text_color is not None
            shown = f"q {self.text_color.serialize().lower()} {shown} Q"
        self._out(shown)

    def _shaped(self, x: float, top: float, width: float, text: str) -> None:
        self._use(face_for(text[0], self._style))
        self.cell_at(x, top, width + 0.01, text)

    def cell_at(self, x: float, top: float, width: float, text: str) -> None:
        """`text` through fpdf2's `cell()`: shaped, with font fallback and the page-count
        alias replaced."""
        self.set_xy(x, top)
        self.cell(width, LINE, text)
        # A fallback font's `Tf` inside the cell stays in force after it, while fpdf2 still
        # believes its current font is set: make the next text set its font again.
        self.current_font_is_set_on_page = False

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
        for end in range(1, len(word) + 1):
            if self.width(word[:end]) > width:
                return max(end - 1, 1)
        return len(word)

    def block(self, x: float, top: float, width: float, lines: Sequence[str]) -> float:
        """Print `lines` wrapped to `width` in the current style; return the y below them."""
        for line in lines:
            for part in self.wrap(line, width):
                self.put(x, top, part)
                top += LINE
        return top
