"""Embedding the used glyphs of a TrueType font in a PDF, in well under a millisecond.

fpdf2 embeds a font by running fontTools' subsetter on it, which decompiles and recompiles
every table of the whole font: 10 to 60 ms per font per document, many times the cost of
drawing the invoice. Here each font is read once per process into its raw tables, and a
document's subset is assembled from bytes: the used glyphs (and the glyphs composites are
built from) keep their glyph ids, every other glyph is empty. The PDF maps its character
codes to those ids with a CIDToGIDMap, so nothing needs renumbering, and the few tables a
PDF reader uses for a CIDFontType2 (ISO 32000-1, 9.9) are copied as they are.
"""

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate
from typing import Any

from fontTools.ttLib import TTFont
from fpdf.fonts import TTFFont
from fpdf.output import (
    CIDSystemInfo,
    OutputProducer,
    PDFExtGState,
    PDFFont,
    PDFFontStream,
    PDFType3Font,
    PDFXObject,
    _build_cmap_blocks,
    _tt_font_widths,
)
from fpdf.pattern import Pattern
from fpdf.syntax import Name, PDFArray, PDFContentStream

# Tables copied whole. glyf, loca and hmtx are rebuilt; post becomes the 32-byte format 3
# (no glyph names); cmap, name and the layout tables are not needed by a PDF reader.
_COPIED_TABLES = ("OS/2", "head", "hhea", "maxp")

# Composite glyph flags (OpenType glyf table).
_ARGS_ARE_WORDS = 0x0001
_HAVE_SCALE = 0x0008
_MORE_COMPONENTS = 0x0020
_HAVE_X_AND_Y_SCALE = 0x0040
_HAVE_TWO_BY_TWO = 0x0080

_TO_UNICODE_HEADER = (
    "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
    "/CIDSystemInfo\n<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n"
    "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
    "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
)
_TO_UNICODE_FOOTER = "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"


@dataclass(frozen=True)
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

    @cached_property
    def post(self) -> bytes:
        return struct.pack(">I", 0x00030000) + b"\0" * 28

    def glyph(self, glyph_id: int) -> bytes:
        return self.glyf[self.glyph_offsets[glyph_id] : self.glyph_offsets[glyph_id + 1]]

    def with_components(self, glyph_ids: Iterable[int]) -> set[int]:
        """`glyph_ids` and, recursively, the glyphs their composites are made of."""
        pending, found = list(glyph_ids), set()
        while pending:
            glyph_id = pending.pop()
            if glyph_id in found or glyph_id + 1 >= len(self.glyph_offsets):
                continue
            found.add(glyph_id)
            data = self.glyph(glyph_id)
            if len(data) >= 10 and struct.unpack(">h", data[:2])[0] < 0:
                pending.extend(_components(data))
        return found

    def program(self, glyph_ids: Iterable[int]) -> bytes:
        """A font file holding only the given glyphs, at their own glyph ids."""
        used = sorted(self.with_components([0, *glyph_ids]))
        lengths = [0] * (len(self.glyph_offsets) - 1)
        glyf = bytearray()
        hmtx = bytearray(len(self.hmtx))
        for glyph_id in used:
            data = self.glyph(glyph_id)
            glyf += data + b"\0" * (-len(data) % 4)
            lengths[glyph_id] = len(data) + (-len(data) % 4)
            metric = 4 * min(glyph_id, self.metric_count - 1)
            hmtx[metric : metric + 4] = self.hmtx[metric : metric + 4]
            if glyph_id >= self.metric_count:
                bearing = 4 * self.metric_count + 2 * (glyph_id - self.metric_count)
                hmtx[bearing : bearing + 2] = self.hmtx[bearing : bearing + 2]
        offsets = list(accumulate(lengths, initial=0))
        head = bytearray(self.tables["head"])
        head[8:12] = b"\0\0\0\0"  # checkSumAdjustment: no reader checks it in a PDF
        head[50:52] = struct.pack(">h", 1)  # long loca offsets
        return _sfnt(
            {
                **self.tables,
                "head": bytes(head),
                "glyf": bytes(glyf),
                "hmtx": bytes(hmtx),
                "loca": struct.pack(f">{len(offsets)}I", *offsets),
                "post": self.post,
            }
        )


def _components(data: bytes) -> list[int]:
    components, position = [], 10
    while True:
        flags, glyph_id = struct.unpack(">HH", data[position : position + 4])
        components.append(glyph_id)
        position += 4 + (4 if flags & _ARGS_ARE_WORDS else 2)
        if flags & _HAVE_SCALE:
            position += 2
        elif flags & _HAVE_X_AND_Y_SCALE:
            position += 4
        elif flags & _HAVE_TWO_BY_TWO:
            position += 8
        if not flags & _MORE_COMPONENTS:
            return components


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


class EmbeddingOutputProducer(OutputProducer):
    """fpdf2's PDF writer, embedding fonts with `FontTables.program` instead of fontTools.

    Only for documents whose fonts are all `EmbeddableFont`s (TrueType outlines)."""

    def _add_fonts(
        self,
        image_objects_per_index: dict[int, PDFXObject],
        gfxstate_objs_per_name: dict[str, PDFExtGState],
        pattern_objs_per_name: dict[str, Pattern],
    ) -> dict[int, PDFFont | PDFType3Font]:
        font_objects: dict[int, PDFFont | PDFType3Font] = {}
        for font in sorted(self.fpdf.fonts.values(), key=lambda font: font.i):
            assert isinstance(font, EmbeddableFont)
            font_objects[font.i] = self._add_font(font)
        return font_objects

    def _add_font(self, font: "EmbeddableFont") -> PDFFont:
        name = f"MPDFAA+{font.name}"
        composite = PDFFont(subtype="Type0", base_font=name, encoding="Identity-H")
        self._add_pdf_obj(composite, "fonts")
        cid_font = PDFFont(
            subtype="CIDFontType2",
            base_font=name,
            d_w=font.desc.missing_width,
            w=_tt_font_widths(font),
        )
        self._add_pdf_obj(cid_font, "fonts")
        composite.descendant_fonts = PDFArray([cid_font])

        glyph_ids, to_unicode = {}, []
        for glyph, code in font.subset.items():
            if glyph is None:
                continue
            glyph_ids[code] = glyph.glyph_id
            if isinstance(glyph.unicode, tuple) and glyph.unicode:
                text = "".join(chr(c) for c in glyph.unicode).encode("utf-16-be").hex().upper()
                to_unicode.append(f"<{code:04X}> <{text}>\n")
        to_unicode_stream = PDFContentStream(
            (
                _TO_UNICODE_HEADER + _build_cmap_blocks(to_unicode, "bfchar") + _TO_UNICODE_FOOTER
            ).encode("latin-1")
        )
        self._add_pdf_obj(to_unicode_stream, "fonts")
        composite.to_unicode = to_unicode_stream

        system_info = CIDSystemInfo()
        self._add_pdf_obj(system_info, "fonts")
        cid_font.c_i_d_system_info = system_info
        descriptor = font.desc
        descriptor.font_name = Name(name)
        self._add_pdf_obj(descriptor, "fonts")
        cid_font.font_descriptor = descriptor

        cid_to_gid = bytearray(2 * (max(glyph_ids, default=0) + 1))
        for code, glyph_id in glyph_ids.items():
            cid_to_gid[2 * code : 2 * code + 2] = struct.pack(">H", glyph_id)
        cid_to_gid_stream = PDFContentStream(contents=bytes(cid_to_gid), compress=True)
        self._add_pdf_obj(cid_to_gid_stream, "fonts")
        cid_font.c_i_d_to_g_i_d_map = cid_to_gid_stream

        program = PDFFontStream(contents=font.tables.program(glyph_ids.values()))
        self._add_pdf_obj(program, "fonts")
        # fpdf2 sets this optional descriptor key the same way, untyped.
        descriptor.font_file2 = program  # type: ignore[attr-defined]
        # fpdf2 memoizes glyph lookups in caches shared by every document's fonts, and
        # empties them when it writes a font: so must this writer, or they grow forever.
        font.subset.pick.cache_clear()
        font.subset.get_glyph.cache_clear()
        return composite


class EmbeddableFont(TTFFont):
    """A TTFFont that carries its face's raw tables for `EmbeddingOutputProducer`."""

    __slots__ = ("tables",)
    tables: FontTables
