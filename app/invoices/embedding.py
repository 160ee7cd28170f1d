"""Embedding the used glyphs of TrueType fonts in a PDF, in a fraction of a millisecond.

fpdf2 embeds a font by running fontTools' subsetter on it, which decompiles and recompiles
every table of the whole font: 10 to 60 ms per font per document, many times the cost of
drawing the invoice. Here each font is read once per process into its raw tables, and a
document's font program is assembled from bytes: glyph N of the program is the glyph that
the document's character code N stands for, so the PDF needs no CIDToGIDMap stream
(`/Identity`), and the program holds only the used glyphs (plus the parts composite glyphs
are built from, renumbered after them). The few tables a PDF reader uses for a
CIDFontType2 (ISO 32000-1, 9.9) are copied as they are.

The font's PDF objects are written from templates (`_Raw`): fpdf2's generic serializer
inspects every attribute of every object, which cost more than building the font program.
"""

import struct
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fontTools.ttLib import TTFont
from fpdf.fonts import TTFFont
from fpdf.output import (
    OutputProducer,
    PDFExtGState,
    PDFFont,
    PDFType3Font,
    PDFXObject,
    _build_cmap_blocks,
    _tt_font_widths,
)
from fpdf.pattern import Pattern
from fpdf.syntax import Name, PDFObject
from fpdf.util import escape_parens

# Tables copied whole. glyf, loca and hmtx are rebuilt; post becomes the 32-byte format 3
# (no glyph names); cmap, name and the layout tables are not needed by a PDF reader.
_COPIED_TABLES = ("OS/2", "head", "hhea", "maxp")
_POST = struct.pack(">I", 0x00030000) + b"\0" * 28

# Composite glyph flags (OpenType glyf table).
_ARGS_ARE_WORDS = 0x0001
_HAVE_SCALE = 0x0008
_MORE_COMPONENTS = 0x0020
_HAVE_X_AND_Y_SCALE = 0x0040
_HAVE_TWO_BY_TWO = 0x0080

# Font programs are a few KiB: the fastest zlib level costs a third of the default's time
# and makes them about 5% larger.
_FONT_COMPRESSION = 1

_TO_UNICODE_HEADER = (
    "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
    "/CIDSystemInfo\n<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n"
    "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
    "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
)
_TO_UNICODE_FOOTER = "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"

Source = tuple["FontTables", int]
"""A glyph of a font: its tables and its glyph id there."""


@dataclass(frozen=True, eq=False)
class FontTables:
    """The raw tables of one TrueType font, read once per process."""

    tables: dict[str, bytes]
    glyph_offsets: tuple[int, ...]
    glyf: bytes
    hmtx: bytes
    metric_count: int

    @classmethod
    def read(cls, font: TTFont) -> "FontTables":
        reader: Any = font.reader
        head = reader["head"]
        long_offsets = struct.unpack(">h", head[50:52])[0] == 1
        loca = reader["loca"]
        count = len(loca) // (4 if long_offsets else 2)
        offsets = struct.unpack(f">{count}{'I' if long_offsets else 'H'}", loca)
        return cls(
            tables={tag: reader[tag] for tag in _COPIED_TABLES},
            glyph_offsets=offsets if long_offsets else tuple(2 * o for o in offsets),
            glyf=reader["glyf"],
            hmtx=reader["hmtx"],
            metric_count=struct.unpack(">H", reader["hhea"][34:36])[0],
        )

    def glyph(self, glyph_id: int) -> bytes:
        if glyph_id + 1 >= len(self.glyph_offsets):
            return b""
        return self.glyf[self.glyph_offsets[glyph_id] : self.glyph_offsets[glyph_id + 1]]

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """xMin, yMin, xMax, yMax of all the font's glyphs, from its head table."""
        return struct.unpack(">4h", self.tables["head"][36:44])

    def metric(self, glyph_id: int) -> bytes:
        """The glyph's advance width and left side bearing, as hmtx stores them."""
        if glyph_id + 1 >= len(self.glyph_offsets):
            return b"\0\0\0\0"
        if glyph_id < self.metric_count:
            return self.hmtx[4 * glyph_id : 4 * glyph_id + 4]
        last = 4 * (self.metric_count - 1)
        bearing = 4 * self.metric_count + 2 * (glyph_id - self.metric_count)
        return self.hmtx[last : last + 2] + self.hmtx[bearing : bearing + 2]


def font_program(glyphs: Sequence[Source | None]) -> bytes:
    """A TrueType font whose glyph N is `glyphs[N]` (an empty glyph where None), followed by
    the glyphs that composite ones are built from, renumbered to follow them.

    Every source must come from the same font design (one font, or slices of one font):
    the first one's head, hhea, maxp and OS/2 tables serve for all, with the bounding box
    of all the sources' fonts."""
    order: list[Source | None] = list(glyphs)
    first = next((source[0] for source in order if source is not None), None)
    if first is None:
        raise ValueError("a font program needs at least one glyph")
    new_ids: dict[Source, int] = {}
    for new_id, source in enumerate(order):
        if source is not None:
            new_ids.setdefault(source, new_id)
    glyf, offsets, hmtx = bytearray(), [0], bytearray()
    position = 0
    while position < len(order):  # `order` grows with the parts of composite glyphs
        source = order[position]
        position += 1
        if source is None:
            offsets.append(len(glyf))
            hmtx += b"\0\0\0\0"
            continue
        tables, glyph_id = source
        data = tables.glyph(glyph_id)
        if len(data) >= 10 and data[0] & 0x80:  # numberOfContours < 0: a composite
            data = _renumbered(data, tables, new_ids, order)
        glyf += data
        glyf += b"\0" * (-len(data) % 4)
        offsets.append(len(glyf))
        hmtx += tables.metric(glyph_id)
    count = struct.pack(">H", len(order))
    head = bytearray(first.tables["head"])
    head[8:12] = b"\0\0\0\0"  # checkSumAdjustment: no reader checks it in a PDF
    head[50:52] = struct.pack(">h", 1)  # long loca offsets
    head[36:44] = struct.pack(">4h", *bounding_box(source[0] for source in order if source))
    hhea = first.tables["hhea"][:34] + count + first.tables["hhea"][36:]
    maxp = first.tables["maxp"][:4] + count + first.tables["maxp"][6:]
    return _sfnt(
        {
            "OS/2": first.tables["OS/2"],
            "glyf": bytes(glyf),
            "head": bytes(head),
            "hhea": hhea,
            "hmtx": bytes(hmtx),
            "loca": struct.pack(f">{len(offsets)}I", *offsets),
            "maxp": maxp,
            "post": _POST,
        }
    )


def bounding_box(fonts: Iterable[FontTables]) -> tuple[int, int, int, int]:
    """The box that holds every glyph of `fonts`, in font units."""
    boxes = [font.bbox for font in set(fonts)]
    return (
        min(box[0] for box in boxes),
        min(box[1] for box in boxes),
        max(box[2] for box in boxes),
        max(box[3] for box in boxes),
    )


def _renumbered(
    data: bytes, tables: FontTables, new_ids: dict[Source, int], order: list[Source | None]
) -> bytes:
    """A composite glyph with its components' ids in the new numbering; components not yet
    in `order` are appended to it."""
    out, position = bytearray(data), 10
    while True:
        flags, glyph_id = struct.unpack(">HH", data[position : position + 4])
        component = (tables, glyph_id)
        new_id = new_ids.get(component)
        if new_id is None:
            new_id = new_ids[component] = len(order)
            order.append(component)
        out[position + 2 : position + 4] = struct.pack(">H", new_id)
        position += 4 + (4 if flags & _ARGS_ARE_WORDS else 2)
        if flags & _HAVE_SCALE:
            position += 2
        elif flags & _HAVE_X_AND_Y_SCALE:
            position += 4
        elif flags & _HAVE_TWO_BY_TWO:
            position += 8
        if not flags & _MORE_COMPONENTS:
            return bytes(out)


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    return int(sum(struct.unpack(f">{len(padded) // 4}I", padded))) & 0xFFFFFFFF


def _sfnt(tables: dict[str, bytes]) -> bytes:
    tags = sorted(tables)
    count = len(tags)
    power = 1 << (count.bit_length() - 1)
    out = bytearray(
        struct.pack(
            ">IHHHH", 0x00010000, count, power * 16, power.bit_length() - 1, count * 16 - power * 16
        )
    )
    offset = 12 + 16 * count
    body = bytearray()
    for tag in tags:
        data = tables[tag]
        out += struct.pack(
            ">4sIII", tag.encode("latin-1"), _checksum(data), offset + len(body), len(data)
        )
        body += data + b"\0" * (-len(data) % 4)
    return bytes(out + body)


class _Raw(PDFObject):
    """An indirect object whose dictionary (and stream) is written as given."""

    def __init__(self, stream: bytes | None = None) -> None:
        super().__init__()
        self.body = ""
        self.stream = stream

    def serialize(self, obj_dict: Any = None, _security_handler: Any = None) -> str:
        assert obj_dict is None
        assert _security_handler is None  # no encryption here
        if self.stream is None:
            return f"{self.id} 0 obj\n<<{self.body}>>\nendobj"
        stream = self.stream.decode("latin-1")
        return f"{self.id} 0 obj\n<<{self.body}>>\nstream\n{stream}\nendstream\nendobj"


class EmbeddingOutputProducer(OutputProducer):
    """fpdf2's PDF writer, embedding fonts with `font_program` instead of fontTools.

    Only for documents whose fonts are all `EmbeddableFont`s (TrueType outlines)."""

    def _add_fonts(
        self,
        image_objects_per_index: dict[int, PDFXObject],
        gfxstate_objs_per_name: dict[str, PDFExtGState],
        pattern_objs_per_name: dict[str, Pattern],
    ) -> dict[int, PDFFont | PDFType3Font]:
        font_objects: dict[int, Any] = {}
        for font in sorted(self.fpdf.fonts.values(), key=lambda font: font.i):
            assert isinstance(font, EmbeddableFont)
            font_objects[font.i] = self._add_font(font)
        return font_objects

    def _add_font(self, font: "EmbeddableFont") -> _Raw:
        glyphs: list[Source | None] = []
        to_unicode = []
        for glyph, code in sorted(font.subset.items(), key=lambda item: item[1]):
            if glyph is None:
                continue
            glyphs.extend([None] * (code - len(glyphs)))
            # Code 0 is .notdef, whatever fpdf2 notes as its glyph id.
            glyphs.append(font.source(glyph.glyph_id) if code else (font.parts[0], 0))
            if isinstance(glyph.unicode, tuple) and glyph.unicode:
                text = "".join(chr(c) for c in glyph.unicode).encode("utf-16-be").hex().upper()
                to_unicode.append(f"<{code:04X}> <{text}>\n")
        program = font_program(glyphs)
        cmap = _TO_UNICODE_HEADER + _build_cmap_blocks(to_unicode, "bfchar") + _TO_UNICODE_FOOTER
        stream = zlib.compress(program, _FONT_COMPRESSION)

        composite, cid_font, descriptor = _Raw(), _Raw(), _Raw()
        unicode_map, font_file = _Raw(cmap.encode("latin-1")), _Raw(stream)
        for obj in (composite, cid_font, unicode_map, descriptor, font_file):
            self._add_pdf_obj(obj, "fonts")
        # A subset's name starts with a tag of six capitals, its own in the document.
        tag = "".join(chr(ord("A") + int(digit)) for digit in f"{font.i:06d}")
        name = Name(f"{tag}+{font.name}").serialize()
        composite.body = (
            f"/Type /Font /Subtype /Type0 /BaseFont {name} /Encoding /Identity-H"
            f" /DescendantFonts [{cid_font.id} 0 R] /ToUnicode {unicode_map.id} 0 R"
        )
        desc = font.desc
        box = " ".join(
            f"{value * font.scale:.0f}"
            for value in bounding_box(source[0] for source in glyphs if source)
        )
        cid_font.body = (
            f"/Type /Font /Subtype /CIDFontType2 /BaseFont {name}"
            " /CIDSystemInfo <</Registry (Adobe) /Ordering (UCS) /Supplement 0>>"
            f" /FontDescriptor {descriptor.id} 0 R /DW {desc.missing_width}"
            f" /W {_tt_font_widths(font)} /CIDToGIDMap /Identity"
        )
        unicode_map.body = f"/Length {len(cmap)}"
        descriptor.body = (
            f"/Type /FontDescriptor /FontName {name} /Flags {desc.flags.value}"
            f" /FontBBox [{box}] /ItalicAngle {desc.italic_angle}"
            f" /Ascent {desc.ascent} /Descent {desc.descent} /CapHeight {desc.cap_height}"
            f" /StemV {desc.stem_v} /MissingWidth {desc.missing_width}"
            f" /FontFile2 {font_file.id} 0 R"
        )
        font_file.body = f"/Filter /FlateDecode /Length {len(stream)} /Length1 {len(program)}"
        # fpdf2 memoizes glyph lookups in caches shared by every document's fonts, and
        # empties them when it writes a font: so must this writer, or they grow forever.
        font.subset.pick.cache_clear()
        font.subset.get_glyph.cache_clear()
        return composite


class EmbeddableFont(TTFFont):
    """A TTFFont that carries its raw tables for `EmbeddingOutputProducer`: `parts[0]` for a
    font read from one file; for one made of the slices of a font, `parts[n]` holds slice
    n, and a glyph id carries the slice's index above its glyph id in the slice."""

    __slots__ = ("parts",)
    parts: dict[int, FontTables]

    def source(self, glyph_id: int) -> Source:
        return self.parts[glyph_id >> 16], glyph_id & 0xFFFF

    def encode_text(self, text: str) -> str:
        # fpdf2's, in fewer steps: each character's code in the subset, as two bytes.
        codes = [code for code in map(self.subset.pick, map(ord, text)) if code is not None]
        encoded = struct.pack(f">{len(codes)}H", *codes).decode("latin-1")
        return f"({escape_parens(encoded)}) Tj"
