"""The fonts the invoice PDF embeds, shipped in app/invoices/fonts/ and loaded once per process.

Noto Sans prints Latin (every diacritic), Greek, Cyrillic and the currency symbols; Noto
Sans Hebrew and Noto Sans Arabic the right-to-left scripts; Noto Sans CJK SC, cut in slices
of 512 code points (see tools/build_fonts.py), Chinese, Japanese and Korean. All are under
the SIL Open Font License 1.1 (fonts/OFL.txt). A document embeds the CJK slices it uses as
one font (`print_face`), which embedding.py assembles from the slices' glyphs.

fpdf2's `add_font()` parses a font file for every document: its character map and widths
for the whole font, which costs more than drawing the invoice. Here each file is parsed once
per process into a template, and a document gets a copy that shares the template's read-only
tables and owns what fpdf2 changes while writing (the used-glyph map).
embedding.py then writes the used glyphs into the PDF without fontTools.
"""

import copy
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from fpdf import FPDF
from fpdf.fonts import SubsetMap

from app.invoices.embedding import EmbeddableFont, FontTables

FONT_DIR = Path(__file__).resolve().parent / "fonts"

Style = Literal["", "B"]


@dataclass(frozen=True, slots=True)
class Face:
    """One font file, known to fpdf2 as `family` in `style`."""

    family: str
    style: Style
    path: Path


def _face(file_stem: str, style: Style) -> Face:
    return Face(file_stem.lower(), style, FONT_DIR / f"{file_stem}.ttf")


# Tried in this order for each character; the CJK slices come last.
_SCRIPT_FACES: dict[Style, tuple[Face, ...]] = {
    style: tuple(
        _face(f"{family}-{'Bold' if style else 'Regular'}", style)
        for family in ("NotoSans", "NotoSansHebrew", "NotoSansArabic")
    )
    for style in ("", "B")
}


@lru_cache(maxsize=1)
def _cjk_slices() -> tuple[tuple[int, int, Face], ...]:
    """(first code point, last code point, face) for each CJK slice, from the file names."""
    slices = []
    for path in sorted(FONT_DIR.glob("NotoSansCJKsc-Regular.*.ttf")):
        first, last = (int(part, 16) for part in path.suffixes[0][1:].split("-"))
        slices.append((first, last, Face(f"cjk{first:04x}", "", path)))
    return tuple(slices)


_template_lock = threading.RLock()
_templates: dict[Face, EmbeddableFont] = {}


def _template(face: Face) -> EmbeddableFont:
    """The face parsed once per process (under a lock: documents render in worker threads)."""
    template = _templates.get(face)
    if template is None:
        with _template_lock:
            template = _templates.get(face)
            if template is None:
                template = EmbeddableFont(FPDF(), face.path, face.family + face.style, face.style)
                template.parts = {0: FontTables.read(template.ttfont)}
                # Loaded now, not lazily by the first of several threads shaping text.
                template.ttfont.getGlyphOrder()
                _templates[face] = template
    return template


def covers(face: Face, char: str) -> bool:
    return ord(char) in _template(face).cmap


def advance(face: Face, text: str) -> float:
    """The width of `text` in `face`, in thousandths of the font size (no kerning)."""
    widths = _template(face).cw
    return float(sum(widths[ord(char)] for char in text))


@lru_cache(maxsize=8192)
def face_for(char: str, style: Style) -> Face:
    """The first face that has a glyph for `char`; Noto Sans when none has (it prints the
    missing-glyph box, and fpdf2 logs the character)."""
    for face in _SCRIPT_FACES[style]:
        if covers(face, char):
            return face
    code = ord(char)
    for first, last, face in _cjk_slices():
        if first <= code <= last:
            return face if covers(face, char) else _SCRIPT_FACES[style][0]
    return _SCRIPT_FACES[style][0]


@lru_cache(maxsize=1)
def _cjk() -> Face:
    """All the CJK slices as one font: its first slice, to which the others are added."""
    first = _cjk_slices()[0][2]
    return Face("cjk", "", first.path)


@lru_cache(maxsize=8192)
def print_face(char: str, style: Style) -> Face:
    """The face that prints `char` in text placed run by run: `face_for`'s, except that
    the CJK slices are one font, so that a Chinese line is one run in one embedded font
    rather than a run and a font for every few characters. (Text shaped by fpdf2's `cell()`
    keeps the slices: HarfBuzz reads one font file at a time.)"""
    face = face_for(char, style)
    slices = _cjk_slices()
    index = next((n for n, (_, _, piece) in enumerate(slices) if piece == face), None)
    if index is None:
        return face
    merged = _template(_cjk())
    if index not in merged.parts:
        with _template_lock:
            if index not in merged.parts:
                piece = _template(face)
                # Glyph ids carry the slice's index above the slice's own glyph id.
                merged.glyph_ids.update(
                    {code: index << 16 | gid for code, gid in piece.glyph_ids.items()}
                )
                merged.cmap.update(piece.cmap)
                merged.cw.update(piece.cw)
                merged.parts[index] = piece.parts[0]
    return _cjk()


def attach(pdf: FPDF, face: Face) -> None:
    """Make `face` usable in `pdf` through `set_font(face.family, face.style)`."""
    key = face.family + face.style
    if key in pdf.fonts:
        return
    font = copy.copy(_template(face))
    font.i = len(pdf.fonts) + 1
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    # Each document shapes with its own HarfBuzz font: shaping sets its size in place.
    font._hbfont = None
    font.subset = SubsetMap(font)
    pdf.fonts[key] = font
