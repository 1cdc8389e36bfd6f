"""Small in-memory files for upload tests."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

VALID_CODE = "91320594MA1XXXXX0P"
OTHER_VALID_CODE = "91320505MA1ABCDE1C"


def png(name: str = "photo.png", size: tuple[int, int] = (40, 30)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (18, 53, 91)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def pdf(name: str = "licence.pdf") -> SimpleUploadedFile:
    body = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def exe_named_png() -> SimpleUploadedFile:
    return SimpleUploadedFile("photo.png", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, content_type="image/png")


def big_jpeg(megabytes: int = 6) -> SimpleUploadedFile:
    """A real JPEG padded past the limit (JPEG decoders ignore trailing bytes)."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(buffer, format="JPEG")
    data = buffer.getvalue() + b"\x00" * (megabytes * 1024 * 1024)
    return SimpleUploadedFile("big.jpg", data, content_type="image/jpeg")
