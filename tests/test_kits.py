"""The core's public kits used directly, as a plugin would: link tokens, image uploads, PDF rendering.

The features built on them (claim links, the media plugin, ticket PDFs) are tested through HTTP elsewhere.
"""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

GPS_IFD = 0x8825


def test_link_tokens_are_kept_only_as_a_hash_and_match_only_themselves():
    from core.kits.links import new_link_token, token_hash, token_matches

    token, stored = new_link_token()
    other, _ = new_link_token()
    assert token != other and len(token) >= 43 and token not in stored and stored == token_hash(token)
    assert token_matches(stored, token)
    assert not token_matches(stored, other) and not token_matches(None, token) and not token_matches("", token)


def test_signed_links_carry_their_data_for_their_purpose_until_they_expire(app):
    from core.kits.links import read_signed_link_token, signed_link_token

    with app.app_context():
        token = signed_link_token("download", {"ticket": "t-1"})
        assert read_signed_link_token("download", token, 60) == {"ticket": "t-1"}
        assert read_signed_link_token("payment-callback", token, 60) is None  # another purpose
        assert read_signed_link_token("download", token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), 60) is None
        assert read_signed_link_token("download", token, -1) is None  # expired


def _jpeg_with_location() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif[GPS_IFD] = {1: "N", 2: (52.0, 22.0, 31.5), 3: "E", 4: (4.0, 53.0, 2.0)}
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_image_kit_writes_a_copy_without_exif_and_a_thumbnail(tmp_path):
    from core.kits import images

    clean = images.sanitize(io.BytesIO(_jpeg_with_location()), tmp_path / "photo")
    assert (clean.content_type, clean.extension, clean.width, clean.height) == ("image/jpeg", "jpg", 64, 48)
    with Image.open(tmp_path / "photo") as stored:
        assert len(stored.getexif()) == 0
    thumb = io.BytesIO()
    with (tmp_path / "photo").open("rb") as source:
        assert images.make_thumbnail(source, thumb, max_px=16) == (16, 12)


def test_image_kit_judges_content_not_names(tmp_path):
    from core.kits import images

    with pytest.raises(images.NotAnImage):
        images.sanitize(io.BytesIO(b"%PDF-1.4 not a picture"), tmp_path / "photo.jpg")
    with pytest.raises(images.CorruptImage):
        images.sanitize(io.BytesIO(_jpeg_with_location()[:200]), tmp_path / "cut.jpg")


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "black").save(out, "PNG")
    return out.getvalue()


def test_pdf_kit_lays_out_a_template_and_leaves_out_empty_parts():
    from core.kits.pdf import A5, Field, Gap, Image, Text, render_pdf

    template = (Text("{title}", size=18, bold=True), Gap(2), Field("Where", "where"), Image("logo", 30))
    with_logo = render_pdf(template, {"title": "Zoë's night", "where": "", "logo": _png()})
    without = render_pdf(template, {"title": "Zoë's night", "where": "Main hall", "logo": None})
    for pdf in (with_logo, without):
        assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    images_in = [len(re.findall(rb"/Subtype\s*/Image", pdf)) for pdf in (with_logo, without)]
    assert images_in == [1, 0]
    width, height = (round(mm / 25.4 * 72, 2) for mm in A5)
    assert re.search(rb"/MediaBox\s*\[0 0 %s %s\]" % (str(width).encode(), str(height).encode()), without)
    with pytest.raises(KeyError):
        render_pdf((Text("{missing}"),), {})


def test_pdf_kit_tables_continue_on_new_pages_with_background_footer_and_colours():
    import io

    from pypdf import PdfReader

    from core.kits.pdf import A4, Column, Table, Text, hex_color, render_pdf

    rows = [{"name": f"Row {n:02d}", "count": str(n)} for n in range(40)]
    template = (Text("{title}", size=14, bold=True, color="#aa0000"),
                Table("rows", (Column("Name", "name", 40), Column("Count", "count", 20)), boxes=30))
    pdf = render_pdf(template, {"title": "Sheet", "rows": rows, "org": "Org"}, page_mm=A4, ink="#102030",
                     background=_png(), footer="Footer of {org}")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 1
    texts = [page.extract_text() for page in reader.pages]
    assert all("Footer of Org" in text and "NAME" in text for text in texts)  # footer and header on every page
    assert all(f"Row {n:02d}" in "".join(texts) for n in range(40))
    assert all(len(page.images) == 1 for page in reader.pages)                # the background on every page
    assert hex_color("#102030") == (16, 32, 48)
    with pytest.raises(ValueError):
        hex_color("red")
