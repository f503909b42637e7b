"""The PDF kit: render a PDF from a template (a list of blocks) and the data it names, with fpdf2.

Public for the core (ticket PDFs, door tally sheets) and every plugin; pure rendering into bytes, it never reads
the database, never writes files. A page may have a background image, an ink colour and a footer; only a
`Table` continues on a new page when it does not fit (every other block is laid out on the first page). Without a
Unicode font installed it falls back to Helvetica (Latin-1, others become '?').
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

A5 = (148, 210)  # width, height in mm
A4 = (210, 297)
PAGE_SIZES = {"A5": A5, "A4": A4}
_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
_FONT_FAMILY = "DejaVu"
_INK = (33, 33, 33)
_MUTED = (110, 110, 110)


@dataclass(frozen=True)
class Text:
    """A wrapped paragraph; `text` is a `str.format` template over the data (`"Ticket {ticketId}"`)."""

    text: str
    size: float = 10
    bold: bool = False
    muted: bool = False
    color: str | None = None  # "#RRGGBB"; None: the page's ink


@dataclass(frozen=True)
class Field:
    """A small muted label above the data's value for `key`; left out when that value is empty."""

    label: str
    key: str
    size: float = 11


@dataclass(frozen=True)
class Image:
    """The PNG bytes in the data's `key`, centred as a `size_mm` square; left out when there are none."""

    key: str
    size_mm: float


@dataclass(frozen=True)
class Gap:
    """Vertical space."""

    mm: float


@dataclass(frozen=True)
class Column:
    """One column of a `Table`: its header, the row key it shows and its width."""

    label: str
    key: str
    width_mm: float


@dataclass(frozen=True)
class Table:
    """A table of the rows (dicts) in the data's `key`: a header line, then one line per row with its
    `columns` and, when `boxes` > 0, that many empty `box_mm` squares to tick by hand (wrapped onto more lines
    within the row when they do not fit). Continues on a new page, header repeated, when the page is full."""

    key: str
    columns: tuple[Column, ...]
    boxes: int = 0
    box_mm: float = 5
    boxes_label: str = "Tally"


Block = Text | Field | Image | Gap | Table


def hex_color(value: str | None) -> tuple[int, int, int] | None:
    """`"#RRGGBB"` as an (r, g, b) tuple; None for None. Raises ValueError for anything else."""
    if value is None:
        return None
    text = value[1:] if value.startswith("#") else ""
    if len(text) != 6:
        raise ValueError(f"not a #RRGGBB colour: {value!r}")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def _unicode_font_dir() -> Path | None:
    for folder in _FONT_DIRS:
        if (folder / "DejaVuSans.ttf").is_file() and (folder / "DejaVuSans-Bold.ttf").is_file():
            return folder
    return None


class _Page:
    """Pages laid out top to bottom, each part (`start`) with its own size, ink, background and footer."""

    def __init__(self, size_mm: tuple[float, float], ink: tuple[int, int, int] | None = None,
                 background: bytes | None = None, footer: str = "", *, first_page: bool = True) -> None:
        self.pdf = FPDF(orientation="P", unit="mm", format=size_mm)
        self.pdf.set_auto_page_break(auto=False)
        self.pdf.set_margins(12, 12, 12)
        self.size = size_mm
        self.ink = ink or _INK
        self.background = background
        self.footer = footer
        folder = _unicode_font_dir()
        self.unicode = folder is not None
        if folder is not None:
            self.pdf.add_font(_FONT_FAMILY, "", str(folder / "DejaVuSans.ttf"))
            self.pdf.add_font(_FONT_FAMILY, "B", str(folder / "DejaVuSans-Bold.ttf"))
            self.family = _FONT_FAMILY
        else:
            self.family = "helvetica"
        if first_page:
            self.new_page()

    def start(self, size_mm: tuple[float, float], ink: tuple[int, int, int] | None, background: bytes | None,
              footer: str) -> None:
        """Begin a new part of the document on a new page of `size_mm` with its own ink, background and footer."""
        self.size, self.ink, self.background, self.footer = size_mm, ink or _INK, background, footer
        self.new_page()

    def new_page(self) -> None:
        """A page with the background (stretched over it) and the footer, the cursor at the top margin."""
        self.pdf.add_page(format=self.size)
        if self.background:
            self.pdf.image(io.BytesIO(self.background), x=0, y=0, w=self.pdf.w, h=self.pdf.h)
        if self.footer:
            self.pdf.set_y(self.pdf.h - 12)
            self.text(self.footer, size=8, muted=True)
            self.pdf.set_y(self.pdf.t_margin)

    def bottom(self) -> float:
        """The lowest y a block may reach (above the footer)."""
        return self.pdf.h - (20 if self.footer else 12)

    def printable(self, value: object) -> str:
        text = str(value if value is not None else "")
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")

    def text(self, value: object, size: float = 10, bold: bool = False, muted: bool = False,
             color: tuple[int, int, int] | None = None) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)
        self.pdf.set_text_color(*(_MUTED if muted else color or self.ink))
        self.pdf.multi_cell(0, size * 0.5, self.printable(value or ""), new_x="LMARGIN", new_y="NEXT")

    def table(self, block: Table, rows: Sequence[Mapping[str, object]]) -> None:
        """`block`'s header and rows, each row as tall as its wrapped boxes; a new page when one does not fit."""
        pdf = self.pdf
        used = sum(column.width_mm for column in block.columns)
        box_area = max(pdf.w - pdf.l_margin - pdf.r_margin - used, 0)
        per_line = max(int(box_area // block.box_mm), 1) if block.boxes else 0
        lines = -(-block.boxes // per_line) if block.boxes else 1
        row_h = max(7.0, lines * block.box_mm + 2)
        self.table_header(block, box_area)
        for row in rows:
            if pdf.get_y() + row_h > self.bottom():
                self.new_page()
                self.table_header(block, box_area)
            top, x = pdf.get_y(), pdf.l_margin
            pdf.set_font(self.family, "", 9)
            pdf.set_text_color(*self.ink)
            pdf.set_draw_color(*self.ink)
            for column in block.columns:
                pdf.set_xy(x, top)
                pdf.multi_cell(column.width_mm, 4.5, self.printable(row.get(column.key, "")), border=0,
                               max_line_height=4.5, new_x="RIGHT", new_y="TOP")
                x += column.width_mm
            for index in range(block.boxes):
                pdf.rect(x + (index % per_line) * block.box_mm, top + 1 + (index // per_line) * block.box_mm,
                         block.box_mm - 1, block.box_mm - 1)
            pdf.line(pdf.l_margin, top + row_h, pdf.w - pdf.r_margin, top + row_h)
            pdf.set_xy(pdf.l_margin, top + row_h + 1)

    def table_header(self, block: Table, box_area: float) -> None:
        pdf = self.pdf
        pdf.set_font(self.family, "B", 8)
        pdf.set_text_color(*_MUTED)
        top, x = pdf.get_y(), pdf.l_margin
        for column in block.columns:
            pdf.set_xy(x, top)
            pdf.cell(column.width_mm, 6, self.printable(column.label.upper()))
            x += column.width_mm
        if block.boxes and box_area:
            pdf.set_xy(x, top)
            pdf.cell(box_area, 6, self.printable(block.boxes_label.upper()))
        pdf.set_xy(pdf.l_margin, top + 7)

    def image(self, png: bytes, size_mm: float) -> None:
        x = (self.pdf.w - size_mm) / 2
        self.pdf.image(io.BytesIO(png), x=x, y=self.pdf.get_y(), w=size_mm, h=size_mm)
        self.pdf.set_y(self.pdf.get_y() + size_mm + 2)


@dataclass(frozen=True)
class PageSpec:
    """One part of a `render_pages` document: what `render_pdf` takes for a whole PDF (a table that runs over
    continues on pages of its own)."""

    template: Sequence[Block]
    data: Mapping[str, object]
    page_mm: tuple[float, float] = A5
    ink: str | None = None
    background: bytes | None = None
    footer: str = ""


def _lay_out(page: _Page, template: Sequence[Block], data: Mapping[str, object]) -> None:
    for block in template:
        if isinstance(block, Text):
            page.text(block.text.format_map(data), block.size, block.bold, block.muted, hex_color(block.color))
        elif isinstance(block, Table):
            page.table(block, list(data.get(block.key) or ()))
        elif isinstance(block, Field):
            value = data.get(block.key)
            if value not in (None, ""):
                page.text(block.label.upper(), size=7, muted=True)
                page.text(value, size=block.size)
                page.pdf.ln(1.5)
        elif isinstance(block, Image):
            if data.get(block.key):
                page.image(data[block.key], block.size_mm)
        elif isinstance(block, Gap):
            page.pdf.ln(block.mm)


def render_pdf(template: Sequence[Block], data: Mapping[str, object], *,
               page_mm: tuple[float, float] = A5, ink: str | None = None, background: bytes | None = None,
               footer: str = "") -> bytes:
    """A PDF laying out `template`'s blocks top to bottom, filled from `data`; `ink` the text colour
    ("#RRGGBB"), `background` image bytes (JPEG/PNG) stretched over each page, `footer` a `str.format`
    template over the data printed at the foot of each page."""
    return render_pages([PageSpec(template, data, page_mm, ink, background, footer)])


def render_pages(parts: Sequence[PageSpec]) -> bytes:
    """One PDF of several parts in order, each laid out as `render_pdf` lays out a whole PDF, from a new page
    (of its own size, ink, background and footer): e.g. several tickets, one page each."""
    document = _Page(A5, first_page=False)
    for part in parts:
        document.start(part.page_mm, hex_color(part.ink), part.background,
                       part.footer.format_map(part.data) if part.footer else "")
        _lay_out(document, part.template, part.data)
    return bytes(document.pdf.output())
