"""Build the fonts the invoice PDF ships with: `python -m tools.build_fonts SOURCE_DIR`.

SOURCE_DIR holds the upstream Noto fonts (OFL 1.1) as Debian's `fonts-noto-core` and
`fonts-noto-cjk` packages install them (or as Google publishes them): NotoSans-Regular.ttf,
NotoSans-Bold.ttf, NotoSansHebrew-*.ttf, NotoSansArabic-*.ttf and NotoSansCJK-Regular.ttc.
The output, committed under app/invoices/fonts/, is what `pip install` ships, so the PDF
needs no system fonts.

What is kept, and why:
- Hinting is dropped everywhere: it only helps screens at small pixel sizes, and PDF viewers
  render outlines; it made up a third of the files.
- The Latin/Greek/Cyrillic, Hebrew and Arabic fonts keep their layout tables (GSUB/GPOS):
  HarfBuzz needs them to join Arabic letters and place marks.
- The CJK font is Noto Sans CJK SC cut to the scripts customers write names in: every
  CJK Unified Ideograph of the basic block (U+4E00-U+9FFF), every Hangul syllable, kana,
  CJK punctuation and the full-width forms. It is split into slices of 512 code points:
  a process parses only the slices its documents touch, and a document embeds the glyphs
  it uses from them as one font (app/invoices/embedding.py). Its CFF outlines become
  TrueType ones: fpdf2 embeds CID-keyed CFF fonts with an encoding that text extraction
  (pypdf, and so search and copy) misreads as one byte per character.
"""

import argparse
import io
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable

OUT = Path(__file__).resolve().parent.parent / "app" / "invoices" / "fonts"

WHOLE_FONTS = (
    "NotoSans-Regular.ttf",
    "NotoSans-Bold.ttf",
    "NotoSansHebrew-Regular.ttf",
    "NotoSansHebrew-Bold.ttf",
    "NotoSansArabic-Regular.ttf",
    "NotoSansArabic-Bold.ttf",
)
CJK_SOURCE = "NotoSansCJK-Regular.ttc"
CJK_FACE = "Noto Sans CJK SC"
CJK_RANGES = (
    (0x3000, 0x30FF),  # CJK punctuation, hiragana, katakana
    (0x3130, 0x318F),  # Hangul compatibility jamo
    (0x31F0, 0x31FF),  # katakana phonetic extensions
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xAC00, 0xD7A3),  # Hangul syllables
    (0xFF00, 0xFFEF),  # half-width and full-width forms
)
SLICE = 512


def _options(keep_layout: bool) -> subset.Options:
    options = subset.Options()
    options.hinting = False
    options.notdef_outline = True
    options.glyph_names = True
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.drop_tables += ["DSIG"]
    if keep_layout:
        options.layout_features = ["*"]
    else:
        options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "VORG", "vhea", "vmtx"]
        options.layout_features = []
    return options


def _subset(font: TTFont, unicodes: list[int], keep_layout: bool) -> bytes:
    subsetter = subset.Subsetter(_options(keep_layout))
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


def _to_truetype(font: TTFont) -> None:
    """Replace the font's CFF outlines with quadratic TrueType ones (within 1 font unit)."""
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    del font["CFF "]
    font.sfntVersion = "\x00\x01\x00\x00"
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for field in (
        "maxZones",
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order


def _cjk_face(path: Path) -> int:
    from fontTools.ttLib import TTCollection

    for index, font in enumerate(TTCollection(path).fonts):
        if font["name"].getBestFullName() == CJK_FACE:
            return index
    raise SystemExit(f"{CJK_FACE} not found in {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("source", type=Path, help="folder with the upstream Noto fonts")
    parser.add_argument("--cjk-only", action="store_true", help="rebuild the CJK slices only")
    args = parser.parse_args(argv)

    for name in () if args.cjk_only else WHOLE_FONTS:
        font = TTFont(args.source / name)
        (OUT / name).write_bytes(_subset(font, list(font.getBestCmap()), keep_layout=True))

    cjk_path = args.source / CJK_SOURCE
    face = _cjk_face(cjk_path)
    covered = set(TTFont(cjk_path, fontNumber=face).getBestCmap())
    wanted = [cp for low, high in CJK_RANGES for cp in range(low, high + 1) if cp in covered]
    for old in OUT.glob("NotoSansCJKsc-Regular.*"):
        old.unlink()
    for start in range(0, len(wanted), SLICE):
        chunk = wanted[start : start + SLICE]
        font = TTFont(cjk_path, fontNumber=face)
        sliced = TTFont(io.BytesIO(_subset(font, chunk, keep_layout=False)))
        _to_truetype(sliced)
        buffer = io.BytesIO()
        sliced.save(buffer)
        name = f"NotoSansCJKsc-Regular.{chunk[0]:04x}-{chunk[-1]:04x}.ttf"
        (OUT / name).write_bytes(buffer.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
