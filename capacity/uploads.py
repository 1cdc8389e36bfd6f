"""Checks for uploaded files: judged by their content (magic bytes, Pillow), never by their name.

Documents (business licence, certificates) may be PDF, JPEG or PNG up to 10 MB; photos must be
JPEG, PNG or WebP images that Pillow can decode, up to 5 MB.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 8

PDF, JPEG, PNG, WEBP = "application/pdf", "image/jpeg", "image/png", "image/webp"
PILLOW_FORMATS = {"JPEG": JPEG, "PNG": PNG, "WEBP": WEBP}


def sniff(head: bytes) -> str | None:
    """The content type the first bytes of a file announce, if it is one we accept."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return None


def _head(file, n: int = 16) -> bytes:
    file.seek(0)
    head = file.read(n)
    file.seek(0)
    return head


def _image_format(file) -> str | None:
    """The Pillow-verified format of an image file, or None if it does not decode."""
    from PIL import Image, UnidentifiedImageError

    try:
        file.seek(0)
        with Image.open(file) as image:
            image.verify()
            found = image.format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    finally:
        file.seek(0)
    return found


def validate_document(file) -> str:
    """A PDF, JPEG or PNG of at most 10 MB; returns its content type."""
    if file.size > MAX_DOCUMENT_BYTES:
        raise ValidationError(
            _("The file is %(size)s MB; documents may be at most 10 MB."),
            code="too_large",
            params={"size": f"{file.size / 1024 / 1024:.1f}"},
        )
    kind = sniff(_head(file))
    if kind not in (PDF, JPEG, PNG):
        raise ValidationError(_("Upload a PDF, JPEG or PNG file (this file is none of these)."), code="type")
    if kind != PDF and PILLOW_FORMATS.get(_image_format(file) or "") != kind:
        raise ValidationError(_("This image is damaged and cannot be opened."), code="damaged")
    return kind


def validate_photo(file) -> str:
    """A JPEG, PNG or WebP image of at most 5 MB that Pillow decodes; returns its content type."""
    if file.size > MAX_PHOTO_BYTES:
        raise ValidationError(
            _("The photo is %(size)s MB; photos may be at most 5 MB."),
            code="too_large",
            params={"size": f"{file.size / 1024 / 1024:.1f}"},
        )
    kind = sniff(_head(file))
    if kind not in (JPEG, PNG, WEBP) or PILLOW_FORMATS.get(_image_format(file) or "") != kind:
        raise ValidationError(_("Upload a JPEG, PNG or WebP photo (this file is not a readable image)."), code="type")
    return kind
