"""The PDF kit: render a one-page PDF from a template (a list of blocks) and the data it names, with fpdf2.

Public for the core (ticket PDFs) and every plugin; pure rendering into bytes, it never reads the database,
never writes files. Without a Unicode font installed it falls back to Helvetica (Latin-1, others become '?').
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

A5 = (148, 210)  # width, height in mm
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


@dataclass(frozen=True)
class Field:
    """A small muted label above the data's value for `key`; left out when that value is empty."""

    label: str
    key: str


@dataclass(frozen=True)
class Image:
    """The PNG bytes in the data's `key`, centred as a `size_mm` square; left out when there are none."""

    key: str
    size_mm: float


@dataclass(frozen=True)
class Gap:
    """Vertical space."""

    mm: float


Block = Text | Field | Image | Gap


def _unicode_font_dir() -> Path | None:
    for folder in _FONT_DIRS:
        if (folder / "DejaVuSans.ttf").is_file() and (folder / "DejaVuSans-Bold.ttf").is_file():
            return folder
    return None


class _Page:
    """One page laid out top to bottom."""

    def __init__(self, size_mm: tuple[float, float]) -> None:
        self.pdf = FPDF(orientation="P", unit="mm", format=size_mm)
        self.pdf.set_auto_page_break(auto=False)
        self.pdf.set_margins(12, 12, 12)
        self.pdf.add_page()
        folder = _unicode_font_dir()
        self.unicode = folder is not None
        if folder is not None:
            self.pdf.add_font(_FONT_FAMILY, "", str(folder / "DejaVuSans.ttf"))
            self.pdf.add_font(_FONT_FAMILY, "B", str(folder / "DejaVuSans-Bold.ttf"))
            self.family = _FONT_FAMILY
        else:
            self.family = "helvetica"

    def text(self, value: object, size: float = 10, bold: bool = False, muted: bool = False) -> None:
        text = str(value or "")
        if not self.unicode:
            text = text.encode("latin-1", "replace").decode("latin-1")
        self.pdf.set_font(self.family, "B" if bold else "", size)
        self.pdf.set_text_color(*(_MUTED if muted else _INK))
        self.pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")

    def image(self, png: bytes, size_mm: float) -> None:
        x = (self.pdf.w - size_mm) / 2
        self.pdf.image(io.BytesIO(png), x=x, y=self.pdf.get_y(), w=size_mm, h=size_mm)
        self.pdf.set_y(self.pdf.get_y() + size_mm + 2)


def render_pdf(template: Sequence[Block], data: Mapping[str, object], *,
               page_mm: tuple[float, float] = A5) -> bytes:
    """A one-page PDF laying out `template`'s blocks top to bottom, filled from `data`."""
    page = _Page(page_mm)
    for block in template:
        if isinstance(block, Text):
            page.text(block.text.format_map(data), block.size, block.bold, block.muted)
        elif isinstance(block, Field):
            value = data.get(block.key)
            if value not in (None, ""):
                page.text(block.label.upper(), size=7, muted=True)
                page.text(value, size=11)
                page.pdf.ln(1.5)
        elif isinstance(block, Image):
            if data.get(block.key):
                page.image(data[block.key], block.size_mm)
        elif isinstance(block, Gap):
            page.pdf.ln(block.mm)
    return bytes(page.pdf.output())
