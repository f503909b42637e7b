"""The image-upload kit: what an uploaded file really is, a clean re-encoded copy, renditions (thumbnails).

Public for the core and every plugin (the media plugin uses it); judges files by their content, never by name
or declared type, and never keeps EXIF (GPS) metadata.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import ApiError

THUMB_MAX_PX = 400
MAX_PIXELS = 60_000_000
# Pillow format -> (format we store, content type, file extension).
_STORED_AS = {
    "JPEG": ("JPEG", "image/jpeg", "jpg"),
    "PNG": ("PNG", "image/png", "png"),
    "WEBP": ("WEBP", "image/webp", "webp"),
}
_HEIF_STORED_AS = ("JPEG", "image/jpeg", "jpg")  # browsers rarely show HEIC; keep a JPEG


def _heif_available() -> bool:
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


HEIF_SUPPORTED = _heif_available()


@dataclass(frozen=True)
class CleanImage:
    """What `sanitize` wrote: its content type, extension and pixel size."""

    content_type: str
    extension: str
    width: int
    height: int


class NotAnImage(ApiError):
    """415: the upload is not an image at all (whatever its name says)."""

    status, type = 415, "not_an_image"


class UnsupportedImageFormat(ApiError):
    """415: a real image in a format the gallery does not take."""

    status, type = 415, "unsupported_image_format"


class CorruptImage(ApiError):
    """422: the image is damaged or cut short (a truncated upload)."""

    status, type = 422, "corrupt_image"


def accepted_formats() -> list[str]:
    """Pillow format names accepted for upload (HEIF only when `pillow_heif` is installed)."""
    return [*_STORED_AS, *(["HEIF"] if HEIF_SUPPORTED else [])]


def _open_checked(stream: BinaryIO) -> Image.Image:
    """Identify and verify the image, then re-open and fully decode it (verify() leaves it unusable)."""
    try:
        stream.seek(0)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as probe:
                image_format = probe.format
                probe.verify()
            stream.seek(0)
            image = Image.open(stream)
            if image.width * image.height > MAX_PIXELS:
                raise CorruptImage(f"The image has more than {MAX_PIXELS:,} pixels.", type="image_too_large")
            image.load()
    except UnidentifiedImageError as exc:
        raise NotAnImage("The file is not an image; upload a JPEG, PNG or WebP photo.") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise CorruptImage(f"The image has more than {MAX_PIXELS:,} pixels.", type="image_too_large") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptImage("The image is damaged or incomplete (was the upload cut short?).") from exc
    if image_format not in accepted_formats():
        raise UnsupportedImageFormat(f"{image_format} images are not accepted; use "
                                     f"{', '.join(accepted_formats())}.")
    return image


def _without_metadata(image: Image.Image, target_format: str) -> Image.Image:
    """Upright pixels with no EXIF/XMP/text chunks; modes converted to what `target_format` can hold."""
    image = ImageOps.exif_transpose(image)
    icc = image.info.get("icc_profile")
    image.info = {"icc_profile": icc} if icc else {}
    if target_format == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif target_format in ("PNG", "WEBP") and image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA")
    return image


def _save(image: Image.Image, target: Path, target_format: str) -> None:
    options: dict = {"exif": b""}
    if image.info.get("icc_profile"):
        options["icc_profile"] = image.info["icc_profile"]
    if target_format == "JPEG":
        options.update(quality=90, optimize=True)
    elif target_format == "WEBP":
        options.update(quality=90)
    image.save(target, target_format, **options)


class InterlacedImage(ApiError):
    """415: an interlaced (Adam7) PNG where only non-interlaced ones are taken."""

    status, type = 415, "interlaced_png"


def sanitize(stream: BinaryIO, target: Path, *, formats: Collection[str] | None = None,
             allow_interlaced: bool = True) -> CleanImage:
    """Check that `stream` holds a whole JPEG/PNG/WebP (or HEIC) and write a metadata-free copy to `target`.

    `formats` narrows the accepted Pillow formats (e.g. `("JPEG", "PNG")`); `allow_interlaced=False` refuses an
    interlaced PNG (`InterlacedImage`). Raises `NotAnImage`, `UnsupportedImageFormat` or `CorruptImage`;
    `target` may then hold partial bytes, which the caller's staging removes.
    """
    with _open_checked(stream) as image:
        if formats is not None and image.format not in formats:
            raise UnsupportedImageFormat(f"{image.format} images are not accepted here; use {', '.join(formats)}.")
        if not allow_interlaced and image.format == "PNG" and image.info.get("interlace"):
            raise InterlacedImage("Interlaced PNG images are not accepted; save it non-interlaced (or as JPEG).")
        stored_format, content_type, extension = _STORED_AS.get(image.format, _HEIF_STORED_AS)
        clean = _without_metadata(image, stored_format)
        _save(clean, target, stored_format)
        return CleanImage(content_type, extension, clean.width, clean.height)


def _save_jpeg(image: Image.Image, target: BinaryIO) -> tuple[int, int]:
    """Write `image` as a metadata-free JPEG (transparency on white); return its pixel size."""
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, "white")
        image.paste(rgba, mask=rgba.getchannel("A"))
    clean = _without_metadata(image, "JPEG")
    _save(clean, target, "JPEG")
    return clean.width, clean.height


def make_thumbnail(source: BinaryIO, target: BinaryIO, max_px: int = THUMB_MAX_PX) -> tuple[int, int]:
    """Write a JPEG at most `max_px` on its longer side (transparency on white); return its pixel size."""
    with Image.open(source) as image:
        image.thumbnail((max_px, max_px))
        return _save_jpeg(image, target)


def make_rendition(source: BinaryIO, target: BinaryIO, width: int, height: int | None = None) -> tuple[int, int]:
    """Write a JPEG rendition of a (cleaned) image; return its pixel size. With `height`: exactly `width` x
    `height`, scaled and cropped around the centre to fill it; without: `width` pixels wide, its height in
    proportion (scaled up or down)."""
    with Image.open(source) as image:
        if height is not None:
            sized = ImageOps.fit(image, (width, height), Image.Resampling.LANCZOS)
        else:
            sized = image.resize((width, max(1, round(image.height * width / image.width))),
                                 Image.Resampling.LANCZOS)
        return _save_jpeg(sized, target)


def make_png_rendition(source: BinaryIO, target: BinaryIO, max_width: int, max_height: int) -> tuple[int, int]:
    """Write a PNG that fits in `max_width` x `max_height` (aspect kept, never enlarged, transparency kept, no
    metadata), for places that need PNG at fixed sizes (Apple Wallet icons and logos); return its pixel size."""
    with Image.open(source) as image:
        image.thumbnail((max_width, max_height))
        clean = _without_metadata(image, "PNG")
        _save(clean, target, "PNG")
        return clean.width, clean.height
