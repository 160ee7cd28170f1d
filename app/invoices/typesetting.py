"""Placing text on the invoice page in any script: which font prints each character, where
right-to-left text is shaped, and the fast path for documents the standard fonts can print.

Text is placed with fpdf2's low-level `text()`, one call per run of characters in one font,
and measured from the fonts' width tables: `cell()` runs every string through fpdf2's
fragment and line-break machinery, which costs more than the rest of the page. Only text
with Hebrew or Arabic letters goes through `cell()`, whose HarfBuzz shaping joins Arabic
letters and whose bidirectional algorithm puts right-to-left runs in visual order.
"""

import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

from fpdf import FPDF

from app.invoices.embedding import EmbeddingOutputProducer
from app.invoices.fonts import Face, Style, advance, attach, covers, face_for

RGB = tuple[int, int, int]

LINE = 4.8
_CORE_FONT = "Helvetica"
# Windows-1252, which the standard PDF fonts print without embedding anything.
_CORE_ENCODING = "windows-1252"
_JOINERS = frozenset("\u200c\u200d")


class NeedsEmbeddedFonts(Exception):
    """The document has text the standard fonts cannot print; render it with embedded ones."""


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


def _is_right_to_left(text: str) -> bool:
    if text.isascii():
        return False
    return any(unicodedata.bidirectional(char) in ("R", "AL") for char in text)


def runs(text: str, style: Style) -> list[tuple[Face, str]]:
    """`text` cut into runs of characters printed by the same face. A space joins the run
    before it when that face has one (the CJK slices do not), so that runs break only where
    the script changes."""
    if text.isascii():
        return [(face_for("a", style), text)]
    result: list[tuple[Face, str]] = []
    for char in text:
        if result and (
            face_for(char, style) == result[-1][0] or (char == " " and covers(result[-1][0], char))
        ):
            result[-1] = (result[-1][0], result[-1][1] + char)
        else:
            result.append((face_for(char, style), char))
    return result


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
        attach(self, face)
        self.set_font(face.family, face.style, self._size)

    def _core_text(self, text: str) -> str:
        try:
            return text.encode(_CORE_ENCODING).decode("latin-1")
        except UnicodeEncodeError as error:
            raise NeedsEmbeddedFonts from error

    def width(self, text: str) -> float:
        """The printed width of `text` in the current style, in mm."""
        text = clean(text)
        if not self.embedded:
            assert self.current_font is not None
            encoded = self._core_text(text)
            return float(self.current_font.get_text_width(encoded, self._size, None)[1]) / self.k
        if _is_right_to_left(text):
            self._use(face_for(text[0], self._style))
            return float(self.get_string_width(text))
        total = sum(advance(face, run) for face, run in runs(text, self._style))
        return total * self._size / 1000 / self.k

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
            self.text(x, baseline, text)
            return
        for face, run in runs(text, self._style):
            self._use(face)
            self.text(x, baseline, run)
            x += advance(face, run) * self._size / 1000 / self.k

    def _shaped(self, x: float, top: float, width: float, text: str) -> None:
        if not self.text_shaping:
            self.set_text_shaping(True)
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
